"""The files a mechanisms artifact stores beside its weights, and their readers (one place for the names).

Artifacts written before the layout issue call the report ``analysis.json`` / ``analysis.safetensors``
(a name the SAE family used for something else); those names are read as aliases.
"""

from __future__ import annotations

SPLIT_FILE = "split.safetensors"
REPORT_FILE = "mechanism.json"
REPORT_ARRAYS = "mechanism.safetensors"
LEGACY_REPORT_FILE, LEGACY_REPORT_ARRAYS = "analysis.json", "analysis.safetensors"

ARTIFACTS = {
    SPLIT_FILE: "which pairs of the group's table were trained on, and their (possibly corrupted) labels",
    REPORT_FILE: "the mechanism report: key frequencies, the proof bound and its check against brute force",
    REPORT_ARRAYS: "the report's arrays: contributions per irrep and neuron, equivariance",
}


def read_report(artifact, store) -> tuple[dict, dict] | None:
    """The stored mechanism report (JSON) and its arrays, or None when the artifact has none."""
    meta = artifact.first_file(REPORT_FILE, LEGACY_REPORT_FILE)
    arrays = artifact.first_file(REPORT_ARRAYS, LEGACY_REPORT_ARRAYS)
    if meta is None or arrays is None:
        return None
    return store.read_json(artifact, meta), dict(store.read_arrays(artifact, arrays))


def read_split(artifact, store) -> dict:
    return dict(store.read_arrays(artifact, SPLIT_FILE))
