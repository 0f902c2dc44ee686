"""The feature rankings stored beside the model (the "rules" trainer writes them) and their reader."""

from __future__ import annotations

from interp_core.families.rules.explain.blackbox import feature_names_of
from interp_core.families.rules.explain.ranking import FeatureRanker, rank_features

RANKING_FILE = "rules-ranking.safetensors"


def stored_ranker(trained, store) -> FeatureRanker:
    """The ranking saved with the artifact (the "rules" trainer stores it), else computed now."""
    names = feature_names_of(trained.dataset)
    if RANKING_FILE in trained.artifact.manifest.get("files", {}):
        arrays = store.read_arrays(trained.artifact, RANKING_FILE)
        if arrays and all(a.ndim == 2 and a.shape[1] == len(names) for a in arrays.values()):
            return FeatureRanker.from_arrays(arrays, names)
    return rank_features(trained, trained.manifest.get("seed", 0))
