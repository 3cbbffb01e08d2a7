"""The layer ops (input projection inside: ops.recurrent.lstm_layer / gru_layer / rnn_layer) over
several blocks of time steps, on the calling thread alone or with the worker thread (GRU, RNN:
the GEMMs beside the time loop; LSTM: the batch split between the two threads, forced here even
for these small sizes, an odd batch in unequal parts): the same numbers as PyTorch, and as the
xg-level ops after a linear."""
import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import nn
from tensorgrad.kernels import rnn as K
from tensorgrad.ops import _conv_impl as CI
from tensorgrad.ops import _rnn_impl as RI
from tensorgrad.ops import recurrent as R

T = 2 * K.BLOCK + 3  # three blocks, the last one short


@pytest.fixture(params=[1, 2], ids=["one-thread", "worker"])
def threads(request, monkeypatch):
    monkeypatch.setattr(CI, "_THREADS", [request.param])
    monkeypatch.setattr(RI, "MIN_SPLIT_MACS", 0)  # split the LSTM's batch whatever its size
    return request.param


CASES = [("LSTM", {}), ("LSTM", {"bias": False}), ("GRU", {}), ("GRU", {"reset_after": False}),
         ("RNN", {"nonlinearity": "relu"})]


@pytest.mark.parametrize("kind,kw", CASES)
def test_layers_over_blocks_match_torch(threads, kind, kw):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    I, H, B = 5, 4, 3
    tkw = {k: v for k, v in kw.items() if k != "reset_after"}
    th = getattr(torch.nn, kind)(I, H, num_layers=2, bidirectional=True, **tkw).double()
    m = getattr(nn, kind)(I, H, num_layers=2, bidirectional=True, dtype=np.float64, **kw)
    m.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in th.state_dict().items()})
    x_np = rng.standard_normal((T, B, I))
    w_np = rng.standard_normal((T, B, 2 * H))
    x, xt = tg.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    out, _ = m(x)
    if kw.get("reset_after") is False:  # not PyTorch's GRU: compare with the reference ops
        ref = _reference_stack(m, x_np)
        np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-10, atol=1e-12)
        return
    out_t, _ = th(xt)
    np.testing.assert_allclose(out.detach().numpy(), out_t.detach().numpy(), rtol=1e-9,
                               atol=1e-12)
    (out * tg.tensor(w_np)).sum().backward()
    (out_t * torch.tensor(w_np)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    tp = dict(th.named_parameters())
    for n, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[n].grad.numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=n)


def _reference_stack(m, x_np):
    """The module's forward written with linear + the reference recurrences."""
    x = tg.tensor(x_np)
    for layer in range(m.num_layers):
        outs = []
        for d in range(2):
            w_ih, w_hh, b_ih, b_hh, _ = m._params(layer, d)
            xg = tg.nn.functional.linear(x.reshape(T * x.shape[1], -1), w_ih, b_ih)
            o, _ = R.gru_reference(xg.reshape(T, x.shape[1], -1), tg.zeros(x.shape[1], m.hidden_size,
                                   dtype=np.float64), w_hh, b_hh, m.reset_after, reverse=d == 1)
            outs.append(o)
        x = tg.cat(outs, 2)
    return x.detach().numpy()


