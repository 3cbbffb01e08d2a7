"""Activation functions (PyTorch's ``torch.nn.functional`` names, arguments and gradients).

Each fused activation is a numpy forward plus one VJP that serves both backward modes (numpy
arrays on plain ``backward()``, recorded Tensors under ``create_graph=True``; see
docs/architecture.md). Gradients follow PyTorch at the kinks: the piecewise-linear ones
(hardtanh, relu6, hardsigmoid, hardswish, softshrink, hardshrink, threshold) pass the gradient
only strictly inside the linear piece, and ELU-type functions take the negative branch at 0.
The module forms (``nn.GELU``, ``nn.ELU``, ...) are generated from these functions in
``tensorgrad/nn/activation.py``.

``inplace=True`` (where PyTorch has it) writes the result into the input with ``copy_`` and
returns the input, as PyTorch does: the autograd graph follows the new value, and a leaf that
requires grad is refused.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.node import record
from ..tensor import _wrap
from ._registry import op
from ._util import as_tensor_arg, check_float
from ._xp import NP, array_module, sigmoid_np
from .elementwise import mul, neg, softplus, sub, tanh, where
from .movement import reshape, split
from .reduce import softmax
from .special import erf_np

_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _arg(x, op):
    x = as_tensor_arg(x, op, "input")
    check_float(x, op)
    return x


def _alias(x):
    """``x``'s value at its place in the graph, in memory of its own (a copy) with a version
    counter of its own: what an in-place activation computes from and may save, so that
    writing the result into ``x``'s memory neither changes nor invalidates it."""
    a = _wrap(x._data.copy())
    a.requires_grad, a.grad_fn, a._oi = x.requires_grad, x.grad_fn, x._oi
    return a


def apply_inplace(fn, x, *args, **kwargs):
    """``fn(x, ...)`` written into ``x`` and returned (PyTorch's ``inplace=True``): the graph
    follows the new value; a leaf that requires grad is refused, as in PyTorch."""
    x = as_tensor_arg(x, getattr(fn, "__name__", "activation"), "input")
    return x.copy_(fn(_alias(x), *args, **kwargs))


def _finish(x, out, inplace):
    """``inplace=True``: the result goes into ``x`` (PyTorch's semantics), else it is returned."""
    return x.copy_(out) if inplace else out


def _mask_vjp(ctx, g, mask):
    return (g * mask,)


# ---- the normal CDF (for the exact GELU): erf on arrays, and as a recorded op --------------
def _ncdf_np(x):
    return 0.5 * (1.0 + erf_np(x / _SQRT_2))


def _ncdf_vjp(ctx, g, a):
    xp = array_module(g)
    return (g * xp.exp(a * a * -0.5) * _INV_SQRT_2PI,)


def _ncdf(a):
    """Φ(a), the standard normal CDF, as a recorded op (its derivative is the density)."""
    return record("normal_cdf", _ncdf_np(a._data), (a,), _ncdf_vjp, saved=(a,))


# ---- GELU, SiLU, Mish ----------------------------------------------------------------------
def _gelu_vjp(ctx, g, a, approximate):
    xp = array_module(g)
    if approximate == "tanh":
        inner = (a + a * a * a * 0.044715) * _SQRT_2_OVER_PI
        t = xp.tanh(inner)
        d_inner = (a * a * (3 * 0.044715) + 1.0) * _SQRT_2_OVER_PI
        return (g * ((t + 1.0) * 0.5 + a * 0.5 * (1.0 - t * t) * d_inner),)
    cdf = _ncdf_np(a) if xp is NP else _ncdf(a)
    return (g * (cdf + a * xp.exp(a * a * -0.5) * _INV_SQRT_2PI),)


@op(functional=True, methods=(), export=False)
def gelu(input, approximate="none"):
    """x Φ(x) (``approximate='none'``) or 0.5 x (1 + tanh(√(2/π)(x + 0.044715 x³)))
    (``'tanh'``), as PyTorch's GELU (Hendrycks & Gimpel, 2016)."""
    op = "gelu"
    x = _arg(input, op)
    if approximate not in ("none", "tanh"):
        raise ValueError(f"{op}: approximate must be 'none' or 'tanh', got {approximate!r}")
    d = x._data
    d64 = d.astype(np.float64, copy=False)  # float32 in, float64 inside: 1 + erf cancels
    if approximate == "tanh":
        y = 0.5 * d64 * (1.0 + np.tanh(_SQRT_2_OVER_PI * (d64 + 0.044715 * d64 * d64 * d64)))
    else:
        y = d64 * _ncdf_np(d64)
    return record("gelu", y.astype(d.dtype, copy=False), (x,), _gelu_vjp,
                  saved=(x, approximate))


def _silu_vjp(ctx, g, a):
    s = array_module(g).sigmoid(a)
    return (g * s * (a * (1.0 - s) + 1.0),)


