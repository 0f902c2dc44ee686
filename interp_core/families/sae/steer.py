"""Steering and ablating SAE features (issue 18, item 1): what a feature *does*, not what it correlates with.

An intervention edits the codes of chosen features (``zero``, ``scale`` by a factor, ``set`` to a
value) at the host's layer and writes the layer back as ``acts + decode(edited) - decode(codes)``,
which is ``decode(edited) + (acts - decode(codes))``: the SAE's error term is kept, so an
intervention that changes no code changes nothing. The rest of the host model runs on it
(``forward_with``) and the class probabilities before and after are compared.

For MiniLM (``MiniLMTopics``) an example is a window of tokens: the edit applies at every content
token, the outputs are the topic classifier's probabilities, and the cosine similarity between the
sentence embeddings before and after is reported too.

``causal_effect`` measures one feature's causal effect: the mean change of each class probability
when it is zeroed, over the test examples where it fires; ``compare_effects`` sets it beside the
decoder-direction effect the page already shows (its logit effect per unit of activation) and says
where they disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from interp_core.errors import DataError, RecipeError
from interp_core.families.sae.hosts import MiniLMTopics
from interp_core.families.sae.models import SparseAutoencoder

MODES = ("zero", "scale", "set")
MAX_CAUSAL_EXAMPLES = 256


# -- the intervention ------------------------------------------------------------------------------
def check_features(features, width: int) -> list[int]:
    """Feature indices as ints, each in [0, width); a bad one is refused in one sentence."""
    out = []
    for f in features:
        try:
            j = int(f)
        except (TypeError, ValueError):
            raise DataError(f"Feature '{f}' is not a whole number; expected feature indices from 0 to {width - 1}.") from None
        if not 0 <= j < width:
            raise DataError(f"Feature {j} does not exist; this SAE has features 0 to {width - 1}.")
        out.append(j)
    if not out:
        raise DataError(f"No feature was given; expected one or more feature indices from 0 to {width - 1}.")
    return out


def edit_codes(codes: torch.Tensor, features: list[int], mode: str, value: float = 0.0) -> torch.Tensor:
    """A copy of ``codes`` (n, width) with the ``features`` columns zeroed, multiplied by ``value`` or set to ``value``."""
    if mode not in MODES:
        raise DataError(f"Unknown steering mode '{mode}'; expected one of: {', '.join(MODES)}.")
    edited = codes.clone()
    if mode == "zero":
        edited[:, features] = 0.0
    elif mode == "scale":
        edited[:, features] = edited[:, features] * float(value)
    else:
        edited[:, features] = float(value)
    return edited


def steering_transform(sae: SparseAutoencoder, features: list[int], mode: str, value: float = 0.0,
                       seen: list | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """The layer's transform: acts -> decode(edited codes) + (acts - decode(codes)); for a transcoder,
    whose rows are [block input | block output], the block's output takes the place of acts. ``seen``
    (a list) collects each call's codes before the edit."""
    def transform(acts: torch.Tensor) -> torch.Tensor:
        codes = sae.encode(acts)
        if seen is not None:
            seen.append(codes.detach())
        edited = edit_codes(codes, features, mode, value)
        return sae.target(acts) + (sae.decode(edited) - sae.decode(codes))  # a transcoder: the block's output, edited

    return transform


def _identity(acts: torch.Tensor) -> torch.Tensor:
    return acts


def host_of(model) -> torch.nn.Module:
    """The host model (with ``forward_with``) of a loaded SAE recipe's SplicedModel; refused when there is none."""
    source = getattr(model, "source", None)
    if source is None or not hasattr(source, "forward_with"):
        raise RecipeError("Steering needs the model the activations came from; this SAE was trained on activations alone (an NPZ), so there is no model to run.")
    return source


def _check_classifier(host, logits: torch.Tensor) -> None:
    from interp_core.families.sae.hosts import ToyModel

    if isinstance(host, ToyModel) or logits.ndim != 2 or logits.shape[1] < 2:
        raise RecipeError("Steering shows class probabilities; this SAE's host model is not a classifier (the toy model reconstructs its features), so steering is not available for it.")


