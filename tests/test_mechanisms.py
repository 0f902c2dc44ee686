"""The Mechanisms family end to end: the full-batch trainer on small groups (history, store,
reload, cancel), the shipped checkpoints' quality figures (loaded, never retrained), and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from interp_core import cli, recipes
from interp_core.families.mechanisms.data import get_group, pairs_dataset
from interp_core.errors import TrainingCancelled
from interp_core.families.mechanisms import explain as gx
from interp_core.recipes import Recipe
from interp_core.store import SHIPPED_ROOT, Catalog, Store

MECHANISMS = [r.name for r in recipes.list_recipes("mechanisms")]


def small_recipe(**train) -> Recipe:
    return Recipe("test-z7", "mechanisms", "z7_pairs", "group_mlp", {"hidden": 32, "embed_dim": 8},
                  {"steps": 200, "eval_every": 50, **train}, "Z_7 for tests", trainer="groups")


@pytest.fixture
def shipped_only(tmp_path):
    return Catalog(Store(tmp_path / "empty"), Store(SHIPPED_ROOT, readonly=True))


def test_training_a_small_group_records_history_analysis_and_reloads(tmp_store):
    events, stages = [], []
    dataset = pairs_dataset("Z7", 0.6, corrupt_fraction=0.2)
    trained = recipes.train(small_recipe(), store=tmp_store, dataset=dataset, device="cpu", seed=1, progress=events.append, on_stage=stages.append)
    assert [e.step for e in events] == list(range(1, 201)) and events[-1].total == 200
    assert any("Training test-z7" in s for s in stages) and any("irreducible" in s for s in stages)
    assert not trained.is_classifier
    metrics = trained.metrics
    assert metrics["train_accuracy"] == 1.0  # 29 pairs are memorised, wrong labels included
    assert metrics["epochs_run"] == 200
    history = tmp_store.read_json(trained.artifact, "history.json")
    assert history["step"] == [0, 50, 100, 150, 200]
    assert set(history) >= {"train_accuracy", "test_accuracy", "train_loss", "test_loss", "weight_norm"}
    assert history["train_accuracy"][-1] == 1.0 and history["train_accuracy"][0] < 0.5
    report = tmp_store.read_json(trained.artifact, "mechanism.json")
    assert report["train_accuracy"] == pytest.approx(metrics["train_accuracy"])
    assert report["test_accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-6)
    assert report["pruning"] is not None  # corrupted labels: the pruning view is precomputed
    assert report["bound"]["accuracy"] <= report["brute_force_accuracy"]
    # reload from the store: same split (corrupted labels included) and the same numbers
    again = recipes.load("test-z7", Catalog(tmp_store, Store(SHIPPED_ROOT, readonly=True)), "cpu")
    assert (again.dataset.y_train == dataset.y_train).all() and (again.dataset.extras["train_index"] == dataset.extras["train_index"]).all()
    assert recipes.evaluate(again.model, again.dataset, "cpu")["test_accuracy"] == metrics["test_accuracy"]
    assert again.dataset.extras["corrupted"].sum() == dataset.extras["corrupted"].sum() > 0


def test_the_same_seed_gives_the_same_network(tmp_path):
    dataset = pairs_dataset("S3", 0.6)
    first = recipes.train(small_recipe(steps=60), store=Store(tmp_path / "a"), dataset=dataset, device="cpu", seed=3)
    second = recipes.train(small_recipe(steps=60), store=Store(tmp_path / "b"), dataset=dataset, device="cpu", seed=3)
    a, b = first.model.parts(), second.model.parts()
    assert np.array_equal(a.left, b.left) and np.array_equal(a.unembed, b.unembed)


def test_cancelling_training_saves_nothing(tmp_store):
    calls = {"n": 0}

    def cancel():
        calls["n"] += 1
        return calls["n"] > 20

    with pytest.raises(TrainingCancelled):
        recipes.train(small_recipe(), store=tmp_store, dataset=pairs_dataset("Z7", 0.6), device="cpu", cancel=cancel)
    assert tmp_store.names() == []


def test_recipes_cover_cyclic_dihedral_symmetric_and_corrupted_labels():
    groups = {recipes.get_recipe(name).dataset for name in MECHANISMS}
    assert {"z113_pairs", "d12_pairs", "s4_pairs"} <= groups
    assert any("noisy" in name for name in MECHANISMS)


# -- shipped checkpoints: quality figures, by loading ---------------------------------------------


def test_z113_generalises_from_under_half_the_pairs_and_its_key_frequencies_explain_it(shipped_only):
    trained = recipes.load("z113-mlp", shipped_only, "cpu")
    assert 0.3 <= trained.manifest["dataset"]["train_fraction"] <= 0.5
    recorded = trained.metrics
    assert recorded["test_accuracy"] >= 0.99
    assert recipes.evaluate(trained.model, trained.dataset, "cpu")["test_accuracy"] == recorded["test_accuracy"]
    assert len(trained.dataset.y_test) == 113 * 113 - len(trained.dataset.y_train)
    store = shipped_only.store_for(trained.artifact)
    split = dict(store.read_arrays(trained.artifact, "split.safetensors"))
    decomposition = gx.decompose(trained.model.parts(), "Z113")
    stored = store.read_json(trained.artifact, "mechanism.json")
    assert decomposition.key_names == stored["key_irreps"]
    assert 2 <= len(decomposition.key_irreps) <= 12  # a handful of frequencies, not all 56
    parts = trained.model.parts()
    truth = get_group("Z113").table.ravel()
    full = gx.accuracy_on(parts, np.arange(113 * 113), truth)
    explained = gx.accuracy_on(gx.restrict(parts, "Z113", decomposition.key_irreps), np.arange(113 * 113), truth)
    assert explained >= full - 0.01
    assert stored["without_key_accuracy"] < 0.1
    assert stored["equivariance"]["left"] < 0.5 * stored["equivariance"]["left_unpermuted"]
    assert stored["bound"] is not None and stored["bound"]["accuracy"] <= full
    assert split["train_index"].shape == trained.dataset.y_train.shape
    # the analyses run in float64 on the folded weights; the float32 network agrees on every pair
    import torch

    pairs = np.stack(np.meshgrid(np.arange(113), np.arange(113), indexing="ij"), axis=-1).reshape(-1, 2)
    with torch.no_grad():
        torch_answers = trained.model(torch.as_tensor(pairs, dtype=torch.float32)).argmax(1).numpy()
    assert (torch_answers == parts.logits(pairs[:, 0], pairs[:, 1]).argmax(1)).all()


@pytest.mark.parametrize("name", MECHANISMS)
def test_shipped_histories_show_memorising_then_generalising(shipped_only, name):
    trained = recipes.load(name, shipped_only, "cpu")
    history = shipped_only.store_for(trained.artifact).read_json(trained.artifact, "history.json")
    metrics = trained.metrics
    assert history["step"][-1] == metrics["epochs_run"]
    assert metrics["memorise_step"] is not None
    assert history["test_accuracy"][-1] == pytest.approx(metrics["test_accuracy"], abs=1e-6)
    if metrics["grok_step"] is not None:
        assert metrics["memorise_step"] < metrics["grok_step"]


def test_the_noisy_recipe_memorises_and_its_memory_lives_outside_the_key_irreps(shipped_only):
    name = next(n for n in MECHANISMS if "noisy" in n)
    trained = recipes.load(name, shipped_only, "cpu")
    store = shipped_only.store_for(trained.artifact)
    split = dict(store.read_arrays(trained.artifact, "split.safetensors"))
    key = trained.extras["group"]
    parts = trained.model.parts()
    decomposition = gx.decompose(parts, key)
    neurons = gx.memorising_neurons(decomposition, 0.5)
    report = gx.pruning_report(parts, get_group(key), split, neurons, 0.5, decomposition.key_irreps).accuracies
    assert trained.dataset.extras["corrupt_fraction"] > 0.02
    wrong = report.loc["corrupted training pairs (their wrong label)"]
    assert wrong["before"] > 0.5  # it did memorise the wrong labels ...
    assert report.loc["test pairs", "before"] > 0.9  # ... and still generalised
    assert wrong["key irreps only"] < wrong["before"] - 0.3  # the memory is outside the key irreps
    assert report.loc["corrupted training pairs (true answer)", "key irreps only"] > 0.5
    assert report.loc["test pairs", "key irreps only"] >= report.loc["test pairs", "before"] - 0.02
    assert report.loc["corrupted training pairs (their wrong label)", "pairs"] == int(trained.dataset.extras["corrupted"].sum())


# -- CLI ------------------------------------------------------------------------------------------


def test_explain_groups_prints_the_named_keys(interp_store_env, capsys):
    assert cli.main(["explain", "groups", "s4-mlp", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("train_accuracy", "test_accuracy", "brute_force_accuracy", "explained_accuracy", "key_irreps", "bound", "memorising_neurons"):
        assert key in result
    assert result["test_accuracy"] == pytest.approx(result["recorded_test_accuracy"], abs=1e-6)
    assert result["bound"] is None or 0.0 <= result["bound"] <= result["brute_force_accuracy"]
    assert all(name.startswith("[") for name in result["key_irreps"])  # S4 irreps are named by partitions
    # the bound that also compresses the hidden layer works on Z_n only: its keys are there, null for S4
    assert result["compressed_bound"] is None and result["compressed_bound_cost_ratio"] is None and result["compressed_bound_frontier"] == []


@pytest.mark.parametrize("argv", [["explain", "groups", "wine-mlp"], ["explain", "groups", "--data", "x.csv"]])
def test_explain_groups_refuses_other_recipes_in_one_sentence(interp_store_env, capsys, argv):
    assert cli.main(argv + ["--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err
