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

Every kernel takes ``work=None``: the whole batch, or an object with ``array`` (k x 2 int64
batch ranges) and ``counter`` (an int64 array of one) that several threads share. Each thread
then makes one GIL-free call that takes ranges from the counter until none is left
(``_numba.next_plane``: each (sample, channel) plane of the ranges it takes), with scratch of
its own: a Python loop per range would hold the GIL between ranges, and two threads then
mostly wait for each other.
"""

from __future__ import annotations

import functools

import numpy as np

from ._numba import next_plane, njit, plane_state
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


def _work(work, n):
    """(ranges, counter) for a kernel: ``work``'s, or the whole batch of ``n`` as one range."""
    if work is None:
        return np.array([[0, n]], np.int64), np.zeros(1, np.int64)
    return work.array, work.counter


def _starts(n, k, s, p, d, o):
    """Per output along one axis: the window's first position and its first in-bounds one."""
    st = np.arange(o, dtype=np.int64) * s - p
    lo = np.where(st >= 0, 0, (d - 1 - st) // d)
    return st, st + lo * d


@njit(nogil=True)
def _max_pool_plane(xc, o, io, xs, best, bi, Q, tph, toff, tat, tpos, pos, first, ly, lx, sd,
                    sh, sw, pd, ph, pw):
    """One (n, c) volume xc into o and io (flat views)."""
    P = tpos.shape[0]
    phase_copy(xc, xs, ly, lx, sd, sh, sw, pd, ph, pw, False)
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
    for q in range(P):
        o[q] = best[tpos[q]]
        io[q] = bi[tpos[q]]


@njit(nogil=True)
def _max_pool(x, out, idx, chunks, counter, xs_shape, Q, tph, toff, tat, tpos, pos, first, ly,
              lx, sd, sh, sw, pd, ph, pw):
    xs = np.full(xs_shape, -np.inf, dtype=x.dtype)  # this thread's phases (padding -inf)
    best = np.empty(Q, dtype=x.dtype)
    bi = np.zeros(Q, dtype=np.int64)
    at = plane_state()
    while True:
        n, c = next_plane(chunks, counter, at, x.shape[1])
        if n < 0:
            return
        _max_pool_plane(x[n, c], out[n, c].reshape(-1), idx[n, c].reshape(-1), xs, best,
                        bi, Q, tph, toff, tat, tpos, pos, first, ly, lx, sd, sh, sw, pd,
                        ph, pw)


def max_pool_into(x, out, idx, kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw, work=None):
    """x (N, C, D, H, W) -> out (N, C, OD, OH, OW) window maxima, idx the flat arg-max."""
    k, s, p, d, o = (kd, kh, kw), (sd, sh, sw), (pd, ph, pw), (dd, dh, dw), out.shape[2:]
    xs_shape, Q, tph, toff, tat, tpos, args = _plan(tuple(x.shape[2:]), k, s, p, d, tuple(o))
    (z, z1), (y, y1), (w, w1) = (_starts(*a) for a in zip(x.shape[2:], k, s, p, d, o))
    H, W = x.shape[3:]
    A = np.ix_(z * H * W, y * W, w)
    pos = np.zeros(Q, np.int64)
    pos[tpos] = (A[0] + A[1] + A[2]).ravel()
    F = np.ix_(z1 * H * W, y1 * W, w1)
    first = (F[0] + F[1] + F[2]).ravel()
    _max_pool(x, out, idx, *_work(work, x.shape[0]), xs_shape, Q, tph, toff, tat, tpos, pos,
              first, *args)


@njit(nogil=True, inline="always")
def _max_k2s2_plane(xc, oc, ic, W, oh, ow):
    """One (n, c) plane: each 2x2 window's maximum and its flat arg-max."""
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
def _max_pool_k2s2(x, out, idx, chunks, counter):
    W = x.shape[4]
    oh, ow = out.shape[3], out.shape[4]
    at = plane_state()
    while True:
        n, c = next_plane(chunks, counter, at, x.shape[1])
        if n < 0:
            return
        _max_k2s2_plane(x[n, c, 0], out[n, c, 0], idx[n, c, 0], W, oh, ow)


def max_pool2d_k2s2_into(x, out, idx, work=None):
    """Fast path: 2x2 windows, stride 2, no padding/dilation, on (N, C, 1, H, W)."""
    _max_pool_k2s2(x, out, idx, *_work(work, x.shape[0]))


@njit(nogil=True)
def _indexed(x, idx, o, back, chunks, counter):
    """o[n, c, q] = x[n, c, idx[n, c, q]] (gather), or (``back``, its adjoint) x is zeroed and
    x[n, c, idx[n, c, q]] += o[n, c, q] (scatter-add); x (N, C, L), idx and o (N, C, Q)."""
    Q = idx.shape[2]
    at = plane_state()
    while True:
        n, c = next_plane(chunks, counter, at, idx.shape[1])
        if n < 0:
            return
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


def gather_into(x, idx, out, work=None):
    """out[n, c, q] = x[n, c, idx[n, c, q]] on (N, C, L) / (N, C, Q) arrays."""
    _indexed(x, idx, out, False, *_work(work, x.shape[0]))


def scatter_add_into(g, idx, gx, work=None):
    """gx (N, C, L) is zeroed, then gx[n, c, idx[n, c, q]] += g[n, c, q]."""
    _indexed(gx, idx, g, True, *_work(work, gx.shape[0]))


# ---- average pooling ------------------------------------------------------------------------------
@njit(nogil=True, error_model="numpy")  # IEEE division: no zero test per element
def _avg_pool(x, out, chunks, counter, xs_shape, Q, tph, toff, tpos, div, ly, lx, sd, sh, sw,
              pd, ph, pw):
    """The window mean, summed in x's dtype in PyTorch's order."""
    xs = np.zeros(xs_shape, dtype=x.dtype)  # this thread's phases (padding 0)
    acc = np.empty(Q, dtype=x.dtype)
    at = plane_state()
    while True:
        n, c = next_plane(chunks, counter, at, x.shape[1])
        if n < 0:
            return
        phase_copy(x[n, c], xs, ly, lx, sd, sh, sw, pd, ph, pw, False)
        acc[:] = 0
        for kk in range(tph.shape[0]):
            plane = xs[tph[kk], toff[kk]:toff[kk] + Q]
            for t in range(Q):
                acc[t] += plane[t]
        for t in range(Q):  # one long loop (vectorized) rather than one division per output
            acc[t] /= div[t]
        o = out[n, c].reshape(-1)
        for q in range(tpos.shape[0]):
            o[q] = acc[tpos[q]]


@njit(nogil=True, error_model="numpy")
def _avg_pool_adjoint(g, gx, chunks, counter, xs_shape, Q, tph, toff, tpos, div, ly, lx, sd, sh,
                      sw, pd, ph, pw):
    """Its transpose. The offsets run backwards, so every input cell receives its shares in
    output order, as in PyTorch."""
    xs = np.empty(xs_shape, dtype=gx.dtype)
    acc = np.zeros(Q, dtype=gx.dtype)  # the dropped positions stay 0
    at = plane_state()
    while True:
        n, c = next_plane(chunks, counter, at, gx.shape[1])
        if n < 0:
            return
        xs[:] = 0
        gr = g[n, c].reshape(-1)
        for q in range(tpos.shape[0]):
            acc[tpos[q]] = gr[q]
        for t in range(Q):  # (the dropped positions: 0 / 1)
            acc[t] /= div[t]
        for kk in range(tph.shape[0] - 1, -1, -1):
            plane = xs[tph[kk], toff[kk]:toff[kk] + Q]
            for t in range(Q):
                plane[t] += acc[t]
        phase_copy(gx[n, c], xs, ly, lx, sd, sh, sw, pd, ph, pw, True)


@njit(nogil=True, inline="always")
def _k2s2_avg_plane(xc, oc, back):
    """One (n, c) plane of _k2s2_avg."""
    H, W = xc.shape
    oh, ow = oc.shape
    z = xc.dtype.type(0)
    q = xc.dtype.type(0.25)
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
def _k2s2_avg(x, o, back, chunks, counter):
    """2x2 / stride 2 average pooling between x (N, C, 1, H, W) and o (N, C, 1, OH, OW):
    forward, o = the mean of each window, summed (0 + x00) + x01 + x10 + x11 as the general
    kernel and PyTorch do, times 1/4 (exact: a power of two); ``back`` (the transpose), x is
    overwritten with o/4 on each window's four cells and zeros where no window reaches."""
    at = plane_state()
    while True:
        n, c = next_plane(chunks, counter, at, x.shape[1])
        if n < 0:
            return
        _k2s2_avg_plane(x[n, c, 0], o[n, c, 0], back)


def avg_pool2d_k2s2_into(x, out, work=None):
    """Fast path: 2x2 windows, stride 2, no padding, on (N, C, 1, H, W) (see _k2s2_avg)."""
    _k2s2_avg(x, out, False, *_work(work, x.shape[0]))


def avg_pool2d_k2s2_adjoint_into(g, gx, work=None):
    """Its transpose: gx (N, C, 1, H, W) is overwritten."""
    _k2s2_avg(gx, g, True, *_work(work, gx.shape[0]))


@functools.lru_cache(maxsize=128)
def _avg_divisors(spatial, k, s, p, o, include_pad, dtype):
    """PyTorch's divisor of every output (the window clipped to the padded input with
    count_include_pad, else to the input: a product of per-axis counts), placed at the
    outputs' Q positions of the phase layout (1 at the dropped ones, which the kernels divide
    too: one long loop)."""
    cnt = []
    for n, kk, ss, pp, oo in zip(spatial, k, s, p, o):
        st = np.arange(oo) * ss - pp
        cnt.append(np.minimum(st + kk, n + pp) - st if include_pad else
                   np.minimum(st + kk, n) - np.maximum(st, 0))
    _, Q, _, _, _, tpos, _ = _plan(spatial, k, s, p, (1, 1, 1), o)
    div = np.ones(Q, dtype)
    div[tpos] = (cnt[0][:, None, None] * cnt[1][None, :, None] * cnt[2]).ravel()
    return div


def _avg_args(shape, k, s, p, o, include_pad, dtype):
    spatial, o = tuple(shape[2:]), tuple(o)
    xs_shape, Q, tph, toff, _, tpos, args = _plan(spatial, k, s, p, (1, 1, 1), o)
    div = _avg_divisors(spatial, k, s, p, o, include_pad, dtype)
    return (xs_shape, Q, tph, toff, tpos, div, *args)


def avg_pool_into(x, out, kd, kh, kw, sd, sh, sw, pd, ph, pw, include_pad, work=None):
    """out[n, c, a, b, e] = mean of the window (zero padding; divisor per PyTorch)."""
    _avg_pool(x, out, *_work(work, x.shape[0]),
              *_avg_args(x.shape, (kd, kh, kw), (sd, sh, sw), (pd, ph, pw), out.shape[2:],
                         include_pad, x.dtype))


def avg_pool_adjoint_into(g, gx, kd, kh, kw, sd, sh, sw, pd, ph, pw, include_pad, work=None):
    """Transpose of avg_pool_into: gx (N, C, D, H, W) is overwritten."""
    _avg_pool_adjoint(g, gx, *_work(work, gx.shape[0]),
                      *_avg_args(gx.shape, (kd, kh, kw), (sd, sh, sw), (pd, ph, pw),
                                 g.shape[2:], include_pad, gx.dtype))


# ---- adaptive (box) pooling: windows of varying size -----------------------------------------
@njit(nogil=True, inline="always")
def _box_plane(xc, oc, od, oh, ow, lz, hz, cz, ly, hy, cy, lx, hx, cx):
    """One (n, c) volume of box pooling (``_box``)."""
    for a in range(od):
        for b in range(oh):
            orow = oc[a, b]
            for e in range(ow):
                s = cx[e] - cx[e]  # zero of the dtype (cx[e] * 0 would be float64)
                for z in range(lz[a], hz[a]):
                    for y in range(ly[b], hy[b]):
                        row = xc[z, y]
                        for l in range(lx[e], hx[e]):
                            s += row[l]
                orow[e] = s / cz[a] / cy[b] / cx[e]  # one count at a time, as PyTorch


@njit(nogil=True, inline="always")
def _box_adjoint_plane(gr, gc, od, oh, ow, lz, hz, cz, ly, hy, cy, lx, hx, cx):
    """One (n, c) volume of its transpose (``_box`` with ``back``)."""
    gc[:] = 0
    for a in range(od):
        for b in range(oh):
            grow = gr[a, b]
            for e in range(ow):
                v = grow[e] / cz[a] / cy[b] / cx[e]
                for z in range(lz[a], hz[a]):
                    for y in range(ly[b], hy[b]):
                        row = gc[z, y]
                        for l in range(lx[e], hx[e]):
                            row[l] += v


@njit(nogil=True)
def _box(x, o, back, chunks, counter, lz, hz, cz, ly, hy, cy, lx, hx, cx):
    """Box pooling of x into o over the chunks this thread takes, or (``back``) its transpose:
    x the input gradient (overwritten), o the output gradient."""
    od, oh, ow = o.shape[2], o.shape[3], o.shape[4]
    at = plane_state()
    while True:
        n, c = next_plane(chunks, counter, at, x.shape[1])
        if n < 0:
            return
        if back:
            _box_adjoint_plane(o[n, c], x[n, c], od, oh, ow, lz, hz, cz, ly, hy, cy, lx,
                               hx, cx)
        else:
            _box_plane(x[n, c], o[n, c], od, oh, ow, lz, hz, cz, ly, hy, cy, lx, hx, cx)


def box_pool_into(x, out, lz, hz, cz, ly, hy, cy, lx, hx, cx, work=None):
    """out[n, c, a, b, e] = sum of x over [lz[a], hz[a]) x [ly[b], hy[b]) x [lx[e], hx[e])
    divided by cz[a], then cy[b], then cx[e] (the counts as floats of x's dtype). The sum runs
    in x's dtype in PyTorch's order (row-major over the window) and the divisions come one at a
    time as in PyTorch, so float32 results match its bits."""
    _box(x, out, False, *_work(work, x.shape[0]), lz, hz, cz, ly, hy, cy, lx, hx, cx)


def box_pool_adjoint_into(g, gx, lz, hz, cz, ly, hy, cy, lx, hx, cx, work=None):
    """Transpose of box_pool_into: gx (N, C, D, H, W) is overwritten (each output's share
    added in output order, as PyTorch does)."""
    _box(gx, g, True, *_work(work, gx.shape[0]), lz, hz, cz, ly, hy, cy, lx, hx, cx)


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


def adaptive_avg_pool_into(x, out, work=None):
    """PyTorch's adaptive average pooling: window i spans [floor(i*L/O), ceil((i+1)*L/O))."""
    box_pool_into(x, out, *_adaptive_axes(x.shape, out.shape[2:], out.dtype), work=work)


def adaptive_avg_pool_adjoint_into(g, gx, work=None):
    """Transpose of adaptive_avg_pool_into: gx (N, C, D, H, W) is overwritten."""
    box_pool_adjoint_into(g, gx, *_adaptive_axes(gx.shape, g.shape[2:], gx.dtype), work=work)
