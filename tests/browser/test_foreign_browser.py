"""A user's own model in a real browser (issue 17): a .pt2 series classifier and its data go in through
Home's "Bring your own model" file inputs, the layer picker lists its layers, and Home and Time series
explore it; a Hugging Face classifier goes in as a folder through the directory input; a .pt2 table classifier runs on
Home, Rules, SAE features (trained, downloaded as an SAELens folder and opened again), Concepts and Prototypes, and a text
classifier on SAE features, Concepts, Prototypes and Time series."""

import re
import time

import pytest

from tests.app.test_foreign_upload import series_files
from tests.browser.test_uploads_browser import explore_on, open_expander, sidebar_recipe, upload
from tools.apprunner import AppPage

pytestmark = pytest.mark.browser


def _files(tmp_path):
    files = series_files()
    (tmp_path / "cnn.pt2").write_bytes(files["pt2"])
    (tmp_path / "series.npz").write_bytes(files["npz"])
    return tmp_path / "cnn.pt2", tmp_path / "series.npz"


def _gunpoint_sample(path, n: int = 30):
    """An NPZ of ``n`` GunPoint series (X (n, 1, 150), y) from the bundled set: a user's data for a series classifier."""
    import numpy as np

    from interp_core.data import load_dataset

    gunpoint = load_dataset("gunpoint")
    np.savez(path, X=gunpoint.X_test[:n].astype(np.float32), y=gunpoint.y_test[:n])
    return path


def explore_pt2(tab, server, model, data, name: str) -> None:
    """A .pt2 and its data through Home's model box, explored: Home shows it as the recipe in use, with its accuracy."""
    tab.open(server.url)
    open_expander(tab, "Bring your own model")
    upload(tab, 1, model)  # the hub's uploaders: 0 = data, 1 = model file, 2 = config, 3 = folder, then the model's data
    tab.page.get_by_text("exported program (arbitrary PyTorch graph)").first.wait_for()
    upload(tab, 4, data)
    tab.page.get_by_text("Layer for the embedding map").wait_for()
    tab.page.get_by_role("button", name="Explore this model").click()
    tab.page.get_by_text(f"Recipe in use: {name}").wait_for(timeout=120_000)
    tab.wait_ready()
    assert name in sidebar_recipe(tab)
    tab.page.locator("[data-testid=stMetric]", has_text="Test accuracy").first.wait_for()


def test_a_pt2_and_a_hugging_face_folder_are_explored_through_the_upload_inputs(server, browser, tmp_path):
    model, data = _files(tmp_path)
    tab = AppPage(browser, height=2600)
    try:
        explore_pt2(tab, server, model, data, "upload-cnn-model")
        tab.screenshot("foreign-pt2-home")
        explore_on(tab, "Time series", "upload-cnn-model")
        tab.page.locator("[data-testid=stMetric]", has_text="Best AUPRC").first.wait_for(timeout=180_000)
        tab.screenshot("foreign-pt2-timeseries")

        # the project-architecture .safetensors of a series classifier (the shipped gunpoint-cnn's files as the user's) on Time series
        from interp_core.store import SHIPPED_ROOT

        weights, manifest = tmp_path / "gunpoint.safetensors", tmp_path / "gunpoint.json"
        weights.write_bytes((SHIPPED_ROOT / "gunpoint-cnn" / "model.safetensors").read_bytes())
        manifest.write_bytes((SHIPPED_ROOT / "gunpoint-cnn" / "manifest.json").read_bytes())
        open_page(tab, "Home")
        open_expander(tab, "Bring your own model")
        upload(tab, 1, weights)
        upload(tab, 2, manifest)
        tab.page.get_by_text("Dataset to explain it on").wait_for()
        upload(tab, 4, _gunpoint_sample(tmp_path / "gunpoint-sample.npz"))  # 30 series, not the 150 of the bundled set: the page scores every method on each
        tab.page.get_by_text("Layer for the embedding map").wait_for()
        tab.page.get_by_role("button", name="Explore this model").click()
        tab.page.get_by_text("Recipe in use: upload-gunpoint-model").wait_for(timeout=120_000)
        tab.wait_ready()
        explore_on(tab, "Time series", "upload-gunpoint-model")
        tab.page.locator("[data-testid=stMetric]", has_text="Lowest deletion area").first.wait_for(timeout=180_000)  # GunPoint has no ground-truth mask
        tab.wait_ready()
        assert tab.page.locator("[data-testid=stAlertContentError]").count() == 0
        tab.screenshot("foreign-safetensors-timeseries")

        transformers = pytest.importorskip("transformers")
        config = transformers.BertConfig(vocab_size=32, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, max_position_embeddings=32, num_labels=2)
        folder = tmp_path / "tiny-clf"
        transformers.BertForSequenceClassification(config).eval().save_pretrained(folder)
        tab.page.locator("[data-testid=stSidebarNav]").get_by_role("link", name=re.compile("Home|home")).first.click()
        tab.wait_ready()
        open_expander(tab, "Bring your own model")
        tab.page.locator("[data-testid=stFileUploader]").nth(3).locator("input[type=file]").set_input_files(str(folder))
        tab.page.wait_for_timeout(500)
        tab.wait_ready()
        tab.page.get_by_text("token ids").first.wait_for()
        tab.screenshot("foreign-hf-folder")
        assert tab.problems() == []
    finally:
        tab.close()


