"""Populations of trained group networks (issue 21): the papers' claims are about many models, not one.

``sweep`` trains one network per seed (and per setting of a grid: width, weight decay, training
fraction, corrupted share ξ, dropout, BatchNorm), runs the same analysis as a recipe's checkpoint
(decomposition, proved bound, brute force, memorising neurons) on each, and stores the population
as one artifact (``population-<group>``, or ``population-<group>-noisy`` with corrupted labels):

- ``population.json``: the settings, one row per model (``MEMBER_KEYS``), the summary (``summarise``)
  and, for corrupted labels, the per-claim table (``claims``);
- ``histories.json``: each model's training curves (for the two-phase curve of Doshi et al.);
- ``members.safetensors``: each model's weights (``<index>.<parameter>``) in float16, so one can be reopened;
  the numbers of its row are computed on those rounded weights.

``summarise`` answers Wu et al. 2024's question (the share of models with a proved bound ≥ 95%, and
the proof's cost against brute force); ``claims`` gives a verdict on each of Doshi et al.'s four
claims from the runs' numbers (tested on hand-made runs).
"""

from __future__ import annotations

import itertools
import time
from typing import Callable, Iterable

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from interp_core.device import seed_everything
from interp_core.errors import DataError, StoreError
from interp_core.families.mechanisms import explain
from interp_core.families.mechanisms.data import get_group, pairs_dataset
from interp_core.families.mechanisms.models import GroupMLP
from interp_core.families.mechanisms.train import DEFAULT_TRAIN, _cpu_threads, _split, first_step, fit_full_batch
from interp_core.store import SHIPPED_ROOT, Store

POPULATION_FILE = "population.json"
HISTORIES_FILE = "histories.json"
MEMBERS_FILE = "members.safetensors"
SETTINGS = ("hidden", "weight_decay", "train_fraction", "corrupt", "dropout", "batchnorm")
GOOD_BOUND = 0.95  # Wu et al.: "a ≥ 95% accuracy bound for 45% of the models we trained"

# What a run must show for each claim to hold (the thresholds the verdicts use, stated in the docs).
MEMORISED, GENERALISED, IGNORED, CLEAN = 0.9, 0.99, 0.1, 0.99


def population_name(group: str, corrupted: bool) -> str:
    return f"population-{group.lower()}" + ("-noisy" if corrupted else "")


def grid(hidden: Iterable[int], weight_decay: Iterable[float], train_fraction: Iterable[float], corrupt: Iterable[float] = (0.0,),
         dropout: Iterable[float] = (0.0,), batchnorm: Iterable[bool] = (False,)) -> list[dict]:
    """Every combination of the settings, as dicts keyed by ``SETTINGS``."""
    return [dict(zip(SETTINGS, values)) for values in itertools.product(hidden, weight_decay, train_fraction, corrupt, dropout, batchnorm)]


