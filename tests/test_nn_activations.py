"""Activation functions and modules against PyTorch in float64: values, gradients (including
the kinks), second derivatives, gradcheck; module arguments, attributes and reprs; inplace."""
import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import nn
from tensorgrad.nn import functional as F

from nn_parity import compare_with_torch, gradchecks


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


# the kinks and edges of every piecewise activation, plus random points
KINKS = np.array([-6.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 6.0, 20.0, 25.0, -25.0, 1e-30])
RNG = np.random.default_rng(0)
X = np.concatenate([KINKS, RNG.standard_normal(11) * 3]).reshape(4, 6)

# (name, tensorgrad call, torch call with the same arguments)
ACTS = [
    ("gelu", lambda F, x: F.gelu(x)),
    ("gelu_tanh", lambda F, x: F.gelu(x, approximate="tanh")),
    ("silu", lambda F, x: F.silu(x)),
    ("mish", lambda F, x: F.mish(x)),
    ("elu", lambda F, x: F.elu(x)),
    ("elu_alpha", lambda F, x: F.elu(x, alpha=0.7)),
    ("celu", lambda F, x: F.celu(x)),
    ("celu_alpha", lambda F, x: F.celu(x, alpha=2.0)),
    ("selu", lambda F, x: F.selu(x)),
    ("hardtanh", lambda F, x: F.hardtanh(x)),
    ("hardtanh_bounds", lambda F, x: F.hardtanh(x, -3.0, 0.5)),
    ("relu6", lambda F, x: F.relu6(x)),
    ("hardsigmoid", lambda F, x: F.hardsigmoid(x)),
    ("hardswish", lambda F, x: F.hardswish(x)),
    ("softsign", lambda F, x: F.softsign(x)),
    ("logsigmoid", lambda F, x: F.logsigmoid(x)),
    ("tanhshrink", lambda F, x: F.tanhshrink(x)),
    ("softshrink", lambda F, x: F.softshrink(x, 0.5)),
    ("hardshrink", lambda F, x: F.hardshrink(x, 0.5)),
    ("threshold", lambda F, x: F.threshold(x, 0.5, -2.0)),
    ("softmin", lambda F, x: F.softmin(x, dim=1)),
    ("glu", lambda F, x: F.glu(x, dim=1)),
    ("glu_0", lambda F, x: F.glu(x, 0)),
    ("rrelu_eval", lambda F, x: F.rrelu(x, 0.1, 0.3)),
]


# torch has no second derivative for these (ours is checked by gradgradcheck)
NO_TORCH_SECOND = {"hardsigmoid"}


@pytest.mark.parametrize("name,call", ACTS, ids=[a[0] for a in ACTS])
def test_activation_matches_torch(torch, name, call):
    compare_with_torch(torch, lambda x: call(F, x), lambda x: call(torch.nn.functional, x), [X],
                       second=name not in NO_TORCH_SECOND)


@pytest.mark.parametrize("name,call", ACTS, ids=[a[0] for a in ACTS])
def test_activation_gradcheck(name, call):
    x = RNG.standard_normal((4, 4)) * 2  # away from kinks with probability 1
    gradchecks(lambda t: call(F, t), [x])


