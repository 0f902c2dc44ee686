"""The Rules page in-process (streamlit.testing): renders from the shipped checkpoints, keeps its
view in the URL, reacts to its settings, and explains the selected example."""

from __future__ import annotations

import pytest
from tests.app.helpers import open_page as open_view, texts

PAGE = "views/rules.py"



def open_rules(app, recipe: str | None = None, example: int | None = None, **query):
    return open_view(app, PAGE, recipe, example, **query)


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.mark.parametrize("recipe", ["breast-cancer-rules", "wine-rules", "digits-rules", "synthetic-rules"])
def test_every_recipe_shows_fidelity_rules_and_an_example(app, recipe):
    at = open_rules(app, recipe=recipe, example=2)
    assert not at.exception, at.exception
    assert at.title[0].value == "Rules"
    assert metric(at, "Fidelity (held-out)").endswith("%")
    headers = texts(at.subheader)
    assert "How far to trust these rules" in headers and "Example 2" in headers
    rules = next(df.value for df in at.dataframe if "rule" in df.value.columns)
    assert len(rules) == int(metric(at, "Rules")) >= 2
    assert rules["coverage"].sum() == pytest.approx(1.0)
    assert "Its rule:" in texts(at.markdown) and "Nearest counterfactual" in texts(at.markdown)
    assert any(kind in texts(at.markdown) for kind in ("flips too", "does not flip"))


def test_settings_live_in_the_url_and_a_url_reproduces_them(app):
    at = open_rules(app)
    assert at.query_params["recipe"] == "breast-cancer-rules"
    at.slider(key="v_depth").set_value(2).run()
    at.selectbox(key="v_rank").set_value("permutation").run()
    assert not at.exception
    assert at.query_params["v_depth"] == "2" and at.query_params["v_rank"] == "permutation"
    shown = (metric(at, "Rules"), metric(at, "Fidelity (held-out)"))
    again = open_rules(app, v_depth="2", v_rank="permutation", v_k=at.query_params["v_k"])
    assert again.slider(key="v_depth").value == 2 and again.selectbox(key="v_rank").value == "permutation"
    assert (metric(again, "Rules"), metric(again, "Fidelity (held-out)")) == shown


def test_a_link_s_settings_survive_switching_to_a_recipe_with_another_number_of_features(app):
    """A link's k and depth arrive as text; a recipe with another number of features redraws the
    sliders with another range, which once brought the link's text back ('3' > 1: TypeError)."""
    from interp_core import recipes

    names = [r.name for r in recipes.list_recipes("rules")]
    at = open_rules(app, names[0], v_k="3", v_depth="2")
    for name in names[1:]:
        at.sidebar.selectbox(key="recipe").set_value(name).run()
        assert not at.exception, (name, at.exception)
        assert at.slider(key="v_k").value == 3 and at.slider(key="v_depth").value == 2


def test_bad_url_values_fall_back_to_defaults(app):
    at = open_rules(app, v_k="9999", v_depth="deep", v_surrogate="forest", v_node="77")
    assert not at.exception
    assert at.slider(key="v_k").value == 8 and at.slider(key="v_depth").value == 3  # breast-cancer-rules' defaults
    assert at.selectbox(key="v_surrogate").value == "tree"


def test_the_rule_list_and_a_selected_node(app):
    # a link naming the recipe, so the page opens on it (a node belongs to one recipe's tree)
    at = app(recipe="wine-rules", v_surrogate="rulelist", v_positive="0", v_node="0").run()
    at.switch_page(PAGE).run()
    assert at.sidebar.selectbox(key="recipe").value == "wine-rules"
    assert not at.exception
    assert "class_0 or not" in texts(at.caption)
    assert "**Node 0**" in texts(at.markdown)  # the node's examples are listed
    members = next(df.value for df in at.dataframe if "example" in df.value.columns)
    assert len(members) == 45  # the root holds every held-out example


def test_the_trust_statement_reports_the_numbers_it_shows(app):
    at = open_rules(app, recipe="synthetic-rules")
    statement = texts(at.success) + texts(at.info) + texts(at.warning)
    assert metric(at, "Fidelity (held-out)") in statement
    assert "always answering" in statement


def test_the_page_draws_the_sections_the_report_draws(app):
    """Pages composed once: at the default setting the page's global headings and headline numbers
    are those of the Rules sections that the HTML report and Compare draw."""
    from interp_core import recipes
    from interp_core.families.rules.sections import sections
    from interp_core.report import Metrics
    from interp_core.store import Catalog

    at = app(recipe="wine-rules")  # arrives by a link to the recipe, so the page starts at its defaults
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert at.sidebar.selectbox(key="recipe").value == "wine-rules"
    assert not at.exception, at.exception
    built = sections(recipes.load("wine-rules", Catalog()), Catalog())
    headers = [h.value for h in at.subheader]
    assert [s.title for s in built] == [h for h in headers if not h.startswith("Example")]
    numbers = next(item for item in built[0].items if isinstance(item, Metrics))
    assert [(m.label, str(m.value)) for m in numbers.values] == [(m.label, m.value) for m in at.metric][: len(numbers.values)]


def test_a_selected_node_does_not_carry_over_to_another_recipe_or_setting(app):
    """Node 0 of one tree is another node of another tree: a new recipe or setting drops it."""
    at = app(recipe="wine-rules", v_node="0").run()
    at.switch_page(PAGE).run()
    assert "**Node 0**" in texts(at.markdown)
    at.slider(key="v_depth").set_value(2).run()  # another tree
    assert "v_node" not in at.query_params and "**Node" not in texts(at.markdown)
    at = app(recipe="wine-rules", v_node="0").run()
    at.switch_page(PAGE).run()
    at.sidebar.selectbox(key="recipe").set_value("breast-cancer-rules").run()  # an unrelated recipe
    assert not at.exception
    assert "v_node" not in at.query_params and "**Node" not in texts(at.markdown)


def _spec(chart) -> dict:
    import json

    return json.loads(chart.proto.spec)


def test_a_large_tree_keeps_its_node_labels_and_long_rules_wrap(app):
    """digits-rules' tree (27 leaves) lost every node label; its rules were cut off in the table."""
    at = app(recipe="digits-rules").run()  # arrives by a link to the recipe: its default setting (k 16, depth 6)
    at.switch_page(PAGE).run()
    assert not at.exception
    tree = next(_spec(c) for c in at.get("plotly_chart") if _spec(c)["layout"]["title"]["text"].startswith("Surrogate tree"))
    nodes = next(t for t in tree["data"] if t.get("name") == "nodes")
    leaves = [t for t, symbol in zip(nodes["text"], nodes["marker"]["symbol"]) if symbol == "square"]
    splits = [t for t, symbol in zip(nodes["text"], nodes["marker"]["symbol"]) if symbol == "circle"]
    assert len(leaves) > 16 and all(t.startswith("→ ") for t in leaves)  # every rule's class named
    assert "≤" in splits[0] and sum("≤" in t for t in splits) >= len(splits) // 2  # the splits where there is room
    table = next(df for df in at.dataframe if "rule" in df.value.columns)
    assert table.value["rule"].str.len().max() > 70
    assert table.proto.row_height > 64  # rows tall enough that Streamlit wraps the rule's text instead of cutting it
