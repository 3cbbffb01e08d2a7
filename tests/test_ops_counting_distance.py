"""bincount/histc and cdist/pdist against PyTorch (float64 values and gradients; PyTorch has
no second derivative of cdist/pdist, ours is gradgradchecked), gradcheck, and torch's errors."""
import numpy as np
import pytest

import tensorgrad as tg
import tensorgrad.nn.functional as F
from _torch import torch
from nn_parity import compare_with_torch

rng = np.random.default_rng(0)


@pytest.mark.parametrize("p", [2.0, 1.0, 0.5, 3.0, float("inf"), 0.0])
@pytest.mark.parametrize("shapes", [((4, 3), (5, 3)), ((2, 4, 3), (2, 5, 3)),
                                    ((2, 1, 4, 3), (3, 5, 3))])
def test_cdist_matches_torch(p, shapes):
    a, b = (rng.standard_normal(s) for s in shapes)
    compare_with_torch(torch, lambda x, y: tg.cdist(x, y, p=p),
                       lambda x, y: torch.cdist(x, y, p=p), [a, b], second=False)


def test_cdist_zero_distance_has_zero_gradient_as_torch():
    x = tg.zeros(2, 3, requires_grad=True)
    tg.cdist(x, tg.zeros(4, 3)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 3)))


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0])
def test_pdist_matches_torch(p):
    x = rng.standard_normal((5, 3))
    compare_with_torch(torch, lambda t: F.pdist(t, p), lambda t: torch.pdist(t, p), [x],
                       second=False)
    assert tg.pdist(tg.tensor(x)).shape == (10,)


def test_distances_gradcheck():
    a = tg.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    b = tg.tensor(rng.standard_normal((4, 2)), requires_grad=True)
    assert tg.autograd.gradcheck(lambda x, y: tg.cdist(x, y), (a, b))
    assert tg.autograd.gradgradcheck(lambda x, y: tg.cdist(x, y, p=3.0), (a, b))
    assert tg.autograd.gradcheck(lambda x: tg.pdist(x), (a,))
    assert tg.autograd.gradgradcheck(lambda x: tg.pdist(x, 1.5), (a,))


@pytest.mark.parametrize("call,exc,msg", [
    (lambda: tg.cdist(tg.zeros(3), tg.zeros(2, 3)), RuntimeError, "at least 2D"),
    (lambda: tg.cdist(tg.zeros(2, 3), tg.zeros(2, 4)), RuntimeError, "same number of columns"),
    (lambda: tg.cdist(tg.zeros(2, 3), tg.zeros(2, 3), p=-1), RuntimeError, "non-negative p"),
    (lambda: tg.pdist(tg.zeros(2, 3, 1)), RuntimeError, "2D"),
    (lambda: tg.cdist(np.zeros((2, 3)), tg.zeros(2, 3)), TypeError, "tg.Tensor"),
])
def test_distance_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


@pytest.mark.parametrize("values,kw", [([0, 1, 1, 3], {}), ([0, 1, 1, 3], {"minlength": 6}),
                                       ([], {}), ([2, 2, 5], {"minlength": 2})])
def test_bincount_matches_torch(values, kw):
    got = tg.bincount(tg.tensor(values, dtype=tg.int64), **kw)
    want = torch.bincount(torch.tensor(values, dtype=torch.int64), **kw)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    w = rng.standard_normal(len(values)).astype(np.float32)
    got = tg.tensor(values, dtype=tg.int64).bincount(weights=tg.tensor(w), **kw)
    want = torch.tensor(values, dtype=torch.int64).bincount(weights=torch.tensor(w), **kw)
    assert got.dtype == tg.float32
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


@pytest.mark.parametrize("bad", [[-1, 1], [[1, 1]]])
def test_bincount_refuses_what_torch_refuses(bad):
    with pytest.raises(RuntimeError, match="1-d non-negative integral"):
        tg.bincount(tg.tensor(bad))
    with pytest.raises(RuntimeError):
        torch.bincount(torch.tensor(bad))


@pytest.mark.parametrize("values,kw", [
    ([1.0, 2.0, 1.0, 3.5, -1.0], dict(bins=4, min=0, max=3)),  # outside the range: ignored
    ([1.0, 2.0, 1.0, 3.0], dict(bins=4)),                       # the data's range, max included
    ([2.0, 2.0], dict(bins=4)),                                 # one value: widened by 1
    (list(np.random.default_rng(1).standard_normal(50)), dict(bins=7, min=-1, max=1)),
])
def test_histc_matches_torch(values, kw):
    got = tg.histc(tg.tensor(values), **kw)
    want = torch.histc(torch.tensor(values), **kw)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert got.dtype == tg.float32


def test_histc_errors():
    with pytest.raises(RuntimeError, match="max must be larger than min"):
        tg.histc(tg.tensor([1.0, 2.0]), bins=3, min=3, max=1)
    with pytest.raises(NotImplementedError, match="histc"):
        tg.histc(tg.tensor([1, 2]), bins=3)


# ---- adaptive max pooling (PyTorch's windows and indices) -------------------------------------
@pytest.mark.parametrize("nd,shape,size", [
    (1, (2, 3, 7), 3), (1, (3, 10), 4), (2, (2, 3, 7, 5), (3, 2)), (2, (3, 7, 5), (4, None)),
    (2, (2, 3, 8, 8), 1), (2, (1, 2, 3, 3), 5), (3, (1, 2, 5, 4, 6), (2, 3, 4))])
def test_adaptive_max_pool_matches_torch(nd, shape, size):
    x = rng.standard_normal(shape)
    fn = getattr(F, f"adaptive_max_pool{nd}d")
    compare_with_torch(torch, lambda t: fn(t, size),
                       lambda t: getattr(torch.nn.functional, f"adaptive_max_pool{nd}d")(t, size),
                       [x])
    _, idx = fn(tg.tensor(x), size, return_indices=True)
    _, tidx = getattr(torch.nn.functional, f"adaptive_max_pool{nd}d")(
        torch.tensor(x), size, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    module = getattr(tg.nn, f"AdaptiveMaxPool{nd}d")(size, return_indices=True)
    np.testing.assert_array_equal(module(tg.tensor(x))[1].numpy(), tidx.numpy())


def test_adaptive_max_pool_ties_and_nan_as_torch():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 1, 2] = np.nan
    got, idx = F.adaptive_max_pool2d(tg.tensor(x), 2, return_indices=True)
    want, tidx = torch.nn.functional.adaptive_max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    np.testing.assert_array_equal(np.isnan(got.numpy()), np.isnan(want.numpy()))
    X = tg.tensor(rng.standard_normal((1, 2, 5, 3)), requires_grad=True)
    assert tg.autograd.gradcheck(lambda t: F.adaptive_max_pool2d(t, (2, 2)), (X,))
    with pytest.raises(ValueError, match="adaptive_max_pool2d"):
        F.adaptive_max_pool2d(tg.zeros(1, 1, 4, 4), (0, 2))
    with pytest.raises(ValueError, match="adaptive_max_pool2d"):
        F.adaptive_max_pool2d(tg.zeros(4, 4), 2)
