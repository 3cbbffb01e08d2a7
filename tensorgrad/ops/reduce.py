"""Reductions with ``dim``/``keepdim`` (numpy's ``axis``/``keepdims`` accepted), softmax family."""
from __future__ import annotations

from collections import namedtuple

import builtins

import numpy as np

from ..autograd.node import OUT, record
from ..tensor import Tensor, _wrap
from ._registry import op
from ._util import not_tensor, norm_dims, pick_dim, pick_keep
from ._xp import TG, array_module, softmax_np
from .elementwise import exp, log, sqrt

_np_sum = np.sum
values_indices = namedtuple("values_indices", ["values", "indices"])


def _keep_shape(shape, dims):
    """The shape a reduction over ``dims`` has with keepdim=True."""
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _expand_back(g, in_shape, dims, keepdim):
    """Broadcast a reduced gradient back to the input's shape."""
    xp = array_module(g)
    if not keepdim:
        g = xp.reshape(g, _keep_shape(in_shape, dims))
    return xp.expand(g, in_shape)


# ---- sum / mean ---------------------------------------------------------------------------
def _sum_vjp(ctx, g, shape, dims, keep):
    return (_expand_back(g, shape, dims, keep),)


@op
def sum(a, dim=None, keepdim=False, *, axis=None, keepdims=None, dtype=None):
    try:
        _ad = a._data
    except AttributeError:
        raise not_tensor("sum", a) from None
    dims = norm_dims(pick_dim(dim, axis, "sum"), _ad.ndim, "sum")
    keep = pick_keep(keepdim, keepdims)
    d = _ad
    if d.dtype == np.bool_:
        d = d.astype(np.int64)
    out = _np_sum(d, axis=dims, keepdims=keep, dtype=dtype)
    return record("sum", out, (a,), _sum_vjp, saved=(d.shape, dims, keep))


def _mean_vjp(ctx, g, shape, dims, keep, n):
    return (_expand_back(g / n, shape, dims, keep),)


@op
def mean(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    try:
        _ad = a._data
    except AttributeError:
        raise not_tensor("mean", a) from None
    dims = norm_dims(pick_dim(dim, axis, "mean"), _ad.ndim, "mean")
    keep = pick_keep(keepdim, keepdims)
    d = _ad
    if d.dtype.kind not in "fc":
        raise TypeError(f"mean: expected a floating point tensor, got dtype {d.dtype} "
                        f"(convert with .float() first)")
    n = d.size if dims is None else int(np.prod([d.shape[i] for i in dims]))
    out = np.mean(d, axis=dims, keepdims=keep)
    return record("mean", out, (a,), _mean_vjp, saved=(d.shape, dims, keep, n))


def _sum_to_vjp(ctx, g, in_shape):
    return (array_module(g).expand(g, in_shape),)


@op(methods="sum_to_size")
def sum_to(a, *shape):
    """Sum ``a`` down to ``shape``, the adjoint of broadcasting (``x.sum_to_size(shape)``, as
    PyTorch); the engine un-broadcasts gradients with it."""
    try:
        _ad = a._data
    except AttributeError:
        raise not_tensor("sum_to", a) from None
    from ._util import shape_args
    shape = shape_args(shape)
    d = _ad
    if d.shape == shape:
        return a
    lead = d.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape)
                                      if s == 1 and d.shape[i + lead] != 1)
    out = d.sum(axis=axes, keepdims=True)
    if lead:
        out = out.reshape(shape)
    return record("sum_to", out, (a,), _sum_to_vjp, saved=(d.shape,))


@op
def var(a, dim=None, unbiased=True, keepdim=False, *, correction=None, axis=None,
        keepdims=None):
    """Variance; ``unbiased=True`` divides by n-1 (PyTorch's default), or give ``correction``."""
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("var", a) from None
    dims = norm_dims(pick_dim(dim, axis, "var"), d.ndim, "var")
    keep = pick_keep(keepdim, keepdims)
    ddof = (1 if unbiased else 0) if correction is None else correction
    n = d.size if dims is None else int(np.prod([d.shape[i] for i in dims]))
    centered = a - mean(a, dim=dims, keepdim=True)
    return sum(centered * centered, dim=dims, keepdim=keep) / float(builtins.max(n - ddof, 0) or np.nan)


@op
def std(a, dim=None, unbiased=True, keepdim=False, *, correction=None, axis=None,
        keepdims=None):
    return sqrt(var(a, dim, unbiased, keepdim, correction=correction, axis=axis,
                    keepdims=keepdims))


