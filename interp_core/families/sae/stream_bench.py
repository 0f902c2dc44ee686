"""``bench sae-stream``: peak memory (RSS) of training an SAE from activations on disk, at growing counts.

For each count N (default 1M and 10M activations of d = 384; ``--quick``: 100k and 1M) it writes N
seeded Gaussian activations as float16 shards (a reused set is checked, not rewritten), then in a
fresh process (ru_maxrss is a per-process peak) trains a TopK SAE (width 3072, k 32, batch 4096)
for a fixed number of steps streaming from the shards, and streams every remaining row of the set
once (the data path at full count), and reports that process's peak RSS. On a CPU a full epoch
over 10M activations would take hours, so the SAE sees ``train_steps`` batches; its memory does
not depend on how many, the data path's on N is what is measured.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from interp_core.errors import BenchError
from interp_core.families.sae.shards import DEFAULT_SHARD_SIZE, ShardSet, StreamedActivations, peak_rss_mb, shard_folder, stream_batches, write_shards

STREAM_CONFIG = {"d": 384, "width": 3072, "k": 32, "batch_size": 4096, "train_steps": 20, "counts": [1_000_000, 10_000_000], "quick_counts": [100_000, 1_000_000]}


def gaussian_rows(d: int):
    def produce(start: int, stop: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(start)  # the same rows for the same range: resumable
        return torch.randn(stop - start, d, generator=generator)

    return produce


def measure_one(folder: str, train_steps: int) -> dict:
    """In this (fresh) process: train from the shards for ``train_steps`` steps, stream the rest once; peak RSS."""
    from interp_core.families.sae import explain
    from interp_core.families.sae.models import build_sae

    cfg = STREAM_CONFIG
    start_rss = peak_rss_mb()
    shards = ShardSet(folder)
    torch.manual_seed(0)
    sae = build_sae("topk", {"d_in": shards.d, "width": cfg["width"], "k": cfg["k"]}).fit_input(shards.fit_sample(16384))
    start = time.perf_counter()
    fit = explain.train_sae(sae, StreamedActivations(shards), explain.SAETrainConfig(steps=train_steps, batch_size=cfg["batch_size"], lr=3e-4), device="cpu", log_points=1)
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    rows, stream = 0, stream_batches(shards, cfg["batch_size"], seed=1)
    while rows + cfg["batch_size"] <= shards.total:
        rows += len(next(stream))
    return {"n_activations": shards.total, "shards": len(shards), "peak_rss_mb": round(peak_rss_mb(), 1), "rss_before_mb": round(start_rss, 1),
            "train_steps": fit.steps, "train_seconds": round(train_seconds, 2), "streamed_rows": rows, "stream_seconds": round(time.perf_counter() - start, 2),
            "shard_bytes": sum(f.stat().st_size for f in shards.files)}


def bench_sae_stream(args) -> dict:
    cfg = STREAM_CONFIG
    counts = cfg["quick_counts"] if args.quick else cfg["counts"]
    root = Path(args.store).expanduser() if args.store else Path(tempfile.gettempdir()) / "interp-sae-stream-bench"
    rows = []
    for n in counts:
        folder = shard_folder(root, f"bench-gaussian-{n}-d{cfg['d']}")
        print(f"bench sae-stream: writing {n:,} activations (d={cfg['d']}, float16) to {folder} (resumes if interrupted)...", file=sys.stderr)
        start = time.perf_counter()
        report = write_shards(folder, n, cfg["d"], gaussian_rows(cfg["d"]), shard_size=DEFAULT_SHARD_SIZE, dtype="float16", meta={"what": "seeded Gaussian, bench sae-stream"},
                              progress=lambda done, total: print(f"\r  {done:,}/{total:,}", end="", file=sys.stderr))
        print(file=sys.stderr)
        write_seconds = time.perf_counter() - start
        print(f"bench sae-stream: training {cfg['train_steps']} steps and streaming all {n:,} rows in a fresh process...", file=sys.stderr)
        code = f"import json; from interp_core.families.sae.stream_bench import measure_one; print(json.dumps(measure_one({str(folder)!r}, {cfg['train_steps']})))"
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BenchError(f"The measuring process failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}.")
        row = json.loads(done.stdout.strip().splitlines()[-1])
        row.update({"write_seconds": round(write_seconds, 1), "shards_written_now": report.written})
        rows.append(row)
        if not args.json:
            print(f"{n:>12,} activations: peak RSS {row['peak_rss_mb']:,.0f} MiB ({row['shards']} shards, {row['shard_bytes'] / 2**30:.2f} GiB on disk); "
                  f"{row['train_steps']} steps in {row['train_seconds']} s, all rows streamed in {row['stream_seconds']} s")
    return {"config": {k: cfg[k] for k in ("d", "width", "k", "batch_size", "train_steps")} | {"dtype_on_disk": "float16", "shard_size": DEFAULT_SHARD_SIZE, "buffer_shards": 2},
            "rows": rows, "cpu_threads": torch.get_num_threads()}
