"""The Time-series page in-process (streamlit.testing): every recipe renders from its shipped
checkpoint and stored scores, the view lives in the URL, bad URL values fall back, and a model
without stored scores gets them computed and saved."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from interp_core import recipes
from interp_core.families.timeseries import explain as tsx
from interp_core.families.timeseries.explain import report as tsreport
from interp_core.store import SHIPPED_ROOT, Store
from tests.app.helpers import open_page as open_view, texts

PAGE = "views/timeseries.py"
RECIPES = [r.name for r in recipes.list_recipes("timeseries")]



def open_page(app, recipe: str | None = None, example: int | None = None, **query):
    return open_view(app, PAGE, recipe, example, **query)


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def comparison(at):
    return next(df.value for df in at.dataframe if "series_per_s" in df.value.columns)


@pytest.mark.parametrize("recipe", RECIPES)
def test_every_recipe_renders_its_series_scores_and_map(app, recipe):
    at = open_page(app, recipe=recipe, example=3)
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    assert at.title[0].value == "Time series"
    headers = texts(at.subheader)
    assert "Series 3: true class" in headers and "How the methods compare" in headers
    table = comparison(at)
    assert list(table["method"]) == [tsx.method_label(m) for m in tsx.REPORT_METHODS]
    model = recipes.load(recipe, device="cpu")
    assert metric(at, "Test accuracy") == f"{model.metrics['test_accuracy']:.3f}"
    if model.dataset.has_mask:
        assert table["auprc"].notna().all()
        assert float(metric(at, "Best AUPRC")) > table.set_index("method").loc["Random (reference)", "auprc"]
    else:
        assert "auprc" not in table.columns
        assert float(metric(at, "Lowest deletion area")) == pytest.approx(table["deletion_auc"].min(), abs=1e-3)
    per_series = next(df.value for df in at.dataframe if "deletion_area" in df.value.columns)
    assert list(per_series["method"]) == ["Integrated Gradients", "Occlusion"]


def test_the_view_lives_in_the_url_and_a_url_reproduces_it(app):
    at = open_page(app, recipe="seqcomb-mv-cnn", example=5)
    at.multiselect(key="ts_methods").set_value(["deeplift", "saliency"]).run()
    at.toggle(key="v_tsr").set_value(True).run()
    at.radio(key="v_target").set_value("true").run()
    at.selectbox(key="v_emap").set_value("gradient_shap").run()
    assert not at.exception, at.exception
    assert at.query_params["v_methods"] == "deeplift,saliency"
    assert at.query_params["v_tsr"] == "True" and at.query_params["v_target"] == "true" and at.query_params["v_emap"] == "gradient_shap"
    per_series = next(df.value for df in at.dataframe if "deletion_area" in df.value.columns)
    assert list(per_series["method"]) == ["DeepLift + TSR", "Saliency + TSR"]
    assert per_series["auprc"].between(0, 1).all()
    query = {k: at.query_params[k] for k in ("v_methods", "v_tsr", "v_target", "v_emap")}
    again = open_page(app, recipe="seqcomb-mv-cnn", example=5, **query)
    assert not again.exception
    assert again.multiselect(key="ts_methods").value == ["deeplift", "saliency"]
    assert again.toggle(key="v_tsr").value is True and again.radio(key="v_target").value == "true"
    assert again.selectbox(key="v_emap").value == "gradient_shap"


def test_bad_url_values_fall_back_quietly(app):
    at = open_page(app, v_methods="lime,,occlusion", v_tsr="maybe", v_target="nobody", v_map="nope", v_profile="x", v_colour="pink")
    assert not at.exception, at.exception
    assert at.multiselect(key="ts_methods").value == ["occlusion"]
    assert at.toggle(key="v_tsr").value is False
    assert at.radio(key="v_target").value == "predicted"
    assert at.selectbox(key="v_emap").value in tsx.REPORT_METHODS
    assert at.radio(key="v_colour").value == "class"


def test_a_series_without_ground_truth_says_so(app):
    model = recipes.load("seqcomb-uv-cnn", device="cpu")
    null_series = int((model.dataset.y_test == 0).nonzero()[0][0])
    at = open_page(app, recipe="seqcomb-uv-cnn", example=null_series)
    assert not at.exception
    assert "has no ground truth" in texts(at.caption)


def test_a_model_without_stored_scores_gets_them_computed_and_saved(app, user_store, monkeypatch):
    monkeypatch.setattr(tsreport, "REPORT_EXAMPLES", 12)
    monkeypatch.setattr(tsreport, "REPORT_METHODS", ["saliency", "random"])
    target = user_store / "freqshapes-cnn"
    shutil.copytree(SHIPPED_ROOT / "freqshapes-cnn", target)
    manifest = json.loads((target / "manifest.json").read_text())
    for file in (tsx.REPORT_ARRAYS, tsx.REPORT_META):
        manifest["files"].pop(file)
        (target / file).unlink()
    (target / "manifest.json").write_text(json.dumps(manifest))
    at = open_page(app, recipe="freqshapes-cnn", example=1)
    assert not at.exception, at.exception
    assert list(comparison(at)["method"]) == ["Saliency", "Random (reference)"]
    stored = tsx.stored_report(Store(user_store), Store(user_store).open("freqshapes-cnn"))
    assert stored is not None and len(stored.example_index) == 12


@pytest.mark.parametrize("recipe", ["freqshapes-cnn", "gunpoint-cnn"])  # with a ground truth (AUPRC) and without (deletion area)
def test_the_page_draws_the_sections_the_report_draws(app, recipe):
    """Pages composed once: the page's global headings, headline numbers and method scores are
    those of the Time series sections that the HTML report and Compare draw."""
    from interp_core.families.timeseries.sections import sections
    from interp_core.report import Metrics
    from interp_core.store import Catalog

    at = open_page(app, recipe=recipe, example=0)
    assert not at.exception, at.exception
    headline, compare, *rest = sections(recipes.load(recipe, Catalog(), device="cpu"), Catalog())
    headers = [h.value for h in at.subheader]
    assert [s.title for s in [compare, *rest]] == [h for h in headers if not h.startswith("Series")]
    numbers = next(item for item in headline.items if isinstance(item, Metrics))
    assert [(m.label, str(m.value)) for m in numbers.values] == [(m.label, m.value) for m in at.metric]
    assert ("Best AUPRC" in [m.label for m in numbers.values]) == (recipe == "freqshapes-cnn")
    scores = compare.items[0].frame
    pd.testing.assert_frame_equal(comparison(at).reset_index(drop=True), scores.reset_index(drop=True), check_dtype=False)


def test_three_methods_share_one_reading_and_classes_have_names(app):
    """Charts of one kind side by side get one "How to read this" and one teaching note, not one
    each; GunPoint's classes read "gun draw" / "point", not "1" / "2"; no cell reads None."""
    from interp_core.figures.teaching import TEACHING

    at = open_page(app, recipe="gunpoint-cnn", example=0, v_methods="integrated_gradients,occlusion,saliency", v_teach="True")
    assert not at.exception, at.exception
    assert len([c for c in at.caption if c.value.startswith("How to read this: The series (black line)")]) == 1
    assert len([i for i in at.info if TEACHING["series_attribution"]["note"] in i.value]) == 1
    reading = next(c.value for c in at.caption if c.value.startswith("How to read this: The series (black line)"))
    assert "Green bars" not in reading  # GunPoint has no ground truth to draw
    heading = next(h.value for h in at.subheader if h.value.startswith("Series 0"))
    assert "true class gun draw" in heading or "true class point" in heading
    assert "'1'" not in texts(at.subheader)
    speeds = comparison(at).set_index("method")["series_per_s"]
    assert speeds["Random (reference)"] == "—" and all(float(v) > 0 for m, v in speeds.items() if m != "Random (reference)")
    published = next(df.value for df in at.dataframe if "published FCN" in df.value.columns)
    assert not published.isna().any().any() and "—" in set(published["published FCN"])
