"""Winograd F(2, 3) transforms for 1-D cross-correlation with a kernel of 3 (numba).

The 1-D case of kernels/winograd.py: the output is cut into tiles of 2, ``tw = ceil(OL / 2)``
per row; tile t reads the 4 inputs at 2t of the zero-padded row. With the same B^T, G and A^T,

    V[j, c, t]   = (B^T d_{c,t})[j]      input transform  (4, C,  T)
    U[j, co, c]  = (G w_{co,c})[j]       weight transform (4, Co, C)   (winograd.weight_transform)
    M[j]         = U[j] @ V[j]           (4, Co, T): four GEMMs, winograd.forward_chunks
    y_{co,t}     = A^T M[:, co, t]       output transform

4 multiplies per 2 outputs instead of 6. Layout: entry ``(c * m + n) * tw + t`` of a transform
plane for channel c, sample n of a chunk of m (the 2-D layout with one tile row). Rows are
taken as (m, C, 1, L) arrays, as winograd.py's chunk loops pass them.

Every loop here indexes through slices with a loop counter that starts at 0: numba wraps
negative indices, and an index it cannot prove non-negative (``base + t``) keeps LLVM from
vectorizing the loop (the input transform for 8 samples of 64 -> 64 channels, L128: 65 us
with flat indices, 25 us so). The transforms only add and subtract: in float64 the result
agrees with a direct convolution to rounding. Gradients are the exact adjoints.
"""

from __future__ import annotations

from ._numba import njit

__all__ = ["input_transform_1d", "input_adjoint_1d", "output_transform_1d",
           "output_adjoint_1d"]


@njit(nogil=True, inline="always")
def _px(xf, r, W, q):
    """Pixel q of the row starting at xf[r]; zero in the padding (q < 0 or q >= W)."""
    return xf[r + q] if 0 <= q < W else xf.dtype.type(0)


@njit(nogil=True, inline="always")
def edge_tile(xf, r, W, q):
    """B^T d for the tile whose four inputs start at pixel q of the row at xf[r], the padding
    read as zeros (an edge tile of a row; here and in winograd.py's row transform)."""
    b0, b1, b2, b3 = _px(xf, r, W, q), _px(xf, r, W, q + 1), _px(xf, r, W, q + 2), \
        _px(xf, r, W, q + 3)
    return b0 - b2, b1 + b2, b2 - b1, b1 - b3


@njit(nogil=True, inline="always")
def _four(A, k, n):
    """A[0..3, k:k + n]: the four planes' runs of one (channel, sample), as views indexed from
    0 (which LLVM can vectorize over)."""
    return A[0, k:k + n], A[1, k:k + n], A[2, k:k + n], A[3, k:k + n]


