"""im2col / col2im for 1-D, 2-D and 3-D convolution (numba), on the phase layout.

Every kernel works on 5-D arrays ``(N, C, D, H, W)``; 1-D and 2-D convolutions are the same
kernels with singleton depth/height (a reshape, no copy).

Column layout (batch folded into the columns, so one GEMM does a whole batch chunk)::

    cols[c*KK + kk, n*Q + t]      kk = (i*KH + j)*KW + l,   t = (a*ly + b)*lx + e

``kk`` runs over the kernel offsets in the order of a PyTorch weight ``(C_out, C_in, KD, KH, KW)``
flattened to ``(C_out, K)``; ``t`` over the flat positions of the phase layout
(kernels/_phases.py), where output ``(a, b, e)`` sits and where positions with ``e >= OW`` or
``b >= OH`` are padding the caller drops (``gemm_to_nchw_into``) and keeps zero in gradients
(``nchw_to_gemm_into``). Thanks to that layout every row of the columns is ONE contiguous slice
of one phase of the padded sample, for any stride: im2col is K copies and col2im K vector adds
per sample and channel (the strided im2col of before took 2.6 ms for the stride-2 case of
bench/bench_conv.py on one core, this one a fraction of it).

A cross-correlation is then ``W.reshape(C_out, K) @ cols``, shape ``(C_out, N * Q)``;
``col2im_into`` is the adjoint of ``im2col_into``: <im2col(x), y> == <x, col2im(y)>.

The ``*_into`` kernels release the GIL (``nogil``), so callers may run them on batch chunks in
several threads. They take C-contiguous arrays of one float dtype and write into outputs (and
scratch) the caller allocates; checking shapes, dtype and contiguity is the caller's job
(tensorgrad.ops.conv).
"""

from __future__ import annotations

import numpy as np

from ._cblas import gemm_into
from ._numba import next_chunk, njit
from ._phases import phase_copy, phase_sizes, taps

__all__ = ["out_size", "Geometry", "im2col", "col2im", "im2col_into", "col2im_into",
           "gemm_to_nchw_into", "nchw_to_gemm_into", "forward_chunks",
           "backward_chunks", "pointwise_forward_chunks", "pointwise_backward_chunks"]


def out_size(n: int, k: int, s: int, p: int, d: int = 1) -> int:
    """Output length of a convolution/pooling window along one axis (PyTorch's formula)."""
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


class Geometry:
    """The phase layout of one convolution: ``Q`` flat positions per sample, ``scratch`` the
    length of one sample's phases per channel, and ``args`` for the kernels. ``k, s, p, d, o``
    are 3-tuples (kernel, stride, left padding, dilation, output size)."""
    __slots__ = ("Q", "L", "nph", "grid", "args")

    def __init__(self, k, s, p, d, o):
        (lz, ly, lx), self.L, self.Q = phase_sizes(k, s, d, o)
        self.nph = s[0] * s[1] * s[2]
        self.grid = (ly * lx, lx)  # flat strides of a and b
        tph, toff = taps(k, s, d, ly, lx)
        self.args = (tph, toff, ly, lx, *s, *p)


@njit(nogil=True)
def im2col_into(x, cols, xp, tph, toff, ly, lx, sd, sh, sw, pd, ph, pw):
    """x (N, C, D, H, W) -> cols (C*KK, N*Q), overwritten; xp (C, nph, L): the phases of one
    sample, their padding cells zero (the caller zeroes xp once)."""
    N, C = x.shape[0], x.shape[1]
    KK = tph.shape[0]
    Q = cols.shape[1] // N
    for n in range(N):
        for c in range(C):
            phase_copy(x[n, c], xp[c], ly, lx, sd, sh, sw, pd, ph, pw, False)
            for kk in range(KK):
                # slice first: indexing row[n*Q + q] directly measured 4x slower
                src = xp[c, tph[kk], toff[kk]:toff[kk] + Q]
                dst = cols[c * KK + kk, n * Q:(n + 1) * Q]
                for q in range(Q):
                    dst[q] = src[q]


@njit(nogil=True)
def col2im_into(cols, gx, gp, tph, toff, ly, lx, sd, sh, sw, pd, ph, pw):
    """Adjoint of im2col_into: gx (N, C, D, H, W) is overwritten; gp (C, nph, L) scratch."""
    N, C = gx.shape[0], gx.shape[1]
    KK = tph.shape[0]
    Q = cols.shape[1] // N
    for n in range(N):
        for c in range(C):
            acc = gp[c]
            acc[:] = 0
            for kk in range(KK):
                src = cols[c * KK + kk, n * Q:(n + 1) * Q]
                dst = acc[tph[kk], toff[kk]:toff[kk] + Q]
                for q in range(Q):
                    dst[q] += src[q]
            phase_copy(gx[n, c], acc, ly, lx, sd, sh, sw, pd, ph, pw, True)


