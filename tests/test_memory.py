"""Memory: graphs and saved tensors are freed after backward, so training loops don't grow."""
import gc
import os
import weakref

import numpy as np

import tensorgrad as tg


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_training_loop_memory_is_flat():
    """300 forward/backward steps of a 256x256 two-layer net: resident memory stays flat."""
    tg.manual_seed(0)
    W1 = tg.randn(256, 256, requires_grad=True)
    W2 = tg.randn(256, 256, requires_grad=True)
    X = tg.randn(64, 256)  # batch 64
    Y = tg.randn(64, 256)

    def step():
        h = (X @ W1).tanh()
        loss = ((h @ W2 - Y) ** 2).mean()
        loss.backward()
        with tg.no_grad():
            for w in (W1, W2):
                w.data -= 1e-4 * w.grad.data
                w.grad = None
        return loss

    try:  # one BLAS thread: on a busy 2-core machine threaded GEMMs only fight each other
        from threadpoolctl import threadpool_limits
        limit = threadpool_limits(1)
    except ImportError:  # pragma: no cover
        limit = None
    try:
        for _ in range(20):  # warm-up: allocator pools and caches settle
            step()
        gc.collect()
        before = _rss_bytes()
        for _ in range(300):
            step()
        gc.collect()
        grown = _rss_bytes() - before
    finally:
        if limit is not None:
            limit.restore_original_limits()
    # each step saves ~128 KiB for backward (tanh output, pow input, ...): keeping 300 steps of
    # saved tensors alive adds ~38 MiB (checked by making the loop leak them)
    assert grown < 16 * 2 ** 20, f"RSS grew by {grown / 2 ** 20:.1f} MiB over 300 steps"


def test_graph_and_saved_tensors_freed_without_gc():
    """Reference counting alone frees the graph once the loss goes (no cycles)."""
    gc.disable()
    try:
        a = tg.randn(50, 50, requires_grad=True)
        h = (a @ a).tanh()
        loss = (h * h).sum()
        node_ref = weakref.ref(h.grad_fn)
        h_ref = weakref.ref(h)
        del h
        loss.backward()
        del loss
        assert h_ref() is None and node_ref() is None
    finally:
        gc.enable()


def test_saved_tensors_released_after_backward_but_kept_with_retain_graph():
    a = tg.randn(4, requires_grad=True)
    b = a * 2
    c = b * b
    c.sum().backward(retain_graph=True)
    assert c.grad_fn.saved is not None
    c.sum().backward()
    assert c.grad_fn.saved is None and c.grad_fn.released
    np.testing.assert_allclose(a.grad.data, 2 * 8 * a.data, rtol=1e-6)


def test_create_graph_loops_leave_no_cycles():
    """Hessian-vector products in a loop, and backward(create_graph=True) with .grad reset,
    are freed by reference counting alone (gc disabled): no cycles through the graph."""
    tg.manual_seed(1)
    W1 = tg.randn(32, 32, requires_grad=True)
    W2 = tg.randn(32, 32, requires_grad=True)
    X, V1, V2 = tg.randn(16, 32), tg.randn(32, 32), tg.randn(32, 32)
    refs = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(5):
            loss = ((X @ W1).tanh() @ W2).pow(2).mean()
            g1, g2 = tg.grad(loss, [W1, W2], create_graph=True)
            refs.append(weakref.ref(g1.grad_fn))
            tg.grad((g1 * V1).sum() + (g2 * V2).sum(), [W1, W2])
            del loss, g1, g2
            loss = ((X @ W1).tanh() @ W2).pow(2).mean()
            loss.backward(create_graph=True)
            refs.append(weakref.ref(W1.grad.grad_fn))
            W1.grad = W2.grad = None
            del loss
        assert all(r() is None for r in refs)
    finally:
        gc.enable()
