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

import numpy as np

from . import _blas
from ._numba import njit

__all__ = [
    "lstm_forward", "lstm_backward",
    "gru_forward", "gru_backward",
    "rnn_forward", "rnn_backward",
]


# ============================================================================================
# BLAS threads (kernels/_blas.py) and the hooks of the time loops
# ============================================================================================

BLOCK = 10  # time steps per block handed to a caller's hooks (see lstm_forward's ``ready``)


def blas_single_thread():
    """Context manager: one BLAS thread (for the small per-step GEMMs of the time loop).

    The per-step products (B×H by H×G·H) are too small to split across threads; on a 2-core
    machine OpenBLAS's second thread mostly waits, and when anything else runs it stalls
    (measured here under load: LSTM T50 B32 H128 fwd+bwd 144 ms with 2 threads, 33 ms with
    one)."""
    return _blas.single_thread()


def blas_threads(flops):
    """Context manager for one GEMM of ``flops`` floating-point operations: BLAS's default
    thread count when it is big (``_blas.BIG_GEMM_FLOPS``), one thread otherwise."""
    return _blas.threads_for(flops)


def _single_blas_thread(fn):
    """Run the whole kernel (time loop and the weight-gradient GEMMs after it) on one BLAS
    thread."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with _blas.single_thread():
            return fn(*args, **kwargs)
    return wrapper


def _wait(ready, t):
    """Before loop step t: let the caller finish the inputs of t's block (``ready(t)``)."""
    if ready is not None and t % BLOCK == 0:
        ready(t)


def weights(d, hprev, bias=True, threaded=True):
    """Σ d_tᵀ h_{t-1} (and Σ d_t, with ``bias``) over the leading axes of d (..., G) and hprev
    (..., H): the weight and bias gradients of a block of steps (contiguous arrays), one GEMM.
    ``threaded``: BLAS's default thread count if the GEMM is big (never from a worker thread:
    the count is per process)."""
    G, H = d.shape[-1], hprev.shape[-1]
    df, hf = d.reshape(-1, G), hprev.reshape(-1, H)
    with _blas.threads_for(2.0 * df.shape[0] * G * H if threaded else 0):
        return df.T @ hf, (df.sum(0) if bias else None)


def _weights(d, hs, need_w, done, T):
    """After the backward loop: weights(d, h_prev) over all steps, unless the caller takes them
    block by block (``done``: the last block is handed over here) or wants none."""
    if done is not None:
        done(0, d)
        return None, None
    if not need_w:
        return None, None
    return weights(np.ascontiguousarray(d), np.ascontiguousarray(hs[:-1]))


def _handed(done, t, *d):
    """In the backward loop, after step t: the gradients d of steps [t, t + BLOCK) are final;
    hand them over (``done(t, d)``; the block of t = 0 goes in _weights)."""
    if done is not None and t % BLOCK == 0 and t > 0:
        done(t, *d)


# ============================================================================================
# LSTM
# ============================================================================================
# In the numba loops ``a[n, k * H + j]`` is unit j of gate k for sample n (flat 2-D indexing:
# a (B, G, H) view of the same memory made the loops up to 3x slower).  Sigmoids come from one
# tanh: σ(x) = ½·tanh(x/2) + ½, so the sigmoid gates' pre-activations are scaled by ½ before
# the tanh and mapped back by ``_sigmoids`` after it.

@njit(inline="always")
def _sigmoids(a, n, lo, hi, half):
    """a[n, lo:hi] holds tanh(x/2): make it σ(x) = ½·tanh(x/2) + ½."""
    for j in range(lo, hi):
        a[n, j] = half * a[n, j] + half


def _lstm_peep(peep, H, dt):
    """The peephole weights as one row per gate (i, f, g, o), the g row zero; zeros if none."""
    p = np.zeros((4, H), dt)
    if peep is not None:
        p[[0, 1, 3]] = peep
    return p


@njit(nogil=True)
def _lstm_pre(g, xg, b, peep, use_peep, c_prev, scale):
    """g <- s ⊙ (g + xg + b + peep ⊙ c_prev), gate by gate (s = ``scale[k]``)."""
    B, H = c_prev.shape
    for n in range(B):
        for k in range(4):
            for j in range(H):
                v = g[n, k * H + j] + xg[n, k * H + j] + b[k * H + j]
                if use_peep:
                    v += peep[k, j] * c_prev[n, j]
                g[n, k * H + j] = scale[k] * v


