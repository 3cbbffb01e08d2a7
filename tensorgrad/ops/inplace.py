"""In-place methods (``add_``, ``mul_``, ``copy_``, ``x[i] = v``, ``x += y``, ...).

Each bumps the tensor's version counter (shared with its views), so backward can tell when a
value it saved was overwritten. While grad mode records and the tensor is part of a graph, the
op is recorded out of place and the tensor is rebound to the result, so arrays the graph saved
are never overwritten.
"""
from __future__ import annotations

import numpy as np

from .._state import STATE
from ..tensor import Tensor, _wrap
from ._registry import tensor_method
from .convert import astype
from .creation import full_like
from .elementwise import add, clamp, div, mul, pow, sub
from .index import index_put, normalize_index
from .movement import expand


def _inplace(self, name, fn, other=None):
    """Apply ``fn(self_value, other) -> Tensor`` in place, recording it when needed."""
    tracking = STATE.enabled and (self.requires_grad or
                                  (isinstance(other, Tensor) and other.requires_grad))
    if tracking:
        if self.grad_fn is None and self.requires_grad:
            raise RuntimeError(f"{name}: a leaf Variable that requires grad is being used "
                               f"in an in-place operation (wrap it in tg.no_grad())")
        old = _wrap(self._data)
        old.requires_grad = self.requires_grad
        old.grad_fn = self.grad_fn
        old._oi = self._oi
        res = fn(old, other)
        if res._data.shape != self._data.shape:
            raise RuntimeError(f"{name}: output with shape {self._data.shape} doesn't match "
                               f"the broadcast shape {res._data.shape}")
        self._data = res._data.astype(self._data.dtype, copy=False)
        self._vc = [self._vc[0]]  # new storage: views of the old one keep their counter
        self.grad_fn = res.grad_fn
        self._oi = res._oi
        self.requires_grad = res.requires_grad
    else:
        prev = STATE.enabled
        STATE.enabled = False
        try:
            res = fn(self, other)
        finally:
            STATE.enabled = prev
        if res._data.shape != self._data.shape:
            raise RuntimeError(f"{name}: output with shape {self._data.shape} doesn't match "
                               f"the broadcast shape {res._data.shape}")
        np.copyto(self._data, res._data, casting="unsafe")
    self._vc[0] += 1
    return self


@tensor_method("add_", "__iadd__")
def add_(self, other, alpha=1):
    return _inplace(self, "add_", lambda a, b: add(a, b * alpha if alpha != 1 else b), other)


@tensor_method("sub_", "__isub__")
def sub_(self, other, alpha=1):
    return _inplace(self, "sub_", lambda a, b: sub(a, b * alpha if alpha != 1 else b), other)


@tensor_method("mul_", "__imul__")
def mul_(self, other):
    return _inplace(self, "mul_", mul, other)


@tensor_method("div_", "__itruediv__")
def div_(self, other):
    return _inplace(self, "div_", div, other)


@tensor_method("pow_", "__ipow__")
def pow_(self, other):
    return _inplace(self, "pow_", pow, other)


@tensor_method("clamp_", "clip_")
def clamp_(self, min=None, max=None):  # noqa: A002 (torch's names)
    return _inplace(self, "clamp_", lambda a, _: clamp(a, min, max))


@tensor_method("fill_")
def fill_(self, value):
    value = value.item() if isinstance(value, Tensor) else value
    return _inplace(self, "fill_", lambda a, _: full_like(a, value))


@tensor_method("zero_")
def zero_(self):
    return fill_(self, 0)


@tensor_method("copy_")
def copy_(self, src):
    src_t = src if isinstance(src, Tensor) else Tensor(np.asarray(src))
    return _inplace(self, "copy_",
                    lambda a, b: expand(astype(b, a._data.dtype), a._data.shape), src_t)


@tensor_method("__setitem__")
def setitem(self, index, value):
    index = normalize_index(index)
    if not isinstance(value, Tensor):
        value = Tensor(np.asarray(value, dtype=self._data.dtype))
    _inplace(self, "__setitem__", lambda a, v: index_put(a, index, v), value)
