"""Teaching mode and presentation mode: two sidebar switches that live in the URL (v_teach,
v_present).

Teaching mode adds under every chart a short teaching note with the paper or tool it comes from
(interp_core.figures.teaching.TEACHING) and shows the page's guided tour (ui.tours.TOURS) in the
sidebar, with numbered badges on the parts of the page it points at. Presentation mode enlarges
text and chart fonts and hides secondary controls (store path, device, Plotly's toolbar).
"""

from __future__ import annotations

import json

import plotly.graph_objects as go
import streamlit as st

from interp_core.figures.teaching import TEACHING
from ui.tours import tour_for

TEACH = "v_teach"
PRESENT = "v_present"
_TRUE = {"true", "1", "on", "yes"}


def _flag(key: str) -> bool:
    value = st.session_state.get(key)
    return value is True or str(value).strip().lower() in _TRUE


def teaching() -> bool:
    return _flag(TEACH)


def presenting() -> bool:
    return _flag(PRESENT)


# -- under each chart -----------------------------------------------------------------------------
def note(how_to_read: str) -> None:
    """The teaching note and its source under a chart (teaching mode only)."""
    if not teaching():
        return
    entry = TEACHING.get(how_to_read)
    if entry is None:
        return
    st.info(f"**Teaching note.** {entry['note']}  \n*Source:* {entry['source']}", icon=":material/school:")


def present_figure(fig: go.Figure) -> go.Figure:
    """A copy of the figure with larger fonts for presenting; the figure itself unchanged otherwise."""
    if not presenting():
        return fig
    big = go.Figure(fig)
    size = (big.layout.font.size or 13) + 3
    title_size = (big.layout.title.font.size or 16) + 3
    margin = big.layout.margin
    legend_above = (big.layout.legend.y or 0) >= 1  # a legend above the plot grows up towards the title
    big.update_layout(font={"size": size}, hoverlabel={"font": {"size": size}},
                      title={"font": {"size": title_size}, "y": 1, "yref": "container", "yanchor": "top", "pad": {"t": 10}},
                      margin={"t": (margin.t if margin.t is not None else 50) + (35 if legend_above else 15)})
    big.update_annotations(font_size=size - 2)
    if big.layout.height:
        big.update_layout(height=int(big.layout.height * 1.1))
    return big


def plotly_config(config: dict) -> dict:
    return {**config, "displayModeBar": False} if presenting() else config


# -- sidebar ---------------------------------------------------------------------------------------
PRESENT_CSS = """<style>
html { font-size: 18px; }
[data-testid="stMainBlockContainer"] { padding-left: 2.5rem; padding-right: 2.5rem; max-width: none; }
.stMain [data-testid="stMetricValue"], .stMain [data-testid="stMetricValue"] * { font-size: 2.4rem !important; }
.stMain [data-testid="stMarkdownContainer"] p, .stMain [data-testid="stMarkdownContainer"] li { font-size: 1.15rem; }
[data-testid="stSidebar"] [data-testid="stMarkdownContainer"] p { font-size: 1.05rem; }
.stMain h1 { font-size: 2.9rem; }
.stMain h2 { font-size: 2.1rem; }
.stMain h3 { font-size: 1.7rem; }
[data-testid="stToolbar"], [data-testid="stDecoration"] { display: none; }
</style>"""

TEACH_CSS = """<style>
[data-tour-step]::before {
  content: attr(data-tour-step); display: inline-flex; align-items: center; justify-content: center;
  min-width: 1.5em; height: 1.5em; margin-right: 0.45em; border-radius: 50%;
  background: #ff4b4b; color: #fff; font-size: 0.75em; font-weight: 700; vertical-align: middle;
}
[data-tour-current] { outline: 3px solid #ff4b4b; outline-offset: 4px; border-radius: 4px; }
</style>"""

