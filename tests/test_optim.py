"""Optimizers, schedulers, clipping and moving averages against PyTorch (float64)."""
import math

import numpy as np
import pytest
from _torch import torch

import tensorgrad as tg
from tensorgrad.optim import lr_scheduler as tgs

RNG = np.random.default_rng(0)
X = RNG.normal(size=(8, 4))
Y = RNG.normal(size=(8, 3))
W0 = RNG.normal(size=(3, 4)) * 0.5
B0 = RNG.normal(size=(3,)) * 0.1


def _loss_tg(W, b):
    x, y = tg.tensor(X), tg.tensor(Y)
    return (((x @ W.T + b).tanh() - y) ** 2).mean() + 0.05 * (W ** 4).sum()


def _loss_torch(W, b):
    x, y = torch.tensor(X), torch.tensor(Y)
    return (((x @ W.T + b).tanh() - y) ** 2).mean() + 0.05 * (W ** 4).sum()


def _params():
    tW = tg.tensor(W0.copy(), requires_grad=True)
    tb = tg.tensor(B0.copy(), requires_grad=True)
    pW = torch.tensor(W0.copy(), requires_grad=True)
    pb = torch.tensor(B0.copy(), requires_grad=True)
    return (tW, tb), (pW, pb)


def _steps(opt, loss, W, b, n=1):
    """n optimizer steps on the test loss (``_loss_tg`` or ``_loss_torch``) of W, b."""
    for _ in range(n):
        opt.zero_grad()
        loss(W, b).backward()
        opt.step()


def _run(tg_cls, torch_cls, kw, groups=False, steps=25, tg_kw=None):
    (tW, tb), (pW, pb) = _params()
    if groups:  # a second group with its own lr (and for SGD, its own momentum)
        extra = {"lr": kw.get("lr", 1e-3) * 0.5}
        tparams = [{"params": [tW]}, {"params": [tb], **extra}]
        pparams = [{"params": [pW]}, {"params": [pb], **extra}]
    else:
        tparams, pparams = [tW, tb], [pW, pb]
    opt_t = tg_cls(tparams, **kw, **(tg_kw or {}))
    opt_p = torch_cls(pparams, **kw)
    for _ in range(steps):  # in lockstep
        _steps(opt_t, _loss_tg, tW, tb)
        _steps(opt_p, _loss_torch, pW, pb)
    for ours, theirs in ((tW, pW), (tb, pb)):
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-11,
                                   atol=1e-12)
    # the parameters really moved
    assert not np.allclose(tW.detach().numpy(), W0)
    return opt_t, opt_p


SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.1, momentum=0.9, dampening=0.1),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.1, momentum=0.5, weight_decay=0.01),
    dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1),
    dict(lr=0.1, maximize=False, weight_decay=0.2),
]


RMS_CASES = [
    dict(lr=0.01),
    dict(lr=0.01, alpha=0.9, eps=1e-6),
    dict(lr=0.01, momentum=0.9),
    dict(lr=0.01, centered=True),
    dict(lr=0.005, centered=True, momentum=0.5, weight_decay=0.1),
]

ADAM_CASES = [
    dict(lr=0.01),
    dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, amsgrad=True),
    dict(lr=0.02, amsgrad=True, weight_decay=0.05, betas=(0.5, 0.9)),
]


MATCH_CASES = [pytest.param(name, kw, id=f"{name}-{i}")
               for name, table in (("SGD", SGD_CASES), ("RMSprop", RMS_CASES), ("Adam", ADAM_CASES))
               for i, kw in enumerate(table)]


@pytest.mark.parametrize("name,kw", MATCH_CASES)
@pytest.mark.parametrize("groups", [False, True])
def test_optimizer_matches_torch(name, kw, groups):
    """SGD, RMSprop and Adam (one and two parameter groups) follow torch.optim step by step."""
    _run(getattr(tg.optim, name), getattr(torch.optim, name), kw, groups)


@pytest.mark.parametrize("kw", [dict(lr=0.01), dict(lr=0.01, weight_decay=0.3, amsgrad=True)])
def test_adamw_matches_torch(kw):
    _run(tg.optim.AdamW, torch.optim.AdamW, kw)


def test_maximize_matches_torch():
    _run(tg.optim.Adam, torch.optim.Adam, dict(lr=0.01, maximize=True), steps=5)
    _run(tg.optim.SGD, torch.optim.SGD, dict(lr=0.01, momentum=0.9, maximize=True), steps=5)


