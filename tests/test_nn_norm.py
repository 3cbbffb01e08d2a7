"""Normalization layers and dropout variants against PyTorch in float64: outputs, gradients,
second derivatives, running statistics, parameters/buffers/reprs; gradcheck."""
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

FUNCS = [
    ("layer_norm", lambda F, x, w, b: F.layer_norm(x, (4, 5), w, b), [(3, 4, 5), (4, 5), (4, 5)]),
    ("layer_norm_1d_noaffine", lambda F, x: F.layer_norm(x, [5], eps=1e-3), [(2, 3, 5)]),
    ("layer_norm_weight_only", lambda F, x, w: F.layer_norm(x, (5,), w), [(4, 5), (5,)]),
    ("group_norm", lambda F, x, w, b: F.group_norm(x, 2, w, b), [(3, 4, 3, 2), (4,), (4,)]),
    ("group_norm_1group", lambda F, x: F.group_norm(x, 1), [(2, 6, 5)]),
    ("group_norm_each", lambda F, x, w: F.group_norm(x, 3, w), [(2, 3, 4), (3,)]),
    ("instance_norm", lambda F, x, w, b: F.instance_norm(x, weight=w, bias=b),
     [(2, 3, 4, 5), (3,), (3,)]),
    ("instance_norm_1d", lambda F, x: F.instance_norm(x), [(2, 3, 6)]),
    ("batch_norm_3d", lambda F, x, w, b: F.batch_norm(x, None, None, w, b, training=True),
     [(2, 3, 2, 3, 2), (3,), (3,)]),
    ("rms_norm", lambda F, x, w: F.rms_norm(x, (4,), w), [(3, 4), (4,)]),
    ("rms_norm_eps", lambda F, x: F.rms_norm(x, (3, 4), eps=1e-3), [(2, 3, 4)]),
    ("local_response_norm_3d", lambda F, x: F.local_response_norm(x, 3, 0.1, 0.6, 2.0),
     [(2, 5, 4)]),
    ("local_response_norm_4d", lambda F, x: F.local_response_norm(x, 2), [(2, 4, 3, 3)]),
]


@pytest.mark.parametrize("name,call,shapes", FUNCS, ids=[f[0] for f in FUNCS])
def test_functional_norms_match_torch(torch, name, call, shapes):
    arrays = [RNG.standard_normal(s) for s in shapes]
    compare_with_torch(torch, lambda *x: call(F, *x), lambda *x: call(torch.nn.functional, *x),
                       arrays, rtol=1e-9, atol=1e-11)
    gradchecks(lambda *x: call(F, *x), arrays, gradgrad=name in ("layer_norm", "group_norm"))


MODULES = [
    ("LayerNorm", lambda m: m.LayerNorm(5), (3, 2, 5)),
    ("LayerNorm-2d-nobias", lambda m: m.LayerNorm([2, 5], eps=1e-3, bias=False), (3, 2, 5)),
    ("LayerNorm-noaffine", lambda m: m.LayerNorm(5, elementwise_affine=False), (3, 5)),
    ("GroupNorm", lambda m: m.GroupNorm(2, 4), (3, 4, 3)),
    ("GroupNorm-noaffine", lambda m: m.GroupNorm(3, 6, affine=False), (2, 6, 2, 2)),
    ("GroupNorm-nobias", lambda m: m.GroupNorm(2, 4, bias=False), (3, 4, 3)),
    ("InstanceNorm1d", lambda m: m.InstanceNorm1d(3), (2, 3, 5)),
    ("InstanceNorm1d-unbatched", lambda m: m.InstanceNorm1d(3), (3, 5)),
    ("InstanceNorm2d-affine", lambda m: m.InstanceNorm2d(3, affine=True), (2, 3, 4, 3)),
    ("InstanceNorm2d-track", lambda m: m.InstanceNorm2d(3, track_running_stats=True,
                                                        momentum=0.3), (2, 3, 4, 3)),
    ("InstanceNorm3d-both", lambda m: m.InstanceNorm3d(2, affine=True, track_running_stats=True),
     (2, 2, 3, 2, 2)),
    ("BatchNorm3d", lambda m: m.BatchNorm3d(3), (2, 3, 2, 3, 2)),
    ("BatchNorm3d-cma", lambda m: m.BatchNorm3d(3, momentum=None), (2, 3, 2, 3, 2)),
    ("RMSNorm", lambda m: m.RMSNorm(4), (3, 4)),
    ("RMSNorm-noaffine", lambda m: m.RMSNorm([2, 4], eps=1e-4, elementwise_affine=False),
     (3, 2, 4)),
    ("LocalResponseNorm", lambda m: m.LocalResponseNorm(3), (2, 5, 4, 4)),
]


@pytest.mark.parametrize("name,make,shape", MODULES, ids=[m[0] for m in MODULES])
def test_norm_modules_match_torch(torch, name, make, shape):
    t, g = make(torch.nn), make(nn)
    assert repr(g) == repr(t)
    for (k, v), (tk, tv) in zip(g.state_dict().items(), t.state_dict().items()):
        assert k == tk and v.shape == tuple(tv.shape)
        np.testing.assert_array_equal(v.numpy(), tv.numpy())  # default init as torch
    if getattr(g, "weight", None) is not None and not name.startswith("BatchNorm"):
        with torch.no_grad():
            for p in t.parameters():
                p.copy_(torch.tensor(RNG.standard_normal(tuple(p.shape))))
    x = RNG.standard_normal(shape)
    compare_modules(torch, t, g, x, rtol=1e-9, atol=1e-11, train_steps=2)
    t.eval()
    g.eval()
    compare_modules(torch, t, g, x * 2 + 1, rtol=1e-9, atol=1e-11, load=False)


