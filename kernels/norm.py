"""Batch normalization over ``(N, C, S)`` arrays (numba): per-channel statistics, the affine
map and the backward pass in few passes over memory.

numpy computes batch norm as a chain of whole-array temporaries (centre, square, mean, scale,
shift: six passes and four temporaries forward, about ten backward). Here, per channel ``c``
(``M = N*S`` values; ``xhat = (x - mean) * invstd``)::

    forward   mean, var = two read passes;  y = x * scale + shift          (one write pass)
              scale = w * invstd,  shift = b - mean * scale
    backward  sg = sum(g),  sgx = sum(g * xhat)                           (one read pass)
              dx = w * invstd * (g - sg/M - xhat * sgx/M)                 (one write pass)
              dw = sgx,  db = sg

Sums accumulate in float64 whatever the array dtype. The variance is the *biased* one,
computed around the mean (two passes, no cancellation); the sums may be reassociated
(vectorized), which changes only their rounding. Every kernel works on the channel
range ``[c0, c1)`` and releases the GIL, so a caller may split the channels over threads.
"""
from __future__ import annotations

import numpy as np

from ._numba import njit

__all__ = ["bn_stats_into", "bn_apply_into", "bn_grad_sums_into", "bn_input_grad_into"]


_REASSOC = {"reassoc", "contract"}  # lets the sums vectorize; NaN/inf semantics kept


@njit(nogil=True, fastmath=_REASSOC)
def bn_stats_into(x, mean, var, c0, c1):
    """mean[c], var[c] (biased) of x (N, C, S) over axes 0 and 2, for c in [c0, c1)."""
    N, _, S = x.shape
    M = N * S
    for c in range(c0, c1):
        s = 0.0
        for n in range(N):
            row = x[n, c]
            for t in range(S):
                s += row[t]
        mu = s / M
        q = 0.0
        for n in range(N):
            row = x[n, c]
            for t in range(S):
                d = row[t] - mu
                q += d * d
        mean[c] = mu
        var[c] = q / M


@njit(nogil=True)
def bn_apply_into(x, scale, shift, y, c0, c1):
    """y[n, c, :] = x[n, c, :] * scale[c] + shift[c] for c in [c0, c1)."""
    N, _, S = x.shape
    for c in range(c0, c1):
        a = scale[c]
        b = shift[c]
        for n in range(N):
            src = x[n, c]
            dst = y[n, c]
            for t in range(S):
                dst[t] = src[t] * a + b


@njit(nogil=True, fastmath=_REASSOC)
def bn_grad_sums_into(g, x, mean, sg, sgx, c0, c1):
    """sg[c] = sum(g[:, c]), sgx[c] = sum(g[:, c] * (x[:, c] - mean[c])) for c in [c0, c1)."""
    N, _, S = x.shape
    for c in range(c0, c1):
        mu = mean[c]
        a = 0.0
        b = 0.0
        for n in range(N):
            gr = g[n, c]
            xr = x[n, c]
            for t in range(S):
                a += gr[t]
                b += gr[t] * (xr[t] - mu)
        sg[c] = a
        sgx[c] = b


@njit(nogil=True)
def bn_input_grad_into(g, x, mean, k_g, k_x, k_0, dx, c0, c1):
    """dx[n, c, :] = k_g[c] * g + k_x[c] * (x - mean[c]) + k_0[c] for c in [c0, c1): the input
    gradient with its per-channel coefficients folded in by the caller."""
    N, _, S = x.shape
    for c in range(c0, c1):
        mu = mean[c]
        a = k_g[c]
        b = k_x[c]
        z = k_0[c]
        for n in range(N):
            gr = g[n, c]
            xr = x[n, c]
            dr = dx[n, c]
            for t in range(S):
                dr[t] = a * gr[t] + b * (xr[t] - mu) + z