def train_member(group: str, setting: dict, seed: int, steps: int, lr: float = 1e-2, embed_dim: int = 32,
                 progress: Callable | None = None, final_lr_fraction: float = 1.0) -> tuple[dict, dict, dict]:
    """Train and analyse one network: (its row, its history, its weights)."""
    key = get_group(group).key
    dataset = pairs_dataset(key, setting["train_fraction"], setting["corrupt"], seed)
    seed_everything(seed)
    model = GroupMLP(get_group(key).order, hidden=setting["hidden"], embed_dim=embed_dim, dropout=setting["dropout"], batchnorm=setting["batchnorm"])
    # about 60 logged points per curve, whatever the number of steps (a population keeps every curve)
    config = {**DEFAULT_TRAIN, "steps": steps, "lr": lr, "weight_decay": setting["weight_decay"], "eval_every": max(1, steps // 60),
              "final_lr_fraction": final_lr_fraction}
    start = time.perf_counter()
    with _cpu_threads(torch.device("cpu")):
        history = fit_full_batch(model, dataset, config, torch.device("cpu"), seed, progress)
    seconds = time.perf_counter() - start
    state = _half(model)
    split = _split(dataset)
    parts = model.parts()
    report, decomposition, _ = explain.analyse(parts, key, split, config["coverage"], config["prune_threshold"])
    history = {k: [round(v, 5) if isinstance(v, float) else v for v in values] for k, values in history.items()}
    row = {**setting, "seed": seed, "steps": steps, "train_seconds": round(seconds, 3), **member_metrics(report.to_dict(), history)}
    if report.bound is not None:
        row.update(retime(parts, key, decomposition.key_irreps, report.bound["unexplained_rank"]))
    row.update(compressed_row(parts, key, decomposition.key_irreps))
    return row, history, state


# The bound that also compresses the hidden layer (Z_n only; explain.compressed_bound), per network.
COMPRESSED_KEYS = ("compressed_bound", "compressed_bound_bins", "compressed_bound_flops_ratio", "compressed_bound_time_ratio")


def compressed_row(parts, key: str, keep) -> dict:
    """The compressed bound's headline for a population row (None values for groups other than Z_n;
    timed once, on one thread)."""
    with threadpool_limits(1):
        found = explain.compressed_summary(parts, key, keep)
    return dict(zip(COMPRESSED_KEYS, (found["compressed_bound"], found["compressed_bound_bins"], found["compressed_bound_cost_ratio"], found["compressed_bound_time_ratio"])))


TIMING_REPEATS = 5


def retime(parts, key: str, keep, rank: int, repeats: int = TIMING_REPEATS) -> dict:
    """The headline bound's and brute force's times, each the best of ``repeats`` runs on one thread:
    one run per network (as the analysis takes) gave ratios from 0.02x to 41x on a machine at load 17,
    whichever process the scheduler preferred at that moment."""
    group = get_group(key)
    with threadpool_limits(1):
        brute = [explain.brute_force(parts, group) for _ in range(repeats)]
        bound = [explain.margin_bound(parts, key, keep, rank, brute=brute[0]).seconds for _ in range(repeats)]
    brute_seconds, bound_seconds = min(b[1] for b in brute), min(bound)
    return {"bound_seconds": bound_seconds, "brute_force_seconds": brute_seconds, "bound_time_ratio": bound_seconds / brute_seconds, "timing_repeats": repeats}


def _half(model: GroupMLP) -> dict[str, torch.Tensor]:
    """Round the trained weights to float16 in place and return them: a population stores each network
    at half the size, and every number of its row is computed on the rounded network, so a reopened
    member (``member_model``) gives exactly the stored numbers."""
    state = {}
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                tensor.copy_(tensor.half().float())
                state[name] = tensor.detach().half().cpu().clone()
            else:
                state[name] = tensor.detach().cpu().clone()
    return state


def member_metrics(report: dict, history: dict) -> dict:
    """The numbers of one model a population keeps (from its analysis report and history)."""
    bound = report.get("bound") or {}
    accuracies = report["pruning"]["accuracies"]
    table = {name: dict(zip(("before", "after", "pairs"), values))
             for name, *values in zip(accuracies["pairs scored"], accuracies["before"], accuracies["after"], accuracies["pairs"])}
    wrong, clean = table["corrupted training pairs (their wrong label)"], table["clean training pairs"]
    true = table["corrupted training pairs (true answer)"]
    return {
        "train_accuracy": report["train_accuracy"],
        "test_accuracy": report["test_accuracy"],
        "brute_force_accuracy": report["brute_force_accuracy"],
        "explained_accuracy": report["explained_accuracy"],
        "key_irreps": report["key_irreps"],
        "bound": bound.get("accuracy"),
        "bound_flops_ratio": bound.get("cost_ratio"),
        "bound_seconds": bound.get("seconds"),
        "brute_force_seconds": bound.get("brute_force_seconds"),
        "bound_time_ratio": bound["seconds"] / bound["brute_force_seconds"] if bound.get("brute_force_seconds") else None,
        "memorise_step": first_step(history, "train_accuracy", 0.99),
        "grok_step": first_step(history, "test_accuracy", 0.99),
        "memorising_neurons": len(report["memorising_neurons"]),
        "corrupted_pairs": int(wrong["pairs"]),
        "corrupted_memorised": wrong["before"],
        "corrupted_memorised_pruned": wrong["after"],
        "corrupted_true": true["before"],
        "corrupted_true_pruned": true["after"],
        "clean_train_accuracy": clean["before"],
        "clean_train_accuracy_pruned": clean["after"],
        "test_accuracy_pruned": table["test pairs"]["after"],
    }


def _median(values) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.median(values)) if values else None


