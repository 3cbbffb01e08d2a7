"""Fused recurrent-cell kernels: whole-sequence forward and backward-through-time on numpy arrays.

One call runs a recurrent layer (one direction) over all ``T`` steps; its adjoint runs
backpropagation through time over the same steps.  The input projection ``x_t W_ihᵀ + b_ih``
for all steps is *not* done here: the caller hoists it into one GEMM and passes the result
``xg`` of shape ``(T, B, G·H)`` (``G`` = 4 for LSTM, 3 for GRU, 1 for RNN).  What stays inside
the time loop is the hidden GEMM ``h W_hhᵀ`` plus the gate arithmetic.

Layouts and gate orders are PyTorch's: LSTM gates ``i, f, g, o``; GRU gates ``r, z, n``;
``w_hh`` is ``(G·H, H)``; ``b_hh`` is ``(G·H,)``.

Where the time goes: the LSTM's whole time loop is one numba function per direction that
holds no GIL and calls numpy's BLAS for its per-step GEMM itself (``_cblas``); its float32 tanh
and sigmoid are a rational approximation that LLVM vectorizes (numba's own float32 tanh is
libm's scalar tanhf). Two threads can so run it on two halves of a batch side by side
(``tensorgrad/ops/_rnn_impl.py``). The GRU and Elman loops still step in Python: every
transcendental runs as one numpy call over a whole ``(B, k·H)`` block, and the arithmetic
between them in small numba loops; their sigmoids use ``σ(x) = ½·tanh(x/2) + ½`` so that one
``np.tanh`` serves several gates.

Everything is float32 or float64 (one dtype per call) and C-contiguous; checking that is the
caller's job (``tensorgrad.ops.recurrent``).  Variants of the course notes:

* GRU ``reset_after=True`` (PyTorch, default):
  ``n = tanh(x W_inᵀ + b_in + r ⊙ (h W_hnᵀ + b_hn))``;
  ``reset_after=False`` (notes §9.5.1): ``n = tanh(x W_inᵀ + b_in + (r ⊙ h) W_hnᵀ + b_hn)``.
  Both use PyTorch's update ``h' = (1 - z) ⊙ n + z ⊙ h``.
* LSTM peepholes (notes §9.5.2): diagonal weights ``peep`` of shape ``(3, H)`` that add
  ``peep[k] ⊙ c_{t-1}`` to the pre-activations of the gates ``i, f, o``.
"""
from __future__ import annotations

import numpy as np

from . import _blas, _cblas
from ._cblas import gemm_into, matmul_into
from ._fastmath import sigmoid, tanh
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
# The whole time loop of one (layer, direction, batch part) is one numba call that holds no
# GIL, its per-step GEMM a call into numpy's BLAS (kernels/_cblas.py): two threads run two
# halves of the batch side by side (tensorgrad/ops/_rnn_impl.py). Arrays are C-contiguous and
# in natural time order; ``rev`` runs the loop from the last step to the first. Index of a
# state: hs[t] is the state *before* natural step t in a forward layer (hs[0] = h0, the output
# of step t is hs[t + 1]); in a reverse layer hs[t + 1] is the state before step t (hs[T] = h0,
# the output of step t is hs[t]). ``a[n, k * H + j]`` is unit j of gate k for sample n (flat
# 2-D indexing: a (B, G, H) view of the same memory made the loops up to 3x slower).

def _lstm_peep(peep, H, dt):
    """The peephole weights as one row per gate (i, f, g, o), the g row zero; zeros if none."""
    p = np.zeros((4, H), dt)
    if peep is not None:
        p[[0, 1, 3]] = peep
    return p


@njit(inline="always")
def _quarters(r, H):
    """The four gate blocks of a row (B, 4H)[n] as separate views: with them LLVM can tell the
    blocks apart and vectorizes the loops over units (indexed as r[k * H + j] it does not)."""
    return r[:H], r[H:2 * H], r[2 * H:3 * H], r[3 * H:]


