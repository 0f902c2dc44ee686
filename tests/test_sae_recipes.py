"""SAE recipes end to end: training into a store and loading back, the shipped checkpoints'
quality (toy MMCS >= 0.9), the CLI (explain sae with a recipe or an NPZ), MiniLM's encoder."""

from __future__ import annotations

import ast
import json

import numpy as np
import pytest
import torch

from interp_core import cli, recipes
from interp_core.families.sae import data as sources
from interp_core.families.sae import explain as explain
from interp_core.families import sae as family
from interp_core.store import SHIPPED_ROOT, Catalog, Store

SAE_RECIPES = [r.name for r in recipes.list_recipes("sae")]


@pytest.fixture
def shipped_only(tmp_path):
    return Catalog(Store(tmp_path / "empty"), Store(SHIPPED_ROOT, readonly=True))


def test_the_issue_s_recipes_exist():
    assert {"toy-sae", "digits-sae", "minilm-sae"} <= set(SAE_RECIPES)


def test_a_quick_toy_recipe_trains_saves_and_loads_back_the_same(tmp_path):
    stages, events = [], []
    store = Store(tmp_path / "store")
    shipped = recipes.get_recipe("toy-sae")
    quick = recipes.Recipe("toy-sae-quick", "sae", shipped.dataset, shipped.arch, {**shipped.model_config, "toy_steps": 400},
                           {**shipped.train_config, "sweep_k": [1, 2], "sweep_epochs": 1}, "a quick toy SAE", trainer=shipped.trainer)
    trained = recipes.train(quick, store=store, device="cpu", epochs=3, umap=False, on_stage=stages.append, progress=events.append)
    assert trained.is_classifier is False and trained.status == "trained"
    m = trained.metrics
    for key in ("l0", "explained_variance", "dead_fraction", "n_features", "mmcs", "mcc", "test_accuracy", "train_accuracy", "accuracy_zero", "loss_recovered", "epochs_run"):
        assert key in m, key
    assert m["n_features"] == 96 and 0 < m["l0"] <= 3 and m["epochs_run"] == 3
    assert m["accuracy_zero"] < m["accuracy_sae"] <= m["accuracy_clean"] + 0.05
    assert any("Training the topk SAE" in s for s in stages) and events[-1].step == events[-1].total
    loaded = recipes.load("toy-sae-quick", Catalog(store), device="cpu")
    assert recipes.evaluate(loaded.model, loaded.dataset, "cpu")["test_accuracy"] == m["test_accuracy"]
    analysis = loaded.extras["analysis"]
    assert analysis.codes.n == len(loaded.dataset.y_train) + len(loaded.dataset.y_test)
    assert len(analysis.features) == 96 and analysis.features["label"].str.contains("feature").all()
    judged = analysis.features[analysis.features["label_support"] > 0]  # labels judged on held-out examples (issue 18)
    assert len(judged) > 40 and judged["label_precision"].between(0, 1).all() and judged["label_recall"].between(0, 1).all()
    assert analysis.maps["pca"].shape == (96, 2) and analysis.promoted.shape == (96, 10)
    assert [row["k"] for row in analysis.sweep] == [1, 2, 3] and analysis.sweep[-1]["this"]
    # the stored codes are the loaded SAE's codes
    source = family.source_for(loaded)
    again = explain.encode_codes(loaded.extras["sae"], source.acts[:200])
    assert np.array_equal(again.indices, analysis.codes.indices[: again.indptr[-1]])


def test_shipped_toy_sae_recovers_the_true_features(shipped_only):
    trained = recipes.load("toy-sae", shipped_only, device="cpu")
    source = family.source_for(trained)
    recovery = explain.feature_recovery(trained.extras["sae"].W_dec.detach().numpy(), source.true_features)
    assert recovery.mmcs >= 0.9 and recovery.mcc >= 0.9
    assert recovery.mmcs == pytest.approx(trained.metrics["mmcs"], abs=1e-5)
    quality = explain.reconstruction_metrics(trained.extras["sae"], source.acts_test)
    assert quality["explained_variance"] == pytest.approx(trained.metrics["explained_variance"], abs=1e-4)


