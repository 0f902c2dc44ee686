"""Training a sparse autoencoder on activations: the loop, dead-latent resampling, the thread count.

Why a loop of its own instead of ``interp_core.training.fit``: an SAE step needs state that
``fit`` has no place for (which latents fired recently, fed back into the AuxK loss or into
resampling), a projection after every optimiser step (unit-norm decoder rows), no validation
split or best-epoch restore (an SAE is judged on held-out reconstruction afterwards), and the
sparse training path of ``models``. The progress callback speaks the same ``ProgressEvent``.

Shapes: activations ``acts`` (n, d); decoder rows ``W_dec`` (width, d).
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch

from interp_core.device import resolve_device, seed_everything
from interp_core.errors import RecipeError, TrainingCancelled
from interp_core.families.sae.models import SparseAutoencoder
from interp_core.training import ProgressCallback, ProgressEvent, _is_cancelled


@dataclass
class SAETrainConfig:
    epochs: int = 20  # passes over the activations
    batch_size: int = 1024
    lr: float = 3e-4
    steps: int | None = None  # overrides epochs when set (the benchmark counts steps)
    dead_window: int = 1000  # optimiser steps without firing before a latent counts as dead
    resample_every: int = 0  # resample dead latents every N steps (0: off; SAEs without an aux loss use it)
    grad_clip: float | None = 1.0
    lr_decay_fraction: float = 0.0  # linear decay to 0 over the last share of steps
    sparsity_gain: float = 0.05  # SparsityController's step (log units) for SAEs with a target_l0
    precision: str = "fp32"  # "bf16": the loss's matrix products under bf16 autocast (PRECISIONS)

    @classmethod
    def from_dict(cls, values: dict) -> "SAETrainConfig":
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})

    def to_dict(self) -> dict:
        return asdict(self)

    def total_steps(self, n: int) -> int:
        if self.steps:
            return int(self.steps)
        return max(1, self.epochs * max(1, math.ceil(n / self.batch_size)))


PRECISIONS = ("fp32", "bf16")


def autocast_for(precision: str, device: torch.device):
    """The context a training step's forward runs in: bf16 autocast for "bf16", nothing for "fp32".

    Under bf16 the matrix products (the encoder's above all, most of a step's FLOPs) run in bfloat16;
    parameters, Adam's state, the loss and the TopK family's chosen values stay float32 (TopKSAE
    recomputes the chosen pre-activations exactly, so bf16 only decides which latents are chosen).
    Worth it on GPUs with bf16 units; a CPU without them (AVX2 only) runs bf16 products slower."""
    if precision not in PRECISIONS:
        raise RecipeError(f"The precision '{precision}' is not known; expected one of {', '.join(PRECISIONS)}.")
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


@dataclass
class SAETrainResult:
    history: dict[str, list[float]] = field(default_factory=lambda: {"step": [], "mse": [], "explained_variance": [], "l0": [], "dead_fraction": []})
    steps: int = 0
    seconds: float = 0.0
    resampled: int = 0
    activations_per_second: float = 0.0
    sparsity_coefficient: float | None = None  # the penalty's coefficient at the end, where SparsityController set it


@contextlib.contextmanager
def threads_for(flops_per_step: float, device: torch.device):
    """One CPU thread for small problems: thread hand-offs cost more than they save below ~1e8
    flops a step, and on a busy machine they cost 50x (measured: 0.8 vs 59 ms a toy step)."""
    if device.type != "cpu" or flops_per_step >= 1e8:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _adam(params, lr: float, device: torch.device) -> torch.optim.Optimizer:
    # foreach, not fused: fused Adam's first step on the CPU costs ~14 s of one-time set-up per process.
    fused = device.type == "cuda"
    return torch.optim.Adam(params, lr=lr, fused=fused, foreach=None if fused else True)


def train_sae(
    sae: SparseAutoencoder,
    acts: np.ndarray | torch.Tensor,
    config: SAETrainConfig | None = None,
    *,
    device: str | torch.device = "auto",
    seed: int = 0,
    progress: ProgressCallback | None = None,
    cancel: Callable[[], bool] | None = None,
    log_points: int = 50,
    world=None,
) -> SAETrainResult:
    """Train ``sae`` in place on activations (n, d): Adam, unit-norm decoder rows, dead-latent tracking.

    Dead latents (no firing in ``dead_window`` steps) feed the AuxK loss of architectures that
    have one, and are resampled every ``resample_every`` steps otherwise. ``progress`` hears a
    ProgressEvent about ``log_points`` times (``epoch`` counts those points, ``metric`` is the
    batch's explained variance). Raises TrainingCancelled when ``cancel`` says so.

    ``acts`` may also be a ``shards.StreamedActivations`` (activations on disk, read as shuffled
    batches with flat memory). ``world`` (a ``distributed.World``) trains one SAE across processes:
    ``config.batch_size`` is the global batch, each rank takes its share of it (of the same shuffled
    order in memory, of its own shards on disk), DDP averages the gradients and the ranks agree on
    which latents fired, so the weights follow the one-process run.
    """
    config = config or SAETrainConfig()
    device = resolve_device(device)
    autocast_for(config.precision, device)  # an unknown precision fails before any work
    generator = seed_everything(seed)
    rank, world_size = (world.rank, world.world_size) if world is not None else (0, 1)
    streamed = hasattr(acts, "batches")  # shards.StreamedActivations
    data = None if streamed else torch.as_tensor(np.asarray(acts) if not isinstance(acts, torch.Tensor) else acts, dtype=torch.float32).to(device)
    n = acts.n if streamed else len(data)
    batch_size = max(1, min(config.batch_size, n))
    if batch_size % world_size:
        raise RecipeError(f"The batch of {batch_size} does not split evenly over {world_size} processes; expected a batch_size divisible by the number of processes.")
    total = config.total_steps(n)
    sae.to(device).train()
    params = [p for p in sae.parameters() if p.requires_grad]
    optimizer = _adam(params, config.lr, device)
    decay_from = int(total * (1 - config.lr_decay_fraction)) if config.lr_decay_fraction > 0 else total
    result = SAETrainResult()
    local = batch_size // world_size
    if streamed:
        batches = (b.to(device) for b in acts.batches(local, rank, world_size))
    else:
        batches = _memory_batches(data, generator, batch_size, rank * local, (rank + 1) * local)
    loss_fn = world.wrap(sae) if world is not None else sae.training_loss
    controller = SparsityController.for_sae(sae, config)
    with threads_for(6.0 * local * sae.d_in * sae.width, device):
        _loop(sae, batches, data, loss_fn, world, config, optimizer, params, result, generator, batch_size, total, decay_from, device, progress, cancel, log_points, controller)
        sae.eval()
        if getattr(sae.config, "calibration_samples", 0):  # BatchTopK, Matryoshka, JumpReLU: the thresholds inference uses
            calibrate(sae, data, batches, sae.config.calibration_samples, generator, world)
    if controller is not None:
        result.sparsity_coefficient = controller.coefficient
    result.steps = total
    return result


class SparsityController:
    """Brings a penalty SAE's batch L0 to ``config.target_l0`` (ReLU + L1, JumpReLU) by integral control
    of the log of its sparsity coefficient: after every step, log c += gain * log(L0 / target), with the
    batch's L0 (across processes, their mean) floored at 0.1 so a batch where nothing fired still lowers
    c. The penalty's strength that reaches a given L0 depends on the data, the width and the training
    budget (the L1 coefficient hand-set on one synthetic model collapsed the SAE on a 4x larger one), so
    the controller, not a hand-tuned constant, sets it; the config's coefficient is only where it starts.
    ``gain`` in log units per step: 0.05 moves c by 5% a step at twice the target's L0."""

    def __init__(self, sae, target: float, gain: float):
        self.sae, self.target, self.gain = sae, float(target), float(gain)

    @classmethod
    def for_sae(cls, sae, config) -> "SparsityController | None":
        target = getattr(sae.config, "target_l0", None)
        if target is None:
            return None
        if not target > 0:
            raise RecipeError(f"target_l0 is {target}; expected a positive number of firing latents per example.")
        return cls(sae, target, config.sparsity_gain)

    @property
    def coefficient(self) -> float:
        return float(self.sae.sparsity_coefficient)

    def update(self, l0: float) -> None:
        step = self.gain * (math.log(max(l0, 0.1)) - math.log(self.target))
        self.sae.sparsity_coefficient = float(self.sae.sparsity_coefficient * math.exp(step))


@torch.no_grad()
def calibrate(sae, data, batches, samples: int, generator: torch.Generator, world=None):
    """``sae.calibrate_threshold`` on ``samples`` training activations: a seeded sample of the rows in memory
    (the same on every rank), else the next streamed batches (rank 0's, its thresholds broadcast)."""
    if data is not None:
        sample = data[torch.randperm(len(data), generator=generator)[:samples].to(data.device)]
    else:
        taken, count = [], 0
        while count < samples:
            taken.append(next(batches))
            count += len(taken[-1])
        sample = torch.cat(taken)[:samples]
    value = sae.calibrate_threshold(sample)
    if world is not None and data is None:
        world.broadcast_parameters(sae)
    return value


def _memory_batches(data: torch.Tensor, generator: torch.Generator, batch_size: int, lo: int, hi: int):
    """Endless batches of a seeded shuffled order (a new order when one runs out); rows [lo, hi) of each (a rank's share)."""
    n = len(data)
    order = torch.randperm(n, generator=generator).to(data.device)
    cursor = 0
    while True:
        if cursor + batch_size > n:
            order = torch.randperm(n, generator=generator).to(data.device)
            cursor = 0
        yield data[order[cursor + lo : cursor + hi]]
        cursor += batch_size


def _loop(sae, batches, data, loss_fn, world, config, optimizer, params, result, generator, batch_size, total, decay_from, device, progress, cancel, log_points, controller=None) -> None:
    since_fired = torch.zeros(sae.width, dtype=torch.long, device=device)
    every = max(1, total // max(1, log_points))
    start = time.perf_counter()
    for step in range(1, total + 1):
        if _is_cancelled(cancel):
            raise TrainingCancelled("Training was cancelled; nothing was saved.")
        batch = next(batches)
        dead = since_fired > config.dead_window if sae.uses_aux_loss else None
        with autocast_for(config.precision, device):
            loss, stats = loss_fn(batch, dead)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip:
            torch.nn.utils.clip_grad_norm_(params, config.grad_clip, foreach=True)
        if step > decay_from:
            for group in optimizer.param_groups:
                group["lr"] = config.lr * (total - step + 1) / max(1, total - decay_from)
        optimizer.step()
        sae.normalize_decoder()
        since_fired += 1
        since_fired[world.any(stats["fired"]) if world is not None else stats["fired"]] = 0
        if controller is not None:
            controller.update(float(world.mean(stats["l0"]) if world is not None else stats["l0"]))
        if config.resample_every and step % config.resample_every == 0 and step < 0.8 * total:
            result.resampled += resample_dead(sae, optimizer, batch if data is None else data, since_fired > config.dead_window, generator, world)
            since_fired[since_fired > config.dead_window] = 0
        if step % every == 0 or step == total:
            target = stats["target"]
            variance = (target - target.mean(0)).pow(2).sum(1).mean()
            ev = 1.0 - float(stats["mse"]) / max(float(variance), 1e-12)
            mse, l0 = float(stats["mse"]), float(stats["l0"])
            result.history["step"].append(step)
            result.history["mse"].append(mse)
            result.history["explained_variance"].append(ev)
            result.history["l0"].append(l0)
            result.history["dead_fraction"].append(float((since_fired > config.dead_window).float().mean()))
            if progress is not None:
                point = min(log_points, math.ceil(step / every))
                progress(ProgressEvent(step, total, mse, ev, point, min(log_points, math.ceil(total / every))))
    result.seconds = time.perf_counter() - start
    result.activations_per_second = total * batch_size / max(result.seconds, 1e-9)  # the global batch: all ranks together


@torch.no_grad()
def resample_dead(sae: SparseAutoencoder, optimizer: torch.optim.Optimizer, data: torch.Tensor, dead: torch.Tensor, generator: torch.Generator, world=None) -> int:
    """Point dead latents at inputs the SAE reconstructs badly (Anthropic 2023), and reset their Adam state.
    Across processes rank 0's new directions are broadcast, so every rank keeps the same weights."""
    dead_idx = dead.nonzero(as_tuple=True)[0]
    if len(dead_idx) == 0:
        return 0
    sample = data[torch.randint(len(data), (min(len(data), 4096),), generator=generator).to(data.device)]
    target = sample / sae.input_scale
    errors = (sae.decode(sae.encode(sample)) / sae.input_scale - target).pow(2).sum(1)
    if float(errors.sum()) <= 0:
        return 0
    chosen = torch.multinomial(errors.cpu() ** 2 / (errors.cpu() ** 2).sum(), len(dead_idx), replacement=True, generator=generator).to(data.device)
    directions = target[chosen] - sae.b_dec
    directions = directions / directions.norm(dim=1, keepdim=True).clamp_min(1e-8)
    alive = ~dead
    enc_norm = float(sae.W_enc[alive].norm(dim=1).mean()) if bool(alive.any()) else 1.0
    sae.W_dec[dead_idx] = directions
    if sae.W_enc.requires_grad:
        sae.W_enc[dead_idx] = directions * enc_norm * 0.2
    sae.b_enc[dead_idx] = 0.0
    if world is not None:
        world.broadcast_parameters(sae)
    for param in (sae.W_dec, sae.W_enc, sae.b_enc):
        state = optimizer.state.get(param, {})
        for key in ("exp_avg", "exp_avg_sq"):
            if key in state:
                state[key][dead_idx] = 0.0
    return int(len(dead_idx))
