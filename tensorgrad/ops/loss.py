"""Classification losses: cross entropy (one fused op for (N, C) logits with class indices; a
composition of log_softmax and NLL otherwise), NLL, and binary cross entropy on probabilities
and on logits (fused, stable). PyTorch's names, arguments and numbers throughout."""
from __future__ import annotations

import numpy as np

from ..autograd.node import record
from ..tensor import Tensor, _wrap
from ._registry import op
from ._util import (TargetOutOfRangeError, as_tensor_arg, check_float, int_indices,
                    legacy_reduction, reduce_loss, float_pair)
from ._xp import TG, array_module
from .movement import permute, reshape
from .reduce import log_softmax, sum


def _class_targets(x, target, op):
    """Check class-index targets against input (N, C, d1, ...) / (C,); return
    (logp-layout info, flat targets)."""
    t = int_indices(target, op, "class-index targets")
    xs = x._data.shape
    if x._data.ndim == 1:
        if t.ndim != 0:
            raise ValueError(f"{op}: for an unbatched input of shape {xs} the target must be a "
                             f"0-d class index, got shape {t.shape}")
        return t
    if x._data.ndim < 1 or t.ndim != x._data.ndim - 1:
        raise ValueError(f"{op}: expected a target of shape {(xs[0],) + xs[2:]} (class indices "
                         f"for an input of shape {xs}), got shape {t.shape}")
    if t.shape[0] != xs[0]:
        raise ValueError(f"{op}: input batch size {xs[0]} does not match target batch size "
                         f"{t.shape[0]} (input shape {xs}, target shape {t.shape})")
    if t.shape[1:] != xs[2:]:
        raise ValueError(f"{op}: expected a target of shape {(xs[0],) + xs[2:]} for an input "
                         f"of shape {xs}, got shape {t.shape}")
    return t


def _flat_classes(x):
    """(N, C, d...) -> (N*d..., C); (C,) -> (1, C)."""
    if x._data.ndim == 1:
        return reshape(x, (1, -1))
    if x._data.ndim == 2:
        return x
    C = x._data.shape[1]
    perm = (0,) + tuple(range(2, x._data.ndim)) + (1,)
    return reshape(permute(x, perm), (-1, C))


def _weight_vec(weight, C, op, dtype):
    if weight is None:
        return None
    w = weight._data if isinstance(weight, Tensor) else np.asarray(weight)
    if w.shape != (C,):
        raise ValueError(f"{op}: weight must have shape ({C},) (one entry per class), got "
                         f"{w.shape}")
    return w.astype(dtype, copy=False)


def _checked_targets(tf, C, ignore_index, op):
    """(valid mask, indices with ignored entries set to 0) for flat int64 class targets ``tf``;
    an index outside [0, C) that is not ``ignore_index`` raises (PyTorch: IndexError)."""
    valid = tf != ignore_index
    bad = valid & ((tf < 0) | (tf >= C))
    if bad.any():
        raise TargetOutOfRangeError(f"{op}: target {int(tf[bad][0])} is out of bounds for "
                                    f"{C} classes (valid class indices are 0..{C - 1}, or "
                                    f"ignore_index={ignore_index})")
    return valid, np.where(valid, tf, 0)


