"""Resampling, padding, unpooling, pixel shuffle and fold/unfold against PyTorch in float64:
values (every interpolate mode, align_corners, scale factors and sizes), gradients, second
derivatives, gradcheck; modules and reprs; PyTorch's errors."""
import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import nn
from tensorgrad.nn import functional as F

from nn_parity import compare_with_torch, gradchecks


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


RNG = np.random.default_rng(0)
SHAPES = {1: (2, 3, 5), 2: (1, 2, 4, 7), 3: (1, 1, 3, 4, 5)}
MODES = {1: ["nearest", "nearest-exact", "area", "linear"],
         2: ["nearest", "nearest-exact", "area", "bilinear", "bicubic"],
         3: ["nearest", "nearest-exact", "area", "trilinear"]}
SIZES = [dict(scale_factor=2), dict(scale_factor=1.7), dict(scale_factor=0.6),
         dict(scale_factor=0.37), dict(size=3), dict(size=11),
         dict(scale_factor=2.3, recompute_scale_factor=True)]


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_interpolate_values_match_torch_for_every_mode(torch, nd):
    x = RNG.standard_normal(SHAPES[nd])
    for mode in MODES[nd]:
        for kw in SIZES:
            for ac in ([None] if mode in ("nearest", "nearest-exact", "area") else [False, True]):
                ref = torch.nn.functional.interpolate(torch.tensor(x), mode=mode, align_corners=ac,
                                                      **kw).numpy()
                got = F.interpolate(tg.tensor(x), mode=mode, align_corners=ac, **kw).numpy()
                assert got.shape == ref.shape, (mode, kw, ac)
                np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-13,
                                           err_msg=f"{mode} {kw} align_corners={ac}")


GRAD_CASES = [
    ("nearest", dict(scale_factor=1.5), 2), ("nearest-exact", dict(size=(3, 9)), 2),
    ("linear", dict(scale_factor=2.5), 1), ("bilinear", dict(size=(6, 5)), 2),
    ("bilinear_ac", dict(size=(3, 9), align_corners=True), 2),
    ("bicubic", dict(scale_factor=1.6), 2), ("bicubic_ac", dict(size=(5, 3), align_corners=True), 2),
    ("trilinear", dict(scale_factor=(1.5, 0.7, 2)), 3), ("area", dict(size=(3, 5)), 2),
]


@pytest.mark.parametrize("mode,kw,nd", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_interpolate_gradients_match_torch(torch, mode, kw, nd):
    m = mode.split("_")[0]
    shape = (1, 2, 3, 4, 3)[:nd + 2] if nd == 3 else SHAPES[nd]
    x = RNG.standard_normal(shape)
    compare_with_torch(torch, lambda t: F.interpolate(t, mode=m, **kw),
                       lambda t: torch.nn.functional.interpolate(t, mode=m, **kw), [x])
    gradchecks(lambda t: F.interpolate(t, mode=m, **kw), [x[:1, :1]], gradgrad=False)


def test_float32_interpolation_stays_float32_and_close_to_torch(torch):
    x = RNG.standard_normal((1, 2, 5, 6)).astype(np.float32)
    for mode in ("nearest", "bilinear", "bicubic"):
        got = F.interpolate(tg.tensor(x), scale_factor=1.7, mode=mode)
        ref = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=1.7, mode=mode)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-5, atol=1e-5)