@pytest.mark.parametrize("name", SAE_RECIPES)
def test_shipped_saes_are_faithful_and_small(shipped_only, name):
    artifact = shipped_only.find(name)
    m = artifact.manifest["metrics"]
    if name == "minilm-transcoder":  # one MLP block, which the topic head barely needs (zeroing it costs 0.04 nats): judged on the sentence embedding
        assert m["explained_variance"] > 0.5 and m["dead_fraction"] < 0.5
        assert (m["cosine_sae"] - m["cosine_zero"]) > 0.5 * (1 - m["cosine_zero"])  # recovers over half of what zeroing the block loses
    else:
        assert m["explained_variance"] > 0.6 and m["dead_fraction"] < 0.5
    if name != "minilm-transcoder" and ("accuracy_sae" in m or name != "toy-sae-hier"):  # a generated toy has no model to splice into
        assert m["accuracy_sae"] > m["accuracy_zero"] and m["loss_recovered"] > 0.5
    files = sum(entry["bytes"] for entry in artifact.manifest["files"].values())
    assert files < 3_400_000


def test_all_sae_checkpoints_stay_under_5_5_mb():
    total = sum(p.stat().st_size for name in SAE_RECIPES for p in (SHIPPED_ROOT / name).glob("*") if p.is_file())
    assert 0 < total < 5.5 * 1024 * 1024  # 4 MB of SAEs, then 1.3 MB of transcoders (issue 18)


