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

Layout (``tiles``): ``tq = tw + 1`` tiles per tile row and ``th + 1`` tile rows per image, the
last column and row being padding; tile ``(ty, tx)`` of image ``n`` and channel ``c`` is entry
``k = ((c * (th + 1) + ty) * m + n) * tq + tx`` of a flat transform plane of length
``L = C * (th + 1) * m * tq``. Viewed as ``(C, (th + 1) * m * tq)`` that plane is the GEMM
operand, and since the padding tile row comes last in each channel's row, the GEMMs use only its
first ``th * m * tq`` columns (a strided view that BLAS takes as it is). The zero-padded input is
kept as four parity planes (even/odd rows x even/odd columns) in the same layout: the 16 input
pixels of a tile are then "this" and "next" entries (``+1``: next tile, ``+m*tq``: next tile
row) of those planes, and each transform step is ONE long unit-stride loop over the whole chunk.
Measured on 2 images of conv b (16 -> 32 channels, 16 x 16), float32, one core: per-tile-row
loops (8-18 iterations, 16 streams) ran at scalar speed, 3-4x slower. Padding tiles hold garbage
in V and M: no real output reads them, output_transform_into ignores them and
output_adjoint_into gives them dM = 0 (the caller zeroes the padding row of dV before
input_adjoint_into, which reads all of dV).

Gradients are the exact adjoints of the same steps: ``dM = A g A^T`` (``output_adjoint_into``),
``dU[xi] = dM[xi] @ V[xi]^T``, ``dV[xi] = U[xi]^T @ dM[xi]`` and ``dx = B dV B^T`` scatter-added
over the overlapping 4x4 patches (``input_adjoint_into``). The GEMMs are the caller's (BLAS);
the weight transform and its adjoint (tiny) are numpy functions here. The transforms only add
and subtract (and halve, exactly, in G), so in float64 the result agrees with a direct
convolution to rounding; in float32 the error is a few ulps of the largest partial sums.

