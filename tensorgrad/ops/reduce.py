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


def _reduce_args(op, a, dim, axis=None):
    """``a``'s array and the axes a reduction over ``dim`` (or numpy's ``axis``) reduces: None
    for all. A 0-d tensor has one "dimension" for dim=0/-1 that reduces nothing, as in
    PyTorch."""
    try:
        d = a._data
    except AttributeError:
        raise not_tensor(op, a) from None
    dims = norm_dims(pick_dim(dim, axis, op) if axis is not None else dim, d.ndim, op)
    return d, (() if not d.ndim and dims else dims)


def _count(shape, dims):
    n = 1
    for i in (range(len(shape)) if dims is None else dims):
        n *= shape[i]
    return n


# ---- sum / mean ---------------------------------------------------------------------------
def _sum_vjp(ctx, g, shape, dims, keep):
    return (_expand_back(g, shape, dims, keep),)


@op
def sum(a, dim=None, keepdim=False, *, axis=None, keepdims=None, dtype=None):
    d, dims = _reduce_args("sum", a, dim, axis)
    keep = pick_keep(keepdim, keepdims)
    if d.dtype == np.bool_:
        d = d.astype(np.int64)
    out = _np_sum(d, axis=dims, keepdims=keep, dtype=dtype)
    return record("sum", out, (a,), _sum_vjp, saved=(d.shape, dims, keep))


def _mean_vjp(ctx, g, shape, dims, keep, n):
    return (_expand_back(g / n, shape, dims, keep),)


@op
def mean(a, dim=None, keepdim=False, *, axis=None, keepdims=None, dtype=None):
    d, dims = _reduce_args("mean", a, dim, axis)
    keep = pick_keep(keepdim, keepdims)
    if dtype is not None:
        d = d.astype(dtype)
    if d.dtype.kind not in "fc":
        raise TypeError(f"mean: expected a floating point tensor, got dtype {d.dtype} "
                        f"(convert with .float() first)")
    n = _count(d.shape, dims)
    if n:
        out = np.mean(d, axis=dims, keepdims=keep)
    else:  # the mean of nothing is NaN (PyTorch), without numpy's warning
        out = np.full(np.sum(d, axis=dims, keepdims=keep).shape, np.nan, dtype=d.dtype)
    return record("mean", out, (a,), _mean_vjp, saved=(d.shape, dims, keep, n))


@op
def nansum(a, dim=None, keepdim=False, *, dtype=None):
    """Sum treating NaN as zero (NaNs get no gradient)."""
    from .elementwise import where
    from .logic import isnan
    return sum(where(isnan(a), 0.0, a), dim, keepdim, dtype=dtype)


@op
def nanmean(a, dim=None, keepdim=False, *, dtype=None):
    """Mean of the non-NaN elements (NaN where there are none)."""
    from .elementwise import where
    from .logic import isnan
    nan = isnan(a)
    n = _np_sum(~nan._data, axis=_reduce_args("nanmean", a, dim)[1], keepdims=keepdim)
    with np.errstate(all="ignore"):
        return sum(where(nan, 0.0, a), dim, keepdim, dtype=dtype) / _wrap(
            n.astype(a._data.dtype if dtype is None else dtype))


def _sum_to_vjp(ctx, g, in_shape):
    return (array_module(g).expand(g, in_shape),)


@op(methods="sum_to_size")
def sum_to(a, *shape):
    """Sum ``a`` down to ``shape``, the adjoint of broadcasting (``x.sum_to_size(shape)``, as
    PyTorch); the engine un-broadcasts gradients with it."""
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("sum_to", a) from None
    from ._util import shape_args
    shape = shape_args(shape)
    if d.shape == shape:
        return a
    lead = d.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape)
                                      if s == 1 and d.shape[i + lead] != 1)
    out = d.sum(axis=axes, keepdims=True)
    if lead:
        out = out.reshape(shape)
    return record("sum_to", out, (a,), _sum_to_vjp, saved=(d.shape,))


# ---- variance and standard deviation (PyTorch's values and gradients at the edges) --------------
def _var_args(name, a, dim, unbiased, correction, axis):
    if isinstance(dim, bool):  # var(x, False): the legacy positional unbiased
        dim, unbiased = None, dim
    d, dims = _reduce_args(name, a, dim, axis)
    if d.dtype.kind not in "fc":
        raise TypeError(f"{name}: expected a floating point tensor, got dtype {d.dtype}")
    corr = (1 if unbiased else 0) if correction is None else correction
    return d, dims, corr