def summarise(group: str, rows: list[dict]) -> dict:
    """Wu et al.'s question for one population: the share of models whose proved bound is ≥ 95%, the
    median bound, and the median ratios of the proof's cost to brute force (measured time, FLOPs)."""
    bounds = [r["bound"] for r in rows if r["bound"] is not None]
    return {
        "group": get_group(group).key,
        "n_models": len(rows),
        "share_bound_ge_95": float(np.mean([b >= GOOD_BOUND for b in bounds])) if bounds else None,
        "median_bound": _median(bounds),
        "bound_time_ratio": _median(r["bound_time_ratio"] for r in rows),
        "bound_flops_ratio": _median(r["bound_flops_ratio"] for r in rows),
        "median_brute_force_accuracy": _median(r["brute_force_accuracy"] for r in rows),
        "share_generalised": float(np.mean([r["test_accuracy"] >= GENERALISED for r in rows])) if rows else None,
    }


# -- Doshi et al.'s claims ----------------------------------------------------------------------

def setting_label(run: dict) -> str:
    """'ξ=0.2, weight decay 1, dropout 0.3, BatchNorm' (the settings that differ between runs)."""
    parts = [f"ξ={run['corrupt']:g}", f"weight decay {run['weight_decay']:g}"]
    if run.get("dropout"):
        parts.append(f"dropout {run['dropout']:g}")
    if run.get("batchnorm"):
        parts.append("BatchNorm")
    return ", ".join(parts)


def regularised(run: dict) -> bool:
    return bool(run["weight_decay"] > 0 or run.get("dropout") or run.get("batchnorm"))


def _verdict(results: list[tuple[str, bool]]) -> tuple[str, str]:
    """(verdict, where): 'holds' when every tested setting shows it, 'does not hold' when none does,
    'depends' (naming the settings where it holds) in between; 'not tested' with no applicable run."""
    if not results:
        return "not tested", ""
    labels = {}
    for label, ok in results:
        labels.setdefault(label, []).append(ok)
    held = [label for label, oks in labels.items() if all(oks)]
    some = [label for label, oks in labels.items() if any(oks)]
    count = f"{sum(ok for _, ok in results)} of {len(results)} runs"
    if len(held) == len(labels):
        return "holds", count
    if not some:
        return "does not hold", count
    if held:
        return "depends", f"{count}; holds at {'; '.join(held)}"
    return "depends", f"{count}; holds in some seeds (not all) at {'; '.join(some)}"


