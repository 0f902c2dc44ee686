"""Plotly figure builders: a result in, a go.Figure out, no side effects and no computation
of explanations. Each builder has a one-line HOW_TO_READ entry the pages show under it."""

from interp_core.figures.common import HOW_TO_READ

__all__ = ["HOW_TO_READ"]
