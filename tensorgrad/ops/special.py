"""Special functions on numpy arrays: erf, erfc and erfinv, to full float64 precision.

scipy.special computes them when scipy is installed (it is not a dependency); otherwise erf is
libm's through a numba kernel (kernels/activation.py), erfc comes from Python's ``math`` module
element by element (exact, slower) and erfinv is
found by Halley's method on erf, started from Winitzki's closed-form approximation
(S. Winitzki, "A handy approximation for the error function and its inverse", 2008).
"""
from __future__ import annotations

import math

import numpy as np

_SP = []


def _scipy_special():
    """scipy.special, or None without scipy; imported on first use (at ``import tensorgrad``
    it cost ~0.15 s and loaded scipy's own BLAS library beside numpy's)."""
    if not _SP:
        try:  # pragma: no cover - depends on the environment
            from scipy import special
        except ImportError:  # pragma: no cover
            special = None
        _SP.append(special)
    return _SP[0]


_erfc_py = np.frompyfunc(math.erfc, 1, 1)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def erf_np(x):
    sp = _scipy_special()
    if sp is not None:
        return sp.erf(x)
    from ..kernels.activation import erf  # pragma: no cover - without scipy
    return erf(x)  # pragma: no cover


def erfc_np(x):
    sp = _scipy_special()
    if sp is not None:
        return sp.erfc(x)
    return _erfc_py(x).astype(x.dtype)  # pragma: no cover


def erfinv_np(x):
    """The inverse of erf on [-1, 1] (±inf at ±1, nan outside), in x's float dtype."""
    sp = _scipy_special()
    if sp is not None:
        return sp.erfinv(x)
    return _erfinv_halley(x)  # pragma: no cover


def _erfinv_halley(x):
    dt = x.dtype
    x = x.astype(np.float64)
    ax = np.abs(x)
    with np.errstate(all="ignore"):
        a = 0.147
        ln = np.log1p(-ax * ax)
        t = 2.0 / (math.pi * a) + ln / 2.0
        y = np.sqrt(np.sqrt(t * t - ln / a) - t)
        for _ in range(3):
            # f = erf(y) - |x|, written as (1 - |x|) - erfc(y) to keep precision near 1
            f = np.where(ax > 0.5, (1.0 - ax) - erfc_np(y), erf_np(y) - ax)
            d = _TWO_OVER_SQRT_PI * np.exp(-y * y)
            y = y - f / (d + y * f)  # Halley's step for erf: f'' = -2 y f'
        y = np.where(ax == 1.0, np.inf, y)
        y = np.where(ax > 1.0, np.nan, y)
    return (np.sign(x) * y).astype(dt)
