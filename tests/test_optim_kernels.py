"""The optimizer update kernel equals numpy's two-pass update; odd layouts take the numpy path."""
import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad.kernels.optim import axpy_


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy_matches_numpy(dtype):
    rng = np.random.default_rng(0)
    y = rng.standard_normal((7, 13)).astype(dtype)
    x = rng.standard_normal((7, 13)).astype(dtype)
    ref = y + dtype(-0.3) * x
    axpy_(y, x, -0.3)
    np.testing.assert_allclose(y, ref, rtol=1e-6 if dtype == np.float32 else 1e-15)


def test_sgd_step_on_non_contiguous_and_mixed_dtype_grads():
    w = tg.nn.Parameter(tg.tensor(np.arange(12.0, dtype=np.float32).reshape(3, 4)))
    w.grad = tg.tensor(np.ones((4, 3)), dtype=tg.float64).T  # transposed view, float64
    v0 = w._version
    tg.optim.SGD([w], lr=0.5).step()
    np.testing.assert_allclose(w.data, np.arange(12.0).reshape(3, 4) - 0.5)
    assert w.dtype == np.float32 and w._version == v0 + 1
