"""The in-place twin ``x.f_(...)`` of every out-of-place Tensor method ``x.f(...)`` whose
result has ``x``'s shape (``relu_``, ``exp_``, ``masked_fill_``, ``scatter_``, ``lerp_``, ...),
as PyTorch's: the result is computed by ``x.f(...)`` and written into ``x``'s memory with the
rules of ``ops/inplace.py`` (the result type must be castable to ``x``'s dtype, the version
counter is bumped, views and bases see the change, the op is recorded while grad mode is on).

The in-place ops that change a tensor's shape (``t_``, ``transpose_``, ``squeeze_``,
``unsqueeze_``, ``swapdims_``) are not provided: tensorgrad never changes a tensor's shape in
place.
"""
from __future__ import annotations

from .._state import STATE
from ..tensor import Tensor
from ._registry import METHODS, tensor_method
from .inplace import _inplace, constant_like

# out-of-place method -> its in-place name(s) (PyTorch's spelling)
_TWINS = (
    "abs absolute acos arccos acosh arccosh asin arcsin asinh arcsinh atan arctan atanh arctanh "
    "atan2 arctan2 ceil copysign cos cosh cumprod cumsum deg2rad digamma erf erfc erfinv exp "
    "exp2 expm1 fix float_power floor floor_divide fmod frac hypot i0 lerp lgamma log log10 "
    "log1p log2 logit mvlgamma nan_to_num neg negative rad2deg reciprocal relu remainder round "
    "rsqrt sgn sigmoid sign sin sinc sinh sqrt square tan tanh tril triu true_divide divide "
    "multiply subtract trunc xlogy heaviside "
    "eq ne lt le gt ge greater greater_equal less less_equal not_equal "
    "logical_and logical_or logical_xor logical_not bitwise_and bitwise_or bitwise_xor "
    "bitwise_not bitwise_left_shift bitwise_right_shift "
    "masked_fill masked_scatter index_add index_copy index_fill index_put scatter scatter_add "
    "scatter_reduce addmm addmv addr addbmm baddbmm addcmul addcdiv clamp_min clamp_max"
).split()


def _tracked_other(args, kwargs):
    """The tensor argument that decides whether the op is recorded: the first one that
    requires grad, else the first one (``_inplace`` reads only its ``requires_grad``)."""
    first = None
    for v in (*args, *kwargs.values()):
        if isinstance(v, Tensor):
            if v.requires_grad:
                return v
            if first is None:
                first = v
    return first


def _declare(base):
    name = base + "_"

    def compute(a, _other, args, kwargs):
        res = getattr(a, base)(*args, **kwargs)
        if a.requires_grad and STATE.enabled and not res.requires_grad:
            # a result that does not depend differentiably on ``a`` (a comparison, eq_):
            # recorded with a zero gradient, as PyTorch
            res = constant_like(a, res._data.astype(a._data.dtype))
        return res

    def twin(self, *args, **kwargs):
        return _inplace(self, name, lambda a, o: compute(a, o, args, kwargs),
                        _tracked_other(args, kwargs))
    twin.__name__ = twin.__qualname__ = name
    twin.__doc__ = f"``x.{name}(...)``: ``x.{base}(...)`` written into ``x`` (in place)."
    tensor_method(name)(twin)


# imported after every other op module (ops/__init__.py), so METHODS holds them all; a twin
# is declared only where its out-of-place method exists and it has no own in-place version
for _base in _TWINS:
    if _base in METHODS and _base + "_" not in METHODS:
        _declare(_base)