def open_page(tab, page: str) -> None:
    tab.page.locator("[data-testid=stSidebarNav]").get_by_role("link", name=page).first.click()
    tab.wait_ready()


def train_sae_on_own_model(tab, name: str, shots: str) -> None:
    """On SAE features, the own-model panel's SAE trained on the default layer and shown (a chart, no error box; a screenshot)."""
    open_page(tab, "SAE features")
    open_expander(tab, "SAE features at a layer of your own model")
    tab.page.get_by_role("button", name="Train an SAE on this layer").click()
    tab.page.get_by_text(f"Trained {name}-sae-").first.wait_for(timeout=180_000)
    tab.wait_ready()
    tab.page.locator(".js-plotly-plot").first.wait_for()
    tab.screenshot(f"{shots}-sae")
    assert tab.page.locator("[data-testid=stAlertContentError]").count() == 0


def explain_on_three_pages(tab, name: str, shots: str, after_sae=None) -> None:
    """With the user's model stored (Home's model box), open SAE features, Concepts and Prototypes and run each
    page's panel on the default layer: each shows its chart(s) or numbers, no error box; a screenshot of each.
    ``after_sae(tab)`` runs on the SAE page once its SAE is shown."""
    train_sae_on_own_model(tab, name, shots)
    if after_sae is not None:
        after_sae(tab)

    open_page(tab, "Concepts")
    open_expander(tab, "TCAV at a layer of your own model")
    tab.page.get_by_role("button", name="Run TCAV at this layer").click()
    tab.page.get_by_text("TCAV at layer").filter(has_text="done").first.wait_for(timeout=180_000)
    tab.wait_ready()
    panel = tab.page.locator("[data-testid=stExpander]", has_text="TCAV at a layer of your own model")
    assert panel.locator(".js-plotly-plot").count() >= 4  # the bars of both classes, the box of the random runs, the heatmap (and the map to pick examples on)
    tab.screenshot(f"{shots}-concepts")
    assert tab.page.locator("[data-testid=stAlertContentError]").count() == 0

    train_prototype_head(tab, shots)


def train_prototype_head(tab, shots: str) -> None:
    """On Prototypes, the own-model panel's prototype head trained on the default layer: its agreement with the model shown, no error box."""
    open_page(tab, "Prototypes")
    open_expander(tab, "Prototypes for your own model")
    tab.page.get_by_role("button", name="Train a prototype head on this layer").click()
    tab.page.locator("[data-testid=stMetric]", has_text="Agreement with your model").first.wait_for(timeout=180_000)
    tab.wait_ready()
    tab.screenshot(f"{shots}-prototypes")
    assert tab.page.locator("[data-testid=stAlertContentError]").count() == 0