def run_cli(capsys, *argv):
    code = cli.main(["explain", "sae", *argv, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out.strip().splitlines()[-1]), err


def test_cli_explains_a_shipped_recipe_with_the_issue_s_keys(capsys, interp_store_env):
    code, result, _ = run_cli(capsys, "toy-sae")
    assert code == 0
    for key in ("l0", "explained_variance", "dead_fraction", "n_features", "mmcs", "mcc"):
        assert key in result
    assert result["mmcs"] >= 0.9 and result["n_features"] == 96


def test_cli_trains_on_a_user_npz_with_true_features(tmp_path, capsys, interp_store_env):
    rng = np.random.default_rng(0)
    truth = rng.standard_normal((12, 6))
    codes = (rng.random((1500, 12)) < 0.1) * rng.random((1500, 12))
    path = tmp_path / "acts.npz"
    np.savez(path, acts=codes @ truth, true_features=truth)
    code, result, _ = run_cli(capsys, "--data", str(path))
    assert code == 0
    assert {"l0", "explained_variance", "dead_fraction", "n_features", "mmcs", "mcc"} <= set(result)
    assert result["n_features"] == 24 and result["explained_variance"] > 0.5 and result["mmcs"] > 0.5
    np.savez(path, acts=codes @ truth)
    code, result, _ = run_cli(capsys, "--data", str(path))
    assert code == 0 and "mmcs" not in result and "l0" in result


@pytest.mark.parametrize("arrays,message", [
    ({"X": np.zeros((50, 4))}, "no array named 'acts'"),
    ({"acts": np.zeros(50)}, "expected a 2-D array"),
    ({"acts": np.full((50, 4), np.nan)}, "NaN or infinite"),
    ({"acts": np.ones((10, 4))}, "at least 32"),
    ({"acts": np.ones((50, 4))}, "every row of acts is the same"),
    ({"acts": np.random.default_rng(0).random((50, 4)), "true_features": np.ones((3, 5))}, "expected the same dimension"),
])
def test_bad_activation_files_get_one_clear_sentence(tmp_path, capsys, interp_store_env, arrays, message):
    path = tmp_path / "acts.npz"
    np.savez(path, **arrays)
    code, result, err = run_cli(capsys, "--data", str(path))
    assert code == 2 and message in result["error"] and "Traceback" not in err
    assert result["error"].count(". ") == 0  # one sentence


def test_cli_refuses_a_recipe_and_data_together_and_unknown_recipes(tmp_path, capsys, interp_store_env):
    code, result, _ = run_cli(capsys, "toy-sae", "--data", str(tmp_path / "x.npz"))
    assert code == 2 and "either a RECIPE or --data" in result["error"]
    code, result, _ = run_cli(capsys, "digits-mlp")
    assert code == 2 and "not an SAE recipe" in result["error"]


TEXTS = ["Assignment statements bind names to objects.", "for x in range(10): print(x)", "The with statement wraps a block with methods defined by a context manager."]


def _padded(texts: list[str]) -> torch.Tensor:
    rows = [sources.encode_text(t)[0] for t in texts]
    ids = np.zeros((len(rows), max(map(len, rows)) + 3), dtype=np.int64)  # padding must be ignored
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
    return torch.as_tensor(ids)


def test_minilm_encoder_matches_transformers():
    """MiniLM's residual stream at layers 0, 3 and 6 (read with a hook, the later blocks skipped) is
    transformers' own hidden state of the package's folder, for a padded batch of texts."""
    transformers = pytest.importorskip("transformers")
    from interp_core.families.sae.hosts import MiniLMTopics, minilm_folder

    ids = _padded(TEXTS)
    mask = (ids != 0).long()
    ours = sources.load_minilm()
    assert type(ours.bert).__name__ == "BertModel" and ours.bert.pooler is None
    reference = transformers.AutoModel.from_pretrained(str(minilm_folder())).eval()
    with torch.no_grad():
        expected = reference(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
        for layer in (0, 3, 6):
            got = ours.hidden(ids, mask, layer)
            assert torch.allclose(got[mask.bool()], expected[layer][mask.bool()], atol=1e-4)
            topics = MiniLMTopics(ours, layer, 10)
            content = MiniLMTopics.content_mask(ids)
            assert torch.allclose(topics.activations(ids.float()), expected[layer][content], atol=1e-4)
            # splicing the identity changes nothing; splicing zeros at the content tokens changes the embedding
            assert torch.allclose(topics.embed(ids.float(), lambda h: h), topics.embed(ids.float()), atol=1e-6)
            assert not torch.allclose(topics.embed(ids.float(), torch.zeros_like), topics.embed(ids.float()), atol=1e-3)


def test_minilm_sae_numbers_are_unchanged_with_the_transformers_encoder(capsys, interp_store_env, shipped_only):
    """The shipped minilm-sae was measured with the hand-written BERT this project had before
    transformers loaded MiniLM: explain sae gives the numbers its manifest recorded, and the codes of
    the first windows' tokens are the stored ones (the page's feature contexts)."""
    from interp_core.families.sae.activations import source_for

    recorded = shipped_only.find("minilm-sae").manifest["metrics"]
    code, result, _ = run_cli(capsys, "minilm-sae")
    assert code == 0 and result["status"] == "shipped"
    assert result["l0"] == recorded["l0"] and result["n_features"] == recorded["n_features"]
    for key in ("explained_variance", "dead_fraction", "accuracy_clean", "accuracy_sae", "accuracy_zero", "loss_clean", "loss_sae", "loss_zero", "loss_recovered"):
        assert result[key] == pytest.approx(recorded[key], abs=1e-4), key
    assert result["mse"] == pytest.approx(recorded["mse"], rel=1e-5)

    trained = recipes.load("minilm-sae", shipped_only, device="cpu")
    stored = trained.extras["analysis"].codes
    windows = trained.dataset.X_train[:4]
    with torch.no_grad():
        acts = trained.model.source.activations(torch.as_tensor(windows)).numpy()
    codes = explain.encode_codes(trained.extras["sae"], acts)
    rows = range(len(acts))
    assert sum(set(codes.row(i)[0]) == set(stored.row(i)[0]) for i in rows) >= 0.98 * len(acts)
    new, old = codes.to_scipy()[: len(acts)].toarray(), stored.to_scipy()[: len(acts)].toarray()
    assert np.abs(new - old).max() < 0.02 * np.abs(old).max()  # the stored codes are float16

    # stored before labels had a confidence: they are read again from the training tokens and judged
    # on the held-out ones. Feature 42 by hand: its label names its commonest tokens among its top
    # training examples; precision = share of its held-out firings on one of them.
    features = trained.extras["analysis"].features
    assert features["label_support"].sum() > 0 and features["label_precision"].notna().mean() > 0.9
    all_windows = np.concatenate([trained.dataset.X_train, trained.dataset.X_test]).round().astype(np.int64)
    token_window, token_position = sources.content_tokens(all_windows)
    tokens = all_windows[token_window, token_position]
    n_train = int((token_window < len(trained.dataset.X_train)).sum())
    column = stored.to_scipy().tocsc()[:, 42].toarray().ravel()
    top = np.argsort(-column[:n_train], kind="stable")[: explain.N_TOP]
    top = top[column[top] > 0]
    held = np.flatnonzero(column[n_train:] > 0) + n_train
    tokenizer = sources.minilm_tokenizer()
    label_ids = {tokenizer.token_to_id(ast.literal_eval(word)) for word in features["label"][42].split()}
    assert np.bincount(tokens[top]).argmax() in label_ids  # its commonest top training token is in its label
    hits = sum(int(tokens[r]) in label_ids for r in held)
    assert features["label_support"][42] == len(held) > 0
    assert features["label_precision"][42] == pytest.approx(hits / len(held))


def test_text_windows_and_free_text():
    dataset = sources.load_text_dataset(windows_per_topic=2)
    assert dataset.X_train.shape[1] == 64 and (dataset.X_train[:, 0] == sources.CLS).all() and (dataset.X_train[:, -1] == sources.SEP).all()
    assert set(dataset.y_train) | set(dataset.y_test) == set(range(len(sources.TOPICS)))
    assert sources.encode_text("for x in y")[0].tolist()[0] == sources.CLS
    with pytest.raises(Exception, match="empty"):
        sources.encode_text("   ")
