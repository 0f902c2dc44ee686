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


ISOLATED_POINT = """(chart) => {
  // The live feature farthest from any other drawn point (a click there hits that point only), in page pixels.
  const gd = chart.querySelector('.js-plotly-plot');
  const t = gd._fullData.find(d => d.type === 'scattergl' && d.name.startsWith('features'));  // decoded arrays
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  const px = Array.from(t.x, v => xa.l2p(v)), py = Array.from(t.y, v => ya.l2p(v));
  let best = -1, bestGap = -1;
  for (let i = 0; i < px.length; i++) {
    let gap = Infinity;
    for (let j = 0; j < px.length; j++) if (j !== i) gap = Math.min(gap, Math.hypot(px[i] - px[j], py[i] - py[j]));
    if (gap > bestGap) { bestGap = gap; best = i; }
  }
  return {x: box.left + xa._offset + px[best], y: box.top + ya._offset + py[best], feature: Number(t.customdata[best]), gap: bestGap};
}"""


def test_a_webgl_feature_map_answers_a_click_with_that_feature(server, tab):
    """MiniLM's 1,024 features are drawn with WebGL (Scattergl: no SVG point to click); a click on a
    dot's pixel opens the feature whose index the dot carries."""
    open_sae(server, tab, "recipe=minilm-sae&v_view=Features&v_feature=0")
    assert tab.problems() == []
    feature_map = tab.page.locator("[data-testid=stPlotlyChart]").first
    assert feature_map.locator(".gl-container canvas").count() >= 1 and feature_map.locator(".scatterlayer .trace .points path").count() <= 1
    target = feature_map.evaluate(ISOLATED_POINT)
    assert target["gap"] > 4 and target["feature"] != 0
    tab.page.mouse.click(target["x"], target["y"])
    tab.page.wait_for_url(re.compile(rf"v_feature={target['feature']}(&|$)"), timeout=60_000)
    tab.wait_ready()
    assert "v_view=Feature&" in tab.page.url + "&"
    assert tab.page.get_by_role("heading", name=re.compile(rf"^Feature {target['feature']}:")).count() == 1
    assert tab.problems() == []


@pytest.mark.parametrize("recipe", ["digits-sae", "toy-sae"])
def test_clicking_an_example_in_a_feature_gallery_opens_it(server, tab, recipe):
    """The top-activating digits (or toy examples) are one heatmap, which Plotly cannot select: each
    example carries transparent click targets, and a click on the first opens it in the Example view."""
    open_sae(server, tab, f"recipe={recipe}&v_view=Feature&v_feature=5")
    assert tab.problems() == []
    gallery = tab.page.locator("[data-testid=stPlotlyChart]").filter(has_text="examples of feature 5")
    gallery.scroll_into_view_if_needed()
    target = gallery.evaluate("""(chart) => {
      const gd = chart.querySelector('.js-plotly-plot'), t = gd._fullData[1];  // the digits' click targets
      const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
      return {x: box.left + xa._offset + xa.l2p(xa.d2l(t.x[0])), y: box.top + ya._offset + ya.l2p(ya.d2l(t.y[0])), example: Number(t.customdata[0])};  // d2l: a category (toy rows) too
    }""")
    assert target["example"] >= 0
    tab.page.mouse.click(target["x"], target["y"])
    tab.page.wait_for_url(re.compile(rf"v_example={target['example']}(&|$)"), timeout=60_000)
    tab.wait_ready()
    assert "v_view=Example" in tab.page.url
    assert tab.page.get_by_role("heading", name=re.compile(rf"^Example {target['example']} ")).count() == 1
    assert tab.problems() == []


def test_a_box_dragged_on_a_zoomed_map_zooms_in_further(server, tab):
    """Zooming is a box selection the page reads (a large SAE's map offers it; a link's window turns
    it on for a small one): the dragged window goes to the URL and the map redraws that window."""
    open_sae(server, tab, "recipe=digits-sae&v_view=Features&v_sae_zoom=umap:-100,100,-100,100")
    assert tab.problems() == []
    feature_map = tab.page.locator("[data-testid=stPlotlyChart]").first
    feature_map.hover()
    feature_map.locator('[data-title="Box Select"]').click()
    plot = feature_map.locator(".nsewdrag").first.bounding_box()
    start = (plot["x"] + plot["width"] * 0.3, plot["y"] + plot["height"] * 0.3)
    tab.page.mouse.move(*start)
    tab.page.mouse.down()
    tab.page.mouse.move(start[0] + plot["width"] * 0.2, start[1] + plot["height"] * 0.2, steps=8)
    tab.page.mouse.up()
    tab.page.wait_for_url(re.compile(r"v_sae_zoom=umap%3A(?!-100%2C100)"), timeout=60_000)
    tab.wait_ready()
    x0, x1, y0, y1 = (float(v) for v in re.search(r"v_sae_zoom=umap%3A([^&]+)", tab.page.url).group(1).replace("%2C", ",").split(","))
    assert -100 < x0 < x1 < 100 and -100 < y0 < y1 < 100
    assert feature_map.get_by_text(re.compile(r"zoomed in: \d+ of 256 features in this window")).count() == 1
    assert tab.problems() == []
