"""The shipped time-series checkpoints carry a current attribution report that their model
reproduces, and the quality the docs claim: on every synthetic set the best method meets TimeX's
published AUPRC, every method beats random attribution, and real-set accuracy is near the
published FCN figure. Loads only; nothing is retrained."""

import numpy as np
import pytest

from interp_core import recipes
from interp_core.families.timeseries import explain as tsx
from interp_core.store import SHIPPED_ROOT, Catalog, Store

RECIPES = [r.name for r in recipes.list_recipes("timeseries")]


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    catalog = Catalog(Store(tmp_path_factory.mktemp("empty-user-store")), Store(SHIPPED_ROOT, readonly=True))
    cache = {}

    def get(name):
        if name not in cache:
            trained = recipes.load(name, catalog, device="cpu")
            cache[name] = (trained, tsx.stored_report(catalog.store_for(trained.artifact), trained.artifact))
        return cache[name]

    return get


@pytest.mark.parametrize("name", RECIPES)
def test_every_recipe_ships_a_current_report_its_model_reproduces(shipped, name):
    trained, report = shipped(name)
    assert report is not None, f"{name} has no stored attribution report: re-ship it"
    assert report.methods == tsx.REPORT_METHODS
    assert len(report.example_index) == min(tsx.REPORT_EXAMPLES, len(trained.dataset.y_test))
    assert set(report.arrays[tsx.RANDOM]) >= {"deletion_auc", "insertion_auc", "deletion_curve", "insertion_curve", "profile", "map"}
    # the stored scores belong to this model: recompute the cheapest method on the first 40 series
    first = slice(0, 40)
    X = trained.dataset.X_test[report.example_index[first]]
    options = tsx.attribution_options(trained.dataset)
    saliency = tsx.attribute(trained.model, X, report.target[first], "saliency", **options)
    curves = tsx.deletion_insertion(trained.model, X, saliency, report.target[first], options["baseline"])
    np.testing.assert_allclose(curves.deletion_auc, report.arrays["saliency"]["deletion_auc"][first], atol=1e-4)
    if trained.dataset.has_mask:
        masks = trained.dataset.mask_test[report.example_index[first]]
        np.testing.assert_allclose(tsx.ground_truth_scores(saliency, masks).auprc, report.arrays["saliency"]["auprc"][first], atol=1e-4, equal_nan=True)


@pytest.mark.parametrize("name", [n for n in RECIPES if recipes.get_recipe(n).dataset in tsx.TIMEX_PUBLISHED])
def test_on_synthetic_sets_the_best_method_meets_timex_and_all_beat_random(shipped, name):
    trained, report = shipped(name)
    table = report.table().set_index("method")
    methods = table.drop(index=tsx.RANDOM)
    assert methods["auprc"].max() >= tsx.TIMEX_PUBLISHED[trained.dataset.name]["timex"]
    assert (methods["auprc"] > table.loc[tsx.RANDOM, "auprc"]).all()
    assert (methods["deletion_auc"] < table.loc[tsx.RANDOM, "deletion_auc"]).all()
    assert (methods["insertion_auc"] > table.loc[tsx.RANDOM, "insertion_auc"]).all()


@pytest.mark.parametrize("name", [n for n in RECIPES if recipes.get_recipe(n).dataset in tsx.UCR_PUBLISHED])
def test_real_set_accuracy_is_near_the_published_fcn(shipped, name):
    trained, _ = shipped(name)
    published_fcn, _resnet = tsx.UCR_PUBLISHED[trained.dataset.name]
    assert trained.metrics["test_accuracy"] >= published_fcn - 0.05