def pick_a_concept_on_the_map(tab, shots: str) -> None:
    """On Concepts, for data without concept labels: a lasso drawn round the left half of the layer's map picks the
    examples of a concept, which TCAV then scores for every class (a success line with a score and p-value per class)."""
    open_page(tab, "Concepts")
    open_expander(tab, "TCAV at a layer of your own model")
    figure = tab.page.locator("[data-testid=stPlotlyChart]").filter(has_text="Your examples mapped by layer")
    figure.scroll_into_view_if_needed()
    area = figure.locator(".nsewdrag").first.bounding_box()
    left, right = area["x"] + 0.02 * area["width"], area["x"] + 0.5 * area["width"]
    top, bottom = area["y"] + 0.02 * area["height"], area["y"] + 0.98 * area["height"]
    tab.page.mouse.move(left, top)
    tab.page.mouse.down()
    for x, y in [(right, top), (right, bottom), (left, bottom), (left, top + 1)]:  # the map's drag is a lasso
        tab.page.mouse.move(x, y, steps=8)
    tab.page.mouse.up()
    tab.page.wait_for_timeout(500)
    tab.wait_ready()
    button = tab.page.get_by_role("button", name="Score this concept at this layer")
    assert button.is_enabled()  # the box picked examples
    button.click()
    success = tab.page.locator("[data-testid=stAlertContentSuccess]").filter(has_text="my concept")
    success.wait_for(timeout=120_000)
    tab.wait_ready()
    assert re.search(r"class \S+ TCAV score \d\.\d\d, p = ", success.inner_text()), success.inner_text()
    tab.screenshot(f"{shots}-concepts")
    assert tab.page.locator("[data-testid=stAlertContentError]").count() == 0


def test_a_text_classifier_folder_and_its_texts_on_the_sae_concepts_and_prototypes_pages(server, browser, tmp_path):
    pytest.importorskip("transformers")
    from tests.app.test_foreign_layers import concept_reviews
    from tests.foreign_models import trained_review_bert

    trained_review_bert(tmp_path / "review-bert", steps=20)
    texts = concept_reviews(tmp_path / "reviews.jsonl")
    tab = AppPage(browser, height=2600)
    try:
        tab.open(server.url)
        open_expander(tab, "Bring your own model")
        tab.page.locator("[data-testid=stFileUploader]").nth(3).locator("input[type=file]").set_input_files(str(tmp_path / "review-bert"))
        tab.page.wait_for_timeout(500)
        tab.wait_ready()
        tab.page.get_by_text("token ids").first.wait_for()
        upload(tab, 4, texts)  # the model's data, under the model's summary
        tab.page.get_by_text("Layer for the embedding map").wait_for()
        tab.page.get_by_role("button", name="Explore this model").click()
        tab.page.get_by_text("upload-review-bert-model is in the sidebar").wait_for(timeout=120_000)
        tab.wait_ready()
        tab.page.locator("[data-testid=stMetric]", has_text="Test accuracy").first.wait_for()
        tab.screenshot("foreign-text-home")
        explain_on_three_pages(tab, "upload-review-bert-model", "foreign-text")
        explore_on(tab, "Time series", "upload-review-bert-model")  # token attributions: the heat map and the deletion / insertion curves
        tab.page.locator("[data-testid=stMetric]", has_text="Best deletion area").first.wait_for(timeout=180_000)
        tab.wait_ready()
        assert tab.page.locator(".js-plotly-plot").count() >= 2
        tab.page.mouse.move(700, 5)  # off the sidebar, where the recipe's option was picked: no help tooltip in the picture
        tab.screenshot("foreign-text-timeseries")
        assert tab.page.locator("[data-testid=stAlertContentError]").count() == 0
        assert tab.problems() == []
    finally:
        tab.close()


