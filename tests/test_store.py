"""The checksummed artifact store (interp_core.store)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

import interp_core.store as store_module
from interp_core.errors import ArtifactCorrupted, ArtifactMissing, StoreError
from interp_core.store import MANIFEST, Catalog, Store, config_hash, sha256_file


def tensors() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return {"layer.weight": torch.randn(4, 3), "layer.bias": torch.randn(4), "steps": torch.arange(5)}


def arrays() -> dict[str, np.ndarray]:
    return {"pca": np.arange(12, dtype=np.float32).reshape(6, 2), "ids": np.arange(6, dtype=np.int64)}


def save_sample(store: Store, name: str = "demo", **manifest):
    files = {"model.safetensors": tensors(), "maps.safetensors": arrays(), "history.json": {"loss": [1.0, 0.5]}}
    return store.save(name, files, {"recipe": name, "metrics": {"test_accuracy": 0.9}, **manifest})


def assert_clear(message: str, phrase: str) -> None:
    assert "\n" not in message and phrase in message, message


def layout(store: Store) -> dict[str, list[str]]:
    """The store root's entries: artifact names, version folders, leftovers of unfinished writes."""
    names = sorted(p.name for p in store.root.iterdir())
    return {
        "names": [n for n in names if not n.startswith(".")],
        "versions": [n for n in names if n.startswith(store_module.VERSION_PREFIX)],
        "leftovers": [n for n in names if n.startswith((".tmp-", ".trash-"))],
    }


# -- round trip and manifest ---------------------------------------------------------------------


def test_roundtrip_tensors_arrays_and_json(tmp_store):
    save_sample(tmp_store)
    artifact = tmp_store.open("demo")
    loaded = tmp_store.read_tensors(artifact)
    for key, value in tensors().items():
        assert torch.equal(loaded[key], value) and loaded[key].dtype == value.dtype
    maps = tmp_store.read_arrays(artifact, "maps.safetensors")
    for key, value in arrays().items():
        np.testing.assert_array_equal(maps[key], value)
        assert maps[key].dtype == value.dtype
    assert tmp_store.read_json(artifact, "history.json") == {"loss": [1.0, 0.5]}
    assert artifact.metrics == {"test_accuracy": 0.9}
    assert artifact.shipped is False


def test_manifest_records_hashes_created_versions_format(tmp_store):
    saved = save_sample(tmp_store)
    manifest = json.loads((tmp_store.root / "demo" / MANIFEST).read_text())
    assert manifest == saved.manifest
    assert manifest["format"] == store_module.FORMAT_VERSION
    assert manifest["name"] == "demo" and manifest["recipe"] == "demo"
    assert manifest["created"].startswith("20") and "T" in manifest["created"]
    assert {"python", "torch", "numpy", "interp_core"} <= set(manifest["versions"])
    assert set(manifest["files"]) == {"model.safetensors", "maps.safetensors", "history.json"}
    for file, entry in manifest["files"].items():
        path = tmp_store.root / "demo" / file
        assert entry["sha256"] == sha256_file(path)
        assert entry["bytes"] == path.stat().st_size


def test_names_exists_and_delete(tmp_store):
    assert tmp_store.names() == []
    save_sample(tmp_store, "b-model")
    save_sample(tmp_store, "a.model_1")
    assert tmp_store.names() == ["a.model_1", "b-model"]
    assert tmp_store.exists("b-model") and not tmp_store.exists("c")
    tmp_store.delete("b-model")
    assert tmp_store.names() == ["a.model_1"]


def test_save_replaces_an_existing_artifact(tmp_store):
    first = save_sample(tmp_store, recipe="v1")
    tmp_store.save("demo", {"model.safetensors": {"w": torch.ones(2)}}, {"recipe": "v2"})
    artifact = tmp_store.open("demo")
    assert artifact.manifest["recipe"] == "v2"
    assert set(artifact.manifest["files"]) == {"model.safetensors"}
    assert not (artifact.path / "history.json").exists()
    # no staging or trash left behind; the name is a relative link to the new version, the old one
    # is kept for readers that opened it (until its grace period has passed)
    assert layout(tmp_store) == {"names": ["demo"], "versions": sorted([first.path.name, artifact.path.name]), "leftovers": []}
    assert os.readlink(tmp_store.root / "demo") == artifact.path.name != first.path.name
    assert tmp_store.read_json(first, "history.json") == {"loss": [1.0, 0.5]}


