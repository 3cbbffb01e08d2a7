"""Every VJP runs in two modes and both must agree: on numpy arrays (plain ``backward()``) and
on Tensors with its operations recorded (``create_graph=True``).

For each case in the parity table both modes run on the same inputs and upstream gradients and
must agree to float64 round-off. Kernel-backed ops (conv, pooling, batch norm, cross-entropy,
fused RNNs), whose VJPs take a fused path on arrays, get the same check in a second table. A
coverage test makes sure every VJP defined in ``tensorgrad.ops`` is exercised by at least one
case (a new op without a case fails here).
"""
import inspect

import numpy as np
import pytest

import tensorgrad as tg
import tensorgrad.ops
from tensorgrad.autograd.node import node_edge

from test_ops_parity import CASES, IDS, make_inputs

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
def test_array_vjp_matches_tensor_vjp(case):
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
            e = node_edge(item)
            if e is not None:
                stack.append(e[0])
    return fns


def _unwrap(fn):
    # record_multi and tensor_vjp wrap some VJPs; see through to the function defined in ops
    while hasattr(fn, "__wrapped__"):
        fn = fn.__wrapped__
    return fn


def _all_vjps():
    """Every VJP function defined in the op library (named ``_..._vjp`` by convention)."""
    out = set()
    for name in dir(tensorgrad.ops):
        mod = getattr(tensorgrad.ops, name)
        if inspect.ismodule(mod) and mod.__name__.startswith("tensorgrad.ops."):
            for attr, fn in vars(mod).items():
                if attr.endswith("_vjp") and callable(fn) and getattr(
                        _unwrap(fn), "__module__", "") == mod.__name__:
                    out.add(_unwrap(fn))
    return out



# ---- kernel-backed ops (conv, pool, batch norm, cross-entropy, fused RNNs) -------------------------
# Their owners compare them with PyTorch; here only the two backward paths are checked against
# each other, so every registered twin in the code base has a fast-vs-tensor-VJP test.
import tensorgrad.nn.functional as F  # noqa: E402


