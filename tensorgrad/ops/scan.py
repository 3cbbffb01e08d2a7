"""Cumulative ops along a dimension: cumsum, cumprod, cummax, cummin, logcumsumexp.

Gradients (along the dim, for output k = 0..n-1):
* cumsum: input i feeds every output k >= i, so its gradient is the reversed cumulative sum
  of the incoming gradient;
* cumprod: ∂out_k/∂x_i = out_k / x_i for k >= i, i.e. revcumsum(g · out) / x — exact only
  without zeros, so where a zero sits the gradient is built from products of the other
  factors (as PyTorch does: nothing is divided by zero);
* cummax/cummin: the gradient of each output goes to the element it was taken from;
* logcumsumexp: ∂out_k/∂x_i = exp(x_i - out_k), summed stably in log space with the
  positive and negative parts of the gradient kept apart (as TensorFlow and PyTorch do).
"""
from __future__ import annotations

import numpy as np

from ..autograd.node import OUT, record
from ..tensor import Tensor, _wrap
from ._registry import op
from ._util import data_and_dim
from ._xp import TG, array_module
from .index import _gather_index, np_getitem
from .reduce import values_indices


_args = data_and_dim


def _revcumsum(xp, g, dim):
    return xp.flip(xp.cumsum(xp.flip(g, (dim,)), dim), (dim,))


def _cumsum_vjp(ctx, g, dim):
    if dim is None:
        return (g,)
    return (_revcumsum(array_module(g), g, dim),)


@op
def cumsum(input, dim, *, dtype=None):  # noqa: A002 (torch's names)
    """Running sums along ``dim`` (integers and bools sum in int64, as PyTorch)."""
    d, dm = _args("cumsum", input, dim)
    if dtype is None and d.dtype.kind in "biu":
        dtype = np.int64
    out = d.astype(dtype) if dm is None and dtype is not None else \
        d.copy() if dm is None else np.cumsum(d, axis=dm, dtype=dtype)
    return record("cumsum", out, (input,), _cumsum_vjp, saved=(dm,))


def _cumprod_grad_np(g, x, out, dim):
    """Exact gradient of cumprod along the last axis, zeros included (arrays)."""
    with np.errstate(all="ignore"):
        n = x.shape[-1]
        zero = x == 0
        has = zero.any(-1, keepdims=True)
        z = np.where(has, zero.argmax(-1)[..., None], n)  # first zero (n: none)
        k = np.arange(n)
        before = k < z
        # before the first zero: sum_{k>=i} g_k out_k / x_i (terms past the zero vanish)
        res = np.where(before, np.flip(np.cumsum(np.flip(g * out, -1), -1), -1) /
                       np.where(before, x, 1), 0)
        # at the first zero: out_{z-1} * sum_{k>=z} g_k prod_{z<j<=k} x_j
        after = k > z
        cp = np.cumprod(np.where(after, x, 1), -1)
        term = np.sum(np.where(k >= z, g * cp, 0), -1, keepdims=True)
        prev = np.take_along_axis(out, np.clip(z - 1, 0, n - 1), -1)
        prev = np.where(z == 0, 1, prev)
        res = np.where(k == z, prev * term, res)
    return res.astype(x.dtype, copy=False)


def _cumprod_vjp(ctx, g, out, a, dim):
    xp = array_module(g)
    if dim is None:
        return (g,)
    ad = a._data if isinstance(a, Tensor) else a
    if not np.any(ad == 0):
        return (_revcumsum(xp, g * out, dim) / a,)
    if xp is TG:  # zeros under create_graph: linear in g, constant in the input
        perm = [i for i in range(ad.ndim) if i != dim] + [dim]
        inv = list(np.argsort(perm))
        w = _wrap(_cumprod_jacobian(np.moveaxis(ad, dim, -1)))
        b = "abcdefgh"[:ad.ndim - 1]
        eq = f"{b}k,{b}ik->{b}i"
        return (xp.permute(xp.einsum(eq, xp.permute(g, perm), w), inv),)
    res = _cumprod_grad_np(np.moveaxis(g, dim, -1), np.moveaxis(ad, dim, -1),
                           np.moveaxis(out, dim, -1), dim)
    return (np.moveaxis(res, -1, dim),)


