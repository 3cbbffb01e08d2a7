"""Fused recurrent kernels (kernels/rnn.py) against plain references.

Forward: a straightforward cell loop (standard sigmoid, no tricks) on numpy arrays.  Backward:
the same loop run on torch tensors in float64 and differentiated by torch autograd (torch is a
test oracle only).  Both float32 and float64, every variant (GRU reset_after both ways, LSTM
with and without peepholes, RNN tanh/relu, with and without bias, with and without output
gradient).
"""
import numpy as np
import pytest
from _torch import torch

from tensorgrad.kernels import rnn as K


class NP:
    """The numpy functions the references call, under torch's names (the references run on
    ``NP`` for the forward checks and on ``torch`` for the gradients)."""
    tanh = staticmethod(np.tanh)
    stack = staticmethod(np.stack)

    @staticmethod
    def sigmoid(x):
        return 1.0 / (1.0 + np.exp(-x))

    @staticmethod
    def relu(x):
        return np.maximum(x, 0)


def _gates(g, n):
    H = g.shape[1] // n
    return [g[:, k * H:(k + 1) * H] for k in range(n)]


# ---- plain references: standard sigmoid, no tricks, one step at a time -------------------------
def ref_lstm(xp, xg, h0, c0, w, b, peep):
    h, c = h0, c0
    outs = []
    for t in range(xg.shape[0]):
        gi, gf, gg, go = _gates(xg[t] + h @ w.T + (0 if b is None else b), 4)
        if peep is not None:
            gi, gf, go = gi + peep[0] * c, gf + peep[1] * c, go + peep[2] * c
        c = xp.sigmoid(gf) * c + xp.sigmoid(gi) * xp.tanh(gg)
        h = xp.sigmoid(go) * xp.tanh(c)
        outs.append(h)
    return xp.stack(outs), h, c


def ref_gru(xp, xg, h0, w, b, reset_after):
    w_r, w_z, w_n = _gates(w.T, 3)
    b_r, b_z, b_n = _gates((0 * w[:, 0] if b is None else b)[None], 3)
    h = h0
    outs = []
    for t in range(xg.shape[0]):
        x_r, x_z, x_n = _gates(xg[t], 3)
        r = xp.sigmoid(x_r + h @ w_r + b_r)
        z = xp.sigmoid(x_z + h @ w_z + b_z)
        if reset_after:
            n = xp.tanh(x_n + r * (h @ w_n + b_n))
        else:
            n = xp.tanh(x_n + (r * h) @ w_n + b_n)
        h = (1 - z) * n + z * h
        outs.append(h)
    return xp.stack(outs), h


def ref_rnn(xp, xg, h0, w, b, nl):
    h = h0
    outs = []
    for t in range(xg.shape[0]):
        a = xg[t] + h @ w.T + (0 if b is None else b)
        h = xp.relu(a) if nl == "relu" else xp.tanh(a)
        outs.append(h)
    return xp.stack(outs), h


def _arrays(rng, dtype, *shapes, scale=0.5):
    return [(rng.standard_normal(s) * scale).astype(dtype) for s in shapes]


def _tol(dtype):
    return dict(rtol=1e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)


def _f64(*arrays):
    return [None if a is None else a.astype(np.float64) for a in arrays]


def _leaf(a):
    return None if a is None else torch.tensor(np.asarray(a, np.float64), requires_grad=True)


def _check_grads(outputs, out_grads, leaves, grads, dtype):
    """Backpropagate Σ <output, its gradient> (None: not used) through the torch reference,
    then compare the kernel's gradients with the leaves' (where a leaf is given)."""
    sum(((o * torch.tensor(g, dtype=torch.float64)).sum()
         for o, g in zip(outputs, out_grads) if g is not None)).backward()
    for got, leaf in zip(grads, leaves):
        if leaf is not None:
            np.testing.assert_allclose(got, leaf.grad.numpy(), **_tol(dtype))


