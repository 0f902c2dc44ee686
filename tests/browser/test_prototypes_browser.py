"""The Prototypes page in headless Chromium: clicks on the latent map (AppTest cannot drive Plotly)."""

import re

import numpy as np
import pytest

pytestmark = pytest.mark.browser
# Opening /prototypes directly makes Streamlit's frontend probe /prototypes/_stcore/* for a base path
# first (404) before it settles on /; those two requests are not problems of the page.
BASE_PATH_PROBE = re.compile(r"/prototypes/_stcore/(health|host-config)|status of 404 \(Not Found\)")


def real_problems(tab) -> list[str]:
    return [p for p in tab.problems() if not BASE_PATH_PROBE.search(p)]


def latent_map_traces(tab):
    chart = tab.page.locator("[data-testid=stPlotlyChart]").filter(has_text="Latent map")
    chart.first.wait_for(timeout=30_000)  # Plotly draws the title after the page settles, later on a busy machine
    assert chart.count() == 1
    chart.scroll_into_view_if_needed()
    return chart.locator(".scatterlayer .trace")


def marker_centres(trace) -> list[tuple[float, float]]:
    points = trace.locator(".points path")
    return [(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2) for box in (points.nth(i).bounding_box() for i in range(points.count()))]


def most_isolated(candidates, others) -> int:
    """Index of the candidate marker farthest from every other marker (a click goes to the nearest one)."""
    def clearance(i):
        x, y = candidates[i]
        return min((x - u) ** 2 + (y - v) ** 2 for k, (u, v) in enumerate(others) if (u, v) != (x, y))
    return max(range(len(candidates)), key=clearance)


def test_clicking_a_point_on_the_latent_map_shows_that_examples_explanation(server, tab):
    from interp_core.data import load_dataset

    tab.open(f"{server.url}/prototypes?recipe=digits-protonet&example=0&v_pmap=pca")
    assert real_problems(tab) == []
    assert tab.page.get_by_role("heading", name="Local: this looks like that (test example 0)").count() == 1
    # traces: training examples (not clickable), one per class of test examples, prototypes, prototype centres
    traces = latent_map_traces(tab)
    classes = [marker_centres(traces.nth(k)) for k in range(1, 11)]
    prototypes = marker_centres(traces.nth(12))
    everything = [c for points in classes for c in points] + prototypes
    position = most_isolated(classes[2], everything)
    expected = int(np.flatnonzero(load_dataset("digits").y_test == 2)[position])  # points follow the test order
    tab.page.mouse.click(*classes[2][position])
    tab.page.wait_for_url(re.compile(rf"example={expected}\b"), timeout=30_000)
    tab.wait_ready()
    assert tab.page.get_by_role("heading", name=f"Local: this looks like that (test example {expected})").count() == 1
    assert tab.page.get_by_text(re.compile(r"^True class 2, predicted \d")).count() >= 1
    assert tab.page.locator("[data-testid=stPlotlyChart]").filter(has_text="This looks like that").count() == 1
    assert tab.page.locator("[data-testid=stSidebar]").get_by_role("spinbutton").input_value() == str(expected)
    assert real_problems(tab) == []


def test_clicking_a_prototype_opens_its_nearest_training_examples(server, tab):
    tab.open(f"{server.url}/prototypes?recipe=gunpoint-protonet")
    traces = latent_map_traces(tab)  # training, class 1, class 2, prototypes (stars), prototype centres
    centres = marker_centres(traces.nth(4))
    assert len(centres) == 6
    tests = marker_centres(traces.nth(1)) + marker_centres(traces.nth(2))
    chosen = 1 + most_isolated(centres[1:], tests + centres)  # P0 is selected already
    tab.page.mouse.click(*centres[chosen])
    tab.page.wait_for_url(re.compile(rf"v_proto={chosen}\b"), timeout=30_000)
    tab.wait_ready()
    assert tab.page.get_by_role("heading", name=f"Nearest training examples of prototype P{chosen}").count() == 1
    assert real_problems(tab) == []
