"""The Concepts page in headless Chromium: flip a concept of the bottleneck model and watch the
prediction change; click an example on the map (what AppTest cannot drive)."""

import re

import numpy as np
import pytest

from interp_core import recipes
from interp_core.families.concepts.data import SHAPES_CONCEPTS
from interp_core.families.concepts.explain import concept_probabilities
from interp_core.store import SHIPPED_ROOT, Catalog, Store

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def striped_example(tmp_path_factory):
    """A test example the shipped CBM predicts as a striped class, confident that it is striped."""
    catalog = Catalog(Store(tmp_path_factory.mktemp("empty")), Store(SHIPPED_ROOT, readonly=True))
    model = recipes.load("shapes-cbm", catalog, device="cpu")
    probabilities = concept_probabilities(model.model, model.dataset.X_test)
    predicted = model.predict_proba(model.dataset.X_test).argmax(1)
    striped = SHAPES_CONCEPTS.index("striped")
    return int(np.flatnonzero((probabilities[:, striped] > 0.9) & (predicted != 0))[0])


def test_flipping_a_concept_changes_the_prediction(server, tab, striped_example):
    tab.open(f"{server.url}/concepts?recipe=shapes-cbm&v_view=Concept+bottleneck&example={striped_example}")
    assert tab.problems() == [], tab.problems()
    page = tab.page
    prediction = page.get_by_text(re.compile(r"Prediction from your concepts: "))
    before = prediction.inner_text()
    assert "solid" not in before
    slider = page.locator("[data-testid=stSlider]").filter(has_text="striped").get_by_role("slider")
    slider.focus()
    page.keyboard.press("Home")  # striped -> 0.00
    page.get_by_text(re.compile(r"Prediction from your concepts: solid")).wait_for(timeout=30_000)
    tab.wait_ready()
    assert "changed by your edits" in page.locator("[data-testid=stMain]").inner_text()
    # Streamlit 1.67's slider is an <input type=range> (react-aria): its value, not aria-valuenow.
    assert slider.input_value() == "0"
    page.wait_for_url(re.compile(r"v_whatif="), timeout=10_000)
    tab.screenshot("concepts-whatif")
    assert tab.problems() == []


def test_clicking_the_map_selects_an_example(server, tab):
    tab.open(f"{server.url}/concepts?recipe=shapes-cnn&example=0")
    test_map = tab.page.locator("[data-testid=stPlotlyChart]").filter(has_text="Test set map")
    assert test_map.count() == 1
    test_map.scroll_into_view_if_needed()
    points = test_map.locator(".scatterlayer .trace .points path")
    assert points.count() > 10
    points.nth(5).click(force=True)
    tab.page.wait_for_url(re.compile(r"example=(?!0\b)\d+"), timeout=30_000)
    tab.wait_ready()
    chosen = int(re.search(r"example=(\d+)", tab.page.url).group(1))
    assert tab.page.get_by_role("heading", name=f"Example {chosen}").count() == 1
    # issue 23: TCAV beside the causal effect, with the agreement figure, as a user sees it
    cace = tab.page.locator("[data-testid=stPlotlyChart]").filter(has_text="beside TCAV's verdicts")
    assert cace.count() == 1 and re.search(r"\(\d+% agree\)", cace.inner_text())
    agree = tab.page.locator("[data-testid=stMetric]").filter(has_text="TCAV verdicts that agree with CaCE")
    assert re.fullmatch(r"\d+%", agree.locator("[data-testid=stMetricValue]").inner_text().strip())
    tab.screenshot("concepts-tcav")
    assert tab.problems() == []


def _centres(locator) -> list[tuple[float, float]]:
    boxes = (locator.nth(i).bounding_box() for i in range(locator.count()))
    return [(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2) for b in boxes]


