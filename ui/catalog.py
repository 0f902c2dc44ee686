"""What the explorer offers: the family pages (built or not yet) and their one-line pitches."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FamilyPage:
    family: str
    title: str
    icon: str
    pitch: str
    path: str | None  # pages/<file>.py once built; None shows "not built yet"
    url_path: str


FAMILY_PAGES = [
    FamilyPage("prototypes", "Prototypes", ":material/photo_library:", "A network that decides by similarity to learned cases: \"this looks like that\", with uncertainty.", None, "prototypes"),
    FamilyPage("sae", "SAE features", ":material/scatter_plot:", "A sparse autoencoder splits a layer's activations into readable features, from a toy model to MiniLM.", None, "sae"),
    FamilyPage("concepts", "Concepts", ":material/lightbulb:", "TCAV scores with significance tests, and a concept-bottleneck model you can steer by hand.", None, "concepts"),
    FamilyPage("timeseries", "Time series", ":material/show_chart:", "Which part of a signal drove a classification: attributions scored against ground truth.", None, "time-series"),
    FamilyPage("rules", "Rules", ":material/account_tree:", "A black box explained by surrogate decision rules, with fidelity, paths and counterfactuals.", None, "rules"),
]


def built_pages() -> list[FamilyPage]:
    return [p for p in FAMILY_PAGES if p.path]