@pytest.mark.parametrize("op", ["lstm", "gru", "gru_before", "rnn"])
@pytest.mark.parametrize("reverse", [False, True])
def test_layer_op_equals_linear_then_xg_op(threads, op, reverse):
    """Fast path (blocks, worker) and create_graph path (the reference composition) of the
    layer ops give the xg-level ops' gradients after a linear."""
    rng = np.random.default_rng(11)
    B, I, H = 2, 3, 4
    G = {"lstm": 4, "gru": 3, "gru_before": 3, "rnn": 1}[op]

    def P(*s):
        return tg.tensor(rng.standard_normal(s) * 0.5, requires_grad=True)
    x, h0, w_ih, w_hh, b_ih, b_hh = P(T, B, I), P(B, H), P(G * H, I), P(G * H, H), P(G * H), P(G * H)
    c0 = P(B, H)
    if op == "lstm":
        layer = lambda: R.lstm_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse=reverse)  # noqa
        ins = [x, h0, c0, w_ih, w_hh, b_ih, b_hh]
        xg_op = lambda xg: R.lstm(xg, h0, c0, w_hh, b_hh, reverse=reverse)  # noqa: E731
    elif op.startswith("gru"):
        ra = op == "gru"
        layer = lambda: R.gru_layer(x, h0, w_ih, w_hh, b_ih, b_hh, ra, reverse=reverse)  # noqa
        ins = [x, h0, w_ih, w_hh, b_ih, b_hh]
        xg_op = lambda xg: R.gru(xg, h0, w_hh, b_hh, ra, reverse=reverse)  # noqa: E731
    else:
        layer = lambda: R.rnn_layer(x, h0, w_ih, w_hh, b_ih, b_hh, reverse=reverse)  # noqa
        ins = [x, h0, w_ih, w_hh, b_ih, b_hh]
        xg_op = lambda xg: R.rnn(xg, h0, w_hh, b_hh, reverse=reverse)  # noqa: E731
    outs = layer()
    gos = [tg.tensor(rng.standard_normal(o.shape)) for o in outs]
    fast = tg.grad(list(outs), ins, gos, retain_graph=True)
    slow = tg.grad(list(outs), ins, gos, create_graph=True)
    xg = tg.nn.functional.linear(x.reshape(T * B, I), w_ih, b_ih).reshape(T, B, G * H)
    outs2 = xg_op(xg)
    for a, b in zip(outs, outs2):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)
    ref = tg.grad(list(outs2), ins, gos)
    for a, b, c in zip(fast, slow, ref):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(a.detach().numpy(), c.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_layer_op_float32_and_bad_input():
    rng = np.random.default_rng(2)
    x = tg.tensor(rng.standard_normal((T, 2, 3)).astype(np.float32))
    w_ih = tg.tensor(rng.standard_normal((8, 3)).astype(np.float32))
    w_hh = tg.tensor(rng.standard_normal((8, 2)).astype(np.float32))
    h0 = tg.zeros(2, 2)
    out, hn = R.rnn_layer(x, h0, w_ih[:2], w_hh[:2])
    assert out.dtype == np.float32 and out.shape == (T, 2, 2)
    with pytest.raises(ValueError, match=r"lstm_layer: weight_ih must have shape \(4\*hidden, 3\)"):
        R.lstm_layer(x, h0, h0, w_ih[:, :2], w_hh)
    with pytest.raises(ValueError, match=r"gru_layer: give both biases"):
        R.gru_layer(x, h0, w_ih[:6], w_hh[:6], b_ih=tg.zeros(6))
    with pytest.raises(ValueError, match=r"lstm_layer: expected an input of shape \(T, B, input_size\)"):
        R.lstm_layer(x[0], h0, h0, w_ih, w_hh)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_bidirectional_layer_runs_its_directions_side_by_side(monkeypatch, kind):
    """With two threads, a bidirectional layer's two directions run at once, one on the calling
    thread and one on the worker, each alone (kernels/_blas.solo: no hand-off to the worker,
    one BLAS thread), forward and backward; the values are those of the one-thread run."""
    import threading

    from tensorgrad.kernels import _blas
    rng = np.random.default_rng(5)
    x_np = rng.standard_normal((T, 3, 5))

    def run():
        tg.manual_seed(0)
        m = getattr(nn, kind)(5, 4, bidirectional=True, dtype=np.float64)
        x = tg.tensor(x_np, requires_grad=True)
        out, _ = m(x)
        out.sum().backward()
        return [out.detach().numpy(), x.grad.numpy()] + [p.grad.numpy() for p in m.parameters()]

    monkeypatch.setattr(CI, "_THREADS", [1])
    ref = run()
    seen = []
    for name in ("forward", "backward"):
        def spy(spec, *args, _orig=getattr(RI, name), _name=name):
            seen.append((_name, spec.reverse, threading.current_thread().name.startswith(
                "tg-worker"), CI.background() is None, _blas.is_solo()))
            return _orig(spec, *args)
        monkeypatch.setattr(RI, name, spy)
    monkeypatch.setattr(CI, "_THREADS", [2])
    monkeypatch.setattr(RI, "MIN_SPLIT_MACS", 0)
    got = run()
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    for phase in ("forward", "backward"):
        calls = [s for s in seen if s[0] == phase]
        assert sorted((s[1], s[2]) for s in calls) == [(False, False), (True, True)]
        assert all(s[3] and s[4] for s in calls)  # inside: no worker to hand to, solo
    assert CI.background() is not None and not _blas.is_solo()  # and back to normal after
