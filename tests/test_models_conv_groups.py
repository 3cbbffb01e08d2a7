"""Grouped, depthwise and dilated convolution (conv1d/2d/3d ``groups=``, ``dilation=`` and
``nn.Conv*d(groups=)``): PyTorch parity in float64 (outputs, gradients, second derivatives),
gradcheck/gradgradcheck, torch's weight shape and init, and the errors."""
import math

import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import nn
from tensorgrad.nn import functional as F

CASES = [  # (nd, C, Co, groups, stride, padding, dilation)
    (2, 4, 6, 2, 1, 1, 1),
    (2, 6, 6, 6, 1, 1, 1),          # depthwise
    (2, 4, 8, 4, 2, 2, 2),          # depthwise multiplier 2, strided and dilated
    (2, 6, 3, 3, 1, 0, (1, 2)),
    (2, 3, 5, 1, 1, 2, 2),          # dilation alone
    (1, 4, 4, 2, 1, 1, 2),
    (3, 4, 4, 4, 1, 1, 1),
]


def _run(case, rng):
    nd, C, Co, g, s, p, d = case
    sp = {1: (9,), 2: (7, 8), 3: (5, 6, 5)}[nd]
    x = rng.standard_normal((2, C) + sp)
    w = rng.standard_normal((Co, C // g) + (3,) * nd)
    b = rng.standard_normal(Co)
    return x, w, b


@pytest.mark.parametrize("case", CASES)
def test_grouped_conv_matches_torch(case):
    torch = pytest.importorskip("torch")
    nd, C, Co, g, s, p, d = case
    rng = np.random.default_rng(0)
    x, w, b = _run(case, rng)
    f = getattr(F, f"conv{nd}d")
    tf = getattr(torch.nn.functional, f"conv{nd}d")
    X, W, B = (tg.tensor(a, requires_grad=True) for a in (x, w, b))
    tX, tW, tB = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    y = f(X, W, B, stride=s, padding=p, dilation=d, groups=g)
    ty = tf(tX, tW, tB, stride=s, padding=p, dilation=d, groups=g)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=1e-12)
    gy = rng.standard_normal(ty.shape)
    gs = tg.grad((y * tg.tensor(gy)).sum(), [X, W, B], create_graph=True)
    tgs = torch.autograd.grad((ty * torch.tensor(gy)).sum(), [tX, tW, tB], create_graph=True)
    for a, t in zip(gs, tgs):
        np.testing.assert_allclose(a.detach().numpy(), t.detach().numpy(), atol=1e-12)
    # second derivatives: d/d(x, w) of <grad_w, v>
    v = rng.standard_normal(w.shape)
    u = rng.standard_normal(x.shape)
    hh = tg.grad((gs[1] * tg.tensor(v)).sum() + (gs[0] * tg.tensor(u)).sum(), [X, W])
    th = torch.autograd.grad((tgs[1] * torch.tensor(v)).sum()
                             + (tgs[0] * torch.tensor(u)).sum(), [tX, tW])
    for a, t in zip(hh, th):
        np.testing.assert_allclose(a.detach().numpy(), t.numpy(), atol=1e-12)


def test_grouped_conv_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(3)
    x = tg.tensor(rng.standard_normal((1, 4, 5, 5)), requires_grad=True)
    w = tg.tensor(rng.standard_normal((4, 2, 3, 3)), requires_grad=True)
    b = tg.tensor(rng.standard_normal(4), requires_grad=True)
    fn = lambda x, w, b: F.conv2d(x, w, b, padding=1, dilation=1, groups=2)  # noqa: E731
    assert tg.gradcheck(fn, (x, w, b))
    assert tg.gradgradcheck(fn, (x, w, b))
    dw = lambda x, w: F.conv2d(x, w, None, padding=2, dilation=2, groups=4)  # noqa: E731
    w1 = tg.tensor(rng.standard_normal((4, 1, 3, 3)), requires_grad=True)
    assert tg.gradcheck(dw, (x, w1)) and tg.gradgradcheck(dw, (x, w1))


def test_conv_layer_groups_weight_shape_init_and_repr():
    tg.manual_seed(0)
    m = nn.Conv2d(8, 16, 3, groups=4, padding=1)
    assert m.weight.shape == (16, 2, 3, 3) and m.groups == 4
    bound = 1 / math.sqrt(2 * 9)  # fan_in = in/groups * k*k, as torch
    w = m.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(m.bias.detach().numpy()).max() <= bound
    assert "groups=4" in repr(m)
    assert m(tg.randn(2, 8, 5, 5)).shape == (2, 16, 5, 5)
    dw = nn.Conv1d(3, 3, 3, groups=3, dilation=2)
    assert dw.weight.shape == (3, 1, 3) and dw(tg.randn(1, 3, 9)).shape == (1, 3, 5)
    torch = pytest.importorskip("torch")
    tm = torch.nn.Conv2d(8, 16, 3, groups=4, padding=1)
    assert {k: tuple(v.shape) for k, v in tm.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in m.state_dict().items()}


def test_groups_errors_name_the_op_and_shapes():
    x = tg.randn(1, 6, 5, 5)
    with pytest.raises(ValueError, match=r"conv2d: input has 6 channels, weight expects 8 = 4 "
                                         r"per group x groups=2"):
        F.conv2d(x, tg.randn(4, 4, 3, 3), groups=2)
    with pytest.raises(ValueError, match=r"conv2d: out_channels 5 .* divisible by groups=2"):
        F.conv2d(x, tg.randn(5, 3, 3, 3), groups=2)
    with pytest.raises(ValueError, match="conv2d: groups must be a positive integer, got 0"):
        F.conv2d(x, tg.randn(4, 6, 3, 3), groups=0)
    with pytest.raises(ValueError, match=r"Conv2d: in_channels \(6\) and out_channels \(4\) "
                                         r"must both be divisible by groups \(4\)"):
        nn.Conv2d(6, 4, 3, groups=4)
