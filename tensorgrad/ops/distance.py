"""Distances between sets of vectors with PyTorch's names: ``cdist`` and ``pdist``.

Both are compositions of recorded ops (differences and a vector norm), so their gradients and
higher derivatives come from those ops; at a zero distance the norm's gradient is 0, as in
PyTorch.
"""
from __future__ import annotations

import numpy as np

from ._registry import op
from ._util import data_of
from .matrix import vector_norm


def _p(op_name, p):
    p = float(p)
    if p < 0:
        raise RuntimeError(f"{op_name}: only supports non-negative p values, got {p}")
    return p


@op(methods=())
def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """p-norm distances between each row of ``x1`` (…, P, M) and each row of ``x2`` (…, R, M):
    a (…, P, R) tensor, batch dims broadcast."""
    a, b = data_of("cdist", x1, "x1"), data_of("cdist", x2, "x2")
    if a.ndim < 2 or b.ndim < 2:
        raise RuntimeError(f"cdist: only supports at least 2D tensors, X1 got: {a.ndim}D, "
                           f"X2 got: {b.ndim}D")
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(f"cdist: X1 and X2 must have the same number of columns. X1: "
                           f"{a.shape[-1]} X2: {b.shape[-1]}")
    if a.dtype.kind != "f" or b.dtype.kind != "f":
        raise RuntimeError(f"cdist: only supports floating-point dtypes, X1 got: {a.dtype}, "
                           f"X2 got: {b.dtype}")
    if compute_mode not in ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                            "donot_use_mm_for_euclid_dist"):
        raise ValueError(f"cdist: {compute_mode} is not a valid value for compute_mode")
    p = _p("cdist", p)
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return vector_norm(diff, p, -1)


@op(functional=True, methods=())
def pdist(input, p=2.0):  # noqa: A002
    """p-norm distances between the rows of an (N, M) input: the N(N-1)/2 pairs i < j in
    row-major order."""
    d = data_of("pdist", input)
    if d.ndim != 2:
        raise RuntimeError(f"pdist: only supports 2D tensors, got: {d.ndim}D")
    if d.dtype.kind != "f":
        raise RuntimeError(f"pdist: only supports floating-point dtypes, got {d.dtype}")
    p = _p("pdist", p)
    i, j = np.triu_indices(d.shape[0], k=1)
    return vector_norm(input[i] - input[j], p, -1)
