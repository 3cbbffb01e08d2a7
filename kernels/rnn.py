"""Fused recurrent-cell kernels: whole-sequence forward and backward-through-time on numpy arrays.

One call runs a recurrent layer (one direction) over all ``T`` steps; its adjoint runs
backpropagation through time over the same steps.  The input projection ``x_t W_ihᵀ + b_ih``
for all steps is *not* done here: the caller hoists it into one GEMM and passes the result
``xg`` of shape ``(T, B, G·H)`` (``G`` = 4 for LSTM, 3 for GRU, 1 for RNN).  What stays inside
the time loop is the hidden GEMM ``h W_hhᵀ`` plus the gate arithmetic.

Layouts and gate orders are PyTorch's: LSTM gates ``i, f, g, o``; GRU gates ``r, z, n``;
``w_hh`` is ``(G·H, H)``; ``b_hh`` is ``(G·H,)``.

Where the time goes (PERF.md): numba's float32 ``tanh``/``exp`` are scalar on these machines,
numpy's are vectorized.  So every transcendental runs as one numpy call over a whole
``(B, k·H)`` block, and only the *arithmetic* between them (adds, gate products, the cell update
and the whole backward step, which needs no transcendental at all) runs in small numba loops
that fuse what would be 5-15 numpy calls.  Sigmoids use ``σ(x) = ½·tanh(x/2) + ½``, so one
``np.tanh`` over all four LSTM gates replaces a tanh plus an exp.

Everything is float32 or float64 (one dtype per call) and C-contiguous; checking that is the
caller's job (``tensorgrad.ops.recurrent``).  Variants of the course notes:

* GRU ``reset_after=True`` (PyTorch, default): ``n = tanh(x W_inᵀ + b_in + r ⊙ (h W_hnᵀ + b_hn))``;
  ``reset_after=False`` (notes §9.5.1): ``n = tanh(x W_inᵀ + b_in + (r ⊙ h) W_hnᵀ + b_hn)``.
  Both use PyTorch's update ``h' = (1 - z) ⊙ n + z ⊙ h``.
* LSTM peepholes (notes §9.5.2): diagonal weights ``peep`` of shape ``(3, H)`` that add
  ``peep[k] ⊙ c_{t-1}`` to the pre-activations of the gates ``i, f, o``.
"""
from __future__ import annotations

import contextlib

import numpy as np

from ._numba import njit

__all__ = [
    "lstm_forward", "lstm_backward",
    "gru_forward", "gru_backward",
    "rnn_forward", "rnn_backward",
]


# ============================================================================================
# BLAS threads inside the time loop
# ============================================================================================

_CTL = None
_DEFAULT_THREADS = 1
# GEMMs with fewer FLOPs than this run on one BLAS thread (see blas_threads)
BIG_GEMM_FLOPS = 5e7


def _controller():
    global _CTL, _DEFAULT_THREADS
    if _CTL is None:
        try:
            from threadpoolctl import ThreadpoolController
            _CTL = ThreadpoolController()
            libs = _CTL.select(user_api="blas").lib_controllers
            _DEFAULT_THREADS = max([lib.num_threads for lib in libs] + [1])
        except Exception:  # pragma: no cover - threadpoolctl missing or broken
            _CTL = False
    return _CTL


def blas_single_thread():
    """Context manager: one BLAS thread (for the small per-step GEMMs of the time loop).

    The per-step products (B×H by H×G·H) are too small to split across threads; on a 2-core
    machine OpenBLAS's second thread mostly waits, and when anything else runs it stalls
    (measured here under load: LSTM T50 B32 H128 fwd+bwd 144 ms with 2 threads, 33 ms with
    one).  Uses threadpoolctl when installed (~10 µs per call), else does nothing."""
    ctl = _controller()
    if not ctl:
        return contextlib.nullcontext()
    return ctl.limit(limits=1, user_api="blas")


