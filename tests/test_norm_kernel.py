"""Training-mode batch norm through the numba kernels (kernels/norm.py, ops/norm.py's
``_bn_train``): forward, the three gradients and the running statistics against PyTorch for
every input rank, with and without the affine parameters, float64 and float32, contiguous or
not; and the kernels' sums against numpy."""
import numpy as np
import pytest
from _torch import lazy, torch

import tensorgrad as tg
from tensorgrad.kernels import norm as K

TF = lazy("torch.nn.functional")
rng = np.random.default_rng(11)


def _pair(shape, affine, dtype):
    x = (rng.standard_normal(shape) * 3 + 1.5).astype(dtype)
    C = shape[1]
    w = rng.standard_normal(C).astype(dtype) if affine in ("w", "wb") else None
    b = rng.standard_normal(C).astype(dtype) if affine in ("b", "wb") else None
    return x, w, b


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 7), (3, 4, 5, 6), (2, 3, 2, 3, 4)])
@pytest.mark.parametrize("affine", ["wb", "w", "b", None])
def test_batch_norm_training_matches_pytorch_float64(shape, affine):
    x, w, b = _pair(shape, affine, np.float64)
    C = shape[1]
    rm, rv = rng.standard_normal(C), rng.uniform(0.5, 2, C)
    X = tg.tensor(x, requires_grad=True)
    W = None if w is None else tg.tensor(w, requires_grad=True)
    B = None if b is None else tg.tensor(b, requires_grad=True)
    RM, RV = tg.tensor(rm.copy()), tg.tensor(rv.copy())
    tx = torch.tensor(x, requires_grad=True)
    tw = None if w is None else torch.tensor(w, requires_grad=True)
    tb = None if b is None else torch.tensor(b, requires_grad=True)
    trm, trv = torch.tensor(rm.copy()), torch.tensor(rv.copy())
    y = tg.nn.functional.batch_norm(X, RM, RV, W, B, training=True, momentum=0.3)
    ty = TF.batch_norm(tx, trm, trv, tw, tb, training=True, momentum=0.3)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(RM.numpy(), trm.numpy(), atol=1e-12)
    np.testing.assert_allclose(RV.numpy(), trv.numpy(), atol=1e-12)
    g = rng.standard_normal(shape)
    y.backward(tg.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(X.grad.numpy(), tx.grad.numpy(), atol=1e-11)
    for p, tp in ((W, tw), (B, tb)):
        if p is not None:
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), atol=1e-11)


def test_batch_norm_training_float32_and_non_contiguous_input():
    x, w, b = _pair((5, 4, 6, 3), "wb", np.float32)
    xt = np.swapaxes(x, 2, 3)  # a non-contiguous view
    X = tg.tensor(x, requires_grad=True)
    Xt = X.transpose(2, 3)
    W, B = tg.tensor(w, requires_grad=True), tg.tensor(b, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    tw, tb = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    y = tg.nn.functional.batch_norm(Xt, None, None, W, B, training=True)
    ty = TF.batch_norm(tx.transpose(2, 3), None, None, tw, tb, training=True)
    assert y.dtype == np.float32 and y.shape == xt.shape
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    g = rng.standard_normal(xt.shape).astype(np.float32)
    y.backward(tg.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(X.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(W.grad.numpy(), tw.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(B.grad.numpy(), tb.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_batch_norm_second_derivative_through_the_kernel_path():
    x, w, b = _pair((4, 3, 5), "wb", np.float64)
    X = tg.tensor(x, requires_grad=True)
    W, B = tg.tensor(w, requires_grad=True), tg.tensor(b, requires_grad=True)
    assert tg.gradcheck(lambda x, w, b: tg.nn.functional.batch_norm(x, None, None, w, b, True),
                        (X, W, B))
    assert tg.gradgradcheck(lambda x, w, b: tg.nn.functional.batch_norm(x, None, None, w, b,
                                                                         True), (X, W, B))


def test_kernels_sums_match_numpy_over_channel_ranges():
    x = rng.standard_normal((3, 5, 7)) * 2 + 4
    g = rng.standard_normal((3, 5, 7))
    mean, var = np.full(5, np.nan), np.full(5, np.nan)
    K.bn_stats_into(x, mean, var, 1, 4)  # only channels 1..3 are written
    assert np.isnan(mean[[0, 4]]).all() and np.isnan(var[[0, 4]]).all()
    np.testing.assert_allclose(mean[1:4], x.mean(axis=(0, 2))[1:4], rtol=1e-14)
    np.testing.assert_allclose(var[1:4], x.var(axis=(0, 2))[1:4], rtol=1e-13)
    K.bn_stats_into(x, mean, var, 0, 5)
    sg, sgx = np.empty(5), np.empty(5)
    K.bn_grad_sums_into(g, x, mean, sg, sgx, 0, 5)
    np.testing.assert_allclose(sg, g.sum(axis=(0, 2)), rtol=1e-13)
    np.testing.assert_allclose(sgx, (g * (x - mean[:, None])).sum(axis=(0, 2)), rtol=1e-12)
