"""SAELens-format SAE folders, read and written without SAELens.

A folder as SAELens 6 writes it (``SAE.save_model`` / ``save_inference_model``) and reads it
(``SAE.load_from_disk``): ``cfg.json``, ``sae_weights.safetensors`` and optionally
``sparsity.safetensors`` (``sparsity``: log10 of each latent's firing rate). In SAELens's layout

    sae_in = x - b_dec                      (only when apply_b_dec_to_input; else x)
    pre    = sae_in @ W_enc + b_enc         W_enc [d_in, d_sae], b_enc [d_sae]
    codes  = standard: ReLU(pre)
             topk:     ReLU of the k largest pre per example, 0 elsewhere
             jumprelu: ReLU(pre) * (pre > threshold)            threshold [d_sae]
             gated:    (sae_in @ W_enc + b_gate > 0) * ReLU(sae_in @ (W_enc * exp(r_mag)) + b_mag)
    recon  = codes @ W_dec + b_dec          W_dec [d_sae, d_in], b_dec [d_in]

Read here: those four architectures (others, e.g. transcoders, are refused in one sentence);
``cfg.json`` as bounded JSON, with the pre-6.0 keys SAELens still accepts (``hook_point``,
``activation_fn: topk``, a boolean ``normalize_activations``); the weights through
``safetensorsguard`` (header checked before any tensor is read), their names and shapes against
``d_in``/``d_sae``, finite values. Normalisation, honestly:

- ``none``: nothing to do;
- ``expected_average_only_in``: the inputs were scaled by a constant during training; with the
  trainer's ``activation_scaler.json`` beside the weights the constant is folded in, as SAELens's
  trainer does before its final save, otherwise the folder is refused (its codes would be in the
  wrong units);
- ``constant_norm_rescale`` and ``layer_norm``: refused, because they rescale each input by its
  own norm and the reconstruction back by the same number, which an encode/decode pair cannot carry;
- TopK's ``rescale_acts_by_decoder_norm`` is folded into the weights (exactly, as SAELens's
  ``fold_W_dec_norm`` does), so the codes are unchanged and the decoder rows become unit norm.

What comes back is ``SAELensWeights``: the config and float32 tensors in SAELens's names and
layout. ``write_saelens`` writes the same format (what ``export-sae`` produces).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import save as safetensors_bytes

from interp_core.errors import ModelFileError
from interp_core.pt2guard import check_weights
from interp_core.safejson import load_json_file
from interp_core.safetensorsguard import FLOAT_DTYPES, read_header, read_tensors

CFG_FILE = "cfg.json"
WEIGHTS_FILE = "sae_weights.safetensors"
SPARSITY_FILE = "sparsity.safetensors"
SCALER_FILE = "activation_scaler.json"
MAX_CFG_BYTES = 1024 * 1024
FORMAT_VERSION = "6.0.0"  # the SAELens version whose cfg.json layout this writes (metadata.sae_lens_version)

TENSORS = {
    "standard": ("W_enc", "b_enc", "W_dec", "b_dec"),
    "topk": ("W_enc", "b_enc", "W_dec", "b_dec"),
    "jumprelu": ("W_enc", "b_enc", "W_dec", "b_dec", "threshold"),
    "gated": ("W_enc", "b_gate", "b_mag", "r_mag", "W_dec", "b_dec"),
}
ARCHITECTURES = tuple(TENSORS)
_REFUSED_ARCHITECTURES = {
    "transcoder": "a transcoder, which maps one layer's activations to another's, not an SAE of one layer",
    "skip_transcoder": "a transcoder, which maps one layer's activations to another's, not an SAE of one layer",
    "jumprelu_transcoder": "a transcoder, which maps one layer's activations to another's, not an SAE of one layer",
    "batchtopk": "a BatchTopK training checkpoint; SAELens saves the finished SAE as jumprelu (save_inference_model)",
    "matryoshka_batchtopk": "a Matryoshka BatchTopK training checkpoint; SAELens saves the finished SAE as jumprelu (save_inference_model)",
}
NORMALISATIONS = ("none", "expected_average_only_in", "constant_norm_rescale", "layer_norm")
DTYPES = ("float32", "float64", "float16", "bfloat16")


@dataclass
class SAELensConfig:
    """What cfg.json says, in SAELens 6's keys (``hook_name`` and ``model_name`` live in its ``metadata``)."""

    architecture: str
    d_in: int
    d_sae: int
    k: int | None = None  # topk only
    apply_b_dec_to_input: bool = True
    normalize_activations: str = "none"
    reshape_activations: str = "none"  # "hook_z": the input is the attention heads' outputs concatenated
    dtype: str = "float32"
    hook_name: str | None = None
    metadata: dict = field(default_factory=dict)

    def to_cfg(self) -> dict:
        """The cfg.json SAELens 6 writes for this SAE (``SAEConfig.to_dict``)."""
        metadata = {"sae_lens_version": FORMAT_VERSION, **self.metadata, "hook_name": self.hook_name}
        cfg = {
            "architecture": self.architecture, "d_in": self.d_in, "d_sae": self.d_sae, "dtype": "float32", "device": "cpu",  # written as float32
            "apply_b_dec_to_input": self.apply_b_dec_to_input, "normalize_activations": self.normalize_activations,
            "reshape_activations": self.reshape_activations, "metadata": metadata,
        }
        if self.architecture == "topk":
            cfg.update({"k": self.k, "rescale_acts_by_decoder_norm": False})
        return cfg


