"""Learning-rate schedulers against torch.optim.lr_scheduler: the rate sequence (and the
momentum / Adam β₁ for the cyclical ones) over many steps with two parameter groups,
composition (SequentialLR, ChainedScheduler), ``step(epoch)``, ``state_dict`` round trips
(also through tg.save), the call-order warning and the training loop."""
import math
import warnings

import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad.optim import lr_scheduler as tgs

STEPS = 60


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _opts(torch, opt="SGD"):
    a, b = tg.tensor([1.0], requires_grad=True), tg.tensor([1.0], requires_grad=True)
    pa, pb = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    kw = dict(lr=0.1, momentum=0.9) if opt == "SGD" else dict(lr=0.1)
    ot = getattr(tg.optim, opt)([{"params": [a]}, {"params": [b], "lr": 0.3}], **kw)
    op = getattr(torch.optim, opt)([{"params": [pa]}, {"params": [pb], "lr": 0.3}], **kw)
    return ot, op


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def _run(st, sp, ot, op, steps=STEPS):
    """Step both (optimizer first, then scheduler) and compare every step's rates (and
    momenta); no warning may be raised on either side."""
    got, want = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(steps):
            got.append(st.get_last_lr() + _momenta(ot))
            want.append(sp.get_last_lr() + _momenta(op))
            assert getattr(st, "last_epoch", None) == getattr(sp, "last_epoch", None)
            op.step()
            ot.step()
            sp.step()
            st.step()
    got.append(st.get_last_lr() + _momenta(ot))
    want.append(sp.get_last_lr() + _momenta(op))
    np.testing.assert_allclose(np.array(got, dtype=float), np.array(want, dtype=float),
                               rtol=1e-12, atol=1e-15)
    assert [g["lr"] for g in ot.param_groups] == st.get_last_lr()
    return np.array(got, dtype=float)


CASES = [
    ("StepLR", dict(step_size=7, gamma=0.5), "SGD"),
    ("MultiStepLR", dict(milestones=[3, 10, 10, 25], gamma=0.3), "SGD"),
    ("ConstantLR", dict(factor=0.25, total_iters=9), "SGD"),
    ("LinearLR", dict(start_factor=0.1, end_factor=0.9, total_iters=12), "SGD"),
    ("LinearLR", dict(), "Adam"),
    ("ExponentialLR", dict(gamma=0.93), "SGD"),
    ("PolynomialLR", dict(total_iters=20, power=2.0), "SGD"),
    ("PolynomialLR", dict(), "Adam"),
    ("CosineAnnealingLR", dict(T_max=15), "SGD"),
    ("CosineAnnealingLR", dict(T_max=10, eta_min=0.01), "Adam"),
    ("MultiplicativeLR", dict(lr_lambda=lambda e: 0.95), "SGD"),
    ("LambdaLR", dict(lr_lambda=lambda e: 1 / (1 + e)), "SGD"),
    ("CosineAnnealingWarmRestarts", dict(T_0=7), "SGD"),
    ("CosineAnnealingWarmRestarts", dict(T_0=4, T_mult=2, eta_min=1e-3), "Adam"),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=5), "SGD"),
    ("CyclicLR", dict(base_lr=[0.01, 0.02], max_lr=0.2, step_size_up=4, step_size_down=7,
                      mode="triangular2", base_momentum=0.7, max_momentum=0.95), "SGD"),
    ("CyclicLR", dict(base_lr=0.001, max_lr=0.05, step_size_up=6, mode="exp_range",
                      gamma=0.97), "Adam"),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=3, cycle_momentum=False,
                      scale_fn=lambda x: 0.9 ** x, scale_mode="iterations"), "Adam"),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=STEPS), "SGD"),
    ("OneCycleLR", dict(max_lr=[0.5, 0.2], epochs=6, steps_per_epoch=10, pct_start=0.25,
                        anneal_strategy="linear", div_factor=10.0, final_div_factor=100.0),
     "SGD"),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=STEPS, three_phase=True, base_momentum=0.8,
                        max_momentum=0.9), "Adam"),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=STEPS, cycle_momentum=False), "Adam"),
]


