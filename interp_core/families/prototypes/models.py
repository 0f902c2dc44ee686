"""Prototype networks that classify by similarity to learned cases (Li et al. 2017, ProtoPNet).

An autoencoder maps an input to a latent vector z (n, d); a prototype layer holds m learnable
latent vectors p (m, d), each assigned to one class; the logits are a linear layer (no bias)
over the prototype similarities, so every logit is exactly the sum of one contribution per
prototype. The similarity is Li et al.'s negative squared distance (``similarity="neg_distance"``,
the default: logits = distances . W with W = -last_layer.weight.T) or ProtoPNet's
log((d + 1) / (d + 1e-4)) (``"log"``). The last layer starts as in ProtoPNet (+1 to the
prototype's own class, -0.5 to the others). The decoder turns a prototype back into a picture
(image, curve or feature profile).

Loss (the weights are constructor parameters; Li et al. use 20 / 1 / 1 / 1):

    w_ce * CE + w_recon * reconstruction + w_r1 * R1 + w_r2 * R2 + w_l1 * L1(wrong-class weights) [+ w_kl * KL]

- reconstruction: mean squared error of the decoded input, in the model's scaled input space;
- R1 (``r1_loss``): mean over prototypes of the squared distance to the nearest encoded input,
  so each prototype stays close to at least one real case (and decodes to something realistic);
- R2 (``r2_loss``): mean over inputs of the squared distance to the nearest prototype, so every
  input is explained by at least one prototype;
- L1 on the last-layer weights from a prototype to the classes it does not belong to (ProtoPNet).

Probabilistic prototypes (``probabilistic=True``, in the spirit of Prob-PSENN): each prototype is
a Gaussian N(mean, diag(exp(log_var))). Training samples one prototype set per batch with the
reparameterisation trick and adds ``w_kl`` * KL(N(mean, var) || N(mean, prior_std^2)), which keeps
the variance from collapsing where the exact position of a prototype does not matter.
``forward`` always uses the means (deterministic, what accuracy is measured on);
``sample_prototypes`` draws sets for a predictive distribution.

Inputs keep their units: ``fit_input_scale`` stores a shift and scale (min-max for images, so a
sigmoid decoder fits; mean/std for tables and series) as buffers; ``decode`` returns input units.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

SIMILARITIES = ("neg_distance", "log")
DEFAULT_LOSS_WEIGHTS = {"ce": 20.0, "recon": 1.0, "r1": 1.0, "r2": 1.0, "l1": 1e-4, "kl": 0.0}


def squared_distances(z: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    """Squared L2 distances (n, m) between latent vectors z (n, d) and prototypes (m, d)."""
    return ((z[:, None, :] - prototypes[None, :, :]) ** 2).sum(-1)


def log_similarity(distances: torch.Tensor) -> torch.Tensor:
    """ProtoPNet's similarity log((d + 1) / (d + 1e-4)): about 9.2 at d = 0, falling towards 0 as d grows."""
    return torch.log((distances + 1.0) / (distances + 1e-4))


def r1_loss(distances: torch.Tensor) -> torch.Tensor:
    """Mean over prototypes (columns) of the distance to the nearest input (row)."""
    return distances.min(dim=0).values.mean()


def r2_loss(distances: torch.Tensor) -> torch.Tensor:
    """Mean over inputs (rows) of the distance to the nearest prototype (column)."""
    return distances.min(dim=1).values.mean()


def gaussian_kl(log_var: torch.Tensor, prior_std: float) -> torch.Tensor:
    """Mean KL(N(mu, exp(log_var)) || N(mu, prior_std^2)) per coordinate (means cancel)."""
    prior_log_var = 2.0 * math.log(prior_std)
    return 0.5 * (torch.exp(log_var - prior_log_var) - 1.0 - log_var + prior_log_var).mean()


def _transpose_padding(sizes: list[int]) -> list[int]:
    """output_padding per decoder layer so a stride-2 transposed conv restores each encoder size exactly."""
    # encoder: out = ceil(in / 2); decoder (k=2p+1, stride 2): out = 2 * in - 1 + output_padding
    return [sizes[i] - (2 * sizes[i + 1] - 1) for i in range(len(sizes) - 1)]


