"""Figures quoted in docs/concepts.md about why unrelated concepts can pass TCAV, from the shipped
checkpoints (CPU, no training):

    python scripts/concepts_figures.py

1. cosine between the mean CAV of ``striped`` and of every other concept, per layer of shapes-cnn;
2. for class 'striped round' on its test examples: the TCAV score, significance and the mean
   |directional derivative| (gradient . unit mean CAV) of every concept, per layer of shapes-cnn;
3. the shapes-cbm sequential head's weights (the model's own use of each concept).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from interp_core import recipes  # noqa: E402
from interp_core.families.concepts.explain import concept_sensitivity  # noqa: E402
from interp_core.families.concepts.models import tcav_layers  # noqa: E402
from interp_core.store import SHIPPED_ROOT, Catalog, Store  # noqa: E402


def main() -> None:
    catalog = Catalog(Store(Path(tempfile.mkdtemp())), Store(SHIPPED_ROOT, readonly=True))
    cnn = recipes.load("shapes-cnn", catalog, device="cpu")
    result = cnn.extras["tcav"]
    names = result.concept_names
    striped = names.index("striped")
    directions = result.mean_cavs()

    print("1. shapes-cnn: cosine(mean CAV of 'striped', mean CAV of each other concept)")
    print(f"  {'layer':<8}" + "".join(f"{n:>10}" for n in names if n != "striped"))
    for layer in result.layer_names:
        unit = directions[layer]
        cosines = unit @ unit[striped]
        print(f"  {layer:<8}" + "".join(f"{cosines[i]:>10.2f}" for i, n in enumerate(names) if n != "striped"))

    data = cnn.dataset
    k = data.class_names.index("striped round")
    X = data.X_test[data.y_test == k]
    paths = tcav_layers(cnn.model)
    print(f"\n2. shapes-cnn, class 'striped round' ({len(X)} test examples): TCAV score (* significant) / mean |directional derivative|")
    print(f"  {'concept':<10}" + "".join(f"{layer:>18}" for layer in result.layer_names))
    sensitivities = {layer: np.abs(concept_sensitivity(cnn.model, paths[layer], X, k, directions[layer])).mean(axis=0) for layer in result.layer_names}
    for c, name in enumerate(names):
        cells = []
        for l, layer in enumerate(result.layer_names):
            mark = "*" if result.significant[c, k, l] else " "
            cells.append(f"{result.scores[c, k, l]:>6.2f}{mark} / {sensitivities[layer][c]:<7.3f}")
        print(f"  {name:<10}" + "".join(f"{cell:>18}" for cell in cells))

    cbm = recipes.load("shapes-cbm", catalog, device="cpu")
    head = cbm.extras["cbm_models"]["sequential"].head[0].weight.detach().numpy()
    print("\n3. shapes-cbm sequential head weights (rows: classes, columns: concepts)")
    print(f"  {'class':<16}" + "".join(f"{n:>9}" for n in names))
    for k, cls in enumerate(cbm.dataset.class_names):
        print(f"  {cls:<16}" + "".join(f"{w:>9.2f}" for w in head[k]))


if __name__ == "__main__":
    main()
