"""The Compare page: two recipes of one family side by side, their numbers in one table."""

import pytest

from interp_core import recipes
from tests.app.helpers import open_page
from ui import compare

PAGE = "views/compare.py"


def open_compare(app, **query):
    return open_page(app, PAGE, **query)


def numbers(at):
    return at.dataframe[0].value


def test_default_pair_of_each_family_is_two_different_recipes_of_it():
    for family, names in compare.families().items():
        a, b = compare.default_pair(family, names)
        assert a != b and {recipes.get_recipe(a).family, recipes.get_recipe(b).family} == {family}


def test_prototypes_deterministic_against_probabilistic(app):
    at = open_compare(app, v_cmp_family="prototypes")
    assert not at.exception, at.exception
    assert at.selectbox(key="v_cmp_a").value == "digits-protonet"
    assert at.selectbox(key="v_cmp_b").value == "digits-protonet-prob"
    table = numbers(at)
    assert list(table.columns) == ["metric", "digits-protonet", "digits-protonet-prob", "section"]
    accuracy = table[table["metric"].str.lower() == "test accuracy"].iloc[0]
    a_value, b_value = (float(accuracy[name]) for name in ("digits-protonet", "digits-protonet-prob"))
    for name, value in (("digits-protonet", a_value), ("digits-protonet-prob", b_value)):
        assert value == pytest.approx(recipes.load(name, device="cpu").metrics["test_accuracy"], abs=1e-3)
    # Only the probabilistic recipe reports how well its uncertainty flags errors.
    auroc = table[table["metric"].str.lower().str.contains("auroc")]
    assert len(auroc) and (auroc["digits-protonet"] == "–").all() and (auroc["digits-protonet-prob"] != "–").all()
    assert len(at.get("plotly_chart")) >= 4
    assert not at.info  # same dataset: no warning about different data


def test_a_url_picks_the_pair_and_bad_values_fall_back(app):
    at = open_compare(app, v_cmp_family="timeseries", v_cmp_a="gunpoint-transformer", v_cmp_b="gunpoint-cnn")
    assert not at.exception, at.exception
    assert (at.selectbox(key="v_cmp_a").value, at.selectbox(key="v_cmp_b").value) == ("gunpoint-transformer", "gunpoint-cnn")
    assert list(numbers(at).columns)[1:3] == ["gunpoint-transformer", "gunpoint-cnn"]
    at = open_compare(app, v_cmp_family="no-such-family", v_cmp_a="x", v_cmp_b="y")
    assert not at.exception, at.exception
    family = at.selectbox(key="v_cmp_family").value
    assert family in compare.families()
    assert at.selectbox(key="v_cmp_a").value != at.selectbox(key="v_cmp_b").value


def test_different_datasets_are_said_and_the_same_recipe_twice_asks_for_another(app):
    at = open_compare(app, v_cmp_family="rules", v_cmp_a="wine-rules", v_cmp_b="digits-rules")
    assert not at.exception, at.exception
    assert any("different datasets" in i.value for i in at.info)
    at.selectbox(key="v_cmp_b").set_value("wine-rules").run()
    assert any("same recipe" in i.value for i in at.info)
    assert not at.dataframe


def test_compare_opens_on_the_recipe_in_use_and_follows_the_sidebar(app):
    """It ignored the recipe in use: it now is the first side, beside its family's usual partner."""
    at = app(recipe="wine-rules").run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert (at.selectbox(key="v_cmp_family").value, at.selectbox(key="v_cmp_a").value) == ("rules", "wine-rules")
    assert at.selectbox(key="v_cmp_b").value not in ("wine-rules", None)
    at.sidebar.selectbox(key="recipe").set_value("gunpoint-cnn").run()
    assert (at.selectbox(key="v_cmp_family").value, at.selectbox(key="v_cmp_a").value) == ("timeseries", "gunpoint-cnn")
    at.selectbox(key="v_cmp_a").set_value("gunpoint-transformer").run()  # a choice made on the page stays
    assert at.selectbox(key="v_cmp_a").value == "gunpoint-transformer" and at.selectbox(key="v_cmp_family").value == "timeseries"


def test_no_example_banner_on_compare(app):
    """Compare shows no single example: 'your example came from wine' pointed at nothing there."""
    at = app(recipe="wine-mlp", example="3").run()  # the passport: wine #3
    at.sidebar.selectbox(key="recipe").set_value("digits-mlp").run()
    assert any("your example came from" in i.value for i in at.info)  # Home says it
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert not any("your example came from" in i.value for i in at.info)


def test_tables_read_as_words_and_a_tie_with_random_attribution_is_explained(app):
    """GunPoint: random attribution's deletion area (0.507) ties Integrated Gradients'; the page says
    why, and the scores' headers are words that fit half a page."""
    import json

    at = open_compare(app, v_cmp_family="timeseries", v_cmp_a="gunpoint-cnn", v_cmp_b="gunpoint-transformer")
    assert not at.exception, at.exception
    scores = next(df for df in at.dataframe if "deletion_auc" in df.value.columns)
    labels = {column: config.get("label") for column, config in json.loads(scores.proto.columns).items()}
    assert labels["deletion_auc"] == "deletion AUC" and labels["insertion_auc"] == "insertion AUC" and labels["series_per_s"] == "series/s"
    note = next(c.value for c in at.caption if c.value.startswith("Why random attribution ties here (gunpoint-cnn)"))
    assert "deletion AUC" in note and "Integrated Gradients" in note and "whichever go first" in note and "Clearly apart from random: Occlusion" in note


@pytest.mark.parametrize("family", ["rules", "timeseries"])
def test_charts_of_one_kind_side_by_side_share_one_reading_and_one_teaching_note(app, family):
    """A teacher sees each note once: two charts of one kind get one line and one note under their row."""
    at = open_compare(app, v_cmp_family=family, v_teach="True")
    assert not at.exception, at.exception
    readings = [c.value for c in at.caption if c.value.startswith("How to read this:")]
    notes = [i.value for i in at.info if "Teaching note." in i.value]
    assert readings and notes
    assert len(readings) == len(set(readings)), "a how-to-read line is repeated"
    assert len(notes) == len(set(notes)), "a teaching note is repeated"
