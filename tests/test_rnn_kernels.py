"""Fused recurrent kernels (kernels/rnn.py) against plain references.

Forward: a straightforward numpy cell loop (standard sigmoid, no tricks).  Backward: the same
recurrence written with torch ops in float64 and differentiated by torch autograd (torch is a
test oracle only).  Both float32 and float64, every variant (GRU reset_after both ways, LSTM
with and without peepholes, RNN tanh/relu, with and without bias, with and without output
gradient).
"""
import numpy as np
import pytest
from _torch import torch

from tensorgrad.kernels import rnn as K


def sig(x):
    return 1.0 / (1.0 + np.exp(-x))


# ---- plain numpy references (forward) ---------------------------------------------------------
def ref_lstm(xg, h0, c0, w, b, peep):
    T = xg.shape[0]
    H = h0.shape[1]
    h, c = h0, c0
    outs = []
    for t in range(T):
        g = xg[t] + h @ w.T + (0 if b is None else b)
        if peep is not None:
            g = g.copy()
            g[:, :H] += peep[0] * c
            g[:, H:2 * H] += peep[1] * c
            g[:, 3 * H:] += peep[2] * c
        i, f, gg, o = sig(g[:, :H]), sig(g[:, H:2 * H]), np.tanh(g[:, 2 * H:3 * H]), sig(g[:, 3 * H:])
        c = f * c + i * gg
        h = o * np.tanh(c)
        outs.append(h)
    return np.stack(outs), h, c


def ref_gru(xg, h0, w, b, reset_after):
    T = xg.shape[0]
    H = h0.shape[1]
    bb = np.zeros(3 * H) if b is None else b
    h = h0
    outs = []
    for t in range(T):
        x = xg[t]
        r = sig(x[:, :H] + h @ w[:H].T + bb[:H])
        z = sig(x[:, H:2 * H] + h @ w[H:2 * H].T + bb[H:2 * H])
        if reset_after:
            n = np.tanh(x[:, 2 * H:] + r * (h @ w[2 * H:].T + bb[2 * H:]))
        else:
            n = np.tanh(x[:, 2 * H:] + (r * h) @ w[2 * H:].T + bb[2 * H:])
        h = (1 - z) * n + z * h
        outs.append(h)
    return np.stack(outs), h


def ref_rnn(xg, h0, w, b, nl):
    h = h0
    outs = []
    for t in range(xg.shape[0]):
        a = xg[t] + h @ w.T + (0 if b is None else b)
        h = np.maximum(a, 0) if nl == "relu" else np.tanh(a)
        outs.append(h)
    return np.stack(outs), h


# ---- the same recurrences in torch (for gradients) --------------------------------------------
def torch_lstm(xg, h0, c0, w, b, peep):
    H = h0.shape[1]
    h, c = h0, c0
    outs = []
    for t in range(xg.shape[0]):
        g = xg[t] + h @ w.T + (0 if b is None else b)
        if peep is not None:
            g = torch.cat([g[:, :H] + peep[0] * c, g[:, H:2 * H] + peep[1] * c,
                           g[:, 2 * H:3 * H], g[:, 3 * H:] + peep[2] * c], 1)
        i, f = torch.sigmoid(g[:, :H]), torch.sigmoid(g[:, H:2 * H])
        gg, o = torch.tanh(g[:, 2 * H:3 * H]), torch.sigmoid(g[:, 3 * H:])
        c = f * c + i * gg
        h = o * torch.tanh(c)
        outs.append(h)
    return torch.stack(outs), h, c


def torch_gru(xg, h0, w, b, reset_after):
    H = h0.shape[1]
    bb = torch.zeros(3 * H, dtype=xg.dtype) if b is None else b
    h = h0
    outs = []
    for t in range(xg.shape[0]):
        x = xg[t]
        r = torch.sigmoid(x[:, :H] + h @ w[:H].T + bb[:H])
        z = torch.sigmoid(x[:, H:2 * H] + h @ w[H:2 * H].T + bb[H:2 * H])
        if reset_after:
            n = torch.tanh(x[:, 2 * H:] + r * (h @ w[2 * H:].T + bb[2 * H:]))
        else:
            n = torch.tanh(x[:, 2 * H:] + (r * h) @ w[2 * H:].T + bb[2 * H:])
        h = (1 - z) * n + z * h
        outs.append(h)
    return torch.stack(outs), h


def torch_rnn(xg, h0, w, b, nl):
    h = h0
    outs = []
    for t in range(xg.shape[0]):
        a = xg[t] + h @ w.T + (0 if b is None else b)
        h = torch.relu(a) if nl == "relu" else torch.tanh(a)
        outs.append(h)
    return torch.stack(outs), h


