"""Sorting and order statistics with PyTorch's names: sort, argsort, msort, topk, kthvalue,
median, nanmedian, mode, unique, unique_consecutive.

Values are gathered from the input at the computed indices (a recorded getitem), so their
gradient goes back to exactly those elements. The global ``median()`` (no dim) shares its
gradient evenly among the elements equal to the median, as PyTorch does.

Order of ties: sorts here are stable, so equal elements keep their order (``descending``
keeps it too) — PyTorch guarantees that only with ``stable=True``. kthvalue/median/topk take
positions in that stable order; ``mode`` returns the last index of the most frequent value
(the smallest such value on ties); cummax-style "latest index" rules are in ops/scan.py.
PyTorch documents the index chosen among ties as unspecified for median/kthvalue/topk, so
indices agree with PyTorch wherever the values are distinct.
"""
from __future__ import annotations

import numpy as np

from ..autograd.node import record
from ..tensor import Tensor, _wrap
from ._registry import op
from ._util import data_and_dim, norm_dims, not_tensor
from .index import _gather_index, np_getitem
from .reduce import _masked_expand_vjp, values_indices

_T = Tensor


_args = data_and_dim


def stable_argsort(d, dim, descending=False):
    """Indices that sort ``d`` along ``dim``; equal elements keep their order; NaN sorts as
    the largest value (last ascending, first descending), as PyTorch."""
    if not descending:
        return np.argsort(d, axis=dim, kind="stable")
    n = d.shape[dim]
    idx = np.flip(np.argsort(np.flip(d, dim), axis=dim, kind="stable"), dim)
    return (n - 1) - idx


def _take(a, idx, dim):
    """(values, indices) of ``a`` at ``idx`` along ``dim`` (values carry the gradient)."""
    return values_indices(np_getitem(a, _gather_index(idx, dim)), _wrap(idx.astype(np.int64)))


def _zero_d(a):
    from .reduce import select_along
    return select_along("sort", a, None, 0, False)


@op
def sort(input, dim=-1, descending=False, *, stable=False):  # noqa: A002 (torch's names)
    """(sorted values, their indices) along ``dim``; always stable here."""
    d, dm = _args("sort", input, dim)
    if dm is None:
        return _zero_d(input)
    return _take(input, stable_argsort(d, dm, descending), dm)


@op
def argsort(input, dim=-1, descending=False, *, stable=False):  # noqa: A002
    """The indices that sort ``input`` along ``dim`` (stable)."""
    d, dm = _args("argsort", input, dim)
    if dm is None:
        return _wrap(np.zeros((), dtype=np.int64))
    return _wrap(stable_argsort(d, dm, descending).astype(np.int64))


@op
def msort(input):  # noqa: A002
    """``input`` sorted along its first dimension."""
    return sort(input, 0).values


@op
def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    """(the k largest values — smallest with ``largest=False`` — and their indices) along
    ``dim``, in sorted order."""
    d, dm = _args("topk", input, dim)
    n = d.shape[dm] if dm is not None else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: k ({k}) is out of range for dimension of size {n}")
    if dm is None:
        return _zero_d(input)
    idx = stable_argsort(d, dm, largest)
    return _take(input, np.take(idx, np.arange(k), axis=dm), dm)


def _pick(name, input, dim, keepdim, position):
    """(values, indices) at ``position(sorted, idx, dim)`` (an index array shaped as the
    input with ``dim`` of size 1) of the stable ascending order along ``dim``."""
    d, dm = _args(name, input, dim)
    if dm is None:
        return _zero_d(input)
    if d.shape[dm] == 0:
        raise IndexError(f"{name}(): expected reduction dim {dm} to have non-zero size")
    order = stable_argsort(d, dm)
    pos = position(np.take_along_axis(d, order, dm), order, dm)
    idx = np.take_along_axis(order, pos, dm)
    v, i = _take(input, idx, dm)
    if not keepdim:
        from .movement import squeeze
        v, i = squeeze(v, dm), _wrap(i._data.squeeze(dm))
    return values_indices(v, i)


@op
def kthvalue(input, k, dim=-1, keepdim=False):  # noqa: A002
    """(the k-th smallest value, its index) along ``dim`` (k counts from 1)."""
    d, dm = _args("kthvalue", input, dim)
    n = d.shape[dm] if dm is not None else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue: k ({k}) is out of range for dimension of size {n}")
    return _pick("kthvalue", input, dim, keepdim,
                 lambda s, o, dm: np.full(_one(s.shape, dm), k - 1, dtype=np.int64))


def _one(shape, dm):
    return tuple(1 if i == dm else n for i, n in enumerate(shape))


