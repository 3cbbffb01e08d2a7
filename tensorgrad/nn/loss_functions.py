"""More of ``torch.nn.functional``'s losses, composed from tensor ops (so gradients and second
derivatives come from the graph), with PyTorch's formulas, arguments and reductions:

* ``smooth_l1_loss`` (β) and ``huber_loss`` (δ): quadratic near 0, linear beyond
  (Girshick, Fast R-CNN, 2015; Huber, 1964);
* ``kl_div``: Σ t (log t − x) for log-probabilities x (``log_target``: t given as log t),
  ``reduction='batchmean'`` divides by the batch size (the true KL divergence per sample);
* ``soft_margin_loss`` log(1 + e^{−yx}), ``multilabel_soft_margin_loss`` (mean over classes
  of the logistic losses), ``multi_margin_loss`` and ``multilabel_margin_loss`` (hinge losses
  over classes), ``margin_ranking_loss`` max(0, −y (x1 − x2) + margin),
  ``hinge_embedding_loss``, ``cosine_embedding_loss``;
* ``poisson_nll_loss`` (e^x − t x, with Stirling's term when ``full``) and
  ``gaussian_nll_loss`` ½ (log σ² + (x − t)² / σ²);
* ``cosine_similarity`` and ``triplet_margin_with_distance_loss``.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import ops as _ops
from ..ops import activation as _act
from ..ops._util import (as_tensor_arg as _as_tensor, check_float as _check_float,
                         int_indices as _int_indices, legacy_reduction as _legacy,
                         reduce_loss as _reduce)
from ..tensor import Tensor, _wrap

__all__ = ["smooth_l1_loss", "huber_loss", "kl_div", "soft_margin_loss",
           "multilabel_soft_margin_loss", "cosine_embedding_loss", "margin_ranking_loss",
           "hinge_embedding_loss", "poisson_nll_loss", "gaussian_nll_loss", "multi_margin_loss",
           "multilabel_margin_loss", "cosine_similarity", "triplet_margin_with_distance_loss"]


def _pair(input, target, op, broadcast=False):
    x = _as_tensor(input, op, "input")
    t = _as_tensor(target, op, "target")
    _check_float(x, op)
    if not broadcast and x._data.shape != t._data.shape:
        try:
            np.broadcast_shapes(x._data.shape, t._data.shape)
        except ValueError:
            raise ValueError(f"{op}: input shape {x._data.shape} and target shape "
                             f"{t._data.shape} do not match (and do not broadcast)") from None
    return x, t


def value_clamped(t, min=None, max=None):  # noqa: A002 (torch's names)
    """``t`` with its *value* clamped and its gradient left whole (what PyTorch gets by
    clamping a clone in place under ``no_grad``)."""
    d = t.detach()
    return t + (_ops.clamp(d, min, max) - d)


# ---- regression ---------------------------------------------------------------------------
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 d²/β where |d| < β, |d| − 0.5 β elsewhere (d = input − target); β = 0 is L1."""
    op = "smooth_l1_loss"
    if beta < 0:
        raise ValueError(f"{op}: smooth_l1_loss does not support negative values for beta, "
                         f"got {beta}")
    x, t = _pair(input, target, op)
    d = x - t
    ad = _ops.abs(d)
    if beta == 0:
        loss = ad
    else:
        loss = _ops.where(ad._data < beta, d * d * (0.5 / beta), ad - 0.5 * beta)
    return _reduce(loss, _legacy(size_average, reduce, reduction), op)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 d² where |d| < δ, δ (|d| − 0.5 δ) elsewhere (= δ · smooth_l1 with β = δ)."""
    op = "huber_loss"
    if delta <= 0:
        raise ValueError(f"{op}: huber_loss does not support non-positive values for delta, "
                         f"got {delta}")
    x, t = _pair(input, target, op)
    d = x - t
    ad = _ops.abs(d)
    loss = _ops.where(ad._data < delta, d * d * 0.5, (ad - 0.5 * delta) * delta)
    if weight is not None:
        loss = loss * _as_tensor(weight, op, "weight")
    return _reduce(loss, reduction, op)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Pointwise t (log t − x) (0 where t = 0), or e^t (t − x) with ``log_target``; ``input`` is
    log-probabilities. ``'batchmean'`` divides the sum by ``input.size(0)``."""
    op = "kl_div"
    x, t = _pair(input, target, op)
    reduction = _legacy(size_average, reduce, reduction)
    if log_target:
        loss = _ops.exp(t) * (t - x)
    else:
        pos = t._data > 0
        safe = _ops.where(pos, t, 1.0)  # log(1) = 0 where t = 0 (xlogy's convention)
        loss = t * (_ops.log(safe) - x)
    if reduction == "batchmean":
        n = x._data.shape[0] if x._data.ndim else 1
        return _ops.sum(loss) / float(n)
    if reduction == "mean":
        warnings.warn("kl_div: reduction='mean' divides the total loss by both the batch size "
                      "and the support size; 'batchmean' divides only by the batch size, as the "
                      "KL divergence's definition does (PyTorch warns the same)", UserWarning,
                      stacklevel=2)
    return _reduce(loss, reduction, op)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """e^x − t x (``log_input``) or x − t log(x + eps); ``full`` adds Stirling's
    t log t − t + ½ log(2π t) where t > 1."""
    op = "poisson_nll_loss"
    x, t = _pair(input, target, op)
    if log_input:
        loss = _ops.exp(x) - t * x
    else:
        loss = x - t * _ops.log(x + eps)
    if full:  # Stirling's approximation of log(t!) where t > 1 (differentiable in t, as torch)
        big = t._data > 1
        safe = _ops.where(big, t, 1.0)
        stirling = safe * _ops.log(safe) - safe + _ops.log(safe * (2 * math.pi)) * 0.5
        loss = loss + _ops.where(big, stirling, 0.0)
    return _reduce(loss, _legacy(size_average, reduce, reduction), op)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """½ (log max(σ², eps) + (x − t)² / max(σ², eps)) (+ ½ log 2π with ``full``); ``var`` has
    the input's shape, or one dim fewer, or size 1 in one dim (shared variances). The clamp
    to ``eps`` changes the value only, not the gradient, as in PyTorch."""
    op = "gaussian_nll_loss"
    x, t = _pair(input, target, op)
    if isinstance(var, numbers.Real):
        if var < 0:
            raise ValueError(f"{op}: var has negative entry/entries")
        var = _wrap(np.full(x._data.shape, var, dtype=x._data.dtype))
    v = _as_tensor(var, op, "var")
    if np.any(v._data < 0):
        raise ValueError(f"{op}: var has negative entry/entries")
    xs, vs = x._data.shape, v._data.shape
    if vs != xs:
        if xs[:-1] == vs:
            v = _ops.unsqueeze(v, -1)
        elif not (len(xs) == len(vs) and sum(b for a, b in zip(xs, vs) if a != b) == 1):
            raise ValueError(f"{op}: var is of incorrect size: {vs} for an input of size {xs} "
                             f"(expected the input's size, one dim fewer, or 1 in one dim)")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{op}: {reduction} is not valid")
    v = value_clamped(v, min=eps)
    d = x - t
    loss = (_ops.log(v) + d * d / v) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, op)


