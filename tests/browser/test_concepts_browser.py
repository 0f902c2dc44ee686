"""The Concepts page in headless Chromium: flip a concept of the bottleneck model and watch the
prediction change; click an example on the map (what AppTest cannot drive)."""

import re

import numpy as np
import pytest

from interp_core import recipes
from interp_core.data.concepts import SHAPES_CONCEPTS
from interp_core.explain.concepts import concept_probabilities
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
    assert slider.get_attribute("aria-valuenow") == "0"
    page.wait_for_url(re.compile(r"v_whatif="), timeout=10_000)
    tab.screenshot("concepts-whatif")
    assert tab.problems() == []


def test_clicking_the_map_selects_an_example(server, tab):
    tab.open(f"{server.url}/concepts?recipe=shapes-cnn&example=0")
    charts = tab.page.locator("[data-testid=stPlotlyChart]")
    points = charts.last.locator(".scatterlayer .trace .points path")
    assert points.count() > 10
    points.nth(5).click(force=True)
    tab.page.wait_for_url(re.compile(r"example=(?!0\b)\d+"), timeout=30_000)
    tab.wait_ready()
    chosen = int(re.search(r"example=(\d+)", tab.page.url).group(1))
    assert tab.page.get_by_role("heading", name=f"Example {chosen}").count() == 1
    tab.screenshot("concepts-tcav")
    assert tab.problems() == []