def _arrays(rng, dtype, *shapes, scale=0.5):
    return [(rng.standard_normal(s) * scale).astype(dtype) for s in shapes]


def _tol(dtype):
    return dict(rtol=1e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)


def _leaf(a):
    return None if a is None else torch.tensor(np.asarray(a, np.float64), requires_grad=True)


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
    out_r, hn_r, cn_r = ref_lstm(*[None if a is None else a.astype(np.float64)
                                   for a in (xg, h0, c0, w, b, p)])
    np.testing.assert_allclose(hs[1:], out_r, **_tol(dtype))
    np.testing.assert_allclose(cs[-1], cn_r, **_tol(dtype))
    assert hs.dtype == dtype and acts.dtype == dtype

    dout, dhn, dcn = _arrays(rng, dtype, (T, B, H), (B, H), (B, H))
    dout = dout if with_dout else None
    dxg, dh0, dc0, dw, db, dp = K.lstm_backward(dout, dhn, dcn, hs, cs, acts, tcs, w, p)
    L = [_leaf(a) for a in (xg, h0, c0, w, b, p)]
    o, hn, cn = torch_lstm(*L)
    loss = (hn * torch.tensor(dhn, dtype=torch.float64)).sum() + \
        (cn * torch.tensor(dcn, dtype=torch.float64)).sum()
    if with_dout:
        loss = loss + (o * torch.tensor(dout, dtype=torch.float64)).sum()
    loss.backward()
    tol = _tol(dtype)
    np.testing.assert_allclose(dxg, L[0].grad.numpy(), **tol)
    np.testing.assert_allclose(dh0, L[1].grad.numpy(), **tol)
    np.testing.assert_allclose(dc0, L[2].grad.numpy(), **tol)
    np.testing.assert_allclose(dw, L[3].grad.numpy(), **tol)
    if bias:
        np.testing.assert_allclose(db, L[4].grad.numpy(), **tol)
    if peephole:
        np.testing.assert_allclose(dp, L[5].grad.numpy(), **tol)
    else:
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
    out_r, hn_r = ref_gru(*[None if a is None else a.astype(np.float64) for a in (xg, h0, w, b)],
                          reset_after)
    np.testing.assert_allclose(hs[1:], out_r, **_tol(dtype))
    np.testing.assert_allclose(hs[-1], hn_r, **_tol(dtype))

    dout, dhn = _arrays(rng, dtype, (T, B, H), (B, H))
    dout = dout if with_dout else None
    dxg, dh0, dw, db = K.gru_backward(dout, dhn, hs, acts, aux, w, reset_after)
    L = [_leaf(a) for a in (xg, h0, w, b)]
    o, hn = torch_gru(*L, reset_after)
    loss = (hn * torch.tensor(dhn, dtype=torch.float64)).sum()
    if with_dout:
        loss = loss + (o * torch.tensor(dout, dtype=torch.float64)).sum()
    loss.backward()
    tol = _tol(dtype)
    np.testing.assert_allclose(dxg, L[0].grad.numpy(), **tol)
    np.testing.assert_allclose(dh0, L[1].grad.numpy(), **tol)
    np.testing.assert_allclose(dw, L[2].grad.numpy(), **tol)
    if bias:
        np.testing.assert_allclose(db, L[3].grad.numpy(), **tol)


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
    out_r, hn_r = ref_rnn(*[None if a is None else a.astype(np.float64) for a in (xg, h0, w, b)], nl)
    np.testing.assert_allclose(hs[1:], out_r, **_tol(dtype))
    dout, dhn = _arrays(rng, dtype, (T, B, H), (B, H))
    dxg, dh0, dw, db = K.rnn_backward(dout, dhn, hs, w, nl)
    L = [_leaf(a) for a in (xg, h0, w, b)]
    o, hn = torch_rnn(*L, nl)
    ((o * torch.tensor(dout, dtype=torch.float64)).sum()
     + (hn * torch.tensor(dhn, dtype=torch.float64)).sum()).backward()
    tol = _tol(dtype)
    np.testing.assert_allclose(dxg, L[0].grad.numpy(), **tol)
    np.testing.assert_allclose(dh0, L[1].grad.numpy(), **tol)
    np.testing.assert_allclose(dw, L[2].grad.numpy(), **tol)
    if bias:
        np.testing.assert_allclose(db, L[3].grad.numpy(), **tol)


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


def test_blas_thread_contexts_restore_the_thread_count():
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
    assert blas_threads_now() == before


def test_blas_contexts_interleaved_across_threads_restore_the_count():
    """Contexts opened and closed in an interleaved order from two threads (a layer's worker
    thread beside the caller) leave numpy's BLAS count as they found it."""
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
        assert now() == [2] * len(before)   # the other thread's context still holds
        leave.set()
        t.join(5)
        assert now() == before
