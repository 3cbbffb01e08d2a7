"""Pooling kernels (numba): max pooling with arg-max, average pooling and adaptive average
pooling, each with its adjoint.

All kernels work on 5-D ``(N, C, D, H, W)`` arrays (1-D and 2-D pooling reshape to singleton
depth/height) and write into outputs the caller allocates. No kernel tests a bound per element:
the padding is cut off per window row (``_span``) and per window column (``_cols``) instead.

* ``max_pool_into`` writes the maximum of each window and its arg-max as a flat index into the
  ``D*H*W`` plane of the input (PyTorch's ``return_indices`` convention). Padding counts as
  ``-inf``; the first maximum in scan order wins, and a NaN in a window wins (as in PyTorch).
  ``max_pool2d_k2s2_into`` is the 2x2 / stride 2 special case.
* ``gather_into`` / ``scatter_add_into`` are the pair the arg-max gives: the gradient of max
  pooling is ``scatter_add`` of the output gradient to the arg-max, and the adjoint of that
  scatter is the gather (which is what max pooling does with fixed indices).
* ``avg_pool_into`` / ``avg_pool_adjoint_into``: the window mean (PyTorch's divisor, a product
  of per-axis counts) and its transpose; sums run in the array's dtype in PyTorch's order, so
  float32 results match PyTorch's bits.
* ``box_pool_into`` / ``box_pool_adjoint_into``: the same over windows of varying size given
  per axis as ``[lo, hi)`` ranges, for adaptive pooling (``adaptive_avg_pool_into`` and its
  adjoint build the windows).
"""

from __future__ import annotations

import numpy as np

from ._numba import njit

__all__ = [
    "max_pool_into", "max_pool2d_k2s2_into", "gather_into", "scatter_add_into",
    "box_pool_into", "box_pool_adjoint_into", "adaptive_windows",
    "avg_pool_into", "avg_pool_adjoint_into",
    "adaptive_avg_pool_into", "adaptive_avg_pool_adjoint_into",
]


# ---- the window loops ---------------------------------------------------------------------------
# Pooling rows are short (16-32 outputs), and a clipped or strided loop over one output row runs
# its few iterations in the scalar remainder (or through slow gathers). So each (n, c, z) plane is
# first copied into "phase planes": ``xs[z, ry, rx, jy*Lx + jx]`` holds the padded plane at row
# ``sh*jy + ry`` and column ``sw*jx + rx`` (the padding filled with -inf for max, 0 for
# average). Window offset (j, l) of output (b, e) is then at ``t + off`` in phase plane
# ``((j*dh) % sh, (l*dw) % sw)``, with ``t = b*Lx + e`` and ``off = ((j*dh)//sh)*Lx +
# (l*dw)//sw``: for every offset, ONE unit-stride loop over all the outputs of the plane, no
# bound test, vectorized (the columns e >= OW of each row are computed and dropped, as in the
# stride-1 im2col of kernels/conv.py). Measured for 3x3/2 p1 on 64x16x32x32, one core:
# per-output scalar loops 10.5 ms, this layout ~1 ms. Each output still sees its window in
# PyTorch's (row-major) order, so sums, ties and NaNs come out exactly as PyTorch's.
@njit(nogil=True)
def _span(i, k, s, p, d, n):
    """Kernel offsets j in [lo, hi) whose position i*s - p + j*d lies inside [0, n)."""
    st = i * s - p
    lo = 0 if st >= 0 else (d - 1 - st) // d
    hi = (n - 1 - st) // d + 1 if n - 1 - st >= 0 else 0
    return lo, max(lo, min(k, hi))


def _phase_planes(D, kh, kw, sh, sw, dh, dw, oh, ow, dtype):
    """A work array (D, sh, sw, Ly*Lx) for the phase planes, and Lx."""
    lx = ow + ((kw - 1) * dw) // sw
    ly = oh + ((kh - 1) * dh) // sh + 1  # one spare row: the dropped columns read past the end
    return np.empty((D, sh, sw, ly * lx), dtype), lx


@njit(nogil=True)
def _phase_range(r, s, p, n, L):
    """The j in [0, L) whose position s*j + r - p lies inside [0, n)."""
    lo = (p - r + s - 1) // s if p > r else 0
    hi = (n - 1 + p - r) // s + 1 if n - 1 + p - r >= 0 else 0
    return lo, max(lo, min(L, hi))


