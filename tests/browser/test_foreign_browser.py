"""A user's own model in a real browser (issue 17): a .pt2 series classifier and its data go in through
Home's "Bring your own model" file inputs, the layer picker lists its layers, and Home and Time series
explore it; a Hugging Face classifier goes in as a folder through the directory input."""

import re

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


def test_a_pt2_and_a_hugging_face_folder_are_explored_through_the_upload_inputs(server, browser, tmp_path):
    model, data = _files(tmp_path)
    tab = AppPage(browser, height=2600)
    try:
        tab.open(server.url)
        open_expander(tab, "Bring your own model")
        upload(tab, 1, model)  # the hub's uploaders: 0 = data, 1 = model file, 2 = config, 3 = folder, then the model's data
        tab.page.get_by_text("exported program (arbitrary PyTorch graph)").first.wait_for()
        upload(tab, 4, data)
        tab.page.get_by_text("Layer for the embedding map").wait_for()
        tab.page.get_by_role("button", name="Explore this model").click()
        tab.page.get_by_text("Recipe in use: upload-cnn-model").wait_for(timeout=120_000)
        tab.wait_ready()
        assert "upload-cnn-model" in sidebar_recipe(tab)
        tab.page.locator("[data-testid=stMetric]", has_text="Test accuracy").first.wait_for()
        tab.screenshot("foreign-pt2-home")
        explore_on(tab, "Time series", "upload-cnn-model")
        tab.page.locator("[data-testid=stMetric]", has_text="Best AUPRC").first.wait_for(timeout=180_000)
        tab.screenshot("foreign-pt2-timeseries")

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
