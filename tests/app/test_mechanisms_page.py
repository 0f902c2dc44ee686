"""The Mechanisms page in-process (streamlit.testing): renders every recipe from the shipped
checkpoints, keeps its view in the URL, explains the chosen neuron and pair, and prunes."""

from __future__ import annotations

import numpy as np
import pytest

from interp_core import recipes
from interp_core.store import SHIPPED_ROOT, Store
from tests.app.helpers import texts

PAGE = "views/mechanisms.py"
RECIPES = [r.name for r in recipes.list_recipes("mechanisms")]



def open_page(app, recipe: str | None = None, **query):
    """The page as a link opens it: the recipe in the URL with the view (a recipe picked in the
    sidebar afterwards opens on its own defaults)."""
    at = app(**({"recipe": recipe} if recipe else {}), **query)
    at.run()
    at.switch_page(PAGE)
    return at.run()


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.mark.parametrize("recipe", RECIPES)
def test_every_recipe_renders_its_explanation_and_checks(app, recipe):
    at = open_page(app, recipe)
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    assert at.title[0].value == "Mechanisms"
    headers = texts(at.subheader)
    for section in ("1. Training", "2. Which irreducible", "3. Neurons", "4. One pair", "5. Equivariance", "6. Verification", "7. Corrupted labels"):
        assert section in headers
    brute, explained = metric(at, "Brute force"), metric(at, "Key irreps only")
    assert brute.endswith("%") and explained.endswith("%")
    assert float(brute.rstrip("%")) >= 90.0
    assert "What the bound proves" in texts(at.markdown)
    assert at.query_params["recipe"] == recipe


def test_the_view_lives_in_the_url_and_a_url_reproduces_it(app):
    at = open_page(app, "s4-mlp")
    at.number_input(key="v_neuron").set_value(7).run()
    at.selectbox(key="v_x").set_value(3).run()
    at.selectbox(key="v_y").set_value(5).run()
    assert not at.exception
    assert at.query_params["v_neuron"] == "7" and at.query_params["v_x"] == "3" and at.query_params["v_y"] == "5"
    assert "**Neuron 7**" in texts(at.markdown)
    again = open_page(app, recipe="s4-mlp", v_neuron="7", v_x="3", v_y="5")
    assert again.number_input(key="v_neuron").value == 7
    assert again.selectbox(key="v_x").value == 3 and again.selectbox(key="v_y").value == 5


def test_the_selected_pair_is_explained_with_the_true_product(app):
    at = open_page(app, "z113-mlp", v_x="100", v_y="20")
    assert not at.exception
    assert "100 + 20 = 7" in texts(at.markdown)


def test_bad_url_values_fall_back_quietly(app):
    at = open_page(app, "d12-mlp", v_neuron="99999", v_x="-4", v_y="abc", v_threshold="lots", v_pruned="maybe")
    assert not at.exception
    assert 0 <= at.number_input(key="v_neuron").value < 256
    assert at.selectbox(key="v_x").value == 1 and at.selectbox(key="v_y").value == 2
    assert at.slider(key="v_threshold").value == pytest.approx(0.5)


def test_pruning_the_memorising_neurons_of_the_corrupted_recipe(app):
    at = open_page(app, "z59-noisy-mlp")
    assert not at.exception
    assert "wrong answer" in texts(at.markdown)
    at.button(key="mech_prune").click().run()
    assert not at.exception
    assert at.query_params["v_pruned"] == "1"
    table = next(df.value for df in at.dataframe if "before" in df.value.columns).set_index("pairs scored")
    memorised = table.loc["corrupted training pairs (their wrong label)"]
    assert memorised["before"] > 0.5
    assert memorised["key irreps only"] < memorised["before"]  # removing the non-key weights forgets wrong labels
    verdict = texts(at.markdown)
    assert "Removing every weight outside the key irreps **forgets**" in verdict and "Pruning the" in verdict
    at.button(key="mech_restore").click().run()
    assert not at.exception and at.query_params["v_pruned"] == "0"
    assert not any("before" in df.value.columns for df in at.dataframe)


def test_a_missing_model_says_how_to_train_it(app, monkeypatch):
    from ui import mechanisms as cached

    monkeypatch.setattr(cached, "mechanism", lambda name: None)
    at = open_page(app, "s4-mlp")
    assert not at.exception
    assert "not trained yet" in texts(at.info)


