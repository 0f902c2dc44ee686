"""Bring your own model without unpickling: validate a model file and summarise it.

Accepted:
- ``.safetensors`` weights for one of the project's architectures, with a JSON config: either a
  store manifest (``manifest.json``) or ``{"arch": "mlp", "model_config": {...}}``. Loaded strictly
  into the architecture; nothing but tensors is read.
- ``.pt2`` programs written by ``torch.export.save``: an arbitrary PyTorch architecture as a graph.
  torch.export.load falls back to ``torch.load(weights_only=False)`` when its first try fails, which
  could run pickled code; here every ``torch.load`` inside it is forced to ``weights_only=True`` and
  the whole call refuses anything else, so a crafted archive is rejected, not executed.

Refused, without being opened by any unpickler: ``.pt``/``.pth``/``.ckpt``/``.pkl``/``.bin`` pickle
checkpoints (``torch.save`` of a module or state dict), and anything else.
"""

from __future__ import annotations

import io
import threading
import zipfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors

from interp_core.errors import ModelFileError
from interp_core.models import build_model, count_parameters, load_state
from interp_core.pt2guard import check_loaded_program, check_weights, inspect_archive, quiet_torch

MAX_MODEL_BYTES = 500 * 1024 * 1024
PICKLE_SUFFIXES = {".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".bin", ".joblib"}
_TORCH_LOAD_LOCK = threading.Lock()


@dataclass
class ModelSummary:
    file: str
    format: str  # "safetensors" or "torch.export"
    architecture: str
    n_parameters: int
    input_shape: list | None
    n_outputs: int | None
    tensors: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class LoadedModel:
    module: torch.nn.Module
    summary: ModelSummary
    config: dict = field(default_factory=dict)


def looks_like_pickle(data: bytes) -> bool:
    """True for raw pickles (protocol 2+ starts with 0x80) and torch.save zip archives (a data.pkl inside)."""
    if data[:1] == b"\x80":
        return True
    if data[:2] == b"PK":
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile:
            return False
        return any(n.endswith("data.pkl") for n in names)
    return False


def load_model_file(path: str | Path, config: str | Path | dict | None = None, data: bytes | None = None, filename: str | None = None) -> LoadedModel:
    """Validate and load a model file (from a path, or ``data`` bytes with its ``filename``)."""
    name = Path(filename or str(path)).name
    if data is None:
        path = Path(path)
        if not path.is_file():
            raise ModelFileError(f"Model file '{path}' does not exist; expected a .safetensors file (with --config) or a .pt2 torch.export program.")
        if path.stat().st_size > MAX_MODEL_BYTES:
            raise ModelFileError(f"'{name}' is {path.stat().st_size / 1e6:.0f} MB, over the {MAX_MODEL_BYTES / 1e6:.0f} MB model limit.")
        data = path.read_bytes()
    if len(data) > MAX_MODEL_BYTES:
        raise ModelFileError(f"'{name}' is {len(data) / 1e6:.0f} MB, over the {MAX_MODEL_BYTES / 1e6:.0f} MB model limit.")
    if not data:
        raise ModelFileError(f"'{name}' is empty (0 bytes); expected a .safetensors file or a .pt2 program.")
    suffix = Path(name).suffix.lower()
    if suffix in PICKLE_SUFFIXES or (suffix not in {".safetensors", ".pt2"} and looks_like_pickle(data)):
        raise ModelFileError(
            f"'{name}' is a pickle-based checkpoint, which can run arbitrary code when loaded, so it was not opened; "
            "save the weights with safetensors (plus a JSON config) or export the model with torch.export.save to a .pt2 file."
        )
    if suffix == ".safetensors":
        return _load_safetensors(name, data, config)
    if suffix == ".pt2":
        return _load_export(name, data)
    raise ModelFileError(f"'{name}' is not a model file this explorer reads; expected a .safetensors file (with a JSON config) or a .pt2 torch.export program.")


def _read_config(config) -> dict:
    if config is None:
        raise ModelFileError("A .safetensors file holds only weights; give its JSON config too (--config FILE: a store manifest.json or {\"arch\": ..., \"model_config\": {...}}).")
    if isinstance(config, dict):
        return config
    from interp_core.safejson import MAX_JSON_BYTES, load_json_limited

    if isinstance(config, (bytes, bytearray)):
        raw = bytes(config)
    else:
        try:
            with open(config, "rb") as handle:
                raw = handle.read(MAX_JSON_BYTES + 1)  # a bounded read: the size check below needs only one byte more
        except FileNotFoundError:
            raise ModelFileError(f"Config file '{config}' does not exist; expected a JSON file.") from None
        except IsADirectoryError:
            raise ModelFileError(f"Config '{config}' is a folder; expected a JSON file (a store manifest.json or {{\"arch\": ..., \"model_config\": {{...}}}}).") from None
        except PermissionError:
            raise ModelFileError(f"Config file '{config}' cannot be read (permission denied); expected a readable JSON file.") from None
        except OSError as exc:
            raise ModelFileError(f"Config file '{config}' cannot be read ({exc.strerror or type(exc).__name__}); expected a JSON file.") from None
    value = load_json_limited(raw, "The config", error=ModelFileError)
    if not isinstance(value, dict):
        raise ModelFileError("The config must be a JSON object with 'arch' and 'model_config'.")
    return value


def _load_safetensors(name: str, data: bytes, config) -> LoadedModel:
    cfg = _read_config(config)
    arch, model_config = cfg.get("arch"), cfg.get("model_config")
    if not isinstance(arch, str) or not isinstance(model_config, dict):
        raise ModelFileError("The config needs 'arch' (an architecture name, e.g. 'mlp') and 'model_config' (its keyword arguments, including input_shape and n_classes).")
    try:
        state = load_safetensors(data)
    except (SafetensorError, ValueError) as exc:
        raise ModelFileError(f"'{name}' is not a valid safetensors file ({str(exc)[:100]}).") from None
    try:
        module = build_model(arch, model_config)
    except TypeError as exc:
        raise ModelFileError(f"The config's model_config does not fit architecture '{arch}' ({str(exc)[:120]}).") from None
    check_weights(state, name)
    load_state(module, state)
    module.eval()
    input_shape = model_config.get("input_shape")
    n_outputs = model_config.get("n_classes")
    summary = ModelSummary(name, "safetensors", arch, count_parameters(module), input_shape, n_outputs, len(state))
    return LoadedModel(module, summary, cfg)


@contextmanager
def _weights_only_torch_load():
    """Inside this block every torch.load is weights_only=True, whatever the caller asked."""
    original = torch.load

    def guarded(*args, **kwargs):
        kwargs["weights_only"] = True
        return original(*args, **kwargs)

    with _TORCH_LOAD_LOCK:
        torch.load = guarded
        try:
            yield
        finally:
            torch.load = original


def _load_export(name: str, data: bytes) -> LoadedModel:
    data = inspect_archive(data, name, MAX_MODEL_BYTES)  # refuses pickles, arbitrary calls, eval, bombs; strips guards
    try:
        with _weights_only_torch_load(), quiet_torch():
            program = torch.export.load(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - any failure inside torch's deserialiser means "refused"
        raise ModelFileError(f"'{name}' could not be loaded as a torch.export program ({_first_line(exc)}); nothing in it was run.") from None
    program._guards_code = []  # module() would exec these; the archive's were removed already, this keeps it so
    check_loaded_program(program, name)
    check_weights({**program.state_dict, **{k: v for k, v in program.constants.items()}}, name)
    module = program.module()
    input_shape, n_outputs, notes = None, None, []
    placeholders = [n for n in program.graph.nodes if n.op == "placeholder" and n.name in set(program.graph_signature.user_inputs)]
    if placeholders and "val" in placeholders[0].meta and hasattr(placeholders[0].meta["val"], "shape"):
        shape = placeholders[0].meta["val"].shape
        input_shape = [int(s) if str(s).isdigit() else str(s) for s in shape[1:]]
        if str(shape[0]).isdigit():
            notes.append(f"The batch size is fixed at {int(shape[0])}; export with a dynamic batch dimension (torch.export.Dim) to run other batch sizes.")
    outputs = [n for n in program.graph.nodes if n.op == "output"]
    if outputs:
        first = outputs[0].args[0][0] if isinstance(outputs[0].args[0], (tuple, list)) else outputs[0].args[0]
        val = getattr(first, "meta", {}).get("val")
        if val is not None and hasattr(val, "shape") and len(val.shape) >= 2:
            n_outputs = int(val.shape[-1]) if str(val.shape[-1]).isdigit() else None
    n_params = int(sum(t.numel() for t in program.state_dict.values()))
    notes.append("The graph runs as exported: gradient-based explanations work; the project's per-family internals (prototypes, concepts) do not apply.")
    summary = ModelSummary(name, "torch.export", "exported program (arbitrary PyTorch graph)", n_params, input_shape, n_outputs, len(program.state_dict), notes)
    return LoadedModel(module, summary, {})


def _first_line(exc: BaseException) -> str:
    """A library's message cut to its first line, without the exception's type name."""
    return (str(exc).strip().splitlines() or ["unknown error"])[0][:120]
