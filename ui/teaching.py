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
from ui.tours import TOURS, tour_for

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
    size = (big.layout.font.size or 13) + 5  # a projector's back row: ticks and legends at 17-18 px
    title_size = (big.layout.title.font.size or 16) + 4
    margin = big.layout.margin
    legend_above = (big.layout.legend.y or 0) >= 1  # a legend above the plot grows up towards the title
    big.update_layout(font={"size": size}, hoverlabel={"font": {"size": size}},
                      title={"font": {"size": title_size}, "y": 1, "yref": "container", "yanchor": "top", "pad": {"t": 10}},
                      margin={"t": (margin.t if margin.t is not None else 50) + (35 if legend_above else 15)})
    # Streamlit's chart theme sets axis and legend fonts itself: enlarge those a builder left unset.
    for axis in [*big.select_xaxes(), *big.select_yaxes()]:
        axis.automargin = True  # larger tick labels get the room they need
        if axis.tickfont.size is None:
            axis.tickfont.size = size - 1
        if axis.title.font.size is None:
            axis.title.font.size = size
    if big.layout.legend.font.size is None:
        big.layout.legend.font.size = size - 1
    legend = big.layout.legend
    if legend.y is not None and legend.y < 0 and legend.yanchor == "top":
        # a legend under the plot moves down with the larger ticks and axis title (it overlapped "PCA 1")
        legend.y = legend.y * 1.4
        big.update_layout(margin={"b": (margin.b if margin.b is not None else 50) + 30})
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
.stMain [data-testid="stMetricLabel"] p { font-size: 1.2rem; }
.stMain [data-testid="stCaptionContainer"], .stMain [data-testid="stCaptionContainer"] p { font-size: 1.05rem; }
.stMain [data-testid="stExpander"] summary p, .stMain [data-baseweb="tab"] p { font-size: 1.2rem; }
.stMain [data-testid="stTable"] { font-size: 1.15rem; }
/* A table's grid is a canvas (CSS fonts do not reach it): zoom its container, 80% wide x 1.25 = the column's width */
.stMain [data-testid="stElementContainer"]:has([data-testid="stDataFrame"]) { zoom: 1.25; width: 80% !important; }
[data-testid="stSidebar"] [data-testid="stMarkdownContainer"] p { font-size: 1.05rem; }
.stMain h1 { font-size: 2.9rem; }
.stMain h2 { font-size: 2.1rem; }
.stMain h3 { font-size: 1.7rem; }
[data-testid="stToolbar"], [data-testid="stDecoration"] { display: none; }
</style>"""

# Every page, every mode: a metric card's label and value wrap onto a second line instead of being
# cut with an ellipsis ("TimeX published (IG / T…", "1.000…" in four columns at 1024 px or presenting).
BASE_CSS = """<style>
[data-testid="stMetricLabel"] .stMarkdownEllipsis, [data-testid="stMetricLabel"] p,
[data-testid="stMetricValue"], [data-testid="stMetricValue"] * { white-space: normal !important; overflow: visible; text-overflow: clip; }
</style>"""

TEACH_CSS = """<style>
[data-tour-step]::before {
  content: attr(data-tour-step); display: inline-flex; align-items: center; justify-content: center;
  min-width: 1.5em; height: 1.5em; margin-right: 0.45em; border-radius: 50%;
  background: #ff4b4b; color: #fff; font-size: 0.75em; font-weight: 700; vertical-align: middle;
}
[data-tour-kind="metric"], [data-tour-kind="label"] { position: relative; overflow: visible; }
[data-tour-kind="metric"]::before, [data-tour-kind="label"]::before { position: absolute; left: -1.75em; top: 0; }
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
      if (step.kind === "button" ? text === step.target : text.startsWith(step.target)) {
        return step.kind === "metric" ? (el.closest("[data-testid=stMetric]") || el) : el;  // badge the whole metric
      }
    }
    return null;
  }
  function apply() {
    const tour = w.__interpTour, doc = w.document;
    doc.querySelectorAll("[data-tour-step]").forEach(function (el) {
      el.removeAttribute("data-tour-step"); el.removeAttribute("data-tour-current"); el.removeAttribute("data-tour-kind");
    });
    if (!tour) return;
    tour.steps.forEach(function (step, i) {
      const el = find(doc, step);
      if (!el || el.hasAttribute("data-tour-step")) return;
      el.setAttribute("data-tour-step", String(i + 1));
      el.setAttribute("data-tour-kind", step.kind);
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


def _page_key(family: str | None) -> str:
    """The tour to show: the running page's own tour when it has one (Compare passes no family), else the family's."""
    page = st.session_state.get("_page_url_path")  # set by app.py from st.navigation's page
    return page if page in TOURS else (family or "home")


_WIDGET = {TEACH: "teach_switch", PRESENT: "present_switch"}


def _switched(key: str) -> None:
    # The URL keeps only a switch that is on (v_teach=True); off removes it, so links stay short.
    st.session_state[key] = True if st.session_state[_WIDGET[key]] else None


def controls(family: str | None) -> None:
    """The two switches, the styles they need and, in teaching mode, the page's tour (call inside st.sidebar)."""
    for key, widget in _WIDGET.items():
        if widget not in st.session_state:  # first run: the URL's value ("True" is a string there)
            st.session_state[widget] = _flag(key)
    st.toggle("Teaching mode", key=_WIDGET[TEACH], on_change=_switched, args=(TEACH,), help="Adds a teaching note and its source under every chart, and a guided tour of the page.")
    st.toggle("Presentation", key=_WIDGET[PRESENT], on_change=_switched, args=(PRESENT,), help="Larger fonts and fewer controls, for a projector.")
    st.html(BASE_CSS)
    if presenting():
        st.html(PRESENT_CSS)
    if teaching():
        st.html(TEACH_CSS)
        tour(_page_key(family))


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
