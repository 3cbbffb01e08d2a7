"""The op library against PyTorch beyond the parity table (tests/ops_cases*.py): indexing
rules (random index combinations, reading and writing), the edge cases fuzzing found
(var/std, pow, empty softmax, 0-d reductions, exception types), integer and bool ops,
non-differentiable outputs (indices, unique, nonzero, predicates), dtype rules, second
derivatives (gradgradcheck) and the TypeError a numpy array or list gets."""
from __future__ import annotations

import random
import warnings

import numpy as np
import pytest

import tensorgrad as tg

from test_ops_parity import CASES, make_inputs


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def arr(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def same(ours, ref, what="", rtol=1e-7, atol=1e-10):
    a, b = np.asarray(arr(ours)), np.asarray(arr(ref))
    assert a.shape == b.shape, f"{what}: shape {a.shape} != torch's {b.shape}"
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


# ---- indexing with PyTorch's rules ---------------------------------------------------------------
def _random_index(rng, ndim):
    items, used = [], 0
    for _ in range(rng.randint(1, 6)):
        r = rng.random()
        if used >= ndim:
            r = 0.95
        if r < 0.25:
            items.append(rng.choice([rng.randint(-1, 1), "T0"]))
            used += 1
        elif r < 0.45:
            items.append(slice(rng.choice([None, 1]), None, rng.choice([None, 2])))
            used += 1
        elif r < 0.7:
            items.append(rng.choice([[0, 1], [[1], [0]], [1, 0, 1]]))
            used += 1
        elif r < 0.75 and not any(i is Ellipsis for i in items):
            items.append(Ellipsis)
        elif r < 0.8:
            items.append(rng.choice([True, "TT"]))
        else:
            items.append(None)
    return items


def _as_index(m, items):
    def one(i):
        if i == "T0":
            return m.tensor(1)
        if i == "TT":
            return m.tensor(True)
        return m.tensor(i) if isinstance(i, list) else i
    return tuple(one(i) for i in items)


def test_random_index_combinations_read_like_torch(torch):
    """Ints, slices, lists, 0-d tensors, bools, None and Ellipsis in random combinations:
    same values, same shape (PyTorch selects with ints first, numpy does not)."""
    data = np.arange(2 * 3 * 4 * 5 * 6, dtype=np.float64).reshape(2, 3, 4, 5, 6)
    rng, checked = random.Random(0), 0
    for _ in range(600):
        items = _random_index(rng, 5)
        try:
            ref = torch.tensor(data)[_as_index(torch, items)]
        except (IndexError, RuntimeError):
            with pytest.raises((IndexError, RuntimeError)):
                tg.tensor(data)[_as_index(tg, items)]
            continue
        same(tg.tensor(data)[_as_index(tg, items)], ref, f"x[{items}]")
        checked += 1
    assert checked > 400


def test_random_index_combinations_write_like_torch(torch):
    data = np.arange(2 * 3 * 4 * 5 * 6, dtype=np.float64).reshape(2, 3, 4, 5, 6)
    rng, checked = random.Random(1), 0
    for k in range(400):
        items = [i for i in _random_index(rng, 5) if i not in (True, "TT")]
        tidx = _as_index(torch, items)
        try:
            shape = tuple(torch.tensor(data)[tidx].shape)
        except (IndexError, RuntimeError):
            continue
        v = np.random.default_rng(k).standard_normal(shape[1:] if k % 3 == 0 else shape)
        x, y = torch.tensor(data), tg.tensor(data)
        x[tidx] = torch.tensor(v)
        y[_as_index(tg, items)] = tg.tensor(v)
        same(y, x, f"x[{items}] = v")
        checked += 1
    assert checked > 250


def test_issue_index_cases_and_their_gradients(torch):
    a = np.random.default_rng(0).standard_normal((2, 3, 4, 5, 6))
    d = [0, 2, 1]
    for name, idx in [("x[0, :, [0, 1, 2]]", lambda m: (0, slice(None), [0, 1, 2])),
                      ("x[1, :, 3:11:2, d, 0:2]",
                       lambda m: (1, slice(None), slice(3, 11, 2), m.tensor(d), slice(0, 2)))]:
        x, tx = tg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        y, ty = x[idx(tg)], tx[idx(torch)]
        same(y, ty, name)
        w = np.random.default_rng(1).standard_normal(tuple(ty.shape))
        (y * tg.tensor(w)).sum().backward()
        (ty * torch.tensor(w)).sum().backward()
        same(x.grad, tx.grad, name + " gradient")


# ---- edge cases found by fuzzing -------------------------------------------------------------------
@pytest.mark.parametrize("fn", [
    lambda m, x: x.std(), lambda m, x: x.var(), lambda m, x: x.std(1),
    lambda m, x: x.var(correction=6), lambda m, x: x.var(correction=7),
    lambda m, x: x.std(correction=6), lambda m, x: x.var(1, correction=3),
    lambda m, x: x.std(1, correction=2.5), lambda m, x: x[:1, :1].var(),
    lambda m, x: m.std_mean(x, 0, correction=2)[0], lambda m, x: x[:0].var(),
])
@pytest.mark.parametrize("constant", [False, True])
def test_var_std_edges_values_and_gradients(torch, fn, constant):
    a = np.full((2, 3), 1.5) if constant else np.random.default_rng(2).standard_normal((2, 3))
    x, tx = tg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about degrees of freedom <= 0
        out, ref = fn(tg, x), fn(torch, tx)
        same(out, ref, "value")
        if x.shape[0] and ref.numel():
            out.sum().backward()
            ref.sum().backward()
            same(x.grad, tx.grad, "gradient")


def test_pow_edges_at_zero_and_infinity(torch):
    inf = float("inf")
    cases = [
        (lambda m, x: 0.0 ** x, [-1.0, 0.0, 1.0, inf, -inf, 2.5]),
        (lambda m, x: x ** 0, [0.0, inf, -inf, 2.0]),
        (lambda m, x: x ** 0.0, [0.0, inf, -inf]),
        (lambda m, x: m.pow(x, 2.0), [0.0, inf, -inf]),
        (lambda m, x: x ** m.zeros_like(x), [0.0, inf, -inf, 3.0]),
        (lambda m, x: m.zeros_like(x) ** x, [-1.0, 0.0, inf, -inf]),
    ]
    for fn, vals in cases:
        x, tx = tg.tensor(vals, dtype=tg.float64, requires_grad=True), \
            torch.tensor(vals, dtype=torch.float64, requires_grad=True)
        with np.errstate(all="ignore"):
            out = fn(tg, x)
            out.sum().backward()
        ref = fn(torch, tx)
        ref.sum().backward()
        same(out, ref, "pow value")
        same(x.grad, tx.grad, "pow gradient")


def test_reductions_over_an_empty_dim_raise_no_numpy_warnings(torch):
    a = np.zeros((3, 0))
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        for fn in (lambda m, x: m.softmax(x, 1), lambda m, x: m.log_softmax(x, 1),
                   lambda m, x: m.logsumexp(x, 1), lambda m, x: m.logsumexp(x.T, 0),
                   lambda m, x: x.mean(1), lambda m, x: x.sum(1), lambda m, x: x.prod(1),
                   lambda m, x: m.softmax(x.T, 1)):
            same(fn(tg, tg.tensor(a)), fn(torch, torch.tensor(a)), "empty dim")
        x = tg.tensor(a, requires_grad=True)
        tg.softmax(x, 1).sum().backward()
        assert x.grad.shape == (3, 0)


def test_reductions_of_a_0d_tensor_along_dim_0(torch):
    for fn in (lambda m, x: x.sum(0), lambda m, x: x.prod(0), lambda m, x: m.logsumexp(x, 0),
               lambda m, x: x.mean(-1), lambda m, x: x.amax(0), lambda m, x: x.max(0)[0],
               lambda m, x: x.argmax(0), lambda m, x: m.softmax(x, 0), lambda m, x: x.all(0),
               lambda m, x: x.sum(0, keepdim=True), lambda m, x: x.cumsum(0),
               lambda m, x: x.var(0, correction=0), lambda m, x: x.sort()[0]):
        same(fn(tg, tg.tensor(2.5, dtype=tg.float64)), fn(torch, torch.tensor(2.5, dtype=torch.float64)),
             "0-d")
    with pytest.raises(IndexError):
        tg.tensor(2.5).sum(1)


def _raises_like_torch(torch, fn, name):
    with pytest.raises(Exception) as ref:
        fn(torch)
    with pytest.raises(Exception) as ours:
        fn(tg)
    assert isinstance(ours.value, RuntimeError) == isinstance(ref.value, RuntimeError)
    assert isinstance(ours.value, IndexError) == isinstance(ref.value, IndexError)
    assert name in str(ours.value)


@pytest.mark.parametrize("name,fn", [
    ("clamp", lambda m: m.clamp(m.ones(3))),
    ("clamp", lambda m: m.ones(3).clamp(None, None)),
    ("flip", lambda m: m.ones(2, 3).flip((0, 0))),
    ("gather", lambda m: m.ones(3, 4).gather(1, m.tensor([[5]]))),
    ("gather", lambda m: m.ones(3, 4).gather(1, m.tensor([[-1]]))),
    ("scatter", lambda m: m.ones(3, 4).scatter(1, m.tensor([[4]]), 1.0)),
    ("index_select", lambda m: m.ones(3).index_select(0, m.tensor([3]))),
    ("take", lambda m: m.take(m.ones(3, 4), m.tensor([12]))),
    ("narrow", lambda m: m.narrow(m.ones(3, 4), 1, 3, 2)),
    ("unfold", lambda m: m.ones(3, 4).unfold(1, 5, 1)),
    ("kthvalue", lambda m: m.kthvalue(m.ones(3, 4), 5, 1)),
    ("topk", lambda m: m.topk(m.ones(3, 4), 5)),
    ("view", lambda m: m.ones(3, 4).t().view(-1)),
    ("inverse", lambda m: m.inverse(m.zeros(2, 2))),
    ("solve", lambda m: m.linalg.solve(m.zeros(2, 2), m.ones(2))),
    ("diag", lambda m: m.diag(m.ones(2, 2, 2))),
    ("unflatten", lambda m: m.ones(3).unflatten(0, (2, -1))),
    ("amax", lambda m: m.ones(0, 3).amax(0)),
])
def test_errors_have_torchs_type_and_name_the_op(torch, name, fn):
    _raises_like_torch(torch, fn, name)


# ---- a numpy array or a list where a Tensor belongs ---------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda x: tg.exp(x), lambda x: tg.sum(x), lambda x: tg.reshape(x, (3, 1)),
    lambda x: tg.softmax(x, 0), lambda x: tg.add(x, x), lambda x: tg.getitem(x, 0),
    lambda x: tg.max(x), lambda x: tg.var(x), lambda x: tg.sort(x), lambda x: tg.cumsum(x, 0),
    lambda x: tg.tan(x), lambda x: tg.clamp(x, 0), lambda x: tg.flip(x, 0),
    lambda x: tg.gather(x, 0, tg.tensor([0])), lambda x: tg.linalg.vector_norm(x),
    lambda x: tg.det(x), lambda x: tg.einsum("i->", x), lambda x: tg.isnan(x),
    lambda x: tg.nn.functional.relu(x), lambda x: tg.nn.functional.linear(x, tg.ones(2, 3)),
    lambda x: tg.roll(x, 1), lambda x: tg.scatter_add(x, 0, tg.tensor([0]), tg.ones(1)),
])
@pytest.mark.parametrize("kind", ["numpy", "list"])
def test_numpy_or_list_input_says_wrap_with_tg_tensor(call, kind):
    x = np.ones(3) if kind == "numpy" else [1.0, 2.0, 3.0]
    with pytest.raises(TypeError, match=r"tg\.tensor\(\.\.\.\)"):
        call(x)