# ---- margins and classification -----------------------------------------------------------
def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + e^{−y x}) for labels y = ±1."""
    op = "soft_margin_loss"
    x, t = _pair(input, target, op)
    return _reduce(-_act.logsigmoid(t * x), _legacy(size_average, reduce, reduction), op)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """−mean over classes of [y log σ(x) + (1 − y) log σ(−x)] per sample (``weight`` per
    class), then reduced over the batch."""
    op = "multilabel_soft_margin_loss"
    x, t = _pair(input, target, op)
    loss = -(t * _act.logsigmoid(x) + (1.0 - t) * _act.logsigmoid(-x))
    if weight is not None:
        loss = loss * _as_tensor(weight, op, "weight")
    C = x._data.shape[-1] if x._data.ndim else 1
    loss = _ops.sum(loss, dim=x._data.ndim - 1) / float(C) if x._data.ndim else loss
    return _reduce(loss, _legacy(size_average, reduce, reduction), op)


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    """max(0, −y (x1 − x2) + margin)."""
    op = "margin_ranking_loss"
    a = _as_tensor(input1, op, "input1")
    b = _as_tensor(input2, op, "input2")
    y = _as_tensor(target, op, "target")
    _check_float(a, op, "input1")
    if not (a._data.ndim == b._data.ndim == y._data.ndim):
        raise ValueError(f"{op}: all input tensors should have same dimension but got sizes: "
                         f"input1: {a._data.shape}, input2: {b._data.shape}, target: "
                         f"{y._data.shape}")
    loss = _ops.clamp(-y * (a - b) + margin, min=0.0)
    return _reduce(loss, _legacy(size_average, reduce, reduction), op)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """x where y = 1, max(0, margin − x) where y = −1 (PyTorch adds both terms for other y)."""
    op = "hinge_embedding_loss"
    x, t = _pair(input, target, op)
    td = np.broadcast_to(t._data, np.broadcast_shapes(t._data.shape, x._data.shape))
    loss = _ops.where(td != 1, _ops.clamp(margin - x, min=0.0), 0.0) + \
        _ops.where(td != -1, x, 0.0)
    return _reduce(loss, _legacy(size_average, reduce, reduction), op)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Σ x1 x2 / (max(‖x1‖, eps) · max(‖x2‖, eps)) along ``dim`` after broadcasting (each
    norm clamped in value only, as PyTorch)."""
    op = "cosine_similarity"
    a = _as_tensor(x1, op, "x1")
    b = _as_tensor(x2, op, "x2")
    _check_float(a, op, "x1")
    try:
        shape = np.broadcast_shapes(a._data.shape, b._data.shape)
    except ValueError:
        raise ValueError(f"{op}: x1 of shape {a._data.shape} and x2 of shape {b._data.shape} "
                         f"do not broadcast") from None
    a, b = _ops.expand(a, shape), _ops.expand(b, shape)
    na = value_clamped(_ops.norm(a, 2, dim, keepdim=True), min=eps)
    nb = value_clamped(_ops.norm(b, 2, dim, keepdim=True), min=eps)
    return _ops.sum((a / na) * (b / nb), dim=dim)


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    """1 − cos(x1, x2) where y = 1, max(0, cos(x1, x2) − margin) where y = −1 (cosine over
    dim 1 of (N, D) inputs, or of (D,) vectors), with PyTorch's eps of 1e-12 on ‖x‖²."""
    op = "cosine_embedding_loss"
    a = _as_tensor(input1, op, "input1")
    b = _as_tensor(input2, op, "input2")
    y = _as_tensor(target, op, "target")
    _check_float(a, op, "input1")
    if a._data.ndim not in (1, 2) or a._data.shape != b._data.shape:
        raise ValueError(f"{op}: expected (N, D) or (D,) inputs of the same shape, got "
                         f"{a._data.shape} and {b._data.shape}")
    dim = a._data.ndim - 1
    prod = _ops.sum(a * b, dim=dim)
    den = _ops.sqrt((_ops.sum(a * a, dim=dim) + 1e-12) * (_ops.sum(b * b, dim=dim) + 1e-12))
    cos = prod / den
    yd = y._data
    loss = _ops.where(yd == 1, 1.0 - cos, 0.0) + \
        _ops.where(yd == -1, _ops.clamp(cos - margin, min=0.0), 0.0)
    return _reduce(loss, _legacy(size_average, reduce, reduction), op)


