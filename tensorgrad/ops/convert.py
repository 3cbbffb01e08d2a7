"""dtype conversions and copies: ``astype``/``to``, ``double()``/``float()``/..., ``clone``."""
from __future__ import annotations

import numpy as np

from ..autograd.node import record
from ..tensor import Tensor, _as_dtype, _wrap

_DTYPE_NAMES = ("float", "double", "long", "int", "bool", "half", "float32", "float64",
                "float16", "int64", "int32", "int16", "int8", "uint8", "short", "char", "byte")
from ..device import check_device, device as _device
from ._registry import op, tensor_method
from ._xp import array_module


def _cast_back_vjp(ctx, g, dtype):
    return (array_module(g).astype(g, dtype),)


@op(methods=("astype",))
def astype(a, dtype):
    """Cast to ``dtype``; float-to-float casts are differentiable, others cut the graph."""
    dt = _as_dtype(dtype)
    if dt == a._data.dtype:
        return a
    out = a._data.astype(dt)
    if dt.kind in "fc" and a._data.dtype.kind in "fc":
        return record("astype", out, (a,), _cast_back_vjp, saved=(a._data.dtype,))
    return _wrap(out)


@tensor_method("to")
def to(a, *args, dtype=None, device=None, non_blocking=False, copy=False, **kwargs):
    """``x.to(dtype)``, ``x.to('cpu')``, ``x.to(device, dtype)``, ``x.to(other)`` (its dtype);
    any device other than the CPU raises (tensorgrad runs on the CPU)."""
    check_device(device, "Tensor.to")
    for v in args:
        if isinstance(v, Tensor):
            dtype = v._data.dtype
        elif isinstance(v, (_device, int)) and not isinstance(v, bool) or \
                isinstance(v, str) and v not in _DTYPE_NAMES:
            check_device(v, "Tensor.to")
        elif v is not None:
            dtype = v
    out = a if dtype is None else astype(a, dtype)
    return clone(out) if copy and out is a else out


def view_dtype(a, dtype):
    """``x.view(dtype)``: the same bytes read as ``dtype`` (the last dimension scales by the
    ratio of item sizes); shares memory and the version counter, outside autograd."""
    dt = _as_dtype(dtype)
    if dt == a._data.dtype:
        return a
    d = a._data
    if dt.itemsize != d.itemsize and (d.ndim == 0 or d.strides[-1] != d.itemsize):
        raise RuntimeError(f"view: to view a tensor of {d.dtype} as {dt} (a different item "
                           f"size) its last dimension must be contiguous; use .contiguous()")
    try:
        out = d.view(dt)
    except ValueError as e:
        raise RuntimeError(f"view: cannot view a tensor of shape {d.shape} and dtype "
                           f"{d.dtype} as {dt}: {e}") from None
    return _wrap(out, a._vc)


@tensor_method("cuda", "mps")
def _cuda(a, *args, **kwargs):
    check_device("cuda", "Tensor.cuda")


def _caster(dtype, name):
    def cast(a):
        return astype(a, dtype)
    cast.__name__ = name
    cast.__doc__ = f"``x.{name}()`` is ``x.to({np.dtype(dtype).name})``."
    return tensor_method(name)(cast)


for _dt, _name in ((np.float64, "double"), (np.float32, "float"), (np.float16, "half"),
                   (np.int64, "long"), (np.int32, "int"), (np.int16, "short"),
                   (np.uint8, "byte"), (np.int8, "char"), (np.bool_, "bool")):
    _caster(_dt, _name)
del _dt, _name


@tensor_method("cpu")
def _self(a, *args, **kwargs):
    return a


@tensor_method("contiguous")
def contiguous(a, memory_format=None):
    """``a`` itself when its memory is C-contiguous, else a contiguous copy (as PyTorch)."""
    return a if a._data.flags.c_contiguous else clone(a)


def _clone_vjp(ctx, g):
    return (g,)


@op
def clone(a, memory_format=None):
    return record("clone", np.array(a._data, copy=True, order="C"), (a,), _clone_vjp)


@op(methods=())
def is_tensor(obj):
    """Is ``obj`` a tensorgrad Tensor?"""
    return isinstance(obj, Tensor)


@op(name="numel", methods=())
def numel_of(input):  # noqa: A002
    """``tg.numel(x)``: the number of elements of ``x``."""
    if not isinstance(input, Tensor):
        raise TypeError(f"numel: input must be a tg.Tensor, got {type(input).__name__}")
    return int(input._data.size)


@op(methods=())
def is_floating_point(input):  # noqa: A002 (torch's name)
    return input._data.dtype.kind == "f"


@op(methods=())
def is_complex(input):  # noqa: A002 (torch's name)
    return input._data.dtype.kind == "c"


@tensor_method("type_as")
def type_as(a, other):
    """``x.type_as(y)`` is ``x.to(y.dtype)``."""
    if not isinstance(other, Tensor):
        raise TypeError(f"type_as: other must be a tg.Tensor, got {type(other).__name__}")
    return astype(a, other._data.dtype)