@pytest.mark.parametrize("name,kw,opt", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rates_match_torch(torch, name, kw, opt):
    ot, op = _opts(torch, opt)
    st = getattr(tgs, name)(ot, **kw)
    sp = getattr(torch.optim.lr_scheduler, name)(op, **kw)
    seq = _run(st, sp, ot, op, STEPS - 1 if name == "OneCycleLR" else STEPS)
    assert len(np.unique(seq[:, 0])) >= 2  # the schedule really moved


def test_one_cycle_refuses_to_run_past_total_steps():
    a = tg.tensor([1.0], requires_grad=True)
    opt = tg.optim.SGD([a], lr=0.1, momentum=0.9)
    s = tgs.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        opt.step()
        s.step()
    opt.step()
    with pytest.raises(ValueError, match="total steps is 3"):
        s.step()
    with pytest.raises(ValueError, match="momentum or beta1"):
        tgs.OneCycleLR(tg.optim.Adagrad([a]), max_lr=1.0, total_steps=3)
    with pytest.raises(ValueError, match="total_steps OR"):
        tgs.OneCycleLR(opt, max_lr=1.0)


def _compose(lib, ot, kind):
    S = lib.optim.lr_scheduler if lib is not tg else tgs
    if kind == "sequential":
        warm = S.LinearLR(ot, start_factor=0.1, total_iters=5)
        cos = S.CosineAnnealingLR(ot, T_max=20, eta_min=0.001)
        step = S.StepLR(ot, step_size=4, gamma=0.5)
        return S.SequentialLR(ot, [warm, cos, step], milestones=[5, 25])
    if kind == "chained":
        return S.ChainedScheduler([S.ExponentialLR(ot, gamma=0.95),
                                   S.MultiStepLR(ot, milestones=[10, 20], gamma=0.5),
                                   S.ConstantLR(ot, factor=0.5, total_iters=3)])
    inner = S.ChainedScheduler([S.ConstantLR(ot, factor=0.5, total_iters=4),
                                S.ExponentialLR(ot, gamma=0.9)])
    return S.SequentialLR(ot, [inner, S.PolynomialLR(ot, total_iters=30)], milestones=[8])


@pytest.mark.parametrize("kind", ["sequential", "chained", "nested"])
@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step")  # both warn (nested)
def test_composition_matches_torch(torch, kind):
    ot, op = _opts(torch)
    _run(_compose(tg, ot, kind), _compose(torch, op, kind), ot, op)


@pytest.mark.parametrize("name,kw", [("StepLR", dict(step_size=3, gamma=0.5)),
                                     ("MultiStepLR", dict(milestones=[2, 5, 5])),
                                     ("LinearLR", dict(total_iters=8)),
                                     ("CosineAnnealingLR", dict(T_max=6)),
                                     ("PolynomialLR", dict(total_iters=7, power=0.5)),
                                     ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2))])
def test_step_with_epoch_uses_the_closed_form(torch, name, kw):
    ot, op = _opts(torch)
    st, sp = getattr(tgs, name)(ot, **kw), getattr(torch.optim.lr_scheduler, name)(op, **kw)
    ot.step()
    op.step()
    for e in (4, 9, 1, 12.5 if name.startswith("CosineAnnealingW") else 12):
        with warnings.catch_warnings(record=True) as rec_t:
            warnings.simplefilter("always")
            st.step(e)
        with warnings.catch_warnings(record=True) as rec_p:
            warnings.simplefilter("always")
            sp.step(e)
        # the same warnings (the deprecation of step(epoch), except for WarmRestarts)
        assert [str(w.message)[:40] for w in rec_t] == [str(w.message)[:40] for w in rec_p]
        np.testing.assert_allclose(st.get_last_lr(), sp.get_last_lr(), rtol=1e-13)


