"""RNN / GRU / LSTM layers and cells against PyTorch (float64, copied weights), gradchecks,
the notes' variants, higher-order gradients, long sequences and bad input."""
import itertools

import numpy as np
import pytest
from _torch import torch

import tensorgrad as tg
from tensorgrad import nn
from tensorgrad.ops import recurrent as R

RTOL = 1e-6
ATOL = 1e-9


def close(a, b, rtol=RTOL, atol=ATOL):
    a = a.detach().numpy() if isinstance(a, tg.Tensor) else a
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else b
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def copy_params(tg_mod, th_mod):
    """Copy torch's parameters into the tensorgrad module by name (same names by contract)."""
    names = dict(tg_mod.named_parameters())
    th_names = dict(th_mod.named_parameters())
    assert set(names) == set(th_names), (sorted(names), sorted(th_names))
    for n, p in th_names.items():
        assert names[n].shape == tuple(p.shape), n
        names[n].data = p.detach().numpy().astype(np.float64).copy()


def make_pair(kind, I, H, **kw):
    th_cls = {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU, "RNN": torch.nn.RNN}[kind]
    tg_cls = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN": nn.RNN}[kind]
    th = th_cls(I, H, **kw).double()
    m = tg_cls(I, H, **kw, dtype=np.float64)
    copy_params(m, th)
    return m, th


LAYER_CASES = [
    (kind, L, bi, bf, hx, extra)
    for kind, extra in (("LSTM", {}), ("GRU", {}), ("RNN", {"nonlinearity": "tanh"}),
                        ("RNN", {"nonlinearity": "relu"}))
    for L, bi, bf, hx in itertools.product((1, 2), (False, True), (False, True), (False, True))
    if not (kind == "RNN" and (bf and hx))  # keep the table short: RNN drops one axis
]


@pytest.mark.parametrize("kind,L,bi,bf,hx,extra", LAYER_CASES)
def test_layer_matches_torch(kind, L, bi, bf, hx, extra):
    rng = np.random.default_rng(hash((kind, L, bi, bf, hx)) % 2**32)
    T, B, I, H = 5, 3, 4, 6
    m, th = make_pair(kind, I, H, num_layers=L, bidirectional=bi, batch_first=bf, **extra)
    D = 2 if bi else 1
    xs = (B, T, I) if bf else (T, B, I)
    x_np = rng.standard_normal(xs)
    x = tg.tensor(x_np, requires_grad=True)
    xt = torch.tensor(x_np, requires_grad=True)
    args, targs = [x], [xt]
    states = []
    if hx:
        h0 = rng.standard_normal((L * D, B, H))
        if kind == "LSTM":
            c0 = rng.standard_normal((L * D, B, H))
            s_tg = (tg.tensor(h0, requires_grad=True), tg.tensor(c0, requires_grad=True))
            s_th = (torch.tensor(h0, requires_grad=True), torch.tensor(c0, requires_grad=True))
            states = list(zip(s_tg, s_th))
        else:
            s_tg = tg.tensor(h0, requires_grad=True)
            s_th = torch.tensor(h0, requires_grad=True)
            states = [(s_tg, s_th)]
        args.append(s_tg)
        targs.append(s_th)
    out, st = m(*args)
    out_t, st_t = th(*targs)
    close(out, out_t)
    if kind == "LSTM":
        close(st[0], st_t[0])
        close(st[1], st_t[1])
        finals, finals_t = [st[0], st[1]], [st_t[0], st_t[1]]
    else:
        close(st, st_t)
        finals, finals_t = [st], [st_t]
    # a loss that uses every output, with random weights
    loss = (out * tg.tensor(w := rng.standard_normal(out.shape))).sum()
    loss_t = (out_t * torch.tensor(w)).sum()
    for f, ft in zip(finals, finals_t):
        wf = rng.standard_normal(f.shape)
        loss = loss + (f * tg.tensor(wf)).sum()
        loss_t = loss_t + (ft * torch.tensor(wf)).sum()
    loss.backward()
    loss_t.backward()
    close(x.grad, xt.grad)
    for s, st_ in states:
        close(s.grad, st_.grad)
    tp = dict(th.named_parameters())
    for n, p in m.named_parameters():
        close(p.grad, tp[n].grad, atol=1e-8)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_layer_no_bias_and_unbatched(kind):
    rng = np.random.default_rng(5)
    T, I, H = 4, 3, 5
    m, th = make_pair(kind, I, H, bias=False, num_layers=2, bidirectional=True)
    assert all("bias" not in n for n, _ in m.named_parameters())
    x_np = rng.standard_normal((T, I))  # unbatched (L, H_in), as PyTorch accepts
    x = tg.tensor(x_np, requires_grad=True)
    xt = torch.tensor(x_np, requires_grad=True)
    out, st = m(x)
    out_t, st_t = th(xt)
    close(out, out_t)
    assert out.shape == tuple(out_t.shape) == (T, 2 * H)
    hn, hn_t = (st[0], st_t[0]) if kind == "LSTM" else (st, st_t)
    assert hn.shape == tuple(hn_t.shape) == (4, H)
    close(hn, hn_t)
    out.sum().backward()
    out_t.sum().backward()
    close(x.grad, xt.grad)


