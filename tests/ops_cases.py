"""Rows of the parity table (tests/test_ops_parity.py) for the op library of issue #10: math,
reductions and scans, sorting, shape and indexing ops. Each row runs with ``m = tensorgrad``
and ``m = torch`` (forward, gradients in both backward modes, second derivatives, gradcheck,
float32) and tests/test_vjp_modes.py runs every VJP in both modes from them."""
from __future__ import annotations

import numpy as np

from test_ops_parity import B, Case, I

IDX34 = [[0, 2, 1, 0], [2, 2, 0, 1]]

MATH = [
    Case("tan", lambda m, a: m.tan(a), [(3, 4)], "unit"),
    Case("sinh", lambda m, a: a.sinh(), [(3, 4)]),
    Case("cosh", lambda m, a: m.cosh(a), [(3, 4)]),
    Case("asin", lambda m, a: m.asin(a), [(3, 4)], "unit"),
    Case("acos", lambda m, a: a.acos(), [(3, 4)], "unit"),
    Case("atan", lambda m, a: m.atan(a), [(3, 4)], "big"),
    Case("arcsinh", lambda m, a: m.arcsinh(a), [(3, 4)], "big"),
    Case("acosh", lambda m, a: m.acosh(a), [(3, 4)], "gt1"),
    Case("atanh", lambda m, a: a.atanh(), [(3, 4)], "unit"),
    Case("erf", lambda m, a: m.erf(a), [(3, 4)]),
    Case("erfc", lambda m, a: a.erfc(), [(3, 4)]),
    Case("erfinv", lambda m, a: m.erfinv(a), [(3, 4)], "unit"),
    Case("exp2", lambda m, a: m.exp2(a), [(3, 4)]),
    Case("log2", lambda m, a: m.log2(a), [(3, 4)], "pos"),
    Case("log10", lambda m, a: a.log10(), [(3, 4)], "pos"),
    Case("trunc_zero_grad", lambda m, a: m.trunc(a) * a, [(3, 4)], "big"),
    Case("frac", lambda m, a: m.frac(a) * a, [(3, 4)], "big"),
    Case("fmod", lambda m, a, b: m.fmod(a, b), [(3, 4), (4,)], ("big", "nz")),
    Case("fmod_scalar", lambda m, a: a.fmod(0.7), [(3, 4)], "big"),
    Case("atan2", lambda m, a, b: m.atan2(a, b), [(3, 4), (3, 1)], ("any", "nz")),
    Case("hypot", lambda m, a, b: m.hypot(a, b), [(3, 4), (4,)], "nz"),
    Case("logaddexp", lambda m, a, b: m.logaddexp(a, b), [(3, 4), (3, 4)], "big"),
    Case("copysign", lambda m, a, b: m.copysign(a, b), [(3, 4), (4,)], "nz"),
    Case("lerp_tensor_weight", lambda m, a, b, w: m.lerp(a, b, w), [(3, 4), (3, 4), (4,)]),
    Case("lerp_scalar_weight", lambda m, a, b: a.lerp(b, 0.3), [(3, 4), (1, 4)]),
    Case("div_trunc", lambda m, a, b: m.div(a, b, rounding_mode="trunc") + a * b,
         [(3, 4), (4,)], ("big", "nz")),
    Case("div_floor", lambda m, a: a.div(0.6, rounding_mode="floor") * a, [(3, 4)], "big"),
    Case("div_plain", lambda m, a, b: a.div(b) + m.divide(a, b), [(3, 4), (4,)], ("any", "nz")),
    Case("add_alpha", lambda m, a, b: m.add(a, b, alpha=2.5), [(3, 4), (4,)]),
    Case("sub_alpha", lambda m, a, b: a.sub(b, alpha=-0.5), [(3, 4), (3, 1)]),
    Case("clamp_tensor_min", lambda m, a, lo: m.clamp(a, min=lo), [(3, 4), (4,)]),
    Case("clamp_tensor_max", lambda m, a, hi: a.clip(max=hi), [(3, 4), (3, 1)]),
    Case("sign_ceil_round", lambda m, a: (m.ceil(a) + m.round(a) + a.floor()) * a, [(3, 4)],
         "big"),
]

INDEX = [
    Case("index_put_accumulate", lambda m, a, v: m.index_put(a, (I(m, [0, 2, 0]),), v,
                                                             accumulate=True),
         [(3, 4), (3, 4)]),
]

MORE_CASES = MATH + INDEX
