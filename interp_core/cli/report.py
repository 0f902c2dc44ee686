"""``python -m interp_core report RECIPE --out FILE.html``: one self-contained HTML report from the store."""

from __future__ import annotations

from interp_core.errors import ReportError
from interp_core.report import Table
from interp_core.sections import family_of, recipe_report
from interp_core.store import catalog_at


def cmd_report(args) -> dict:
    """``python -m interp_core report RECIPE --out FILE.html``: build, write, and say what was written."""
    import os
    import sys
    import time
    from pathlib import Path

    from tqdm import tqdm

    from interp_core.device import resolve_device
    from interp_core.report import render_html, write_html

    if getattr(args, "data", None):
        raise ReportError("report reads a trained recipe from the store; give a recipe name (see: python -m interp_core recipes).")
    out = Path(args.out).expanduser()
    if out.suffix.lower() not in (".html", ".htm"):
        raise ReportError(f"--out should name an .html file, not '{out}'.")
    if not out.parent.is_dir():
        raise ReportError(f"Cannot write the report to '{out}': the folder '{out.parent}' does not exist.")
    if not os.access(out.parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise ReportError(f"Cannot write the report to '{out}': no permission to write there.")
    device = resolve_device(args.device)
    catalog = catalog_at(args.store)
    family_of(args.recipe, catalog)  # an unknown name fails before any progress bar is drawn
    start = time.perf_counter()
    bar = tqdm(total=5, desc=f"report {args.recipe}", unit="step", file=sys.stderr, leave=False, dynamic_ncols=True)

    def step(text: str) -> None:
        bar.set_postfix_str(text, refresh=False)
        bar.update(1)

    try:
        report = recipe_report(args.recipe, catalog, device, progress=step)
        step("rendering HTML (plotly.js inlined once)")
        html_text = render_html(report)
        step(f"writing {out.name}")
        size = write_html(html_text, out)
    finally:
        bar.close()
    result = {
        "recipe": args.recipe,
        "out": str(out.resolve()),
        "figures": report.n_figures,
        "tables": sum(isinstance(item, Table) for section in report.sections for item in section.items),
        "sections": [section.title for section in report.sections],
        "bytes": size,
        "seconds": round(time.perf_counter() - start, 2),
    }
    if not args.json:
        f, t, n = result["figures"], result["tables"], len(report.sections)
        print(f"{args.recipe}: {f} figure{'s' * (f != 1)} and {t} table{'s' * (t != 1)} in {n} section{'s' * (n != 1)}, {size / 1e6:.1f} MB")
        print(f"written to {result['out']} (opens offline in any browser)")
    return result
