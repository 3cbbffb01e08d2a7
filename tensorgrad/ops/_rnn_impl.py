"""Array-level recurrent layers: the time loops of kernels/rnn.py plus, for a whole layer, the
input projection and the weight gradients. No autograd here: ``tensorgrad.ops.recurrent``
records the ops and calls these.

A layer-direction is ``xg = x W_ihᵀ + b_ih`` for all T steps (GEMMs), the time loop over ``xg``
(one small GEMM and a few fused kernels per step), and in backward the loop of BPTT followed by
``dW_hh = Σ_t d_tᵀ h_{t-1}``, ``dW_ih = Σ_t d_tᵀ x_t``, ``dx_t = d_t W_ih`` and the bias sums
(GEMMs over blocks of steps). For GRU and Elman layers the time loop is sequential and runs
on one core; the GEMMs are not, so with the ops' worker thread
(``tensorgrad.ops.conv.set_num_threads``, 2 by default) they run beside it: in forward the
worker projects block after block of steps ahead of the loop, in backward it takes each block
of steps as soon as BPTT has finished it, without a spinning BLAS thread pool: BLAS runs
single-threaded on each side (see kernels/_blas.py). With one thread the GEMMs run once over
all steps, after (or before) the loop. An LSTM instead splits its batch between the two
threads (the section at the end).

Time order: arrays handed in and out are in natural time order; a reverse direction runs the
kernels on time-reversed views of the same arrays, so no copies are made for it.
"""
from __future__ import annotations

import threading

import numpy as np

from ..kernels import _blas
from ._conv_impl import background, on_both

GATES = {"lstm": 4, "gru": 3, "rnn": 1}


def _kernels():
    from ..kernels import rnn as K  # numba import deferred to first use
    return K


class Spec:
    """What one recurrent op is: ``kind`` (lstm, gru, rnn), ``proj`` (the op takes x and W_ih
    and projects itself; else it takes xg), ``reverse``, ``has_b``, ``extra`` (LSTM: peephole
    weights given; GRU: reset_after; RNN: the nonlinearity), ``dtype`` and the number of
    inputs ``n_in`` (in the order x/xg, h0, [c0], [w_ih], w_hh, [b_ih], [b_hh], [peephole])."""
    __slots__ = ("kind", "proj", "reverse", "has_b", "extra", "dtype", "n_in")

    def __init__(self, kind, proj, reverse, has_b, extra, dtype):
        self.kind, self.proj, self.reverse, self.has_b = kind, proj, reverse, has_b
        self.extra, self.dtype = extra, dtype
        peep = kind == "lstm" and bool(extra)
        self.n_in = (2 + (kind == "lstm") + 1 + proj + (1 + proj) * has_b + peep)

    def split(self, items):
        """(x, h0, c0, w_ih, w_hh, b_ih, b_hh, peep) from a list in input order (None where the
        op has no such input)."""
        it = iter(items)
        x, h0 = next(it), next(it)
        c0 = next(it) if self.kind == "lstm" else None
        w_ih = next(it) if self.proj else None
        w_hh = next(it)
        b_ih = next(it) if self.proj and self.has_b else None
        b_hh = next(it) if self.has_b else None
        peep = next(it) if self.kind == "lstm" and self.extra else None
        return x, h0, c0, w_ih, w_hh, b_ih, b_hh, peep

    def join(self, x, h0, c0, w_ih, w_hh, b_ih, b_hh, peep):
        """The inverse of split (drops what the op has no input for)."""
        out = [x, h0]
        if self.kind == "lstm":
            out.append(c0)
        if self.proj:
            out.append(w_ih)
        out.append(w_hh)
        if self.has_b:
            out += [b_ih, b_hh] if self.proj else [b_hh]
        if self.kind == "lstm" and self.extra:
            out.append(peep)
        return out


def _blocks(T, reverse):
    """The blocks of kernels.rnn.BLOCK steps in loop order, as natural-time row ranges."""
    n = _kernels().BLOCK
    out = []
    for t in range(0, T, n):
        t1 = min(T, t + n)
        out.append((T - t1, T - t) if reverse else (t, t1))
    return out


def _rev(a, reverse):
    return a[::-1] if reverse and a is not None else a


