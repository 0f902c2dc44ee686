"""The Concepts page driven in-process with streamlit.testing, on the shipped checkpoints."""

import numpy as np
import pytest

from interp_core import recipes
from interp_core.families.concepts.data import SHAPES_CLASSES, SHAPES_CONCEPTS
from interp_core.families.concepts.explain import concept_probabilities
from interp_core.store import SHIPPED_ROOT, Catalog, Store
from tests.app.helpers import open_page as open_view, texts

PAGE = "views/concepts.py"



def open_page(app, recipe: str = "shapes-cnn", **query):
    return open_view(app, PAGE, recipe, **query)


def test_tcav_view_renders_from_the_shipped_classifier(app):
    at = open_page(app, recipe="shapes-cnn")
    assert not at.exception, at.exception
    assert at.title[0].value == "Concepts"
    assert at.sidebar.selectbox(key="recipe").value == "shapes-cnn"
    assert at.selectbox(key="v_class").value == SHAPES_CLASSES[0]
    assert "Ground truth of this dataset" in texts(at.info)
    assert "Against the ground truth" in texts(at.markdown)
    table = at.dataframe[0].value
    assert {"concept", "class", "layer", "score", "p_value", "significant", "cav_accuracy"} <= set(table.columns)
    assert set(table["concept"]) == set(SHAPES_CONCEPTS)


def test_deep_link_picks_class_and_concept_and_bad_values_fall_back(app):
    at = open_page(app, recipe="shapes-cnn", v_class="striped round", v_concept="striped", v_layer="block2", example="3")
    assert not at.exception
    assert at.selectbox(key="v_class").value == "striped round"
    assert at.selectbox(key="v_concept").value == "striped"
    assert at.selectbox(key="v_layer").value == "block2"
    assert "Example 3" in texts(at.subheader)
    at = open_page(app, recipe="shapes-cnn", v_class="no such class", v_view="nonsense", v_layer="x")
    assert not at.exception
    assert at.selectbox(key="v_class").value == SHAPES_CLASSES[0]
    assert at.query_params["v_view"] == "TCAV"


@pytest.fixture(scope="module")
def cbm_example():
    """A test example whose bottleneck model is confident the shape is striped: switching 'striped' off must make it 'solid'."""
    catalog = Catalog(Store(SHIPPED_ROOT / ".none"), Store(SHIPPED_ROOT, readonly=True))
    model = recipes.load("shapes-cbm", catalog, device="cpu")
    probabilities = concept_probabilities(model.model, model.dataset.X_test)
    striped = SHAPES_CONCEPTS.index("striped")
    candidates = np.flatnonzero((probabilities[:, striped] > 0.9) & (model.predict_proba(model.dataset.X_test).argmax(1) != 0))
    return int(candidates[0])


def test_setting_a_concept_by_hand_changes_the_prediction(app, cbm_example):
    at = open_page(app, recipe="shapes-cbm", v_view="Concept bottleneck", example=str(cbm_example))
    assert not at.exception, at.exception
    before = texts(at.markdown)
    assert "Prediction from your concepts" in before
    mode = recipes.get_recipe("shapes-cbm").train_config["mode"]
    slider = at.slider(key=f"wi_shapes-cbm_{mode}_{cbm_example}_{SHAPES_CONCEPTS.index('striped')}")
    slider.set_value(0.0).run()
    assert not at.exception
    after = texts(at.markdown)
    assert "Prediction from your concepts: **solid**" in after
    assert "changed by your edits" in after
    assert at.query_params["v_whatif"].startswith(f"{cbm_example}:{mode}:")
    at.button(key="wi_reset").click().run()
    assert "changed by your edits" not in texts(at.markdown)


def test_intervention_and_modes_are_shown(app):
    at = open_page(app, recipe="shapes-cbm", v_view="Concept bottleneck", v_mode="independent")
    assert not at.exception
    assert at.radio(key="v_mode").value == "independent"
    labels = [m.label for m in at.metric]
    assert "With all concepts corrected" in labels and "Gain from correcting" in labels


def test_a_classifier_recipe_points_to_its_bottleneck_model(app):
    at = open_page(app, recipe="shapes-cnn", v_view="Concept bottleneck")
    assert not at.exception
    assert "shapes-cbm" in texts(at.info)
    at.button(key="to_pair").click().run()
    assert not at.exception
    assert at.sidebar.selectbox(key="recipe").value == "shapes-cbm"


