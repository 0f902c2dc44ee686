"""What the explorer offers: the family pages (built or not yet) and their one-line pitches."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Not "pages/": a folder of that name next to app.py makes Streamlit's legacy page discovery serve
# a fresh server's first deep link (/rules?...) without running app.py, losing the URL state.
PAGES_DIR = Path(__file__).resolve().parent.parent / "views"


@dataclass(frozen=True)
class FamilyPage:
    family: str
    title: str
    icon: str
    pitch: str
    url_path: str

    @property
    def path(self) -> str | None:
        """views/<family>.py once that page exists; None shows "not built yet" on Home."""
        return f"views/{self.family}.py" if (PAGES_DIR / f"{self.family}.py").is_file() else None


FAMILY_PAGES = [
    FamilyPage("prototypes", "Prototypes", ":material/photo_library:", "A network that decides by similarity to learned cases: \"this looks like that\", with uncertainty.", "prototypes"),
    FamilyPage("sae", "SAE features", ":material/scatter_plot:", "A sparse autoencoder splits a layer's activations into readable features, from a toy model to MiniLM.", "sae"),
    FamilyPage("concepts", "Concepts", ":material/lightbulb:", "TCAV scores with significance tests, and a concept-bottleneck model you can steer by hand.", "concepts"),
    FamilyPage("timeseries", "Time series", ":material/show_chart:", "Which part of a signal drove a classification: attributions scored against ground truth.", "time-series"),
    FamilyPage("rules", "Rules", ":material/account_tree:", "A black box explained by surrogate decision rules, with fidelity, paths and counterfactuals.", "rules"),
    FamilyPage("mechanisms", "Mechanisms", ":material/hub:", "Reverse-engineer networks trained on group operations, and check the explanation against brute force.", "mechanisms"),
]


def built_pages() -> list[FamilyPage]:
    return [p for p in FAMILY_PAGES if p.path]
