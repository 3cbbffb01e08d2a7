"""PyTorch's in-place twins of out-of-place methods (``x.sqrt_()``, ``x.clamp_min_(0)``,
``x.masked_fill_(m, v)``, ``x.index_add_(0, i, s)``, ...), declared from one list.

Each computes its out-of-place method and writes the result into the tensor through
``inplace._inplace``, exactly as ``add_`` does: the version counter is bumped, views see the
write, the result is cast to the tensor's dtype, and while grad mode records the op joins the
graph (a leaf that requires grad is refused). Methods whose in-place form changes the shape
(``squeeze_``, ``t_``, ...) are not among them. Twins already declared elsewhere
(``add_``, ``clamp_``, ...) keep their own definitions. A twin whose result does not depend
differentiably on the tensor (a comparison: ``y.lt_(o)``) is recorded with a zero gradient, as
PyTorch's.
"""
from __future__ import annotations

from .._state import STATE
from ..tensor import Tensor
from ._registry import METHODS, named, tensor_method
from .inplace import _inplace, constant_like

NAMES = (
    "abs absolute acos acosh addbmm addcdiv addcmul addmm addmv addr arccos arccosh arcsin arcsinh arctan2 "
    "arctan arctanh asin asinh atan2 atan atanh baddbmm bitwise_and bitwise_left_shift "
    "bitwise_not bitwise_or bitwise_right_shift bitwise_xor ceil clamp_max clamp_min copysign "
    "cos cosh cumprod cumsum deg2rad divide eq erf erfc erfinv exp2 exp expm1 fix float_power "
    "floor floor_divide fmod frac ge greater greater_equal gt heaviside hypot index_add "
    "index_copy index_fill index_put le lerp less less_equal log10 log1p log2 log logical_and "
    "logical_not logical_or logical_xor logit lt masked_fill masked_scatter multiply "
    "nan_to_num ne neg negative not_equal rad2deg reciprocal relu remainder round rsqrt scatter "
    "scatter_add scatter_reduce sigmoid sign sin sinc sinh sqrt square subtract tan tanh tril "
    "triu true_divide trunc xlogy"
).split()


def _grad_operand(args, kwargs):
    """The first tensor argument that requires grad (it decides, with self, whether the
    write is recorded)."""
    for a in (*args, *kwargs.values()):
        if isinstance(a, Tensor) and a.requires_grad:
            return a
        if isinstance(a, (tuple, list)):
            for b in a:
                if isinstance(b, Tensor) and b.requires_grad:
                    return b
    return None


def _twin(name):
    def compute(a, args, kwargs):
        res = getattr(a, name)(*args, **kwargs)
        if a.requires_grad and STATE.enabled and not res.requires_grad:
            res = constant_like(a, res._data.astype(a._data.dtype))  # zero gradient
        return res

    def method(self, *args, **kwargs):
        return _inplace(self, name + "_", lambda a, _other: compute(a, args, kwargs),
                        _grad_operand(args, kwargs))
    return named(method, name + "_", f"In-place ``{name}``: ``x.{name}_(...)`` writes "
                 f"``x.{name}(...)`` into ``x`` and returns it (PyTorch's ``Tensor.{name}_``).")


for _name in NAMES:
    if _name + "_" not in METHODS and _name in METHODS:
        tensor_method(_name + "_")(_twin(_name))
