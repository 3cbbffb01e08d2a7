"""Property tests (hypothesis): binary ops over random broadcastable shapes, reductions over
random dims, integer indexing with repeats; plus the numerically stable softmax family at
|x| = 1e4 in float32."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import tensorgrad as tg

from _torch import torch

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

BINARY = {
    "add": lambda m, a, b: a + b,
    "sub": lambda m, a, b: a - b,
    "mul": lambda m, a, b: a * b,
    "div": lambda m, a, b: a / b,
    "pow": lambda m, a, b: a.abs() ** b,
    "maximum": lambda m, a, b: m.maximum(a, b),
    "minimum": lambda m, a, b: m.minimum(a, b),
    "where": lambda m, a, b: m.where(a > b, a * 2, b),
}


def _vals(seed, shape, away_from_zero=False):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if away_from_zero:
        x = np.sign(x + (x == 0)) * (np.abs(x) + 0.5)
    return x


def _backward_like_torch(out, tout, go, leaves):
    """Backpropagate go through our result and torch's; compare the results and, for each
    (ours, torch's) leaf, the gradients (float64)."""
    out.backward(tg.tensor(go, dtype=tg.float64))
    tout.backward(torch.tensor(go))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-7, atol=1e-12)
    for t, x in leaves:
        assert t.grad.shape == t.shape
        np.testing.assert_allclose(t.grad.detach().numpy(), x.grad.numpy(), rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("name", list(BINARY))
@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3),
       seed=st.integers(0, 2 ** 16))
def test_binary_ops_broadcast_like_torch(name, shapes, seed):
    fn = BINARY[name]
    sa, sb = shapes.input_shapes
    a = _vals(seed, sa, away_from_zero=True)
    b = _vals(seed + 1, sb, away_from_zero=True)
    ta = tg.tensor(a, dtype=tg.float64, requires_grad=True)
    tb = tg.tensor(b, dtype=tg.float64, requires_grad=True)
    out = fn(tg, ta, tb)
    assert out.shape == shapes.result_shape
    xa = torch.tensor(a, requires_grad=True)
    xb = torch.tensor(b, requires_grad=True)
    _backward_like_torch(out, fn(torch, xa, xb), _vals(seed + 2, out.shape), ((ta, xa), (tb, xb)))


REDUCTIONS = {
    "sum": (lambda m, a, d, k: a.sum(dim=d, keepdim=k)),
    "mean": (lambda m, a, d, k: a.mean(dim=d, keepdim=k)),
    "amax": (lambda m, a, d, k: m.amax(a, dim=d, keepdim=k)),
    "amin": (lambda m, a, d, k: m.amin(a, dim=d, keepdim=k)),
    "var": (lambda m, a, d, k: a.var(dim=d, keepdim=k)),
    "logsumexp": (lambda m, a, d, k: m.logsumexp(a, dim=d, keepdim=k)),
}


