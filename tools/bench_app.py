"""The browser part of ``python -m interp_core bench``, run as a process by the engine's bench command
(the engine never imports the app); prints one JSON object as its last stdout line.

``python -m tools.bench_app STORE_ROOT``: server start to Home rendered, and each page's first render
(the figures of ``bench`` without a target).

``python -m tools.bench_app ui STORE_ROOT [--quick]``: ``bench ui``. Each page's first and second visit
and a set of clicks per page (the sidebar's example box, a map point where the page has a map, the
page's main control), beside the floor: a bare Streamlit page with one Plotly chart, served and measured
the same way in the same run. ``--quick``: the floor and Home only. Progress goes to stderr as
``progress DONE TOTAL LABEL`` lines, which the CLI turns into a bar.

How a time is taken. An init script in every tab watches the DOM (a MutationObserver), the app's
script state (``data-test-script-state`` on ``stApp``) and the messages from the server. A visit
ends, and a click's time is counted up to, the last DOM change before the page is settled: the
script has run (for a click, a rerun started or a message came after the input), no skeleton or
running indicator is left, every visible Plotly chart has drawn, and nothing has changed for
``QUIET_MS``. A visit counts from navigation start (what a user
waits for after pressing Enter); a click from the browser's pointerdown or keydown. Plotly's hover
layer is ignored, and the mouse leaves the chart after a click.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

QUIET_MS = 800  # nothing changed on the page for this long: it has settled (reruns chained by the app start sooner)
NO_RERUN_S = 15  # a click that starts no rerun in this long did nothing (counted as None)
TIMEOUT_MS = 240_000  # the slowest first visit on a busy 2-core machine stays well under this

PROBE_JS = """(() => {
  if (window.__bench) return;
  const B = window.__bench = {armed: false, t0: null, runs: 0, runs0: 0, last: 0, state: null};
  const input = () => { if (B.armed && B.t0 === null) B.t0 = performance.now(); };
  // A message from the server also counts as a run: a rerun of a tiny script can start and finish
  // within one frame, and then the script state is never drawn as 'running'.
  const Socket = window.WebSocket;
  window.WebSocket = class extends Socket {
    constructor(...args) { super(...args); this.addEventListener('message', () => { B.runs += 1; B.last = performance.now(); }); }
  };
  window.addEventListener('pointerdown', input, true);
  window.addEventListener('keydown', input, true);
  new MutationObserver((records) => {
    const now = performance.now();
    for (const r of records) {
      const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      if (el && el.closest && el.closest('.hoverlayer')) continue;  // Plotly's hover labels follow the mouse
      B.last = now;
      break;
    }
    const app = document.querySelector('[data-testid=stApp]');
    const state = app ? app.getAttribute('data-test-script-state') : null;
    if (state !== B.state) { if (state === 'running') B.runs += 1; B.state = state; }
  }).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
})()"""

SETTLED_JS = """(quiet) => {
  const B = window.__bench;
  if (!B || B.runs <= B.runs0) return false;
  const app = document.querySelector('[data-testid=stApp]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid=stSkeleton], [data-testid=stStatusWidget]')) return false;
  const charts = document.querySelectorAll('[data-testid=stPlotlyChart]');
  for (const c of charts) if (c.offsetParent !== null && !c.querySelector('.main-svg')) return false;
  return performance.now() - B.last >= quiet;
}"""

FLOOR_APP = '''"""The floor of bench ui: a bare Streamlit page with one Plotly chart and a number box."""
import numpy as np
import plotly.graph_objects as go
import streamlit as st

example = st.sidebar.number_input("Example", 0, 449, key="example")
st.title("Floor")
points = np.random.default_rng(0).normal(size=(450, 2))
st.plotly_chart(go.Figure(go.Scatter(x=points[:, 0], y=points[:, 1], mode="markers")), key="floor_map", on_select="rerun", selection_mode="points")
st.write(f"Example {example}")
'''


# -- the browser side: a tab that measures -----------------------------------------------------------

class Tab:
    """One browser context with the probe installed; ``visit`` and ``click`` return seconds."""

    def __init__(self, browser, width: int = 1400, height: int = 1000):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.context.add_init_script(PROBE_JS)
        self.page = self.context.new_page()

    def visit(self, url: str) -> float:
        """Navigation start to the page settled."""
        self.page.goto(url)
        self.page.wait_for_function(SETTLED_JS, arg=QUIET_MS, timeout=TIMEOUT_MS, polling=50)
        return self.page.evaluate("window.__bench.last") / 1000

    def input(self, act: Callable[[], None]) -> float | None:
        """Arm the probe, make the user's input (``act``), and time it to the page settled after the
        rerun it started; None when it started no rerun (the control did nothing)."""
        self.page.evaluate("(() => { const B = window.__bench; B.armed = true; B.t0 = null; B.runs0 = B.runs; })()")
        act()
        self.page.mouse.move(1, 1)  # off any chart: no hover label keeps changing the page
        try:
            self.page.wait_for_function("() => { const B = window.__bench; return B.runs > B.runs0; }", timeout=NO_RERUN_S * 1000, polling=20)
        except Exception as exc:  # playwright's TimeoutError: the input started no rerun
            if "Timeout" not in type(exc).__name__:
                raise
            return None
        self.page.wait_for_function(SETTLED_JS, arg=QUIET_MS, timeout=TIMEOUT_MS, polling=50)
        t0, last = self.page.evaluate("[window.__bench.t0, window.__bench.last]")
        return None if t0 is None else max(last - t0, 0.0) / 1000

    def exceptions(self) -> int:
        """Error boxes of exceptions on the page now (a measurement of a broken page is no measurement)."""
        return self.page.locator("[data-testid=stException]").count()

    def close(self) -> None:
        self.context.close()


# -- the clicks: each finds its control and returns False when the page has none ---------------------

def example_box(tab: Tab) -> float | None | bool:
    """The sidebar's example box, one step up."""
    box = tab.page.locator("[data-testid=stSidebar] [data-testid=stNumberInput]")
    if box.count() == 0:
        return False
    button = box.first.locator("[data-testid=stNumberInputStepUp]")
    return tab.input(lambda: button.click())


