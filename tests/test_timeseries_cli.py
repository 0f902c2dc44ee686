"""`python -m interp_core explain attributions`: scores a user NPZ with masks, explains a shipped
recipe, and turns user mistakes into one sentence and exit code 2."""

import json

import numpy as np
import pytest

from interp_core import cli
from interp_core.families.timeseries import data as tsdata
from interp_core.families.timeseries.explain import report as tsreport
from interp_core.families import timeseries as family
from interp_core.store import SHIPPED_ROOT, Store


@pytest.fixture
def quick(monkeypatch):
    """Few epochs and few scored series: these tests check the plumbing, the shipped models the quality."""
    monkeypatch.setitem(family.DEFAULT_USER_RECIPE, "train_config", {"epochs": 6, "batch_size": 16, "lr": 3e-3, "patience": 6, "val_fraction": 0.2})
    monkeypatch.setattr(tsreport, "REPORT_EXAMPLES", 24)


def run(capsys, *argv) -> tuple[int, dict, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    lines = [line for line in out.strip().splitlines() if line.strip()]
    return code, (json.loads(lines[-1]) if lines else {}), err


def test_a_user_npz_with_masks_is_trained_on_and_every_method_scored(tmp_path, capsys, quick, interp_store_env):
    X, y, mask = tsdata.freq_shapes(160, seed=5)
    path = tmp_path / "spikes.npz"
    np.savez(path, X=X[:, 0, :], y=y, mask=mask[:, 0, :])  # (n, t): a univariate file
    code, result, err = run(capsys, "explain", "attributions", "--data", str(path), "--methods", "ig,occlusion,random", "--json")
    assert code == 0, err
    assert 0.0 <= result["test_accuracy"] <= 1.0
    assert list(result["methods"]) == ["integrated_gradients", "occlusion", "random"]
    for scores in result["methods"].values():
        assert set(scores) == {"auprc", "aup", "aur", "deletion_auc", "insertion_auc"}
        assert all(0.0 <= v <= 1.0 for v in scores.values())
    assert result["has_ground_truth"] is True and result["n_series"] == 24
    assert Store(interp_store_env).exists("user-spikes-fcn")  # the trained model is kept


def test_a_file_without_masks_gets_faithfulness_only(tmp_path, capsys, quick, interp_store_env):
    X, y, _ = tsdata.low_var(120, seed=1)
    path = tmp_path / "plain.npz"
    np.savez(path, X=X, y=y)
    code, result, err = run(capsys, "explain", "attributions", "--data", str(path), "--methods", "saliency", "--json")
    assert code == 0, err
    assert set(result["methods"]["saliency"]) == {"deletion_auc", "insertion_auc"}


def test_a_shipped_recipe_is_explained_without_retraining(capsys, quick, interp_store_env):
    code, result, err = run(capsys, "explain", "attributions", "lowvar-cnn", "--methods", "deeplift", "--json")
    assert code == 0, err
    shipped = Store(SHIPPED_ROOT, readonly=True).open("lowvar-cnn").manifest
    assert result["test_accuracy"] == shipped["metrics"]["test_accuracy"]
    assert result["methods"]["deeplift"]["auprc"] > 0.5
    assert not Store(interp_store_env).exists("lowvar-cnn")


@pytest.mark.parametrize("argv,message", [
    (["explain", "attributions", "lowvar-cnn", "--methods", "ig,lime"], "Unknown attribution method 'lime'"),
    (["explain", "attributions"], "needs a RECIPE"),
    (["explain", "attributions", "wine-mlp"], "needs a time-series recipe"),
    (["explain", "attributions", "lowvar-cnn", "--data", "x.npz"], "either a RECIPE or --data"),
])
def test_mistakes_are_one_sentence_and_exit_2(capsys, interp_store_env, argv, message):
    code, result, err = run(capsys, *argv, "--json")
    assert code == 2
    assert message in err and message in result["error"]
    assert "Traceback" not in err


def test_images_are_not_series(tmp_path, capsys, interp_store_env):
    path = tmp_path / "images.npz"
    np.savez(path, X=np.zeros((20, 1, 4, 4)), y=np.arange(20) % 2)
    code, result, err = run(capsys, "explain", "attributions", "--data", str(path), "--json")
    assert code == 2 and "expected series" in err
