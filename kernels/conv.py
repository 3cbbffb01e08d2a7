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

The ``*_into`` kernels release the GIL (``nogil``), so callers may run them on batch chunks in
several threads. They take C-contiguous arrays of one float dtype and write into outputs the
caller allocates; checking shapes, dtype and contiguity is the caller's job (tensorgrad.ops.conv).
"""

from __future__ import annotations

import numpy as np

from ._numba import njit

__all__ = ["out_size", "im2col", "col2im", "im2col_into", "col2im_into",
           "pad_into", "im2col_flat_into", "col2im_flat_into", "gemm_to_nchw_into",
           "nchw_to_gemm_into"]


def out_size(n: int, k: int, s: int, p: int, d: int = 1) -> int:
    """Output length of a convolution/pooling window along one axis (PyTorch's formula)."""
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


@njit(nogil=True)
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
                    dst = xp[c, z + pd, y + ph, pw:pw + W]
                    for e in range(W):
                        dst[e] = src[e]
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
                                base = col0 + (a * oh + b) * ow
                                d = row[base:base + ow]
                                if sw == 1:
                                    s = xp[c, zz, b * sh + j * dh, x0:x0 + ow]
                                    for e in range(ow):
                                        d[e] = s[e]
                                else:
                                    s = xp[c, zz, b * sh + j * dh]
                                    for e in range(ow):
                                        d[e] = s[x0 + e * sw]


@njit(nogil=True)
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
                                base = col0 + (a * oh + b) * ow
                                r = row[base:base + ow]
                                if sw == 1:
                                    d = gp[c, zz, b * sh + j * dh, x0:x0 + ow]
                                    for e in range(ow):
                                        d[e] += r[e]
                                else:
                                    d = gp[c, zz, b * sh + j * dh]
                                    for e in range(ow):
                                        d[x0 + e * sw] += r[e]
        for c in range(C):
            for z in range(D):
                for y in range(H):
                    src = gp[c, z + pd, y + ph, pw:pw + W]
                    dst = gx[n, c, z, y]
                    for e in range(W):
                        dst[e] = src[e]


# ---- stride-1 "flat" variant --------------------------------------------------------------------
# For stride 1 the columns can be taken over the *padded* grid: position q = (a*Hp + b)*Wp + e
# for q < Q = ((OD-1)*Hp + OH)*Wp (so e runs to Wp, not just OW, and b past OH between slabs). Row k of the columns is then one contiguous
# slice of the flattened padded sample, xp[c, off_k : off_k + Q], so im2col is K memcpy's and
# col2im K vector adds. Positions with b >= OH or e >= OW are garbage: the caller crops them
# from the GEMM result and feeds zeros there in the backward pass. The padded sample is one
# row longer than Dp*Hp*Wp per channel so the last slices stay in bounds.

@njit(nogil=True)
def pad_into(x, n, xp, pd, ph, pw):
    """Copy sample n of x (N, C, D, H, W) into the zero-bordered scratch xp (C, L) at offset
    (pd, ph, pw) of a (Dp, Hp, Wp) grid; borders are left as they are (zero)."""
    C, D, H, W = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    Hp, Wp = H + 2 * ph, W + 2 * pw
    for c in range(C):
        dst = xp[c]
        for z in range(D):
            for y in range(H):
                src = x[n, c, z, y]
                base = ((z + pd) * Hp + y + ph) * Wp + pw
                d = dst[base:base + W]
                for e in range(W):
                    d[e] = src[e]


@njit(nogil=True)
def im2col_flat_into(x, cols, xp, kd, kh, kw, pd, ph, pw, dd, dh, dw, od, oh):
    """Stride-1 im2col over the padded grid: cols (K, N*Q), Q = ((od-1)*Hp + oh)*Wp; xp is a
    zeroed (C, Dp*Hp*Wp + Wp) scratch."""
    N, C = x.shape[0], x.shape[1]
    Hp, Wp = x.shape[3] + 2 * ph, x.shape[4] + 2 * pw
    Q = ((od - 1) * Hp + oh) * Wp
    for n in range(N):
        pad_into(x, n, xp, pd, ph, pw)
        col0 = n * Q
        for c in range(C):
            src = xp[c]
            for i in range(kd):
                for j in range(kh):
                    for l in range(kw):
                        off = (i * dd * Hp + j * dh) * Wp + l * dw
                        # slice first: indexing row[col0 + q] directly measured 4x slower
                        dst = cols[((c * kd + i) * kh + j) * kw + l, col0:col0 + Q]
                        s = src[off:off + Q]
                        for q in range(Q):
                            dst[q] = s[q]


@njit(nogil=True)
def col2im_flat_into(cols, gx, gp, kd, kh, kw, pd, ph, pw, dd, dh, dw, od, oh):
    """Adjoint of im2col_flat_into: gx (N, C, D, H, W) is overwritten; gp is a
    (C, Dp*Hp*Wp + Wp) scratch."""
    N, C, D, H, W = gx.shape
    Hp, Wp = H + 2 * ph, W + 2 * pw
    Q = ((od - 1) * Hp + oh) * Wp
    for n in range(N):
        gp[:] = 0
        col0 = n * Q
        for c in range(C):
            dst = gp[c]
            for i in range(kd):
                for j in range(kh):
                    for l in range(kw):
                        off = (i * dd * Hp + j * dh) * Wp + l * dw
                        r = cols[((c * kd + i) * kh + j) * kw + l, col0:col0 + Q]
                        d = dst[off:off + Q]
                        for q in range(Q):
                            d[q] += r[q]
        for c in range(C):
            src = gp[c]
            for z in range(D):
                for y in range(H):
                    base = ((z + pd) * Hp + y + ph) * Wp + pw
                    out = gx[n, c, z, y]
                    s = src[base:base + W]
                    for e in range(W):
                        out[e] = s[e]


@njit(nogil=True)
def gemm_to_nchw_into(y, out, bias, Qs, s2, s3):
    """out[n, co, a, b, e] = y[co, n*Qs + a*s2 + b*s3 + e] + bias[co]: the GEMM result
    (C_out, m*Qs) cropped to the real output positions and transposed to (m, C_out, OD, OH, OW)
    (pass zeros for no bias)."""
    m, Co, od, oh, ow = out.shape
    for n in range(m):
        for co in range(Co):
            yr = y[co]
            bv = bias[co]
            for a in range(od):
                for b in range(oh):
                    base = n * Qs + a * s2 + b * s3
                    dst = out[n, co, a, b]
                    src = yr[base:base + ow]
                    for e in range(ow):
                        dst[e] = src[e] + bv


@njit(nogil=True)
def nchw_to_gemm_into(g, gt, Qs, s2, s3):
    """Adjoint layout move of gemm_to_nchw_into: gt[co, n*Qs + a*s2 + b*s3 + e] = g[n, co, a, b, e]
    (gt's other columns are left as they are: the caller keeps them zero)."""
    m, Co, od, oh, ow = g.shape
    for n in range(m):
        for co in range(Co):
            dr = gt[co]
            for a in range(od):
                for b in range(oh):
                    base = n * Qs + a * s2 + b * s3
                    src = g[n, co, a, b]
                    dst = dr[base:base + ow]
                    for e in range(ow):
                        dst[e] = src[e]


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