def _nll_core(logp, target, weight, ignore_index, reduction, op, label_smoothing=0.0):
    t = _class_targets(logp, target, op)
    tshape = t.shape
    C = logp._data.shape[1] if logp._data.ndim > 1 else logp._data.shape[0]
    lp = _flat_classes(logp)
    valid, safe = _checked_targets(t.reshape(-1).astype(np.int64), C, ignore_index, op)
    dt = logp._data.dtype
    w = _weight_vec(weight, C, op, dt)
    wi = (w[safe] if w is not None else np.ones(safe.shape, dtype=dt)) * valid
    wi = wi.astype(dt, copy=False)
    picked = lp[np.arange(safe.shape[0]), safe]
    loss = -(picked * _wrap(wi))
    smooth = None
    if label_smoothing > 0.0:
        wc = w if w is not None else np.ones((C,), dtype=dt)
        smooth = -sum(lp * _wrap(wc.reshape(1, C)), dim=1) * _wrap(valid.astype(dt))
    if reduction == "none":
        if smooth is not None:
            loss = loss * (1.0 - label_smoothing) + smooth * (label_smoothing / C)
        return reshape(loss, tshape)
    if reduction == "sum":
        out = sum(loss)
        if smooth is not None:
            out = out * (1.0 - label_smoothing) + sum(smooth) * (label_smoothing / C)
        return out
    if reduction == "mean":
        # PyTorch's rule: each counted entry's gradient is divided by the total weight, ignored
        # entries get exactly 0; with every entry ignored the loss is NaN and the gradients 0
        denom = wi.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = np.where(valid, np.asarray(1.0, dt) / denom, 0).astype(dt)
        out = sum(loss * _wrap(inv))
        if smooth is not None:
            out = out * (1.0 - label_smoothing) + sum(smooth * _wrap(inv)) * (label_smoothing / C)
        return out + float("nan") if denom == 0 else out
    raise ValueError(f"{op}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


@op(functional=True, methods=(), export=False)
def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of class-index ``target`` under log-probabilities ``input``
    ((N, C), (N, C, d1, ...) or (C,)); ``mean`` divides by the summed target weights."""
    op = "nll_loss"
    x = as_tensor_arg(input, op, "input")
    target = as_tensor_arg(target, op, "target")
    check_float(x, op)
    reduction = legacy_reduction(size_average, reduce, reduction)
    return _nll_core(x, target, weight, ignore_index, reduction, op)


def _ce_vjp(ctx, g, x, onehot, coef, reduction, probs):
    """VJP of the fused 2-D cross entropy: (softmax(x) - onehot) * w_i / denom * g (the
    softmax recomputed with a recorded op under create_graph, so it differentiates again)."""
    xp = array_module(g)
    p = xp.softmax(x, 1) if xp is TG else probs
    gb = xp.reshape(g, (-1, 1)) if reduction == "none" else g
    return ((p - onehot) * (coef * gb),)


def _cross_entropy_2d(x, t, weight, ignore_index, reduction, op):
    """One recorded op for the common case: (N, C) logits, (N,) class indices."""
    xd = x._data
    N, C = xd.shape
    valid, safe = _checked_targets(t.astype(np.int64, copy=False), C, ignore_index, op)
    dt = xd.dtype
    w = _weight_vec(weight, C, op, dt)
    wi = ((w[safe] if w is not None else np.ones(N, dtype=dt)) * valid).astype(dt, copy=False)
    m = xd.max(axis=1, keepdims=True)
    e = np.exp(xd - m)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(N)
    nll = (np.log(s[:, 0]) + m[:, 0] - xd[rows, safe]) * wi
    if reduction == "none":
        out, scale = nll, np.ones(1, dtype=dt)
    elif reduction == "sum":
        out, scale = nll.sum(), np.ones(1, dtype=dt)
    elif reduction == "mean":  # ignored rows get zero gradient even when all are ignored
        denom = wi.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            out = nll.sum() / denom
            scale = np.where(valid, np.asarray(1.0, dt) / denom, 0).astype(dt)
    else:
        raise ValueError(f"{op}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
    onehot = np.zeros_like(xd)
    onehot[rows, safe] = 1.0
    with np.errstate(invalid="ignore"):  # 0 * inf: NaN gradients for zero total weight, as torch
        coef = (wi * scale).reshape(N, 1)
    probs = e / s
    return record("cross_entropy", np.asarray(out, dtype=dt), (x,), _ce_vjp,
                  saved=(x, onehot, coef, reduction, probs))


@op(functional=True, methods=(), export=False)
def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Softmax cross entropy from logits (stable: log_softmax then NLL), PyTorch's semantics:
    class-index targets ((N,) or (N, d1, ...) with classes at dim 1) or class-probability
    targets (same shape as the input), ``weight``, ``ignore_index``, ``label_smoothing``."""
    op = "cross_entropy"
    x = as_tensor_arg(input, op, "input")
    target = as_tensor_arg(target, op, "target")
    check_float(x, op)
    reduction = legacy_reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be between 0.0 and 1.0, got "
                         f"{label_smoothing}")
    if x._data.ndim == 0:
        raise ValueError(f"{op}: input must have at least 1 dim (C,) or (N, C, ...), got a "
                         f"0-d tensor")
    cdim = 1 if x._data.ndim > 1 else 0
    tarr = target._data if isinstance(target, Tensor) else np.asarray(target)
    if x._data.ndim == 2 and tarr.dtype.kind in "iu" and label_smoothing == 0.0:
        t = _class_targets(x, tarr, op)
        return _cross_entropy_2d(x, t, weight, ignore_index, reduction, op)
    logp = log_softmax(x, cdim)
    if tarr.dtype.kind == "f":
        # class probabilities
        if tarr.shape != x._data.shape:
            raise ValueError(f"{op}: probability targets must have the input's shape "
                             f"{x._data.shape}, got {tarr.shape} (for class indices use an "
                             f"integer target of shape {(x._data.shape[0],) + x._data.shape[2:] if cdim else ()})")
        t = target if isinstance(target, Tensor) else _wrap(tarr)
        C = x._data.shape[cdim]
        if label_smoothing > 0:
            t = t * (1.0 - label_smoothing) + label_smoothing / C
        w = _weight_vec(weight, C, op, x._data.dtype)
        prod = logp * t
        if w is not None:
            prod = prod * _wrap(w.reshape((C,) + (1,) * (x._data.ndim - 1 - cdim)))
        loss = -sum(prod, dim=cdim)
        return reduce_loss(loss, reduction, op)
    if tarr.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices or float class "
                        f"probabilities, got dtype {tarr.dtype}")
    return _nll_core(logp, target, weight, ignore_index, reduction, op, label_smoothing)