def test_bias_without_weight_is_a_weight_of_ones():
    # (torch 2.13 fails to differentiate group_norm with a bias and no weight)
    x = RNG.standard_normal((2, 6, 4))
    b = RNG.standard_normal(6)
    for fn in (lambda x, w, b: F.group_norm(x, 3, w, b), lambda x, w, b: F.instance_norm(
            x, weight=w, bias=b), lambda x, w, b: F.batch_norm(x, None, None, w, b, True)):
        xs = [tg.tensor(x, requires_grad=True) for _ in range(2)]
        bs = [tg.tensor(b, requires_grad=True) for _ in range(2)]
        y1, y2 = fn(xs[0], None, bs[0]), fn(xs[1], tg.ones(6, dtype=tg.float64), bs[1])
        np.testing.assert_allclose(y1.detach().numpy(), y2.detach().numpy(), rtol=1e-13)
        (y1 * y1).sum().backward()
        (y2 * y2).sum().backward()
        for a, c in ((xs[0].grad, xs[1].grad), (bs[0].grad, bs[1].grad)):
            np.testing.assert_allclose(a.numpy(), c.numpy(), rtol=1e-12, atol=1e-13)


def test_norm_argument_errors():
    x = tg.randn(2, 4, 3)
    with pytest.raises(ValueError, match="divisible"):
        F.group_norm(x, 3)
    with pytest.raises(ValueError, match="normalized_shape"):
        F.layer_norm(x, (4,))
    with pytest.raises(ValueError, match="weight must have shape"):
        F.layer_norm(x, (3,), tg.ones(4))
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        F.instance_norm(tg.randn(2, 3, 1))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(tg.randn(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match="running_mean and running_var are required"):
        F.batch_norm(x, None, None)
    with pytest.raises(ValueError, match="or 4D"):
        nn.InstanceNorm2d(4)(tg.randn(2, 4))
    with pytest.raises(ValueError, match="expected 5D"):
        nn.BatchNorm3d(4)(tg.randn(2, 4, 3, 3))
    with pytest.raises(RuntimeError, match="CPU only"):
        nn.LayerNorm(3, device="cuda")
    with pytest.raises(TypeError, match="floating point"):
        nn.GroupNorm(1, 2, dtype=tg.int64)
    assert nn.LayerNorm(3, dtype=tg.float64).weight.dtype == np.float64


def test_feature_dropout_zeroes_whole_channels(torch):
    tg.manual_seed(0)
    for fn, shape in ((F.dropout1d, (40, 8, 5)), (F.dropout2d, (40, 8, 3, 4)),
                      (F.dropout3d, (20, 8, 2, 3, 2)), (F.dropout2d, (8, 3, 4))):
        x = tg.tensor(RNG.uniform(1, 2, shape))
        out = fn(x, p=0.3)
        kept = out.numpy() != 0
        channel_dims = 1 if len(shape) == 3 and fn is F.dropout2d else 2  # unbatched: (C, H, W)
        flat = kept.reshape(shape[:channel_dims] + (-1,))
        assert np.all(flat.all(-1) | ~flat.any(-1))  # a channel is kept or dropped whole
        np.testing.assert_allclose(out.numpy()[kept], x.numpy()[kept] / 0.7)
        assert 0.5 < kept.mean() < 0.9
        assert fn(x, 0.3, training=False) is x
    with pytest.raises(ValueError, match="expected 3D"):
        F.dropout2d(tg.ones(2, 3))
    # gradients go through the kept channels only, scaled
    x = tg.tensor(RNG.standard_normal((4, 6, 3)), requires_grad=True)
    y = F.dropout1d(x, 0.5)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), (y.detach().numpy() != 0) * 2.0)


def test_dropout_modules_and_alpha_dropout(torch):
    for name, shape in (("Dropout", (2, 3)), ("Dropout1d", (2, 3, 4)), ("Dropout2d", (2, 3, 4, 5)),
                        ("Dropout3d", (2, 3, 4, 5, 6)), ("AlphaDropout", (3,)),
                        ("FeatureAlphaDropout", (2, 3, 4))):
        assert repr(getattr(nn, name)(0.2)) == repr(getattr(torch.nn, name)(0.2))
        m = getattr(nn, name)(0.2).eval()
        x = tg.randn(*shape)
        assert m(x) is x
    tg.manual_seed(1)
    x = tg.randn(200000, dtype=tg.float64)
    y = F.alpha_dropout(x, 0.2, training=True).numpy()
    # alpha dropout keeps zero mean and unit variance, and dropped units share one value
    assert abs(y.mean()) < 0.01 and abs(y.std() - 1) < 0.01
    a = 1 / np.sqrt((1.7580993408473766 ** 2 * 0.2 + 1) * 0.8)
    dropped_value = -1.7580993408473766 * a + 1.7580993408473766 * a * 0.2
    kept = ~np.isclose(y, dropped_value)
    np.testing.assert_allclose(y[kept], x.numpy()[kept] * a + 1.7580993408473766 * a * 0.2)
    assert 0.78 < kept.mean() < 0.82
    z = F.feature_alpha_dropout(tg.randn(50, 4, 6, dtype=tg.float64), 0.5, training=True).numpy()
    a5 = 1 / np.sqrt((1.7580993408473766 ** 2 * 0.5 + 1) * 0.5)
    dropped = np.isclose(z, -1.7580993408473766 * a5 * 0.5)
    assert np.all(dropped.all(-1) | ~dropped.any(-1))  # whole channels
    assert F.alpha_dropout(x, 0.5).numpy() is x.numpy()  # training=False by default


def test_inplace_dropout_writes_into_the_input():
    x = tg.ones(100, 10)
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x and set(np.unique(x.numpy())) <= {0.0, 2.0}
