"""tg.linalg's decompositions against torch.linalg in float64 (batched): values, gradients
and second derivatives of sign-invariant functions of the factors; gradcheck; errors."""
import numpy as np
import pytest

import tensorgrad as tg
from _torch import torch
from nn_parity import compare_with_torch

rng = np.random.default_rng(0)
A = rng.standard_normal((3, 4, 4))
SPD = A @ A.transpose(0, 2, 1) + 4 * np.eye(4)
W = rng.standard_normal(4)


def _both(fn):
    return lambda *a: fn(tg, *a), lambda *a: fn(torch, *a)


CASES = [
    ("cholesky", lambda m, a: m.linalg.cholesky(a), [SPD]),
    ("cholesky_upper", lambda m, a: m.linalg.cholesky(a, upper=True), [SPD]),
    ("eigvalsh", lambda m, a: m.linalg.eigvalsh(a), [SPD]),
    ("eigh_QWQt", lambda m, a: (lambda r: r[1] @ m.diag_embed(m.tensor(W)) @ r[1].mT)(
        m.linalg.eigh(a)), [SPD]),
    ("eigh_upper_values", lambda m, a: m.linalg.eigh(a, UPLO="U")[0], [SPD]),
    ("svdvals_tall", lambda m, a: m.linalg.svdvals(a), [rng.standard_normal((2, 5, 3))]),
    ("svdvals_wide", lambda m, a: m.linalg.svdvals(a), [rng.standard_normal((2, 3, 5))]),
    ("svd_product_tall", lambda m, a: (lambda r: (r.U * r.S.unsqueeze(-2) ** 2) @ r.Vh)(
        m.linalg.svd(a, full_matrices=False)), [rng.standard_normal((2, 5, 3))]),
    ("svd_product_wide", lambda m, a: (lambda r: (r.U * r.S.unsqueeze(-2) ** 2) @ r.Vh)(
        m.linalg.svd(a, full_matrices=False)), [rng.standard_normal((2, 3, 5))]),
    ("svd_square_abs", lambda m, a: (lambda r: (r.U.abs(), r.Vh.abs()))(m.linalg.svd(a)),
     [rng.standard_normal((4, 4))]),
    ("qr_tall", lambda m, a: m.linalg.qr(a), [rng.standard_normal((2, 5, 3))]),
    ("qr_wide", lambda m, a: m.linalg.qr(a), [rng.standard_normal((2, 3, 5))]),
    ("pinv_tall", lambda m, a: m.linalg.pinv(a), [rng.standard_normal((5, 3))]),
    ("pinv_wide", lambda m, a: m.linalg.pinv(a), [rng.standard_normal((2, 3, 5))]),
    ("pinverse", lambda m, a: m.pinverse(a), [rng.standard_normal((5, 3))]),
    ("old_svd", lambda m, a: (lambda r: (r[0].abs(), r[1], r[2].abs()))(m.svd(a)),
     [rng.standard_normal((5, 3))]),
    ("old_qr", lambda m, a: m.qr(a), [rng.standard_normal((5, 3))]),
    ("cond", lambda m, a: m.linalg.cond(a), [SPD]),
]


@pytest.mark.parametrize("name,fn,arrays", CASES, ids=[c[0] for c in CASES])
def test_decompositions_match_torch(name, fn, arrays):
    compare_with_torch(torch, *_both(fn), arrays, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unit", [False, True])
def test_solve_triangular_matches_torch(upper, left, unit):
    T = rng.standard_normal((2, 4, 4)) + 3 * np.eye(4)      # both triangles filled: only one read
    B = rng.standard_normal((2, 4, 3) if left else (2, 3, 4))
    compare_with_torch(torch, *_both(lambda m, a, b: m.linalg.solve_triangular(
        a, b, upper=upper, left=left, unitriangular=unit)), [T, B], rtol=1e-8, atol=1e-10)


def test_lstsq_rank_and_residuals_as_torch_gelsd():
    M, B = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    r = tg.linalg.lstsq(tg.tensor(M), tg.tensor(B))
    t = torch.linalg.lstsq(torch.tensor(M), torch.tensor(B), driver="gelsd")
    np.testing.assert_allclose(r.solution.numpy(), t.solution.numpy(), rtol=1e-10)
    np.testing.assert_allclose(r.residuals.numpy(), t.residuals.numpy(), rtol=1e-10)
    np.testing.assert_allclose(r.singular_values.numpy(), t.singular_values.numpy(), rtol=1e-10)
    assert int(r.rank) == int(t.rank) == 3
    ones = np.ones((3, 3))
    assert int(tg.linalg.matrix_rank(tg.tensor(ones))) == int(torch.linalg.matrix_rank(
        torch.tensor(ones))) == 1
    compare_with_torch(torch, lambda a, b: tg.linalg.lstsq(a, b).solution,
                       lambda a, b: torch.linalg.lstsq(a, b, driver="gelsd").solution, [M, B],
                       second=False, rtol=1e-8, atol=1e-10)


def test_gradcheck_and_gradgradcheck():
    x = tg.tensor(A[0], requires_grad=True)
    m = tg.tensor(rng.standard_normal((4, 3)), requires_grad=True)

    def spd(a):  # symmetric positive-definite, so every entry of ``a`` is a free parameter
        return a @ a.mT + 4 * tg.eye(4, dtype=tg.float64)
    assert tg.autograd.gradgradcheck(lambda a: tg.linalg.cholesky(spd(a)), (x,))
    assert tg.autograd.gradgradcheck(lambda a: tg.linalg.eigvalsh(spd(a)), (x,))
    assert tg.autograd.gradcheck(lambda a: tg.linalg.svdvals(a), (m,))
    assert tg.autograd.gradgradcheck(lambda a: tg.linalg.qr(a).R, (m,))
    assert tg.autograd.gradcheck(lambda a: tg.linalg.pinv(a), (m,))


def test_decomposition_errors():
    with pytest.raises(RuntimeError, match="not positive-definite"):
        tg.linalg.cholesky(tg.tensor([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(RuntimeError, match="square"):
        tg.linalg.eigh(tg.zeros(2, 3))
    with pytest.raises(RuntimeError, match="UPLO"):
        tg.linalg.eigh(tg.eye(2), UPLO="X")
    r = tg.linalg.qr(x := tg.tensor(rng.standard_normal((3, 3)), requires_grad=True), mode="r")
    np.testing.assert_allclose(np.abs(r.R.detach().numpy()),
                               np.abs(torch.linalg.qr(torch.tensor(x.detach().numpy()),
                                                      mode="r").R.numpy()), rtol=1e-12)
    with pytest.raises(RuntimeError, match="mode='r'"):
        r.R.sum().backward()
    with pytest.raises(RuntimeError, match="unrecognized mode"):
        tg.linalg.qr(tg.eye(2), mode="full")
    x = tg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    U, S, Vh = tg.linalg.svd(x)                              # full_matrices=True, not square
    with pytest.raises(RuntimeError, match="full_matrices=False"):
        U.sum().backward()
    with pytest.raises(TypeError, match="tg.Tensor"):
        tg.linalg.svd(np.eye(2))
    with pytest.raises(RuntimeError, match="floating"):
        tg.linalg.svdvals(tg.tensor([[1, 2], [3, 4]]))