def _bce_vjp(ctx, g, x, t, w):
    xp = array_module(g)
    needs = ctx.needs
    gx = gt = None
    if needs[0]:
        gx = g * (x - t) / xp.clamp(x * (1.0 - x), min=1e-12)
        if w is not None:
            gx = gx * w
    if needs[1]:
        with np.errstate(divide="ignore"):
            gt = g * (xp.clamp(xp.log(1.0 - x), min=-100.0) - xp.clamp(xp.log(x), min=-100.0))
        if w is not None:
            gt = gt * w
    return (gx, gt)


@op(functional=True, methods=(), export=False)
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """-w [t log x + (1-t) log(1-x)] for probabilities x in [0, 1]; each log is clamped to
    >= -100 as in PyTorch (so x = 0 or 1 gives a finite loss)."""
    op = "binary_cross_entropy"
    x, t = float_pair(op, input, target)
    reduction = legacy_reduction(size_average, reduce, reduction)
    xd = x._data
    if xd.size and (np.nanmin(xd) < 0 or np.nanmax(xd) > 1):
        raise ValueError(f"{op}: all elements of input should be between 0 and 1 (got values "
                         f"in [{xd.min():.4g}, {xd.max():.4g}]; use "
                         f"binary_cross_entropy_with_logits for logits)")
    td = t._data.astype(xd.dtype, copy=False)
    with np.errstate(divide="ignore"):
        lx = np.maximum(np.log(xd), -100.0)
        l1x = np.maximum(np.log1p(-xd), -100.0)
    loss = -(td * lx + (1.0 - td) * l1x)
    wt = None
    if weight is not None:
        wt = as_tensor_arg(weight, op, "weight")
        try:
            loss = loss * wt._data
        except ValueError:
            raise ValueError(f"{op}: weight of shape {wt._data.shape} does not broadcast to the "
                             f"input shape {xd.shape}") from None
        if loss.shape != xd.shape:
            raise ValueError(f"{op}: weight of shape {wt._data.shape} does not broadcast to the "
                             f"input shape {xd.shape}")
        wt = wt._data
    loss = record("binary_cross_entropy", loss.astype(xd.dtype, copy=False), (x, t), _bce_vjp,
                  saved=(x, t, wt))
    return reduce_loss(loss, reduction, op)


def _bcel_vjp(ctx, g, x, t, w, pw):
    xp = array_module(g)
    needs = ctx.needs
    gx = gt = None
    if needs[0]:
        if pw is None:
            gx = g * (xp.sigmoid(x) - t)
        else:
            lw = (pw - 1.0) * t + 1.0
            gx = g * ((1.0 - t) - lw * xp.sigmoid(-x))
        if w is not None:
            gx = gx * w
    if needs[1]:
        gt = -x
        if pw is not None:  # log(1 + exp(-x)), stably
            gt = gt + (pw - 1.0) * (xp.log1p(xp.exp(-xp.abs(x))) + xp.relu(-x))
        gt = g * gt
        if w is not None:
            gt = gt * w
    return (gx, gt)


@op(functional=True, methods=(), export=False)
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    """Sigmoid + BCE in one stable op: (1-t) x + (1 + (pw-1) t) log(1 + e^{-x}), computed as
    log1p(exp(-|x|)) + max(-x, 0). Its gradient at x is sigmoid(x) - t (pw = 1)."""
    op = "binary_cross_entropy_with_logits"
    x, t = float_pair(op, input, target)
    reduction = legacy_reduction(size_average, reduce, reduction)
    xd = x._data
    td = t._data.astype(xd.dtype, copy=False)
    sp = np.log1p(np.exp(-np.abs(xd))) + np.maximum(-xd, 0.0)
    pwt = wt = None
    if pos_weight is not None:
        pwt = as_tensor_arg(pos_weight, op, "pos_weight")
        if xd.ndim == 0 or pwt._data.shape not in ((xd.shape[-1],), (1,), ()) and \
                np.broadcast_shapes(pwt._data.shape, xd.shape) != xd.shape:
            raise ValueError(f"{op}: pos_weight of shape {pwt._data.shape} must broadcast to "
                             f"the input shape {xd.shape} (one weight per class, last dim)")
        pwt = pwt._data.astype(xd.dtype, copy=False)
        loss = (1.0 - td) * xd + ((pwt - 1.0) * td + 1.0) * sp
    else:
        loss = (1.0 - td) * xd + sp
    if weight is not None:
        wt = as_tensor_arg(weight, op, "weight")
        if np.broadcast_shapes(wt._data.shape, xd.shape) != xd.shape:
            raise ValueError(f"{op}: weight of shape {wt._data.shape} does not broadcast to the "
                             f"input shape {xd.shape}")
        wt = wt._data.astype(xd.dtype, copy=False)
        loss = loss * wt
    loss = record("binary_cross_entropy_with_logits", loss.astype(xd.dtype, copy=False),
                  (x, t), _bcel_vjp, saved=(x, t, wt, pwt))
    return reduce_loss(loss, reduction, op)
