"""Shareable views in headless Chromium, on every page: set up a view that is not the default by
clicking in the UI (recipe, example, a control of the page), copy its link with the sidebar's
"Copy link" button, open the link in a fresh browser context (a new session) and check the same
view comes back: the same selected values and the same headline content. The reopened view's
"Download report" is then checked offline (test_report_browser.check_report)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.browser.test_report_browser import check_report
from tools.apprunner import AppPage
from ui.catalog import built_pages

pytestmark = pytest.mark.browser

# Everything a user reads off a view: chosen values of every widget, the headings, metrics and notes.
SNAPSHOT_JS = """() => {
  const q = (sel) => Array.from(document.querySelectorAll(sel));
  const label = (e) => e.getAttribute('aria-label') || '';
  const text = (e) => (e.closest('label') || e.parentElement).innerText.trim();
  return {
    // the model hub's training form starts on the recipe in use when it first appears: a form, not the view
    selects: q('input[role=combobox]').filter(e => label(e) !== 'Recipe to train').map(e => [label(e), e.value]),
    numbers: q('input[type=number]').map(e => [label(e), e.value]),
    radios: q('input[type=radio]:checked').map(text),
    checks: q('input[type=checkbox]').map(e => [text(e), e.checked]),
    segmented: q('[data-testid=stButtonGroup] button[aria-checked=true]').map(e => e.innerText.trim()),
    headings: q('[data-testid=stMain] h1, [data-testid=stMain] h2, [data-testid=stMain] h3').map(e => e.innerText.trim()),
    metrics: q('[data-testid=stMain] [data-testid=stMetric]').map(e => e.innerText.trim()),
    alerts: q('[data-testid=stMain] [data-testid=stAlert]').map(e => e.innerText.trim()),
    card: q('[data-testid=stSidebar] .st-key-passport_card').map(e => e.innerText.trim()),
  };
}"""


def params(url: str) -> dict:
    return dict(parse_qsl(urlsplit(url).query))


def sidebar(tab):
    return tab.page.locator("[data-testid=stSidebar]")


def choose(tab, where, name: str, option: str) -> None:
    where.get_by_role("combobox", name=name).click()
    tab.page.get_by_role("option", name=option, exact=True).click()
    tab.wait_ready()


def type_number(tab, box, value: int) -> None:
    box.fill(str(value))
    box.press("Enter")
    tab.wait_ready()


def click_radio(tab, group: str, option: str) -> None:
    radios = tab.page.locator("[data-testid=stRadio]").filter(has_text=group)
    radios.locator("label").filter(has_text=re.compile(rf"^{re.escape(option)}")).first.click()
    tab.wait_ready()


def click_segment(tab, option: str) -> None:
    tab.page.locator("[data-testid=stButtonGroup] button[data-variant=segmented_control]").filter(has_text=re.compile(rf"^{re.escape(option)}$")).click()
    tab.wait_ready()


def set_recipe_and_example(tab, recipe: str, example: int) -> None:
    choose(tab, sidebar(tab), "Recipe in use", recipe)
    type_number(tab, sidebar(tab).get_by_role("spinbutton"), example)


# Per page: the non-default view, made by clicking, and what its URL must then say.
def home(tab):
    set_recipe_and_example(tab, "wine-mlp", 7)
    click_radio(tab, "Map", "PCA")
    return {"recipe": "wine-mlp", "example": "7", "v_map": "pca"}, "Example 7"


def prototypes(tab):
    set_recipe_and_example(tab, "breast-cancer-protonet", 5)
    click_radio(tab, "Prototypes shown", "Pushed onto the nearest real case")
    return {"recipe": "breast-cancer-protonet", "example": "5", "v_push": "pushed"}, "Local: this looks like that (test example 5)"


def sae(tab):
    choose(tab, sidebar(tab), "Recipe in use", "digits-sae")
    click_segment(tab, "Example")
    type_number(tab, tab.page.get_by_role("spinbutton", name=re.compile(r"^Example \(0-")), 1400)
    tab.page.wait_for_url(re.compile(r"v_example=1400"), timeout=30_000)  # the pick reruns once more to update the card
    tab.wait_ready()
    return {"recipe": "digits-sae", "v_view": "Example", "v_example": "1400"}, "Example 1400 (test"


def concepts(tab):
    set_recipe_and_example(tab, "breast-cancer-cbm", 9)
    click_segment(tab, "Concept bottleneck")
    click_radio(tab, "Training mode", "joint")
    return {"recipe": "breast-cancer-cbm", "example": "9", "v_view": "Concept bottleneck", "v_mode": "joint"}, "Example 9"


def timeseries(tab):
    set_recipe_and_example(tab, "gunpoint-cnn", 4)
    click_radio(tab, "Explain the", "true class")
    return {"recipe": "gunpoint-cnn", "example": "4", "v_target": "true"}, "Series 4: true class"


def rules(tab):
    set_recipe_and_example(tab, "wine-rules", 3)
    choose(tab, tab.page.locator("[data-testid=stMain]"), "Surrogate", "greedy rule list (imodels)")
    return {"recipe": "wine-rules", "example": "3", "v_surrogate": "rulelist"}, "Example 3"


def mechanisms(tab):
    choose(tab, sidebar(tab), "Recipe in use", "s4-mlp")
    click_radio(tab, "Embedding of the", "right element")
    type_number(tab, tab.page.get_by_role("spinbutton", name=re.compile(r"^Neuron \(0-")), 7)
    return {"recipe": "s4-mlp", "v_side": "right", "v_neuron": "7"}, "3. Neurons"


def compare(tab):
    set_recipe_and_example(tab, "wine-mlp", 2)
    choose(tab, tab.page.locator("[data-testid=stMain]"), "Family", "Rules")
    choose(tab, tab.page.locator("[data-testid=stMain]"), "Second recipe (right)", "wine-rules")
    return {"recipe": "wine-mlp", "example": "2", "v_cmp_family": "rules", "v_cmp_b": "wine-rules"}, "Key numbers"


SETUPS = {"": home, "prototypes": prototypes, "sae": sae, "concepts": concepts, "time-series": timeseries, "rules": rules,
          "mechanisms": mechanisms, "compare": compare}
VIEWS = Path(__file__).resolve().parents[2] / "views"
FAMILY_PATHS = {p.family: (p.url_path, p.title) for p in built_pages()}
OTHER_PAGES = {"home": ("", "Interp Explorer"), "compare": ("compare", "Compare two recipes")}
# Every page file: Home, the family pages and any other page (a new one fails the next test until it has a setup).
PAGES = sorted(FAMILY_PATHS.get(f.stem) or OTHER_PAGES.get(f.stem) or (f.stem, f.stem) for f in VIEWS.glob("*.py"))


def test_every_page_has_a_share_setup():
    assert {path for path, _ in PAGES} <= set(SETUPS), "a new page needs its setup in this test"


@pytest.mark.parametrize("url_path,heading", PAGES, ids=[p[0] or "home" for p in PAGES])
def test_a_copied_link_reopens_the_same_view_in_a_fresh_browser(server, browser, tab, tmp_path, url_path, heading):
    tab.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    tab.open(f"{server.url}/{url_path}")
    expected, headline = SETUPS[url_path](tab)
    assert expected.items() <= params(tab.page.url).items(), tab.page.url
    assert tab.page.get_by_role("heading", name=re.compile(f"^{re.escape(headline)}")).count() >= 1
    before = tab.page.evaluate(SNAPSHOT_JS)
    assert tab.problems() == [], tab.problems()

    button = tab.page.frame_locator("[data-testid=stSidebar] iframe").first.get_by_role("button", name="Copy link to this view")
    button.click()
    tab.page.frame_locator("[data-testid=stSidebar] iframe").first.get_by_text("Link copied").wait_for(timeout=10_000)
    link = tab.page.evaluate("navigator.clipboard.readText()")
    assert link == tab.page.url and link.startswith(f"{server.url}/{url_path}")
    sidebar(tab).get_by_text("Show the link").click()  # the fallback box says the same
    assert sidebar(tab).locator("[data-testid=stCode]").inner_text().strip() == link

    fresh = AppPage(browser)  # a new browser context: no cookies, no session
    try:
        fresh.open(link)
        assert fresh.problems() == [], fresh.problems()
        assert heading in fresh.page.locator("h1").first.inner_text()
        after = fresh.page.evaluate(SNAPSHOT_JS)
        for part in before:
            assert after[part] == before[part], (part, before[part], after[part])
        assert params(fresh.page.url) == params(link)
        fresh.screenshot(f"shared-{url_path or 'home'}")
        check_report(fresh, browser, tmp_path, url_path or "home")  # the shared view's report, offline
    finally:
        fresh.close()


def test_the_button_falls_back_to_the_link_box_without_clipboard_permission(server, tab):
    tab.open(f"{server.url}/?recipe=wine-mlp&example=2")
    tab.context.clear_permissions()
    tab.page.evaluate("() => { for (const f of document.querySelectorAll('iframe')) { try { Object.defineProperty(f.contentWindow.navigator, 'clipboard', {value: undefined}); f.contentWindow.document.execCommand = () => false; } catch (e) {} } }")
    frame = tab.page.frame_locator("[data-testid=stSidebar] iframe").first
    frame.get_by_role("button", name="Copy link to this view").click()
    frame.get_by_text("open 'Show the link' below").wait_for(timeout=10_000)
    sidebar(tab).get_by_text("Show the link").click()
    box = sidebar(tab).locator("[data-testid=stCode]").inner_text().strip()
    assert box == tab.page.url and "recipe=wine-mlp" in box and "example=2" in box
    tab.screenshot("share-fallback")
    assert Path(tab.screenshot("share-fallback")).stat().st_size > 20_000