# ---- integers, bools, predicates -----------------------------------------------------------------------
def test_integer_and_bool_ops_like_torch(torch):
    a, b = np.array([5, -7, 12, 0, 3]), np.array([3, 2, -5, 4, 1])
    for fn in (lambda m, x, y: x & y, lambda m, x, y: x | y, lambda m, x, y: x ^ y,
               lambda m, x, y: ~x, lambda m, x, y: x << 2, lambda m, x, y: x >> 1,
               lambda m, x, y: 3 << y.abs(), lambda m, x, y: m.bitwise_and(x, 6),
               lambda m, x, y: m.bitwise_xor(x, y), lambda m, x, y: x.bitwise_not(),
               lambda m, x, y: m.bitwise_left_shift(x.abs(), y.abs()),
               lambda m, x, y: m.bitwise_right_shift(x, 1),
               lambda m, x, y: m.div(x, y, rounding_mode="trunc"),
               lambda m, x, y: m.div(x, y, rounding_mode="floor"), lambda m, x, y: x // y,
               lambda m, x, y: m.remainder(x, y), lambda m, x, y: x % 4, lambda m, x, y: -9 % y,
               lambda m, x, y: m.fmod(x, y), lambda m, x, y: m.floor(x), lambda m, x, y: x.ceil(),
               lambda m, x, y: m.round(x), lambda m, x, y: m.trunc(x), lambda m, x, y: x.sign(),
               lambda m, x, y: x.sum(), lambda m, x, y: x.cumsum(0), lambda m, x, y: x.prod(),
               lambda m, x, y: m.count_nonzero(x), lambda m, x, y: x.sort()[0],
               lambda m, x, y: m.clamp(x, -1, 4)):
        ours, ref = fn(tg, tg.tensor(a), tg.tensor(b)), fn(torch, torch.tensor(a), torch.tensor(b))
        np.testing.assert_array_equal(arr(ours), ref.numpy())
        assert arr(ours).dtype == np.dtype(str(ref.dtype).replace("torch.", ""))
    p, q = np.array([True, False, True]), np.array([True, True, False])
    for fn in (lambda x, y: x & y, lambda x, y: x | y, lambda x, y: x ^ y, lambda x, y: ~x,
               lambda x, y: x & True):
        np.testing.assert_array_equal(arr(fn(tg.tensor(p), tg.tensor(q))),
                                      fn(torch.tensor(p), torch.tensor(q)).numpy())
    with pytest.raises(TypeError, match="bitwise_and"):
        tg.ones(2) & tg.ones(2)
    with pytest.raises(TypeError, match="bitwise_not"):
        ~tg.ones(2)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        tg.div(tg.tensor([1]), 0, rounding_mode="floor")