def test_the_page_draws_the_sections_the_report_draws(app):
    """Pages composed once: at the default settings the page's headings, headline numbers and texts
    (the neuron and pair in view, the bound, the memorised labels) are those of the Mechanisms
    sections that the HTML report and Compare draw."""
    from interp_core.families.mechanisms.sections import sections
    from interp_core.report import Metrics, Text
    from interp_core.store import Catalog

    at = app(recipe="z59-noisy-mlp")  # from a link, so no other recipe's default neuron stays in view
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.query_params["recipe"] == "z59-noisy-mlp"
    headline, *blocks = sections(recipes.load("z59-noisy-mlp", Catalog(), device="cpu"), Catalog())
    assert [s.title for s in blocks] == [h.value for h in at.subheader]
    numbers = [item for section in (headline, *blocks) for item in section.items if isinstance(item, Metrics)]
    assert [(m.label, m.value) for item in numbers for m in item.values] == [(m.label, m.value) for m in at.metric]
    shown = texts(at.markdown) + texts(at.caption)
    written = [item.text for section in (headline, *blocks) for item in section.items if isinstance(item, Text)]
    assert len(written) >= 8 and [text for text in written if text not in shown] == []
    assert any(text.startswith("**Neuron ") for text in written) and any("wrong answer" in text for text in written)


def test_the_pruned_view_stays_with_its_recipe(app):
    """Pruning, the neuron and the pair belong to one network: another recipe picked in the sidebar
    opens unpruned on its own defaults."""
    at = open_page(app, "z59-noisy-mlp", v_neuron="3")
    at.button(key="mech_prune").click().run()
    assert at.query_params["v_pruned"] == "1"
    at.sidebar.selectbox(key="recipe").set_value("d12-mlp").run()
    assert not at.exception
    assert at.query_params["recipe"] == "d12-mlp" and at.query_params["v_pruned"] == "0"
    assert not any("before" in df.value.columns for df in at.dataframe)
    assert at.button(key="mech_prune").label == "Prune the memorising neurons"
    store = Store(SHIPPED_ROOT, readonly=True)
    heaviest = int(np.argmax(store.read_arrays(store.open("d12-mlp"), "mechanism.safetensors")["neuron_importance"]))
    assert heaviest != 3 and at.number_input(key="v_neuron").value == heaviest  # d12's default neuron, not the one chosen on z59


def test_a_bound_that_proves_no_pair_says_why(app):
    """z59-noisy-mlp's cheapest bound proves no pair: the card says so, not "≥ 0.0%", and why."""
    at = open_page(app, "z59-noisy-mlp")
    card = next(m for m in at.metric if m.label == "Proved bound")
    assert card.value == "no pair"
    assert "memorised wrong labels" in card.help and "32 unexplained directions" in card.help
    assert "Why the bound is 0% here" in texts(at.markdown)
    proved = open_page(app, "d12-mlp")
    assert metric(proved, "Proved bound").startswith("≥ ") and "Why the bound" not in texts(proved.markdown)


def test_the_loss_axis_reads_as_powers_of_ten():
    """The training chart's log loss axis shows 10^-4, not Plotly's SI "100μ"."""
    from interp_core.families.mechanisms.figures import training_curves

    history = {"step": [0, 1, 2], "train_accuracy": [0.1, 0.5, 1.0], "test_accuracy": [0.0, 0.2, 0.9], "weight_norm": [3.0, 2.0, 1.0],
               "train_loss": [1.0, 1e-3, 1e-6], "test_loss": [2.0, 0.5, 0.1]}
    loss_axis = training_curves(history).layout.yaxis3
    assert loss_axis.type == "log" and loss_axis.exponentformat == "power"


def test_no_cell_reads_none(app):
    """d12-mlp's dead neurons have no irrep share: their cluster row reads "—", not None."""
    at = open_page(app, "d12-mlp")
    clusters = next(df.value for df in at.dataframe if "mean share in own irrep" in df.value.columns).set_index("irrep")
    assert clusters.loc["dead (never active)", "mean share in own irrep"] == "—"
    assert all(v.endswith("%") for k, v in clusters["mean share in own irrep"].items() if k != "dead (never active)")


