"""Elementwise ops: arithmetic with broadcasting, unary math, comparisons, where/maximum/minimum.

Each op is its numpy forward plus its VJP written with tensorgrad ops. Broadcast gradients are
summed back to input shapes by the engine, never here.
"""
from __future__ import annotations

import numpy as np

from ..autograd.node import record
from ..tensor import Tensor, _wrap
from ._util import const

__all__ = ["add", "sub", "mul", "div", "pow", "neg", "exp", "log", "sqrt", "abs", "sin", "cos",
           "tanh", "sigmoid", "relu", "leaky_relu", "clamp", "log1p", "expm1", "square",
           "rsqrt", "reciprocal", "sign", "floor", "ceil", "round", "maximum", "minimum",
           "where", "lt", "le", "gt", "ge", "eq", "ne", "logical_and", "logical_or",
           "logical_not", "isnan", "isfinite", "astype", "clone", "full_like", "floor_divide",
           "remainder", "masked_fill", "softplus"]

_T = Tensor


def _g0(node, g):
    return (g,)


def _neg0(node, g):
    return (neg(g),)


# ---- arithmetic ------------------------------------------------------------------------------
def _bcast_fail(name, *shapes):
    return ValueError(f"{name}: shapes {' and '.join(str(tuple(x)) for x in shapes)} do not "
                      f"broadcast (align from the right; each pair of sizes must be equal or 1)")


def _binop(name, fn, a, b):
    """numpy forward of a tensor-tensor binary op; a broadcast failure names the op."""
    try:
        return fn(a.data, b.data)
    except ValueError:
        raise _bcast_fail(name, a.data.shape, b.data.shape) from None


def _add_bw(node, g):
    return (g, g)


def add(a, b):
    if isinstance(a, _T):
        if not isinstance(b, _T):
            b = const(b, a)
            if not isinstance(b, _T):
                return record("add", a.data + b, (a,), _g0)
        return record("add", _binop("add", np.add, a, b), (a, b), _add_bw)
    return add(b, a)


def _sub_bw(node, g):
    return (g, neg(g) if node.needs[1] else None)


def sub(a, b):
    if isinstance(a, _T):
        if not isinstance(b, _T):
            b = const(b, a)
            if not isinstance(b, _T):
                return record("sub", a.data - b, (a,), _g0)
        return record("sub", _binop("sub", np.subtract, a, b), (a, b), _sub_bw)
    a = const(a, b)
    if isinstance(a, _T):
        return sub(a, b)
    return record("rsub", a - b.data, (b,), _neg0)


def _mul_bw(node, g):
    a, b = node.saved
    n = node.needs
    return (g * b if n[0] else None, g * a if n[1] else None)


def _mul_s_bw(node, g):
    return (g * node.info,)


def mul(a, b):
    if isinstance(a, _T):
        if not isinstance(b, _T):
            b = const(b, a)
            if not isinstance(b, _T):
                return record("mul", a.data * b, (a,), _mul_s_bw, info=b)
        return record("mul", _binop("mul", np.multiply, a, b), (a, b), _mul_bw, saved=(a, b))
    return mul(b, a)


def _div_bw(node, g):
    a, b = node.saved
    n = node.needs
    ga = g / b if n[0] else None
    gb = neg(g) * a / (b * b) if n[1] else None
    return (ga, gb)


def _div_s_bw(node, g):
    return (g / node.info,)


def _rdiv_bw(node, g):
    (b,) = node.saved
    return (neg(g) * node.info / (b * b),)


def div(a, b):
    if isinstance(a, _T):
        if not isinstance(b, _T):
            b = const(b, a)
            if not isinstance(b, _T):
                return record("div", a.data / b, (a,), _div_s_bw, info=b)
        return record("div", _binop("div", np.true_divide, a, b), (a, b), _div_bw, saved=(a, b))
    a = const(a, b)
    if isinstance(a, _T):
        return div(a, b)
    return record("rdiv", a / b.data, (b,), _rdiv_bw, saved=(b,), info=a)


def _pow_s_bw(node, g):
    (a,) = node.saved
    p = node.info
    if p == 0:
        return (g * 0.0,)
    if p == 1:
        return (g,)
    if p == 2:
        return (g * a * 2.0,)
    return (g * p * a ** (p - 1),)


def _pow_bw(node, g):
    a, b = node.saved
    n = node.needs
    ga = None
    if n[0]:
        # PyTorch: where the exponent is 0 the base's gradient is 0 (use exponent 1 there so
        # no 0 * inf appears, not even in double backward)
        ga = g * b * a ** where(_wrap(b.data == 0), 1.0, b - 1.0)
    gb = None
    if n[1]:
        out = node.output()
        # PyTorch: where base == 0 and exponent >= 0 the exponent's gradient is 0
        safe = where(_wrap((a.data == 0) & (b.data >= 0)), 1.0, a)
        gb = g * where(_wrap((a.data == 0) & (b.data >= 0)), 0.0, out * log(safe))
    return (ga, gb)