def test_float_results_of_integer_inputs_like_torch(torch):
    a = np.array([1, 2, 3])
    for fn in (lambda m, x: m.tan(x), lambda m, x: m.sinh(x), lambda m, x: m.logsumexp(x, 0),
               lambda m, x: m.exp2(x), lambda m, x: m.erf(x), lambda m, x: m.log10(x),
               lambda m, x: m.atan2(x, x), lambda m, x: m.acosh(x)):
        ours, ref = fn(tg, tg.tensor(a)), fn(torch, torch.tensor(a))
        assert ours.dtype == np.float32 and ref.dtype == torch.float32
        same(ours, ref, "float32 result", rtol=1e-6)


def test_division_rounding_of_floats_like_torch(torch):
    a, b = np.array([5.5, -5.5, 7.0, -0.0, 1.0, -1.0]), np.array([2.0, 2.0, -2.0, 3.0, 0.0, 0.0])
    for mode in (None, "trunc", "floor"):
        with np.errstate(all="ignore"):
            ours = tg.div(tg.tensor(a), tg.tensor(b), rounding_mode=mode)
        same(ours, torch.div(torch.tensor(a), torch.tensor(b), rounding_mode=mode), str(mode))
    with pytest.raises(ValueError, match="rounding_mode"):
        tg.div(tg.ones(2), 2, rounding_mode="round")