@njit(nogil=True, inline="always")
def _layout_move(y, a, bias, Qs, s2, s3, back):
    """Between the GEMM layout ``y (C_out, m*Qs)`` and ``a (m, C_out, OD, OH, OW)``:
    a[n, co, i, j, e] = y[co, n*Qs + i*s2 + j*s3 + e] + bias[co], or (``back``) the reverse
    move without bias (y's other columns left as they are)."""
    m, Co, od, oh, ow = a.shape
    for n in range(m):
        for co in range(Co):
            yr = y[co]
            bv = bias[co]
            for i in range(od):
                for j in range(oh):
                    base = n * Qs + i * s2 + j * s3
                    row = a[n, co, i, j]
                    seg = yr[base:base + ow]
                    if back:
                        for e in range(ow):
                            seg[e] = row[e]
                    else:
                        for e in range(ow):
                            row[e] = seg[e] + bv


@njit(nogil=True)
def gemm_to_nchw_into(y, out, bias, Qs, s2, s3):
    """out[n, co, a, b, e] = y[co, n*Qs + a*s2 + b*s3 + e] + bias[co]: the GEMM result
    (C_out, m*Qs) cropped to the real output positions and transposed to (m, C_out, OD, OH, OW)
    (pass zeros for no bias)."""
    _layout_move(y, out, bias, Qs, s2, s3, False)


@njit(nogil=True)
def nchw_to_gemm_into(g, gt, Qs, s2, s3):
    """Adjoint layout move of gemm_to_nchw_into: gt[co, n*Qs + a*s2 + b*s3 + e] = g[n, co, a, b, e]
    (gt's other columns are left as they are: the caller keeps them zero)."""
    _layout_move(gt, g, np.zeros(g.shape[1], g.dtype), Qs, s2, s3, True)


# ---- whole batch-chunk loops, one call per thread --------------------------------------------
# The ops split a batch into chunks that two threads share. Driven from Python (a numba call
# and an np.matmul per chunk) each chunk takes the GIL a few times, and every hand-over wakes the
# other thread: for LeNet-5's first layer (chunks of ~10 us) two threads took as long as one,
# each chunk 2x slower (measured). Here a thread's whole share is one nogil call: it takes the
# next chunk from a shared atomic counter (``take``), packs, multiplies through numpy's BLAS
# (``gemm``, kernels/_cblas.py; None: a numba loop) and moves the result, GIL-free throughout.
# The forward and input-gradient products go to BLAS in column blocks that OpenBLAS's small-
# matrix kernels take without packing the columns again (``gemm_into``'s ``small_blocks``;
# fwd+bwd, one thread, CPU time, alternated 7x: stride 2 (32 -> 64) -5 %, conv1d 64 -> 64
# -7 %, conv3d 8 -> 16 -12 %, LeNet-5's 6 -> 16 at 5 x 5 -10 %, the others even).
@njit(nogil=True)
def forward_chunks(gemm, x, w2, bias, out, cbuf, ybuf, xp, chunks, counter, Qs, s2, s3,
                   tph, toff, ly, lx, sd, sh, sw, pd, ph, pw):
    """out[n0:n1] = conv(x[n0:n1]) + bias for the chunks this thread takes; w2 (C_out, K)."""
    Co, Kc = w2.shape
    while True:
        n0, n1 = next_chunk(chunks, counter)
        if n0 < 0:
            return
        q = (n1 - n0) * Qs
        cols = cbuf[:Kc * q].reshape((Kc, q))
        im2col_into(x[n0:n1], cols, xp, tph, toff, ly, lx, sd, sh, sw, pd, ph, pw)
        y = ybuf[:Co * q].reshape((Co, q))
        gemm_into(gemm, w2, cols, y, 0.0, True)  # small-matrix blocks: see the note above
        gemm_to_nchw_into(y, out[n0:n1], bias, Qs, s2, s3)


@njit(nogil=True)
def backward_chunks(gemm, x, w2t, g, dx, dw, db, cbuf, gbuf, xp, gp, chunks, counter, Qs, s2,
                    s3, tph, toff, ly, lx, sd, sh, sw, pd, ph, pw):
    """For the chunks this thread takes: dx[n0:n1] = the input gradient (if dx.size), and
    dw (K(+1), C_out) += cols @ g^T: with K + 1 rows the last one is the bias gradient (a row of
    ones under the columns); db += the row sums of g where db.size (bias without dw).
    gbuf must hold zeros on entry (the dropped positions of g stay zero)."""
    Kc = tph.shape[0] * xp.shape[0]
    Co = g.shape[1]
    need_x, need_w, need_b = dx.size > 0, dw.size > 0, db.size > 0
    Kb = dw.shape[0] if need_w else Kc
    q_prev = -1
    while True:
        n0, n1 = next_chunk(chunks, counter)
        if n0 < 0:
            return
        q = (n1 - n0) * Qs
        gt = gbuf[:Co * q].reshape((Co, q))
        if q_prev >= 0 and q != q_prev:
            gt[:] = 0
        q_prev = q
        nchw_to_gemm_into(g[n0:n1], gt, Qs, s2, s3)
        colsb = cbuf[:Kb * q].reshape((Kb, q))
        cols = colsb[:Kc]
        if need_w:
            im2col_into(x[n0:n1], cols, xp, tph, toff, ly, lx, sd, sh, sw, pd, ph, pw)
            if Kb > Kc:
                colsb[Kc] = 1
            gemm_into(gemm, colsb, gt.T, dw, 1.0, False)
        if need_b:
            for co in range(Co):
                db[co] += gt[co].sum()
        if need_x:
            gemm_into(gemm, w2t, gt, cols, 0.0, True)
            col2im_into(cols, dx[n0:n1], gp, tph, toff, ly, lx, sd, sh, sw, pd, ph, pw)


