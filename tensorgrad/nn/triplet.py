"""Distances and the triplet margin loss, as PyTorch's (composed from tensor ops, so gradients
and double backward come from the graph):

* ``F.normalize(x, p=2, dim=1, eps=1e-12)`` = x / max(‖x‖_p, eps) along ``dim``;
* ``F.pairwise_distance(x1, x2, p=2, eps=1e-6, keepdim=False)`` = ‖x1 − x2 + eps‖_p over the
  last dimension (PyTorch adds ``eps`` to the difference, not to the norm);
* ``F.triplet_margin_loss(anchor, positive, negative, margin=1, p=2, eps=1e-6, swap=False,
  reduction="mean")`` = max(d(a, p) − d(a, n) + margin, 0) with the (unsquared) p-norm distance
  above; ``swap=True`` uses min(d(a, n), d(p, n)) as the negative distance (Balntas et al.,
  "Learning local feature descriptors with triplets and shallow convolutional neural networks",
  BMVC 2016);
* ``nn.TripletMarginLoss`` and ``nn.PairwiseDistance`` around them.

FaceNet's loss with *squared* distances lives in ``tg.vision.faces.triplet_loss``.
"""
from __future__ import annotations

import numbers

from .. import ops as _ops
from ..tensor import Tensor
from ..ops._util import legacy_reduction as _legacy_reduction, reduce_loss as _reduce
from .module import Module

__all__ = ["normalize", "pairwise_distance", "triplet_margin_loss", "TripletMarginLoss",
           "PairwiseDistance"]


def _tensor(x, op, what):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {what} must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: {what} must be a floating-point tensor, got dtype {x.dtype}")
    return x


def _p_norm(x, p, dim, keepdim):
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or p < 0:
        raise ValueError(f"p-norm: p must be a non-negative number, got {p!r}")
    if p == 0:  # the number of non-zero entries (no gradient), as torch.norm(p=0)
        return _ops.sum(_ops.ne(x, 0.0).astype(x.dtype), dim=dim, keepdim=keepdim)
    return _ops.norm(x, p=float(p) if p not in (1, 2) else int(p), dim=dim, keepdim=keepdim)


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """``input / max(‖input‖_p, eps)`` along ``dim`` (PyTorch's ``F.normalize``)."""
    x = _tensor(input, "normalize", "input")
    if x.ndim == 0:
        raise ValueError("normalize: input must have at least one dimension, got a scalar")
    n = _p_norm(x, p, dim, True)
    return x / _ops.clamp(n, min=eps)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """‖x1 − x2 + eps‖_p over the last dimension, broadcasting x1 against x2."""
    a = _tensor(x1, "pairwise_distance", "x1")
    b = _tensor(x2, "pairwise_distance", "x2")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"pairwise_distance: inputs need at least one dimension, got shapes "
                         f"{a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[-1] and 1 not in (a.shape[-1], b.shape[-1]):
        raise ValueError(f"pairwise_distance: the last dimensions must match (the vectors "
                         f"compared), got shapes {a.shape} and {b.shape}")
    return _p_norm(a - b + eps, p, -1, keepdim)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """max(d(a, p) − d(a, n) + margin, 0) per triplet with d = ``pairwise_distance(·, ·, p,
    eps)``; ``swap`` takes min(d(a, n), d(p, n)) as the negative distance. Inputs are (N, D)
    batches or single (D,) vectors; reduction "mean" (default), "sum" or "none"."""
    op = "triplet_margin_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    a = _tensor(anchor, op, "anchor")
    pos = _tensor(positive, op, "positive")
    neg = _tensor(negative, op, "negative")
    if not (a.ndim == pos.ndim == neg.ndim):
        raise ValueError(f"{op}: the anchor, positive, and negative tensors are expected to have "
                         f"the same number of dimensions, but got: anchor {a.ndim}D, positive "
                         f"{pos.ndim}D, and negative {neg.ndim}D inputs")
    if a.ndim not in (1, 2):
        raise ValueError(f"{op}: expected (N, D) batches or (D,) vectors, got anchor of shape "
                         f"{a.shape}")
    if not isinstance(margin, numbers.Real) or isinstance(margin, bool):
        raise TypeError(f"{op}: margin must be a number, got {type(margin).__name__}")
    if margin <= 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    d_pos = pairwise_distance(a, pos, p, eps)
    d_neg = pairwise_distance(a, neg, p, eps)
    if swap:
        d_neg = _ops.minimum(d_neg, pairwise_distance(pos, neg, p, eps))
    loss = _ops.clamp(d_pos - d_neg + float(margin), min=0.0)
    return _reduce(loss, reduction, op)


class TripletMarginLoss(Module):
    """PyTorch's ``nn.TripletMarginLoss(margin=1.0, p=2.0, eps=1e-6, swap=False,
    reduction='mean')``; see ``tg.nn.functional.triplet_margin_loss``."""

    def __init__(self, margin=1.0, p=2.0, eps=1e-6, swap=False, size_average=None, reduce=None,
                 reduction="mean"):
        super().__init__()
        if margin <= 0:
            raise ValueError(f"TripletMarginLoss: margin must be greater than 0, got {margin}")
        self.reduction = _legacy_reduction(size_average, reduce, reduction)
        if self.reduction not in ("none", "mean", "sum"):
            raise ValueError(f"TripletMarginLoss: reduction must be 'none', 'mean' or 'sum', "
                             f"got {reduction!r}")
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor, positive, negative):
        return triplet_margin_loss(anchor, positive, negative, margin=self.margin, p=self.p,
                                   eps=self.eps, swap=self.swap, reduction=self.reduction)



class PairwiseDistance(Module):
    """PyTorch's ``nn.PairwiseDistance(p=2.0, eps=1e-6, keepdim=False)``."""

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
