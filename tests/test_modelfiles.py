"""Bring-your-own-model files: safetensors + config and torch.export programs load; pickles are
refused unopened, and a crafted .pt2 whose pickle would run code is refused without running it."""

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file
from torch import nn

from interp_core.errors import InterpError
from interp_core.modelfiles import ModelFileError, load_model_file, looks_like_pickle
from interp_core.store import SHIPPED_ROOT

REPO = Path(__file__).resolve().parents[1]


class _Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(4, 3)

    def forward(self, x):
        return torch.relu(self.layer(x))


class _SideEffect:
    """Unpickling this creates a marker file: proof that code in a checkpoint ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


@pytest.fixture
def exported(tmp_path):
    program = torch.export.export(_Tiny(), (torch.randn(2, 4),), dynamic_shapes={"x": {0: torch.export.Dim("batch")}})
    path = tmp_path / "tiny.pt2"
    torch.export.save(program, str(path))
    return path


def _replace_member(source: Path, target: Path, suffix: str, payload: bytes) -> Path:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, payload if info.filename.endswith(suffix) else zin.read(info.filename))
    return target


def test_shipped_safetensors_with_its_manifest_loads_and_predicts():
    folder = SHIPPED_ROOT / "wine-mlp"
    loaded = load_model_file(folder / "model.safetensors", folder / "manifest.json")
    assert loaded.summary.architecture == "mlp" and loaded.summary.input_shape == [13] and loaded.summary.n_outputs == 3
    assert loaded.summary.n_parameters == json.loads((folder / "manifest.json").read_text())["metrics"]["n_parameters"]
    assert loaded.module(torch.zeros(5, 13)).shape == (5, 3)


def test_safetensors_needs_a_config_and_it_must_fit(tmp_path):
    weights = SHIPPED_ROOT / "wine-mlp" / "model.safetensors"
    with pytest.raises(ModelFileError, match="give its JSON config"):
        load_model_file(weights)
    with pytest.raises(InterpError, match="do not fit"):
        load_model_file(weights, {"arch": "mlp", "model_config": {"input_shape": [13], "n_classes": 3, "hidden": [64]}})
    with pytest.raises(ModelFileError, match="Unknown architecture|needs 'arch'"):
        load_model_file(weights, {"model_config": {}})
    bad = tmp_path / "c.json"
    bad.write_text("{not json")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_model_file(weights, bad)


def test_an_exported_program_loads_with_a_dynamic_batch(exported):
    loaded = load_model_file(exported)
    assert loaded.summary.format == "torch.export"
    assert loaded.summary.input_shape == [4] and loaded.summary.n_outputs == 3 and loaded.summary.n_parameters == 15
    assert loaded.module(torch.randn(7, 4)).shape == (7, 3)


def test_a_pickle_checkpoint_is_refused_and_its_code_never_runs(tmp_path):
    marker = tmp_path / "ran"
    for name in ("model.pt", "model.pth", "model.ckpt", "weights.bin", "no_suffix"):
        path = tmp_path / name
        torch.save({"state": _SideEffect(marker)}, path)
        with pytest.raises(ModelFileError, match="pickle-based checkpoint"):
            load_model_file(path)
    assert not marker.exists()
    torch.load(tmp_path / "model.pt", weights_only=False)  # the control: unpickling it does run code
    assert marker.exists()


def test_a_crafted_export_archive_is_refused_without_running_its_pickle(tmp_path, exported):
    marker = tmp_path / "ran"
    payload = io.BytesIO()
    torch.save(_SideEffect(marker), payload)
    crafted = _replace_member(exported, tmp_path / "crafted.pt2", "sample_inputs/model.pt", payload.getvalue())
    with pytest.raises(ModelFileError, match="refused without being loaded: its sample inputs"):
        load_model_file(crafted)
    assert not marker.exists()
    # the control, in a child process: torch's own loader falls back to a full unpickle and runs it
    code = f"import torch, sys; sys.path.insert(0, {str(REPO)!r}); from tests.test_modelfiles import _SideEffect\ntry:\n torch.export.load({str(crafted)!r})\nexcept Exception: pass"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, timeout=120)
    assert marker.exists(), "the control should show that an unguarded torch.export.load runs the payload"


def test_other_files_get_one_sentence(tmp_path):
    cases = {"empty.pt2": b"", "notzip.pt2": b"hello", "model.onnx": b"\x08\x01", "notes.txt": b"just text"}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ModelFileError) as info:
            load_model_file(tmp_path / name)
        assert "\n" not in str(info.value)
    zipped = tmp_path / "other.pt2"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("readme.txt", "hi")
    with pytest.raises(ModelFileError, match="not a torch.export program"):
        load_model_file(zipped)


def test_looks_like_pickle(tmp_path):
    buffer = io.BytesIO()
    torch.save({"a": torch.zeros(1)}, buffer)
    assert looks_like_pickle(buffer.getvalue())
    assert looks_like_pickle(b"\x80\x04K\x01.")
    assert not looks_like_pickle(b"PK\x03\x04garbage")
    assert not looks_like_pickle(b"{}")


@settings(max_examples=80, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2048), suffix=st.sampled_from([".safetensors", ".pt2", ".pt", ".bin", ".xyz", ""]))
def test_arbitrary_bytes_never_escape_as_anything_but_a_sentence(data, suffix):
    try:
        load_model_file(None, {"arch": "mlp", "model_config": {"input_shape": [4], "n_classes": 2}}, data=data, filename=f"upload{suffix}")
    except InterpError as exc:
        assert str(exc) and "\n" not in str(exc)


def test_cli_load_model_json_and_refusal(tmp_path):
    folder = SHIPPED_ROOT / "digits-mlp"
    env = {**os.environ, "INTERP_STORE": str(tmp_path / "store")}
    out = subprocess.run([sys.executable, "-m", "interp_core", "load-model", str(folder / "model.safetensors"), "--config", str(folder / "manifest.json"), "--json"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["architecture"] == "mlp" and summary["input_shape"] == [1, 8, 8] and summary["n_outputs"] == 10
    torch.save({"x": _SideEffect(tmp_path / "ran")}, tmp_path / "evil.pt")
    out = subprocess.run([sys.executable, "-m", "interp_core", "load-model", str(tmp_path / "evil.pt")], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stderr.startswith("error:") and "Traceback" not in out.stderr
    assert not (tmp_path / "ran").exists()
