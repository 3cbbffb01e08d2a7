"""Normalization layers' functional forms as one fused op: batch, layer, group and instance
norm all compute

    x̂ = (x − mean(x)) / sqrt(var(x) + eps)   over some dims,   y = x̂ · w + b

with the *biased* variance; they differ only in the dims the statistics run over and in how
the per-channel (or per-feature) ``w``/``b`` broadcast. One forward (``_normalize``) and one
VJP (``_norm_vjp``, both backward modes) serve all four:

    dx = (1/σ) (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)),  dx̂ = g · w,  dw = Σ g x̂,  db = Σ g

(the means over the normalized dims). Under ``create_graph`` the statistics are recomputed
from x with recorded ops, so second derivatives are exact. Batch norm in eval mode, and
instance norm with running statistics in eval mode, are elementwise ops on the running
statistics. References: Ioffe & Szegedy 2015 (batch), Ba et al. 2016 (layer), Wu & He 2018
(group), Ulyanov et al. 2016 (instance).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ..autograd.node import record
from ..tensor import Tensor, _wrap
from ._conv_impl import _run_chunks
from ._registry import op
from ._util import as_tensor_arg, check_float
from ._xp import TG, array_module, on_arrays
from .elementwise import rsqrt
from .movement import reshape
from .reduce import mean


def _norm_vjp(ctx, g, x, w, dims, wshape, eps, xhat, invstd, pshape):
    xp = array_module(g)
    needs = ctx.needs
    if xp is TG:
        xc = x - mean(x, dims, keepdim=True)
        invstd = rsqrt(mean(xc * xc, dims, keepdim=True) + eps)
        xhat = xc * invstd
    dxhat = g * xp.reshape(w, wshape) if w is not None else g
    out = [invstd * (dxhat - xp.mean(dxhat, dims, keepdim=True)
                     - xhat * xp.mean(dxhat * xhat, dims, keepdim=True)) if needs[0] else None]
    k = 1
    if w is not None:
        out.append(xp.reshape(xp.sum_to_size(g * xhat, wshape), pshape) if needs[k] else None)
        k += 1
    if len(needs) > k:  # the bias
        out.append(xp.reshape(xp.sum_to_size(g, wshape), pshape) if needs[k] else None)
    return tuple(out)


def _normalize(name, x, w, b, dims, wshape, eps):
    """The fused op: statistics of ``x`` over ``dims``; ``w``/``b`` (same shape) reshaped to
    ``wshape`` for the affine part. Returns (y, batch mean, biased batch variance)."""
    xd = x._data
    mu = xd.mean(axis=dims, keepdims=True)
    xc = xd - mu
    var = (xc * xc).mean(axis=dims, keepdims=True)
    invstd = 1.0 / np.sqrt(var + eps)
    xhat = xc * invstd
    y = xhat
    if w is not None:
        y = y * w._data.reshape(wshape)
    if b is not None:
        y = y + b._data.reshape(wshape)
    inputs = (x,) + ((w,) if w is not None else ()) + ((b,) if b is not None else ())
    pshape = (w if w is not None else b)._data.shape if (w is not None or b is not None) else None
    out = record(name, y.astype(xd.dtype, copy=False), inputs, _norm_vjp,
                 saved=(x, w, dims, wshape, eps, xhat, invstd, pshape))
    return out, mu, var


# ---- batch norm in training: numba kernels on (N, C, S) (kernels/norm.py) -------------------------
# A ResNet-8 step on Fashion-MNIST spent a third of its time in the numpy batch norm above
# (whole-array temporaries); these kernels make two read passes and one write pass forward
# and backward, over channel ranges split across the ops' two threads.
def _bn_kernels():
    from ..kernels import norm as K  # numba import deferred to first use
    return K


def _over_channels(kernel, args, C, bytes_per_channel):
    """``kernel(*args, c0, c1)`` over channel ranges, on the ops' threads (small work: one)."""
    def task(chunks, m):
        for c0, c1 in chunks:
            kernel(*args, c0, c1)

    _run_chunks(task, C, bytes_per_channel)


def _fast_bn(x, w, b):
    """The kernels take float32/float64 inputs whose parameters share their dtype."""
    dt = x._data.dtype
    return dt in (np.float32, np.float64) and all(
        p is None or p._data.dtype == dt for p in (w, b))


def _bn_train(x, w, b, wshape, eps):
    """Training batch norm of a float Tensor ``x (N, C, ...)``: (y, batch mean, biased batch
    variance), the statistics float64 arrays of shape ``wshape``."""
    K = _bn_kernels()
    xd = np.ascontiguousarray(x._data)
    dt = xd.dtype
    N, C = xd.shape[:2]
    x3 = xd.reshape(N, C, -1)
    per = x3[:, 0].size * dt.itemsize
    mu = np.empty(C)
    var = np.empty(C)
    _over_channels(K.bn_stats_into, (x3, mu, var), C, per)
    invstd = 1.0 / np.sqrt(var + eps)
    scale = invstd if w is None else invstd * w._data
    shift = -mu * scale if b is None else b._data - mu * scale
    y = np.empty_like(xd)
    _over_channels(K.bn_apply_into, (x3, scale.astype(dt), shift.astype(dt), y.reshape(x3.shape)),
                   C, 2 * per)
    inputs = (x,) + ((w,) if w is not None else ()) + ((b,) if b is not None else ())
    pshape = (w if w is not None else b)._data.shape if (w is not None or b is not None) else None
    dims = (0,) + tuple(range(2, xd.ndim))
    out = record("batch_norm", y, inputs, _bn_vjp,
                 saved=(x, w, dims, wshape, eps, mu, invstd, pshape))
    return out, mu.reshape(wshape), var.reshape(wshape)


