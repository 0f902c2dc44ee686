"""The SAE page in headless Chromium: a click on the feature map opens that feature's page with its
top examples (AppTest cannot drive Plotly clicks), and text features read as highlighted context."""

import re

import pytest

pytestmark = pytest.mark.browser


def open_sae(server, tab, query: str) -> None:
    tab.open(f"{server.url}/sae?{query}")


def test_clicking_a_feature_on_the_map_opens_its_page_with_top_examples(server, tab):
    open_sae(server, tab, "recipe=digits-sae&v_view=Features")
    assert tab.problems() == []
    feature_map = tab.page.locator("[data-testid=stPlotlyChart]").first
    points = feature_map.locator(".scatterlayer .trace").nth(1).locator(".points path")  # trace 0: dead features
    assert points.count() > 50
    points.nth(17).click(force=True)
    tab.page.wait_for_url(re.compile(r"v_view=Feature(&|$)"), timeout=60_000)
    tab.wait_ready()
    chosen = int(re.search(r"v_feature=(\d+)", tab.page.url).group(1))
    assert tab.page.get_by_role("heading", name=re.compile(rf"^Feature {chosen}:")).count() == 1
    assert tab.page.get_by_text("Top-activating examples", exact=True).count() == 1
    gallery = tab.page.locator("[data-testid=stPlotlyChart]").filter(has_text=f"examples of feature {chosen}")
    assert gallery.count() == 1
    tab.screenshot("sae-feature-page")
    assert tab.problems() == []


def test_a_text_feature_shows_its_tokens_in_context(server, tab):
    open_sae(server, tab, "recipe=minilm-sae&v_view=Feature")
    assert tab.problems() == []
    assert tab.page.get_by_text("Top-activating examples", exact=True).count() == 1
    shaded = tab.page.locator("span[title]").filter(has_text=re.compile(r"\w"))
    assert shaded.count() > 100  # 20 contexts of ~19 tokens, each a span with its activation
    tab.screenshot("sae-text-feature")
    assert tab.problems() == []
