"""Teaching data: every chart key has a teaching note with a source, every page has a tour."""

from __future__ import annotations

import re
from pathlib import Path

from interp_core.family import load_all_figures
from interp_core.figures import HOW_TO_READ
from interp_core.figures.teaching import SOURCES, TEACHING
from ui.catalog import built_pages
from ui.tours import TOURS

REPO = Path(__file__).resolve().parents[1]


def chart_keys_in_source() -> set[str]:
    """The how-to-read keys passed to chart(...) anywhere in the pages and the UI, and to Figure(...)
    in the families' sections (which the pages draw): a string literal after the figure argument,
    found by scanning the call's text up to its first top-level comma."""
    keys = set()
    sections = [*REPO.glob("interp_core/families/*/sections.py"), REPO / "interp_core" / "sections.py"]
    for path in [*REPO.glob("views/*.py"), *REPO.glob("ui/*.py"), *sections]:
        source = path.read_text()
        for match in re.finditer(r"\b(?:chart|Figure)\(", source):
            depth, i = 1, match.end()
            while depth and i < len(source):  # skip the figure expression
                depth += {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}.get(source[i], 0)
                if depth == 1 and source[i] == ",":
                    break
                i += 1
            literal = re.match(r'\s*(?:\n\s*)?"([a-z_]+)"(?:\s+if\s+\w+\s+else\s+"([a-z_]+)")?', source[i + 1:])
            if literal:
                keys.update(k for k in literal.groups() if k)
    return keys


def test_every_how_to_read_key_has_a_teaching_note_with_a_source():
    load_all_figures()
    missing = sorted(set(HOW_TO_READ) - set(TEACHING))
    assert not missing, f"no teaching note for {missing}"
    for key, entry in TEACHING.items():
        assert len(entry["note"]) > 40, key
        assert re.search(r"\(\d{4}\)", entry["source"]), f"{key}: the source names no year"


def test_every_chart_a_page_draws_has_a_how_to_read_line_and_a_teaching_note():
    load_all_figures()
    used = chart_keys_in_source()
    assert len(used) >= 40  # the scan really found the pages' charts
    assert used <= set(HOW_TO_READ), sorted(used - set(HOW_TO_READ))
    assert used <= set(TEACHING), sorted(used - set(TEACHING))


def test_sources_are_plain_text_references():
    for key, text in SOURCES.items():
        assert "http" not in text and re.search(r"\(\d{4}\)", text), key


def test_home_and_every_built_page_has_a_short_tour():
    pages = ["home", *(p.family for p in built_pages())]
    pages += [f.stem for f in (REPO / "views").glob("*.py") if f.stem not in pages]  # Compare
    for page in pages:
        steps = TOURS.get(page)
        assert steps, f"no tour for {page}"
        assert 3 <= len(steps) <= 6, page
        assert all(s.kind in {"heading", "label", "metric", "button"} and s.target for s in steps), page
