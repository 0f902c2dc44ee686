"""The family registry: every folder of interp_core/families registers one complete Family spec, and
the rest of the project reaches families only through it (the layer contracts are in .importlinter)."""

from __future__ import annotations

import argparse
import importlib
import inspect
from pathlib import Path

import pytest

from interp_core import recipes
from interp_core.family import families, family_folders, get_family
from interp_core.report import Section

REPO = Path(__file__).resolve().parents[1]
PARTS = ("models", "explain", "figures", "sections")  # and data.py where the family has datasets of its own (prototypes uses the bundled ones)


def test_every_family_folder_registers_one_spec():
    assert sorted(families()) == family_folders() == ["concepts", "mechanisms", "prototypes", "rules", "sae", "timeseries"]


@pytest.mark.parametrize("name", family_folders())
def test_a_family_has_all_its_parts(name):
    family = get_family(name)
    assert family.title and family.pitch and family.icon.startswith(":material/")
    assert family.explain is not None and list(inspect.signature(family.explain).parameters) == ["args"]
    assert family.sections is not None and list(inspect.signature(family.sections).parameters) == ["trained", "catalog"]
    assert family.uploads is not None and (family.uploads.cannot or (family.uploads.accepts and family.uploads.defaults))
    assert family.trainers and all(t in recipes.TRAINERS for t in family.trainers)
    own = recipes.list_recipes(name)
    assert own and {r.trainer for r in own} <= set(family.trainers)
    if family.compare_pair:
        assert set(family.compare_pair) <= {r.name for r in own}
    for part in PARTS:  # each part is a module (or a package, e.g. explain/) of the family's own folder
        module = importlib.import_module(f"interp_core.families.{name}.{part}")
        where = Path(module.__file__)
        assert where.parent == REPO / "interp_core" / "families" / name or where == REPO / "interp_core" / "families" / name / part / "__init__.py"
    assert (REPO / "views" / f"{name}.py").is_file(), "every family has its page"


def test_a_shipped_recipe_reports_through_its_familys_sections():
    from interp_core.store import Catalog

    catalog = Catalog()
    trained = recipes.load("wine-rules", catalog, "cpu")
    sections = get_family("rules").sections(trained, catalog)
    assert sections and all(isinstance(s, Section) and s.items for s in sections)


def test_older_cli_names_resolve_to_the_renamed_families():
    assert get_family("attributions").name == "timeseries" and get_family("groups").name == "mechanisms"
    with pytest.raises(Exception, match="Unknown family 'astrology'"):
        get_family("astrology")


def test_nothing_outside_a_family_folder_names_its_modules():
    """The CLI, the app and the core reach a family through its spec, never by importing its modules."""
    offenders = []
    for path in [*REPO.glob("interp_core/*.py"), *REPO.glob("interp_core/cli/*.py"), *REPO.glob("interp_core/data/*.py"), *REPO.glob("interp_core/models/*.py"), *REPO.glob("interp_core/figures/*.py")]:
        if "interp_core.families." in path.read_text():
            offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


@pytest.mark.parametrize("family, modality", [("rules", "image"), ("prototypes", "image"), ("concepts", "image"), ("timeseries", "series"), (None, "series")])
def test_the_cli_and_the_app_read_one_file_alike(tmp_path, family, modality):
    """One reader (userdata.read_user_file) decides how an NPZ is read, for --data and for uploads alike."""
    import numpy as np

    from interp_core.userdata import read_upload, read_user_file

    rng = np.random.default_rng(0)
    path = tmp_path / "cube.npz"
    np.savez(path, X=rng.random((40, 6, 6)), y=np.arange(40) % 2)
    from_cli = read_user_file(path, family)
    from_app = read_upload(path.read_bytes(), "cube.npz", family)
    assert from_cli.modality == from_app.modality == modality
    assert from_cli.X_train.shape == from_app.X_train.shape
    np.testing.assert_array_equal(from_cli.X_test, from_app.X_test)


def test_an_artifact_stored_under_the_older_file_names_still_loads(tmp_path):
    """Mechanisms' report and SAE's feature statistics were both 'analysis.json'; the old name is an alias."""
    import shutil

    from interp_core.store import SHIPPED_ROOT, Catalog, Store

    for name, renamed in (("z113-mlp", {"mechanism.json": "analysis.json", "mechanism.safetensors": "analysis.safetensors"}), ("toy-sae", {"features.json": "analysis.json"})):
        folder = tmp_path / name
        shutil.copytree(SHIPPED_ROOT / name, folder)
        manifest = (folder / "manifest.json").read_text()
        for new, old in renamed.items():
            (folder / new).rename(folder / old)
            manifest = manifest.replace(f'"{new}"', f'"{old}"')
        (folder / "manifest.json").write_text(manifest)
        catalog = Catalog(Store(tmp_path, readonly=True), Store(tmp_path / "none", readonly=True))
        trained = recipes.load(name, catalog, "cpu")
        assert set(renamed.values()) <= set(trained.artifact.manifest["files"])
        sections = get_family(trained.manifest["family"]).sections(trained, catalog)
        assert sum(len(s.items) for s in sections) >= 3