@st.composite
def shape_and_dims(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    nd = len(shape)
    dims = draw(st.one_of(st.none(), st.lists(st.integers(-nd, nd - 1), min_size=1,
                                              max_size=nd, unique_by=lambda d: d % nd)))
    return shape, (None if dims is None else tuple(dims)), draw(st.booleans())


@pytest.mark.parametrize("name", list(REDUCTIONS))
@SETTINGS
@given(sdk=shape_and_dims(), seed=st.integers(0, 2 ** 16))
def test_reductions_like_torch(name, sdk, seed):
    shape, dims, keep = sdk
    fn = REDUCTIONS[name]
    a = _vals(seed, shape)
    n = a.size if dims is None else int(np.prod([shape[d] for d in dims]))
    if name == "var" and n < 2:
        return  # unbiased variance of one element is nan in both; nothing to compare
    if name in ("logsumexp",) and dims is None:
        dims = tuple(range(len(shape)))  # torch's logsumexp needs dims
    ta = tg.tensor(a, dtype=tg.float64, requires_grad=True)
    xa = torch.tensor(a, requires_grad=True)
    out = fn(tg, ta, dims, keep)
    if dims is None:
        tout = fn(torch, xa, dims, keep) if name not in ("amax", "amin") else \
            getattr(torch, name)(xa, dim=tuple(range(len(shape))), keepdim=keep)
        if name in ("sum", "mean", "var") and keep:
            tout = fn(torch, xa, tuple(range(len(shape))), keep)
    else:
        tout = fn(torch, xa, dims, keep)
    assert out.shape == tuple(tout.shape)
    _backward_like_torch(out, tout, _vals(seed + 3, out.shape), ((ta, xa),))


@SETTINGS
@given(n=st.integers(1, 6), idx=st.lists(st.integers(0, 5), min_size=1, max_size=12),
       cols=st.integers(1, 3))
def test_integer_indexing_repeats_accumulate(n, idx, cols):
    idx = [i % n for i in idx]
    a = tg.tensor(np.random.default_rng(n).standard_normal((n, cols)), dtype=tg.float64,
                  requires_grad=True)
    out = a[tg.tensor(idx)]
    np.testing.assert_array_equal(out.detach().numpy(), a.detach().numpy()[idx])
    out.sum().backward()
    counts = np.bincount(idx, minlength=n).astype(float)
    np.testing.assert_array_equal(a.grad.detach().numpy(), np.repeat(counts[:, None], cols, axis=1))


@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=3, max_side=4), seed=st.integers(0, 999))
def test_boolean_mask_gradient_is_the_mask(shape, seed):
    a = tg.tensor(_vals(seed, shape), dtype=tg.float64, requires_grad=True)
    mask = a.detach().numpy() > 0
    a[tg.tensor(mask)].sum().backward()
    np.testing.assert_array_equal(a.grad.detach().numpy(), mask.astype(float))


# ---- numerically stable softmax family -----------------------------------------------------------
STABLE = {
    "sigmoid": lambda m, x: m.sigmoid(x),
    "softmax": lambda m, x: m.softmax(x, dim=-1),
    "log_softmax": lambda m, x: m.log_softmax(x, dim=-1),
    "logsumexp": lambda m, x: m.logsumexp(x, dim=-1),
}


