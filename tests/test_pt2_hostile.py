"""Crafted .pt2 archives never run code: each exploit of torch.export.load is refused (or defused) by
the loader, through the engine and the CLI, and each is first shown to run code when unguarded."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from torch import nn

from interp_core.modelfiles import ModelFileError, load_model_file
from tests import hostile_pt2

REPO = Path(__file__).resolve().parents[1]
# Variants that load once defused (their free text is stripped before torch sees it); the rest are refused.
DEFUSED = {"stack_trace", "guards_code"}


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return hostile_pt2.export_tiny(tmp_path_factory.mktemp("pt2") / "clean.pt2")


def _crafted(variant: str, clean: Path, folder: Path) -> tuple[Path, Path]:
    marker = folder / f"ran-{variant}"
    return hostile_pt2.CRAFTED[variant](clean, folder / f"{variant}.pt2", marker), marker


def test_the_crafted_archives_run_code_when_torch_loads_them_unguarded(clean, tmp_path):
    """The control: without the guard, torch.export.load (and one forward pass) runs every payload."""
    files = {v: _crafted(v, clean, tmp_path) for v in hostile_pt2.RUNS_CODE}
    script = (
        "import sys, torch\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "import tests.hostile_pt2\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        torch.export.load(path).module()(torch.randn(3, 4))\n"
        "    except Exception:\n"
        "        pass\n"
    )
    subprocess.run([sys.executable, "-c", script, *(str(f) for f, _ in files.values())], cwd=REPO, capture_output=True, timeout=300)
    ran = {v for v, (_, marker) in files.items() if marker.exists()}
    assert ran == set(hostile_pt2.RUNS_CODE)


@pytest.mark.parametrize("variant", sorted(hostile_pt2.CRAFTED))
def test_a_crafted_archive_is_refused_or_defused_and_runs_nothing(variant, clean, tmp_path):
    path, marker = _crafted(variant, clean, tmp_path)
    if variant in DEFUSED:
        loaded = load_model_file(path)
        assert loaded.module(torch.randn(3, 4)).shape == (3, 3)
    else:
        with pytest.raises(ModelFileError) as refused:
            load_model_file(path)
        sentence = str(refused.value)
        assert sentence.startswith(f"'{variant}.pt2'") and "\n" not in sentence and "Error:" not in sentence
    assert not marker.exists()


def test_the_sentences_say_what_was_wrong(clean, tmp_path):
    expected = {
        "opaque_constant": "opaque_obj_0", "custom_constant": "custom_obj_0", "pickled_weight": "stored as a pickle", "legacy_weights": "data/weights/model.pt",
        "graph_target": "torch.os.mkdir", "shape_expression": "__import__", "attribute_name": "not a dotted Python name", "module_stack": "not a dotted module path",
        "compiled_library": "data/aotinductor", "huge_declared_tensor": "(100000, 100000)", "deep_json": "100000 levels deep",
        "nan_weights": "1 NaN or infinite value",
    }
    for variant, words in expected.items():
        path, _ = _crafted(variant, clean, tmp_path)
        with pytest.raises(ModelFileError) as refused:
            load_model_file(path)
        assert words in str(refused.value), (variant, str(refused.value))


def test_the_cli_refuses_crafted_archives_with_one_line_and_no_traceback(clean, tmp_path):
    env = {**os.environ, "INTERP_STORE": str(tmp_path / "store")}
    for variant in ("opaque_constant", "shape_expression", "pickled_weight"):
        path, marker = _crafted(variant, clean, tmp_path)
        out = subprocess.run([sys.executable, "-m", "interp_core", "load-model", str(path), "--json"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 2, (variant, out.stdout, out.stderr)
        lines = [line for line in out.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:"), (variant, out.stderr)
        assert "Traceback" not in out.stderr + out.stdout and not marker.exists()


class _Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 8)
        self.block = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.block(self.embed(x)).mean(1))


def test_ordinary_exported_models_still_load(tmp_path):
    """No false refusals: attention (shape arithmetic in its expressions), numbered submodules, BatchNorm."""
    batch = torch.export.Dim("batch")
    models = {
        "attention": (_Attention().eval(), (torch.randint(0, 10, (2, 5)),), {"x": {0: batch}}),
        "sequential": (nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(18, 3)).eval(), (torch.randn(2, 1, 5, 5),), {"input": {0: batch}}),
    }
    for name, (model, inputs, shapes) in models.items():
        path = tmp_path / f"{name}.pt2"
        torch.export.save(torch.export.export(model, inputs, dynamic_shapes=shapes), str(path))
        loaded = load_model_file(path)
        bigger = tuple(torch.cat([t, t, t]) for t in inputs)
        torch.testing.assert_close(loaded.module(*bigger), model(*bigger))


def test_a_clean_archive_is_handed_to_torch_without_guards_or_metadata(clean):
    """Only each node's module stack is kept (for torch.export.unflatten), rebuilt from checked names."""
    from interp_core.pt2guard import inspect_archive

    with zipfile.ZipFile(clean) as archive:
        original = json.loads(archive.read("clean/models/model.json"))
    assert any("stack_trace" in node["metadata"] for node in original["graph_module"]["graph"]["nodes"])
    cleaned = inspect_archive(clean.read_bytes(), "clean.pt2", 10**8)
    with zipfile.ZipFile(__import__("io").BytesIO(cleaned)) as archive:
        program = json.loads(archive.read("clean/models/model.json"))
    assert program["guards_code"] == []
    nodes = program["graph_module"]["graph"]["nodes"]
    assert all(set(node["metadata"]) <= {"nn_module_stack"} for node in nodes)
    assert any(node["metadata"].get("nn_module_stack", "").endswith("L__self__layer,layer,torch.nn.modules.linear.Linear") for node in nodes)
