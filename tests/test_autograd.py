"""The engine: graph recording, backward order and accumulation, retain/create graph, tg.grad
and higher-order gradients, grad modes, detach and requires_grad_. (Hooks, the Function API,
version counters, anomaly mode and gradcheck: tests/test_autograd_hooks_functions.py.)"""
import numpy as np
import pytest

import tensorgrad as tg

from _torch import torch


def f64(a, requires_grad=True):
    return tg.tensor(np.asarray(a, dtype=np.float64), dtype=tg.float64, requires_grad=requires_grad)


# ---- graph and backward ----------------------------------------------------------------------
def test_reused_nodes_accumulate_b_eq_a_plus_a():
    a = tg.tensor(2.0, requires_grad=True)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad.item() == 4.0


def test_diamond_graph_matches_torch():
    x = np.array([0.3, -1.2, 2.0])

    def f(m, a):
        b = a * a
        c = b.sin() + b * a
        d = c * b - a.exp()
        return (d * c).sum()

    a = f64(x)
    f(tg, a).backward()
    ta = torch.tensor(x, requires_grad=True)
    f(torch, ta).backward()
    np.testing.assert_allclose(a.grad.detach().numpy(), ta.grad.numpy(), rtol=1e-12)


def test_long_chain_backprops_without_recursion():
    """100,000 recorded ops in a chain: backward is iterative (no RecursionError)."""
    x = tg.tensor([1.0], dtype=tg.float64, requires_grad=True)
    y = x
    for i in range(100_000):
        y = y * 1.00001 if i % 2 else y + 0.5
    y.sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [1.00001 ** 50_000], rtol=1e-9)


def test_long_chain_create_graph():
    x = tg.tensor([0.5], dtype=tg.float64, requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y * 1.0001
    (g,) = tg.grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [1.0001 ** 20_000], rtol=1e-9)


def test_gradients_accumulate_into_leaves_across_calls():
    a = f64([1.0, 2.0])
    (a * 3).sum().backward()
    (a * a).sum().backward()
    np.testing.assert_allclose(a.grad.detach().numpy(), 3 + 2 * a.detach().numpy())


def test_grad_not_aliased_between_leaves_or_mutated_later():
    a, b = f64([1.0, 2.0]), f64([3.0, 4.0])
    (a + b).sum().backward()
    assert a.grad.detach().numpy() is not b.grad.detach().numpy()
    a.grad.data[0] = 100.0
    assert b.grad.detach().numpy()[0] == 1.0
    g_before = b.grad.detach().numpy().copy()
    (a + b).sum().backward()  # accumulation must not write into an array seen by someone else
    np.testing.assert_allclose(b.grad.detach().numpy(), g_before + 1)


def test_broadcast_gradients_summed_to_input_shape_and_dtype():
    a = tg.randn(3, 1, requires_grad=True)              # float32 leaf
    b = tg.randn(2, 1, 4, dtype=tg.float64, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (3, 1) and a.grad.dtype == np.float32
    assert b.grad.shape == (2, 1, 4) and b.grad.dtype == np.float64
    np.testing.assert_allclose(a.grad.detach().numpy()[:, 0], np.full(3, b.detach().numpy().sum()), rtol=1e-6)


def test_retain_graph_allows_second_backward():
    a = f64([1.0, -2.0])
    y = (a * a * a).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(a.grad.detach().numpy(), 2 * 3 * a.detach().numpy() ** 2)


def test_second_backward_through_freed_graph_names_retain_graph():
    a = f64([1.0, -2.0])
    y = (a * a).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
    z = (a.exp() * 2).sum()
    tg.grad(z, a)
    with pytest.raises(RuntimeError, match="retain_graph"):
        tg.grad(z, a)


def test_non_scalar_backward_needs_gradient():
    a = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"scalar outputs.*\(2,\).*gradient"):
        (a * 2).backward()
    with pytest.raises(RuntimeError, match=r"shape"):
        (a * 2).backward(tg.ones(3, dtype=tg.float64))
    (a * 2).backward(tg.tensor([1.0, 10.0], dtype=tg.float64))
    np.testing.assert_allclose(a.grad.detach().numpy(), [2.0, 20.0])


def test_backward_on_tensor_without_graph_is_clear():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (tg.ones(2) * 2).sum().backward()


def test_backward_inputs_argument():
    a, b = f64([1.0]), f64([2.0])
    (a * b).sum().backward(inputs=[a])
    assert b.grad is None
    np.testing.assert_allclose(a.grad.detach().numpy(), [2.0])


# ---- tg.grad, create_graph, higher order -----------------------------------------------------
def test_grad_returns_without_touching_dot_grad():
    a = f64([1.0, 2.0])
    (g,) = tg.grad((a * a).sum(), a)
    assert a.grad is None
    assert not g.requires_grad
    np.testing.assert_allclose(g.detach().numpy(), 2 * a.detach().numpy())


