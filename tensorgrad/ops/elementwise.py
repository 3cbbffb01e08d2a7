"""Elementwise ops: arithmetic with broadcasting, unary math, comparisons, where/maximum/minimum.

Each op is its numpy forward plus its VJP, written once for arrays and Tensors alike (see
autograd/node.py). Broadcast gradients are summed back to input shapes by the engine, never here.
"""
from __future__ import annotations

import numpy as np

from ..autograd.node import OUT, record
from ..tensor import Tensor, _wrap
from ._registry import named, op, tensor_method
from ._util import (const, float_array, no_bool_sub, not_tensor, promote,
                    true_divide_operands)
from ._xp import array_module, sigmoid_np

_T = Tensor


def _identity_vjp(ctx, g):
    return (g,)


def _neg_vjp(ctx, g):
    return (-g,)


def _zero_vjp(ctx, g):
    return (array_module(g).zeros_like(g),)


def _scale_vjp(ctx, g, s):
    return (g * s,)


def _mask_vjp(ctx, g, mask):
    return (g * mask,)


# ---- arithmetic ------------------------------------------------------------------------------
def _bcast_fail(name, *shapes):
    return ValueError(f"{name}: shapes {' and '.join(str(tuple(x)) for x in shapes)} do not "
                      f"broadcast (align from the right; each pair of sizes must be equal or 1)")


def _binop(name, fn, a, b):
    """numpy forward of a tensor-tensor binary op; a broadcast failure names the op."""
    ad, bd = a._data, b._data
    if ad.dtype is not bd.dtype:
        if name == "sub" and "b" in (ad.dtype.kind, bd.dtype.kind):
            raise no_bool_sub()
        ad, bd = promote(a, b)  # PyTorch's type promotion
    try:
        return fn(ad, bd)
    except ValueError:
        raise _bcast_fail(name, a._data.shape, b._data.shape) from None
    except TypeError:  # numpy refuses bool - bool (the same dtype on both sides)
        if name == "sub" and ad.dtype.kind == "b":
            raise no_bool_sub() from None
        raise


def _not_tensors(name, a, b):
    """Neither operand is a Tensor: name the one that is not a plain number."""
    import numbers
    return not_tensor(name, b if isinstance(a, numbers.Number) else a)


def _same_dtype_first(name, ufunc, vjp, save, general):
    """The binary op ``general`` with its common case handled first, inline: two Tensors of one
    dtype (no promotion to work out). ``save``: the VJP gets both inputs. A Python call less
    per op is a measurable part of a tiny op's cost; anything else goes to ``general``."""
    def f(a, b):
        if isinstance(a, _T) and isinstance(b, _T):
            ad = a._data
            bd = b._data
            if ad.dtype is bd.dtype:
                try:
                    out = ufunc(ad, bd)
                except ValueError:
                    raise _bcast_fail(name, ad.shape, bd.shape) from None
                except TypeError:  # numpy refuses it (bool - bool): general names the op
                    return general(a, b)
                ab = (a, b)  # inputs and saved values: one tuple
                return record(name, out, ab, vjp, ab if save else ())
        return general(a, b)
    return named(f, general.__name__.lstrip("_"), general.__doc__)


def _add_vjp(ctx, g):
    return (g, g)


def _add(a, b):
    if isinstance(a, _T):
        if not isinstance(b, _T):
            b = const(b, a)
            if not isinstance(b, _T):
                return record("add", a._data + b, (a,), _identity_vjp)
        return record("add", _binop("add", np.add, a, b), (a, b), _add_vjp)
    if not isinstance(b, _T):
        raise _not_tensors("add", a, b)
    return add(b, a)


add = op(methods="__add__", rmethods=("__radd__",), export=False)(
    _same_dtype_first("add", np.add, _add_vjp, False, _add))


def _sub_vjp(ctx, g):
    return (g, -g if ctx.needs[1] else None)


def _sub(a, b):
    if isinstance(a, _T):
        if not isinstance(b, _T):
            b = const(b, a)
            if not isinstance(b, _T):
                if type(b) is bool or a._data.dtype.kind == "b":
                    raise no_bool_sub()
                return record("sub", a._data - b, (a,), _identity_vjp)
        return record("sub", _binop("sub", np.subtract, a, b), (a, b), _sub_vjp)
    if not isinstance(b, _T):
        raise _not_tensors("sub", a, b)
    a = const(a, b)
    if isinstance(a, _T):
        return sub(a, b)
    if type(a) is bool or b._data.dtype.kind == "b":
        raise no_bool_sub()
    return record("rsub", a - b._data, (b,), _neg_vjp)


sub = op(methods="__sub__", rmethods=("__rsub__",), export=False)(
    _same_dtype_first("sub", np.subtract, _sub_vjp, False, _sub))


