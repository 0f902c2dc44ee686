"""A black box explained by surrogate rules on its top-k features (after Karim et al. 2022).

Pipeline: rank the black box's features by probing (captum Integrated Gradients, Feature
Ablation) and perturbation (permutation), keep the top k, fit an interpretable surrogate to the
black box's *predictions* on the training data, and read it as rules. Fidelity (agreement with
the black box) is measured on held-out data the ranking and the surrogate never saw.

Everything works on flat inputs X of shape (n, d) in the data's own units: the project's MLPs
standardise inside the network, so thresholds read like the user's numbers.

Fit-style objects (scikit-learn conventions: ``__init__`` stores parameters, ``fit`` returns
self, fitted state ends in ``_``):

- ``FeatureRanker``: importances of every feature by several methods, with spread over repeats.
- ``RuleSurrogate``: a decision tree (scikit-learn) or a greedy rule list (imodels), held as one
  binary tree of splits so paths, rules and counterfactuals work the same for both;
  ``get_rules()`` returns a DataFrame with one row per rule.

Functions return dataclasses: ``surrogate_report`` (the page's and the CLI's numbers),
``decision_path``, ``nearest_counterfactual``, ``fidelity_tradeoff``, ``trust_summary``.

One module per job: ``blackbox`` (the model on flat inputs, a trained model's data), ``ranking``
(feature importances), ``storage`` (the rankings stored beside the model), ``surrogate`` (trees,
rule lists, the rules table), ``report`` (held-out numbers, trust, a known rule), ``counterfactual``
(one example's path and nearest flip), ``tradeoff`` (fidelity against depth and k, default
settings). This package re-exports their public names.
"""

from interp_core.families.rules.explain.blackbox import BlackBox, ModelData, feature_names_of, flat, model_data
from interp_core.families.rules.explain.counterfactual import Counterfactual, DecisionPath, decision_path, nearest_counterfactual
from interp_core.families.rules.explain.ranking import (
    RANKING_LABELS,
    RANKING_METHODS,
    FeatureImportance,
    FeatureRanker,
    combine_importances,
    rank_features,
    ranking_from,
)
from interp_core.families.rules.explain.report import (
    TRUST_LEVELS,
    SurrogateReport,
    TrustSummary,
    check_setting,
    compare_with_truth,
    report_for,
    surrogate_report,
    trust_level,
    trust_summary,
)
from interp_core.families.rules.explain.storage import RANKING_FILE, stored_ranker
from interp_core.families.rules.explain.surrogate import GT, LE, SURROGATE_KINDS, RuleSurrogate, condition_text, format_value
from interp_core.families.rules.explain.tradeoff import DEFAULT_SETTINGS, TradeOff, default_setting, fidelity_tradeoff, k_values, tradeoff_for

__all__ = [
    "BlackBox", "ModelData", "feature_names_of", "flat", "model_data",
    "Counterfactual", "DecisionPath", "decision_path", "nearest_counterfactual",
    "RANKING_LABELS", "RANKING_METHODS", "FeatureImportance", "FeatureRanker", "combine_importances", "rank_features", "ranking_from",
    "TRUST_LEVELS", "SurrogateReport", "TrustSummary", "check_setting", "compare_with_truth", "report_for", "surrogate_report",
    "trust_level", "trust_summary",
    "RANKING_FILE", "stored_ranker",
    "GT", "LE", "SURROGATE_KINDS", "RuleSurrogate", "condition_text", "format_value",
    "DEFAULT_SETTINGS", "TradeOff", "default_setting", "fidelity_tradeoff", "k_values", "tradeoff_for",
]