def test_flop_counts_read_as_millions_not_scientific_notation(app):
    """The checks table's costs read '53.5M', not '5.347e+7' (issue 20: raw values)."""
    import json

    at = open_page(app, "z113-mlp")
    checks = next(df for df in at.dataframe if "cost (FLOPs)" in df.value.columns)
    config = json.loads(checks.proto.columns)["cost (FLOPs)"]
    assert config["type_config"]["format"] == "compact"


# -- populations (sweep groups): sections 8 and 9 -------------------------------------------------

def tiny_populations(root) -> None:
    """A clean Z5 population (3 seeds) and a corrupted Z5 one (weight decay 0 and 1) in the user store."""
    from interp_core.families.mechanisms import population as pop

    store = Store(root)
    pop.save_population(pop.sweep("Z5", 3, pop.grid([16], [1.0], [0.6]), 20), store)
    pop.save_population(pop.sweep("Z5", 1, pop.grid([16], [0.0, 1.0], [0.6], [0.2]), 20), store)


def test_a_population_is_drawn_with_its_share_and_a_member_opens_from_the_url(app, user_store):
    tiny_populations(user_store)
    at = open_page(app, "s4-mlp", v_population="population-z5")
    assert not at.exception, at.exception
    headers = texts(at.subheader)
    assert "8. Many networks: how often does the explanation prove ≥ 95%?" in headers
    assert metric(at, "Networks") == "3"
    from interp_core.families.mechanisms import population as pop

    rows = pop.read_population(Store(user_store).open("population-z5"), Store(user_store))["rows"]
    share = np.mean([r["bound"] >= 0.95 for r in rows])
    assert metric(at, "Networks proved ≥ 95%") == f"{share:.0%}"
    # a click on a point asks for v_member; a link with it opens that network in sections 1-7
    member = open_page(app, "s4-mlp", v_member="population-z5#1")
    assert not member.exception, member.exception
    assert "model 1 of population-z5" in texts(member.info)
    assert metric(member, "Brute force") == f"{rows[1]['brute_force_accuracy']:.1%}"
    assert member.query_params["v_population"] == "population-z5"
    member.button(key="mech_back_to_recipe").click().run()
    assert not member.exception and member.query_params.get("v_member", "") == ""
    assert metric(member, "Brute force") == metric(open_page(app, "s4-mlp"), "Brute force")


def test_a_bad_member_in_a_link_opens_the_recipe(app, user_store):
    tiny_populations(user_store)
    at = open_page(app, "s4-mlp", v_member="population-z5#99")
    assert not at.exception and not at.error
    assert "population-z5" not in texts(at.info)


def test_a_corrupted_population_shows_the_four_claims_and_its_curve(app, user_store):
    tiny_populations(user_store)
    at = open_page(app, "z59-noisy-mlp", v_population="population-z5-noisy")
    assert not at.exception, at.exception
    assert "9. Corrupted labels across settings: the paper's claims" in texts(at.subheader)
    claims = next(frame.value for frame in at.dataframe if "verdict" in frame.value.columns)
    assert [c[:4] for c in claims["claim"]] == ["(i) ", "(ii)", "(iii", "(iv)"]
    assert set(claims["verdict"]) <= {"holds", "does not hold", "depends", "not tested"}
    at.selectbox(key="v_run").set_value(0).run()
    assert not at.exception and at.query_params["v_run"] == "0"


def test_population_points_carry_the_model_they_open():
    from interp_core.families.mechanisms import figures as figs

    rows = [{"index": i, "seed": i, "hidden": 16, "weight_decay": 1.0, "train_fraction": 0.5, "brute_force_accuracy": 1.0, "bound": b,
             "test_accuracy": 1.0, "bound_time_ratio": 1.5, "bound_flops_ratio": 0.5} for i, b in enumerate((0.99, 0.5, 0.97))]
    fig = figs.population_bounds(rows, selected=2)
    points = fig.data[0]
    assert [c[0] for c in points.customdata] == [0, 1, 2] and list(points.y) == [0.99, 0.5, 0.97]
    assert list(points.marker.size) == [10, 10, 16]
    assert "≥ 95% for 67% of 3" in fig.layout.title.text
    assert [c[0] for c in figs.population_costs(rows).data[0].customdata] == [0, 1, 2]
