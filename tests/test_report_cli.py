"""``python -m interp_core report RECIPE --out FILE.html``: shipped recipes of several families give
one offline HTML file with their family page's figures and numbers; mistakes exit 2 with one sentence."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from interp_core import cli, recipes
from interp_core.report import external_references

REPO_ROOT = Path(__file__).resolve().parent.parent


def run_report(tmp_path, *args: str, timeout: float = 180):
    env = {**os.environ, "INTERP_STORE": str(tmp_path / "empty-store"), "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "interp_core", "report", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def figure_blocks(text: str) -> list[str]:
    return re.findall(r"<figure class='figure'>", text)


# recipe -> words that must appear (its family page's global views and numbers)
CASES = {
    "digits-mlp": ["Training curve", "Embedding map", "Test accuracy", "Epochs (kept)"],
    "gunpoint-cnn": ["Deletion and insertion curves", "Class-average profile", "Explanation map", "published FCN"],
    "wine-rules": ["Surrogate tree", "Fidelity (held-out)", "Rules accuracy"],
    "toy-sae": ["explained variance (held-out)", "MMCS (toy ground truth)"],
    "breast-cancer-cbm": ["Training modes", "all concepts corrected"],
}


@pytest.mark.parametrize("name", list(CASES))
def test_report_of_a_shipped_recipe(tmp_path, name):
    out = tmp_path / f"{name}.html"
    done = run_report(tmp_path, name, "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    text = out.read_text(encoding="utf-8")
    assert result["recipe"] == name and Path(result["out"]) == out.resolve()
    assert result["bytes"] == out.stat().st_size
    assert result["figures"] > 0 and len(figure_blocks(text)) == result["figures"] == text.count('class="plotly-graph-div"')
    assert text.count("plotly.js v") == 1 and external_references(text) == []
    for word in CASES[name]:
        assert word in text, word
    manifest = recipes.load(name, device="cpu").manifest
    assert manifest["config_hash"] in text and manifest["created"] in text
    # the model's headline number as the report writes it: a table cell or a metric card
    accuracy = manifest["metrics"]["test_accuracy"]
    assert any(f"<td>{value}</td>" in text or f"<div class='value'>{value}</div>" in text for value in (f"{accuracy:.3f}", f"{accuracy:g}"))


def test_text_output_says_where_the_file_is(tmp_path):
    out = tmp_path / "r.html"
    done = run_report(tmp_path, "wine-mlp", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert f"written to {out.resolve()}" in done.stdout
    assert out.stat().st_size > 1_000_000


@pytest.mark.parametrize("args,phrase", [
    (["no-such-recipe", "--out", "{tmp}/r.html"], "Unknown recipe 'no-such-recipe'"),
    (["wine-rules", "--out", "{tmp}/missing/r.html"], "does not exist"),
    (["wine-rules", "--out", "{tmp}"], "should name an .html file"),
])
def test_mistakes_exit_2_with_one_sentence(tmp_path, args, phrase):
    done = run_report(tmp_path, *[a.format(tmp=tmp_path) for a in args], "--json")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and phrase in lines[0], done.stderr
    assert "error" in json.loads(done.stdout.strip().splitlines()[-1])
    assert not list(tmp_path.glob("**/*.html"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_read_only_folder_is_refused(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        done = run_report(tmp_path, "wine-mlp", "--out", str(folder / "r.html"))
    finally:
        folder.chmod(0o700)
    assert done.returncode == 2 and "no permission" in done.stderr


def test_an_untrained_recipe_is_refused(tmp_path, capsys):
    recipe = recipes.register(recipes.Recipe("report-test-untrained", "classifier", "wine", "mlp", {"hidden": [4]}, {"epochs": 1}, "never trained"))
    try:
        code = cli.main(["report", recipe.name, "--out", str(tmp_path / "r.html"), "--store", str(tmp_path / "store")])
    finally:
        recipes._RECIPES.pop(recipe.name, None)
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and "has not been trained yet" in err[-1]
    assert not (tmp_path / "r.html").exists()