def test_define_a_concept_by_label_and_score_it(app):
    at = open_page(app, recipe="breast-cancer-concept-mlp", v_view="Define a concept", v_uc_by="by concept label", v_uc_name="big and irregular")
    assert not at.exception, at.exception
    at.multiselect(key="_v_uc_present_widget").set_value(["large nucleus", "irregular shape"]).run()
    at.button(key="uc_score").click().run()
    assert not at.exception, at.exception
    message = texts(at.success)
    assert "big and irregular" in message and "p =" in message
    assert at.selectbox(key="v_uc_class").value in ("malignant", "benign")


def test_too_few_examples_give_one_sentence(app):
    from itertools import combinations

    from interp_core.data import load_dataset

    data = load_dataset("breast_cancer_concepts")
    labels = data.concepts_test > 0.5
    names = data.concept_names
    # a set of concepts that must all be present and all others absent, held by 1-9 test examples
    present = next(
        list(combo) for size in range(1, len(names) + 1) for combo in combinations(names, size)
        if 0 < (labels[:, [names.index(c) for c in combo]].all(axis=1) & ~labels[:, [names.index(c) for c in names if c not in combo]].any(axis=1)).sum() < 10
    )
    at = open_page(app, recipe="breast-cancer-concept-mlp", v_view="Define a concept", v_uc_by="by concept label")
    at.multiselect(key="_v_uc_present_widget").set_value(present)
    at.multiselect(key="_v_uc_absent_widget").set_value([c for c in names if c not in present]).run()
    at.button(key="uc_score").click().run()
    assert not at.exception
    assert "choose at least 10" in texts(at.error)


def test_define_a_concept_by_class_and_score_it(app):
    """A concept made of one class's own test examples: the classifier's score for that class must rise
    towards it (TCAV above 0.5) and the test call it significant at every layer."""
    at = open_page(app, recipe="breast-cancer-concept-mlp", v_view="Define a concept", v_uc_by="by class", v_uc_name="looks malignant")
    assert not at.exception, at.exception
    from interp_core.data import load_dataset

    classes = next(m for m in at.multiselect if m.label == "Classes")
    classes.set_value(["malignant"]).run()
    n_malignant = int((load_dataset("breast_cancer_concepts").y_test == 0).sum())
    assert f"{n_malignant} test examples chosen" in texts(at.caption)
    at.button(key="uc_score").click().run()
    assert not at.exception, at.exception
    assert "looks malignant" in texts(at.success) and "p =" in texts(at.success)
    table = next(d.value for d in at.dataframe if "p_value" in d.value.columns)
    assert len(table) == 2 * 2  # 2 classes x 2 layers
    own = table[table["class"] == "malignant"]
    assert (own["score"] > 0.5).all() and own["significant"].all(), own


def test_the_page_draws_the_report_sections(app):
    """The key numbers, the TCAV view and the bottleneck view are the Sections the HTML report and
    Compare draw (families/concepts/sections.py), at the report's defaults for the recipe's own mode."""
    from interp_core.families.concepts import sections as family_sections
    from interp_core.report import Metrics, Table, Text

    catalog = Catalog(Store(SHIPPED_ROOT / ".none"), Store(SHIPPED_ROOT, readonly=True))
    trained = recipes.load("shapes-cbm", catalog, device="cpu")
    overview, tcav, cbm = family_sections.sections(trained, catalog)
    at = open_page(app, recipe="shapes-cbm")
    assert not at.exception, at.exception
    headline = overview.items[0]
    assert isinstance(headline, Metrics)
    shown = [(m.label, m.value) for m in at.metric]
    assert shown[: len(headline.values)] == [(m.label, str(m.value)) for m in headline.values]
    checked = next(item for item in tcav.items if isinstance(item, Metrics))  # issue 23: TCAV against CaCE
    assert shown[len(headline.values):] == [(m.label, str(m.value)) for m in checked.values]
    assert checked.values[1].label == "TCAV verdicts that agree with CaCE" and checked.values[1].value.endswith("%")
    assert texts(at.info) == overview.items[1].text  # the dataset's ground truth
    assert at.subheader[0].value == tcav.title
    assert at.dataframe[0].value.equals(next(item for item in tcav.items if isinstance(item, Table)).frame)
    against = [item.text for item in tcav.items if isinstance(item, Text) and "Against the ground truth" in item.text]
    assert len(against) == 1 and against == [m.value for m in at.markdown if "Against the ground truth" in m.value]
    assert [item.text for item in tcav.items if isinstance(item, Text) and item.text.startswith("For class")][0] in texts(at.caption)
    at.button_group(key="v_view").set_value("Concept bottleneck").run()
    assert not at.exception, at.exception
    assert at.subheader[0].value == cbm.title
    numbers = next(item for item in cbm.items if isinstance(item, Metrics))
    assert [(m.label, m.value) for m in at.metric][len(headline.values):] == [(m.label, str(m.value)) for m in numbers.values]
    wrong = next(item for item in cbm.items if isinstance(item, Table) and item.title == family_sections.WRONG_TABLE)
    assert len(wrong.frame) > 0 and any(d.value.equals(wrong.frame) for d in at.dataframe)
    assert any(d.value.equals(next(item for item in cbm.items if isinstance(item, Table) and item.title == family_sections.MODES_TABLE).frame) for d in at.dataframe)


