"""Losses vs PyTorch in float64 (values, input gradients, reductions and options), gradcheck,
double backward, the course's multi-task loss and L2/L1 penalties, and error messages."""
import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import nn
from tensorgrad.nn import functional as F


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _check(torch, tfn, gfn, arrays, grad_idx=(0,), rtol=1e-10, atol=1e-12, grad_rtol=1e-9):
    """Run both frameworks on the same arrays; compare value and gradients of the inputs in
    ``grad_idx`` (for a non-scalar result, with a random upstream gradient)."""
    tins = [torch.tensor(a, requires_grad=i in grad_idx) for i, a in enumerate(arrays)]
    gins = [tg.tensor(a, requires_grad=i in grad_idx) for i, a in enumerate(arrays)]
    to, go = tfn(*tins), gfn(*gins)
    np.testing.assert_allclose(go.data, to.detach().numpy(), rtol=rtol, atol=atol)
    up = np.random.default_rng(0).standard_normal(to.shape)
    (to * torch.tensor(up)).sum().backward()
    (go * tg.tensor(up)).sum().backward()
    for i in grad_idx:
        np.testing.assert_allclose(gins[i].grad.data, tins[i].grad.numpy(), rtol=grad_rtol,
                                   atol=1e-11, err_msg=f"input {i}")


RNG = np.random.default_rng(42)
LOGITS = RNG.standard_normal((6, 4)) * 3
TARGET = np.array([0, 3, 1, 1, 2, 3])
LOGITS_K = RNG.standard_normal((3, 4, 2, 5))
TARGET_K = RNG.integers(0, 4, size=(3, 2, 5))
WEIGHT = np.array([0.5, 2.0, 1.0, 0.2])
PROBS = RNG.dirichlet(np.ones(4), size=6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("variant", ["plain", "weight", "ignore", "smooth", "weight+smooth+ignore",
                                     "kdim", "kdim+weight+ignore", "probs", "probs+weight+smooth",
                                     "unbatched"])
def test_cross_entropy_matches_pytorch(torch, reduction, variant):
    kw = {"reduction": reduction}
    x, t = LOGITS, TARGET
    if "kdim" in variant:
        x, t = LOGITS_K, TARGET_K.copy()
    if "probs" in variant:
        t = PROBS
    if "unbatched" in variant:
        x, t = LOGITS[0], np.array(2)
    if "weight" in variant:
        kw["weight"] = WEIGHT
    if "ignore" in variant:
        t = t.copy()
        t.flat[1] = 3
        kw["ignore_index"] = 3
    if "smooth" in variant:
        kw["label_smoothing"] = 0.15

    def run(mod, fnmod):
        def f(x, t):
            k = dict(kw)
            if "weight" in k:
                k["weight"] = mod.tensor(k["weight"])
            return fnmod.cross_entropy(x, t, **k)
        return f
    _check(torch, run(torch, torch.nn.functional), run(tg, F), [x, t])
    # module form gives the same
    gm = nn.CrossEntropyLoss(**{k: (tg.tensor(v) if k == "weight" else v) for k, v in kw.items()})
    np.testing.assert_allclose(gm(tg.tensor(x), tg.tensor(t)).data,
                               run(tg, F)(tg.tensor(x), tg.tensor(t)).data)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_matches_pytorch(torch, reduction):
    lp = LOGITS - np.log(np.exp(LOGITS).sum(1, keepdims=True))
    for kw in ({}, {"weight": WEIGHT, "ignore_index": 1}):
        def run(mod, fnmod):
            def f(x, t):
                k = dict(kw, reduction=reduction)
                if "weight" in k:
                    k["weight"] = mod.tensor(k["weight"])
                return fnmod.nll_loss(x, t, **k)
            return f
        _check(torch, run(torch, torch.nn.functional), run(tg, F), [lp, TARGET])
    _check(torch, torch.nn.NLLLoss(reduction=reduction), nn.NLLLoss(reduction=reduction),
           [LOGITS_K, TARGET_K])


def test_cross_entropy_all_ignored_is_nan_like_pytorch(torch):
    t = np.full(6, -100)
    ref = torch.nn.functional.cross_entropy(torch.tensor(LOGITS), torch.tensor(t))
    got = F.cross_entropy(tg.tensor(LOGITS), tg.tensor(t))
    assert np.isnan(ref.item()) and np.isnan(got.item())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_matches_pytorch(torch, reduction):
    p = 1 / (1 + np.exp(-RNG.standard_normal((5, 3))))
    y = RNG.integers(0, 2, size=(5, 3)).astype(float)
    y[0, 0] = 0.3  # soft labels are allowed
    w = RNG.random((1, 3)) + 0.5
    _check(torch, lambda a, b: torch.nn.functional.binary_cross_entropy(a, b, reduction=reduction),
           lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction), [p, y], grad_idx=(0, 1))
    _check(torch, torch.nn.BCELoss(weight=torch.tensor(w), reduction=reduction),
           nn.BCELoss(weight=tg.tensor(w), reduction=reduction), [p, y], grad_idx=(0, 1))