@pytest.mark.parametrize("kind", ["LSTMCell", "GRUCell", "RNNCell", "RNNCell-relu"])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("batched", [True, False])
def test_cell_matches_torch(kind, with_state, batched):
    rng = np.random.default_rng(7)
    B, I, H = 3, 4, 5
    base = kind.split("-")[0]
    kw = {"nonlinearity": "relu"} if kind.endswith("relu") else {}
    th = getattr(torch.nn, base)(I, H, **kw).double()
    m = getattr(nn, base)(I, H, **kw, dtype=np.float64)
    copy_params(m, th)
    xs = (B, I) if batched else (I,)
    hs = (B, H) if batched else (H,)
    x_np = rng.standard_normal(xs)
    x, xt = tg.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    leaves = [(x, xt)]
    if with_state:
        h_np, c_np = rng.standard_normal(hs), rng.standard_normal(hs)
        h, ht = tg.tensor(h_np, requires_grad=True), torch.tensor(h_np, requires_grad=True)
        leaves.append((h, ht))
        if base == "LSTMCell":
            c, ct = tg.tensor(c_np, requires_grad=True), torch.tensor(c_np, requires_grad=True)
            leaves.append((c, ct))
            out, out_t = m(x, (h, c)), th(xt, (ht, ct))
        else:
            out, out_t = m(x, h), th(xt, ht)
    else:
        out, out_t = m(x), th(xt)
    outs = out if isinstance(out, tuple) else (out,)
    outs_t = out_t if isinstance(out_t, tuple) else (out_t,)
    loss, loss_t = 0, 0
    for o, ot in zip(outs, outs_t):
        close(o, ot)
        w = rng.standard_normal(o.shape)
        loss = loss + (o * tg.tensor(w)).sum()
        loss_t = loss_t + (ot * torch.tensor(w)).sum()
    loss.backward()
    loss_t.backward()
    for a, at in leaves:
        close(a.grad, at.grad)
    tp = dict(th.named_parameters())
    for n, p in m.named_parameters():
        close(p.grad, tp[n].grad)


