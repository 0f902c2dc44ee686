"""The files an SAE artifact stores beside its weights, and their readers (one place for the names).

Artifacts written before the layout issue call the feature statistics ``analysis.json`` (a name the
mechanisms family used for something else); that name is read as an alias.
"""

from __future__ import annotations

FEATURES_FILE = "features.json"
FEATURES_ARRAYS = "features.safetensors"
CODES_FILE = "codes.safetensors"
WINDOWS_FILE = "windows.safetensors"
EXAMPLES_FILE = "examples.safetensors"
LEGACY_FEATURES_FILE = "analysis.json"

ARTIFACTS = {
    FEATURES_FILE: "the SAE's quality metrics, feature labels, density histogram and sweep",
    FEATURES_ARRAYS: "per-feature statistics: density, activations, promoted and suppressed outputs, class shares, recovery, maps",
    CODES_FILE: "the sparse codes of the test set (top examples per feature)",
    WINDOWS_FILE: "the text windows MiniLM's activations came from (text recipes only)",
    EXAMPLES_FILE: "the shard rows of every feature's top examples (SAEs trained from activation shards only)",
}


def read_analysis_files(artifact, store) -> tuple[dict, dict, dict]:
    """The feature statistics (JSON), the codes and the per-feature arrays of a stored SAE."""
    meta = artifact.first_file(FEATURES_FILE, LEGACY_FEATURES_FILE) or FEATURES_FILE
    return store.read_json(artifact, meta), store.read_arrays(artifact, CODES_FILE), store.read_arrays(artifact, FEATURES_ARRAYS)
