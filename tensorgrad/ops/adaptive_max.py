"""Adaptive max pooling (``adaptive_max_pool1d/2d/3d``) with PyTorch's windows: output cell i
along a dimension of length L pools input positions [floor(i·L/o), ceil((i+1)·L/o)).

The maximum of each window is found in numpy (the first one in scan order on ties, NaN
winning, as PyTorch) and its value is read with a recorded ``gather``, so the gradient goes to
exactly that element and higher derivatives come from ``gather``'s own. ``return_indices``
gives flat indices into the input's spatial plane, PyTorch's convention (``max_unpool`` takes
them).
"""
from __future__ import annotations

import math

import numpy as np

from ..tensor import _wrap
from ._registry import op
from .pool import _squeeze, adaptive_args


def _windows(L, o):
    starts = (np.arange(o) * L) // o
    ends = -((-(np.arange(o) + 1) * L) // o)
    return starts, ends


def _candidates(insp, osz):
    """(*osz, K) flat spatial indices of each output cell's window, padded with -1."""
    per_dim = []
    for L, o in zip(insp, osz):
        s, e = _windows(L, o)
        k = int((e - s).max())
        pos = s[:, None] + np.arange(k)[None, :]
        per_dim.append(np.where(pos < e[:, None], pos, -1))
    strides = np.cumprod((1,) + tuple(insp[::-1]))[:-1][::-1]
    flat = np.zeros((1,) * (2 * len(insp)), dtype=np.int64)
    valid = np.ones_like(flat, dtype=bool)
    nd = len(insp)
    for d, (pos, st) in enumerate(zip(per_dim, strides)):
        shape = [1] * (2 * nd)
        shape[d], shape[nd + d] = pos.shape
        pos = pos.reshape(shape)
        flat = flat + np.maximum(pos, 0) * st
        valid = valid & (pos >= 0)
    osz_ = tuple(osz)
    K = math.prod(flat.shape[nd:])
    flat = np.broadcast_to(flat, osz_ + flat.shape[nd:]).reshape(osz_ + (K,))
    valid = np.broadcast_to(valid, osz_ + valid.shape[nd:]).reshape(osz_ + (K,))
    return flat, valid


def _adaptive_max(nd, input, output_size, return_indices):
    name = f"adaptive_max_pool{nd}d"
    x, unbatched, osz = adaptive_args(name, nd, input, output_size)
    d = x._data
    insp = d.shape[2:]
    cand, valid = _candidates(insp, osz)
    n_sp = math.prod(insp)
    flat = d.reshape(d.shape[:2] + (n_sp,))
    vals = flat[..., cand]                                   # (N, C, *osz, K)
    vals = np.where(valid, vals, -np.inf)
    k = np.argmax(np.where(np.isnan(vals), np.inf, vals), axis=-1)
    idx = np.take_along_axis(np.broadcast_to(cand, vals.shape), k[..., None], -1)[..., 0]
    idx = np.ascontiguousarray(idx, dtype=np.int64)
    out_shape = d.shape[:2] + tuple(osz)
    y = x.reshape(d.shape[:2] + (n_sp,)).gather(
        2, _wrap(idx.reshape(d.shape[:2] + (-1,)))).reshape(out_shape)
    ind = _wrap(idx)
    if unbatched:
        y, ind = _squeeze(y), _squeeze(ind)
    return (y, ind) if return_indices else y


@op(functional=True, methods=(), export=False)
def adaptive_max_pool1d(input, output_size, return_indices=False):  # noqa: A002
    """Max pooling to a fixed output length (PyTorch's window rule)."""
    return _adaptive_max(1, input, output_size, return_indices)


@op(functional=True, methods=(), export=False)
def adaptive_max_pool2d(input, output_size, return_indices=False):  # noqa: A002
    """Max pooling to a fixed output size; ``output_size=1`` is global max pooling."""
    return _adaptive_max(2, input, output_size, return_indices)


@op(functional=True, methods=(), export=False)
def adaptive_max_pool3d(input, output_size, return_indices=False):  # noqa: A002
    return _adaptive_max(3, input, output_size, return_indices)