def _var_forward(d, dims, corr):
    """(variance, keepdim-shaped mean, n - correction)."""
    n = _count(d.shape, dims)
    with np.errstate(all="ignore"):
        m = np.sum(d, axis=dims, keepdims=True) / n if n else \
            np.full(_keep_shape(d.shape, dims), np.nan, dtype=d.dtype)
        c = d - m
        v = np.sum(c * c, axis=dims, keepdims=True) / builtins.max(n - corr, 0)
    return v.astype(d.dtype, copy=False), m.astype(d.dtype, copy=False), n - corr


def _var_grad(g, a, shape, dims, keep, dof):
    """PyTorch's var_backward: 2 (a - mean) / dof, or nan/inf where a full reduction has
    no degrees of freedom left."""
    xp = array_module(g)
    g = _expand_back(g, shape, dims, keep)
    centered = a - xp.mean(a, dims, keepdim=True)
    if dof <= 0 and (dims is None or len(dims) == len(shape)):
        return g * xp.where(centered == 0, float("nan"), float("inf"))
    return g * centered * (2.0 / dof if dof else float("inf"))


def _var_vjp(ctx, g, a, shape, dims, keep, dof):
    return (_var_grad(g, a, shape, dims, keep, dof),)


@op
def var(a, dim=None, unbiased=True, keepdim=False, *, correction=None, axis=None,
        keepdims=None):
    """Variance: the sum of squared deviations over ``max(0, n - correction)``
    (``correction=1``, i.e. ``unbiased=True``, by default, as PyTorch)."""
    d, dims, corr = _var_args("var", a, dim, unbiased, correction, axis)
    keep = pick_keep(keepdim, keepdims)
    v, _, dof = _var_forward(d, dims, corr)
    if not keep:
        v = v.reshape(np.sum(d, axis=dims).shape)
    return record("var", v, (a,), _var_vjp, saved=(a, d.shape, dims, keep, dof))


def _std_vjp(ctx, g, out, a, shape, dims, keep, dof):
    xp = array_module(g)
    zero = out == 0  # PyTorch: no gradient where the deviation is zero
    gv = xp.where(zero, 0.0, g / (xp.where(zero, 1.0, out) * 2.0))
    return (_var_grad(gv, a, shape, dims, keep, dof),)


@op
def std(a, dim=None, unbiased=True, keepdim=False, *, correction=None, axis=None,
        keepdims=None):
    """Standard deviation: sqrt(var); zero gradient on a constant input (as PyTorch)."""
    d, dims, corr = _var_args("std", a, dim, unbiased, correction, axis)
    keep = pick_keep(keepdim, keepdims)
    v, _, dof = _var_forward(d, dims, corr)
    if not keep:
        v = v.reshape(np.sum(d, axis=dims).shape)
    return record("std", np.sqrt(v), (a,), _std_vjp, saved=(OUT, a, d.shape, dims, keep, dof))


@op(methods=())
def var_mean(a, dim=None, unbiased=True, keepdim=False, *, correction=None):
    """(var, mean) over ``dim``, as ``torch.var_mean``."""
    return (var(a, dim, unbiased, keepdim, correction=correction),
            mean(a, dim if not isinstance(dim, bool) else None, keepdim))


@op(methods=())
def std_mean(a, dim=None, unbiased=True, keepdim=False, *, correction=None):
    """(std, mean) over ``dim``, as ``torch.std_mean``."""
    return (std(a, dim, unbiased, keepdim, correction=correction),
            mean(a, dim if not isinstance(dim, bool) else None, keepdim))


# ---- max / min ------------------------------------------------------------------------------
def _masked_expand_vjp(ctx, g, shape, dims, keep, mask):
    return (_expand_back(g, shape, dims, keep) * mask,)


def _extreme(name, fn, a, dim, keep, axis=None):
    d, dims = _reduce_args(name, a, dim, axis)
    if d.size == 0:
        if dims is None:
            raise RuntimeError(f"{name}(): expected a reduction dim to be specified for an "
                               f"input with no elements (shape {d.shape})")
        for i in dims:
            if d.shape[i] == 0:
                raise IndexError(f"{name}(): expected reduction dim {i} to have non-zero size "
                                 f"(shape {d.shape})")
    out = fn(d, axis=dims, keepdims=True)
    hit = (d == out) if d.dtype.kind != "f" else ((d == out) | (np.isnan(d) & np.isnan(out)))
    cnt = hit.sum(axis=dims, keepdims=True)
    mask = (hit / np.maximum(cnt, 1)).astype(d.dtype) if d.dtype.kind in "fc" else None
    if not keep:
        out = out.reshape(np.sum(d, axis=dims).shape)
    return record(name, out, (a,), _masked_expand_vjp, saved=(d.shape, dims, keep, mask))


