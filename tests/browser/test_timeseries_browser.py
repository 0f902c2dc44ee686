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


CUT = """() => [...document.querySelectorAll('[data-testid=stMetricLabel], [data-testid=stMetricValue]')].filter(el => {
    const column = el.closest('[data-testid=stColumn]') || el.parentElement, box = el.getBoundingClientRect();
    const text = el.querySelector('[data-testid=stMarkdownContainer]') || el;
    return text.scrollWidth > text.clientWidth + 1 || box.right > column.getBoundingClientRect().right + 1;
}).map(el => el.innerText)"""


@pytest.mark.parametrize("present", [False, True], ids=["normal", "presenting"])
def test_at_1024_by_768_charts_keep_their_width_and_no_card_is_cut(server, browser, present):
    """A projector's laptop (1024 x 768, sidebar open): each method's chart spans the page (three
    side by side were 60 px wide), no metric card's label or value is cut or spills over its
    neighbour, and presenting enlarges chart ticks and tables too, not only the prose."""
    from tools.apprunner import AppPage

    tab = AppPage(browser, width=1024, height=768)
    try:
        open_page(server, tab, "recipe=seqcomb-mv-cnn&v_methods=integrated_gradients,occlusion,saliency" + ("&v_present=True" if present else ""))
        plots = [chart(tab, f"{m} toward").locator(".nsewdrag").first for m in ("Integrated Gradients", "Occlusion", "Saliency")]
        assert all(p.bounding_box()["width"] > 400 for p in plots)
        assert tab.page.evaluate(CUT) == []
        if present:
            tick = chart(tab, "Integrated Gradients toward").locator(".xaxislayer-above text").first
            assert tick.evaluate("el => parseFloat(getComputedStyle(el).fontSize)") >= 16
            grid = tab.page.locator("[data-testid=stElementContainer]").filter(has=tab.page.locator("[data-testid=stDataFrame]")).first
            assert grid.evaluate("el => parseFloat(getComputedStyle(el).zoom)") > 1.2
        tab.screenshot(f"time-series-1024{'-present' if present else ''}")
        assert tab.problems() == [], tab.problems()
    finally:
        tab.close()