def test_a_causal_lm_folder_on_time_series_and_the_sae_pages_four_views(server, browser, tmp_path):
    """A tiny GPT-2 folder and its texts through Home's inputs: measured there, its next token attributed on Time
    series, and on the SAE features page an SAE trained on a block, its four views opened (screenshots causal-lm-*),
    and a click on a point of the feature map opening that point's feature. Then a tiny BertModel encoder and labelled
    texts through the same inputs: Home's map, and its SAE on the SAE page (screenshots encoder-*)."""
    pytest.importorskip("transformers")
    from tests.foreign_models import tiny_gpt2

    _model, _tokenizer, lines = tiny_gpt2(tmp_path / "tiny-gpt")
    (tmp_path / "texts.txt").write_text("\n".join(lines))
    tab = AppPage(browser, height=2600)
    errors = tab.page.locator("[data-testid=stAlertContentError]")
    try:
        tab.open(server.url)
        open_expander(tab, "Bring your own model")
        upload(tab, 3, tmp_path / "tiny-gpt")  # the folder input
        tab.page.get_by_text("causal language model").first.wait_for()
        upload(tab, 4, tmp_path / "texts.txt")
        tab.page.locator("[data-testid=stMetric]", has_text="Perplexity").first.wait_for(timeout=60_000)
        tab.screenshot("causal-lm-home")

        open_page(tab, "Time series")
        tab.page.get_by_text("predicts the next token").first.wait_for(timeout=120_000)
        tab.wait_ready()
        assert tab.page.locator("[data-testid=stPlotlyChart]", has_text="Text 0:").count() == 1  # the token heat map
        tab.screenshot("causal-lm-timeseries")

        open_page(tab, "SAE features")
        tab.page.get_by_role("button", name="Train an SAE on this block").click()
        feature_map = tab.page.locator("[data-testid=stPlotlyChart]", has_text="Feature map (PCA)")
        feature_map.wait_for(timeout=120_000)
        tab.wait_ready()
        assert errors.count() == 0
        tab.screenshot("causal-lm-sae-features")
        traces = feature_map.locator(".scatterlayer .trace")
        drawn = feature_map.locator(".js-plotly-plot").evaluate("plot => plot._fullData.map(trace => [trace.name, Array.from(trace.customdata || [])])")
        trace = [name for name, _ in drawn].index("features")  # the live features (dead ones are crosses)
        points = traces.nth(trace).locator(".points path")
        assert points.count() == len(drawn[trace][1]) > 1
        feature = int(drawn[trace][1][1])
        points.nth(1).click(force=True)
        tab.page.get_by_role("heading", name=re.compile(rf"^Feature {feature}:")).wait_for(timeout=30_000)
        tab.wait_ready()
        tab.page.locator("[data-testid=stPlotlyChart]", has_text=f"Activation histogram of feature {feature}").wait_for(timeout=30_000)
        tab.screenshot("causal-lm-sae-feature")

        view = tab.page.locator("[data-testid=stButtonGroup]", has_text="Quality").first.locator("button")  # the causal LM's views (the recipe's follow)
        view.filter(has_text=re.compile("^Example$")).click()
        tab.page.locator("[data-testid=stPlotlyChart]", has_text="Features firing on").first.wait_for(timeout=30_000)
        tab.wait_ready()
        tab.screenshot("causal-lm-sae-example")
        view.filter(has_text=re.compile("^Quality$")).click()
        tab.page.locator("[data-testid=stPlotlyChart]", has_text="Each held-out text").first.wait_for(timeout=30_000)
        tab.wait_ready()
        tab.screenshot("causal-lm-sae-quality")
        assert errors.count() == 0

        # an encoder (a BertModel, no head) in the same session: Home maps its texts, the SAE page's picker lists it
        # beside the causal LM and shows its SAE in the same views
        import json

        from tests.foreign_models import review_texts, tiny_encoder

        tiny_encoder(tmp_path / "tiny-bert")
        reviews, labels = review_texts(40)
        (tmp_path / "reviews.jsonl").write_text("\n".join(json.dumps({"text": t, "label": l}) for t, l in zip(reviews, labels)))
        open_page(tab, "Home")
        open_expander(tab, "Bring your own model")
        upload(tab, 3, tmp_path / "tiny-bert")
        tab.page.get_by_text("An encoder").first.wait_for(timeout=60_000)
        upload(tab, 4, tmp_path / "reviews.jsonl")
        tab.page.locator("[data-testid=stPlotlyChart]", has_text="Embedding map (PCA)").first.wait_for(timeout=60_000)
        tab.wait_ready()
        assert errors.count() == 0
        tab.screenshot("encoder-home")
        open_page(tab, "SAE features")
        picker = tab.page.locator("[data-testid=stSelectbox]", has_text="Your model").first
        picker.click()
        tab.page.get_by_role("option", name=re.compile(r"tiny-bert \(encoder")).click()
        tab.wait_ready()
        tab.page.get_by_role("button", name="Train an SAE on this block").click()
        tab.page.locator("[data-testid=stPlotlyChart]", has_text="Feature map (PCA)").first.wait_for(timeout=120_000)
        tab.wait_ready()
        assert tab.page.locator("[data-testid=stMetric]", has_text="Embedding cosine").count() == 1  # the encoder's splice, not a next-token loss
        assert errors.count() == 0
        tab.screenshot("encoder-sae-features")
        assert tab.problems() == []
    finally:
        tab.close()