def test_notes_momentum_is_sgd_with_dampening():
    """v = βv + (1-β)dW; W -= α v  (docs/maths.md §6.2) equals SGD(momentum=β, dampening=β) after the
    first step's buffer initialisation; check our rule against a hand-written loop."""
    (tW, tb), _ = _params()
    beta, lr = 0.9, 0.1
    opt = tg.optim.SGD([tW, tb], lr=lr, momentum=beta, dampening=beta)
    W, b = W0.copy(), B0.copy()
    vW = vb = None
    for _ in range(10):
        opt.zero_grad()
        loss = _loss_tg(tW, tb)
        gW, gb = tg.grad(loss, [tW, tb])
        tW.grad, tb.grad = gW, gb
        # hand-written on a copy of the same gradient
        vW = gW.detach().numpy().copy() if vW is None else beta * vW + (1 - beta) * gW.detach().numpy()
        vb = gb.detach().numpy().copy() if vb is None else beta * vb + (1 - beta) * gb.detach().numpy()
        W, b = W - lr * vW, b - lr * vb
        opt.step()
        np.testing.assert_allclose(tW.detach().numpy(), W, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(tb.detach().numpy(), b, rtol=1e-12, atol=1e-14)


def test_params_without_grad_are_skipped_and_zero_grad():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0], requires_grad=True)
    opt = tg.optim.Adam([a, b], lr=0.1)
    (a * a).sum().backward()
    opt.step()
    assert b.detach().numpy().tolist() == [3.0] and b not in opt.state
    assert a.grad is not None
    opt.zero_grad(set_to_none=False)
    assert a.grad is not None and np.all(a.grad.detach().numpy() == 0)
    opt.zero_grad()
    assert a.grad is None


def test_add_param_group_and_float32():
    a = tg.tensor(np.ones(3, np.float32), requires_grad=True)
    opt = tg.optim.SGD([a], lr=0.1)
    b = tg.tensor(np.ones(2, np.float32), requires_grad=True)
    opt.add_param_group({"params": [b], "lr": 1.0, "momentum": 0.5})
    assert opt.param_groups[1]["lr"] == 1.0 and opt.param_groups[1]["dampening"] == 0.0
    (a.sum() + (b * 2).sum()).backward()
    opt.step()
    assert a.dtype == np.float32 and b.dtype == np.float32
    np.testing.assert_allclose(a.detach().numpy(), 0.9)
    np.testing.assert_allclose(b.detach().numpy(), -1.0)


@pytest.mark.parametrize("cls,kw", [(tg.optim.SGD, dict(lr=0.1, momentum=0.9)),
                                    (tg.optim.RMSprop, dict(lr=0.01, centered=True,
                                                            momentum=0.3)),
                                    (tg.optim.Adam, dict(lr=0.01, amsgrad=True))])
def test_state_dict_round_trip_continues_identically(cls, kw):
    """Run 10 steps, save, load into a fresh optimizer on copies, run 10 more on both: equal."""
    (tW, tb), _ = _params()
    opt = cls([{"params": [tW]}, {"params": [tb], "lr": 0.003}], **kw)
    _steps(opt, _loss_tg, tW, tb, 10)
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert sd["param_groups"][0]["params"] == [0] and sd["param_groups"][1]["params"] == [1]
    assert set(sd["state"]) == {0, 1}
    cW = tg.tensor(tW.detach().numpy().copy(), requires_grad=True)
    cb = tg.tensor(tb.detach().numpy().copy(), requires_grad=True)
    opt2 = cls([{"params": [cW]}, {"params": [cb]}], lr=123.0)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[1]["lr"] == 0.003 and opt2.param_groups[0]["lr"] == kw["lr"]
    # the state dict is a copy: stepping the original doesn't change it
    snap = {k: {kk: (vv.detach().numpy().copy() if hasattr(vv, "data") else vv) for kk, vv in v.items()}
            for k, v in sd["state"].items()}
    for o, (w, b) in ((opt, (tW, tb)), (opt2, (cW, cb))):
        _steps(o, _loss_tg, w, b, 10)
    np.testing.assert_array_equal(tW.detach().numpy(), cW.detach().numpy())
    np.testing.assert_array_equal(tb.detach().numpy(), cb.detach().numpy())
    for k, v in sd["state"].items():
        for kk, vv in v.items():
            np.testing.assert_array_equal(getattr(vv, "data", vv), snap[k][kk])