def test_scheduler_before_optimizer_warns_as_torch(torch):
    for lib in (torch, tg):
        p = lib.zeros(1, requires_grad=True) if lib is torch else tg.tensor([0.0],
                                                                            requires_grad=True)
        opt = lib.optim.SGD([p], lr=0.1)
        s = lib.optim.lr_scheduler.StepLR(opt, step_size=2)
        with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
            s.step()
        with pytest.warns(UserWarning, match="get_last_lr"):
            s.get_lr()


@pytest.mark.parametrize("kind", ["cyclic", "onecycle", "multistep", "sequential", "lambda",
                                  "warm"])
def test_state_dict_round_trip_through_tg_save(tmp_path, kind):
    """k steps, save the scheduler's state with tg.save, load it into a fresh scheduler on a
    fresh optimizer (whose state is loaded too), continue: the same rates as without the
    interruption."""

    class Scale:  # a callable object: its __dict__ is saved, as PyTorch does
        def __init__(self):
            self.base = 0.9

        def __call__(self, e):
            return self.base ** e

    def make():
        a = tg.tensor([1.0], requires_grad=True)
        opt = tg.optim.SGD([{"params": [a]}, {"params": [tg.tensor([2.0], requires_grad=True)],
                                              "lr": 0.3}], lr=0.1, momentum=0.9)
        if kind == "cyclic":
            s = tgs.CyclicLR(opt, 0.01, 0.1, step_size_up=4, mode="exp_range", gamma=0.95)
        elif kind == "onecycle":
            s = tgs.OneCycleLR(opt, max_lr=0.5, total_steps=40, three_phase=True)
        elif kind == "multistep":
            s = tgs.MultiStepLR(opt, milestones=[3, 7, 7, 15], gamma=0.5)
        elif kind == "sequential":
            s = tgs.SequentialLR(opt, [tgs.LinearLR(opt, total_iters=4),
                                       tgs.CosineAnnealingLR(opt, T_max=10)], milestones=[4])
        elif kind == "lambda":
            s = tgs.LambdaLR(opt, [Scale(), lambda e: 1.0 / (e + 1)])
        else:
            s = tgs.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2)
        return opt, s

    def steps(opt, s, n):
        out = []
        for _ in range(n):
            opt.step()
            s.step()
            out.append(s.get_last_lr() + _momenta(opt))
        return out

    opt, s = make()
    if kind == "lambda":
        s.lr_lambdas[0].base = 0.8
    full = steps(opt, s, 30)
    opt, s = make()
    if kind == "lambda":
        s.lr_lambdas[0].base = 0.8
    steps(opt, s, 12)
    path = tmp_path / "sched.safetensors"
    tg.save({"opt": opt.state_dict(), "sched": s.state_dict()}, path)
    loaded = tg.load(path)
    opt2, s2 = make()
    opt2.load_state_dict(loaded["opt"])
    s2.load_state_dict(loaded["sched"])
    if kind == "lambda":
        assert s2.lr_lambdas[0].base == 0.8
    rest = steps(opt2, s2, 18)
    np.testing.assert_allclose(rest, full[12:], rtol=1e-15)
    assert s2.last_epoch == (30 if kind != "sequential" else 30)


@pytest.mark.parametrize("kw", [
    dict(patience=2, cooldown=1, threshold_mode="rel", threshold=0.01),
    dict(mode="max", factor=0.5, patience=0, threshold_mode="rel", threshold=0.1),
    dict(mode="min", threshold_mode="abs", threshold=0.05, patience=1, min_lr=[0.02, 0.05],
         eps=1e-3),
    dict(factor=0.9, patience=0, eps=0.02),
])
def test_reduce_lr_on_plateau_variants_match_torch(torch, kw):
    vals = np.abs(np.sin(np.arange(60) * 0.7)) + np.linspace(1, 0.5, 60)
    if kw.get("mode") == "max":
        vals = -vals
    ot, op = _opts(torch)
    st = tgs.ReduceLROnPlateau(ot, **kw)
    sp = torch.optim.lr_scheduler.ReduceLROnPlateau(op, **kw)
    got, want = [], []
    for v in vals:
        st.step(tg.tensor(float(v)))
        sp.step(float(v))
        got.append(st.get_last_lr())
        want.append(sp.get_last_lr())
        assert st.num_bad_epochs == sp.num_bad_epochs
        assert st.cooldown_counter == sp.cooldown_counter
    np.testing.assert_allclose(got, want, rtol=1e-15)
    assert len({tuple(g) for g in got}) > 1
    assert isinstance(st, tgs.LRScheduler) and st.last_epoch == sp.last_epoch == 60