def _mul_vjp(ctx, g, a, b):
    n = ctx.needs
    return (g * b if n[0] else None, g * a if n[1] else None)


def _mul(a, b):
    if isinstance(a, _T):
        if not isinstance(b, _T):
            b = const(b, a)
            if not isinstance(b, _T):
                return record("mul", a._data * b, (a,), _scale_vjp, saved=(b,))
        return record("mul", _binop("mul", np.multiply, a, b), (a, b), _mul_vjp, saved=(a, b))
    if not isinstance(b, _T):
        raise _not_tensors("mul", a, b)
    return mul(b, a)


mul = op(methods=("mul", "__mul__"), rmethods=("__rmul__",))(
    _same_dtype_first("mul", np.multiply, _mul_vjp, True, _mul))


def _div_vjp(ctx, g, a, b):
    n = ctx.needs
    return (g / b if n[0] else None, -g * a / (b * b) if n[1] else None)


def _div_scalar_vjp(ctx, g, s):
    return (g / s,)


def _rdiv_vjp(ctx, g, b, s):
    return (-g * s / (b * b),)


@op(name="true_divide", methods=("true_divide", "__truediv__"), rmethods=("__rtruediv__",))
def div(a, b):
    """``a / b`` (tg.div adds ``rounding_mode``; see ops/math.py)."""
    if not (isinstance(a, _T) and a._data.dtype.kind == "f"):
        a, b = true_divide_operands(a, b)  # integer / integer is a float, as PyTorch
    if isinstance(a, _T):
        if not isinstance(b, _T):
            b = const(b, a)
            if not isinstance(b, _T):
                return record("div", a._data / b, (a,), _div_scalar_vjp, saved=(b,))
        ab = (a, b)
        return record("div", _binop("div", np.true_divide, a, b), ab, _div_vjp, ab)
    if not isinstance(b, _T):
        raise _not_tensors("true_divide", a, b)
    a = const(a, b)
    if isinstance(a, _T):
        return div(a, b)
    return record("rdiv", a / b._data, (b,), _rdiv_vjp, saved=(b, a))


def _pow_scalar_vjp(ctx, g, a, p):
    if p == 0:
        return (array_module(g).zeros_like(g),)
    if p == 1:
        return (g,)
    if p == 2:
        return (g * a * 2.0,)
    return (g * p * a ** (p - 1),)


def _pow_vjp(ctx, g, out, a, b):
    xp = array_module(g)
    n = ctx.needs
    ga = gb = None
    if n[0]:
        # PyTorch: where the exponent is 0 the base's gradient is 0, even at a = ±inf (and
        # exponent 1 there inside, so no 0 * inf appears, not even in double backward)
        bz = b == 0
        ga = xp.where(bz, 0.0, g * b * a ** xp.where(bz, 1.0, b - 1.0))
    if n[1]:
        # PyTorch: where base == 0 and exponent >= 0 the exponent's gradient is 0
        zero = (a == 0) & (b >= 0)
        gb = g * xp.where(zero, 0.0, out * xp.log(xp.where(zero, 1.0, a)))
    return (ga, gb)


def _rpow_vjp(ctx, g, out, base):
    if base > 0:
        return (g * out * float(np.log(base)),)
    if base == 0:  # PyTorch: 0 where x >= 0; where x < 0, out * log(0) = -inf
        return (array_module(g).where(out == float("inf"), g * out * float("-inf"), 0.0),)
    return (g * float("nan"),)  # a negative base is not real-differentiable (PyTorch: nan)


@op(methods=("pow", "__pow__"), rmethods=("__rpow__",))
def pow(a, b):
    if isinstance(a, _T):
        if not isinstance(b, _T):
            b = const(b, a)
            if not isinstance(b, _T):
                return record("pow", a._data ** b, (a,), _pow_scalar_vjp, saved=(a, b))
        return record("pow", _binop("pow", np.power, a, b), (a, b), _pow_vjp,
                      saved=(OUT, a, b))
    if not isinstance(b, _T):
        raise _not_tensors("pow", a, b)
    a = const(a, b)
    if isinstance(a, _T):
        return pow(a, b)
    return record("rpow", a ** b._data, (b,), _rpow_vjp, saved=(OUT, a))


@op(methods=("neg", "negative", "__neg__"))
def neg(a):
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("neg", a) from None
    return record("neg", np.negative(d), (a,), _neg_vjp)


@op(methods="__pos__", export=False)
def positive(a):
    return a


