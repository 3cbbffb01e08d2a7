"""Pooling kernels (numba): max pooling with arg-max, average pooling and adaptive average
pooling, each with its adjoint.

All kernels work on 5-D ``(N, C, D, H, W)`` arrays (1-D and 2-D pooling reshape to singleton
depth/height) and write into outputs the caller allocates. Max and average pooling run on the
phase layout of kernels/_phases.py, the one the convolutions use.

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

import functools

import numpy as np

from ._numba import njit
from ._phases import phase_copy, phase_sizes, taps

__all__ = [
    "max_pool_into", "max_pool2d_k2s2_into", "gather_into", "scatter_add_into",
    "box_pool_into", "box_pool_adjoint_into", "adaptive_windows",
    "avg_pool_into", "avg_pool_adjoint_into",
    "avg_pool2d_k2s2_into", "avg_pool2d_k2s2_adjoint_into",
    "adaptive_avg_pool_into", "adaptive_avg_pool_adjoint_into",
]


# ---- windows on the phase layout ---------------------------------------------------------------
# Pooling rows are short (16-32 outputs), and a clipped or strided loop over one output row runs
# its few iterations in the scalar remainder (or through slow gathers). So each (n, c) volume is
# copied into the phase layout of kernels/_phases.py (its padding -inf for max, 0 for average),
# where every kernel offset is ONE unit-stride loop over all the outputs of the volume, with no
# bound test (measured for 3x3/2 p1 on 64x16x32x32, one core: per-output scalar loops with
# bound tests 10.5 ms, this way ~3 ms, the copy into phases included). Each output still sees
# its window in PyTorch's (row-major) order, so sums, ties and NaNs come out exactly as
# PyTorch's.
@functools.lru_cache(maxsize=128)
def _plan(spatial, k, s, p, d, o):
    """The phase geometry of one pooling, computed once per shape (rebuilding it for every
    batch chunk cost more than the kernels for 3x3/2 on N64, C16, 32x32): phase-array shape,
    Q, the taps and the flat position of every output (arrays only read)."""
    (lz, ly, lx), L, Q = phase_sizes(k, s, d, o)
    tph, toff, tat = taps(k, s, d, ly, lx, hw=spatial[1:])
    a, b, e = np.meshgrid(*[np.arange(n) for n in o], indexing="ij")
    tpos = ((a * ly + b) * lx + e).ravel()
    return (s[0] * s[1] * s[2], L), Q, tph, toff, tat, tpos, (ly, lx, *s, *p)


def _layout(shape, k, s, p, d, o, dtype, fill):
    """Phases (filled with ``fill``), the taps and the flat position of every output."""
    xs_shape, *rest = _plan(tuple(shape[2:]), k, s, p, d, tuple(o))
    return (np.full(xs_shape, fill, dtype), *rest)


def _starts(n, k, s, p, d, o):
    """Per output along one axis: the window's first position and its first in-bounds one."""
    st = np.arange(o, dtype=np.int64) * s - p
    lo = np.where(st >= 0, 0, (d - 1 - st) // d)
    return st, st + lo * d


@njit(nogil=True)
def _max_pool(x, out, idx, xs, Q, tph, toff, tat, tpos, pos, first, ly, lx, sd, sh, sw, pd, ph,
              pw):
    N, C = x.shape[0], x.shape[1]
    P = tpos.shape[0]
    best = np.empty(Q, dtype=x.dtype)
    bi = np.zeros(Q, dtype=np.int64)
    for n in range(N):
        for c in range(C):
            phase_copy(x[n, c], xs, ly, lx, sd, sh, sw, pd, ph, pw, False)
            best[:] = -np.inf
            for q in range(P):
                bi[tpos[q]] = first[q]
            for kk in range(tph.shape[0]):
                src = xs[tph[kk], toff[kk]:toff[kk] + Q]
                at = tat[kk]
                for t in range(Q):
                    v = src[t]
                    bv = best[t]
                    m = (v > bv) | (v != v)  # first maximum wins; NaN wins
                    best[t] = v if m else bv
                    bi[t] = at + pos[t] if m else bi[t]
            o = out[n, c].reshape(-1)
            io = idx[n, c].reshape(-1)
            for q in range(P):
                o[q] = best[tpos[q]]
                io[q] = bi[tpos[q]]


def max_pool_into(x, out, idx, kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw):
    """x (N, C, D, H, W) -> out (N, C, OD, OH, OW) window maxima, idx the flat arg-max."""
    k, s, p, d, o = (kd, kh, kw), (sd, sh, sw), (pd, ph, pw), (dd, dh, dw), out.shape[2:]
    xs, Q, tph, toff, tat, tpos, args = _layout(x.shape, k, s, p, d, o, x.dtype, -np.inf)
    (z, z1), (y, y1), (w, w1) = (_starts(*a) for a in zip(x.shape[2:], k, s, p, d, o))
    H, W = x.shape[3:]
    A = np.ix_(z * H * W, y * W, w)
    pos = np.zeros(Q, np.int64)
    pos[tpos] = (A[0] + A[1] + A[2]).ravel()
    F = np.ix_(z1 * H * W, y1 * W, w1)
    first = (F[0] + F[1] + F[2]).ravel()
    _max_pool(x, out, idx, xs, Q, tph, toff, tat, tpos, pos, first, *args)


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


@njit(nogil=True, inline="always")
def _indexed(x, idx, o, back):
    """o[n, c, q] = x[n, c, idx[n, c, q]] (gather), or (``back``, its adjoint) x is zeroed and
    x[n, c, idx[n, c, q]] += o[n, c, q] (scatter-add); x (N, C, L), idx and o (N, C, Q)."""
    N, C, Q = idx.shape
    for n in range(N):
        for c in range(C):
            xc = x[n, c]
            ic = idx[n, c]
            oc = o[n, c]
            if back:
                xc[:] = 0
                for q in range(Q):
                    xc[ic[q]] += oc[q]
            else:
                for q in range(Q):
                    oc[q] = xc[ic[q]]


@njit(nogil=True)
def gather_into(x, idx, out):
    """out[n, c, q] = x[n, c, idx[n, c, q]] on (N, C, L) / (N, C, Q) arrays."""
    _indexed(x, idx, out, False)


@njit(nogil=True)
def scatter_add_into(g, idx, gx):
    """gx (N, C, L) is zeroed, then gx[n, c, idx[n, c, q]] += g[n, c, q]."""
    _indexed(gx, idx, g, True)


# ---- average pooling ------------------------------------------------------------------------------
@njit(nogil=True)
def _avg_pool(x, out, xs, Q, tph, toff, tpos, div, ly, lx, sd, sh, sw, pd, ph, pw):
    """The window mean, summed in x's dtype in PyTorch's order."""
    acc = np.empty(Q, dtype=xs.dtype)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            phase_copy(x[n, c], xs, ly, lx, sd, sh, sw, pd, ph, pw, False)
            acc[:] = 0
            for kk in range(tph.shape[0]):
                plane = xs[tph[kk], toff[kk]:toff[kk] + Q]
                for t in range(Q):
                    acc[t] += plane[t]
            o = out[n, c].reshape(-1)
            for q in range(tpos.shape[0]):
                o[q] = acc[tpos[q]] / div[q]


@njit(nogil=True)
def _avg_pool_adjoint(g, gx, xs, Q, tph, toff, tpos, div, ly, lx, sd, sh, sw, pd, ph, pw):
    """Its transpose. The offsets run backwards, so every input cell receives its shares in
    output order, as in PyTorch."""
    acc = np.zeros(Q, dtype=xs.dtype)  # the dropped positions stay 0
    for n in range(gx.shape[0]):
        for c in range(gx.shape[1]):
            xs[:] = 0
            gr = g[n, c].reshape(-1)
            for q in range(tpos.shape[0]):
                acc[tpos[q]] = gr[q] / div[q]
            for kk in range(tph.shape[0] - 1, -1, -1):
                plane = xs[tph[kk], toff[kk]:toff[kk] + Q]
                for t in range(Q):
                    plane[t] += acc[t]
            phase_copy(gx[n, c], xs, ly, lx, sd, sh, sw, pd, ph, pw, True)


@njit(nogil=True, inline="always")
def _k2s2_avg(x, o, back):
    """2x2 / stride 2 average pooling between x (N, C, 1, H, W) and o (N, C, 1, OH, OW):
    forward, o = the mean of each window, summed (0 + x00) + x01 + x10 + x11 as the general
    kernel and PyTorch do, times 1/4 (exact: a power of two); ``back`` (the transpose), x is
    overwritten with o/4 on each window's four cells and zeros where no window reaches."""
    N, C = x.shape[:2]
    H, W = x.shape[3], x.shape[4]
    oh, ow = o.shape[3], o.shape[4]
    z = x.dtype.type(0)
    q = x.dtype.type(0.25)
    for n in range(N):
        for c in range(C):
            xc = x[n, c, 0]
            oc = o[n, c, 0]
            for b in range(oh):
                r0 = xc[2 * b]
                r1 = xc[2 * b + 1]
                orow = oc[b]
                if back:
                    for e in range(ow):
                        v = orow[e] * q
                        r0[2 * e] = v
                        r0[2 * e + 1] = v
                        r1[2 * e] = v
                        r1[2 * e + 1] = v
                    for e in range(2 * ow, W):
                        r0[e] = 0
                        r1[e] = 0
                else:
                    for e in range(ow):
                        orow[e] = (((z + r0[2 * e]) + r0[2 * e + 1]) + r1[2 * e]) + r1[2 * e + 1]
                    for e in range(ow):
                        orow[e] *= q
            if back:
                for a in range(2 * oh, H):
                    xc[a, :] = 0


@njit(nogil=True)
def avg_pool2d_k2s2_into(x, out):
    """Fast path: 2x2 windows, stride 2, no padding, on (N, C, 1, H, W) (see _k2s2_avg)."""
    _k2s2_avg(x, out, False)


@njit(nogil=True)
def avg_pool2d_k2s2_adjoint_into(g, gx):
    """Its transpose: gx (N, C, 1, H, W) is overwritten."""
    _k2s2_avg(gx, g, True)


def _divisors(shape, k, s, p, o, include_pad, dtype):
    """PyTorch's divisor of every output: the window clipped to the padded input
    (count_include_pad) or to the input, a product of per-axis counts."""
    cnt = []
    for n, kk, ss, pp, oo in zip(shape[2:], k, s, p, o):
        st = np.arange(oo) * ss - pp
        cnt.append(np.minimum(st + kk, n + pp) - st if include_pad else
                   np.minimum(st + kk, n) - np.maximum(st, 0))
    return (cnt[0][:, None, None] * cnt[1][None, :, None] * cnt[2]).ravel().astype(dtype)


@functools.lru_cache(maxsize=128)
def _avg_divisors(shape, k, s, p, o, include_pad, dtype):
    return _divisors(shape, k, s, p, o, include_pad, dtype)


def avg_pool_into(x, out, kd, kh, kw, sd, sh, sw, pd, ph, pw, include_pad):
    """out[n, c, a, b, e] = mean of the window (zero padding; divisor per PyTorch)."""
    k, s, p, o = (kd, kh, kw), (sd, sh, sw), (pd, ph, pw), out.shape[2:]
    xs, Q, tph, toff, _, tpos, args = _layout(x.shape, k, s, p, (1, 1, 1), o, x.dtype, 0)
    div = _avg_divisors((1, 1) + x.shape[2:], k, s, p, o, include_pad, x.dtype)
    _avg_pool(x, out, xs, Q, tph, toff, tpos, div, *args)


def avg_pool_adjoint_into(g, gx, kd, kh, kw, sd, sh, sw, pd, ph, pw, include_pad):
    """Transpose of avg_pool_into: gx (N, C, D, H, W) is overwritten."""
    k, s, p, o = (kd, kh, kw), (sd, sh, sw), (pd, ph, pw), g.shape[2:]
    xs, Q, tph, toff, _, tpos, args = _layout(gx.shape, k, s, p, (1, 1, 1), o, gx.dtype, 0)
    div = _avg_divisors((1, 1) + gx.shape[2:], k, s, p, o, include_pad, gx.dtype)
    _avg_pool_adjoint(g, gx, xs, Q, tph, toff, tpos, div, *args)


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