def map_point(key: str, trace: int | None = None, nth: int = 7, at: tuple[float, float] = (0.5, 0.5)) -> Callable[[Tab], float | None | bool]:
    """A point of the chart drawn with a key starting with ``key``: its ``nth`` SVG marker (in trace
    ``trace``, else any); on a chart without SVG markers (WebGL, bars), the plot area at ``at``
    (fractions of its width and height from the top left)."""

    def click(tab: Tab):
        chart = tab.page.locator(f"[class*='st-key-{key}'] [data-testid=stPlotlyChart]")
        if chart.count() == 0:
            return False
        chart.first.scroll_into_view_if_needed()
        traces = chart.first.locator(".scatterlayer .trace")
        points = (traces.nth(trace) if trace is not None else traces).locator(".points path")
        if points.count():
            point = points.nth(min(nth, points.count() - 1))
            point.scroll_into_view_if_needed()
            return tab.input(lambda: point.click(force=True))
        area = chart.first.locator(".nsewdrag").first.bounding_box()
        if area is None:
            return False
        return tab.input(lambda: tab.page.mouse.click(area["x"] + at[0] * area["width"], area["y"] + at[1] * area["height"]))

    return click


def radio_other(label: str) -> Callable[[Tab], float | None | bool]:
    """The first option not chosen of the radio labelled ``label``."""

    def click(tab: Tab):
        radio = tab.page.locator("[data-testid=stRadio]").filter(has_text=label)
        if radio.count() == 0:
            return False
        option = radio.first.locator("label").filter(has=tab.page.locator("input:not(:checked)"))
        if option.count() == 0:
            return False
        return tab.input(lambda: option.first.click())

    return click


def segment(label: str) -> Callable[[Tab], float | None | bool]:
    """The segmented control's button ``label``."""

    def click(tab: Tab):
        button = tab.page.locator("[data-testid=stButtonGroup] button").filter(has_text=label)
        if button.count() == 0:
            return False
        return tab.input(lambda: button.first.click())

    return click


def pick_other(widget: str, label: str) -> Callable[[Tab], float | None | bool]:
    """The first option not chosen in the list of the ``widget`` (stSelectbox, stMultiSelect: a
    react-aria combobox) labelled ``label``."""

    def click(tab: Tab):
        box = tab.page.locator(f"[data-testid={widget}]").filter(has_text=label)
        if box.count() == 0:
            return False
        option = tab.page.locator("[role=option][aria-selected=false]").first
        for attempt in range(3):  # a rerun that lands while the list opens closes it again
            box.first.get_by_role("combobox").click()
            try:
                option.wait_for(timeout=10_000)
                break
            except Exception:
                if attempt == 2:
                    raise
        seconds = tab.input(lambda: option.click())
        if tab.page.locator("[role=listbox]").count():  # a multiselect keeps its list open
            tab.page.keyboard.press("Escape")
        return seconds

    return click


