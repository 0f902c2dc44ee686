"""The Concepts family's engine: generated data with known concepts, TCAV with its significance test
(through captum.concept, writing nothing to ./cav), concept bottleneck models and test-time
intervention, the trainers and the CLI. Quality figures are checked on the shipped checkpoints."""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from interp_core import cli, recipes
from interp_core.data import load_dataset
from interp_core.families.concepts.data import SHAPES_CLASSES, SHAPES_CONCEPTS, SHAPES_TRUTH, make_shapes
from interp_core.errors import DataError, RecipeError
from interp_core.families.concepts import explain as explain
from interp_core.families import concepts as family
from interp_core.families.concepts.models import ConceptBottleneck, tcav_layers
from interp_core.store import SHIPPED_ROOT, Catalog, Store


@pytest.fixture(scope="module")
def shipped():
    catalog = Catalog(Store(Path(tempfile.mkdtemp()) / "empty"), Store(SHIPPED_ROOT, readonly=True))
    return {name: recipes.load(name, catalog, device="cpu") for name in ("shapes-cnn", "shapes-cbm")}


# -- data ------------------------------------------------------------------------------------------
def test_shapes_follow_their_documented_ground_truth():
    X, y, concepts = make_shapes(n=900, seed=3)
    assert X.shape == (900, 3, 28, 28) and X.dtype == np.float32 and 0 <= X.min() and X.max() <= 1
    c = {name: concepts[:, j].astype(bool) for j, name in enumerate(SHAPES_CONCEPTS)}
    assert (concepts[:, :3].sum(axis=1) == 1).all()  # exactly one shape
    assert ((y == 0) == ~c["striped"]).all()
    assert ((y == 1) == (c["striped"] & c["circle"])).all()
    assert ((y == 2) == (c["striped"] & (c["square"] | c["triangle"]))).all()
    # unrelated concepts have about the same rate in every class (drawn independently of it)
    for name in SHAPES_TRUTH["unrelated"]:
        rates = [c[name][y == k].mean() for k in range(3)]
        assert max(rates) - min(rates) < 0.12, (name, rates)
    X2, y2, c2 = make_shapes(n=900, seed=3)
    assert np.array_equal(X, X2) and np.array_equal(y, y2) and np.array_equal(concepts, c2)


def test_breast_cancer_concepts_keep_the_foundation_split_and_threshold_at_the_median():
    plain, with_concepts = load_dataset("breast_cancer"), load_dataset("breast_cancer_concepts")
    assert np.array_equal(plain.X_test, with_concepts.X_test) and np.array_equal(plain.y_train, with_concepts.y_train)
    assert with_concepts.concept_names == ["large nucleus", "coarse texture", "irregular shape", "uneven contour", "complex border"]
    assert set(np.unique(with_concepts.concepts_train)) == {0.0, 1.0}
    assert np.allclose(with_concepts.concepts_train.mean(axis=0), 0.5, atol=0.01)
    # "large nucleus" is a function of the size columns: larger mean radius -> more often 1
    radius = with_concepts.X_train[:, with_concepts.feature_names.index("mean radius")]
    large = with_concepts.concepts_train[:, 0] > 0.5
    assert radius[large].mean() > radius[~large].mean() * 1.3


# -- TCAV --------------------------------------------------------------------------------------------
class TwoUnitModel(nn.Module):
    """Class "high" scores s = h0 + 0.5 * h0 * h1 on the two units h of ``layer`` (class "low" scores -s):
    moving towards large h0 raises "high" for nearly every example; the gradient direction varies
    from example to example, so random directions score around 0.5."""

    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(2, 2)
        with torch.no_grad():
            self.layer.weight.copy_(torch.eye(2))
            self.layer.bias.zero_()

    def forward(self, x):
        h = self.layer(x)
        s = h[:, 0] + 0.5 * h[:, 0] * h[:, 1]
        return torch.stack([-s, s], dim=1)


def _toy_tcav(tmp_path, monkeypatch, **kwargs):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    pool = rng.normal(size=(400, 2)).astype(np.float32)
    concepts = {"high unit 0": pool[pool[:, 0] > 1.0][:40], "high unit 1": pool[pool[:, 1] > 1.0][:40]}
    exclude = {"high unit 0": np.flatnonzero(pool[:, 0] > 1.0), "high unit 1": np.flatnonzero(pool[:, 1] > 1.0)}
    inputs = [pool[pool[:, 0] < 0][:60], pool[pool[:, 0] > 0][:60]]
    return explain.tcav(TwoUnitModel(), {"layer": "layer"}, concepts, pool, inputs, ["low", "high"], exclude=exclude, random_set_size=40, **kwargs)