@dataclass
class SteerResult:
    """Class probabilities of one example before and after an intervention (``labels`` names them).

    ``activations``: each steered feature's activation on the example before the edit (for text, its
    largest over the tokens); ``cosine``: cosine similarity between the sentence embeddings after and
    before (MiniLM only, else None)."""

    labels: list[str]
    before: np.ndarray
    after: np.ndarray
    features: list[int]
    mode: str
    value: float
    activations: list[float]
    cosine: float | None = None

    @property
    def kl(self) -> float:
        """KL(after || before) in nats."""
        p, q = np.clip(self.after, 1e-12, 1.0), np.clip(self.before, 1e-12, 1.0)
        return float(np.sum(self.after * (np.log(p) - np.log(q))))

    def ranked(self, probs: np.ndarray) -> list[dict]:
        order = np.argsort(-probs, kind="stable")
        return [{"label": self.labels[i], "p": float(probs[i])} for i in order]

    def to_json(self) -> dict:
        top_before, top_after = self.labels[int(self.before.argmax())], self.labels[int(self.after.argmax())]
        out = {
            "before": self.ranked(self.before), "after": self.ranked(self.after),
            "top_before": top_before, "top_after": top_after, "changed": top_before != top_after, "kl": self.kl,
            "features": self.features, "mode": self.mode, "value": self.value,
            "activations": {str(f): a for f, a in zip(self.features, self.activations)},
            "cosine": "not available" if self.cosine is None else self.cosine,
        }
        return out


@torch.no_grad()
def steer(trained, example_input, features, mode: str = "zero", value: float = 0.0) -> SteerResult:
    """Run one example (``example_input``: one input (d,) or a batch of one (1, ...); token ids for
    MiniLM) through the host with the chosen features edited; probabilities before and after."""
    model, sae = trained.model, trained.extras["sae"]
    host = host_of(model)
    features = check_features(features, sae.width)
    device = next(sae.parameters()).device
    x = torch.as_tensor(np.asarray(example_input, dtype=np.float32), device=device)
    if x.ndim == np.ndim(trained.dataset.X_test) - 1:  # one example: a batch of one
        x = x[None]
    seen: list[torch.Tensor] = []
    logits_before = host.forward_with(x, _identity)
    _check_classifier(host, logits_before)
    logits_after = host.forward_with(x, steering_transform(sae, features, mode, value, seen))
    codes = torch.cat(seen) if seen else torch.zeros(0, sae.width)
    activations = [float(codes[:, f].max()) if len(codes) else 0.0 for f in features]
    cosine = None
    if isinstance(host, MiniLMTopics):
        cosine = float(torch.nn.functional.cosine_similarity(host.embed(x, steering_transform(sae, features, mode, value)), host.embed(x), dim=-1)[0])
    return SteerResult(class_names(trained), torch.softmax(logits_before[0].float(), -1).cpu().numpy(), torch.softmax(logits_after[0].float(), -1).cpu().numpy(),
                       features, mode, float(value), activations, cosine)


def class_names(trained) -> list[str]:
    return [str(c) for c in trained.dataset.class_names]


def example_input(trained, index: int) -> np.ndarray:
    """Test example ``index`` of a loaded SAE recipe (a window of token ids for MiniLM); refused when out of range."""
    X = trained.dataset.X_test
    if not 0 <= int(index) < len(X):
        raise DataError(f"Example {index} does not exist; expected a test example from 0 to {len(X) - 1}.")
    return X[int(index)]


# -- the causal effect of ablating one feature ----------------------------------------------------------
@dataclass
class CausalEffect:
    """Mean change of each class probability (``delta``, after minus before) when ``feature`` is
    zeroed, over the ``n_examples`` test examples where it fires (of ``n_firing``; at most
    MAX_CAUSAL_EXAMPLES are run)."""

    feature: int
    labels: list[str]
    delta: np.ndarray
    n_examples: int
    n_firing: int


