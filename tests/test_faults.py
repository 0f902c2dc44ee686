"""Faults: a process killed while training or saving leaves the store loadable (the last good
artifact or none, never a half one)."""

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import interp_core.store as store_module
from interp_core.errors import ArtifactMissing
from interp_core.store import MANIFEST, Store

REPO = Path(__file__).resolve().parents[1]
SAVER = """
import sys, torch
from interp_core.store import Store
store = Store(sys.argv[1])
i = 0
print("ready", flush=True)
while True:
    # big enough that a kill often lands inside a save
    store.save("victim", {"model.safetensors": {"w": torch.full((400_000,), float(i))}, "history.json": {"i": i}}, {"metrics": {"i": i}})
    i += 1
"""


def _check_loadable(store: Store) -> int | None:
    """The artifact verifies and its weights match its manifest, or there is none."""
    try:
        artifact = store.open("victim")
    except ArtifactMissing:
        return None
    weights = store.read_tensors(artifact)["w"]
    i = artifact.manifest["metrics"]["i"]
    assert float(weights[0]) == float(weights[-1]) == float(i)
    assert store.read_json(artifact, "history.json") == {"i": i}
    return i


def test_killing_a_process_in_the_middle_of_saves_never_leaves_a_half_artifact(tmp_path, monkeypatch):
    rng = random.Random(0)
    store = Store(tmp_path / "store")
    seen = []
    for _ in range(6):  # each child imports torch (about 5 s of a loaded 2-core machine): 6 kills at random moments
        child = subprocess.Popen([sys.executable, "-c", SAVER, str(store.root)], cwd=REPO, stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.02, 0.6))
        child.send_signal(signal.SIGKILL)
        child.wait()
        seen.append(_check_loadable(store))  # raises ArtifactCorrupted if half-written
        assert store.names() in ([], ["victim"])
    assert any(i is not None for i in seen)
    leftovers = list(store.root.glob(".tmp-*")) + list(store.root.glob(".trash-*"))
    assert store.cleanup(older_than_s=0) == len(leftovers)
    assert not list(store.root.glob(".tmp-*")) and not list(store.root.glob(".trash-*"))
    _check_loadable(store)
    # versions superseded (or never pointed to) go once their grace period for readers has passed
    kept = store.open("victim").path if store.exists("victim") else None
    monkeypatch.setattr(store_module, "GRACE_S", 0)
    store.cleanup(older_than_s=0)
    assert list(store.root.glob(".v-*")) == ([kept] if kept else [])
    _check_loadable(store)


def _save_victim(store: Store, i: int):
    return store.save("victim", {"model.safetensors": {"w": torch.full((4,), float(i))}, "history.json": {"i": i}}, {"metrics": {"i": i}})


def _die_after_rename(monkeypatch, on_call: int) -> None:
    """The process dies right after its ``on_call``-th rename, as a kill there would leave the store."""
    real_replace = os.replace
    calls = {"n": 0}

    def replace(src, dst):
        calls["n"] += 1
        real_replace(src, dst)
        if calls["n"] == on_call:
            raise SystemExit("killed")

    monkeypatch.setattr(os, "replace", replace)


def test_a_kill_between_writing_the_version_and_swapping_the_pointer_keeps_the_previous_artifact(tmp_path, monkeypatch):
    store = Store(tmp_path / "store")
    first = _save_victim(store, 1)
    _die_after_rename(monkeypatch, on_call=1)  # the finished staging folder became a version; the pointer was not swapped
    with pytest.raises(SystemExit):
        _save_victim(store, 2)
    monkeypatch.undo()
    assert os.readlink(store.root / "victim") == first.path.name  # readers never saw the name missing
    assert _check_loadable(store) == 1
    orphans = [p for p in store.root.glob(".v-*") if p != first.path]
    assert len(orphans) == 1 and (orphans[0] / MANIFEST).is_file()
    assert store.cleanup(older_than_s=0) == 0  # within its grace period it stays
    monkeypatch.setattr(store_module, "GRACE_S", 0)
    assert store.cleanup(older_than_s=0) == 1 and list(store.root.glob(".v-*")) == [first.path]
    assert _check_loadable(store) == 1


def test_a_kill_between_the_two_renames_of_the_older_layout_restores_the_previous_artifact(tmp_path, monkeypatch):
    """A store written before versions (a plain ROOT/victim folder): its first save moves the folder aside
    and puts the pointer in its place; a kill in between leaves .trash-victim-*, which the next read puts back."""
    store = Store(tmp_path / "store")
    shutil.copytree(_save_victim(Store(tmp_path / "old"), 1).path, store.root / "victim")
    _die_after_rename(monkeypatch, on_call=2)  # 1: staging -> version, 2: plain folder -> .trash-victim-*
    with pytest.raises(SystemExit):
        _save_victim(store, 2)
    monkeypatch.undo()
    assert not (store.root / "victim").exists() and len(list(store.root.glob(".trash-victim-*"))) == 1  # as a killed process would leave it
    assert _check_loadable(store) == 1  # the next read puts the last good artifact back
    assert (store.root / "victim").is_dir() and not (store.root / "victim").is_symlink()
    _save_victim(store, 3)  # and the next save converts it
    assert (store.root / "victim").is_symlink() and _check_loadable(store) == 3 and not list(store.root.glob(".trash-*"))


def test_killing_training_saves_nothing_and_keeps_the_previous_model(tmp_path):
    env = {**os.environ, "INTERP_STORE": str(tmp_path / "store")}
    cmd = [sys.executable, "-m", "interp_core", "train", "digits-mlp", "--no-umap"]
    first = subprocess.run(cmd + ["--epochs", "2", "--json"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    before = Store(tmp_path / "store").open("digits-mlp").manifest
    # Retrain the same recipe and kill the process while it trains.
    child = subprocess.Popen(cmd + ["--epochs", "500"], cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    seen, deadline = "", time.time() + 120
    while time.time() < deadline:  # wait until training has started: its stage line, printed as the fit loop begins
        chunk = child.stderr.read(1)  # (the bar's 'epoch=' may never draw: early stopping can end a quiet machine's fit within tqdm's 0.5 s)
        seen += chunk
        if "Training digits-mlp on CPU..." in seen or not chunk:
            break
    assert "Training digits-mlp on CPU..." in seen, f"training never started: {seen[-500:]}"
    child.send_signal(signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL, "the training process ended before it could be killed"
    store = Store(tmp_path / "store")
    assert store.names() == ["digits-mlp"]
    kept = store.open("digits-mlp").manifest  # verifies every checksum: the previous model, whole
    assert (kept["created"], kept["metrics"]["epochs_run"]) == (before["created"], 2)
