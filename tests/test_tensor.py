"""The Tensor type: construction and dtypes, promotion rules, attributes, in-place methods,
comparisons, and error messages that name the op and both shapes."""
import numpy as np
import pytest

import tensorgrad as tg


# ---- construction and dtypes ---------------------------------------------------------------------
def test_python_floats_default_to_float32_and_ints_stay_int():
    assert tg.tensor([1.0, 2.0]).dtype == np.float32
    assert tg.tensor(2.5).dtype == np.float32
    assert tg.tensor([1, 2, 3]).dtype == np.int64
    assert tg.tensor([True, False]).dtype == np.bool_
    assert tg.tensor([1.0, 2.0], dtype=tg.float64).dtype == np.float64
    assert tg.tensor(np.arange(3.0)).dtype == np.float64  # numpy arrays keep their dtype
    assert tg.tensor([1, 2], dtype="double").dtype == np.float64


def test_tensor_copies_its_data():
    a = np.ones(3)
    t = tg.tensor(a)
    a[0] = 5
    assert t.detach().numpy()[0] == 1.0
    assert tg.from_numpy(a).detach().numpy() is a


def test_constructors():
    tg.manual_seed(0)
    a = tg.randn(2, 3)
    tg.manual_seed(0)
    b = tg.randn((2, 3))
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert a.dtype == np.float32 and a.shape == (2, 3)
    assert tg.zeros(2, 3).shape == (2, 3) and tg.ones(4).detach().numpy().sum() == 4
    assert tg.full((2, 2), 3.0).detach().numpy().tolist() == [[3.0, 3.0], [3.0, 3.0]]
    assert tg.arange(5).dtype == np.int64 and tg.arange(0, 1, 0.5).dtype == np.float32
    assert tg.eye(3).detach().numpy().trace() == 3
    assert tg.zeros_like(tg.ones(2, dtype=tg.float64)).dtype == np.float64
    assert tg.randn(3, dtype=tg.float64).dtype == np.float64
    assert tg.rand(100).detach().numpy().min() >= 0 and tg.rand(100).detach().numpy().max() < 1
    r = tg.randn(3, requires_grad=True)
    assert r.requires_grad and r.is_leaf
    with pytest.raises((ValueError, TypeError)):
        tg.tensor([[1, 2], [3]])


def test_attributes_and_conversions():
    t = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert t.shape == (2, 3) and t.ndim == 2 and t.numel() == 6 and len(t) == 2
    assert t.size() == (2, 3) and t.size(1) == 3 and t.dim() == 2
    assert t.is_leaf and t.grad is None and t.grad_fn is None and not t.requires_grad
    assert t.sum().item() == 21.0 and isinstance(t.sum().item(), float)
    assert t.double().dtype == np.float64 and t.double().float().dtype == np.float32
    assert t.long().dtype == np.int64
    assert t.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert isinstance(t.numpy(), np.ndarray)
    with pytest.raises(ValueError, match=r"item\(\).*\(2, 3\)"):
        t.item()
    with pytest.raises(RuntimeError, match="detach"):
        tg.ones(2, requires_grad=True).numpy()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(t)
    assert "tensor(" in repr(t)
    assert "requires_grad=True" in repr(tg.ones(2, requires_grad=True))


def test_integer_tensors_as_indices():
    a = tg.arange(10).float()
    idx = tg.tensor([1, 3, 3])
    np.testing.assert_array_equal(a[idx].detach().numpy(), [1, 3, 3])
    np.testing.assert_array_equal(a[tg.tensor(4)].detach().numpy(), 4)
    lst = [0, 1, 2]
    assert lst[tg.tensor(2)] == 2   # __index__


# ---- dtype promotion ---------------------------------------------------------------------------
BINARY = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b,
          lambda a, b: tg.maximum(a, b), lambda a, b: tg.minimum(a, b),
          lambda a, b: tg.where(tg.ones(3, 3) > 0, a, b), lambda a, b: tg.cat([a, b]),
          lambda a, b: a @ b, lambda a, b: tg.linear(a, b), lambda a, b: abs(a) ** b]


@pytest.mark.parametrize("op", range(len(BINARY)))
def test_mixed_float32_float64_promotes_to_float64_with_float32_grads(op):
    f = BINARY[op]
    a = tg.rand(3, 3, requires_grad=True)
    b = tg.rand(3, 3, dtype=tg.float64, requires_grad=True)
    for x, y in ((a, b), (b, a)):
        out = f(x, y)
        assert out.dtype == np.float64
        out.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
def test_python_scalars_never_change_dtype(dtype):
    a = tg.rand(3, dtype=dtype) + 0.5
    for out in (a + 1.5, 1.5 + a, a - 2, 2 - a, a * 3.0, 3.0 * a, a / 2.0, 2.0 / a, a ** 2,
                a ** 0.5, 2.0 ** a, tg.maximum(a, 0.7), tg.where(a > 1, a, 0.0), a.clamp(0.1, 0.9),
                a + np.float64(1.0), a * np.float32(2.0), a + True):
        assert out.dtype == dtype


def test_where_with_two_python_floats_defaults_to_float32():
    assert tg.where(tg.tensor([True, False]), 1.0, 2.0).dtype == np.float32


def test_integer_and_bool_tensors_compose():
    i = tg.tensor([1, 2, 3])
    assert (i + 1).dtype == np.int64
    assert (i * 2.5).dtype.kind == "f"
    m = tg.tensor([1.0, -1.0]) > 0
    assert m.dtype == np.bool_ and (m & m).dtype == np.bool_ and (~m).detach().numpy().tolist() == [False, True]