def _open_downloaded_sae(tmp_path):
    """On the SAE page of a trained SAE: download it as an SAELens folder (.zip), then open that zip on the same layer
    through the panel's upload input; the opened SAE is shown like the trained one."""

    def run(tab) -> None:
        with tab.page.expect_download() as download:
            tab.page.get_by_role("button", name="Download as an SAELens folder (.zip)").click()
        zipped = tmp_path / download.value.suggested_filename
        download.value.save_as(zipped)
        tab.wait_ready()
        title = "SAE features at a layer of your own model"
        panel = tab.page.locator("[data-testid=stExpander]", has_text=title).first
        panel.locator("[data-testid=stFileUploader]").first.locator("input[type=file]").set_input_files(str(zipped))
        tab.page.wait_for_timeout(500)
        tab.wait_ready()
        if panel.locator("details").first.get_attribute("open") is None:  # a rerun that moved the panel draws it folded
            open_expander(tab, title)
        tab.page.get_by_role("button", name="Open this SAE on this layer").click()
        errors = tab.page.locator("[data-testid=stAlertContentError]")
        deadline = time.time() + 180  # the opened SAE becomes the recipe in use (the one-run "Opened ..." line may be gone by then on a loaded machine)
        while "-saelens" not in sidebar_recipe(tab) and not errors.count() and time.time() < deadline:
            tab.page.wait_for_timeout(500)
        assert not errors.count(), errors.first.inner_text()
        tab.wait_ready()
        tab.page.locator(".js-plotly-plot").first.wait_for()
        assert "-saelens" in sidebar_recipe(tab)
        tab.screenshot("foreign-table-sae-saelens")
        assert tab.page.locator("[data-testid=stAlertContentError]").count() == 0

    return run


def test_a_pt2_table_classifier_on_home_rules_sae_concepts_and_prototypes(server, browser, tmp_path):
    """An MLP exported with torch.export and its table (with concepts) through Home's upload inputs: Home, Rules, then
    an SAE trained on its layer, downloaded as an SAELens folder and opened again from that zip, TCAV and a prototype head."""
    import torch

    from tests.foreign_models import export_pt2, save_npz, table_data, trained_mlp

    X, y, concepts = table_data(200)
    model = export_pt2(trained_mlp(X, y, steps=100), torch.as_tensor(X[:4]), tmp_path / "mlp.pt2")
    data = save_npz(tmp_path / "table.npz", X, y, concepts, ["x0 high", "x5 high"])
    tab = AppPage(browser, height=2600)
    try:
        explore_pt2(tab, server, model, data, "upload-mlp-model")
        tab.screenshot("foreign-table-home")
        embedding_map = tab.page.locator("[data-testid=stPlotlyChart]").first  # below the box: the map from the picked layer
        embedding_map.scroll_into_view_if_needed()
        tab.screenshot("foreign-table-home-map")
        explore_on(tab, "Rules", "upload-mlp-model")
        tab.page.get_by_text("Fidelity (held-out)").first.wait_for(timeout=120_000)
        tab.wait_ready()
        tab.screenshot("foreign-table-rules")
        assert tab.page.locator("[data-testid=stAlertContentError]").count() == 0
        explain_on_three_pages(tab, "upload-mlp-model", "foreign-table", after_sae=_open_downloaded_sae(tmp_path))
        assert tab.problems() == []
    finally:
        tab.close()