def slider_step(label: str) -> Callable[[Tab], float | None | bool]:
    """The slider labelled ``label``, one step right (the arrow key)."""

    def click(tab: Tab):
        slider = tab.page.locator("[data-testid=stSlider]").filter(has_text=label).get_by_role("slider")
        if slider.count() == 0:
            return False
        slider.first.focus()
        return tab.input(lambda: tab.page.keyboard.press("ArrowRight"))

    return click


@dataclass(frozen=True)
class PagePlan:
    name: str  # the page's title, the key in the result
    path: str  # after the server's address
    clicks: tuple[tuple[str, Callable[[Tab], float | None | bool]], ...]


EXAMPLE = ("example +1", example_box)
# What each page is measured with: the sidebar's example box, a map point, the page's main control.
# The charts are found by their keys, the controls by their labels (the ones the page tests use).
CLICKS = {
    "home": (EXAMPLE, ("map point", map_point("home_map_")), ("map UMAP/PCA", radio_other("Map"))),
    "prototypes": (EXAMPLE, ("map point", map_point("proto_map_", trace=1, nth=3)), ("learned → pushed", radio_other("Prototypes shown"))),
    "sae": (EXAMPLE, ("map point", map_point("sae_map_", trace=1, nth=17)), ("view → Quality", segment("Quality"))),
    "concepts": (EXAMPLE, ("map point", map_point("ex_map_", nth=5)), ("TCAV class", pick_other("stSelectbox", "Class"))),
    "timeseries": (EXAMPLE, ("map point", map_point("ts_map_", nth=40)), ("add a method", pick_other("stMultiSelect", "Methods side by side"))),
    "rules": (EXAMPLE, ("map point", map_point("rules_scatter_", nth=25)), ("depth +1", slider_step("Depth"))),
    "mechanisms": (EXAMPLE, ("map point", map_point("mech_neurons_", nth=5, at=(0.2, 0.5))), ("pair", map_point("mech_activation_", nth=100, at=(0.3, 0.6)))),
    "compare": (EXAMPLE, ("family", pick_other("stSelectbox", "Family"))),
}


def page_plans(quick: bool = False) -> list[PagePlan]:
    """Home, every built family page and Compare, in the app's order; a page without a plan above gets
    the example box."""
    from ui.catalog import built_pages

    plans = [PagePlan("Home", "/", CLICKS["home"])]
    if quick:
        return plans
    plans += [PagePlan(p.title, f"/{p.url_path}", CLICKS.get(p.family, (EXAMPLE,))) for p in built_pages()]
    return plans + [PagePlan("Compare", "/compare", CLICKS["compare"])]


FLOOR = PagePlan("floor", "/", (EXAMPLE, ("map point", map_point("floor_map", nth=7))))


def measure_page(tab: Tab, base_url: str, plan: PagePlan, step: Callable[[str], None]) -> dict:
    """First and second visit, then each click in turn: ``{"first_s", "second_s", "clicks", "exceptions"}``;
    a click whose control the page does not show is left out, one that started no rerun is None;
    ``exceptions``: the most exception boxes the page showed after a visit or a click (0 when it worked)."""
    url = base_url + plan.path
    first = tab.visit(url)
    exceptions = tab.exceptions()
    step(f"{plan.name}: first visit")
    second = tab.visit(url)
    exceptions = max(exceptions, tab.exceptions())
    step(f"{plan.name}: second visit")
    clicks = {}
    for name, click in plan.clicks:
        try:
            seconds = click(tab)
        except Exception as exc:  # a control that moved or changed its markup: no figure, the run goes on
            print(f"bench ui: {plan.name}: '{name}' could not be made ({str(exc).splitlines()[0][:160]})", file=sys.stderr, flush=True)
            seconds = None
        if seconds is not False:
            clicks[name] = None if seconds is None else round(seconds, 3)
            exceptions = max(exceptions, tab.exceptions())
        step(f"{plan.name}: {name}")
    return {"first_s": round(first, 3), "second_s": round(second, 3), "clicks": clicks, "exceptions": exceptions}


