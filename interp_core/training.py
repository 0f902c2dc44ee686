"""One fit loop for every model: Adam/AdamW, epochs, early stopping on a validation split,
a progress callback (the app's progress bar and the CLI's tqdm bar both listen), cancellation.

A model may define ``training_loss(*batch) -> Tensor`` (prototype and SAE losses do); otherwise
the loss is cross-entropy on ``(x, y)``. The validation metric is accuracy for labelled data.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from interp_core.device import resolve_device, seed_everything
from interp_core.errors import TrainingCancelled


@dataclass
class TrainConfig:
    epochs: int = 100
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    val_fraction: float = 0.2
    patience: int = 20
    grad_clip: float | None = None

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ProgressEvent:
    """One step of training: ``step`` of ``total`` optimiser steps, the batch loss and the latest validation metric."""

    step: int
    total: int
    loss: float
    metric: float | None
    epoch: int
    epochs: int


@dataclass
class FitResult:
    history: dict[str, list[float]] = field(default_factory=lambda: {"epoch": [], "train_loss": [], "val_loss": [], "val_metric": []})
    best_epoch: int = 0
    best_metric: float = float("nan")
    epochs_run: int = 0
    stopped_early: bool = False
    seconds: float = 0.0


ProgressCallback = Callable[[ProgressEvent], None]
CancelCheck = Callable[[], bool]


def _is_cancelled(cancel) -> bool:
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    return bool(cancel())


def default_loss(model: nn.Module, *batch: torch.Tensor) -> torch.Tensor:
    if hasattr(model, "training_loss"):
        return model.training_loss(*batch)
    x, y = batch[0], batch[1]
    return F.cross_entropy(model(x), y)


@torch.no_grad()
def batched(fn: Callable[[torch.Tensor], torch.Tensor], X: np.ndarray | torch.Tensor, device: torch.device | str = "cpu", batch_size: int = 1024) -> np.ndarray:
    """Apply ``fn`` to X in batches on ``device`` and return a numpy array (eval mode is the caller's job)."""
    device = resolve_device(device)
    tensor = torch.as_tensor(X, dtype=torch.float32)
    outputs = [fn(tensor[i : i + batch_size].to(device)).detach().cpu() for i in range(0, len(tensor), batch_size)]
    return torch.cat(outputs).numpy() if outputs else np.zeros((0,))


def predict_logits(model: nn.Module, X: np.ndarray, device: torch.device | str = "cpu") -> np.ndarray:
    model.eval()
    return batched(model, X, device)


def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray, device: torch.device | str = "cpu") -> float:
    return float((predict_logits(model, X, device).argmax(1) == np.asarray(y)).mean())


def validation_split(n: int, fraction: float, seed: int, labels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val): a stratified split when labels are given and every class has 2+ examples."""
    from sklearn.model_selection import train_test_split

    index = np.arange(n)
    if fraction <= 0 or n < 5:
        return index, index[:0]
    stratify = None
    if labels is not None:
        counts = np.bincount(labels)
        if counts[counts > 0].min() >= 2 and int(round(n * fraction)) >= (counts > 0).sum():
            stratify = labels
    train_idx, val_idx = train_test_split(index, test_size=fraction, random_state=seed, stratify=stratify)
    return np.sort(train_idx), np.sort(val_idx)


def fit(
    model: nn.Module,
    arrays: Sequence[np.ndarray],
    config: TrainConfig | None = None,
    *,
    device: str | torch.device = "auto",
    seed: int = 0,
    loss_fn: Callable[..., torch.Tensor] = default_loss,
    metric_fn: Callable[..., float] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
) -> FitResult:
    """Train ``model`` in place on ``arrays`` (e.g. (X, y); the first is the input).

    A share ``val_fraction`` is held out; training stops when the validation metric has not
    improved for ``patience`` epochs, and the best weights are restored. ``metric_fn(model,
    *val_tensors) -> float`` (higher is better) defaults to accuracy when a second, integer
    array is given, else to minus the validation loss. Raises TrainingCancelled if ``cancel``
    says so; the model is then left as it was at the last completed step.
    """
    config = config or TrainConfig()
    device = resolve_device(device)
    generator = seed_everything(seed)
    tensors = [torch.as_tensor(np.asarray(a)) for a in arrays]
    tensors = [t.float() if t.is_floating_point() else t.long() for t in tensors]
    labels = arrays[1] if len(arrays) > 1 and np.issubdtype(np.asarray(arrays[1]).dtype, np.integer) else None
    train_idx, val_idx = validation_split(len(tensors[0]), config.val_fraction, seed, None if labels is None else np.asarray(labels))
    train_t = [t[train_idx] for t in tensors]
    val_t = [t[val_idx].to(device) for t in tensors] if len(val_idx) else None

    if metric_fn is None:
        if labels is not None:
            def metric_fn(m, x, y, *rest):
                return float((m(x).argmax(1) == y).float().mean())
        else:
            def metric_fn(m, *batch):
                return -float(loss_fn(m, *batch))

    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    n = len(train_idx)
    batch_size = max(1, min(config.batch_size, n))
    steps_per_epoch = max(1, n // batch_size) if n % batch_size == 1 else max(1, -(-n // batch_size))
    total = steps_per_epoch * config.epochs
    result = FitResult()
    best_state = copy.deepcopy(model.state_dict())
    best, best_loss = -float("inf"), float("inf")
    since_best = 0
    last_metric: float | None = None
    step = 0
    start = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(n, generator=generator)
        epoch_loss = 0.0
        for b in range(steps_per_epoch):
            if _is_cancelled(cancel):
                raise TrainingCancelled("Training was cancelled; nothing was saved.")
            idx = order[b * batch_size : (b + 1) * batch_size]
            batch = [t[idx].to(device, non_blocking=True) for t in train_t]
            loss = loss_fn(model, *batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            step += 1
            loss_value = float(loss.detach())
            epoch_loss += loss_value
            if progress is not None:
                progress(ProgressEvent(step, total, loss_value, last_metric, epoch, config.epochs))
        model.eval()
        with torch.no_grad():
            if val_t is not None:
                val_loss = float(loss_fn(model, *val_t))
                metric = float(metric_fn(model, *val_t))
            else:
                val_loss, metric = float("nan"), -epoch_loss / steps_per_epoch
        last_metric = metric
        result.history["epoch"].append(epoch)
        result.history["train_loss"].append(epoch_loss / steps_per_epoch)
        result.history["val_loss"].append(val_loss)
        result.history["val_metric"].append(metric)
        # Ties on the metric (accuracy saturates on small validation sets) go to the lower loss.
        tie_better = abs(metric - best) <= 1e-9 and val_loss < best_loss - 1e-6
        if metric > best + 1e-9 or tie_better:
            best, best_loss, since_best = metric, val_loss, 0
            result.best_epoch = epoch
            best_state = copy.deepcopy(model.state_dict())
        else:
            since_best += 1
        result.epochs_run = epoch
        if since_best >= config.patience:
            result.stopped_early = True
            break
    model.load_state_dict(best_state)
    model.eval()
    result.best_metric = best
    result.seconds = time.perf_counter() - start
    if progress is not None and step != total:  # early stop: tell listeners the run is complete
        progress(ProgressEvent(total, total, result.history["train_loss"][-1], last_metric, result.epochs_run, config.epochs))
    return result
