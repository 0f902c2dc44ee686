"""Time-series datasets: seeded synthetic sets with ground-truth masks, and aeon's bundled real sets.

Synthetic sets (in the spirit of TimeX, Queen et al. 2023; our own code, smaller sizes for the CPU).
Every generator returns ``X`` (n, channels, time) float32, ``y`` (n,) int64 and ``mask`` (same
shape as X, 1 where the class-deciding signal was injected). Classes are balanced (n // 4 each,
the remainder in the last class) and shuffled. The same ``seed`` gives the same arrays.

- **FreqShapes** (T=50, 1 channel): spikes 3 steps wide, every 10 or 17 steps from a random
  start; the spike direction (down / up) and the spacing decide the class (0: down/10, 1: up/10,
  2: down/17, 3: up/17). Background noise N(0, 0.25^2). Mask: the spike steps.
- **SeqComb-UV** (T=200, 1 channel): NARMA(2) background plus N(0, 0.01^2) noise; two
  non-overlapping ramps of 10-19 steps (a line plus a small sine wiggle) are written over it.
  Class 0: no ramps (empty mask), 1: two falling, 2: two rising, 3: rising then falling.
- **SeqComb-MV** (T=200, 4 channels): the same, with ramps of 15-29 steps in two different,
  randomly chosen channels.
- **LowVar** (T=200, 2 channels): N(0, 1) noise plus a NARMA(2) background; one segment of
  10-19 steps starting in [20, T-40) is replaced by low-variance values N(+-1.5, 0.1^2). The
  channel (0 for classes 0-1, 1 for classes 2-3) and the sign (-1.5: classes 0, 2; +1.5:
  classes 1, 3) decide the class. Mask: the segment.

Sizes: TimeX uses 5000 training / 1000 test series per set; we use 1000 / 300 (FreqShapes
2000 / 400) so that training, scoring six attribution methods and shipping all fit a 2-core CPU.

Real sets come from aeon's bundled UCR/UEA copies (no download): ArrowHead, ItalyPowerDemand
and JapaneseVowels. JapaneseVowels has 7-29 steps per series: it is padded with zeros to 29 steps
and a 13th channel, "observed", is 1 on real steps and 0 on padding; the masked FCN
(``fcn-masked``) multiplies its inputs and its pooling by that channel, so padding never counts.
"""

from __future__ import annotations

import numpy as np

from interp_core.data.bundled import _aeon_series, load_ts_problem
from interp_core.data.dataset import Dataset, encode_labels

N_CLASSES = 4
SYNTHETIC_SIZES = {"freqshapes": (2000, 400), "seqcomb_uv": (1000, 300), "seqcomb_mv": (1000, 300), "lowvar": (1000, 300)}
TIMEX_SIZES = (5000, 1000)