def test_predicates_and_closeness_like_torch(torch):
    v = np.array([1.0, -np.inf, np.inf, np.nan, -0.0, 2.0])
    w = v + np.array([1e-9, 0, 0, 0, 0, 1e-3])
    for name in ("isnan", "isfinite", "isinf", "isposinf", "isneginf", "isreal", "signbit"):
        np.testing.assert_array_equal(arr(getattr(tg, name)(tg.tensor(v))),
                                      getattr(torch, name)(torch.tensor(v)).numpy(), name)
        np.testing.assert_array_equal(arr(getattr(tg, name)(tg.tensor([1, -2]))),
                                      getattr(torch, name)(torch.tensor([1, -2])).numpy(), name)
    for kw in ({}, {"equal_nan": True}, {"rtol": 0, "atol": 1e-2}):
        np.testing.assert_array_equal(arr(tg.isclose(tg.tensor(v), tg.tensor(w), **kw)),
                                      torch.isclose(torch.tensor(v), torch.tensor(w), **kw).numpy())
        assert tg.allclose(tg.tensor(v[:3]), tg.tensor(w[:3]), **kw) == \
            torch.allclose(torch.tensor(v[:3]), torch.tensor(w[:3]), **kw)
    assert tg.equal(tg.tensor([1, 2]), tg.tensor([1, 2])) and not tg.equal(tg.ones(2), tg.ones(3))


