"""Pooling kernels (numba): max pooling with arg-max, average pooling, adaptive average pooling,
each with its adjoint.

All kernels work on 5-D ``(N, C, D, H, W)`` arrays (1-D and 2-D pooling reshape to singleton
depth/height) and write into outputs the caller allocates.

* ``max_pool_into`` writes the maximum of each window and its arg-max as a flat index into the
  ``D*H*W`` plane of the input (PyTorch's ``return_indices`` convention). Padding counts as
  ``-inf``; the first maximum in scan order wins, and a NaN in a window wins (as in PyTorch).
* ``gather_into`` / ``scatter_add_into`` are the pair the arg-max gives: the gradient of max
  pooling is ``scatter_add`` of the output gradient to the arg-max, and the adjoint of that
  scatter is the gather (which is what max pooling does with fixed indices).
* ``avg_pool_into`` / ``avg_pool_adjoint_into`` and ``adaptive_avg_pool_into`` /
  ``adaptive_avg_pool_adjoint_into`` are linear maps and their transposes.
"""

from __future__ import annotations

import numpy as np

from ._numba import njit

__all__ = [
    "max_pool_into", "max_pool2d_k2s2_into", "gather_into", "scatter_add_into",
    "avg_pool_into", "avg_pool_adjoint_into",
    "adaptive_avg_pool_into", "adaptive_avg_pool_adjoint_into",
]


@njit
def max_pool_into(x, out, idx, kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw):
    """x (N, C, D, H, W) -> out (N, C, OD, OH, OW) window maxima, idx the flat arg-max."""
    N, C, D, H, W = x.shape
    od, oh, ow = out.shape[2], out.shape[3], out.shape[4]
    ninf = -np.inf
    for n in range(N):
        for c in range(C):
            xc = x[n, c]
            for a in range(od):
                z0 = a * sd - pd
                for b in range(oh):
                    y0 = b * sh - ph
                    for e in range(ow):
                        x0 = e * sw - pw
                        best = ninf
                        bi = -1
                        for i in range(kd):
                            z = z0 + i * dd
                            if z < 0 or z >= D:
                                continue
                            for j in range(kh):
                                y = y0 + j * dh
                                if y < 0 or y >= H:
                                    continue
                                for l in range(kw):
                                    xx = x0 + l * dw
                                    if xx < 0 or xx >= W:
                                        continue
                                    v = xc[z, y, xx]
                                    if bi < 0:
                                        bi = (z * H + y) * W + xx
                                    if v > best or v != v:
                                        best = v
                                        bi = (z * H + y) * W + xx
                        out[n, c, a, b, e] = best
                        idx[n, c, a, b, e] = bi


@njit
def max_pool2d_k2s2_into(x, out, idx):
    """Fast path: 2x2 windows, stride 2, no padding/dilation, on (N, C, 1, H, W)."""
    N, C, _, H, W = x.shape
    oh, ow = out.shape[3], out.shape[4]
    for n in range(N):
        for c in range(C):
            xc = x[n, c, 0]
            oc = out[n, c, 0]
            ic = idx[n, c, 0]
            for b in range(oh):
                r0 = xc[2 * b]
                r1 = xc[2 * b + 1]
                for e in range(ow):
                    # scan order (0,0), (0,1), (1,0), (1,1); first maximum wins, NaN wins
                    best = r0[2 * e]
                    bi = 2 * b * W + 2 * e
                    v = r0[2 * e + 1]
                    if (v > best or v != v) :
                        best = v
                        bi = 2 * b * W + 2 * e + 1
                    v = r1[2 * e]
                    if (v > best or v != v) :
                        best = v
                        bi = (2 * b + 1) * W + 2 * e
                    v = r1[2 * e + 1]
                    if (v > best or v != v) :
                        best = v
                        bi = (2 * b + 1) * W + 2 * e + 1
                    oc[b, e] = best
                    ic[b, e] = bi


@njit
def gather_into(x, idx, out):
    """out[n, c, q] = x[n, c, idx[n, c, q]] on (N, C, L) / (N, C, Q) arrays."""
    N, C, Q = idx.shape
    for n in range(N):
        for c in range(C):
            xc = x[n, c]
            ic = idx[n, c]
            oc = out[n, c]
            for q in range(Q):
                oc[q] = xc[ic[q]]


@njit
def scatter_add_into(g, idx, gx):
    """gx (N, C, L) is zeroed, then gx[n, c, idx[n, c, q]] += g[n, c, q]."""
    N, C, Q = idx.shape
    for n in range(N):
        for c in range(C):
            gc = gx[n, c]
            gc[:] = 0
            ic = idx[n, c]
            g0 = g[n, c]
            for q in range(Q):
                gc[ic[q]] += g0[q]


