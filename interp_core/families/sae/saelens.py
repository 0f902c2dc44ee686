"""SAELens SAEs in the SAE family, and the family's SAEs in SAELens's format.

``SAELensSAE`` is an SAELens SAE (read by ``interp_core.saelens``) as one of the family's
``SparseAutoencoder`` modules, so every SAE view (codes, feature table, decoder maps, output
effects, spliced accuracy) runs on it. Its ``encode``/``decode`` compute SAELens's formulas
(see interp_core/saelens.py); the weights sit in the family's layout (``W_enc`` and ``W_dec`` one
row per latent) with ``input_scale`` 1, since SAELens SAEs read raw activations.

``to_saelens`` goes the other way. A family SAE divides its inputs by ``input_scale`` s before
encoding and multiplies the reconstruction by s; SAELens has no such scale, so it is folded in:

    W_enc' = (W_enc / s)^T    b_enc' = b_enc    W_dec' = W_dec * s    b_dec' = b_dec * s

which gives (x - b_dec') @ W_enc' + b_enc' = (x / s - b_dec) @ W_enc^T + b_enc: the same
pre-activations, so the same codes, and codes @ W_dec' + b_dec' = the same reconstruction.
``relu`` becomes ``standard``, ``topk`` stays ``topk``, ``batchtopk`` becomes ``jumprelu`` with its
inference threshold for every latent (how SAELens saves its own BatchTopK SAEs), and matching
pursuit is refused: its codes come from an iterative search, not one encoder layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from interp_core.errors import ModelFileError
from interp_core.families.sae.explain import densities
from interp_core.families.sae.models import (
    BatchTopKSAE,
    JumpReLUSAE,
    MatchingPursuitSAE,
    ReLUSAE,
    SAEConfig,
    SparseAutoencoder,
    TopKSAE,
    TopKTranscoder,
)
from interp_core.saelens import SAELensConfig, SAELensWeights, read_saelens, write_saelens

MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"


@dataclass
class SAELensSettings(SAEConfig):
    architecture: str = "standard"  # standard, topk, jumprelu or gated
    k: int | None = None  # topk only
    apply_b_dec_to_input: bool = True
    hook_name: str | None = None


class SAELensSAE(SparseAutoencoder):
    """An SAELens SAE (standard, topk, jumprelu or gated) with the family's encode/decode interface."""

    arch = "saelens"
    config_cls = SAELensSettings

    def __init__(self, d_in: int, width: int, **settings):
        super().__init__(d_in, width, **settings)
        self.register_buffer("threshold", torch.zeros(width))  # jumprelu's; unused otherwise
        self.b_gate = nn.Parameter(torch.zeros(width))  # gated's; unused otherwise
        self.r_mag = nn.Parameter(torch.zeros(width))

    @classmethod
    def from_weights(cls, weights: SAELensWeights) -> "SAELensSAE":
        c = weights.config
        t = weights.tensors
        with torch.random.fork_rng(devices=[]):  # the base class's random start is overwritten: leave the caller's random state alone
            sae = cls(c.d_in, c.d_sae, architecture=c.architecture, k=c.k, apply_b_dec_to_input=c.apply_b_dec_to_input, hook_name=c.hook_name)
        with torch.no_grad():
            sae.W_enc.copy_(t["W_enc"].t())
            sae.W_dec.copy_(t["W_dec"])
            sae.b_dec.copy_(t["b_dec"])
            sae.b_enc.copy_(t["b_mag"] if c.architecture == "gated" else t["b_enc"])
            if c.architecture == "jumprelu":
                sae.threshold.copy_(t["threshold"])
            if c.architecture == "gated":
                sae.b_gate.copy_(t["b_gate"])
                sae.r_mag.copy_(t["r_mag"])
        return sae.eval()

    def to_weights(self, metadata: dict | None = None) -> SAELensWeights:
        c = self.config
        tensors = {"W_enc": self.W_enc.detach().t(), "W_dec": self.W_dec.detach(), "b_dec": self.b_dec.detach()}
        if c.architecture == "gated":
            tensors.update({"b_gate": self.b_gate.detach(), "b_mag": self.b_enc.detach(), "r_mag": self.r_mag.detach()})
        else:
            tensors["b_enc"] = self.b_enc.detach()
        if c.architecture == "jumprelu":
            tensors["threshold"] = self.threshold.detach()
        config = SAELensConfig(c.architecture, c.d_in, c.width, c.k, c.apply_b_dec_to_input, hook_name=c.hook_name, metadata=dict(metadata or {}))
        return SAELensWeights(config, {k: v.float().contiguous() for k, v in tensors.items()})

    def _sae_in(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.b_dec if self.config.apply_b_dec_to_input else x

    def pre_acts(self, x: torch.Tensor) -> torch.Tensor:
        """SAELens's hidden_pre (for gated: the magnitude path)."""
        sae_in = self._sae_in(x)
        if self.config.architecture == "gated":
            return sae_in @ (self.W_enc * self.r_mag.exp()[:, None]).t() + self.b_enc
        return sae_in @ self.W_enc.t() + self.b_enc

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        pre = self.pre_acts(x)
        architecture = self.config.architecture
        if architecture == "topk":
            top = pre.topk(self.config.k, dim=-1, sorted=False)
            return torch.zeros_like(pre).scatter_(-1, top.indices, top.values.relu())
        if architecture == "jumprelu":
            return F.relu(pre) * (pre > self.threshold).to(pre.dtype)
        if architecture == "gated":
            gate = self._sae_in(x) @ self.W_enc.t() + self.b_gate > 0
            return gate.to(pre.dtype) * F.relu(pre)
        return F.relu(pre)


def load_saelens_sae(path: str | Path, label: str | None = None) -> SAELensSAE:
    """An SAELens folder as the family's SAE module (checked by ``interp_core.saelens.read_saelens``; ``label`` names it in a refusal)."""
    return SAELensSAE.from_weights(read_saelens(path, label))


# -- the family's SAEs in SAELens's format -----------------------------------------------------------
def to_saelens(sae: SparseAutoencoder, hook_name: str | None = None, metadata: dict | None = None) -> SAELensWeights:
    """A family SAE as SAELens weights with the same codes (the module docstring says how)."""
    metadata = dict(metadata or {})
    problem = export_problem(sae)
    if problem is not None:
        raise ModelFileError(problem)
    if isinstance(sae, SAELensSAE):
        weights = sae.to_weights(metadata)
        weights.config.hook_name = hook_name or weights.config.hook_name
        return weights
    if isinstance(sae, (BatchTopKSAE, JumpReLUSAE)):  # BatchTopK and Matryoshka: one threshold for every latent; JumpReLU: its own per latent
        architecture, k = "jumprelu", None
    elif isinstance(sae, TopKSAE):
        architecture, k = "topk", sae.k
    else:
        architecture, k = "standard", None
    scale = sae.input_scale.detach().float()
    tensors = {
        "W_enc": (sae.W_enc.detach().float() / scale).t().contiguous(),
        "b_enc": sae.b_enc.detach().float().clone(),
        "W_dec": sae.W_dec.detach().float() * scale,
        "b_dec": sae.b_dec.detach().float() * scale,
    }
    if architecture == "jumprelu":
        threshold = sae.threshold.detach().float()
        tensors["threshold"] = threshold.clone() if threshold.dim() else torch.full((sae.width,), float(threshold))
    config = SAELensConfig(architecture, sae.d_in, sae.width, k, True, hook_name=hook_name, metadata=metadata)
    return SAELensWeights(config, {name: t.cpu() for name, t in tensors.items()})


def export_problem(sae: SparseAutoencoder) -> str | None:
    """Why ``sae`` cannot be written as an SAELens folder, in one sentence, or None when it can."""
    if isinstance(sae, TopKTranscoder):
        return ("A transcoder cannot be written as an SAELens SAE folder: it reads a block's input and writes its output, "
                "and an SAE folder holds an SAE of one layer; export a relu, topk, batchtopk, jumprelu or matryoshka SAE.")
    if isinstance(sae, MatchingPursuitSAE):
        return ("A matching-pursuit SAE cannot be written in SAELens's format: its codes come from an iterative search over the dictionary, "
                "not from one encoder layer, and SAELens has no such architecture; export a relu, topk, batchtopk, jumprelu or matryoshka SAE.")
    if not isinstance(sae, (SAELensSAE, BatchTopKSAE, JumpReLUSAE, TopKSAE, ReLUSAE)):
        return f"An SAE of architecture '{sae.arch}' has no SAELens counterpart; export a relu, topk, batchtopk, jumprelu or matryoshka SAE."
    return None


def export_sae(sae: SparseAutoencoder, out: str | Path, hook_name: str | None = None, metadata: dict | None = None,
               densities: np.ndarray | None = None) -> SAELensWeights:
    """Write ``sae`` as an SAELens folder; ``densities`` (each latent's firing rate) become sparsity.safetensors."""
    weights = to_saelens(sae, hook_name, metadata)
    if densities is not None:
        weights.sparsity = torch.log10(torch.as_tensor(np.asarray(densities), dtype=torch.float32) + 1e-10)  # as SAELens's trainer logs it
    write_saelens(weights, out)
    weights.path = str(out)
    return weights


def recipe_hook(manifest) -> tuple[str | None, dict]:
    """(hook_name, metadata) of a stored SAE recipe: the layer's module name in its source model, as named_modules() gives it."""
    source = manifest["source"]
    kind = source.get("kind")
    if kind == "text":
        layer = int(source["layer"])  # the residual stream after this many blocks
        return ("embeddings" if layer == 0 else f"encoder.layer.{layer - 1}"), {"model_name": MINILM_NAME, "model_class_name": "BertModel"}
    if kind == "image":
        return "body", {"model_name": source.get("base_recipe", "digits-mlp")}
    if kind == "toy":
        return "hidden", {"model_name": f"toy model of superposition ({source.get('n_features')} features in {source.get('d_hidden')} dimensions)"}
    if kind == "model":  # a layer of a user's own model (families/sae/foreign.py)
        return source.get("layer"), {"model_name": source.get("base_recipe")}
    return None, {}


def export_recipe(trained, out: str | Path, hook_name: str | None = None) -> dict:
    """Write a trained SAE recipe as an SAELens folder; what ``export-sae --json`` prints."""
    default_hook, metadata = recipe_hook(trained.manifest)
    metadata = {**metadata, "exported_by": "Interp Explorer", "recipe": trained.name}
    analysis = trained.extras.get("analysis")
    rates = densities(analysis.codes) if analysis is not None and getattr(analysis, "codes", None) is not None else None
    weights = export_sae(trained.extras["sae"], out, hook_name or default_hook, metadata, rates)
    c = weights.config
    return {"out": str(out), "architecture": c.architecture, "d_in": c.d_in, "d_sae": c.d_sae, "hook_name": c.hook_name, "k": c.k, "recipe": trained.name}


def saelens_zip(trained) -> bytes:
    """A trained SAE recipe as a zipped SAELens folder (``export_recipe``'s files in a folder named after the recipe): the app's download."""
    import io
    import tempfile
    import zipfile

    with tempfile.TemporaryDirectory(prefix="interp-saelens-") as scratch:
        folder = Path(scratch) / trained.name
        export_recipe(trained, folder)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.iterdir()):
                archive.write(path, f"{trained.name}/{path.name}")
    return buffer.getvalue()