@dataclass
class SAELensWeights:
    """An SAELens SAE: its config, its tensors (float32, SAELens's names and layout), its sparsity if known."""

    config: SAELensConfig
    tensors: dict[str, torch.Tensor]
    sparsity: torch.Tensor | None = None  # (d_sae,) log10 firing rate
    path: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def parameters(self) -> int:
        return int(sum(t.numel() for t in self.tensors.values()))


# -- reading --------------------------------------------------------------------------------------
def is_saelens_folder(path: str | Path) -> bool:
    """True for a folder holding cfg.json and sae_weights.safetensors (what ``read_saelens`` reads)."""
    path = Path(path)
    return path.is_dir() and (path / CFG_FILE).is_file() and (path / WEIGHTS_FILE).is_file()


def read_saelens(path: str | Path, label: str | None = None) -> SAELensWeights:
    """The SAE in an SAELens folder, checked (see the module docstring); ModelFileError, one sentence, otherwise.
    ``label``: the folder as the sentences name it (an upload's name, not the scratch folder it was written to)."""
    folder = Path(path)
    shown = label or str(folder)
    if not folder.is_dir():
        raise ModelFileError(f"'{shown}' is not a folder; expected an SAELens SAE folder with {CFG_FILE} and {WEIGHTS_FILE}.")
    for name in (CFG_FILE, WEIGHTS_FILE):
        if not (folder / name).is_file():
            raise ModelFileError(f"'{shown}' has no {name}; expected an SAELens SAE folder with {CFG_FILE} and {WEIGHTS_FILE}.")
    raw = load_json_file(folder / CFG_FILE, f"'{CFG_FILE}' in '{label or folder.name}'", max_bytes=MAX_CFG_BYTES, error=ModelFileError)
    config, rescale = _config(raw)
    notes: list[str] = []
    tensors = _weights(folder / WEIGHTS_FILE, config)
    if rescale:
        _fold_decoder_norm(tensors)
        notes.append("rescale_acts_by_decoder_norm was folded into W_enc, b_enc and W_dec (the codes are unchanged; decoder rows are now unit norm).")
    if config.normalize_activations == "expected_average_only_in":
        factor = _scaling_factor(folder, config, label or folder.name)
        tensors["W_enc"] *= factor
        tensors["W_dec"] /= factor
        tensors["b_dec"] /= factor
        config.normalize_activations = "none"
        notes.append(f"The input scaling factor {factor:g} from {SCALER_FILE} was folded into W_enc, W_dec and b_dec, as SAELens's trainer does before its final save.")
    elif config.normalize_activations != "none":
        raise ModelFileError(
            f"'{CFG_FILE}' says normalize_activations is '{config.normalize_activations}', which rescales every input by its own norm and its reconstruction back, "
            "so codes and reconstructions cannot be computed apart; expected 'none' (or 'expected_average_only_in' with its activation_scaler.json).")
    sparsity = _sparsity(folder / SPARSITY_FILE, config) if (folder / SPARSITY_FILE).is_file() else None
    return SAELensWeights(config, tensors, sparsity, str(folder), notes)