class InputScale(nn.Module):
    """x -> (x - shift) / scale and back, with statistics fitted on the training set (buffers)."""

    def __init__(self, shape: tuple[int, ...]):
        super().__init__()
        self.register_buffer("shift", torch.zeros(shape))
        self.register_buffer("scale", torch.ones(shape))

    def set(self, shift: np.ndarray, scale: np.ndarray) -> None:
        scale = np.where(np.abs(scale) > 1e-8, scale, 1.0)
        self.shift.copy_(torch.as_tensor(np.array(np.broadcast_to(shift, self.shift.shape)), dtype=torch.float32))
        self.scale.copy_(torch.as_tensor(np.array(np.broadcast_to(scale, self.scale.shape)), dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.shift) / self.scale

    def inverse(self, u: torch.Tensor) -> torch.Tensor:
        return u * self.scale + self.shift


class PrototypeNetwork(nn.Module):
    """Base class: subclasses build ``encoder`` / ``decoder`` on scaled inputs and set ``latent_dim``.

    Shapes: x (n, *input_shape) -> z = embed(x) (n, d); distances (n, m); similarities (n, m);
    logits (n, n_classes) = similarities @ last_layer.weight.T.
    """

    scale_kind = "standard"  # "minmax" for images

    def __init__(
        self,
        input_shape: list[int],
        n_classes: int,
        prototypes_per_class: int = 2,
        similarity: str = "neg_distance",
        probabilistic: bool = False,
        prior_std: float = 0.3,
        init_log_var: float = -4.0,
        loss_weights: dict | None = None,
        unit_latent: bool = False,
    ):
        super().__init__()
        if similarity not in SIMILARITIES:
            raise ValueError(f"similarity must be one of {SIMILARITIES}, got {similarity!r}")
        self.input_shape = tuple(int(s) for s in input_shape)
        self.n_classes = int(n_classes)
        self.n_prototypes = int(prototypes_per_class) * self.n_classes
        self.similarity_kind = similarity
        self.probabilistic = bool(probabilistic)
        self.prior_std = float(prior_std)
        self.loss_weights = {**DEFAULT_LOSS_WEIGHTS, **(loss_weights or {})}
        self.input_scale = InputScale(self._scale_shape())
        self.register_buffer("prototype_class", torch.arange(self.n_prototypes) // int(prototypes_per_class))
        self._init_log_var = float(init_log_var)
        self.unit_latent = bool(unit_latent)

    # -- built by subclasses, then ``_finish`` adds the prototype and last layers -------------
    def _finish(self, latent_dim: int) -> None:
        self.latent_dim = int(latent_dim)
        self.prototype_vectors = nn.Parameter(torch.rand(self.n_prototypes, self.latent_dim))  # Li et al.: uniform [0, 1)
        if self.probabilistic:
            self.prototype_log_var = nn.Parameter(torch.full((self.n_prototypes, self.latent_dim), self._init_log_var))
        self.last_layer = nn.Linear(self.n_prototypes, self.n_classes, bias=False)
        identity = F.one_hot(self.prototype_class, self.n_classes).T.float()  # (K, m): 1 where prototype j is of class k
        with torch.no_grad():  # ProtoPNet's start: +1 to its own class, -0.5 to the others
            self.last_layer.weight.copy_(1.0 * identity - 0.5 * (1 - identity))

    def _scale_shape(self) -> tuple[int, ...]:
        return self.input_shape

    def fit_input_scale(self, X: np.ndarray) -> None:
        X = np.asarray(X, dtype=np.float64)
        if self.scale_kind == "minmax":
            lo, hi = float(X.min()), float(X.max())
            self.input_scale.set(np.array(lo), np.array(hi - lo))
        elif self.scale_kind == "channel":  # series: one mean/std per channel
            self.input_scale.set(X.mean(axis=(0, 2))[:, None], X.std(axis=(0, 2))[:, None])
        else:
            self.input_scale.set(X.mean(axis=0), X.std(axis=0))

    # -- the network ----------------------------------------------------------------------------
    def _encode(self, u: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def encode_scaled(self, u: torch.Tensor) -> torch.Tensor:
        """Latent vectors of scaled inputs; ``unit_latent`` puts them on the unit sphere."""
        z = self._encode(u)
        return F.normalize(z, dim=1) if self.unit_latent else z

    def decode_scaled(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Latent vectors z (n, d) of inputs x in their own units."""
        return self.encode_scaled(self.input_scale(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Inputs (n, *input_shape), in the data's units, decoded from latent vectors (n, d)."""
        return self.input_scale.inverse(self.decode_scaled(z))

    def similarity(self, distances: torch.Tensor) -> torch.Tensor:
        return log_similarity(distances) if self.similarity_kind == "log" else -distances

    def logits_from_similarities(self, similarities: torch.Tensor) -> torch.Tensor:
        return similarities @ self.last_layer.weight.T

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.embed(x)
        return self.logits_from_similarities(self.similarity(squared_distances(z, self.prototype_vectors)))

    # -- probabilistic prototypes -------------------------------------------------------------
    def prototype_std(self) -> torch.Tensor:
        """Standard deviation (m, d) of each prototype coordinate; zeros for point prototypes."""
        if not self.probabilistic:
            return torch.zeros_like(self.prototype_vectors)
        return torch.exp(0.5 * self.prototype_log_var)

    def sample_prototypes(self, n_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n_samples, m, d) prototype sets drawn from the Gaussians (the means for point prototypes)."""
        mean = self.prototype_vectors
        noise = torch.randn((n_samples, *mean.shape), generator=generator).to(mean.device)
        return mean[None] + noise * self.prototype_std()[None]

    # -- loss -------------------------------------------------------------------------------------
    def loss_terms(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each unweighted loss term; in training mode a probabilistic model samples its prototypes."""
        u = self.input_scale(x)
        z = self.encode_scaled(u)
        prototypes = self.prototype_vectors
        if self.probabilistic and self.training:
            prototypes = prototypes + torch.randn_like(prototypes) * self.prototype_std()
        logits = self.logits_from_similarities(self.similarity(squared_distances(z, prototypes)))
        mean_distances = squared_distances(z, self.prototype_vectors)
        wrong_class = 1 - F.one_hot(self.prototype_class, self.n_classes).T.float()
        terms = {
            "ce": F.cross_entropy(logits, y),
            "recon": F.mse_loss(self.decode_scaled(z), u),
            "r1": r1_loss(mean_distances),
            "r2": r2_loss(mean_distances),
            "l1": (self.last_layer.weight * wrong_class).abs().sum(),
        }
        if self.probabilistic:
            terms["kl"] = gaussian_kl(self.prototype_log_var, self.prior_std)
        return terms

    def training_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The weighted sum the shared fit loop minimises."""
        terms = self.loss_terms(x, y)
        return sum(self.loss_weights.get(name, 0.0) * value for name, value in terms.items())


class ConvPrototypeNet(PrototypeNetwork):
    """Images (n, c, h, w): stride-2 3x3 convolutions with ReLU (Li et al.), mirrored transposed
    convolutions and a sigmoid on the min-max scaled image. ``channels`` None: enough layers to
    bring the larger side down to 2 (two on 8x8 digits, four on 28x28 as in the paper)."""

    scale_kind = "minmax"

    def __init__(self, input_shape: list[int], n_classes: int, channels: list[int] | None = None, **kwargs):
        super().__init__(input_shape, n_classes, **kwargs)
        c, h, w = self.input_shape
        if channels is None:
            depth = max(1, math.ceil(math.log2(max(h, w) / 2)))
            channels = [32] * (depth - 1) + [10]
        self.channels = list(channels)
        heights, widths = [h], [w]
        for _ in self.channels:
            heights.append(-(-heights[-1] // 2))
            widths.append(-(-widths[-1] // 2))
        self.latent_shape = (self.channels[-1], heights[-1], widths[-1])
        encoder: list[nn.Module] = []
        width = c
        for out in self.channels:
            encoder += [nn.Conv2d(width, out, 3, stride=2, padding=1), nn.ReLU()]
            width = out
        self.encoder = nn.Sequential(*encoder)
        pads = list(zip(_transpose_padding(heights), _transpose_padding(widths)))
        decoder: list[nn.Module] = []
        outs = [c] + self.channels[:-1]
        for i in reversed(range(len(self.channels))):
            decoder.append(nn.ConvTranspose2d(self.channels[i], outs[i], 3, stride=2, padding=1, output_padding=pads[i]))
            decoder.append(nn.ReLU() if i > 0 else nn.Sigmoid())
        self.decoder = nn.Sequential(*decoder)
        self._finish(int(np.prod(self.latent_shape)))

    def _scale_shape(self) -> tuple[int, ...]:
        return (1, 1, 1)

    def _encode(self, u: torch.Tensor) -> torch.Tensor:
        return self.encoder(u).flatten(1)

    def decode_scaled(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z.reshape(len(z), *self.latent_shape))


class MLPPrototypeNet(PrototypeNetwork):
    """Tables (n, features): an MLP encoder to a small latent space and a mirrored MLP decoder."""

    def __init__(self, input_shape: list[int], n_classes: int, hidden: list[int] = (32,), latent_dim: int = 8, **kwargs):
        super().__init__(input_shape, n_classes, **kwargs)
        n_in = int(np.prod(self.input_shape))
        sizes = [n_in, *hidden, int(latent_dim)]
        encoder: list[nn.Module] = []
        for i in range(len(sizes) - 1):
            encoder.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                encoder.append(nn.ReLU())
        decoder: list[nn.Module] = []
        back = sizes[::-1]
        for i in range(len(back) - 1):
            decoder.append(nn.Linear(back[i], back[i + 1]))
            if i < len(back) - 2:
                decoder.append(nn.ReLU())
        self.encoder = nn.Sequential(*encoder)
        self.decoder = nn.Sequential(*decoder)
        self._finish(int(latent_dim))

    def _scale_shape(self) -> tuple[int, ...]:
        return (int(np.prod(self.input_shape)),)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode_scaled(self.input_scale(x.flatten(1)))

    def fit_input_scale(self, X: np.ndarray) -> None:
        super().fit_input_scale(np.asarray(X).reshape(len(X), -1))

    def loss_terms(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        return super().loss_terms(x.flatten(1), y)

    def _encode(self, u: torch.Tensor) -> torch.Tensor:
        return self.encoder(u)

    def decode_scaled(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return super().decode(z).reshape(len(z), *self.input_shape)


class Conv1dPrototypeNet(PrototypeNetwork):
    """Series (n, channels, time): stride-2 1-D convolutions with ReLU, mirrored transposed ones,
    a linear output on channel-standardised values. The latent is the flattened last feature map."""

    scale_kind = "channel"

    def __init__(self, input_shape: list[int], n_classes: int, channels: list[int] = (16, 16, 16, 4), kernel: int = 5, **kwargs):
        super().__init__(input_shape, n_classes, **kwargs)
        in_channels, length = self.input_shape
        self.channels = list(channels)
        lengths = [length]
        for _ in self.channels:
            lengths.append(-(-lengths[-1] // 2))
        self.latent_shape = (self.channels[-1], lengths[-1])
        pad = kernel // 2
        encoder: list[nn.Module] = []
        width = in_channels
        for i, out in enumerate(self.channels):
            encoder.append(nn.Conv1d(width, out, kernel, stride=2, padding=pad))
            if i < len(self.channels) - 1:
                encoder.append(nn.ReLU())
            width = out
        self.encoder = nn.Sequential(*encoder)
        pads = _transpose_padding(lengths)
        outs = [in_channels] + self.channels[:-1]
        decoder: list[nn.Module] = []
        for i in reversed(range(len(self.channels))):
            decoder.append(nn.ConvTranspose1d(self.channels[i], outs[i], kernel, stride=2, padding=pad, output_padding=pads[i]))
            if i > 0:
                decoder.append(nn.ReLU())
        self.decoder = nn.Sequential(*decoder)
        self._finish(int(np.prod(self.latent_shape)))

    def _scale_shape(self) -> tuple[int, ...]:
        return (self.input_shape[0], 1)

    def _encode(self, u: torch.Tensor) -> torch.Tensor:
        return self.encoder(u).flatten(1)

    def decode_scaled(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z.reshape(len(z), *self.latent_shape))


ARCHITECTURES = {
    "protonet-conv2d": ConvPrototypeNet,
    "protonet-mlp": MLPPrototypeNet,
    "protonet-conv1d": Conv1dPrototypeNet,
}
