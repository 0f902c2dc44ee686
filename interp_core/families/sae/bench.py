"""``bench sae``: our TopK trainer against SAELens's SAETrainer on the same activations."""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from interp_core.device import device_name, resolve_device
from interp_core.families.sae import data as sources
from interp_core.families.sae import explain as explain
from interp_core.families.sae.hosts import MiniLMTopics
from interp_core.families.sae.models import build_sae
from interp_core.families.sae.sparse_step import encoder_product, row_topk

BENCH_CONFIG = {"d": 384, "width": 3072, "k": 32, "batch_size": 4096, "steps": 20, "lr": 3e-4, "aux_coefficient": 1 / 32, "dead_window": 1000, "repeats": 5}
QUICK_CONFIG = {**BENCH_CONFIG, "width": 1536, "batch_size": 1024, "steps": 20, "repeats": 3}
SAELENS_HINT = "bash scripts/setup.sh bench, then run the bench with .venv-bench/bin/python (SAELens is a benchmark-only dependency)"


def matmul_gflops(device: torch.device, n: int = 2048, repeats: int = 10) -> float:
    """Measured fp32 matrix-multiply throughput (GFLOP/s) of an n x n product, best of ``repeats``."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    best = float("inf")
    for _ in range(repeats + 1):
        _sync(device)
        start = time.perf_counter()
        torch.mm(a, b)
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench_activations(cfg: dict, quick: bool, seed: int) -> tuple[np.ndarray, str]:
    """Real activations when possible: MiniLM's residual stream (layer 3) over the pydoc windows."""
    if quick:
        rng = np.random.default_rng(seed)
        return rng.standard_normal((8192, cfg["d"])).astype(np.float32), "Gaussian noise (--quick)"
    dataset = sources.load_text_dataset(seed=seed, windows_per_topic=40)
    model = MiniLMTopics(sources.load_minilm(), 3, dataset.n_classes).eval()
    source = sources.text_source(dataset, model)
    return source.acts, f"MiniLM residual stream after layer 3, {len(source.acts):,} tokens of pydoc_data.topics"


def _ours(acts: torch.Tensor, cfg: dict, device: torch.device, seed: int, precision: str = "fp32") -> tuple[float, float]:
    """(seconds, the last batch's explained variance) of our TopK trainer's timed steps."""
    torch.manual_seed(seed)
    sae = build_sae("topk", {"d_in": cfg["d"], "width": cfg["width"], "k": cfg["k"], "aux_coefficient": cfg["aux_coefficient"]})
    sae.fit_input(acts[:4096])
    config = explain.SAETrainConfig(steps=cfg["steps"], batch_size=cfg["batch_size"], lr=cfg["lr"], dead_window=cfg["dead_window"], grad_clip=1.0, precision=precision)
    explain.train_sae(sae, acts, explain.SAETrainConfig(steps=2, batch_size=cfg["batch_size"], lr=cfg["lr"], precision=precision), device=device, seed=seed)  # warm-up
    _sync(device)
    result = explain.train_sae(sae, acts, config, device=device, seed=seed, log_points=1)
    _sync(device)
    return result.seconds, result.history["explained_variance"][-1]


def step_floor_seconds(cfg: dict, device: torch.device, repeats: int = 5) -> float:
    """Seconds of the two things no TopK step can skip, on one batch of the bench's shapes: the dense
    encoder product and the top-k of its rows (``row_topk``, what the step uses; best of ``repeats``).
    Their sum bounds how close the step can come to the matmul rate: the ceiling beside our share."""
    g = torch.Generator().manual_seed(0)
    x, w, b = (torch.randn(*shape, generator=g).to(device) for shape in ((cfg["batch_size"], cfg["d"]), (cfg["width"], cfg["d"]), (cfg["width"],)))
    best = float("inf")
    for _ in range(repeats + 1):
        _sync(device)
        start = time.perf_counter()
        row_topk(encoder_product(x, w, b), cfg["k"])
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return best


