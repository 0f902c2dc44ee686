"""The Mechanisms page in headless Chromium: the clicks AppTest cannot make. Clicking a cell of
the neuron × irrep map opens that neuron's activation table; clicking a cell of the table
explains that pair."""

import re

import pytest

from interp_core.families.mechanisms.data import get_group
from interp_core.families.mechanisms.figures import neuron_order
from interp_core.store import SHIPPED_ROOT, Store

pytestmark = pytest.mark.browser


def chart(tab, title: str):
    return tab.page.locator("[data-testid=stPlotlyChart]").filter(has_text=title)


def shipped_arrays(name: str) -> dict:
    store = Store(SHIPPED_ROOT, readonly=True)
    return store.read_arrays(store.open(name), "mechanism.safetensors")


def test_clicking_a_neuron_shows_its_activation_table_and_a_pair_its_explanation(server, tab):
    arrays = shipped_arrays("s4-mlp")
    order = neuron_order(arrays["dominant"], arrays["neuron_share"])
    start = int(order[0])
    position = 5  # the sixth column of the sorted map
    target = int(order[position])
    assert target != start
    # A fresh server serves a sub-page URL without app.py until "/" has run once: open Home first.
    tab.open(f"{server.url}/")
    tab.open(f"{server.url}/mechanisms?recipe=s4-mlp&v_neuron={start}&v_x=0&v_y=0")
    assert chart(tab, f"Neuron {start} (mostly").count() == 1

    columns = chart(tab, "Neurons × irreps").locator(".barlayer .trace .points path")
    assert columns.count() == len(order)  # one clickable column per neuron
    columns.nth(position).click(force=True)
    tab.page.wait_for_url(re.compile(rf"v_neuron={target}\b"), timeout=30_000)
    tab.wait_ready()
    table = chart(tab, f"Neuron {target} (mostly")
    assert table.count() == 1
    assert tab.page.get_by_text(f"Neuron {target}", exact=True).count() >= 1

    group = get_group("S4")
    n = group.order
    pairs = table.locator(".scatterlayer .trace .points path")
    assert pairs.count() == n * n  # the whole |G| x |G| table
    x, y = 5, 17
    pairs.nth(x * n + y).click(force=True)
    tab.page.wait_for_url(re.compile(rf"v_x={x}\b.*v_y={y}\b|v_y={y}\b.*v_x={x}\b"), timeout=30_000)
    tab.wait_ready()
    product = group.describe(x, y)
    assert tab.page.get_by_text(product).count() >= 1
    assert chart(tab, f"Why {group.elements[x]}, {group.elements[y]} → {group.elements[int(group.table[x, y])]}").count() == 1
    tab.screenshot("mechanisms-neuron-and-pair")
    assert tab.problems() == [], tab.problems()



def click_cell(tab, title: str, x: int, y: int) -> None:
    """Click the centre of cell (left element x, right element y) of a table drawn with WebGL (no SVG
    point to click): its position in pixels from Plotly's own axes."""
    box = chart(tab, title).locator(".js-plotly-plot")
    where = box.evaluate("""(gd, cell) => {
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
        return [xa._offset + xa.l2p(cell[1]), ya._offset + ya.l2p(cell[0])];
    }""", [x, y])
    box.click(position={"x": where[0], "y": where[1]}, force=True)


def test_a_large_table_is_drawn_with_webgl_and_a_click_still_explains_its_pair(server, tab):
    """z59's 3,481 pairs are a WebGL layer (thousands of SVG markers took seconds to draw); a click on
    a cell still opens that pair."""
    group = get_group("Z59")
    tab.open(f"{server.url}/")
    tab.open(f"{server.url}/mechanisms?recipe=z59-noisy-mlp&v_x=1&v_y=2")
    table = chart(tab, "activation on every pair")
    assert table.count() == 1
    assert table.locator(".gl-canvas, canvas").count() >= 1 and table.locator(".scatterlayer .trace .points path").count() == 0
    x, y = 40, 7
    click_cell(tab, "activation on every pair", x, y)
    tab.page.wait_for_url(re.compile(rf"v_x={x}\b.*v_y={y}\b|v_y={y}\b.*v_x={x}\b"), timeout=30_000)
    tab.wait_ready()
    assert tab.page.get_by_text(group.describe(x, y)).count() >= 1
    assert tab.problems() == [], tab.problems()


def test_clicking_a_network_of_a_population_opens_it_in_the_single_model_view(server, tab):
    """Section 8: a click on one network's point (the cost chart of population-s4, the smallest group)
    opens that network in sections 1-7, with the banner that says so."""
    tab.open(f"{server.url}/")
    tab.open(f"{server.url}/mechanisms?recipe=s4-mlp&v_population=population-s4")
    costs = chart(tab, "Cost of each proof against brute force")
    assert costs.count() == 1
    box = costs.locator(".js-plotly-plot")
    box.scroll_into_view_if_needed()
    # the most isolated point (a click goes to the marker on top), in pixels from Plotly's own axes
    index, x, y = box.evaluate("""gd => {
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, t = gd._fullData[0];
        const at = t.x.map((v, i) => [xa._offset + xa.c2p(v), ya._offset + ya.c2p(t.y[i])]);
        let best = 0, far = -1;
        at.forEach((p, i) => {
            const near = Math.min(...at.filter((_, j) => j !== i).map(q => Math.hypot(p[0] - q[0], p[1] - q[1])));
            if (near > far) { far = near; best = i; }
        });
        return [t.customdata[best][0], at[best][0], at[best][1]];
    }""")
    box.click(position={"x": x, "y": y}, force=True)
    tab.page.wait_for_url(re.compile(rf"v_member=population-s4(%23|#){index}\b"), timeout=30_000)
    tab.wait_ready()
    assert tab.page.get_by_text(f"Showing model {index} of population-s4").count() >= 1
    tab.screenshot("mechanisms-population-member")
    assert tab.problems() == [], tab.problems()