def ui_result(floor: dict, pages: dict, server_healthy_s: float, start_to_first_page_s: float) -> dict:
    """The JSON of ``bench ui``: ``pages`` and ``floor_s`` (the floor's second visit), and beside them the
    floor's own row, the server's start and the machine (cores, load)."""
    return {
        "pages": pages,
        "floor_s": floor["second_s"],
        "floor_click_s": floor["clicks"].get(EXAMPLE[0]),
        "floor": floor,
        "server_healthy_s": round(server_healthy_s, 3),
        "start_to_first_page_s": round(start_to_first_page_s, 3),
        "cpu_count": os.cpu_count(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "goals": {"second_visit_s": 1.0, "click_s": 0.3, "start_to_first_page_s": 3.0},
    }


def bench_ui(store_root: Path, quick: bool = False) -> dict:
    from playwright.sync_api import sync_playwright

    from tools.apprunner import REPO, AppServer, launch_browser

    plans = page_plans(quick)
    total = (2 + len(FLOOR.clicks) + 1) + 1 + sum(2 + len(p.clicks) for p in plans) + 1  # floor, server, pages, done
    done = 0

    def step(label: str) -> None:
        nonlocal done
        done += 1
        print(f"progress {done} {total} {label}", file=sys.stderr, flush=True)

    load_before = os.getloadavg()
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        try:
            with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
                script = Path(tmp) / "floor.py"
                script.write_text(FLOOR_APP)
                server = AppServer(Path(tmp) / "store", script=script)
                try:
                    server.wait_healthy()
                    tab = Tab(browser)
                    floor = measure_page(tab, server.url, FLOOR, step)
                    tab.close()
                finally:
                    server.stop()
            step("floor measured")
            start = time.perf_counter()
            server = AppServer(store_root, script=REPO / "serve.py")  # as `make run` serves it: the engine imported while the server starts
            try:
                healthy = server.wait_healthy()
                step("app server healthy")
                pages = {}
                tab = Tab(browser)
                for plan in plans:
                    opened = time.perf_counter()
                    pages[plan.name] = measure_page(tab, server.url, plan, step)
                    if plan is plans[0]:
                        start_to_first = opened - start + pages[plan.name]["first_s"]
                tab.close()
            finally:
                server.stop()
            step("done")
        finally:
            browser.close()
    for name, row in script_runs(store_root, plans).items():
        pages[name].update(row)
    result = ui_result(floor, pages, healthy, start_to_first)
    result["load_avg_before"] = [round(x, 2) for x in load_before]
    return result


def script_runs(store_root: Path, plans: list[PagePlan], runs: int = 3) -> dict:
    """The server's part of a visit: each page's script run in-process (streamlit.testing, the same
    store), the fastest of ``runs`` reruns after the page's first run, and how many Plotly charts it
    draws. ``{page: {"script_s", "charts"}}``: beside a visit's seconds it says how much of them is
    the server (the rest is the browser loading the frontend and drawing the charts)."""
    from streamlit.testing.v1 import AppTest

    from tools.apprunner import REPO
    from ui.catalog import built_pages

    os.environ["INTERP_STORE"] = str(store_root)
    files = {"/": None, "/compare": "views/compare.py", **{f"/{p.url_path}": p.path for p in built_pages()}}
    out = {}
    for plan in plans:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
        at.run()
        if files.get(plan.path):
            at.switch_page(files[plan.path])
            at.run()
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - start)
        out[plan.name] = {"script_s": round(min(times), 3), "charts": len(at.get("plotly_chart"))}
    return out


# -- bench (no target): server start and each page's first render -------------------------------------

def bench_browser(store_root: Path) -> dict:
    from playwright.sync_api import sync_playwright

    from tools.apprunner import AppPage, AppServer, launch_browser
    from ui.catalog import built_pages

    start = time.perf_counter()
    server = AppServer(store_root)
    try:
        healthy = server.wait_healthy()
        with sync_playwright() as playwright:
            browser = launch_browser(playwright)
            tab = AppPage(browser)
            tab.open(server.url)
            home_rendered = time.perf_counter() - start
            tab.close()
            pages = {"home (second visit)": round(_time_page(browser, server.url, AppPage), 3)}
            for page in built_pages():
                pages[page.title] = round(_time_page(browser, f"{server.url}/{page.url_path}", AppPage), 3)
            browser.close()
    finally:
        server.stop()
    return {"server_healthy_s": round(healthy, 3), "start_to_home_rendered_s": round(home_rendered, 3), "page_first_render_s": pages}


def _time_page(browser, url: str, page_cls) -> float:
    tab = page_cls(browser)
    try:
        return tab.open(url)
    finally:
        tab.close()


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["ui"]:
            result = bench_ui(Path(argv[1]), quick="--quick" in argv[2:])
        else:
            result = bench_browser(Path(argv[0]))
    except ImportError:
        result = {"skipped": "playwright is not installed (it comes with requirements-test.txt)"}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