def _saelens(acts: torch.Tensor, cfg: dict, device: torch.device, seed: int) -> float:
    from sae_lens.saes.topk_sae import TopKTrainingSAE, TopKTrainingSAEConfig

    from interp_core.families.sae.synth_saelens import saelens_trainer

    torch.manual_seed(seed)

    def provider():
        generator = torch.Generator().manual_seed(seed)
        while True:
            order = torch.randperm(len(acts), generator=generator)
            for lo in range(0, len(acts) - cfg["batch_size"] + 1, cfg["batch_size"]):
                yield acts[order[lo : lo + cfg["batch_size"]]]

    def trainer(steps: int):
        sae = TopKTrainingSAE(TopKTrainingSAEConfig(d_in=cfg["d"], d_sae=cfg["width"], k=cfg["k"], aux_loss_coefficient=cfg["aux_coefficient"], dtype="float32", device=str(device)))
        return saelens_trainer(sae, provider(), samples=steps * cfg["batch_size"], batch_size=cfg["batch_size"], lr=cfg["lr"], lr_end=cfg["lr"] / 10, device=device, dead_window=cfg["dead_window"])

    trainer(2).fit()  # warm-up
    run = trainer(cfg["steps"])
    _sync(device)
    start = time.perf_counter()
    run.fit()
    _sync(device)
    return time.perf_counter() - start


def _spread(values: list[float]) -> dict:
    """Median, min, max and the interquartile range of a list of figures."""
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return {"median": round(float(median), 4), "min": round(float(min(values)), 4), "max": round(float(max(values)), 4), "iqr": round(float(q3 - q1), 4)}