@njit(nogil=True, error_model="numpy", fastmath={"contract"})
def _lstm_loop(gemm, rev, b, w_t, peep, use_peep, hs, cs, acts, tcs):
    """The LSTM forward over all steps. In: acts[t] the input part of the pre-activations; the
    step's GEMM adds h W_hhᵀ to it in place (beta = 1: one array less to stream through the
    cache every step, where a GEMM into a separate array left the loop up to 1.3x slower), and
    the gates overwrite it: acts[t] = i, f, g, o; cs, hs the states; tcs tanh(c).
    ``w_t`` = W_hhᵀ (H, 4H), contiguous."""
    T, B, G = acts.shape
    H = G // 4
    bi, bf, bg, bo = _quarters(b, H)
    pi, pf, po = peep[0], peep[1], peep[3]
    for s in range(T):
        t = T - 1 - s if rev else s
        p, q = (t + 1, t) if rev else (t, t + 1)  # states before and after step t
        gemm_into(gemm, hs[p], w_t, acts[t], 1.0, True)
        for n in range(B):
            ai, af, ag, ao = _quarters(acts[t, n], H)
            cp, cn, hn, tc = cs[p, n], cs[q, n], hs[q, n], tcs[t, n]
            for j in range(H):
                c0 = cp[j]
                gi = ai[j] + bi[j]
                gf = af[j] + bf[j]
                go = ao[j] + bo[j]
                if use_peep:
                    gi += pi[j] * c0
                    gf += pf[j] * c0
                    go += po[j] * c0
                i, f, g, o = sigmoid(gi), sigmoid(gf), tanh(ag[j] + bg[j]), sigmoid(go)
                c = f * c0 + i * g
                tv = tanh(c)
                ai[j], af[j], ag[j], ao[j] = i, f, g, o
                cn[j], tc[j], hn[j] = c, tv, o * tv


@njit(nogil=True, error_model="numpy", fastmath={"contract"})
def _lstm_loop_back(gemm, rev, dout, has_dout, cs, acts, tcs, w_hh, peep, use_peep, dh, dc, d,
                    one):
    """BPTT of _lstm_loop. In: dh, dc the gradients of the final states; out: d the gradients
    of the pre-activations (T, B, 4H), dh, dc those of the initial states."""
    T, B, G = acts.shape
    H = G // 4
    pi, pf, po = peep[0], peep[1], peep[3]
    for s in range(T):
        t = s if rev else T - 1 - s
        p = t + 1 if rev else t  # the state before step t
        for n in range(B):
            ai, af, ag, ao = _quarters(acts[t, n], H)
            di, df, dg, do = _quarters(d[t, n], H)
            cp, tc, dhr, dcr = cs[p, n], tcs[t, n], dh[n], dc[n]
            for j in range(H):
                i, f, g, o = ai[j], af[j], ag[j], ao[j]
                tv = tc[j]
                dhv = dhr[j]
                if has_dout:
                    dhv += dout[t, n, j]
                dct = dcr[j] + dhv * o * (one - tv * tv)
                vi = dct * g * i * (one - i)
                vf = dct * cp[j] * f * (one - f)
                vo = dhv * tv * o * (one - o)
                di[j], df[j], dg[j], do[j] = vi, vf, dct * i * (one - g * g), vo
                dcp = dct * f
                if use_peep:
                    dcp += vi * pi[j] + vf * pf[j] + vo * po[j]
                dcr[j] = dcp
        matmul_into(gemm, d[t], w_hh, dh)