def test_tcav_scores_a_concept_the_class_reads_as_significant(tmp_path, monkeypatch):
    seen = []
    result = _toy_tcav(tmp_path, monkeypatch, n_random=10, progress=lambda done, total: seen.append((done, total)))
    assert result.run_scores.shape == (2, 2, 1, 10) and result.null_scores.shape == (2, 1, 10)
    assert result.cavs["layer"].shape == (2, 10, 2)
    # moving towards "high unit 0" raises class "high" for every example and lowers class "low"
    assert result.scores[0, 1, 0] > 0.9 and result.significant[0, 1, 0]
    assert result.scores[0, 0, 0] < 0.1 and result.significant[0, 0, 0]
    assert result.cav_accuracy[0, 0].mean() > 0.9
    # the unrelated concept is reported with its own test, whatever it scores
    table = result.table().set_index(["concept", "class", "layer"])
    for k, cls in enumerate(["low", "high"]):
        row = table.loc[("high unit 1", cls, "layer")]
        assert row["p_value"] == pytest.approx(stats.ttest_ind(result.run_scores[1, k, 0], result.null_scores[k, 0]).pvalue)
        assert row["significant"] == (row["p_value"] < 0.05)
    assert seen[-1] == (30 * 1, 30) and [d for d, _ in seen] == list(range(1, 31))
    assert not (tmp_path / "cav").exists()


def test_tcav_writes_nothing_to_cav_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    work = tmp_path / "work"
    work.mkdir()
    _toy_tcav(work, monkeypatch, n_random=2)
    assert list(work.iterdir()) == []
    assert list(scratch.iterdir()) == []


def test_tcav_is_reproducible_for_a_seed(tmp_path, monkeypatch):
    a = _toy_tcav(tmp_path, monkeypatch, n_random=3, seed=5)
    b = _toy_tcav(tmp_path, monkeypatch, n_random=3, seed=5)
    assert np.array_equal(a.run_scores, b.run_scores) and np.array_equal(a.cavs["layer"], b.cavs["layer"])


def test_tcav_result_round_trips_through_json_and_safetensors(tmp_path, monkeypatch, tmp_store):
    result = _toy_tcav(tmp_path, monkeypatch, n_random=3)
    artifact = tmp_store.save("toy", {"tcav.json": result.to_json(), "cavs.safetensors": result.cav_arrays()}, {})
    back = explain.TCAVResult.from_json(tmp_store.read_json(artifact, "tcav.json"), tmp_store.read_arrays(artifact, "cavs.safetensors"))
    assert np.array_equal(back.run_scores, result.run_scores)
    assert np.array_equal(np.nan_to_num(back.p_values, nan=-1), np.nan_to_num(result.p_values, nan=-1))
    assert np.allclose(back.cavs["layer"], result.cavs["layer"], atol=1e-3)
    records = back.to_records()
    assert {"concept", "class", "layer", "score", "p_value", "significant", "cav_accuracy"} <= set(records[0])
    json.dumps(records)


def test_two_sided_p_value_edge_cases():
    assert explain.two_sided_p_value([1, 1, 1], [1, 1, 1]) == 1.0
    assert explain.two_sided_p_value([1, 1, 1], [0, 0, 0]) == 0.0
    assert np.isnan(explain.two_sided_p_value([1], [0, 1]))
    a, b = [0.9, 0.8, 1.0, 0.95], [0.4, 0.6, 0.5, 0.3]
    assert explain.two_sided_p_value(a, b) == pytest.approx(stats.ttest_ind(a, b).pvalue)


def test_too_few_concept_examples_is_one_sentence(shipped):
    with pytest.raises(DataError, match="at least 10"):
        family.score_concept(shipped["shapes-cnn"], "tiny", np.arange(4))
    with pytest.raises(DataError, match="needs a name"):
        family.score_concept(shipped["shapes-cnn"], "  ", np.arange(40))