@op(functional=True, methods=(), export=False)
def silu(input, inplace=False):
    """x σ(x) (also called swish)."""
    x = _arg(input, "silu")
    src = _alias(x) if inplace else x  # what the VJP saves must outlive the overwrite
    out = record("silu", x._data * sigmoid_np(x._data), (src,), _silu_vjp, saved=(src,))
    return _finish(x, out, inplace)


def _softplus_np(d):
    return np.log1p(np.exp(-np.abs(d))) + np.maximum(d, 0)


def _mish_vjp(ctx, g, a):
    xp = array_module(g)
    t = xp.tanh(_softplus_np(a) if xp is NP else softplus(a))  # softplus' = σ, also at 0
    return (g * (t + a * xp.sigmoid(a) * (1.0 - t * t)),)


@op(functional=True, methods=(), export=False)
def mish(input, inplace=False):
    """x tanh(softplus(x)) (Misra, 2019)."""
    x = _arg(input, "mish")
    d = x._data
    src = _alias(x) if inplace else x
    out = record("mish", (d * np.tanh(_softplus_np(d))).astype(d.dtype, copy=False), (src,),
                 _mish_vjp, saved=(src,))
    return _finish(x, out, inplace)


# ---- the ELU family -------------------------------------------------------------------------
def _elu_vjp(ctx, g, a, alpha, scale, input_scale):
    """d/dx of scale * (x if x > 0 else alpha (exp(input_scale x) - 1)). The exponential is
    taken of where(x < 0, x, 0), so the unused branch never overflows and, as in PyTorch, the
    second derivative at 0 is 0 (the first takes the negative branch there)."""
    xp = array_module(g)
    neg_part = xp.exp(xp.where(a < 0, a, 0.0) * input_scale) * (alpha * input_scale * scale)
    return (g * xp.where(a > 0, scale, neg_part),)


def _elu(op, input, alpha, scale, input_scale, inplace):
    x = _arg(input, op)
    d = x._data
    y = np.where(d > 0, d, alpha * np.expm1(np.minimum(d, 0) * input_scale)) * scale
    src = _alias(x) if inplace else x
    out = record(op, y.astype(d.dtype, copy=False), (src,), _elu_vjp,
                 saved=(src, float(alpha), float(scale), float(input_scale)))
    return _finish(x, out, inplace)


@op(functional=True, methods=(), export=False)
def elu(input, alpha=1.0, inplace=False):
    """x for x > 0, α (eˣ − 1) otherwise (Clevert et al., 2015)."""
    return _elu("elu", input, alpha, 1.0, 1.0, inplace)


@op(functional=True, methods=())
def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, α (exp(x/α) − 1)) (Barron, 2017)."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (it divides the input)")
    return _elu("celu", input, alpha, 1.0, 1.0 / alpha, inplace)


@op(functional=True, methods=())
def selu(input, inplace=False):
    """scale · elu(x, α) with PyTorch's constants (Klambauer et al., 2017)."""
    return _elu("selu", input, SELU_ALPHA, SELU_SCALE, 1.0, inplace)


# ---- piecewise-linear activations: the gradient is a mask ----------------------------------
def _masked(op, x, y, mask, inplace):
    d = x._data
    out = record(op, np.asarray(y).astype(d.dtype, copy=False), (x,), _mask_vjp,
                 saved=(mask.astype(d.dtype),))
    return _finish(x, out, inplace)


@op(functional=True, methods=(), export=False)
def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """clamp(x, min_val, max_val); the gradient is 1 strictly between the bounds."""
    op = "hardtanh"
    x = _arg(input, op)
    if min_val > max_val:
        raise ValueError(f"{op}: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")
    d = x._data
    return _masked(op, x, np.clip(d, min_val, max_val), (d > min_val) & (d < max_val), inplace)


@op(functional=True, methods=(), export=False)
def relu6(input, inplace=False):
    """min(max(x, 0), 6)."""
    x = _arg(input, "relu6")
    d = x._data
    return _masked("relu6", x, np.clip(d, 0, 6), (d > 0) & (d < 6), inplace)


