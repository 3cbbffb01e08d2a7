"""Views under in-place ops while grad mode records, as PyTorch does it.

A view (``x[1:]``, ``x.view(...)``, ``x.T``, ``x.diagonal()``, ...) shares its base's memory
and version counter (``record(..., view_of=...)``). An in-place op on a view while
recording:

1. computes the new values of the view out of place (a recorded op ``r = f(view, other)``)
   and writes them into the shared memory, so the base and every other view see them;
2. gives the base a new grad_fn, ``copy_slices`` (PyTorch's ``CopySlices``): the base is its
   old value with the view's elements replaced by ``r``. Its VJP sends the incoming gradient
   to the old base with the view's elements zeroed, and the view's elements to ``r``;
3. re-derives the view, and every other live view of the base that overlaps the written
   memory, from the new base (``as_strided``, PyTorch's ``AsStridedBackward0``), so
   gradients through them see the change.

An in-place op on a base re-derives its overlapping views the same way. Where a view's
elements lie in its base is computed from the two arrays' addresses and strides
(``positions``): flat (C-order) indices into the base, one per element of the view.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.node import record
from ..tensor import _address, _wrap
from ._xp import array_module


def positions(base, view):
    """Flat C-order indices into ``base`` of every element of ``view`` (an array lying in
    ``base``'s memory), shaped as ``view``; None when that cannot be worked out (the view is
    not inside the base, or reinterprets its bytes)."""
    isz = base.itemsize
    if view.itemsize != isz or base.size == 0:
        return None
    off = _address(view) - _address(base)
    offs = np.full((), off, dtype=np.int64)
    for n, st in zip(view.shape, view.strides):
        offs = offs[..., None] + np.arange(n, dtype=np.int64) * st
    axes = sorted((k for k in range(base.ndim) if base.shape[k] > 1), key=lambda k: base.strides[k])
    expect, dense = isz, True
    for k in axes:
        if base.strides[k] != expect:
            dense = False
            break
        expect *= base.shape[k]
    if dense:
        if offs.size and (offs.min() < 0 or offs.max() >= base.size * isz or
                          np.any(offs % isz)):
            return None
        el = offs // isz
        cstr = np.cumprod((1,) + base.shape[:0:-1])[::-1]  # C-order strides in elements
        pos = np.zeros(view.shape, dtype=np.int64)
        for k in axes:
            pos += ((el // (base.strides[k] // isz)) % base.shape[k]) * int(cstr[k])
        return pos
    # any other layout: match byte offsets of the base's elements (O(base.size))
    boff = np.zeros((), dtype=np.int64)
    for n, st in zip(base.shape, base.strides):
        boff = boff[..., None] + np.arange(n, dtype=np.int64) * st
    boff = boff.reshape(-1)
    order = np.argsort(boff, kind="stable")
    hit = np.searchsorted(boff[order], offs.reshape(-1))
    hit = np.clip(hit, 0, boff.size - 1)
    if not np.array_equal(boff[order][hit], offs.reshape(-1)):
        return None
    return order[hit].reshape(view.shape)


def _copy_slices_vjp(ctx, g, shape, pos):
    xp = array_module(g)
    n = ctx.needs
    flat = xp.reshape(g, (-1,))
    return (xp.reshape(xp.index_put(flat, pos, 0.0), shape) if n[0] else None,
            xp.getitem(flat, pos) if n[1] else None)


def _as_strided_vjp(ctx, g, shape, pos):
    xp = array_module(g)
    return (xp.reshape(xp.getitem_adjoint(g, (math.prod(shape),), pos), shape),)


def _stand_in(t):
    """A Tensor at ``t``'s place in the graph (its grad_fn/requires_grad), for an op input."""
    s = _wrap(t._data)
    s.grad_fn = t.grad_fn
    s._oi = t._oi
    s.requires_grad = t.requires_grad
    return s


def _adopt(t, node_out):
    """Give ``t`` the graph place of ``node_out`` (a fresh record() output)."""
    t.grad_fn = node_out.grad_fn
    t._oi = node_out._oi
    t.requires_grad = node_out.requires_grad


def rederive(view, base, pos=None):
    """Make ``view``'s grad_fn read its elements out of ``base``'s current graph."""
    if pos is None:
        pos = positions(base._data, view._data)
        if pos is None:
            return
    _adopt(view, record("as_strided", view._data, (base,), _as_strided_vjp,
                        saved=(base._data.shape, pos)))


def write_into_base(view, base, result, pos):
    """The base's new grad_fn after ``view``'s elements were replaced by ``result``."""
    _adopt(base, record("copy_slices", base._data, (_stand_in(base), result),
                        _copy_slices_vjp, saved=(base._data.shape, pos)))


def live_views(base):
    """The views of ``base`` still referenced somewhere."""
    out = []
    for r in base._vc[1:]:
        v = r()
        if v is not None and getattr(v, "_view", None) is base:
            out.append(v)
    return out


def rederive_overlapping(base, written, skip=None):
    """Re-derive every live view of ``base`` whose memory overlaps ``written`` (an array)."""
    if len(base._vc) == 1:
        return
    for v in live_views(base):
        if v is not skip and np.may_share_memory(v._data, written):
            rederive(v, base)