def test_on_shapes_tcav_finds_the_concept_that_decides_the_class(shipped):
    """Done-when: 'striped' decides every class of the shapes; TCAV must call it significant,
    pointing towards both striped classes and away from 'solid'. The unrelated 'red' is scored by
    the same code and reported as it comes out."""
    model = shipped["shapes-cnn"]
    data = model.dataset
    sets = explain.concept_example_sets(data.concepts_train, data.concept_names, 40, seed=1)
    chosen = {n: data.X_train[sets[n]] for n in ("striped", "red")}
    exclude = {n: np.flatnonzero(data.concepts_train[:, data.concept_names.index(n)] > 0.5) for n in chosen}
    layers = {k: v for k, v in tcav_layers(model.model).items() if k in ("block2", "hidden")}
    inputs = explain.class_inputs(data.X_test, data.y_test, 3, 60, seed=1)
    result = explain.tcav(model.model, layers, chosen, data.X_train, inputs, data.class_names, exclude=exclude, n_random=10, random_set_size=40, seed=1)
    striped = result.concept_names.index("striped")
    for layer in range(2):
        assert result.significant[striped, SHAPES_CLASSES.index("striped round"), layer]
        assert result.scores[striped, SHAPES_CLASSES.index("striped round"), layer] > 0.8
        assert result.significant[striped, SHAPES_CLASSES.index("solid"), layer]
        assert result.scores[striped, SHAPES_CLASSES.index("solid"), layer] < 0.2
    red = result.table().query("concept == 'red'")
    assert len(red) == 6 and red["p_value"].notna().all()
    assert (red["significant"] == (red["p_value"] < 0.05)).all()


def test_shipped_tcav_results_say_the_same(shipped):
    for name in ("shapes-cnn", "shapes-cbm"):
        result = shipped[name].extras["tcav"]
        assert result.concept_names == SHAPES_CONCEPTS and result.run_scores.shape[-1] >= 10
        striped = result.concept_names.index("striped")
        assert result.significant[striped, SHAPES_CLASSES.index("striped round")].any()
        assert result.significant[striped, SHAPES_CLASSES.index("solid")].any()
        table = result.table()
        assert set(table["concept"]) == set(SHAPES_CONCEPTS)  # unrelated concepts are not hidden
        assert result.cavs and all(v.shape[:2] == (8, result.run_scores.shape[-1]) for v in result.cavs.values())


def test_concept_sensitivity_matches_the_sign_tcav_counts(shipped):
    model = shipped["shapes-cnn"]
    result = model.extras["tcav"]
    directions = result.mean_cavs()["hidden"]
    X = model.dataset.X_test[:5]
    values = explain.concept_sensitivity(model.model, tcav_layers(model.model)["hidden"], X, 1, directions)
    assert values.shape == (5, 8)
    # finite differences along the CAV agree in sign with the directional derivative
    layer = model.model.body.hidden[1]
    captured = {}
    handle = layer.register_forward_hook(lambda m, i, o: o + captured.get("shift", 0))
    try:
        base = model.model(torch.as_tensor(X))[:, 1]
        captured["shift"] = 1e-2 * torch.as_tensor(directions[3])
        moved = model.model(torch.as_tensor(X))[:, 1]
    finally:
        handle.remove()
    assert np.array_equal(np.sign((moved - base).detach().numpy()), np.sign(values[:, 3]))
    # the same numbers as captum's layer gradient, which the app no longer imports for it
    from captum.attr import LayerGradientXActivation

    gradients = LayerGradientXActivation(model.model, layer, multiply_by_inputs=False).attribute(torch.as_tensor(X), target=1)
    np.testing.assert_allclose(values, gradients.reshape(5, -1).detach().numpy() @ directions.T, rtol=1e-5, atol=1e-7)


# -- concept bottleneck models ---------------------------------------------------------------------------
def test_intervene_replaces_only_the_chosen_concepts():
    predicted = np.array([[0.2, 0.7], [0.9, 0.4]], dtype=np.float32)
    true = np.array([[1, 0], [0, 0]], dtype=np.float32)
    out = explain.intervene(predicted, true, np.array([[True, False], [False, True]]))
    assert np.array_equal(out, np.array([[1.0, 0.7], [0.9, 0.0]], dtype=np.float32))