def test_missing_artifact(tmp_store):
    with pytest.raises(ArtifactMissing, match="No artifact 'ghost'"):
        tmp_store.open("ghost")


@pytest.mark.parametrize("bad", ["../x", "A B", "", "Upper", "a/b", ".hidden", "..", "x" * 200])
def test_invalid_names_are_refused(tmp_store, bad):
    with pytest.raises(StoreError, match="not a valid artifact name"):
        tmp_store.save(bad, {"a.json": {}}, {})
    with pytest.raises(StoreError):
        tmp_store.open(bad)
    assert not (tmp_store.root / "x").exists() and not (tmp_store.root.parent / "x").exists()


@pytest.mark.parametrize("bad_file", ["../escape.json", MANIFEST, "sub/dir.json", ".hidden"])
def test_invalid_file_names_are_refused(tmp_store, bad_file):
    with pytest.raises(StoreError, match="not a valid artifact file name"):
        tmp_store.save("demo", {bad_file: {"a": 1}}, {})
    assert tmp_store.names() == []
    assert not (tmp_store.root.parent / "escape.json").exists()


def test_config_hash_is_stable_and_order_free():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})
    assert len(config_hash({})) == 16


# -- corruption: detected, reported, never loaded ------------------------------------------------


def test_flipped_byte_same_size(tmp_store):
    save_sample(tmp_store)
    path = tmp_store.root / "demo" / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactCorrupted) as info:
        tmp_store.open("demo")
    assert_clear(str(info.value), "model.safetensors fails its sha256 check")


def test_truncated_file(tmp_store):
    save_sample(tmp_store)
    path = tmp_store.root / "demo" / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ArtifactCorrupted) as info:
        tmp_store.open("demo")
    assert_clear(str(info.value), "truncated")


def test_deleted_file(tmp_store):
    save_sample(tmp_store)
    (tmp_store.root / "demo" / "maps.safetensors").unlink()
    with pytest.raises(ArtifactCorrupted) as info:
        tmp_store.open("demo")
    assert_clear(str(info.value), "missing its file maps.safetensors")


def test_manifest_deleted_folder_kept(tmp_store):
    save_sample(tmp_store)
    (tmp_store.root / "demo" / MANIFEST).unlink()
    with pytest.raises(ArtifactCorrupted) as info:
        tmp_store.open("demo")
    assert_clear(str(info.value), "has no manifest (an interrupted write?)")
    assert tmp_store.names() == []


@pytest.mark.parametrize("text", ["{not json", "", "[1, 2]", '"just a string"', "null", '{"name": "demo"}', "\udcff"])
def test_unreadable_manifest(tmp_store, text):
    save_sample(tmp_store)
    path = tmp_store.root / "demo" / MANIFEST
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(ArtifactCorrupted) as info:
        tmp_store.open("demo")
    assert_clear(str(info.value), "unreadable manifest")


def test_manifest_with_non_object_file_entry(tmp_store):
    save_sample(tmp_store)
    path = tmp_store.root / "demo" / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["files"]["model.safetensors"] = "deadbeef"
    path.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactCorrupted):
        tmp_store.open("demo")


def test_file_changed_after_open_is_caught_on_read(tmp_store):
    save_sample(tmp_store)
    artifact = tmp_store.open("demo")
    path = artifact.path / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactCorrupted, match="sha256"):
        tmp_store.read_tensors(artifact)


def test_unverified_open_still_checks_on_read(tmp_store):
    save_sample(tmp_store)
    (tmp_store.root / "demo" / "history.json").write_text('{"loss": [9]}')
    artifact = tmp_store.open("demo", verify=False)
    with pytest.raises(ArtifactCorrupted):
        tmp_store.read_json(artifact, "history.json")


def test_reading_an_unlisted_file_is_missing(tmp_store):
    save_sample(tmp_store)
    artifact = tmp_store.open("demo")
    with pytest.raises(ArtifactMissing, match="no file other.json"):
        tmp_store.read_bytes(artifact, "other.json")


