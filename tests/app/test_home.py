"""The shell and Home page, driven in-process with streamlit.testing (no browser)."""

import json
import shutil

import pytest

from interp_core import recipes
from interp_core.errors import InterpError
from interp_core.report import Figure, Metrics
from interp_core.sections import classifier_section
from interp_core.store import SHIPPED_ROOT, Catalog, Store
from tests.artifacts import setting, tampered
from ui.catalog import FAMILY_PAGES


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def test_home_renders_with_shipped_models(app):
    at = app().run()
    assert not at.exception
    assert at.title[0].value == "Interp Explorer"
    sidebar = texts(at.sidebar.markdown)
    assert "Device:" in sidebar and "CPU" in sidebar
    hub = at.dataframe[0].value
    assert set(hub["recipe"]) == {r.name for r in recipes.list_recipes()}
    assert set(hub["status"]) == {"shipped"}
    classifiers = [r.name for r in recipes.list_recipes() if r.trainer == "classifier"]
    assert hub.set_index("recipe").loc[classifiers, "test_accuracy"].astype(float).min() > 0.9
    # shown as read: three decimals, the time to the minute, a dash (never "None") where there is no value
    assert hub["test_accuracy"].str.fullmatch(r"\d\.\d{3}|–").all() and hub["trained"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d").all()
    assert not hub.isna().any().any() and "None" not in hub.to_string()
    assert all(table.proto.placeholder == "–" for table in at.dataframe)  # any missing value in a table: a dash, not Streamlit's "None"
    # one card per family, each either linking to its page or saying it is not built yet
    captions = texts(at.caption)
    unbuilt = [p for p in FAMILY_PAGES if not p.path]
    assert captions.count("Not built yet") == len(unbuilt)
    assert len(at.get("page_link")) == len(FAMILY_PAGES) - len(unbuilt)
    assert at.query_params["recipe"] == "digits-mlp"


def test_url_state_opens_the_same_view(app):
    at = app(recipe="gunpoint-cnn", example="7").run()
    assert not at.exception
    assert at.sidebar.selectbox(key="recipe").value == "gunpoint-cnn"
    assert at.sidebar.number_input(key="example").value == 7
    headers = texts(at.subheader)
    assert "Recipe in use: gunpoint-cnn" in headers and "Example 7" in headers


def test_bad_url_values_fall_back_quietly(app):
    at = app(recipe="no-such-recipe", example="not-a-number").run()
    assert not at.exception
    assert at.sidebar.selectbox(key="recipe").value == "digits-mlp"
    assert at.sidebar.number_input(key="example").value == 0


def test_changing_recipe_and_example_updates_the_url(app):
    at = app().run()
    at.sidebar.selectbox(key="recipe").set_value("wine-mlp").run()
    at.sidebar.number_input(key="example").set_value(4).run()
    assert not at.exception
    assert at.query_params["recipe"] == "wine-mlp"
    assert at.query_params["example"] == "4"
    assert "Example 4" in texts(at.subheader)


def test_an_out_of_range_example_is_clamped(app):
    at = app(recipe="wine-mlp", example="100000").run()
    assert not at.exception
    assert at.sidebar.number_input(key="example").value == 0


def test_training_from_the_hub_saves_a_model(app, user_store):
    at = app().run()
    at.selectbox(key="hub_train_recipe").set_value("wine-mlp")
    at.button(key="hub_train").click().run()
    assert not at.exception
    assert not at.error, texts(at.error)
    manifest = Store(user_store).open("wine-mlp").manifest
    assert manifest["metrics"]["test_accuracy"] > 0.8
    # the hub says so at once, without a reload, and the sentence of the finished run stays
    hub = at.dataframe[0].value.set_index("recipe")
    assert hub.loc["wine-mlp", "status"] == "trained"
    assert hub.loc["wine-mlp", "test_accuracy"] == f"{manifest['metrics']['test_accuracy']:.3f}"
    assert "Trained wine-mlp: test accuracy" in texts(at.success)


def test_a_training_failure_is_one_sentence_and_the_app_keeps_working(app, monkeypatch):
    def broken(*args, **kwargs):
        raise InterpError("The disk is full; free some space and try again.")

    monkeypatch.setattr(recipes, "train", broken)
    at = app().run()
    at.button(key="hub_train").click().run()
    assert not at.exception
    assert "The disk is full" in texts(at.error)
    assert at.title[0].value == "Interp Explorer"


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_a_corrupted_artifact_gives_a_clear_message(app, user_store, damage):
    shutil.copytree(SHIPPED_ROOT / "wine-mlp", user_store / "wine-mlp")
    weights = user_store / "wine-mlp" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    if damage == "flip":
        data[-10] ^= 0xFF
    else:
        data = data[: len(data) // 2]
    weights.write_bytes(bytes(data))
    at = app(recipe="wine-mlp").run()
    assert not at.exception
    errors = texts(at.error)
    assert "wine-mlp" in errors and ("sha256" in errors or "truncated" in errors)
    hub = at.dataframe[0].value.set_index("recipe")
    assert hub.loc["wine-mlp", "status"] == "corrupted"
    assert hub.loc["digits-mlp", "status"] == "shipped"


def test_each_page_remembers_its_recipe_when_switching_pages(app):
    from ui.catalog import built_pages

    page = next((p for p in built_pages() if p.family == "rules"), None)
    if page is None:
        pytest.skip("the Rules page is not built")
    # The example passport (ui/passport.py) prefers a recipe with its data; gunpoint has no rules
    # recipe, so here each page's own last recipe decides (tests/app/test_passport.py covers the rest).
    at = app().run()
    at.sidebar.selectbox(key="recipe").set_value("gunpoint-cnn").run()
    at.sidebar.number_input(key="example").set_value(3).run()
    at.switch_page(page.path).run()
    rules_choice = at.sidebar.selectbox(key="recipe").options[-1]
    at.sidebar.selectbox(key="recipe").set_value(rules_choice).run()
    at.switch_page("views/home.py").run()
    assert at.sidebar.selectbox(key="recipe").value == "gunpoint-cnn"  # Home kept its own (the passport's data)
    at.switch_page(page.path).run()
    assert at.sidebar.selectbox(key="recipe").value == rules_choice  # Rules kept its own
    assert not at.exception


@pytest.mark.parametrize("field, value, phrase", [
    ("metrics", "oops", "its manifest's metrics holds the text 'oops', expected an object of metric names"),
    ("model_config.hidden", [-1], "its manifest's model_config has field 'hidden' = the list [-1], expected a list of at most 64 positive integers"),
])
def test_a_wrong_manifest_field_marks_the_artifact_corrupted_in_the_hub(app, user_store, field, value, phrase):
    tampered(user_store, "wine-mlp", setting(field, value))
    at = app(recipe="wine-mlp").run()
    assert not at.exception
    hub = at.dataframe[0].value.set_index("recipe")
    assert hub.loc["wine-mlp", "status"] == "corrupted" and hub.loc["digits-mlp", "status"] == "shipped"
    errors = [str(e.value) for e in at.error]
    sentence = next(e for e in errors if e.startswith("wine-mlp: "))[len("wine-mlp: "):]  # the hub's row
    assert sentence.startswith(f"Artifact 'wine-mlp' is corrupted: {phrase}") and sentence.endswith(f"; retrain it or delete {user_store / 'wine-mlp'}.")
    assert sentence in errors  # the recipe in use, below the hub, says the same instead of loading it
    assert at.button(key="hub_retrain_wine-mlp").label == "Retrain wine-mlp"


def test_a_corrupted_artifact_can_be_retrained_from_the_hub(app, user_store):
    shutil.copytree(SHIPPED_ROOT / "wine-mlp", user_store / "wine-mlp")
    (user_store / "wine-mlp" / "model.safetensors").write_bytes(b"not weights")
    at = app(recipe="wine-mlp").run()
    assert at.dataframe[0].value.set_index("recipe").loc["wine-mlp", "status"] == "corrupted"
    at.button(key="hub_retrain_wine-mlp").click().run()  # the corrupted row's own button
    assert not at.exception
    assert at.dataframe[0].value.set_index("recipe").loc["wine-mlp", "status"] == "trained"
    assert Store(user_store).open("wine-mlp").manifest["metrics"]["test_accuracy"] > 0.8


def test_home_draws_the_model_section_of_the_report(app):
    """Home's numbers, caption, training curve and embedding map are the report's model section."""
    section = classifier_section(recipes.load("gunpoint-cnn", device="cpu"), Catalog())
    at = app(recipe="gunpoint-cnn").run()
    assert not at.exception
    numbers = next(item for item in section.items if isinstance(item, Metrics))
    assert [(m.label, m.value) for m in numbers.values] == [(m.label, m.value) for m in at.metric][: len(numbers.values)]
    assert [m.label for m in numbers.values] == ["Test accuracy", "Train accuracy", "Parameters", "Epochs (kept)", "Status"]
    assert section.intro in texts(at.caption)
    shown = [json.loads(chart.proto.spec)["layout"]["title"]["text"] for chart in at.get("plotly_chart")]
    figures = [item.figure.layout.title.text for item in section.items if isinstance(item, Figure)]
    assert len(figures) == 2 and shown[: len(figures)] == figures



def test_the_home_tour_counts_the_cards_it_points_at():
    """The tour once said "Five ways" above six cards: a number of ways, if any, is the number of cards."""
    import re

    from ui.tours import TOURS

    words = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    for step in TOURS["home"]:
        for said in re.findall(r"(\w+) ways", f"{step.title} {step.text}".lower()):
            assert said in words and words.index(said) + 1 == len(FAMILY_PAGES), step


def _values(array):
    """A figure JSON's array: Plotly writes NumPy arrays as {"dtype", "bdata"} (base64)."""
    import base64

    import numpy as np

    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"])
    return np.asarray(array)


def _chart(at, title_start: str) -> dict:
    return next(spec for spec in (json.loads(c.proto.spec) for c in at.get("plotly_chart")) if spec["layout"]["title"]["text"].startswith(title_start))


def test_a_table_example_is_drawn_in_standard_deviations_so_no_feature_flattens_the_rest(app):
    """wine's proline is in the hundreds: in raw units its bar hid the twelve others."""
    import numpy as np

    from interp_core.data import load_dataset

    at = app(recipe="wine-mlp", example="3").run()
    assert not at.exception
    bars = _chart(at, "Example 3")["data"][0]
    wine = load_dataset("wine")
    z = (wine.X_test[3] - wine.X_train.mean(0)) / wine.X_train.std(0)
    assert np.allclose(_values(bars["x"]), z, atol=1e-3)  # every feature on one scale
    assert bars["customdata"][list(wine.feature_names).index("proline")] == f"{wine.X_test[3][list(wine.feature_names).index('proline')]:.4g}"  # the raw value, on hover and at the bar
    assert "standard deviations" in texts(at.caption)  # its how-to-read line says the unit


def test_the_predicted_class_is_green_when_right_and_red_when_wrong(app):
    """A class palette drew a correct digit 3 in red: colour now says right or wrong."""
    import numpy as np

    from interp_core.figures.models import OTHER, RIGHT, WRONG

    model = recipes.load("digits-mlp", device="cpu")
    predictions = model.predict_proba(model.dataset.X_test).argmax(1)
    right = int(np.flatnonzero((model.dataset.y_test == 3) & (predictions == 3))[0])
    wrong = int(np.flatnonzero(predictions != model.dataset.y_test)[0])
    for example, colour in ((right, RIGHT), (wrong, WRONG)):
        at = app(recipe="digits-mlp", example=str(example)).run()
        colours = _chart(at, "Predicted class probabilities")["data"][0]["marker"]["color"]
        assert colours[int(predictions[example])] == colour
        assert colours.count(OTHER) == len(colours) - 1


def test_the_digits_umap_keeps_each_class_wide_enough_to_click(app):
    """UMAP's default packing squeezed each digit into one dot; the shipped map keeps examples apart
    (median distance to the nearest other example over 0.6% of the map's width; it was 0.2%)."""
    import numpy as np

    at = app(recipe="digits-mlp").run()
    spec = _chart(at, "Embedding map (UMAP")
    points = np.concatenate([np.column_stack([_values(t["x"]), _values(t["y"])]) for t in spec["data"] if t.get("customdata") is not None and len(t["x"]) > 1])
    points = (points - points.min(0)) / (points.max(0) - points.min(0)).max()
    distances = np.sqrt(((points[:, None] - points[None]) ** 2).sum(-1)) + np.eye(len(points))
    assert np.median(distances.min(1)) > 0.006


def test_presenting_the_family_cards_come_in_rows_of_three(app):
    """At the presentation font six cards in one row broke words mid-way; presenting, they take rows of three."""
    def card_rows(at):
        """The number of columns in each row of cards: the rows right under the cards' heading."""
        blocks = list(at.main.children.values())
        start = next(i for i, b in enumerate(blocks) if b.type == "subheader" and "Ways to look" in b.value) + 1
        rows = []
        for block in blocks[start:]:
            children = list(getattr(block, "children", {}).values())
            if not children or any(c.type != "column" for c in children):
                break
            rows.append(len(children))
        return rows

    normal = app().run()
    presenting = app(v_present="True").run()
    assert not normal.exception and not presenting.exception
    assert card_rows(normal)[0] == len(FAMILY_PAGES)
    assert card_rows(presenting) == [3, 3]
    assert len(presenting.get("page_link")) == len(normal.get("page_link")) == len(FAMILY_PAGES)
