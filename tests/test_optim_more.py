"""Adagrad, Adadelta, Adamax, NAdam, RAdam, ASGD and Rprop against torch.optim (float64, many
steps, parameter groups, weight-decay variants, maximize), their state dicts (round trip and
PyTorch's layout) and the implementation switches PyTorch accepts."""
import numpy as np
import pytest

import tensorgrad as tg

RNG = np.random.default_rng(1)
X = RNG.normal(size=(10, 4))
Y = RNG.normal(size=(10, 3))
W0 = RNG.normal(size=(3, 4)) * 0.5
B0 = RNG.normal(size=(3,)) * 0.1
STEPS = 40


@pytest.fixture
def torch():
    """torch with float64 as its default dtype, so the 0-d state PyTorch keeps (step,
    mu_product, eta, mu) is float64 as tensorgrad's Python floats are."""
    torch = pytest.importorskip("torch")
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield torch
    torch.set_default_dtype(old)


def _loss(lib, W, b):
    x, y = lib.tensor(X), lib.tensor(Y)
    return (((x @ W.T + b).tanh() - y) ** 2).mean() + 0.05 * (W ** 4).sum()


def _pair(lib):
    return (lib.tensor(W0.copy(), requires_grad=True), lib.tensor(B0.copy(), requires_grad=True))


def _groups(W, b, kw, groups):
    if not groups:
        return [W, b]
    return [{"params": [W]}, {"params": [b], "lr": kw.get("lr", 1e-2) * 0.5}]


def _train(lib, opt, W, b, steps):
    for _ in range(steps):
        opt.zero_grad()
        _loss(lib, W, b).backward()
        opt.step()


def _compare(torch, name, kw, groups=False, steps=STEPS):
    tW, tb = _pair(tg)
    pW, pb = _pair(torch)
    ot = getattr(tg.optim, name)(_groups(tW, tb, kw, groups), **kw)
    op = getattr(torch.optim, name)(_groups(pW, pb, kw, groups), **kw)
    _train(tg, ot, tW, tb, steps)
    _train(torch, op, pW, pb, steps)
    np.testing.assert_allclose(tW.detach().numpy(), pW.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tb.detach().numpy(), pb.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert not np.allclose(tW.detach().numpy(), W0)
    return ot, op


CASES = [
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, initial_accumulator_value=0.3, eps=1e-8)),
    ("Adagrad", dict(lr=0.05, weight_decay=0.1, maximize=False, foreach=False)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.05)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, momentum_decay=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.02, weight_decay=0.2, decoupled_weight_decay=True, betas=(0.8, 0.99))),
    ("RAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1)),
    ("RAdam", dict(lr=0.02, weight_decay=0.3, decoupled_weight_decay=True, betas=(0.5, 0.9))),
    ("ASGD", dict(lr=0.05)),
    ("ASGD", dict(lr=0.05, lambd=1e-2, alpha=0.5, t0=10, weight_decay=0.01)),
    ("Rprop", dict(lr=0.01)),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-4, 0.2))),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, foreach=False)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
]


@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
@pytest.mark.parametrize("groups", [False, True])
def test_iterates_match_torch(torch, name, kw, groups):
    _compare(torch, name, kw, groups)


@pytest.mark.parametrize("name", ["Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "ASGD",
                                  "Rprop"])
def test_maximize_and_switches(torch, name):
    kw = dict(lr=0.01, maximize=True, foreach=True)
    _compare(torch, name, kw, steps=8)
    a = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="differentiable=True"):
        getattr(tg.optim, name)([a], differentiable=True)


def test_asgd_average_matches_torch(torch):
    ot, op = _compare(torch, "ASGD", dict(lr=0.05, t0=5), steps=20)
    for pt, pp in zip(ot.param_groups[0]["params"], op.param_groups[0]["params"]):
        st, sp = ot.state[pt], op.state[pp]
        np.testing.assert_allclose(st["ax"].detach().numpy(), sp["ax"].numpy(), rtol=1e-10)
        assert st["eta"] == pytest.approx(sp["eta"].item(), rel=1e-14)
        assert st["mu"] == pytest.approx(sp["mu"].item(), rel=1e-14)


@pytest.mark.parametrize("name,kw", [("Adagrad", dict(lr=0.1, lr_decay=0.01)),
                                     ("Adadelta", dict(lr=0.5)),
                                     ("Adamax", dict(lr=0.01)),
                                     ("NAdam", dict(lr=0.01, decoupled_weight_decay=True,
                                                    weight_decay=0.1)),
                                     ("RAdam", dict(lr=0.01)),
                                     ("ASGD", dict(lr=0.05, t0=3)),
                                     ("Rprop", dict(lr=0.01))])