def _bn_vjp(ctx, g, x, w, dims, wshape, eps, mu, invstd, pshape):
    """``_norm_vjp`` for ``_bn_train``: the same formulas, by the kernels on plain backward."""
    if not on_arrays(g):  # create_graph: the recorded formulas (statistics recomputed from x)
        return _norm_vjp(ctx, g, x, w, dims, wshape, eps, None, None, pshape)
    K = _bn_kernels()
    needs = ctx.needs
    g = np.ascontiguousarray(g, dtype=x.dtype)
    N, C = x.shape[:2]
    x3, g3 = np.ascontiguousarray(x).reshape(N, C, -1), g.reshape(N, C, -1)
    M = x3[:, 0].size
    sg, sgx = np.empty(C), np.empty(C)
    _over_channels(K.bn_grad_sums_into, (g3, x3, mu, sg, sgx), C, 2 * x3[:, 0].nbytes)
    sgxhat = sgx * invstd  # sum(g * xhat) = dw
    out = [None]
    if needs[0]:  # dx = w invstd (g - sg/M - xhat sgxhat/M)
        k_g = invstd if w is None else invstd * w
        dt = x.dtype
        dx = np.empty_like(g)
        _over_channels(K.bn_input_grad_into,
                       (g3, x3, mu.astype(dt), k_g.astype(dt), (-k_g * invstd * sgxhat / M).astype(dt),
                        (-k_g * sg / M).astype(dt), dx.reshape(g3.shape)), C, 3 * x3[:, 0].nbytes)
        out[0] = dx
    k = 1
    if w is not None:
        out.append(sgxhat.astype(x.dtype).reshape(pshape) if needs[k] else None)
        k += 1
    if len(needs) > k:
        out.append(sg.astype(x.dtype).reshape(pshape) if needs[k] else None)
    return tuple(out)


def _check_param(t, shape, op, what):
    if t is None:
        return None
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {what} must be a tg.Tensor or None, got {type(t).__name__}")
    if t._data.shape != tuple(shape):
        raise ValueError(f"{op}: {what} must have shape {tuple(shape)}, got {t._data.shape}")
    return t


def _input(input, op, min_dim):
    x = as_tensor_arg(input, op, "input")
    check_float(x, op)
    if x._data.ndim < min_dim:
        raise ValueError(f"{op}: expected an input with at least {min_dim} dims, got shape "
                         f"{x._data.shape}")
    return x


def _update_running(rm, rv, mu, var_unbiased, momentum):
    m = float(momentum)
    for t, v in ((rm, mu), (rv, var_unbiased)):
        if t is not None:
            d = t._data
            d *= (1.0 - m)
            d += (m * v).astype(d.dtype)
            t._version += 1


def _eval_norm(x, rm, rv, w, b, eps, C):
    """(x − running mean) / sqrt(running var + eps) · w + b, per channel (dim 1)."""
    shape = (1, C) + (1,) * (x._data.ndim - 2)
    invstd = 1.0 / np.sqrt(rv._data.astype(np.result_type(rv._data, x._data)) + eps)
    y = (x - _wrap(rm._data.reshape(shape).astype(x._data.dtype))) * \
        _wrap(invstd.reshape(shape).astype(x._data.dtype))
    if w is not None:
        y = y * reshape(w, shape)
    if b is not None:
        y = y + reshape(b, shape)
    return y


def _channel_args(op, input, min_dim, running_mean, running_var, weight, bias):
    """The input and its per-channel (dim 1) statistics and affine parameters, each checked."""
    x = _input(input, op, min_dim)
    C = x._data.shape[1]
    return (x, C) + tuple(_check_param(p, (C,), op, name) for p, name in (
        (running_mean, "running_mean"), (running_var, "running_var"), (weight, "weight"),
        (bias, "bias")))