def bench_sae(args) -> dict:
    """Train our TopK SAE and SAELens's SAETrainer on the same activations with the same settings in
    ``repeats`` alternating rounds (ours, the fp32 matmul rate, SAELens), each round measuring the
    matmul floor again, so a round's share and ratio compare figures taken under the same load.
    Reports medians with their spread (min, max, IQR) and every round."""
    cfg = QUICK_CONFIG if args.quick else BENCH_CONFIG
    device = resolve_device(args.device)
    precision = getattr(args, "precision", None) or ("both" if device.type == "cuda" else "fp32")
    precisions = ("fp32", "bf16") if precision == "both" else (precision,)
    print(f"bench sae: preparing activations on {device_name(device)}...", file=sys.stderr)
    acts_np, what = bench_activations(cfg, args.quick, args.seed)
    acts = torch.as_tensor(acts_np)
    try:
        from interp_core.families.sae.synth_saelens import VERSION as saelens_version
    except ImportError:
        saelens_version = None
        print(f"bench sae: SAELens is not installed, so only our trainer is timed; install it with: {SAELENS_HINT}", file=sys.stderr)
    samples = cfg["steps"] * cfg["batch_size"]
    # FLOPs our trainer performs per activation: the dense encoder product, plus the sparse decoder
    # forward and the three sparse gradient products (k rows of d each).
    flops_per_activation = 2 * cfg["d"] * cfg["width"] + 4 * 2 * cfg["k"] * cfg["d"]
    rounds = []
    for r in range(cfg["repeats"]):
        row = {}
        for p in precisions:  # "ours_*" is the first precision's (fp32 unless only bf16 was asked), "ours_bf16_*" bf16's beside it
            print(f"bench sae: round {r + 1}/{cfg['repeats']}: ours ({p})...", file=sys.stderr)
            seconds, ev = _ours(acts, cfg, device, args.seed, p)
            key = "ours" if p == precisions[0] else f"ours_{p}"
            row.update({f"{key}_seconds": round(seconds, 3), f"{key}_activations_per_s": round(samples / seconds, 1), f"{key}_explained_variance": round(ev, 4)})
        row["matmul_gflops"] = round(matmul_gflops(device), 2)
        row["ours_matmul_share"] = round(row["ours_activations_per_s"] * flops_per_activation / 1e9 / row["matmul_gflops"], 4)
        floor = step_floor_seconds(cfg, device)
        row["ceiling_matmul_share"] = round(cfg["batch_size"] * flops_per_activation / floor / 1e9 / row["matmul_gflops"], 4)
        row["ours_of_ceiling"] = round(row["ours_matmul_share"] / row["ceiling_matmul_share"], 4)
        if "ours_bf16_seconds" in row:
            row["bf16_vs_fp32"] = round(row["ours_seconds"] / row["ours_bf16_seconds"], 3)
        if saelens_version:
            print(f"bench sae: round {r + 1}/{cfg['repeats']}: SAELens {saelens_version}...", file=sys.stderr)
            row["saelens_seconds"] = round(_saelens(acts, cfg, device, args.seed), 3)
            row["sae_vs_saelens"] = round(row["saelens_seconds"] / row["ours_seconds"], 3)
        rounds.append(row)
    ours_rate = _spread([row["ours_activations_per_s"] for row in rounds])
    share = _spread([row["ours_matmul_share"] for row in rounds])
    gflops = _spread([row["matmul_gflops"] for row in rounds])
    ceiling = _spread([row["ceiling_matmul_share"] for row in rounds])
    result = {
        "device": device_name(device), "cpu_threads": torch.get_num_threads(), "activations": what, "n_activations": len(acts_np),
        "config": {k: cfg[k] for k in ("d", "width", "k", "batch_size", "steps", "lr", "aux_coefficient", "dead_window")} | {"dtype": "float32", "logging": "off", "grad_clip": 1.0, "precision": precisions[0]},
        "rounds": rounds, "statistic": f"median of {len(rounds)} alternating rounds (min, max, iqr beside it)",
        "ours_activations_per_s": ours_rate["median"], "ours_activations_per_s_spread": ours_rate, "ours_seconds": [row["ours_seconds"] for row in rounds],
        "matmul_gflops": gflops["median"], "matmul_gflops_spread": gflops,
        "ours_gflops": round(ours_rate["median"] * flops_per_activation / 1e9, 2),
        "ours_matmul_share": share["median"], "ours_matmul_share_spread": share,
        "ceiling_matmul_share": ceiling["median"], "ceiling_matmul_share_spread": ceiling,
        "ours_of_ceiling": _spread([row["ours_of_ceiling"] for row in rounds])["median"],
        "ours_explained_variance": _spread([row["ours_explained_variance"] for row in rounds])["median"],
        "saelens_version": saelens_version,
        "saelens_activations_per_s": None, "saelens_seconds": [row["saelens_seconds"] for row in rounds if "saelens_seconds" in row], "sae_vs_saelens": None,
    }
    if "bf16" in precisions[1:]:
        result.update({"ours_bf16_activations_per_s": _spread([row["ours_bf16_activations_per_s"] for row in rounds])["median"],
                       "ours_bf16_explained_variance": _spread([row["ours_bf16_explained_variance"] for row in rounds])["median"],
                       "bf16_vs_fp32": _spread([row["bf16_vs_fp32"] for row in rounds])["median"]})
    if saelens_version:
        ratio = _spread([row["sae_vs_saelens"] for row in rounds])
        result.update({"saelens_activations_per_s": _spread([samples / row["saelens_seconds"] for row in rounds])["median"], "sae_vs_saelens": ratio["median"], "sae_vs_saelens_spread": ratio})
    else:
        result["saelens"] = f"not installed: {SAELENS_HINT}"
    if not args.json:
        print(f"activations: {what}; config {result['config']}")
        print(f"ours:    {ours_rate['median']:12,.0f} activations/s median of {len(rounds)} rounds (min {ours_rate['min']:,.0f}, max {ours_rate['max']:,.0f}); "
              f"{share['median']:.1%} of the fp32 matmul rate measured in the same rounds (median {gflops['median']:.1f} GFLOP/s; share range {share['min']:.1%}-{share['max']:.1%})")
        print(f"ceiling: the encoder product and the top-k alone reach {ceiling['median']:.1%} of that rate (median; range {ceiling['min']:.1%}-{ceiling['max']:.1%}): "
              f"ours is {result['ours_of_ceiling']:.0%} of it")
        if "bf16_vs_fp32" in result:
            print(f"bf16:    {result['ours_bf16_activations_per_s']:12,.0f} activations/s = {result['bf16_vs_fp32']:.2f}x fp32, explained variance "
                  f"{result['ours_bf16_explained_variance']:.4f} against fp32's {result['ours_explained_variance']:.4f}")
        if saelens_version:
            print(f"SAELens: {result['saelens_activations_per_s']:12,.0f} activations/s -> ours / SAELens = {result['sae_vs_saelens']:.2f}x median "
                  f"(range {result['sae_vs_saelens_spread']['min']:.2f}-{result['sae_vs_saelens_spread']['max']:.2f})")
    return result