@torch.no_grad()
def causal_effect(trained, feature: int, max_examples: int = MAX_CAUSAL_EXAMPLES, batch_size: int = 64) -> CausalEffect:
    model, sae = trained.model, trained.extras["sae"]
    host = host_of(model)
    feature = check_features([feature], sae.width)[0]
    device = next(sae.parameters()).device
    X = trained.dataset.X_test
    fires = _fires(host, sae, X, feature, device, batch_size)
    firing = np.flatnonzero(fires)
    chosen = firing[:max_examples]
    labels = class_names(trained)
    delta = np.zeros(len(labels))
    for lo in range(0, len(chosen), batch_size):
        xb = torch.as_tensor(np.asarray(X[chosen[lo : lo + batch_size]], dtype=np.float32), device=device)
        before = torch.softmax(host.forward_with(xb, _identity).float(), -1)
        _check_classifier(host, before)
        after = torch.softmax(host.forward_with(xb, steering_transform(sae, [feature], "zero")).float(), -1)
        delta += (after - before).sum(0).cpu().numpy()
    return CausalEffect(feature, labels, delta / max(len(chosen), 1), int(len(chosen)), int(len(firing)))


def _fires(host, sae, X: np.ndarray, feature: int, device, batch_size: int) -> np.ndarray:
    """Whether ``feature`` fires on each example (for MiniLM: on any content token of the window)."""
    out = []
    for lo in range(0, len(X), batch_size):
        xb = torch.as_tensor(np.asarray(X[lo : lo + batch_size], dtype=np.float32), device=device)
        column = sae.encode(host.activations(xb))[:, feature] > 0
        if isinstance(host, MiniLMTopics):
            counts = MiniLMTopics.content_mask(xb.round().long()).sum(1)
            column = torch.stack([part.any() for part in torch.split(column, counts.tolist())]) if len(column) else torch.zeros(len(xb), dtype=torch.bool)
        out.append(column.cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=bool)


def decoder_effect(analysis, feature: int, labels: list[str]) -> np.ndarray | None:
    """The page's decoder-direction effect of ``feature`` on each class logit (per unit of activation),
    from the stored promoted/suppressed lists; None when those are not over these classes (MiniLM's
    are over tokens) or not stored."""
    if analysis.promoted is None or list(analysis.output_names or []) != list(labels):
        return None
    effect = np.full(len(labels), np.nan)
    for ids, values in ((analysis.promoted, analysis.promoted_values), (analysis.suppressed, analysis.suppressed_values)):
        effect[ids[feature]] = values[feature]
    return effect


def compare_effects(effect: CausalEffect, decoder: np.ndarray | None) -> tuple[list[dict], str]:
    """Rows {class, causal, decoder} (causal = mean probability change when ablated) and one sentence:
    whether the decoder direction and the ablation agree on the class the feature supports most and
    on the sign of its effect there."""
    rows = [{"class": label, "ablation_change": float(effect.delta[i]), "decoder_effect": None if decoder is None or np.isnan(decoder[i]) else float(decoder[i])}
            for i, label in enumerate(effect.labels)]
    if effect.n_examples == 0:
        return rows, f"Feature {effect.feature} fires on no test example, so ablating it changes nothing there; no causal effect to compare."
    causal_top = int(np.argmin(effect.delta))  # the class ablation lowers most: the one the feature supports most
    head = f"Ablating feature {effect.feature} on the {effect.n_examples} test examples where it fires lowers class {effect.labels[causal_top]} most ({effect.delta[causal_top]:+.3f} in probability)."
    if decoder is None:
        return rows, head + " The decoder-direction effect is read on other outputs (tokens), so the two are not compared."
    if effects_agree(effect, decoder):
        return rows, head + " The decoder direction agrees: it raises that class most too."
    decoder_top = int(np.nanargmax(decoder))
    if decoder_top != causal_top:
        return rows, head + f" They disagree: the decoder direction raises class {effect.labels[decoder_top]} most, so the direct readout is not what the model does with the feature."
    return rows, head + f" They disagree in sign on class {effect.labels[causal_top]}."


def effects_agree(effect: CausalEffect, decoder: np.ndarray | None) -> bool | None:
    """Whether the decoder direction raises most the class that ablating the feature lowers most (and
    ablation does lower it); None when there is nothing to compare (no firing example, or a decoder
    effect on other outputs)."""
    if effect.n_examples == 0 or decoder is None:
        return None
    causal_top = int(np.argmin(effect.delta))
    return bool(int(np.nanargmax(decoder)) == causal_top and decoder[causal_top] > 0 and effect.delta[causal_top] < 0)


