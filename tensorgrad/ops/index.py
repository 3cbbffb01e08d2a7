"""Indexing: basic slices, integer arrays (repeated indices accumulate), boolean masks; gather;
index_put (the differentiable form of ``__setitem__``)."""
from __future__ import annotations

import numpy as np

from ..autograd.node import record
from ..tensor import Tensor, _wrap

__all__ = ["getitem", "index_put", "gather", "normalize_index", "index_select"]


def normalize_index(index):
    """Tensors inside an index become numpy arrays; lists become arrays (as PyTorch)."""
    if isinstance(index, tuple):
        return tuple(_norm_one(i) for i in index)
    return _norm_one(index)


def _norm_one(i):
    if isinstance(i, Tensor):
        return i.data
    if isinstance(i, list):
        return np.asarray(i)
    return i


def _is_advanced(index):
    items = index if isinstance(index, tuple) else (index,)
    for i in items:
        if isinstance(i, np.ndarray) or isinstance(i, (list, np.bool_, bool)):
            return True
    return False


def _check_index(d, index):
    items = index if isinstance(index, tuple) else (index,)
    for i in items:
        if isinstance(i, np.ndarray) and i.dtype.kind not in "iub":
            raise IndexError(f"getitem: tensors used as indices must be integer or bool, got "
                             f"dtype {i.dtype}")


def _getitem_bw(node, g):
    return (_scatter_add(g, node.info[0], node.info[1]),)


def getitem(a, index):
    index = normalize_index(index)
    d = a.data
    try:
        out = d[index]
    except IndexError as e:
        _check_index(d, index)
        raise IndexError(f"getitem: {e} (indexing a tensor of shape {d.shape})") from None
    adv = _is_advanced(index)
    if adv:
        out = np.array(out, copy=True) if isinstance(out, np.ndarray) else np.asarray(out)
    return record("getitem", out, (a,), _getitem_bw, info=(d.shape, index, adv),
                  view_of=None if adv else a)


def _scatter_bw(node, g):
    return (getitem(g, node.info[1]),)


def _scatter_add(g, shape, index):
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeated indices accumulate).
    The adjoint of getitem; its own VJP is getitem, so double backward works."""
    gd = g.data
    out = np.zeros(shape, dtype=gd.dtype)
    if _is_advanced(index):
        np.add.at(out, index, gd)
    else:
        out[index] = gd
    return record("getitem_backward", out, (g,), _scatter_bw, info=(shape, index))


def _index_put_bw(node, g):
    index = node.info
    n = node.needs
    ga = index_put(g, index, _wrap(np.zeros((), dtype=g.data.dtype))) if n[0] else None
    gv = getitem(g, index) if len(n) > 1 and n[1] else None
    return (ga, gv)


def index_put(a, index, value):
    """A copy of ``a`` with ``a[index] = value`` (differentiable in both)."""
    index = normalize_index(index)
    out = a.data.copy()
    v = value.data if isinstance(value, Tensor) else value
    try:
        out[index] = v
    except (ValueError, IndexError) as e:
        raise type(e)(f"__setitem__: cannot assign a value of shape {np.shape(v)} to index "
                      f"{index!r} of a tensor of shape {a.data.shape}: {e}") from None
    ins = (a, value) if isinstance(value, Tensor) else (a,)
    return record("index_put", out, ins, _index_put_bw, info=index)


def _gather_index(idx, dim):
    grids = np.indices(idx.shape, sparse=True)
    full = list(grids)
    full[dim] = idx
    return tuple(full)


def _gather_bw(node, g):
    shape, full = node.info
    return (_scatter_add(g, shape, full),)


def gather(a, dim, index):
    """out[i][j] = a[i][index[i][j]] along ``dim`` (as torch.gather)."""
    idx = index.data if isinstance(index, Tensor) else np.asarray(index)
    d = a.data
    if idx.ndim != d.ndim:
        raise RuntimeError(f"gather: index has {idx.ndim} dimensions, input has {d.ndim} "
                           f"(shapes {idx.shape} and {d.shape})")
    dim %= d.ndim
    if idx.size and (idx.min() < -d.shape[dim] or idx.max() >= d.shape[dim]):
        raise IndexError(f"gather: index out of range for dimension {dim} of size "
                         f"{d.shape[dim]} (min {idx.min()}, max {idx.max()})")
    full = _gather_index(idx, dim)
    return record("gather", d[full], (a,), _gather_bw, info=(d.shape, full))


def index_select(a, dim, index):
    idx = index.data if isinstance(index, Tensor) else np.asarray(index)
    dim %= a.data.ndim
    return getitem(a, (slice(None),) * dim + (idx,))


# ---- numpy twins of the VJPs (plain backward) --------------------------------------------------
def _reg():
    from ..autograd.node import fast_vjp as fv

    def scatter_np(g, shape, index):
        out = np.zeros(shape, dtype=g.dtype)
        if _is_advanced(index):
            np.add.at(out, index, g)
        else:
            out[index] = g
        return out

    fv(_getitem_bw)(lambda n, g: (scatter_np(g, n.info[0], n.info[1]),))
    fv(_scatter_bw)(lambda n, g: (g[n.info[1]],))
    fv(_gather_bw)(lambda n, g: (scatter_np(g, n.info[0], n.info[1]),))


_reg()
del _reg