# ---- LSTM --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias,peephole", [(True, False), (False, False), (True, True)])
@pytest.mark.parametrize("with_dout", [True, False])
def test_lstm_kernel(dtype, bias, peephole, with_dout):
    rng = np.random.default_rng(0)
    T, B, H = 6, 3, 5
    xg, h0, c0, w, b, p = _arrays(rng, dtype, (T, B, 4 * H), (B, H), (B, H), (4 * H, H),
                                  (4 * H,), (3, H))
    b = b if bias else None
    p = p if peephole else None
    hs, cs, acts, tcs = K.lstm_forward(xg, h0, c0, w, b, p)
    out_r, hn_r, cn_r = ref_lstm(NP, *_f64(xg, h0, c0, w, b, p))
    np.testing.assert_allclose(hs[1:], out_r, **_tol(dtype))
    np.testing.assert_allclose(cs[-1], cn_r, **_tol(dtype))
    assert hs.dtype == dtype and acts.dtype == dtype

    dout, dhn, dcn = _arrays(rng, dtype, (T, B, H), (B, H), (B, H))
    dout = dout if with_dout else None
    dxg, dh0, dc0, dw, db, dp = K.lstm_backward(dout, dhn, dcn, hs, cs, acts, tcs, w, p)
    L = [_leaf(a) for a in (xg, h0, c0, w, b, p)]  # b, p: None (not compared) when not used
    _check_grads(ref_lstm(torch, *L), (dout, dhn, dcn), L, (dxg, dh0, dc0, dw, db, dp), dtype)
    if not peephole:
        assert dp is None


# ---- GRU ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("with_dout", [True, False])
def test_gru_kernel(dtype, reset_after, bias, with_dout):
    rng = np.random.default_rng(1)
    T, B, H = 5, 2, 4
    xg, h0, w, b = _arrays(rng, dtype, (T, B, 3 * H), (B, H), (3 * H, H), (3 * H,))
    b = b if bias else None
    hs, acts, aux = K.gru_forward(xg, h0, w, b, reset_after)
    out_r, hn_r = ref_gru(NP, *_f64(xg, h0, w, b), reset_after)
    np.testing.assert_allclose(hs[1:], out_r, **_tol(dtype))
    np.testing.assert_allclose(hs[-1], hn_r, **_tol(dtype))

    dout, dhn = _arrays(rng, dtype, (T, B, H), (B, H))
    dout = dout if with_dout else None
    dxg, dh0, dw, db = K.gru_backward(dout, dhn, hs, acts, aux, w, reset_after)
    L = [_leaf(a) for a in (xg, h0, w, b)]
    _check_grads(ref_gru(torch, *L, reset_after), (dout, dhn), L, (dxg, dh0, dw, db), dtype)


# ---- RNN ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nl", ["tanh", "relu"])
@pytest.mark.parametrize("bias", [True, False])
def test_rnn_kernel(dtype, nl, bias):
    rng = np.random.default_rng(2)
    T, B, H = 7, 3, 4
    xg, h0, w, b = _arrays(rng, dtype, (T, B, H), (B, H), (H, H), (H,))
    b = b if bias else None
    hs = K.rnn_forward(xg, h0, w, b, nl)
    out_r, hn_r = ref_rnn(NP, *_f64(xg, h0, w, b), nl)
    np.testing.assert_allclose(hs[1:], out_r, **_tol(dtype))
    dout, dhn = _arrays(rng, dtype, (T, B, H), (B, H))
    dxg, dh0, dw, db = K.rnn_backward(dout, dhn, hs, w, nl)
    L = [_leaf(a) for a in (xg, h0, w, b)]
    _check_grads(ref_rnn(torch, *L, nl), (dout, dhn), L, (dxg, dh0, dw, db), dtype)


def test_lstm_kernel_long_sequence_is_finite_and_linear_in_dout():
    """T = 5000 runs (no recursion anywhere) and BPTT is linear in the incoming gradient
    (the adjoint identity <J v, u> = <v, Jᵀ u> checked through linearity in u)."""
    rng = np.random.default_rng(3)
    T, B, H = 5000, 2, 3
    xg, h0, c0, w = _arrays(rng, np.float64, (T, B, 4 * H), (B, H), (B, H), (4 * H, H))
    hs, cs, acts, tcs = K.lstm_forward(xg, h0, c0, w)
    assert np.all(np.isfinite(hs))
    u1, u2 = _arrays(rng, np.float64, (T, B, H), (T, B, H))
    g1 = K.lstm_backward(u1, None, None, hs, cs, acts, tcs, w)[0]
    g2 = K.lstm_backward(u2, None, None, hs, cs, acts, tcs, w)[0]
    g12 = K.lstm_backward(2 * u1 + u2, None, None, hs, cs, acts, tcs, w)[0]
    np.testing.assert_allclose(g12, 2 * g1 + g2, rtol=1e-9, atol=1e-12)