def test_prelu_matches_torch(torch):
    x = RNG.standard_normal((2, 3, 4))
    for w in (np.array([0.25]), np.array([0.1, -0.2, 0.5])):
        compare_with_torch(torch, F.prelu, torch.nn.functional.prelu, [x, w])
        gradchecks(F.prelu, [x, w])
    # the module: parameter name, shape, init; x.prelu as a Tensor method
    m = nn.PReLU(3, init=0.1).double()
    assert m.weight.shape == (3,) and np.allclose(m.weight.detach().numpy(), 0.1)
    assert [k for k, _ in m.named_parameters()] == ["weight"]
    tm = torch.nn.PReLU(3, init=0.1).double()
    np.testing.assert_allclose(m(tg.tensor(x)).detach().numpy(),
                               tm(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    assert repr(m) == repr(tm)
    np.testing.assert_allclose(tg.tensor(x).prelu(m.weight).detach().numpy(),
                               torch.tensor(x).prelu(tm.weight).detach().numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="mismatch in parameter numbers"):
        F.prelu(tg.tensor(x), tg.tensor(np.ones(2)))


MODULES = [
    ("GELU", ()), ("GELU", ("tanh",)), ("SiLU", ()), ("Mish", ()), ("ELU", (0.5,)),
    ("CELU", (2.0,)), ("SELU", ()), ("ReLU6", ()), ("Hardtanh", (-2.0, 2.0)), ("Hardswish", ()),
    ("Hardsigmoid", ()), ("Softplus", (2.0, 5.0)), ("Softsign", ()), ("LogSigmoid", ()),
    ("Softmin", (1,)), ("Tanhshrink", ()), ("Softshrink", (0.3,)), ("Hardshrink", (0.3,)),
    ("Threshold", (0.1, 20.0)), ("GLU", (1,)), ("ReLU", ()), ("LeakyReLU", (0.2,)),
    ("Tanh", ()), ("Sigmoid", ()), ("Softmax", (1,)), ("LogSoftmax", (1,)), ("Softmax2d", ()),
]


@pytest.mark.parametrize("name,args", MODULES, ids=[f"{m[0]}{m[1]}" for m in MODULES])
def test_modules_match_torch(torch, name, args):
    g, t = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(g) == repr(t)
    x = RNG.standard_normal((2, 4, 3, 2))
    compare_with_torch(torch, g, t, [x], second=False)
    for attr in vars(t):
        if not attr.startswith("_") and attr != "training":
            assert getattr(g, attr) == getattr(t, attr), attr


def test_inplace_argument_like_torch(torch):
    for name, args in [("ReLU", ()), ("ELU", (0.5,)), ("Hardtanh", ()), ("SiLU", ()),
                       ("LeakyReLU", (0.1,)), ("Threshold", (0.1, 2.0))]:
        g = getattr(nn, name)(*args, inplace=True)
        t = getattr(torch.nn, name)(*args, inplace=True)
        assert repr(g) == repr(t)
        x = RNG.standard_normal((3, 4))
        gx, tx = tg.tensor(x), torch.tensor(x)
        out = g(gx)
        t(tx)
        assert out is gx  # the input holds the result, as in torch
        np.testing.assert_allclose(gx.numpy(), tx.numpy(), rtol=1e-12)
        # in a graph: the gradient flows through the in-place result
        a, ta = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, ty = a * 2.0, ta * 2.0
        g(y).sum().backward()
        t(ty).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-12)
        leaf = tg.tensor(x, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf"):
            g(leaf)
    y = tg.tensor(X)
    F.elu(y, inplace=True)
    np.testing.assert_allclose(y.numpy(), torch.nn.functional.elu(torch.tensor(X)).numpy())


def test_module_arguments_are_checked():
    with pytest.raises(TypeError, match="unexpected keyword argument 'alpha'"):
        nn.GELU(alpha=1.0)
    with pytest.raises(TypeError, match="missing required argument 'value'"):
        nn.Threshold(0.5)
    with pytest.raises(TypeError, match="at most 2"):
        nn.ELU(1.0, False, 3)
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(tg.ones(2), approximate="fast")
    with pytest.raises(TypeError, match="floating point"):
        F.silu(tg.tensor([1, 2]))


def test_float32_stays_float32_and_gelu_erf_is_accurate(torch):
    x = RNG.standard_normal(1000).astype(np.float32) * 4
    for name, call in ACTS:
        out = call(F, tg.tensor(x[:24].reshape(4, 6)))
        assert out.dtype == np.float32, name
    for approximate in ("none", "tanh"):  # float32 results are the float64 ones rounded
        got = F.gelu(tg.tensor(x), approximate=approximate).numpy()
        ref = torch.nn.functional.gelu(torch.tensor(x, dtype=torch.float64),
                                       approximate=approximate).numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(4,), (3, 5, 7, 9)])
def test_relu_kernel_matches_torch_with_nan_signed_zero_and_views(torch, dtype, shape):
    """relu's one-pass kernels (kernels/activation.py): -0.0 and NaN pass through as in
    torch.relu; the gradient is zero where the output is <= 0 and passed on at NaN (torch's
    threshold_backward); non-contiguous inputs and broadcast gradients; create_graph too."""
    x = RNG.standard_normal(shape).astype(dtype)
    x.reshape(-1)[:3] = [-0.0, np.nan, 0.0]
    for xv in (x, x.T):
        t, tt = tg.tensor(xv, requires_grad=True), torch.tensor(xv, requires_grad=True)
        y, ty = F.relu(t), torch.relu(tt)
        assert y.dtype == t.dtype
        np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
        np.testing.assert_array_equal(np.signbit(y.detach().numpy()),
                                      np.signbit(ty.detach().numpy()))
        y.sum().backward()  # a broadcast (stride-0) gradient
        ty.sum().backward()
        np.testing.assert_array_equal(t.grad.numpy(), tt.grad.numpy())
        g = RNG.standard_normal(shape).astype(dtype)
        gg, = tg.autograd.grad(F.relu(t), t, tg.tensor(g.T if xv is not x else g),
                               create_graph=True)
        tgg, = torch.autograd.grad(torch.relu(tt), tt, torch.tensor(g.T if xv is not x else g))
        np.testing.assert_array_equal(gg.detach().numpy(), tgg.numpy())