def test_interpolate_errors_like_torch():
    x = tg.randn(1, 2, 4, 4)
    with pytest.raises(ValueError, match="align_corners option can only be set"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(x, size=3, scale_factor=2)
    with pytest.raises(ValueError, match="either size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="bilinear mode needs 4D"):
        F.interpolate(tg.randn(1, 2, 4), scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError, match="same number of spatial dimensions"):
        F.interpolate(x, size=(2, 3, 4))
    with pytest.raises(ValueError, match="recompute_scale_factor is not meaningful"):
        F.interpolate(x, size=3, recompute_scale_factor=True)
    with pytest.raises(NotImplementedError, match="antialias"):
        F.interpolate(x, size=3, mode="bilinear", antialias=True)


def test_upsample_modules(torch):
    x = RNG.standard_normal((1, 2, 3, 4))
    for g, t in ((nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
                 (nn.Upsample(size=(5, 7), mode="bicubic", align_corners=True),
                  torch.nn.Upsample(size=(5, 7), mode="bicubic", align_corners=True)),
                 (nn.UpsamplingNearest2d(scale_factor=3), torch.nn.UpsamplingNearest2d(scale_factor=3)),
                 (nn.UpsamplingBilinear2d(size=6), torch.nn.UpsamplingBilinear2d(size=6))):
        assert repr(g) == repr(t)
        compare_with_torch(torch, g, t, [x], second=False)


PADS = [((2, 3, 5), (1, 2)), ((2, 3, 5), (3, -2)), ((2, 3, 5), (-1, 2)), ((2, 3, 5), (4, 4)),
        ((1, 2, 4, 5), (1, 2, 2, 1)), ((1, 2, 4, 5), (-1, 1, 1, -1)), ((2, 4, 5), (3, 3, 3, 3)),
        ((1, 1, 3, 4, 3), (1, 1, 1, 1, 1, 1)), ((1, 1, 3, 4, 3), (2, 0, 0, 2, 1, -1))]


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_modes_match_torch(torch, mode):
    for shape, pad in PADS:
        x = RNG.standard_normal(shape)
        try:
            torch.nn.functional.pad(torch.tensor(x), pad, mode=mode)
        except RuntimeError:
            with pytest.raises(RuntimeError):
                F.pad(tg.tensor(x), pad, mode=mode)
            continue
        compare_with_torch(torch, lambda t: F.pad(t, pad, mode=mode),
                           lambda t: torch.nn.functional.pad(t, pad, mode=mode), [x])
    x = RNG.standard_normal((1, 2, 3, 4))
    gradchecks(lambda t: F.pad(t, (2, 1, -1, 2), mode=mode), [x], gradgrad=False)
    if mode == "constant":
        compare_with_torch(torch, lambda t: F.pad(t, (1, 2, 0, 1), value=-2.5),
                           lambda t: torch.nn.functional.pad(t, (1, 2, 0, 1), value=-2.5), [x])


def test_pad_modules_and_errors(torch):
    x = RNG.standard_normal((1, 2, 3, 4, 3))
    for name, args in [("ZeroPad2d", (2,)), ("ZeroPad1d", ((1, -1),)),
                       ("ConstantPad1d", ((1, 2), 3.5)), ("ConstantPad3d", (1, -1.0)),
                       ("ReflectionPad2d", (1,)), ("ReflectionPad1d", ((2, 1),)),
                       ("ReplicationPad3d", (1,)), ("ReplicationPad2d", ((1, 0, 2, 1),)),
                       ("CircularPad2d", (1,)), ("CircularPad3d", ((1, 0, 0, 1, 1, 1),))]:
        g, t = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
        assert repr(g) == repr(t)
        xi = x[0] if name.endswith("2d") else x[0, 0] if name.endswith("1d") else x
        np.testing.assert_array_equal(g(tg.tensor(xi)).numpy(), t(torch.tensor(xi)).numpy())
    with pytest.raises(RuntimeError, match="less than the corresponding input dimension"):
        F.pad(tg.randn(1, 2, 3), (3, 0), mode="reflect")
    with pytest.raises(NotImplementedError, match="last 1, 2 or 3 dims"):
        F.pad(tg.randn(3), (1, 1), mode="reflect")
    with pytest.raises(ValueError, match="divisible by 2"):
        F.pad(tg.randn(2, 3), (1,))
    with pytest.raises(ValueError, match="doesn't take in value"):
        F.pad(tg.randn(1, 2, 3), (1, 1), mode="replicate", value=1.0)


UNPOOL = [(1, (2, 3, 8), dict(kernel_size=2)), (2, (2, 3, 6, 7), dict(kernel_size=3, stride=2,
                                                                    padding=1)),
          (2, (1, 2, 5, 5), dict(kernel_size=2, stride=1)),  # overlapping windows
          (3, (1, 2, 4, 4, 4), dict(kernel_size=2))]


@pytest.mark.parametrize("nd,shape,kw", UNPOOL, ids=["1d", "2d", "2d-overlap", "3d"])
def test_max_unpool_matches_torch(torch, nd, shape, kw):
    x = RNG.standard_normal(shape)
    pool, tpool = getattr(F, f"max_pool{nd}d"), getattr(torch.nn.functional, f"max_pool{nd}d")
    _, idx = pool(tg.tensor(x), **kw, return_indices=True)
    _, tidx = tpool(torch.tensor(x), **kw, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    y = RNG.standard_normal(idx.shape)
    un, tun = getattr(F, f"max_unpool{nd}d"), getattr(torch.nn.functional, f"max_unpool{nd}d")
    compare_with_torch(torch, lambda v: un(v, idx, output_size=shape, **kw),
                       lambda v: tun(v, tidx, output_size=shape, **kw), [y], second=False)
    if kw.get("stride", kw["kernel_size"]) >= kw["kernel_size"]:  # (overlapping windows repeat
        # indices: the last write wins, and, as torch, the gradient reaches every copy)
        gradchecks(lambda v: un(v, idx, output_size=shape, **kw), [y], gradgrad=nd == 1)
    # the module and output_size, as torch
    m, tm = getattr(nn, f"MaxUnpool{nd}d")(**kw), getattr(torch.nn, f"MaxUnpool{nd}d")(**kw)
    assert repr(m) == repr(tm)
    np.testing.assert_array_equal(m(tg.tensor(y), idx, output_size=shape).numpy(),
                                  tm(torch.tensor(y), tidx, output_size=shape).numpy())


def test_max_unpool_errors():
    x, idx = F.max_pool2d(tg.randn(1, 1, 4, 4), 2, return_indices=True)
    with pytest.raises(ValueError, match="invalid output_size"):
        F.max_unpool2d(x, idx, 2, output_size=(9, 9))
    with pytest.raises(RuntimeError, match="invalid max index"):
        F.max_unpool2d(x, tg.tensor(idx.numpy() + 20), 2)


def test_pixel_shuffle_and_fold_unfold_match_torch(torch):
    x = RNG.standard_normal((2, 8, 3, 4))
    compare_with_torch(torch, lambda t: F.pixel_shuffle(t, 2),
                       lambda t: torch.nn.functional.pixel_shuffle(t, 2), [x])
    compare_with_torch(torch, lambda t: F.pixel_unshuffle(t, 2),
                       lambda t: torch.nn.functional.pixel_unshuffle(t, 2), [x[:, :, :2]])
    assert repr(nn.PixelShuffle(3)) == repr(torch.nn.PixelShuffle(3))
    assert repr(nn.PixelUnshuffle(2)) == repr(torch.nn.PixelUnshuffle(2))
    for kw in (dict(kernel_size=2), dict(kernel_size=(2, 3), dilation=(1, 2), padding=1,
                                         stride=(2, 1))):
        compare_with_torch(torch, lambda t: F.unfold(t, **kw),
                           lambda t: torch.nn.functional.unfold(t, **kw), [x])
        cols = RNG.standard_normal(F.unfold(tg.tensor(x), **kw).shape)
        compare_with_torch(torch, lambda t: F.fold(t, (3, 4), **kw),
                           lambda t: torch.nn.functional.fold(t, (3, 4), **kw), [cols])
        # fold is unfold's adjoint: <unfold(x), c> = <x, fold(c)>
        lhs = (F.unfold(tg.tensor(x), **kw) * tg.tensor(cols)).sum().item()
        rhs = (tg.tensor(x) * F.fold(tg.tensor(cols), (3, 4), **kw)).sum().item()
        assert abs(lhs - rhs) < 1e-10 * max(1, abs(lhs))
    assert repr(nn.Fold((4, 5), 2)) == repr(torch.nn.Fold((4, 5), 2))
    assert repr(nn.Unfold(2, padding=1)) == repr(torch.nn.Unfold(2, padding=1))
    gradchecks(lambda t: F.unfold(t, 2, padding=1), [x[:1, :2]], gradgrad=False)
