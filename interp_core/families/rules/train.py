"""The "rules" trainer: the plain classifier trainer, then the feature rankings stored beside the
weights so the page opens instantly."""

from __future__ import annotations

from interp_core import recipes
from interp_core.families.rules import explain as rx
from interp_core.recipes import Recipe


def train_rules(recipe: Recipe, **options) -> recipes.TrainedModel:
    """The plain classifier trainer, then the three feature rankings saved with the artifact."""
    trained = recipes.train_classifier(recipe, **options)
    if options.get("on_stage"):
        options["on_stage"]("Ranking the features (integrated gradients, feature ablation, permutation)")
    ranker = rx.rank_features(trained, options.get("seed", 0))
    ranking = {"methods": list(ranker.importances_), "n_repeats": ranker.n_repeats, "max_samples": ranker.max_samples, "n_steps": ranker.n_steps}
    artifact = options["store"].add_file(recipe.name, rx.RANKING_FILE, ranker.to_arrays(), {"rules_ranking": ranking})
    trained.artifact, trained.manifest = artifact, artifact.manifest
    return trained