def test_bce_clamps_log_at_minus_100(torch):
    p = np.array([0.0, 1.0, 0.5, 1e-60])
    y = np.array([1.0, 0.0, 1.0, 1.0])
    _check(torch, lambda a, b: torch.nn.functional.binary_cross_entropy(a, b, reduction="none"),
           lambda a, b: F.binary_cross_entropy(a, b, reduction="none"), [p, y], grad_rtol=1e-8)
    assert F.binary_cross_entropy(tg.tensor(p), tg.tensor(y), reduction="none").data[0] == 100


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits_matches_pytorch(torch, reduction):
    x = RNG.standard_normal((5, 3)) * 4
    x[0, 0] = 0.0       # exact zero logit: gradient sigmoid(0) - y, not a kink
    x[1, 1] = 80.0      # far in the tails: stable
    x[2, 2] = -80.0
    y = RNG.integers(0, 2, size=(5, 3)).astype(float)
    y[3, 0] = 0.25
    pw = np.array([1.0, 3.0, 0.5])
    w = RNG.random((5, 1)) + 0.5
    F_t = torch.nn.functional
    _check(torch, lambda a, b: F_t.binary_cross_entropy_with_logits(a, b, reduction=reduction),
           lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction), [x, y],
           grad_idx=(0, 1))
    _check(torch, torch.nn.BCEWithLogitsLoss(weight=torch.tensor(w), pos_weight=torch.tensor(pw),
                                             reduction=reduction),
           nn.BCEWithLogitsLoss(weight=tg.tensor(w), pos_weight=tg.tensor(pw), reduction=reduction),
           [x, y], grad_idx=(0, 1))


def test_zero_logits_gradient_is_sigmoid_minus_y():
    x = tg.zeros(4, 1, dtype=tg.float64, requires_grad=True)
    y = tg.tensor(np.array([[1.0], [0.0], [1.0], [1.0]]))
    F.binary_cross_entropy_with_logits(x, y, reduction="sum").backward()
    np.testing.assert_allclose(x.grad.data, 0.5 - y.data)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses_match_pytorch(torch, name, reduction):
    a = RNG.standard_normal((4, 3))
    b = RNG.standard_normal((4, 3))
    b[0, 0] = a[0, 0]  # a tie: l1 gradient 0 like torch's sign
    _check(torch, lambda u, v: getattr(torch.nn.functional, name)(u, v, reduction=reduction),
           lambda u, v: getattr(F, name)(u, v, reduction=reduction), [a, b], grad_idx=(0, 1))
    cls = {"mse_loss": "MSELoss", "l1_loss": "L1Loss"}[name]
    _check(torch, getattr(torch.nn, cls)(reduction=reduction), getattr(nn, cls)(reduction=reduction),
           [a, b])


def test_loss_gradchecks_and_double_backward():
    x = tg.tensor(RNG.standard_normal((5, 4)), requires_grad=True)
    t = tg.tensor(RNG.integers(0, 4, size=5))
    w = tg.tensor(WEIGHT)
    for fn in (lambda x: F.cross_entropy(x, t, weight=w, label_smoothing=0.1),
               lambda x: F.cross_entropy(x, tg.tensor(PROBS[:5])),
               lambda x: F.nll_loss(x.log_softmax(1), t, reduction="sum")):
        assert tg.gradcheck(fn, (x,))
        assert tg.gradgradcheck(fn, (x,))
    y = tg.tensor(RNG.random((5, 4)), requires_grad=True)
    pw = tg.tensor(np.array([1.0, 2.0, 0.5, 3.0]))
    assert tg.gradcheck(lambda x, y: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw), (x, y))
    assert tg.gradgradcheck(lambda x, y: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw),
                            (x, y))
    p = tg.tensor(RNG.random((5, 4)) * 0.8 + 0.1, requires_grad=True)
    assert tg.gradcheck(lambda p, y: F.binary_cross_entropy(p, y), (p, y))
    assert tg.gradgradcheck(lambda p, y: F.binary_cross_entropy(p, y), (p, y))
    assert tg.gradcheck(lambda a, b: F.mse_loss(a, b) + F.l1_loss(a, b), (x, y))