def summarise(path: str | Path) -> dict:
    """What ``load-model DIR --json`` prints for an SAELens folder."""
    sae = read_saelens(path)
    c = sae.config
    return {
        "model": {"path": str(path), "kind": "saelens", "parameters": sae.parameters},
        "architecture": c.architecture, "d_in": c.d_in, "d_sae": c.d_sae, "hook_name": c.hook_name,
        "k": c.k, "apply_b_dec_to_input": c.apply_b_dec_to_input, "normalize_activations": c.normalize_activations,
        "reshape_activations": c.reshape_activations, "dtype": c.dtype, "model_name": c.metadata.get("model_name"),
        "sparsity": sae.sparsity is not None, "notes": sae.notes,
    }


def check_input_width(sae: SAELensWeights, width: int, layer: str) -> None:
    """An SAE reads vectors of d_in numbers: refuse a layer that gives another width, in one sentence."""
    if int(width) != sae.config.d_in:
        raise ModelFileError(f"The SAE reads vectors of d_in={sae.config.d_in} numbers but layer '{layer}' gives {int(width)}; expected an SAE trained on that layer (its cfg.json hook_name is {sae.config.hook_name!r}).")


def _config(cfg) -> tuple[SAELensConfig, bool]:
    """(the config, whether TopK's rescale_acts_by_decoder_norm is on) from cfg.json, refusing what cannot be read."""
    if not isinstance(cfg, dict):
        raise ModelFileError(f"'{CFG_FILE}' is not a JSON object; expected SAELens's config with architecture, d_in and d_sae.")
    metadata = cfg.get("metadata", {})
    if not isinstance(metadata, dict):
        raise ModelFileError(f"'{CFG_FILE}' has a metadata that is not an object; expected {{\"hook_name\": ..., ...}}.")
    architecture = cfg.get("architecture", "standard")
    if cfg.get("activation_fn", cfg.get("activation_fn_str")) == "topk" and "architecture" not in cfg:  # before SAELens 6
        architecture = "topk"
    if not isinstance(architecture, str) or architecture not in TENSORS:
        shown = str(architecture)[:40]
        reason = _REFUSED_ARCHITECTURES.get(shown, "an architecture this explorer does not read")
        raise ModelFileError(f"'{CFG_FILE}' names architecture '{shown}', {reason}; expected one of: {', '.join(ARCHITECTURES)}.")
    d_in, d_sae = _positive(cfg, "d_in"), _positive(cfg, "d_sae")
    k = None
    if architecture == "topk":
        kwargs = cfg.get("activation_fn_kwargs")
        k = cfg.get("k", kwargs.get("k") if isinstance(kwargs, dict) else None)
        if type(k) is not int or not 1 <= k <= d_sae:
            raise ModelFileError(f"'{CFG_FILE}' gives a topk SAE k={_shown(k)}; expected a whole number from 1 to d_sae={d_sae}.")
    normalize = cfg.get("normalize_activations", "none")
    if isinstance(normalize, bool) or normalize is None:  # before SAELens 6: true meant expected_average_only_in
        normalize = "expected_average_only_in" if normalize else "none"
    if normalize not in NORMALISATIONS:
        raise ModelFileError(f"'{CFG_FILE}' gives normalize_activations {_shown(normalize)}; expected one of: {', '.join(NORMALISATIONS)}.")
    hook_name = metadata.get("hook_name", cfg.get("hook_name", cfg.get("hook_point")))
    reshape = cfg.get("reshape_activations", "hook_z" if isinstance(hook_name, str) and "hook_z" in hook_name else "none")
    flags = {name: cfg.get(name, default) for name, default in (("apply_b_dec_to_input", True), ("rescale_acts_by_decoder_norm", False))}
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise ModelFileError(f"'{CFG_FILE}' gives {name} {_shown(value)}; expected true or false.")
    dtype = str(cfg.get("dtype", "float32")).removeprefix("torch.")
    checks = ((reshape in ("none", "hook_z"), "reshape_activations", reshape, "'none' or 'hook_z'"),
              (hook_name is None or isinstance(hook_name, str), "hook_name", hook_name, "a layer name or null"),
              (dtype in DTYPES, "dtype", dtype, ", ".join(DTYPES)))
    for ok, name, value, expected in checks:
        if not ok:
            raise ModelFileError(f"'{CFG_FILE}' gives {name} {_shown(value)}; expected {expected}.")
    kept = {key: value for key, value in metadata.items() if key != "hook_name"}
    for key in ("model_name", "hook_head_index", "neuronpedia_id"):  # before SAELens 6 these sat at the top level
        if key in cfg and key not in kept:
            kept[key] = cfg[key]
    config = SAELensConfig(architecture, d_in, d_sae, k, flags["apply_b_dec_to_input"], normalize, reshape, dtype, hook_name, kept)
    return config, architecture == "topk" and flags["rescale_acts_by_decoder_norm"]


