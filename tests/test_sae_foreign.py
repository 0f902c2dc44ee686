"""SAE features at a layer of a user's own model (issue 17): activations read through the layer host
and cached in the store, class effects from the model's logit gradients, the family's trainer and
measures, an SAELens SAE opened on the layer, and ``explain sae --model --data --layer``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from interp_core import cli
from interp_core.data import load_user_file
from interp_core.errors import ModelFileError
from interp_core.families.sae.explain import encode_codes, reconstruction_metrics
from interp_core.families.sae.foreign import explain_layer, layer_source
from interp_core.families.sae.saelens import export_sae
from interp_core.families.sae.train import make_sae
from interp_core.foreign import foreign_model
from interp_core.layerhost import LayerHost, cached_activations
from interp_core.modelfiles import load_model_path
from interp_core.store import Store
from tests.foreign_models import export_pt2, mlp_case, save_npz, tiny_bert, tiny_cnn


@pytest.fixture(scope="module")
def mlp_files(tmp_path_factory):
    """(module, .pt2 path, NPZ path, the NPZ read as the CLI reads it)."""
    return mlp_case(tmp_path_factory.mktemp("foreign"))


def adapted(pt2, dataset, layer: str):
    """The user's model on the data as part 1's adapter gives it (a TrainedModel embedding at ``layer``)."""
    return foreign_model(load_model_path(pt2), dataset, layer)


def test_layer_activations_are_the_module_s_own_and_are_read_back_from_the_store(mlp_files, tmp_store):
    model, pt2, _npz, dataset = mlp_files
    host = LayerHost(adapted(pt2, dataset, "1").model)
    acts, cached = cached_activations(tmp_store, host, dataset.X_train)
    expected = torch.relu(model[0](torch.as_tensor(dataset.X_train))).detach().numpy()
    assert not cached and acts.shape == expected.shape
    np.testing.assert_allclose(acts, expected, atol=1e-5)
    again, cached = cached_activations(tmp_store, host, dataset.X_train)
    assert cached
    np.testing.assert_array_equal(again, acts)
    other, cached = cached_activations(tmp_store, LayerHost(adapted(pt2, dataset, "0").model), dataset.X_train)  # another layer is another entry
    assert not cached and not np.allclose(other, acts)


def test_class_effects_are_the_head_s_weights_when_the_layer_feeds_it(mlp_files, tmp_store):
    model, pt2, _npz, dataset = mlp_files
    source, _ = layer_source(adapted(pt2, dataset, "1"), tmp_store)
    np.testing.assert_allclose(source.output_directions, model[2].weight.detach().numpy(), atol=1e-5)
    assert source.output_names == list(dataset.class_names) and source.model is not None
    fixed = mlp_files[1].with_name("fixed-batch.pt2")  # exported for batches of exactly 4: run in chunks, the last one padded
    torch.export.save(torch.export.export(model, (torch.as_tensor(dataset.X_train[:4]),)), str(fixed))
    source, _ = layer_source(adapted(fixed, dataset, "1"), tmp_store)
    np.testing.assert_allclose(source.output_directions, model[2].weight.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(source.acts[:7], torch.relu(model[0](torch.as_tensor(dataset.X_train[:7]))).detach().numpy(), atol=1e-5)


def test_a_trained_sae_is_measured_as_the_page_measures_it(mlp_files, tmp_store):
    model, pt2, _npz, dataset = mlp_files
    result = explain_layer(adapted(pt2, dataset, "1"), tmp_store)
    m = result.metrics
    logits = model(torch.as_tensor(dataset.X_test)).argmax(1).numpy()
    assert m["accuracy_clean"] == pytest.approx(float((logits == dataset.y_test).mean()))  # the clean splice is the model itself
    assert m["accuracy_zero"] < m["accuracy_clean"]
    assert 0 < m["explained_variance"] <= 1 and 0 < m["l0"] <= result.sae.k
    assert result.analysis.promoted is not None and result.analysis.class_share.shape == (result.sae.width, 3)
    assert len(result.analysis.features) == result.sae.width


def test_an_saelens_sae_opens_on_its_layer_and_a_wrong_width_is_one_sentence(mlp_files, tmp_store, tmp_path):
    _model, pt2, _npz, dataset = mlp_files
    torch.manual_seed(1)
    sae = make_sae("relu", 16, {"width": 32})
    export_sae(sae, tmp_path / "sae16", hook_name="1")
    trained = adapted(pt2, dataset, "1")
    result = explain_layer(trained, tmp_store, sae_path=tmp_path / "sae16")
    assert result.origin.endswith("sae16") and result.sae.width == 32
    acts = result.source.acts_test
    assert result.metrics["explained_variance"] == pytest.approx(reconstruction_metrics(sae, acts)["explained_variance"], abs=1e-4)
    np.testing.assert_allclose(encode_codes(result.sae, acts).column(3), encode_codes(sae, acts).column(3), atol=1e-4)
    export_sae(make_sae("relu", 6, {"width": 12}), tmp_path / "sae6", hook_name="0")
    with pytest.raises(ModelFileError) as error:
        explain_layer(trained, tmp_store, sae_path=tmp_path / "sae6")
    assert "reads 6 values" in str(error.value) and "gives 16" in str(error.value) and "'0'" in str(error.value)


def test_a_cnn_s_4d_layer_is_one_vector_per_example_and_splices_back(tmp_path, tmp_store):
    model = tiny_cnn()
    pt2 = export_pt2(model, torch.zeros(2, 1, 8, 8), tmp_path / "cnn.pt2")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 1, 8, 8)).astype(np.float32)
    y = model(torch.as_tensor(X)).argmax(1).numpy()  # the model's own labels: its clean accuracy is 1
    dataset = load_user_file(save_npz(tmp_path / "images.npz", X, y))
    source, _ = layer_source(adapted(pt2, dataset, "1"), tmp_store)
    assert source.d == 4 * 6 * 6
    host = source.model
    xb = torch.as_tensor(dataset.X_test[:5])
    np.testing.assert_allclose(host.forward_with(xb, lambda a: a).detach(), model(xb).detach(), atol=1e-5)
    np.testing.assert_allclose(host.forward_with(xb, torch.zeros_like).detach(), model[3].bias.detach().expand(5, 2), atol=1e-6)


def run_cli(capsys, *argv):
    code = cli.main(["explain", "sae", *argv, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out.strip().splitlines()[-1]), err


def test_cli_explains_a_layer_of_a_pt2_with_the_recipe_keys_and_the_model(mlp_files, capsys, interp_store_env):
    model, pt2, npz, _dataset = mlp_files
    code, result, _ = run_cli(capsys, "--model", str(pt2), "--data", str(npz), "--layer", "1")
    assert code == 0
    for key in ("l0", "explained_variance", "dead_fraction", "n_features", "accuracy_sae", "loss_recovered", "test_accuracy"):
        assert key in result
    assert result["model"] == {"path": str(pt2), "kind": "pt2", "parameters": sum(p.numel() for p in model.parameters())}
    assert result["layer"] == "1" and result["d_in"] == 16 and not result["activations_cached"]
    assert result["features"] and all(len(row["top_examples"]) <= 5 for row in result["features"])
    assert result["accuracy_clean"] == result["model_test_accuracy"]  # the clean splice is the model itself
    code, again, _ = run_cli(capsys, "--model", str(pt2), "--data", str(npz), "--layer", "1")
    assert code == 0 and again["activations_cached"] and again["explained_variance"] == result["explained_variance"]
    code, result, err = run_cli(capsys, "--model", str(pt2), "--data", str(npz), "--layer", "nope")
    assert code == 2 and "no layer 'nope'" in result["error"] and "Traceback" not in err


def test_an_sae_on_a_stored_user_model_saves_as_a_recipe_and_loads_back_the_same(mlp_files, tmp_store):
    from interp_core import recipes
    from interp_core.families.sae.foreign import foreign_sae_recipe
    from interp_core.foreign import model_files, save_foreign
    from interp_core.store import Catalog

    model, pt2, _npz, dataset = mlp_files
    loaded = load_model_path(pt2)
    base = foreign_model(loaded, dataset, None, name="upload-mlp-pt2-model")
    save_foreign(tmp_store, base, model_files(loaded))  # as Home's model box stores it in the session
    recipe = foreign_sae_recipe(base.name, "1", dataset.name)
    trained = recipes.train(recipe, store=tmp_store, dataset=dataset, device="cpu")
    again = recipes.load(recipe.name, Catalog(tmp_store, Store(tmp_store.root / "none", readonly=True)), "cpu", dataset=dataset)
    assert again.extras["source_kind"] == "model" and again.manifest["source"]["layer"] == "1"
    np.testing.assert_array_equal(again.extras["analysis"].codes.values, trained.extras["analysis"].codes.values)
    xb = torch.as_tensor(dataset.X_test[:8])
    with torch.no_grad():
        np.testing.assert_allclose(again.model(xb, mode="clean").numpy(), model(xb).numpy(), atol=1e-5)  # the user's model, rebuilt from its own artifact
        np.testing.assert_allclose(again.model(xb, mode="sae").numpy(), trained.model(xb, mode="sae").numpy(), atol=1e-5)
    assert "model.pt2" not in again.manifest["files"] and again.metrics["explained_variance"] == trained.metrics["explained_variance"]


def test_an_saelens_folder_opened_on_a_stored_user_model_is_stored_like_a_trained_sae_and_loads_back(mlp_files, tmp_store, tmp_path):
    """open_foreign_sae (the page's 'open an SAELens SAE'): the folder's files become a recipe whose artifact holds the
    SAE's weights (loaded back through the sae-saelens architecture, same codes); training that recipe again, with no
    folder to open, is one sentence; a transcoder is refused for export in one sentence."""
    from interp_core import recipes
    from interp_core.errors import RecipeError
    from interp_core.families.sae.foreign import foreign_sae_recipe, open_foreign_sae
    from interp_core.families.sae.models import TopKTranscoder
    from interp_core.families.sae.saelens import export_problem, load_saelens_sae
    from interp_core.foreign import model_files, save_foreign
    from interp_core.store import Catalog

    _model, pt2, _npz, dataset = mlp_files
    loaded = load_model_path(pt2)
    base = foreign_model(loaded, dataset, None, name="upload-mlp-pt2-model")
    save_foreign(tmp_store, base, model_files(loaded))
    torch.manual_seed(2)
    export_sae(make_sae("topk", 16, {"width": 24, "k": 3}), tmp_path / "mine", hook_name="1")
    files = {p.name: p.read_bytes() for p in (tmp_path / "mine").iterdir()}
    opened = open_foreign_sae(base.name, "1", dataset, files, "mine", store=tmp_store)
    assert opened.name == "upload-mlp-pt2-model-sae-1-saelens" and opened.extras["recipe"].model_config["opened"] == "mine"
    again = recipes.load(opened.name, Catalog(tmp_store, Store(tmp_store.root / "none", readonly=True)), "cpu", dataset=dataset)
    acts = torch.as_tensor(opened.extras["source"].acts_test)
    with torch.no_grad():
        torch.testing.assert_close(again.extras["sae"].encode(acts), load_saelens_sae(tmp_path / "mine").encode(acts))
    assert again.metrics["explained_variance"] == opened.metrics["explained_variance"] and again.manifest["sae"]["arch"] == "saelens"
    with pytest.raises(RecipeError, match="opened on your model's layer, not trained here"):
        recipes.train(opened.extras["recipe"], store=tmp_store, dataset=dataset, device="cpu")
    assert export_problem(again.extras["sae"]) is None and "transcoder cannot be written" in export_problem(TopKTranscoder(16, 8, k=2, d_out=16))
    names = {foreign_sae_recipe(base.name, layer, dataset.name).name for layer in ("encoder.layer.0", "encoder.layer.1", "encoder.layer")}
    assert len(names) == 3  # each layer its own recipe (a file-name slug had dropped the last part: all three were '...-sae-encoder-layer')


def test_cli_explains_a_layer_of_a_hugging_face_text_classifier(tmp_path, capsys, interp_store_env):
    pytest.importorskip("transformers")
    bert = tiny_bert(tmp_path / "tiny-bert")
    rng = np.random.default_rng(0)
    X = rng.integers(1, 32, size=(120, 8)).astype(np.float32)  # token ids, no padding (id 0)
    npz = save_npz(tmp_path / "tokens.npz", X, (X[:, 0] > 16).astype(np.int64))
    code, result, err = run_cli(capsys, "--model", str(tmp_path / "tiny-bert"), "--data", str(npz), "--layer", "bert.encoder.layer.0")
    assert code == 0, err
    assert result["model"]["kind"] == "huggingface" and result["model"]["parameters"] == sum(p.numel() for p in bert.parameters())
    assert result["d_in"] == 16  # one vector per text: its 8 tokens' hidden states averaged
    dataset = load_user_file(npz)
    with torch.no_grad():
        predicted = bert(input_ids=torch.as_tensor(dataset.X_test).long()).logits.argmax(1).numpy()
    assert result["accuracy_clean"] == pytest.approx(float((predicted == dataset.y_test).mean()), abs=1e-6)
