"""The example passport (ui/passport.py) and the link box (ui/share.py), in-process: one example
follows the user across page switches where the data allows, a page with other data says so and
keeps the passport, and the view state each page reads comes back from its URL."""

from __future__ import annotations

import re

from interp_core import recipes
from interp_core.store import SHIPPED_ROOT, Catalog, Store


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def card(at) -> str:
    return texts(at.sidebar.markdown) + "\n" + texts(at.sidebar.caption)


def go(at, page: str):
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def recipe(at) -> str:
    return at.sidebar.selectbox(key="recipe").value


def example(at) -> int:
    return int(at.sidebar.number_input(key="example").value)


def notices(at) -> str:
    return texts(at.info)


def test_the_example_follows_across_pages_with_the_same_data(app):
    at = app(recipe="digits-mlp").run()
    at.sidebar.number_input(key="example").set_value(12).run()
    assert "digits #12" in card(at)
    truth = recipes.load("digits-mlp", Catalog(Store(SHIPPED_ROOT / ".none"), Store(SHIPPED_ROOT, readonly=True)), device="cpu").dataset
    assert f"True class **{truth.class_names[int(truth.y_test[12])]}**" in card(at)

    go(at, "views/rules.py")  # 1: a rules recipe on digits, its path for example 12
    assert (recipe(at), example(at)) == ("digits-rules", 12)
    assert "Example 12" in texts(at.subheader)
    assert "your example came from" not in notices(at)

    go(at, "views/prototypes.py")  # 2: this looks like that, for example 12
    assert (recipe(at), example(at)) == ("digits-protonet", 12)
    assert "Local: this looks like that (test example 12)" in texts(at.header)

    go(at, "views/sae.py")  # 3: the SAE on digits opens on the features of example 12 (test examples follow the training ones)
    assert recipe(at) == "digits-sae"
    n_train = len(truth.y_train)
    assert at.session_state["v_view"] == "Example"
    assert at.query_params["v_example"] == str(n_train + 12)
    assert texts(at.subheader).lower().startswith(f"example {n_train + 12} (test")
    assert "digits #12" in card(at)

    go(at, "views/home.py")  # 4: back home, same example
    assert (recipe(at), example(at)) == ("digits-mlp", 12)
    assert "Example 12" in texts(at.subheader)
    assert at.query_params["example"] == "12" and "passport" not in at.query_params


def test_a_page_with_other_data_says_so_and_keeps_the_passport(app):
    at = app(recipe="wine-mlp", example="7").run()
    assert "wine #7" in card(at)

    go(at, "views/prototypes.py")  # no prototype network on wine
    assert recipe(at) != "wine-mlp" and example(at) == 7  # the same number, of this page's data
    line = notices(at)
    assert re.search(r"uses \*\*\w+\*\*; your example came from \*\*wine\*\* \(#7\) — showing example 7 of \w+ instead", line), line
    assert "wine #7" in card(at)
    assert at.query_params["passport"] == "wine:7"  # a link from here keeps the passport

    go(at, "views/mechanisms.py")  # no examples at all on this page
    assert "your example came from **wine** (#7)" in notices(at)

    go(at, "views/rules.py")  # wine again: the passport's example comes back
    assert (recipe(at), example(at)) == ("wine-rules", 7)
    assert "your example came from" not in notices(at)
    assert "Example 7" in texts(at.subheader)
    assert "passport" not in at.query_params


def test_picking_an_example_on_other_data_moves_the_passport(app):
    at = app(recipe="wine-mlp", example="7").run()
    go(at, "views/prototypes.py")
    assert recipe(at) == "digits-protonet"
    at.sidebar.number_input(key="example").set_value(5).run()
    assert "digits #5" in card(at) and "your example came from" not in notices(at)
    go(at, "views/rules.py")
    assert (recipe(at), example(at)) == ("digits-rules", 5)


def test_concept_recipes_share_the_breast_cancer_examples(app):
    """breast_cancer_concepts is the breast_cancer table split the same way: the same examples."""
    at = app(recipe="breast-cancer-mlp", example="20").run()
    go(at, "views/concepts.py")
    assert recipe(at).startswith("breast-cancer-") and example(at) == 20
    assert "your example came from" not in notices(at)
    assert "Example 20" in texts(at.subheader)


def test_a_shared_link_carries_the_passport_of_a_page_with_other_data(app):
    at = app()
    at.switch_page("views/prototypes.py")
    for key, value in {"recipe": "digits-protonet", "example": "3", "passport": "wine:7"}.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    assert example(at) == 3 and "wine #7" in card(at)
    assert "your example came from **wine** (#7)" in notices(at)
    go(at, "views/rules.py")
    assert (recipe(at), example(at)) == ("wine-rules", 7)


def test_a_bad_passport_in_a_link_is_ignored(app):
    at = app(recipe="wine-mlp", example="2", passport="no-such-data:99999").run()
    assert not at.exception
    assert "wine #2" in card(at) and not notices(at)


def test_a_picked_prototype_is_pinned_and_reopened_from_another_page(app):
    at = app()
    at.switch_page("views/prototypes.py")
    at.query_params["recipe"] = "digits-protonet"
    at.run()
    at.selectbox(key="v_proto").set_value(4).run()
    assert "Nearest training examples of prototype P4" in texts(at.subheader)
    go(at, "views/home.py")
    assert "Pinned: Prototype" in card(at)
    at.sidebar.button(key="passport_open_item").click().run()
    assert not at.exception
    assert recipe(at) == "digits-protonet"
    assert "Nearest training examples of prototype P4" in texts(at.subheader)


def test_the_link_box_holds_the_view_state(app):
    at = app(recipe="wine-mlp", example="4").run()
    link = at.sidebar.code[0].value
    assert link.startswith("/?") and "recipe=wine-mlp" in link and "example=4" in link


def test_concept_choices_come_back_from_the_url(app):
    at = app()
    at.switch_page("views/concepts.py")
    for key, value in {"recipe": "shapes-cnn", "v_view": "Define a concept", "v_uc_by": "by class", "v_uc_runs": "20"}.items():
        at.query_params[key] = value
    at.run()
    classes = at.multiselect(key="_v_uc_classes_widget")
    assert len(classes.value) == 1
    wanted = classes.options[-1]
    classes.set_value([wanted]).run()
    assert at.query_params["v_uc_classes"] == wanted
    assert at.select_slider(key="v_uc_runs").value == 20

    fresh = app()
    fresh.switch_page("views/concepts.py")
    for key, value in {**dict(at.query_params), "v_uc_runs": "7"}.items():  # 7 is not an option: back to 10
        fresh.query_params[key] = value
    fresh.run()
    assert not fresh.exception
    assert fresh.multiselect(key="_v_uc_classes_widget").value == [wanted]
    assert fresh.select_slider(key="v_uc_runs").value == 10


def test_a_series_follows_from_time_series_to_prototypes_and_back(app):
    at = app(recipe="gunpoint-cnn", example="9").run()
    go(at, "views/timeseries.py")
    assert (recipe(at), example(at)) == ("gunpoint-cnn", 9)
    assert texts(at.subheader).startswith("Series 9: true class")
    go(at, "views/prototypes.py")
    assert (recipe(at), example(at)) == ("gunpoint-protonet", 9)
    assert "Local: this looks like that (test example 9)" in texts(at.header)
    go(at, "views/timeseries.py")
    assert (recipe(at), example(at)) == ("gunpoint-cnn", 9)