def test_blas_thread_contexts_only_lower_the_thread_count_on_exit():
    """Contexts set numpy's BLAS count inside; leaving one puts back the count of the one
    around it, but never raises the count (that wakes OpenBLAS's idle workers, which spin
    against the ops' own threads): it stays lowered until a big GEMM or set_default_threads
    asks for more."""
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads_now():  # numpy's BLAS (torch may load its own later; not ours to limit)
        return [i["num_threads"] for i in threadpoolctl.threadpool_info()
                if i["user_api"] == "blas" and "numpy" in i["filepath"]]
    before = blas_threads_now()
    assert before
    with K.blas_single_thread():
        assert all(n == 1 for n in blas_threads_now())
        with K.blas_threads(1e9):  # a big GEMM inside the time loop's context: default threads
            from tensorgrad.kernels import _blas
            assert blas_threads_now() == [_blas.default_threads()] * len(before)
        with K.blas_threads(1e3):
            assert all(n == 1 for n in blas_threads_now())
    assert all(n == 1 for n in blas_threads_now())  # not raised on the way out
    from tensorgrad.kernels import _blas
    with _blas.gemm(1e9):  # a big GEMM raises it for itself
        assert blas_threads_now() == [_blas.default_threads()] * len(before)
    with _blas.gemm(1e3):  # a small one leaves it as it is
        assert all(n == 1 for n in blas_threads_now())
    _blas.set_default_threads(_blas.default_threads())  # what tg.set_num_threads does
    assert blas_threads_now() == [_blas.default_threads()] * len(before)


def test_blas_contexts_interleaved_across_threads_never_raise_the_count():
    """Contexts opened and closed in an interleaved order from two threads (a layer's worker
    thread beside the caller) never leave numpy's BLAS count above what they found, and do not
    leave it stuck: the next big GEMM gets the default count again."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import threading
    from tensorgrad.kernels import _blas

    def now():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info()
                if i["user_api"] == "blas" and "numpy" in i["filepath"]]
    if not _blas.controllable():
        pytest.skip("numpy's BLAS thread count cannot be changed here")
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        before = now()
        a, b = _blas.single_thread(), _blas.blas_threads(2)
        a.__enter__()
        entered, leave = threading.Event(), threading.Event()

        def other():
            b.__enter__()
            entered.set()
            leave.wait(5)
            b.__exit__(None, None, None)
        t = threading.Thread(target=other)
        t.start()
        entered.wait(5)
        a.__exit__(None, None, None)      # the first one in leaves first
        assert all(n <= 2 for n in now())
        leave.set()
        t.join(5)
        assert all(n <= m for n, m in zip(now(), before))
        assert not _blas._ACTIVE
        with _blas.gemm(1e9):             # not stuck: a big GEMM gets the default count
            assert now() == [_blas.default_threads()] * len(before)


# ---- the pieces of the fused LSTM loop -------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lstm_kernel_reverse_is_the_forward_on_the_reversed_sequence(dtype):
    rng = np.random.default_rng(4)
    T, B, H = 7, 3, 6
    xg, h0, c0, w, b, p = _arrays(rng, dtype, (T, B, 4 * H), (B, H), (B, H), (4 * H, H),
                                  (4 * H,), (3, H))
    hs, cs, acts, tcs = K.lstm_forward(xg, h0, c0, w, b, p, reverse=True)
    hs_f, cs_f, acts_f, tcs_f = K.lstm_forward(xg[::-1], h0, c0, w, b, p)
    np.testing.assert_array_equal(hs[:T], hs_f[1:][::-1])
    np.testing.assert_array_equal(hs[T], h0)
    dout, dhn, dcn = _arrays(rng, dtype, (T, B, H), (B, H), (B, H))
    got = K.lstm_backward(dout, dhn, dcn, hs, cs, acts, tcs, w, p, reverse=True)
    want = K.lstm_backward(dout[::-1], dhn, dcn, hs_f, cs_f, acts_f, tcs_f, w, p)
    np.testing.assert_array_equal(got[0], want[0][::-1])  # d of the pre-activations
    for g, h in zip(got[1:], want[1:]):  # dh0, dc0, dw, db, dpeep
        np.testing.assert_allclose(g, h, **_tol(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lstm_forward_into_xg_equals_the_copy_and_leaves_a_callers_xg(dtype):
    """The loop's GEMM adds h W_hhᵀ into the pre-activations in place: with overwrite_xg the
    caller's buffer becomes acts, without it xg is copied first and left as it was; the two
    give the same states and activations bit for bit."""
    rng = np.random.default_rng(7)
    T, B, H = 7, 4, 6
    xg, h0, c0, w, b, p = _arrays(rng, dtype, (T, B, 4 * H), (B, H), (B, H), (4 * H, H),
                                  (4 * H,), (3, H))
    keep = xg.copy()
    copied = K.lstm_forward(xg, h0, c0, w, b, p)
    np.testing.assert_array_equal(xg, keep)
    own = xg.copy()
    inplace = K.lstm_forward(own, h0, c0, w, b, p, overwrite_xg=True)
    assert inplace[2] is own
    for a, c in zip(copied, inplace):
        np.testing.assert_array_equal(a, c)


def test_lstm_kernel_without_a_cblas_symbol_multiplies_in_numba(monkeypatch):
    """Where numpy's BLAS exposes no CBLAS GEMM the loops fall back to a numba product."""
    from tensorgrad.kernels import _cblas
    rng = np.random.default_rng(5)
    T, B, H = 4, 3, 5
    xg, h0, c0, w, b = _arrays(rng, np.float64, (T, B, 4 * H), (B, H), (B, H), (4 * H, H),
                               (4 * H,))
    with_blas = K.lstm_forward(xg, h0, c0, w, b)
    dout = _arrays(rng, np.float64, (T, B, H))[0]
    grads_blas = K.lstm_backward(dout, None, None, *with_blas, w)
    monkeypatch.setattr(_cblas, "gemm_function", lambda dtype: None)
    without = K.lstm_forward(xg, h0, c0, w, b)
    for a, c in zip(with_blas, without):
        np.testing.assert_allclose(a, c, rtol=1e-13, atol=1e-14)
    for a, c in zip(grads_blas, K.lstm_backward(dout, None, None, *without, w)):
        if a is not None:
            np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-13)