# ---- allocating wrappers in the classic layout (tests, reference use) --------------------------
def _sizes(spatial, ksize, stride, padding, dilation):
    return tuple(out_size(s, k, st, p, d)
                 for s, k, st, p, d in zip(spatial, ksize, stride, padding, dilation))


def _classic(x_shape, ksize, stride, padding, dilation):
    o = _sizes(x_shape[2:], ksize, stride, padding, dilation)
    geo = Geometry(ksize, stride, padding, dilation, o)
    a, b, e = np.meshgrid(*[np.arange(n) for n in o], indexing="ij")
    pos = (a * geo.grid[0] + b * geo.grid[1] + e).ravel()  # flat position of each output
    N = x_shape[0]
    cols_at = (np.arange(N)[:, None] * geo.Q + pos[None, :]).ravel()
    return geo, cols_at


def im2col(x, ksize, stride=(1, 1, 1), padding=(0, 0, 0), dilation=(1, 1, 1)):
    """x (N, C, D, H, W) -> cols (C*KD*KH*KW, N*OD*OH*OW), the classic im2col layout."""
    x = np.ascontiguousarray(x)
    N, C = x.shape[:2]
    geo, at = _classic(x.shape, ksize, stride, padding, dilation)
    cols = np.empty((C * ksize[0] * ksize[1] * ksize[2], N * geo.Q), dtype=x.dtype)
    xp = np.zeros((C, geo.nph, geo.L), dtype=x.dtype)
    im2col_into(x, cols, xp, *geo.args)
    return cols[:, at]


def col2im(cols, x_shape, ksize, stride=(1, 1, 1), padding=(0, 0, 0), dilation=(1, 1, 1)):
    """The adjoint of im2col: cols (classic layout) -> array of x_shape (N, C, D, H, W)."""
    geo, at = _classic(x_shape, ksize, stride, padding, dilation)
    flat = np.zeros((cols.shape[0], x_shape[0] * geo.Q), dtype=cols.dtype)
    flat[:, at] = cols
    gx = np.empty(x_shape, dtype=cols.dtype)
    gp = np.empty((x_shape[1], geo.nph, geo.L), dtype=cols.dtype)
    col2im_into(flat, gx, gp, *geo.args)
    return gx


# ---- 1x1 convolutions, stride 1, no padding: each sample is its own column matrix --------------
# One GEMM per sample, whole (column blocks made the 256 -> 64 bottleneck at 14 x 14 8 % slower).
# As one GIL-free call per thread, two threads: ResNet's 16 -> 32 stride-2 shortcut (N128,
# 28 x 28) fwd+bwd 5.5 -> 2.9-3.4 ms, 16 -> 16 at 8 x 8 (N128) 1.7-1.9 -> 0.46-0.55 ms; the
# per-sample products there are small enough that numpy held the GIL through them.
@njit(nogil=True)
def pointwise_forward_chunks(gemm, x3, w2, bias, o3, chunks, counter):
    """o3[n] = w2 @ x3[n] (+ bias[co] on row co, where bias.size) for the samples of the chunks
    this thread takes; x3 (N, C, P), w2 (C_out, C), o3 (N, C_out, P)."""
    Co = w2.shape[0]
    while True:
        n0, n1 = next_chunk(chunks, counter)
        if n0 < 0:
            return
        for n in range(n0, n1):
            y = o3[n]
            gemm_into(gemm, w2, x3[n], y, 0.0, False)
            if bias.size > 0:
                for co in range(Co):
                    y[co] += bias[co]


@njit(nogil=True)
def pointwise_backward_chunks(gemm, x3, w2t, g3, dx3, dw, db, chunks, counter):
    """For the samples of the chunks this thread takes: dx3[n] = w2t @ g3[n] (if dx3.size),
    dw (C_out, C) += g3[n] @ x3[n]^T (if dw.size), db += the row sums of g3[n] (if db.size)."""
    Co = g3.shape[1]
    need_x, need_w, need_b = dx3.size > 0, dw.size > 0, db.size > 0
    while True:
        n0, n1 = next_chunk(chunks, counter)
        if n0 < 0:
            return
        for n in range(n0, n1):
            if need_x:
                gemm_into(gemm, w2t, g3[n], dx3[n], 0.0, False)
            if need_w:
                gemm_into(gemm, g3[n], x3[n].T, dw, 1.0, False)
            if need_b:
                for co in range(Co):
                    db[co] += g3[n, co].sum()