def _by_setting(runs: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for run in runs:
        groups.setdefault(setting_label(run), []).append(run)
    return groups


def two_phase(history: dict) -> bool:
    """Grokking then unlearning: held-out accuracy reaches 99% while the wrong labels are still (at
    least half) memorised, and later the memorised share falls to 10% or less."""
    memorised, test = history.get("corrupted_memorised"), history["test_accuracy"]
    if memorised is None:
        return False
    grokked = next((i for i, (t, m) in enumerate(zip(test, memorised)) if t >= GENERALISED and m >= 0.5), None)
    return grokked is not None and any(m <= IGNORED for m in memorised[grokked + 1:])


def claims(runs: list[dict], histories: list[dict] | None = None) -> list[dict]:
    """A verdict per claim of Doshi et al. from corrupted-label runs (rows of a sweep: settings,
    ``member_metrics`` and, for the fourth, their histories), as {"claim", "paper", "measured", "verdict"}."""
    paired = [(r, h) for r, h in zip(runs, histories or [None] * len(runs)) if r["corrupt"] > 0 and r["corrupted_pairs"]]
    runs = [r for r, _ in paired]
    memorised = [r for r in runs if r["corrupted_memorised"] >= 0.5 and r["memorising_neurons"]]
    reg = [(r, h) for r, h in paired if regularised(r)]
    rows = []

    found = [(setting_label(r), r["corrupted_memorised"] >= MEMORISED and r["test_accuracy"] >= GENERALISED) for r in runs]
    verdict, where = _verdict(found)
    best = max(runs, key=lambda r: (r["corrupted_memorised"] >= MEMORISED, r["test_accuracy"]), default=None)
    rows.append({
        "claim": "(i) memorise the wrong labels and still generalise",
        "paper": "With ξ of the training labels corrupted, the network can fit every wrong label and still answer 100% of held-out pairs.",
        "measured": "no corrupted-label run" if best is None else
        f"{where}: ≥ {MEMORISED:.0%} of wrong labels memorised with ≥ {GENERALISED:.0%} held-out; e.g. {setting_label(best)}: "
        f"{best['corrupted_memorised']:.0%} memorised, held-out {best['test_accuracy']:.1%}",
        "verdict": verdict,
    })

    pruned = [(setting_label(r), r["corrupted_memorised_pruned"] < r["corrupted_memorised"] - 0.05 and r["corrupted_true_pruned"] > r["corrupted_true"]
               and r["clean_train_accuracy_pruned"] >= r["clean_train_accuracy"] - 0.01) for r in memorised]
    verdict, where = _verdict(pruned)
    rows.append({
        "claim": "(ii) pruning the memorising neurons removes the memory",
        "paper": "Pruning the memorising neurons lowers accuracy on the corrupted labels and raises it on their true (clean) labels.",
        "measured": "no run memorised ≥ 50% of its wrong labels with memorising neurons found" if not memorised else
        f"{where}: wrong labels kept falls by > 5 points, their true answers rise, clean training pairs drop ≤ 1 point; mean over runs "
        f"{np.mean([r['corrupted_memorised'] for r in memorised]):.0%} → {np.mean([r['corrupted_memorised_pruned'] for r in memorised]):.0%} memorised, "
        f"true answers {np.mean([r['corrupted_true'] for r in memorised]):.0%} → {np.mean([r['corrupted_true_pruned'] for r in memorised]):.0%}",
        "verdict": verdict,
    })

    ignored = [(setting_label(r), r["corrupted_memorised"] <= IGNORED and r["clean_train_accuracy"] >= CLEAN) for r, _ in reg]
    verdict, where = _verdict(ignored)
    rows.append({
        "claim": "(iii) regularisation makes the network ignore the corrupted labels",
        "paper": "With weight decay, dropout or BatchNorm, training accuracy drops to 100(1−ξ)%: the wrong labels are answered with the true product.",
        "measured": "no regularised run" if not reg else
        f"{where}: ≤ {IGNORED:.0%} of wrong labels kept and ≥ {CLEAN:.0%} of clean training pairs right; "
        + "; ".join(f"{label}: {np.mean([r['corrupted_memorised'] for r in group]):.0%} kept, train {np.mean([r['train_accuracy'] for r in group]):.1%} "
                    f"vs 100(1−ξ) = {1 - group[0]['corrupt']:.0%}" + (f" (mean of {len(group)} seeds)" if len(group) > 1 else "")
                    for label, group in _by_setting([r for r, _ in reg]).items()),
        "verdict": verdict,
    })

    phases = [(setting_label(r), two_phase(h)) for r, h in reg if h is not None]
    verdict, where = _verdict(phases)
    rows.append({
        "claim": "(iv) grokking, then unlearning",
        "paper": "With regularisation the network first groks (held-out accuracy rises while the wrong labels are memorised), then unlearns the wrong labels.",
        "measured": "no regularised run with a history" if not phases else
        f"{where}: held-out ≥ {GENERALISED:.0%} while ≥ 50% of wrong labels are memorised, later ≤ {IGNORED:.0%} memorised",
        "verdict": verdict,
    })
    return rows


# -- the sweep ----------------------------------------------------------------------------------

def sweep(group: str, seeds: int, settings: list[dict], steps: int, *, lr: float = 1e-2, final_lr_fraction: float = 1.0,
          progress: Callable | None = None, on_model: Callable[[int, int], None] | None = None) -> dict:
    """Train ``seeds`` networks per setting; returns {"summary", "claims", "rows", "histories", "weights", "settings"}."""
    if seeds < 1:
        raise DataError(f"A population needs at least one seed; got {seeds}.")
    key = get_group(group).key
    rows, histories, weights = [], [], {}
    total = len(settings) * seeds
    for index, (setting, seed) in enumerate(itertools.product(settings, range(seeds))):
        if on_model is not None:
            on_model(index, total)
        row, history, state = train_member(key, setting, seed, steps, lr, progress=progress, final_lr_fraction=final_lr_fraction)
        rows.append({"index": index, **row})
        histories.append(history)
        weights.update({f"{index}.{name}": tensor for name, tensor in state.items()})
    corrupted = any(s["corrupt"] > 0 for s in settings)
    return {
        "summary": summarise(key, rows),
        "claims": claims(rows, histories) if corrupted else None,
        "rows": rows,
        "histories": histories,
        "weights": weights,
        "settings": {"group": key, "seeds": seeds, "steps": steps, "lr": lr, "final_lr_fraction": final_lr_fraction, "grid": settings},
    }


def save_population(population: dict, store: Store, name: str | None = None):
    """Store a sweep's result as one artifact; returns it."""
    key = population["settings"]["group"]
    corrupted = population["claims"] is not None
    name = name or population_name(key, corrupted)
    body = {k: population[k] for k in ("summary", "claims", "rows", "settings")}
    manifest = {"kind": "population", "family": "mechanisms", "group": key, "corrupted": corrupted, "created_by": "sweep groups",
                "metrics": population["summary"]}
    return store.save(name, {POPULATION_FILE: body, HISTORIES_FILE: population["histories"], MEMBERS_FILE: population["weights"]}, manifest)


def read_population(artifact, store) -> dict:
    """The stored population (settings, rows, summary, claims) with its histories; the claims are judged
    again from the stored runs, so a population made earlier reads with the current verdict logic."""
    body = store.read_json(artifact, POPULATION_FILE)
    histories = store.read_json(artifact, HISTORIES_FILE)
    if body.get("claims") is not None:
        body["claims"] = claims(body["rows"], histories)
    return {**body, "histories": histories}


def member_model(artifact, store, row: dict) -> GroupMLP:
    """The network of one row of a stored population, rebuilt from its weights."""
    tensors = store.read_tensors(artifact, MEMBERS_FILE)
    prefix = f"{row['index']}."
    state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    model = GroupMLP(get_group(artifact.manifest["group"]).order, hidden=row["hidden"], embed_dim=state["embed_left"].shape[1] if "mix.weight" in state else 0,
                     dropout=row.get("dropout", 0.0), batchnorm=row.get("batchnorm", False))
    model.load_state_dict(state)
    return model.eval()


PREFIX = "population-"
# Shipped populations live beside the shipped recipes, not among them: everything in assets/store is a
# recipe's checkpoint (tests and loaders check each manifest names its recipe).
SHIPPED_POPULATIONS = SHIPPED_ROOT.parent / "populations"


def population_stores(catalog) -> list[Store]:
    """Where populations are looked up: the user's store (``sweep groups``), then the shipped ones."""
    return [catalog.store, Store(SHIPPED_POPULATIONS, readonly=True)]


def population_names(catalog) -> list[str]:
    """The stored populations a catalog can open (the user's first, then the shipped ones), by name."""
    names = []
    for store in population_stores(catalog):
        names += [n for n in store.names() if n.startswith(PREFIX) and n not in names]
    return sorted(names)


def open_population(catalog, name: str):
    """(artifact, its store) of population ``name``: the user's copy first, then the shipped one."""
    for store in population_stores(catalog):
        if store.present(name):
            return store.open(name), store
    raise StoreError(f"No population named '{name}'; make one with: python -m interp_core sweep groups GROUP --seeds N.")
