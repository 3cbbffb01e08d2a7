"""The generated in-place twins (tensorgrad/ops/inplace_variants.py) and F's ``inplace=``
activations against PyTorch: the tensor itself is written and returned, values equal torch's,
gradients flow through an in-place op on a non-leaf, a leaf that requires grad is refused."""
import numpy as np
import pytest

import tensorgrad as tg
import tensorgrad.nn.functional as F
from tensorgrad.ops.inplace_variants import NAMES
from _torch import torch

rng = np.random.default_rng(0)
U = rng.uniform(0.2, 0.8, (3, 4))            # inside every unary op's domain
B = rng.integers(0, 7, (3, 4))
M = np.array([[1.0, 2.0], [3.0, 4.0]])

ARGS = {  # name -> (input, args as builders taking the framework module)
    "addbmm": (M, lambda m: (m.tensor(np.ones((2, 2, 2))), m.tensor(np.ones((2, 2, 2))))),
    "addmm": (M, lambda m: (m.tensor(M), m.tensor(M))),
    "addmv": (M[0], lambda m: (m.tensor(M), m.tensor(M[1]))),
    "addr": (M, lambda m: (m.tensor(M[0]), m.tensor(M[1]))),
    "baddbmm": (np.ones((2, 2, 2)), lambda m: (m.tensor(np.ones((2, 2, 2))),
                                                m.tensor(np.ones((2, 2, 2))))),
    "cumprod": (U, lambda m: (1,)), "cumsum": (U, lambda m: (0,)),
    "clamp_max": (U, lambda m: (0.5,)), "clamp_min": (U, lambda m: (0.5,)),
    "float_power": (U, lambda m: (2.0,)),
    "heaviside": (U - 0.5, lambda m: (m.tensor([0.5], dtype=m.float64),)),
    "index_add": (U, lambda m: (0, m.tensor([0, 2]), m.tensor(U[:2]))),
    "index_copy": (U, lambda m: (0, m.tensor([0, 2]), m.tensor(U[:2]))),
    "index_fill": (U, lambda m: (1, m.tensor([0, 3]), -1.0)),
    "index_put": (U, lambda m: ((m.tensor([0, 2]), m.tensor([1, 3])),
                                m.tensor([5.0, 6.0], dtype=m.float64))),
    "lerp": (U, lambda m: (m.tensor(U[::-1].copy()), 0.3)),
    "masked_fill": (U, lambda m: (m.tensor(U > 0.5), 0.0)),
    "masked_scatter": (U, lambda m: (m.tensor(U > 0.5),
                                     m.tensor(np.arange(12.0).reshape(3, 4)))),
    "round": (U * 10, lambda m: ()), "tril": (U, lambda m: (0,)), "triu": (U, lambda m: (1,)),
    "scatter": (U, lambda m: (1, m.tensor([[0], [1], [2]]), 9.0)),
    "scatter_add": (U, lambda m: (1, m.tensor([[0, 0], [1, 1], [2, 3]]), m.tensor(U[:, :2]))),
    "scatter_reduce": (U, lambda m: (1, m.tensor([[0, 0], [1, 1], [2, 3]]),
                                     m.tensor(U[:, :2]), "amax")),
    "logit": (U, lambda m: ()), "nan_to_num": (U, lambda m: ()),
}
BINARY = {"arctan2", "atan2", "copysign", "divide", "eq", "floor_divide", "fmod", "ge",
          "greater", "greater_equal", "gt", "hypot", "le", "less", "less_equal", "logical_and",
          "logical_or", "logical_xor", "lt", "multiply", "ne", "not_equal", "remainder",
          "subtract", "true_divide", "xlogy"}
BITWISE = {"bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
           "bitwise_right_shift", "bitwise_not"}


def _case(name):
    if name in ARGS:
        return ARGS[name]
    if name in BITWISE:
        if name == "bitwise_not":
            return B, lambda m: ()
        return B, lambda m: (m.tensor(B[::-1] % 3),)
    if name in BINARY:
        return U, lambda m: (m.tensor(U[::-1].copy() + 0.1),)
    return U, lambda m: ()


@pytest.mark.parametrize("name", NAMES)
def test_inplace_twin_writes_like_torch(name):
    x, args = _case(name)
    t = torch.tensor(x)
    if not hasattr(t, name + "_"):
        pytest.skip(f"torch has no {name}_")
    want = getattr(t, name + "_")(*args(torch))
    g = tg.tensor(x)
    got = getattr(g, name + "_")(*args(tg))
    assert got is g                                          # the tensor itself, written
    np.testing.assert_allclose(g.numpy(), want.numpy(), rtol=1e-12, atol=0)
    assert str(g.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]


@pytest.mark.parametrize("name", ["exp", "sqrt", "sigmoid", "tanh", "lerp", "index_add",
                                  "masked_fill", "clamp_min", "cumsum", "scatter_add"])
def test_gradient_through_an_inplace_twin_as_torch(name):
    x, args = _case(name)
    w = rng.standard_normal(np.shape(x))
    leaf, tleaf = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    h, th = leaf * 1.5, tleaf * 1.5
    getattr(h, name + "_")(*args(tg))
    getattr(th, name + "_")(*args(torch))
    (h * tg.tensor(w)).sum().backward()
    (th * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), tleaf.grad.numpy(), rtol=1e-12, atol=1e-14)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        getattr(tg.tensor(x, requires_grad=True), name + "_")(*args(tg))


def test_other_operand_gradient_reaches_through_index_add_():
    src = tg.tensor(U[:2], requires_grad=True)
    z = tg.zeros(3, 4)
    z.index_add_(0, tg.tensor([0, 2]), src)
    (z * 2).sum().backward()
    np.testing.assert_array_equal(src.grad.numpy(), np.full((2, 4), 2.0))


@pytest.mark.parametrize("fn,kw", [("relu", {}), ("leaky_relu", {"negative_slope": 0.2}),
                                   ("elu", {}), ("celu", {}), ("selu", {}), ("hardtanh", {}),
                                   ("threshold", {"threshold": 0.1, "value": -1.0})])
def test_functional_inplace_keyword_and_underscore_forms(fn, kw):
    x = rng.standard_normal(5)
    want = getattr(torch.nn.functional, fn)(torch.tensor(x), **kw)
    g = tg.tensor(x)
    assert getattr(F, fn)(g, inplace=True, **kw) is g
    np.testing.assert_allclose(g.numpy(), want.numpy(), rtol=1e-12)
    g = tg.tensor(x)
    getattr(F, fn + "_")(g, **kw)
    np.testing.assert_allclose(g.numpy(), want.numpy(), rtol=1e-12)
    out = getattr(F, fn)(tg.tensor(x), **kw)                  # out of place by default
    np.testing.assert_allclose(out.numpy(), want.numpy(), rtol=1e-12)


def test_type_as():
    assert tg.ones(2).type_as(tg.tensor([1, 2])).dtype == tg.int64
    assert tg.tensor([1, 2]).type_as(tg.zeros(1, dtype=tg.float64)).dtype == tg.float64
    with pytest.raises(TypeError, match="type_as"):
        tg.ones(2).type_as(np.zeros(2))