def test_cblas_gemm_on_row_slices():
    """matmul_into, with numpy's BLAS and with the numba loop, on views whose rows are
    contiguous but further apart than their length (the time loops' column blocks) or whose
    columns are (transposed views), and in column blocks for OpenBLAS's small kernels."""
    from tensorgrad.kernels import _cblas
    from tensorgrad.kernels._numba import njit

    @njit
    def mm(gemm, a, b, c):
        _cblas.matmul_into(gemm, a, b, c)

    rng = np.random.default_rng(6)
    for dt in (np.float32, np.float64):
        gemm = _cblas.gemm_function(dt)  # numpy's wheels for Linux: scipy-openblas64's
        a, b = rng.standard_normal((5, 9)).astype(dt), rng.standard_normal((7, 11)).astype(dt)
        for g in ([gemm, None] if gemm is not None else [None]):
            c = np.zeros((5, 11), dt)
            mm(g, a[:, 2:9], b, c[:, :])
            np.testing.assert_allclose(c, a[:, 2:9] @ b, **_tol(dt))
            c2 = np.zeros((5, 20), dt)
            mm(g, a[:, :7], b, c2[:, 4:15])
            np.testing.assert_allclose(c2[:, 4:15], a[:, :7] @ b, **_tol(dt))
            assert not c2[:, :4].any() and not c2[:, 15:].any()
            for at in (a[:, :7], np.asfortranarray(a[:, :7])):  # rows or columns contiguous
                for bt in (b, np.asfortranarray(b)):
                    c3 = np.zeros((5, 11), dt)
                    mm(g, at, bt, c3)
                    np.testing.assert_allclose(c3, a[:, :7] @ b, **_tol(dt))
        # transposed views as the convolutions' weight gradients pass them
        for g in ([gemm, None] if gemm is not None else [None]):
            out = np.empty((5, 7), dt)
            mm(g, a[:, 2:9], b[:, :7], out)
            np.testing.assert_allclose(out, a[:, 2:9] @ b[:, :7], **_tol(dt))
            gt = rng.standard_normal((4, 7)).astype(dt)
            out = np.empty((5, 4), dt)
            mm(g, a[:, :7], gt.T, out)
            np.testing.assert_allclose(out, a[:, :7] @ gt.T, **_tol(dt))
        # wide products with few rows go to BLAS in column blocks (SMALL_MNK): every block, the
        # last a narrow one, lands in its place, with b as rows or as a transposed view
        for M, K, N in ((16, 128, 600), (3, 700, 1000), (16, 1024, 250)):
            x = rng.standard_normal((M, K)).astype(dt)
            y = rng.standard_normal((K, N)).astype(dt)
            for yy in (y, np.asfortranarray(y)):
                out = np.empty((M, N), dt)
                mm(gemm, x, yy, out)
                np.testing.assert_allclose(out, x @ y,
                                           rtol=1e-4 if dt == np.float32 else 1e-11,
                                           atol=1e-3 if dt == np.float32 else 1e-11)