@pytest.mark.parametrize("payload", [{"not": "tensors"}, b"\x00" * 3, b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\": [1, 2]}xxx"])
def test_non_safetensors_behind_a_correct_hash(tmp_store, payload):
    tmp_store.save("demo", {"model.safetensors": payload, "maps.safetensors": payload}, {})
    artifact = tmp_store.open("demo")  # the hash matches what was written
    with pytest.raises(ArtifactCorrupted, match="not a valid safetensors file"):
        tmp_store.read_tensors(artifact)
    with pytest.raises(ArtifactCorrupted, match="not a valid safetensors file"):
        tmp_store.read_arrays(artifact, "maps.safetensors")


# -- interrupted writes ------------------------------------------------------------------------


def _assert_previous_intact(store: Store) -> None:
    assert store.names() == ["demo"]
    artifact = store.open("demo")
    assert artifact.manifest["recipe"] == "demo"
    assert torch.equal(store.read_tensors(artifact)["layer.weight"], tensors()["layer.weight"])


def _assert_nothing_left(store: Store) -> None:
    """No staging folder, link or trash left, and no version but the one the name points to."""
    assert layout(store) == {"names": ["demo"], "versions": [store.open("demo").path.name], "leftovers": []}


def test_failure_while_encoding_keeps_previous_artifact(tmp_store, monkeypatch):
    save_sample(tmp_store)
    real_encode = store_module.encode_payload
    calls = {"n": 0}

    def failing_encode(payload):
        calls["n"] += 1
        if calls["n"] == 2:  # after the first file was written into the staging folder
            raise OSError("disk full")
        return real_encode(payload)

    monkeypatch.setattr(store_module, "encode_payload", failing_encode)
    with pytest.raises(OSError, match="disk full"):
        tmp_store.save("demo", {"model.safetensors": {"w": torch.zeros(3)}, "history.json": {}}, {"recipe": "new"})
    monkeypatch.undo()
    assert calls["n"] == 2
    _assert_previous_intact(tmp_store)
    _assert_nothing_left(tmp_store)  # staging folder cleaned up


def test_failure_of_a_new_artifact_leaves_nothing_listed(tmp_store, monkeypatch):
    save_sample(tmp_store)

    def failing_encode(payload):
        raise OSError("disk full")

    monkeypatch.setattr(store_module, "encode_payload", failing_encode)
    with pytest.raises(OSError):
        tmp_store.save("fresh", {"model.safetensors": {"w": torch.zeros(3)}}, {})
    monkeypatch.undo()
    assert tmp_store.names() == ["demo"]
    with pytest.raises(ArtifactMissing):
        tmp_store.open("fresh")


def _failing_replace_on_call(monkeypatch, fail_on: int):
    real_replace = os.replace
    calls = {"n": 0}

    def replace(src, dst):
        calls["n"] += 1
        if calls["n"] == fail_on:
            raise OSError("rename failed")
        return real_replace(src, dst)

    monkeypatch.setattr(store_module.os, "replace", replace)
    return calls


def test_failure_turning_the_staging_folder_into_a_version_keeps_the_old_artifact(tmp_store, monkeypatch):
    save_sample(tmp_store)
    _failing_replace_on_call(monkeypatch, fail_on=1)
    with pytest.raises(OSError, match="rename failed"):
        tmp_store.save("demo", {"model.safetensors": {"w": torch.zeros(3)}}, {"recipe": "new"})
    monkeypatch.undo()
    _assert_previous_intact(tmp_store)
    _assert_nothing_left(tmp_store)


def test_failure_swapping_the_pointer_keeps_the_old_artifact(tmp_store, monkeypatch):
    save_sample(tmp_store)
    _failing_replace_on_call(monkeypatch, fail_on=2)
    with pytest.raises(OSError, match="rename failed"):
        tmp_store.save("demo", {"model.safetensors": {"w": torch.zeros(3)}}, {"recipe": "new"})
    monkeypatch.undo()
    _assert_previous_intact(tmp_store)
    _assert_nothing_left(tmp_store)


def test_failed_add_file_does_not_corrupt(tmp_store, monkeypatch):
    save_sample(tmp_store)
    _failing_replace_on_call(monkeypatch, fail_on=1)
    with pytest.raises(OSError):
        tmp_store.add_file("demo", "extra.json", {"x": 1})
    monkeypatch.undo()
    artifact = tmp_store.open("demo")
    assert "extra.json" not in artifact.manifest["files"]
    assert not [p for p in artifact.path.iterdir() if p.name.endswith(".tmp")]
    _assert_nothing_left(tmp_store)