def test_bce_with_logits_double_backward_matches_pytorch(torch):
    xs = RNG.standard_normal((4, 3))
    ys = RNG.random((4, 3))
    tx = torch.tensor(xs, requires_grad=True)
    (gt,) = torch.autograd.grad(torch.nn.functional.binary_cross_entropy_with_logits(
        tx, torch.tensor(ys), pos_weight=torch.tensor([2.0, 1.0, 0.5], dtype=torch.float64)),
        tx, create_graph=True)
    (gt ** 2).sum().backward()
    gx = tg.tensor(xs, requires_grad=True)
    (gg,) = tg.grad(F.binary_cross_entropy_with_logits(
        gx, tg.tensor(ys), pos_weight=tg.tensor(np.array([2.0, 1.0, 0.5]))), gx, create_graph=True)
    (gg ** 2).sum().backward()
    np.testing.assert_allclose(gx.grad.data, tx.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_loss_errors_name_the_loss_and_shapes():
    x = tg.randn(4, 3)
    with pytest.raises(ValueError, match=r"cross_entropy: input batch size 4 does not match "
                                         r"target batch size 5"):
        F.cross_entropy(x, tg.tensor([0, 1, 2, 0, 1]))
    with pytest.raises(IndexError, match=r"cross_entropy: target 3 is out of bounds for 3 "
                                         r"classes"):
        F.cross_entropy(x, tg.tensor([0, 1, 3, 0]))
    with pytest.raises(ValueError, match="out of bounds"):  # also a ValueError
        F.nll_loss(x, tg.tensor([0, -2, 1, 0]))
    with pytest.raises(ValueError, match=r"cross_entropy: probability targets must have the "
                                         r"input's shape \(4, 3\), got \(4,\)"):
        F.cross_entropy(x, tg.tensor([0.0, 1.0, 2.0, 0.0]))
    with pytest.raises(ValueError, match=r"cross_entropy: expected a target of shape \(4,\)"):
        F.cross_entropy(x, tg.tensor([[0, 1, 2, 0]]))
    with pytest.raises(TypeError, match="nll_loss: expected integer class-index targets"):
        F.nll_loss(x, tg.tensor([0.0, 1.0, 2.0, 0.0]))
    with pytest.raises(TypeError, match="cross_entropy: expected a floating point input"):
        F.cross_entropy(tg.tensor([[1, 2]]), tg.tensor([0]))
    with pytest.raises(ValueError, match=r"cross_entropy: weight must have shape \(3,\)"):
        F.cross_entropy(x, tg.tensor([0, 1, 2, 0]), weight=tg.ones(4))
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: target size "
                                         r"\(4, 1\) is different from the input size \(4,\)"):
        F.binary_cross_entropy_with_logits(tg.randn(4), tg.zeros(4, 1))
    with pytest.raises(ValueError, match="binary_cross_entropy: all elements of input should be "
                                         "between 0 and 1"):
        F.binary_cross_entropy(tg.tensor([0.5, 1.5]), tg.tensor([1.0, 0.0]))
    with pytest.raises(TypeError, match="binary_cross_entropy: expected a floating point target"):
        F.binary_cross_entropy(tg.tensor([0.5]), tg.tensor([1]))
    with pytest.raises(ValueError, match=r"mse_loss: input shape \(4, 3\) and target shape "
                                         r"\(5, 3\) do not match"):
        F.mse_loss(x, tg.randn(5, 3))
    with pytest.warns(UserWarning, match="mse_loss: using a target size"):
        F.mse_loss(tg.randn(4, 1), tg.randn(4))
    with pytest.raises(ValueError, match="reduction must be"):
        F.l1_loss(x, x, reduction="avg")


def test_multitask_loss_sums_only_labelled_entries(torch):
    x = RNG.standard_normal((5, 4))
    y = RNG.integers(0, 2, size=(5, 4)).astype(float)
    mask = RNG.random((5, 4)) > 0.3
    y_nan = np.where(mask, y, np.nan)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor(x), torch.tensor(y), reduction="none").numpy()
    expected_sum = (ref * mask).sum()
    gx = tg.tensor(x, requires_grad=True)
    loss = F.multitask_bce_with_logits(gx, tg.tensor(y_nan))  # NaN = unlabelled
    np.testing.assert_allclose(loss.item(), expected_sum / 5)  # the course's 1/m sum_i sum_j
    loss.backward()
    sig = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(gx.grad.data, (sig - y) * mask / 5, atol=1e-12)
    assert np.isfinite(gx.grad.data).all()
    via_mask = nn.MultiTaskBCEWithLogitsLoss(reduction="sum")(tg.tensor(x), tg.tensor(y),
                                                             tg.tensor(mask))
    np.testing.assert_allclose(via_mask.item(), expected_sum)
    lab = F.multitask_bce_with_logits(tg.tensor(x), tg.tensor(y), mask=mask,
                                      reduction="mean_labelled")
    np.testing.assert_allclose(lab.item(), expected_sum / mask.sum())
    with pytest.raises(ValueError, match="mask shape"):
        F.multitask_bce_with_logits(tg.tensor(x), tg.tensor(y), mask=mask[:, :2])


