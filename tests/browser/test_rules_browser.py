"""The Rules page in headless Chromium: the clicks AppTest cannot make. Clicking a held-out
example selects it (its path in the tree, its rule and its counterfactual follow); clicking a
tree node lists the examples in that node."""

import re

import pytest

pytestmark = pytest.mark.browser


def open_rules(server, tab, query: str) -> None:
    # A fresh server serves a sub-page URL without app.py until "/" has run once (see the report
    # on the Streamlit pages/ fallback); open Home first so the deep link gets the real app.
    tab.open(f"{server.url}/")
    tab.open(f"{server.url}/rules?{query}")


def chart(tab, title: str):
    return tab.page.locator("[data-testid=stPlotlyChart]").filter(has_text=title)


def test_clicking_an_example_shows_its_path_and_counterfactual(server, tab):
    open_rules(server, tab, "recipe=synthetic-rules&example=0")
    assert tab.page.get_by_role("heading", name="Example 0").count() == 1
    points = chart(tab, "Held-out examples on the two top features").locator(".scatterlayer .trace .points path")
    assert points.count() > 100
    points.nth(25).click(force=True)
    tab.page.wait_for_url(re.compile(r"example=(?!0\b)\d+"), timeout=30_000)
    tab.wait_ready()
    chosen = int(re.search(r"[?&]example=(\d+)", tab.page.url).group(1))
    assert chosen != 0
    assert tab.page.get_by_role("heading", name=f"Example {chosen}").count() == 1
    # its path is drawn in the tree, its rule and the counterfactual are spelled out
    assert chart(tab, f"path of example {chosen} in black").count() == 1
    assert tab.page.get_by_text("Its rule:").count() == 1
    assert tab.page.get_by_text(re.compile(r"the black box (flips too|does not flip)")).count() == 1
    assert tab.page.get_by_text("Nearest counterfactual").count() == 1
    assert "recipe=synthetic-rules" in tab.page.url
    tab.screenshot("rules-example-selected")
    assert tab.problems() == [], tab.problems()


def test_clicking_a_tree_node_lists_its_examples(server, tab):
    open_rules(server, tab, "recipe=wine-rules&example=3")
    nodes = chart(tab, "Surrogate tree").locator(".scatterlayer .trace .points path")
    assert nodes.count() >= 3
    nodes.nth(0).click(force=True)  # the root: every held-out example passes through it
    tab.page.wait_for_url(re.compile(r"v_node=\d+"), timeout=30_000)
    tab.wait_ready()
    node = int(re.search(r"v_node=(\d+)", tab.page.url).group(1))
    assert tab.page.get_by_text(re.compile(rf"Node {node}.*held-out examples")).count() == 1
    assert tab.page.get_by_text("Select a row to explain that example").count() == 1
    # pick the third example of the node by its row's selection box (the grid is a canvas)
    grid = tab.page.locator("[data-testid=stDataFrame]").first
    grid.scroll_into_view_if_needed()
    tab.page.wait_for_timeout(500)  # the grid is drawn on a canvas after the element appears
    box = grid.bounding_box()
    tab.page.mouse.click(box["x"] + 15, box["y"] + 35 * 2.5 + 1)
    tab.page.wait_for_url(re.compile(r"example=(?!3\b)\d+"), timeout=30_000)
    tab.wait_ready()
    chosen = int(re.search(r"[?&]example=(\d+)", tab.page.url).group(1))
    assert tab.page.get_by_role("heading", name=f"Example {chosen}").count() == 1
    assert chart(tab, f"path of example {chosen} in black").count() == 1
    tab.screenshot("rules-node-selected")
    assert tab.problems() == [], tab.problems()
