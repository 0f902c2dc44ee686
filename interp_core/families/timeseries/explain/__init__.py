"""Attributions for series classifiers, and how faithful they are.

One module per job: ``methods`` (method keys, labels, aliases), ``attribution`` (the captum-based
methods and temporal saliency rescaling), ``metrics`` (TimeX's AUPRC / AUP / AUR, deletion and
insertion, the explanation map, class profiles), ``published`` (the papers' figures we compare
with) and ``report`` (every method scored on a fixed set of test series, stored with the model).
This package re-exports their public names.
"""

from interp_core.families.timeseries.explain.attribution import (
    ATTRIBUTIONS,
    DeepLift,
    FeatureAblation,
    GradientShap,
    IntegratedGradients,
    Occlusion,
    RandomAttribution,
    Saliency,
    SeriesAttribution,
    attribute,
    channel_baseline,
    default_window,
    make_attribution,
    model_device,
)
from interp_core.families.timeseries.explain.methods import ALIASES, METHODS, RANDOM, TSR_SUFFIX, method_label, resolve_methods, split_method
from interp_core.families.timeseries.explain.metrics import (
    FaithfulnessCurves,
    GroundTruthScores,
    class_profiles,
    deletion_insertion,
    explanation_map,
    explanation_vectors,
    ground_truth_scores,
    normalise,
    perturbation_order,
)
from interp_core.families.timeseries.explain.published import TIMEX_PUBLISHED, UCR_PUBLISHED
from interp_core.families.timeseries.explain.report import (
    REPORT_ARRAYS,
    REPORT_EXAMPLES,
    REPORT_META,
    REPORT_METHODS,
    REPORT_VERSION,
    AttributionReport,
    attribution_options,
    build_report,
    compute_and_store_report,
    pick_examples,
    stored_report,
)

__all__ = [
    "ATTRIBUTIONS", "DeepLift", "FeatureAblation", "GradientShap", "IntegratedGradients", "Occlusion", "RandomAttribution",
    "Saliency", "SeriesAttribution", "attribute", "channel_baseline", "default_window", "make_attribution", "model_device",
    "ALIASES", "METHODS", "RANDOM", "TSR_SUFFIX", "method_label", "resolve_methods", "split_method",
    "FaithfulnessCurves", "GroundTruthScores", "class_profiles", "deletion_insertion", "explanation_map", "explanation_vectors",
    "ground_truth_scores", "normalise", "perturbation_order",
    "TIMEX_PUBLISHED", "UCR_PUBLISHED",
    "REPORT_ARRAYS", "REPORT_EXAMPLES", "REPORT_META", "REPORT_METHODS", "REPORT_VERSION", "AttributionReport",
    "attribution_options", "build_report", "compute_and_store_report", "pick_examples", "stored_report",
]
