"""Indexing: basic slices, integer arrays (repeated indices accumulate), boolean masks; gather;
index_put (the differentiable form of ``__setitem__``)."""
from __future__ import annotations

import numpy as np

from ..autograd.node import record
from ..tensor import Tensor, _wrap
from ._registry import op
from ._xp import array_module, getitem_adjoint_np, is_advanced


def normalize_index(index):
    """Tensors inside an index become numpy arrays; lists become arrays (as PyTorch)."""
    if isinstance(index, tuple):
        return tuple(_norm_one(i) for i in index)
    return _norm_one(index)


def _norm_one(i):
    if isinstance(i, Tensor):
        return i._data
    if isinstance(i, list):
        return np.asarray(i)
    return i


def _check_index(d, index):
    items = index if isinstance(index, tuple) else (index,)
    for i in items:
        if isinstance(i, np.ndarray) and i.dtype.kind not in "iub":
            raise IndexError(f"getitem: tensors used as indices must be integer or bool, got "
                             f"dtype {i.dtype}")


def _getitem_vjp(ctx, g, shape, index):
    return (array_module(g).getitem_adjoint(g, shape, index),)


@op(methods="__getitem__")
def getitem(a, index):
    index = normalize_index(index)
    d = a._data
    try:
        out = d[index]
    except IndexError as e:
        _check_index(d, index)
        raise IndexError(f"getitem: {e} (indexing a tensor of shape {d.shape})") from None
    adv = is_advanced(index)
    if adv:
        out = np.array(out, copy=True) if isinstance(out, np.ndarray) else np.asarray(out)
    elif not isinstance(out, np.ndarray):  # x[i, j] of every dim: a 0-d view, not a copy
        out = d[(index if isinstance(index, tuple) else (index,)) + (Ellipsis,)]
    return record("getitem", out, (a,), _getitem_vjp, saved=(d.shape, index),
                  view_of=None if adv else a)


def _getitem_adjoint_vjp(ctx, g, index):
    return (array_module(g).getitem(g, index),)


@op(methods=(), export=False)
def getitem_adjoint(g, shape, index):
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeated indices accumulate).
    The adjoint of getitem; its own VJP is getitem, so double backward works."""
    return record("getitem_backward", getitem_adjoint_np(g._data, shape, index), (g,),
                  _getitem_adjoint_vjp, saved=(index,))


def _index_put_vjp(ctx, g, index):
    xp = array_module(g)
    n = ctx.needs
    return (xp.index_put(g, index, 0.0) if n[0] else None,  # overwritten entries: no gradient
            xp.getitem(g, index) if len(n) > 1 and n[1] else None)


@op(methods=())
def index_put(a, index, value):
    """A copy of ``a`` with ``a[index] = value`` (differentiable in both)."""
    index = normalize_index(index)
    out = a._data.copy()
    v = value._data if isinstance(value, Tensor) else value
    try:
        out[index] = v
    except (ValueError, IndexError) as e:
        raise type(e)(f"__setitem__: cannot assign a value of shape {np.shape(v)} to index "
                      f"{index!r} of a tensor of shape {a._data.shape}: {e}") from None
    ins = (a, value) if isinstance(value, Tensor) else (a,)
    return record("index_put", out, ins, _index_put_vjp, saved=(index,))


def _gather_index(idx, dim):
    grids = np.indices(idx.shape, sparse=True)
    full = list(grids)
    full[dim] = idx
    return tuple(full)


@op
def gather(a, dim, index):
    """out[i][j] = a[i][index[i][j]] along ``dim`` (as torch.gather)."""
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    d = a._data
    if idx.ndim != d.ndim:
        raise RuntimeError(f"gather: index has {idx.ndim} dimensions, input has {d.ndim} "
                           f"(shapes {idx.shape} and {d.shape})")
    dim %= d.ndim
    if idx.size and (idx.min() < -d.shape[dim] or idx.max() >= d.shape[dim]):
        raise IndexError(f"gather: index out of range for dimension {dim} of size "
                         f"{d.shape[dim]} (min {idx.min()}, max {idx.max()})")
    full = _gather_index(idx, dim)
    return record("gather", d[full], (a,), _getitem_vjp, saved=(d.shape, full))


@op
def index_select(a, dim, index):
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    dim %= a._data.ndim
    return getitem(a, (slice(None),) * dim + (idx,))
