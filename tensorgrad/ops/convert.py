"""dtype conversions and copies: ``astype``/``to``, ``double()``/``float()``/..., ``clone``."""
from __future__ import annotations

import numpy as np

from ..autograd.node import record
from ..tensor import Tensor, _as_dtype, _wrap

_DTYPE_NAMES = ("float", "double", "long", "int", "bool", "half", "float32", "float64",
                "float16", "int64", "int32", "int16", "int8", "uint8")
from ..device import check_device, device as _device
from ._registry import op, tensor_method
from ._xp import array_module


def _cast_back_vjp(ctx, g, dtype):
    return (array_module(g).astype(g, dtype),)


@op(methods=("astype", "type"))
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
                   (np.uint8, "byte"), (np.bool_, "bool")):
    _caster(_dt, _name)
del _dt, _name


@tensor_method("cpu", "contiguous")
def _self(a, *args, **kwargs):
    return a


def _clone_vjp(ctx, g):
    return (g,)


@op
def clone(a):
    return record("clone", a._data.copy(), (a,), _clone_vjp)


@tensor_method("type_as")
def type_as(a, other):
    """``x.type_as(y)`` is ``x.to(y.dtype)``."""
    if not isinstance(other, Tensor):
        raise TypeError(f"type_as: other must be a tg.Tensor, got {type(other).__name__}")
    return astype(a, other._data.dtype)