@njit(nogil=True)
def _lstm_post(a, c_prev, c, half):
    """a holds tanh of the scaled pre-activations: turn i, f, o into sigmoids, then
    c = f ⊙ c_prev + i ⊙ g."""
    B, H = c.shape
    for n in range(B):
        _sigmoids(a, n, 0, 2 * H, half)
        _sigmoids(a, n, 3 * H, 4 * H, half)
        for j in range(H):
            c[n, j] = a[n, H + j] * c_prev[n, j] + a[n, j] * a[n, 2 * H + j]


@njit(nogil=True)
def _lstm_bwd_step(a, c_prev, tc, dout, dh, dc, d, peep, use_peep, one):
    """One step of BPTT.  In: dh (grad of h_t from step t+1), dc (grad of c_t from step t+1),
    dout (grad of the layer output at t; zeros if none).  Out: d (grads of the 4
    pre-activations), dc <- grad of c_{t-1} (through the cell and the peepholes); dh is left
    for the GEMM."""
    B, H = tc.shape
    for n in range(B):
        for j in range(H):
            i, f, g, o = a[n, j], a[n, H + j], a[n, 2 * H + j], a[n, 3 * H + j]
            t = tc[n, j]
            dhv = dh[n, j] + dout[n, j]
            dct = dc[n, j] + dhv * o * (one - t * t)
            di = dct * g * i * (one - i)
            df = dct * c_prev[n, j] * f * (one - f)
            do = dhv * t * o * (one - o)
            d[n, j] = di
            d[n, H + j] = df
            d[n, 2 * H + j] = dct * i * (one - g * g)
            d[n, 3 * H + j] = do
            dcp = dct * f
            if use_peep:
                dcp += di * peep[0, j] + df * peep[1, j] + do * peep[3, j]
            dc[n, j] = dcp


def _start(T, B, H, dt, h0, bias, hs=None, G=1):
    """hs (T+1, B, H) (the caller's, e.g. a time-reversed view, or a new one) with hs[0] = h0,
    and the bias as (given or not, the bias (G·H,), zeros if none)."""
    if hs is None:
        hs = np.empty((T + 1, B, H), dt)
    hs[0] = h0
    return hs, bias is not None, (bias if bias is not None else np.zeros(G * H, dt))


def _grad_state(s_n, B, H, dt):
    """The running gradient of a state: a copy of the incoming one, or zeros."""
    return np.zeros((B, H), dt) if s_n is None else np.array(s_n, dt, copy=True)


def _dout(dout, t, zero):
    """The output gradient at step t, zeros where the layer output gets none."""
    return zero if dout is None else dout[t]


@_single_blas_thread
def lstm_forward(xg, h0, c0, w_hh, b_hh=None, peep=None, ready=None, hs=None):
    """Run an LSTM layer over ``T`` steps.

    xg: (T, B, 4H) input part of the pre-activations (x W_ihᵀ + b_ih), h0, c0: (B, H),
    w_hh: (4H, H), b_hh: (4H,) or None, peep: (3, H) or None. ``ready(t)``, if given, is
    called before steps t = 0, BLOCK, 2*BLOCK, ...: the caller may still be filling xg[t:]
    (a projection on another thread) and must return once xg[t:t + BLOCK] is there. ``hs``:
    where to write the hidden states (e.g. a time-reversed view of the caller's array).
    Returns ``(hs, cs, acts, tcs)``: hs, cs (T+1, B, H) with hs[0] = h0, cs[0] = c0 (the layer
    output is hs[1:]); acts (T, B, 4H) the gate activations i, f, g, o; tcs (T, B, H) = tanh(c_t).
    """
    T, B, G = xg.shape
    H = G // 4
    dt = xg.dtype
    half = dt.type(0.5)
    scale = np.array([0.5, 0.5, 1.0, 0.5], dt)  # sigmoid gates i, f, o; tanh gate g
    hs, _, bb = _start(T, B, H, dt, h0, b_hh, hs, 4)
    cs = np.empty((T + 1, B, H), dt)
    cs[0] = c0
    acts = np.empty((T, B, G), dt)
    tcs = np.empty((T, B, H), dt)
    w_t = np.ascontiguousarray(w_hh.T)  # a transposed view makes the per-step GEMM ~1.5x slower
    pp = _lstm_peep(peep, H, dt)
    for t in range(T):
        _wait(ready, t)
        a = acts[t]
        np.matmul(hs[t], w_t, out=a)
        _lstm_pre(a, xg[t], bb, pp, peep is not None, cs[t], scale)
        np.tanh(a, out=a)
        _lstm_post(a, cs[t], cs[t + 1], half)
        np.tanh(cs[t + 1], out=tcs[t])
        np.multiply(a[:, 3 * H:], tcs[t], out=hs[t + 1])
    return hs, cs, acts, tcs