def test_special_functions_over_a_wide_range(torch):
    x = np.concatenate([np.linspace(-6, 6, 101), [-30.0, 30.0, 0.0]])
    u = np.concatenate([np.linspace(-1, 1, 101), [1 - 1e-12, -1 + 1e-15, 1.5, -2.0]])
    for name, v in (("erf", x), ("erfc", x), ("erfinv", u)):
        same(getattr(tg, name)(tg.tensor(v)), getattr(torch, name)(torch.tensor(v)), name,
             rtol=1e-12, atol=1e-300)
        same(getattr(tg, name)(tg.tensor(v.astype(np.float32))),
             getattr(torch, name)(torch.tensor(v.astype(np.float32))), name, rtol=2e-6, atol=1e-7)


# ---- orders, indices and other outputs without gradients ------------------------------------------
def test_indices_of_order_statistics_like_torch(torch):
    rng = np.random.default_rng(4)
    a = rng.permutation(60).reshape(3, 4, 5).astype(np.float64)
    x, tx = tg.tensor(a), torch.tensor(a)
    for fn in (lambda m, t: m.sort(t, 1), lambda m, t: t.sort(-1, descending=True),
               lambda m, t: m.topk(t, 3, 0), lambda m, t: t.topk(2, largest=False),
               lambda m, t: m.kthvalue(t, 3, 2, keepdim=True), lambda m, t: m.median(t, 1),
               lambda m, t: t.nanmedian(0), lambda m, t: m.mode(t, 1),
               lambda m, t: m.cummax(t, 2), lambda m, t: t.cummin(0),
               lambda m, t: t.max(1), lambda m, t: m.min(t, 2, keepdim=True)):
        (v, i), (tv, ti) = fn(tg, x), fn(torch, tx)
        same(v, tv, "values")
        np.testing.assert_array_equal(arr(i), ti.numpy())
        assert arr(i).dtype == np.int64
    for fn in (lambda m, t: m.argsort(t, 1), lambda m, t: t.argsort(dim=0, descending=True),
               lambda m, t: t.argmax(), lambda m, t: m.argmin(t, 1, keepdim=True)):
        np.testing.assert_array_equal(arr(fn(tg, x)), fn(torch, tx).numpy())


def test_tie_rules_that_torch_guarantees(torch):
    a = np.array([[1.0, 3.0, 3.0, 2.0, 3.0, 1.0], [2.0, 2.0, 2.0, 2.0, 1.0, 1.0],
                  [np.nan, 1.0, np.nan, 0.0, 5.0, 5.0]])
    x, tx = tg.tensor(a), torch.tensor(a)
    for fn in (lambda m, t: m.sort(t, dim=1, stable=True), lambda m, t: m.cummax(t, 1),
               lambda m, t: m.sort(t, dim=1, descending=True, stable=True),
               lambda m, t: m.cummin(t, 1), lambda m, t: t[:2].max(1), lambda m, t: t[:2].min(1),
               lambda m, t: m.mode(t[:2], 1), lambda m, t: m.median(t, 1)):
        (v, i), (tv, ti) = fn(tg, x), fn(torch, tx)
        same(v, tv, "tied values")
        np.testing.assert_array_equal(arr(i), ti.numpy())
    same(tg.median(x[:2]), torch.median(tx[:2]), "global median")
    same(tg.nanmedian(x), torch.nanmedian(tx), "nanmedian")