# ---- forward ----------------------------------------------------------------------------------
def _project(x, w_ih, b_ih, xg, a, b, threaded):
    """xg[a:b] = x[a:b] W_ihᵀ + b_ih (rows = time steps). ``threaded``: BLAS's default thread
    count for a big GEMM (never on the worker: the count is per process)."""
    I = x.shape[2]
    x2 = x[a:b].reshape(-1, I)
    y = xg[a:b].reshape(x2.shape[0], -1)
    with _blas.threads_for(2.0 * x2.shape[0] * I * y.shape[1] if threaded else 0):
        np.matmul(x2, w_ih.T, out=y)
    if b_ih is not None:
        y += b_ih


def forward(spec, x, h0, c0, w_ih, b_ih, w_hh, b_hh, peep):
    """One layer-direction on arrays. Returns (out (T, B, H), h_n, c_n or None, saved)."""
    if spec.kind == "lstm":
        return _lstm_forward(spec, x, h0, c0, w_ih, b_ih, w_hh, b_hh, peep)
    K = _kernels()
    T, B = x.shape[:2]
    H = w_hh.shape[1]
    dt = spec.dtype
    rev = spec.reverse
    hs = np.empty((T + 1, B, H), dt)
    fut = ready = None
    with _blas.single_thread():
        if spec.proj:
            xg = np.empty((T, B, w_hh.shape[0]), dt)
            blocks = _blocks(T, rev)
            pool = background() if len(blocks) > 1 else None
            if pool is None:
                _project(x, w_ih, b_ih, xg, 0, T, True)
            else:  # the worker projects block after block ahead of the loop
                events = [threading.Event() for _ in blocks]

                def produce():
                    try:
                        for (a, b), ev in zip(blocks, events):
                            _project(x, w_ih, b_ih, xg, a, b, False)
                            ev.set()
                    finally:
                        for ev in events:  # on an error the loop must not wait forever
                            ev.set()

                fut = pool.submit(produce)

                def ready(t):
                    events[t // K.BLOCK].wait()
        else:
            xg = x
        xl, hl = _rev(xg, rev), _rev(hs, rev)
        try:
            if spec.kind == "gru":
                aux = np.empty((T, B, H), dt)
                _, acts, _ = K.gru_forward(xl, h0, w_hh, b_hh, spec.extra, ready, hs=hl,
                                           aux=_rev(aux, rev))
                saved = (hs, acts, aux)
            else:
                K.rnn_forward(xl, h0, w_hh, b_hh, spec.extra, ready, hs=hl)
                saved = (hs,)
        finally:
            if fut is not None:
                fut.result()
    out = hs[:T] if rev else hs[1:]
    return out, hl[-1].copy(), None, saved


# ---- backward ---------------------------------------------------------------------------------
class _Grads:
    """The weight, bias and input gradients of one layer-direction, summed block by block."""

    def __init__(self, spec, x, w_ih, hprev, aux, d, dgh, want_w, want_x):
        self.spec, self.x, self.w_ih, self.hprev, self.aux = spec, x, w_ih, hprev, aux
        self.d, self.dgh, self.want_w, self.want_x = d, dgh, want_w, want_x
        self.dw_hh = self.db_hh = self.dw_ih = self.db_ih = None
        self.dx = np.empty(x.shape, d.dtype) if spec.proj and want_x else None
        self.threaded = True

    @staticmethod
    def _add(total, part):
        return part if total is None else total + part

    def block(self, a, b):
        """Steps [a, b) (natural time)."""
        K = _kernels()
        th = self.threaded
        d = self.d[a:b]  # the x-side gradient (GRU: dx; else the pre-activations)
        if self.want_w:
            if self.spec.kind == "gru":
                dw, db = K.gru_weights(d, self.dgh[a:b], self.hprev[a:b], self.aux[a:b],
                                       self.spec.extra, threaded=th)
            else:
                dw, db = K.weights(d, self.hprev[a:b], threaded=th)
            self.dw_hh, self.db_hh = self._add(self.dw_hh, dw), self._add(self.db_hh, db)
            if self.spec.proj:  # LSTM, RNN: b_ih's gradient is b_hh's
                dwi, dbi = K.weights(d, self.x[a:b], self.spec.kind == "gru", threaded=th)
                self.dw_ih = self._add(self.dw_ih, dwi)
                self.db_ih = self._add(self.db_ih, db.copy() if dbi is None else dbi)
        if self.dx is not None:
            d2 = d.reshape(-1, d.shape[-1])
            with _blas.threads_for(2.0 * d2.size * self.w_ih.shape[1] if th else 0):
                np.matmul(d2, self.w_ih, out=self.dx[a:b].reshape(d2.shape[0], -1))


def backward(spec, grads, saved, x, w_ih, w_hh, peep, needs):
    """Gradients of one layer-direction (plain backward, arrays), one per input, in input
    order (None where ``needs`` says none)."""
    if spec.kind == "lstm":
        return _lstm_backward(spec, grads, saved, x, w_ih, w_hh, peep, needs)
    K = _kernels()
    dout, dhn = grads[0], grads[1]
    rev = spec.reverse
    hs = saved[0]
    T, B, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
    G = GATES[spec.kind] * H
    dt = spec.dtype
    n = dict(zip(("x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh", "peep"),
                 spec.split(needs)))
    want_w = bool(n["w_hh"] or n["b_hh"] or n["w_ih"] or n["b_ih"])
    want_x = bool(n["x"])
    d = np.empty((T, B, G), dt)
    dgh = np.empty((T, B, G), dt) if spec.kind == "gru" and spec.extra else d
    aux = saved[2] if spec.kind == "gru" else None
    acc = _Grads(spec, x, w_ih, hs[1:] if rev else hs[:-1], aux, d, dgh, want_w, want_x)
    blocks = spec.proj or want_w
    pool = background() if blocks and T > K.BLOCK else None
    futs = []
    done = None
    if pool is not None:
        acc.threaded = False
        def done(t, *_):
            a, b = (T - min(T, t + K.BLOCK), T - t) if rev else (t, min(T, t + K.BLOCK))
            futs.append(pool.submit(acc.block, a, b))
    dl, hl, doutl = _rev(d, rev), _rev(hs, rev), _rev(dout, rev)
    with _blas.single_thread():
        try:
            if spec.kind == "gru":
                _, dh0, _, _ = K.gru_backward(doutl, dhn, hl, saved[1], _rev(aux, rev), w_hh,
                                              spec.extra, need_w=False, done=done,
                                              d=(dl, _rev(dgh, rev)))
            else:
                _, dh0, _, _ = K.rnn_backward(doutl, dhn, hl, w_hh, spec.extra, need_w=False,
                                              done=done, d=dl)
        finally:
            for f in futs:
                f.result()
        if pool is None and blocks:
            acc.block(0, T)
    dxin = acc.dx if spec.proj else d
    res = spec.join(dxin, dh0, None, acc.dw_ih, acc.dw_hh, acc.db_ih, acc.db_hh, None)
    return [r if need else None for r, need in zip(res, needs)]


# ---- LSTM: the batch in two parts, one time loop per part and thread --------------------------
# An LSTM's time loop is one numba call per (layer, direction) that holds no GIL and calls
# numpy's BLAS itself (kernels/rnn.py, kernels/_cblas.py), and the rows of a batch never meet
# in it. So with the ops' worker thread the caller runs the whole layer -- projection, loop,
# and in backward BPTT and the weight-gradient GEMMs -- for the first half of the batch while
# the worker runs it for the second half; the halves' weight gradients are summed. Both
# threads call BLAS on one thread each, and they never wait for each other until the end.
# Splitting the hidden units instead (each thread half of W_hh, all rows; the threads meet
# after every step at a spin barrier) was tried: its time loops were 12 % slower at H = 128
# and 15 % faster at H = 256 (T50/T64, B32, forward + backward, alternated in one process),
# and a barrier per step stalls whenever the OS deschedules one of the two threads.

MIN_SPLIT_MACS = 4e6  # T·B·4H·H of a layer-direction below which one thread runs it all


def _row_parts(T, B, G, H):
    """The batch's row ranges and the worker that runs the second (None: one part)."""
    pool = background()
    if pool is None or B < 2 or T * B * G * H < MIN_SPLIT_MACS:
        return [(0, B)], None
    half = (B + 1) // 2
    return [(0, half), (half, B)], pool


def on_pair(fn0, fn1, macs):
    """(fn0(), fn1()): the two directions of a bidirectional layer, each alone on one thread
    (``_blas.solo``: fn1 on the worker, and neither splits its batch or threads its GEMMs),
    when the ops have two threads and a direction does at least ``MIN_SPLIT_MACS``
    multiply-adds in its time loop (``macs``); else one after the other. Each direction then
    runs its whole batch in one time loop, with no halves to copy out and join again (T50 B32
    64 -> 128 bidirectional, fwd+bwd, two threads, alternated processes: LSTM 14.1-16.4 ->
    13.5-14.5 ms, GRU ~19 -> 14.3-19.5 ms)."""
    pool = background()
    if pool is None or macs < MIN_SPLIT_MACS:
        return fn0(), fn1()

    def run(k):
        with _blas.solo():
            return (fn0, fn1)[k]()
    return tuple(on_both(pool, run))


def _on_parts(pool, fn, n):
    """[fn(0), ..., fn(n - 1)]: fn(0) on this thread, fn(1) on the worker (n ≤ 2)."""
    if pool is None or n == 1:
        return [fn(k) for k in range(n)]
    return on_both(pool, fn)


def _join_rows(pieces, axis):
    """The parts' arrays side by side along the batch axis (the piece itself if one)."""
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces, axis)


