"""tg.autograd.functional against torch.autograd.functional in float64: jacobian, hessian,
vjp, jvp, hvp, vhp with single tensors and tuples, create_graph, strict, and the errors."""
import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad.autograd import functional as AF


def f_single(L, x):
    return (x.sin() * x.exp()).reshape(2, 2) * 2.0


def f_pair(L, x, y):
    return (x * y.sum()).tanh(), (x ** 2).sum() * y


def scalar_single(L, x):
    return (x.sin() * x * x).sum()


def scalar_pair(L, x, y):
    return (x.exp() * (y ** 2).sum()).sum() + (x * x).sum() * y[0]


RNG = np.random.default_rng(3)
X, Y, V4, V3 = (RNG.standard_normal(s) for s in ((4,), (3,), (4,), (3,)))
V22 = RNG.standard_normal((2, 2))


def _t(lib, a):
    return lib.tensor(a, dtype=lib.float64)


def _np(res):
    if isinstance(res, tuple):
        return tuple(_np(r) for r in res)
    return res.detach().numpy()


def _close(a, b):
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for x, y in zip(a, b):
            _close(x, y)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


CASES = {
    "jacobian_single": lambda L, F: F.jacobian(lambda x: f_single(L, x), _t(L, X)),
    "jacobian_pair": lambda L, F: F.jacobian(lambda x, y: f_pair(L, x, y), (_t(L, X), _t(L, Y))),
    "jacobian_tuple_in": lambda L, F: F.jacobian(lambda x: f_single(L, x), (_t(L, X),)),
    "jacobian_vectorize": lambda L, F: F.jacobian(lambda x: f_single(L, x), _t(L, X), vectorize=True),
    "hessian_single": lambda L, F: F.hessian(lambda x: scalar_single(L, x), _t(L, X)),
    "hessian_pair": lambda L, F: F.hessian(lambda x, y: scalar_pair(L, x, y), (_t(L, X), _t(L, Y))),
    "vjp_single": lambda L, F: F.vjp(lambda x: f_single(L, x), _t(L, X), _t(L, V22)),
    "vjp_scalar": lambda L, F: F.vjp(lambda x: scalar_single(L, x), _t(L, X)),
    "vjp_pair": lambda L, F: F.vjp(lambda x, y: f_pair(L, x, y), (_t(L, X), _t(L, Y)),
                                  (_t(L, V4), _t(L, V3))),
    "jvp_single": lambda L, F: F.jvp(lambda x: f_single(L, x), _t(L, X), _t(L, V4)),
    "jvp_pair": lambda L, F: F.jvp(lambda x, y: f_pair(L, x, y), (_t(L, X), _t(L, Y)),
                                  (_t(L, V4), _t(L, V3))),
    "hvp_single": lambda L, F: F.hvp(lambda x: scalar_single(L, x), _t(L, X), _t(L, V4)),
    "hvp_pair": lambda L, F: F.hvp(lambda x, y: scalar_pair(L, x, y), (_t(L, X), _t(L, Y)),
                                  (_t(L, V4), _t(L, V3))),
    "vhp_single": lambda L, F: F.vhp(lambda x: scalar_single(L, x), _t(L, X), _t(L, V4)),
    "vhp_pair": lambda L, F: F.vhp(lambda x, y: scalar_pair(L, x, y), (_t(L, X), _t(L, Y)),
                                  (_t(L, V4), _t(L, V3))),
    "unused_input": lambda L, F: F.jacobian(lambda x, y: x * 2.0, (_t(L, X), _t(L, Y))),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(name):
    torch = pytest.importorskip("torch")
    import torch.autograd.functional as TF
    want, got = CASES[name](torch, TF), CASES[name](tg, AF)
    _close(_np(got), _np(want))


def test_results_are_detached_unless_create_graph():
    x = _t(tg, X).requires_grad_()
    out, g = AF.vjp(lambda a: scalar_single(tg, a), x)
    assert not out.requires_grad and not g.requires_grad
    out, g = AF.vjp(lambda a: scalar_single(tg, a), x, create_graph=True)
    assert g.requires_grad
    (gg,) = tg.grad(g.sum(), x)          # differentiate the gradient again
    h = AF.hessian(lambda a: scalar_single(tg, a), _t(tg, X))
    np.testing.assert_allclose(gg.numpy(), h.numpy().sum(0), rtol=1e-10)
    J = AF.jacobian(lambda a: a.exp(), x, create_graph=True)
    assert J.requires_grad
    (d,) = tg.grad(J.sum(), x)
    np.testing.assert_allclose(d.numpy(), np.exp(X), rtol=1e-12)


def test_strict_mode_and_errors_as_torch():
    torch = pytest.importorskip("torch")
    import torch.autograd.functional as TF
    for L, F in ((torch, TF), (tg, AF)):
        x, y = _t(L, X), _t(L, Y)
        with pytest.raises(RuntimeError, match="independent of input 1"):
            F.jacobian(lambda a, b: a * 2.0, (x, y), strict=True)
        with pytest.raises(RuntimeError, match="does not require gradients"):
            F.vjp(lambda a: L.ones(2, dtype=L.float64), x, _t(L, np.ones(2)), strict=True)
        z = F.vjp(lambda a: L.ones(2, dtype=L.float64), x, _t(L, np.ones(2)))[1]
        assert z.tolist() == [0.0] * 4
        with pytest.raises(RuntimeError, match="v can only be None"):
            F.vjp(lambda a: a * 2.0, x)
        with pytest.raises(RuntimeError, match="single Tensor"):
            F.hessian(lambda a: (a.sum(), a.sum()), x)
        with pytest.raises(RuntimeError, match="single element"):
            F.vhp(lambda a: a * 2.0, x, x)
        with pytest.raises(TypeError):
            F.jacobian(lambda a: a, [x])
    with pytest.raises(ValueError, match="strategy"):
        AF.jacobian(lambda a: a, _t(tg, X), strategy="sideways")