def _rpow_bw(node, g):
    out = node.output()
    base = node.info
    if base > 0:
        return (g * out * float(np.log(base)),)
    if base == 0:  # PyTorch: 0 ** x has gradient 0
        return (g * 0.0,)
    return (g * float("nan"),)  # a negative base is not real-differentiable (PyTorch: nan)


def pow(a, b):
    if isinstance(a, _T):
        if not isinstance(b, _T):
            b = const(b, a)
            if not isinstance(b, _T):
                return record("pow", a.data ** b, (a,), _pow_s_bw, saved=(a,), info=b)
        return record("pow", _binop("pow", np.power, a, b), (a, b), _pow_bw, saved=(a, b), save_output=True)
    a = const(a, b)
    if isinstance(a, _T):
        return pow(a, b)
    return record("rpow", a ** b.data, (b,), _rpow_bw, info=a, save_output=True)


def neg(a):
    return record("neg", np.negative(a.data), (a,), _neg0)


def _fdiv_bw(node, g):
    raise RuntimeError("floor_divide: the derivative for floor_divide is not implemented "
                       "(it is zero almost everywhere and undefined at jumps); use div for a "
                       "differentiable quotient")


def floor_divide(a, b):
    a, b = const(a), const(b)
    ins = tuple(x for x in (a, b) if isinstance(x, _T))
    ad = a.data if isinstance(a, _T) else a
    bd = b.data if isinstance(b, _T) else b
    return record("floor_divide", np.floor_divide(ad, bd), ins, _fdiv_bw)


def remainder(a, b):
    """Python-style remainder a - floor(a/b)*b (gradient 1 for a, -floor(a/b) for b)."""
    q = floor(div(a, b)) if isinstance(a, _T) or isinstance(b, _T) else None
    return sub(a, mul(q, b))


_T.__floordiv__ = floor_divide
_T.__rfloordiv__ = lambda self, o: floor_divide(o, self)
_T.__mod__ = remainder
_T.__rmod__ = lambda self, o: remainder(o, self)


# ---- unary math ------------------------------------------------------------------------------
def _exp_bw(node, g):
    return (g * node.output(),)


def exp(a):
    return record("exp", np.exp(a.data), (a,), _exp_bw, save_output=True)


def _log_bw(node, g):
    return (g / node.saved[0],)


def log(a):
    return record("log", np.log(a.data), (a,), _log_bw, saved=(a,))


def _log1p_bw(node, g):
    return (g / (node.saved[0] + 1.0),)


def log1p(a):
    return record("log1p", np.log1p(a.data), (a,), _log1p_bw, saved=(a,))


def _expm1_bw(node, g):
    return (g * (node.output() + 1.0),)


def expm1(a):
    return record("expm1", np.expm1(a.data), (a,), _expm1_bw, save_output=True)


def _sqrt_bw(node, g):
    return (g / (node.output() * 2.0),)


def sqrt(a):
    return record("sqrt", np.sqrt(a.data), (a,), _sqrt_bw, save_output=True)


def _rsqrt_bw(node, g):
    out = node.output()
    return (g * out * out * out * -0.5,)


def rsqrt(a):
    return record("rsqrt", 1.0 / np.sqrt(a.data), (a,), _rsqrt_bw, save_output=True)


def _recip_bw(node, g):
    out = node.output()
    return (neg(g) * out * out,)


def reciprocal(a):
    return record("reciprocal", 1.0 / a.data, (a,), _recip_bw, save_output=True)


def _square_bw(node, g):
    return (g * node.saved[0] * 2.0,)


def square(a):
    return record("square", np.square(a.data), (a,), _square_bw, saved=(a,))


def _abs_bw(node, g):
    return (g * _wrap(np.sign(node.saved[0].data)),)


def abs(a):
    return record("abs", np.abs(a.data), (a,), _abs_bw, saved=(a,))


def _sin_bw(node, g):
    return (g * cos(node.saved[0]),)


def sin(a):
    return record("sin", np.sin(a.data), (a,), _sin_bw, saved=(a,))


def _cos_bw(node, g):
    return (neg(g) * sin(node.saved[0]),)


def cos(a):
    return record("cos", np.cos(a.data), (a,), _cos_bw, saved=(a,))


def _tanh_bw(node, g):
    y = node.output()
    return (g * (1.0 - y * y),)