@op(functional=True, methods=(), export=False)
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalization over every dim but the channel dim 1.

    Training: normalize with the batch mean and *biased* variance, and (when running stats are
    given) update ``running = (1 - momentum) * running + momentum * batch`` in place, with the
    *unbiased* variance for ``running_var`` (PyTorch's convention). Eval: normalize with the
    running statistics."""
    op = "batch_norm"
    x, C, running_mean, running_var, weight, bias = _channel_args(
        op, input, 2, running_mean, running_var, weight, bias)
    dims = (0,) + tuple(range(2, x._data.ndim))
    if training:
        M = x._data.size // C
        if M <= 1:
            raise ValueError(f"{op}: expected more than 1 value per channel when training, got "
                             f"input size {x._data.shape}")
        wshape = (1, C) + (1,) * (x._data.ndim - 2)
        if _fast_bn(x, weight, bias):
            y, mu, var = _bn_train(x, weight, bias, wshape, eps)
        else:
            y, mu, var = _normalize(op, x, weight, bias, dims, wshape, eps)
        if running_mean is not None or running_var is not None:
            if momentum is None:
                raise ValueError(f"{op}: momentum must be a number in the functional form "
                                 f"(the module handles momentum=None)")
            _update_running(running_mean, running_var, mu.reshape(C),
                            var.reshape(C) * (M / (M - 1)), momentum)
        return y
    if running_mean is None or running_var is None:
        raise ValueError(f"{op}: running_mean and running_var are required when training=False")
    return _eval_norm(x, running_mean, running_var, weight, bias, eps, C)


def _shape_arg(normalized_shape, op):
    if isinstance(normalized_shape, numbers.Integral):
        return (int(normalized_shape),)
    try:
        return tuple(int(s) for s in normalized_shape)
    except TypeError:
        raise TypeError(f"{op}: normalized_shape must be an int or a sequence of ints, got "
                        f"{normalized_shape!r}") from None


def _trailing(input, normalized_shape, op):
    """The input and ``normalized_shape``, checked to be the input's trailing dims."""
    ns = _shape_arg(normalized_shape, op)
    x = _input(input, op, len(ns))
    if x._data.shape[x._data.ndim - len(ns):] != ns:
        raise ValueError(f"{op}: given normalized_shape={list(ns)}, expected input with shape "
                         f"[*, {', '.join(map(str, ns))}], but got input of size "
                         f"{list(x._data.shape)}")
    return x, ns


@op(functional=True, methods=())
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the last ``len(normalized_shape)`` dims (which must equal
    ``normalized_shape``), then ``· weight + bias`` elementwise (shape ``normalized_shape``)."""
    op = "layer_norm"
    x, ns = _trailing(input, normalized_shape, op)
    weight = _check_param(weight, ns, op, "weight")
    bias = _check_param(bias, ns, op, "bias")
    dims = tuple(range(x._data.ndim - len(ns), x._data.ndim))
    return _normalize(op, x, weight, bias, dims, ns, eps)[0]


@op(functional=True, methods=())
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Split the channels (dim 1) into ``num_groups`` groups and normalize each group of each
    sample over its channels and spatial positions; then per-channel ``weight``/``bias``."""
    op = "group_norm"
    x = _input(input, op, 2)
    N, C = x._data.shape[:2]
    G = int(num_groups)
    if G <= 0 or C % G:
        raise ValueError(f"{op}: expected the number of channels ({C}) to be divisible by "
                         f"num_groups ({num_groups})")
    weight = _check_param(weight, (C,), op, "weight")
    bias = _check_param(bias, (C,), op, "bias")
    S = math.prod(x._data.shape[2:])
    xv = reshape(x, (N, G, C // G, S))  # each group: its channels and positions, dims 2, 3
    y = _normalize(op, xv, weight, bias, (2, 3), (1, G, C // G, 1), eps)[0]
    return reshape(y, x._data.shape)


@op(functional=True, methods=())
def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalize each channel of each sample over its spatial positions (dims 2, ...).

    With ``use_input_stats`` and running statistics given, these are updated with the mean
    over the batch of the per-instance means and *unbiased* variances (PyTorch's rule);
    without ``use_input_stats`` the running statistics normalize instead."""
    op = "instance_norm"
    x, C, running_mean, running_var, weight, bias = _channel_args(
        op, input, 3, running_mean, running_var, weight, bias)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError(f"{op}: expected running_mean and running_var to be defined when "
                             f"use_input_stats is False")
        return _eval_norm(x, running_mean, running_var, weight, bias, eps, C)
    M = math.prod(x._data.shape[2:])
    if M <= 1:
        raise ValueError(f"{op}: expected more than 1 spatial element when training, got "
                         f"input size {x._data.shape}")
    dims = tuple(range(2, x._data.ndim))
    y, mu, var = _normalize(op, x, weight, bias, dims, (1, C) + (1,) * len(dims), eps)
    if running_mean is not None or running_var is not None:
        _update_running(running_mean, running_var, mu.reshape(mu.shape[:2]).mean(0),
                        (var.reshape(var.shape[:2]) * (M / (M - 1))).mean(0), momentum)
    return y


@op(functional=True, methods=())
def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x²) + eps) over the last ``len(normalized_shape)`` dims, times ``weight``
    (Zhang & Sennrich, 2019); ``eps=None`` is the dtype's machine epsilon, as PyTorch."""
    op = "rms_norm"
    x, ns = _trailing(input, normalized_shape, op)
    weight = _check_param(weight, ns, op, "weight")
    if eps is None:
        eps = float(np.finfo(x._data.dtype).eps)
    dims = tuple(range(x._data.ndim - len(ns), x._data.ndim))
    y = x * rsqrt(mean(x * x, dims, keepdim=True) + eps)
    return y * weight if weight is not None else y
