"""Winograd F(2x2, 3x3) transforms for 3x3, stride-1, dilation-1 2-D cross-correlation (numba).

The output is cut into 2x2 tiles, ``th = ceil(OH / 2)`` by ``tw = ceil(OW / 2)`` per image; tile
``(ty, tx)`` reads the 4x4 input patch at ``(2*ty, 2*tx)`` of the zero-padded input. With

    B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
    G   = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]
    A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]

one tile of the correlation is ``Y = A^T [ sum_c (G w G^T) * (B^T d B) ] A`` (Lavin & Gray, 2015):
16 multiplies per 2x2 outputs instead of 36. Over a batch chunk the sum over input channels is
16 GEMMs, one per transform position ``xi = 4*i + j``::

    V[xi, c, t]   = (B^T d_{c,t} B)[i, j]          input transform  (16, C,  T)
    U[xi, co, c]  = (G w_{co,c} G^T)[i, j]         weight transform (16, Co, C)
    M[xi]         = U[xi] @ V[xi]                  (16, Co, T)
    y_{co,t}      = A^T M[:, co, t] A              output transform

Layout (``tiles``): no padding tiles. Tile ``(ty, tx)`` of image ``n`` and channel ``c`` is
entry ``k = ((c * th + ty) * m + n) * tw + tx`` of a flat transform plane of length
``L = C * th * m * tw``; viewed as ``(C, th * m * tw)`` that plane is the GEMM operand as it is.
The input transform runs in two steps. ``_row_transform`` applies B^T along the columns once per
input row (zero-padded in a small row buffer, so odd sizes and the right edge read zeros instead
of padding tiles): eight planes ``Z[4 * (row parity) + j]`` in the same layout but with
``th + 1`` tile rows per channel, the last one for the bottom edge. ``_v_from_rows`` then
applies B^T down the rows: each of the 16 outputs is two terms of Z (this tile row and the next,
``m * tw`` entries further), one long unit-stride loop per channel. Until 2026-11-26 the layout
carried a padding tile column and row (81 tile slots per 16 x 16 image for 64 tiles, the GEMMs
and the transforms doing ~12-27 % more work); this one measured 8 % faster on conv b fwd+bwd
(bench/RESULTS.md). Output side: the output transform and its adjoint are pointwise per tile
(long loops over the whole chunk); the crop writes the real output pixels (of the last tile
only its first column when OW is odd, its first row when OH is odd).

Gradients are the exact adjoints of the same steps: ``dM = A g A^T`` (``output_adjoint_into``),
``dU[xi] = dM[xi] @ V[xi]^T``, ``dV[xi] = U[xi]^T @ dM[xi]`` and ``dx = B dV B^T`` scatter-added
over the overlapping 4x4 patches (``input_adjoint_into``: ``_rows_from_v`` then ``_row_adjoint``,
the adjoints of the two steps). The GEMMs are the caller's (BLAS); the weight transform and its
adjoint (tiny) are numpy functions here. The transforms only add
and subtract (and halve, exactly, in G), so in float64 the result agrees with a direct
convolution to rounding; in float32 the error is a few ulps of the largest partial sums.

The four kernels release the GIL (``nogil``), take C-contiguous arrays of one float dtype and
write into arrays the caller allocates (the transform planes as ``(16, >= L)`` arrays, plus an
``(8, >= work_length(...))`` ``work`` scratch so that nothing large is allocated per call);
checking shapes, dtype and contiguity is the caller's job.
"""

from __future__ import annotations

import numpy as np

from ._cblas import gemm_into
from ._numba import next_chunk, njit
from .winograd1d import (edge_tile, input_adjoint_1d, input_transform_1d, output_adjoint_1d,
                         output_transform_1d)

__all__ = ["tiles", "G_MATRIX", "input_transform_into", "output_transform_into",
           "output_adjoint_into", "input_adjoint_into", "weight_transform", "weight_adjoint",
           "work_length", "forward_chunks", "backward_chunks"]

G_MATRIX = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def tiles(oh: int, ow: int):
    """(th, tw, tq, Qi) for an oh x ow output: th x tw 2x2 tiles per image, tq = tw tiles per
    tile row and Qi = th * tw tiles per (channel, image); no padding tiles (a chunk of m
    images: transform planes of C * m * Qi entries)."""
    th, tw = (oh + 1) // 2, (ow + 1) // 2
    return th, tw, tw, th * tw