def test_unique_nonzero_and_friends_like_torch(torch):
    a = np.array([[3, 1, 2], [1, 3, 3], [3, 1, 2]])
    x, tx = tg.tensor(a), torch.tensor(a)
    for kw in ({}, {"return_inverse": True}, {"return_counts": True},
               {"return_inverse": True, "return_counts": True, "dim": 0},
               {"return_counts": True, "dim": 1}):
        ours, ref = tg.unique(x, **kw), torch.unique(tx, **kw)
        for o, r in zip(ours if isinstance(ours, tuple) else (ours,),
                        ref if isinstance(ref, tuple) else (ref,)):
            np.testing.assert_array_equal(arr(o), r.numpy())
    b = np.array([1, 1, 2, 2, 3, 1, 1, 2])
    for o, r in zip(tg.unique_consecutive(tg.tensor(b), return_inverse=True, return_counts=True),
                    torch.unique_consecutive(torch.tensor(b), return_inverse=True,
                                             return_counts=True)):
        np.testing.assert_array_equal(arr(o), r.numpy())
    m = a > 1
    for fn in (lambda md, t: md.nonzero(t), lambda md, t: md.argwhere(t),
               lambda md, t: md.count_nonzero(t, dim=0), lambda md, t: t.all(dim=(0, 1)),
               lambda md, t: t.any(1, keepdim=True), lambda md, t: md.all(t, 0)):
        np.testing.assert_array_equal(arr(fn(tg, tg.tensor(m))), fn(torch, torch.tensor(m)).numpy())
    for o, r in zip(tg.where(tg.tensor(m)), torch.where(torch.tensor(m))):
        np.testing.assert_array_equal(arr(o), r.numpy())
    for o, r in zip(tg.nonzero(tg.tensor(m), as_tuple=True), torch.nonzero(torch.tensor(m),
                                                                           as_tuple=True)):
        np.testing.assert_array_equal(arr(o), r.numpy())
    np.testing.assert_array_equal(arr(tg.repeat_interleave(tg.tensor([2, 0, 1]))),
                                  torch.repeat_interleave(torch.tensor([2, 0, 1])).numpy())
    assert tg.broadcast_shapes((3, 1), (4,), 1) == tuple(torch.broadcast_shapes((3, 1), (4,), 1))