# ---- shape errors name the op and both shapes ---------------------------------------------------
def test_matmul_shape_error():
    with pytest.raises(RuntimeError, match=r"matmul: \(3, 4\) @ \(5, 2\)"):
        tg.randn(3, 4) @ tg.randn(5, 2)
    with pytest.raises(RuntimeError, match=r"matmul: .*\(2, 3, 4\) @ \(3, 4, 2\)"):
        tg.randn(2, 3, 4) @ tg.randn(3, 4, 2)
    with pytest.raises(RuntimeError, match=r"matmul: \(4,\) @ \(3,\)"):
        tg.matmul(tg.randn(4), tg.randn(3))


def test_other_shape_errors():
    with pytest.raises(RuntimeError, match=r"linear: .*\(2, 5\).*\(3, 4\)"):
        tg.linear(tg.randn(2, 5), tg.randn(3, 4))
    with pytest.raises(RuntimeError, match=r"cat: .*\(3, 4\).*\(2, 5\)"):
        tg.cat([tg.randn(3, 4), tg.randn(2, 5)])
    with pytest.raises(RuntimeError, match=r"stack: .*\(3,\).*\(4,\)"):
        tg.stack([tg.randn(3), tg.randn(4)])
    with pytest.raises(RuntimeError, match=r"reshape: .*\(5, 3\).*\(3, 4\)"):
        tg.randn(3, 4).reshape(5, 3)
    with pytest.raises(RuntimeError, match=r"expand: .*\(3, 2\).*\(3, 4\)"):
        tg.randn(3, 2).expand(3, 4)
    with pytest.raises(IndexError, match=r"sum: dimension 2"):
        tg.randn(3, 4).sum(2)
    with pytest.raises(RuntimeError, match=r"permute"):
        tg.randn(3, 4).permute(0, 0)
    with pytest.raises(IndexError, match=r"getitem: .*\(3, 4\)"):
        tg.randn(3, 4)[5]
    with pytest.raises(RuntimeError, match=r"gather"):
        tg.gather(tg.randn(3, 4), 1, tg.tensor([0, 1]))


BROADCAST_OPS = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b,
                 "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
                 "pow": lambda a, b: a ** b, "maximum": tg.maximum, "minimum": tg.minimum}


@pytest.mark.parametrize("name", list(BROADCAST_OPS))
def test_broadcast_error_names_op_and_both_shapes(name):
    with pytest.raises((ValueError, RuntimeError), match=rf"{name}: .*\(3, 4\).*\(5,\)"):
        BROADCAST_OPS[name](tg.randn(3, 4), tg.randn(5))


# ---- in-place methods and setitem -----------------------------------------------------------------
def test_inplace_methods_values():
    t = tg.tensor([1.0, 2.0, 3.0])
    t.add_(1).mul_(2).sub_(tg.tensor([1.0, 1.0, 1.0])).div_(2)
    np.testing.assert_allclose(t.detach().numpy(), [1.5, 2.5, 3.5])
    t.clamp_(2.0, 3.0)
    np.testing.assert_allclose(t.detach().numpy(), [2.0, 2.5, 3.0])
    t.fill_(7)
    assert t.detach().numpy().tolist() == [7, 7, 7] and t.dtype == np.float32
    t.copy_(tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64))
    assert t.dtype == np.float32 and t.detach().numpy().tolist() == [1, 2, 3]
    t[1:] = 0.0
    assert t.detach().numpy().tolist() == [1, 0, 0]
    t[tg.tensor([True, False, True])] = tg.tensor([5.0, 6.0])
    assert t.detach().numpy().tolist() == [5, 0, 6]
    with pytest.raises(RuntimeError, match=r"add_: .*\(3,\).*\(2, 3\)"):
        t.add_(tg.ones(2, 3))


def test_setitem_is_differentiable():
    a = tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64, requires_grad=True)
    v = tg.tensor(10.0, dtype=tg.float64, requires_grad=True)
    b = a * 2
    b[1] = v * 3
    b.sum().backward()
    assert a.grad.detach().numpy().tolist() == [2.0, 0.0, 2.0] and v.grad.item() == 3.0


def test_data_writes_are_untracked():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    v = a._version
    a.data -= 0.5
    assert a._version == v
    np.testing.assert_allclose(a.detach().numpy(), [0.5, 1.5])


def test_methods_and_aliases():
    a = tg.tensor(np.arange(24.0).reshape(2, 3, 4))
    assert a.sum(axis=1, keepdims=True).shape == (2, 1, 4)
    assert a.mean(dim=(0, 2)).shape == (3,)
    assert a.amax(axis=-1).shape == (2, 3)
    v, i = a.max(dim=2)
    assert v.shape == (2, 3) and i.dtype == np.int64 and (i.detach().numpy() == 3).all()
    assert a.max().item() == 23 and a.min().item() == 0
    assert a.transpose(0, 1).shape == (3, 2, 4) and a.T.shape == (4, 3, 2)
    assert a.flatten().shape == (24,) and a.view(6, 4).shape == (6, 4)
    assert a.unsqueeze(0).squeeze(0).shape == (2, 3, 4)
    assert a.expand(5, 2, 3, 4).shape == (5, 2, 3, 4)
    assert np.isclose(a.var().item(), np.var(np.arange(24.0), ddof=1))
    assert np.isclose(a.var(unbiased=False).item(), np.var(np.arange(24.0)))
