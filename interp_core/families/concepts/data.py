"""Datasets with concept labels: generated shapes whose class is a known function of some concepts,
and breast_cancer with concepts defined over named groups of its measurements.

Shapes (``make_shapes``): RGB images (3, size, size) in [0, 1] of one shape on a noisy dark
background. Every image is annotated with 8 binary concepts (``SHAPES_CONCEPTS``):

- shape: ``circle``, ``square``, ``triangle`` (exactly one is 1)
- fill: ``striped`` (diagonal stripes) or solid
- size: ``large`` (radius 7-9 px) or small (radius 4-5.5 px, at size 28)
- position: ``left`` (centre in the left half) or right
- colour: ``red`` or blue
- intensity: ``bright`` or dim

Ground truth (``SHAPES_TRUTH``): the class is drawn uniformly from three, then the concepts it
depends on are drawn to match it:

- class 0 "solid": not striped (any shape)
- class 1 "striped round": striped and a circle
- class 2 "striped angular": striped and a square or triangle

``large``, ``left``, ``red`` and ``bright`` are drawn independently of the class (probability 1/2
each), so a faithful concept explanation should find no dependence on them. Gaussian pixel noise
makes small, dim, striped shapes hard to see, so a model's concept predictions are imperfect.

Breast cancer (``load_breast_cancer_concepts``): the bundled scikit-learn table, split exactly like
the foundation's ``breast_cancer`` dataset, plus 5 binary concepts. Each concept is a named group
of measurements (``BREAST_CANCER_GROUPS``); its score is the mean z-score (training statistics) of
the group's columns and the concept is 1 when the score is above its training-set median.
"""

from __future__ import annotations

import numpy as np

from interp_core.data.dataset import Dataset, split_arrays
from interp_core.errors import DataError

SHAPES_CONCEPTS = ["circle", "square", "triangle", "striped", "large", "left", "red", "bright"]
SHAPES_CLASSES = ["solid", "striped round", "striped angular"]
SHAPES_GROUPS = {"shape": ["circle", "square", "triangle"], "fill": ["striped"], "size": ["large"], "position": ["left"], "colour": ["red"], "intensity": ["bright"]}
# concept -> classes whose label it decides (by construction); every other concept is independent of the class.
SHAPES_TRUTH = {
    "rule": "solid = not striped; striped round = striped and circle; striped angular = striped and (square or triangle)",
    "determining": ["striped", "circle", "square", "triangle"],
    "unrelated": ["large", "left", "red", "bright"],
}

BREAST_CANCER_GROUPS = {
    "large nucleus": ["mean radius", "mean perimeter", "mean area", "worst radius", "worst perimeter", "worst area"],
    "coarse texture": ["mean texture", "worst texture"],
    "irregular shape": ["mean concavity", "mean concave points", "mean symmetry", "worst concavity", "worst concave points", "worst symmetry"],
    "uneven contour": ["mean smoothness", "worst smoothness"],
    "complex border": ["mean fractal dimension", "worst fractal dimension"],
}

_RED = np.array([1.0, 0.25, 0.2])
_BLUE = np.array([0.2, 0.35, 1.0])