def _norm_vjp(ctx, g, out, a, shape, dims, keep):
    xp = array_module(g)
    if not keep:
        out = xp.reshape(out, _keep_shape(shape, dims))
        g = xp.reshape(g, _keep_shape(shape, dims))
    zero = out == 0
    return (xp.where(zero, 0.0, g * a / xp.where(zero, 1.0, out)),)


@op
def norm(a, p=2, dim=None, keepdim=False):
    """The 2-norm (p=2; gradient 0 at 0 as PyTorch) or any p via composition."""
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("norm", a) from None
    dims = norm_dims(dim, d.ndim, "norm")
    if p == 2 or p == "fro":
        out = np.sqrt(np.sum(d * d, axis=dims, keepdims=keepdim))
        return record("norm", out, (a,), _norm_vjp, saved=(OUT, a, d.shape, dims, keepdim))
    if p == 1:
        from .elementwise import abs as _abs
        return sum(_abs(a), dim=dims, keepdim=keepdim)
    if p in (float("inf"), "inf"):
        from .elementwise import abs as _abs
        return amax(_abs(a), dim=dims, keepdim=keepdim)
    from .elementwise import abs as _abs
    return sum(_abs(a) ** float(p), dim=dims, keepdim=keepdim) ** (1.0 / p)


# ---- max / min ------------------------------------------------------------------------------
def _masked_expand_vjp(ctx, g, shape, dims, keep, mask):
    return (_expand_back(g, shape, dims, keep) * mask,)


def _extreme(name, a, dims, keep, fn):
    d = a._data
    if d.size == 0:
        raise RuntimeError(f"{name}: cannot reduce an empty tensor of shape {d.shape}")
    out = fn(d, axis=dims, keepdims=True)
    hit = (d == out)
    cnt = hit.sum(axis=dims, keepdims=True)
    mask = (hit / cnt).astype(d.dtype)
    if not keep:
        out = out.reshape(tuple(s for i, s in enumerate(d.shape)
                                if dims is not None and i not in dims))
    return record(name, out, (a,), _masked_expand_vjp, saved=(d.shape, dims, keep, mask))


@op
def amax(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Max over ``dim``; ties share the gradient evenly (as PyTorch)."""
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("amax", a) from None
    dims = norm_dims(pick_dim(dim, axis, "amax"), d.ndim, "amax")
    return _extreme("amax", a, dims, pick_keep(keepdim, keepdims), np.max)


@op
def amin(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("amin", a) from None
    dims = norm_dims(pick_dim(dim, axis, "amin"), d.ndim, "amin")
    return _extreme("amin", a, dims, pick_keep(keepdim, keepdims), np.min)


def _reduce_with_index(name, a, dim, keep, argfn):
    d = a._data
    dm = norm_dims(dim, d.ndim, name)[0]
    if d.shape[dm] == 0:
        raise RuntimeError(f"{name}: cannot reduce over an empty dimension {dm} of shape {d.shape}")
    idx = argfn(d, axis=dm)
    idx_k = np.expand_dims(idx, dm)
    vals = np.take_along_axis(d, idx_k, axis=dm)
    onehot = np.zeros(d.shape, dtype=d.dtype)
    np.put_along_axis(onehot, idx_k, 1, axis=dm)
    if not keep:
        vals = vals.squeeze(dm)
    else:
        idx = idx_k
    v = record(name, vals, (a,), _masked_expand_vjp, saved=(d.shape, (dm,), keep, onehot))
    return values_indices(v, _wrap(idx.astype(np.int64)))


def _max_or_min(name, a, dim, keepdim, axis, keepdims):
    greater = name == "max"
    if isinstance(dim, Tensor):
        from .elementwise import maximum, minimum
        return (maximum if greater else minimum)(a, dim)
    dim = pick_dim(dim, axis, name)
    if dim is None:
        return _extreme(name, a, None, False, np.max if greater else np.min)
    return _reduce_with_index(name, a, dim, pick_keep(keepdim, keepdims),
                              np.argmax if greater else np.argmin)


@op
def max(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """``max(a)`` → the maximum; ``max(a, dim)`` → (values, indices); ``max(a, b)`` → maximum."""
    return _max_or_min("max", a, dim, keepdim, axis, keepdims)


@op
def min(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """``min(a)`` → the minimum; ``min(a, dim)`` → (values, indices); ``min(a, b)`` → minimum."""
    return _max_or_min("min", a, dim, keepdim, axis, keepdims)


def _arg(name, fn, a, dim, keepdim, axis, keepdims):
    dim = pick_dim(dim, axis, name)
    if dim is None:
        return _wrap(np.asarray(fn(a._data), dtype=np.int64))
    dm = norm_dims(dim, a._data.ndim, name)[0]
    return _wrap(fn(a._data, axis=dm, keepdims=pick_keep(keepdim, keepdims)).astype(np.int64))


@op
def argmax(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Index of the maximum (over all elements, or along ``dim``); never differentiable."""
    return _arg("argmax", np.argmax, a, dim, keepdim, axis, keepdims)


@op
def argmin(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    return _arg("argmin", np.argmin, a, dim, keepdim, axis, keepdims)


@op
def all(a, dim=None, keepdim=False):
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("all", a) from None
    return _wrap(np.asarray(np.all(d, axis=norm_dims(dim, d.ndim, "all"), keepdims=keepdim)))


@op
def any(a, dim=None, keepdim=False):
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("any", a) from None
    return _wrap(np.asarray(np.any(d, axis=norm_dims(dim, d.ndim, "any"), keepdims=keepdim)))


@op
def prod(a, dim=None, keepdim=False):
    """Product over ``dim``. The gradient is the product of the other elements (exact with
    zeros); its second derivative is exact where the input has no zeros."""
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("prod", a) from None
    dims = norm_dims(dim, d.ndim, "prod")
    out = np.prod(d, axis=dims, keepdims=keepdim)
    return record("prod", out, (a,), _prod_vjp, saved=(a, d.shape, dims, keepdim))


def _prod_others(d, dims):
    """Product of all other elements along ``dims``, without division (safe with zeros)."""
    ax = tuple(range(d.ndim)) if dims is None else dims
    k = d.ndim - len(ax)
    moved = np.moveaxis(d, ax, tuple(range(k, d.ndim)))
    flat = moved.reshape(moved.shape[:k] + (-1,))
    ones = np.ones_like(flat[..., :1])
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], -1), -1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], -1), -1)[..., ::-1]
    return np.moveaxis((left * right).reshape(moved.shape), tuple(range(k, d.ndim)), ax)