def _median_pos(skip_nan):
    def position(s, order, dm):
        n = s.shape[dm]
        if s.dtype.kind != "f":
            return np.full(_one(s.shape, dm), (n - 1) // 2, dtype=np.int64)
        nans = np.isnan(s).sum(axis=dm, keepdims=True)
        if skip_nan:  # NaNs sort last: the lower median of the others (NaN if all are)
            return np.maximum((n - nans - 1) // 2, 0)
        # any NaN makes the median NaN: point at the first NaN in sorted order
        return np.where(nans > 0, n - nans, (n - 1) // 2)
    return position


def _global_median(name, input, skip_nan):
    try:
        d = input._data.reshape(-1)
    except AttributeError:
        raise not_tensor(name, input) from None
    if d.size == 0:
        return _wrap(np.asarray(np.nan, dtype=input._data.dtype))
    s = np.sort(d)
    nan = np.isnan(s) if s.dtype.kind == "f" else np.zeros(s.shape, dtype=bool)
    m = int(nan.sum())
    if m and not skip_nan:
        val = s[-1]
    else:
        val = s[max((s.size - m - 1) // 2, 0)]
    full = input._data
    hit = np.isnan(full) if np.isnan(val) else full == val
    mask = (hit / max(int(hit.sum()), 1)).astype(full.dtype) if full.dtype.kind == "f" else None
    return record(name, np.asarray(val), (input,), _masked_expand_vjp,
                  saved=(full.shape, None, False, mask))


@op
def median(input, dim=None, keepdim=False):  # noqa: A002
    """The lower median (the smaller middle value for an even count); NaN if any value is.
    Without ``dim``: one value, its gradient shared by the elements equal to it. With
    ``dim``: (values, indices)."""
    if dim is None:
        return _global_median("median", input, False)
    return _pick("median", input, dim, keepdim, _median_pos(False))


@op
def nanmedian(input, dim=None, keepdim=False):  # noqa: A002
    """median ignoring NaNs (NaN only where every value is NaN)."""
    if dim is None:
        return _global_median("nanmedian", input, True)
    return _pick("nanmedian", input, dim, keepdim, _median_pos(True))


@op
def mode(input, dim=-1, keepdim=False):  # noqa: A002
    """(the most frequent value along ``dim`` — the smallest on ties —, the last index where
    it occurs)."""
    d, dm = _args("mode", input, dim)
    if dm is None:
        return _zero_d(input)
    if d.shape[dm] == 0:
        raise IndexError(f"mode(): expected reduction dim {dm} to have non-zero size")
    moved = np.moveaxis(d, dm, -1)
    rows = moved.reshape(-1, moved.shape[-1])
    best = np.empty(rows.shape[0], dtype=np.int64)
    for r, row in enumerate(rows):
        vals, inv, counts = np.unique(row, return_inverse=True, return_counts=True)
        j = int(np.argmax(counts))  # the first maximum: the smallest value
        best[r] = np.flatnonzero(inv.reshape(-1) == j)[-1]
    idx = np.moveaxis(best.reshape(moved.shape[:-1] + (1,)), -1, dm)
    v, i = _take(input, idx, dm)
    if not keepdim:
        from .movement import squeeze
        v, i = squeeze(v, dm), _wrap(i._data.squeeze(dm))
    return values_indices(v, i)


def _unique_out(out, inverse, counts, return_inverse, return_counts):
    res = [_wrap(out)]
    if return_inverse:
        res.append(_wrap(inverse.astype(np.int64)))
    if return_counts:
        res.append(_wrap(counts.astype(np.int64)))
    return res[0] if len(res) == 1 else tuple(res)


@op
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """The distinct elements (or slices along ``dim``), in ascending order; optionally the
    index of each input element in them and their counts. Not differentiable."""
    try:
        d = input._data
    except AttributeError:
        raise not_tensor("unique", input) from None
    if dim is None:
        out, inv, cnt = np.unique(d.reshape(-1), return_inverse=True, return_counts=True)
        inv = inv.reshape(d.shape)
    else:
        dm = norm_dims(dim, d.ndim, "unique")[0]
        out, inv, cnt = np.unique(d, return_inverse=True, return_counts=True, axis=dm)
        inv = inv.reshape(-1)
    return _unique_out(out, inv, cnt, return_inverse, return_counts)


@op
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """Each run of equal consecutive elements (or slices along ``dim``) collapsed to one."""
    try:
        d = input._data
    except AttributeError:
        raise not_tensor("unique_consecutive", input) from None
    if dim is None:
        flat = d.reshape(-1)
        new = np.ones(flat.shape, dtype=bool)
        new[1:] = flat[1:] != flat[:-1]
        out = flat[new]
        inv = (np.cumsum(new) - 1).reshape(d.shape)
    else:
        dm = norm_dims(dim, d.ndim, "unique_consecutive")[0]
        moved = np.moveaxis(d, dm, 0)
        new = np.ones(moved.shape[0], dtype=bool)
        new[1:] = np.any((moved[1:] != moved[:-1]).reshape(moved.shape[0] - 1, -1), axis=1)
        out = np.moveaxis(moved[new], 0, dm)
        inv = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    cnt = np.diff(np.append(starts, new.size))
    return _unique_out(out, inv, cnt, return_inverse, return_counts)