@njit
def _avg_divisor(z0, y0, x0, kd, kh, kw, dd, dh, dw, D, H, W, pd, ph, pw, include_pad):
    if include_pad:
        # window clipped to the padded input, as PyTorch does
        nz = min(z0 + (kd - 1) * dd + 1, D + pd) - z0
        ny = min(y0 + (kh - 1) * dh + 1, H + ph) - y0
        nx = min(x0 + (kw - 1) * dw + 1, W + pw) - x0
        return ((nz + dd - 1) // dd) * ((ny + dh - 1) // dh) * ((nx + dw - 1) // dw)
    cnt = 0
    for i in range(kd):
        z = z0 + i * dd
        if 0 <= z < D:
            for j in range(kh):
                y = y0 + j * dh
                if 0 <= y < H:
                    for l in range(kw):
                        xx = x0 + l * dw
                        if 0 <= xx < W:
                            cnt += 1
    return cnt


@njit
def avg_pool_into(x, out, kd, kh, kw, sd, sh, sw, pd, ph, pw, include_pad):
    """out[n, c, a, b, e] = mean of the window (zero padding; divisor per PyTorch)."""
    N, C, D, H, W = x.shape
    od, oh, ow = out.shape[2], out.shape[3], out.shape[4]
    for n in range(N):
        for c in range(C):
            xc = x[n, c]
            for a in range(od):
                z0 = a * sd - pd
                for b in range(oh):
                    y0 = b * sh - ph
                    for e in range(ow):
                        x0 = e * sw - pw
                        s = 0.0
                        for i in range(kd):
                            z = z0 + i
                            if z < 0 or z >= D:
                                continue
                            for j in range(kh):
                                y = y0 + j
                                if y < 0 or y >= H:
                                    continue
                                for l in range(kw):
                                    xx = x0 + l
                                    if 0 <= xx < W:
                                        s += xc[z, y, xx]
                        div = _avg_divisor(z0, y0, x0, kd, kh, kw, 1, 1, 1, D, H, W,
                                           pd, ph, pw, include_pad)
                        out[n, c, a, b, e] = s / div


@njit
def avg_pool_adjoint_into(g, gx, kd, kh, kw, sd, sh, sw, pd, ph, pw, include_pad):
    """Transpose of avg_pool_into: gx (N, C, D, H, W) is overwritten."""
    N, C, D, H, W = gx.shape
    od, oh, ow = g.shape[2], g.shape[3], g.shape[4]
    for n in range(N):
        for c in range(C):
            gc = gx[n, c]
            gc[:] = 0
            for a in range(od):
                z0 = a * sd - pd
                for b in range(oh):
                    y0 = b * sh - ph
                    for e in range(ow):
                        x0 = e * sw - pw
                        div = _avg_divisor(z0, y0, x0, kd, kh, kw, 1, 1, 1, D, H, W,
                                           pd, ph, pw, include_pad)
                        v = g[n, c, a, b, e] / div
                        for i in range(kd):
                            z = z0 + i
                            if z < 0 or z >= D:
                                continue
                            for j in range(kh):
                                y = y0 + j
                                if y < 0 or y >= H:
                                    continue
                                for l in range(kw):
                                    xx = x0 + l
                                    if 0 <= xx < W:
                                        gc[z, y, xx] += v


@njit
def _adaptive_bounds(i, n_out, n_in):
    start = (i * n_in) // n_out
    end = ((i + 1) * n_in + n_out - 1) // n_out
    return start, end


@njit
def adaptive_avg_pool_into(x, out):
    """PyTorch's adaptive average pooling: window i spans [floor(i*L/O), ceil((i+1)*L/O))."""
    N, C, D, H, W = x.shape
    od, oh, ow = out.shape[2], out.shape[3], out.shape[4]
    for n in range(N):
        for c in range(C):
            xc = x[n, c]
            for a in range(od):
                z0, z1 = _adaptive_bounds(a, od, D)
                for b in range(oh):
                    y0, y1 = _adaptive_bounds(b, oh, H)
                    for e in range(ow):
                        x0, x1 = _adaptive_bounds(e, ow, W)
                        s = 0.0
                        for z in range(z0, z1):
                            for y in range(y0, y1):
                                for xx in range(x0, x1):
                                    s += xc[z, y, xx]
                        out[n, c, a, b, e] = s / ((z1 - z0) * (y1 - y0) * (x1 - x0))


@njit
def adaptive_avg_pool_adjoint_into(g, gx):
    """Transpose of adaptive_avg_pool_into: gx (N, C, D, H, W) is overwritten."""
    N, C, D, H, W = gx.shape
    od, oh, ow = g.shape[2], g.shape[3], g.shape[4]
    for n in range(N):
        for c in range(C):
            gc = gx[n, c]
            gc[:] = 0
            for a in range(od):
                z0, z1 = _adaptive_bounds(a, od, D)
                for b in range(oh):
                    y0, y1 = _adaptive_bounds(b, oh, H)
                    for e in range(ow):
                        x0, x1 = _adaptive_bounds(e, ow, W)
                        v = g[n, c, a, b, e] / ((z1 - z0) * (y1 - y0) * (x1 - x0))
                        for z in range(z0, z1):
                            for y in range(y0, y1):
                                for xx in range(x0, x1):
                                    gc[z, y, xx] += v