def _prod_vjp(ctx, g, a, shape, dims, keep):
    ad = a._data if isinstance(a, Tensor) else a
    if array_module(g) is TG and np.all(ad != 0):
        # differentiable form, for create_graph: d prod / d a_i = prod / a_i
        out = prod(a, dim=dims, keepdim=keep)
        return (_expand_back(g * out, shape, dims, keep) / a,)
    return (_expand_back(g, shape, dims, keep) * _prod_others(ad, dims),)


# ---- log-sum-exp and softmax ------------------------------------------------------------------
@op
def logsumexp(a, dim=None, keepdim=False):
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("logsumexp", a) from None
    dims = norm_dims(dim, d.ndim, "logsumexp")
    m = np.max(d, axis=dims, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    mt = _wrap(m)
    s = log(sum(exp(a - mt), dim=dims, keepdim=True)) + mt
    if not keepdim:
        from .movement import reshape
        s = reshape(s, tuple(x for i, x in enumerate(d.shape) if dims is not None and i not in dims))
    return s


def _softmax_vjp(ctx, g, y, dim):
    return (y * (g - array_module(g).sum(g * y, dim, keepdim=True)),)


def _one_dim(dim, ndim, op):
    if dim is None:
        if ndim in (0, 1, 3):
            return 0
        return 1  # PyTorch's legacy implicit choice; pass dim explicitly
    return norm_dims(dim, ndim, op)[0]


@op(functional=True)
def softmax(a, dim=None):
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("softmax", a) from None
    dm = _one_dim(dim, d.ndim, "softmax")
    return record("softmax", softmax_np(d, dm), (a,), _softmax_vjp, saved=(OUT, dm))


def _log_softmax_vjp(ctx, g, y, dim):
    xp = array_module(g)
    return (g - xp.exp(y) * xp.sum(g, dim, keepdim=True),)


@op(functional=True)
def log_softmax(a, dim=None):
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("log_softmax", a) from None
    dm = _one_dim(dim, d.ndim, "log_softmax")
    x = d
    m = np.max(x, axis=dm, keepdims=True)
    sh = x - m
    out = sh - np.log(np.exp(sh).sum(axis=dm, keepdims=True))
    return record("log_softmax", out, (a,), _log_softmax_vjp, saved=(OUT, dm))
