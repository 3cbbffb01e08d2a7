"""tensorgrad/ops/numeric.py against PyTorch in float64: values, gradients and (where PyTorch
has them) second derivatives; integer results exactly; errors as torch's."""
import numpy as np
import pytest

import tensorgrad as tg
from _torch import torch
from nn_parity import compare_with_torch

rng = np.random.default_rng(0)
X = rng.standard_normal((3, 4))
P = rng.uniform(0.05, 0.95, (3, 4))
NONFINITE = np.array([[1.0, np.nan, np.inf], [-np.inf, -2.0, 0.5]])

DIFFERENTIABLE = [
    ("nan_to_num", lambda m, a: m.nan_to_num(a, nan=0.5, posinf=3.0), [NONFINITE]),
    ("nan_to_num_default", lambda m, a: m.nan_to_num(a), [NONFINITE]),
    ("logit", lambda m, a: m.logit(a), [P]),
    ("logit_eps", lambda m, a: m.logit(a, eps=0.2), [P]),
    ("xlogy", lambda m, a, b: m.xlogy(a, b), [X, P]),
    ("sinc", lambda m, a: m.sinc(a), [np.array([0.1, 0.3, -1.7, 2.5])]),
    ("deg2rad", lambda m, a: m.deg2rad(a), [X * 90]),
    ("rad2deg", lambda m, a: m.rad2deg(a), [X]),
    ("float_power", lambda m, a: m.float_power(a, 3), [X]),
    ("logaddexp2", lambda m, a, b: m.logaddexp2(a, b), [X, X[::-1] * 3]),
    ("fmax", lambda m, a, b: m.fmax(a, b), [X, X[::-1].copy()]),
    ("fmin", lambda m, a, b: m.fmin(a, b), [X, X[::-1].copy()]),
    ("clamp_min", lambda m, a: m.clamp_min(a, 0.1), [X]),
    ("clamp_max", lambda m, a: m.clamp_max(a, 0.1), [X]),
    ("diff", lambda m, a: m.diff(a, n=2, dim=1), [X]),
    ("diff_prepend", lambda m, a, b: m.diff(a, dim=0, prepend=b), [X, X[:1] * 2]),
    ("trapezoid", lambda m, a: m.trapezoid(a), [X]),
    ("trapezoid_dx", lambda m, a: m.trapezoid(a, dx=0.5, dim=0), [X]),
    ("trapezoid_x", lambda m, a, b: m.trapezoid(a, b), [X, np.cumsum(np.abs(X), 1)]),
    ("dist", lambda m, a, b: m.dist(a, b), [X, P]),
    ("dist_p3", lambda m, a, b: m.dist(a, b, 3), [X, P]),
    ("quantile", lambda m, a: m.quantile(a, 0.3), [X]),
    ("quantile_dim", lambda m, a: m.quantile(a, m.tensor([0.1, 0.5, 1.0], dtype=m.float64),
                                             dim=1, keepdim=True), [X]),
    ("quantile_lower", lambda m, a: m.quantile(a, 0.4, dim=0, interpolation="lower"), [X]),
    ("quantile_higher", lambda m, a: m.quantile(a, 0.4, dim=0, interpolation="higher"), [X]),
    ("quantile_mid", lambda m, a: m.quantile(a, 0.4, dim=0, interpolation="midpoint"), [X]),
    ("quantile_nearest", lambda m, a: m.quantile(a, 0.5, dim=1, interpolation="nearest"), [X]),
    ("nanquantile", lambda m, a: m.nanquantile(a, m.tensor([0.1, 0.5], dtype=m.float64), dim=1),
     [np.where(X > 1, np.nan, X)]),
    ("cov", lambda m, a: m.cov(a), [X]),
    ("cov_corr0", lambda m, a: m.cov(a, correction=0), [X]),
    ("cov_weights", lambda m, a: m.cov(a, fweights=m.tensor([1, 2, 1, 3]),
                                       aweights=m.tensor([0.5, 1.0, 2.0, 1.0], dtype=m.float64)),
     [X]),
    ("corrcoef", lambda m, a: m.corrcoef(a), [X]),
    ("mv", lambda m, a, b: m.mv(a, b), [X, X[0]]),
    ("diagflat", lambda m, a: m.diagflat(a, 1), [X[:2, :2]]),
    ("ravel", lambda m, a: m.ravel(a.t()), [X]),
    ("block_diag", lambda m, a, b, c: m.block_diag(a, b, c), [X[:2], X[0], X[0, :1].reshape(())]),
    ("chain_matmul", lambda m, a, b, c: m.chain_matmul(a, b, c), [X, X.T.copy(), X]),
]