@_single_blas_thread
def lstm_backward(dout, dh_n, dc_n, hs, cs, acts, tcs, w_hh, peep=None, need_w=True, done=None,
                  d=None):
    """Backpropagation through time for ``lstm_forward``.

    dout: (T, B, H) gradient of the layer output (or None), dh_n, dc_n: (B, H) gradients of the
    final states (or None). ``done(t, d)``, if given, is called once the gradients d[t:t+BLOCK]
    of the pre-activations are final (t = multiples of BLOCK, the last call t = 0): the caller
    then takes the weight and input gradients block by block and dw_hh/db_hh come back None.
    ``d``: where to write those gradients (T, B, 4H) (e.g. a time-reversed view).
    Returns ``(dxg, dh0, dc0, dw_hh, db_hh, dpeep)``; dxg (T, B, 4H) is also the gradient of
    every bias (b_ih, b_hh: sum over T, B). dw_hh/db_hh/dpeep are None when ``need_w`` is False.
    """
    T, B, G = acts.shape
    H = G // 4
    dt = acts.dtype
    one = dt.type(1.0)
    dh = _grad_state(dh_n, B, H, dt)
    dc = _grad_state(dc_n, B, H, dt)
    zero = np.zeros((B, H), dt)
    use_peep = peep is not None
    pp = _lstm_peep(peep, H, dt)
    d = np.empty((T, B, G), dt) if d is None else d
    for t in range(T - 1, -1, -1):
        _lstm_bwd_step(acts[t], cs[t], tcs[t], _dout(dout, t, zero), dh, dc, d[t], pp, use_peep,
                       one)
        _handed(done, t, d)
        np.matmul(d[t], w_hh, out=dh)
    dw, db = _weights(d, hs, need_w, done, T)
    dpeep = None
    if need_w and use_peep:
        df, cp = d.reshape(T * B, G), cs[:-1].reshape(T * B, H)
        dpeep = np.stack([np.einsum("nh,nh->h", df[:, k * H:(k + 1) * H], cp)
                          for k in (0, 1, 3)])
    return d, dh, dc, dw, db, dpeep


# ============================================================================================
# GRU
# ============================================================================================

@njit(nogil=True)
def _gru_pre_rz(a, gh, xg, b, half):
    """a[:, r and z] <- ½ (xg + gh + b)."""
    B, H = a.shape[0], a.shape[1] // 3
    for n in range(B):
        for k in range(2):
            for j in range(H):
                a[n, k * H + j] = half * (xg[n, k * H + j] + gh[n, k * H + j] + b[k * H + j])


@njit(nogil=True)
def _gru_mid_after(a, xg, gh, b, ghn, half):
    """r, z to sigmoids; ghn <- h W_hnᵀ + b_hn (saved); a[:, n] <- x_n + r ⊙ ghn."""
    B, H = ghn.shape
    for n in range(B):
        _sigmoids(a, n, 0, 2 * H, half)
        for j in range(H):
            ghn[n, j] = gh[n, 2 * H + j] + b[2 * H + j]
        for j in range(H):  # a loop of its own: ~1.5x faster than one loop doing both
            a[n, 2 * H + j] = xg[n, 2 * H + j] + a[n, j] * ghn[n, j]


@njit(nogil=True)
def _gru_mid_before(a, h_prev, rh, half):
    """r, z to sigmoids; rh <- r ⊙ h_prev (saved, the input of the W_hn GEMM)."""
    B, H = h_prev.shape
    for n in range(B):
        _sigmoids(a, n, 0, 2 * H, half)
        for j in range(H):
            rh[n, j] = a[n, j] * h_prev[n, j]


@njit(nogil=True)
def _gru_pre_n_before(a, xg, ghn, b):
    """a[:, n] <- x_n + (r ⊙ h) W_hnᵀ + b_hn."""
    B, H = ghn.shape
    for n in range(B):
        for j in range(H):
            a[n, 2 * H + j] = xg[n, 2 * H + j] + ghn[n, j] + b[2 * H + j]


@njit(nogil=True)
def _gru_post(a, h_prev, h):
    """h = (1 - z) ⊙ n + z ⊙ h_prev = n + z ⊙ (h_prev - n)."""
    B, H = h_prev.shape
    for n in range(B):
        for j in range(H):
            nn = a[n, 2 * H + j]
            h[n, j] = nn + a[n, H + j] * (h_prev[n, j] - nn)