def test_state_dict_layout_matches_torch():
    (tW, tb), (pW, pb) = _params()
    ot = tg.optim.Adam([tW, tb], lr=0.01)
    op = torch.optim.Adam([pW, pb], lr=0.01)
    for o, loss in ((ot, _loss_tg(tW, tb)), (op, _loss_torch(pW, pb))):
        loss.backward()
        o.step()
    st, sp = ot.state_dict(), op.state_dict()
    assert set(st["state"][0]) == set(sp["state"][0])
    assert float(st["state"][0]["step"]) == float(sp["state"][0]["step"]) == 1.0
    np.testing.assert_allclose(st["state"][1]["exp_avg_sq"].detach().numpy(),
                               sp["state"][1]["exp_avg_sq"].numpy(), rtol=1e-12)
    for k in ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "params"):
        assert st["param_groups"][0][k] == sp["param_groups"][0][k], k


def test_torch_state_dict_loads():
    """A PyTorch Adam state dict (converted to numpy) drives the same continuation."""
    (tW, tb), (pW, pb) = _params()
    op = torch.optim.Adam([pW, pb], lr=0.01)
    _steps(op, _loss_torch, pW, pb, 3)
    sp = op.state_dict()
    conv = {"state": {k: {kk: (vv.numpy() if torch.is_tensor(vv) else vv) for kk, vv in v.items()}
                      for k, v in sp["state"].items()},
            "param_groups": sp["param_groups"]}
    tW.data[...] = pW.detach().numpy()
    tb.data[...] = pb.detach().numpy()
    ot = tg.optim.Adam([tW, tb])
    ot.load_state_dict(conv)
    _steps(op, _loss_torch, pW, pb, 3)
    _steps(ot, _loss_tg, tW, tb, 3)
    np.testing.assert_allclose(tW.detach().numpy(), pW.detach().numpy(), rtol=1e-11)