def _lstm_forward(spec, x, h0, c0, w_ih, b_ih, w_hh, b_hh, peep):
    K = _kernels()
    T, B = x.shape[:2]
    G = w_hh.shape[0]
    parts, pool = _row_parts(T, B, G, G // 4)
    whole = len(parts) == 1
    # the loop adds one bias per step anyway: b_ih goes in with b_hh, not in a pass over xg
    b = b_hh if b_ih is None else (b_ih if b_hh is None else b_ih + b_hh)

    def run(k):
        r0, r1 = parts[k]
        xp = x if whole else np.ascontiguousarray(x[:, r0:r1])
        xg = xp
        if spec.proj:
            xg = K.carve(spec.dtype, (T, r1 - r0, G))[0]
            _project(xp, w_ih, None, xg, 0, T, whole)
        states = K.lstm_forward(xg, h0[r0:r1], c0[r0:r1], w_hh, b, peep, spec.reverse,
                                overwrite_xg=spec.proj)  # xg: this run's own buffer
        return states + (xp if spec.proj else None,)

    with _blas.single_thread():
        saved = _on_parts(pool, run, len(parts))
    last = 0 if spec.reverse else T
    out = _join_rows([s[0][:T] if spec.reverse else s[0][1:] for s in saved], 1)
    h_n = _join_rows([s[0][last] for s in saved], 0).copy()
    c_n = _join_rows([s[1][last] for s in saved], 0).copy()
    return out, h_n, c_n, (parts, saved)


def _lstm_backward(spec, grads, saved, x, w_ih, w_hh, peep, needs):
    K = _kernels()
    parts, states = saved
    dout, dhn, dcn = grads[0], grads[1], grads[2]
    n = dict(zip(("x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh", "peep"), spec.split(needs)))
    want_w = bool(n["w_hh"] or n["b_hh"] or n["w_ih"] or n["b_ih"] or n["peep"])
    whole = len(parts) == 1
    pool = None if whole else background()

    def rows(a, r0, r1, axis):
        if a is None or whole:
            return a
        return a[:, r0:r1] if axis else a[r0:r1]

    def run(k):
        r0, r1 = parts[k]
        hs, cs, acts, tcs, xp = states[k]
        d, dh0, dc0, dw, db, dpeep = K.lstm_backward(
            rows(dout, r0, r1, 1), rows(dhn, r0, r1, 0), rows(dcn, r0, r1, 0), hs, cs, acts,
            tcs, w_hh, peep, need_w=want_w, reverse=spec.reverse, threaded=whole)
        dwi = dx = None
        if spec.proj:
            if n["w_ih"]:
                dwi = K.weights(d, xp, bias=False, threaded=whole)[0]
            if n["x"]:
                d2 = d.reshape(-1, d.shape[-1])
                with _blas.threads_for(2.0 * d2.size * w_ih.shape[1] if whole else 0):
                    dx = (d2 @ w_ih).reshape(d.shape[:2] + (w_ih.shape[1],))
        return d, dh0, dc0, dw, db, dpeep, dwi, dx

    with _blas.single_thread():
        res = _on_parts(pool, run, len(parts))
    d, dh0, dc0, dw, db, dpeep, dwi, dx = zip(*res)
    total = (lambda v: None if v[0] is None else sum(v[1:], v[0]))
    dw_hh, db_hh, dpeep, dw_ih = total(dw), total(db), total(dpeep), total(dwi)
    dxin = _join_rows(dx, 1) if spec.proj else _join_rows(d, 1)
    db_ih = None if db_hh is None or not spec.proj else db_hh.copy()
    res = spec.join(dxin if n["x"] else None, _join_rows(dh0, 0), _join_rows(dc0, 0), dw_ih,
                    dw_hh, db_ih, db_hh, dpeep)
    return [r if need else None for r, need in zip(res, needs)]