def test_state_dict_layout_and_torch_state_loads(torch, name, kw):
    """Same state and group keys as PyTorch; a PyTorch state dict (as numpy) loaded into
    tensorgrad continues the same trajectory; our own state dict round-trips."""
    ot, op = _compare(torch, name, kw, steps=7)
    st, sp = ot.state_dict(), op.state_dict()
    assert set(st["state"]) == set(sp["state"]) == {0, 1}
    assert set(st["state"][0]) == set(sp["state"][0])
    assert set(st["param_groups"][0]) == set(sp["param_groups"][0])
    for k, v in sp["param_groups"][0].items():
        assert st["param_groups"][0][k] == v, k
    # PyTorch's state dict, converted to numpy, drives a fresh tensorgrad optimizer
    conv = {"state": {k: {kk: (vv.numpy() if torch.is_tensor(vv) else vv)
                          for kk, vv in v.items()} for k, v in sp["state"].items()},
            "param_groups": sp["param_groups"]}
    pW, pb = op.param_groups[0]["params"]
    cW = tg.tensor(pW.detach().numpy().copy(), requires_grad=True)
    cb = tg.tensor(pb.detach().numpy().copy(), requires_grad=True)
    o2 = getattr(tg.optim, name)([cW, cb], lr=123.0)
    o2.load_state_dict(conv)
    assert o2.param_groups[0]["lr"] == kw["lr"]
    # and our own state dict round trip into a third copy
    tW, tb = ot.param_groups[0]["params"]
    dW = tg.tensor(tW.detach().numpy().copy(), requires_grad=True)
    db = tg.tensor(tb.detach().numpy().copy(), requires_grad=True)
    o3 = getattr(tg.optim, name)([dW, db], lr=7.0)
    o3.load_state_dict(st)
    _train(torch, op, pW, pb, 5)
    _train(tg, o2, cW, cb, 5)
    _train(tg, o3, dW, db, 5)
    _train(tg, ot, tW, tb, 5)
    np.testing.assert_allclose(cW.detach().numpy(), pW.detach().numpy(), rtol=1e-10)
    np.testing.assert_array_equal(dW.detach().numpy(), tW.detach().numpy())
    np.testing.assert_array_equal(db.detach().numpy(), tb.detach().numpy())


def test_adagrad_state_exists_from_construction(torch):
    a = tg.tensor(np.ones(3), requires_grad=True)
    opt = tg.optim.Adagrad([a], initial_accumulator_value=0.5)
    po = torch.optim.Adagrad([torch.ones(3, requires_grad=True)], initial_accumulator_value=0.5)
    assert opt.state[a]["step"] == 0.0
    np.testing.assert_array_equal(opt.state[a]["sum"].detach().numpy(), [0.5, 0.5, 0.5])
    assert set(opt.state_dict()["state"][0]) == set(po.state_dict()["state"][0])


def test_float32_parameters_stay_float32():
    for name in ("Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop"):
        a = tg.tensor(np.array([1.0, -2.0], dtype=np.float32), requires_grad=True)
        opt = getattr(tg.optim, name)([a], lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            (a * a).sum().backward()
            opt.step()
        assert a.dtype == tg.float32, name
        assert np.all(np.abs(a.detach().numpy()) < [1.0, 2.0]), name


@pytest.mark.parametrize("call,match", [
    (lambda a: tg.optim.Adagrad([a], lr_decay=-1), "lr_decay"),
    (lambda a: tg.optim.Adagrad([a], initial_accumulator_value=-0.1), "initial_accumulator"),
    (lambda a: tg.optim.Adadelta([a], rho=1.5), "rho"),
    (lambda a: tg.optim.Adamax([a], betas=(1.0, 0.9)), "beta parameter at index 0"),
    (lambda a: tg.optim.NAdam([a], momentum_decay=-1), "momentum_decay"),
    (lambda a: tg.optim.RAdam([a], eps=-1), "epsilon"),
    (lambda a: tg.optim.ASGD([a], lr=-1), "learning rate"),
    (lambda a: tg.optim.Rprop([a], etas=(1.5, 1.2)), "eta values"),
    (lambda a: tg.optim.Adam([a], fused=True, foreach=True), "fused"),
])
def test_bad_hyperparameters(call, match):
    a = tg.tensor([1.0], requires_grad=True)
    with pytest.raises((ValueError, RuntimeError), match=match):
        call(a)