def test_bad_input_errors():
    a = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        tg.optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="learning rate"):
        tg.optim.Adam([a], lr=-1)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        tg.optim.Adam([a], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Nesterov"):
        tg.optim.SGD([a], lr=0.1, nesterov=True)
    with pytest.raises(TypeError, match="single Tensor"):
        tg.optim.SGD(a, lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        tg.optim.SGD([{"params": [a]}, {"params": [a]}], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        tg.optim.SGD([a * 2], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        tg.optim.SGD([np.ones(2)], lr=0.1)
    opt = tg.optim.SGD([a], lr=0.1)
    with pytest.raises(ValueError, match="parameter group"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="'state'"):
        opt.load_state_dict({"lr": 1})


def test_closure_and_named_parameters():
    a = tg.tensor([2.0], requires_grad=True)
    opt = tg.optim.SGD([("a", a)], lr=0.25)
    assert opt.param_groups[0]["param_names"] == ["a"]

    def closure():
        opt.zero_grad()
        loss = (a * a).sum()
        loss.backward()
        return loss
    loss = opt.step(closure)
    assert loss.item() == 4.0 and a.detach().numpy().tolist() == [1.0]


# ---- schedulers ----------------------------------------------------------------------------

def _sched_pair(tg_sched, torch_sched, kw, epochs=25):
    a = tg.tensor([1.0], requires_grad=True)
    b = tg.tensor([1.0], requires_grad=True)
    pa, pb = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    ot = tg.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.3}], lr=0.1, momentum=0.9)
    op = torch.optim.SGD([{"params": [pa]}, {"params": [pb], "lr": 0.3}], lr=0.1, momentum=0.9)
    st, sp = tg_sched(ot, **kw), torch_sched(op, **kw)
    got, want = [], []
    for _ in range(epochs):
        got.append(st.get_last_lr())
        want.append(sp.get_last_lr())
        op.step()
        ot.step()
        sp.step()
        st.step()
    np.testing.assert_allclose(got, want, rtol=1e-13)
    assert [g["lr"] for g in ot.param_groups] == st.get_last_lr()
    return st


@pytest.mark.parametrize("name,kw", [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("StepLR", dict(step_size=1)),
    ("ExponentialLR", dict(gamma=0.95)),
    ("LambdaLR", dict(lr_lambda=lambda e: 1.0 / (1 + 0.5 * e))),
    ("LambdaLR", dict(lr_lambda=[lambda e: 0.9 ** e, lambda e: 1.0 / math.sqrt(e + 1)])),
])
def test_schedulers_match_torch(name, kw):
    _sched_pair(getattr(tgs, name), getattr(torch.optim.lr_scheduler, name), kw)


def test_notes_decays():
    a = tg.tensor([1.0], requires_grad=True)
    opt = tg.optim.SGD([a], lr=0.2)
    s = tgs.InverseTimeDecay(opt, decay_rate=1.0)
    opt.step()  # (no gradients: nothing moves) the optimizer steps before the scheduler
    lrs = []
    for _ in range(4):
        lrs.append(s.get_last_lr()[0])
        s.step()
    # docs/maths.md §6.5 with α₀ = 0.2, decay_rate = 1: epochs 1, 2, 3, 4
    np.testing.assert_allclose(lrs, [0.2 / 2, 0.2 / 3, 0.2 / 4, 0.2 / 5])
    opt = tg.optim.Adam([a], lr=0.1)
    s = tgs.InverseSqrtDecay(opt, k=0.5)
    opt.step()
    lrs = []
    for _ in range(4):
        lrs.append(opt.param_groups[0]["lr"])
        s.step()
    np.testing.assert_allclose(lrs, [0.5 / math.sqrt(e) * 0.1 for e in (1, 2, 3, 4)])
    with pytest.raises(ValueError, match="decay_rate"):
        tgs.InverseTimeDecay(opt, decay_rate=-1)


def test_scheduler_state_dict_round_trip():
    a = tg.tensor([1.0], requires_grad=True)
    opt = tg.optim.SGD([a], lr=1.0)
    s = tgs.StepLR(opt, step_size=2, gamma=0.1)
    opt.step()
    for _ in range(5):
        s.step()
    sd = s.state_dict()
    assert "optimizer" not in sd and sd["last_epoch"] == 5
    opt2 = tg.optim.SGD([tg.tensor([1.0], requires_grad=True)], lr=1.0)
    s2 = tgs.StepLR(opt2, step_size=7)
    s2.load_state_dict(sd)
    opt2.param_groups[0]["lr"] = opt.param_groups[0]["lr"]
    s.step()
    s2.step()
    assert s.get_last_lr() == s2.get_last_lr() and s2.step_size == 2
    lam = tgs.LambdaLR(opt, lambda e: 1.0)
    assert lam.state_dict()["lr_lambdas"] == [None]  # functions aren't saved (as PyTorch)
    with pytest.raises(TypeError, match="Optimizer"):
        tgs.StepLR(object(), step_size=1)
    with pytest.raises(ValueError, match="step_size"):
        tgs.StepLR(opt, step_size=0)


# ---- clipping ------------------------------------------------------------------------------

@pytest.mark.parametrize("max_norm,norm_type", [(0.5, 2), (100.0, 2), (0.3, 1), (0.2, "inf"),
                                                (0.4, 3.0)])
def test_clip_grad_norm_matches_torch(max_norm, norm_type):
    nt = float(norm_type) if norm_type != "inf" else math.inf
    g1, g2 = RNG.normal(size=(3, 4)), RNG.normal(size=(5,))
    ta, tb = tg.tensor(np.zeros((3, 4)), requires_grad=True), tg.tensor(np.zeros(5), requires_grad=True)
    ta.grad, tb.grad = tg.tensor(g1.copy()), tg.tensor(g2.copy())
    pa, pb = torch.zeros(3, 4, dtype=torch.float64), torch.zeros(5, dtype=torch.float64)
    pa.grad, pb.grad = torch.tensor(g1.copy()), torch.tensor(g2.copy())
    total_t = tg.nn.utils.clip_grad_norm_([ta, tb], max_norm, norm_type=nt)
    total_p = torch.nn.utils.clip_grad_norm_([pa, pb], max_norm, norm_type=nt)
    assert isinstance(total_t, tg.Tensor)
    np.testing.assert_allclose(total_t.item(), total_p.item(), rtol=1e-12)
    np.testing.assert_allclose(ta.grad.detach().numpy(), pa.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(tb.grad.detach().numpy(), pb.grad.numpy(), rtol=1e-12)


def test_clip_grad_value_and_vector_helpers():
    g = RNG.normal(size=(4, 3))
    t = tg.tensor(np.zeros((4, 3)), requires_grad=True)
    t.grad = tg.tensor(g.copy())
    p = torch.zeros(4, 3, dtype=torch.float64)
    p.grad = torch.tensor(g.copy())
    tg.nn.utils.clip_grad_value_(t, 0.5)
    torch.nn.utils.clip_grad_value_(p, 0.5)
    np.testing.assert_array_equal(t.grad.detach().numpy(), p.grad.numpy())
    a = tg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    b = tg.tensor(np.array([7.0]), requires_grad=True)
    v = tg.nn.utils.parameters_to_vector([a, b])
    assert v.shape == (7,) and v.detach().numpy().tolist() == [0, 1, 2, 3, 4, 5, 7]
    (v * tg.tensor(np.arange(7.0))).sum().backward()  # differentiable, as in PyTorch
    assert a.grad.detach().numpy().tolist() == [[0, 1, 2], [3, 4, 5]]
    tg.nn.utils.vector_to_parameters(tg.tensor(-np.arange(7.0)), [a, b])
    assert a.detach().numpy().tolist() == [[0, -1, -2], [-3, -4, -5]] and b.detach().numpy().tolist() == [-6.0]
    with pytest.raises(ValueError, match="7"):
        tg.nn.utils.vector_to_parameters(tg.tensor(np.zeros(5)), [a, b])
    with pytest.raises(ValueError, match="max_norm"):
        tg.nn.utils.clip_grad_norm_([a], -1.0)


def test_clip_grad_norm_nonfinite():
    t = tg.tensor(np.zeros(2), requires_grad=True)
    t.grad = tg.tensor(np.array([np.inf, 1.0]))
    with pytest.raises(RuntimeError, match="non-finite"):
        tg.nn.utils.clip_grad_norm_([t], 1.0, error_if_nonfinite=True)
    assert tg.nn.utils.clip_grad_norm_([], 1.0).item() == 0.0


# ---- EWA -----------------------------------------------------------------------------------

def test_ewa_bias_correction():
    xs = RNG.normal(size=50) + 10
    beta = 0.9
    v, raw, corr = 0.0, [], []
    for t, x in enumerate(xs, 1):
        v = beta * v + (1 - beta) * x
        raw.append(v)
        corr.append(v / (1 - beta ** t))
    np.testing.assert_allclose(tg.optim.ewa(xs, beta, bias_correction=False), raw, rtol=1e-14)
    np.testing.assert_allclose(tg.optim.ewa(xs, beta), corr, rtol=1e-14)
    # the first corrected value is the first data point; the uncorrected one is 10x too small
    assert tg.optim.ewa(xs, beta)[0] == pytest.approx(xs[0])
    avg = tg.optim.EWA(0.5)
    out = avg.update(tg.tensor(np.array([2.0, 4.0])))
    np.testing.assert_allclose(out, [2.0, 4.0])
    with pytest.raises(ValueError, match="beta"):
        tg.optim.EWA(1.0)
    # it equals Adam's bias-corrected first moment
    a = tg.tensor([0.0], requires_grad=True)
    opt = tg.optim.Adam([a], lr=0.0, betas=(0.8, 0.999))
    e = tg.optim.EWA(0.8)
    for x in xs[:5]:
        a.grad = tg.tensor(np.array([x]))
        opt.step()
        c = e.update(x)
    np.testing.assert_allclose(opt.state[a]["exp_avg"].detach().numpy()[0] / (1 - 0.8 ** 5), c)


@pytest.mark.parametrize("kw", [dict(patience=2), dict(mode="max", factor=0.5, patience=1,
                                                       cooldown=2, threshold_mode="abs",
                                                       threshold=0.05, min_lr=0.02)])
def test_reduce_lr_on_plateau_matches_torch(kw):
    values = [1.0, 0.9, 0.95, 0.91, 0.92, 0.93, 0.8, 0.81, 0.82, 0.83, 0.84, 0.85, 0.5, 0.6,
              0.7, 0.71, 0.72, 0.73, 0.74, 0.75]
    a = tg.tensor([1.0], requires_grad=True)
    pa = torch.zeros(1, requires_grad=True)
    ot = tg.optim.SGD([{"params": [a]}], lr=0.1)
    op = torch.optim.SGD([{"params": [pa]}], lr=0.1)
    st = tgs.ReduceLROnPlateau(ot, **kw)
    sp = torch.optim.lr_scheduler.ReduceLROnPlateau(op, **kw)
    got, want = [], []
    for v in values:
        st.step(v)
        sp.step(v)
        got.append(st.get_last_lr()[0])
        want.append(sp.get_last_lr()[0])
    np.testing.assert_allclose(got, want, rtol=1e-15)
    assert len(set(got)) > 1
    st2 = tgs.ReduceLROnPlateau(ot)
    st2.load_state_dict(st.state_dict())
    assert st2.best == st.best and st2.patience == st.patience
    with pytest.raises(ValueError, match="factor"):
        tgs.ReduceLROnPlateau(ot, factor=2.0)
