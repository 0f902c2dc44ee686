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
    numbers = next(item for item in headline.items if isinstance(item, Metrics))
    assert [(m.label, m.value) for m in numbers.values] == [(m.label, m.value) for m in at.metric]
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