def _balanced_labels(n: int, rng: np.random.Generator) -> np.ndarray:
    counts = [n // N_CLASSES] * (N_CLASSES - 1)
    counts.append(n - sum(counts))
    y = np.concatenate([np.full(c, k, dtype=np.int64) for k, c in enumerate(counts)])
    return y[rng.permutation(n)]


def narma2(count: int, length: int, rng: np.random.Generator, burn_in: int = 50) -> np.ndarray:
    """``count`` NARMA(2) series (count, length): y[t+1] = 0.3 y[t] + 0.05 y[t] (y[t] + y[t-1]) + 1.5 u[t-1] u[t] + 0.1, u ~ U(0, 0.5)."""
    total = length + burn_in
    u = rng.uniform(0.0, 0.5, (count, total))
    y = np.zeros((count, total))
    for t in range(1, total - 1):
        y[:, t + 1] = 0.3 * y[:, t] + 0.05 * y[:, t] * (y[:, t] + y[:, t - 1]) + 1.5 * u[:, t - 1] * u[:, t] + 0.1
    return y[:, burn_in:]


def freq_shapes(n: int, seed: int = 0, length: int = 50, noise: float = 0.25) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FreqShapes: (X (n, 1, T), y (n,), mask (n, 1, T)); see the module docstring."""
    rng = np.random.default_rng(seed)
    y = _balanced_labels(n, rng)
    X = np.zeros((n, 1, length))
    mask = np.zeros((n, 1, length))
    profile = 2.0 - 0.25 * np.arange(-1, 2) ** 2  # [1.75, 2, 1.75]
    for i, label in enumerate(y):
        upward, spacing = label % 2 == 1, (10, 17)[label // 2]
        start = rng.integers(0, length - spacing)
        for centre in range(int(start), length, spacing):
            lo, hi = centre - 1, centre + 2
            if lo < 0 or hi > length:
                continue
            X[i, 0, lo:hi] = profile if upward else -profile
            mask[i, 0, lo:hi] = 1
        X[i, 0] += rng.normal(0.0, noise, length)
    return X.astype(np.float32), y, mask.astype(np.float32)


def _ramp(length: int, start_value: float, end_value: float, wiggle: int) -> np.ndarray:
    """A line centred on zero, slope (end_value - start_value) / length, plus sin(wiggle * x) (as in TimeX)."""
    x = np.arange(-(length // 2), length // 2 + length % 2)
    slope = (end_value - start_value) / length
    return slope * x + np.sin(wiggle * x)


def seq_comb(n: int, seed: int = 0, channels: int = 1, length: int = 200, seq_lengths: tuple[int, int] = (10, 20), wiggle_rate: float = 10.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SeqComb-UV (channels=1) or SeqComb-MV (channels=4, seq_lengths=(15, 30)): two ramps over NARMA(2)."""
    rng = np.random.default_rng(seed)
    y = _balanced_labels(n, rng)
    X = narma2(n * channels, length, rng).reshape(n, channels, length) + rng.normal(0.0, 0.01, (n, channels, length))
    mask = np.zeros((n, channels, length))
    for i, label in enumerate(y):
        if label == 0:
            continue
        low, high = -5 * abs(X[i].min()), 5 * abs(X[i].max())
        rising, falling = (low, high), (high, low)
        shapes = {1: (falling, falling), 2: (rising, rising), 3: (rising, falling)}[int(label)]
        where = rng.choice(channels, size=2, replace=False) if channels > 1 else [0, 0]
        previous_end = 0
        for j, (channel, (v0, v1)) in enumerate(zip(where, shapes)):
            seq_len = int(rng.integers(*seq_lengths))
            if j == 0:
                start = int(rng.integers(0, length // 2))
            else:
                start = int(rng.integers(previous_end, length - seq_len)) if previous_end < length - seq_len else length - seq_len
            X[i, channel, start : start + seq_len] = _ramp(seq_len, v0, v1, int(rng.poisson(wiggle_rate)))
            mask[i, channel, start : start + seq_len] = 1
            previous_end = start + seq_len
    return X.astype(np.float32), y, mask.astype(np.float32)


def low_var(n: int, seed: int = 0, length: int = 200, channels: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LowVar: a low-variance segment whose channel and sign decide the class; see the module docstring."""
    rng = np.random.default_rng(seed)
    y = _balanced_labels(n, rng)
    X = narma2(n * channels, length, rng).reshape(n, channels, length) + rng.normal(0.0, 1.0, (n, channels, length))
    mask = np.zeros((n, channels, length))
    for i, label in enumerate(y):
        channel = 0 if label in (0, 1) else 1
        level = -1.5 if label in (0, 2) else 1.5
        seg_len = int(rng.integers(10, 20))
        start = int(rng.integers(20, length - 40))
        X[i, channel, start : start + seg_len] = rng.normal(level, 0.1, seg_len)
        mask[i, channel, start : start + seg_len] = 1
    return X.astype(np.float32), y, mask.astype(np.float32)


GENERATORS = {
    "freqshapes": (lambda n, seed: freq_shapes(n, seed), ["down, every 10", "up, every 10", "down, every 17", "up, every 17"], "FreqShapes: spikes whose direction and spacing decide the class (T=50, 1 channel)."),
    "seqcomb_uv": (lambda n, seed: seq_comb(n, seed), ["no ramps", "two falling", "two rising", "rising then falling"], "SeqComb-UV: two ramps over a NARMA background decide the class (T=200, 1 channel)."),
    "seqcomb_mv": (lambda n, seed: seq_comb(n, seed, channels=4, seq_lengths=(15, 30), wiggle_rate=5.0), ["no ramps", "two falling", "two rising", "rising then falling"], "SeqComb-MV: two ramps in two of four channels decide the class (T=200)."),
    "lowvar": (lambda n, seed: low_var(n, seed), ["ch 0, low (-1.5)", "ch 0, high (+1.5)", "ch 1, low (-1.5)", "ch 1, high (+1.5)"], "LowVar: a low-variance segment whose channel and level decide the class (T=200, 2 channels)."),
}


def synthetic(name: str, n_train: int | None = None, n_test: int | None = None, seed: int = 0) -> Dataset:
    """A synthetic set with ground-truth masks; train and test come from independent seeds."""
    generate, class_names, description = GENERATORS[name]
    default_train, default_test = SYNTHETIC_SIZES[name]
    X_train, y_train, m_train = generate(n_train or default_train, 2 * seed)
    X_test, y_test, m_test = generate(n_test or default_test, 2 * seed + 1)
    channels = X_train.shape[1]
    return Dataset(
        name=name,
        modality="series",
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        class_names=class_names,
        feature_names=[f"channel {c}" for c in range(channels)],
        description=description + " Ground truth: the injected steps.",
        source=f"generated (interp_core.families.timeseries.data, seed {seed})",
        mask_train=m_train,
        mask_test=m_test,
    )


def load_arrow_head() -> Dataset:
    return _aeon_series("ArrowHead", "arrowhead", "ArrowHead: outlines of projectile points as 251-step series, three types (Avonlea, Clovis, Mix).")


def load_italy_power() -> Dataset:
    ds = _aeon_series("ItalyPowerDemand", "italy_power", "ItalyPowerDemand: 24 hourly loads of one day, October-March vs April-September.",
                      {"1": "Oct-Mar", "2": "Apr-Sep"})
    ds.feature_names = ["load"]
    return ds


def pad_and_mask(series: list[np.ndarray], length: int) -> np.ndarray:
    """Variable-length (channels, t_i) arrays -> (n, channels + 1, length): zero padding plus an 'observed' channel."""
    channels = series[0].shape[0]
    out = np.zeros((len(series), channels + 1, length), dtype=np.float32)
    for i, s in enumerate(series):
        t = min(s.shape[1], length)
        out[i, :channels, :t] = s[:, :t]
        out[i, channels, :t] = 1.0
    return out


def load_japanese_vowels() -> Dataset:
    X_train, y_train_raw = load_ts_problem("JapaneseVowels", "train")
    X_test, y_test_raw = load_ts_problem("JapaneseVowels", "test")
    length = max(s.shape[1] for s in list(X_train) + list(X_test))
    labels, class_names = encode_labels(np.concatenate([y_train_raw, y_test_raw]))
    n_train = len(y_train_raw)
    channels = X_train[0].shape[0]
    return Dataset(
        name="japanese_vowels",
        modality="series",
        X_train=pad_and_mask(list(X_train), length),
        y_train=labels[:n_train],
        X_test=pad_and_mask(list(X_test), length),
        y_test=labels[n_train:],
        class_names=[f"speaker {c}" for c in class_names],
        feature_names=[f"cepstrum {c + 1}" for c in range(channels)] + ["observed"],
        description=f"JapaneseVowels: 12 LPC cepstrum coefficients of a spoken vowel, 7-{length} steps (zero-padded; the last channel marks real steps), nine speakers.",
        source="aeon (bundled UEA copy, original train/test split)",
        extras={"observed_channel": channels},
    )
