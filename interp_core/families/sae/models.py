"""Sparse autoencoders in a small registry, and a source model with one spliced in.

Every SAE is one class with ``encode`` / ``decode`` / ``training_loss`` and a config dataclass:

| arch        | encode                                              | dead latents                    |
|-------------|-----------------------------------------------------|---------------------------------|
| ``relu``    | ReLU(pre-activations), L1 penalty on the codes       | resampling (done by the trainer) |
| ``topk``    | keep the k largest pre-activations per example       | AuxK loss (Gao et al. 2024)      |
| ``batchtopk`` | keep the B*k largest over a batch; a learned threshold at inference | AuxK loss      |
| ``jumprelu`` | pre-activation kept above a learned per-latent threshold; L0 penalty through a straight-through estimator | resampling |
| ``matryoshka`` | BatchTopK codes; every nested prefix of the latents reconstructs on its own (summed losses) | AuxK loss |
| ``mp``      | matching pursuit over the tied dictionary (MP-SAE)    | resampling                       |

Shapes: ``W_enc`` (width, d_in) and ``W_dec`` (width, d_in) hold one row per latent; the decoder
rows are kept at unit norm by the trainer, so a latent's activation is its share of the input
in the input's own units. Inputs are divided by ``input_scale`` (a buffer fitted on the data,
so E||x - mean||^2 = d_in) before encoding and multiplied back after decoding.

TopK and BatchTopK train through a sparse path: the encoder's gradient touches only the
selected (example, latent) pairs and the decoder is an ``embedding_bag``, so a training step
costs one dense matrix product (the encoder's forward) instead of six (the operations: ``sparse_step``).

Also here: ``SplicedModel``, which runs a source model with an SAE's reconstruction spliced in.
The source models themselves (the toy model, the digits MLP's hidden layer, MiniLM) are in ``hosts``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from interp_core.errors import RecipeError
from interp_core.families.sae.sparse_step import SelectedPreActs, encoder_product, row_topk, sparse_decode
from interp_core.models.configs import check_config


# -- configs -----------------------------------------------------------------------------------
@dataclass
class SAEConfig:
    d_in: int
    width: int

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "SAEConfig":
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise RecipeError(f"Unknown SAE setting(s) {', '.join(unknown)} for {cls.__name__}; expected some of: {', '.join(sorted(names))}.")
        return cls(**values)


@dataclass
class ReLUConfig(SAEConfig):
    l1_coefficient: float = 5e-3  # penalty per unit of (normalised) activation, summed over latents
    target_l0: float | None = None  # set: the trainer adapts the coefficient (starting here) until the batch L0 is this (SparsityController)


@dataclass
class TopKConfig(SAEConfig):
    k: int = 8
    aux_k: int | None = None  # dead latents used by the AuxK loss; default d_in // 2 (as SAELens)
    aux_coefficient: float = 1 / 32  # Gao et al. 2024


@dataclass
class BatchTopKConfig(TopKConfig):
    threshold_momentum: float = 0.99  # running estimate of the inference threshold (used while no calibrated one is set)
    calibration_samples: int = 16384  # training activations the threshold is calibrated on after training (0: keep the running one)
    calibrated_threshold: float | None = None  # the inference threshold calibrate_threshold found (mean L0 = k on its sample)


@dataclass
class JumpReLUConfig(SAEConfig):
    # In units of the normalised input (variance 1 per dimension). SAELens starts thresholds at 0.01 with
    # a bandwidth of 0.05 and trains for millions of tokens; at 0.01 the thresholds of our short runs
    # barely moved (L0 24-27 on the toys, MMCS 0.59-0.67), so they start at 0.5 with a wider kernel.
    l0_coefficient: float = 0.05  # penalty per firing latent, as a share of the input's variance d
    initial_threshold: float = 0.5
    bandwidth: float = 0.3  # width of the straight-through estimator's rectangle kernel
    target_l0: float | None = None  # set: the trainer adapts l0_coefficient (starting here) until the batch L0 is this (SparsityController)
    calibration_samples: int = 16384  # with a target_l0: training activations the thresholds are scaled on after training (0: not)


@dataclass
class MatryoshkaConfig(BatchTopKConfig):
    groups: int = 2  # nested prefixes: the first width/2^(groups-1), ..., width/2, width latents (2: half, then all)


@dataclass
class MPConfig(SAEConfig):
    k: int = 8  # at most k pursuit steps
    tolerance: float = 1e-3  # stop when ||residual||^2 < tolerance * ||x||^2


FIT_ROWS = 65536  # rows of fit_input's activations a penalty SAE's starting threshold is read from


@torch.no_grad()
def fit_scale(values: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor) -> None:
    """Set ``scale`` so E||v / scale - mean / scale||^2 = width of ``values`` (n, width), and ``bias`` to mean / scale."""
    mean = values.mean(0)
    variance = (values - mean).pow(2).sum(1).mean()
    value = float(torch.sqrt(variance / values.shape[1])) if variance > 0 else 1.0
    scale.fill_(value if value > 1e-8 else 1.0)
    bias.copy_(mean / scale)


@torch.no_grad()
def l0_threshold(pre_acts: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, l0: float, chunk: int = 4096) -> float:
    """The threshold t at which the rows of ``x`` (N, d_in) have on average ``l0`` pre-activations above it:
    the midpoint of the (l0*N)-th and (l0*N+1)-th largest of all N * width pre-activations (-inf when
    there are fewer), found chunk by chunk so the (N, width) matrix is never whole."""
    need = int(round(l0 * len(x))) + 1
    kept = None
    for lo in range(0, len(x), chunk):  # the need largest values so far
        pre = pre_acts(x[lo : lo + chunk]).reshape(-1)
        pool = pre if kept is None else torch.cat([kept, pre])
        kept = pool.topk(min(need, pool.numel()), sorted=False).values
    if kept is None or kept.numel() < need or need < 2:
        return -math.inf if need >= 2 else math.inf
    return float(kept.neg().topk(2).values.sum().neg()) / 2  # kept's two smallest: the (l0*N)-th and (l0*N+1)-th largest


# -- the SAE registry ---------------------------------------------------------------------------
class SparseAutoencoder(nn.Module):
    """Base class: linear encoder, unit-norm decoder rows, decoder bias subtracted before encoding."""

    arch = "base"
    config_cls: type[SAEConfig] = SAEConfig
    uses_aux_loss = False  # True: dead latents are revived by an auxiliary loss, else by resampling

    def __init__(self, d_in: int, width: int, **settings):
        super().__init__()
        if d_in < 1 or width < 1:
            raise RecipeError(f"An SAE needs d_in >= 1 and width >= 1; got d_in={d_in}, width={width}.")
        self.config = self.config_cls.from_dict({"d_in": int(d_in), "width": int(width), **settings})
        decoder = torch.randn(width, d_in)
        decoder /= decoder.norm(dim=1, keepdim=True)
        self.W_dec = nn.Parameter(decoder)
        self.W_enc = nn.Parameter(decoder.clone())
        self.b_enc = nn.Parameter(torch.zeros(width))
        self.b_dec = nn.Parameter(torch.zeros(d_in))
        self.register_buffer("input_scale", torch.ones(()))

    @property
    def d_in(self) -> int:
        return self.config.d_in

    @property
    def width(self) -> int:
        return self.config.width

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.config.to_dict().items())

    # -- set-up --------------------------------------------------------------------------------
    @torch.no_grad()
    def fit_input(self, acts: torch.Tensor) -> "SparseAutoencoder":
        """Scale so E||x - mean||^2 = d_in, and start the decoder bias at the mean."""
        fit_scale(acts.float(), self.input_scale, self.b_dec)
        return self

    @torch.no_grad()
    def normalize_decoder(self) -> None:
        self.W_dec.div_(self.W_dec.norm(dim=1, keepdim=True).clamp_min(1e-8))

    # -- inference -----------------------------------------------------------------------------
    def pre_acts(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder pre-activations (n, width) of raw inputs x (n, d_in)."""
        return encoder_product(x / self.input_scale - self.b_dec, self.W_enc, self.b_enc)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Dense codes (n, width), in units of the normalised input."""
        raise NotImplementedError

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Reconstruction (n, d_in) in the input's own units."""
        return (codes @ self.W_dec + self.b_dec) * self.input_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def target(self, x: torch.Tensor) -> torch.Tensor:
        """What the reconstruction of ``x`` is compared with: ``x`` itself (a transcoder: the block's output)."""
        return x

    # -- training ------------------------------------------------------------------------------
    def training_loss(self, x: torch.Tensor, dead: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        """(loss, stats) for a batch of raw inputs; stats holds detached tensors: mse, l0, fired (width,) bool."""
        codes = self.encode(x)
        target = x / self.input_scale
        recon = codes @ self.W_dec + self.b_dec
        mse = (recon - target).pow(2).sum(1).mean()
        return mse, {"mse": mse.detach(), "l0": (codes > 0).sum(1).float().mean(), "fired": (codes > 0).any(0), "target": target, "recon": recon.detach()}


class ReLUSAE(SparseAutoencoder):
    """The standard SAE: ReLU codes and an L1 penalty (decoder rows at unit norm, so L1 is meaningful)."""

    arch = "relu"
    config_cls = ReLUConfig

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.pre_acts(x))

    def __init__(self, d_in: int, width: int, **settings):
        super().__init__(d_in, width, **settings)
        self.sparsity_coefficient = float(self.config.l1_coefficient)  # the trainer's SparsityController moves it when target_l0 is set

    @torch.no_grad()
    def fit_input(self, acts: torch.Tensor) -> "ReLUSAE":
        """As every SAE; with a target_l0, the encoder bias also starts at minus the threshold that the
        target L0 needs on these activations, so training starts at the target and the controller holds it."""
        super().fit_input(acts)
        if self.config.target_l0 is not None:
            self.b_enc.fill_(-max(0.0, l0_threshold(self.pre_acts, acts[:FIT_ROWS].float(), self.config.target_l0)))
        return self

    def training_loss(self, x, dead=None):
        codes = self.encode(x)
        target = x / self.input_scale
        recon = codes @ self.W_dec + self.b_dec
        mse = (recon - target).pow(2).sum(1).mean()
        l1 = codes.sum(1).mean()
        loss = mse + self.sparsity_coefficient * self.d_in * l1
        return loss, {"mse": mse.detach(), "l0": (codes > 0).sum(1).float().mean(), "fired": (codes > 0).any(0), "target": target, "recon": recon.detach()}