@njit(inline="always")
def _gru_bwd_zn(a, h_prev, dout, dh, n, j, H, one):
    """At (n, j): the gradients of the z and n pre-activations; dh <- its direct part dh ⊙ z
    (the GEMM through W_hh is added by the caller)."""
    z, nn = a[n, H + j], a[n, 2 * H + j]
    dhv = dh[n, j] + dout[n, j]
    dh[n, j] = dhv * z
    return dhv * (h_prev[n, j] - nn) * z * (one - z), dhv * (one - z) * (one - nn * nn)


@njit(nogil=True)
def _gru_bwd_after(a, h_prev, ghn, dout, dh, dx, dgh, one):
    """BPTT step, reset_after=True.  dh in: grad of h_t from t+1 (dout: of the output at t).
    dx: grads of x-side pre-activations, dgh: grads of the h-side GEMM output (r, z like dx;
    n part is dx_n ⊙ r)."""
    B, H = h_prev.shape
    for n in range(B):
        for j in range(H):
            dz, dpn = _gru_bwd_zn(a, h_prev, dout, dh, n, j, H, one)
            r = a[n, j]
            dr = dpn * ghn[n, j] * r * (one - r)
            dx[n, j] = dgh[n, j] = dr
            dx[n, H + j] = dgh[n, H + j] = dz
            dx[n, 2 * H + j] = dpn
            dgh[n, 2 * H + j] = dpn * r


@njit(nogil=True)
def _gru_bwd_before_1(a, h_prev, dout, dh, dx, one):
    """BPTT step, reset_after=False, part 1: dz, dn pre-activations; dh <- dh ⊙ z."""
    B, H = h_prev.shape
    for n in range(B):
        for j in range(H):
            dx[n, H + j], dx[n, 2 * H + j] = _gru_bwd_zn(a, h_prev, dout, dh, n, j, H, one)


@njit(nogil=True)
def _gru_bwd_before_2(a, h_prev, drh, dh, dx, one):
    """Part 2: from d(r ⊙ h): dr pre-activation, and dh += d(r ⊙ h) ⊙ r."""
    B, H = h_prev.shape
    for n in range(B):
        for j in range(H):
            r = a[n, j]
            dx[n, j] = drh[n, j] * h_prev[n, j] * r * (one - r)
            dh[n, j] += drh[n, j] * r


@_single_blas_thread
def gru_forward(xg, h0, w_hh, b_hh=None, reset_after=True, ready=None, hs=None, aux=None):
    """Run a GRU layer over ``T`` steps (``ready``, ``hs``: as in lstm_forward; ``aux``
    likewise the caller's array for aux).

    xg: (T, B, 3H) (x W_ihᵀ + b_ih), h0: (B, H), w_hh: (3H, H), b_hh: (3H,) or None.
    Returns ``(hs, acts, aux)``: hs (T+1, B, H) with hs[0] = h0; acts (T, B, 3H) = r, z, n;
    aux (T, B, H) = h W_hnᵀ + b_hn (reset_after) or r ⊙ h_{t-1} (reset_after=False).
    """
    T, B, G = xg.shape
    H = G // 3
    dt = xg.dtype
    half = dt.type(0.5)
    hs, _, bb = _start(T, B, H, dt, h0, b_hh, hs, 3)
    acts = np.empty((T, B, G), dt)
    aux = np.empty((T, B, H), dt) if aux is None else aux
    # reset_after: one GEMM for all three gates; else r, z first, then (r ⊙ h) W_hnᵀ
    w_t = np.ascontiguousarray(w_hh.T if reset_after else w_hh[:2 * H].T)
    w_n_t = None if reset_after else np.ascontiguousarray(w_hh[2 * H:].T)
    gh = np.empty((B, w_t.shape[1]), dt)
    ghn = np.empty((B, H), dt)
    for t in range(T):
        _wait(ready, t)
        a = acts[t]
        np.matmul(hs[t], w_t, out=gh)
        _gru_pre_rz(a, gh, xg[t], bb, half)
        np.tanh(a[:, :2 * H], out=a[:, :2 * H])
        if reset_after:
            _gru_mid_after(a, xg[t], gh, bb, aux[t], half)
        else:
            _gru_mid_before(a, hs[t], aux[t], half)
            np.matmul(aux[t], w_n_t, out=ghn)
            _gru_pre_n_before(a, xg[t], ghn, bb)
        np.tanh(a[:, 2 * H:], out=a[:, 2 * H:])
        _gru_post(a, hs[t], hs[t + 1])
    return hs, acts, aux


