"""Several users at once: six browser sessions on different pages, loaded at the same time, one of them
training; the other five keep changing their example until the training has finished (two rounds at
least), with no errors, no state leaking between sessions, and every page still responding."""

import time

import pytest

from tools.apprunner import AppPage
from ui.catalog import built_pages

pytestmark = pytest.mark.browser
MAX_TRAINING_S = 180  # the sessions keep clicking while the training runs, and stop when it has finished
SESSIONS = 6


def _set_example(tab: AppPage, value: int) -> float:
    """Type an example number in the sidebar and time the rerun until the page has settled."""
    start = time.perf_counter()
    box = tab.page.locator("[data-testid=stSidebar]").get_by_role("spinbutton")
    if box.count() == 0:
        tab.page.reload()
    else:
        box.first.fill(str(value))
        box.first.press("Enter")
    tab.wait_ready(timeout_ms=60_000)
    return time.perf_counter() - start


def test_six_sessions_for_a_minute_one_training(server, browser):
    paths = [""] + [p.url_path for p in built_pages()]
    tabs = [AppPage(browser, height=1400) for _ in range(SESSIONS)]  # separate contexts: separate sessions
    try:
        for i, tab in enumerate(tabs):  # all six load at once: the server serves six new sessions together
            tab.page.goto(f"{server.url}/{paths[i % len(paths)]}?recipe=digits-mlp" if i == 0 else f"{server.url}/{paths[i % len(paths)]}", wait_until="commit")
        for tab in tabs:
            tab.wait_ready()
        trainer = tabs[0]
        trainer.page.get_by_role("button", name="Train", exact=True).click()  # session 0 trains digits-mlp
        latencies: list[float] = []
        expected: dict[int, int] = {}
        trained = trainer.page.get_by_text("Trained digits-mlp")
        deadline = time.time() + MAX_TRAINING_S
        round_ = 0
        while round_ < 2 or (trained.count() == 0 and time.time() < deadline):  # every round but the last overlaps the training
            round_ += 1
            for i, tab in enumerate(tabs[1:], start=1):
                value = (i * 7 + round_) % 40  # each session picks its own example
                latencies.append(_set_example(tab, value))
                if tab.page.locator("[data-testid=stSidebar]").get_by_role("spinbutton").count():
                    expected[i] = value
        trained.wait_for(timeout=1_000)
        trainer.wait_ready()
        # no session sees another's selection: each still shows the example it chose last
        for i, value in expected.items():
            box = tabs[i].page.locator("[data-testid=stSidebar]").get_by_role("spinbutton").first
            assert box.input_value() == str(value), f"session {i} shows {box.input_value()}, expected its own {value}"
            assert f"example={value}" in tabs[i].page.url
        problems = {i: tab.problems() for i, tab in enumerate(tabs) if tab.problems()}
        assert problems == {}
        assert round_ >= 2 and len(latencies) >= 10
        assert max(latencies) < 45, f"a page took {max(latencies):.1f} s to respond"
    finally:
        for tab in tabs:
            tab.close()