def work_length(C: int, m: int, th: int, tw: int) -> int:
    """Columns the (8-row) ``work`` scratch of the transforms needs for C channels and m
    images: the row-transformed input has th + 1 tile rows."""
    return C * m * (th + 1) * tw


_GG = np.kron(G_MATRIX, G_MATRIX)  # (16, 9): GG[4i + j, 3a + b] = G[i, a] G[j, b]


def weight_transform(w):
    """w (Co, C, 3, 3) -> U (16, Co, C), U[4i+j, co, c] = (G w[co, c] G^T)[i, j]: one small
    GEMM with G (x) G (two tensordots and a transpose took 34 us for conv b's weights, this
    ~6 us). 1-D: w (Co, C, 3) -> U (4, Co, C) = G w[co, c]."""
    Co, C = w.shape[:2]
    T = _GG if w.ndim == 4 else G_MATRIX
    return (T.astype(w.dtype) @ np.ascontiguousarray(w).reshape(Co * C, -1).T).reshape(
        T.shape[0], Co, C)


def weight_adjoint(dU):
    """Adjoint of weight_transform: dU (16, Co, C) -> dw (Co, C, 3, 3); 1-D: dU (4, Co, C) ->
    dw (Co, C, 3)."""
    P, Co, C = dU.shape
    T = _GG if P == 16 else G_MATRIX
    dw = np.ascontiguousarray(dU).reshape(P, Co * C).T @ T.astype(dU.dtype)
    return dw.reshape((Co, C, 3, 3) if P == 16 else (Co, C, 3))


_STRIP = 512  # elements per strip of the two-stage output transforms (8 x 512 x 8 B = 32 KB)

# Every stage is its own small function: the same loops written inline in one kernel ran 2x
# slower (measured on output_transform_into: 44 vs 21 us for 2 images of conv b).

