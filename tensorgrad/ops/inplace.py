"""In-place methods (``add_``, ``mul_``, ``copy_``, ``x[i] = v``, ``x += y``, ...), as PyTorch's.

Each writes into the tensor's memory (so its views and its base see the change) and bumps the
version counter it shares with them, so backward can tell when a value it saved was
overwritten. The result must be castable to the tensor's dtype under PyTorch's rules
(``int_tensor.add_(0.5)`` raises). While grad mode records and the op involves a tensor that
requires grad, the op is also recorded: the tensor's grad_fn becomes the op's node (for a
view, its base gets a ``copy_slices`` node instead and the view is re-derived from it, see
``views.py``). An in-place op on a leaf that requires grad, or on a view of one, raises.
"""
from __future__ import annotations

import sys

import numpy as np

from .._state import STATE
from ..autograd.node import record
from ..dtypes import can_cast, scalar_name
from ..tensor import InferenceVersion, Tensor, _wrap
from ._registry import tensor_method
from ._xp import array_module, is_advanced
from .convert import astype
from .elementwise import add, clamp, div, mul, pow, sub
from .index import index_put, normalize_index, torch_layout
from .movement import expand
from .views import positions, rederive, rederive_overlapping, write_into_base

_getrefcount = sys.getrefcount


def _check(self, name, res, cast):
    if res._data.shape != self._data.shape:
        raise RuntimeError(f"{name}: output with shape {self._data.shape} doesn't match "
                           f"the broadcast shape {res._data.shape}")
    if cast and not can_cast(res._data.dtype, self._data.dtype):
        raise RuntimeError(f"{name}: result type {scalar_name(res._data.dtype)} can't be cast "
                           f"to the desired output type {scalar_name(self._data.dtype)}")


def _write(self, name, arr):
    try:
        np.copyto(self._data, arr, casting="unsafe")
    except ValueError as e:
        if not self._data.flags.writeable:
            raise RuntimeError(
                f"{name}: unsupported operation: more than one element of the written-to "
                f"tensor refers to a single memory location (an expand()ed tensor, or a "
                f"read-only array). Please clone() the tensor before performing the "
                f"operation.") from None
        raise RuntimeError(f"{name}: {e}") from None


def _direct(self, ufunc, other):
    """Untracked ``self op= other`` straight into self's array when nothing needs converting
    (``other`` a Tensor of self's dtype whose shape broadcasts to self's, self writeable):
    one pass, where the general path computes the result apart and copies it in (an optimizer's
    ``p -= lr * p.grad`` on a 256 x 784 weight: 70 -> ~45 us). False: take the general path."""
    if not isinstance(other, Tensor):
        return False
    d, o = self._data, other._data
    if o.dtype is not d.dtype or d.dtype.kind == "b" or not d.flags.writeable or o.ndim > d.ndim:
        return False
    if o.shape != d.shape and any(m != 1 and m != n for m, n in zip(o.shape[::-1],
                                                                    d.shape[::-1])):
        return False  # does not broadcast to self's shape: the general path names the op
    ufunc(d, o, out=d)
    self._vc[0] += 1
    return True


def _inplace(self, name, fn, other=None, cast=True, region=None, ufunc=None):
    """Apply ``fn(self_value, other) -> Tensor`` in place, recording it when needed.
    ``cast``: check PyTorch's can-cast rule (copy_/fill_/setitem may narrow any dtype);
    ``region``: the part of memory written (default: all of ``self``); ``ufunc``: the numpy
    ufunc of ``fn`` for the direct untracked path (``_direct``)."""
    if type(self._vc) is InferenceVersion and STATE.enabled is not None:
        raise RuntimeError(f"{name}: Inplace update to inference tensor outside InferenceMode "
                           f"is not allowed. You can make a clone to get a normal tensor "
                           f"before doing inplace update.")
    tracking = STATE.enabled and (self.requires_grad or
                                  (isinstance(other, Tensor) and other.requires_grad))
    if not tracking:
        if ufunc is not None and _direct(self, ufunc, other):
            return self
        prev = STATE.enabled
        STATE.enabled = False
        try:
            res = fn(self, other)
        finally:
            STATE.enabled = prev
        _check(self, name, res, cast)
        _write(self, name, res._data)
        self._vc[0] += 1
        return self
    base = getattr(self, "_view", None)
    if self.grad_fn is None and self.requires_grad:
        raise RuntimeError(f"{name}: a leaf Variable that requires grad is being used in an "
                           f"in-place operation (wrap it in tg.no_grad(), or work on a "
                           f"clone())")
    if base is not None and base.grad_fn is None and base.requires_grad:
        raise RuntimeError(f"{name}: a view of a leaf Variable that requires grad is being "
                           f"used in an in-place operation (wrap it in tg.no_grad())")
    pos = None
    if base is not None:
        pos = positions(base._data, self._data)
        if pos is None:  # no longer inside its base's memory (e.g. base.data was replaced)
            base = None
    # the old value, at self's place in the graph; its array is copied below only if an op
    # kept a reference to it for backward (its memory is about to be overwritten)
    old = _wrap(self._data)
    old.grad_fn, old._oi, old.requires_grad = self.grad_fn, self._oi, self.requires_grad
    refs = _getrefcount(old)
    res = fn(old, other)
    _check(self, name, res, cast)
    if len(old._vc) > 1:  # fn made views of the old value: recompute from a private copy
        old = _wrap(self._data.copy())
        old.grad_fn, old._oi, old.requires_grad = self.grad_fn, self._oi, self.requires_grad
        res = fn(old, other)
    elif _getrefcount(old) > refs:  # saved for backward
        old._data = old._data.copy()
    if res.requires_grad and res._data.dtype != self._data.dtype:
        res = astype(res, self._data.dtype)  # the node then carries self's dtype
    _write(self, name, res._data)
    self._vc[0] += 1
    if base is None:
        self.grad_fn, self._oi, self.requires_grad = res.grad_fn, res._oi, res.requires_grad
        rederive_overlapping(self, self._data if region is None else region)
    else:
        write_into_base(self, base, res, pos)
        rederive(self, base, pos)
        rederive_overlapping(base, self._data if region is None else region, skip=self)
    return self


