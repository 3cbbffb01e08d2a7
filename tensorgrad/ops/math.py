"""More elementwise math with PyTorch's names and gradients: trigonometric and hyperbolic
functions and their inverses, erf/erfinv, exp2/log2/log10, trunc/frac, fmod, copysign, hypot,
atan2, logaddexp, lerp, ``div(rounding_mode=)`` and clamp with tensor bounds.

Unary functions of a float give the input's dtype; integer and bool inputs compute in float32
(PyTorch's default float dtype), as PyTorch does. Where PyTorch's derivative has a convention
(copysign at 0, clamp at ties, rounding functions), the VJP follows it.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.node import OUT, record
from ..tensor import Tensor, _wrap
from ._registry import named, op
from ._util import const, float_array, not_tensor
from ._xp import array_module
from .elementwise import (_bcast_fail, _identity_vjp, _zero_vjp, add as _add, div as true_divide,
                          mul as _mul, sub as _sub, unary)
from .special import erf_np, erfc_np, erfinv_np

_T = Tensor
_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_SQRT_PI = math.sqrt(math.pi)


def _float_data(a, name):
    """``a``'s array, in the default float dtype when it is an integer or bool tensor
    (PyTorch's rule)."""
    try:
        d = a._data
    except AttributeError:
        raise not_tensor(name, a) from None
    return float_array(d)


def _unary(name, fwd, vjp, save, doc, aliases=()):
    """A unary float op declared by elementwise's ``unary``, its forward computed with numpy's
    floating-point warnings off (out-of-domain inputs give nan/inf, as PyTorch, silently)."""
    def quiet(d):
        with np.errstate(all="ignore"):
            return fwd(d)
    return unary(name, quiet, vjp, save, doc=doc, aliases=aliases)


def _tan_vjp(ctx, g, y):
    return (g * (y * y + 1.0),)


def _sinh_vjp(ctx, g, a):
    return (g * array_module(g).cosh(a),)


def _cosh_vjp(ctx, g, a):
    return (g * array_module(g).sinh(a),)


def _asin_vjp(ctx, g, a):
    return (g / array_module(g).sqrt(1.0 - a * a),)


def _acos_vjp(ctx, g, a):
    return (-g / array_module(g).sqrt(1.0 - a * a),)


def _atan_vjp(ctx, g, a):
    return (g / (a * a + 1.0),)


def _asinh_vjp(ctx, g, a):
    return (g / array_module(g).sqrt(a * a + 1.0),)


def _acosh_vjp(ctx, g, a):
    return (g / array_module(g).sqrt(a * a - 1.0),)


def _atanh_vjp(ctx, g, a):
    return (g / (1.0 - a * a),)


def _erf_vjp(ctx, g, a):
    return (g * array_module(g).exp(-(a * a)) * (2.0 / _SQRT_PI),)


def _erfinv_vjp(ctx, g, y):
    return (g * array_module(g).exp(y * y) * (_SQRT_PI / 2.0),)


def _exp2_vjp(ctx, g, y):
    return (g * y * _LN2,)


def _log2_vjp(ctx, g, a):
    return (g / (a * _LN2),)


def _log10_vjp(ctx, g, a):
    return (g / (a * _LN10),)


tan = _unary("tan", np.tan, _tan_vjp, "out", "Elementwise tangent.")
sinh = _unary("sinh", np.sinh, _sinh_vjp, "in", "Elementwise hyperbolic sine.")
cosh = _unary("cosh", np.cosh, _cosh_vjp, "in", "Elementwise hyperbolic cosine.")
asin = _unary("asin", np.arcsin, _asin_vjp, "in", "Elementwise arcsine.", ("arcsin",))
acos = _unary("acos", np.arccos, _acos_vjp, "in", "Elementwise arccosine.", ("arccos",))
atan = _unary("atan", np.arctan, _atan_vjp, "in", "Elementwise arctangent.", ("arctan",))
asinh = _unary("asinh", np.arcsinh, _asinh_vjp, "in", "Elementwise inverse hyperbolic sine.",
               ("arcsinh",))
acosh = _unary("acosh", np.arccosh, _acosh_vjp, "in", "Elementwise inverse hyperbolic cosine.",
               ("arccosh",))
atanh = _unary("atanh", np.arctanh, _atanh_vjp, "in", "Elementwise inverse hyperbolic tangent.",
               ("arctanh",))
erf = _unary("erf", erf_np, _erf_vjp, "in", "The error function 2/√π ∫₀ˣ exp(-t²) dt.")
erfinv = _unary("erfinv", erfinv_np, _erfinv_vjp, "out",
                "The inverse of erf on [-1, 1]; its derivative is √π/2 · exp(erfinv(x)²).")
exp2 = _unary("exp2", np.exp2, _exp2_vjp, "out", "2 ** x, elementwise.")
log2 = _unary("log2", np.log2, _log2_vjp, "in", "Base-2 logarithm.")
log10 = _unary("log10", np.log10, _log10_vjp, "in", "Base-10 logarithm.")


@op
def erfc(a):
    """1 - erf(a), accurate where erf(a) is close to 1."""
    d = _float_data(a, "erfc")
    return record("erfc", erfc_np(d), (a,), _erfc_vjp, saved=(a,))


def _erfc_vjp(ctx, g, a):
    return (g * array_module(g).exp(-(a * a)) * (-2.0 / _SQRT_PI),)


# ---- rounding: integers stay as they are; the gradient is zero (frac's is one) --------------
def _rounding(name, fn, doc, aliases=()):
    def f(a):
        try:
            d = a._data
        except AttributeError:
            raise not_tensor(name, a) from None
        out = fn(d) if d.dtype.kind in "fc" else d.copy()
        return record(name, out, (a,), _zero_vjp)
    return op(named(f, name, doc), aliases=aliases)


trunc = _rounding("trunc", np.trunc, "Round toward zero (gradient zero).", ("fix",))
floor = _rounding("floor", np.floor, "Round down (gradient zero).")
ceil = _rounding("ceil", np.ceil, "Round up (gradient zero).")


@op
def round(a, *, decimals=0):  # noqa: A001 (torch's name)
    """Round half to even (as PyTorch), to ``decimals`` places; gradient zero."""
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("round", a) from None
    out = np.round(d, decimals) if d.dtype.kind in "fc" or decimals < 0 else d.copy()
    return record("round", out, (a,), _zero_vjp)


@op
def frac(a):
    """The fractional part ``a - trunc(a)`` (gradient one)."""
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("frac", a) from None
    if d.dtype.kind not in "fc":
        raise RuntimeError(f"frac: expected a floating point tensor, got dtype {d.dtype}")
    return record("frac", d - np.trunc(d), (a,), _identity_vjp)


# ---- binary ----------------------------------------------------------------------------------
def _operands(name, a, b):
    """Two operands (Tensors or Python scalars, at least one Tensor) and their arrays, with
    integer inputs computing in float32 as PyTorch's float-valued binary functions do."""
    a, b = const(a), const(b)
    if not isinstance(a, _T) and not isinstance(b, _T):
        raise not_tensor(name, a)
    ad = a._data if isinstance(a, _T) else np.asarray(a, dtype=b._data.dtype
                                                       if b._data.dtype.kind == "f" else None)
    bd = b._data if isinstance(b, _T) else np.asarray(b, dtype=ad.dtype
                                                       if ad.dtype.kind == "f" else None)
    if ad.dtype.kind not in "fc" and bd.dtype.kind not in "fc":
        ad, bd = ad.astype(np.float32), bd.astype(np.float32)
    return a, b, ad, bd


def _record2(name, fn, a, b, vjp, saved):
    a, b, ad, bd = _operands(name, a, b)
    try:
        with np.errstate(all="ignore"):
            out = fn(ad, bd)
    except ValueError:
        raise _bcast_fail(name, ad.shape, bd.shape) from None
    ins = tuple(t if isinstance(t, _T) else _wrap(np.asarray(t)) for t in (a, b))
    return record(name, out, ins, vjp, saved=saved(ins, out))


def _atan2_vjp(ctx, g, a, b):
    n = ctx.needs
    r = a * a + b * b
    return (g * b / r if n[0] else None, -g * a / r if n[1] else None)


@op(methods=("atan2", "arctan2"))
def atan2(input, other):  # noqa: A002 (torch's names)
    """The angle of the point (other, input): atan(input / other) in the right quadrant."""
    return _record2("atan2", np.arctan2, input, other, _atan2_vjp, lambda ins, o: ins)


arctan2 = op(atan2, name="arctan2", methods=())


def _hypot_vjp(ctx, g, out, a, b):
    n = ctx.needs
    return (g * a / out if n[0] else None, g * b / out if n[1] else None)


@op
def hypot(input, other):  # noqa: A002
    """sqrt(input² + other²) without overflow."""
    return _record2("hypot", np.hypot, input, other, _hypot_vjp, lambda ins, o: (OUT,) + ins)


def _logaddexp_vjp(ctx, g, out, a, b):
    xp = array_module(g)
    n = ctx.needs
    return (g * xp.exp(a - out) if n[0] else None, g * xp.exp(b - out) if n[1] else None)


@op
def logaddexp(input, other):  # noqa: A002
    """log(exp(input) + exp(other)), computed stably."""
    return _record2("logaddexp", np.logaddexp, input, other, _logaddexp_vjp,
                    lambda ins, o: (OUT,) + ins)


def _copysign_vjp(ctx, g, ratio):
    return (g * ratio, None)


@op
def copysign(input, other):  # noqa: A002
    """|input| with the sign of ``other`` (-0.0 counts as negative). The gradient wrt input
    is ±1 (0 where input is 0, as PyTorch); ``other`` gets none."""
    a, b, ad, bd = _operands("copysign", input, other)
    try:
        out = np.copysign(ad, bd)
    except ValueError:
        raise _bcast_fail("copysign", ad.shape, bd.shape) from None
    with np.errstate(all="ignore"):
        ratio = np.where(ad == 0, 0.0, out / np.where(ad == 0, 1.0, ad)).astype(out.dtype)
    ins = tuple(t if isinstance(t, _T) else _wrap(np.asarray(t)) for t in (a, b))
    return record("copysign", out, ins, _copysign_vjp, saved=(ratio,))


def _quotient_vjp(ctx, g, q):
    """a - q * b with the rounded quotient q held constant (fmod, remainder)."""
    n = ctx.needs
    return (g if n[0] else None, -g * q if n[1] else None)


@op
def fmod(input, other):  # noqa: A002
    """C's remainder: ``input - trunc(input / other) * other`` (the sign of ``input``)."""
    a, b = input, const(other)
    try:
        ad = a._data
    except AttributeError:
        raise not_tensor("fmod", a) from None
    bd = b._data if isinstance(b, _T) else b
    if np.result_type(ad, bd).kind in "iub":
        if np.any(np.asarray(bd) == 0):
            raise RuntimeError("fmod: ZeroDivisionError (integer division by zero)")
        return _wrap(np.fmod(ad, bd))
    try:
        with np.errstate(all="ignore"):
            out = np.fmod(ad, bd)
            q = np.trunc((ad - out) / bd).astype(out.dtype)
    except ValueError:
        raise _bcast_fail("fmod", np.shape(ad), np.shape(bd)) from None
    ins = (a, b) if isinstance(b, _T) else (a, _wrap(np.asarray(bd)))
    return record("fmod", out, ins, _quotient_vjp, saved=(q,))


def _floor_divide_vjp(ctx, g):
    raise RuntimeError("floor_divide: the derivative for floor_divide is not implemented "
                       "(it is zero almost everywhere and undefined at jumps); use div for a "
                       "differentiable quotient")


def _int_operands(name, a, b):
    a, b = const(a), const(b)
    if not isinstance(a, _T) and not isinstance(b, _T):
        raise not_tensor(name, a)
    ad = a._data if isinstance(a, _T) else a
    bd = b._data if isinstance(b, _T) else b
    ins = tuple(x for x in (a, b) if isinstance(x, _T))
    integer = np.result_type(ad, bd).kind in "iub"
    if integer and np.any(np.asarray(bd) == 0):
        raise RuntimeError(f"{name}: ZeroDivisionError (integer division by zero)")
    return a, b, ad, bd, ins, integer


@op(methods=("floor_divide", "__floordiv__"), rmethods=("__rfloordiv__",))
def floor_divide(input, other):  # noqa: A002
    """``input // other``, rounding down (Python's ``//``); not differentiable (as PyTorch)."""
    a, b, ad, bd, ins, integer = _int_operands("floor_divide", input, other)
    try:
        with np.errstate(all="ignore"):
            out = np.floor_divide(ad, bd)
    except ValueError:
        raise _bcast_fail("floor_divide", np.shape(ad), np.shape(bd)) from None
    return record("floor_divide", np.asarray(out), ins, _floor_divide_vjp)


@op(methods=("remainder", "__mod__"), rmethods=("__rmod__",))
def remainder(input, other):  # noqa: A002
    """Python's modulus ``input - floor(input / other) * other`` (the sign of ``other``);
    gradient 1 for input and -floor(input / other) for other, as PyTorch."""
    a, b, ad, bd, ins, integer = _int_operands("remainder", input, other)
    try:
        with np.errstate(all="ignore"):
            out = np.remainder(ad, bd)
            q = None if integer else np.floor_divide(ad, bd)
    except ValueError:
        raise _bcast_fail("remainder", np.shape(ad), np.shape(bd)) from None
    out = np.asarray(out)
    if integer:
        return _wrap(out)
    a = a if isinstance(a, _T) else _wrap(np.asarray(ad, dtype=out.dtype))
    b = b if isinstance(b, _T) else _wrap(np.asarray(bd, dtype=out.dtype))
    return record("remainder", out, (a, b), _quotient_vjp, saved=(q.astype(out.dtype),))


def _lerp_vjp(ctx, g, start, end, weight):
    n = ctx.needs
    return (g * (1.0 - weight) if n[0] else None, g * weight if n[1] else None,
            g * (end - start) if len(n) > 2 and n[2] else None)


@op
def lerp(input, end, weight):  # noqa: A002
    """``input + weight * (end - input)`` (``weight`` a number or a tensor)."""
    try:
        sd, ed = input._data, end._data
    except AttributeError:
        raise not_tensor("lerp", input if not isinstance(input, _T) else end) from None
    w = weight
    wd = w._data if isinstance(w, _T) else w
    try:
        with np.errstate(all="ignore"):
            # PyTorch's form: exact at both ends (weight 0 gives start, 1 gives end)
            out = np.where(np.abs(wd) < 0.5, sd + wd * (ed - sd), ed - (ed - sd) * (1 - wd))
    except ValueError:
        raise _bcast_fail("lerp", sd.shape, ed.shape, np.shape(wd)) from None
    out = out.astype(np.result_type(sd, ed), copy=False)
    if isinstance(w, _T):
        return record("lerp", out, (input, end, w), _lerp_vjp, saved=(input, end, w))
    return record("lerp", out, (input, end), _lerp_vjp, saved=(input, end, w))


# ---- add/sub with alpha, division with rounding ------------------------------------------------
def _scaled(x, alpha):
    return _mul(x, alpha) if isinstance(x, _T) else x * alpha


@op(methods="add")
def add(input, other, *, alpha=1):  # noqa: A002
    """``input + alpha * other`` (the operator ``+`` is the same without alpha)."""
    return _add(input, other if alpha == 1 else _scaled(other, alpha))


@op(methods=("sub", "subtract"))
def sub(input, other, *, alpha=1):  # noqa: A002
    """``input - alpha * other``."""
    return _sub(input, other if alpha == 1 else _scaled(other, alpha))


subtract = op(sub, name="subtract", methods=())


# ---- division with rounding -----------------------------------------------------------------
@op(methods=("div", "divide"))
def div(input, other, *, rounding_mode=None):  # noqa: A002
    """``input / other``; ``rounding_mode='trunc'`` rounds the quotient toward zero, ``'floor'``
    down (Python's ``//``). The rounded forms have gradient zero, as in PyTorch; integer
    inputs stay integer."""
    if rounding_mode is None:
        return true_divide(input, other)
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got "
                         f"{rounding_mode!r}")
    a, b = const(input), const(other)
    if not isinstance(a, _T) and not isinstance(b, _T):
        raise not_tensor("div", input)
    ad = a._data if isinstance(a, _T) else a
    bd = b._data if isinstance(b, _T) else b
    integer = np.result_type(ad, bd).kind in "iub"
    if integer:
        if np.any(np.asarray(bd) == 0):
            raise RuntimeError("div: ZeroDivisionError (integer division by zero)")
        q = np.floor_divide(ad, bd)
        if rounding_mode == "trunc":  # floor and trunc differ where the remainder is nonzero
            q = q + ((np.remainder(ad, bd) != 0) & ((np.asarray(ad) < 0) ^ (np.asarray(bd) < 0)))
        return _wrap(np.asarray(q))
    try:
        with np.errstate(all="ignore"):
            q = np.trunc(np.true_divide(ad, bd)) if rounding_mode == "trunc" else \
                np.floor_divide(ad, bd)
    except ValueError:
        raise _bcast_fail("div", np.shape(ad), np.shape(bd)) from None
    if isinstance(a, _T) and isinstance(b, _T):
        ins = (a, b)
    else:
        ins = (a,) if isinstance(a, _T) else (b,)
    return record("div", np.asarray(q), ins, _zeros_vjp)