KERNEL_CASES = [
    ("conv1d", lambda x, w, b: F.conv1d(x, w, b, padding=1), [(2, 3, 7), (4, 3, 3), (4,)]),
    ("conv2d_stride", lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
     [(2, 3, 6, 5), (4, 3, 3, 3), (4,)]),
    ("conv3d", lambda x, w: F.conv3d(x, w), [(1, 2, 4, 4, 3), (3, 2, 2, 2, 2)]),
    ("max_pool1d", lambda x: F.max_pool1d(x, 2), [(2, 3, 8)]),
    ("max_pool2d", lambda x: F.max_pool2d(x, 2), [(2, 3, 6, 6)]),
    ("avg_pool2d", lambda x: F.avg_pool2d(x, 3, stride=2, padding=1), [(2, 3, 7, 6)]),
    ("avg_pool3d", lambda x: F.avg_pool3d(x, 2), [(1, 2, 4, 4, 4)]),
    ("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (3, 2)), [(2, 3, 7, 5)]),
    ("batch_norm_train", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
     [(6, 4, 3), (4,), (4,)]),
    ("cross_entropy", lambda x: F.cross_entropy(x, tg.tensor([0, 2, 1, 2])), [(4, 3)]),
    ("binary_cross_entropy", lambda x, t: F.binary_cross_entropy(
        x.sigmoid(), t.sigmoid(), weight=tg.tensor([0.5, 1.0, 2.0], dtype=tg.float64)),
     [(4, 3), (4, 3)]),
    ("bce_with_logits", lambda x, t: F.binary_cross_entropy_with_logits(x, t.sigmoid()),
     [(4, 3), (4, 3)]),
    ("bce_with_logits_weights", lambda x, t: F.binary_cross_entropy_with_logits(
        x, t.sigmoid(), weight=tg.tensor([0.5, 1.0, 2.0], dtype=tg.float64),
        pos_weight=tg.tensor([3.0, 0.5, 1.0], dtype=tg.float64), reduction="sum"),
     [(4, 3), (4, 3)]),
    ("inplace_on_views", lambda x, w: _inplace_on_views(x, w), [(4, 3), (3,)]),
]


def _inplace_on_views(x, w):
    """copy_slices (the base after an in-place op on a view), as_strided (the view re-derived
    from it) and fill (fill_: a zero gradient)."""
    b = x * 1.0
    v = b[1:3]
    v.mul_(w)
    b[3].fill_(2.0)
    return b * v.sum()


def _spd(x):
    return x @ x.mT + 4 * tg.eye(x.shape[-1], dtype=tg.float64)


KERNEL_CASES += [  # decompositions (VJPs written with tensor ops, run on arrays by tensor_vjp)
    ("cholesky", lambda x: tg.linalg.cholesky(_spd(x)), [(2, 3, 3)]),
    ("eigh", lambda x: (lambda r: r.eigenvectors * r.eigenvalues.unsqueeze(-2))(
        tg.linalg.eigh(_spd(x))), [(3, 3)]),
    ("svd", lambda x: (lambda r: (r.U * r.S.unsqueeze(-2)) @ r.Vh + r.U.sum() + r.Vh.sum())(
        tg.linalg.svd(x, full_matrices=False)), [(4, 3)]),
    ("qr_tall", lambda x: (lambda r: r.Q @ r.R + r.R.sum())(tg.linalg.qr(x)), [(4, 3)]),
    ("qr_wide", lambda x: (lambda r: r.R * 2 + r.Q.sum())(tg.linalg.qr(x)), [(2, 4)]),
    ("solve_triangular", lambda a, b: tg.linalg.solve_triangular(
        a + 3 * tg.eye(3, dtype=tg.float64), b, upper=True), [(3, 3), (3, 2)]),
]


from nn_vjp_cases import NN_KERNEL_CASES  # noqa: E402  (the nn ops' fused VJPs)

KERNEL_CASES += NN_KERNEL_CASES

# VJPs that exist only to refuse (their op has no derivative); nothing to compare
NO_GRADIENT = {"_floor_divide_vjp"}


def _kernel_grads(fn, arrays, create_graph):
    xs = [tg.tensor(a, dtype=tg.float64, requires_grad=True) for a in arrays]
    out = fn(*xs)
    go = tg.tensor(np.random.default_rng(5).standard_normal(out.shape), dtype=tg.float64)
    return [g.data for g in tg.grad(out, xs, grad_outputs=go, create_graph=create_graph)]


@pytest.mark.parametrize("name,fn,shapes", KERNEL_CASES, ids=[c[0] for c in KERNEL_CASES])
def test_kernel_op_array_vjp_matches_tensor_vjp(name, fn, shapes):
    rng = np.random.default_rng(8)
    arrays = [rng.standard_normal(s) for s in shapes]
    for f, s in zip(_kernel_grads(fn, arrays, False), _kernel_grads(fn, arrays, True)):
        np.testing.assert_allclose(f, s, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_fused_rnn_array_vjp_matches_tensor_vjp(kind, bidirectional):
    tg.manual_seed(0)
    mod = getattr(tg.nn, kind)(3, 4, batch_first=True, bidirectional=bidirectional).double()
    x = tg.tensor(np.random.default_rng(9).standard_normal((2, 5, 3)), dtype=tg.float64,
                  requires_grad=True)
    params = [p for _, p in mod.named_parameters()]
    rng = np.random.default_rng(10)

    def outputs():  # the output and the final states (both directions' for a bidirectional one)
        out, state = mod(x)
        return [out] + (list(state) if kind == "LSTM" else [state])

    gos = [tg.tensor(rng.standard_normal(tuple(o.shape)), dtype=tg.float64) for o in outputs()]
    fast = tg.grad(outputs(), [x] + params, grad_outputs=gos)
    slow = tg.grad(outputs(), [x] + params, grad_outputs=gos, create_graph=True)
    for f, s in zip(fast, slow):
        np.testing.assert_allclose(f.data, s.data, rtol=1e-10, atol=1e-12, err_msg=kind)


def test_every_vjp_is_exercised():
    """Every VJP defined in tensorgrad.ops is run in both modes by a case above."""
    exercised = set()

    def walk_both(outs, xs):
        nonlocal exercised
        exercised |= {_unwrap(f) for f in _walk(outs)}
        gos = [tg.ones_like(o).requires_grad_() for o in outs]
        gs = tg.grad(outs, xs, grad_outputs=gos, create_graph=True, allow_unused=True)
        exercised |= {_unwrap(f) for f in _walk([g for g in gs if g is not None])}

    for case in CASES:
        xs = [tg.tensor(a, dtype=tg.float64, requires_grad=True) for a in make_inputs(case)]
        out = case.fn(tg, *xs)
        walk_both([o for o in (out if isinstance(out, (tuple, list)) else [out])
                   if o.dtype.kind == "f"], xs)
    rng = np.random.default_rng(0)
    for _, fn, shapes in KERNEL_CASES:
        xs = [tg.tensor(rng.standard_normal(s), dtype=tg.float64, requires_grad=True)
              for s in shapes]
        walk_both([fn(*xs)], xs)
    for kind in ("LSTM", "GRU", "RNN"):
        for bi in (False, True):
            mod = getattr(tg.nn, kind)(3, 4, bidirectional=bi).double()
            x = tg.tensor(rng.standard_normal((5, 2, 3)), dtype=tg.float64, requires_grad=True)
            walk_both([mod(x)[0]], [x])
    missing = sorted(f"{fn.__module__}.{fn.__name__}" for fn in _all_vjps() - exercised
                     if fn.__name__ not in NO_GRADIENT)
    assert not missing, (f"VJPs without an arrays-vs-tensors case: {missing}; add a case "
                         f"to CASES (tests/test_ops_parity.py) or KERNEL_CASES (tests/test_vjp_modes.py)")