@op(functional=True, methods=(), export=False)
def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6."""
    x = _arg(input, "hardsigmoid")
    d = x._data
    # PyTorch's backward multiplies by the float32 constant 1/6, also for float64 tensors
    return _masked("hardsigmoid", x, np.clip(d + 3.0, 0, 6) / 6.0,
                   ((d > -3) & (d < 3)) * float(np.float32(1.0 / 6.0)), inplace)


def _hardswish_vjp(ctx, g, a):
    xp = array_module(g)
    mid = (a > -3) & (a < 3)
    return (g * xp.where(mid, a * (1.0 / 3.0) + 0.5, 0.0) + g * (a >= 3),)


@op(functional=True, methods=(), export=False)
def hardswish(input, inplace=False):
    """x · relu6(x + 3) / 6 (Howard et al., MobileNetV3, 2019)."""
    x = _arg(input, "hardswish")
    d = x._data
    src = _alias(x) if inplace else x
    out = record("hardswish", (d * np.clip(d + 3.0, 0, 6) / 6.0).astype(d.dtype, copy=False),
                 (src,), _hardswish_vjp, saved=(src,))
    return _finish(x, out, inplace)


@op(functional=True, methods=())
def threshold(input, threshold, value, inplace=False):
    """x where x > threshold, else ``value``."""
    x = _arg(input, "threshold")
    d = x._data
    keep = d > threshold
    return _masked("threshold", x, np.where(keep, d, value), keep, inplace)


@op(functional=True)
def hardshrink(input, lambd=0.5):
    """x where |x| > λ, else 0."""
    x = _arg(input, "hardshrink")
    d = x._data
    keep = np.abs(d) > lambd
    return _masked("hardshrink", x, np.where(keep, d, 0), keep, False)


@op(functional=True, methods=(), export=False)
def softshrink(input, lambd=0.5):
    """x − λ for x > λ, x + λ for x < −λ, 0 between."""
    op = "softshrink"
    x = _arg(input, op)
    if lambd < 0:
        raise ValueError(f"{op}: lambda must be greater or equal to 0, got {lambd}")
    d = x._data
    keep = np.abs(d) > lambd
    return _masked(op, x, np.where(keep, d - np.sign(d) * lambd, 0), keep, False)


# ---- smooth saturating ones -----------------------------------------------------------------
def _softsign_vjp(ctx, g, a):
    den = array_module(g).abs(a) + 1.0
    return (g / (den * den),)


@op(functional=True, methods=(), export=False)
def softsign(input):
    """x / (1 + |x|)."""
    x = _arg(input, "softsign")
    d = x._data
    return record("softsign", d / (1.0 + np.abs(d)), (x,), _softsign_vjp, saved=(x,))


def _logsigmoid_vjp(ctx, g, a):
    return (g * array_module(g).sigmoid(-a),)


@op(functional=True, methods=(), export=False)
def logsigmoid(input):
    """log σ(x) = −softplus(−x), computed stably as min(x, 0) − log1p(e^{−|x|})."""
    x = _arg(input, "logsigmoid")
    d = x._data
    y = np.minimum(d, 0) - np.log1p(np.exp(-np.abs(d)))
    return record("logsigmoid", y.astype(d.dtype, copy=False), (x,), _logsigmoid_vjp,
                  saved=(x,))


@op(functional=True, methods=(), export=False)
def tanhshrink(input):
    """x − tanh(x)."""
    x = _arg(input, "tanhshrink")
    return sub(x, tanh(x))


@op(functional=True, methods=(), export=False)
def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(−x) along ``dim``."""
    x = _arg(input, "softmin")
    if dtype is not None:
        x = x.to(dtype)
    return softmax(neg(x), dim)


@op(functional=True, methods=(), export=False)
def glu(input, dim=-1):
    """a ⊗ σ(b) where a, b are the two halves of ``input`` along ``dim`` (Dauphin et al., 2017)."""
    op = "glu"
    x = _arg(input, op)
    if x._data.ndim == 0:
        raise ValueError(f"{op}: glu does not support scalars because halving size must be even")
    dim = dim % x._data.ndim
    n = x._data.shape[dim]
    if n % 2:
        raise ValueError(f"{op}: halving dimension must be even, but dimension {dim} is size {n}")
    a, b = split(x, n // 2, dim)
    return mul(a, b.sigmoid())


@op(functional=True)
def prelu(input, weight):
    """max(0, x) + w · min(0, x), with one slope per channel (dim 1) or one for all."""
    op = "prelu"
    x = _arg(input, op)
    w = as_tensor_arg(weight, op, "weight")
    nw = w._data.size
    if w._data.ndim > 1:
        raise ValueError(f"{op}: weight must be a 1-D tensor (num_parameters,), got shape "
                         f"{w._data.shape}")
    if nw != 1:
        C = x._data.shape[1] if x._data.ndim >= 2 else 1
        if nw != C:
            raise ValueError(f"{op}: mismatch in parameter numbers: weight has {nw} entries, "
                             f"the input has {C} channel(s) (dim 1; input shape "
                             f"{x._data.shape})")
        w = reshape(w, (1, C) + (1,) * (x._data.ndim - 2))
    return where(x._data > 0, x, mul(w, x))


@op(functional=True, methods=())
def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomized leaky ReLU (Xu et al., 2015): in training each negative entry gets a slope
    drawn from U(lower, upper) (``tensorgrad.random``'s generator); in eval the slope is the
    mean (lower + upper) / 2."""
    from .. import random as _random
    x = _arg(input, "rrelu")
    d = x._data
    if training:
        slope = _random.generator().uniform(lower, upper, d.shape).astype(d.dtype)
    else:
        slope = np.asarray((lower + upper) / 2.0, dtype=d.dtype)
    scale = np.where(d > 0, np.ones((), d.dtype), slope).astype(d.dtype)  # leaky_relu's rule
    return _masked("rrelu", x, d * scale, scale, inplace)

