"""Big products on the ops' two threads (ops/_xp._np_matmul): once the kernels have lowered
numpy's BLAS to one thread, a product of at least SPLIT_GEMM_FLOPS runs in two halves (rows,
or columns when there are few rows) on the caller and the worker thread. The halves must give
numpy's product exactly where it matters: every shape, broadcast batch, dtype and the ops that
use it (matmul, linear and their gradients)."""
import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad.kernels import _blas
from tensorgrad.ops import _conv_impl as CI
from tensorgrad.ops import _xp


@pytest.fixture
def split(monkeypatch):
    """Every product big enough to split, as after a kernel lowered BLAS's threads."""
    monkeypatch.setattr(_xp, "SPLIT_GEMM_FLOPS", 0)
    monkeypatch.setattr(_blas, "lowered", lambda: True)
    monkeypatch.setattr(_blas, "default_threads", lambda: 2)
    monkeypatch.setattr(CI, "_THREADS", [2])


SHAPES = [((40, 30), (30, 50)),            # rows
          ((6, 30), (30, 50)),             # few rows: columns
          ((5, 7), (7, 3)),                # too narrow: one piece
          ((4, 20, 16), (16, 18)),         # batch
          ((2, 1, 24, 9), (3, 9, 20)),     # broadcast batch
          ((30,), (30, 40)), ((40, 30), (30,))]


@pytest.mark.parametrize("sa,sb", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_split_product_is_numpys(split, sa, sb, dtype):
    rng = np.random.default_rng(0)
    a = (rng.standard_normal(sa) * 4).astype(dtype)
    b = (rng.standard_normal(sb) * 4).astype(dtype)
    got, want = _xp._np_matmul(a, b), np.matmul(a, b)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == np.float32 else 1e-13)


def test_split_ops_and_gradients_match_unsplit(split):
    rng = np.random.default_rng(1)
    x_np, w_np = rng.standard_normal((64, 48)), rng.standard_normal((32, 48))
    b_np, m_np = rng.standard_normal(32), rng.standard_normal((3, 48, 20))

    def run():
        x, w, b, m = (tg.tensor(v, requires_grad=True) for v in (x_np, w_np, b_np, m_np))
        y = tg.nn.functional.linear(x, w, b)
        z = (y.sum() + (x @ m).square().sum())
        z.backward()
        return [y.detach().numpy(), z.item(), x.grad.numpy(), w.grad.numpy(), b.grad.numpy(),
                m.grad.numpy()]
    with_split = run()
    _xp.SPLIT_GEMM_FLOPS = float("inf")
    for a, c in zip(with_split, run()):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-12)


def test_mismatched_batches_still_raise_the_ops_error(split):
    a, b = tg.ones((2, 4, 5)), tg.ones((3, 5, 6))
    with pytest.raises(RuntimeError, match="batch dimensions do not broadcast"):
        a @ b


def test_a_product_on_the_worker_thread_does_not_wait_for_itself(split):
    """The ops' worker runs a big product whole (handing half of it to itself would wait
    forever)."""
    pool = CI.background()
    a, b = np.ones((64, 32)), np.ones((32, 16))
    got = pool.submit(_xp._np_matmul, a, b).result(timeout=30)
    np.testing.assert_array_equal(got, a @ b)
