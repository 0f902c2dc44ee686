"""The one fit loop (interp_core.training)."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
import torch
from torch import nn

from interp_core.errors import TrainingCancelled
from interp_core.training import TrainConfig, accuracy, default_loss, fit, validation_split


def separable(n: int = 200, d: int = 4, seed: int = 0):
    """Two Gaussian blobs far apart: any linear model separates them."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = rng.normal(size=(n, d)).astype(np.float32) + (4.0 * (2 * y - 1))[:, None]
    return X.astype(np.float32), y.astype(np.int64)


def small_net(d: int = 4, classes: int = 2, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, 16), nn.ReLU(), nn.Linear(16, classes))


class TinyAutoencoder(nn.Module):
    """No labels: the loss is reconstruction error, given by training_loss(x)."""

    def __init__(self, d: int = 8, k: int = 3):
        super().__init__()
        self.encoder = nn.Linear(d, k)
        self.decoder = nn.Linear(k, d)

    def forward(self, x):
        return self.decoder(self.encoder(x))

    def training_loss(self, x):
        return ((self(x) - x) ** 2).mean()


def test_fit_reaches_high_accuracy_on_separable_data():
    X, y = separable()
    model = small_net()
    result = fit(model, (X, y), TrainConfig(epochs=15, batch_size=32, lr=1e-2, patience=100), device="cpu", seed=0)
    assert accuracy(model, X, y) >= 0.97
    assert result.best_metric >= 0.95
    assert result.epochs_run == 15 and not result.stopped_early
    assert len(result.history["train_loss"]) == 15
    assert result.history["train_loss"][-1] < result.history["train_loss"][0]
    assert not model.training  # left in eval mode


def test_progress_events_increase_to_total_with_finite_losses():
    X, y = separable(n=100)
    events = []
    config = TrainConfig(epochs=4, batch_size=16, lr=1e-2, patience=100)
    fit(small_net(), (X, y), config, device="cpu", seed=0, progress=events.append)
    assert events, "no progress events"
    steps = [e.step for e in events]
    total = events[0].total
    assert all(e.total == total for e in events)
    in_loop = steps[:-1]  # the last event is the closing one, sent after the loop with step == total
    assert all(b > a for a, b in zip(in_loop, in_loop[1:])), steps
    assert steps[-1] >= in_loop[-1]
    assert steps[0] == 1 and steps[-1] == total
    # 80 training rows (20% held out), batches of 16: 5 steps per epoch.
    assert total == 5 * config.epochs
    assert all(math.isfinite(e.loss) for e in events)
    assert [e.epoch for e in events[:-1]] == sorted(e.epoch for e in events[:-1])
    assert events[0].metric is None and events[-1].metric is not None


@pytest.mark.parametrize("after", [0, 3])
def test_cancellation_raises_and_stops_promptly(after):
    X, y = separable(n=100)
    calls = {"n": 0}
    events = []

    def cancel():
        calls["n"] += 1
        return calls["n"] > after

    with pytest.raises(TrainingCancelled, match="cancelled"):
        fit(small_net(), (X, y), TrainConfig(epochs=50, batch_size=16), device="cpu", progress=events.append, cancel=cancel)
    assert calls["n"] == after + 1
    assert len(events) == after


def test_cancellation_with_an_event():
    X, y = separable(n=100)
    stop = threading.Event()
    stop.set()
    with pytest.raises(TrainingCancelled):
        fit(small_net(), (X, y), TrainConfig(epochs=5), device="cpu", cancel=stop)


