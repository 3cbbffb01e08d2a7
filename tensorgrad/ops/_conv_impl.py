"""Array-level convolution: im2col + GEMM over cache-sized batch chunks, and the Winograd
F(2x2, 3x3) path. No autograd here: ``tensorgrad.ops.conv`` records the ops and calls these.

``forward(x, w, b, geo)`` computes y = conv(x, w) + b; ``backward(x, w, g, geo, ...)`` the
gradients of <conv(x, w) + b, g> with respect to x, w and b, in one pass over the chunks.
"""
from __future__ import annotations

import functools
import itertools
import os
import threading

import numpy as np

from ..kernels import _blas


def _kernels():
    from ..kernels import conv as K  # numba import deferred to first use
    return K


def _cblas():
    from ..kernels import _cblas as C
    return C


# ---- batch chunks and threads --------------------------------------------------------------
#
# The batch is cut into chunks whose columns and GEMM output ((K + C_out) x m*P) take ~0.5 MB
# (for conv a, 3 -> 16 at 32 x 32: 2 samples, measured 10-15 % faster than 4); each chunk is
# packed (im2col), multiplied and unpacked while it is still in cache, instead of writing the
# whole column matrix to memory and reading it back (measured: that memory traffic, not the
# GEMM, is what makes a plain im2col convolution slow). The calling thread and one worker
# thread share the chunks, each taking the next one free; inside, BLAS runs single-threaded
# (OpenBLAS's own pool spin-waits after each call and fights every other thread for the 2 cores,
# see PERF.md). The im2col and Winograd chunk loops run inside numba, one GIL-free call per
# thread (kernels/conv.py forward_chunks): driven from Python, every chunk took the GIL, and on
# this VM each hand-over of the GIL woke the other thread late (LeNet-5's first layer: two
# threads no faster than one; with the loops in numba, forward 0.60 -> 0.29 ms).
_CHUNK_BYTES = 512 * 1024
_DB_IN_GEMM = [True]  # bias gradient folded into the weight-gradient GEMM (im2col)
_MIN_PARALLEL_BYTES = 1 << 20  # less work than ~1 MB of columns: the thread hand-off costs more
_THREADS = [min(2, os.cpu_count() or 1)]
_POOL = []


def set_num_threads(n: int) -> None:
    """Threads the convolution, pooling and recurrent ops use (1 = everything on the calling
    thread; 2, the default on 2+ cores: one worker thread beside it)."""
    if int(n) < 1:
        raise ValueError(f"set_num_threads: expected a positive count, got {n}")
    _THREADS[0] = int(n)


def get_num_threads() -> int:
    return _THREADS[0]


_LOCAL = threading.local()


def _buffer(name, size, dtype):
    """A flat work buffer of at least ``size`` elements, kept per thread and reused across calls
    (fresh large allocations are page-faulted in on every call unless glibc's malloc
    thresholds are raised; see PERF.md). Contents are undefined."""
    cache = getattr(_LOCAL, "bufs", None)
    if cache is None:
        cache = _LOCAL.bufs = {}
    key = (name, np.dtype(dtype).char)
    buf = cache.get(key)
    if buf is None or buf.size < size:
        buf = cache[key] = np.empty(max(size, 1), dtype=dtype)
    return buf[:size]


def on_both(pool, fn):
    """[fn(0), fn(1)]: fn(0) on this thread while the worker ``pool`` runs fn(1); if fn(0)
    fails, wait for the worker before raising (it must not go on writing into arrays the
    caller drops)."""
    fut = pool.submit(fn, 1)
    try:
        first = fn(0)
    except BaseException:
        fut.exception()
        raise
    return [first, fut.result()]


def on_worker() -> bool:
    """Whether this code runs on the ops' worker thread (which must not hand work to itself)."""
    return bool(_POOL) and threading.current_thread().name.startswith("tg-worker")


def background():
    """The one worker thread the ops share (conv chunks, a recurrent layer's GEMMs beside its
    time loop), or None when the ops run on one thread (``set_num_threads(1)``), when the
    caller is the worker itself or runs alone beside it (``_blas.solo``)."""
    if _THREADS[0] < 2 or _blas.is_solo() or on_worker():
        return None
    if not _POOL:
        from concurrent.futures import ThreadPoolExecutor
        _POOL.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="tg-worker"))
    return _POOL[0]