def test_the_cbm_intervention_curve_rises_with_corrected_concepts(shipped):
    """Done-when: correcting concepts raises the bottleneck model's task accuracy (fresh computation on the shipped model)."""
    model = shipped["shapes-cbm"]
    data = model.dataset
    assert model.extras["mode"] in ("independent", "sequential")
    # independent and sequential heads read concepts as concepts; a joint head may also use leaked
    # information in the soft probabilities, so its curve is reported by the page, not promised here
    for mode in ("independent", "sequential"):
        cbm = model.extras["cbm_models"][mode]
        predicted = explain.concept_probabilities(cbm, data.X_test)
        curve = explain.intervention_curve(cbm, predicted, data.concepts_test, data.y_test, "random", n_orders=10, seed=2)
        assert curve.accuracy.shape == (9,)
        assert curve.accuracy[-1] > curve.accuracy[0] + 0.02, (mode, curve.accuracy)
        assert (np.diff(curve.accuracy) > -0.01).all(), (mode, curve.accuracy)  # mean over orders: no real dips
        uncertain = explain.intervention_curve(cbm, predicted, data.concepts_test, data.y_test, "uncertain")
        assert uncertain.accuracy[-1] == pytest.approx(curve.accuracy[-1])
        assert uncertain.accuracy[2] >= curve.accuracy[2] - 1e-9  # fixing the least certain first helps at least as fast
    independent = model.extras["cbm_models"]["independent"]
    # the independent head learned the rule: with every concept corrected it is (almost) always right
    all_true = explain.class_probabilities_from_concepts(independent, data.concepts_test).argmax(1)
    assert (all_true == data.y_test).mean() > 0.99


def test_stored_cbm_reports_reproduce(shipped):
    model = shipped["shapes-cbm"]
    data = model.dataset
    for mode, report in model.extras["cbm_reports"].items():
        fresh = explain.cbm_report(model.extras["cbm_models"][mode], mode, data.X_test, data.y_test, data.concepts_test, data.concepts_train, seed=0)
        assert fresh.task_accuracy == pytest.approx(report.task_accuracy)
        assert np.allclose(fresh.concept_accuracy, report.concept_accuracy)
        assert np.allclose(fresh.curves["random"].accuracy, report.curves["random"].accuracy)
    assert model.metrics["test_accuracy"] == pytest.approx(model.extras["cbm_reports"][model.extras["mode"]].task_accuracy)


def test_what_if_moves_the_prediction(shipped):
    model = shipped["shapes-cbm"]
    striped = SHAPES_CONCEPTS.index("striped")
    values = np.zeros(8, dtype=np.float32)
    values[SHAPES_CONCEPTS.index("circle")] = 1
    values[striped] = 1
    assert family.what_if(model, "independent", values).argmax() == SHAPES_CLASSES.index("striped round")
    values[striped] = 0
    assert family.what_if(model, "independent", values).argmax() == SHAPES_CLASSES.index("solid")


def test_check_binary_concepts_explains_bad_labels():
    with pytest.raises(DataError, match="no concept labels"):
        explain.check_binary_concepts(None, "'x.npz'")
    with pytest.raises(DataError, match="other than 0 and 1"):
        explain.check_binary_concepts(np.array([[0.0, 0.5]]), "'x.npz'")


# -- trainers (tiny data) ----------------------------------------------------------------------------------
def _tiny_shapes():
    data = load_dataset("shapes")
    data.X_train, data.y_train, data.concepts_train = data.X_train[:160], data.y_train[:160], data.concepts_train[:160]
    data.X_test, data.y_test, data.concepts_test = data.X_test[:60], data.y_test[:60], data.concepts_test[:60]
    return data


TINY_TCAV = {"n_random": 2, "set_size": 12, "max_per_class": 10}


def test_cbm_trainer_saves_three_modes_and_reloads_them(tmp_store):
    recipe = recipes.Recipe("tiny-cbm", "concepts", "shapes", "cbm", {"channels": [4, 4, 8], "hidden": 8},
                            {"epochs": 2, "batch_size": 32, "mode": "sequential", "head_epochs": 3, "tcav": TINY_TCAV}, trainer="concepts-cbm")
    events, stages = [], []
    trained = recipes.train(recipe, store=tmp_store, device="cpu", umap=False, progress=events.append, on_stage=stages.append)
    files = set(trained.artifact.manifest["files"])
    assert {"model.safetensors", "cbm-independent.safetensors", "cbm-joint.safetensors", "cbm.json", "tcav.json", "tcav-cavs.safetensors"} <= files
    assert all(f.endswith((".json", ".safetensors")) for f in files)  # no pickles
    assert [e.step for e in events] == sorted(e.step for e in events) and events[-1].step == events[-1].total == 1000
    assert any("joint" in s for s in stages) and any("TCAV" in s for s in stages)
    loaded = recipes.load("tiny-cbm", Catalog(tmp_store), device="cpu", dataset=trained.dataset)
    assert loaded.extras["mode"] == "sequential" and set(loaded.extras["cbm_models"]) == {"independent", "sequential", "joint"}
    X = trained.dataset.X_test
    assert np.allclose(loaded.predict_proba(X), trained.predict_proba(X), atol=1e-6)
    assert np.allclose(loaded.embed(X), explain.concept_probabilities(trained.model, X), atol=1e-6)
    # independent and sequential share the encoder; only their heads differ
    ind, seq = loaded.extras["cbm_models"]["independent"], loaded.extras["cbm_models"]["sequential"]
    assert torch.equal(ind.concept_layer.weight, seq.concept_layer.weight)
    assert not torch.equal(ind.head[0].weight, seq.head[0].weight)
    assert recipes.evaluate(loaded.model, trained.dataset)["test_accuracy"] == trained.metrics["test_accuracy"]


