"""Batch normalization as one fused op (forward on arrays; its VJP below, for both backward
modes). Training mode normalizes with the batch statistics; eval mode is a composition of
elementwise ops on the running statistics."""
from __future__ import annotations

import numpy as np

from ..autograd.node import record
from ..tensor import Tensor, _wrap
from ._registry import op
from ._util import as_tensor_arg, check_float
from ._xp import TG, array_module
from .elementwise import rsqrt
from .movement import reshape
from .reduce import mean


def _bn_shape(x, C):
    return (1, C) + (1,) * (x.ndim - 2)


def _bn_vjp(ctx, g, x, w, dims, eps, xhat, invstd):
    """VJP of training-mode batch norm. Under create_graph the batch statistics are recomputed
    from x with recorded ops, so the gradient is differentiable in x as well."""
    xp = array_module(g)
    needs = ctx.needs
    shape = _bn_shape(x, x.shape[1])
    if xp is TG:
        xc = x - mean(x, dims, keepdim=True)
        invstd = rsqrt(mean(xc * xc, dims, keepdim=True) + eps)
        xhat = xc * invstd
    dxhat = g * xp.reshape(w, shape) if w is not None else g
    out = [invstd * (dxhat - xp.mean(dxhat, dims, keepdim=True)
                     - xhat * xp.mean(dxhat * xhat, dims, keepdim=True)) if needs[0] else None]
    k = 1
    if w is not None:
        out.append(xp.sum(g * xhat, dims) if needs[k] else None)
        k += 1
    if len(needs) > k:
        out.append(xp.sum(g, dims) if needs[k] else None)
    return tuple(out)


def _check_vec(t, C, op, what):
    if t is None:
        return None
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {what} must be a tg.Tensor or None, got {type(t).__name__}")
    if t._data.shape != (C,):
        raise ValueError(f"{op}: {what} must have shape ({C},) for an input with {C} "
                         f"channels, got {t._data.shape}")
    return t


@op(functional=True, methods=(), export=False)
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalization over every dim but the channel dim 1 .

    Training: normalize with the batch mean and *biased* variance, and (when running stats are
    given) update ``running = (1 - momentum) * running + momentum * batch`` in place, with the
    *unbiased* variance for ``running_var`` (PyTorch's convention). Eval: normalize with the
    running statistics."""
    op = "batch_norm"
    x = as_tensor_arg(input, op, "input")
    check_float(x, op)
    if x._data.ndim < 2:
        raise ValueError(f"{op}: expected an input with at least 2 dims (N, C, ...), got shape "
                         f"{x._data.shape}")
    C = x._data.shape[1]
    running_mean = _check_vec(running_mean, C, op, "running_mean")
    running_var = _check_vec(running_var, C, op, "running_var")
    weight = _check_vec(weight, C, op, "weight")
    bias = _check_vec(bias, C, op, "bias")
    dims = (0,) + tuple(range(2, x._data.ndim))
    shape = _bn_shape(x, C)
    if training:
        M = x._data.size // C
        if M <= 1:
            raise ValueError(f"{op}: expected more than 1 value per channel when training, got "
                             f"input size {x._data.shape}")
        xd = x._data
        mu = xd.mean(axis=dims, keepdims=True)
        xc = xd - mu
        var = (xc * xc).mean(axis=dims, keepdims=True)
        invstd = 1.0 / np.sqrt(var + eps)
        xhat = xc * invstd
        y = xhat
        if weight is not None:
            y = y * weight._data.reshape(shape)
        if bias is not None:
            y = y + bias._data.reshape(shape)
        inputs = (x,) + ((weight,) if weight is not None else ()) + \
                 ((bias,) if bias is not None else ())
        out = record("batch_norm", y, inputs, _bn_vjp,
                     saved=(x, weight, dims, eps, xhat, invstd))
        if running_mean is not None or running_var is not None:
            if momentum is None:
                raise ValueError(f"{op}: momentum must be a number in the functional form "
                                 f"(the module handles momentum=None)")
            m = float(momentum)
            if running_mean is not None:
                rm = running_mean._data
                rm *= (1.0 - m)
                rm += (m * mu.reshape(C)).astype(rm.dtype)
                running_mean._version += 1
            if running_var is not None:
                rv = running_var._data
                rv *= (1.0 - m)
                rv += (m * var.reshape(C) * (M / (M - 1))).astype(rv.dtype)
                running_var._version += 1
        return out
    if running_mean is None or running_var is None:
        raise ValueError(f"{op}: running_mean and running_var are required when training=False")
    invstd = 1.0 / np.sqrt(running_var._data.astype(np.result_type(running_var._data, x._data))
                           + eps)
    y = (x - _wrap(running_mean._data.reshape(shape).astype(x._data.dtype))) * \
        _wrap(invstd.reshape(shape).astype(x._data.dtype))
    if weight is not None:
        y = y * reshape(weight, shape)
    if bias is not None:
        y = y + reshape(bias, shape)
    return y