def test_l2_and_l1_penalties_follow_the_notes():
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.BatchNorm1d(4), nn.Linear(4, 2)).double()
    lam, n = 0.7, 20
    w1, w2 = m[0].weight.data, m[3].weight.data
    pen = nn.l2_penalty(m, lam, n)
    np.testing.assert_allclose(pen.item(), lam / (2 * n) * ((w1 ** 2).sum() + (w2 ** 2).sum()))
    pen.backward()
    np.testing.assert_allclose(m[0].weight.grad.data, lam / n * w1)  # dW += (λ/m) W
    assert m[0].bias.grad is None and m[2].weight.grad is None  # biases, BN not penalized
    l1 = nn.l1_penalty([m[0].weight, m[3].weight], lam, n)
    np.testing.assert_allclose(l1.item(), lam / n * (np.abs(w1).sum() + np.abs(w2).sum()))
    allp = nn.l2_penalty(m, lam, n, weights_only=False)
    assert allp.item() > pen.item()
    with pytest.raises(ValueError, match="l2_penalty: m"):
        nn.l2_penalty(m, lam, 0)
    with pytest.raises(ValueError, match="no weight tensors"):
        nn.l2_penalty([m[0].bias], lam, n)


def test_one_hot(torch):
    t = np.array([[0, 2], [1, 1]])
    np.testing.assert_array_equal(F.one_hot(tg.tensor(t), 4).data,
                                  torch.nn.functional.one_hot(torch.tensor(t), 4).numpy())
    assert F.one_hot(tg.tensor([3, 1])).shape == (2, 4)
    with pytest.raises(ValueError, match="one_hot"):
        F.one_hot(tg.tensor([3]), 2)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_fused_cross_entropy_fast_twin_matches_tensor_vjp(reduction):
    rng = np.random.default_rng(3)
    xs = rng.standard_normal((7, 5))
    t = tg.tensor(np.array([0, 4, 2, 2, 1, -100, 3]))
    w = tg.tensor(rng.random(5) + 0.5)
    up = rng.standard_normal(7) if reduction == "none" else np.array(1.7)
    x1 = tg.tensor(xs, requires_grad=True)
    out = F.cross_entropy(x1, t, weight=w, reduction=reduction)
    assert out.grad_fn.name == "cross_entropy"  # one fused op
    (out * tg.tensor(up)).sum().backward()
    x2 = tg.tensor(xs, requires_grad=True)
    out2 = F.cross_entropy(x2, t, weight=w, reduction=reduction)
    (g,) = tg.grad([out2], [x2], grad_outputs=[tg.tensor(np.broadcast_to(up, out2.shape).copy())],
                   create_graph=True)
    np.testing.assert_allclose(x1.grad.data, g.data, rtol=1e-12, atol=1e-14)
    assert not x1.grad.data[5].any()  # the ignored row


def test_multitask_loss_gradcheck():
    x = tg.tensor(RNG.standard_normal((4, 3)), requires_grad=True)
    y = np.where(RNG.random((4, 3)) > 0.3, RNG.integers(0, 2, size=(4, 3)), np.nan)
    assert tg.gradcheck(lambda x: F.multitask_bce_with_logits(x, tg.tensor(y)), (x,))
    assert tg.gradgradcheck(lambda x: F.multitask_bce_with_logits(x, tg.tensor(y)), (x,))


def test_functional_namespace_has_the_api_names():
    names = ("linear relu leaky_relu sigmoid tanh softmax log_softmax dropout batch_norm "
             "embedding pad cross_entropy nll_loss binary_cross_entropy "
             "binary_cross_entropy_with_logits mse_loss l1_loss one_hot").split()
    missing = [n for n in names if not callable(getattr(F, n, None))]
    assert not missing
    for n in ("CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "MSELoss", "L1Loss",
              "MultiTaskBCEWithLogitsLoss", "l2_penalty", "l1_penalty"):
        assert hasattr(tg.nn, n), n
