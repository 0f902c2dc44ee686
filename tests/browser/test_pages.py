"""The interactions AppTest cannot drive, in headless Chromium (Plotly clicks, deep links in a fresh
browser, training with progress). That every page renders cleanly is checked on the first visit of
test_teaching_browser, which opens every page anyway."""

import re

import pytest

from ui.catalog import built_pages

pytestmark = pytest.mark.browser


def test_a_deep_link_reproduces_the_view_in_a_fresh_browser(server, browser):
    from tools.apprunner import AppPage

    tab = AppPage(browser)  # its own context: no cookies, storage or cache from the other tests' tabs
    try:
        tab.open(f"{server.url}/?recipe=gunpoint-cnn&example=5")
        assert tab.problems() == []
        sidebar = tab.page.locator("[data-testid=stSidebar]")
        assert sidebar.get_by_role("combobox", name="Recipe in use").input_value() == "gunpoint-cnn"
        assert sidebar.get_by_role("spinbutton").input_value() == "5"
        assert tab.page.get_by_role("heading", name="Example 5").count() == 1
        assert "recipe=gunpoint-cnn" in tab.page.url and "example=5" in tab.page.url
    finally:
        tab.close()


def test_clicking_a_point_on_the_map_selects_that_example(server, tab):
    tab.open(f"{server.url}/?recipe=wine-mlp&example=0")
    points = tab.page.locator("[data-testid=stPlotlyChart]").nth(1).locator(".scatterlayer .trace .points path")
    assert points.count() > 10
    points.nth(7).click(force=True)
    tab.page.wait_for_url(re.compile(r"example=(?!0\b)\d+"), timeout=30_000)
    tab.wait_ready()
    chosen = int(re.search(r"example=(\d+)", tab.page.url).group(1))
    assert chosen != 0
    assert tab.page.get_by_role("heading", name=f"Example {chosen}").count() == 1
    assert tab.problems() == []


def test_training_in_the_browser_shows_progress_and_finishes(server, tab):
    tab.open(f"{server.url}/?recipe=wine-mlp")
    tab.page.get_by_role("button", name="Train", exact=True).click()
    tab.page.locator("[data-testid=stProgress]").first.wait_for(timeout=60_000)  # the live bar while it trains
    tab.page.get_by_text(re.compile(r"Trained wine-mlp: test accuracy [01]\.\d+")).wait_for(timeout=180_000)
    tab.wait_ready()
    assert tab.problems() == []
    # The page reran once training ended: the bar is gone and the hub already says "trained".
    assert tab.page.locator("[data-testid=stProgress]").count() == 0
    assert tab.page.locator("[data-testid=stMetricValue]").filter(has_text="trained").count() == 1
    tab.page.reload()
    tab.wait_ready()
    assert tab.page.get_by_text("Status").count() >= 1
    assert tab.page.locator("[data-testid=stMetricValue]").filter(has_text="trained").count() == 1


def test_a_deep_link_works_as_the_first_request_to_a_fresh_server(browser, tmp_path):
    """A stakeholder's link may be the first thing a just-started server sees."""
    from interp_core import recipes
    from tools.apprunner import REPO, AppPage, AppServer

    page = next((p for p in built_pages() if p.family == "rules"), None)
    if page is None:
        pytest.skip("no family page is built")
    recipe = recipes.list_recipes(page.family)[-1].name
    server = AppServer(tmp_path / "store", script=REPO / "serve.py")  # as `make run` serves it
    tab = AppPage(browser)
    try:
        server.wait_healthy()
        tab.open(f"{server.url}/{page.url_path}?recipe={recipe}&example=2")
        assert tab.problems() == []
        sidebar = tab.page.locator("[data-testid=stSidebar]")
        assert sidebar.get_by_role("combobox", name="Recipe in use").input_value() == recipe
        assert f"recipe={recipe}" in tab.page.url
        assert page.title in tab.page.locator("h1").first.inner_text()
    finally:
        tab.close()
        server.stop()