def _scaled(b, alpha):
    return b if alpha == 1 else b * alpha


@tensor_method("add_", "__iadd__")
def add_(self, other, alpha=1):
    return _inplace(self, "add_", lambda a, b: add(a, _scaled(b, alpha)), other,
                    ufunc=np.add if alpha == 1 else None)


@tensor_method("sub_", "__isub__")
def sub_(self, other, alpha=1):
    return _inplace(self, "sub_", lambda a, b: sub(a, _scaled(b, alpha)), other,
                    ufunc=np.subtract if alpha == 1 else None)


@tensor_method("mul_", "__imul__")
def mul_(self, other):
    return _inplace(self, "mul_", mul, other, ufunc=np.multiply)


@tensor_method("div_", "__itruediv__")
def div_(self, other):
    return _inplace(self, "div_", div, other)


@tensor_method("pow_", "__ipow__")
def pow_(self, other):
    return _inplace(self, "pow_", pow, other)


@tensor_method("clamp_", "clip_")
def clamp_(self, min=None, max=None):  # noqa: A002 (torch's names)
    return _inplace(self, "clamp_", lambda a, _: clamp(a, min, max))


def _zero_vjp(ctx, g):
    return (array_module(g).zeros_like(g),)


def constant_like(a, arr):
    """``arr`` (a fresh array shaped as ``a``) as the op's result: values that do not depend
    on ``a`` (fill_, random fills), recorded with a zero gradient when ``a`` requires grad,
    as PyTorch's FillBackward0."""
    return record("fill", arr, (a,), _zero_vjp)


@tensor_method("fill_")
def fill_(self, value):
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"fill_: only supports 0-dimension value tensor but got tensor "
                               f"with {value.ndim} dimensions.")
        value = value.item()
    return _inplace(self, "fill_", lambda a, _: constant_like(
        a, np.full(a._data.shape, value, dtype=a._data.dtype)), cast=False)


@tensor_method("zero_")
def zero_(self):
    return fill_(self, 0)


@tensor_method("copy_")
def copy_(self, src, non_blocking=False):
    src_t = src if isinstance(src, Tensor) else _wrap(np.asarray(src))
    return _inplace(self, "copy_",
                    lambda a, b: expand(astype(b, a._data.dtype), a._data.shape), src_t,
                    cast=False)


@tensor_method("__setitem__")
def setitem(self, index, value):
    index = normalize_index(index)
    if not isinstance(value, Tensor):
        value = _wrap(np.asarray(value, dtype=self._data.dtype))
    adv = is_advanced(index)
    if not (STATE.enabled and (self.requires_grad or value.requires_grad)) and \
            type(self._vc) is not InferenceVersion and \
            not (adv and torch_layout(index, self._data.ndim) is not None):
        try:  # nothing to record, numpy's layout is PyTorch's: write the elements directly
            self._data[index] = value._data
        except (ValueError, IndexError) as e:
            if not self._data.flags.writeable:
                _write(self, "__setitem__", self._data)  # raises PyTorch's message
            raise type(e)(f"__setitem__: cannot assign a value of shape "
                          f"{value._data.shape} to index {index!r} of a tensor of shape "
                          f"{self._data.shape}: {e}") from None
        self._vc[0] += 1
        return
    region = None if adv else self._data[index]
    _inplace(self, "__setitem__", lambda a, v: index_put(a, index, v), value, cast=False,
             region=region if isinstance(region, np.ndarray) else None)
