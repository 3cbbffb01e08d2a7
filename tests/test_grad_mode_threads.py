"""Grad mode is per thread, as in PyTorch."""
import threading

import pytest

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


def _hold_in_thread(enter, ops):
    """Run ``enter()`` (a context manager) in another thread and, while that thread holds it,
    run ``ops()`` here; returns what ``ops`` returned and what the other thread saw inside."""
    entered, release, seen = threading.Event(), threading.Event(), {}

    def run():
        with enter():
            seen["inner"] = (tg.randn(3, requires_grad=True) * 2).requires_grad
            entered.set()
            release.wait(5)
    t = threading.Thread(target=run)
    t.start()
    entered.wait(5)
    try:
        here = ops()
    finally:
        release.set()
        t.join()
    return here, seen["inner"]


def test_grad_mode_of_another_thread_is_not_this_threads():
    # record() reads shared counters before the thread-local flags (tensorgrad/_state.py): a
    # thread in no_grad/inference_mode must not change what this one records, and back in the
    # default mode everywhere the counters are zero again
    from tensorgrad._state import COUNTS
    base = COUNTS.not_recording
    for mode in (tg.no_grad, tg.inference_mode):
        def here():
            x = tg.randn(3, requires_grad=True)
            with tg.no_grad():
                off = (x * 2).requires_grad
            return (x * 2).requires_grad, off
        (on, off), inner = _hold_in_thread(mode, here)
        assert (on, off, inner) == (True, False, False)
        assert COUNTS.not_recording == base


def test_anomaly_mode_of_another_thread_is_not_this_threads():
    from tensorgrad._state import COUNTS
    base = COUNTS.watching

    def here():
        x = tg.tensor([1.0], requires_grad=True)
        return (x * 2.0).grad_fn.trace  # anomaly mode records the creation site; off: None
    trace, inner = _hold_in_thread(tg.autograd.detect_anomaly, here)
    assert trace is None and inner is True
    assert COUNTS.watching == base
    with tg.autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match="detect_anomaly: op 'mul'"):
            tg.tensor([float("nan")], requires_grad=True) * 2.0
    assert COUNTS.watching == base