def _shape_mask(kind: int, cy: float, cx: float, radius: float, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """Boolean mask of one shape on pixel-centre grids ``yy``, ``xx``."""
    if kind == 0:  # circle
        return (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
    if kind == 1:  # square with the same area as the circle
        half = radius * 0.886
        return (np.abs(yy - cy) <= half) & (np.abs(xx - cx) <= half)
    # upward triangle inscribed in a slightly larger circle (similar area)
    r = radius * 1.25
    top, base = cy - r, cy + r * 0.5
    inside_height = (yy >= top) & (yy <= base)
    half_width = (yy - top) / (base - top) * r * 0.866
    return inside_height & (np.abs(xx - cx) <= half_width)


def _paint(image: np.ndarray, kind: int, striped: bool, phase: int, radius: float, cy: float, cx: float, colour: np.ndarray, grids, scale: float) -> None:
    """Draw one shape into ``image`` (3, size, size) in place: its mask (stripes inside a 1 px
    outline when ``striped``) filled with ``colour`` (clipped to [0, 1])."""
    yy, xx, centres_y, centres_x = grids
    mask = _shape_mask(kind, cy, cx, radius, centres_y, centres_x)
    if striped:  # diagonal stripes, 2 px on and 2 px off, random phase, inside a 1 px outline
        stripe_width = max(1, round(2 * scale))
        inner = _shape_mask(kind, cy, cx, radius - 1.0 * scale, centres_y, centres_x)
        mask = (mask & ~inner) | (inner & (((yy + xx + phase) // stripe_width) % 2 == 0))
    image[:, mask] = np.clip(colour, 0, 1)[:, None]


def _grids(size: int):
    yy, xx = np.mgrid[0:size, 0:size]
    return yy, xx, yy.astype(np.float32) + 0.5, xx.astype(np.float32) + 0.5


def make_shapes(n: int = 2400, size: int = 28, noise: float = 0.18, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Generate ``n`` shape images with concept labels.

    Returns (X (n, 3, size, size) float32 in [0, 1], y (n,) int64 in 0..2, concepts (n, 8) float32 0/1)
    with columns in ``SHAPES_CONCEPTS`` order and classes in ``SHAPES_CLASSES`` order.
    """
    rng = np.random.default_rng(seed)
    X = np.empty((n, 3, size, size), dtype=np.float32)
    y = rng.integers(0, 3, size=n)
    concepts = np.zeros((n, len(SHAPES_CONCEPTS)), dtype=np.float32)
    scale = size / 28.0
    grids = _grids(size)
    X[:] = 0.12
    for i in range(n):
        if y[i] == 0:
            striped, kind = False, int(rng.integers(0, 3))
        elif y[i] == 1:
            striped, kind = True, 0
        else:
            striped, kind = True, int(rng.integers(1, 3))
        large, left, red, bright = (bool(b) for b in rng.integers(0, 2, size=4))
        radius = (rng.uniform(7.0, 9.0) if large else rng.uniform(4.0, 5.5)) * scale
        margin = radius * (1.25 if kind == 2 else 1.0) + scale  # 1 px at size 28; scaled so small sizes fit too
        mid = size / 2
        cx = rng.uniform(margin, mid - scale) if left else rng.uniform(mid + scale, size - margin)
        cy = rng.uniform(margin + (0.25 * radius if kind == 2 else 0.0), size - margin)
        phase = int(rng.integers(0, 4)) if striped else 0
        brightness = rng.uniform(0.85, 1.0) if bright else rng.uniform(0.45, 0.6)
        colour = (_RED if red else _BLUE) * brightness + rng.normal(0, 0.04, size=3)
        _paint(X[i], kind, striped, phase, radius, cy, cx, colour, grids, scale)
        concepts[i, kind] = 1
        concepts[i, 3:] = [striped, large, left, red, bright]
    X += rng.normal(0, noise, size=X.shape).astype(np.float32)
    np.clip(X, 0, 1, out=X)
    return X, y.astype(np.int64), concepts


def shapes_counterfactuals(concept: str, n: int = 300, size: int = 28, noise: float = 0.18, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` pairs of shape images that differ only in ``concept``: (X0 without it, X1 with it), each
    (n, 3, size, size) float32 in [0, 1].

    Everything else of a pair is the same draw from the generator's distribution (class first, then
    fill and shape to match it; size, position, colour and brightness at 1/2 each), as are its stripe
    phase, colour jitter and pixel noise. Switching a concept keeps the other attributes' relative
    draws: ``large`` maps the same quantile of the radius into the large or small range, ``left`` the
    same quantile of the horizontal position into the left or right half, ``bright`` the same
    quantile of the brightness; ``red`` swaps the hue only; a shape concept (``circle`` ...) swaps
    the outline (without it: one of the two other shapes); ``striped`` swaps the fill.
    """
    if concept not in SHAPES_CONCEPTS:
        raise DataError(f"'{concept}' is not a shapes concept; expected one of: {', '.join(SHAPES_CONCEPTS)}.")
    rng = np.random.default_rng([seed, SHAPES_CONCEPTS.index(concept)])
    scale, mid, grids = size / 28.0, size / 2, _grids(size)
    pairs = np.full((2, n, 3, size, size), 0.12, dtype=np.float32)
    for i in range(n):
        y = int(rng.integers(0, 3))
        striped, kind = (False, int(rng.integers(0, 3))) if y == 0 else (True, 0) if y == 1 else (True, int(rng.integers(1, 3)))
        large, left, red, bright = (bool(b) for b in rng.integers(0, 2, size=4))
        u_radius, u_x, u_y, u_bright = rng.uniform(size=4)
        phase = int(rng.integers(0, 4))
        jitter = rng.normal(0, 0.04, size=3)
        other_shape = int(rng.choice([k for k in range(3) if k != SHAPES_CONCEPTS.index(concept)])) if concept in SHAPES_CONCEPTS[:3] else kind
        for switched in (0, 1):
            attributes = {"striped": striped, "large": large, "left": left, "red": red, "bright": bright}
            shape = kind
            if concept in attributes:
                attributes[concept] = bool(switched)
            else:
                shape = SHAPES_CONCEPTS.index(concept) if switched else other_shape
            low, high = (7.0, 9.0) if attributes["large"] else (4.0, 5.5)
            radius = (low + u_radius * (high - low)) * scale
            margin = radius * (1.25 if shape == 2 else 1.0) + scale
            low, high = (margin, mid - scale) if attributes["left"] else (mid + scale, size - margin)
            cx = low + u_x * (high - low)
            low = margin + (0.25 * radius if shape == 2 else 0.0)
            cy = low + u_y * (size - margin - low)
            brightness = 0.85 + 0.15 * u_bright if attributes["bright"] else 0.45 + 0.15 * u_bright
            colour = (_RED if attributes["red"] else _BLUE) * brightness + jitter
            _paint(pairs[switched, i], shape, attributes["striped"], phase, radius, cy, cx, colour, grids, scale)
    pairs += rng.normal(0, noise, size=(n, 3, size, size)).astype(np.float32)[None]
    np.clip(pairs, 0, 1, out=pairs)
    return pairs[0], pairs[1]


# dataset name -> the generator that renders counterfactual pairs of its concepts (CaCE needs one)
COUNTERFACTUALS = {"shapes": shapes_counterfactuals}


def load_shapes(n: int = 2400, seed: int = 0) -> Dataset:
    X, y, concepts = make_shapes(n=n, seed=seed)
    X_train, X_test, y_train, y_test, c_train, c_test = split_arrays(X, y, concepts)
    # The example the app opens on: the first large, bright, striped shape (a dim, small one is
    # lost in the pixel noise and looks like static).
    clear = np.all(c_test[:, [SHAPES_CONCEPTS.index(c) for c in ("large", "bright", "striped")]] > 0.5, axis=1)
    return Dataset(
        name="shapes",
        modality="image",
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        class_names=list(SHAPES_CLASSES),
        feature_names=None,
        description=(
            "Generated 28x28 colour shapes. The class depends only on fill and shape "
            "(solid; striped circle; striped square or triangle); size, position, colour and brightness are independent of it."
        ),
        source="interp_core.families.concepts.data.make_shapes (seeded generator with ground truth)",
        concepts_train=c_train,
        concepts_test=c_test,
        concept_names=list(SHAPES_CONCEPTS),
        extras={"concept_groups": SHAPES_GROUPS, "truth": SHAPES_TRUTH, "default_example": int(np.argmax(clear))},
    )


def breast_cancer_concept_scores(X: np.ndarray, feature_names: list[str], mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Group scores (n, groups): the mean z-score of each group's columns, with the given statistics."""
    z = (X - mean) / np.where(std > 0, std, 1.0)
    columns = {name: i for i, name in enumerate(feature_names)}
    return np.stack([z[:, [columns[f] for f in features]].mean(axis=1) for features in BREAST_CANCER_GROUPS.values()], axis=1)


def load_breast_cancer_concepts() -> Dataset:
    from sklearn.datasets import load_breast_cancer as loader

    bunch = loader()
    X = bunch.data.astype(np.float32)
    y = bunch.target.astype(np.int64)
    index = np.arange(len(y))
    # Same call as the foundation's breast_cancer dataset, so the train/test examples are identical.
    X_train, X_test, y_train, y_test, i_train, i_test = split_arrays(X, y, index)
    feature_names = [str(f) for f in bunch.feature_names]
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    train_scores = breast_cancer_concept_scores(X_train, feature_names, mean, std)
    thresholds = np.median(train_scores, axis=0)
    c_train = (train_scores > thresholds).astype(np.float32)
    c_test = (breast_cancer_concept_scores(X_test, feature_names, mean, std) > thresholds).astype(np.float32)
    return Dataset(
        name="breast_cancer_concepts",
        modality="tabular",
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        class_names=[str(c) for c in bunch.target_names],
        feature_names=feature_names,
        description=(
            "Wisconsin diagnostic breast cancer (30 measurements, malignant vs benign) with 5 concepts, each a named "
            "group of measurements thresholded at its training-set median."
        ),
        source="scikit-learn (bundled) + concept groups from interp_core.families.concepts.data",
        concepts_train=c_train,
        concepts_test=c_test,
        concept_names=list(BREAST_CANCER_GROUPS),
        extras={"concept_groups": {name: features for name, features in BREAST_CANCER_GROUPS.items()}, "thresholds": thresholds.tolist()},
    )


def check_binary_concepts(concepts: np.ndarray | None, source: str) -> np.ndarray:
    """Concept labels must exist and be 0/1 for TCAV example sets and a bottleneck's targets."""
    if concepts is None:
        raise DataError(f"{source} has no concept labels; expected an array 'concepts' (n x k, 0/1) with 'concept_names'.")
    values = np.unique(np.asarray(concepts))
    if not np.isin(values, [0.0, 1.0]).all():
        raise DataError(f"{source}: concepts hold values other than 0 and 1 (e.g. {values[~np.isin(values, [0.0, 1.0])][0]:g}); expected 0/1 labels.")
    return np.asarray(concepts, dtype=np.float32)