class TopKSAE(SparseAutoencoder):
    """Keep the k largest pre-activations of each example (Gao et al. 2024); AuxK revives dead latents."""

    arch = "topk"
    config_cls = TopKConfig
    uses_aux_loss = True

    @property
    def k(self) -> int:
        return min(self.config.k, self.width)

    def select(self, pre: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(rows, cols) of the chosen pairs, rows ascending."""
        rows, cols, _ = self.select_values(pre)
        return rows, cols

    def select_values(self, pre: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(rows, cols, pre[rows, cols]): the values come with the top-k, not from a second gather."""
        values, indices = row_topk(pre, self.k)
        rows = torch.arange(len(pre), device=pre.device).repeat_interleave(self.k)
        return rows, indices.reshape(-1), values.reshape(-1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        pre = self.pre_acts(x)
        rows, cols = self.select(pre)
        codes = torch.zeros_like(pre)
        codes[rows, cols] = F.relu(pre[rows, cols])
        return codes

    def sparse_codes(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        pre = self.pre_acts(x)
        rows, cols = self.select(pre)
        return rows, cols, F.relu(pre[rows, cols])

    def training_loss(self, x, dead=None):
        target = x / self.input_scale
        x_c = target - self.b_dec.detach()
        with torch.no_grad():
            pre = encoder_product(x_c, self.W_enc, self.b_enc)
            rows, cols, chosen = self.select_values(pre)
            chosen = self._chosen(chosen, x_c, rows, cols)
        values = F.relu(SelectedPreActs.apply(x_c, self.b_dec, self.W_enc, self.b_enc, rows, cols, chosen))
        loss, recon, mse = self._reconstruction_loss(rows, cols, values, target)
        fired = torch.zeros(self.width, dtype=torch.bool, device=x.device)
        fired[cols[values > 0]] = True
        if dead is not None:
            n_dead = int(dead.sum())
            if n_dead:
                loss = loss + self._aux_loss(x_c, pre, dead, n_dead, (target - recon).detach())
        l0 = (values > 0).sum().float() / len(x)
        return loss, {"mse": mse.detach(), "l0": l0, "fired": fired, "target": target, "recon": recon.detach()}

    def _chosen(self, values, x_c, rows, cols) -> torch.Tensor:
        """The chosen pairs' pre-activations in float32: ``values`` as selected, or, when they came from a
        lower-precision product (bf16 autocast), recomputed exactly (k dot products a row, ~k/width
        of the encoder's work), so the reduced precision only decides which latents are chosen."""
        if values.dtype == torch.float32:
            return values
        return (x_c[rows].float() * self.W_enc[cols].float()).sum(1) + self.b_enc[cols].float()  # elementwise: autocast leaves it in float32

    def _reconstruction_loss(self, rows, cols, values, target) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(loss, reconstruction, its squared error detached) of the chosen codes: the loss is that error."""
        recon = sparse_decode(rows, cols, values, len(target), self.W_dec) + self.b_dec
        loss = (recon - target).pow(2).sum(1).mean()
        return loss, recon, loss.detach()

    def _aux_loss(self, x_c, pre, dead, n_dead, residual):
        """AuxK: the top dead latents try to reconstruct what the live ones missed."""
        k_aux = self.config.aux_k or max(1, self.d_in // 2)
        scale = min(n_dead / k_aux, 1.0)
        k_aux = min(k_aux, n_dead)
        with torch.no_grad():
            masked = pre.masked_fill(~dead, -math.inf)
            top = masked.topk(k_aux, dim=1, sorted=False)  # k_aux <= n_dead: every pick is a dead latent's own value
            rows = torch.arange(len(pre), device=pre.device).repeat_interleave(k_aux)
            cols = top.indices.reshape(-1)
            chosen = self._chosen(top.values.reshape(-1), x_c, rows, cols)
        values = SelectedPreActs.apply(x_c, self.b_dec, self.W_enc, self.b_enc, rows, cols, chosen)
        recon = sparse_decode(rows, cols, values, len(x_c), self.W_dec)
        return self.config.aux_coefficient * scale * (recon - residual).pow(2).sum(1).mean()


class BatchTopKSAE(TopKSAE):
    """Keep the batch_size * k largest pre-activations of a batch (Bussmann et al. 2024).

    At inference a latent fires when its pre-activation exceeds ``threshold``, a running mean of
    the smallest value kept in training batches, so codes no longer depend on the batch.
    """

    arch = "batchtopk"
    config_cls = BatchTopKConfig

    def __init__(self, d_in: int, width: int, **settings):
        super().__init__(d_in, width, **settings)
        calibrated = self.config.calibrated_threshold
        self.register_buffer("threshold", torch.tensor(float(calibrated) if calibrated is not None else 0.0))

    @torch.no_grad()
    def calibrate_threshold(self, x: torch.Tensor) -> float:
        """Set the inference threshold so that the mean L0 on the raw inputs ``x`` (N, d_in) is k
        (``l0_threshold``; at least 0: codes are never negative). The running mean of training's smallest
        kept value lags behind a changing encoder (7 of k = 12 latents fired after 97 steps). Recorded in
        ``config.calibrated_threshold`` as well as the buffer, so a stored SAE rebuilt from its config
        has it; returns it."""
        value = max(0.0, l0_threshold(self.pre_acts, x, self.k))
        self.threshold.fill_(value)
        self.config.calibrated_threshold = value
        return value

    def select_values(self, pre: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if not self.training:
            rows, cols = (pre > self.threshold).nonzero(as_tuple=True)
            return rows, cols, pre[rows, cols]
        flat = pre.reshape(-1).topk(min(self.k * len(pre), pre.numel()), sorted=False)
        order, perm = flat.indices.sort()
        rows, cols, kept = order // self.width, order % self.width, flat.values[perm]
        with torch.no_grad():
            positive = kept[kept > 0]
            if len(positive):
                m = self.config.threshold_momentum
                smallest = positive.min()
                self.threshold.copy_(smallest if float(self.threshold) == 0 else m * self.threshold + (1 - m) * smallest)
        return rows, cols, kept


class MatryoshkaSAE(BatchTopKSAE):
    """Matryoshka SAE (Bussmann et al. 2025; Nabeshima 2024) on BatchTopK codes: the first m latents
    must reconstruct the input on their own, for every m in ``prefixes`` (width/2^(groups-1), ...,
    width), and the loss sums the squared errors of the nested reconstructions. General features
    settle in the early latents, which every prefix uses; specific ones in the later latents, which
    only add detail, so a child feature has less reason to absorb its parent's direction."""

    arch = "matryoshka"
    config_cls = MatryoshkaConfig

    @property
    def prefixes(self) -> list[int]:
        ends = [max(1, self.width >> (self.config.groups - 1 - i)) for i in range(max(1, self.config.groups))]
        return sorted(set(ends) | {self.width})

    def _reconstruction_loss(self, rows, cols, values, target):
        recon = self.b_dec.expand_as(target)
        loss, start = 0.0, 0
        for end in self.prefixes:  # each group's latents added to the previous prefix's reconstruction
            group = (cols >= start) & (cols < end)
            recon = recon + sparse_decode(rows[group], cols[group], values[group], len(target), self.W_dec)
            term = (recon - target).pow(2).sum(1).mean()
            loss = loss + term
            start = end
        return loss, recon, term.detach()  # the last prefix is every latent: the whole reconstruction's error


def _rectangle(x: torch.Tensor) -> torch.Tensor:
    return ((x > -0.5) & (x < 0.5)).to(x)


class _JumpReLU(torch.autograd.Function):
    """pre * (pre > threshold); the threshold's gradient through a rectangle kernel of width
    ``bandwidth`` (the straight-through estimator of Rajamanoharan et al. 2024)."""

    @staticmethod
    def forward(ctx, pre, threshold, bandwidth):
        ctx.save_for_backward(pre, threshold)
        ctx.bandwidth = bandwidth
        return pre * (pre > threshold).to(pre)

    @staticmethod
    def backward(ctx, grad):
        pre, threshold = ctx.saved_tensors
        bandwidth = ctx.bandwidth
        grad_pre = grad * (pre > threshold).to(pre)
        grad_threshold = (-(threshold / bandwidth) * _rectangle((pre - threshold) / bandwidth) * grad).sum(0)
        return grad_pre, grad_threshold, None


class _Step(torch.autograd.Function):
    """(pre > threshold) as 0/1, for the L0 penalty: no gradient to pre, the estimator's to the threshold."""

    @staticmethod
    def forward(ctx, pre, threshold, bandwidth):
        ctx.save_for_backward(pre, threshold)
        ctx.bandwidth = bandwidth
        return (pre > threshold).to(pre)

    @staticmethod
    def backward(ctx, grad):
        pre, threshold = ctx.saved_tensors
        bandwidth = ctx.bandwidth
        grad_threshold = (-(1.0 / bandwidth) * _rectangle((pre - threshold) / bandwidth) * grad).sum(0)
        return torch.zeros_like(pre), grad_threshold, None


class JumpReLUSAE(SparseAutoencoder):
    """JumpReLU SAE (Rajamanoharan et al. 2024): a latent passes its pre-activation only above its own
    learned threshold exp(log_threshold); the loss adds an L0 penalty (the count of firing latents),
    whose gradient reaches the thresholds through a straight-through estimator."""

    arch = "jumprelu"
    config_cls = JumpReLUConfig

    def __init__(self, d_in: int, width: int, **settings):
        super().__init__(d_in, width, **settings)
        self.log_threshold = nn.Parameter(torch.full((width,), math.log(self.config.initial_threshold)))
        self.sparsity_coefficient = float(self.config.l0_coefficient)  # the trainer's SparsityController moves it when target_l0 is set

    @torch.no_grad()
    def fit_input(self, acts: torch.Tensor) -> "JumpReLUSAE":
        """As every SAE; with a target_l0, every threshold also starts where the target L0 is reached on these
        activations (log thresholds move about lr a step under Adam, so from initial_threshold a short run
        stays far from it: L0 99-123 for k = 12 after 97 steps)."""
        super().fit_input(acts)
        if self.config.target_l0 is not None:
            found = l0_threshold(self.pre_acts, acts[:FIT_ROWS].float(), self.config.target_l0)
            self.log_threshold.fill_(math.log(found if 1e-3 < found < math.inf else self.config.initial_threshold))
        return self

    @property
    def threshold(self) -> torch.Tensor:
        return self.log_threshold.exp()

    @torch.no_grad()
    def calibrate_threshold(self, x: torch.Tensor) -> float | None:
        """With a target_l0: scale every threshold by one factor so that the mean L0 on the raw inputs ``x``
        is the target (``l0_threshold`` of pre-activation / threshold), keeping the thresholds' ratios the
        training set; the factor (None without a target). A short run's thresholds cannot follow the
        encoder (log thresholds move about lr a step), so the controller alone left L0 at 7 for 12."""
        if self.config.target_l0 is None:
            return None
        threshold = self.threshold
        factor = l0_threshold(lambda rows: self.pre_acts(rows) / threshold, x, self.config.target_l0)
        if not 0 < factor < math.inf:
            return None
        self.log_threshold.add_(math.log(factor))
        return factor

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        pre = self.pre_acts(x)
        return pre * (pre > self.threshold).to(pre)

    def training_loss(self, x, dead=None):
        pre = self.pre_acts(x)
        threshold, bandwidth = self.threshold, self.config.bandwidth
        codes = _JumpReLU.apply(pre, threshold, bandwidth)
        target = x / self.input_scale
        recon = codes @ self.W_dec + self.b_dec
        mse = (recon - target).pow(2).sum(1).mean()
        l0 = _Step.apply(pre, threshold, bandwidth).sum(1).mean()
        loss = mse + self.sparsity_coefficient * self.d_in * l0
        return loss, {"mse": mse.detach(), "l0": l0.detach(), "fired": (codes > 0).any(0), "target": target, "recon": recon.detach()}


class MatchingPursuitSAE(SparseAutoencoder):
    """MP-SAE: codes by greedy matching pursuit over the tied (unit-norm) dictionary W_dec.

    r = x - b_dec; repeat: j = argmax relu(r . W_dec), a_j += that coefficient, r -= coefficient * W_dec[j];
    stop after k steps or when ||r||^2 < tolerance * ||x||^2. Training updates the dictionary and
    b_dec for the codes found (the pursuit itself has no parameters); W_enc is unused.
    """

    arch = "mp"
    config_cls = MPConfig

    def __init__(self, d_in: int, width: int, **settings):
        super().__init__(d_in, width, **settings)
        self.W_enc.requires_grad_(False)

    def pre_acts(self, x: torch.Tensor) -> torch.Tensor:
        return (x / self.input_scale - self.b_dec) @ self.W_dec.t()

    @torch.no_grad()
    def _pursuit(self, target: torch.Tensor) -> torch.Tensor:
        dictionary = self.W_dec.detach()
        residual = target - self.b_dec.detach()
        codes = torch.zeros(len(target), self.width, device=target.device, dtype=target.dtype)
        start = residual.pow(2).sum(1)
        active = torch.ones(len(target), dtype=torch.bool, device=target.device)
        for _ in range(min(self.config.k, self.width)):
            scores = F.relu(residual @ dictionary.t())
            best, j = scores.max(1)
            best = torch.where(active, best, torch.zeros_like(best))
            codes[torch.arange(len(target), device=target.device), j] += best
            residual -= best[:, None] * dictionary[j]
            active &= (residual.pow(2).sum(1) > self.config.tolerance * start) & (best > 0)
            if not bool(active.any()):
                break
        return codes

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self._pursuit(x / self.input_scale)

    def training_loss(self, x, dead=None):
        target = x / self.input_scale
        codes = self._pursuit(target)
        recon = codes @ self.W_dec + self.b_dec
        mse = (recon - target).pow(2).sum(1).mean()
        return mse, {"mse": mse.detach(), "l0": (codes > 0).sum(1).float().mean(), "fired": (codes > 0).any(0), "target": target, "recon": recon.detach()}


@dataclass
class TranscoderConfig(TopKConfig):
    d_out: int = 1  # the width of the block's output


class TopKTranscoder(TopKSAE):
    """A TopK transcoder (Dunefsky et al. 2024): sparse features that read a block's input (d_in) and
    reconstruct the block's output (d_out), so the block can be replaced by it.

    Its activations come *packed*: one row is [block input | block output] (d_in + d_out), which is
    what the SAE trainer, ``explain.reconstruction_metrics`` and ``steer`` pass around; ``encode``
    reads the input part (it also takes the input alone), ``target`` is the output part, ``decode``
    writes the output. ``b_in`` centres the input (an SAE centres it with ``b_dec``); the input and
    output have scales of their own. Trained densely (blocks here are small), with the AuxK loss.
    """

    arch = "transcoder"
    config_cls = TranscoderConfig

    def __init__(self, d_in: int, width: int, **settings):
        super().__init__(d_in, width, **settings)
        d_out = self.config.d_out
        if d_out < 1:
            raise RecipeError(f"A transcoder needs d_out >= 1; got d_out={d_out}.")
        decoder = torch.randn(width, d_out)
        self.W_dec = nn.Parameter(decoder / decoder.norm(dim=1, keepdim=True))
        self.b_dec = nn.Parameter(torch.zeros(d_out))
        self.b_in = nn.Parameter(torch.zeros(d_in))
        self.register_buffer("output_scale", torch.ones(()))

    @property
    def d_out(self) -> int:
        return self.config.d_out

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, : self.d_in] if x.shape[1] == self.d_in + self.d_out else x

    def target(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != self.d_in + self.d_out:
            raise RecipeError(f"A transcoder's target needs packed rows [input | output] of width {self.d_in + self.d_out}; got width {x.shape[1]}.")
        return x[:, self.d_in :]

    @torch.no_grad()
    def fit_input(self, acts: torch.Tensor) -> "TopKTranscoder":
        """Scale input and output so each has E||v - mean||^2 = its width; start the biases at the means."""
        acts = acts.float()
        fit_scale(self.inputs(acts), self.input_scale, self.b_in)
        fit_scale(self.target(acts), self.output_scale, self.b_dec)
        return self

    def pre_acts(self, x: torch.Tensor) -> torch.Tensor:
        return encoder_product(self.inputs(x) / self.input_scale - self.b_in, self.W_enc, self.b_enc)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        return (codes @ self.W_dec + self.b_dec) * self.output_scale

    def training_loss(self, x, dead=None):
        pre = self.pre_acts(x)
        rows, cols = self.select(pre.detach())
        codes = torch.zeros_like(pre).index_put((rows, cols), F.relu(pre[rows, cols]))
        target = self.target(x) / self.output_scale
        recon = codes @ self.W_dec + self.b_dec
        mse = (recon - target).pow(2).sum(1).mean()
        loss = mse
        if dead is not None and bool(dead.any()):  # AuxK: the top dead latents reconstruct what the live ones missed
            n_dead = int(dead.sum())
            k_aux = self.config.aux_k or max(1, self.d_out // 2)
            idx = pre.detach().masked_fill(~dead, -math.inf).topk(min(k_aux, n_dead), dim=1).indices
            aux_codes = torch.zeros_like(pre).scatter(1, idx, pre.gather(1, idx))
            residual = (target - recon).detach()
            loss = loss + self.config.aux_coefficient * min(n_dead / k_aux, 1.0) * (aux_codes @ self.W_dec - residual).pow(2).sum(1).mean()
        return loss, {"mse": mse.detach(), "l0": (codes > 0).sum(1).float().mean(), "fired": (codes > 0).any(0), "target": target, "recon": recon.detach()}


TRANSCODERS: dict[str, type[SparseAutoencoder]] = {"transcoder": TopKTranscoder}  # not SAEs: kept out of the SAE architecture list

SAE_ARCHITECTURES: dict[str, type[SparseAutoencoder]] = {}
ARCH_TITLES = {"topk": "TopK", "batchtopk": "BatchTopK", "jumprelu": "JumpReLU", "matryoshka": "Matryoshka", "mp": "MP-SAE", "relu": "ReLU + L1"}


def register_sae(cls: type[SparseAutoencoder]) -> type[SparseAutoencoder]:
    SAE_ARCHITECTURES[cls.arch] = cls
    return cls


for _cls in (ReLUSAE, TopKSAE, BatchTopKSAE, JumpReLUSAE, MatryoshkaSAE, MatchingPursuitSAE):
    register_sae(_cls)


def build_sae(arch: str, config: dict) -> SparseAutoencoder:
    known = {**SAE_ARCHITECTURES, **TRANSCODERS}
    if arch not in known:
        raise RecipeError(f"Unknown SAE architecture '{arch}'; expected one of: {', '.join(sorted(SAE_ARCHITECTURES))}.")
    check_config(f"sae-{arch}", known[arch], config)
    return known[arch](**config)


# -- a source model with the SAE spliced in -------------------------------------------------------
class SplicedModel(nn.Module):
    """``forward(x)`` runs the source model with the SAE's reconstruction in place of the layer's activations.

    ``source`` is an nn.Module with ``forward_with(x, transform) -> logits``: it computes the layer's
    activations (n, d), passes them through ``transform`` and runs the rest of the model.
    ``mode`` is "sae" (reconstruction), "clean" (the original activations) or "zero" (zero-ablation).
    """

    MODES = ("clean", "sae", "zero")

    def __init__(self, sae: SparseAutoencoder, source: nn.Module, mode: str = "sae"):
        super().__init__()
        self.sae = sae
        self.source = source
        self.mode = mode

    def transform(self, mode: str | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
        mode = mode or self.mode
        if mode == "clean":
            return lambda acts: acts
        if mode == "zero":
            return torch.zeros_like
        if mode == "sae":
            return self.sae
        raise ValueError(f"unknown splice mode {mode!r}; expected one of {self.MODES}")

    def forward(self, x: torch.Tensor, mode: str | None = None) -> torch.Tensor:
        return self.source.forward_with(x, self.transform(mode))