def _shown(value) -> str:
    """A config value as it reads in the JSON file, cut short."""
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _positive(cfg: dict, key: str) -> int:
    value = cfg.get(key)
    if type(value) is not int or value < 1:
        raise ModelFileError(f"'{CFG_FILE}' gives {key} {_shown(value)}; expected a positive whole number.")
    return value


def expected_shapes(config: SAELensConfig) -> dict[str, tuple[int, ...]]:
    """Each tensor's shape in SAELens's layout."""
    d_in, d_sae = config.d_in, config.d_sae
    shapes = {"W_enc": (d_in, d_sae), "W_dec": (d_sae, d_in), "b_dec": (d_in,)}
    return {name: shapes.get(name, (d_sae,)) for name in TENSORS[config.architecture]}


def _weights(path: Path, config: SAELensConfig) -> dict[str, torch.Tensor]:
    what = f"'{WEIGHTS_FILE}'"
    entries, _ = read_header(path, what)
    shapes = expected_shapes(config)
    extra = sorted(set(entries) - set(shapes) - {"scaling_factor"})
    missing = [name for name in shapes if name not in entries]
    if missing or extra:
        found = ", ".join(sorted(entries)[:12]) or "no tensors"
        raise ModelFileError(f"{what} holds {found}; a {config.architecture} SAE needs exactly {', '.join(shapes)}.")
    for name, shape in shapes.items():
        entry = entries[name]
        if entry.shape != shape:
            raise ModelFileError(
                f"{CFG_FILE} says d_in={config.d_in} and d_sae={config.d_sae}, so {name} should be {list(shape)}, but {what} holds {name} as {list(entry.shape)}; "
                "expected weights that match their config.")
        if entry.dtype not in FLOAT_DTYPES:
            raise ModelFileError(f"{what} holds {name} as {entry.dtype}; expected floating-point weights ({', '.join(FLOAT_DTYPES)}).")
    if "scaling_factor" in entries and entries["scaling_factor"].shape != (config.d_sae,):
        raise ModelFileError(f"{what} holds scaling_factor as {list(entries['scaling_factor'].shape)}; expected [{config.d_sae}] (one per latent).")
    tensors, _ = read_tensors(path, what, [*shapes, "scaling_factor"])
    check_weights(tensors, WEIGHTS_FILE)
    scaling = tensors.pop("scaling_factor", None)
    if scaling is not None and not bool((scaling == 1).all()):
        raise ModelFileError(f"{what} holds a finetuning scaling_factor that is not all ones, which SAELens 6 no longer applies; expected an SAE saved by SAELens 6 (or a scaling_factor of ones).")
    tensors = {name: tensors[name].float().contiguous() for name in shapes}
    check_weights(tensors, WEIGHTS_FILE)  # float64 values beyond float32's range become infinite here
    if "r_mag" in tensors and not bool(torch.isfinite(tensors["r_mag"].exp()).all()):
        raise ModelFileError(f"{what} holds r_mag values whose exponential overflows (the largest is {float(tensors['r_mag'].max()):.3g}); expected a trained gated SAE's r_mag.")
    return tensors