The four kernels release the GIL (``nogil``), take C-contiguous arrays of one float dtype and
write into arrays the caller allocates (the transform planes as ``(16, >= L)`` arrays, plus a
``work`` scratch so that nothing large is allocated per call); checking shapes, dtype and
contiguity is the caller's job.
"""

from __future__ import annotations

import numpy as np

from ._numba import njit

__all__ = ["tiles", "G_MATRIX", "input_transform_into", "output_transform_into",
           "output_adjoint_into", "input_adjoint_into", "weight_transform", "weight_adjoint"]

G_MATRIX = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def tiles(oh: int, ow: int):
    """(th, tw, tq, Qi) for an oh x ow output: th x tw real 2x2 tiles per image, tq = tw + 1
    tiles per tile row and Qi = (th + 1) * tq tiles per (channel, image) in the layout,
    padding tiles included (a chunk of m images: planes of C * m * Qi entries)."""
    th, tw = (oh + 1) // 2, (ow + 1) // 2
    return th, tw, tw + 1, (th + 1) * (tw + 1)


_GG = np.kron(G_MATRIX, G_MATRIX)  # (16, 9): GG[4i + j, 3a + b] = G[i, a] G[j, b]


def weight_transform(w):
    """w (Co, C, 3, 3) -> U (16, Co, C), U[4i+j, co, c] = (G w[co, c] G^T)[i, j]: one small
    GEMM with G (x) G (two tensordots and a transpose took 34 us for conv b's weights, this
    ~6 us)."""
    Co, C = w.shape[:2]
    return (_GG.astype(w.dtype) @ np.ascontiguousarray(w).reshape(Co * C, 9).T).reshape(16, Co, C)


def weight_adjoint(dU):
    """Adjoint of weight_transform: dU (16, Co, C) -> dw (Co, C, 3, 3)."""
    _, Co, C = dU.shape
    return (np.ascontiguousarray(dU).reshape(16, Co * C).T @ _GG.astype(dU.dtype)).reshape(
        Co, C, 3, 3)


_STRIP = 512  # elements per strip of the two-stage output transforms (8 x 512 x 8 B = 32 KB)

# Every stage is its own small function: the same loops written inline in one kernel ran 2x
# slower (measured on output_transform_into: 44 vs 21 us for 2 images of conv b).

@njit(nogil=True)
def _scatter_parity(x, P, ph, pw, th, tq):
    """Zero-padded input x (m, C, H, W) -> parity planes P[2 * (row & 1) + (col & 1)]
    (the caller zeroes P; only the data cells are written)."""
    m, C, H, W = x.shape
    for c in range(C):
        for n in range(m):
            for y in range(H):
                yy = y + ph
                src = x[n, c, y]
                pe = P[2 * (yy & 1) + (pw & 1)]      # plane of the even source columns
                po = P[2 * (yy & 1) + 1 - (pw & 1)]  # and of the odd ones
                row = ((c * (th + 1) + (yy >> 1)) * m + n) * tq
                b0 = row + (pw >> 1)
                b1 = row + ((pw + 1) >> 1)
                for e in range((W + 1) // 2):
                    pe[b0 + e] = src[2 * e]
                for e in range(W // 2):
                    po[b1 + e] = src[2 * e + 1]


@njit(nogil=True)
def _gather_parity(P, gx, ph, pw, th, tq):
    """Adjoint of _scatter_parity: gx (m, C, H, W) = the data cells of the parity planes."""
    m, C, H, W = gx.shape
    for c in range(C):
        for n in range(m):
            for y in range(H):
                yy = y + ph
                dst = gx[n, c, y]
                pe = P[2 * (yy & 1) + (pw & 1)]
                po = P[2 * (yy & 1) + 1 - (pw & 1)]
                row = ((c * (th + 1) + (yy >> 1)) * m + n) * tq
                b0 = row + (pw >> 1)
                b1 = row + ((pw + 1) >> 1)
                for e in range((W + 1) // 2):
                    dst[2 * e] = pe[b0 + e]
                for e in range(W // 2):
                    dst[2 * e + 1] = po[b1 + e]


@njit(nogil=True)
def _cols_adj(R, dV, L):
    """Adjoint of _cols_fwd."""
    for i in range(4):
        d0 = dV[4 * i]
        d1 = dV[4 * i + 1]
        d2 = dV[4 * i + 2]
        d3 = dV[4 * i + 3]
        re = R[2 * i]
        ro = R[2 * i + 1]
        re[0] = d0[0]
        ro[0] = d1[0] - d2[0] + d3[0]
        for k in range(1, L):
            re[k] = d0[k] - d0[k - 1] + d1[k - 1] + d2[k - 1]
        for k in range(1, L):
            ro[k] = d1[k] - d2[k] + d3[k] - d3[k - 1]


@njit(nogil=True)
def _rows_adj(P, R, tq, L):
    """Adjoint of B^T d down the rows (tq: the index step to the next tile row)."""
    for s in range(2):
        r0 = R[s]
        r1 = R[2 + s]
        r2 = R[4 + s]
        r3 = R[6 + s]
        E = P[s]
        O = P[2 + s]
        for k in range(tq):
            E[k] = r0[k]
        for k in range(tq, L):
            E[k] = r0[k] - r0[k - tq] + r1[k - tq] + r2[k - tq]
        for k in range(tq):
            O[k] = r1[k] - r2[k] + r3[k]
        for k in range(tq, L):
            O[k] = r1[k] - r2[k] + r3[k] - r3[k - tq]


# B^T's rows as (tap, sign) pairs: row i of B^T d is the sum of sign * d[tap]
_BT = np.array([[0, 1, 2, -1], [1, 1, 2, 1], [1, -1, 2, 1], [1, 1, 3, -1]], dtype=np.int64)


@njit(nogil=True)
def _v_from_planes(V, P, tq, L, BT):
    """V[4i + j][k] = sum over the taps (r, c) of rows i and j of B^T of the input pixel
    (2ty + r, 2tx + c): plane 2 * (r & 1) + (c & 1), shifted by (r >> 1) tile rows (tq: the
    index step of one tile row) and (c >> 1) tiles. Four terms each, straight from the parity
    planes."""
    for i in range(4):
        r0, sr0, r1, sr1 = BT[i, 0], BT[i, 1], BT[i, 2], BT[i, 3]
        for j in range(4):
            c0, sc0, c1, sc1 = BT[j, 0], BT[j, 1], BT[j, 2], BT[j, 3]
            p00 = P[2 * (r0 & 1) + (c0 & 1)]
            p01 = P[2 * (r0 & 1) + (c1 & 1)]
            p10 = P[2 * (r1 & 1) + (c0 & 1)]
            p11 = P[2 * (r1 & 1) + (c1 & 1)]
            o00 = (r0 >> 1) * tq + (c0 >> 1)
            o01 = (r0 >> 1) * tq + (c1 >> 1)
            o10 = (r1 >> 1) * tq + (c0 >> 1)
            o11 = (r1 >> 1) * tq + (c1 >> 1)
            s00 = P.dtype.type(sr0 * sc0)
            s01 = P.dtype.type(sr0 * sc1)
            s10 = P.dtype.type(sr1 * sc0)
            s11 = P.dtype.type(sr1 * sc1)
            q00 = p00[o00:o00 + L]
            q01 = p01[o01:o01 + L]
            q10 = p10[o10:o10 + L]
            q11 = p11[o11:o11 + L]
            d = V[4 * i + j]
            for k in range(L):
                d[k] = s00 * q00[k] + s01 * q01[k] + s10 * q10[k] + s11 * q11[k]


@njit(nogil=True)
def input_transform_into(x, V, work, ph, pw, th, tq):
    """x (m, C, H, W) -> V (16, >= L) C-contiguous, V[xi, :L] = the chunk's transforms,
    L = C * m * (th + 1) * tq; (ph, pw) is the zero padding. work: a (>= 4, >= L + m*tq + 1)
    C-contiguous scratch (contents undefined)."""
    m, C = x.shape[0], x.shape[1]
    L = C * m * (th + 1) * tq
    P = work[:4]  # parity planes [2 * row parity + col parity]
    for i in range(4):
        P[i, :L + m * tq + 1] = 0
    _scatter_parity(x, P, ph, pw, th, tq)
    _v_from_planes(V, P, m * tq, L, _BT)


@njit(nogil=True)
def input_adjoint_into(dV, gx, work, ph, pw, th, tq):
    """Adjoint of input_transform_into: dV (16, >= L) -> gx (m, C, H, W), overwritten.
    work: an (>= 8, >= L) C-contiguous scratch; dV is overwritten too (used as scratch)."""
    m, C = gx.shape[0], gx.shape[1]
    L = C * m * (th + 1) * tq
    R = work[:8]
    _cols_adj(R, dV, L)
    P = dV[:4]  # dV is spent: its first rows take the parity planes
    _rows_adj(P, R, m * tq, L)
    _gather_parity(P, gx, ph, pw, th, tq)


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
def _crop(Y, out, bias, th, tq):
    m, Co, OH, OW = out.shape
    hw = OW // 2
    for co in range(Co):
        bv = bias[co]
        for n in range(m):
            for r in range(OH):
                ye = Y[2 * (r & 1)]
                yo = Y[2 * (r & 1) + 1]
                base = ((co * (th + 1) + (r >> 1)) * m + n) * tq
                dst = out[n, co, r]
                for e in range(hw):
                    dst[2 * e] = ye[base + e] + bv
                    dst[2 * e + 1] = yo[base + e] + bv
    if OW & 1:  # the last (odd) column; kept out of the loop above (2x slower with it inside)
        for co in range(Co):
            bv = bias[co]
            for n in range(m):
                for r in range(OH):
                    base = ((co * (th + 1) + (r >> 1)) * m + n) * tq
                    out[n, co, r, OW - 1] = Y[2 * (r & 1), base + hw] + bv


@njit(nogil=True)
def _uncrop(g, G, th, tq):
    """Adjoint of _crop (without the bias); G's other cells are left as they are (zero)."""
    m, Co, OH, OW = g.shape
    hw = OW // 2
    for co in range(Co):
        for n in range(m):
            for r in range(OH):
                ge = G[2 * (r & 1)]
                go = G[2 * (r & 1) + 1]
                base = ((co * (th + 1) + (r >> 1)) * m + n) * tq
                src = g[n, co, r]
                for e in range(hw):
                    ge[base + e] = src[2 * e]
                    go[base + e] = src[2 * e + 1]
    if OW & 1:
        for co in range(Co):
            for n in range(m):
                for r in range(OH):
                    base = ((co * (th + 1) + (r >> 1)) * m + n) * tq
                    G[2 * (r & 1), base + hw] = g[n, co, r, OW - 1]


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
def output_transform_into(M, out, bias, work, th, tq):
    """M (16, >= L) -> out (m, Co, OH, OW) = A^T M A per tile, cropped, plus bias[co] (pass
    zeros for no bias); L = Co * m * (th + 1) * tq. work: a (>= 4, >= L) C-contiguous
    scratch."""
    m, Co = out.shape[0], out.shape[1]
    Qi = (th + 1) * tq
    L = Co * m * Qi
    Y = work[:4]
    S = np.empty((8, _STRIP), dtype=M.dtype)  # stays in L1
    for k0 in range(0, L, _STRIP):
        n = min(_STRIP, L - k0)
        _out_rows(S, M, k0, n)
        _out_cols(Y, S, k0, n)
    _crop(Y, out, bias, th, tq)


@njit(nogil=True)
def output_adjoint_into(g, dM, work, th, tq):
    """Adjoint of output_transform_into (without the bias): g (m, Co, OH, OW) ->
    dM (16, >= L), dM[:, t] = A g_tile A^T (the tile zero-extended past OH/OW; zero for the
    padding tiles). work: a (>= 4, >= L) C-contiguous scratch."""
    m, Co = g.shape[0], g.shape[1]
    Qi = (th + 1) * tq
    L = Co * m * Qi
    G = work[:4]
    for i in range(4):
        G[i, :L] = 0
    _uncrop(g, G, th, tq)
    H = np.empty((8, _STRIP), dtype=g.dtype)  # stays in L1
    for k0 in range(0, L, _STRIP):
        n = min(_STRIP, L - k0)
        _out_adj(dM, G, H, k0, n)