def test_shape_helpers_like_torch(torch):
    a = np.arange(24.0).reshape(2, 3, 4)
    x, tx = tg.tensor(a), torch.tensor(a)
    assert not x.transpose(0, 2).is_contiguous() and x.is_contiguous()
    assert x.view(tg.int64).shape == tx.view(torch.int64).shape
    np.testing.assert_array_equal(arr(x.view(tg.int64)), tx.view(torch.int64).numpy())
    same(tg.cat([tg.zeros(0), x]), torch.cat([torch.zeros(0), tx]), "cat skips (0,)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch deprecates reduce= with a src tensor
        ref = torch.scatter(tx, 1, torch.tensor([[[0, 1, 2, 0]]]),
                            torch.ones(2, 3, 5, dtype=torch.float64), reduce="multiply")
    same(tg.scatter(x, 1, tg.tensor([[[0, 1, 2, 0]]]), tg.ones(2, 3, 5), reduce="multiply"), ref,
         "scatter multiply")
    same(tg.scatter(x, 2, tg.tensor([[[1]]]), tg.full((3, 3, 3), 7.0)),
         torch.scatter(tx, 2, torch.tensor([[[1]]]), torch.full((3, 3, 3), 7.0,
                                                                dtype=torch.float64)),
         "scatter with a larger src")
    for o, r in zip(tg.meshgrid(tg.arange(3), tg.arange(2)),
                    torch.meshgrid(torch.arange(3), torch.arange(2), indexing="ij")):
        np.testing.assert_array_equal(arr(o), r.numpy())
    same(tg.combinations(tg.tensor([1.0, 2.0, 3.0]), 0),
         torch.combinations(torch.tensor([1.0, 2.0, 3.0]), 0), "combinations r=0")
    with pytest.raises(NotImplementedError, match="nuc"):
        tg.linalg.matrix_norm(tg.ones(2, 2), "nuc")


# ---- second derivatives by finite differences ----------------------------------------------------------
GRADGRAD = [
    "tan", "erfinv", "atan2", "hypot", "logaddexp", "lerp_tensor_weight", "var_correction",
    "std_all", "std_mean", "logsumexp_all", "vector_norm_3_keep", "vector_norm_half",
    "matrix_norm_1", "cumprod", "logcumsumexp", "sort", "topk", "median_global", "kthvalue",
    "unfold_overlap", "roll", "diag_embed_dims", "diagonal", "tril_offset_batch",
    "repeat_interleave_tensor", "getitem_fuzz_shape", "setitem_mixed_layout", "scatter_src",
    "scatter_reduce_prod_True", "scatter_reduce_mean_False", "scatter_reduce_amax_True",
    "masked_scatter", "take_along_dim_bcast", "addbmm", "kron", "cross", "tensordot", "det",
    "inverse", "logdet", "solve_batched_bcast", "einsum_bii_to_bi", "einsum_ij_jk_kl_to_il",
    "einsum_Eij_Ejk_to_Eik",
]


@pytest.mark.parametrize("name", GRADGRAD)
def test_gradgradcheck(name):
    case = next(c for c in CASES if c.name == name)
    xs = [tg.tensor(a, dtype=tg.float64, requires_grad=True) for a in make_inputs(case, seed=5)]
    assert tg.gradgradcheck(lambda *x: case.fn(tg, *x), xs)


def test_clamp_with_crossed_or_equal_tensor_bounds_like_torch(torch):
    """min > max gives max everywhere; min == max below x: nobody gets the gradient."""
    a = np.array([0.0, 1.0, 2.0, 3.0, 1.0, 5.0, 0.0])
    lo = np.array([1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 0.0])
    hi = np.array([2.0, 2.0, 2.0, 2.0, 2.0, 1.0, 0.0])
    for fn in (lambda m, x, l, h: m.clamp(x, l, h), lambda m, x, l, h: x.clip(min=l),
               lambda m, x, l, h: m.clamp(x, max=h)):
        ours = [tg.tensor(v, requires_grad=True) for v in (a, lo, hi)]
        refs = [torch.tensor(v, requires_grad=True) for v in (a, lo, hi)]
        out, ref = fn(tg, *ours), fn(torch, *refs)
        same(out, ref, "clamp value")
        g = np.arange(1.0, 8.0)
        out.backward(tg.tensor(g))
        ref.backward(torch.tensor(g))
        for o, r in zip(ours, refs):
            same(np.zeros(7) if o.grad is None else o.grad,
                 np.zeros(7) if r.grad is None else r.grad, "clamp gradient")


NAMES = """tan sinh cosh asin acos atan atan2 asinh acosh atanh arcsin arccos arctan arctan2
arcsinh arccosh arctanh erf erfc erfinv exp2 log2 log10 trunc fix frac fmod lerp copysign
logaddexp hypot isclose allclose isinf isposinf isneginf isreal isnan isfinite signbit div
divide true_divide floor_divide clamp clip bitwise_and bitwise_or bitwise_xor bitwise_not
bitwise_left_shift bitwise_right_shift remainder add sub subtract multiply negative absolute
logical_xor greater less greater_equal less_equal not_equal equal cumsum cumprod cummax cummin
logcumsumexp std_mean var_mean median nanmedian nansum nanmean mode norm topk sort argsort
unique unique_consecutive kthvalue count_nonzero msort t addmm addmv addbmm baddbmm addr einsum
narrow unflatten roll fliplr flipud rot90 repeat_interleave tile tril triu diag diagonal
diag_embed meshgrid movedim moveaxis swapaxes swapdims tensor_split hsplit vsplit dsplit scatter
scatter_add scatter_reduce index_add index_copy index_fill index_put masked_select
masked_scatter nonzero argwhere take take_along_dim hstack vstack dstack column_stack row_stack
concat broadcast_tensors broadcast_shapes broadcast_to cartesian_prod combinations cross inner
kron trace det inverse logdet slogdet matrix_power tensordot vdot atleast_1d atleast_2d
atleast_3d""".split()


def test_every_name_exists_as_in_torch(torch):
    """Each name is tg.<name> and, where torch.Tensor has the method, a Tensor method."""
    missing = [n for n in NAMES if hasattr(torch, n) and not hasattr(tg, n)]
    methods = [n for n in NAMES + ["unfold", "contiguous", "is_contiguous", "where"]
               if hasattr(torch.Tensor, n) and not hasattr(tg.Tensor, n)]
    linalg = [n for n in ("det", "inv", "inv_ex", "solve", "slogdet", "vector_norm",
                          "matrix_norm", "norm", "cross", "matmul", "multi_dot",
                          "matrix_power", "vecdot", "diagonal") if not hasattr(tg.linalg, n)]
    assert not missing and not methods and not linalg, (missing, methods, linalg)
