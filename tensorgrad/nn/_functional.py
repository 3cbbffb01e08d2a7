"""Functional forms of the nn layers and losses (re-exported by ``tg.nn.functional``).

Everything here is built from public tensor ops; the few fused ops (batch norm in training,
BCE-with-logits, BCE) are ``record`` ops whose VJPs are written with tensor ops, so gradients
of gradients work through them too. PyTorch's names, arguments and numbers throughout.
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np

from .._state import STATE
from ..tensor import Tensor, _wrap
from ..autograd.node import record, fast_vjp
from .. import random as _random
from .. import ops as _ops

__all__ = ["dropout", "batch_norm", "embedding", "one_hot", "cross_entropy", "nll_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "mse_loss", "l1_loss",
           "multitask_bce_with_logits", "l2_penalty", "l1_penalty"]


class TargetOutOfRangeError(IndexError, ValueError):
    """A class index outside [0, C): an IndexError as in PyTorch, and a ValueError."""


def _as_tensor(x, op, what):
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (np.ndarray, list, tuple, numbers.Number)):
        return _wrap(np.asarray(x))
    raise TypeError(f"{op}: {what} must be a tg.Tensor, got {type(x).__name__}")


def _check_float(x, op, what="input"):
    if x.data.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating point {what}, got dtype {x.data.dtype}")


def _reduce(loss, reduction, op):
    if reduction == "none":
        return loss
    if reduction == "mean":
        return _ops.mean(loss)
    if reduction == "sum":
        return _ops.sum(loss)
    raise ValueError(f"{op}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def _legacy_reduction(size_average, reduce, reduction):
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


# ---- dropout ----------------------------------------------------------------------------------
def dropout(input, p=0.5, training=True, inplace=False):
    """Inverted dropout (notes §4.2): keep each entry with probability 1-p and scale kept ones
    by 1/(1-p) at training time; identity otherwise. The mask comes from
    ``tensorgrad.random.generator()``."""
    if not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    x = _as_tensor(input, "dropout", "input")
    if not training or p == 0.0 or not STATE.dropout:  # check_gradients switches it off
        return x
    _check_float(x, "dropout")
    keep = 1.0 - p
    if keep == 0.0:
        mask = np.zeros(x.data.shape, dtype=x.data.dtype)
    else:
        mask = (_random.generator().random(x.data.shape) < keep).astype(x.data.dtype)
        mask *= x.data.dtype.type(1.0 / keep)
    return x * _wrap(mask)


# ---- batch norm -------------------------------------------------------------------------------
def _bn_shape(x, C):
    return (1, C) + (1,) * (x.data.ndim - 2)


def _bn_bw(node, g):
    """VJP of training-mode batch norm, written with tensor ops (differentiable again)."""
    x, w = node.saved
    dims, eps = node.info[0], node.info[1]
    needs = node.needs
    mu = _ops.mean(x, dims, keepdim=True)
    xc = x - mu
    var = _ops.mean(xc * xc, dims, keepdim=True)
    invstd = _ops.rsqrt(var + eps)
    xhat = xc * invstd
    out = []
    C = x.data.shape[1]
    dxhat = g * _ops.reshape(w, _bn_shape(x, C)) if w is not None else g
    if needs[0]:
        gx = invstd * (dxhat - _ops.mean(dxhat, dims, keepdim=True)
                       - xhat * _ops.mean(dxhat * xhat, dims, keepdim=True))
        out.append(gx)
    else:
        out.append(None)
    k = 1
    if w is not None:
        out.append(_ops.sum(g * xhat, dims) if needs[k] else None)
        k += 1
    if len(needs) > k:
        out.append(_ops.sum(g, dims) if needs[k] else None)
    return tuple(out)


@fast_vjp(_bn_bw)
def _bn_bw_fast(node, g):
    x, w = node.saved
    dims, _, xhat, invstd = node.info
    needs = node.needs
    C = x.data.shape[1]
    shape = _bn_shape(x, C)
    dxhat = g * w.data.reshape(shape) if w is not None else g
    out = []
    if needs[0]:
        gx = invstd * (dxhat - dxhat.mean(axis=dims, keepdims=True)
                       - xhat * (dxhat * xhat).mean(axis=dims, keepdims=True))
        out.append(gx)
    else:
        out.append(None)
    k = 1
    if w is not None:
        out.append((g * xhat).sum(axis=dims) if needs[k] else None)
        k += 1
    if len(needs) > k:
        out.append(g.sum(axis=dims) if needs[k] else None)
    return tuple(out)


def _check_vec(t, C, op, what):
    if t is None:
        return None
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {what} must be a tg.Tensor or None, got {type(t).__name__}")
    if t.data.shape != (C,):
        raise ValueError(f"{op}: {what} must have shape ({C},) for an input with {C} "
                         f"channels, got {t.data.shape}")
    return t


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalization over every dim but the channel dim 1 (notes §6.9).

    Training: normalize with the batch mean and *biased* variance, and (when running stats are
    given) update ``running = (1 - momentum) * running + momentum * batch`` in place, with the
    *unbiased* variance for ``running_var`` (PyTorch's convention). Eval: normalize with the
    running statistics."""
    op = "batch_norm"
    x = _as_tensor(input, op, "input")
    _check_float(x, op)
    if x.data.ndim < 2:
        raise ValueError(f"{op}: expected an input with at least 2 dims (N, C, ...), got shape "
                         f"{x.data.shape}")
    C = x.data.shape[1]
    running_mean = _check_vec(running_mean, C, op, "running_mean")
    running_var = _check_vec(running_var, C, op, "running_var")
    weight = _check_vec(weight, C, op, "weight")
    bias = _check_vec(bias, C, op, "bias")
    dims = (0,) + tuple(range(2, x.data.ndim))
    shape = _bn_shape(x, C)
    if training:
        M = x.data.size // C
        if M <= 1:
            raise ValueError(f"{op}: expected more than 1 value per channel when training, got "
                             f"input size {x.data.shape}")
        xd = x.data
        mu = xd.mean(axis=dims, keepdims=True)
        xc = xd - mu
        var = (xc * xc).mean(axis=dims, keepdims=True)
        invstd = 1.0 / np.sqrt(var + eps)
        xhat = xc * invstd
        y = xhat
        if weight is not None:
            y = y * weight.data.reshape(shape)
        if bias is not None:
            y = y + bias.data.reshape(shape)
        inputs = (x,) + ((weight,) if weight is not None else ()) + \
                 ((bias,) if bias is not None else ())
        out = record("batch_norm", y, inputs, _bn_bw, saved=(x, weight),
                     info=(dims, eps, xhat, invstd))
        if running_mean is not None or running_var is not None:
            if momentum is None:
                raise ValueError(f"{op}: momentum must be a number in the functional form "
                                 f"(the module handles momentum=None)")
            m = float(momentum)
            if running_mean is not None:
                rm = running_mean.data
                rm *= (1.0 - m)
                rm += (m * mu.reshape(C)).astype(rm.dtype)
                running_mean._version += 1
            if running_var is not None:
                rv = running_var.data
                rv *= (1.0 - m)
                rv += (m * var.reshape(C) * (M / (M - 1))).astype(rv.dtype)
                running_var._version += 1
        return out
    if running_mean is None or running_var is None:
        raise ValueError(f"{op}: running_mean and running_var are required when training=False")
    invstd = 1.0 / np.sqrt(running_var.data.astype(np.result_type(running_var.data, x.data))
                           + eps)
    y = (x - _wrap(running_mean.data.reshape(shape).astype(x.data.dtype))) * \
        _wrap(invstd.reshape(shape).astype(x.data.dtype))
    if weight is not None:
        y = y * _ops.reshape(weight, shape)
    if bias is not None:
        y = y + _ops.reshape(bias, shape)
    return y


