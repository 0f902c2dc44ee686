"""SAE features on a user's text model without classes, token by token: a causal language model (e.g. GPT-2),
whose next word is also steered, or an encoder (e.g. a BertModel folder, no head).

``explain sae --model GPT2_FOLDER --data texts.txt [--layer NAME]`` (``explain_causal``): the layer's
output at every real token of the texts (``causal_lm.token_activations``, not pooled over the text) is
the SAE's data: trained on the training texts' tokens with the family's default (``train_default_sae``)
or an SAELens folder opened (``--sae``), measured on the held-out texts' tokens (L0, explained
variance), spliced into the model (the LM's loss on the held-out texts with the layer replaced by the
SAE's reconstruction, against clean and zero-ablated: ``loss_recovered`` as for recipes), and each of
the most active features described by the tokens it fires on and its logit effects: the tokens its
decoder direction promotes and suppresses through the unembedding (``W_U @ d_j``, the direct path).
The trained SAE is written as an SAELens folder in the store (``sae_path``), for ``steer --sae``.

For an encoder (``explain_text_model``, the same code) there is no next token: the splice is judged on
the sentence embedding (the last layer's output mean-pooled over the real tokens), the cosine between
clean and spliced (``cosine_sae``) or zeroed (``cosine_zero``) as for MiniLM's recipes
(``explain.spliced_cosines``), and features have no logit effects.

``steer --model GPT2_FOLDER --sae DIR --feature F --scale S --text "..."`` (``steer_causal``): the
features are edited at every token of the text (``steer.steering_transform``: the SAE's error term
kept, so scale 1 changes nothing) and the next-token distribution before and after is compared, with
a short greedy continuation each way (the edit applied at every step).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from interp_core import causal_lm as lm
from interp_core.errors import DataError, ModelFileError, RecipeError
from interp_core.families.sae import explain
from interp_core.families.sae.foreign import check_width
from interp_core.families.sae.steer import SteerResult, check_features, print_steer, steer_cli, steer_mode, steering_transform
from interp_core.families.sae.train import rounded, train_default_sae

N_FEATURES = 10  # rows of features in the JSON
N_TOKENS = 5  # tokens listed per feature (fires on, promotes, suppresses)
N_LISTED = 10  # next tokens listed before and after steering: the top 10 of each, both lists over the same tokens
SAE_FOLDER = "causal-lm-saes"  # in the store: SAELens folders of the SAEs trained here


def open_sae(path, d: int, layer: str):
    """An SAELens SAE folder for the layer; one sentence when its d_in is not the layer's width."""
    from interp_core.families.sae.saelens import load_saelens_sae

    return check_width(load_saelens_sae(path).eval(), path, d, layer, "token")


def reconstruct(sae) -> lm.Transform:
    return lambda acts: sae.decode(sae.encode(acts))


