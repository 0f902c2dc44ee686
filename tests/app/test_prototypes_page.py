"""The Prototypes page in-process (AppTest) on the shipped checkpoints: every recipe renders, URL state,
the pushed view, prototype selection, uncertainty warnings and a corrupted artifact."""

import json
import shutil

import numpy as np
import pytest

from interp_core import recipes
from interp_core.families.prototypes.explain import analyse
from interp_core.families.prototypes.sections import sections
from interp_core.report import Figure, Metrics, Table
from interp_core.store import SHIPPED_ROOT, Catalog, Store

PAGE = "views/prototypes.py"
RECIPES = ["digits-protonet", "digits-protonet-prob", "breast-cancer-protonet", "gunpoint-protonet"]


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def open_page(app, **query):
    at = app()
    at.switch_page(PAGE)
    for key, value in query.items():
        at.query_params[key] = str(value)
    return at.run()


def shipped_catalog():
    return Catalog(Store("/nonexistent-user-store"), Store(SHIPPED_ROOT, readonly=True))


def shipped_model(name):
    return recipes.load(name, shipped_catalog(), device="cpu")


@pytest.mark.parametrize("name", RECIPES)
def test_the_page_renders_every_recipe_from_its_shipped_checkpoint(app, name):
    at = open_page(app, recipe=name)
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    assert at.title[0].value == "Prototypes"
    headers = texts(at.header)
    for section in ("Global: the prototypes", "Local: this looks like that (test example 0)", "Misclassified test examples", "Quality"):
        assert section in headers
    manifest = shipped_model(name).manifest
    values = {m.label: m.value for m in at.metric}
    assert values["Test accuracy"] == f"{manifest['metrics']['test_accuracy']:.3f}"
    assert values["Prototypes"] == str(manifest["metrics"]["n_prototypes"])
    assert ("Uncertainty AUROC" in values) == (name == "digits-protonet-prob")
    assert len(at.get("plotly_chart")) >= 6
    assert "percentage points" in texts(at.markdown) or "unchanged" in texts(at.markdown)  # the push reading


def test_a_deep_link_reproduces_recipe_example_prototype_and_view(app):
    at = open_page(app, recipe="gunpoint-protonet", example=7, v_proto=4, v_push="pushed", v_topk=2)
    assert not at.exception
    assert at.sidebar.selectbox(key="recipe").value == "gunpoint-protonet"
    assert "Local: this looks like that (test example 7)" in texts(at.header)
    assert "Nearest training examples of prototype P4" in texts(at.subheader)
    assert at.radio(key="v_push").value == "pushed"
    assert "real training cases the prototypes were pushed onto" in texts(at.caption)
    assert len(at.dataframe[1].value) == 2  # the top-k table holds v_topk rows


def test_bad_url_values_fall_back_quietly(app):
    at = open_page(app, recipe="digits-protonet", v_proto=99, v_push="sideways", v_topk="lots", v_pmap="tsne")
    assert not at.exception
    assert at.selectbox(key="v_proto").value == 0
    assert at.radio(key="v_push").value == "learned"
    assert at.slider(key="v_topk").value == 3


def test_choosing_a_prototype_and_the_pushed_view_updates_page_and_url(app):
    at = open_page(app, recipe="digits-protonet")
    at.selectbox(key="v_proto").set_value(5).run()
    assert "Nearest training examples of prototype P5" in texts(at.subheader)
    assert at.query_params["v_proto"] == "5"
    at.radio(key="v_push").set_value("pushed").run()
    assert not at.exception
    assert at.query_params["v_push"] == "pushed"
    values = {m.label: m.value for m in at.metric}
    push_after = shipped_model("digits-protonet").metrics["push_accuracy_after"]
    assert values["Test accuracy"] == f"{push_after:.3f}"  # the page now scores the pushed prototypes
    assert values["Accuracy after push"] == f"{push_after:.3f}"


def test_the_probabilistic_page_warns_on_uncertain_explanations_only(app):
    trained = shipped_model("digits-protonet-prob")
    sampled = analyse(trained.model, trained.dataset, seed=trained.manifest["seed"]).sampled
    flagged, calm = int(np.flatnonzero(sampled.flagged)[0]), int(np.flatnonzero(~sampled.flagged)[0])
    at = open_page(app, recipe="digits-protonet-prob", example=flagged)
    assert "Uncertain explanation" in texts(at.warning)
    at = open_page(app, recipe="digits-protonet-prob", example=calm)
    assert not at.warning and "Confident explanation" in texts(at.success)


def test_the_misclassified_browser_lists_every_wrong_test_prediction(app):
    at = open_page(app, recipe="digits-protonet")
    trained = shipped_model("digits-protonet")
    wrong = np.flatnonzero(trained.predict_proba(trained.dataset.X_test).argmax(1) != trained.dataset.y_test)
    table = at.dataframe[-1].value
    assert table["example"].tolist() == wrong.tolist()


def test_a_corrupted_artifact_gives_one_sentence_and_the_page_keeps_serving(app, user_store):
    shutil.copytree(SHIPPED_ROOT / "gunpoint-protonet", user_store / "gunpoint-protonet")
    weights = user_store / "gunpoint-protonet" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    at = open_page(app, recipe="gunpoint-protonet")
    assert not at.exception
    assert "sha256" in texts(at.error) and "gunpoint-protonet" in texts(at.error)
    at.sidebar.selectbox(key="recipe").set_value("breast-cancer-protonet").run()
    assert not at.exception and not at.error


def test_the_page_draws_the_sections_its_report_and_compare_draw(app):
    """The family's sections at the page's defaults are the page's global blocks: the same headings
    in the same order, the same numbers, the same figures and the same misclassified table."""
    name = "digits-protonet-prob"
    report = sections(shipped_model(name), shipped_catalog())
    at = open_page(app, recipe=name)
    assert not at.exception, at.exception
    assert [s.title for s in report] == [h.value for h in at.header if not h.value.startswith("Local:")]
    numbers = {(m.label, m.value) for s in report for item in s.items if isinstance(item, Metrics) for m in item.values}
    assert {"Test accuracy", "Prototypes", "Accuracy after push", "Uncertainty AUROC"} <= {label for label, _ in numbers}
    assert numbers <= {(m.label, m.value) for m in at.metric}
    figures = [item.figure.layout.title.text for s in report for item in s.items if isinstance(item, Figure)]
    shown = [(json.loads(chart.proto.spec)["layout"].get("title") or {}).get("text") for chart in at.get("plotly_chart")]
    assert len(figures) == 4 and all(title and title in shown for title in figures)
    wrong = next(item.frame for item in report[1].items if isinstance(item, Table))
    assert at.dataframe[-1].value["example"].tolist() == wrong["example"].tolist()


def test_the_latent_map_draws_a_fixed_sample_of_the_training_examples(app):
    """The map is redrawn on every click that moves a highlight: its faint training context is at
    most 400 points (digits has 1,347), the same sample every run, and its legend says so."""
    at = open_page(app, recipe="digits-protonet")
    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if json.loads(c.proto.spec)["layout"]["title"]["text"].startswith("Latent map"))
    train = spec["data"][0]
    assert train["name"] == "training examples (400 of 1,347)"
    again = open_page(app, recipe="digits-protonet", example=5)
    spec_again = next(json.loads(c.proto.spec) for c in again.get("plotly_chart") if json.loads(c.proto.spec)["layout"]["title"]["text"].startswith("Latent map"))
    assert spec_again["data"][0]["customdata"] == train["customdata"]