# -- add_file, read-only stores ---------------------------------------------------------------


def test_add_file_adds_and_rehashes(tmp_store):
    save_sample(tmp_store)
    updated = tmp_store.add_file("demo", "extra.safetensors", {"coords": np.ones((3, 2), dtype=np.float32)}, {"note": "added"})
    reopened = tmp_store.open("demo")
    assert reopened.manifest == updated.manifest
    assert reopened.manifest["note"] == "added"
    entry = reopened.manifest["files"]["extra.safetensors"]
    assert entry["sha256"] == sha256_file(reopened.path / "extra.safetensors")
    np.testing.assert_array_equal(tmp_store.read_arrays(reopened, "extra.safetensors")["coords"], np.ones((3, 2)))
    assert {"model.safetensors", "maps.safetensors", "history.json"} <= set(reopened.manifest["files"])

    old_hash = reopened.manifest["files"]["history.json"]["sha256"]
    tmp_store.add_file("demo", "history.json", {"loss": [3.0]})
    again = tmp_store.open("demo")
    assert again.manifest["files"]["history.json"]["sha256"] != old_hash
    assert tmp_store.read_json(again, "history.json") == {"loss": [3.0]}


def test_add_file_to_missing_artifact(tmp_store):
    with pytest.raises(ArtifactMissing):
        tmp_store.add_file("ghost", "a.json", {})


def test_readonly_store_refuses_writes(tmp_path):
    writable = Store(tmp_path / "shipped")
    save_sample(writable)
    readonly = Store(tmp_path / "shipped", readonly=True)
    with pytest.raises(StoreError, match="read-only"):
        readonly.save("other", {"a.json": {}}, {})
    with pytest.raises(StoreError, match="read-only"):
        readonly.add_file("demo", "a.json", {})
    with pytest.raises(StoreError, match="read-only"):
        readonly.delete("demo")
    assert readonly.names() == ["demo"]
    assert readonly.open("demo").shipped is True
    assert not (tmp_path / "shipped" / "other").exists()


def test_default_root_follows_interp_store(interp_store_env):
    assert Store().root == interp_store_env


# -- Catalog: the user's store in front of the shipped one ----------------------------------------


@pytest.fixture
def two_stores(tmp_path):
    user = Store(tmp_path / "user")
    shipped_root = tmp_path / "shipped"
    return user, shipped_root, Catalog(user, Store(shipped_root, readonly=True))


def test_catalog_prefers_user_store(two_stores):
    user, shipped_root, catalog = two_stores
    save_sample(Store(shipped_root), recipe="shipped-version")
    save_sample(user, recipe="user-version")
    found = catalog.find("demo")
    assert found.manifest["recipe"] == "user-version" and not found.shipped
    assert catalog.store_for(found) is catalog.store


def test_catalog_falls_back_to_shipped(two_stores):
    user, shipped_root, catalog = two_stores
    save_sample(Store(shipped_root), recipe="shipped-version")
    found = catalog.find("demo")
    assert found.manifest["recipe"] == "shipped-version" and found.shipped
    assert catalog.store_for(found) is catalog.shipped
    assert torch.equal(catalog.store_for(found).read_tensors(found)["layer.bias"], tensors()["layer.bias"])


def test_catalog_returns_none_when_neither(two_stores):
    _, _, catalog = two_stores
    assert catalog.find("demo") is None


def test_catalog_raises_on_corrupt_user_artifact(two_stores):
    user, shipped_root, catalog = two_stores
    save_sample(Store(shipped_root), recipe="shipped-version")
    save_sample(user, recipe="user-version")
    path = user.root / "demo" / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactCorrupted):
        catalog.find("demo")


def test_catalog_raises_on_half_written_user_artifact(two_stores):
    user, shipped_root, catalog = two_stores
    save_sample(Store(shipped_root))
    (user.root / "demo").mkdir(parents=True)
    with pytest.raises(ArtifactCorrupted, match="no manifest"):
        catalog.find("demo")


def test_a_deeply_nested_manifest_is_unreadable_not_a_recursion_error(tmp_store):
    save_sample(tmp_store)
    (tmp_store.root / "demo" / MANIFEST).write_bytes(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(ArtifactCorrupted) as info:
        tmp_store.open("demo")
    assert_clear(str(info.value), "unreadable manifest (it nests arrays/objects 100000 levels deep")
