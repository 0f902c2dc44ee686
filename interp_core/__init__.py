"""Interp Explorer's engine: datasets, models, training, a checksummed store and analyses.

Importing this package is cheap: heavy modules (torch models, umap, aeon) load on first use.
Nothing here imports Streamlit.
"""

import os as _os
from pathlib import Path as _Path

__version__ = "0.1.0"

# numba (used by umap and aeon) reads this once at import: keep its compiled code on disk so a
# new process does not recompile (see interp_core.projection).
_os.environ.setdefault(
    "NUMBA_CACHE_DIR",
    str(_Path(_os.environ.get("XDG_CACHE_HOME") or _Path.home() / ".cache") / "interp-explorer" / "numba"),
)

from interp_core.errors import InterpError  # noqa: E402

__all__ = ["InterpError", "__version__"]