def tanh(a):
    return record("tanh", np.tanh(a.data), (a,), _tanh_bw, save_output=True)


def _sigmoid_np(x):
    # stable for large |x| in float32: exp of a non-positive number never overflows
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def _sigmoid_bw(node, g):
    y = node.output()
    return (g * y * (1.0 - y),)


def sigmoid(a):
    return record("sigmoid", _sigmoid_np(a.data), (a,), _sigmoid_bw, save_output=True)


def _softplus_bw(node, g):
    (a,) = node.saved
    return (g * sigmoid(a * node.info[0]),)


def softplus(a, beta=1.0, threshold=20.0):
    x = a.data * beta
    out = np.where(x > threshold, a.data, np.log1p(np.exp(-np.abs(x))) / beta + np.maximum(x, 0) / beta)
    return record("softplus", out.astype(a.data.dtype, copy=False), (a,), _softplus_bw,
                  saved=(a,), info=(beta,))


def _mask_bw(node, g):
    return (g * node.info,)


def relu(a):
    d = a.data
    mask = d > 0  # bool: the VJP multiplies by it directly (one pass, no float mask)
    return record("relu", np.maximum(d, 0, dtype=d.dtype) if d.dtype.kind == "f" else d * mask,
                  (a,), _mask_bw, info=_wrap(mask))


def leaky_relu(a, negative_slope=0.01):
    d = a.data
    scale = np.where(d > 0, 1.0, negative_slope).astype(d.dtype)
    return record("leaky_relu", d * scale, (a,), _mask_bw, info=_wrap(scale))


def clamp(a, min=None, max=None):
    if isinstance(min, _T) or isinstance(max, _T):
        out = a  # ties keep x's gradient (x passes where lo <= x <= hi, as PyTorch)
        if min is not None:
            out = where(_wrap(out.data < (min.data if isinstance(min, _T) else min)), min, out)
        if max is not None:
            out = where(_wrap(out.data > (max.data if isinstance(max, _T) else max)), max, out)
        return out
    if min is None and max is None:
        raise ValueError("clamp: at least one of min or max must be given, got neither")
    d = a.data
    out = np.clip(d, min, max)
    mask = np.ones(d.shape, dtype=bool)
    if min is not None:
        mask &= d >= min
    if max is not None:
        mask &= d <= max
    return record("clamp", out, (a,), _mask_bw, info=_wrap(mask.astype(d.dtype)))


def _zero_bw(node, g):
    return (g * 0.0,)


def sign(a):
    return record("sign", np.sign(a.data), (a,), _zero_bw)


def floor(a):
    return record("floor", np.floor(a.data), (a,), _zero_bw)


def ceil(a):
    return record("ceil", np.ceil(a.data), (a,), _zero_bw)


def round(a, decimals=0):
    return record("round", np.round(a.data, decimals), (a,), _zero_bw)


# ---- binary selections -----------------------------------------------------------------------
def _select_bw(node, g):
    ma, mb = node.info
    n = node.needs
    return (g * ma if n[0] else None, g * mb if len(n) > 1 and n[1] else None)


def _minmax(name, a, b, greater):
    a, b = const(a), const(b)
    if not isinstance(a, _T):
        a, b = b, a
    ad = a.data
    bd = b.data if isinstance(b, _T) else b
    try:
        out = np.maximum(ad, bd) if greater else np.minimum(ad, bd)
    except ValueError:
        raise _bcast_fail(name, np.shape(ad), np.shape(bd)) from None
    win = (ad > bd) if greater else (ad < bd)
    tie = ad == bd
    dt = out.dtype
    ma = _wrap(win.astype(dt) + 0.5 * tie.astype(dt))
    mb = _wrap((~win & ~tie).astype(dt) + 0.5 * tie.astype(dt))
    ins = (a, b) if isinstance(b, _T) else (a,)
    return record(name, out, ins, _select_bw, info=(ma, mb))


def maximum(a, b):
    """Elementwise maximum; at ties the gradient is split evenly (as PyTorch)."""
    return _minmax("maximum", a, b, True)


def minimum(a, b):
    return _minmax("minimum", a, b, False)


def _where_bw(node, g):
    cond = node.info
    n = node.needs
    z = g * 0.0
    return (where(cond, g, z) if n[0] else None, where(cond, z, g) if len(n) > 1 and n[1] else None)


