"""Transposed convolutions against PyTorch in float64 (values, gradients of input, weight and
bias, second derivatives), the exact adjoint identity with the convolution, gradcheck and
gradgradcheck, modules (shapes, init, repr, output_size) and argument errors."""
import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import nn
from tensorgrad.nn import functional as F

from nn_parity import compare_modules, compare_with_torch, gradchecks


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


RNG = np.random.default_rng(0)

# nd, input shape, weight shape, keyword arguments
CASES = [
    (1, (2, 4, 5), (4, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    (1, (4, 6), (4, 2, 2), {}),  # unbatched
    (1, (1, 2, 4), (2, 3, 3), dict(dilation=3, output_padding=2)),  # output_padding >= stride
    (2, (2, 4, 5, 4), (4, 3, 3, 2), dict(stride=(2, 1), padding=(1, 0), output_padding=(1, 0),
                                         dilation=(1, 2))),
    (2, (2, 4, 3, 3), (4, 2, 2, 2), dict(groups=2, stride=2)),
    (2, (1, 3, 4, 4), (3, 2, 3, 3), dict(stride=3, padding=2, output_padding=2)),
    (3, (1, 2, 3, 2, 3), (2, 2, 2, 2, 2), dict(stride=2, padding=1)),
]
IDS = [f"{c[0]}d-{i}" for i, c in enumerate(CASES)]


def _fn(m, nd, kw):
    return lambda x, w, b: getattr(m, f"conv_transpose{nd}d")(x, w, b, **kw)


@pytest.mark.parametrize("nd,xs,ws,kw", CASES, ids=IDS)
def test_conv_transpose_matches_torch(torch, nd, xs, ws, kw):
    arrays = [RNG.standard_normal(xs), RNG.standard_normal(ws),
              RNG.standard_normal(ws[1] * kw.get("groups", 1))]
    compare_with_torch(torch, _fn(F, nd, kw), _fn(torch.nn.functional, nd, kw), arrays)


@pytest.mark.parametrize("nd,xs,ws,kw", CASES[:3] + CASES[4:5], ids=IDS[:3] + IDS[4:5])
def test_conv_transpose_gradcheck(nd, xs, ws, kw):
    arrays = [RNG.standard_normal(xs), RNG.standard_normal(ws),
              RNG.standard_normal(ws[1] * kw.get("groups", 1))]
    gradchecks(_fn(F, nd, kw), arrays)


@pytest.mark.parametrize("nd,xs,ws,kw", [c for c in CASES if "groups" not in c[3]],
                         ids=[i for i, c in zip(IDS, CASES) if "groups" not in c[3]])
def test_conv_transpose_is_the_adjoint_of_conv(nd, xs, ws, kw):
    """<conv_transpose(x, w), y> = <x, conv(y, w)> for every x, y."""
    x = tg.tensor(RNG.standard_normal(xs))
    w = tg.tensor(RNG.standard_normal(ws))
    y_t = getattr(F, f"conv_transpose{nd}d")(x, w, **kw)
    y = tg.tensor(RNG.standard_normal(y_t.shape))
    conv_kw = {k: v for k, v in kw.items() if k != "output_padding"}
    cx = getattr(F, f"conv{nd}d")(y, w, **conv_kw)
    # with output_padding >= stride the convolution has extra outputs: x is zero there
    cx = cx[(Ellipsis,) + tuple(slice(0, n) for n in xs[-nd:])]
    lhs = float((y_t * y).sum().item())
    rhs = float((x * cx).sum().item())
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


MODULES = [
    (lambda m: m.ConvTranspose1d(3, 4, 3, stride=2, padding=1, output_padding=1), (2, 3, 5)),
    (lambda m: m.ConvTranspose2d(4, 6, (3, 2), stride=2, groups=2, bias=False), (2, 4, 3, 3)),
    (lambda m: m.ConvTranspose2d(2, 3, 3, dilation=2, padding=1), (1, 2, 4, 5)),
    (lambda m: m.ConvTranspose3d(2, 2, 2, stride=2), (1, 2, 2, 3, 2)),
]


@pytest.mark.parametrize("make,shape", MODULES, ids=["1d", "2d-groups", "2d-dilation", "3d"])
def test_conv_transpose_modules_match_torch(torch, make, shape):
    t, g = make(torch.nn), make(nn)
    assert repr(g) == repr(t)
    for (k, v), (tk, tv) in zip(g.named_parameters(), t.named_parameters()):
        assert k == tk and v.shape == tuple(tv.shape)
    # the default init: U(±1/sqrt(fan_in)) with torch's fan_in for this layout
    bound = 1 / np.sqrt(g.weight.shape[1] * np.prod(g.kernel_size))
    assert np.abs(g.weight.detach().numpy()).max() <= bound
    assert g.weight.detach().numpy().std() > bound / 3
    compare_modules(torch, t, g, RNG.standard_normal(shape))


def test_output_size_argument(torch):
    t, g = torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1), nn.ConvTranspose2d(
        2, 3, 3, stride=2, padding=1)
    g.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    x = RNG.standard_normal((1, 2, 4, 5)).astype(np.float32)
    for size in ((7, 9), (8, 10), (1, 2, 8, 9)):
        np.testing.assert_allclose(g(tg.tensor(x), output_size=size).detach().numpy(),
                                   t(torch.tensor(x), output_size=size).detach().numpy(),
                                   rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="valid sizes range"):
        g(tg.tensor(x), output_size=(10, 10))


def test_conv_transpose_errors_like_torch():
    x = tg.randn(1, 2, 4, 4)
    with pytest.raises(RuntimeError, match="kernel size should be greater than zero"):
        F.conv_transpose2d(x, tg.randn(2, 3, 0, 3))
    with pytest.raises(ValueError, match="output padding must be smaller"):
        F.conv_transpose2d(x, tg.randn(2, 3, 3, 3), output_padding=1)
    with pytest.raises(RuntimeError, match="too small"):
        F.conv_transpose1d(tg.randn(1, 2, 4), tg.randn(2, 3, 3), padding=5)
    with pytest.raises(ValueError, match="divisible by groups"):
        F.conv_transpose2d(x, tg.randn(2, 3, 3, 3), groups=3)
    with pytest.raises(TypeError, match="tg.tensor"):
        nn.ConvTranspose2d(2, 3, 3)(np.ones((1, 2, 4, 4), dtype=np.float32))
    with pytest.raises(RuntimeError, match="CPU only"):
        nn.ConvTranspose1d(2, 3, 3, device="cuda:0")
    # empty batch, as torch
    assert F.conv_transpose2d(tg.randn(0, 2, 4, 4), tg.randn(2, 3, 2, 2)).shape == (0, 3, 5, 5)
