""""Download report" in headless Chromium: the sidebar button gives one HTML file that opens
offline (every request from it is aborted) with the page's figures and its numbers, and a single
figure in it downloads as PNG and SVG with no network. ``check_report`` runs on every page's shared
view in test_share_browser.py; a chart's own PNG download is tested here."""

import re

import pytest

pytestmark = pytest.mark.browser


def open_page(server, tab, path: str, query: str) -> None:
    tab.open(f"{server.url}/")  # a fresh server serves a sub-page deep link properly once "/" ran
    tab.open(f"{server.url}{path}?{query}")


def page_numbers(tab) -> list[str]:
    values = tab.page.locator("[data-testid=stMetricValue]")
    return [values.nth(i).inner_text().strip() for i in range(values.count())]


def open_offline(browser, path):
    """The downloaded file in a fresh context where every request other than the file itself fails."""
    context = browser.new_context(viewport={"width": 1300, "height": 1800}, accept_downloads=True)
    requests: list[str] = []
    errors: list[str] = []

    def guard(route):
        requests.append(route.request.url)
        if route.request.url == path.as_uri():
            route.continue_()
        else:
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(path.as_uri())
    return context, page, requests, errors


def check_report(tab, browser, tmp_path, page_id: str) -> None:
    """The sidebar's "Download report" on the view ``tab`` shows: one HTML file with no script from
    anywhere, which opens with every other request aborted and holds every chart of the view (drawn),
    every number of its metrics, the settings and each recipe the view names; one of its figures
    downloads as SVG and PNG made in the page. The share test calls this on each page's shared view,
    so every page is covered without opening each page once more."""
    shown = tab.page.locator("[data-testid=stPlotlyChart]").count()
    numbers = page_numbers(tab)
    assert shown > 0
    button = tab.page.locator("[data-testid=stSidebar]").get_by_role("button", name="Download report")
    with tab.page.expect_download(timeout=120_000) as info:
        button.click()
    download = info.value
    assert download.suggested_filename.endswith(".html")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    text = saved.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc=", text)

    context, report, requests, errors = open_offline(browser, saved)
    try:
        report.wait_for_selector(".plotly-graph-div .main-svg", timeout=60_000)
        figures = report.locator(".plotly-graph-div")
        assert figures.count() == shown, (figures.count(), shown)
        assert report.locator(".plotly-graph-div").evaluate_all("divs => divs.filter(d => d.querySelector('.main-svg')).length") == shown
        body = report.locator("body").inner_text()
        missing = [n for n in numbers if n not in body]
        assert not missing, missing
        assert "Settings used" in body and "config hash" in body
        for name in re.findall(r"(?:recipe|v_cmp_[ab])=([a-z0-9-]+)", tab.page.url):  # every recipe the view names
            assert f"Model and data: {name}" in body, name
        assert requests == [saved.as_uri()], requests  # nothing else was even asked for
        assert errors == [], errors
        # one figure as SVG and as PNG, made by plotly.js in the page itself
        for fmt in ("svg", "png"):
            with report.expect_download(timeout=30_000) as image:
                report.locator(".downloads").first.get_by_role("button", name=fmt.upper()).click()
            assert image.value.suggested_filename.endswith(f".{fmt}")
            data = (tmp_path / f"figure.{fmt}")
            image.value.save_as(data)
            head = data.read_bytes()[:200]
            assert (b"<svg" in head) if fmt == "svg" else head.startswith(b"\x89PNG")
        assert requests == [saved.as_uri()], requests
        report.evaluate("window.scrollTo(0, 0)")
        report.screenshot(path=str(tab_screenshot_path(f"report-{page_id}")), full_page=False)
    finally:
        context.close()
    assert tab.problems() == [], tab.problems()


def tab_screenshot_path(name: str):
    from tools.apprunner import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


def test_a_single_chart_downloads_as_png_from_the_modebar_without_the_network(server, tab, tmp_path):
    open_page(server, tab, "/", "recipe=wine-mlp")
    outside: list[str] = []
    tab.page.on("request", lambda request: outside.append(request.url) if not request.url.startswith(server.url) and not request.url.startswith(("data:", "blob:")) else None)
    chart = tab.page.locator("[data-testid=stPlotlyChart]").first
    chart.hover()
    camera = chart.locator(".modebar-btn[data-title^='Download plot']")
    with tab.page.expect_download(timeout=30_000) as info:
        camera.click()
    assert info.value.suggested_filename.endswith(".png")
    saved = tmp_path / "chart.png"
    info.value.save_as(saved)
    assert saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and saved.stat().st_size > 5_000
    assert outside == [], outside  # made in the browser: no request leaves the app's own server
    assert tab.problems() == [], tab.problems()
