"""tg.viz observes the autograd through hook points (STATE.scope, backward observers) and
patches nothing: scopes are per thread, observers come off after their block."""
import threading

import tensorgrad as tg
from tensorgrad._state import STATE
from tensorgrad.autograd import engine


def test_scopes_nest_and_are_per_thread():
    x = tg.randn(3, requires_grad=True)
    other = {}

    def worker():  # records while the main thread has a scope open
        other["scope"] = STATE.scope
        other["y"] = x * 3

    with tg.viz.scope("outer") as outer:
        with tg.viz.scope("inner") as inner:
            assert STATE.scope is inner and inner.parent is outer
            a = x * 2
        assert STATE.scope is outer
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        b = a + 1
    assert STATE.scope is None
    assert tg.viz.scope_of(a.grad_fn).qualname == "outer.inner"
    assert tg.viz.scope_of(b.grad_fn) is outer
    assert other["scope"] is None and tg.viz.scope_of(other["y"].grad_fn) is None
    # creation numbers order the nodes as they were recorded
    assert a.grad_fn.scope[1] < b.grad_fn.scope[1]


def test_grad_flow_observer_only_inside_its_block():
    n0 = len(engine._BACKWARD_HOOKS)
    w = tg.randn(3, requires_grad=True)
    with tg.viz.grad_flow() as flow:
        assert len(engine._BACKWARD_HOOKS) == n0 + 1
        loss = (w * w).sum()
        loss.backward()
    assert len(engine._BACKWARD_HOOKS) == n0
    assert flow.norm(loss.grad_fn) == 1.0 and len(flow) == 2
    later = (w * 3).sum()
    later.backward()  # after the block: nothing is recorded
    assert flow.norm(later.grad_fn) is None and len(flow) == 2
