"""Saves racing reads (issue 22, item 4): readers never see a half-swapped artifact or a false
"corrupted" while a save is in flight, concurrent saves of one artifact all complete, and
recover() never undoes a save in progress. Real processes race in the first two tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import interp_core.store as store_module
from interp_core.errors import ArtifactCorrupted, StoreError
from interp_core.store import MANIFEST, Store

REPO = Path(__file__).resolve().parents[1]
RACER = r"""
import json, os, sys
from interp_core.store import Store

def content(tag, i):  # a size and bytes of its own per save, so a file read from another save fails its hash
    return f"{tag}:{i};".encode() * (1 + i % 37)

role, store, tag, count, stop = sys.argv[1], Store(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
print("ready", flush=True)
sys.stdin.readline()
done, errors, seen, last = 0, [], set(), None
if role == "write":
    for i in range(count):
        try:
            store.save("race", {"weights.bin": content(tag, i), "history.json": {"tag": tag, "i": i}}, {"metrics": {"tag": tag, "i": i}})
            done, last = done + 1, [tag, i]
        except Exception as exc:
            errors.append(f"save {i}: {type(exc).__name__}: {exc}")
else:
    previous = None
    while not os.path.exists(stop):
        try:
            artifact = store.open("race")
            m = artifact.manifest["metrics"]
            assert store.read_bytes(artifact, "weights.bin") == content(m["tag"], m["i"]), "weights of another save"
            assert store.read_json(artifact, "history.json") == m, "history of another save"
            if previous is not None:  # opened before the saves since: still reads its own version
                p = previous.manifest["metrics"]
                assert store.read_bytes(previous, "weights.bin") == content(p["tag"], p["i"]), "stale artifact read another save"
            previous, done = artifact, done + 1
            seen.add((m["tag"], m["i"]))
        except Exception as exc:
            errors.append(f"read: {type(exc).__name__}: {exc}")
print(json.dumps({"done": done, "n_errors": len(errors), "errors": errors[:5], "seen": len(seen), "last": last}))
"""


def content(tag: str, i: int) -> bytes:
    return f"{tag}:{i};".encode() * (1 + i % 37)


def save_race(store: Store, tag: str, i: int):
    return store.save("race", {"weights.bin": content(tag, i), "history.json": {"tag": tag, "i": i}}, {"metrics": {"tag": tag, "i": i}})


def race(store: Store, roles: list[tuple[str, str, int]], stop: Path) -> list[dict]:
    """Start one process per (role, tag, count), release them together, stop the readers when the writers are done."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen([sys.executable, "-c", RACER, role, str(store.root), tag, str(count), str(stop)], cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for role, tag, count in roles
    ]
    try:
        for proc in procs:
            assert proc.stdout.readline().strip() == "ready"
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = {}
        for (role, _, _), proc in zip(roles, procs):  # writers first (roles list them first), then stop the readers
            if role == "read":
                stop.touch()
            out, _ = proc.communicate(timeout=180)
            assert proc.returncode == 0, out
            results[proc.pid] = json.loads(out.strip().splitlines()[-1])
        return [results[proc.pid] for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()


def test_a_reader_racing_300_saves_sees_no_error(tmp_path):
    store = Store(tmp_path / "store")
    save_race(store, "w", 0)  # the artifact exists before the race: "missing" would be an error too
    writer, reader = race(store, [("write", "w", 300), ("read", "-", 0)], tmp_path / "stop")
    assert (writer["done"], writer["n_errors"]) == (300, 0), writer["errors"]
    assert reader["n_errors"] == 0, reader["errors"]
    assert reader["done"] > 20 and reader["seen"] > 3, reader  # it really read while the saves landed
    final = store.open("race")
    assert final.manifest["metrics"] == {"tag": "w", "i": 299} and store.read_bytes(final, "weights.bin") == content("w", 299)
    assert not list(store.root.glob(".tmp-*")) and not list(store.root.glob(".trash-*"))


def test_two_writers_of_one_artifact_serialise(tmp_path):
    store = Store(tmp_path / "store")
    a, b = race(store, [("write", "a", 120), ("write", "b", 120)], tmp_path / "stop")
    assert (a["done"], a["n_errors"], b["done"], b["n_errors"]) == (120, 0, 120, 0), (a["errors"], b["errors"])
    final = store.open("race")  # verifies every checksum
    assert final.manifest["metrics"] in ({"tag": "a", "i": 119}, {"tag": "b", "i": 119})
    assert [final.manifest["metrics"]["tag"], final.manifest["metrics"]["i"]] in (a["last"], b["last"])
    assert store.read_bytes(final, "weights.bin") == content(final.manifest["metrics"]["tag"], 119)
    assert store.names() == ["race"] and not list(store.root.glob(".tmp-*"))


# -- one process: what a reader holding an artifact sees -------------------------------------------


def test_an_artifact_opened_before_a_save_still_reads_its_own_version(tmp_store):
    save_race(tmp_store, "v", 1)
    before = tmp_store.open("race")
    save_race(tmp_store, "v", 2)
    tmp_store.add_file("race", "extra.json", {"x": 1})
    assert tmp_store.read_bytes(before, "weights.bin") == content("v", 1)
    assert tmp_store.read_json(before, "history.json") == {"tag": "v", "i": 1}
    after = tmp_store.open("race")
    assert after.path != before.path and after.manifest["metrics"] == {"tag": "v", "i": 2}
    assert before.location == after.location == tmp_store.root / "race"  # what users are shown stays the same
    assert tmp_store.read_bytes(after, "weights.bin") == content("v", 2) and tmp_store.read_json(after, "extra.json") == {"x": 1}


def test_add_file_makes_a_new_version_and_never_changes_a_file_in_place(tmp_store):
    first = save_race(tmp_store, "v", 1)
    added = tmp_store.add_file("race", "history.json", {"replaced": True})
    assert added.path != first.path and os.readlink(tmp_store.root / "race") == added.path.name
    assert json.loads((first.path / "history.json").read_text()) == {"tag": "v", "i": 1}
    assert json.loads((first.path / MANIFEST).read_text()) == first.manifest
    assert tmp_store.read_json(tmp_store.open("race"), "history.json") == {"replaced": True}
    # the unchanged file is shared, not copied
    assert (added.path / "weights.bin").stat().st_ino == (first.path / "weights.bin").stat().st_ino


def test_a_version_collected_under_a_reader_says_replaced_not_corrupted(tmp_store, monkeypatch):
    save_race(tmp_store, "v", 1)
    held = tmp_store.open("race")
    save_race(tmp_store, "v", 2)
    assert held.path.is_dir()  # within its grace period the superseded version stays
    monkeypatch.setattr(store_module, "GRACE_S", -1)
    save_race(tmp_store, "v", 3)
    assert not held.path.exists()
    with pytest.raises(StoreError) as info:
        tmp_store.read_bytes(held, "weights.bin")
    assert not isinstance(info.value, ArtifactCorrupted)
    assert "\n" not in str(info.value) and "replaced (retrained or deleted) while it was being read; reload it" in str(info.value)
    assert len(list(tmp_store.root.glob(".v-race-*"))) == 1  # only the current version is left


def test_delete_removes_the_pointer_and_every_version(tmp_store):
    save_race(tmp_store, "v", 1)
    save_race(tmp_store, "v", 2)
    save_race(tmp_store, "v", 3).path.rename(tmp_store.root / "race-2")  # a name that starts like it is not its version
    (tmp_store.root / "race").unlink()
    save_race(tmp_store, "v", 4)
    tmp_store.delete("race")
    assert not os.path.lexists(tmp_store.root / "race") and not list(tmp_store.root.glob(".v-race-*"))
    assert (tmp_store.root / "race-2" / MANIFEST).is_file()


# -- stores of the older layout (a plain folder per artifact) and recover() ------------------------


def legacy_store(tmp_path: Path) -> Store:
    """A store as written before versions: ROOT/race is a plain folder."""
    store = Store(tmp_path / "store")
    shutil.copytree(save_race(Store(tmp_path / "old"), "v", 1).path, store.root / "race")
    return store


def test_the_older_layout_reads_and_its_first_save_converts_it(tmp_path):
    store = legacy_store(tmp_path)
    old = store.open("race")
    assert old.path == store.root / "race" and store.names() == ["race"]
    save_race(store, "v", 2)
    assert (store.root / "race").is_symlink() and store.open("race").manifest["metrics"]["i"] == 2
    # a reader holding the plain folder now reads through the pointer: told to reload, never "corrupted"
    with pytest.raises(StoreError, match="while it was being read; reload it") as info:
        store.read_bytes(old, "weights.bin")
    assert not isinstance(info.value, ArtifactCorrupted)
    assert not list(store.root.glob(".trash-*")) and not list(store.root.glob(".tmp-*"))


def test_readers_and_recover_during_the_first_save_over_the_older_layout(tmp_path, monkeypatch):
    """While the plain folder is moved aside (the name is missing for an instant), recover() must not put
    it back and a reader must wait for the pointer instead of reporting the artifact missing."""
    store = legacy_store(tmp_path)
    real_replace = os.replace
    seen = {}

    def replace(src, dst):
        real_replace(src, dst)
        if Path(dst).name.startswith(".trash-race-"):
            seen["missing"] = not os.path.lexists(store.root / "race")
            seen["recovered"] = store.recover("race")  # the save holds the lock: must do nothing
            reader = threading.Thread(target=lambda: seen.setdefault("read", store.open("race").manifest["metrics"]["i"]))
            reader.start()
            seen["reader"] = reader
            reader.join(timeout=0.2)  # it waits for the save's lock (a wrong store returns "missing" at once)

    monkeypatch.setattr(os, "replace", replace)
    save_race(store, "v", 2)
    monkeypatch.undo()
    seen["reader"].join(timeout=60)
    assert seen["missing"] is True and seen["recovered"] is False
    assert seen["read"] == 2  # the reader saw the new save, not "missing" and not the old folder put back
    assert store.open("race").manifest["metrics"]["i"] == 2 and not list(store.root.glob(".trash-*"))


def test_recover_does_nothing_while_a_save_holds_the_lock(tmp_path):
    store = legacy_store(tmp_path)
    trash = store.root / ".trash-race-0123abcd"
    (store.root / "race").rename(trash)  # what a killed save of the older layout left
    with store._lock("race"):  # a save of "race" in progress (the same flock a save takes)
        assert store.recover("race") is False
        assert trash.is_dir() and not os.path.lexists(store.root / "race")
    assert store.recover("race") is True and store.open("race").manifest["metrics"]["i"] == 1