@pytest.mark.parametrize("name", list(STABLE))
def test_stable_at_1e4_float32(name):
    x = np.array([[1e4, -1e4, 0.0, 5.0], [-1e4, -1e4 + 1, -1e4 + 3, -1e4], [1e4, 1e4, -3.0, 1e4 - 2]],
                 dtype=np.float32)
    rng = np.random.default_rng(0)
    go = rng.standard_normal(x.shape[:1] if name == "logsumexp" else x.shape).astype(np.float32)
    t = tg.tensor(x, requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        out = STABLE[name](tg, t)
        out.backward(tg.tensor(go))
    assert out.dtype == np.float32 and t.grad.dtype == np.float32
    assert np.all(np.isfinite(out.detach().numpy())) and np.all(np.isfinite(t.grad.detach().numpy()))
    xt = torch.tensor(x.astype(np.float64), requires_grad=True)
    ref = STABLE[name](torch, xt)
    ref.backward(torch.tensor(go.astype(np.float64)))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(t.grad.detach().numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-6)


@st.composite
def basic_index(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    idx = []
    for s in shape[:draw(st.integers(1, len(shape)))]:
        kind = draw(st.sampled_from(["int", "slice", "none", "full"]))
        if kind == "int":
            idx.append(draw(st.integers(-s, s - 1)))
        elif kind == "slice":
            idx.append(slice(draw(st.one_of(st.none(), st.integers(-s - 1, s + 1))),
                             draw(st.one_of(st.none(), st.integers(-s - 1, s + 1))),
                             draw(st.sampled_from([None, 1, 2, -1, -2]))))
        elif kind == "none":
            idx.append(None)
            idx.append(slice(None))
        else:
            idx.append(slice(None))
    return shape, tuple(idx)


@SETTINGS
@given(si=basic_index(), seed=st.integers(0, 999))
def test_basic_indexing_forward_and_gradient(si, seed):
    """Slices (negative steps too), integers and None: forward is numpy's, and the gradient
    scatters the upstream gradient back to exactly the selected elements."""
    shape, idx = si
    a = _vals(seed, shape)
    t = tg.tensor(a, dtype=tg.float64, requires_grad=True)
    out = t[idx]
    np.testing.assert_array_equal(out.detach().numpy(), a[idx])
    go = _vals(seed + 1, out.shape)
    out.backward(tg.tensor(go, dtype=tg.float64))
    ref = np.zeros(shape)
    ref[idx] += go
    np.testing.assert_array_equal(t.grad.detach().numpy(), ref)


@SETTINGS
@given(data=st.data())
def test_matmul_random_batch_broadcasting_like_torch(data):
    n, k, m = (data.draw(st.integers(1, 4)) for _ in range(3))
    batch = data.draw(mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3))
    sa = batch.input_shapes[0] + (n, k)
    sb = batch.input_shapes[1] + (k, m)
    if data.draw(st.booleans()):
        sa = (k,)  # vector @ batch
    seed = data.draw(st.integers(0, 999))
    a, b = _vals(seed, sa), _vals(seed + 1, sb)
    ta = tg.tensor(a, dtype=tg.float64, requires_grad=True)
    tb = tg.tensor(b, dtype=tg.float64, requires_grad=True)
    xa, xb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out, tout = ta @ tb, xa @ xb
    assert out.shape == tuple(tout.shape)
    _backward_like_torch(out, tout, _vals(seed + 2, out.shape), ((ta, xa), (tb, xb)))


@st.composite
def linear_op(draw):
    """A random shape and a random linear shape/movement op on it."""
    shape = draw(array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    nd = len(shape)
    kind = draw(st.sampled_from(["permute", "transpose", "reshape", "flip", "repeat", "expand",
                                 "sum", "flatten", "unsqueeze", "cat_self", "pad"]))
    if kind == "permute":
        perm = draw(st.permutations(range(nd)))
        return shape, kind, lambda t: t.permute(*perm)
    if kind == "transpose":
        d0, d1 = draw(st.integers(0, nd - 1)), draw(st.integers(0, nd - 1))
        return shape, kind, lambda t: t.transpose(d0, d1)
    if kind == "reshape":
        return shape, kind, lambda t: t.reshape(-1, shape[-1])
    if kind == "flip":
        dims = draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True))
        return shape, kind, lambda t: t.flip(dims)
    if kind == "repeat":
        reps = draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd + 1))
        return shape, kind, lambda t: t.repeat(*reps)
    if kind == "expand":
        return shape, kind, lambda t: t.unsqueeze(0).expand(3, *shape)
    if kind == "sum":
        dims = tuple(draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True)))
        return shape, kind, lambda t: t.sum(dim=dims)
    if kind == "flatten":
        return shape, kind, lambda t: t.flatten()
    if kind == "unsqueeze":
        d = draw(st.integers(-nd - 1, nd))
        return shape, kind, lambda t: t.unsqueeze(d)
    if kind == "cat_self":
        d = draw(st.integers(0, nd - 1))
        return shape, kind, lambda t: tg.cat([t, t * 2.0], dim=d)
    p = draw(st.lists(st.integers(0, 2), min_size=2, max_size=2 * nd).filter(lambda x: len(x) % 2 == 0))
    return shape, kind, lambda t: tg.pad(t, p)


@SETTINGS
@given(op=linear_op(), seed=st.integers(0, 999))
def test_linear_ops_vjp_is_the_adjoint(op, seed):
    """For a linear map L, the VJP is Lᵀ: <L x, y> = <x, Lᵀ y> (dot-product test), on both
    backward paths."""
    shape, kind, fn = op
    x = tg.tensor(_vals(seed, shape), dtype=tg.float64, requires_grad=True)
    out = fn(x)
    y = tg.tensor(_vals(seed + 1, out.shape), dtype=tg.float64)
    (lt_y,) = tg.grad(out, x, grad_outputs=y, retain_graph=True)
    (lt_y2,) = tg.grad(out, x, grad_outputs=y, create_graph=True)
    lhs = float(np.sum(out.detach().numpy() * y.detach().numpy()))
    rhs = float(np.sum(x.detach().numpy() * lt_y.detach().numpy()))
    assert np.isclose(lhs, rhs, rtol=1e-10, atol=1e-10), (kind, lhs, rhs)
    np.testing.assert_allclose(lt_y2.detach().numpy(), lt_y.detach().numpy(), rtol=1e-12, atol=1e-12)


