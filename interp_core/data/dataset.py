"""The one dataset type every family reads: train/test arrays plus names and optional ground truth."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MODALITIES = ("tabular", "image", "series", "activations")


@dataclass
class Dataset:
    """A classification dataset split into train and test.

    Shapes: tabular X (n, features); image X (n, channels, h, w); series X (n, channels, time).
    y holds class indices 0..k-1 (int64). Optional: concepts (n, c) with concept_names, and
    mask (same shape as X) marking the ground-truth relevant positions.
    """

    name: str
    modality: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    feature_names: list[str] | None = None
    task: str = "classification"
    description: str = ""
    source: str = ""
    concepts_train: np.ndarray | None = None
    concepts_test: np.ndarray | None = None
    concept_names: list[str] | None = None
    mask_train: np.ndarray | None = None
    mask_test: np.ndarray | None = None
    extras: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.modality not in MODALITIES:
            raise ValueError(f"modality must be one of {MODALITIES}, got {self.modality!r}")
        self.X_train = np.ascontiguousarray(self.X_train, dtype=np.float32)
        self.X_test = np.ascontiguousarray(self.X_test, dtype=np.float32)
        self.y_train = np.asarray(self.y_train, dtype=np.int64)
        self.y_test = np.asarray(self.y_test, dtype=np.int64)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.X_train.shape[1:])

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def n_features(self) -> int:
        return int(np.prod(self.input_shape))

    @property
    def has_mask(self) -> bool:
        return self.mask_test is not None

    @property
    def has_concepts(self) -> bool:
        return self.concepts_test is not None

    def summary(self) -> dict:
        """A small JSON-able description for manifests, tables and the CLI."""
        return {
            "name": self.name,
            "modality": self.modality,
            "task": self.task,
            "n_train": int(len(self.y_train)),
            "n_test": int(len(self.y_test)),
            "input_shape": list(self.input_shape),
            "n_classes": self.n_classes,
            "class_names": list(self.class_names),
            "has_mask": self.has_mask,
            "has_concepts": self.has_concepts,
            "source": self.source,
        }


def split_arrays(
    X: np.ndarray,
    y: np.ndarray,
    *extra: np.ndarray | None,
    test_size: float = 0.25,
    seed: int = 0,
) -> tuple:
    """Stratified train/test split that carries optional aligned arrays (concepts, masks) along.

    Returns (X_train, X_test, y_train, y_test, extra0_train, extra0_test, ...); a None extra
    gives (None, None). Falls back to an unstratified split when a class is too rare.
    """
    index = np.arange(len(y))
    counts = np.bincount(y) if len(y) else np.array([])
    n_classes = int((counts > 0).sum())
    n_test = int(np.ceil(test_size * len(y)))
    # Stratify only when both splits can hold every class (scikit-learn refuses otherwise).
    can_stratify = counts.size and counts[counts > 0].min() >= 2 and n_test >= n_classes and len(y) - n_test >= n_classes
    stratify = y if can_stratify else None
    from sklearn.model_selection import train_test_split  # here: importing scikit-learn takes ~1.7 s of CPU

    train_idx, test_idx = train_test_split(index, test_size=test_size, random_state=seed, stratify=stratify)
    out = [X[train_idx], X[test_idx], y[train_idx], y[test_idx]]
    for arr in extra:
        out += [None, None] if arr is None else [arr[train_idx], arr[test_idx]]
    return tuple(out)


def encode_labels(labels: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Map arbitrary labels to 0..k-1, classes sorted (numerically when they are numbers)."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    try:
        classes = np.array(sorted(classes, key=lambda v: float(v)))
    except (TypeError, ValueError):
        pass
    lookup = {value: i for i, value in enumerate(classes.tolist())}
    encoded = np.array([lookup[v] for v in labels.tolist()], dtype=np.int64)
    return encoded, [_label_text(c) for c in classes.tolist()]


def _label_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
