"""Grad mode is per thread, as in PyTorch."""
import threading

import tensorgrad as tg


def _in_thread(fn):
    out = {}

    def run():
        out["value"] = fn()
    t = threading.Thread(target=run)
    t.start()
    t.join()
    return out["value"]


def test_no_grad_in_one_thread_does_not_stop_recording_in_another():
    def work():
        x = tg.randn(3, requires_grad=True)
        return (x * 2).requires_grad
    with tg.no_grad():
        assert not (tg.randn(3, requires_grad=True) * 2).requires_grad
        assert _in_thread(work) is True


def test_threads_backpropagate_concurrently():
    results = []

    def work(seed):
        x = tg.tensor([float(seed)], dtype=tg.float64, requires_grad=True)
        y = x
        for _ in range(2000):
            y = y * 1.0 + 0.0
        (y * y).sum().backward()
        results.append((seed, x.grad.item()))

    threads = [threading.Thread(target=work, args=(s,)) for s in range(1, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [(1, 2.0), (2, 4.0), (3, 6.0)]
