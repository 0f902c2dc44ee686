"""Faults: a process killed while training or saving leaves the store loadable (the last good
artifact or none, never a half one)."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from interp_core.errors import ArtifactMissing
from interp_core.store import Store

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


def test_killing_a_process_in_the_middle_of_saves_never_leaves_a_half_artifact(tmp_path):
    rng = random.Random(0)
    store = Store(tmp_path / "store")
    seen = []
    for _ in range(12):
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


def test_a_kill_between_the_two_renames_restores_the_previous_artifact(tmp_path, monkeypatch):
    store = Store(tmp_path / "store")
    store.save("victim", {"model.safetensors": {"w": __import__("torch").full((4,), 1.0)}, "history.json": {"i": 1}}, {"metrics": {"i": 1}})
    real_replace = os.replace
    calls = {"n": 0}

    def die_after_first_rename(src, dst):
        calls["n"] += 1
        real_replace(src, dst)
        if calls["n"] == 1:
            raise SystemExit("killed")  # the process dies with the old artifact moved aside

    monkeypatch.setattr(os, "replace", die_after_first_rename)
    with pytest.raises(SystemExit):
        store.save("victim", {"model.safetensors": {"w": __import__("torch").full((4,), 2.0)}, "history.json": {"i": 2}}, {"metrics": {"i": 2}})
    monkeypatch.setattr(os, "replace", real_replace)
    assert not (store.root / "victim").exists()  # as a killed process would leave it
    assert _check_loadable(store) == 1  # the next read puts the last good artifact back


def test_killing_training_saves_nothing_and_keeps_the_previous_model(tmp_path):
    env = {**os.environ, "INTERP_STORE": str(tmp_path / "store")}
    cmd = [sys.executable, "-m", "interp_core", "train", "digits-mlp", "--no-umap"]
    first = subprocess.run(cmd + ["--epochs", "2", "--json"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    before = Store(tmp_path / "store").open("digits-mlp").manifest
    # Retrain the same recipe and kill the process while it trains.
    child = subprocess.Popen(cmd + ["--epochs", "500"], cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    seen, deadline = "", time.time() + 120
    while time.time() < deadline:  # wait until training has started (the progress bar shows epochs)
        chunk = child.stderr.read(50)
        seen += chunk
        if "epoch=" in seen or not chunk:
            break
    assert "epoch=" in seen, f"training never started: {seen[-500:]}"
    child.send_signal(signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL, "the training process ended before it could be killed"
    store = Store(tmp_path / "store")
    assert store.names() == ["digits-mlp"]
    kept = store.open("digits-mlp").manifest  # verifies every checksum: the previous model, whole
    assert (kept["created"], kept["metrics"]["epochs_run"]) == (before["created"], 2)