def zero(acts: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(acts)


def splice_runs(model: lm.CausalLM, ids: np.ndarray, sae) -> dict[str, dict]:
    """``lm.lm_metrics`` on ``ids`` clean, with the SAE's reconstruction spliced in and zero-ablated, by mode ("clean", "sae", "zero")."""
    return {mode: lm.lm_metrics(model, ids, transform) for mode, transform in (("clean", None), ("sae", reconstruct(sae)), ("zero", zero))}


def spliced_loss(model: lm.CausalLM, ids: np.ndarray, sae, runs: dict[str, dict] | None = None) -> dict:
    """The LM's loss and next-token accuracy on ``ids`` clean, with the SAE's reconstruction spliced in and zero-ablated
    (``runs``: ``splice_runs``' result when already run); ``loss_recovered`` = (zero - sae) / (zero - clean), as
    ``explain.spliced_metrics`` defines it for recipes."""
    out = {}
    for mode, metrics in (runs or splice_runs(model, ids, sae)).items():
        out[f"loss_{mode}"], out[f"accuracy_{mode}"], out[f"perplexity_{mode}"] = metrics["loss"], metrics["next_token_accuracy"], metrics["perplexity"]
    gap = out["loss_zero"] - out["loss_clean"]
    out["loss_recovered"] = (out["loss_zero"] - out["loss_sae"]) / gap if abs(gap) > 1e-12 else float("nan")
    out["loss_kind"] = "next-token cross-entropy"
    return out


def logit_effects(sae, model: lm.CausalLM, tokenizer, features, n: int = N_TOKENS) -> dict[int, dict]:
    """Per feature: the tokens its decoder direction promotes and suppresses through the unembedding (``explain.output_effects``)."""
    W_dec = sae.W_dec.detach().float().cpu().numpy()[list(features)]
    up, up_v, down, down_v = explain.output_effects(W_dec, lm.unembedding(model), n=n, scale=float(getattr(sae, "input_scale", torch.tensor(1.0))))
    out = {}
    for row, j in enumerate(features):
        out[int(j)] = {"promotes": [{"token": t, "logit": rounded(float(v))} for t, v in zip(lm.token_labels(tokenizer, up[row]), up_v[row])],
                       "suppresses": [{"token": t, "logit": rounded(float(v))} for t, v in zip(lm.token_labels(tokenizer, down[row]), down_v[row])]}
    return out


def feature_rows(codes: explain.Codes, token_ids: np.ndarray, sae, model: lm.TextModel, tokenizer, n: int = N_FEATURES) -> list[dict]:
    """The ``n`` most often firing features: density, the tokens they fire on most (by count), and a causal LM's logit effects."""
    density = explain.densities(codes)
    order = [int(j) for j in np.argsort(-density, kind="stable")[:n] if density[j] > 0]
    effects = logit_effects(sae, model, tokenizer, order) if order and isinstance(model, lm.CausalLM) else {}
    fired = fired_tokens(codes, token_ids)
    return [{"feature": j, "density": rounded(float(density[j])), "label": token_label(tokenizer, fired[j]),
             "fires_on": lm.token_labels(tokenizer, fired[j]), **effects.get(j, {})} for j in order]


def fired_tokens(codes: explain.Codes, token_ids: np.ndarray, n: int = N_TOKENS) -> list[np.ndarray]:
    """Per feature (all of them): the ids of the ``n`` tokens it fires on most often, most often first (ties: the
    smaller id first); empty for a feature that never fires. ``token_ids[i]`` is the token of row i of ``codes``."""
    rows = np.repeat(np.arange(codes.n), np.diff(codes.indptr))
    fired = codes.values > 0
    pairs, counts = np.unique(np.stack([codes.indices[fired], np.asarray(token_ids)[rows[fired]]], 1), axis=0, return_counts=True)
    order = np.lexsort((pairs[:, 1], -counts, pairs[:, 0]))  # by feature, then most often, then the smaller id
    pairs = pairs[order]
    starts = np.searchsorted(pairs[:, 0], np.arange(codes.width + 1))
    return [pairs[starts[j] : min(starts[j + 1], starts[j] + n), 1] for j in range(codes.width)]


def token_label(tokenizer, ids) -> str:
    """A feature's label: the (up to three) tokens it fires on most, as they read."""
    return " / ".join(t.strip() or repr(t) for t in lm.token_labels(tokenizer, list(ids)[:3]))


def trained_sae_path(store, loaded, layer: str, data: lm.LMTexts, arch: str, seed: int) -> Path:
    """Where the SAE trained for this model, layer, texts, architecture and seed is written (an SAELens folder in the store)."""
    key = hashlib.sha256(repr((loaded.description(), layer, data.ids.tobytes(), arch, seed)).encode()).hexdigest()[:16]
    plain = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{Path(loaded.path).name}-{layer}-{arch}").lstrip(".")[:100]  # one folder name, whatever the model's
    return Path(store.root) / SAE_FOLDER / f"{plain}-{key}"


def splice_check(model: lm.TextModel, data: lm.LMTexts, sae) -> tuple[dict, dict]:
    """What the model does on the held-out texts with the SAE spliced in: a causal LM's next-token loss clean, spliced and
    zeroed (``spliced_loss``) and each held-out text's own loss; an encoder's sentence embedding compared with the clean one
    (``explain.text_cosines``' means: ``cosine_sae`` spliced, ``cosine_zero`` the layer zeroed). Returns (the JSON's keys,
    each held-out text's values as ``TokenSAE`` holds them)."""
    from interp_core.families.sae.models import SplicedModel

    if isinstance(model, lm.Encoder):
        cosines = explain.text_cosines(SplicedModel(sae, model), data.test)
        means = {key: rounded(value) for key, value in explain.cosine_means(cosines).items()}
        return {**means, "splice_kind": "sentence-embedding cosine"}, {key: values.tolist() for key, values in cosines.items()} | {"encoder": True}
    runs = splice_runs(model, data.test, sae)
    result = {k: rounded(v) if isinstance(v, float) else v for k, v in spliced_loss(model, data.test, sae, runs).items()}
    clean = runs["clean"]  # the model's own loss on the held-out texts: the clean run, not a fourth pass
    per_text = {"loss_clean": [row["loss"] for row in clean["per_text"]], "loss_sae": [row["loss"] for row in runs["sae"]["per_text"]]}
    result.update({"model_loss": rounded(clean["loss"]), "model_perplexity": rounded(clean["perplexity"]), "model_test_accuracy": rounded(clean["next_token_accuracy"]),
                   "test_texts": [{"index": data.n_train + i, "text": t, "loss": None if row["loss"] is None else rounded(row["loss"]),
                                   "perplexity": None if row["perplexity"] is None else rounded(row["perplexity"])}
                                  for i, (t, row) in enumerate(zip(data.texts[data.n_train :], clean["per_text"]))]})
    return result, per_text


def sae_layer(loaded, sae_path) -> str | None:
    """The SAELens SAE's hook name when it is a layer of the model (an SAE written here), else None (the default block)."""
    from interp_core.families.sae.saelens import load_saelens_sae

    hook = load_saelens_sae(sae_path).config.hook_name
    return hook if hook in dict(loaded.layer_module().named_modules()) else None


def explain_text_model(loaded, data: lm.LMTexts, store, *, layer: str | None = None, sae_path=None, arch: str = "topk", device="cpu", seed: int = 0, progress=None) -> dict:
    """``explain sae --model CAUSAL_LM_OR_ENCODER --data texts``: the JSON (see the module docstring)."""
    return read_text_model(loaded, data, store, layer=layer, sae_path=sae_path, arch=arch, device=device, seed=seed, progress=progress)[0]


def read_text_model(loaded, data: lm.LMTexts, store, *, layer: str | None = None, sae_path=None, arch: str = "topk", device="cpu", seed: int = 0,
                    progress=None) -> tuple[dict, "TokenSAE"]:
    """(``explain_text_model``'s JSON, the token-level reading the SAE page's views draw) from one pass: the reading is built from
    the activations, codes and splice the JSON was measured on, so the page need not run the model over the texts again
    (``token_sae`` reads an SAE folder from scratch)."""
    from interp_core.families.sae.saelens import export_sae

    if layer is None and sae_path is not None:
        layer = sae_layer(loaded, sae_path)
    model = lm.text_model(loaded, layer)
    acts, text, position = lm.token_activations(model, data.ids)
    train = text < data.n_train
    if not train.any() or train.all():
        raise DataError(f"'{data.name}' gives {len(data.texts)} texts; expected enough for training and held-out texts (at least {1 + int(1 / lm.TEST_SHARE)}).")
    token_ids = data.ids[text, position]
    if sae_path is not None:
        sae, origin, arch, settings = open_sae(sae_path, acts.shape[1], model.layer), str(sae_path), "saelens", {}
    else:
        sae, arch, settings = train_default_sae(acts[train], None, device=device, seed=seed, progress=progress, arch=arch)
        origin = "trained"
    sae = sae.cpu().eval()
    result = {"model": loaded.description(), "model_kind": "causal-lm" if isinstance(model, lm.CausalLM) else "encoder", "data": data.name, "layer": model.layer, "d_in": int(acts.shape[1]), "sae": origin, "arch": sae.arch,
              **settings, "n_texts": len(data.texts), "n_train": int(train.sum()), "n_test": int((~train).sum()), "unit": "token"}
    result.update({k: rounded(v) for k, v in explain.reconstruction_metrics(sae, acts[~train], "cpu").items()})
    codes = explain.encode_codes(sae, acts, "cpu")
    result.update({"dead_fraction": rounded(float((explain.densities(codes) == 0).mean())), "n_features": int(sae.width)})
    spliced, per_text = splice_check(model, data, sae)
    result.update(spliced)
    result["features"] = feature_rows(codes, token_ids, sae, model, loaded.tokenizer)
    reading = replace(_token_view(model, loaded.tokenizer, sae, codes, text, position, token_ids, data.n_train), **per_text)
    if origin == "trained":
        path = trained_sae_path(store, loaded, model.layer, data, arch, seed)
        try:
            export_sae(sae, path, model.layer, {"model_name": Path(loaded.path).name, "exported_by": "Interp Explorer"}, explain.densities(codes))
            result["sae_path"] = str(path)
        except ModelFileError as exc:  # an architecture SAELens cannot hold (matching pursuit): measured, not kept
            result["sae_path"] = f"not written: {exc}"
    return result, reading


explain_causal = explain_text_model  # the name its first callers (a causal LM's) use


# -- the SAE page's four views: the arrays behind explain_causal's JSON -----------------------------------
@dataclass
class TokenSAE:
    """An SAE on a text model's block (a causal LM's or an encoder's) read over the texts, token by token, for the SAE
    page's views (Features, Feature, Example, Quality): row i of ``codes`` is the real token ``token_ids[i]`` at column
    ``position[i]`` of text ``text[i]`` (texts in order, the first ``n_train_texts`` the training ones); ``W_dec`` (width, d)
    the decoder directions, ``maps`` their 2-D maps (``explain.decoder_maps``), ``labels`` each feature's most frequent
    tokens (``fired_tokens``). Each held-out text's splice: for a causal LM ``loss_clean`` / ``loss_sae``, its next-token
    loss clean and with the SAE's reconstruction spliced in; for an encoder (``encoder`` true) ``cosine_sae`` /
    ``cosine_zero``, its sentence embedding's cosine with the clean one, the SAE spliced in or the block zeroed
    (``explain.text_cosines``); the other pair is empty."""

    layer: str
    codes: explain.Codes
    text: np.ndarray
    position: np.ndarray
    token_ids: np.ndarray
    W_dec: np.ndarray
    maps: dict
    labels: list[str]
    n_train_texts: int
    loss_clean: list = field(default_factory=list)
    loss_sae: list = field(default_factory=list)
    cosine_sae: list = field(default_factory=list)
    cosine_zero: list = field(default_factory=list)
    encoder: bool = False

    @cached_property  # read on every rerun of the page's views: computed once per reading
    def density(self) -> np.ndarray:
        return explain.densities(self.codes)

    @cached_property
    def features(self) -> pd.DataFrame:
        """The feature table (``explain.feature_table``): density, mean and max activation, label, dead."""
        return explain.feature_table(self.codes, self.labels)

    def column(self, feature: int) -> np.ndarray:
        return self.codes.column(feature)

    def grid(self, feature: int, shape: tuple[int, int]) -> np.ndarray:
        """``feature``'s code at each (text, column) of ids of ``shape`` (0 on padding), as ``token_contexts`` reads codes."""
        out = np.zeros(shape, dtype=np.float32)
        out[self.text, self.position] = self.column(feature)
        return out

    def token_rows(self, text: int) -> np.ndarray:
        """The rows of ``codes`` of one text's tokens, in order."""
        return np.flatnonzero(self.text == text)


def _token_view(model, tokenizer, sae, codes, text, position, token_ids, n_train_texts: int, umap: bool = False) -> "TokenSAE":
    """A ``TokenSAE`` without its splice (``token_sae`` and ``read_text_model`` add it): codes, decoder, its maps and the labels."""
    W_dec = sae.W_dec.detach().float().cpu().numpy()
    labels = [token_label(tokenizer, ids) if len(ids) else "" for ids in fired_tokens(codes, token_ids)]
    return TokenSAE(model.layer, codes, text, position, token_ids, W_dec, explain.decoder_maps(W_dec, umap=umap), labels, n_train_texts)


def sae_on(loaded, sae_path, layer: str | None = None):
    """(the SAE at ``sae_path``, the text model (causal LM or encoder) read at ``layer``: default the SAE's hook name); its
    width is checked where the block is run."""
    from interp_core.families.sae.saelens import load_saelens_sae

    sae = load_saelens_sae(sae_path).eval()
    return sae, lm.text_model(loaded, layer or sae.config.hook_name)


def feature_effects(loaded, sae_path, feature: int, layer: str | None = None) -> dict:
    """One feature's logit effects (``logit_effects``: the next tokens its decoder direction promotes and suppresses); a causal LM's only."""
    sae, model = sae_on(loaded, sae_path, layer)
    if not isinstance(model, lm.CausalLM):
        raise RecipeError(f"'{Path(loaded.path).name}' is an encoder: it has no unembedding, so a feature has no effect on a next token to read.")
    return logit_effects(sae, model, loaded.tokenizer, check_features([feature], sae.width))[int(feature)]


BLOCK_INSTEAD = "train an SAE on this block with the button above"  # what an opened SAE's width refusal suggests in the app


def save_opened_sae(store, loaded, data: lm.LMTexts, layer: str, files: dict[str, bytes], label: str, instead: str = BLOCK_INSTEAD) -> Path:
    """An uploaded SAELens folder (its files by plain name: ``foreign.folder_files`` / ``zip_files``) written into the store
    (``causal-lm-saes/opened-...``, named by its content and the block) once it reads as an SAELens SAE whose d_in is the
    width of ``layer``'s output per token (of a causal LM or an encoder); else one sentence naming ``label`` (the width's names both), and nothing is kept."""
    import shutil

    from interp_core.data.userfiles import safe_name
    from interp_core.families.sae.saelens import load_saelens_sae

    digest = hashlib.sha256(repr((layer, sorted((name, hashlib.sha256(data_).hexdigest()) for name, data_ in files.items()))).encode()).hexdigest()[:12]
    folder = Path(store.root) / SAE_FOLDER / f"opened-{safe_name(Path(label).stem or 'sae')[:60]}-{digest}"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        for name, content in files.items():
            (folder / Path(name).name).write_bytes(content)
        sae = load_saelens_sae(folder, label)
        acts, _text, _position = lm.token_activations(lm.text_model(loaded, layer), data.ids[:1])
        check_width(sae, label, int(acts.shape[1]), layer, "token", instead)
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def token_sae(loaded, data: lm.LMTexts, sae_path, layer: str | None = None, umap: bool = False) -> TokenSAE:
    """The SAE at ``sae_path`` (an SAELens folder: the one ``explain_text_model`` wrote, or the user's) read on every real
    token of ``data`` at ``layer`` (default: the SAE's hook name) of a causal LM or an encoder, with the decoder's PCA map
    (and UMAP when asked) and each held-out text's splice (a causal LM's loss clean and spliced, an encoder's sentence-
    embedding cosines spliced and zeroed); an SAE whose width is not the block's is one sentence."""
    from interp_core.families.sae.models import SplicedModel

    sae, model = sae_on(loaded, sae_path, layer)
    acts, text, position = lm.token_activations(model, data.ids)
    check_width(sae, sae_path, int(acts.shape[1]), model.layer, "token")
    codes = explain.encode_codes(sae, acts, "cpu")
    view = _token_view(model, loaded.tokenizer, sae, codes, text, position, data.ids[text, position], data.n_train, umap)
    if isinstance(model, lm.Encoder):
        cosines = explain.text_cosines(SplicedModel(sae, model), data.test)
        return replace(view, cosine_sae=cosines["cosine_sae"].tolist(), cosine_zero=cosines["cosine_zero"].tolist(), encoder=True)
    clean, spliced = (lm.lm_metrics(model, data.test, transform)["per_text"] for transform in (None, reconstruct(sae)))
    return replace(view, loss_clean=[row["loss"] for row in clean], loss_sae=[row["loss"] for row in spliced])


def text_codes(loaded, sae_path, text: str, layer: str | None = None) -> tuple[list[str], np.ndarray]:
    """A typed text's tokens (as they read) and the SAE's codes on each (tokens, width), at ``layer`` (default: the SAE's hook name)."""
    sae, model = sae_on(loaded, sae_path, layer)
    x = torch.as_tensor(lm.encode_text(loaded, text))
    with torch.no_grad():
        acts = model.token_acts(x)[model.mask(x)].float()
        check_width(sae, sae_path, int(acts.shape[-1]), model.layer, "token")
        codes = sae.encode(acts).numpy()
    return lm.token_labels(loaded.tokenizer, x[0][model.mask(x)[0]].numpy()), codes


# -- steering -----------------------------------------------------------------------------------------
def steer_causal(loaded, sae_path, text: str, features, mode: str = "zero", value: float = 0.0, layer: str | None = None,
                 n_listed: int = N_LISTED, n_continue: int = lm.CONTINUATION_TOKENS) -> dict:
    """The next-token distribution after ``text`` before and after editing ``features`` of the SAE at every token, and a greedy continuation each way."""
    from interp_core.families.sae.saelens import load_saelens_sae

    sae = load_saelens_sae(sae_path).eval()
    model = lm.causal_lm(loaded, layer or sae.config.hook_name)
    ids = lm.encode_text(loaded, text)
    x = torch.as_tensor(ids)
    with torch.no_grad():
        width = int(model.token_acts(x).shape[-1])
    check_width(sae, sae_path, width, model.layer, "token")
    features = check_features(features, sae.width)
    seen: list[torch.Tensor] = []
    transform = steering_transform(sae, features, mode, value, seen)
    with torch.no_grad():
        before = torch.softmax(model(x)[0].float(), -1).numpy()
        after = torch.softmax(model.forward_with(x, transform)[0].float(), -1).numpy()
    codes = torch.cat(seen)
    listed = np.unique(np.concatenate([np.argsort(-before, kind="stable")[:n_listed], np.argsort(-after, kind="stable")[:n_listed]]))
    labels = lm.token_labels(loaded.tokenizer, listed)
    result = SteerResult(labels, before[listed], after[listed], features, mode, float(value), [float(codes[:, f].max()) for f in features])
    out = result.to_json()
    p, q = np.clip(after, 1e-12, 1.0), np.clip(before, 1e-12, 1.0)
    out["kl"] = float(np.sum(after * (np.log(p) - np.log(q))))  # over the whole vocabulary, not only the listed tokens
    out["changed"] = int(before.argmax()) != int(after.argmax())  # by token id: two byte tokens may print alike
    out.update({"continuation_before": lm.continuation(model, ids, loaded.tokenizer, n_continue),
                "continuation_after": lm.continuation(model, ids, loaded.tokenizer, n_continue, steering_transform(sae, features, mode, value)),
                "layer": model.layer, "sae": str(sae_path), "text": text, "model": loaded.description(),
                "activations_by_token": {str(f): [rounded(float(v)) for v in codes[:, f]] for f in features},
                "tokens": lm.token_labels(loaded.tokenizer, ids[0][model.mask(x)[0].numpy()])})
    return out


def check_causal(loaded, path: str) -> None:
    if not lm.is_causal_lm(loaded):
        raise RecipeError(f"'{Path(path).name}' is not a causal language model; steer --model takes a Hugging Face …LMHeadModel / …ForCausalLM folder (for a classifier, train an SAE recipe and steer it by name).")


# -- the CLI: steer --model PATH --sae DIR --feature F --scale S --text "..." [--json] ------------------------
def steer_command(args) -> dict:
    """``steer``: a recipe's SAE (``steer.steer_cli``) or, with --model, a user's causal LM."""
    return steer_model_cli(args) if getattr(args, "model", None) else steer_cli(args)


def steer_model_cli(args) -> dict:
    """``steer --model CAUSAL_LM --sae DIR --feature F --scale S --text "..."``: the next token before and after, and a greedy continuation each way."""
    from interp_core.modelfiles import load_model_path

    if not getattr(args, "sae", None):
        raise DataError("steer --model needs --sae DIR: an SAELens SAE folder for a layer of the model (explain sae --model ... --data texts prints the one it trains as sae_path).")
    if args.text is None:
        raise DataError("steer --model needs --text \"...\": the text whose next token is steered.")
    if args.example is not None:
        raise DataError("--example N picks a recipe's test example; with --model give --text instead.")
    loaded = load_model_path(args.model)
    check_causal(loaded, args.model)
    mode, value = steer_mode(args)
    result = steer_causal(loaded, args.sae, args.text, [part.strip() for part in str(args.feature).split(",") if part.strip()], mode, value, layer=args.layer)
    result.update({"recipe": None, "example": "your text"})
    if not args.json:
        print_steer({**result, "recipe": Path(args.model).name})
        print(f"continuation before: {result['text']}|{result['continuation_before']}")
        print(f"continuation after:  {result['text']}|{result['continuation_after']}")
    return result