def test_the_page_opens_on_a_clear_shape_not_a_dim_one_lost_in_noise(app):
    """Example 0 of shapes is a small, dim striped circle under noise (it looked like static, also in
    the sidebar): with no example chosen the page opens on the first large, bright, striped shape."""
    from interp_core.data import load_dataset

    data = load_dataset("shapes")
    first = data.extras["default_example"]
    on = {c for c, v in zip(SHAPES_CONCEPTS, data.concepts_test[first]) if v > 0.5}
    assert first > 0 and {"large", "bright", "striped"} <= on
    at = open_page(app, recipe="shapes-cnn")
    assert not at.exception, at.exception
    assert at.sidebar.number_input(key="example").value == first
    assert f"Example {first}" in texts(at.subheader)
    at = open_page(app, recipe="shapes-cnn", example="0")  # a link that names example 0 still shows it
    assert at.sidebar.number_input(key="example").value == 0 and "Example 0" in texts(at.subheader)


def _chart(at, title_start: str) -> dict:
    import json

    return next(spec for spec in (json.loads(c.proto.spec) for c in at.get("plotly_chart")) if spec["layout"]["title"]["text"].startswith(title_start))


def test_red_means_towards_the_class_on_every_chart_of_the_page(app):
    """The heatmap drew red for 'pushes towards the class' and the CaCE chart below it blue for a
    positive effect: now the effect bars and the example's sensitivity bars are red when they raise
    the class and blue when they lower it, like the heatmap; the verdict markers are green and orange."""
    from interp_core.families.concepts.figures import LOWERS, RAISES

    at = open_page(app, recipe="shapes-cnn")
    assert not at.exception, at.exception
    heatmap = _chart(at, "All concepts and classes")["data"][0]
    assert heatmap["colorscale"][-1][1] == "rgb(103,0,31)" and heatmap["colorscale"][0][1] == "rgb(5,48,97)"  # high scores red, low blue
    effect = _chart(at, "Effect of each concept")
    bars = next(t for t in effect["data"] if t["type"] == "bar")
    colours = bars["marker"]["color"]
    signs = [float(v) for v in _values(bars["y"])]
    assert RAISES in colours and LOWERS in colours
    assert all(c != RAISES or s > 0 for c, s in zip(colours, signs)) and all(c != LOWERS or s < 0 for c, s in zip(colours, signs))
    markers = {c for t in effect["data"] if t["type"] == "scatter" for c in t["marker"]["color"]}
    assert RAISES not in markers and markers <= {"#2e8540", "#b85c00"}
    sensitivity = _chart(at, "Concept sensitivity")["data"][0]
    assert all((c == RAISES) == (float(v) > 0) for c, v in zip(sensitivity["marker"]["color"], _values(sensitivity["x"])))
    decimals = {len(t.split(".")[1]) for t in sensitivity["text"]}
    assert len(decimals) == 1  # every label with as many decimals (not +0.00073 beside +0.311)
    assert json_config(at, "p_value")["type_config"]["format"] == "%.2g"  # 0.33, not 3.29e-1
    assert json_config(at, "score_std")["label"] == "Std over runs"  # words, not snake_case


def _values(array):
    """A figure JSON's array: Plotly writes NumPy arrays as {"dtype", "bdata"} (base64)."""
    import base64

    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"])).tolist()
    return list(array)


def json_config(at, column: str) -> dict:
    """The page's column config of ``column`` in the first table that has it."""
    import json

    for frame in at.dataframe:
        config = json.loads(frame.proto.columns or "{}")
        if column in config:
            return config[column]
    raise AssertionError(f"no table configures {column}")