@njit(nogil=True)
def input_transform_1d(x, V, pw, tw):
    """x (m, C, 1, L) -> V[:4, :C*m*tw]: (B^T d)[j] per tile, d the 4 padded inputs at 2t
    (left padding pw). Tiles t_lo <= t < t_hi read inside the row; the edge ones, the padding."""
    m, C, _, W = x.shape
    xf = x.reshape(-1)
    t_lo = min(tw, (pw + 1) // 2)  # tile t reads x[2t - pw .. 2t + 3 - pw]
    t_hi = max(t_lo, min(tw, (W + pw - 4) // 2 + 1))
    nin = t_hi - t_lo
    for c in range(C):
        for n in range(m):
            base = (c * m + n) * tw
            r = (n * C + c) * W
            s = r - pw + 2 * t_lo
            xs = xf[s:s + 2 * nin + 2]
            k = base + t_lo
            z0, z1, z2, z3 = _four(V, k, nin)
            for u in range(nin):
                b0, b1, b2, b3 = xs[2 * u], xs[2 * u + 1], xs[2 * u + 2], xs[2 * u + 3]
                z0[u] = b0 - b2
                z1[u] = b1 + b2
                z2[u] = b2 - b1
                z3[u] = b1 - b3
            for e in range(tw - nin):  # the edge tiles
                t = e if e < t_lo else e + nin
                e0, e1, e2, e3 = edge_tile(xf, r, W, 2 * t - pw)
                V[0, base + t] = e0
                V[1, base + t] = e1
                V[2, base + t] = e2
                V[3, base + t] = e3


@njit(nogil=True, inline="always")
def _grad_at(V, base, tw, i):
    """The input gradient at padded position i from the tiles that read it (t = i // 2 as
    input 0 or 1, t - 1 as input 2 or 3), the adjoint of input_transform_1d's four sums."""
    t = i >> 1
    v = V.dtype.type(0)
    if i & 1:
        if t < tw:
            v += V[1, base + t] - V[2, base + t] + V[3, base + t]
        if t >= 1:
            v -= V[3, base + t - 1]
    else:
        if t < tw:
            v += V[0, base + t]
        if t >= 1:
            v += V[1, base + t - 1] + V[2, base + t - 1] - V[0, base + t - 1]
    return v


@njit(nogil=True)
def input_adjoint_1d(V, gx, pw, tw):
    """Adjoint of input_transform_1d: dV = V[:4] -> gx (m, C, 1, L), overwritten."""
    m, C, _, W = gx.shape
    gf = gx.reshape(-1)
    # pixels 2t - pw and 2t + 1 - pw, both real and both read by tiles t - 1 and t:
    t_lo = min(tw, max(1, (pw + 1) // 2))
    t_hi = max(t_lo, min(tw, (W + pw - 2) // 2 + 1))
    nin = t_hi - t_lo
    for c in range(C):
        for n in range(m):
            base = (c * m + n) * tw
            r = (n * C + c) * W
            s = r - pw + 2 * t_lo
            gs = gf[s:s + 2 * nin]
            k = base + t_lo
            a0, a1, a2, a3 = _four(V, k, nin)
            k -= 1
            p0, p1, p2, p3 = _four(V, k, nin)
            for u in range(nin):
                gs[2 * u] = a0[u] + p1[u] + p2[u] - p0[u]
                gs[2 * u + 1] = a1[u] - a2[u] + a3[u] - p3[u]
            for i in range(pw, min(2 * t_lo, pw + W)):  # the edges
                gf[r + i - pw] = _grad_at(V, base, tw, i)
            for i in range(max(2 * t_hi, pw), pw + W):
                gf[r + i - pw] = _grad_at(V, base, tw, i)


@njit(nogil=True)
def output_transform_1d(M, out, bias, tw):
    """M (4, >= Co*m*tw) -> out (m, Co, 1, OL): y[2t] = M0 + M1 + M2, y[2t + 1] = M1 - M2 - M3,
    plus bias[co] (an odd OL keeps the last tile's first output)."""
    m, Co, _, OL = out.shape
    of = out.reshape(-1)
    hw = OL // 2
    for co in range(Co):
        bv = bias[co]
        for n in range(m):
            k = (co * m + n) * tw
            o = (n * Co + co) * OL
            os_ = of[o:o + OL]
            m0, m1, m2, m3 = _four(M, k, tw)
            for t in range(hw):
                os_[2 * t] = m0[t] + m1[t] + m2[t] + bv
                os_[2 * t + 1] = m1[t] - m2[t] - m3[t] + bv
            if OL & 1:
                os_[OL - 1] = m0[hw] + m1[hw] + m2[hw] + bv


@njit(nogil=True)
def output_adjoint_1d(g, dM, tw):
    """Adjoint of output_transform_1d without the bias: g (m, Co, 1, OL) -> dM (4, >= Co*m*tw),
    dM = (g0, g0 + g1, g0 - g1, -g1) per tile (g1 = 0 past an odd OL)."""
    m, Co, _, OL = g.shape
    gf = g.reshape(-1)
    hw = OL // 2
    for co in range(Co):
        for n in range(m):
            k = (co * m + n) * tw
            o = (n * Co + co) * OL
            gs = gf[o:o + OL]
            d0, d1, d2, d3 = _four(dM, k, tw)
            for t in range(hw):
                g0, g1 = gs[2 * t], gs[2 * t + 1]
                d0[t] = g0
                d1[t] = g0 + g1
                d2[t] = g0 - g1
                d3[t] = -g1
            if OL & 1:
                g0 = gs[OL - 1]
                d0[hw] = g0
                d1[hw] = g0
                d2[hw] = g0
                d3[hw] = 0