def _class_scores(input, target, op):
    x = _as_tensor(input, op, "input")
    _check_float(x, op)
    if x._data.ndim not in (1, 2):
        raise ValueError(f"{op}: expected an input of shape (N, C) or (C,), got "
                         f"{x._data.shape}")
    return x, (x if x._data.ndim == 2 else _ops.unsqueeze(x, 0))


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    """Σ_{j ≠ y} max(0, margin − x_y + x_j)^p / C per sample (times ``weight[y]``)."""
    op = "multi_margin_loss"
    if p not in (1, 2):
        raise ValueError(f"{op}: only p == 1 and p == 2 supported, got {p}")
    x, x2 = _class_scores(input, target, op)
    N, C = x2._data.shape
    t = _int_indices(target, op, "targets").reshape(-1).astype(np.int64)
    if t.shape != (N,) or t.size and (t.min() < 0 or t.max() >= C):
        raise ValueError(f"{op}: expected {N} class indices in [0, {C}), got {t}")
    xy = x2[np.arange(N), t].unsqueeze(1)
    m = _ops.clamp(margin - xy + x2, min=0.0)
    if p == 2:
        m = m * m
    other = np.ones((N, C), dtype=x._data.dtype)
    other[np.arange(N), t] = 0
    m = m * _wrap(other)
    if weight is not None:
        w = _as_tensor(weight, op, "weight")
        m = m * w[t].unsqueeze(1)
    loss = _ops.sum(m, dim=1) / float(C)
    if x._data.ndim == 1:
        loss = loss.reshape(())
    return _reduce(loss, _legacy(size_average, reduce, reduction), op)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Σ_{j target} Σ_{i not target} max(0, 1 − (x_j − x_i)) / C; each row of ``target`` lists
    the target classes, ended by the first −1."""
    op = "multilabel_margin_loss"
    x, x2 = _class_scores(input, target, op)
    N, C = x2._data.shape
    t = _int_indices(target, op, "targets").reshape(N, C)
    is_t = np.zeros((N, C), dtype=bool)
    for n in range(N):
        for c in t[n]:
            if c < 0:
                break
            if c >= C:
                raise ValueError(f"{op}: target class {c} is out of range for {C} classes")
            is_t[n, c] = True
    pairs = (is_t[:, :, None] & ~is_t[:, None, :]).astype(x._data.dtype)  # (n, j, i)
    h = _ops.clamp(1.0 - (x2.unsqueeze(2) - x2.unsqueeze(1)), min=0.0)
    loss = _ops.sum(h * _wrap(pairs), dim=(1, 2)) / float(C)
    if x._data.ndim == 1:
        loss = loss.reshape(())
    return _reduce(loss, _legacy(size_average, reduce, reduction), op)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    """max(d(a, p) − d(a, n) + margin, 0) for any ``distance_function`` (default: the
    pairwise Euclidean distance); ``swap`` uses min(d(a, n), d(p, n))."""
    from .triplet import pairwise_distance
    op = "triplet_margin_with_distance_loss"
    if margin <= 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    for v, what in ((anchor, "anchor"), (positive, "positive"), (negative, "negative")):
        if not isinstance(v, Tensor):
            raise TypeError(f"{op}: {what} must be a tg.Tensor, got {type(v).__name__}")
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = _ops.minimum(d_neg, dist(positive, negative))
    return _reduce(_ops.clamp(d_pos - d_neg + float(margin), min=0.0), reduction, op)