def carve(dt, *shapes):
    """Empty C-contiguous arrays of the given shapes, cut from one allocation, each starting on
    a 64-byte cache line. The LSTM loop streams through several of these arrays at once; as
    separate allocations (numpy's are 16-byte aligned, placed wherever malloc puts them) its
    time swung between 2.8 and 4.5 ms for the same inputs (T50 B32 H128, one thread, in one
    process), cut from one buffer it stayed at the fast end (2.5-2.8 ms)."""
    dt = np.dtype(dt)
    line = 64 // dt.itemsize
    sizes = [int(np.prod(s)) for s in shapes]
    padded = [-(-n // line) * line for n in sizes]
    buf = np.empty(sum(padded) + line, dt)
    pos = (-(buf.ctypes.data // dt.itemsize)) % line
    out = []
    for s, n, p in zip(shapes, sizes, padded):
        out.append(buf[pos:pos + n].reshape(s))
        pos += p
    return out


def lstm_forward(xg, h0, c0, w_hh, b_hh=None, peep=None, reverse=False, overwrite_xg=False):
    """Run an LSTM layer over ``T`` steps.

    xg: (T, B, 4H) input part of the pre-activations (x W_ihᵀ + b_ih), h0, c0: (B, H),
    w_hh: (4H, H), b_hh: (4H,) or None, peep: (3, H) or None; ``reverse``: from the last step
    to the first. Returns ``(hs, cs, acts, tcs)`` in natural time order: hs, cs (T+1, B, H)
    the states (forward: hs[0] = h0, the layer output is hs[1:]; reverse: hs[T] = h0, the
    output is hs[:T]); acts (T, B, 4H) the gate activations i, f, g, o; tcs (T, B, H) tanh(c_t).
    ``overwrite_xg``: a C-contiguous xg of the layer's dtype becomes acts (the caller's own
    buffer, no longer needed); otherwise xg is copied. The loop holds no GIL: two threads may
    run it on two parts of a batch at once.
    """
    T, B, G = xg.shape
    H = G // 4
    dt = xg.dtype
    if overwrite_xg and xg.flags.c_contiguous:
        acts = xg
        hs, cs, tcs = carve(dt, (T + 1, B, H), (T + 1, B, H), (T, B, H))
    else:
        hs, cs, acts, tcs = carve(dt, (T + 1, B, H), (T + 1, B, H), (T, B, G), (T, B, H))
        acts[...] = xg
    first = T if reverse else 0
    hs[first] = h0
    cs[first] = c0
    b = np.zeros(G, dt) if b_hh is None else np.ascontiguousarray(b_hh, dt)
    w_t = np.ascontiguousarray(np.asarray(w_hh, dt).T)
    _lstm_loop(_cblas.gemm_function(dt), bool(reverse), b, w_t, _lstm_peep(peep, H, dt),
               peep is not None, hs, cs, acts, tcs)
    return hs, cs, acts, tcs


def lstm_backward(dout, dh_n, dc_n, hs, cs, acts, tcs, w_hh, peep=None, need_w=True,
                  reverse=False, threaded=True):
    """Backpropagation through time for ``lstm_forward`` (same ``reverse``).

    dout: (T, B, H) gradient of the layer output (or None), dh_n, dc_n: (B, H) gradients of the
    final states (or None). Returns ``(dxg, dh0, dc0, dw_hh, db_hh, dpeep)``; dxg (T, B, 4H),
    the gradients of the pre-activations, is also the gradient of every bias (b_ih, b_hh: sum
    over T, B). dw_hh/db_hh/dpeep are None when ``need_w`` is False. ``threaded``: as in
    ``weights``.
    """
    T, B, G = acts.shape
    H = G // 4
    dt = acts.dtype
    dh, dc, d = carve(dt, (B, H), (B, H), (T, B, G))
    for s, g in ((dh, dh_n), (dc, dc_n)):
        s[...] = 0 if g is None else g
    has_dout = dout is not None
    dout = np.ascontiguousarray(dout, dt) if has_dout else np.zeros((1, 1, 1), dt)
    _lstm_loop_back(_cblas.gemm_function(dt), bool(reverse), dout, has_dout, cs, acts, tcs,
                    np.ascontiguousarray(w_hh, dt), _lstm_peep(peep, H, dt), peep is not None,
                    dh, dc, d, dt.type(1.0))
    dw = db = dpeep = None
    if need_w:
        hprev = hs[1:] if reverse else hs[:-1]
        dw, db = weights(d, hprev, threaded=threaded)
        if peep is not None:
            dpeep = lstm_peep_grad(d, cs[1:] if reverse else cs[:-1])
    return d, dh, dc, dw, db, dpeep


def lstm_peep_grad(d, cprev):
    """The peephole weights' gradient (3, H) from the pre-activations' gradients d (..., 4H)
    and the previous cell states (..., H)."""
    H = cprev.shape[-1]
    df, cp = d.reshape(-1, 4 * H), cprev.reshape(-1, H)
    return np.stack([np.einsum("nh,nh->h", df[:, k * H:(k + 1) * H], cp) for k in (0, 1, 3)])


# ============================================================================================
# GRU
# ============================================================================================

@njit(inline="always")
def _sigmoids(a, n, lo, hi, half):
    """a[n, lo:hi] holds tanh(x/2): make it σ(x) = ½·tanh(x/2) + ½."""
    for j in range(lo, hi):
        a[n, j] = half * a[n, j] + half


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
