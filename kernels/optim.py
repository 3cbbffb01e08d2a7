"""Optimizer update kernels: one pass over the parameter instead of numpy's two
(``p -= lr * g`` builds ``lr * g`` first). Plain arrays in, nothing of tensorgrad."""
from __future__ import annotations

from ._numba import njit

__all__ = ["axpy_"]


@njit
def _axpy_flat(y, x, a):
    for i in range(y.size):
        y[i] += a * x[i]


def axpy_(y, x, a):
    """``y += a * x`` in place. ``y`` and ``x``: C-contiguous arrays of one float dtype and
    shape (checked by the caller)."""
    _axpy_flat(y.reshape(-1), x.reshape(-1), y.dtype.type(a))