def where(cond, x, y):
    """``x`` where ``cond`` else ``y``; ``x``/``y`` may be tensors or scalars."""
    c = cond.data if isinstance(cond, _T) else np.asarray(cond)
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
    xd = x.data if isinstance(x, _T) else x
    yd = y.data if isinstance(y, _T) else y
    try:
        out = np.where(c, xd, yd)
    except ValueError:
        raise _bcast_fail("where", c.shape, np.shape(xd), np.shape(yd)) from None
    cw = _wrap(c)
    if isinstance(x, _T) and isinstance(y, _T):
        return record("where", out, (x, y), _where_bw, info=cw)
    if isinstance(x, _T):
        return record("where", out, (x,), _where_bw, info=cw)
    return record("where", out, (y,), _where_bw, info=_wrap(~c))


def masked_fill(a, mask, value):
    m = mask.data if isinstance(mask, _T) else np.asarray(mask)
    return where(m, value, a)


# ---- comparisons and predicates (never differentiable) ---------------------------------------
def _cmp(fn):
    def op(a, b):
        ad = a.data if isinstance(a, _T) else a
        bd = b.data if isinstance(b, _T) else b
        return _wrap(np.asarray(fn(ad, bd)))
    op.__name__ = fn.__name__
    op.__doc__ = f"Elementwise {fn.__name__}; the result is a bool tensor without gradient."
    return op


lt, le, gt, ge = _cmp(np.less), _cmp(np.less_equal), _cmp(np.greater), _cmp(np.greater_equal)
eq, ne = _cmp(np.equal), _cmp(np.not_equal)
logical_and, logical_or = _cmp(np.logical_and), _cmp(np.logical_or)


def logical_not(a):
    return _wrap(np.logical_not(a.data))


def isnan(a):
    return _wrap(np.isnan(a.data))


def isfinite(a):
    return _wrap(np.isfinite(a.data))


# ---- dtype and copies -------------------------------------------------------------------------
def astype(a, dtype):
    """Cast to ``dtype``; float-to-float casts are differentiable, others cut the graph."""
    from ..tensor import _as_dtype
    dt = _as_dtype(dtype)
    if dt == a.data.dtype:
        return a
    out = a.data.astype(dt)
    if dt.kind in "fc" and a.data.dtype.kind in "fc":
        return record("astype", out, (a,), _g0)
    return _wrap(out)


def clone(a):
    return record("clone", a.data.copy(), (a,), _g0)


def full_like(a, value, dtype=None):
    return _wrap(np.full_like(a.data, value, dtype=dtype))


# ---- numpy twins of the hot VJPs (used by plain backward(); see autograd.node.fast_vjp) -------
def _reg():
    from ..autograd.node import fast_vjp as fv

    fv(_g0)(lambda n, g: (g,))
    fv(_neg0)(lambda n, g: (-g,))
    fv(_add_bw)(lambda n, g: (g, g))
    fv(_sub_bw)(lambda n, g: (g, -g if n.needs[1] else None))

    @fv(_mul_bw)
    def _(n, g):
        a, b = n.saved
        return (g * b.data if n.needs[0] else None, g * a.data if n.needs[1] else None)

    fv(_mul_s_bw)(lambda n, g: (g * n.info,))

    @fv(_div_bw)
    def _(n, g):
        a, b = n.saved
        bd = b.data
        return (g / bd if n.needs[0] else None,
                -g * a.data / (bd * bd) if n.needs[1] else None)

    fv(_div_s_bw)(lambda n, g: (g / n.info,))
    fv(_exp_bw)(lambda n, g: (g * n.outs[0],))
    fv(_log_bw)(lambda n, g: (g / n.saved[0].data,))
    fv(_sqrt_bw)(lambda n, g: (g / (2.0 * n.outs[0]),))
    fv(_square_bw)(lambda n, g: (g * 2.0 * n.saved[0].data,))

    @fv(_tanh_bw)
    def _(n, g):
        y = n.outs[0]
        return (g * (1.0 - y * y),)

    @fv(_sigmoid_bw)
    def _(n, g):
        y = n.outs[0]
        return (g * y * (1.0 - y),)

    fv(_mask_bw)(lambda n, g: (g * n.info.data,))

    @fv(_pow_s_bw)
    def _(n, g):
        p = n.info
        a = n.saved[0].data
        if p == 0:
            return (np.zeros_like(g),)
        if p == 1:
            return (g,)
        if p == 2:
            return (g * 2.0 * a,)
        return (g * p * a ** (p - 1),)

    @fv(_select_bw)
    def _(n, g):
        ma, mb = n.info
        return (g * ma.data if n.needs[0] else None,
                g * mb.data if len(n.needs) > 1 and n.needs[1] else None)

    @fv(_where_bw)
    def _(n, g):
        c = n.info.data
        return (np.where(c, g, 0) if n.needs[0] else None,
                np.where(c, 0, g) if len(n.needs) > 1 and n.needs[1] else None)


_reg()
del _reg