# ---- random programs: compositions of ops, first and second derivatives vs torch -------------------
UNARY_PROG = [
    lambda m, x: x.tanh(), lambda m, x: x.sigmoid(), lambda m, x: x.exp() * 0.1,
    lambda m, x: (x * x + 1.0).log(), lambda m, x: (x * x + 0.5).sqrt(), lambda m, x: x.sin(),
    lambda m, x: m.softmax(x, dim=-1), lambda m, x: m.log_softmax(x, dim=0),
    lambda m, x: x - x.mean(dim=-1, keepdim=True), lambda m, x: x / (x.var() + 1.0),
    lambda m, x: x * x.amax(dim=0, keepdim=True), lambda m, x: x.T.T * 2.0,
    lambda m, x: m.logsumexp(x, dim=1, keepdim=True) - x, lambda m, x: x.abs() + 0.1,
    lambda m, x: m.maximum(x, x * 0.5), lambda m, x: x.clamp(-1.0, 1.0),
    lambda m, x: x.flip(0) * x, lambda m, x: m.cat([x[:, :2], x[:, 2:] * 3.0], dim=1),
    lambda m, x: m.stack([x, x.cos()], dim=0).sum(0), lambda m, x: x.reshape(4, 3).reshape(3, 4),
]
BINARY_PROG = [
    lambda m, x, w: x * w, lambda m, x, w: x + w, lambda m, x, w: x / (w * w + 1.0),
    lambda m, x, w: x - w, lambda m, x, w: (x @ w).unsqueeze(1) * x,
    lambda m, x, w: m.where(w > 0, x, x * w), lambda m, x, w: x ** 2 * w,
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prog=st.lists(st.tuples(st.booleans(), st.integers(0, 100)), min_size=1, max_size=6),
       seed=st.integers(0, 999))
def test_random_programs_first_and_second_derivatives_like_torch(prog, seed):
    def run(m, x, w):
        y = x
        for binary, k in prog:
            y = BINARY_PROG[k % len(BINARY_PROG)](m, y, w) if binary else \
                UNARY_PROG[k % len(UNARY_PROG)](m, y)
        return (y * y).sum() + (w * w * w).sum() * 0.1

    a, b, v1, v2 = _vals(seed, (3, 4)), _vals(seed + 1, (4,)), _vals(seed + 2, (3, 4)), \
        _vals(seed + 3, (4,))
    results = []
    for m, grad in ((tg, tg.grad), (torch, torch.autograd.grad)):
        x = m.tensor(a, requires_grad=True) if m is torch else \
            tg.tensor(a, dtype=tg.float64, requires_grad=True)
        w = m.tensor(b, requires_grad=True) if m is torch else \
            tg.tensor(b, dtype=tg.float64, requires_grad=True)
        out = run(m, x, w)
        gx, gw = grad(out, [x, w], create_graph=True)
        hv = grad((gx * m.tensor(v1)).sum() + (gw * m.tensor(v2)).sum(), [x, w],
                  allow_unused=True)
        as_np = (lambda t: t.detach().numpy()) if m is torch else (lambda t: t.detach().numpy())
        results.append([as_np(out), as_np(gx), as_np(gw)] +
                       [np.zeros(s) if h is None else as_np(h) for h, s in zip(hv, [(3, 4), (4,)])])
    for ours, ref, what in zip(*results, ["loss", "dx", "dw", "Hv_x", "Hv_w"]):
        np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-9, err_msg=what)
