"""`python -m interp_core explain rules`: the issue's JSON keys, user CSVs, and one-sentence errors."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from interp_core import cli
from interp_core.families.rules.data import make_rule_table

KEYS = {"blackbox_accuracy", "surrogate_accuracy", "fidelity", "n_rules", "top_features", "rules"}


def run(capsys, *argv):
    code = cli.main(["explain", "rules", *argv])
    out, err = capsys.readouterr()
    return code, (json.loads(out.strip().splitlines()[-1]) if out.strip() else None), err


def test_explain_a_shipped_recipe_as_json(interp_store_env, capsys):
    code, result, _ = run(capsys, "synthetic-rules", "--k", "4", "--depth", "2", "--json")
    assert code == 0 and KEYS <= set(result)
    assert result["k"] == 4 and result["depth"] == 2 and len(result["top_features"]) == 4
    assert result["n_rules"] == len(result["rules"]) and all("→" in r for r in result["rules"])
    assert 0.5 < result["fidelity"] <= 1 and result["rulelist"]["n_rules"] >= 1


def test_explain_prints_readable_rules_without_json(interp_store_env, capsys):
    code = cli.main(["explain", "rules", "wine-rules"])
    out = capsys.readouterr().out
    assert code == 0 and "fidelity" in out and "→" in out and "top features:" in out


def test_explain_a_user_csv(tmp_path, interp_store_env, capsys):
    X, y, names, truth = make_rule_table(n_samples=400, n_features=8, seed=5)
    frame = pd.DataFrame(X, columns=names).assign(label=y)
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    code, result, _ = run(capsys, "--data", str(path), "--target", "label", "--k", "3", "--depth", "3", "--json")
    assert code == 0 and KEYS <= set(result)
    assert result["recipe"] == "user-table-rules" and result["n_test"] == 100
    assert set(result["top_features"]) <= set(names)


@pytest.mark.parametrize("argv,message", [
    (["wine-rules", "--data", "x.csv"], "either a RECIPE or --data"),
    (["wine-rules", "--k", "0"], "k must be between 1 and 13"),
    (["wine-rules", "--depth", "50"], "depth must be between"),
    ([], "needs a RECIPE"),
])
def test_mistakes_are_one_sentence_and_exit_2(interp_store_env, capsys, argv, message):
    code, result, err = run(capsys, *argv, "--json")
    assert code == 2 and message in err and message in result["error"]
    assert "Traceback" not in err


def test_a_series_recipe_is_refused_in_one_sentence(interp_store_env, capsys):
    from interp_core import recipes
    from interp_core.store import SHIPPED_ROOT

    series = [r.name for r in recipes.list_recipes() if r.arch == "fcn" and (SHIPPED_ROOT / r.name).is_dir()]
    if not series:
        pytest.skip("no shipped time-series recipe to try")
    code, result, err = run(capsys, series[0], "--json")
    assert code == 2 and "tables and small images" in result["error"]