# ---- embedding / one_hot ---------------------------------------------------------------------
def _int_indices(idx, op, what="indices"):
    arr = idx.data if isinstance(idx, Tensor) else np.asarray(idx)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{op}: expected integer {what} (e.g. int64), got dtype {arr.dtype}")
    return arr


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` (num_embeddings, dim) picked by integer ``input``; the gradient of a
    row accumulates over repeated indices; rows at ``padding_idx`` get no gradient."""
    op = "embedding"
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError(f"{op}: max_norm, scale_grad_by_freq and sparse are not "
                                  f"supported")
    idx = _int_indices(input, op)
    if not isinstance(weight, Tensor) or weight.data.ndim != 2:
        raise ValueError(f"{op}: weight must be a 2-D tensor (num_embeddings, embedding_dim), "
                         f"got {getattr(weight, 'shape', type(weight).__name__)}")
    n = weight.data.shape[0]
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx.max() if idx.max() >= n else idx.min()
        raise TargetOutOfRangeError(f"{op}: index {int(bad)} is out of range for "
                                    f"{n} embeddings")
    idx = np.where(idx < 0, idx + n, idx)
    out = weight[idx]
    if padding_idx is not None:
        pad = padding_idx + n if padding_idx < 0 else padding_idx
        mask = (idx == pad)[..., None]
        if mask.any():
            out = _ops.where(mask, out.detach(), out)
    return out


def one_hot(tensor, num_classes=-1):
    """int64 one-hot encoding with a new last dim of size ``num_classes`` (-1: max + 1)."""
    op = "one_hot"
    idx = _int_indices(tensor, op, "class values")
    if idx.size and idx.min() < 0:
        raise ValueError(f"{op}: class values must be non-negative, got {int(idx.min())}")
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and idx.max() >= num_classes:
        raise ValueError(f"{op}: class value {int(idx.max())} is out of range for "
                         f"num_classes={num_classes}")
    out = np.zeros(idx.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, idx[..., None].astype(np.int64), 1, axis=-1)
    return _wrap(out)


# ---- classification losses -------------------------------------------------------------------
def _class_targets(x, target, op):
    """Check class-index targets against input (N, C, d1, ...) / (C,); return
    (logp-layout info, flat targets)."""
    t = _int_indices(target, op, "class-index targets")
    xs = x.data.shape
    if x.data.ndim == 1:
        if t.ndim != 0:
            raise ValueError(f"{op}: for an unbatched input of shape {xs} the target must be a "
                             f"0-d class index, got shape {t.shape}")
        return t
    if x.data.ndim < 1 or t.ndim != x.data.ndim - 1:
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
    if x.data.ndim == 1:
        return _ops.reshape(x, (1, -1))
    if x.data.ndim == 2:
        return x
    C = x.data.shape[1]
    perm = (0,) + tuple(range(2, x.data.ndim)) + (1,)
    return _ops.reshape(_ops.permute(x, perm), (-1, C))


def _weight_vec(weight, C, op, dtype):
    if weight is None:
        return None
    w = weight.data if isinstance(weight, Tensor) else np.asarray(weight)
    if w.shape != (C,):
        raise ValueError(f"{op}: weight must have shape ({C},) (one entry per class), got "
                         f"{w.shape}")
    return w.astype(dtype, copy=False)


def _nll_core(logp, target, weight, ignore_index, reduction, op, label_smoothing=0.0):
    t = _class_targets(logp, target, op)
    tshape = t.shape
    C = logp.data.shape[1] if logp.data.ndim > 1 else logp.data.shape[0]
    lp = _flat_classes(logp)
    tf = t.reshape(-1).astype(np.int64)
    valid = tf != ignore_index
    bad = valid & ((tf < 0) | (tf >= C))
    if bad.any():
        raise TargetOutOfRangeError(f"{op}: target {int(tf[bad][0])} is out of bounds for "
                                    f"{C} classes (valid class indices are 0..{C - 1}, or "
                                    f"ignore_index={ignore_index})")
    safe = np.where(valid, tf, 0)
    dt = logp.data.dtype
    w = _weight_vec(weight, C, op, dt)
    wi = (w[safe] if w is not None else np.ones(safe.shape, dtype=dt)) * valid
    wi = wi.astype(dt, copy=False)
    picked = lp[np.arange(tf.shape[0]), safe]
    loss = -(picked * _wrap(wi))
    smooth = None
    if label_smoothing > 0.0:
        wc = w if w is not None else np.ones((C,), dtype=dt)
        smooth = -_ops.sum(lp * _wrap(wc.reshape(1, C)), dim=1) * _wrap(valid.astype(dt))
    if reduction == "none":
        if smooth is not None:
            loss = loss * (1.0 - label_smoothing) + smooth * (label_smoothing / C)
        return _ops.reshape(loss, tshape)
    if reduction == "sum":
        out = _ops.sum(loss)
        if smooth is not None:
            out = out * (1.0 - label_smoothing) + _ops.sum(smooth) * (label_smoothing / C)
        return out
    if reduction == "mean":
        denom = float(wi.sum())
        with np.errstate(divide="ignore", invalid="ignore"):
            out = _ops.sum(loss) / denom if denom != 0 else _ops.sum(loss) * float("nan")
            if smooth is not None:
                sm = _ops.sum(smooth) / denom if denom != 0 else _ops.sum(smooth) * float("nan")
                out = out * (1.0 - label_smoothing) + sm * (label_smoothing / C)
        return out
    raise ValueError(f"{op}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of class-index ``target`` under log-probabilities ``input``
    ((N, C), (N, C, d1, ...) or (C,)); ``mean`` divides by the summed target weights."""
    op = "nll_loss"
    x = _as_tensor(input, op, "input")
    _check_float(x, op)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    return _nll_core(x, target, weight, ignore_index, reduction, op)


def _ce_bw(node, g):
    """VJP of the fused 2-D cross entropy: (softmax(x) - onehot) * w_i / denom * g, written with
    tensor ops so it can be differentiated again."""
    (x,) = node.saved
    onehot, coef, reduction = node.info[:3]
    p = _ops.softmax(x, 1)
    gb = _ops.reshape(g, (-1, 1)) if reduction == "none" else g
    return ((p - onehot) * coef * gb,)


@fast_vjp(_ce_bw)
def _ce_bw_fast(node, g):
    onehot, coef, reduction, probs = node.info
    gb = g.reshape(-1, 1) if reduction == "none" else g
    return ((probs - onehot.data) * (coef.data * gb),)


def _cross_entropy_2d(x, t, weight, ignore_index, reduction, op):
    """One recorded op for the common case: (N, C) logits, (N,) class indices."""
    xd = x.data
    N, C = xd.shape
    tf = t.astype(np.int64, copy=False)
    valid = tf != ignore_index
    bad = valid & ((tf < 0) | (tf >= C))
    if bad.any():
        raise TargetOutOfRangeError(f"{op}: target {int(tf[bad][0])} is out of bounds for "
                                    f"{C} classes (valid class indices are 0..{C - 1}, or "
                                    f"ignore_index={ignore_index})")
    safe = np.where(valid, tf, 0)
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
    elif reduction == "mean":
        denom = wi.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            out = nll.sum() / denom
            scale = np.asarray(1.0 / denom if denom != 0 else np.nan, dtype=dt).reshape(1)
    else:
        raise ValueError(f"{op}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
    onehot = np.zeros_like(xd)
    onehot[rows, safe] = 1.0
    coef = (wi * scale).reshape(N, 1)
    probs = e / s
    return record("cross_entropy", np.asarray(out, dtype=dt), (x,), _ce_bw, saved=(x,),
                  info=(_wrap(onehot), _wrap(coef), reduction, probs))


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Softmax cross entropy from logits (stable: log_softmax then NLL), PyTorch's semantics:
    class-index targets ((N,) or (N, d1, ...) with classes at dim 1) or class-probability
    targets (same shape as the input), ``weight``, ``ignore_index``, ``label_smoothing``."""
    op = "cross_entropy"
    x = _as_tensor(input, op, "input")
    _check_float(x, op)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be between 0.0 and 1.0, got "
                         f"{label_smoothing}")
    if x.data.ndim == 0:
        raise ValueError(f"{op}: input must have at least 1 dim (C,) or (N, C, ...), got a "
                         f"0-d tensor")
    cdim = 1 if x.data.ndim > 1 else 0
    tarr = target.data if isinstance(target, Tensor) else np.asarray(target)
    if x.data.ndim == 2 and tarr.dtype.kind in "iu" and label_smoothing == 0.0:
        t = _class_targets(x, tarr, op)
        return _cross_entropy_2d(x, t, weight, ignore_index, reduction, op)
    logp = _ops.log_softmax(x, cdim)
    if tarr.dtype.kind == "f":
        # class probabilities
        if tarr.shape != x.data.shape:
            raise ValueError(f"{op}: probability targets must have the input's shape "
                             f"{x.data.shape}, got {tarr.shape} (for class indices use an "
                             f"integer target of shape {(x.data.shape[0],) + x.data.shape[2:] if cdim else ()})")
        t = target if isinstance(target, Tensor) else _wrap(tarr)
        C = x.data.shape[cdim]
        if label_smoothing > 0:
            t = t * (1.0 - label_smoothing) + label_smoothing / C
        w = _weight_vec(weight, C, op, x.data.dtype)
        prod = logp * t
        if w is not None:
            prod = prod * _wrap(w.reshape((C,) + (1,) * (x.data.ndim - 1 - cdim)))
        loss = -_ops.sum(prod, dim=cdim)
        return _reduce(loss, reduction, op)
    if tarr.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices or float class "
                        f"probabilities, got dtype {tarr.dtype}")
    return _nll_core(logp, target, weight, ignore_index, reduction, op, label_smoothing)


def _same_shape(x, t, op):
    if t.data.shape != x.data.shape:
        raise ValueError(f"{op}: target size {t.data.shape} is different from the input size "
                         f"{x.data.shape}; please ensure they have the same size")


def _bce_bw(node, g):
    x, t = node.saved
    w = node.info
    needs = node.needs
    gx = gt = None
    if needs[0]:
        gx = g * (x - t) / _ops.clamp(x * (1.0 - x), min=1e-12)
        if w is not None:
            gx = gx * w
    if needs[1]:
        gt = g * (_ops.clamp(_ops.log(1.0 - x), min=-100.0) - _ops.clamp(_ops.log(x), min=-100.0))
        if w is not None:
            gt = gt * w
    return (gx, gt)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """-w [t log x + (1-t) log(1-x)] for probabilities x in [0, 1]; each log is clamped to
    >= -100 as in PyTorch (so x = 0 or 1 gives a finite loss)."""
    op = "binary_cross_entropy"
    x = _as_tensor(input, op, "input")
    t = _as_tensor(target, op, "target")
    _check_float(x, op)
    _check_float(t, op, "target")
    _same_shape(x, t, op)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    xd = x.data
    if xd.size and (np.nanmin(xd) < 0 or np.nanmax(xd) > 1):
        raise ValueError(f"{op}: all elements of input should be between 0 and 1 (got values "
                         f"in [{xd.min():.4g}, {xd.max():.4g}]; use "
                         f"binary_cross_entropy_with_logits for logits)")
    td = t.data.astype(xd.dtype, copy=False)
    with np.errstate(divide="ignore"):
        lx = np.maximum(np.log(xd), -100.0)
        l1x = np.maximum(np.log1p(-xd), -100.0)
    loss = -(td * lx + (1.0 - td) * l1x)
    wt = None
    if weight is not None:
        wt = _as_tensor(weight, op, "weight")
        try:
            loss = loss * wt.data
        except ValueError:
            raise ValueError(f"{op}: weight of shape {wt.data.shape} does not broadcast to the "
                             f"input shape {xd.shape}") from None
        if loss.shape != xd.shape:
            raise ValueError(f"{op}: weight of shape {wt.data.shape} does not broadcast to the "
                             f"input shape {xd.shape}")
        wt = _wrap(wt.data)
    loss = record("binary_cross_entropy", loss.astype(xd.dtype, copy=False), (x, t), _bce_bw,
                  saved=(x, t), info=wt)
    return _reduce(loss, reduction, op)


def _softplus_neg(x):
    """log(1 + exp(-x)) computed stably, as tensor ops (used in VJPs)."""
    return _ops.log1p(_ops.exp(-_ops.abs(x))) + _ops.relu(-x)


def _bcel_bw(node, g):
    x, t = node.saved
    w, pw = node.info
    needs = node.needs
    gx = gt = None
    if needs[0]:
        if pw is None:
            gx = g * (_ops.sigmoid(x) - t)
        else:
            lw = (pw - 1.0) * t + 1.0
            gx = g * ((1.0 - t) - lw * _ops.sigmoid(-x))
        if w is not None:
            gx = gx * w
    if needs[1]:
        gt = -x
        if pw is not None:
            gt = gt + (pw - 1.0) * _softplus_neg(x)
        gt = g * gt
        if w is not None:
            gt = gt * w
    return (gx, gt)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    """Sigmoid + BCE in one stable op: (1-t) x + (1 + (pw-1) t) log(1 + e^{-x}), computed as
    log1p(exp(-|x|)) + max(-x, 0). Its gradient at x is sigmoid(x) - t (pw = 1)."""
    op = "binary_cross_entropy_with_logits"
    x = _as_tensor(input, op, "input")
    t = _as_tensor(target, op, "target")
    _check_float(x, op)
    _check_float(t, op, "target")
    _same_shape(x, t, op)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    xd = x.data
    td = t.data.astype(xd.dtype, copy=False)
    sp = np.log1p(np.exp(-np.abs(xd))) + np.maximum(-xd, 0.0)
    pwt = wt = None
    if pos_weight is not None:
        pwt = _as_tensor(pos_weight, op, "pos_weight")
        if xd.ndim == 0 or pwt.data.shape not in ((xd.shape[-1],), (1,), ()) and \
                np.broadcast_shapes(pwt.data.shape, xd.shape) != xd.shape:
            raise ValueError(f"{op}: pos_weight of shape {pwt.data.shape} must broadcast to "
                             f"the input shape {xd.shape} (one weight per class, last dim)")
        pwt = _wrap(pwt.data.astype(xd.dtype, copy=False))
        loss = (1.0 - td) * xd + ((pwt.data - 1.0) * td + 1.0) * sp
    else:
        loss = (1.0 - td) * xd + sp
    if weight is not None:
        wt = _as_tensor(weight, op, "weight")
        if np.broadcast_shapes(wt.data.shape, xd.shape) != xd.shape:
            raise ValueError(f"{op}: weight of shape {wt.data.shape} does not broadcast to the "
                             f"input shape {xd.shape}")
        wt = _wrap(wt.data.astype(xd.dtype, copy=False))
        loss = loss * wt.data
    loss = record("binary_cross_entropy_with_logits", loss.astype(xd.dtype, copy=False),
                  (x, t), _bcel_bw, saved=(x, t), info=(wt, pwt))
    return _reduce(loss, reduction, op)


def _regression_pair(input, target, op):
    x = _as_tensor(input, op, "input")
    t = _as_tensor(target, op, "target")
    _check_float(x, op)
    if t.data.shape != x.data.shape:
        try:
            np.broadcast_shapes(x.data.shape, t.data.shape)
        except ValueError:
            raise ValueError(f"{op}: input shape {x.data.shape} and target shape "
                             f"{t.data.shape} do not match (and do not broadcast)") from None
        warnings.warn(f"{op}: using a target size {t.data.shape} that is different to the "
                      f"input size {x.data.shape}; this will broadcast and is likely wrong. "
                      f"Please ensure they have the same size.", UserWarning, stacklevel=3)
    return x, t


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """(input - target)^2, reduced."""
    op = "mse_loss"
    x, t = _regression_pair(input, target, op)
    d = x - t
    return _reduce(d * d, _legacy_reduction(size_average, reduce, reduction), op)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """|input - target|, reduced (gradient sign(input - target), 0 at ties)."""
    op = "l1_loss"
    x, t = _regression_pair(input, target, op)
    return _reduce(_ops.abs(x - t), _legacy_reduction(size_average, reduce, reduction), op)


# ---- tg: the notes' multi-task loss and penalties -------------------------------------------
def multitask_bce_with_logits(input, target, mask=None, reduction="mean", pos_weight=None):
    """**tg** The notes' multi-task loss (§7.5.1): logistic losses summed over the labelled
    entries only. ``target`` (N, T) holds 0/1 labels; unlabelled entries are marked by
    ``mask`` (bool, True = labelled) or, without a mask, by NaN targets.

    reduction: ``'mean'`` = (1/m) Σ_i Σ_j 1{labelled} L(ŷ_ij, y_ij) with m = N (the notes'
    cost J); ``'sum'`` = the double sum; ``'mean_labelled'`` divides by the number of labelled
    entries; ``'none'`` returns the elementwise losses (0 where unlabelled)."""
    op = "multitask_bce_with_logits"
    x = _as_tensor(input, op, "input")
    t = _as_tensor(target, op, "target")
    _check_float(x, op)
    _check_float(t, op, "target")
    _same_shape(x, t, op)
    td = t.data
    if mask is None:
        m = ~np.isnan(td)
    else:
        m = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
        if m.shape != td.shape:
            raise ValueError(f"{op}: mask shape {m.shape} differs from target shape {td.shape}")
        m = m.astype(bool)
    filled = np.where(m, np.nan_to_num(td), 0.0).astype(x.data.dtype)
    if np.any((filled != 0) & (filled != 1) & m):
        raise ValueError(f"{op}: labelled targets must be 0 or 1")
    per = binary_cross_entropy_with_logits(x, _wrap(filled), reduction="none",
                                           pos_weight=pos_weight)
    per = per * _wrap(m.astype(x.data.dtype))
    if reduction == "none":
        return per
    total = _ops.sum(per)
    if reduction == "sum":
        return total
    if reduction == "mean":
        n = x.data.shape[0] if x.data.ndim else 1
        return total / float(n)
    if reduction == "mean_labelled":
        return total / float(max(int(m.sum()), 1))
    raise ValueError(f"{op}: reduction must be 'none', 'mean', 'sum' or 'mean_labelled', got "
                     f"{reduction!r}")


def _penalty_params(model_or_params, weights_only, op):
    from .module import Module
    if isinstance(model_or_params, Module):
        items = list(model_or_params.named_parameters())
    elif isinstance(model_or_params, Tensor):
        items = [("", model_or_params)]
    elif isinstance(model_or_params, dict):
        items = list(model_or_params.items())
    else:
        items = []
        for i, p in enumerate(model_or_params):
            if isinstance(p, tuple) and len(p) == 2:
                items.append(p)
            else:
                items.append((str(i), p))
    out = []
    for name, p in items:
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: expected tensors, got {type(p).__name__} for {name!r}")
        if weights_only and p.data.ndim < 2:
            continue  # biases and batch-norm scales/shifts are not regularized (notes §4.2)
        out.append(p)
    if not out:
        raise ValueError(f"{op}: no weight tensors to penalize (weights_only={weights_only} "
                         f"keeps tensors with 2 or more dims)")
    return out


def l2_penalty(model_or_params, lambd, m, weights_only=True):
    """**tg** The notes' L2 term λ/(2m) Σ_l ‖W[l]‖_F² (§4.2), to add to any loss. By default
    only weights (tensors with ≥ 2 dims) count, not biases. Its gradient adds (λ/m) W."""
    op = "l2_penalty"
    if m <= 0:
        raise ValueError(f"{op}: m (the number of examples) must be positive, got {m}")
    total = None
    for p in _penalty_params(model_or_params, weights_only, op):
        s = _ops.sum(p * p)
        total = s if total is None else total + s
    return total * (lambd / (2.0 * m))


def l1_penalty(model_or_params, lambd, m, weights_only=True):
    """**tg** The notes' L1 term λ/m Σ |w| (§4.2): it drives weights to exact zeros."""
    op = "l1_penalty"
    if m <= 0:
        raise ValueError(f"{op}: m (the number of examples) must be positive, got {m}")
    total = None
    for p in _penalty_params(model_or_params, weights_only, op):
        s = _ops.sum(_ops.abs(p))
        total = s if total is None else total + s
    return total * (lambd / float(m))
