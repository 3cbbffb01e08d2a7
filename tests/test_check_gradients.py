"""tg.check_gradients: the course's gradient check (§5.4) over named parameters."""
import numpy as np
import pytest

import tensorgrad as tg
import tensorgrad.nn.functional as F
from tensorgrad.autograd.check import GradientCheckReport, verdict_for
from _wrong_grads import square_with_backward


def _data(n=16, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = tg.tensor(rng.standard_normal((n, d)).astype(np.float32))  # float32: promotes in the check
    y = tg.tensor(rng.integers(0, k, n))
    return X, y


def test_plain_tensors_dict_passes_and_reports():
    rng = np.random.default_rng(1)
    W = tg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    b = tg.tensor(rng.standard_normal(3), requires_grad=True)
    X = tg.tensor(rng.standard_normal((5, 4)))

    rep = tg.check_gradients(lambda: ((X @ W + b).tanh() ** 2).sum(), {"W": W, "b": b})
    assert isinstance(rep, GradientCheckReport) and rep.ok and rep.verdict == "great"
    assert [r.name for r in rep.rows] == ["W", "b"]
    row = rep["W"]
    assert row.shape == (4, 3) and row.n_checked == 12 and row.rel_error < 1e-7
    assert row.verdict == "great" and len(row.worst_index) == 2
    assert abs(row.numeric - row.analytic) == pytest.approx(row.max_abs_error)
    text = str(rep)
    for piece in ("parameter", "rel. error", "worst index", "W", "b", "(4, 3)", "great", "OK"):
        assert piece in text


def test_relative_error_is_the_notes_formula():
    """A backward that returns twice the true gradient: ‖n − 2n‖ / (‖n‖ + ‖2n‖) = 1/3."""
    Twice = square_with_backward(4)
    w = tg.tensor([0.3, -1.2, 2.0], dtype=tg.float64, requires_grad=True)
    rep = tg.check_gradients(lambda: Twice.apply(w).sum(), {"w": w})
    r = rep["w"]
    assert r.rel_error == pytest.approx(1 / 3, rel=1e-6)
    assert r.verdict == "bug" and not rep.ok and rep.failed == [r]
    np.testing.assert_allclose(r.numeric_grad, 2 * w.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(r.analytic_grad, 4 * w.detach().numpy())
    assert r.worst_index == (2,)  # largest |difference| is at the largest |w|
    assert r.numeric == pytest.approx(4.0, rel=1e-6) and r.analytic == pytest.approx(8.0)
    assert "FAILED" in str(rep) and "<--" in str(rep)


def test_verdict_thresholds():
    assert verdict_for(1e-9) == "great" and verdict_for(1e-7) == "great"
    assert verdict_for(1e-5) == "look closer" and verdict_for(5e-4) == "look closer"
    assert verdict_for(1e-3) == "bug" and verdict_for(float("nan")) == "bug"


class BrokenLinear(tg.autograd.Function):
    """y = x Wᵀ + b with a wrong weight gradient (transposition slip: uses x of the wrong
    scale) but a correct input gradient — a bug confined to one layer."""

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return x @ w.T + b

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return g @ w, (g.T @ x) * 1.01, g.sum(0)


class Broken(tg.nn.Module):
    def __init__(self, d, h, k):
        super().__init__()
        self.fc1 = tg.nn.Linear(d, h)
        self.fc2 = tg.nn.Linear(h, h)
        self.fc3 = tg.nn.Linear(h, k)

    def forward(self, x):
        h = self.fc1(x).tanh()
        h = BrokenLinear.apply(h, self.fc2.weight, self.fc2.bias).tanh()
        return self.fc3(h)


def test_broken_layer_is_flagged_exactly():
    tg.manual_seed(0)
    model = Broken(6, 5, 3)
    X, y = _data()
    rep = tg.check_gradients(lambda: F.cross_entropy(model(X), y), model)
    bad = {r.name for r in rep.rows if not r.ok}
    assert bad == {"fc2.weight"}, str(rep)
    assert rep["fc2.weight"].verdict in ("look closer", "bug")
    for name in ("fc1.weight", "fc1.bias", "fc2.bias", "fc3.weight", "fc3.bias"):
        assert rep[name].rel_error < 1e-6, str(rep)
    assert not rep.ok and "fc2.weight" in str(rep).splitlines()[-2]


def _mlp(dropout=0.0, batchnorm=False):
    tg.manual_seed(0)
    layers = [tg.nn.Linear(6, 8)]
    if batchnorm:
        layers.append(tg.nn.BatchNorm1d(8))
    layers += [tg.nn.Tanh(), tg.nn.Dropout(dropout), tg.nn.Linear(8, 8), tg.nn.ReLU(),
               tg.nn.Linear(8, 3)]
    return tg.nn.Sequential(*layers)


def _l2_loss(model, X, y, lambd=0.1):
    m = X.shape[0]

    def loss():
        penalty = sum((p * p).sum() for n, p in model.named_parameters() if n.endswith("weight"))
        return F.cross_entropy(model(X), y) + lambd / (2 * m) * penalty
    return loss


def test_whole_mlp_with_l2_penalty_and_dropout_passes():
    model = _mlp(dropout=0.5)
    X, y = _data()
    inner = _l2_loss(model, X, y)
    probe = tg.ones(64)
    seen = set()

    def dropout_is_identity():  # the Dropout module, in train mode, leaves its input alone
        return bool(np.array_equal(model[2](probe).detach().numpy(), probe.detach().numpy()))

    def loss():
        seen.add(dropout_is_identity())
        return inner()

    rep = tg.check_gradients(loss, model.named_parameters(), model=model)
    # off during the check, back on after (p untouched)
    assert seen == {True} and model[2].training and model[2].p == 0.5
    assert not dropout_is_identity()
    assert rep.ok, str(rep)
    assert rep.rel_error < 1e-7 and len(rep.rows) == 6


def test_batchnorm_train_mode_kept_and_running_stats_restored():
    model = _mlp(batchnorm=True)
    model.train()
    bn = model[1]
    mean_before = bn.running_mean.detach().numpy().copy()
    arr = bn.running_mean.detach().numpy()
    nbt = int(bn.num_batches_tracked.detach().numpy())
    X, y = _data()
    rep = tg.check_gradients(_l2_loss(model, X, y), model)
    assert rep.ok, str(rep)
    assert bn.training
    # the bias right before batch norm has a zero gradient: judged by round-off, not the ratio
    assert rep["0.bias"].verdict in ("great", "great (zero grad)")
    assert bn.running_mean.detach().numpy() is arr
    np.testing.assert_array_equal(bn.running_mean.detach().numpy(), mean_before)
    assert int(bn.num_batches_tracked.detach().numpy()) == nbt


def test_model_left_exactly_as_found():
    model = _mlp(dropout=0.3)
    X, y = _data()
    F.cross_entropy(model(X), y).backward()  # some existing .grad to preserve
    before = {n: (p, p.detach().numpy(), p.detach().numpy().copy(), p.grad, p.grad.detach().numpy().copy(), p.dtype)
              for n, p in model.named_parameters()}
    drop = model[2]
    tg.manual_seed(123)
    state = tg.random.get_rng_state()
    tg.check_gradients(_l2_loss(model, X, y), model, max_elements=5)
    assert drop.p == 0.3 and model.training
    assert tg.random.get_rng_state().tolist() == state.tolist()  # a uint8 tensor, as torch
    for n, p in model.named_parameters():
        obj, arr, vals, g, gvals, dt = before[n]
        assert p is obj and p.detach().numpy() is arr and p.dtype == dt == np.float32
        np.testing.assert_array_equal(p.detach().numpy(), vals)
        assert p.grad is g
        np.testing.assert_array_equal(p.grad.detach().numpy(), gvals)
        assert p.requires_grad
    assert X.dtype == np.float32


def test_restores_even_when_loss_fn_raises():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    arr = w.detach().numpy()
    calls = []

    def loss():
        calls.append(1)
        if len(calls) > 2:
            raise ValueError("boom")
        return (w * w).sum()

    with pytest.raises(ValueError, match="boom"):
        tg.check_gradients(loss, {"w": w})
    assert w.detach().numpy() is arr and w.dtype == np.float32 and w.grad is None


def test_functional_dropout_switched_off_during_check():
    w = tg.tensor(np.linspace(-1, 1, 6), dtype=tg.float64, requires_grad=True)
    rep = tg.check_gradients(lambda: (F.dropout(w, 0.5, training=True) ** 2).sum(), {"w": w})
    np.testing.assert_allclose(rep["w"].analytic_grad, 2 * w.detach().numpy())  # no mask, no scaling
    assert F.dropout(w, 1.0, training=True).detach().numpy().sum() == 0  # switched back on afterwards


def test_sampling_is_seeded_and_bounded():
    rng = np.random.default_rng(2)
    W = tg.tensor(rng.standard_normal((20, 30)), requires_grad=True)
    f = lambda: (W.sin() * W).sum()  # noqa: E731
    r1 = tg.check_gradients(f, {"W": W}, max_elements=10, seed=3)["W"]
    r2 = tg.check_gradients(f, {"W": W}, max_elements=10, seed=3)["W"]
    r3 = tg.check_gradients(f, {"W": W}, max_elements=10, seed=4)["W"]
    assert r1.n_checked == 10 and r1.n_total == 600
    np.testing.assert_array_equal(r1.indices, r2.indices)
    assert not np.array_equal(r1.indices, r3.indices)
    assert r1.rel_error < 1e-7
    assert "10/600" in str(tg.check_gradients(f, {"W": W}, max_elements=10))


def test_input_validation():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="scalar"):
        tg.check_gradients(lambda: w * 2, {"w": w})
    with pytest.raises(ValueError, match="empty"):
        tg.check_gradients(lambda: (w * 2).sum(), {})
    with pytest.raises(TypeError, match="dtype int64"):
        tg.check_gradients(lambda: (w * 2).sum(), {"i": tg.tensor([1, 2])})
    with pytest.raises(ValueError, match="not a leaf"):
        tg.check_gradients(lambda: (w * 2).sum(), {"v": w * 2})
    with pytest.raises(RuntimeError, match="does not depend"):
        tg.check_gradients(lambda: tg.tensor(1.0), {"w": w})
    assert w.dtype == np.float32


def test_unused_parameter_has_zero_gradient_and_passes():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0], requires_grad=True)
    rep = tg.check_gradients(lambda: (a * a).sum(), {"a": a, "b": b})
    assert rep.ok and rep["b"].rel_error == 0.0 and rep["b"].max_abs_error == 0.0