@pytest.mark.parametrize("name,fn,arrays", DIFFERENTIABLE, ids=[c[0] for c in DIFFERENTIABLE])
def test_numeric_ops_match_torch(name, fn, arrays):
    second = name != "quantile_nearest"
    try:
        compare_with_torch(torch, lambda *a: fn(tg, *a), lambda *a: fn(torch, *a), arrays,
                           second=second)
    except NotImplementedError:  # torch has no double backward here: first order only
        compare_with_torch(torch, lambda *a: fn(tg, *a), lambda *a: fn(torch, *a), arrays,
                           second=False)


INTEGER = [
    ("isin", lambda m: m.isin(m.tensor([1, 2, 3, 7]), m.tensor([2, 7, 9]))),
    ("isin_invert", lambda m: m.isin(m.tensor([1, 2, 3]), m.tensor([2]), invert=True)),
    ("bucketize", lambda m: m.bucketize(m.tensor([1, 5, 9, 0]), m.tensor([1, 3, 5, 7, 9]))),
    ("bucketize_right", lambda m: m.bucketize(m.tensor([1, 5, 9]), m.tensor([1, 3, 5, 7, 9]),
                                              right=True)),
    ("searchsorted", lambda m: m.searchsorted(m.tensor([[1, 3, 5], [2, 4, 6]]),
                                              m.tensor([[3, 6], [5, 1]]), side="right")),
    ("searchsorted_1d", lambda m: m.searchsorted(m.tensor([1.0, 2.0, 3.0]),
                                                 m.tensor([[0.5, 2.0], [3.5, 2.5]]))),
    ("searchsorted_int32", lambda m: m.searchsorted(m.tensor([1, 2]), m.tensor([2]),
                                                    out_int32=True)),
    ("heaviside", lambda m: m.heaviside(m.tensor([-1.0, 0.0, 2.0]), m.tensor([0.5]))),
    ("nan_to_num_int", lambda m: m.nan_to_num(m.tensor([1, 2]))),
]


@pytest.mark.parametrize("name,fn", INTEGER, ids=[c[0] for c in INTEGER])
def test_integer_results_match_torch(name, fn):
    got, want = fn(tg), fn(torch)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]


def test_quantile_nan_rules_and_errors():
    x = np.array([[1.0, np.nan, 3.0, 4.0], [0.0, 5.0, 1.0, 2.0]])
    for f in ("quantile", "nanquantile"):
        got = getattr(tg, f)(tg.tensor(x), 0.5, dim=1)
        want = getattr(torch, f)(torch.tensor(x), 0.5, dim=1)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    with pytest.raises(RuntimeError, match="range"):
        tg.quantile(tg.tensor(X), 1.5)
    with pytest.raises(ValueError, match="interpolation"):
        tg.quantile(tg.tensor(X), 0.5, interpolation="cubic")
    with pytest.raises(RuntimeError, match="float or double"):
        tg.quantile(tg.tensor([1, 2]), 0.5)


@pytest.mark.parametrize("N,increasing", [(None, False), (4, True), (0, False)])
def test_vander_matches_torch(N, increasing):
    """Values as torch.vander (whose own backward fails in torch 2.13; ours is gradchecked)."""
    for x in (X[0], np.array([1, 2, 3])):
        got = tg.vander(tg.tensor(x), N=N, increasing=increasing)
        want = torch.vander(torch.tensor(x), N=N, increasing=increasing)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    a = tg.tensor(X[0], requires_grad=True)
    assert tg.autograd.gradgradcheck(lambda t: tg.vander(t, N=3), (a,))


def test_sinc_at_zero_is_exact_to_second_order():
    x = tg.tensor([0.0, 0.0], dtype=tg.float64, requires_grad=True)
    y = tg.sinc(x)
    (g,) = tg.grad(y.sum(), x, create_graph=True)
    (h,) = tg.grad(g.sum(), x)
    assert y.tolist() == [1.0, 1.0] and g.tolist() == [0.0, 0.0]
    np.testing.assert_allclose(h.numpy(), -np.pi ** 2 / 3)     # torch gives NaN here
    want = torch.sinc(torch.tensor([0.0, 0.3])).numpy()
    np.testing.assert_allclose(tg.sinc(tg.tensor([0.0, 0.3])).numpy(), want, rtol=1e-6)


def test_numeric_gradcheck():
    a = tg.tensor(rng.uniform(0.1, 0.9, (2, 3)), requires_grad=True)
    b = tg.tensor(rng.uniform(0.1, 0.9, (2, 3)), requires_grad=True)
    for f in (lambda x, y: tg.xlogy(x, y), lambda x, y: tg.logaddexp2(x, y),
              lambda x, y: tg.logit(x) * tg.sinc(y), lambda x, y: tg.cov(x + y),
              lambda x, y: tg.quantile(x * y, 0.3, dim=1)):
        assert tg.autograd.gradcheck(f, (a, b))
        assert tg.autograd.gradgradcheck(f, (a, b))
