"""Shared figure helpers (interp_core/figures): the project's chart style and the maps' handling of
large data (WebGL, a drawn sample and the true counts)."""

import json

import plotly.graph_objects as go
import plotly.io as pio

from interp_core.figures.common import styled


def test_styled_gives_the_white_template_exactly_as_plotly_would():
    fast = styled(go.Figure(go.Bar(x=["a", "b"], y=[1, 2])), "title", "x", "y", height=300)
    checked = go.Figure(go.Bar(x=["a", "b"], y=[1, 2])).update_layout(template="plotly_white")
    styled_layout = json.loads(pio.to_json(fast, validate=False))["layout"]
    assert styled_layout["template"] == json.loads(pio.to_json(checked, validate=False))["layout"]["template"]
    assert styled_layout["template"]["layout"]["plot_bgcolor"] == "white"
    assert styled_layout["title"]["text"] == "title" and styled_layout["height"] == 300
    fast.layout.template.layout.font.color = "red"  # the figure's own copy: the registered template is untouched
    assert pio.templates["plotly_white"].layout.font.color != "red"


# -- maps of many points ---------------------------------------------------------------------------
import numpy as np
import pytest

from interp_core.families.sae.figures import feature_map
from interp_core.figures.common import MAP_POINTS, WEBGL_POINTS, map_sample
from interp_core.figures.models import embedding_map

N_BIG = 100_000


@pytest.fixture(scope="module")
def big_map():
    """A user's 100,000 test examples in 10 classes, one in ten predicted wrong, one class small."""
    rng = np.random.default_rng(0)
    coords = rng.normal(size=(N_BIG, 2)).astype(np.float32)
    labels = rng.integers(0, 9, N_BIG)
    labels[rng.choice(N_BIG, 300, replace=False)] = 9  # a rare class
    predictions = np.where(rng.random(N_BIG) < 0.1, rng.integers(0, 10, N_BIG), labels)
    return coords, labels, predictions


def _points(fig):
    """(customdata, x, y) of every drawn marker trace except the selected-example ring."""
    traces = [t for t in fig.data if t.type in ("scatter", "scattergl") and t.name not in ("selected",) and not str(t.name).startswith("feature ")]
    return (np.concatenate([np.asarray(t.customdata) for t in traces]), np.concatenate([np.asarray(t.x) for t in traces]),
            np.concatenate([np.asarray(t.y) for t in traces]), traces)


