"""`bench ui` without a browser: which pages and clicks it measures, and the JSON and table it gives,
with the browser's measurements stubbed (the real run takes minutes; its figures are in the README)."""

import json

import pytest

from interp_core.cli import bench
from interp_core.cli.main import main
from tools import bench_app
from ui.catalog import built_pages


class FakeTab:
    """Stands in for bench_app.Tab: each visit takes 2 s the first time, then 0.5 s."""

    def __init__(self):
        self.visits = []

    def visit(self, url):
        self.visits.append(url)
        return 2.0 if len(self.visits) == 1 else 0.5

    def exceptions(self):
        return 0


def test_every_page_is_measured_with_its_own_controls():
    plans = bench_app.page_plans()
    assert [p.name for p in plans] == ["Home", *[p.title for p in built_pages()], "Compare"]
    assert [p.path for p in plans[1:-1]] == [f"/{p.url_path}" for p in built_pages()]
    for page in built_pages():  # a new family page gets its map point and main control here
        names = [name for name, _ in bench_app.CLICKS[page.family]]
        assert names[0] == "example +1" and len(names) == 3, page.family
    assert [p.name for p in bench_app.page_plans(quick=True)] == ["Home"]


def test_a_page_row_keeps_clicks_that_ran_and_leaves_out_controls_the_page_lacks():
    plan = bench_app.PagePlan("Rules", "/rules", (("fast", lambda tab: 0.12345), ("did nothing", lambda tab: None), ("absent", lambda tab: False)))
    tab, steps = FakeTab(), []
    row = bench_app.measure_page(tab, "http://host", plan, steps.append)
    assert row == {"first_s": 2.0, "second_s": 0.5, "clicks": {"fast": 0.123, "did nothing": None}, "exceptions": 0}
    assert tab.visits == ["http://host/rules"] * 2
    assert len(steps) == 5  # two visits and three clicks, each a step of the progress bar


@pytest.fixture
def stubbed(monkeypatch):
    """bench ui with the browser process replaced by rows measured with FakeTab."""
    calls = []

    def fake_run(argv, bar=None):
        calls.append(argv)
        step = lambda label: None  # noqa: E731
        floor = bench_app.measure_page(FakeTab(), "http://floor", bench_app.PagePlan("floor", "/", (("example +1", lambda tab: 0.1),)), step)
        plans = [bench_app.PagePlan("Home", "/", (("example +1", lambda tab: 0.6), ("map point", lambda tab: None))), bench_app.PagePlan("Rules", "/rules", ())]
        pages = {p.name: bench_app.measure_page(FakeTab(), "http://app", p, step) for p in plans}
        return bench_app.ui_result(floor, pages, server_healthy_s=0.6, start_to_first_page_s=2.9)

    monkeypatch.setattr(bench, "_run_bench_app", fake_run)
    return calls


def test_bench_ui_json_has_pages_with_visits_and_clicks_and_the_floor(stubbed, capsys):
    assert main(["bench", "ui", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert stubbed == [["ui", stubbed[0][1]]]
    assert set(result["pages"]) == {"Home", "Rules"}
    for row in result["pages"].values():
        assert isinstance(row["first_s"], float) and isinstance(row["second_s"], float) and isinstance(row["clicks"], dict)
    assert result["pages"]["Home"]["clicks"] == {"example +1": 0.6, "map point": None}
    assert result["floor_s"] == 0.5 and result["floor_click_s"] == 0.1
    assert len(result["load_avg"]) == 3 and result["cpu_count"] >= 1


def test_bench_ui_prints_seconds_and_ratios_to_the_floor(stubbed, capsys):
    assert main(["bench", "ui", "--quick"]) == 0
    assert stubbed[0][-1] == "--quick"
    out = capsys.readouterr().out
    home = next(line for line in out.splitlines() if line.startswith("Home"))
    # first visit 2 s against the floor's 2 s, second 0.5 s against 0.5 s, a click 0.6 s against 0.1 s (over the 0.3 s goal)
    assert "2.00 s (1.0x)" in home and "0.50 s (1.0x)" in home
    assert "example +1 0.60 s (6.0x)*" in home and "map point no rerun*" in home
    assert "to the first page rendered 2.90 s (goal 3 s)" in out


def test_script_runs_time_the_server_s_part_of_a_page_in_process(tmp_path, monkeypatch):
    """bench ui's server column: Home's script run (a real AppTest run) and the charts it draws."""
    monkeypatch.setenv("INTERP_STORE", str(tmp_path / "store"))
    rows = bench_app.script_runs(tmp_path / "store", bench_app.page_plans(quick=True), runs=1)
    assert list(rows) == ["Home"]
    assert 0 < rows["Home"]["script_s"] < 60 and rows["Home"]["charts"] >= 2  # the training curve and the map