def test_bad_arguments():
    a = tg.tensor([1.0], requires_grad=True)
    opt = tg.optim.SGD([a], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="ConstantLR"):
        tgs.ConstantLR(opt, factor=2.0)
    with pytest.raises(ValueError, match="LinearLR"):
        tgs.LinearLR(opt, start_factor=0.0)
    with pytest.raises(ValueError, match="T_0"):
        tgs.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="mode"):
        tgs.CyclicLR(opt, 0.01, 0.1, mode="sawtooth")
    with pytest.raises(ValueError, match="one more than the number of milestone"):
        tgs.SequentialLR(opt, [tgs.StepLR(opt, 2), tgs.StepLR(opt, 3)], milestones=[])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        tgs.ChainedScheduler([tgs.ReduceLROnPlateau(opt)])
    with pytest.raises(ValueError, match="same optimizer"):
        other = tg.optim.SGD([tg.tensor([1.0], requires_grad=True)], lr=0.1)
        tgs.ChainedScheduler([tgs.StepLR(opt, 2), tgs.StepLR(other, 2)])
    with pytest.raises(ValueError, match="max_lr must have the same length"):
        tgs.OneCycleLR(opt, max_lr=[0.1, 0.2], total_steps=5)
    with pytest.raises(TypeError, match="Optimizer"):
        tgs.CosineAnnealingLR(object(), T_max=3)


@pytest.mark.parametrize("make", [
    lambda opt: tgs.CosineAnnealingLR(opt, T_max=6, eta_min=0.01),
    lambda opt: tgs.SequentialLR(opt, [tgs.LinearLR(opt, start_factor=0.2, total_iters=2),
                                       tgs.ExponentialLR(opt, gamma=0.8)], milestones=[2]),
    lambda opt: tgs.OneCycleLR(opt, max_lr=0.2, total_steps=6),
])
def test_training_loop_steps_schedulers_once_per_epoch(tmp_path, make):
    """tg.train.fit steps the scheduler after each epoch; the rates it logs are the
    scheduler's sequence; a resumed run gives the same weights."""
    def setup(seed):
        tg.manual_seed(seed)
        rng = np.random.default_rng(0)
        X = rng.normal(size=(64, 3)).astype(np.float32)
        y = (X.sum(1) > 0).astype(np.int64)
        model = tg.nn.Linear(3, 2)
        opt = tg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        loader = tg.data.DataLoader(tg.data.TensorDataset(X, y), batch_size=16)
        return model, opt, make(opt), loader

    model, opt, sched, loader = setup(0)
    want = [sched.get_last_lr()[0]]
    probe_opt = tg.optim.SGD([tg.tensor([0.0], requires_grad=True)], lr=0.1, momentum=0.9)
    probe = make(probe_opt)
    for _ in range(5):
        probe_opt.step()
        probe.step()
        want.append(probe.get_last_lr()[0])
    hist = tg.train.fit(model, tg.nn.CrossEntropyLoss(), opt, loader, epochs=6, scheduler=sched,
                        progress=False)
    np.testing.assert_allclose(hist.lr, want, rtol=1e-14)
    final = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    ck = str(tmp_path / "ck")
    model, opt, sched, loader = setup(0)
    tg.train.fit(model, tg.nn.CrossEntropyLoss(), opt, loader, epochs=3, scheduler=sched,
                 checkpoint_path=ck, progress=False)
    model, opt, sched, loader = setup(5)
    tg.train.fit(model, tg.nn.CrossEntropyLoss(), opt, loader, epochs=6, scheduler=sched,
                 checkpoint_path=ck, resume=True, progress=False)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.detach().numpy(), final[k])
    assert math.isfinite(hist.train_loss[-1])
