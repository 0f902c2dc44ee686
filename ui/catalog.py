"""What the explorer offers: the family pages (built or not yet) and their one-line pitches."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from interp_core.family import families

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


def _family_pages() -> list[FamilyPage]:
    """One card per registered family (interp_core.family), in the order Home shows them."""
    order = ["prototypes", "sae", "concepts", "timeseries", "rules", "mechanisms"]
    specs = sorted(families().values(), key=lambda f: order.index(f.name) if f.name in order else len(order))
    return [FamilyPage(f.name, f.title, f.icon, f.pitch, f.path) for f in specs]


FAMILY_PAGES = _family_pages()


def built_pages() -> list[FamilyPage]:
    return [p for p in FAMILY_PAGES if p.path]
