"""The Time-series page in headless Chromium: clicking a point on the explanation map opens that
series with its attribution heatmap (the click AppTest cannot make)."""

import re

import pytest

pytestmark = pytest.mark.browser


def open_page(server, tab, query: str) -> None:
    # A fresh server serves a sub-page URL without app.py until "/" has run once; open Home first.
    tab.open(f"{server.url}/")
    tab.open(f"{server.url}/time-series?{query}")


def chart(tab, title: str):
    return tab.page.locator("[data-testid=stPlotlyChart]").filter(has_text=title)


def test_clicking_the_explanation_map_opens_that_series_with_its_heatmap(server, tab):
    open_page(server, tab, "recipe=freqshapes-cnn&example=0")
    assert tab.page.get_by_role("heading", name=re.compile(r"^Series 0: true class")).count() == 1
    points = chart(tab, "Explanation map").locator(".scatterlayer .trace .points path")
    assert points.count() >= 100
    points.nth(40).click(force=True)
    tab.page.wait_for_url(re.compile(r"[?&]example=(?!0\b)\d+"), timeout=30_000)
    tab.wait_ready()
    chosen = int(re.search(r"[?&]example=(\d+)", tab.page.url).group(1))
    assert chosen != 0
    assert tab.page.get_by_role("heading", name=re.compile(rf"^Series {chosen}: true class")).count() == 1
    # the series is drawn over its heatmap, one chart per method, with the ground truth on top
    for method in ("Integrated Gradients", "Occlusion"):
        series_chart = chart(tab, f"{method} toward")
        assert series_chart.count() == 1
        assert series_chart.locator(".heatmaplayer image, .imagelayer image, g.hm").count() >= 1
        assert series_chart.locator(".legendtext").filter(has_text="ground truth").count() == 1
    # the clicked point is ringed on the map
    assert chart(tab, "Explanation map").locator(".legendtext").filter(has_text="selected").count() == 1
    assert "recipe=freqshapes-cnn" in tab.page.url
    tab.screenshot("time-series-map-click")
    assert tab.problems() == [], tab.problems()