def _fold_decoder_norm(tensors: dict[str, torch.Tensor]) -> None:
    """TopK with rescale_acts_by_decoder_norm: pre * ||W_dec row|| becomes the pre-activation itself (SAELens's _fold_norm_topk)."""
    norms = tensors["W_dec"].norm(dim=1)
    tensors["W_enc"] *= norms[None, :]
    tensors["b_enc"] *= norms
    tensors["W_dec"] /= torch.where(norms > 0, norms, torch.ones_like(norms))[:, None]  # a zero row stays zero (its code is always 0)


def _scaling_factor(folder: Path, config: SAELensConfig, shown: str) -> float:
    if not (folder / SCALER_FILE).is_file():
        raise ModelFileError(
            f"'{CFG_FILE}' says normalize_activations is 'expected_average_only_in' but '{shown}' has no {SCALER_FILE} with the scaling factor, "
            "so the codes would be in the wrong units; expected an SAE saved at the end of SAELens training (the factor folded in, normalize_activations 'none').")
    scaler = load_json_file(folder / SCALER_FILE, f"'{SCALER_FILE}'", max_bytes=MAX_CFG_BYTES, error=ModelFileError)
    factor = scaler.get("scaling_factor") if isinstance(scaler, dict) else None
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not math.isfinite(factor) or factor <= 0:
        raise ModelFileError(f"'{SCALER_FILE}' gives scaling_factor {_shown(factor)}; expected a positive number.")
    return float(factor)


def _sparsity(path: Path, config: SAELensConfig) -> torch.Tensor:
    what = f"'{SPARSITY_FILE}'"
    entries, _ = read_header(path, what)
    entry = entries.get("sparsity")
    if entry is None or entry.shape != (config.d_sae,) or entry.dtype not in FLOAT_DTYPES:
        shown = "no 'sparsity' tensor" if entry is None else f"'sparsity' as {list(entry.shape)} of {entry.dtype}"
        raise ModelFileError(f"{what} holds {shown}; expected 'sparsity', [{config.d_sae}] floats (log10 of each latent's firing rate).")
    sparsity = read_tensors(path, what, ["sparsity"])[0]["sparsity"].float()
    if bool(torch.isnan(sparsity).any()) or bool((sparsity == math.inf).any()):
        raise ModelFileError(f"{what} holds NaN or infinite values; expected log10 firing rates (at most 0; -inf for a latent that never fired).")
    return sparsity


# -- writing --------------------------------------------------------------------------------------
def write_saelens(sae: SAELensWeights, out: str | Path) -> Path:
    """Write ``sae`` as an SAELens folder (cfg.json, sae_weights.safetensors, sparsity.safetensors if known)."""
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise ModelFileError(f"'{folder}' is a file; expected a folder to write the SAELens SAE into (created if missing).")
    shapes = expected_shapes(sae.config)
    if set(sae.tensors) != set(shapes) or any(tuple(sae.tensors[n].shape) != s for n, s in shapes.items()):
        raise ModelFileError(f"The SAE's tensors do not fit a {sae.config.architecture} SAE of d_in={sae.config.d_in}, d_sae={sae.config.d_sae}.")
    check_weights(sae.tensors, "the SAE")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {name: sae.tensors[name].detach().float().cpu().contiguous() for name in shapes}
        _replace(folder / WEIGHTS_FILE, lambda tmp: tmp.write_bytes(safetensors_bytes(tensors, metadata={"format": "pt"})))
        if sae.sparsity is not None:
            sparsity = {"sparsity": sae.sparsity.detach().float().cpu().contiguous()}
            _replace(folder / SPARSITY_FILE, lambda tmp: tmp.write_bytes(safetensors_bytes(sparsity, metadata={"format": "pt"})))
        _replace(folder / CFG_FILE, lambda tmp: tmp.write_text(json.dumps(sae.config.to_cfg(), indent=2)))
    except OSError as exc:
        raise ModelFileError(f"Cannot write the SAE into '{folder}' ({exc.strerror or type(exc).__name__}); expected a writable folder.") from None
    return folder


def _replace(target: Path, write) -> None:
    """Write through a temporary file and rename, so a reader never sees half a file."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


FOLDER = ("SAELens SAE folder", f"{CFG_FILE}, {WEIGHTS_FILE}")  # an upload's refusals: what was expected (foreign.folder_files)