def test_a_lasso_on_the_map_defines_a_concept_and_scores_it(server, tab):
    """Define a concept by selecting points on the map (the route AppTest cannot drive): the dots
    inside the lasso become the concept, are circled, and get a TCAV score with a p-value."""
    tab.open(f"{server.url}/concepts?recipe=shapes-cnn&v_view=Define+a+concept&v_uc_by=on+the+map&example=0")
    assert tab.problems() == [], tab.problems()
    page = tab.page
    chosen_text = re.compile(r"^(\d+) test examples chosen")
    assert page.get_by_text(chosen_text).inner_text().startswith("0 test examples chosen")
    figure = page.locator("[data-testid=stPlotlyChart]").filter(has_text="Test set map")
    assert figure.count() == 1
    figure.scroll_into_view_if_needed()
    area = figure.locator(".nsewdrag").first.bounding_box()
    left, right = area["x"] + 0.55 * area["width"], area["x"] + 0.99 * area["width"]
    top, bottom = area["y"] + 0.02 * area["height"], area["y"] + 0.65 * area["height"]
    n_classes = 3
    dots = [c for k in range(n_classes) for c in _centres(figure.locator(".scatterlayer .trace").nth(k).locator(".points path"))]
    margin = 2.0  # a dot this close to the lasso's edge may fall either way

    def inside(x, y, pad=0.0):
        return left + pad < x < right - pad and top + pad < y < bottom - pad

    surely_in = sum(inside(x, y, margin) for x, y in dots)
    maybe_in = sum(inside(x, y, -margin) for x, y in dots)
    assert surely_in >= 10, "the lasso should cover enough dots to define a concept"
    assert maybe_in < len(dots), "and leave some out"

    page.mouse.move(left, top)
    page.mouse.down()
    for x, y in [(right, top), (right, bottom), (left, bottom), (left, top + 1)]:
        page.mouse.move(x, y, steps=8)
    page.mouse.up()
    page.get_by_text(re.compile(r"^[1-9]\d* test examples chosen")).wait_for(timeout=30_000)
    tab.wait_ready()
    n_chosen = int(chosen_text.search(page.get_by_text(chosen_text).inner_text()).group(1))
    assert surely_in <= n_chosen <= maybe_in
    # the chosen dots are circled on the redrawn map, all of them inside the lasso
    figure = page.locator("[data-testid=stPlotlyChart]").filter(has_text="chosen for the concept")
    assert figure.count() == 1
    circled = _centres(figure.locator(".scatterlayer .trace").nth(n_classes).locator(".points path"))
    assert len(circled) == n_chosen
    assert all(inside(x, y, -margin) for x, y in circled)
    assert page.locator("[data-testid=stPlotlyChart]").filter(has_text=re.compile(rf"first \d+ of {n_chosen}\)")).count() == 1  # the gallery

    name = page.get_by_label("Name of the concept")
    name.fill("upper right group")
    name.press("Enter")
    tab.wait_ready()
    page.get_by_role("button", name="Score this concept").click()
    success = page.locator("[data-testid=stAlertContentSuccess]").filter(has_text="upper right group")
    success.wait_for(timeout=120_000)
    tab.wait_ready()
    message = success.inner_text()
    assert re.search(r"TCAV score \d\.\d\d ± \d\.\d\d, p = \S+ \((significant|not significant)\)", message), message
    counted = re.search(r"(\d+) of (\d+) class-layer tests are significant", message)
    assert counted and int(counted.group(2)) == 3 * 4  # 3 classes x 4 layers of shapes-cnn
    assert page.locator("[data-testid=stPlotlyChart]").filter(has_text="'upper right group' for class").count() == 1
    tab.screenshot("concepts-define-lasso")
    assert tab.problems() == [], tab.problems()

    page.get_by_role("button", name="Clear the chosen examples").click()
    page.get_by_text(re.compile(r"^0 test examples chosen")).wait_for(timeout=30_000)
    tab.wait_ready()
    assert page.locator("[data-testid=stPlotlyChart]").filter(has_text="chosen for the concept").count() == 0
    assert tab.problems() == [], tab.problems()


def test_selecting_a_misclassified_row_opens_that_example(server, tab):
    """A row of the bottleneck's misclassified table opens that example in one run (the row's
    callback queues it before the run starts)."""
    tab.open(f"{server.url}/concepts?recipe=shapes-cbm&v_view=Concept+bottleneck")
    assert tab.problems() == []
    table = tab.page.locator("[data-testid=stDataFrame]").filter(has=tab.page.locator("canvas")).nth(0)
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    assert "test examples are misclassified" in tab.page.locator("[data-testid=stMain]").inner_text()
    tab.page.mouse.click(box["x"] + 18, box["y"] + 35 + 35 * 2 + 17)  # the third row's selection box
    tab.page.wait_for_url(re.compile(r"example=\d+"), timeout=30_000)
    tab.wait_ready()
    chosen = int(re.search(r"[?&]example=(\d+)", tab.page.url).group(1))
    assert tab.page.get_by_role("heading", name=f"Example {chosen}").count() == 1
    from interp_core.families.concepts import sections as family_sections

    catalog = Catalog(Store(SHIPPED_ROOT / ".none"), Store(SHIPPED_ROOT, readonly=True))
    trained = recipes.load("shapes-cbm", catalog, device="cpu")
    mode = trained.extras["mode"]
    wrong = next(item for item in family_sections.cbm_section(trained, mode, family_sections.mode_class_probabilities(trained, mode)).items
                 if getattr(item, "title", "") == family_sections.WRONG_TABLE)
    assert chosen == int(wrong.frame["example"].iloc[2])
    assert tab.problems() == []