def test_float32_tanh_and_sigmoid_of_the_loops():
    """The float32 tanh of the fused loops (a rational approximation, vectorizable) is within
    one ulp of the exact tanh everywhere, exact at 0, ±inf, and keeps NaN; float64 is libm's."""
    from tensorgrad.kernels._fastmath import sigmoid, tanh
    from tensorgrad.kernels._numba import njit

    @njit
    def apply(a, out_t, out_s):
        for i in range(a.size):
            out_t[i] = tanh(a[i])
            out_s[i] = sigmoid(a[i])

    x = np.concatenate([np.linspace(-20, 20, 400001), np.geomspace(1e-30, 1, 20001),
                        -np.geomspace(1e-30, 1, 20001)]).astype(np.float32)
    t, s = np.empty_like(x), np.empty_like(x)
    apply(x, t, s)
    exact_t, exact_s = np.tanh(x.astype(np.float64)), 1 / (1 + np.exp(-x.astype(np.float64)))
    ulp = np.spacing(np.abs(exact_t).astype(np.float32)).astype(np.float64)
    assert np.max(np.abs(t - exact_t) / ulp) <= 1.0
    assert np.max(np.abs(s - exact_s)) <= 1.2e-7  # σ = ½ tanh(x/2) + ½: absolute accuracy
    sp = np.array([0.0, -0.0, np.inf, -np.inf, np.nan], np.float32)
    t, s = np.empty_like(sp), np.empty_like(sp)
    apply(sp, t, s)
    np.testing.assert_array_equal(t[:4], [0.0, -0.0, 1.0, -1.0])
    assert np.signbit(t[1]) and np.isnan(t[4]) and np.isnan(s[4])
    np.testing.assert_array_equal(s[:4], [0.5, 0.5, 1.0, 0.0])
    d = np.linspace(-5, 5, 101)
    t64, s64 = np.empty_like(d), np.empty_like(d)
    apply(d, t64, s64)
    np.testing.assert_allclose(t64, np.tanh(d), rtol=1e-15, atol=0)


def test_gemm_into_accumulates_with_beta_one():
    """gemm_into(..., beta=1) adds to c (the convolutions' weight gradient over batch chunks),
    with numpy's BLAS and with the numba loop; beta=0 overwrites whatever c held."""
    from tensorgrad.kernels import _cblas
    from tensorgrad.kernels._numba import njit

    @njit
    def gi(gemm, a, b, c, beta):
        _cblas.gemm_into(gemm, a, b, c, beta, False)

    rng = np.random.default_rng(8)
    for dt in (np.float32, np.float64):
        gemm = _cblas.gemm_function(dt)
        a, b = rng.standard_normal((6, 40)).astype(dt), rng.standard_normal((5, 40)).astype(dt)
        for g in ([gemm, None] if gemm is not None else [None]):
            c0 = rng.standard_normal((6, 5)).astype(dt)
            c = c0.copy()
            gi(g, a, b.T, c, 1.0)
            np.testing.assert_allclose(c, c0 + a @ b.T, **_tol(dt))
            gi(g, a, b.T, c, 0.0)
            np.testing.assert_allclose(c, a @ b.T, **_tol(dt))


def test_take_hands_every_index_out_once_across_threads():
    """kernels._numba.take: two threads that take indices from one counter without the GIL get
    each index exactly once between them."""
    import threading

    from tensorgrad.kernels._numba import njit, take

    @njit(nogil=True)
    def grab(counter, n, hits):
        while True:
            i = take(counter)
            if i >= n:
                return
            hits[i] += 1

    counter, hits = np.zeros(1, np.int64), np.zeros(200_000, np.int64)
    grab(np.zeros(1, np.int64), 1, np.zeros(1, np.int64))  # compile first
    threads = [threading.Thread(target=grab, args=(counter, hits.size, hits)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (hits == 1).all()
    assert counter[0] == hits.size + 2  # each thread's last take saw the end
