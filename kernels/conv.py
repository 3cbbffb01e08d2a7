"""im2col / col2im for 1-D, 2-D and 3-D convolution (numba).

Every kernel works on 5-D arrays ``(N, C, D, H, W)``; 1-D and 2-D convolutions are the same
kernels with singleton depth/height (a reshape, no copy), so one compiled kernel per dtype
serves all three.

Column layout (batch folded into the columns, so one large GEMM does the whole batch)::

    cols[k, n * P + p]      k = ((c * KD + i) * KH + j) * KW + l,   p = (a * OH + b) * OW + e

``k`` runs over input channel and kernel offset in the order of a PyTorch weight
``(C_out, C_in, KD, KH, KW)`` flattened to ``(C_out, K)``; ``p`` runs over output positions.
A cross-correlation is then ``W.reshape(C_out, K) @ cols``, shape ``(C_out, N * P)``.

``col2im`` is the adjoint (transpose) of ``im2col``: it scatter-adds every column entry back to
the input position it was read from, so ``<im2col(x), y> == <x, col2im(y)>``.

Both kernels copy one sample at a time into a small zero-bordered scratch volume first (it stays
in cache), so the copy loops need no bounds tests: measured 1.7-1.9x faster than testing every
index against the padding (bench notes in bench/RESULTS.md).

The ``*_into`` kernels take C-contiguous arrays of one float dtype and write into outputs the
caller allocates; checking shapes, dtype and contiguity is the caller's job (tensorgrad.ops.conv).
"""

from __future__ import annotations

import numpy as np

from ._numba import njit

__all__ = ["out_size", "im2col", "col2im", "im2col_into", "col2im_into"]


def out_size(n: int, k: int, s: int, p: int, d: int = 1) -> int:
    """Output length of a convolution/pooling window along one axis (PyTorch's formula)."""
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


@njit
def im2col_into(x, cols, kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw, od, oh, ow):
    """x (N, C, D, H, W) -> cols (C*kd*kh*kw, N*od*oh*ow), overwritten."""
    N, C, D, H, W = x.shape
    P = od * oh * ow
    # padded scratch just large enough for every window read
    Dp = max(D + 2 * pd, (od - 1) * sd + (kd - 1) * dd + 1)
    Hp = max(H + 2 * ph, (oh - 1) * sh + (kh - 1) * dh + 1)
    Wp = max(W + 2 * pw, (ow - 1) * sw + (kw - 1) * dw + 1)
    xp = np.zeros((C, Dp, Hp, Wp), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for z in range(D):
                for y in range(H):
                    src = x[n, c, z, y]
                    dst = xp[c, z + pd, y + ph]
                    for e in range(W):
                        dst[e + pw] = src[e]
        col0 = n * P
        for c in range(C):
            for i in range(kd):
                for j in range(kh):
                    for l in range(kw):
                        row = cols[((c * kd + i) * kh + j) * kw + l]
                        x0 = l * dw
                        for a in range(od):
                            zz = a * sd + i * dd
                            for b in range(oh):
                                src = xp[c, zz, b * sh + j * dh]
                                base = col0 + (a * oh + b) * ow
                                if sw == 1:
                                    for e in range(ow):
                                        row[base + e] = src[x0 + e]
                                else:
                                    for e in range(ow):
                                        row[base + e] = src[x0 + e * sw]


@njit
def col2im_into(cols, gx, kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw, od, oh, ow):
    """Adjoint of im2col_into: gx (N, C, D, H, W) is overwritten with the scatter-add of cols."""
    N, C, D, H, W = gx.shape
    P = od * oh * ow
    Dp = max(D + 2 * pd, (od - 1) * sd + (kd - 1) * dd + 1)
    Hp = max(H + 2 * ph, (oh - 1) * sh + (kh - 1) * dh + 1)
    Wp = max(W + 2 * pw, (ow - 1) * sw + (kw - 1) * dw + 1)
    gp = np.empty((C, Dp, Hp, Wp), dtype=gx.dtype)
    for n in range(N):
        gp[:] = 0
        col0 = n * P
        for c in range(C):
            for i in range(kd):
                for j in range(kh):
                    for l in range(kw):
                        row = cols[((c * kd + i) * kh + j) * kw + l]
                        x0 = l * dw
                        for a in range(od):
                            zz = a * sd + i * dd
                            for b in range(oh):
                                dst = gp[c, zz, b * sh + j * dh]
                                base = col0 + (a * oh + b) * ow
                                if sw == 1:
                                    for e in range(ow):
                                        dst[x0 + e] += row[base + e]
                                else:
                                    for e in range(ow):
                                        dst[x0 + e * sw] += row[base + e]
        for c in range(C):
            for z in range(D):
                for y in range(H):
                    src = gp[c, z + pd, y + ph]
                    dst = gx[n, c, z, y]
                    for e in range(W):
                        dst[e] = src[e + pw]


def _sizes(spatial, ksize, stride, padding, dilation):
    return tuple(out_size(s, k, st, p, d)
                 for s, k, st, p, d in zip(spatial, ksize, stride, padding, dilation))


def im2col(x, ksize, stride=(1, 1, 1), padding=(0, 0, 0), dilation=(1, 1, 1)):
    """Allocating wrapper: x (N, C, D, H, W) -> cols (C*KD*KH*KW, N*OD*OH*OW)."""
    x = np.ascontiguousarray(x)
    N, C = x.shape[:2]
    o = _sizes(x.shape[2:], ksize, stride, padding, dilation)
    cols = np.empty((C * ksize[0] * ksize[1] * ksize[2], N * o[0] * o[1] * o[2]), dtype=x.dtype)
    im2col_into(x, cols, *ksize, *stride, *padding, *dilation, *o)
    return cols


def col2im(cols, x_shape, ksize, stride=(1, 1, 1), padding=(0, 0, 0), dilation=(1, 1, 1)):
    """Allocating wrapper: the adjoint of im2col, cols -> array of x_shape (N, C, D, H, W)."""
    cols = np.ascontiguousarray(cols)
    o = _sizes(x_shape[2:], ksize, stride, padding, dilation)
    gx = np.empty(x_shape, dtype=cols.dtype)
    col2im_into(cols, gx, *ksize, *stride, *padding, *dilation, *o)
    return gx
