"""tanh and sigmoid for the fused recurrent loops (kernels/rnn.py), as numba functions.

numba's float32 tanh is libm's scalar tanhf (PERF.md), which keeps LLVM from vectorizing a
loop. For float32 these use a rational approximation instead, evaluated in float64 and rounded
once: tanh(x) = x·P(u)/Q(u), u = (x/9)², P of degree 5 and Q of degree 4 in u, fitted by
linear least squares on the relative error, reweighted toward the least maximum error
(Lawson's iteration), on [0, 9] (1.3e-9 in exact arithmetic; after the rounding to
float32 at most 0.53 ulp against the float64 tanh, where numpy's float32 tanh has 1.4 ulp).
Beyond |x| = 9 float32's tanh is ±1. It is plain arithmetic, so the loops around it vectorize.
float64 keeps libm's tanh (exact to an ulp; float64 runs are for checking).
"""
from __future__ import annotations

import math

import numpy as np
from numba import types
from numba.extending import overload

from ._numba import njit

__all__ = ["tanh", "sigmoid"]

_TP = (0.9999999987336278, 11.081523729921196, 25.38814565241328, 14.897479671734235,
       1.3191545735265582, -0.04270556236315778)
_TQ = (1.0, 38.081522725561996, 178.7893914191661, 209.42998715200238, 55.4914966067173)


@njit
def _rational_tanh(v):
    """The approximation above on a float64 (float64 out)."""
    p0, p1, p2, p3, p4, p5 = _TP
    q0, q1, q2, q3, q4 = _TQ
    c = min(max(v, -9.0), 9.0)
    u = c * c * (1.0 / 81.0)
    r = c * (((((p5 * u + p4) * u + p3) * u + p2) * u + p1) * u + p0) / (
        (((q4 * u + q3) * u + q2) * u + q1) * u + q0)
    r = 1.0 if v > 9.0 else r
    return -1.0 if v < -9.0 else r


def tanh(x):
    """tanh for the kernels (float32: the rational approximation; float64: libm)."""
    return math.tanh(x)


def sigmoid(x):
    """σ(x) = ½·tanh(x/2) + ½ for the kernels (one tanh, no exp)."""
    return 0.5 * math.tanh(0.5 * x) + 0.5


@overload(tanh)
def _tanh_impl(x):
    if x == types.float32:
        return lambda x: np.float32(_rational_tanh(np.float64(x)))
    return lambda x: math.tanh(x)


@overload(sigmoid)
def _sigmoid_impl(x):
    if x == types.float32:
        return lambda x: np.float32(0.5 * _rational_tanh(0.5 * np.float64(x)) + 0.5)
    return lambda x: 0.5 * math.tanh(0.5 * x) + 0.5