def test_grad_unused_input():
    a, z = f64([1.0]), f64([2.0])
    with pytest.raises(RuntimeError, match="allow_unused"):
        tg.grad((a * a).sum(), [a, z])
    g = tg.grad((a * a).sum(), [a, z], allow_unused=True)
    assert g[1] is None


def test_grad_of_grad_third_order():
    x = f64([0.7, -1.3])
    y = (x ** 4).sum()
    (g1,) = tg.grad(y, x, create_graph=True)
    (g2,) = tg.grad(g1.sum(), x, create_graph=True)
    (g3,) = tg.grad(g2.sum(), x)
    np.testing.assert_allclose(g1.detach().numpy(), 4 * x.detach().numpy() ** 3)
    np.testing.assert_allclose(g2.detach().numpy(), 12 * x.detach().numpy() ** 2)
    np.testing.assert_allclose(g3.detach().numpy(), 24 * x.detach().numpy())


def test_hessian_vector_product_of_mlp_loss_matches_torch():
    rng = np.random.default_rng(0)
    X, W1, W2, v1, v2 = (rng.standard_normal(s) for s in [(5, 4), (4, 6), (6, 3), (4, 6), (6, 3)])
    y = np.array([0, 2, 1, 1, 0])

    def loss(m, W1, W2):
        h = (m.tensor(X) @ W1).tanh()
        logp = (h @ W2).log_softmax(dim=1)
        return -logp[m.tensor(np.arange(5)), m.tensor(y)].mean() + 0.1 * (W1 * W1).sum()

    def hvp(m, gradfn):
        w1 = m.tensor(W1, requires_grad=True)
        w2 = m.tensor(W2, requires_grad=True)
        g1, g2 = gradfn(loss(m, w1, w2), [w1, w2], create_graph=True)
        s = (g1 * m.tensor(v1)).sum() + (g2 * m.tensor(v2)).sum()
        return [t.detach().numpy() for t in gradfn(s, [w1, w2])]

    ours = hvp(tg, tg.grad)
    ref = hvp(torch, torch.autograd.grad)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_backward_create_graph_makes_grad_differentiable():
    x = f64([1.5])
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (g2,) = tg.grad(x.grad.sum(), x)
    np.testing.assert_allclose(g2.detach().numpy(), 6 * x.detach().numpy())


# ---- grad modes, detach, requires_grad_ ------------------------------------------------------
def test_no_grad_and_enable_grad_contexts():
    a = f64([1.0])
    with tg.no_grad():
        assert not (a * 2).requires_grad
        assert not tg.is_grad_enabled()
        with tg.enable_grad():
            assert (a * 2).requires_grad
        assert not (a * 2).requires_grad
    assert tg.is_grad_enabled()
    assert (a * 2).requires_grad
    with tg.set_grad_enabled(False):
        assert not (a * 2).requires_grad


def test_no_grad_and_enable_grad_decorators():
    a = f64([1.0])

    @tg.no_grad()
    def f(x):
        return x * 2

    @tg.enable_grad()
    def g(x):
        return x * 2

    assert not f(a).requires_grad
    with tg.no_grad():
        assert g(a).requires_grad
    assert tg.is_grad_enabled()


def test_no_grad_and_enable_grad_as_bare_decorators():
    """PyTorch 2 accepts @torch.no_grad / @torch.enable_grad without parentheses."""
    a = f64([1.0])

    @tg.no_grad
    def f(x):
        return x * 2

    @tg.enable_grad
    def g(x):
        return x * 2

    assert not f(a).requires_grad
    with tg.no_grad():
        assert g(a).requires_grad
    assert f.__name__ == "f"


def test_grad_mode_restored_after_exception():
    with pytest.raises(ValueError):
        with tg.no_grad():
            raise ValueError("boom")
    assert tg.is_grad_enabled()


def test_detach_and_requires_grad_():
    a = f64([1.0, 2.0])
    d = (a * 2).detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    # detach shares storage, as in PyTorch
    b = a * 2
    b.detach().data[0] = 7.0
    assert b.detach().numpy()[0] == 7.0
    c = tg.ones(2)
    assert c.requires_grad_() is c and c.requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        tg.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="leaf"):
        (a * 2).requires_grad_(False)


def test_comparisons_are_not_differentiable():
    a = f64([1.0, -2.0])
    for r in (a > 0, a < 0, a >= 0, a <= 0, a == 1.0, a != 1.0):
        assert r.dtype == np.bool_ and not r.requires_grad and r.grad_fn is None


def test_op_without_gradient_raises_naming_it():
    a = f64([3.0, 4.0])
    with pytest.raises(RuntimeError, match="floor_divide"):
        (a // 2).sum().backward()