divide = op(div, name="divide", methods=())


def _zeros_vjp(ctx, g):
    z = array_module(g).zeros_like(g)
    return (z,) * len(ctx.needs)


# ---- clamp with tensor bounds: PyTorch's conventions at ties ----------------------------------
def _clamp_t_vjp(ctx, g, mx, mlo, mhi):
    xp = array_module(g)
    n = ctx.needs
    outs = [xp.where(mx, g, 0.0) if n[0] else None]
    k = 1
    for m in (mlo, mhi):
        if m is not None:
            outs.append(xp.where(m, g, 0.0) if n[k] else None)
            k += 1
    return tuple(outs)


def clamp_tensor(a, lo, hi):
    """clamp(a, lo, hi) where a bound is a Tensor. Gradients as PyTorch's: ``a`` where
    lo <= a <= hi; ``lo`` where lo > a and lo < hi; ``hi`` where hi < a or hi < lo (with
    lo > hi every output is hi)."""
    d = a._data
    ld = lo._data if isinstance(lo, _T) else lo
    hd = hi._data if isinstance(hi, _T) else hi
    out = d  # a NaN input stays NaN (both comparisons are False)
    try:
        if ld is not None:
            out = np.where(d < ld, ld, out)
        if hd is not None:
            out = np.where(out > hd, hd, out)
    except ValueError:
        raise _bcast_fail("clamp", d.shape, np.shape(ld), np.shape(hd)) from None
    out = out.astype(np.result_type(d, *(x for x in (ld, hd) if isinstance(x, np.ndarray))),
                     copy=False)
    mx = np.ones(np.shape(out), dtype=bool)
    if ld is not None:
        mx &= d >= ld
    if hd is not None:
        mx &= d <= hd
    mlo = mhi = None
    ins = [a]
    if isinstance(lo, _T):
        mlo = (ld > d) & (ld < hd) if hd is not None else ld > d
        ins.append(lo)
    if isinstance(hi, _T):
        mhi = (hd < d) | (hd < ld) if ld is not None else hd < d
        ins.append(hi)
    return record("clamp", out, tuple(ins), _clamp_t_vjp,
                  saved=(mx, None if mlo is None else np.broadcast_to(mlo, out.shape),
                         None if mhi is None else np.broadcast_to(mhi, out.shape)))


# ---- fused forms PyTorch names (composed here; their gradients are the composition's) -------
@op
def addcmul(input, tensor1, tensor2, *, value=1):  # noqa: A002
    """``input + value * tensor1 * tensor2``."""
    prod = _mul(tensor1, tensor2)
    return _add(input, prod if value == 1 else _mul(prod, value))


@op
def addcdiv(input, tensor1, tensor2, *, value=1):  # noqa: A002
    """``input + value * tensor1 / tensor2`` (integer tensor1 and tensor2 are refused, as in
    PyTorch)."""
    if all(isinstance(t, _T) and t._data.dtype.kind in "iub" for t in (tensor1, tensor2)):
        raise RuntimeError("addcdiv: integer division with addcdiv is no longer supported; "
                           "use tensor1.float() (or true_divide)")
    q = true_divide(tensor1, tensor2)
    return _add(input, q if value == 1 else _mul(q, value))
