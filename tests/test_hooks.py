"""Tensor hooks: handles that remove them, and post-accumulate-grad hooks on leaves that fire
once a leaf's gradient is complete (while the rest of backward may still be running)."""
import numpy as np
import pytest

import tensorgrad as tg


def test_register_hook_returns_a_handle_that_removes_it():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    h = w.register_hook(lambda g: g * 10)
    (w * 3).sum().backward()
    assert np.allclose(w.grad.numpy(), 30)
    h.remove()
    w.grad = None
    (w * 3).sum().backward()
    assert np.allclose(w.grad.numpy(), 3)
    y = w * 2
    hy = y.register_hook(lambda g: g * 0)
    hy.remove()
    assert y.grad_fn.hooks is None
    w.grad = None
    y.sum().backward()
    assert np.allclose(w.grad.numpy(), 2)


def test_post_accumulate_grad_hook_sees_the_whole_gradient_once():
    w = tg.tensor([1.0, -2.0, 3.0], dtype=tg.float64, requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy().copy()))
    w.register_hook(lambda g: g * 2)  # gradient hooks run before accumulation
    loss = (w * w * 3).sum() + (w * 5).sum()
    loss.backward()
    assert len(seen) == 1
    assert np.allclose(seen[0], 2 * (6 * w.detach().numpy() + 5))
    loss2 = (w * 1).sum()
    loss2.backward()
    assert len(seen) == 2 and np.allclose(seen[1], seen[0] + 2)


def test_post_accumulate_hook_fires_before_backward_ends():
    # the first layer's weight is complete long before the input-side branch has run
    a = tg.randn(4, requires_grad=True)
    b = tg.randn(4, requires_grad=True)
    order = []
    a.register_post_accumulate_grad_hook(lambda t: order.append("a"))
    b.register_post_accumulate_grad_hook(lambda t: order.append("b"))
    x = b * 2
    for _ in range(5):
        x = x.tanh()
    loss = (x * a).sum()
    loss.backward()
    assert order == ["a", "b"]


def test_post_accumulate_hook_not_run_by_grad_and_refused_on_non_leaves():
    w = tg.randn(3, requires_grad=True)
    calls = []
    w.register_post_accumulate_grad_hook(lambda t: calls.append(1))
    tg.grad((w * 2).sum(), w)
    assert calls == []
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(lambda t: None)


def test_post_accumulate_hook_matches_torch_order_and_values():
    torch = pytest.importorskip("torch")
    vals = np.array([0.5, -1.5, 2.0])
    out = {}
    for lib, name in ((tg, "tg"), (torch, "torch")):
        w = lib.tensor(vals, dtype=lib.float64, requires_grad=True)
        got = []
        w.register_post_accumulate_grad_hook(lambda t, got=got: got.append(t.grad.detach().numpy().copy()))
        ((w ** 3).sum() + w.sum()).backward()
        out[name] = got
    assert len(out["tg"]) == len(out["torch"]) == 1
    assert np.allclose(out["tg"][0], out["torch"][0])