# Runs in the page: numbers the parts the tour points at (again every 0.7 s, since Streamlit
# redraws elements), outlines the current one and scrolls to it once when the step changes.
# It only sets data attributes; TEACH_CSS (present only in teaching mode) makes them visible.
TOUR_JS = """<script>
(function () {
  const w = window;
  w.__interpTour = %s;
  const selectors = {heading: "h1, h2, h3, h4", label: "[data-testid=stWidgetLabel]",
                     metric: "[data-testid=stMetricLabel]", button: "button"};
  function find(doc, step) {
    const scope = step.kind === "label" ? doc : (doc.querySelector("[data-testid=stMain]") || doc);
    for (const el of scope.querySelectorAll(selectors[step.kind] || selectors.heading)) {
      const text = (el.textContent || "").trim();
      if (step.kind === "button" ? text === step.target : text.startsWith(step.target)) return el;
    }
    return null;
  }
  function apply() {
    const tour = w.__interpTour, doc = w.document;
    doc.querySelectorAll("[data-tour-step]").forEach(function (el) {
      el.removeAttribute("data-tour-step"); el.removeAttribute("data-tour-current");
    });
    if (!tour) return;
    tour.steps.forEach(function (step, i) {
      const el = find(doc, step);
      if (!el || el.hasAttribute("data-tour-step")) return;
      el.setAttribute("data-tour-step", String(i + 1));
      if (i === tour.current) el.setAttribute("data-tour-current", "1");
    });
    if (tour.scroll && w.__interpTourScrolled !== tour.scroll) {
      const current = doc.querySelector("[data-tour-current]");
      if (current) { current.scrollIntoView({behavior: "smooth", block: "center"}); w.__interpTourScrolled = tour.scroll; }
    }
  }
  if (!w.__interpTourTimer) w.__interpTourTimer = w.setInterval(apply, 700);
  apply();
})();
</script>"""


def _step_key(page: str) -> str:
    return f"_tour_step_{page}"


def _move(page: str, delta: int, n_steps: int) -> None:
    key = _step_key(page)
    st.session_state[key] = min(max(int(st.session_state.get(key, 0)) + delta, 0), n_steps - 1)
    st.session_state["_tour_moves"] = st.session_state.get("_tour_moves", 0) + 1
    st.session_state["_tour_scroll"] = st.session_state["_tour_moves"]


def controls(family: str | None) -> None:
    """The two switches, the styles they need and, in teaching mode, the page's tour (call inside st.sidebar)."""
    for key in (TEACH, PRESENT):  # a URL gives strings ("True"); the toggles need booleans
        st.session_state[key] = _flag(key)
    st.toggle("Teaching mode", key=TEACH, help="Adds a teaching note and its source under every chart, and a guided tour of the page.")
    st.toggle("Presentation", key=PRESENT, help="Larger fonts and fewer controls, for a projector.")
    if presenting():
        st.html(PRESENT_CSS)
    if teaching():
        st.html(TEACH_CSS)
        tour(family or "home")


def tour(page: str) -> None:
    steps = tour_for(page)
    if not steps:
        return
    key = _step_key(page)
    current = min(max(int(st.session_state.get(key, 0)), 0), len(steps) - 1)
    step = steps[current]
    with st.container(border=True, key=f"tour_{page}"):
        st.markdown(f"**Guided tour** · step {current + 1} of {len(steps)}")
        st.markdown(f"**{current + 1}. {step.title}**  \n{step.text}")
        back, forward = st.columns(2)
        back.button("Back", key=f"tour_back_{page}", on_click=_move, args=(page, -1, len(steps)), disabled=current == 0, width="stretch")
        forward.button("Next", key=f"tour_next_{page}", on_click=_move, args=(page, 1, len(steps)), disabled=current == len(steps) - 1, width="stretch")
        st.caption(" · ".join(f"{i + 1} {s.title}" for i, s in enumerate(steps)))
    scroll = st.session_state.pop("_tour_scroll", None)
    config = {"steps": [{"target": s.target, "kind": s.kind} for s in steps], "current": current, "scroll": scroll}
    st.html(TOUR_JS % json.dumps(config), unsafe_allow_javascript=True)
