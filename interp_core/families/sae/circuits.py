"""Feature circuits between two transcoders (Dunefsky et al. 2024), input-invariant, each edge checked by an ablation.

A downstream transcoder feature j reads its block's input through its encoder row; an upstream
transcoder feature i writes its block's output along its decoder row. When the upstream output
reaches the downstream input through a linear map M (``between``; the identity for consecutive MLP
blocks), a unit of feature i moves feature j's pre-activation by

    weight(i -> j) = (M(d_i) * out_scale_up / in_scale_down) . e_j

(d_i: upstream decoder row, e_j: downstream encoder row): a property of the weights alone, the same
on every input. The features are ranked by |weight|.

Each edge is then checked on real examples: feature i is zeroed in the upstream block's output
(keeping the transcoder's error term, as ``steer`` does), the downstream input is recomputed, and
``ablation_drop`` is the mean fall of feature j's activation over the examples where both fire.
A large weight with no drop means the edge exists on paper but TopK or the ReLU hides it in use.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch

from interp_core.errors import RecipeError
from interp_core.families.sae.models import TopKTranscoder
from interp_core.families.sae.steer import check_features, steering_transform

DEFAULT_TOP = 10


@dataclass
class CircuitEdge:
    """One upstream feature of a downstream feature: its weight (pre-activation per unit of upstream
    activation), its mean ablation drop (None when the two never fire together) and how many examples that mean is over."""

    upstream: int
    weight: float
    ablation_drop: float | None
    n_examples: int

    def to_json(self) -> dict:
        return asdict(self)


def connection_weights(upstream: TopKTranscoder, downstream: TopKTranscoder, feature: int,
                       between: Callable[[torch.Tensor], torch.Tensor] | None = None) -> np.ndarray:
    """(upstream width,): each upstream feature's weight into downstream ``feature`` (see the module's formula).
    ``between`` maps the upstream block's output to the downstream block's input and must be linear or affine."""
    with torch.no_grad():
        writes = upstream.W_dec * upstream.output_scale  # (width_up, d_out_up): one unit of each feature, in the output's units
        if between is not None:
            writes = between(writes) - between(torch.zeros_like(writes[:1]))  # affine: the bias cancels
        if writes.shape[1] != downstream.d_in:
            raise RecipeError(f"The upstream transcoder writes {writes.shape[1]} values but the downstream one reads {downstream.d_in}; give the map between them.")
        return (writes / downstream.input_scale @ downstream.W_enc[feature]).cpu().numpy().astype(np.float64)


@torch.no_grad()
def feature_circuit(upstream: TopKTranscoder, downstream: TopKTranscoder, upstream_acts: np.ndarray | torch.Tensor, feature: int, *,
                    between: Callable[[torch.Tensor], torch.Tensor] | None = None, top: int = DEFAULT_TOP) -> list[CircuitEdge]:
    """The ``top`` upstream features of downstream ``feature`` by |weight|, each with its ablation drop on ``upstream_acts``
    (the upstream transcoder's packed rows [block input | block output] of real examples)."""
    feature = check_features([feature], downstream.width)[0]
    weights = connection_weights(upstream, downstream, feature, between)
    order = np.argsort(-np.abs(weights), kind="stable")[: max(1, int(top))]
    acts = torch.as_tensor(np.asarray(upstream_acts, dtype=np.float32)) if not isinstance(upstream_acts, torch.Tensor) else upstream_acts.float()
    acts = acts.to(upstream.W_dec.device)
    output = upstream.target(acts)
    codes = upstream.encode(acts)
    move = between or (lambda h: h)
    clean = downstream.encode(move(output))[:, feature]
    edges = []
    for i in order.tolist():
        both = (codes[:, i] > 0) & (clean > 0)
        n = int(both.sum())
        if n == 0:
            edges.append(CircuitEdge(int(i), float(weights[i]), None, 0))
            continue
        edited = steering_transform(upstream, [i], "zero")(acts[both])  # the block's output with feature i zeroed, error term kept
        ablated = downstream.encode(move(edited))[:, feature]
        edges.append(CircuitEdge(int(i), float(weights[i]), float((clean[both] - ablated).mean()), n))
    return edges


# -- a transcoder recipe's circuits (the CLI and the page) -------------------------------------------
def upstream_recipe(trained) -> str | None:
    """The recipe whose transcoder feeds this transcoder recipe (its model_config's ``upstream``), or None."""
    return (trained.manifest.get("model_config") or {}).get("upstream")


def recipe_circuit(trained, feature: int, catalog, top: int = DEFAULT_TOP) -> tuple[list[CircuitEdge], str]:
    """(edges, upstream recipe name) of downstream ``feature`` of a loaded transcoder recipe; the ablations
    run on the upstream recipe's held-out examples. Refused in one sentence when it has no upstream transcoder."""
    from interp_core import recipes
    from interp_core.families.sae.activations import source_for

    name = upstream_recipe(trained)
    if not isinstance(trained.extras.get("sae"), TopKTranscoder) or not name:
        with_upstream = [r.name for r in recipes.list_recipes("sae") if r.model_config.get("upstream")]
        raise RecipeError(f"Recipe '{trained.name}' has no upstream transcoder to trace a circuit to; circuits work on: {', '.join(with_upstream)}.")
    up = recipes.train_or_load(name, catalog, device=trained.device)
    return feature_circuit(up.extras["sae"], trained.extras["sae"], source_for(up).acts_test, feature, top=top), name


def circuit_cli(args) -> dict:
    """``circuit RECIPE --feature J [--top K] [--json]``."""
    from interp_core import recipes
    from interp_core.device import resolve_device
    from interp_core.families.sae.train import sae_recipe
    from interp_core.store import catalog_at

    recipe = sae_recipe(args.recipe)
    catalog = catalog_at(args.store)
    trained = recipes.train_or_load(recipe, catalog, device=resolve_device(args.device), seed=args.seed)
    edges, name = recipe_circuit(trained, args.feature, catalog, top=args.top)
    result = {"recipe": recipe.name, "feature": int(args.feature), "upstream_recipe": name, "edges": [e.to_json() for e in edges]}
    if not args.json:
        print(f"{recipe.name} feature {args.feature}: its top {len(edges)} upstream features in {name} (weight: pre-activation per unit; drop: mean fall when ablated, where both fire)")
        print(f"{'upstream':>9}{'weight':>10}{'drop':>10}{'examples':>10}")
        for e in edges:
            print(f"{e.upstream:>9}{e.weight:>10.3f}{'-' if e.ablation_drop is None else format(e.ablation_drop, '.3f'):>10}{e.n_examples:>10}")
    return result