# ---- unary math ------------------------------------------------------------------------------
def unary(name, forward, vjp, save="in", floats=True, doc=None, **decl):
    """Declare a one-input elementwise op: ``forward`` on the input's array, ``vjp(ctx, g, s)``
    with ``s`` the input (``save="in"``), the output (``save="out"``) or nothing (``None``).
    ``floats``: an integer or bool input is computed in the default float dtype (PyTorch's rule
    for float functions). ``decl`` goes to ``@op`` (methods, functional, ...). Returns the op."""
    if save not in ("in", "out", None):
        raise ValueError(f"unary({name!r}): save must be 'in', 'out' or None, got {save!r}")
    save_in = save == "in"
    saved = _SAVE_OUT if save == "out" else ()  # what "out"/None save (decided here, once)

    def f(a):
        try:
            d = a._data
        except AttributeError:
            raise not_tensor(name, a) from None
        if floats and d.dtype.kind not in "fc":
            d = float_array(d)
        ins = (a,)
        return record(name, forward(d), ins, vjp, ins if save_in else saved)
    return op(**decl)(named(f, name, doc or f"Elementwise {name} (PyTorch's ``torch.{name}``)."))


_SAVE_OUT = (OUT,)


def _exp_vjp(ctx, g, y):
    return (g * y,)


def _log_vjp(ctx, g, a):
    return (g / a,)


def _log1p_vjp(ctx, g, a):
    return (g / (a + 1.0),)


def _expm1_vjp(ctx, g, y):
    return (g * (y + 1.0),)


def _sqrt_vjp(ctx, g, y):
    return (g / (y * 2.0),)


def _rsqrt_vjp(ctx, g, y):
    return (g * y * y * y * -0.5,)


def _reciprocal_vjp(ctx, g, y):
    return (-g * y * y,)


def _square_vjp(ctx, g, a):
    return (g * a * 2.0,)


def _abs_vjp(ctx, g, a):
    return (g * array_module(g).sign(a),)


def _sin_vjp(ctx, g, a):
    return (g * array_module(g).cos(a),)


def _cos_vjp(ctx, g, a):
    return (-g * array_module(g).sin(a),)


def _tanh_vjp(ctx, g, y):
    return (g * (1.0 - y * y),)


def _sigmoid_vjp(ctx, g, y):
    return (g * y * (1.0 - y),)


def _rsqrt_np(d):
    return 1.0 / np.sqrt(d)


def _reciprocal_np(d):
    return 1.0 / d


exp = unary("exp", np.exp, _exp_vjp, "out")
log = unary("log", np.log, _log_vjp)
log1p = unary("log1p", np.log1p, _log1p_vjp)
expm1 = unary("expm1", np.expm1, _expm1_vjp, "out")
sqrt = unary("sqrt", np.sqrt, _sqrt_vjp, "out")
rsqrt = unary("rsqrt", _rsqrt_np, _rsqrt_vjp, "out")
reciprocal = unary("reciprocal", _reciprocal_np, _reciprocal_vjp, "out")
square = unary("square", np.square, _square_vjp, floats=False)
abs = unary("abs", np.abs, _abs_vjp, floats=False, methods=("abs", "__abs__"))  # noqa: A001
sin = unary("sin", np.sin, _sin_vjp)
cos = unary("cos", np.cos, _cos_vjp)
tanh = unary("tanh", np.tanh, _tanh_vjp, "out", functional=True)
sigmoid = unary("sigmoid", sigmoid_np, _sigmoid_vjp, "out", functional=True)
sign = unary("sign", np.sign, _zero_vjp, None, floats=False)


def _softplus_vjp(ctx, g, a, beta):
    return (g * array_module(g).sigmoid(a * beta),)


@op(functional=True)
def softplus(a, beta=1.0, threshold=20.0):
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("softplus", a) from None
    d = float_array(d)  # integer/bool input: the default float dtype
    x = d * beta
    out = np.where(x > threshold, d,
                   np.log1p(np.exp(-np.abs(x))) / beta + np.maximum(x, 0) / beta)
    return record("softplus", out.astype(d.dtype, copy=False), (a,), _softplus_vjp,
                  saved=(a, beta))


def _relu_vjp(ctx, g, y):
    # torch's threshold_backward: zero where y <= 0, so a NaN output passes the gradient on
    if type(g) is np.ndarray:
        return (_activation().relu_grad(g, y),)
    return (array_module(g).where(y <= 0, 0.0, g),)


_ACTIVATION = []


def _activation():
    if not _ACTIVATION:  # numba import deferred to first use, then no import statement per call
        from ..kernels import activation as K
        _ACTIVATION.append(K)
    return _ACTIVATION[0]


@op(functional=True)
def relu(a):
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("relu", a) from None
    if d.dtype.kind == "f":
        return record("relu", _activation().relu(d), (a,), _relu_vjp, saved=(OUT,))
    mask = d > 0
    return record("relu", d * mask, (a,), _mask_vjp, saved=(mask,))


