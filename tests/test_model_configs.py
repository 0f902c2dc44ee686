"""Model configs checked before building (interp_core.models.configs): types and ranges of each
architecture's values, and the declared size against INTERP_MAX_PARAMS, computed on the meta device."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch

from interp_core import recipes
from interp_core.errors import RecipeError
from interp_core.models import architecture, build_model, check_model_config, count_parameters
from interp_core.models.configs import DEFAULT_MAX_PARAMETERS, ModelConfigError, check_config
from interp_core.store import SHIPPED_ROOT, Store
from tests.artifacts import setting, tampered

REPO_ROOT = Path(__file__).resolve().parent.parent
TABLE = {"input_shape": [13], "n_classes": 3}
SERIES = {"input_shape": [1, 150], "n_classes": 2}
# wine's MLP with hidden [50000000]: Linear(13, h) and Linear(h, 3) with biases, the scaler's mean and std
HUGE = 14 * 50_000_000 + 3 * 50_000_001 + 2 * 13

# (arch, config) -> what the sentence must say
BAD = {
    "hidden-negative": ("mlp", {**TABLE, "hidden": [-1]}, "field 'hidden' = the list [-1], expected a list of at most 64 positive integers"),
    "dropout-5": ("mlp", {**TABLE, "dropout": 5}, "field 'dropout' = the number 5, expected a number from 0 up to (not including) 1"),
    "dropout-nan": ("mlp", {**TABLE, "dropout": float("nan")}, "field 'dropout' = the number nan"),
    "hidden-text": ("mlp", {**TABLE, "hidden": "32"}, "field 'hidden' = the text '32', expected a list"),
    "hidden-float": ("mlp", {**TABLE, "hidden": [1.5]}, "field 'hidden' = the list [1.5]"),
    "classes-text": ("mlp", {"input_shape": [13], "n_classes": "3"}, "field 'n_classes' = the text '3', expected a whole number from 1"),
    "no-input-shape": ("mlp", {"n_classes": 3}, "has no field 'input_shape', expected a list of 1 to 4 positive integers"),
    "unknown-field": ("mlp", {**TABLE, "depth": 3}, "has an unknown field 'depth', expected only these: dropout, hidden, input_shape, n_classes"),
    "not-an-object": ("mlp", [13, 3], "is the list [13, 3], expected an object"),
    "channels-negative": ("fcn", {**SERIES, "channels": [-4, 8, 8]}, "field 'channels' = the list [-4, 8, 8]"),
    "kernels-text": ("fcn", {**SERIES, "kernels": ["7", 5, 3]}, "field 'kernels' = the list ['7', 5, 3]"),
    "layers-many": ("ts-transformer", {**SERIES, "n_layers": 100000}, "field 'n_layers' = the number 100000, expected a whole number from 1 to 64"),
    "heads-indivisible": ("ts-transformer", {**SERIES, "d_model": 30, "n_heads": 4}, "cannot be built (embed_dim must be divisible by num_heads)"),
    "body-unknown": ("cbm", {"input_shape": [3, 16, 16], "n_classes": 2, "n_concepts": 3, "body": "resnet"}, "field 'body' = the text 'resnet', expected one of 'conv', 'dense'"),
    "similarity-unknown": ("protonet-conv2d", {"input_shape": [1, 8, 8], "n_classes": 10, "similarity": "cosine"}, "field 'similarity' = the text 'cosine'"),
    "loss-weights": ("protonet-mlp", {"input_shape": [30], "n_classes": 2, "loss_weights": {"ce": "a"}}, "field 'loss_weights' = an object with 1 key(s)"),
    "elements-negative": ("group_mlp", {"n_elements": -3}, "field 'n_elements' = the number -3"),
    "sae-k-text": ("sae-topk", {"d_in": 12, "width": 96, "k": "3"}, "field 'k' = the text '3'"),
    "sae-unknown": ("sae-topk", {"d_in": 12, "width": 96, "l2": 3}, "has an unknown field 'l2'"),
    "input-huge": ("mlp", {"input_shape": [10**12], "n_classes": 2}, "field 'input_shape' = the list [1000000000000], expected a list of 1 to 4 positive integers"),
    "hidden-50M": ("mlp", {**TABLE, "hidden": [50_000_000]}, f"declares {HUGE:,} weights (parameters and buffers), over the limit of 50,000,000"),
    "input-wide": ("mlp", {"input_shape": [100_000, 100_000], "n_classes": 2, "hidden": []}, f"declares {4 * 10**10 + 2:,} weights"),  # scaler mean and std (2n), Linear(n, 2): 2n + 2
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_config_is_one_sentence_before_anything_is_built(case):
    arch, config, phrase = BAD[case]
    with pytest.raises(ModelConfigError) as info:
        build_model(arch, config)
    message = str(info.value)
    assert message.startswith(f"The model config of architecture '{arch}' ") and message.endswith("."), message
    assert phrase in message and "\n" not in message and "Error" not in message, message


def test_every_shipped_config_declares_what_is_built():
    """The meta-device count is exact for every architecture a shipped artifact uses, and it leaves the
    global random state alone (so a check before training cannot change a seeded result)."""
    shipped = Store(SHIPPED_ROOT, readonly=True)
    seen = set()
    for name in shipped.names():
        manifest = recipes.check_artifact(shipped.open(name, verify=False))
        for field, builder, config in recipes.TRAINERS[manifest.trainer].builds(manifest):
            cls = architecture(builder) if isinstance(builder, str) else builder
            state = torch.get_rng_state()
            declared = check_config(field, cls, config)
            assert torch.equal(state, torch.get_rng_state())
            built = cls(**config)
            assert declared == count_parameters(built) + sum(b.numel() for b in built.buffers()), (name, field)
            assert 0 < declared < DEFAULT_MAX_PARAMETERS
            seen.add(builder if isinstance(builder, str) else field)
    assert {"mlp", "fcn", "fcn-masked", "ts-transformer", "cbm", "concept-cnn", "concept-mlp", "group_mlp", "sparse_mlp", "protonet-mlp", "protonet-conv1d", "protonet-conv2d", "sae-topk", "sae-mp"} <= seen


def test_checking_every_shipped_config_leaves_torchs_compiler_unimported():
    """The model hub checks every artifact's config on its first view: on the meta device the random
    initialisers ran through torch's Python kernels, which import torch._dynamo and sympy (seconds);
    declared_size answers them with shapes (the counts are checked exact above)."""
    code = (
        "import sys; from interp_core import recipes; from interp_core.store import SHIPPED_ROOT, Catalog, Store\n"
        "catalog = Catalog(Store(sys.argv[1]), Store(SHIPPED_ROOT, readonly=True))\n"
        "rows = [recipes.recipe_status(r, catalog) for r in recipes.list_recipes()]\n"
        "print(sorted({r['status'] for r in rows}), [m for m in ('torch._dynamo', 'sympy') if m in sys.modules])"
    )
    with tempfile.TemporaryDirectory() as empty:
        out = subprocess.run([sys.executable, "-c", code, empty], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[-2] == "['shipped'] []", out.stdout + out.stderr[-2000:]


def test_the_limit_is_configurable(monkeypatch):
    config = {**TABLE, "hidden": [32]}
    declared = check_model_config("mlp", config)
    monkeypatch.setenv("INTERP_MAX_PARAMS", str(declared - 1))
    with pytest.raises(ModelConfigError, match=f"declares {declared:,} weights .* over the limit of {declared - 1:,}"):
        build_model("mlp", config)
    monkeypatch.setenv("INTERP_MAX_PARAMS", str(declared))
    assert count_parameters(build_model("mlp", config)) <= declared
    monkeypatch.setenv("INTERP_MAX_PARAMS", "lots")
    with pytest.raises(RecipeError, match="INTERP_MAX_PARAMS is 'lots'; expected a positive whole number"):
        build_model("mlp", config)


WRAPPER = """
import json, resource, subprocess, sys
runs = [subprocess.run([sys.executable, "-m", "interp_core", *args], capture_output=True, text=True) for args in json.loads(sys.argv[1])]
print(json.dumps({"peak_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "runs": [[r.returncode, r.stdout, r.stderr] for r in runs]}))
"""


def test_a_50_million_unit_layer_is_refused_within_1_gb(tmp_path):
    """``hidden: [50000000]`` from a --config and from a stored manifest: exit 2 with the sentence,
    and the peak memory of each command (a grandchild, measured by a fresh wrapper) stays under 1 GB."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"arch": "mlp", "model_config": {**TABLE, "hidden": [50_000_000]}}))
    weights = tmp_path / "w.safetensors"
    weights.write_bytes((SHIPPED_ROOT / "wine-mlp" / "model.safetensors").read_bytes())
    tampered(tmp_path / "store", "wine-mlp", setting("model_config.hidden", [50_000_000]))
    commands = [["load-model", str(weights), "--config", str(config)], ["report", "wine-mlp", "--out", str(tmp_path / "r.html"), "--device", "cpu"]]
    env = {**os.environ, "INTERP_STORE": str(tmp_path / "store"), "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", WRAPPER, json.dumps(commands)], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    (load_rc, _, load_err), (report_rc, _, report_err) = result["runs"]
    assert load_rc == 2 and "Traceback" not in load_err and f"declares {HUGE:,} weights" in load_err.replace("\r", "\n").splitlines()[-1], load_err
    assert report_rc == 2 and "Traceback" not in report_err, report_err
    assert f"Artifact 'wine-mlp' is corrupted: its manifest's model_config declares {HUGE:,} weights" in report_err.replace("\r", "\n").splitlines()[-1], report_err
    assert result["peak_kb"] * 1024 < 1e9, f"peak {result['peak_kb'] / 1024:.0f} MB"
