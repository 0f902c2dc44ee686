"""Profile our SAE training step in `bench sae`'s configuration (docs/sae.md quotes its output).

    OMP_NUM_THREADS=1 .venv/bin/python scripts/profile_sae_step.py [--steps 8] [--batch-size 4096] [--html out.html]

Trains a TopK SAE (d 384, width 3072, k 32, AuxK 1/32) on seeded Gaussian activations for a
2-step warm-up, then ``--steps`` steps under pyinstrument, and prints each leaf line of our
code's share of the profiled time (self time of the innermost frame in interp_core or torch's
Python), biggest first, plus the seconds per step.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from interp_core.families.sae import explain  # noqa: E402
from interp_core.families.sae.bench import BENCH_CONFIG  # noqa: E402
from interp_core.families.sae.models import build_sae  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=BENCH_CONFIG["batch_size"])
    parser.add_argument("--html", help="also write pyinstrument's HTML report here")
    args = parser.parse_args()
    from pyinstrument import Profiler

    cfg = {**BENCH_CONFIG, "batch_size": args.batch_size}
    acts = torch.randn(8 * cfg["batch_size"], cfg["d"], generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    sae = build_sae("topk", {"d_in": cfg["d"], "width": cfg["width"], "k": cfg["k"], "aux_coefficient": cfg["aux_coefficient"]}).fit_input(acts[:4096])
    config = explain.SAETrainConfig(steps=args.steps, batch_size=cfg["batch_size"], lr=cfg["lr"], dead_window=cfg["dead_window"], grad_clip=1.0)
    explain.train_sae(sae, acts, explain.SAETrainConfig(steps=2, batch_size=cfg["batch_size"], lr=cfg["lr"]), device="cpu")  # warm-up
    profiler = Profiler(interval=0.002)
    start = time.perf_counter()
    profiler.start()
    explain.train_sae(sae, acts, config, device="cpu", log_points=1)
    profiler.stop()
    seconds = time.perf_counter() - start
    session = profiler.last_session
    shares: Counter = Counter()

    def walk(frame) -> None:  # a frame's own time: its total less its real (not synthetic "[self]") children's
        real = [child for child in frame.children if not child.is_synthetic_leaf]
        for child in real:
            walk(child)
        own = frame.time - sum(child.time for child in real)
        if own > 0 and not frame.is_synthetic:
            shares[f"{Path(frame.file_path or '?').name}:{frame.line_no} {frame.function}"] += own

    walk(session.root_frame())
    total = sum(shares.values()) or 1.0
    print(f"{args.steps} steps of {cfg['batch_size']} (d {cfg['d']}, width {cfg['width']}, k {cfg['k']}), {torch.get_num_threads()} torch threads: "
          f"{seconds / args.steps * 1000:.0f} ms a step")
    for where, t in shares.most_common(18):
        print(f"{t / total:6.1%}  {where}")
    if args.html:
        Path(args.html).write_text(profiler.output_html())


if __name__ == "__main__":
    main()