def blas_threads(flops):
    """Context manager for one GEMM of ``flops`` floating-point operations: BLAS's default
    thread count when it is big (≥ ``BIG_GEMM_FLOPS``: e.g. the weight gradient Σ_t dG_tᵀ h_{t-1}
    of a T50 B32 H128 LSTM, 210 MFLOP, 1.7x faster on two threads of an idle machine), one
    thread otherwise (small GEMMs gain nothing from threads and stall under load)."""
    ctl = _controller()
    if not ctl:
        return contextlib.nullcontext()
    n = _DEFAULT_THREADS if flops >= BIG_GEMM_FLOPS else 1
    return ctl.limit(limits=n, user_api="blas")


def _single_blas_thread(fn):
    """Run the whole kernel (time loop and the weight-gradient GEMMs after it) on one BLAS
    thread."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with blas_single_thread():
            return fn(*args, **kwargs)
    return wrapper


# ============================================================================================
# LSTM
# ============================================================================================

@njit
def _lstm_pre(g, xg, b, use_b, peep, use_peep, c_prev, half):
    """g <- s ⊙ (g + xg + b + peep ⊙ c_prev), s = ½ on the sigmoid gates i, f, o and 1 on g."""
    B = g.shape[0]
    H = g.shape[1] // 4
    for n in range(B):
        gr = g[n]
        xr = xg[n]
        if use_b:
            for j in range(4 * H):
                gr[j] += xr[j] + b[j]
        else:
            for j in range(4 * H):
                gr[j] += xr[j]
        if use_peep:
            cp = c_prev[n]
            for j in range(H):
                gr[j] += peep[0, j] * cp[j]
                gr[H + j] += peep[1, j] * cp[j]
                gr[3 * H + j] += peep[2, j] * cp[j]
        for j in range(2 * H):
            gr[j] *= half
        for j in range(3 * H, 4 * H):
            gr[j] *= half


@njit
def _lstm_post(a, c_prev, c, half):
    """a holds tanh of the (scaled) pre-activations: turn i, f, o into sigmoids, then
    c = f ⊙ c_prev + i ⊙ g."""
    B = a.shape[0]
    H = a.shape[1] // 4
    for n in range(B):
        ar = a[n]
        cp = c_prev[n]
        cr = c[n]
        for j in range(2 * H):
            ar[j] = half * ar[j] + half
        for j in range(3 * H, 4 * H):
            ar[j] = half * ar[j] + half
        for j in range(H):
            cr[j] = ar[H + j] * cp[j] + ar[j] * ar[2 * H + j]


@njit
def _lstm_bwd_step(a, c_prev, tc, dout, has_dout, dh, dc, d, peep, use_peep, one):
    """One step of BPTT.  In: dh (grad of h_t from step t+1), dc (grad of c_t from step t+1),
    dout (grad of the layer output at t).  Out: d (grads of the 4 pre-activations),
    dc <- grad of c_{t-1} (through the cell and the peepholes); dh is left for the GEMM."""
    B = a.shape[0]
    H = a.shape[1] // 4
    for n in range(B):
        ar = a[n]
        dr = d[n]
        cp = c_prev[n]
        tr = tc[n]
        dhr = dh[n]
        dcr = dc[n]
        for j in range(H):
            i = ar[j]
            f = ar[H + j]
            g = ar[2 * H + j]
            o = ar[3 * H + j]
            t = tr[j]
            dhv = dhr[j]
            if has_dout:
                dhv += dout[n, j]
            dct = dcr[j] + dhv * o * (one - t * t)
            do = dhv * t * o * (one - o)
            di = dct * g * i * (one - i)
            df = dct * cp[j] * f * (one - f)
            dr[j] = di
            dr[H + j] = df
            dr[2 * H + j] = dct * i * (one - g * g)
            dr[3 * H + j] = do
            dcp = dct * f
            if use_peep:
                dcp += di * peep[0, j] + df * peep[1, j] + do * peep[2, j]
            dcr[j] = dcp


def _empty2(dtype):
    return np.zeros((1, 1), dtype)


@_single_blas_thread
def lstm_forward(xg, h0, c0, w_hh, b_hh=None, peep=None):
    """Run an LSTM layer over ``T`` steps.

    xg: (T, B, 4H) input part of the pre-activations (x W_ihᵀ + b_ih), h0, c0: (B, H),
    w_hh: (4H, H), b_hh: (4H,) or None, peep: (3, H) or None.
    Returns ``(hs, cs, acts, tcs)``: hs, cs (T+1, B, H) with hs[0] = h0, cs[0] = c0 (the layer
    output is hs[1:]); acts (T, B, 4H) the gate activations i, f, g, o; tcs (T, B, H) = tanh(c_t).
    """
    T, B, G = xg.shape
    H = G // 4
    dt = xg.dtype
    half = dt.type(0.5)
    hs = np.empty((T + 1, B, H), dt)
    cs = np.empty((T + 1, B, H), dt)
    hs[0] = h0
    cs[0] = c0
    acts = np.empty((T, B, G), dt)
    tcs = np.empty((T, B, H), dt)
    w_t = np.ascontiguousarray(w_hh.T)  # a transposed view makes the per-step GEMM ~1.5x slower
    use_b = b_hh is not None
    bb = b_hh if use_b else np.zeros(1, dt)
    use_peep = peep is not None
    pp = peep if use_peep else _empty2(dt)
    for t in range(T):
        a = acts[t]
        np.matmul(hs[t], w_t, out=a)
        _lstm_pre(a, xg[t], bb, use_b, pp, use_peep, cs[t], half)
        np.tanh(a, out=a)
        _lstm_post(a, cs[t], cs[t + 1], half)
        np.tanh(cs[t + 1], out=tcs[t])
        np.multiply(a[:, 3 * H:], tcs[t], out=hs[t + 1])
    return hs, cs, acts, tcs


@_single_blas_thread
def lstm_backward(dout, dh_n, dc_n, hs, cs, acts, tcs, w_hh, peep=None, need_w=True):
    """Backpropagation through time for ``lstm_forward``.

    dout: (T, B, H) gradient of the layer output (or None), dh_n, dc_n: (B, H) gradients of the
    final states (or None).  Returns ``(dxg, dh0, dc0, dw_hh, db_hh, dpeep)``; dxg (T, B, 4H)
    is also the gradient of every bias (b_ih, b_hh: sum over T, B).  dw_hh/db_hh/dpeep are None
    when ``need_w`` is False.
    """
    T, B, G = acts.shape
    H = G // 4
    dt = acts.dtype
    one = dt.type(1.0)
    dh = np.zeros((B, H), dt) if dh_n is None else np.array(dh_n, dt, copy=True)
    dc = np.zeros((B, H), dt) if dc_n is None else np.array(dc_n, dt, copy=True)
    has_dout = dout is not None
    zero = np.zeros((B, H), dt)
    use_peep = peep is not None
    pp = peep if use_peep else _empty2(dt)
    d = np.empty((T, B, G), dt)
    for t in range(T - 1, -1, -1):
        _lstm_bwd_step(acts[t], cs[t], tcs[t], dout[t] if has_dout else zero, has_dout,
                       dh, dc, d[t], pp, use_peep, one)
        np.matmul(d[t], w_hh, out=dh)
    dw = db = dpeep = None
    if need_w:
        df = d.reshape(T * B, G)
        with blas_threads(2.0 * T * B * G * H):
            dw = df.T @ hs[:-1].reshape(T * B, H)
        db = df.sum(0)
        if use_peep:
            cp = cs[:-1].reshape(T * B, H)
            dpeep = np.stack([np.einsum("nh,nh->h", df[:, k * H:(k + 1) * H], cp)
                              for k in (0, 1, 3)])
    return d, dh, dc, dw, db, dpeep


# ============================================================================================
# GRU
# ============================================================================================

@njit
def _gru_pre_rz(a, gh, xg, b, use_b, half):
    """a[:, :2H] <- ½ (xg + gh + b) on the r, z columns."""
    B = a.shape[0]
    H = a.shape[1] // 3
    for n in range(B):
        ar = a[n]
        xr = xg[n]
        gr = gh[n]
        if use_b:
            for j in range(2 * H):
                ar[j] = half * (xr[j] + gr[j] + b[j])
        else:
            for j in range(2 * H):
                ar[j] = half * (xr[j] + gr[j])


@njit
def _gru_mid_after(a, xg, gh, b, use_b, ghn, half):
    """r, z to sigmoids; ghn <- h W_hnᵀ + b_hn (saved); a[:, 2H:] <- x_n + r ⊙ ghn."""
    B = a.shape[0]
    H = a.shape[1] // 3
    for n in range(B):
        ar = a[n]
        xr = xg[n]
        gr = gh[n]
        nr = ghn[n]
        for j in range(2 * H):
            ar[j] = half * ar[j] + half
        for j in range(H):
            v = gr[2 * H + j]
            if use_b:
                v += b[2 * H + j]
            nr[j] = v
            ar[2 * H + j] = xr[2 * H + j] + ar[j] * v


@njit
def _gru_mid_before(a, h_prev, rh, half):
    """r, z to sigmoids; rh <- r ⊙ h_prev (saved, the input of the W_hn GEMM)."""
    B = a.shape[0]
    H = a.shape[1] // 3
    for n in range(B):
        ar = a[n]
        hr = h_prev[n]
        rr = rh[n]
        for j in range(2 * H):
            ar[j] = half * ar[j] + half
        for j in range(H):
            rr[j] = ar[j] * hr[j]


@njit
def _gru_pre_n_before(a, xg, ghn, b, use_b):
    """a[:, 2H:] <- x_n + (r ⊙ h) W_hnᵀ + b_hn."""
    B = a.shape[0]
    H = a.shape[1] // 3
    for n in range(B):
        ar = a[n]
        xr = xg[n]
        gr = ghn[n]
        for j in range(H):
            v = xr[2 * H + j] + gr[j]
            if use_b:
                v += b[2 * H + j]
            ar[2 * H + j] = v


@njit
def _gru_post(a, h_prev, h):
    """h = (1 - z) ⊙ n + z ⊙ h_prev = n + z ⊙ (h_prev - n)."""
    B = a.shape[0]
    H = a.shape[1] // 3
    for n in range(B):
        ar = a[n]
        hp = h_prev[n]
        hr = h[n]
        for j in range(H):
            nn = ar[2 * H + j]
            hr[j] = nn + ar[H + j] * (hp[j] - nn)


@njit
def _gru_bwd_after(a, h_prev, ghn, dout, has_dout, dh, dx, dgh, one):
    """BPTT step, reset_after=True.  dh in: grad of h_t from t+1; out: its direct part dh ⊙ z
    (the GEMM dgh W_hh is added by the caller).  dx: grads of x-side pre-activations,
    dgh: grads of the h-side GEMM output (r, z like dx; n part is dx_n ⊙ r)."""
    B = a.shape[0]
    H = a.shape[1] // 3
    for n in range(B):
        ar = a[n]
        hp = h_prev[n]
        gn = ghn[n]
        dhr = dh[n]
        dxr = dx[n]
        dgr = dgh[n]
        for j in range(H):
            r = ar[j]
            z = ar[H + j]
            nn = ar[2 * H + j]
            dhv = dhr[j]
            if has_dout:
                dhv += dout[n, j]
            dpn = dhv * (one - z) * (one - nn * nn)
            dz = dhv * (hp[j] - nn) * z * (one - z)
            dr = dpn * gn[j] * r * (one - r)
            dxr[j] = dr
            dxr[H + j] = dz
            dxr[2 * H + j] = dpn
            dgr[j] = dr
            dgr[H + j] = dz
            dgr[2 * H + j] = dpn * r
            dhr[j] = dhv * z


@njit
def _gru_bwd_before_1(a, h_prev, dout, has_dout, dh, dx, one):
    """BPTT step, reset_after=False, part 1: dz, dn pre-activations; dh <- dh ⊙ z."""
    B = a.shape[0]
    H = a.shape[1] // 3
    for n in range(B):
        ar = a[n]
        hp = h_prev[n]
        dhr = dh[n]
        dxr = dx[n]
        for j in range(H):
            z = ar[H + j]
            nn = ar[2 * H + j]
            dhv = dhr[j]
            if has_dout:
                dhv += dout[n, j]
            dxr[H + j] = dhv * (hp[j] - nn) * z * (one - z)
            dxr[2 * H + j] = dhv * (one - z) * (one - nn * nn)
            dhr[j] = dhv * z


@njit
def _gru_bwd_before_2(a, h_prev, drh, dh, dx, one):
    """Part 2: from d(r ⊙ h): dr pre-activation, and dh += d(r ⊙ h) ⊙ r."""
    B = a.shape[0]
    H = a.shape[1] // 3
    for n in range(B):
        ar = a[n]
        hp = h_prev[n]
        dq = drh[n]
        dhr = dh[n]
        dxr = dx[n]
        for j in range(H):
            r = ar[j]
            dxr[j] = dq[j] * hp[j] * r * (one - r)
            dhr[j] += dq[j] * r


@_single_blas_thread
def gru_forward(xg, h0, w_hh, b_hh=None, reset_after=True):
    """Run a GRU layer over ``T`` steps.

    xg: (T, B, 3H) (x W_ihᵀ + b_ih), h0: (B, H), w_hh: (3H, H), b_hh: (3H,) or None.
    Returns ``(hs, acts, aux)``: hs (T+1, B, H) with hs[0] = h0; acts (T, B, 3H) = r, z, n;
    aux (T, B, H) = h W_hnᵀ + b_hn (reset_after) or r ⊙ h_{t-1} (reset_after=False).
    """
    T, B, G = xg.shape
    H = G // 3
    dt = xg.dtype
    half = dt.type(0.5)
    hs = np.empty((T + 1, B, H), dt)
    hs[0] = h0
    acts = np.empty((T, B, G), dt)
    aux = np.empty((T, B, H), dt)
    use_b = b_hh is not None
    bb = b_hh if use_b else np.zeros(1, dt)
    if reset_after:
        gh = np.empty((B, G), dt)
        w_t = np.ascontiguousarray(w_hh.T)
        for t in range(T):
            a = acts[t]
            np.matmul(hs[t], w_t, out=gh)
            _gru_pre_rz(a, gh, xg[t], bb, use_b, half)
            np.tanh(a[:, :2 * H], out=a[:, :2 * H])
            _gru_mid_after(a, xg[t], gh, bb, use_b, aux[t], half)
            np.tanh(a[:, 2 * H:], out=a[:, 2 * H:])
            _gru_post(a, hs[t], hs[t + 1])
    else:
        w_rz_t = np.ascontiguousarray(w_hh[:2 * H].T)
        w_n_t = np.ascontiguousarray(w_hh[2 * H:].T)
        gh = np.empty((B, 2 * H), dt)
        ghn = np.empty((B, H), dt)
        for t in range(T):
            a = acts[t]
            np.matmul(hs[t], w_rz_t, out=gh)
            _gru_pre_rz(a, gh, xg[t], bb, use_b, half)
            np.tanh(a[:, :2 * H], out=a[:, :2 * H])
            _gru_mid_before(a, hs[t], aux[t], half)
            np.matmul(aux[t], w_n_t, out=ghn)
            _gru_pre_n_before(a, xg[t], ghn, bb, use_b)
            np.tanh(a[:, 2 * H:], out=a[:, 2 * H:])
            _gru_post(a, hs[t], hs[t + 1])
    return hs, acts, aux


@_single_blas_thread
def gru_backward(dout, dh_n, hs, acts, aux, w_hh, reset_after=True, need_w=True):
    """BPTT for ``gru_forward``.  Returns ``(dxg, dh0, dw_hh, db_hh)`` (the last two None when
    ``need_w`` is False).  dxg is also the gradient of b_ih (summed over T, B)."""
    T, B, G = acts.shape
    H = G // 3
    dt = acts.dtype
    one = dt.type(1.0)
    dh = np.zeros((B, H), dt) if dh_n is None else np.array(dh_n, dt, copy=True)
    has_dout = dout is not None
    zero = np.zeros((B, H), dt)
    dx = np.empty((T, B, G), dt)
    tmp = np.empty((B, H), dt)
    dw = db = None
    if reset_after:
        dgh = np.empty((T, B, G), dt)
        for t in range(T - 1, -1, -1):
            _gru_bwd_after(acts[t], hs[t], aux[t], dout[t] if has_dout else zero, has_dout,
                           dh, dx[t], dgh[t], one)
            np.matmul(dgh[t], w_hh, out=tmp)
            dh += tmp
        if need_w:
            dgf = dgh.reshape(T * B, G)
            with blas_threads(2.0 * T * B * G * H):
                dw = dgf.T @ hs[:-1].reshape(T * B, H)
            db = dgf.sum(0)
    else:
        w_rz = w_hh[:2 * H]
        w_n = w_hh[2 * H:]
        drh = np.empty((B, H), dt)
        for t in range(T - 1, -1, -1):
            _gru_bwd_before_1(acts[t], hs[t], dout[t] if has_dout else zero, has_dout,
                              dh, dx[t], one)
            np.matmul(dx[t][:, 2 * H:], w_n, out=drh)
            _gru_bwd_before_2(acts[t], hs[t], drh, dh, dx[t], one)
            np.matmul(dx[t][:, :2 * H], w_rz, out=tmp)
            dh += tmp
        if need_w:
            dxf = dx.reshape(T * B, G)
            dw = np.empty((G, H), dt)
            with blas_threads(2.0 * T * B * G * H):
                dw[:2 * H] = dxf[:, :2 * H].T @ hs[:-1].reshape(T * B, H)
                dw[2 * H:] = dxf[:, 2 * H:].T @ aux.reshape(T * B, H)
            db = dxf.sum(0)
    return dx, dh, dw, db


# ============================================================================================
# Elman RNN (tanh / relu)
# ============================================================================================

@_single_blas_thread
def rnn_forward(xg, h0, w_hh, b_hh=None, nonlinearity="tanh"):
    """h_t = act(xg_t + h_{t-1} W_hhᵀ + b_hh).  Returns hs (T+1, B, H) with hs[0] = h0."""
    T, B, H = xg.shape
    dt = xg.dtype
    hs = np.empty((T + 1, B, H), dt)
    hs[0] = h0
    w_t = np.ascontiguousarray(w_hh.T)
    relu = nonlinearity == "relu"
    for t in range(T):
        h = hs[t + 1]
        np.matmul(hs[t], w_t, out=h)
        h += xg[t]
        if b_hh is not None:
            h += b_hh
        if relu:
            np.maximum(h, 0, out=h)
        else:
            np.tanh(h, out=h)
    return hs


@_single_blas_thread
def rnn_backward(dout, dh_n, hs, w_hh, nonlinearity="tanh", need_w=True):
    """BPTT for ``rnn_forward``.  Returns ``(dxg, dh0, dw_hh, db_hh)``."""
    T1, B, H = hs.shape
    T = T1 - 1
    dt = hs.dtype
    dh = np.zeros((B, H), dt) if dh_n is None else np.array(dh_n, dt, copy=True)
    d = np.empty((T, B, H), dt)
    relu = nonlinearity == "relu"
    for t in range(T - 1, -1, -1):
        if dout is not None:
            dh += dout[t]
        h = hs[t + 1]
        dd = d[t]
        if relu:
            np.multiply(dh, h > 0, out=dd)
        else:
            np.multiply(h, h, out=dd)
            np.subtract(1, dd, out=dd)
            dd *= dh
        np.matmul(dd, w_hh, out=dh)
    dw = db = None
    if need_w:
        df = d.reshape(T * B, H)
        with blas_threads(2.0 * T * B * H * H):
            dw = df.T @ hs[:-1].reshape(T * B, H)
        db = df.sum(0)
    return d, dh, dw, db