@njit(nogil=True)
def _to_phases(xc, xs, lx, ph, pw, fill):
    """xs[z, ry, rx, jy*lx + jx] = xc[z, sh*jy + ry - ph, sw*jx + rx - pw], ``fill`` outside."""
    D, H, W = xc.shape
    sh, sw = xs.shape[1], xs.shape[2]
    ly = xs.shape[3] // lx
    for z in range(D):
        for ry in range(sh):  # the padding: rows and columns outside the plane
            y0, y1 = _phase_range(ry, sh, ph, H, ly)
            for rx in range(sw):
                dst = xs[z, ry, rx]
                x0, x1 = _phase_range(rx, sw, pw, W, lx)
                dst[:y0 * lx] = fill
                dst[y1 * lx:] = fill
                for jy in range(y0, y1):
                    dst[jy * lx:jy * lx + x0] = fill
                    dst[jy * lx + x1:(jy + 1) * lx] = fill
        for y in range(H):  # the plane, one input row at a time, read in order
            jy, ry = (y + ph) // sh, (y + ph) % sh
            src = xc[z, y]
            if sw == 1:
                d = xs[z, ry, 0, jy * lx + pw:jy * lx + pw + W]
                for t in range(W):
                    d[t] = src[t]
            elif sw == 2:  # one pass, two streams (a strided read per phase is 2x slower)
                d0 = xs[z, ry, pw % 2, jy * lx + pw // 2:(jy + 1) * lx]
                d1 = xs[z, ry, (pw + 1) % 2, jy * lx + (pw + 1) // 2:(jy + 1) * lx]
                for t in range(W // 2):
                    d0[t] = src[2 * t]
                    d1[t] = src[2 * t + 1]
                if W % 2:
                    d0[W // 2] = src[W - 1]
            else:
                for rx in range(sw):
                    x0, x1 = _phase_range(rx, sw, pw, W, lx)
                    d = xs[z, ry, rx, jy * lx:(jy + 1) * lx]
                    for jx in range(x0, x1):
                        d[jx] = src[sw * jx + rx - pw]


@njit(nogil=True)
def _from_phases(xs, xc, lx, ph, pw):
    """Inverse of _to_phases on the plane's own cells."""
    D, H, W = xc.shape
    sh, sw = xs.shape[1], xs.shape[2]
    ly = xs.shape[3] // lx
    for z in range(D):
        for ry in range(sh):
            y0, y1 = _phase_range(ry, sh, ph, H, ly)
            for rx in range(sw):
                x0, x1 = _phase_range(rx, sw, pw, W, lx)
                src = xs[z, ry, rx]
                for jy in range(y0, y1):
                    dst = xc[z, sh * jy + ry - ph]
                    s = src[jy * lx:(jy + 1) * lx]
                    for jx in range(x0, x1):
                        dst[sw * jx + rx - pw] = s[jx]


@njit(nogil=True)
def _max_pool(x, out, idx, xs, lx, kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw):
    N, C, D, H, W = x.shape
    od, oh, ow = out.shape[2], out.shape[3], out.shape[4]
    T = oh * lx
    pos = np.zeros(T, dtype=np.int64)    # flat input index of window offset (0, 0)
    first = np.zeros(T, dtype=np.int64)  # ... of the window's first in-bounds cell
    for b in range(oh):
        for e in range(ow):
            pos[b * lx + e] = (b * sh - ph) * W + e * sw - pw
            first[b * lx + e] = pos[b * lx + e] + _span(b, kh, sh, ph, dh, H)[0] * dh * W + \
                _span(e, kw, sw, pw, dw, W)[0] * dw
    best = np.empty(T, dtype=x.dtype)
    bi = np.empty(T, dtype=np.int64)
    for n in range(N):
        for c in range(C):
            _to_phases(x[n, c], xs, lx, ph, pw, -np.inf)
            for a in range(od):
                i0, i1 = _span(a, kd, sd, pd, dd, D)
                z0 = (a * sd - pd + i0 * dd) * H * W
                for t in range(T):
                    best[t] = -np.inf
                    bi[t] = z0 + first[t]
                for i in range(i0, i1):
                    z = a * sd - pd + i * dd
                    for j in range(kh):
                        for l in range(kw):
                            src = xs[z, (j * dh) % sh, (l * dw) % sw]
                            off = ((j * dh) // sh) * lx + (l * dw) // sw
                            at = (z * H + j * dh) * W + l * dw
                            for t in range(T):
                                v = src[t + off]
                                bv = best[t]
                                m = (v > bv) | (v != v)  # first maximum wins; NaN wins
                                best[t] = v if m else bv
                                bi[t] = at + pos[t] if m else bi[t]
                for b in range(oh):
                    orow, irow = out[n, c, a, b], idx[n, c, a, b]
                    for e in range(ow):
                        orow[e] = best[b * lx + e]
                        irow[e] = bi[b * lx + e]


def max_pool_into(x, out, idx, kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw):
    """x (N, C, D, H, W) -> out (N, C, OD, OH, OW) window maxima, idx the flat arg-max."""
    xs, lx = _phase_planes(x.shape[2], kh, kw, sh, sw, dh, dw, out.shape[3], out.shape[4],
                           x.dtype)
    _max_pool(x, out, idx, xs, lx, kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw)


@njit(nogil=True)
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
                    if v > best or v != v:
                        best = v
                        bi = 2 * b * W + 2 * e + 1
                    v = r1[2 * e]
                    if v > best or v != v:
                        best = v
                        bi = (2 * b + 1) * W + 2 * e
                    v = r1[2 * e + 1]
                    if v > best or v != v:
                        best = v
                        bi = (2 * b + 1) * W + 2 * e + 1
                    oc[b, e] = best
                    ic[b, e] = bi


@njit(nogil=True)
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


@njit(nogil=True)
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


# ---- average pooling ------------------------------------------------------------------------------
@njit(nogil=True)
def _count(o, k, s, p, n, include_pad, dtype):
    """PyTorch's divisor factors along one axis (as ``dtype``): each window clipped to the
    padded input (include_pad) or to the input."""
    c = np.empty(o, dtype=dtype)
    for i in range(o):
        st = i * s - p
        c[i] = min(st + k, n + p) - st if include_pad else min(st + k, n) - max(st, 0)
    return c


@njit(nogil=True)
def _avg_pool(src, dst, xs, lx, kd, kh, kw, sd, sh, sw, pd, ph, pw, include_pad, adjoint):
    """The window mean (src = x -> dst = out) or, with ``adjoint``, its transpose (src = g ->
    dst = gx); sums in the array's dtype in PyTorch's order. In the adjoint the offsets run
    backwards, so every input cell receives its shares in output order, as in PyTorch."""
    N, C, D, H, W = dst.shape if adjoint else src.shape
    od, oh, ow = (src.shape if adjoint else dst.shape)[2:]
    dt = xs.dtype
    cz = _count(od, kd, sd, pd, D, include_pad, dt)
    cy = _count(oh, kh, sh, ph, H, include_pad, dt)
    cx = _count(ow, kw, sw, pw, W, include_pad, dt)
    T = oh * lx
    acc = np.zeros(T, dtype=dt)  # the dropped columns stay 0 in the adjoint
    for n in range(N):
        for c in range(C):
            if adjoint:
                xs[:] = 0
            else:
                _to_phases(src[n, c], xs, lx, ph, pw, 0)
            for a in range(od):
                i0, i1 = _span(a, kd, sd, pd, 1, D)
                if adjoint:
                    for b in range(oh):
                        grow = src[n, c, a, b]
                        for e in range(ow):
                            acc[b * lx + e] = grow[e] / (cz[a] * cy[b] * cx[e])
                else:
                    acc[:] = 0
                for i in range(i0, i1):
                    z = a * sd - pd + i
                    for jj in range(kh):
                        j = kh - 1 - jj if adjoint else jj
                        for ll in range(kw):
                            l = kw - 1 - ll if adjoint else ll
                            plane = xs[z, j % sh, l % sw]
                            off = (j // sh) * lx + l // sw
                            if adjoint:
                                for t in range(T):
                                    plane[t + off] += acc[t]
                            else:
                                for t in range(T):
                                    acc[t] += plane[t + off]
                if not adjoint:
                    for b in range(oh):
                        orow = dst[n, c, a, b]
                        for e in range(ow):
                            orow[e] = acc[b * lx + e] / (cz[a] * cy[b] * cx[e])
            if adjoint:
                _from_phases(xs, dst[n, c], lx, ph, pw)


def avg_pool_into(x, out, kd, kh, kw, sd, sh, sw, pd, ph, pw, include_pad):
    """out[n, c, a, b, e] = mean of the window (zero padding; divisor per PyTorch)."""
    xs, lx = _phase_planes(x.shape[2], kh, kw, sh, sw, 1, 1, out.shape[3], out.shape[4],
                           x.dtype)
    _avg_pool(x, out, xs, lx, kd, kh, kw, sd, sh, sw, pd, ph, pw, include_pad, False)


def avg_pool_adjoint_into(g, gx, kd, kh, kw, sd, sh, sw, pd, ph, pw, include_pad):
    """Transpose of avg_pool_into: gx (N, C, D, H, W) is overwritten."""
    xs, lx = _phase_planes(gx.shape[2], kh, kw, sh, sw, 1, 1, g.shape[3], g.shape[4], gx.dtype)
    _avg_pool(g, gx, xs, lx, kd, kh, kw, sd, sh, sw, pd, ph, pw, include_pad, True)


# ---- adaptive (box) pooling: windows of varying size -----------------------------------------
@njit(nogil=True)
def box_pool_into(x, out, lz, hz, cz, ly, hy, cy, lx, hx, cx):
    """out[n, c, a, b, e] = sum of x over [lz[a], hz[a]) x [ly[b], hy[b]) x [lx[e], hx[e])
    divided by cz[a] * cy[b] * cx[e] (the counts as floats of x's dtype). The sum runs in x's
    dtype in PyTorch's order (row-major over the window), so float32 results match its bits."""
    N, C, D, H, W = x.shape
    od, oh, ow = out.shape[2], out.shape[3], out.shape[4]
    for n in range(N):
        for c in range(C):
            xc = x[n, c]
            for a in range(od):
                for b in range(oh):
                    czy = cz[a] * cy[b]
                    orow = out[n, c, a, b]
                    for e in range(ow):
                        s = czy - czy  # zero of the dtype (czy * 0 would be float64)
                        for z in range(lz[a], hz[a]):
                            for y in range(ly[b], hy[b]):
                                row = xc[z, y]
                                for l in range(lx[e], hx[e]):
                                    s += row[l]
                        orow[e] = s / (czy * cx[e])


@njit(nogil=True)
def box_pool_adjoint_into(g, gx, lz, hz, cz, ly, hy, cy, lx, hx, cx):
    """Transpose of box_pool_into: gx (N, C, D, H, W) is overwritten (each output's share
    added in output order, as PyTorch does)."""
    N, C, D, H, W = gx.shape
    od, oh, ow = g.shape[2], g.shape[3], g.shape[4]
    for n in range(N):
        for c in range(C):
            gc = gx[n, c]
            gc[:] = 0
            for a in range(od):
                for b in range(oh):
                    czy = cz[a] * cy[b]
                    grow = g[n, c, a, b]
                    for e in range(ow):
                        v = grow[e] / (czy * cx[e])
                        for z in range(lz[a], hz[a]):
                            for y in range(ly[b], hy[b]):
                                row = gc[z, y]
                                for l in range(lx[e], hx[e]):
                                    row[l] += v


def adaptive_windows(n, o):
    """PyTorch's adaptive windows: window i spans [floor(i*n/o), ceil((i+1)*n/o))."""
    i = np.arange(o, dtype=np.int64)
    lo = (i * n) // o
    hi = ((i + 1) * n + o - 1) // o
    return lo, hi, hi - lo


def _axes(windows, dtype):
    """Flatten per-axis (lo, hi, count) triples into kernel arguments (counts as ``dtype``)."""
    return [a for lo, hi, cnt in windows for a in (lo, hi, cnt.astype(dtype))]


def _adaptive_axes(shape, osp, dtype):
    return _axes([adaptive_windows(n, o) for n, o in zip(shape[2:], osp)], dtype)


def adaptive_avg_pool_into(x, out):
    """PyTorch's adaptive average pooling: window i spans [floor(i*L/O), ceil((i+1)*L/O))."""
    box_pool_into(x, out, *_adaptive_axes(x.shape, out.shape[2:], out.dtype))


def adaptive_avg_pool_adjoint_into(g, gx):
    """Transpose of adaptive_avg_pool_into: gx (N, C, D, H, W) is overwritten."""
    box_pool_adjoint_into(g, gx, *_adaptive_axes(gx.shape, g.shape[2:], gx.dtype))