N_CAUSAL_FEATURES = 5


def causal_rows(trained, n_features: int = N_CAUSAL_FEATURES, max_examples: int = MAX_CAUSAL_EXAMPLES) -> list[dict]:
    """For the ``n_features`` live features that fire most often: the class their ablation lowers most
    (and by how much), the class their decoder direction raises most (and its logit effect per unit),
    and whether the two agree (``effects_agree``), as ``explain sae --json`` and the report list them."""
    analysis = trained.extras["analysis"]
    features = analysis.features
    rows = []
    for feature in features[~features["dead"]].sort_values("density", ascending=False, kind="stable")["feature"].head(n_features):
        effect = causal_effect(trained, int(feature), max_examples)
        decoder = decoder_effect(analysis, int(feature), effect.labels)
        causal_top = int(np.argmin(effect.delta))
        decoder_top = None if decoder is None else int(np.nanargmax(decoder))
        rows.append({"feature": int(feature), "label": str(features.loc[feature, "label"]), "n_examples": effect.n_examples,
                     "causal_class": effect.labels[causal_top], "causal_change": float(effect.delta[causal_top]),
                     "decoder_class": None if decoder_top is None else effect.labels[decoder_top],
                     "decoder_effect": None if decoder_top is None else float(decoder[decoder_top]),
                     "agree": effects_agree(effect, decoder)})
    return rows


# -- the CLI: python -m interp_core steer RECIPE --feature F[,F2...] --scale S [--example N | --text "..."] [--json] --
def steer_cli(args) -> dict:
    from interp_core import recipes
    from interp_core.device import resolve_device
    from interp_core.families.sae import data as sources
    from interp_core.families.sae.train import sae_recipe
    from interp_core.store import catalog_at

    recipe = sae_recipe(args.recipe)
    if args.example is not None and args.text is not None:
        raise DataError("Give either --example N or --text, not both.")
    trained = recipes.train_or_load(recipe, catalog_at(args.store), device=resolve_device(args.device), seed=args.seed)
    features = check_features([part.strip() for part in str(args.feature).split(",") if part.strip()], trained.extras["sae"].width)
    if args.text is not None:
        if not isinstance(host_of(trained.model), MiniLMTopics):
            raise DataError(f"--text needs a text model; '{args.recipe}' reads {trained.dataset.modality} examples, so pick one with --example N.")
        x, where = sources.encode_text(args.text), "your text"
    else:
        index = 0 if args.example is None else args.example
        x, where = example_input(trained, index), f"test example {index}"
    mode, value = steer_mode(args)
    result = steer(trained, x, features, mode, value).to_json()
    result.update({"recipe": args.recipe, "example": where})
    if not args.json:
        print_steer(result)
    return result


def steer_mode(args) -> tuple[str, float]:
    """(mode, value) of --scale S / --set V: scale 0 ablates."""
    return ("set", args.set) if args.set is not None else (("zero", 0.0) if args.scale == 0 else ("scale", args.scale))


def print_steer(result: dict) -> None:
    edit = {"zero": "zeroed", "scale": f"scaled by {result['value']:g}", "set": f"set to {result['value']:g}"}[result["mode"]]
    print(f"{result['recipe']}, {result['example']}: feature(s) {', '.join(map(str, result['features']))} {edit} "
          f"(activation before: {', '.join(f'{a:.3f}' for a in result['activations'].values())})")
    print(f"{'class':<16}{'before':>9}{'after':>9}")
    after = {row["label"]: row["p"] for row in result["after"]}
    for row in result["before"]:
        print(f"{row['label'][:15]:<16}{row['p']:>9.4f}{after[row['label']]:>9.4f}")
    print(f"top before: {result['top_before']}; top after: {result['top_after']}" + (" (changed)" if result["changed"] else " (unchanged)") + f"; KL(after || before) = {result['kl']:.4g} nats")
    if result["cosine"] != "not available":
        print(f"cosine similarity of the sentence embedding to the original: {result['cosine']:.4f}")