def test_warns_when_the_loss_is_not_float64():
    w = tg.tensor([0.5, 1.5], requires_grad=True)
    with pytest.warns(RuntimeWarning, match="float32"):
        tg.check_gradients(lambda: (w.float() * w.float()).sum(), {"w": w})


def test_cnn_and_lstm_models_pass():
    """Kernel-backed layers (conv, pooling, fused LSTM) run in float64 under the check too."""
    tg.manual_seed(0)
    nn = tg.nn
    cnn = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3 * 4 * 4, 5))
    X = tg.randn(4, 1, 8, 8)  # float32 input: promotes against the float64 copies
    y = tg.tensor([0, 1, 2, 3])
    rep = tg.check_gradients(lambda: F.cross_entropy(cnn(X), y), cnn, max_elements=20)
    assert rep.ok, str(rep)
    lstm, head = nn.LSTM(3, 4, batch_first=True), nn.Linear(4, 2)
    Xs = tg.randn(2, 5, 3)

    def loss():
        out, _ = lstm(Xs)
        return (head(out[:, -1]) ** 2).sum()

    params = dict(list(lstm.named_parameters(prefix="lstm")) +
                  list(head.named_parameters(prefix="head")))
    rep = tg.check_gradients(loss, params, max_elements=10)
    assert rep.ok, str(rep)
    assert all(p.dtype == np.float32 for p in params.values())


def test_progress_bar_option(capsys):
    W = tg.tensor(np.random.default_rng(0).standard_normal((30, 30)), requires_grad=True)
    rep = tg.check_gradients(lambda: (W.tanh() ** 2).sum(), {"W": W}, max_elements=None,
                             progress=True)
    assert rep.ok and rep["W"].n_checked == 900
    assert "check_gradients" in capsys.readouterr().err