def test_early_stopping_restores_best_weights():
    # Labels are noise: validation accuracy stops improving while the net memorises the training rows.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 10)).astype(np.float32)
    y = rng.integers(0, 2, size=120).astype(np.int64)
    model = small_net(d=10)
    config = TrainConfig(epochs=300, batch_size=16, lr=3e-2, patience=3, val_fraction=0.25)
    result = fit(model, (X, y), config, device="cpu", seed=0)
    assert result.stopped_early
    assert result.epochs_run < config.epochs
    assert 1 <= result.best_epoch <= result.epochs_run
    assert result.epochs_run == result.best_epoch + config.patience
    assert result.best_metric == result.history["val_metric"][result.best_epoch - 1]
    # The model holds the best epoch's weights: its validation loss is the best epoch's, not the last one's.
    _, val_idx = validation_split(len(X), config.val_fraction, 0, y)
    with torch.no_grad():
        val_loss = float(default_loss(model, torch.as_tensor(X[val_idx]), torch.as_tensor(y[val_idx])))
    assert val_loss == pytest.approx(result.history["val_loss"][result.best_epoch - 1], rel=1e-5)
    assert val_loss != pytest.approx(result.history["val_loss"][-1], rel=1e-5)


def test_same_seed_gives_identical_weights_and_metrics():
    X, y = separable(n=120)
    config = TrainConfig(epochs=5, batch_size=16, lr=1e-2)
    runs = []
    for _ in range(2):
        model = small_net(seed=0)
        result = fit(model, (X, y), config, device="cpu", seed=11)
        runs.append((model.state_dict(), result.history))
    (state_a, history_a), (state_b, history_b) = runs
    assert state_a.keys() == state_b.keys()
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    assert history_a == history_b


def test_different_seed_gives_different_weights():
    X, y = separable(n=120)
    config = TrainConfig(epochs=3, batch_size=16, lr=1e-2)
    model_a, model_b = small_net(seed=0), small_net(seed=0)  # same initial weights
    fit(model_a, (X, y), config, device="cpu", seed=1)
    fit(model_b, (X, y), config, device="cpu", seed=2)
    state_a, state_b = model_a.state_dict(), model_b.state_dict()
    assert any(not torch.equal(state_a[k], state_b[k]) for k in state_a)


def test_custom_training_loss_without_labels():
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(256, 3))
    X = (latent @ rng.normal(size=(3, 8))).astype(np.float32)  # rank-3 data: an autoencoder with k=3 can fit it
    torch.manual_seed(0)
    model = TinyAutoencoder()
    with torch.no_grad():
        before = float(model.training_loss(torch.as_tensor(X)))
    result = fit(model, (X,), TrainConfig(epochs=30, batch_size=32, lr=1e-2, patience=100), device="cpu", seed=0)
    with torch.no_grad():
        after = float(model.training_loss(torch.as_tensor(X)))
    assert after < 0.2 * before
    losses = result.history["train_loss"]
    assert losses[-1] < losses[0]
    assert all(math.isfinite(v) for v in losses)
    # Without labels the validation metric is minus the validation loss.
    assert result.history["val_metric"][-1] == pytest.approx(-result.history["val_loss"][-1])


def test_no_validation_split_still_trains():
    X, y = separable(n=60)
    model = small_net()
    result = fit(model, (X, y), TrainConfig(epochs=5, lr=1e-2, val_fraction=0.0), device="cpu")
    assert all(math.isnan(v) for v in result.history["val_loss"])
    assert accuracy(model, X, y) > 0.9


def test_validation_split_is_stratified_and_disjoint():
    y = np.array([0] * 30 + [1] * 10)
    train_idx, val_idx = validation_split(40, 0.25, 0, y)
    assert len(val_idx) == 10 and len(train_idx) == 30
    assert not set(train_idx) & set(val_idx)
    assert np.bincount(y[val_idx]).tolist() == [7, 3] or np.bincount(y[val_idx]).tolist() == [8, 2]


def test_train_config_from_dict_ignores_unknown_keys():
    config = TrainConfig.from_dict({"epochs": 3, "lr": 0.1, "not_a_field": 1})
    assert config.epochs == 3 and config.lr == 0.1
    assert TrainConfig.from_dict(config.to_dict()) == config
