"""Tensor constructors with PyTorch's dtype defaults (floats are float32 unless asked)."""
from __future__ import annotations

import numpy as np

from .. import random as _random
from ..tensor import Tensor, _as_dtype, _wrap
from ._registry import op
from ._util import shape_args


def _finish(arr, requires_grad):
    t = _wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _default_dtype(arr, dtype, from_python):
    if dtype is not None:
        return arr.astype(_as_dtype(dtype), copy=False)
    if from_python and arr.dtype == np.float64:
        return arr.astype(np.float32)
    if arr.dtype.kind == "i" and arr.dtype != np.int64 and from_python:
        return arr.astype(np.int64)
    return arr


@op(methods=())
def tensor(data, dtype=None, requires_grad=False):
    """A new tensor holding a copy of ``data``. Python floats become float32 (PyTorch's default);
    numpy arrays keep their dtype; integers stay integers."""
    if isinstance(data, Tensor):
        arr = data._data.copy()
        from_python = False
    else:
        from_python = not isinstance(data, (np.ndarray, np.generic))
        if not from_python:
            arr = np.array(data, copy=True)
        else:
            try:
                arr = np.array(data)
            except ValueError as e:
                raise ValueError(f"tensor: could not build a tensor from the given data ({e})") from None
            if arr.dtype == object:
                raise TypeError(f"tensor: could not infer a numeric dtype from the given data "
                                f"(ragged nesting or non-numbers?)")
    return _finish(_default_dtype(arr, dtype, from_python), requires_grad)


@op(methods=())
def as_tensor(data, dtype=None):
    if isinstance(data, Tensor) and (dtype is None or _as_dtype(dtype) == data.dtype):
        return data
    return tensor(data, dtype=dtype)


@op(methods=())
def from_numpy(arr):
    return _wrap(arr)


def _fdt(dtype):
    return _as_dtype(dtype) if dtype is not None else np.dtype(np.float32)


@op(methods=())
def zeros(*shape, dtype=None, requires_grad=False):
    return _finish(np.zeros(shape_args(shape), dtype=_fdt(dtype)), requires_grad)


@op(methods=())
def ones(*shape, dtype=None, requires_grad=False):
    return _finish(np.ones(shape_args(shape), dtype=_fdt(dtype)), requires_grad)


@op(methods=())
def empty(*shape, dtype=None, requires_grad=False):
    return _finish(np.empty(shape_args(shape), dtype=_fdt(dtype)), requires_grad)


@op(methods=())
def full(shape, fill_value, dtype=None, requires_grad=False):
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if dtype is None:
        dtype = np.bool_ if isinstance(fill_value, bool) else (
            np.int64 if isinstance(fill_value, int) else np.float32)
    return _finish(np.full(shape, fill_value, dtype=_as_dtype(dtype)), requires_grad)


@op(methods=())
def zeros_like(t, dtype=None, requires_grad=False):
    return _finish(np.zeros(t.shape, dtype=_as_dtype(dtype) or t.dtype), requires_grad)


@op(methods=())
def ones_like(t, dtype=None, requires_grad=False):
    return _finish(np.ones(t.shape, dtype=_as_dtype(dtype) or t.dtype), requires_grad)


@op(methods=())
def randn(*shape, dtype=None, requires_grad=False):
    dt = _fdt(dtype)
    arr = _random.generator().standard_normal(shape_args(shape), dtype=dt if dt in (np.float32, np.float64) else np.float64)
    return _finish(arr.astype(dt, copy=False), requires_grad)


@op(methods=())
def rand(*shape, dtype=None, requires_grad=False):
    dt = _fdt(dtype)
    arr = _random.generator().random(shape_args(shape), dtype=dt if dt in (np.float32, np.float64) else np.float64)
    return _finish(arr.astype(dt, copy=False), requires_grad)


@op(methods=())
def randn_like(t, dtype=None):
    return randn(*t.shape, dtype=dtype or t.dtype)


@op(methods=())
def rand_like(t, dtype=None):
    return rand(*t.shape, dtype=dtype or t.dtype)


@op(methods=())
def randint(low, high=None, size=(), dtype=None):
    if high is None:
        low, high = 0, low
    return _wrap(_random.generator().integers(low, high, size=tuple(size),
                                              dtype=_as_dtype(dtype) or np.int64))


@op(methods=())
def arange(start, end=None, step=1, dtype=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    arr = np.arange(start, end, step)
    if dtype is None and arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    elif dtype is not None:
        arr = arr.astype(_as_dtype(dtype))
    return _finish(arr, requires_grad)


@op(methods=())
def linspace(start, end, steps, dtype=None, requires_grad=False):
    return _finish(np.linspace(start, end, steps, dtype=_fdt(dtype)), requires_grad)


@op(methods=())
def eye(n, m=None, dtype=None, requires_grad=False):
    return _finish(np.eye(n, m, dtype=_fdt(dtype)), requires_grad)


@op(methods=())
def full_like(a, fill_value, dtype=None, requires_grad=False):
    return _finish(np.full_like(a._data, fill_value, dtype=_as_dtype(dtype)), requires_grad)