@_single_blas_thread
def gru_backward(dout, dh_n, hs, acts, aux, w_hh, reset_after=True, need_w=True, done=None,
                 d=None):
    """BPTT for ``gru_forward``. Returns ``(dxg, dh0, dw_hh, db_hh)`` (the last two None when
    ``need_w`` is False or ``done`` is given); dxg is also the gradient of b_ih (summed over T,
    B). ``done(t, dx, dgh)``: as in lstm_backward, with the gradient dgh of the h-side GEMM's
    output (it differs from dx in the n columns with reset_after; see ``gru_weights``).
    ``d``: the caller's arrays (dx, dgh) to write them to (dgh is dx without reset_after)."""
    T, B, G = acts.shape
    H = G // 3
    dt = acts.dtype
    one = dt.type(1.0)
    dh = _grad_state(dh_n, B, H, dt)
    zero = np.zeros((B, H), dt)
    tmp = np.empty((B, H), dt)
    # reset_after: the h-side GEMM output's gradient differs from dx in the n columns
    if d is None:
        dx = np.empty((T, B, G), dt)
        dgh = np.empty((T, B, G), dt) if reset_after else dx
    else:
        dx, dgh = d
    w_rz, w_n = w_hh[:2 * H], w_hh[2 * H:]
    drh = np.empty((B, H), dt)
    for t in range(T - 1, -1, -1):
        dzt = _dout(dout, t, zero)
        if reset_after:
            _gru_bwd_after(acts[t], hs[t], aux[t], dzt, dh, dx[t], dgh[t], one)
            _handed(done, t, dx, dgh)
            np.matmul(dgh[t], w_hh, out=tmp)
        else:
            _gru_bwd_before_1(acts[t], hs[t], dzt, dh, dx[t], one)
            np.matmul(dx[t][:, 2 * H:], w_n, out=drh)
            _gru_bwd_before_2(acts[t], hs[t], drh, dh, dx[t], one)
            _handed(done, t, dx, dgh)
            np.matmul(dx[t][:, :2 * H], w_rz, out=tmp)
        dh += tmp
    if done is not None:
        done(0, dx, dgh)
    if done is not None or not need_w:
        return dx, dh, None, None
    dw, db = gru_weights(dx, dgh, hs[:-1], aux, reset_after)
    return dx, dh, dw, db


def gru_weights(dx, dgh, hprev, aux, reset_after, threaded=True):
    """dW_hh and db_hh of a block of GRU steps: the h-side GEMM's input (h_{t-1}, or r ⊙ h_{t-1}
    = aux for the n rows without reset_after) against its output gradient."""
    if reset_after:
        return weights(dgh, hprev, threaded=threaded)
    G, H = dx.shape[-1], hprev.shape[-1]
    g = dx.reshape(-1, G)
    dw = np.empty((G, H), dx.dtype)
    with _blas.threads_for(2.0 * g.shape[0] * G * H if threaded else 0):
        dw[:2 * H] = g[:, :2 * H].T @ hprev.reshape(-1, H)
        dw[2 * H:] = g[:, 2 * H:].T @ aux.reshape(-1, H)
    return dw, g.sum(0)


# ============================================================================================
# Elman RNN (tanh / relu)
# ============================================================================================

@_single_blas_thread
def rnn_forward(xg, h0, w_hh, b_hh=None, nonlinearity="tanh", ready=None, hs=None):
    """h_t = act(xg_t + h_{t-1} W_hhᵀ + b_hh).  Returns hs (T+1, B, H) with hs[0] = h0
    (``ready``, ``hs``: as in lstm_forward)."""
    T, B, H = xg.shape
    hs, use_b, bb = _start(T, B, H, xg.dtype, h0, b_hh, hs)
    w_t = np.ascontiguousarray(w_hh.T)
    relu = nonlinearity == "relu"
    for t in range(T):
        _wait(ready, t)
        h = hs[t + 1]
        np.matmul(hs[t], w_t, out=h)
        h += xg[t]
        if use_b:
            h += bb
        if relu:
            np.maximum(h, 0, out=h)
        else:
            np.tanh(h, out=h)
    return hs


@_single_blas_thread
def rnn_backward(dout, dh_n, hs, w_hh, nonlinearity="tanh", need_w=True, done=None, d=None):
    """BPTT for ``rnn_forward`` (``done``, ``d``: as in lstm_backward).  Returns ``(dxg, dh0,
    dw_hh, db_hh)``."""
    T1, B, H = hs.shape
    T = T1 - 1
    dt = hs.dtype
    dh = _grad_state(dh_n, B, H, dt)
    d = np.empty((T, B, H), dt) if d is None else d
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
        _handed(done, t, d)
        np.matmul(dd, w_hh, out=dh)
    dw, db = _weights(d, hs, need_w, done, T)
    return d, dh, dw, db
