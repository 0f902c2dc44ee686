"""Profile our SAE training step in `bench sae`'s configuration (docs/sae.md quotes its output).

    OMP_NUM_THREADS=1 .venv/bin/python scripts/profile_sae_step.py [--steps 8] [--batch-size 4096] [--html out.html]
    OMP_NUM_THREADS=1 .venv/bin/python scripts/profile_sae_step.py --alternatives

``--alternatives`` times, on the same shapes, what the profile points at against what could replace
it: the top-k selection (one ``topk`` per row; ``row_topk``'s strided blocks, in use; two stages over
4, 8 or 16 chunks; a block-maximum threshold filter) and W_enc's sparse gradient (the COO product in use; the same pairs as a CSR
matrix transposed, sorted into a CSR by latent, or scattered into a dense matrix), median of 7.

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
from interp_core.families.sae.sparse_step import encoder_product, row_topk  # noqa: E402


def _median_ms(f, repeats: int = 7) -> float:
    f()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return sorted(times)[repeats // 2] * 1000


def alternatives(cfg: dict) -> None:
    n, width, k, d = cfg["batch_size"], cfg["width"], cfg["k"], cfg["d"]
    g = torch.Generator().manual_seed(0)
    pre, x_c, grad = torch.randn(n, width, generator=g), torch.randn(n, d, generator=g), torch.randn(n * k, generator=g)
    cols = pre.topk(k, dim=1, sorted=False).indices.reshape(-1)
    rows = torch.arange(n).repeat_interleave(k)

    def chunked(c: int):
        def run():
            values, idx = pre.view(n, c, width // c).topk(k, dim=2, sorted=False)
            best, pick = values.reshape(n, -1).topk(k, dim=1, sorted=False)
            return best, (idx + (torch.arange(c) * (width // c))[None, :, None]).reshape(n, -1).gather(1, pick)
        return run

    def block_threshold():  # the k-th largest of 96 block maxima bounds the k-th value from below: top-k among the values above it
        bound = pre.view(n, 96, -1).amax(2).topk(k, dim=1, sorted=False).values.amin(1, keepdim=True)
        mask = pre >= bound
        r, c = mask.nonzero(as_tuple=True)
        counts = mask.sum(1)
        slot = torch.arange(len(r)) - (torch.cumsum(counts, 0) - counts)[r]
        values = torch.full((n, int(counts.max())), float("-inf"))
        values[r, slot] = pre[r, c]
        latents = torch.zeros(values.shape, dtype=torch.long)
        latents[r, slot] = c
        return latents.gather(1, values.topk(k, dim=1, sorted=False).indices)

    def coo():
        return torch.sparse.mm(torch.sparse_coo_tensor(torch.stack([cols, rows]), grad, (width, n), check_invariants=False), x_c)

    def csr_transposed():
        return torch.mm(torch.sparse_csr_tensor(torch.arange(0, n * k + 1, k), cols, grad, (n, width), check_invariants=False).t(), x_c)

    def csr_by_latent():
        order = torch.argsort(cols, stable=True)
        crow = torch.zeros(width + 1, dtype=torch.long)
        crow[1:] = torch.bincount(cols, minlength=width).cumsum(0)
        return torch.mm(torch.sparse_csr_tensor(crow, rows[order], grad[order], (width, n), check_invariants=False), x_c)

    def dense():
        full = torch.zeros(n, width)
        full[rows, cols] = grad
        return full.t() @ x_c

    exact = pre.topk(k, dim=1).indices.sort(1).values
    assert torch.equal(chunked(8)()[1].sort(1).values, exact) and torch.equal(block_threshold().sort(1).values, exact)
    assert torch.equal(row_topk(pre, k)[1].sort(1).values, exact)
    print(f"top-k of ({n} x {width}), k {k}; {torch.get_num_threads()} torch threads; median of 7, ms")
    print(f"  one topk per row                {_median_ms(lambda: pre.topk(k, dim=1, sorted=False)):8.1f}")
    print(f"  strided blocks' maxima, then candidates (row_topk, in use) {_median_ms(lambda: row_topk(pre, k)):8.1f}")
    for c in (4, 8, 16):
        print(f"  two stages, {c:>2} chunks          {_median_ms(chunked(c)):8.1f}")
    print(f"  block-maximum bound, then topk  {_median_ms(block_threshold):8.1f}")
    print(f"W_enc's gradient from {n * k:,} (example, latent) pairs")
    for name, f in (("COO product (in use)", coo), ("CSR transposed", csr_transposed), ("CSR sorted by latent", csr_by_latent), ("dense scatter + product", dense)):
        print(f"  {name:<30} {_median_ms(f):8.1f}")
    W_enc, b_enc = torch.randn(width, d, generator=g), torch.zeros(width)
    ways = {"addmm (encoder_product, in use)": lambda: encoder_product(x_c, W_enc, b_enc), "product, then an in-place bias add": lambda: torch.mm(x_c, W_enc.t()).add_(b_enc)}
    times = {name: [] for name in ways}
    for _ in range(9):  # alternated, so both see the same load
        for name, f in ways.items():
            start = time.perf_counter()
            f()
            times[name].append((time.perf_counter() - start) * 1000)
    print(f"the encoder product ({n} x {d}) @ ({d} x {width}), median of 9 alternated, ms")
    for name, values in times.items():
        print(f"  {name:<36} {sorted(values)[4]:8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=BENCH_CONFIG["batch_size"])
    parser.add_argument("--html", help="also write pyinstrument's HTML report here")
    parser.add_argument("--alternatives", action="store_true", help="time the alternatives to the top-k and the sparse gradient instead")
    args = parser.parse_args()
    from pyinstrument import Profiler

    cfg = {**BENCH_CONFIG, "batch_size": args.batch_size}
    if args.alternatives:
        alternatives(cfg)
        return
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