@op(functional=True)
def leaky_relu(a, negative_slope=0.01):
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("leaky_relu", a) from None
    scale = np.where(d > 0, 1.0, negative_slope).astype(d.dtype)
    return record("leaky_relu", d * scale, (a,), _mask_vjp, saved=(scale,))


@op(methods=("clamp", "clip"))
def clamp(a, min=None, max=None):  # noqa: A002 (torch's names)
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("clamp", a) from None
    if isinstance(min, _T) or isinstance(max, _T):
        from .math import clamp_tensor
        return clamp_tensor(a, min, max)
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    out = np.clip(d, min, max)
    mask = np.ones(d.shape, dtype=bool)
    if min is not None:
        mask &= d >= min
    if max is not None:
        mask &= d <= max
    return record("clamp", out, (a,), _mask_vjp, saved=(mask,))


# ---- binary selections -----------------------------------------------------------------------
def _select_vjp(ctx, g, ma, mb):
    n = ctx.needs
    return (g * ma if n[0] else None, g * mb if len(n) > 1 and n[1] else None)


def _minmax(name, a, b, greater):
    a, b = const(a), const(b)
    if not isinstance(a, _T):
        a, b = b, a
    ad = a._data
    bd = b._data if isinstance(b, _T) else b
    if ad.dtype != bd.dtype if isinstance(b, _T) else ad.dtype.kind not in "fc":
        ad, bd = promote(a, b)
    try:
        out = np.maximum(ad, bd) if greater else np.minimum(ad, bd)
    except ValueError:
        raise _bcast_fail(name, np.shape(ad), np.shape(bd)) from None
    win = (ad > bd) if greater else (ad < bd)
    tie = ad == bd
    dt = out.dtype
    ma = win.astype(dt) + 0.5 * tie.astype(dt)
    mb = (~win & ~tie).astype(dt) + 0.5 * tie.astype(dt)
    ins = (a, b) if isinstance(b, _T) else (a,)
    return record(name, out, ins, _select_vjp, saved=(ma, mb))


@op
def maximum(a, b):
    """Elementwise maximum; at ties the gradient is split evenly (as PyTorch)."""
    return _minmax("maximum", a, b, True)


@op
def minimum(a, b):
    return _minmax("minimum", a, b, False)


_NONE = object()


def _where_vjp(ctx, g, c):
    xp = array_module(g)
    n = ctx.needs
    return (xp.where(c, g, 0.0) if n[0] else None,
            xp.where(c, 0.0, g) if len(n) > 1 and n[1] else None)


@op(methods=())
def where(cond, x=_NONE, y=_NONE):
    """``x`` where ``cond`` else ``y``; ``x``/``y`` may be tensors or scalars.
    ``where(cond)`` alone is ``nonzero(cond, as_tuple=True)``."""
    if x is _NONE and y is _NONE:
        from .scattering import nonzero
        return nonzero(cond, as_tuple=True)
    c = cond._data if isinstance(cond, _T) else np.asarray(cond)
    if c.dtype != np.bool_:
        c = c.astype(bool)
    xt, yt = isinstance(x, _T), isinstance(y, _T)
    if not xt and not yt:
        out = np.where(c, x, y)
        if out.dtype == np.float64 and not isinstance(x, np.ndarray) and not isinstance(y, np.ndarray):
            out = out.astype(np.float32)  # Python floats -> float32, as tg.tensor
        return _wrap(out)
    like = x if xt else y
    x, y = const(x, like), const(y, like)
    xd = x._data if isinstance(x, _T) else x
    yd = y._data if isinstance(y, _T) else y
    if isinstance(x, _T) and isinstance(y, _T) and xd.dtype != yd.dtype:
        xd, yd = promote(x, y)
    try:
        out = np.where(c, xd, yd)
    except ValueError:
        raise _bcast_fail("where", c.shape, np.shape(xd), np.shape(yd)) from None
    if isinstance(x, _T) and isinstance(y, _T):
        return record("where", out, (x, y), _where_vjp, saved=(c,))
    if isinstance(x, _T):
        return record("where", out, (x,), _where_vjp, saved=(c,))
    return record("where", out, (y,), _where_vjp, saved=(~c,))


@tensor_method("where")
def _where_method(self, condition, other):
    """``x.where(condition, y)`` is ``where(condition, x, y)``."""
    return where(condition, self, other)


@op
def masked_fill(a, mask, value):
    m = mask._data if isinstance(mask, _T) else np.asarray(mask)
    return where(m, value, a)


# ---- PyTorch's aliases -------------------------------------------------------------------------
multiply = op(mul, name="multiply", methods="multiply")
negative = op(neg, name="negative", methods=())
absolute = op(abs, name="absolute", methods="absolute")
clip = op(clamp, name="clip", methods=())