class _Chunks:
    """The (n0, n1) batch ranges of one call, shared by its threads: each range goes to whichever
    thread asks first. Python tasks iterate over it; numba tasks get ``array`` (k x 2) and
    ``counter`` and take ranges with ``kernels._numba.take`` (a task uses one way or the other)."""
    __slots__ = ("array", "counter", "_next")

    def __init__(self, chunks):
        self.array = np.array(chunks, dtype=np.int64).reshape(-1, 2)
        self.counter = np.zeros(1, dtype=np.int64)
        self._next = itertools.count()

    def __iter__(self):
        while True:
            i = next(self._next)  # atomic under the GIL
            if i >= len(self.array):
                return
            yield int(self.array[i, 0]), int(self.array[i, 1])


def _run_chunks(task, n_items, per_item_bytes, chunk_bytes=None, split_tail=False):
    """Run ``task(chunks, m)`` over (n0, n1) batch ranges of at most ``m`` items (a ``_Chunks``),
    on up to two threads that share them (so a thread that the OS does not schedule, on a busy
    machine, just takes fewer chunks); returns the tasks' results. ``split_tail``: halve the
    last two chunks, so that the thread that finishes first waits less for the other (for
    large chunks)."""
    chunk_bytes = _CHUNK_BYTES if chunk_bytes is None else chunk_bytes
    m = max(1, min(n_items, chunk_bytes // max(1, per_item_bytes)))
    chunks = [(i, min(n_items, i + m)) for i in range(0, n_items, m)]
    if split_tail and len(chunks) > 4 and m > 1:
        tail = []
        for n0, n1 in chunks[-2:]:
            h = (n0 + n1) // 2
            tail += [(n0, h), (h, n1)] if h > n0 else [(n0, n1)]
        chunks = chunks[:-2] + tail
    work = _Chunks(chunks)
    with _blas.single_thread():
        pool = background()
        if (pool is None or len(chunks) < 2
                or n_items * per_item_bytes < _MIN_PARALLEL_BYTES
                or not _blas.controllable()):  # BLAS threads not controllable: let BLAS thread
            return [task(work, m)]
        fut = pool.submit(task, work, m)
        r0 = task(work, m)
        if fut.cancel():  # the worker never started: everything is done already
            return [r0]
        return [r0, fut.result()]


def _x5(a, geo):
    return np.ascontiguousarray(a).reshape(a.shape[:2] + geo.isp)


@functools.lru_cache(maxsize=256)
def _phase_geometry(k, s, p, d, o):
    return _kernels().Geometry(k, s, p, d, o)


class _Layout:
    """How a batch chunk becomes columns: the phase layout of kernels/conv.py (Q >= P flat
    positions per sample, the extra ones cropped), for every stride and padding."""
    __slots__ = ("Qs", "C", "scratch", "args", "grid", "ph")

    def __init__(self, geo, C):
        g = _phase_geometry(geo.k, geo.s, geo.p, geo.d, geo.osp)
        self.C = C
        self.Qs = g.Q
        self.ph = (g.nph, g.L)
        self.scratch = C * g.nph * g.L
        self.args = g.args
        self.grid = g.grid

    def new_scratch(self, dtype, name="scratch"):
        buf = _buffer(name, self.scratch, dtype).reshape((self.C,) + self.ph)
        buf.fill(0)
        return buf


def forward(x, w, b, geo):
    """y = conv(x, w) + b on arrays."""
    if _use_winograd(geo, x.shape[1], w.shape[0]):
        return _wino_forward(x, w, b, geo)
    if _pointwise(geo):
        return _pw_forward(_subsample(x, geo), w, b, geo)
    K_ = _kernels()
    x5 = _x5(x, geo)
    N, C = x5.shape[:2]
    Co = w.shape[0]
    w2 = np.ascontiguousarray(w).reshape(Co, -1)
    Kc = w2.shape[1]
    lay = _Layout(geo, C)
    Qs = lay.Qs
    out = np.empty((N, Co) + geo.osp, dtype=x5.dtype)
    b1 = np.zeros(Co, dtype=x5.dtype) if b is None else np.ascontiguousarray(b)

    gemm = _cblas().gemm_function(x5.dtype)

    def task(chunks, m_max):
        K_.forward_chunks(gemm, x5, w2, b1, out, _buffer("cols", Kc * m_max * Qs, x5.dtype),
                          _buffer("gemm", Co * m_max * Qs, x5.dtype), lay.new_scratch(x5.dtype),
                          chunks.array, chunks.counter, Qs, *lay.grid, *lay.args)

    _run_chunks(task, N, (Kc + Co) * Qs * x5.dtype.itemsize)  # columns + GEMM output
    return out.reshape((N, Co) + geo.osp[3 - geo.nd:])


def backward(x, w, g, geo, x_shape, w_shape, need_x, need_w, need_b):
    """Gradients of <conv(x, w) + b, g> with respect to x, w and b (arrays; x is only read when
    need_w, w only when need_x)."""
    if _use_winograd(geo, x_shape[1], g.shape[1]):
        return _wino_backward(x, w, g, geo, x_shape, w_shape, need_x, need_w, need_b)
    if _pointwise(geo):
        if geo.s == (1, 1, 1):
            return _pw_backward(x, w, g, x_shape, w_shape, need_x, need_w, need_b)
        xs = _subsample(x, geo) if need_w else None
        gx, gw, gb = _pw_backward(xs, w, g, x_shape[:2] + g.shape[2:], w_shape, need_x,
                                  need_w, need_b)
        if gx is not None:  # scatter into the positions read; the others get zeros
            sd, sh, sw = geo.s
            od, oh, ow = geo.osp
            dx = np.zeros(x_shape, dtype=gx.dtype)
            dx.reshape(x_shape[:2] + geo.isp)[:, :, :sd * od:sd, :sh * oh:sh, :sw * ow:sw] = \
                gx.reshape(gx.shape[:2] + geo.osp)
            gx = dx
        return gx, gw, gb
    K_ = _kernels()
    N, Co = g.shape[:2]
    C = x_shape[1]
    Kc = C * geo.k[0] * geo.k[1] * geo.k[2]
    lay = _Layout(geo, C)
    Qs = lay.Qs
    dt = g.dtype
    g5 = np.ascontiguousarray(g).reshape((N, Co) + geo.osp)
    x5 = _x5(x, geo) if need_w else None
    w2t = np.ascontiguousarray(np.asarray(w).reshape(Co, Kc).T) if need_x else None
    dx = np.empty((N, C) + geo.isp, dtype=dt) if need_x else None

    # with the weight gradient, the bias gradient comes out of its GEMM: a row of ones under the
    # columns makes the last row of cols @ g^T the row sums of g (the dropped positions of g
    # are zeros); a separate sum cost 20-70 us per chunk of conv a, the extra row ~4 us
    fold_b = need_b and need_w and _DB_IN_GEMM[0]
    Kb = Kc + 1 if fold_b else Kc
    gemm = _cblas().gemm_function(dt)
    e1, e2, e5 = (np.empty((0,) * k, dtype=dt) for k in (1, 2, 5))  # "not wanted"

    def task(chunks, m_max):
        gbuf = _buffer("gemm", Co * m_max * Qs, dt)
        gbuf.fill(0)  # the dropped positions must hold zeros
        dw = np.zeros((Kb, Co), dtype=dt) if need_w else e2  # transposed: measured faster
        db = np.zeros(Co, dtype=dt) if need_b and not fold_b else e1
        K_.backward_chunks(gemm, x5 if need_w else e5, w2t if need_x else e2, g5,
                           dx if need_x else e5, dw, db,
                           _buffer("cols", Kb * m_max * Qs, dt), gbuf,
                           lay.new_scratch(dt),  # im2col's zero-bordered copy of a sample
                           lay.new_scratch(dt, "scratch2") if need_x else lay.new_scratch(dt),
                           chunks.array, chunks.counter, Qs, *lay.grid, *lay.args)
        return (dw if need_w else None), (db if need_b and not fold_b else None)

    if need_x or need_w or need_b:
        parts = _run_chunks(task, N, (Kc + Co) * Qs * dt.itemsize)
    else:
        parts = []
    gw = gb = None
    if need_w:
        gw = parts[0][0] if len(parts) == 1 else parts[0][0] + parts[1][0]
        if gw.shape[0] > Kc:  # the bias gradient was folded into the GEMM
            gb = gw[Kc].copy()
            gw = gw[:Kc]
        gw = np.ascontiguousarray(gw.T).reshape(w_shape)
    if need_b and gb is None:
        gb = parts[0][1] if len(parts) == 1 else parts[0][1] + parts[1][1]
    return (dx.reshape(x_shape) if need_x else None), gw, gb


# ---- 1x1 convolutions, stride 1, no padding: no columns at all ------------------------------------
# Each sample is already its own column matrix (C x P): y[n] = W x[n], dx[n] = W^T g[n],
# dW = sum_n g[n] x[n]^T, straight in NCHW (no im2col copy, no layout move). For the 256 -> 64
# bottleneck of bench/bench_conv.py: ~12-15 ms -> see bench/RESULTS.md.
# A strided 1x1 convolution (ResNet's downsampling shortcut) reads only every s-th position:
# it is the pointwise one on that subsample, whose gradient scatters back into zeros (ResNet-8's
# shortcuts, N128, one thread, fwd+bwd: 16 -> 32 at 28 x 28 7.4 -> 4.7 ms, 32 -> 64 at 14 x 14
# 8.0 -> 2.9 ms, against im2col on the phase layout).
def _pointwise(geo):
    return geo.k == (1, 1, 1) and geo.p == (0, 0, 0)


def _subsample(x, geo):
    """The positions a strided 1x1 convolution reads, as a contiguous (N, C, *out) array."""
    if geo.s == (1, 1, 1):
        return x
    sd, sh, sw = geo.s
    od, oh, ow = geo.osp
    x5 = np.asarray(x).reshape(x.shape[:2] + geo.isp)
    sub = x5[:, :, :sd * od:sd, :sh * oh:sh, :sw * ow:sw]
    return np.ascontiguousarray(sub).reshape(x.shape[:2] + geo.osp[3 - geo.nd:])


def _pw_forward(x, w, b, geo):
    N, C = x.shape[:2]
    Co = w.shape[0]
    x3 = np.ascontiguousarray(x).reshape(N, C, -1)
    dt = x3.dtype
    w2 = np.ascontiguousarray(w).reshape(Co, C)
    out = np.empty((N, Co) + x.shape[2:], dtype=dt)
    o3 = out.reshape(N, Co, -1)
    b1 = np.empty(0, dtype=dt) if b is None else np.ascontiguousarray(b)
    gemm = _cblas().gemm_function(dt)

    def task(chunks, m):
        _kernels().pointwise_forward_chunks(gemm, x3, w2, b1, o3, chunks.array, chunks.counter)

    _run_chunks(task, N, (C + Co) * x3.shape[2] * dt.itemsize)
    return out


def _pw_backward(x, w, g, x_shape, w_shape, need_x, need_w, need_b):
    N, Co = g.shape[:2]
    C = x_shape[1]
    g3 = np.ascontiguousarray(g).reshape(N, Co, -1)
    dt = g3.dtype
    e1, e2, e3 = (np.empty((0,) * k, dtype=dt) for k in (1, 2, 3))  # "not wanted"
    x3 = np.ascontiguousarray(x).reshape(N, C, -1) if need_w else e3
    w2t = np.ascontiguousarray(np.asarray(w).reshape(Co, C).T) if need_x else e2
    dx = np.empty(x_shape, dtype=dt) if need_x else None
    dx3 = dx.reshape(N, C, -1) if need_x else e3
    gemm = _cblas().gemm_function(dt)

    def task(chunks, m):
        dw = np.zeros((Co, C), dtype=dt) if need_w else e2
        db = np.zeros(Co, dtype=dt) if need_b else e1
        _kernels().pointwise_backward_chunks(gemm, x3, w2t, g3, dx3, dw, db, chunks.array,
                                             chunks.counter)
        return (dw if need_w else None), (db if need_b else None)

    parts = _run_chunks(task, N, (C + Co) * g3.shape[2] * dt.itemsize) if N else [(None, None)]
    gw = gb = None
    if need_w:
        gw = parts[0][0] if len(parts) == 1 else parts[0][0] + parts[1][0]
        gw = gw.reshape(w_shape) if gw is not None else np.zeros(w_shape, dt)
    if need_b:
        gb = parts[0][1] if len(parts) == 1 else parts[0][1] + parts[1][1]
        gb = gb if gb is not None else np.zeros(Co, dt)
    return dx, gw, gb


# ---- Winograd F(2x2, 3x3) path (kernels/winograd.py) -----------------------------------------
#
# 3x3 kernels, stride 1, dilation 1, 2-D, symmetric padding, at least 16 input and 16 output
# channels and outputs of at least 4 x 4: there the 16 transform-domain GEMMs (Co x C times
# C x tiles, 2.25x fewer multiplies than im2col's; no padding tiles since 2026-11-26)
# beat im2col + one GEMM. Measured fwd+bwd, float32, 2 threads (bench/RESULTS.md): conv b
# (16 -> 32, 16 x 16) 0.88-0.92x of im2col's time; 16 -> 32 at 24 x 24 0.77x, 64 -> 64 at
# 16 x 16 0.90x; with 8 channels it is even, with 3-4 input channels (conv a) slower, so those
# keep im2col. Small images gain the most (2026-12-06, one thread, fwd+bwd): 64 -> 64 at 7 x 7
# (ResNet-8's last stage, N128) 0.63x of im2col's time, 16 -> 16 / 64 -> 64 at 8 x 8 0.75x /
# 0.60x, 64 -> 64 at 4 x 4 0.5x (there im2col copies many short rows). The same three recorded
# ops use it (only the array computations differ), and its gradients are the exact adjoints
# of the forward steps.
# conv1d with a kernel of 3 (stride 1, dilation 1) takes the same path as F(2, 3) with four
# planes (kernels/winograd1d.py: 4 multiplies per 2 outputs instead of 6). fwd+bwd, one thread,
# against im2col: 64 -> 64 at L128 (bench/bench_conv.py) 0.75x, 16 -> 16 0.77x, 32 -> 32 at
# L4-L32 0.52-0.74x, 128 -> 128 at L256 0.84x; with 4 input channels 1.17x (kept on im2col).
_WINO_MIN_CHANNELS = 16
_WINO_MIN_SIZE = 4
_WINO_CHUNK_BYTES = 1024 * 1024  # transform planes per batch chunk (512 KB-2 MB swept)
_WINO_CHUNK_BYTES_1D = 256 * 1024  # 1-D (conv1d 64 -> 64, L128: 96 KB-2 MB swept)


def _use_winograd(geo, C, Co):
    if (geo.s != (1, 1, 1) or geo.d != (1, 1, 1) or not geo.sym
            or min(C, Co) < _WINO_MIN_CHANNELS):
        return False
    if geo.nd == 1:
        return geo.k == (1, 1, 3) and geo.osp[2] >= _WINO_MIN_SIZE
    return geo.nd == 2 and geo.k == (1, 3, 3) and min(geo.osp[1:]) >= _WINO_MIN_SIZE


def _wino_geometry(geo, shape):
    """(4-D shape (N, C, H, W), ph, pw, oh, ow, th, tw, Qi, P) of a Winograd convolution; a 1-D
    one runs as H = 1 (P = 4 transform planes, one tile row) and a 2-D one with P = 16."""
    ph, pw = geo.p[1:]
    oh, ow = geo.osp[1:]
    if geo.nd == 1:
        tw = (ow + 1) // 2
        return shape[:2] + (1, shape[2]), 0, pw, 1, ow, 1, tw, tw, 4
    th, tw, _, Qi = _wkernels().tiles(oh, ow)
    return tuple(shape), ph, pw, oh, ow, th, tw, Qi, 16


def _planes(name, length, dtype, rows=16):
    """A (rows, S) C-contiguous work array (per-thread buffer), S >= length, whose 16 rows start
    64 bytes apart modulo 4 KB: with rows a multiple of 4 KB long the 16 streams a transform
    reads or writes at once would all fall in one L1 cache set and evict each other
    (measured 556 -> 61 us for one transform of 4 images of conv b)."""
    dtype = np.dtype(dtype)
    step = 4096 // dtype.itemsize
    stride = -(-length // step) * step + 64 // dtype.itemsize
    return _buffer(name, rows * stride, dtype).reshape(rows, stride)


def _wkernels():
    from ..kernels import winograd as W_
    return W_


def _wino_chunk_bytes(P):
    return _WINO_CHUNK_BYTES if P == 16 else _WINO_CHUNK_BYTES_1D


def _work(W_, C, m, th, tw, P, dt):
    """The transforms' 8-row scratch (unused by the 1-D transforms: one column)."""
    return _planes("wW", W_.work_length(C, m, th, tw) if P == 16 else 1, dt, rows=8)


def _wino_forward(x, w, b, geo):
    W_ = _wkernels()
    shape4, ph, pw, oh, ow, th, tw, Qi, P = _wino_geometry(geo, x.shape)
    N, C = shape4[:2]
    Co = w.shape[0]
    x4 = np.ascontiguousarray(x).reshape(shape4)
    dt = x4.dtype
    U = np.ascontiguousarray(W_.weight_transform(np.asarray(w, dtype=dt)))  # (P, Co, C)
    out = np.empty((N, Co, oh, ow), dtype=dt)
    b1 = np.zeros(Co, dtype=dt) if b is None else np.ascontiguousarray(b)

    gemm = _cblas().gemm_function(dt)

    def task(chunks, m_max):
        W_.forward_chunks(gemm, x4, U, b1, out, _planes("wV", C * m_max * Qi, dt, P),
                          _planes("wM", Co * m_max * Qi, dt, P),
                          _work(W_, max(C, Co), m_max, th, tw, P, dt),
                          chunks.array, chunks.counter, ph, pw, th, tw)

    _run_chunks(task, N, P * (C + Co) * Qi * dt.itemsize, _wino_chunk_bytes(P), split_tail=True)
    return out.reshape((N, Co) + geo.osp[3 - geo.nd:])


def _wino_backward(x, w, g, geo, x_shape, w_shape, need_x, need_w, need_b):
    W_ = _wkernels()
    shape4, ph, pw, oh, ow, th, tw, Qi, P = _wino_geometry(geo, x_shape)
    N, C = shape4[:2]
    Co = g.shape[1]
    g4 = np.ascontiguousarray(g).reshape((N, Co, oh, ow))
    dt = g4.dtype
    x4 = np.ascontiguousarray(x).reshape(shape4) if need_w else None
    Ut = (np.ascontiguousarray(W_.weight_transform(np.asarray(w, dtype=dt)).transpose(0, 2, 1))
          if need_x else None)  # (P, C, Co)
    dx = np.empty(shape4, dtype=dt) if need_x else None
    need_m = need_x or need_w

    gemm = _cblas().gemm_function(dt)
    e1, e3, e4 = (np.empty((0,) * k, dtype=dt) for k in (1, 3, 4))  # "not wanted"

    def task(chunks, m_max):
        # dU transposed (V dM^T): 70 us per 4-image chunk of conv b, dM V^T 80 us
        dU = np.zeros((P, C, Co), dtype=dt) if need_w else e3
        db = np.zeros(Co, dtype=dt) if need_b else e1
        W_.backward_chunks(gemm, x4 if need_w else e4, Ut if need_x else e3, g4,
                           dx if need_x else e4, dU, db, _planes("wM", Co * m_max * Qi, dt, P),
                           _planes("wV", C * m_max * Qi, dt, P),  # V, then dV
                           _work(W_, max(C, Co), m_max, th, tw, P, dt),
                           chunks.array, chunks.counter, C, ph, pw, th, tw, P)
        return (dU if need_w else None), (db if need_b else None)

    parts = (_run_chunks(task, N, P * (C + Co) * Qi * dt.itemsize, _wino_chunk_bytes(P),
                         split_tail=True) if (need_m or need_b) else [])
    gw = gb = None
    if need_w:
        dU = parts[0][0] if len(parts) == 1 else parts[0][0] + parts[1][0]
        gw = W_.weight_adjoint(np.ascontiguousarray(dU.transpose(0, 2, 1))).reshape(w_shape)
    if need_b:
        gb = parts[0][1] if len(parts) == 1 else parts[0][1] + parts[1][1]
    return (dx.reshape(x_shape) if need_x else None), gw, gb
