"""``tg.nn.init``: in-place weight initializers, PyTorch's names and formulas.

Every function fills its tensor in place under ``no_grad`` (bumping its version counter) with
draws from ``tensorgrad.random.generator()`` — so ``tg.manual_seed`` makes them reproducible —
and returns the tensor.

The textbook schemes of §2.3.1 and §5.3 (explained in docs/maths.md), offered under **tg**
names (``*_notes_``: the course's conventions) because PyTorch's ``xavier_*`` (Glorot & Bengio
2010) uses Var = 2/(fan_in + fan_out):

=====================================  ====================================================
``small_normal_(w, scale=0.01)``       ``randn * 0.01``, small random init
``xavier_notes_(w)``                   ``randn * sqrt(1/n[l-1])`` (Var = 1/fan_in)
``he_notes_(w)``                       ``randn * sqrt(2/n[l-1])`` (Var = 2/fan_in; the same as
                                       ``kaiming_normal_(w, nonlinearity='relu')``)
``xavier_normal_(w, variance='notes')`` Var = 1/fan_in under PyTorch's name
``init_module_(model, scheme)``        one of 'zeros', 'small', 'xavier', 'xavier_notes',
                                       'he', 'default' on every Linear/conv weight (biases 0)
=====================================  ====================================================
"""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from ..autograd.grad_mode import no_grad
from .. import random as _random

__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "ones_", "zeros_", "eye_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
           "trunc_normal_", "small_normal_", "xavier_notes_", "he_notes_", "init_module_",
           "calculate_fan_in_and_fan_out", "orthogonal_", "dirac_", "sparse_"]


def _check(tensor, fn):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"init.{fn}: expected a tg.Tensor (e.g. a Parameter), got "
                        f"{type(tensor).__name__}")
    if tensor._data.dtype.kind != "f":
        raise TypeError(f"init.{fn}: expected a floating tensor, got dtype {tensor._data.dtype}")


