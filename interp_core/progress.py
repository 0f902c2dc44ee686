"""Progress on a terminal: a tqdm bar on stderr fed by the fit loop's ProgressEvents, and stage lines.

Used by the CLI and by families' command-line handlers; the app draws its own (st.progress).
"""

from __future__ import annotations

import sys


def progress_bar(desc: str):
    """A tqdm bar on stderr and the callback that feeds it ``training.ProgressEvent``s."""
    from tqdm import tqdm

    bar = tqdm(total=1, desc=desc, unit="step", file=sys.stderr, leave=False, dynamic_ncols=True, mininterval=0.5)

    def update(event) -> None:
        if bar.total != event.total:
            bar.total = event.total
        postfix = {"loss": f"{event.loss:.4f}", "epoch": event.epoch}
        if event.metric is not None:
            postfix["val"] = f"{event.metric:.3f}"
        bar.set_postfix(postfix, refresh=False)
        bar.update(event.step - bar.n)  # tqdm throttles redraws to mininterval

    return bar, update


def stage_printer(bar):
    """A callback that prints a stage's name above the bar ("Ranking the features...")."""

    def show(text: str) -> None:
        bar.write(f"{text}...", file=sys.stderr)

    return show
