"""**tg** Exponentially weighted (moving) averages with bias correction (§6.2, docs/maths.md)."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor

__all__ = ["EWA", "ewa"]


class EWA:
    """``v_t = β v_{t−1} + (1 − β) x_t`` with ``v_0 = 0``; ``update(x)`` returns the
    bias-corrected ``v_t / (1 − βᵗ)`` (or ``v_t`` itself with ``bias_correction=False``).

    It averages over roughly ``1 / (1 − β)`` recent values. ``x`` may be a number, a numpy
    array or a Tensor (arrays come back as arrays)."""

    def __init__(self, beta: float = 0.9, bias_correction: bool = True):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"EWA: beta must be in [0, 1), got {beta}")
        self.beta = float(beta)
        self.bias_correction = bool(bias_correction)
        self.value = 0.0  # the raw v_t
        self.t = 0

    def update(self, x):
        if isinstance(x, Tensor):
            x = x._data
        x = np.asarray(x, dtype=np.float64) if not np.isscalar(x) else float(x)
        self.t += 1
        self.value = self.beta * self.value + (1.0 - self.beta) * x
        return self.corrected if self.bias_correction else self.value

    @property
    def corrected(self):
        """``v_t / (1 − βᵗ)`` (0 before the first update)."""
        if self.t == 0:
            return 0.0
        return self.value / (1.0 - self.beta ** self.t)

    def reset(self):
        self.value, self.t = 0.0, 0

    def __repr__(self):
        return f"EWA(beta={self.beta}, t={self.t}, value={self.value!r})"


def ewa(series, beta: float = 0.9, bias_correction: bool = True) -> np.ndarray:
    """The averaged series of a 1-D sequence, as a float64 array."""
    avg = EWA(beta, bias_correction)
    xs = np.asarray(series._data if isinstance(series, Tensor) else series, dtype=np.float64)
    if xs.ndim != 1:
        raise ValueError(f"ewa: expected a 1-D series, got shape {xs.shape}")
    return np.array([avg.update(x) for x in xs], dtype=np.float64)
