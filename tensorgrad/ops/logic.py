"""Comparisons, logical and bitwise ops, and predicates (isnan, isinf, isclose, ...).

None of these is differentiable: each returns a tensor outside the graph. As in PyTorch,
``& | ^ ~`` are logical on bool tensors and bitwise on integer tensors; ``<< >>`` shift
integers; a float operand is refused.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor, _wrap
from ._registry import named, op
from ._util import not_tensor

_T = Tensor


def _apply(name, fn, ad, bd):
    try:
        return _wrap(np.asarray(fn(ad, bd)))
    except ValueError:
        raise RuntimeError(f"{name}: shapes {np.shape(ad)} and {np.shape(bd)} do not "
                           f"broadcast") from None


def _compare(fn, name, dunder, rdunder=None, aliases=()):
    def cmp(a, b):
        return _apply(name, fn, a._data if isinstance(a, _T) else a,
                      b._data if isinstance(b, _T) else b)
    return op(named(cmp, name, f"Elementwise {name}; the result is a bool tensor without "
                                f"gradient."),
              methods=(name, dunder), rmethods=(rdunder,) if rdunder else (), aliases=aliases)


lt = _compare(np.less, "lt", "__lt__", aliases=("less",))
le = _compare(np.less_equal, "le", "__le__", aliases=("less_equal",))
gt = _compare(np.greater, "gt", "__gt__", aliases=("greater",))
ge = _compare(np.greater_equal, "ge", "__ge__", aliases=("greater_equal",))
eq = _compare(np.equal, "eq", "__eq__")
ne = _compare(np.not_equal, "ne", "__ne__", aliases=("not_equal",))
logical_and = _compare(np.logical_and, "logical_and", "logical_and")
logical_or = _compare(np.logical_or, "logical_or", "logical_or")
logical_xor = _compare(np.logical_xor, "logical_xor", "logical_xor")


@op
def logical_not(a):
    try:
        return _wrap(np.logical_not(a._data))
    except AttributeError:
        raise not_tensor("logical_not", a) from None


# ---- bitwise (integers and bools) ------------------------------------------------------------
def _int_array(name, x):
    d = x._data if isinstance(x, _T) else np.asarray(x)
    if d.dtype.kind not in "biu":
        raise TypeError(f"{name}: only integer and bool tensors are supported, got dtype "
                        f"{d.dtype}")
    return d if isinstance(x, _T) else x


def _bitwise(fn, name, dunder, rdunder, bools=True):
    def bit(a, b):
        if not isinstance(a, _T) and not isinstance(b, _T):
            raise not_tensor(name, a)
        ad, bd = _int_array(name, a), _int_array(name, b)
        if not bools and (np.asarray(ad).dtype == np.bool_ or np.asarray(bd).dtype == np.bool_):
            raise TypeError(f"{name}: shifts are not defined for bool tensors")
        return _apply(name, fn, ad, bd)
    return op(named(bit, name, f"Elementwise {name} of integer (or bool) tensors; ``{dunder}`` "
                               f"on tensors."),
              methods=(name, dunder), rmethods=(rdunder,))


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and", "__and__", "__rand__")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or", "__or__", "__ror__")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor", "__xor__", "__rxor__")
bitwise_left_shift = _bitwise(np.left_shift, "bitwise_left_shift", "__lshift__",
                              "__rlshift__", bools=False)
bitwise_right_shift = _bitwise(np.right_shift, "bitwise_right_shift", "__rshift__",
                               "__rrshift__", bools=False)


@op(methods=("bitwise_not", "__invert__"))
def bitwise_not(a):
    """``~a``: logical not on bool tensors, bitwise not on integers."""
    if not isinstance(a, _T):
        raise not_tensor("bitwise_not", a)
    return _wrap(np.invert(_int_array("bitwise_not", a)))


# ---- predicates -------------------------------------------------------------------------------
def _predicate(name, fn, doc):
    def pred(a):
        try:
            d = a._data
        except AttributeError:
            raise not_tensor(name, a) from None
        return _wrap(np.asarray(fn(d)))
    return op(named(pred, name, doc))


def _float_only(fn, default):
    def f(d):
        return fn(d) if d.dtype.kind in "fc" else np.full(d.shape, default)
    return f


isnan = _predicate("isnan", _float_only(np.isnan, False), "True where the value is NaN.")
isfinite = _predicate("isfinite", _float_only(np.isfinite, True),
                      "True where the value is neither NaN nor ±inf.")
isinf = _predicate("isinf", _float_only(np.isinf, False), "True where the value is ±inf.")
isposinf = _predicate("isposinf", _float_only(np.isposinf, False), "True where +inf.")
isneginf = _predicate("isneginf", _float_only(np.isneginf, False), "True where -inf.")
isreal = _predicate("isreal", lambda d: np.isreal(d) if d.dtype.kind == "c"
                    else np.ones(d.shape, dtype=bool), "True where the imaginary part is 0.")
signbit = _predicate("signbit", lambda d: np.signbit(d) if d.dtype.kind in "fiu"
                     else np.zeros(d.shape, dtype=bool), "True where the sign bit is set "
                     "(-0.0 included).")


@op
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    """|input - other| <= atol + rtol * |other|, elementwise (NaNs equal if ``equal_nan``)."""
    try:
        ad = input._data
    except AttributeError:
        raise not_tensor("isclose", input) from None
    bd = other._data if isinstance(other, _T) else np.asarray(other)
    if ad.dtype.kind in "biu" and bd.dtype.kind in "biu" and rtol == 0 and atol == 0:
        return _wrap(np.asarray(ad == bd))
    try:
        return _wrap(np.asarray(np.isclose(ad, bd, rtol=rtol, atol=atol, equal_nan=equal_nan)))
    except ValueError:
        raise RuntimeError(f"isclose: shapes {ad.shape} and {bd.shape} do not broadcast") \
            from None


@op
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    """True when every element is close (``isclose``); a Python bool."""
    return bool(np.all(isclose(input, other, rtol, atol, equal_nan)._data))


@op
def equal(input, other):  # noqa: A002
    """True when both tensors have the same shape and elements; a Python bool."""
    try:
        ad, bd = input._data, other._data
    except AttributeError:
        raise not_tensor("equal", input if not isinstance(input, _T) else other) from None
    return ad.shape == bd.shape and bool(np.array_equal(ad, bd))
