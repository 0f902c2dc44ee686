"""The Family spec: how a family of explanations describes itself to the rest of the project.

A family is one folder, ``interp_core/families/<name>/``. Its ``__init__.py`` registers what the
family adds to the engine's registries (datasets, architectures, trainers, recipes) and ends with
``register_family(Family(...))``. The CLI, the app, the HTML report and Compare reach a family only
through this spec: nothing outside the folder names a family's modules. The engine core never
imports a family; ``load_families()`` imports every folder once, by name, when a registry is first
read.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from dataclasses import dataclass, field
from typing import Callable

from interp_core.errors import RecipeError

FAMILIES_PACKAGE = "interp_core.families"


@dataclass(frozen=True)
class Uploads:
    """What a family's page does with a user's own file.

    ``accepts`` is the sentence the upload box shows. ``defaults(dataset)`` returns the family's
    default model(s) for it as (recipe, counterpart recipe name or None), or raises DataError with a
    sentence when the file does not fit. ``modality_3d`` says how a 3-D ``X`` (n, a, b) is read on
    this page ("image" or "series"). ``read(data, filename)`` replaces the usual CSV/NPZ reader
    (SAE activations). ``cannot`` is the sentence of a family whose page takes no files.
    """

    accepts: str = ""
    model_label: str = ""
    defaults: Callable | None = None
    modality_3d: str | None = None
    read: Callable | None = None
    cannot: str | None = None


@dataclass(frozen=True)
class Family:
    """One family of explanations (see the module docstring). Only ``name`` and ``title`` are required."""

    name: str
    title: str
    pitch: str = ""  # one line on Home's card
    icon: str = ""  # a Material icon name, e.g. ":material/hub:"
    url_path: str = ""  # the page's URL path (defaults to the name)
    explain: Callable | None = None  # ``explain <name>`` on the CLI: fn(argparse.Namespace) -> dict of metrics
    aliases: tuple[str, ...] = ()  # older CLI names of ``explain`` and ``bench`` (a contract: they keep working)
    benches: dict[str, Callable] = field(default_factory=dict)  # ``bench <target>``: fn(args) -> dict of figures
    sections: Callable | None = None  # fn(trained, catalog) -> [report.Section]: the page's global views
    uploads: Uploads | None = None
    artifacts: dict[str, str] = field(default_factory=dict)  # stored file name -> what it holds
    compare_pair: tuple[str, str] | None = None  # the two recipes Compare opens on first
    trainers: tuple[str, ...] = ()  # the trainer names this family registers (recipes.register_trainer)
    export: Callable | None = None  # ``export-<name> RECIPE --out DIR`` on the CLI: fn(args) -> dict; writes a trained recipe for other tools
    export_format: str = ""  # what ``export`` writes, for the CLI's help (e.g. "an SAELens SAE folder")
    collect: dict[str, Callable] = field(default_factory=dict)  # ``collect-acts SOURCE`` on the CLI: {source: fn(args) -> dict}; writes a layer's activations as shards
    train_data: Callable | None = None  # ``train --data PATH``: fn(path) -> Recipe | None, a recipe for data only this family trains from (sae: a shard folder)
    steer: Callable | None = None  # ``steer RECIPE --feature F ...`` on the CLI: fn(args) -> dict; edits features of one example and reruns the model
    circuit: Callable | None = None  # ``circuit RECIPE --feature J`` on the CLI: fn(args) -> dict; a feature's upstream features (sae: transcoders)
    sweep: Callable | None = None  # ``sweep <name> ...`` on the CLI: fn(args) -> dict; trains and stores a population of models

    @property
    def path(self) -> str:
        return self.url_path or self.name


_FAMILIES: dict[str, Family] = {}
_loaded = False
_lock = threading.RLock()  # re-entrant: a family's import may read a registry while it registers


def register_family(family: Family) -> Family:
    _FAMILIES[family.name] = family
    return family


def load_families() -> None:
    """Import every folder of interp_core/families once (thread-safe: app sessions run in threads)."""
    global _loaded
    if _loaded:
        return
    # A second session must wait for the first one's imports, not see a half-filled registry.
    with _lock:
        if _loaded:
            return
        package = importlib.import_module(FAMILIES_PACKAGE)
        for module in pkgutil.iter_modules(package.__path__):
            if module.ispkg and not module.name.startswith("_"):
                importlib.import_module(f"{FAMILIES_PACKAGE}.{module.name}")
        _loaded = True


def load_all_figures() -> dict[str, str]:
    """Import every figure module, the shared ones and each family's, so that HOW_TO_READ holds every
    chart's line (pages import only what they draw); returns HOW_TO_READ."""
    figures = importlib.import_module("interp_core.figures")
    for module in pkgutil.iter_modules(figures.__path__):
        importlib.import_module(f"{figures.__name__}.{module.name}")
    for family in family_folders():
        importlib.import_module(f"{FAMILIES_PACKAGE}.{family}.figures")
    return figures.HOW_TO_READ


def family_folders() -> list[str]:
    """The names of the family folders, without importing them (a recipe's family must be one, or "classifier")."""
    package = importlib.import_module(FAMILIES_PACKAGE)
    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.ispkg and not m.name.startswith("_"))


def family_title(name: str) -> str:
    """How the user reads a family's name: its page title ("Classifier" for Home's plain classifiers)."""
    spec = find_family(name)
    return spec.title if spec is not None else "Classifier" if name == "classifier" else name


def families() -> dict[str, Family]:
    """Every registered family by name, in the order their folders sort."""
    load_families()
    return dict(_FAMILIES)


def get_family(name: str) -> Family:
    """A family by its name or one of its aliases; RecipeError (one sentence) otherwise."""
    for family in families().values():
        if name == family.name or name in family.aliases:
            return family
    raise RecipeError(f"Unknown family '{name}'; expected one of: {', '.join(sorted(_FAMILIES))}.")


def find_family(name: str | None) -> Family | None:
    """A family by name or alias, or None (Home and the plain classifiers have none)."""
    try:
        return get_family(name) if name else None
    except RecipeError:
        return None
