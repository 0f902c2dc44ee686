"""Every page in headless Chromium, and its teaching and presentation modes. Each page first renders
cleanly as a visitor sees it (its heading, no exception or console error, a real screenshot in
tests/artifacts/screenshots/<page>.png); then switching teaching mode
on shows a note under every chart and the page's tour, whose steps get numbered badges on the
page; presentation mode enlarges the text and hides secondary controls. Screenshots of each
page in both modes go to tests/artifacts/screenshots/ (teach-*.png, present-*.png)."""

from pathlib import Path

import pytest

from ui.catalog import built_pages
from ui.tours import TOURS

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]
PAGES = [("", "home")] + [(p.url_path, p.family) for p in built_pages()]
# Pages without a family (Compare) are served under their file's name.
HEADINGS = {"": "Interp Explorer", **{p.url_path: p.title for p in built_pages()}}
PAGES += [(f.stem, f.stem) for f in sorted((REPO / "views").glob("*.py")) if f.stem not in {"home", *(p[1] for p in PAGES)}]


def _taught() -> set[str]:
    """The opening of every how-to-read line that has a teaching note."""
    from interp_core.family import load_all_figures
    from interp_core.figures.teaching import TEACHING

    HOW_TO_READ = load_all_figures()
    return {HOW_TO_READ[k][:60] for k in TEACHING if k in HOW_TO_READ}


TAUGHT = _taught()


def switch(tab, label: str) -> None:
    tab.page.locator("[data-testid=stSidebar] [data-testid=stCheckbox] label").filter(has_text=label).click()
    tab.wait_ready()


def font_px(tab, selector: str) -> float:
    return tab.page.locator(selector).first.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")


@pytest.mark.parametrize("url_path,page", PAGES, ids=[p[1] for p in PAGES])
def test_teaching_and_presentation_modes_on_every_page(server, tab, url_path, page):
    tab.open(f"{server.url}/{url_path}")
    shot = tab.screenshot(url_path or "home")  # the page as a visitor first sees it
    assert tab.problems() == [], tab.problems()
    if url_path in HEADINGS:
        assert HEADINGS[url_path] in tab.page.locator("h1").first.inner_text()
    assert tab.page.locator(".js-plotly-plot").count() >= 1 or url_path != ""
    assert shot.stat().st_size > 20_000  # a real picture, not a blank page
    sidebar = tab.page.locator("[data-testid=stSidebar]")
    notes = tab.page.locator("[data-testid=stAlert]").filter(has_text="Teaching note.")
    charts = tab.page.locator("[data-testid=stPlotlyChart]")
    assert notes.count() == 0 and sidebar.get_by_text("Guided tour").count() == 0
    h1_before = font_px(tab, "h1")

    switch(tab, "Teaching mode")
    assert "v_teach=True" in tab.page.url
    # one note under every chart's "How to read this" line (charts of one kind side by side share one line and its note)
    readings = [t for t in tab.page.locator("[data-testid=stCaptionContainer]").all_inner_texts() if t.startswith("How to read this:") and t[18:78] in TAUGHT]
    assert charts.count() >= len(readings) >= 1 and notes.count() == len(readings)
    assert "Source:" in notes.first.inner_text()
    steps = TOURS[page]
    assert sidebar.get_by_text(f"step 1 of {len(steps)}").count() == 1
    # The badges: every step whose part is on screen gets its number, the current one an outline.
    tab.page.wait_for_function("() => document.querySelectorAll('[data-tour-step]').length >= 2", timeout=10_000)
    assert tab.page.locator('[data-tour-step="1"][data-tour-current]').count() == 1
    sidebar.get_by_role("button", name="Next").click()
    tab.wait_ready()
    assert sidebar.get_by_text(f"step 2 of {len(steps)}").count() == 1
    tab.page.wait_for_selector('[data-tour-step="2"][data-tour-current]', timeout=10_000)
    badge = tab.page.locator('[data-tour-step="2"]').evaluate("el => getComputedStyle(el, '::before').content")
    assert badge == '"2"'
    tab.page.evaluate("window.scrollTo(0, 0)")
    tab.screenshot(f"teach-{page}")
    assert tab.problems() == [], tab.problems()

    switch(tab, "Presentation")
    switch(tab, "Teaching mode")  # off again: the presentation screenshot shows the page itself
    assert notes.count() == 0 and sidebar.get_by_text("Guided tour").count() == 0
    assert "v_present=True" in tab.page.url and "v_teach" not in tab.page.url
    assert font_px(tab, "h1") > h1_before * 1.15
    assert sidebar.get_by_text("Store:").count() == 0
    assert tab.page.locator(".modebar-btn").count() == 0  # no Plotly toolbar
    tab.page.evaluate("window.scrollTo(0, 0)")
    tab.screenshot(f"present-{page}")
    assert tab.problems() == [], tab.problems()
