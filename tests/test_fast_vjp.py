"""The numpy VJP twins (plain ``backward()``) agree with the tensor-op VJPs (``create_graph``).

Every op family of the engine registers fast numpy twins with ``fast_vjp``; for each case in
the parity table both paths run on the same inputs and upstream gradients and must agree to
float64 round-off. A coverage test makes sure every twin registered by the engine's op
modules is exercised by at least one case (a new twin without a case fails here).
"""
import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad.autograd.node import FAST

from test_ops_parity import CASES, IDS, make_inputs

ENGINE_MODULES = ("tensorgrad.ops.elementwise", "tensorgrad.ops.reduce", "tensorgrad.ops.movement",
                  "tensorgrad.ops.index", "tensorgrad.ops.linalg")


def _grads(case, arrays, create_graph, use_backward=False):
    xs = [tg.tensor(a, dtype=tg.float64, requires_grad=True) for a in arrays]
    out = case.fn(tg, *xs)
    outs = [o for o in (out if isinstance(out, (tuple, list)) else [out]) if o.dtype.kind == "f"]
    rng = np.random.default_rng(11)
    gos = [tg.tensor(rng.standard_normal(o.shape), dtype=tg.float64) for o in outs]
    if use_backward:
        loss = sum((o * g).sum() for o, g in zip(outs, gos))
        loss.backward()
        return [None if x.grad is None else x.grad.data for x in xs]
    gs = tg.grad(outs, xs, grad_outputs=gos, create_graph=create_graph, allow_unused=True)
    return [None if g is None else g.data for g in gs]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fast_twin_matches_tensor_vjp(case):
    arrays = make_inputs(case, seed=21)
    fast = _grads(case, arrays, create_graph=False)
    slow = _grads(case, arrays, create_graph=True)
    via_backward = _grads(case, arrays, create_graph=False, use_backward=True)
    for i, (f, s, b) in enumerate(zip(fast, slow, via_backward)):
        assert (f is None) == (s is None), f"{case.name}: input {i} gradient presence differs"
        if f is None:
            continue
        assert f.shape == s.shape == arrays[i].shape
        np.testing.assert_allclose(f, s, rtol=1e-12, atol=1e-13,
                                   err_msg=f"{case.name}: fast twin vs tensor VJP, input {i}")
        np.testing.assert_allclose(b, f, rtol=1e-12, atol=1e-13,
                                   err_msg=f"{case.name}: .backward() vs tg.grad, input {i}")


def _walk(roots):
    """All backward functions reachable from ``roots`` (iterative)."""
    seen, fns, stack = set(), set(), [t.grad_fn for t in roots if t.grad_fn is not None]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        fns.add(n.fn)
        for item in n.next:
            if type(item) is tuple:
                stack.append(item[0])
    return fns


def _unwrap(fn):
    # record_multi wraps single-output backward functions; see through the default argument
    d = getattr(fn, "__defaults__", None)
    return d[0] if d and callable(d[0]) else fn


def test_every_registered_twin_is_exercised():
    exercised = set()
    for case in CASES:
        arrays = make_inputs(case)
        xs = [tg.tensor(a, dtype=tg.float64, requires_grad=True) for a in arrays]
        out = case.fn(tg, *xs)
        outs = [o for o in (out if isinstance(out, (tuple, list)) else [out])
                if o.dtype.kind == "f"]
        exercised |= {_unwrap(f) for f in _walk(outs)}
        gos = [tg.ones_like(o).requires_grad_() for o in outs]
        gs = tg.grad(outs, xs, grad_outputs=gos, create_graph=True, allow_unused=True)
        exercised |= {_unwrap(f) for f in _walk([g for g in gs if g is not None])}
    registered = {fn for fn in FAST if getattr(fn, "__module__", "") in ENGINE_MODULES}
    missing = sorted(f"{fn.__module__}.{fn.__name__}" for fn in registered - exercised)
    assert not missing, f"fast twins without a parity case: {missing}"


def test_pow_scalar_exponent_zero_at_zero_base_both_paths():
    """x ** 0 has gradient 0 everywhere (PyTorch too), also at x = 0 and on the fast path."""
    x = tg.tensor([0.0, 0.0, 1.5], dtype=tg.float64, requires_grad=True)
    with np.errstate(all="ignore"):
        (slow,) = tg.grad((x ** 0).sum(), x, create_graph=True)
        (fast,) = tg.grad((x ** 0).sum(), x)
    np.testing.assert_array_equal(slow.data, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(fast.data, [0.0, 0.0, 0.0])