@njit(nogil=True)
def _row_transform(x, Z, ph, pw, th, tw):
    """B^T along the columns, once per input row: Z[4 * (yy & 1) + j] at entry
    ((c * (th + 1) + yy // 2) * m + n) * tw + tx holds sum_b B^T[j, b] * xp[yy, 2 * tx + b]
    for every padded-input row yy < 2 * (th + 1) (xp: x zero-padded; rows of padding give 0).
    Every entry of the 8 planes up to C * m * (th + 1) * tw is written. Tiles t_lo <= t < t_hi
    read inside the row (flat indices, no bounds tests); the one or two at each end read the
    padding through ``winograd1d.edge_tile`` (this was 41 -> 30 us for 5 images of conv b
    against copying each row into a zero-padded buffer first)."""
    m, C, H, W = x.shape
    zero = Z.dtype.type(0)
    xf = x.reshape(-1)
    R = th + 1
    t_lo = min(tw, (pw + 1) // 2)  # tile t reads x[2t - pw .. 2t + 3 - pw]
    t_hi = max(t_lo, min(tw, (W + pw - 4) // 2 + 1))
    for c in range(C):
        for n in range(m):
            for yy in range(2 * R):
                base = ((c * R + (yy >> 1)) * m + n) * tw
                p = 4 * (yy & 1)
                y = yy - ph
                if y < 0 or y >= H:
                    for t in range(tw):
                        Z[p, base + t] = zero
                        Z[p + 1, base + t] = zero
                        Z[p + 2, base + t] = zero
                        Z[p + 3, base + t] = zero
                    continue
                r = ((n * C + c) * H + y) * W
                for t in range(t_lo, t_hi):
                    i = r - pw + 2 * t
                    b0, b1, b2, b3 = xf[i], xf[i + 1], xf[i + 2], xf[i + 3]
                    Z[p, base + t] = b0 - b2
                    Z[p + 1, base + t] = b1 + b2
                    Z[p + 2, base + t] = b2 - b1
                    Z[p + 3, base + t] = b1 - b3
                for e in range(tw - (t_hi - t_lo)):  # the edge tiles, reading the padding
                    t = e if e < t_lo else e + t_hi - t_lo
                    e0, e1, e2, e3 = edge_tile(xf, r, W, 2 * t - pw)
                    Z[p, base + t] = e0
                    Z[p + 1, base + t] = e1
                    Z[p + 2, base + t] = e2
                    Z[p + 3, base + t] = e3


@njit(nogil=True)
def _row_adjoint(Z, gx, ph, pw, th, tw):
    """Adjoint of _row_transform on the data rows: gx (m, C, H, W), overwritten."""
    m, C, H, W = gx.shape
    buf = np.zeros(2 * tw + 2, dtype=Z.dtype)
    for c in range(C):
        for n in range(m):
            for y in range(H):
                yy = y + ph
                base = ((c * (th + 1) + (yy >> 1)) * m + n) * tw
                z0 = Z[4 * (yy & 1), base:base + tw]
                z1 = Z[4 * (yy & 1) + 1, base:base + tw]
                z2 = Z[4 * (yy & 1) + 2, base:base + tw]
                z3 = Z[4 * (yy & 1) + 3, base:base + tw]
                pe = buf.dtype.type(0)  # carry from the tile to the left
                po = buf.dtype.type(0)
                for t in range(tw):
                    buf[2 * t] = z0[t] + pe
                    buf[2 * t + 1] = z1[t] - z2[t] + z3[t] + po
                    pe = z1[t] + z2[t] - z0[t]
                    po = -z3[t]
                buf[2 * tw] = pe
                buf[2 * tw + 1] = po
                dst = gx[n, c, y]
                for e in range(W):
                    dst[e] = buf[pw + e]


# B^T's rows as (tap, sign) pairs: row i of B^T d is the sum of sign * d[tap]
_BT = np.array([[0, 1, 2, -1], [1, 1, 2, 1], [1, -1, 2, 1], [1, 1, 3, -1]], dtype=np.int64)


@njit(nogil=True)
def _v_from_rows(V, Z, C, R, S, BT):
    """B^T down the rows: V[4i + j] = s0 * (row tap r0 of Z_j) + s1 * (row tap r1 of Z_j),
    tap r: plane 4 * (r & 1) + j shifted by (r >> 1) tile rows (S entries). Per channel one
    run of R = th * m * tw entries (the planes' channel blocks are S longer: a tile row more)."""
    for i in range(4):
        r0, s0_, r1, s1_ = BT[i, 0], BT[i, 1], BT[i, 2], BT[i, 3]
        s0 = Z.dtype.type(s0_)
        s1 = Z.dtype.type(s1_)
        o0 = (r0 >> 1) * S
        o1 = (r1 >> 1) * S
        for j in range(4):
            za = Z[4 * (r0 & 1) + j]
            zb = Z[4 * (r1 & 1) + j]
            dv = V[4 * i + j]
            for c in range(C):
                kz = c * (R + S)
                d = dv[c * R:c * R + R]
                qa = za[kz + o0:kz + o0 + R]
                qb = zb[kz + o1:kz + o1 + R]
                for k in range(R):
                    d[k] = s0 * qa[k] + s1 * qb[k]


@njit(nogil=True)
def _rows_from_v(Z, dV, C, R, S):
    """Adjoint of _v_from_rows (B^T's taps written out): every entry of the 8 planes up to
    C * (R + S) is written. Row taps: 0 (row 0, +), 1 (rows 1, 2, 3: +, -, +), 2 (rows 0, 1, 2:
    -, +, +; one tile row down), 3 (row 3, -; one tile row down)."""
    for j in range(4):
        e0 = Z[j]
        e1 = Z[4 + j]
        v0 = dV[j]
        v1 = dV[4 + j]
        v2 = dV[8 + j]
        v3 = dV[12 + j]
        for c in range(C):
            kz = c * (R + S)
            kv = c * R
            a = e0[kz:kz + R + S]
            b = e1[kz:kz + R + S]
            w0 = v0[kv:kv + R]
            w1 = v1[kv:kv + R]
            w2 = v2[kv:kv + R]
            w3 = v3[kv:kv + R]
            for k in range(S):  # first tile row: no tile above
                a[k] = w0[k]
                b[k] = w1[k] - w2[k] + w3[k]
            # the other rows, with the tile above (shifted slices: no negative indices, which
            # numba would wrap and LLVM then not vectorize)
            am = a[S:R]
            bm = b[S:R]
            c0 = w0[S:R]
            c1 = w1[S:R]
            c2 = w2[S:R]
            c3 = w3[S:R]
            for k in range(R - S):
                am[k] = c0[k] - w0[k] + w1[k] + w2[k]
                bm[k] = c1[k] - c2[k] + c3[k] - w3[k]
            ae = a[R:R + S]
            be = b[R:R + S]
            u0 = w0[R - S:R]
            u1 = w1[R - S:R]
            u2 = w2[R - S:R]
            u3 = w3[R - S:R]
            for k in range(S):  # the extra tile row: only the tile above
                ae[k] = u1[k] + u2[k] - u0[k]
                be[k] = -u3[k]


@njit(nogil=True)
def input_transform_into(x, V, work, ph, pw, th, tw):
    """x (m, C, H, W) -> V (16, >= L) C-contiguous, V[xi, :L] = the chunk's transforms,
    L = C * m * th * tw; (ph, pw) is the zero padding. work: an (>= 8, >= work_length(C, m,
    th, tw)) C-contiguous scratch (contents undefined)."""
    m, C = x.shape[0], x.shape[1]
    Z = work[:8]
    _row_transform(x, Z, ph, pw, th, tw)
    _v_from_rows(V, Z, C, th * m * tw, m * tw, _BT)


@njit(nogil=True)
def input_adjoint_into(dV, gx, work, ph, pw, th, tw):
    """Adjoint of input_transform_into: dV (16, >= L) -> gx (m, C, H, W), overwritten.
    work: an (>= 8, >= work_length(C, m, th, tw)) C-contiguous scratch; dV is left as it is."""
    m, C = gx.shape[0], gx.shape[1]
    Z = work[:8]
    _rows_from_v(Z, dV, C, th * m * tw, m * tw)
    _row_adjoint(Z, gx, ph, pw, th, tw)


@njit(nogil=True)
def _out_rows(S, M, k0, L):
    """A^T M down the tile rows, for M[:, k0:k0 + L]: S[j] = M_j + M_4+j + M_8+j,
    S[4 + j] = M_4+j - M_8+j - M_12+j."""
    for j in range(4):
        a = M[j, k0:k0 + L]
        b = M[4 + j, k0:k0 + L]
        c = M[8 + j, k0:k0 + L]
        d = M[12 + j, k0:k0 + L]
        s = S[j]
        for k in range(L):
            s[k] = a[k] + b[k] + c[k]
        s = S[4 + j]
        for k in range(L):
            s[k] = b[k] - c[k] - d[k]


@njit(nogil=True)
def _out_cols(Y, S, k0, L):
    """(A^T M) A: Y[2a + b, k0:k0 + L] = output pixel (2ty + a, 2tx + b) of every tile."""
    for a in range(2):
        s0 = S[4 * a]
        s1 = S[4 * a + 1]
        s2 = S[4 * a + 2]
        s3 = S[4 * a + 3]
        y = Y[2 * a, k0:k0 + L]
        for k in range(L):
            y[k] = s0[k] + s1[k] + s2[k]
        y = Y[2 * a + 1, k0:k0 + L]
        for k in range(L):
            y[k] = s1[k] - s2[k] - s3[k]


@njit(nogil=True)
def _crop_out(Y, a, bias, th, tw):
    """a (m, Co, OH, OW) = the tiles of the four output planes Y (per tile row/column parity)
    cropped to OH x OW, plus bias[co]: both output rows of a tile row in one loop, flat indices
    (22 us for 5 images of conv b; 34 us a row at a time through row views)."""
    m, Co, OH, OW = a.shape
    hw = OW // 2
    af = a.reshape(-1)
    y0, y1, y2, y3 = Y[0], Y[1], Y[2], Y[3]
    for co in range(Co):
        bv = bias[co]
        for n in range(m):
            o = (n * Co + co) * OH * OW
            for ty in range(th):
                k = ((co * th + ty) * m + n) * tw
                r0 = o + 2 * ty * OW
                r1 = r0 + OW
                if 2 * ty + 1 < OH:
                    for e in range(hw):
                        af[r0 + 2 * e] = y0[k + e] + bv
                        af[r0 + 2 * e + 1] = y1[k + e] + bv
                        af[r1 + 2 * e] = y2[k + e] + bv
                        af[r1 + 2 * e + 1] = y3[k + e] + bv
                    if OW & 1:  # the last tile's first column
                        af[r1 + OW - 1] = y2[k + hw] + bv
                else:  # OH odd: the last tile row's first row
                    for e in range(hw):
                        af[r0 + 2 * e] = y0[k + e] + bv
                        af[r0 + 2 * e + 1] = y1[k + e] + bv
                if OW & 1:
                    af[r0 + OW - 1] = y0[k + hw] + bv


@njit(nogil=True)
def _crop_in(Y, g):
    """Adjoint of _crop_out without the bias: Y's cells of the real outputs = g (its other
    cells left as they are: zero). A row at a time through row views (reading g's pairs):
    16 us for 5 images of conv b, 25 us written as _crop_out."""
    m, Co, OH, OW = g.shape
    th, tw = (OH + 1) // 2, (OW + 1) // 2
    hw = OW // 2
    for co in range(Co):
        for n in range(m):
            for r in range(OH):
                ye = Y[2 * (r & 1)]
                yo = Y[2 * (r & 1) + 1]
                base = ((co * th + (r >> 1)) * m + n) * tw
                row = g[n, co, r]
                for e in range(hw):
                    ye[base + e] = row[2 * e]
                    yo[base + e] = row[2 * e + 1]
    if OW & 1:  # the last (odd) column; kept out of the loop above (2x slower with it inside)
        for co in range(Co):
            for n in range(m):
                for r in range(OH):
                    base = ((co * th + (r >> 1)) * m + n) * tw
                    Y[2 * (r & 1), base + hw] = g[n, co, r, OW - 1]


@njit(nogil=True)
def _out_adj(dM, G, H, k0, L):
    """Adjoint of _out_cols and _out_rows: dM = A g A^T from the four output planes; H is an
    (8, >= L) scratch for the rows of A g: g0, g0 + g1, g0 - g1, -g1 (per column parity)."""
    for b in range(2):
        a = G[b, k0:k0 + L]
        c = G[2 + b, k0:k0 + L]
        h = H[b]
        for k in range(L):
            h[k] = a[k]
        h = H[2 + b]
        for k in range(L):
            h[k] = a[k] + c[k]
        h = H[4 + b]
        for k in range(L):
            h[k] = a[k] - c[k]
        h = H[6 + b]
        for k in range(L):
            h[k] = -c[k]
    for i in range(4):  # then the same on the columns
        h0 = H[2 * i]
        h1 = H[2 * i + 1]
        d = dM[4 * i, k0:k0 + L]
        for k in range(L):
            d[k] = h0[k]
        d = dM[4 * i + 1, k0:k0 + L]
        for k in range(L):
            d[k] = h0[k] + h1[k]
        d = dM[4 * i + 2, k0:k0 + L]
        for k in range(L):
            d[k] = h0[k] - h1[k]
        d = dM[4 * i + 3, k0:k0 + L]
        for k in range(L):
            d[k] = -h1[k]


@njit(nogil=True)
def output_transform_into(M, out, bias, work, th, tw):
    """M (16, >= L) -> out (m, Co, OH, OW) = A^T M A per tile, cropped, plus bias[co] (pass
    zeros for no bias); L = Co * m * th * tw. work: a (>= 4, >= L) C-contiguous scratch."""
    m, Co = out.shape[0], out.shape[1]
    L = Co * m * th * tw
    Y = work[:4]
    S = np.empty((8, _STRIP), dtype=M.dtype)  # stays in L1
    for k0 in range(0, L, _STRIP):
        n = min(_STRIP, L - k0)
        _out_rows(S, M, k0, n)
        _out_cols(Y, S, k0, n)
    _crop_out(Y, out, bias, th, tw)


@njit(nogil=True)
def output_adjoint_into(g, dM, work, th, tw):
    """Adjoint of output_transform_into (without the bias): g (m, Co, OH, OW) ->
    dM (16, >= L), dM[:, t] = A g_tile A^T (the tile zero-extended past OH/OW). work: a
    (>= 4, >= L) C-contiguous scratch."""
    m, Co = g.shape[0], g.shape[1]
    L = Co * m * th * tw
    G = work[:4]
    if (g.shape[2] | g.shape[3]) & 1:  # cells past an odd OH / OW are not written: zeros
        for i in range(4):
            G[i, :L] = 0
    _crop_in(G, g)
    H = np.empty((8, _STRIP), dtype=g.dtype)  # stays in L1
    for k0 in range(0, L, _STRIP):
        n = min(_STRIP, L - k0)
        _out_adj(dM, G, H, k0, n)


# ---- whole batch-chunk loops, one nogil call per thread (as kernels/conv.py) ------------------
@njit(nogil=True)
def forward_chunks(gemm, x, U, bias, out, Vb, Mb, work, chunks, counter, ph, pw, th, tw):
    """out[n0:n1] = conv(x[n0:n1]) + bias for the chunks this thread takes (``take``): input
    transform, the P GEMMs M[xi] = U[xi] @ V[xi] through ``gemm`` (numpy's BLAS; None: a numba
    loop), output transform. U (P, Co, C), P = 16 (2-D) or 4 (1-D: x, out (N, C, 1, L), th = 1);
    Vb, Mb (P, >= C*T), (P, >= Co*T) planes."""
    P, Co, C = U.shape
    while True:
        n0, n1 = next_chunk(chunks, counter)
        if n0 < 0:
            return
        T = (n1 - n0) * th * tw
        if P == 4:
            input_transform_1d(x[n0:n1], Vb, pw, tw)
        else:
            input_transform_into(x[n0:n1], Vb, work, ph, pw, th, tw)
        for xi in range(P):
            gemm_into(gemm, U[xi], Vb[xi][:C * T].reshape((C, T)),
                      Mb[xi][:Co * T].reshape((Co, T)), 0.0, False)
        if P == 4:
            output_transform_1d(Mb, out[n0:n1], bias, tw)
        else:
            output_transform_into(Mb, out[n0:n1], bias, work, th, tw)


@njit(nogil=True)
def backward_chunks(gemm, x, Ut, g, dx, dU, db, dMb, Vb, work, chunks, counter, C, ph, pw, th,
                    tw, P):
    """For the chunks this thread takes: dx[n0:n1] (if dx.size), dU (P, C, Co) += V dM^T
    (if dU.size) and db += the bias gradient (if db.size). Ut (P, C, Co): U transposed.
    P = 16 (2-D) or 4 (1-D, as forward_chunks)."""
    Co = g.shape[1]
    need_x, need_w, need_b = dx.size > 0, dU.size > 0, db.size > 0
    while True:
        n0, n1 = next_chunk(chunks, counter)
        if n0 < 0:
            return
        T = (n1 - n0) * th * tw
        if not (need_x or need_w):
            for co in range(Co):
                db[co] += g[n0:n1, co].sum()
            continue
        if P == 4:
            output_adjoint_1d(g[n0:n1], dMb, tw)
        else:
            output_adjoint_into(g[n0:n1], dMb, work, th, tw)
        if need_b:  # the sum of a tile's outputs' gradients: dM[5] (2-D), dM[1] (1-D)
            row = 1 if P == 4 else 5
            for co in range(Co):
                db[co] += dMb[row][co * T:(co + 1) * T].sum()
        if need_w:
            if P == 4:
                input_transform_1d(x[n0:n1], Vb, pw, tw)
            else:
                input_transform_into(x[n0:n1], Vb, work, ph, pw, th, tw)
            for xi in range(P):
                gemm_into(gemm, Vb[xi][:C * T].reshape((C, T)),
                          dMb[xi][:Co * T].reshape((Co, T)).T, dU[xi], 1.0, False)
        if need_x:
            for xi in range(P):
                gemm_into(gemm, Ut[xi], dMb[xi][:Co * T].reshape((Co, T)),
                          Vb[xi][:C * T].reshape((C, T)), 0.0, False)
            if P == 4:
                input_adjoint_1d(Vb, dx[n0:n1], pw, tw)
            else:
                input_adjoint_into(Vb, dx[n0:n1], work, ph, pw, th, tw)
