"""Concept explanations, one module per job; this package re-exports their names (``explain.tcav``, ...):

- ``tcav``: TCAV (Kim et al. 2018) with significance tests, through captum.concept: CAVs, scores
  against random sets, the t-test, the concept and class example sets, concept sensitivities.
- ``cbm``: the analyses of a concept bottleneck model: concept accuracy, test-time intervention,
  the intervention curve, the report stored with a CBM recipe.

``check_binary_concepts`` (the 0/1 rule both need) lives with the datasets, in ``data``.
"""

from interp_core.families.concepts.data import check_binary_concepts
from interp_core.families.concepts.explain.cbm import (
    CBMReport,
    InterventionCurve,
    cbm_report,
    class_probabilities_from_concepts,
    concept_probabilities,
    intervene,
    intervention_curve,
)
from interp_core.families.concepts.explain.tcav import (
    ALPHA,
    MIN_CONCEPT_EXAMPLES,
    TCAVResult,
    class_inputs,
    concept_example_sets,
    concept_sensitivity,
    draw_random_sets,
    tcav,
    two_sided_p_value,
)

__all__ = [
    "ALPHA", "CBMReport", "InterventionCurve", "MIN_CONCEPT_EXAMPLES", "TCAVResult", "cbm_report",
    "check_binary_concepts", "class_inputs", "class_probabilities_from_concepts", "concept_example_sets",
    "concept_probabilities", "concept_sensitivity", "draw_random_sets", "intervene", "intervention_curve",
    "tcav", "two_sided_p_value",
]
