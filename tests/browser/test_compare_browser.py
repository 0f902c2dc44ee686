"""The Compare page in headless Chromium: two recipes side by side with their figures drawn."""

import pytest

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("family, a, b", [("timeseries", "gunpoint-cnn", "gunpoint-transformer"), ("sae", "toy-sae", "toy-sae-mp")])
def test_two_recipes_side_by_side(server, tab, family, a, b):
    tab.open(f"{server.url}/")
    tab.open(f"{server.url}/compare?v_cmp_family={family}&v_cmp_a={a}&v_cmp_b={b}")
    main = tab.page.locator("[data-testid=stMain]")
    assert tab.page.get_by_role("heading", name="Key numbers").count() == 1
    header = main.locator("[data-testid=stDataFrame]").first
    assert header.count() == 1
    charts = main.locator("[data-testid=stPlotlyChart]")
    assert charts.count() >= 4 and charts.count() % 2 == 0 or charts.count() >= 5
    # every chart has drawn something (no empty figure)
    for i in range(charts.count()):
        assert charts.nth(i).locator(".main-svg").count() >= 1
    tab.screenshot(f"compare-{family}")
    assert tab.problems() == [], tab.problems()
