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