def _cumprod_jacobian(x):
    """W[..., i, k] = ∂out_k/∂x_i = prod_{j<=k, j!=i} x_j for k >= i (0 below)."""
    n = x.shape[-1]
    w = np.zeros(x.shape + (n,), dtype=x.dtype)
    for i in range(n):
        pre = np.prod(x[..., :i], -1)
        w[..., i, i] = pre
        w[..., i, i + 1:] = pre[..., None] * np.cumprod(x[..., i + 1:], -1)
    return w


@op
def cumprod(input, dim, *, dtype=None):  # noqa: A002
    """Running products along ``dim``. The gradient is exact with zeros; its second
    derivative is exact where the input has no zeros."""
    d, dm = _args("cumprod", input, dim)
    if dtype is None and d.dtype.kind in "biu":
        dtype = np.int64
    out = d.astype(dtype or d.dtype) if dm is None else np.cumprod(d, axis=dm, dtype=dtype)
    return record("cumprod", out, (input,), _cumprod_vjp, saved=(OUT, input, dm))


def _cumextreme(name, input, dim, fn):
    d, dm = _args(name, input, dim)
    if dm is None:
        from .reduce import _identity_vjp
        return values_indices(record(name, d.copy(), (input,), _identity_vjp),
                              _wrap(np.zeros((), dtype=np.int64)))
    m = fn.accumulate(d, axis=dm)
    # PyTorch takes the latest index on ties (x >= running max) and any NaN
    newest = (d == m) | np.isnan(d) if d.dtype.kind == "f" else d == m
    shape = [1] * d.ndim
    shape[dm] = d.shape[dm]
    pos = np.where(newest, np.arange(d.shape[dm]).reshape(shape), -1)
    idx = np.maximum.accumulate(pos, axis=dm).astype(np.int64)
    vals = np_getitem(input, _gather_index(idx, dm))
    return values_indices(vals, _wrap(idx))


@op
def cummax(input, dim):  # noqa: A002
    """(running maximum, index it came from) along ``dim``; ties take the latest index."""
    return _cumextreme("cummax", input, dim, np.maximum)


@op
def cummin(input, dim):  # noqa: A002
    """(running minimum, index it came from) along ``dim``; ties take the latest index."""
    return _cumextreme("cummin", input, dim, np.minimum)


def _logcumsumexp_vjp(ctx, g, out, a, dim):
    xp = array_module(g)
    if dim is None:
        return (g,)
    # the most negative finite float, not -inf (as PyTorch): -inf would poison the second
    # derivative through the inner logcumsumexp
    ninf = float(np.finfo(a.dtype).min)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        logg = xp.log(xp.abs(g))
        parts = []
        for sel in (g > 0, g < 0):
            lg = xp.where(sel, logg, ninf) - out
            rev = xp.flip(xp.logcumsumexp(xp.flip(lg, (dim,)), dim), (dim,))
            parts.append(xp.exp(rev + a))
    return (parts[0] - parts[1],)


@op
def logcumsumexp(input, dim):  # noqa: A002
    """log(cumsum(exp(input))) along ``dim``, computed stably."""
    d, dm = _args("logcumsumexp", input, dim)
    if d.dtype.kind not in "fc":
        raise RuntimeError(f"logcumsumexp: expected a floating point tensor, got dtype "
                           f"{d.dtype}")
    out = d.copy() if dm is None else np.logaddexp.accumulate(d, axis=dm)
    return record("logcumsumexp", out, (input,), _logcumsumexp_vjp, saved=(OUT, input, dm))