def test_classifier_trainer_stores_tcav(tmp_store):
    recipe = recipes.Recipe("tiny-cnn", "concepts", "shapes", "concept-cnn", {"channels": [4, 4, 8], "hidden": 8},
                            {"epochs": 1, "batch_size": 32, "tcav": TINY_TCAV}, trainer="concepts-classifier")
    trained = recipes.train(recipe, store=tmp_store, device="cpu", umap=False)
    loaded = recipes.load("tiny-cnn", Catalog(tmp_store), device="cpu", dataset=trained.dataset)
    result = loaded.extras["tcav"]
    assert result.run_scores.shape == (8, 3, 4, 2) and result.layer_names == ["block1", "block2", "block3", "hidden"]
    assert np.array_equal(result.run_scores, trained.extras["tcav"].run_scores)


def test_a_dataset_without_concepts_is_refused(tmp_store):
    recipe = recipes.Recipe("no-concepts", "concepts", "wine", "concept-mlp", {}, {"epochs": 1}, trainer="concepts-classifier")
    with pytest.raises(DataError, match="no concept labels"):
        recipes.train(recipe, store=tmp_store, device="cpu", umap=False)


# -- CLI -------------------------------------------------------------------------------------------------
def _run_cli(capsys, *args):
    code = cli.main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_explain_concepts_recipe_json(capsys, interp_store_env):
    code, out, err = _run_cli(capsys, "explain", "concepts", "shapes-cbm", "--json", "--device", "cpu")
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert {"tcav", "cbm_task_accuracy", "cbm_concept_accuracy", "intervention_curve"} <= set(result)
    row = result["tcav"][0]
    assert {"concept", "class", "layer", "score", "p_value", "significant"} <= set(row) and isinstance(row["class"], str)
    assert len(result["intervention_curve"]) == 9 and result["intervention_curve"][-1] > result["intervention_curve"][0]
    assert result["cbm_recipe"] == "shapes-cbm" and not Path("cav").exists()
    # issue 23: every verdict checked against the concept's causal effect, p-values adjusted (Holm)
    rows = result["tcav"]
    assert all(r["p_value_adjusted"] >= r["p_value"] and r["significant_adjusted"] == (r["p_value_adjusted"] < 0.05) for r in rows if r["p_value"] is not None)
    assert result["significant_adjusted"] == sum(r["significant_adjusted"] for r in rows) <= result["significant_raw"] == sum(r["significant"] for r in rows)
    assert all(isinstance(r["agrees_with_cace"], bool) and r["cace_ci"][0] <= r["cace"] <= r["cace_ci"][1] for r in rows)
    assert result["tcav_cace_agreement"] == pytest.approx(np.mean([r["agrees_with_cace"] for r in rows]), abs=1e-6)
    independent = [r for r in rows if r["concept"] in SHAPES_TRUTH["unrelated"]]
    assert result["independent_flagged"] == pytest.approx(np.mean([r["significant_adjusted"] for r in independent]), abs=1e-6)
    # the class is decided by the fill: switching stripes on lowers "solid" for certain
    striped_solid = next(r for r in rows if r["concept"] == "striped" and r["class"] == "solid")
    assert striped_solid["cace_ci"][1] < 0