@op
def amax(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Max over ``dim``; ties share the gradient evenly (as PyTorch)."""
    return _extreme("amax", np.max, a, dim, pick_keep(keepdim, keepdims), axis)


@op
def amin(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Min over ``dim``; ties share the gradient evenly (as PyTorch)."""
    return _extreme("amin", np.min, a, dim, pick_keep(keepdim, keepdims), axis)


def select_along(name, a, idx, dm, keep):
    """``(values, indices)`` of a selecting reduction: the entries of ``a`` at ``idx``
    (shaped as ``a`` with ``dm`` of size 1) along ``dm``; the gradient goes to those entries."""
    d = a._data
    if d.ndim == 0:
        return values_indices(record(name, d.copy(), (a,), _identity_vjp),
                              _wrap(np.zeros((), dtype=np.int64)))
    onehot = np.zeros(d.shape, dtype=d.dtype) if d.dtype.kind in "fc" else None
    if onehot is not None:
        np.put_along_axis(onehot, idx, 1, axis=dm)
    vals = np.take_along_axis(d, idx, axis=dm)
    if not keep:
        vals, idx = vals.squeeze(dm), idx.squeeze(dm)
    v = record(name, vals, (a,), _masked_expand_vjp, saved=(d.shape, (dm,), keep, onehot))
    return values_indices(v, _wrap(idx.astype(np.int64)))


def _identity_vjp(ctx, g):
    return (g,)


def _reduce_with_index(name, a, dim, keep, argfn):
    try:
        d = a._data
    except AttributeError:
        raise not_tensor(name, a) from None
    dm = norm_dims(dim, d.ndim, name)[0]
    if d.ndim and d.shape[dm] == 0:
        raise IndexError(f"{name}(): expected reduction dim {dm} to have non-zero size "
                         f"(shape {d.shape})")
    idx = np.expand_dims(argfn(d, axis=dm), dm) if d.ndim else None
    return select_along(name, a, idx, dm, keep)


def _max_or_min(name, a, dim, keepdim, axis, keepdims):
    greater = name == "max"
    if isinstance(dim, Tensor):
        from .elementwise import maximum, minimum
        return (maximum if greater else minimum)(a, dim)
    dim = pick_dim(dim, axis, name)
    if dim is None:
        return _extreme(name, np.max if greater else np.min, a, None, False)
    return _reduce_with_index(name, a, dim, pick_keep(keepdim, keepdims),
                              np.argmax if greater else np.argmin)


@op
def max(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """``max(a)`` → the maximum; ``max(a, dim)`` → (values, indices) with the first index of
    the maximum (its gradient goes there); ``max(a, b)`` → maximum."""
    return _max_or_min("max", a, dim, keepdim, axis, keepdims)


@op
def min(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """``min(a)`` → the minimum; ``min(a, dim)`` → (values, indices); ``min(a, b)`` → minimum."""
    return _max_or_min("min", a, dim, keepdim, axis, keepdims)


def _arg(name, fn, a, dim, keepdim, axis, keepdims):
    try:
        d = a._data
    except AttributeError:
        raise not_tensor(name, a) from None
    dim = pick_dim(dim, axis, name)
    keep = pick_keep(keepdim, keepdims)
    if dim is None:
        out = np.asarray(fn(d), dtype=np.int64)
        return _wrap(out.reshape((1,) * d.ndim) if keep else out)
    dm = norm_dims(dim, d.ndim, name)[0]
    if not d.ndim:
        return _wrap(np.zeros((), dtype=np.int64))
    return _wrap(fn(d, axis=dm, keepdims=keep).astype(np.int64))


@op
def argmax(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Index of the maximum (over all elements, or along ``dim``); never differentiable."""
    return _arg("argmax", np.argmax, a, dim, keepdim, axis, keepdims)


@op
def argmin(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    return _arg("argmin", np.argmin, a, dim, keepdim, axis, keepdims)


def _bool_reduce(name, fn, a, dim, keepdim):
    d, dims = _reduce_args(name, a, dim)
    return _wrap(np.asarray(fn(d, axis=dims, keepdims=keepdim)))


@op
def all(a, dim=None, keepdim=False):
    """True where every element along ``dim`` (a dim or a tuple; all when None) is nonzero."""
    return _bool_reduce("all", np.all, a, dim, keepdim)


@op
def any(a, dim=None, keepdim=False):
    """True where some element along ``dim`` is nonzero."""
    return _bool_reduce("any", np.any, a, dim, keepdim)


@op
def count_nonzero(a, dim=None):
    """The number of nonzero elements (along ``dim``), int64."""
    d, dims = _reduce_args("count_nonzero", a, dim)
    return _wrap(np.asarray(np.count_nonzero(d, axis=dims), dtype=np.int64))


@op
def prod(a, dim=None, keepdim=False, *, dtype=None):
    """Product over ``dim``. The gradient is the product of the other elements (exact with
    zeros); its second derivative is exact where the input has no zeros."""
    d, dims = _reduce_args("prod", a, dim)
    out = np.prod(d, axis=dims, keepdims=keepdim, dtype=dtype)
    return record("prod", out, (a,), _prod_vjp, saved=(a, d.shape, dims, keepdim))


def _prod_others(d, dims):
    """Product of all other elements along ``dims``, without division (safe with zeros)."""
    ax = tuple(range(d.ndim)) if dims is None else dims
    if not ax:
        return np.ones_like(d)
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
def _logsumexp_vjp(ctx, g, out, a, shape, dims, keep, m, shift):
    xp = array_module(g)
    if xp is TG:  # differentiable: exp(a - out)
        if not keep:
            out = xp.reshape(out, _keep_shape(shape, dims))
        return (_expand_back(g, shape, dims, keep) * xp.exp(a - out),)
    # arrays: exp((a - max) - log(sum)), free of the rounding of out = max + log(sum)
    return (_expand_back(g, shape, dims, keep) * np.exp((a - m) - shift),)


@op
def logsumexp(a, dim=None, keepdim=False):
    """log(sum(exp(a))) over ``dim``, stably (-inf over an empty dim, as PyTorch)."""
    d, dims = _reduce_args("logsumexp", a, dim)
    if d.dtype.kind not in "fc":
        d = d.astype(np.float32)
    m = np.max(d, axis=dims, keepdims=True, initial=-np.inf)
    m = np.where(np.isfinite(m), m, 0).astype(d.dtype)
    with np.errstate(divide="ignore"):
        shift = np.log(np.sum(np.exp(d - m), axis=dims, keepdims=True))
    out = shift + m
    if not keepdim:
        out = out.reshape(np.sum(d, axis=dims).shape)
    return record("logsumexp", out.astype(d.dtype, copy=False), (a,), _logsumexp_vjp,
                  saved=(OUT, a, d.shape, dims, keepdim, m, shift))


def _softmax_vjp(ctx, g, y, dim):
    return (y * (g - array_module(g).sum(g * y, dim, keepdim=True)),)


def _one_dim(dim, ndim, op):
    if not ndim:
        if dim is not None:
            norm_dims(dim, ndim, op)
        return None  # a 0-d tensor: softmax over its one element
    if dim is None:
        if ndim in (0, 1, 3):
            return 0
        return 1  # PyTorch's legacy implicit choice; pass dim explicitly
    return norm_dims(dim, ndim, op)[0]


def _softmax_args(name, a, dim, dtype):
    try:
        d = a._data
    except AttributeError:
        raise not_tensor(name, a) from None
    if dtype is not None:
        d = d.astype(dtype)
    return d, _one_dim(dim, d.ndim, name)


@op(functional=True)
def softmax(a, dim=None, _stacklevel=3, dtype=None):
    d, dm = _softmax_args("softmax", a, dim, dtype)
    try:
        out = softmax_np(d, dm)
    except ValueError:  # an empty dim: nothing to normalize (PyTorch returns the empty tensor)
        out = d.copy()
    return record("softmax", out, (a,), _softmax_vjp, saved=(OUT, dm))


def _log_softmax_vjp(ctx, g, y, dim):
    xp = array_module(g)
    return (g - xp.exp(y) * xp.sum(g, dim, keepdim=True),)


@op(functional=True)
def log_softmax(a, dim=None, _stacklevel=3, dtype=None):
    x, dm = _softmax_args("log_softmax", a, dim, dtype)
    try:
        m = np.max(x, axis=dm, keepdims=True)
    except ValueError:  # an empty dim
        return record("log_softmax", x.copy(), (a,), _log_softmax_vjp, saved=(OUT, dm))
    sh = x - m
    out = sh - np.log(np.exp(sh).sum(axis=dm, keepdims=True))
    return record("log_softmax", out, (a,), _log_softmax_vjp, saved=(OUT, dm))
