"""Family plug-ins: one module per explanation family (prototypes, sae, concepts, timeseries, rules).

A module here registers what its family adds, at import time and nowhere else:
recipes (``recipes.register``), architectures (``models.register_architecture``), datasets
(``data.register_dataset``), custom trainers/loaders (``recipes.register_trainer``) and its CLI
explainer (``cli.EXPLAINERS[kind] = fn``). ``load_all()`` imports every module once; the
registries call it before they are read, so users never import families by hand.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading

_loaded = False
_lock = threading.RLock()  # re-entrant: a family module may read a registry while it is imported


def load_all() -> None:
    global _loaded
    if _loaded:
        return
    # App sessions run in threads: a second session must wait for the first one's imports, not
    # see a half-filled registry (its family page would fall back to another family's recipes).
    with _lock:
        if _loaded:
            return
        for module in pkgutil.iter_modules(__path__):
            if not module.name.startswith("_"):
                importlib.import_module(f"{__name__}.{module.name}")
        _loaded = True