def test_state_dict_keys_and_torch_weights_load():
    th = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    m = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    assert list(m.state_dict().keys()) == list(th.state_dict().keys())
    m.load_state_dict({k: tg.tensor(v.numpy()) for k, v in th.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32)
    out, (h, c) = m(tg.tensor(x))
    out_t, (h_t, c_t) = th(torch.tensor(x))
    assert out.dtype == np.float32
    close(out, out_t, rtol=1e-4, atol=1e-5)
    close(c, c_t, rtol=1e-4, atol=1e-5)


def test_default_init_range_follows_manual_seed():
    tg.manual_seed(0)
    a = nn.GRU(3, 16, num_layers=2)
    tg.manual_seed(0)
    b = nn.GRU(3, 16, num_layers=2)
    k = 1 / np.sqrt(16)
    for (n, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        assert p.dtype == np.float32
        assert np.abs(p.detach().numpy()).max() <= k
        assert p.detach().numpy().std() > 0.3 * k
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


# ---- gradchecks (small, float64), the notes' variants included ----------------------------------
def _params64(m):
    for p in m.parameters():
        p.data = p.detach().numpy().astype(np.float64)
    return list(m.parameters())


@pytest.mark.parametrize("kind,kw", [
    ("LSTM", {}), ("LSTM", {"peephole": True}), ("LSTM", {"peephole": True, "bidirectional": True}),
    ("GRU", {}), ("GRU", {"reset_after": False}), ("GRU", {"reset_after": False, "num_layers": 2}),
    ("RNN", {"nonlinearity": "relu", "bidirectional": True}),
])
def test_layer_gradcheck(kind, kw):
    tg.manual_seed(1)
    m = getattr(nn, kind)(3, 2, **kw)
    params = _params64(m)
    rng = np.random.default_rng(2)
    x = tg.tensor(rng.standard_normal((4, 2, 3)), requires_grad=True)

    def f(x, *ps):
        out, st = m(x)
        hn = st[0] if kind == "LSTM" else st
        return out.sum() * 0.5 + (hn * hn).sum()
    assert tg.gradcheck(f, (x, *params))


@pytest.mark.parametrize("cell,kw", [("LSTMCell", {"peephole": True}), ("GRUCell", {"reset_after": False}),
                                     ("RNNCell", {})])
def test_cell_variants_gradcheck(cell, kw):
    tg.manual_seed(2)
    m = getattr(nn, cell)(3, 4, **kw)
    params = _params64(m)
    rng = np.random.default_rng(3)
    x = tg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    h = tg.tensor(rng.standard_normal((2, 4)), requires_grad=True)

    def f(x, h, *ps):
        st = (h, h * 0.5) if cell == "LSTMCell" else h
        out = m(x, st)
        return out[0] * out[1] if cell == "LSTMCell" else out
    assert tg.gradcheck(f, (x, h, *params))
    assert tg.gradgradcheck(f, (x, h, *params))


def test_variants_differ_from_default_and_match_their_reference():
    """reset_after=False and peepholes are really different models, and equal the notes'
    equations written out with tensorgrad ops."""
    rng = np.random.default_rng(4)
    T, B, H = 5, 2, 3
    xg = tg.tensor(rng.standard_normal((T, B, 3 * H)))
    h0 = tg.tensor(rng.standard_normal((B, H)))
    w = tg.tensor(rng.standard_normal((3 * H, H)))
    b = tg.tensor(rng.standard_normal(3 * H))
    a = R.gru(xg, h0, w, b, reset_after=True)[0]
    c = R.gru(xg, h0, w, b, reset_after=False)[0]
    assert np.abs(a.detach().numpy() - c.detach().numpy()).max() > 1e-3
    # notes' GRU by hand: n = tanh(x_n + (r*h) W_n^T + b_n)
    h = h0.detach().numpy()
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    for t in range(T):
        x = xg.detach().numpy()[t]
        r = sig(x[:, :H] + h @ w.detach().numpy()[:H].T + b.detach().numpy()[:H])
        z = sig(x[:, H:2 * H] + h @ w.detach().numpy()[H:2 * H].T + b.detach().numpy()[H:2 * H])
        n = np.tanh(x[:, 2 * H:] + (r * h) @ w.detach().numpy()[2 * H:].T + b.detach().numpy()[2 * H:])
        h = (1 - z) * n + z * h
        np.testing.assert_allclose(c.detach().numpy()[t], h, rtol=1e-12, atol=1e-12)
    xg4 = tg.tensor(rng.standard_normal((T, B, 4 * H)))
    w4 = tg.tensor(rng.standard_normal((4 * H, H)))
    p = tg.tensor(rng.standard_normal((3, H)))
    o1 = R.lstm(xg4, h0, h0, w4)[0]
    o2 = R.lstm(xg4, h0, h0, w4, peephole=p)[0]
    o3 = R.lstm_reference(xg4, h0, h0, w4, peephole=p)[0]
    assert np.abs(o1.detach().numpy() - o2.detach().numpy()).max() > 1e-3
    close(o2, o3.detach().numpy(), rtol=1e-12, atol=1e-12)


# ---- higher order ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_double_backward_matches_torch(kind):
    """Gradient penalty ‖∂L/∂x‖² differentiated w.r.t. the weights, against torch."""
    rng = np.random.default_rng(6)
    m, th = make_pair(kind, 3, 4, num_layers=1, bidirectional=True)
    x_np = rng.standard_normal((4, 2, 3))
    x = tg.tensor(x_np, requires_grad=True)
    xt = torch.tensor(x_np, requires_grad=True)
    out, _ = m(x)
    out_t, _ = th(xt)
    (gx,) = tg.grad((out * out).sum(), [x], create_graph=True)
    (gxt,) = torch.autograd.grad((out_t * out_t).sum(), [xt], create_graph=True)
    close(gx, gxt)
    (gx * gx).sum().backward()
    (gxt * gxt).sum().backward()
    tp = dict(th.named_parameters())
    for n, p in m.named_parameters():
        close(p.grad, tp[n].grad, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("op", ["lstm", "gru", "gru_before", "rnn"])
def test_ops_gradgradcheck(op):
    rng = np.random.default_rng(8)
    T, B, H = 3, 2, 2

    def P(*s):
        return tg.tensor(rng.standard_normal(s) * 0.5, requires_grad=True)
    if op == "lstm":
        ins = (P(T, B, 4 * H), P(B, H), P(B, H), P(4 * H, H), P(4 * H), P(3, H))
        f = lambda *a: R.lstm(*a, reverse=True)  # noqa: E731
    elif op.startswith("gru"):
        ins = (P(T, B, 3 * H), P(B, H), P(3 * H, H), P(3 * H))
        f = lambda *a: R.gru(*a, reset_after=op == "gru")  # noqa: E731
    else:
        ins = (P(T, B, H), P(B, H), P(H, H), P(H))
        f = lambda *a: R.rnn(*a)  # noqa: E731
    assert tg.gradcheck(f, ins)
    assert tg.gradgradcheck(f, ins)


# ---- long sequences ------------------------------------------------------------------------------
def test_long_sequence_bptt():
    """T = 5000: forward and BPTT without recursion or memory trouble; gradient reaches x_0."""
    tg.manual_seed(3)
    m = nn.LSTM(2, 8)
    x = tg.randn(5000, 1, 2, requires_grad=True)
    out, (h, c) = m(x)
    (out.sum() + c.sum()).backward()
    assert x.grad.shape == (5000, 1, 2)
    assert np.all(np.isfinite(x.grad.detach().numpy()))
    assert np.abs(x.grad.detach().numpy()[-1]).sum() > 0
    g = nn.GRU(2, 8)
    out, h = g(x)
    h.sum().backward()
    assert np.all(np.isfinite(g.weight_hh_l0.grad.detach().numpy()))


# ---- dtypes --------------------------------------------------------------------------------------
def test_float32_stays_float32_and_matches_float64():
    tg.manual_seed(4)
    m = nn.GRU(3, 5, num_layers=2)
    x = tg.randn(6, 2, 3)
    out32, h32 = m(x)
    assert out32.dtype == np.float32 and h32.dtype == np.float32
    out64, _ = m(x.double())  # float64 input promotes
    assert out64.dtype == np.float64
    np.testing.assert_allclose(out32.detach().numpy(), out64.detach().numpy(), rtol=1e-4, atol=1e-5)


# ---- bad input -----------------------------------------------------------------------------------
def test_bad_input_errors():
    m = nn.LSTM(4, 3, num_layers=2)
    with pytest.raises(ValueError, match=r"LSTM: input has 5 features.*input_size=4"):
        m(tg.randn(6, 2, 5))
    with pytest.raises(ValueError, match=r"LSTM: expected input of 3 dimensions.*got 1"):
        m(tg.randn(4))
    with pytest.raises(ValueError, match=r"LSTM: expected input of 3 dimensions.*got 4"):
        m(tg.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"LSTM: expected h_0 of shape \(2, 2, 3\).*got \(1, 2, 3\)"):
        m(tg.randn(6, 2, 4), (tg.zeros(1, 2, 3), tg.zeros(2, 2, 3)))
    with pytest.raises(ValueError, match=r"LSTM: expected c_0 of shape \(2, 2, 3\).*got \(2, 2, 4\)"):
        m(tg.randn(6, 2, 4), (tg.zeros(2, 2, 3), tg.zeros(2, 2, 4)))
    with pytest.raises(TypeError, match=r"LSTM: expected hx to be a tuple"):
        m(tg.randn(6, 2, 4), tg.zeros(2, 2, 3))
    g = nn.GRU(4, 3, batch_first=True)
    with pytest.raises(ValueError, match=r"GRU: expected hx of shape \(1, 2, 3\).*got \(1, 6, 3\)"):
        g(tg.randn(2, 6, 4), tg.zeros(1, 6, 3))
    with pytest.raises(ValueError, match=r"RNN: unknown nonlinearity 'sigmoid'"):
        nn.RNN(3, 3, nonlinearity="sigmoid")
    c = nn.GRUCell(4, 3)
    with pytest.raises(ValueError, match=r"GRUCell: input has 2 features, expected input_size=4"):
        c(tg.randn(5, 2))
    with pytest.raises(ValueError, match=r"GRUCell: expected hx of shape \(5, 3\), got \(5, 4\)"):
        c(tg.randn(5, 4), tg.zeros(5, 4))
    with pytest.raises(ValueError, match=r"LSTMCell: expected input of 2 dimensions.*got 3"):
        nn.LSTMCell(4, 3)(tg.randn(1, 5, 4))
    with pytest.raises(ValueError, match=r"lstm: expected h0 of shape \(2, 3\)"):
        R.lstm(tg.randn(4, 2, 12), tg.zeros(3, 3), tg.zeros(2, 3), tg.randn(12, 3))
    with pytest.raises(ValueError, match=r"gru: weight_hh must have shape \(3\*hidden, hidden\)"):
        R.gru(tg.randn(4, 2, 9), tg.zeros(2, 3), tg.randn(8, 3))
    with pytest.raises(ValueError, match=r"rnn: input projection has 5 features per step"):
        R.rnn(tg.randn(4, 2, 5), tg.zeros(2, 3), tg.randn(3, 3))


@pytest.mark.parametrize("cell", ["LSTMCell", "GRUCell", "RNNCell"])
def test_cell_without_bias_matches_torch(cell):
    th = getattr(torch.nn, cell)(3, 4, bias=False).double()
    m = getattr(nn, cell)(3, 4, bias=False, device="cpu", dtype=np.float64)
    copy_params(m, th)
    assert list(m.state_dict()) == list(th.state_dict())
    x = np.random.default_rng(0).standard_normal((2, 3))
    out, out_t = m(tg.tensor(x)), th(torch.tensor(x))
    out, out_t = (out[0], out_t[0]) if cell == "LSTMCell" else (out, out_t)
    close(out, out_t)
    with pytest.raises(RuntimeError, match=f"{cell}: tensorgrad runs on the CPU only"):
        getattr(nn, cell)(3, 4, device="cuda")


def test_repr():
    assert "bidirectional=True" in repr(nn.LSTM(3, 4, bidirectional=True))
    assert "reset_after=False" in repr(nn.GRU(3, 4, reset_after=False))


# ---- long memory: the vanishing-gradient story in numbers --------------------------------------
def test_first_symbol_recall_over_50_steps_gated_cells_learn_plain_rnn_does_not():
    """Many-to-one: the label is the first symbol ({0, 1}) of a 50-step sequence whose other
    49 steps are noise ({2, 3}).  With their gates biased towards keeping the memory (LSTM
    forget gate / GRU update gate bias +3), GRU and LSTM learn it in ~100 Adam steps; the
    plain tanh RNN, whose gradient from step 50 back to step 1 has vanished, stays at chance."""
    from tensorgrad import text as T

    def batch(rng):
        x = rng.integers(2, 4, (32, 50))
        x[:, 0] = rng.integers(0, 2, 32)
        return x, x[:, 0].copy()
    acc = {}
    for cell in ("rnn", "gru", "lstm"):
        tg.manual_seed(0)
        rng = np.random.default_rng(0)
        m = T.SequenceClassifier(8, 16, 2, cell=cell, vocab_size=4)
        if cell != "rnn":  # gate rows [H:2H]: LSTM forget gate f, GRU update gate z
            m.rnn.bias_hh_l0.data[16:32] += 3.0
        opt = tg.optim.Adam(m.parameters(), lr=1e-2)
        hits = []
        for _ in range(110):
            x, y = batch(rng)
            logits = m(x)
            loss = T.sequence_nll(logits[:, None, :], y[:, None])
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(m.parameters(), 1.0)
            opt.step()
            hits.append((logits.detach().numpy().argmax(-1) == y).mean())
        acc[cell] = float(np.mean(hits[-20:]))
    assert acc["gru"] > 0.95 and acc["lstm"] > 0.95, acc
    assert acc["rnn"] < 0.7, acc


# ---- the two backward paths of the fused ops agree -----------------------------------------------
@pytest.mark.parametrize("op", ["lstm", "lstm_peep", "gru", "gru_before", "rnn", "rnn_relu"])
@pytest.mark.parametrize("reverse", [False, True])
def test_fast_bptt_equals_composite_vjp(op, reverse):
    """Plain backward runs the fused BPTT kernel (numpy twin); create_graph=True runs the VJP of
    the reference composition. Same inputs, same upstream gradients: same gradients."""
    rng = np.random.default_rng(9)
    T, B, H = 4, 3, 5

    def P(*s):
        return tg.tensor(rng.standard_normal(s) * 0.5, requires_grad=True)
    if op.startswith("lstm"):
        ins = [P(T, B, 4 * H), P(B, H), P(B, H), P(4 * H, H), P(4 * H)]
        if op == "lstm_peep":
            ins.append(P(3, H))
        f = lambda *a: R.lstm(*a, reverse=reverse)  # noqa: E731
    elif op.startswith("gru"):
        ins = [P(T, B, 3 * H), P(B, H), P(3 * H, H), P(3 * H)]
        f = lambda *a: R.gru(*a, reset_after=op == "gru", reverse=reverse)  # noqa: E731
    else:
        ins = [P(T, B, H), P(B, H), P(H, H), P(H)]
        f = lambda *a: R.rnn(*a, nonlinearity="relu" if op == "rnn_relu" else "tanh",  # noqa: E731
                             reverse=reverse)
    outs = f(*ins)
    gos = [tg.tensor(rng.standard_normal(o.shape)) for o in outs]
    fast = tg.grad(list(outs), ins, gos, retain_graph=True)
    slow = tg.grad(list(outs), ins, gos, create_graph=True)
    for a, b in zip(fast, slow):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_dropout_between_layers_and_module_casts():
    tg.manual_seed(0)
    m = nn.LSTM(3, 8, num_layers=2, dropout=0.5)
    x = tg.randn(5, 2, 3)
    m.eval()
    e1, _ = m(x)
    e2, _ = m(x)
    np.testing.assert_array_equal(e1.detach().numpy(), e2.detach().numpy())  # no dropout in eval mode
    m.train()
    t1, _ = m(x)
    assert np.abs(t1.detach().numpy() - e1.detach().numpy()).max() > 1e-4     # dropout on the layer-1 input
    m.flatten_parameters()                            # PyTorch compatibility no-op
    md = m.double()
    assert md.weight_hh_l1.dtype == np.float64
    md.eval()
    out, (h, c) = md(x.double())
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.detach().numpy(), e1.detach().numpy(), rtol=1e-4, atol=1e-5)
