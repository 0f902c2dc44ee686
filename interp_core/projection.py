"""2-D maps of any embedding matrix: PCA at once, UMAP cached per artifact in the store.

The first UMAP call on a machine spends 20-30 s compiling numba code, so UMAP maps are computed at
train time and stored; pages show the stored map, or PCA while none exists. numba's compiled code
is cached on disk (NUMBA_CACHE_DIR, set in interp_core/__init__.py; ``_import_umap``), so later
processes skip the compile.
"""

from __future__ import annotations

import warnings

import numpy as np

from interp_core.store import Artifact, Store

METHODS = ("pca", "umap")


def pca_2d(X: np.ndarray) -> np.ndarray:
    """First two principal components (n, 2); a single column or row gives zeros in the missing axis."""
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    centred = X - X.mean(axis=0, keepdims=True)
    if len(X) < 2:
        return np.zeros((len(X), 2), dtype=np.float32)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ vt[:2].T
    if coords.shape[1] < 2:
        coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    # Fix each axis's sign so the same data always gives the same picture.
    signs = np.sign(coords[np.abs(coords).argmax(axis=0), range(2)])
    return (coords * np.where(signs == 0, 1, signs)).astype(np.float32)


def umap_2d(X: np.ndarray, seed: int = 0, n_neighbors: int = 15, min_dist: float = 0.1) -> np.ndarray:
    """UMAP embedding (n, 2); slow on a process's first call (numba compilation). ``min_dist``: how
    tightly UMAP may pack neighbours (UMAP's default 0.1 squeezes a well-separated class into one dot)."""
    X = np.asarray(X, dtype=np.float32).reshape(len(X), -1)
    if len(X) < 4:
        return pca_2d(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        umap = _import_umap()
        reducer = umap.UMAP(n_components=2, n_neighbors=min(n_neighbors, len(X) - 1), min_dist=min_dist, random_state=seed, n_jobs=1)
        return reducer.fit_transform(X).astype(np.float32)


def _import_umap():
    """``import umap`` with numba's on-disk cache asked for on each function it compiles.

    umap marks few of its numba functions ``cache=True``, so every new process spent 20-30 s
    compiling its layout code on the first map (a profile of ``train wine-mlp``: 32 of 45 s in
    umap_2d, 30 s of it in fit_transform). While umap (and pynndescent) are first imported,
    ``numba.njit``/``numba.jit`` default to ``cache=True`` (an explicit ``cache=`` is kept), so the
    compiled code lands in NUMBA_CACHE_DIR and later processes load it (the same map then took 0.5 s).
    A function numba cannot cache is compiled as before."""
    import sys

    if "umap" in sys.modules:
        return sys.modules["umap"]
    import numba

    njit, jit = numba.njit, numba.jit

    def cached(decorator):
        def wrapped(*args, **options):
            options.setdefault("cache", True)
            return decorator(*args, **options)

        return wrapped

    numba.njit, numba.jit = cached(njit), cached(jit)
    try:
        import umap
    finally:
        numba.njit, numba.jit = njit, jit
    return umap


def project(X: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    if method == "pca":
        return pca_2d(X)
    if method == "umap":
        return umap_2d(X, seed=seed)
    raise ValueError(f"unknown projection method {method!r}; expected one of {METHODS}")


def projection_file(key: str) -> str:
    return f"projection-{key}.safetensors"


def stored_projection(store: Store, artifact: Artifact, key: str, method: str) -> np.ndarray | None:
    """The stored map for (key, method), or None when it was never computed."""
    file = projection_file(key)
    if file not in artifact.manifest.get("files", {}):
        return None
    arrays = store.read_arrays(artifact, file)
    return arrays.get(method)


def cached_projection(store: Store, artifact: Artifact, key: str, X: np.ndarray, method: str, seed: int = 0) -> tuple[np.ndarray, Artifact]:
    """Return the stored map, computing and storing it first when missing (read-only stores: not stored)."""
    existing = stored_projection(store, artifact, key, method)
    if existing is not None and len(existing) == len(X):
        return existing, artifact
    coords = project(X, method, seed)
    if not store.readonly:
        file = projection_file(key)
        arrays = store.read_arrays(artifact, file) if file in artifact.manifest["files"] else {}
        arrays[method] = coords
        artifact = store.add_file(artifact.name, file, arrays)
    return coords, artifact