def test_a_map_of_100000_examples_draws_a_webgl_sample_and_counts_every_example(big_map):
    coords, labels, predictions = big_map
    names = [f"class {k}" for k in range(10)]
    fig = embedding_map(coords, labels, names, predictions, selected=12_345, method="UMAP")
    ids, x, y, traces = _points(fig)
    assert {t.type for t in traces} == {"scattergl"}
    assert MAP_POINTS - 10 <= len(ids) <= MAP_POINTS * 1.25 + 1 and len(np.unique(ids)) == len(ids)
    np.testing.assert_array_equal(x, coords[ids, 0])  # customdata is the example a click selects
    np.testing.assert_array_equal(y, coords[ids, 1])
    assert 12_345 in ids
    wrong = np.flatnonzero(predictions != labels)
    assert np.isin(ids, wrong).sum() >= MAP_POINTS // 4  # wrong predictions kept (a quarter of the sample), beside those the sample drew
    assert (labels[ids] == 9).sum() >= min(300, MAP_POINTS // 40)  # the rare class stays visible
    density = next(t for t in fig.data if t.type == "heatmap")
    assert np.nansum(np.asarray(density.z, dtype=float)) == N_BIG and density.customdata is None  # true counts; a click on a cell selects nothing
    shown = {t.name for t in traces if t.showlegend is not False}
    assert f"class 9 (300)" in shown and sum(int(n.rsplit("(", 1)[1].strip(")").replace(",", "")) for n in shown) == N_BIG
    assert f"{len(ids):,} of 100,000 examples drawn" in fig.layout.title.text
    assert len(pio.to_json(fig, validate=False)) < 1_000_000


def test_a_small_map_draws_every_example_as_before(big_map):
    coords, labels, predictions = (a[:450] for a in big_map)
    fig = embedding_map(coords, labels, [f"class {k}" for k in range(10)], predictions, selected=3)
    ids, x, _, traces = _points(fig)
    assert sorted(ids) == list(range(450)) and {t.type for t in traces} == {"scatter"}
    assert not any(t.type == "heatmap" for t in fig.data) and "drawn" not in fig.layout.title.text
    wrong = [t for t in traces if t.marker.symbol == "x"]
    assert sorted(np.concatenate([t.customdata for t in wrong])) == list(np.flatnonzero(predictions != labels))
    assert all(t.showlegend is False for t in wrong if (labels[(predictions == labels)] == labels[t.customdata[0]]).any())


def test_a_map_sample_does_not_move_when_another_point_is_selected():
    groups = np.repeat([0, 1], [90_000, 10_000])
    plain = map_sample(groups)
    assert MAP_POINTS - 2 <= len(plain) <= MAP_POINTS and set(plain) <= set(map_sample(groups, always=[5, 99_999]))
    assert set(map_sample(groups, always=[5, 99_999])) - set(plain) <= {5, 99_999}
    assert len(map_sample(groups, keep=np.arange(50_000))) <= MAP_POINTS + MAP_POINTS // 4  # at most a quarter more
    assert len(map_sample(groups[:WEBGL_POINTS])) == WEBGL_POINTS  # a small map draws everything


def test_a_large_sae_feature_map_samples_and_keeps_the_selected_feature():
    rng = np.random.default_rng(1)
    coords = rng.normal(size=(N_BIG, 2))
    density = np.where(rng.random(N_BIG) < 0.05, 0.0, rng.random(N_BIG) ** 3)
    fig = feature_map(coords, density, [f"label {i}" for i in range(N_BIG)], selected=77_777)
    ids, x, _, traces = _points(fig)
    assert {t.type for t in traces} == {"scattergl"} and 77_777 in ids and len(ids) <= MAP_POINTS + 1
    np.testing.assert_array_equal(x, coords[ids, 0])
    assert {t.name for t in traces} == {f"never fires ({int((density == 0).sum()):,})", f"features ({int((density > 0).sum()):,})"}
    assert f"of 100,000 features drawn" in fig.layout.title.text


def test_a_thumbnail_keeps_colour_pictures_in_colour_and_shows_sharp_pixels():
    from interp_core.data import load_dataset
    from interp_core.figures.common import thumbnail_pixels

    shapes = load_dataset("shapes")
    example = shapes.extras["default_example"]  # a large, bright shape
    pixels = thumbnail_pixels(shapes.X_test[example], shapes.input_shape)
    assert pixels.shape == (84, 84, 3) and pixels.dtype == np.uint8  # 28 px, each repeated 3 times
    np.testing.assert_array_equal(pixels[::3, ::3], (np.clip(shapes.X_test[example], 0, 1).transpose(1, 2, 0) * 255).round())
    digit = np.zeros((1, 8, 8)); digit[0, 2:6, 3] = 16.0  # a stroke on a blank background
    grey = thumbnail_pixels(digit, (1, 8, 8))
    assert grey.shape == (64, 64, 3) and grey[0, 0].tolist() == [255, 255, 255] and grey[2 * 8, 3 * 8].tolist() == [0, 0, 0]  # dark ink on white


def test_zooming_in_on_a_large_feature_map_draws_more_of_that_window():
    rng = np.random.default_rng(2)
    coords = rng.normal(size=(N_BIG, 2))
    density = np.where(rng.random(N_BIG) < 0.05, 0.0, rng.random(N_BIG) ** 3)
    labels = [""] * N_BIG
    window = (0.0, 1.0, 0.0, 1.0)
    inside = (coords[:, 0] >= 0) & (coords[:, 0] <= 1) & (coords[:, 1] >= 0) & (coords[:, 1] <= 1)
    whole = feature_map(coords, density, labels)
    zoomed = feature_map(coords, density, labels, window=window)
    ids, x, y, _ = _points(zoomed)
    assert inside[ids].all() and len(ids) <= MAP_POINTS
    assert len(ids) > (inside[_points(whole)[0]]).sum() * 2  # the window shows far more of its own features than the whole map did
    density_cells = next(t for t in zoomed.data if t.type == "heatmap")
    assert np.nansum(np.asarray(density_cells.z, dtype=float)) == inside.sum()
    assert f"zoomed in: {int(inside.sum()):,} of 100,000 features in this window" in zoomed.layout.title.text
    assert tuple(zoomed.layout.xaxis.range) == (0.0, 1.0) and tuple(zoomed.layout.yaxis.range) == (0.0, 1.0)


def test_a_dragged_box_is_read_as_a_window():
    from ui.components import selection_box

    assert selection_box({"selection": {"points": [], "box": [{"type": "rect", "xref": "x", "yref": "y", "x": [2.5, -1.0], "y": [0.0, 3.0]}]}}) == (-1.0, 2.5, 0.0, 3.0)
    assert selection_box({"selection": {"points": [{"customdata": 4}], "box": []}}) is None  # a click is no window
    assert selection_box({"selection": {"box": [{"x": [1.0, 1.0], "y": [0.0, 3.0]}]}}) is None  # a box of no width
