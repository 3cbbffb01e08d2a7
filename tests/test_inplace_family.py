"""The in-place twins x.f_(...) of out-of-place methods (ops/inplace_variants.py), against PyTorch
in float64: the values written, that the same tensor comes back with its version bumped, the
gradient through the in-place op, gradcheck, and PyTorch's errors (result type that can't be
cast, a leaf that requires grad)."""
import numpy as np
import pytest

import tensorgrad as tg

RNG = np.random.default_rng(0)
X = RNG.uniform(0.2, 0.9, (3, 4))     # inside every domain used below (log, acos, erfinv, ...)
Y = RNG.uniform(0.2, 0.9, (3, 4))
IDX = np.array([[0, 1, 2, 0], [2, 0, 1, 1], [1, 2, 0, 2]])

# name -> f(L, y, other): the in-place call on y (a float64 non-leaf), other a float64 tensor
CASES = {
    "relu_": lambda L, y, o: y.sub_(0.5).relu_(), "sigmoid_": lambda L, y, o: y.sigmoid_(),
    "tanh_": lambda L, y, o: y.tanh_(), "exp_": lambda L, y, o: y.exp_(),
    "log_": lambda L, y, o: y.log_(), "sqrt_": lambda L, y, o: y.sqrt_(),
    "neg_": lambda L, y, o: y.neg_(), "abs_": lambda L, y, o: y.sub_(0.5).abs_(),
    "sin_": lambda L, y, o: y.sin_(), "cos_": lambda L, y, o: y.cos_(),
    "acos_": lambda L, y, o: y.acos_(), "atan_": lambda L, y, o: y.atan_(),
    "erf_": lambda L, y, o: y.erf_(), "erfinv_": lambda L, y, o: y.erfinv_(),
    "expm1_": lambda L, y, o: y.expm1_(), "log1p_": lambda L, y, o: y.log1p_(),
    "rsqrt_": lambda L, y, o: y.rsqrt_(), "reciprocal_": lambda L, y, o: y.reciprocal_(),
    "square_": lambda L, y, o: y.square_(), "floor_": lambda L, y, o: y.mul_(5).floor_(),
    "round_": lambda L, y, o: y.mul_(5).round_(), "round_decimals_": lambda L, y, o: y.round_(decimals=1),
    "cumsum_": lambda L, y, o: y.cumsum_(1), "cumprod_": lambda L, y, o: y.cumprod_(0),
    "tril_": lambda L, y, o: y.tril_(), "triu_": lambda L, y, o: y.triu_(1),
    "atan2_": lambda L, y, o: y.atan2_(o), "hypot_": lambda L, y, o: y.hypot_(o),
    "lerp_": lambda L, y, o: y.lerp_(o, 0.3), "lerp_tensor_": lambda L, y, o: y.lerp_(o, o),
    "remainder_": lambda L, y, o: y.remainder_(0.3), "fmod_": lambda L, y, o: y.fmod_(0.3),
    "subtract_": lambda L, y, o: y.subtract_(o), "multiply_": lambda L, y, o: y.multiply_(o),
    "true_divide_": lambda L, y, o: y.true_divide_(o),
    "clamp_min_": lambda L, y, o: y.clamp_min_(0.5), "clamp_max_": lambda L, y, o: y.clamp_max_(0.5),
    "addcmul_": lambda L, y, o: y.addcmul_(o, o, value=0.5), "addcdiv_": lambda L, y, o: y.addcdiv_(o, o + 1),
    "masked_fill_": lambda L, y, o: y.masked_fill_(o > 0.5, -1.0),
    "index_add_": lambda L, y, o: y.index_add_(0, L.tensor([2, 0]), o[:2], alpha=2.0),
    "index_copy_": lambda L, y, o: y.index_copy_(1, L.tensor([3, 1]), o[:, :2]),
    "index_fill_": lambda L, y, o: y.index_fill_(1, L.tensor([0, 2]), 7.0),
    "scatter_": lambda L, y, o: y.scatter_(1, L.tensor(IDX[:, :2]), o[:, :2]),
    "scatter_value_": lambda L, y, o: y.scatter_(0, L.tensor(IDX[:1]), 3.0),
    "scatter_add_": lambda L, y, o: y.scatter_add_(1, L.tensor(IDX), o),
    "addmm_": lambda L, y, o: y.addmm_(o, o.T @ o, beta=0.5, alpha=2.0),
    "addr_": lambda L, y, o: y.addr_(o[:, 0], o[0]),
    "eq_": lambda L, y, o: y.mul_(0).add_(1).eq_(L.ones(3, 4, dtype=L.float64)),
    "lt_": lambda L, y, o: y.lt_(o),
}


def _run(L, name):
    x = L.tensor(X, requires_grad=True)
    o = L.tensor(Y, requires_grad=True)
    y = x * 1.0
    v0 = y._version
    out = CASES[name](L, y, o)
    w = L.tensor(np.arange(12.0).reshape(3, 4) / 7 - 0.3)
    grads = None
    if out.requires_grad:
        xs = [t for t in (x, o)]
        grads = L.autograd.grad((out * w).sum(), xs, allow_unused=True)
        grads = [None if g is None else g.detach().numpy() for g in grads]
    return out.detach().numpy(), grads, out is y, y._version > v0


@pytest.mark.parametrize("name", list(CASES))
def test_inplace_twin_matches_torch(name):
    torch = pytest.importorskip("torch")
    got, gg, same, bumped = _run(tg, name)
    want, tgr, _, _ = _run(torch, name)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert same and bumped
    assert (gg is None) == (tgr is None)
    for a, b in zip(gg or (), tgr or ()):
        if a is None:  # comparisons: the other argument gets no gradient (torch: zeros)
            assert b is None or not b.any()
        else:
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["sigmoid_", "lerp_tensor_", "addcdiv_", "index_add_",
                                  "scatter_", "addmm_", "cumprod_", "hypot_"])
def test_inplace_twin_gradcheck(name):
    def f(x, o):
        return CASES[name](tg, x * 1.0, o)
    x = tg.tensor(X, requires_grad=True)
    o = tg.tensor(Y, requires_grad=True)
    assert tg.gradcheck(f, (x, o))
    assert tg.gradgradcheck(f, (x, o))


def test_inplace_twin_errors_as_torch():
    torch = pytest.importorskip("torch")
    for L in (torch, tg):
        with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                               "output type Long"):
            L.tensor([1, 4]).sqrt_()
        with pytest.raises(RuntimeError, match="(?i)integer division with addcdiv"):
            L.ones(2).addcdiv_(L.tensor([1, 2]), L.tensor([1, 2]))
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            L.ones(2, requires_grad=True).relu_()
    x = tg.tensor([-1.0, 2.0])
    assert x.relu_() is x and x.tolist() == [0.0, 2.0] and x._version == 1
    assert not hasattr(x, "t_") and not hasattr(x, "unsqueeze_")