def _fill(tensor, values):
    """Copy ``values`` (a numpy array) into ``tensor`` in place, without recording a graph."""
    with no_grad():
        tensor.copy_(values)  # one cast-and-copy into the tensor's memory
    return tensor


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for an activation (PyTorch's table): 1 for linear/conv/sigmoid,
    5/3 for tanh, sqrt(2) for relu, sqrt(2/(1+slope^2)) for leaky_relu, 3/4 for selu."""
    linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                  "conv_transpose2d", "conv_transpose3d"]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r} (expected one "
                     f"of linear, conv*, sigmoid, tanh, relu, leaky_relu, selu)")


def calculate_fan_in_and_fan_out(tensor):
    """fan_in = in_features * receptive field, fan_out = out_features * receptive field
    (weights are (out, in, *kernel), as PyTorch)."""
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(f"init: fan in and fan out can not be computed for a tensor with fewer "
                         f"than 2 dimensions (got shape {tuple(shape)})")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


_calculate_fan_in_and_fan_out = calculate_fan_in_and_fan_out


def _fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init: mode {mode!r} not supported, please use one of fan_in, fan_out")
    fi, fo = calculate_fan_in_and_fan_out(tensor)
    return fi if mode == "fan_in" else fo


def uniform_(tensor, a=0.0, b=1.0):
    """Fill with U(a, b)."""
    _check(tensor, "uniform_")
    return _fill(tensor, _random.generator().uniform(a, b, size=tensor.shape))


def normal_(tensor, mean=0.0, std=1.0):
    """Fill with N(mean, std^2)."""
    _check(tensor, "normal_")
    return _fill(tensor, _random.generator().normal(mean, std, size=tensor.shape))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    """Fill with N(mean, std^2) redrawn until inside [a, b] (rejection sampling)."""
    _check(tensor, "trunc_normal_")
    g = _random.generator()
    out = g.normal(mean, std, size=tensor.shape)
    bad = (out < a) | (out > b)
    while bad.any():
        out[bad] = g.normal(mean, std, size=int(bad.sum()))
        bad = (out < a) | (out > b)
    return _fill(tensor, out)


def constant_(tensor, val):
    _check(tensor, "constant_")
    return _fill(tensor, np.full(tensor.shape, val))


def ones_(tensor):
    return constant_(tensor, 1.0)


def zeros_(tensor):
    return constant_(tensor, 0.0)


def eye_(tensor):
    _check(tensor, "eye_")
    if tensor.ndim != 2:
        raise ValueError(f"init.eye_: only 2-D tensors are supported, got shape {tensor.shape}")
    return _fill(tensor, np.eye(*tensor.shape))


def orthogonal_(tensor, gain=1.0):
    """A (semi-)orthogonal matrix (Saxe et al. 2014) from the QR decomposition of a normal
    draw, signs fixed by R's diagonal, times ``gain``; tensors of more than 2 dims are
    viewed as (size(0), the rest), as PyTorch."""
    _check(tensor, "orthogonal_")
    if tensor.ndim < 2:
        raise ValueError(f"init.orthogonal_: only tensors with 2 or more dimensions are "
                         f"supported, got shape {tensor.shape}")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    a = _random.generator().standard_normal((rows, cols))
    if rows < cols:
        a = a.T
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (q * gain).reshape(tensor.shape))


def dirac_(tensor, groups=1):
    """The identity of a convolution (3-, 4- or 5-D weight): 1 at the kernel's centre from
    input channel d to output channel d of each of the ``groups``; everything else 0."""
    _check(tensor, "dirac_")
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(f"init.dirac_: only tensors with 3, 4, or 5 dimensions are "
                         f"supported, got shape {tensor.shape}")
    out = tensor.shape[0]
    if out % groups:
        raise ValueError(f"init.dirac_: dim 0 ({out}) must be divisible by groups ({groups})")
    per = out // groups
    w = np.zeros(tensor.shape)
    centre = tuple(k // 2 for k in tensor.shape[2:])
    for g in range(groups):
        for d in range(min(per, tensor.shape[1])):
            w[(g * per + d, d) + centre] = 1.0
    return _fill(tensor, w)


def sparse_(tensor, sparsity, std=0.01):
    """A 2-D matrix drawn from N(0, std²) with a fraction ``sparsity`` of each column set
    to zero (Martens 2010), as PyTorch."""
    _check(tensor, "sparse_")
    if tensor.ndim != 2:
        raise ValueError(f"init.sparse_: only tensors with 2 dimensions are supported, got "
                         f"shape {tensor.shape}")
    rows, cols = tensor.shape
    g = _random.generator()
    w = g.normal(0.0, std, size=(rows, cols))
    k = int(math.ceil(sparsity * rows))
    for c in range(cols):
        w[g.permutation(rows)[:k], c] = 0.0
    return _fill(tensor, w)


def xavier_uniform_(tensor, gain=1.0):
    """Glorot uniform: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))."""
    _check(tensor, "xavier_uniform_")
    fi, fo = calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / (fi + fo))
    return _fill(tensor, _random.generator().uniform(-a, a, size=tensor.shape))


def xavier_normal_(tensor, gain=1.0, variance="pytorch"):
    """Glorot normal: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)) (PyTorch).

    **tg** ``variance='notes'``: the textbook Xavier of §5.3 (docs/maths.md),
    std = gain * sqrt(1 / fan_in)."""
    _check(tensor, "xavier_normal_")
    fi, fo = calculate_fan_in_and_fan_out(tensor)
    if variance == "pytorch":
        std = gain * math.sqrt(2.0 / (fi + fo))
    elif variance == "notes":
        std = gain * math.sqrt(1.0 / fi)
    else:
        raise ValueError(f"init.xavier_normal_: variance must be 'pytorch' or 'notes', got "
                         f"{variance!r}")
    return _fill(tensor, _random.generator().normal(0.0, std, size=tensor.shape))


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """He uniform: U(-b, b), b = gain * sqrt(3 / fan) (gain from ``calculate_gain``)."""
    _check(tensor, "kaiming_uniform_")
    fan = _fan(tensor, mode)
    if fan == 0:
        return tensor
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return _fill(tensor, _random.generator().uniform(-bound, bound, size=tensor.shape))


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """He normal: N(0, std^2), std = gain / sqrt(fan); with the defaults (leaky_relu, a=0)
    Var = 2/fan_in — He initialization for ReLU layers (He et al. 2015; §5.3)."""
    _check(tensor, "kaiming_normal_")
    fan = _fan(tensor, mode)
    if fan == 0:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return _fill(tensor, _random.generator().normal(0.0, std, size=tensor.shape))


# ---- the textbook schemes of §2.3.1 / §5.3 (tg) ---------------------------------------------
def small_normal_(tensor, scale=0.01):
    """**tg** Small random init (§2.3.1, docs/maths.md): ``randn(shape) * scale``."""
    _check(tensor, "small_normal_")
    return _fill(tensor, _random.generator().standard_normal(tensor.shape) * scale)


def xavier_notes_(tensor):
    """**tg** Xavier in its textbook form (§5.3, docs/maths.md):
    ``randn(shape) * sqrt(1 / fan_in)``."""
    return xavier_normal_(tensor, variance="notes")


def he_notes_(tensor):
    """**tg** He (§5.3, docs/maths.md): ``randn(shape) * sqrt(2 / fan_in)``."""
    _check(tensor, "he_notes_")
    fi, _ = calculate_fan_in_and_fan_out(tensor)
    return _fill(tensor, _random.generator().standard_normal(tensor.shape) * math.sqrt(2.0 / fi))


_SCHEMES = {
    "zeros": zeros_,
    "small": small_normal_,
    "xavier": xavier_notes_,
    "xavier_notes": xavier_notes_,
    "xavier_pytorch": xavier_normal_,
    "he": he_notes_,
    "kaiming": he_notes_,
}


def init_module_(module, scheme="he", bias=0.0):
    """**tg** Re-initialize every weight (2-D or more) of ``module`` with one of the schemes
    of §2.3.1 / §5.3 — 'zeros', 'small' (×0.01), 'xavier' (Var 1/n), 'xavier_pytorch',
    'he' (Var 2/n) or 'default' (each layer's ``reset_parameters``) — and set biases (1-D
    parameters named ``bias``) to ``bias``. Returns the module."""
    if scheme == "default":
        for m in module.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
        return module
    if scheme not in _SCHEMES:
        raise ValueError(f"init_module_: unknown scheme {scheme!r} (expected one of "
                         f"{', '.join(list(_SCHEMES) + ['default'])})")
    fn = _SCHEMES[scheme]
    for name, p in module.named_parameters():
        if p.ndim >= 2:
            fn(p)
        elif name.rsplit(".", 1)[-1] == "bias":
            constant_(p, bias)
    return module
