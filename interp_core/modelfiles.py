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

``load_model_path`` also takes a folder: a local Hugging Face model (``interp_core.hfmodels``); an
SAELens SAE folder (``cfg.json`` + ``sae_weights.safetensors``) is ``interp_core.saelens``'s to read
(``load-model`` prints its summary). Every loaded model lists its layers (``model_layers``: each ``named_modules()`` name
with its output shape on a sample input; a .pt2's module tree comes back through
``torch.export.unflatten`` with the original names) and finds one by name (``find_model_layer``).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors

from interp_core.errors import ModelFileError, first_line
from interp_core.layers import Inputs, Layer, find_layer, list_layers
from interp_core import saelens
from interp_core.models import build_model, count_parameters, load_state
from interp_core.pt2guard import check_loaded_program, check_weights, inspect_archive, quiet_torch, replaced_torch_load

MAX_MODEL_BYTES = 500 * 1024 * 1024
PICKLE_SUFFIXES = {".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".bin", ".joblib"}


KINDS = ("pt2", "huggingface", "saelens", "safetensors")  # LoadedModel.kind, the CLI's model.kind


@dataclass
class ModelSummary:
    file: str
    format: str  # "safetensors", "torch.export", "huggingface" (or "saelens")
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
    kind: str = ""  # one of KINDS
    path: str = ""
    inputs: Inputs | None = None  # a sample input (args, kwargs) the module accepts: how layers are measured
    program: object | None = None  # the ExportedProgram of a .pt2
    tokenizer: object | None = None  # a Hugging Face model's tokenizer, when its folder has one
    layer_types: dict[str, str] = field(default_factory=dict)  # layer name -> original class name (.pt2)
    _tree: torch.nn.Module | None = field(default=None, repr=False)

    def layer_module(self) -> torch.nn.Module:
        """The module whose ``named_modules()`` are the layers: a .pt2 unflattened to its original
        module tree (its submodules run as graphs), any other model itself. A program that kept no
        module names (written by another tool) is its flat graph, with a note."""
        if self.program is None:
            return self.module
        if self._tree is None:
            try:
                with quiet_torch():
                    self._tree = torch.export.unflatten(self.program)
            except Exception as exc:  # noqa: BLE001 - any failure means the names are not there
                self._tree = self.module
                self.summary.notes.append(f"The program keeps no module names ({first_line(exc, 80)}), so its layers are not the original modules; export it with torch.export.export from the nn.Module.")
        return self._tree

    def description(self) -> dict:
        """What a pipeline sees of the model: {"path", "kind", "parameters"}."""
        return {"path": self.path or self.summary.file, "kind": self.kind, "parameters": self.summary.n_parameters}


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


def load_model_path(path: str | Path, config: str | Path | dict | None = None) -> LoadedModel:
    """A model file (``load_model_file``) or a Hugging Face model folder."""
    path = Path(path)
    if not path.is_dir():
        return load_model_file(path, config)
    from interp_core import hfmodels

    if hfmodels.is_huggingface_folder(path):
        return _load_huggingface(path, hfmodels)
    if saelens.is_saelens_folder(path):
        raise ModelFileError(f"'{path.name}' is an SAELens SAE folder, the SAE of a model's layer rather than a model; give the model it was trained on.")
    raise ModelFileError(
        f"'{path}' is a folder but not a model folder; expected a Hugging Face model (config.json and model.safetensors) "
        "or an SAELens SAE (cfg.json and sae_weights.safetensors)."
    )


def _load_huggingface(path: Path, hfmodels) -> LoadedModel:
    model = hfmodels.load_huggingface_folder(path)
    notes = [f"A Hugging Face {hfmodels.KINDS[model.kind]}; its input is token ids (any length).", *model.notes]
    summary = ModelSummary(path.name, "huggingface", model.architecture, model.n_parameters, None, model.n_outputs, model.tensors, notes)
    return LoadedModel(model.module, summary, model.config, kind="huggingface", path=str(path), inputs=model.example_inputs(), tokenizer=model.tokenizer)


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
    where = str(path) if path is not None else name
    if suffix == ".safetensors":
        loaded = _load_safetensors(name, data, config)
    elif suffix == ".pt2":
        loaded = _load_export(name, data)
    else:
        loaded = None
    if loaded is not None:
        loaded.path = where
        return loaded
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
    return LoadedModel(module, summary, cfg, kind="safetensors", inputs=_sample_for(input_shape))


def _sample_for(input_shape) -> Inputs | None:
    """Two random examples of ``input_shape`` (seeded), or None when the config gives no fixed shape."""
    if not isinstance(input_shape, list) or not all(isinstance(s, int) and s > 0 for s in input_shape):
        return None
    generator = torch.Generator().manual_seed(0)
    return (torch.randn(2, *input_shape, generator=generator),), {}


def _weights_only_torch_load():
    """Inside this block every torch.load is weights_only=True, whatever the caller asked."""
    return replaced_torch_load(lambda original, *args, **kwargs: original(*args, **{**kwargs, "weights_only": True}))


def _load_export(name: str, data: bytes) -> LoadedModel:
    data = inspect_archive(data, name, MAX_MODEL_BYTES)  # refuses pickles, arbitrary calls, eval, bombs; strips guards
    try:
        with _weights_only_torch_load(), quiet_torch():
            program = torch.export.load(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - any failure inside torch's deserialiser means "refused"
        raise ModelFileError(f"'{name}' could not be loaded as a torch.export program ({first_line(exc)}); nothing in it was run.") from None
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
    return LoadedModel(module, summary, {}, kind="pt2", inputs=_program_sample(program), program=program, layer_types=_original_types(program))


def _program_sample(program) -> Inputs | None:
    """The example inputs saved with the program (plain tensors: checked before loading), if any."""
    example = getattr(program, "example_inputs", None)
    if not example:
        return None
    args, kwargs = example
    return tuple(args), dict(kwargs)


def _original_types(program) -> dict[str, str]:
    """Layer name -> the class name it had before export, from each node's module stack."""
    types = {}
    for node in program.graph.nodes:
        for path, type_name in (node.meta.get("nn_module_stack") or {}).values():
            if path:
                types.setdefault(path.split("@")[0], str(type_name).rsplit(".", 1)[-1])
    return types


# -- layers ----------------------------------------------------------------------------------------
def model_layers(loaded: LoadedModel) -> list[Layer]:
    """Each layer of the loaded model (``named_modules()`` names) with its type and its output shape on
    the model's sample input; without a sample input the shapes are None."""
    tree = loaded.layer_module()
    if loaded.inputs is None:
        return [Layer(name, loaded.layer_types.get(name) or type(sub).__name__, None) for name, sub in tree.named_modules() if name]
    return list_layers(tree, loaded.inputs, loaded.layer_types)


def find_model_layer(loaded: LoadedModel, name: str) -> torch.nn.Module:
    """The layer called ``name``; a name the model does not have is one sentence with the nearest names."""
    return find_layer(loaded.layer_module(), name)