def test_cli_explain_concepts_on_a_user_npz(tmp_path, capsys, interp_store_env):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(160, 6)).astype(np.float32)
    concepts = (X[:, :2] > 0).astype(np.int64)
    y = concepts[:, 0]  # the class is concept "a"; concept "b" is unrelated
    path = tmp_path / "table.npz"
    np.savez(path, X=X, y=y, concepts=concepts, concept_names=np.array(["a", "b"]))
    code, out, err = _run_cli(capsys, "explain", "concepts", "--data", str(path), "--json", "--device", "cpu")
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["tcav_recipe"] == "user-table-concept-mlp" and result["cbm_recipe"] == "user-table-cbm"
    assert {r["concept"] for r in result["tcav"]} == {"a", "b"} and {r["class"] for r in result["tcav"]} == {"0", "1"}
    assert result["cbm_task_accuracy"] > 0.8 and len(result["intervention_curve"]) == 3
    a_for_1 = [r for r in result["tcav"] if r["concept"] == "a" and r["class"] == "1"]
    assert all(r["significant"] and r["score"] > 0.5 for r in a_for_1)
    # no generator for a user's table: an observational effect, said to be one, and no CaCE
    assert result["tcav_cace_agreement"] is None and "not causal" in result["effect_method"]
    assert all(r["cace"] is None and r["agrees_with_cace"] is None for r in result["tcav"])
    assert all(r["observed_effect"] > 0 and r["agrees_with_effect"] for r in a_for_1)
    # more random runs on request: TCAV recomputed against 3 random sets
    code, out, err = _run_cli(capsys, "explain", "concepts", "--data", str(path), "--json", "--device", "cpu", "--random-runs", "3")
    assert code == 0, err
    assert json.loads(out.strip().splitlines()[-1])["n_random"] == 3


def test_cli_explain_concepts_errors_are_one_sentence(tmp_path, capsys, interp_store_env):
    path = tmp_path / "plain.npz"
    np.savez(path, X=np.zeros((20, 3)), y=np.arange(20) % 2)
    code, _out, err = _run_cli(capsys, "explain", "concepts", "--data", str(path))
    assert code == 2 and "no concept labels" in err and len(err.strip().splitlines()) == 1
    code, _out, err = _run_cli(capsys, "explain", "concepts", "wine-mlp")
    assert code == 2 and "not a Concepts recipe" in err
    with pytest.raises(RecipeError):
        family.explain_concepts(cli.build_parser().parse_args(["explain", "concepts", "shapes-cnn", "--data", str(path)]))
    assert os.environ["INTERP_STORE"] == str(interp_store_env)


def test_cli_explain_concepts_on_a_user_image_npz(tmp_path, capsys, interp_store_env, monkeypatch):
    """--data images.npz: a 3-D X is read as grey images and the family's default CNN and CBM are
    trained on it (shortened here: one epoch, two random runs); class names from the file are the labels."""
    X, y, concepts = make_shapes(n=120, size=16, seed=3)  # also checks the generator at a small size
    assert X.shape == (120, 3, 16, 16)
    path = tmp_path / "grey.npz"
    np.savez(path, X=X.mean(axis=1), y=y, concepts=concepts, concept_names=np.array(SHAPES_CONCEPTS), class_names=np.array(SHAPES_CLASSES))
    default_recipes = family.user_recipes

    def short(dataset):
        return tuple(dataclasses.replace(r, train_config={**r.train_config, "epochs": 1, "tcav": TINY_TCAV}) for r in default_recipes(dataset))

    monkeypatch.setattr(family.command, "user_recipes", short)  # where explain concepts looks it up
    monkeypatch.chdir(tmp_path)
    code, out, err = _run_cli(capsys, "explain", "concepts", "--data", str(path), "--json", "--device", "cpu")
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["tcav_recipe"] == "user-grey-concept-cnn" and result["cbm_recipe"] == "user-grey-cbm"
    assert {r["layer"] for r in result["tcav"]} == {"block1", "block2", "block3", "hidden"}  # the CNN's layers
    assert {r["class"] for r in result["tcav"]} == set(SHAPES_CLASSES) and {r["concept"] for r in result["tcav"]} == set(SHAPES_CONCEPTS)
    assert all({"score", "p_value", "significant"} <= set(r) for r in result["tcav"])
    assert len(result["intervention_curve"]) == len(SHAPES_CONCEPTS) + 1
    assert 0 <= result["cbm_task_accuracy"] <= 1 and 0 <= result["cbm_concept_accuracy"] <= 1
    assert not (tmp_path / "cav").exists()
