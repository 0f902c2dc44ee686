"""The sparse training path of the TopK family's step: the encoder product, the top-k of its rows, the chosen
pairs' gradient that touches only those pairs, and the decoder as an ``embedding_bag`` over them.

Tensor operations only (no SAE classes: ``models`` builds its SAEs on them). ``scripts/profile_sae_step.py``
profiles the step and times the alternatives to each piece; docs/sae.md quotes them.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


class SelectedPreActs(torch.autograd.Function):
    """Pre-activations of chosen (row, latent) pairs, with a gradient that touches only those pairs.

    forward(x, b_dec, W_enc, b_enc, rows, cols, values) returns ``values`` (already computed by
    the dense forward); backward scatters into b_enc and into the chosen rows of W_enc
    (a sparse-dense product) and gives b_dec its gradient through the centring x - b_dec.
    """

    @staticmethod
    def forward(ctx, x_c, b_dec, W_enc, b_enc, rows, cols, values):
        ctx.save_for_backward(x_c, W_enc, rows, cols)
        return values.clone()

    @staticmethod
    def backward(ctx, grad):
        x_c, W_enc, rows, cols = ctx.saved_tensors
        width = W_enc.shape[0]
        grad = grad.contiguous()
        grad_b_enc = torch.zeros(width, dtype=grad.dtype, device=grad.device).index_add_(0, cols, grad)
        scatter = torch.sparse_coo_tensor(torch.stack([cols, rows]), grad, (width, x_c.shape[0]), check_invariants=False)
        grad_W_enc = torch.sparse.mm(scatter, x_c)
        grad_b_dec = -(grad_b_enc @ W_enc)
        return None, grad_b_dec, grad_W_enc, grad_b_enc, None, None, None


def encoder_product(x: torch.Tensor, W_enc: torch.Tensor, b_enc: torch.Tensor) -> torch.Tensor:
    """x @ W_enc.T + b_enc (n, width): the dense encoder product, written once for every SAE and the bench's ceiling.
    One ``addmm``: a product and then an in-place bias add measured the same (``scripts/profile_sae_step.py --alternatives``)."""
    return torch.addmm(b_enc, x, W_enc.t())


def row_topk(pre: torch.Tensor, k: int, blocks: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """(values, indices) of the k largest of each row, unsorted: ``pre.topk(k, dim=1, sorted=False)``, in
    two smaller top-k's on the CPU. The row is cut into width/blocks strided blocks of ``blocks`` values;
    the k blocks with the largest maxima hold the row's k largest values (a value outside them is below
    k block maxima, so below k distinct values), and a top-k of those k * blocks candidates finds them.
    torch's CPU top-k pays per row and per value; the two stages read a row once for the maxima, then
    1/8 and 1/12 of its values (``scripts/profile_sae_step.py --alternatives`` times it against the one
    top-k; docs/sae.md quotes them). Elsewhere (a GPU's top-k is one kernel) or when the row is too
    short to gain, the one top-k."""
    n, width = pre.shape
    span = width // blocks
    if pre.device.type != "cpu" or width % blocks or span < 4 * k:
        return pre.topk(k, dim=1, sorted=False)
    view = pre.view(n, blocks, span)
    best = view.amax(1).topk(k, dim=1, sorted=False).indices  # (n, k): the blocks with the largest maxima
    values, pick = view.gather(2, best.unsqueeze(1).expand(n, blocks, k)).reshape(n, blocks * k).topk(k, dim=1, sorted=False)
    return values, best.gather(1, pick % k) + (pick // k) * span


def sparse_decode(rows: torch.Tensor, cols: torch.Tensor, values: torch.Tensor, n: int, W_dec: torch.Tensor) -> torch.Tensor:
    """sum_j values_j * W_dec[cols_j] per row, as an embedding_bag (rows sorted ascending)."""
    offsets = torch.searchsorted(rows, torch.arange(n, device=rows.device))
    return F.embedding_bag(cols, W_dec, offsets, mode="sum", per_sample_weights=values)
