"""Every op against PyTorch in float64: forward, gradients (both backward paths), gradcheck,
and second derivatives (Hessian-vector products through ``create_graph=True``).

One table, ``CASES``, drives everything. A case is an expression written once and run with
``m = tensorgrad`` and with ``m = torch`` (the APIs coincide; where they don't, the case gives
a separate torch expression). tests/test_fast_vjp.py reuses the table.
"""
from __future__ import annotations

import numpy as np
import pytest

import tensorgrad as tg

from _torch import torch

RTOL = 1e-7
ATOL = 1e-10


class Case:
    def __init__(self, name, fn, shapes, domain="any", torch_fn=None, second=True, check=True):
        self.name = name
        self.fn = fn
        self.torch_fn = torch_fn or fn
        self.shapes = shapes
        self.domain = domain  # one per input or one for all
        self.second = second  # compare second derivatives with torch
        self.check = check    # run tg.gradcheck

    def __repr__(self):
        return self.name


def _draw(rng, shape, domain):
    if domain == "any":
        return rng.standard_normal(shape)
    if domain == "pos":
        return rng.uniform(0.5, 2.0, shape)
    if domain == "nz":  # away from zero, both signs
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2.0, shape)
    if domain == "unit":
        return rng.uniform(-0.9, 0.9, shape)
    if domain == "big":
        return rng.standard_normal(shape) * 3
    if domain == "gt1":
        return rng.uniform(1.5, 3.0, shape)
    if domain == "distinct":  # a permutation of well-separated values: no ties anywhere
        n = int(np.prod(shape))
        return rng.permutation(np.linspace(-2.0, 2.0, n)).reshape(shape)
    if domain == "ties":  # few distinct values: sorting, median and mode meet ties
        return rng.integers(-2, 3, shape).astype(np.float64)
    raise ValueError(domain)


def make_inputs(case, seed=0):
    rng = np.random.default_rng(seed)
    doms = case.domain if isinstance(case.domain, tuple) else (case.domain,) * len(case.shapes)
    return [_draw(rng, s, d) for s, d in zip(case.shapes, doms)]


def I(m, arr):  # noqa: E743  an integer index tensor in either library
    return m.tensor(np.asarray(arr, dtype=np.int64))


def B(m, arr):  # a bool tensor in either library
    return m.tensor(np.asarray(arr, dtype=bool))


MASK34 = np.array([[1, 0, 1, 1], [0, 0, 1, 0], [1, 1, 0, 1]], dtype=bool)
COND = np.array([[True, False, True, False], [False, False, True, True], [True, True, False, True]])

from ops_cases import MORE_CASES  # noqa: E402  (the issue-#10 op library's rows)

E = "any"
CASES = [
    # ---- binary arithmetic with broadcasting -------------------------------------------------
    Case("add", lambda m, a, b: a + b, [(3, 4), (3, 4)]),
    Case("add_bcast", lambda m, a, b: a + b, [(2, 3, 4), (3, 1)]),
    Case("add_bcast_both", lambda m, a, b: m.add(a, b), [(3, 1, 4), (2, 1)]),
    Case("sub_bcast", lambda m, a, b: a - b, [(4,), (3, 4)]),
    Case("mul_bcast", lambda m, a, b: a * b, [(2, 1, 4), (3, 1)]),
    Case("mul_scalar0d", lambda m, a, b: a * b, [(3, 4), ()]),
    Case("div_bcast", lambda m, a, b: a / b, [(3, 4), (1, 4)], ("any", "nz")),
    Case("pow_tensor_exp", lambda m, a, b: a ** b, [(3, 4), (3, 4)], ("pos", "any")),
    Case("pow_tensor_exp_bcast", lambda m, a, b: m.pow(a, b), [(2, 3), (3,)], ("pos", "unit")),
    Case("maximum", lambda m, a, b: m.maximum(a, b), [(3, 4), (3, 4)]),
    Case("maximum_bcast", lambda m, a, b: m.maximum(a, b), [(3, 4), (4,)]),
    Case("minimum_bcast", lambda m, a, b: m.minimum(a, b), [(3, 1), (1, 4)]),
    Case("where", lambda m, a, b: m.where(B(m, COND), a, b), [(3, 4), (3, 4)]),
    Case("where_bcast", lambda m, a, b: m.where(B(m, COND), a, b), [(3, 4), (4,)]),
    Case("where_scalar_y", lambda m, a: m.where(B(m, COND), a, 0.5), [(3, 4)]),
    Case("where_scalar_x", lambda m, a: m.where(B(m, COND), -1.5, a), [(3, 4)]),
    # reflected / scalar operands
    Case("radd", lambda m, a: 2.5 + a, [(3, 4)]),
    Case("rsub", lambda m, a: 2.5 - a, [(3, 4)]),
    Case("rmul", lambda m, a: 3.0 * a, [(3, 4)]),
    Case("rdiv", lambda m, a: 2.0 / a, [(3, 4)], "nz"),
    Case("rpow", lambda m, a: 2.0 ** a, [(3, 4)]),
    Case("sub_scalar", lambda m, a: a - 1.25, [(3, 4)]),
    Case("div_scalar", lambda m, a: a / 4.0, [(3, 4)]),
    Case("pow_2", lambda m, a: a ** 2, [(3, 4)]),
    Case("pow_3", lambda m, a: a ** 3, [(3, 4)]),
    Case("pow_half", lambda m, a: a ** 0.5, [(3, 4)], "pos"),
    Case("pow_neg", lambda m, a: a ** -1.5, [(3, 4)], "pos"),
    Case("pow_0", lambda m, a: a ** 0, [(3, 4)]),
    Case("pow_1", lambda m, a: a ** 1, [(3, 4)]),
    Case("neg", lambda m, a: -a, [(3, 4)]),
    Case("chain_mix", lambda m, a, b: (a * b - a / (b * b + 1.0)).tanh() * 2 - 1, [(3, 4), (4,)]),
    # ---- unary math ---------------------------------------------------------------------------
    Case("exp", lambda m, a: m.exp(a), [(3, 4)]),
    Case("log", lambda m, a: m.log(a), [(3, 4)], "pos"),
    Case("sqrt", lambda m, a: m.sqrt(a), [(3, 4)], "pos"),
    Case("abs", lambda m, a: m.abs(a), [(3, 4)], "nz"),
    Case("sin", lambda m, a: a.sin(), [(3, 4)]),
    Case("cos", lambda m, a: a.cos(), [(3, 4)]),
    Case("tanh", lambda m, a: a.tanh(), [(3, 4)]),
    Case("sigmoid", lambda m, a: a.sigmoid(), [(3, 4)], "big"),
    Case("relu", lambda m, a: a.relu(), [(3, 4)], "nz"),
    Case("leaky_relu", lambda m, a: tg.leaky_relu(a, 0.1), [(3, 4)], "nz",
         torch_fn=lambda m, a: torch.nn.functional.leaky_relu(a, 0.1)),
    Case("clamp_both", lambda m, a: a.clamp(-0.5, 0.7), [(3, 4)]),
    Case("clamp_min", lambda m, a: m.clamp(a, min=0.2), [(3, 4)]),
    Case("clamp_max", lambda m, a: m.clamp(a, max=0.2), [(3, 4)]),
    Case("clamp_tensor_bounds", lambda m, a, lo, hi: a.clamp(lo - 0.5, hi + 0.5),
         [(3, 4), (4,), (3, 1)]),
    Case("remainder", lambda m, a, b: m.remainder(a, b), [(3, 4), (4,)], ("big", "nz")),
    Case("mod_scalar", lambda m, a: a % 0.7, [(3, 4)], "big"),
    Case("log1p", lambda m, a: m.log1p(a), [(3, 4)], "pos"),
    Case("expm1", lambda m, a: m.expm1(a), [(3, 4)]),
    Case("square", lambda m, a: m.square(a), [(3, 4)]),
    Case("rsqrt", lambda m, a: m.rsqrt(a), [(3, 4)], "pos"),
    Case("reciprocal", lambda m, a: m.reciprocal(a), [(3, 4)], "nz"),
    Case("softplus", lambda m, a: tg.softplus(a), [(3, 4)], "big",
         torch_fn=lambda m, a: torch.nn.functional.softplus(a)),
    Case("sign_zero_grad", lambda m, a: m.sign(a) * a, [(3, 4)], "nz"),
    Case("floor_zero_grad", lambda m, a: m.floor(a) + a, [(3, 4)], "big", check=False),
    Case("ceil_zero_grad", lambda m, a: m.ceil(a) * a, [(3, 4)], "big", check=False),
    Case("round_zero_grad", lambda m, a: m.round(a) - a, [(3, 4)], "big", check=False),
    Case("astype_f32_f64", lambda m, a: (a.float() * 1.0).double() * a, [(3,)], second=False,
         check=False),
    Case("clone", lambda m, a: a.clone() * a, [(3, 4)]),
    Case("masked_fill", lambda m, a: a.masked_fill(B(m, MASK34), 0.5) * a, [(3, 4)]),
    # ---- reductions ----------------------------------------------------------------------------
    Case("sum_all", lambda m, a: a.sum(), [(3, 4)]),
    Case("sum_dim", lambda m, a: a.sum(dim=1), [(3, 4)]),
    Case("sum_dims_keep", lambda m, a: a.sum(dim=(0, 2), keepdim=True), [(2, 3, 4)]),
    Case("sum_neg_dim", lambda m, a: a.sum(-1), [(2, 3, 4)]),
    Case("sum_axis_alias", lambda m, a: a.sum(axis=0, keepdims=True), [(3, 4)],
         torch_fn=lambda m, a: a.sum(dim=0, keepdim=True)),
    Case("mean_all", lambda m, a: a.mean(), [(3, 4)]),
    Case("mean_dim", lambda m, a: a.mean(dim=0), [(3, 4)]),
    Case("mean_dims_keep", lambda m, a: m.mean(a, dim=(1, 2), keepdim=True), [(2, 3, 4)]),
    Case("var_all", lambda m, a: a.var(), [(3, 4)]),
    Case("var_dim_biased", lambda m, a: a.var(dim=1, unbiased=False), [(3, 4)]),
    Case("var_dim_keep", lambda m, a: m.var(a, 0, keepdim=True), [(3, 4)]),
    Case("std_dim", lambda m, a: a.std(dim=1), [(3, 4)]),
    Case("amax_all", lambda m, a: a.amax(), [(3, 4)]),
    Case("amax_dim", lambda m, a: m.amax(a, dim=1), [(3, 4)]),
    Case("amin_dims_keep", lambda m, a: m.amin(a, dim=(0, 2), keepdim=True), [(2, 3, 4)]),
    Case("max_all", lambda m, a: a.max(), [(3, 4)]),
    Case("min_all", lambda m, a: m.min(a), [(3, 4)]),
    Case("max_dim", lambda m, a: a.max(dim=1), [(3, 4)]),
    Case("max_dim_keep", lambda m, a: m.max(a, 0, keepdim=True), [(3, 4)]),
    Case("min_dim", lambda m, a: a.min(dim=-1), [(2, 3, 4)]),
    Case("max_binary", lambda m, a, b: m.max(a, b), [(3, 4), (3, 4)]),
    Case("logsumexp", lambda m, a: m.logsumexp(a, dim=1), [(3, 4)], "big"),
    Case("logsumexp_keep", lambda m, a: m.logsumexp(a, dim=(0, 1), keepdim=True), [(3, 4)]),
    Case("softmax_last", lambda m, a: m.softmax(a, dim=-1), [(3, 4)], "big"),
    Case("softmax_dim0", lambda m, a: a.softmax(0), [(3, 4, 2)], "big"),
    Case("log_softmax", lambda m, a: m.log_softmax(a, dim=1), [(3, 4)], "big"),
    Case("log_softmax_3d", lambda m, a: a.log_softmax(-1), [(2, 3, 4)]),
    Case("norm_all", lambda m, a: a.norm(), [(3, 4)]),
    Case("norm_dim", lambda m, a: m.norm(a, dim=1), [(3, 4)]),
    Case("norm_p1", lambda m, a: m.norm(a, p=1, dim=1), [(3, 4)], "nz"),
    Case("norm_p3", lambda m, a: m.norm(a, p=3, dim=0), [(3, 4)], "nz"),
    Case("prod_all", lambda m, a: a.prod(), [(2, 3)], "nz"),
    Case("prod_dim", lambda m, a: m.prod(a, dim=1), [(3, 4)], "nz"),
    # ---- shape and movement ----------------------------------------------------------------
    Case("reshape", lambda m, a: a.reshape(4, 3) * a.reshape(4, 3), [(3, 4)]),
    Case("reshape_minus1", lambda m, a: a.reshape(-1, 2).sum(0), [(3, 4)]),
    Case("view", lambda m, a: a.view(2, 6), [(3, 4)]),
    Case("permute", lambda m, a: a.permute(2, 0, 1), [(2, 3, 4)]),
    Case("transpose", lambda m, a: a.transpose(0, 2), [(2, 3, 4)]),
    Case("T", lambda m, a: a.T @ a, [(3, 4)]),
    Case("flatten", lambda m, a: a.flatten(1), [(2, 3, 4)]),
    Case("unsqueeze", lambda m, a: a.unsqueeze(1) * a.unsqueeze(0), [(3,)]),
    Case("squeeze", lambda m, a: a.squeeze(1), [(3, 1, 4)]),
    Case("squeeze_all", lambda m, a: a.squeeze(), [(1, 3, 1)]),
    Case("expand", lambda m, a: a.expand(2, 3, 4), [(3, 1)]),
    Case("expand_minus1", lambda m, a: a.expand(3, -1), [(1, 4)]),
    Case("broadcast_to", lambda m, a: m.broadcast_to(a, (2, 3, 4)), [(3, 1)]),
    Case("sum_to", lambda m, a: tg.sum_to(a, (3, 1)), [(2, 3, 4)],
         torch_fn=lambda m, a: a.sum_to_size(3, 1)),
    Case("concatenate", lambda m, a, b: tg.concatenate([a, b], dim=1), [(2, 3), (2, 1)],
         torch_fn=lambda m, a, b: torch.cat([a, b], dim=1)),
    Case("repeat", lambda m, a: a.repeat(2, 3), [(2, 3)]),
    Case("repeat_newdim", lambda m, a: a.repeat(2, 1, 2), [(2, 3)]),
    Case("cat", lambda m, a, b: m.cat([a, b, a], dim=1), [(2, 3), (2, 2)]),
    Case("cat_dim0", lambda m, a, b: m.cat([a, b]), [(2, 3), (1, 3)]),
    Case("stack", lambda m, a, b: m.stack([a, b], dim=1), [(2, 3), (2, 3)]),
    Case("stack_neg", lambda m, a, b: m.stack([a, b, a], dim=-1), [(2, 3), (2, 3)]),
    Case("split", lambda m, a: a.split(2, dim=1), [(3, 5)]),
    Case("split_sections", lambda m, a: m.split(a, [1, 3], dim=1), [(3, 4)]),
    Case("chunk", lambda m, a: a.chunk(2, dim=0), [(5, 2)]),
    Case("unbind", lambda m, a: a.unbind(1), [(2, 3)]),
    Case("flip", lambda m, a: a.flip((0, 1)), [(2, 3)]),
    Case("pad", lambda m, a: tg.pad(a, (1, 2, 0, 1), value=0.5), [(2, 3)],
         torch_fn=lambda m, a: torch.nn.functional.pad(a, (1, 2, 0, 1), value=0.5)),
    # ---- indexing ------------------------------------------------------------------------------
    Case("getitem_int", lambda m, a: a[1], [(3, 4)]),
    Case("getitem_slice", lambda m, a: a[1:, ::2], [(3, 4)]),
    Case("getitem_neg_ellipsis", lambda m, a: a[..., -1], [(2, 3, 4)]),
    Case("getitem_none", lambda m, a: a[:, None, 1:3], [(3, 4)]),
    Case("getitem_intarray_repeats", lambda m, a: a[I(m, [0, 2, 0, 0])], [(3, 4)]),
    Case("getitem_intarray_2d", lambda m, a: a[I(m, [[0, 1], [1, 1]]), I(m, [[3, 3], [0, 3]])],
         [(3, 4)]),
    Case("getitem_mixed", lambda m, a: a[1:, I(m, [0, 0, 3])], [(3, 4)]),
    Case("getitem_bool", lambda m, a: a[B(m, MASK34)], [(3, 4)]),
    Case("getitem_bool_rows", lambda m, a: a[B(m, [True, False, True])], [(3, 4)]),
    Case("gather", lambda m, a: m.gather(a, 1, I(m, [[0, 0, 3], [1, 2, 1], [3, 3, 3]])),
         [(3, 4)]),
    Case("gather_dim0", lambda m, a: a.gather(0, I(m, [[0, 2, 2, 1]])), [(3, 4)]),
    Case("index_select", lambda m, a: m.index_select(a, 1, I(m, [3, 0, 3])), [(3, 4)]),
    Case("index_put", lambda m, a, v: tg.index_put(a, (I(m, [0, 2]),), v), [(3, 4), (2, 4)],
         torch_fn=lambda m, a, v: a.index_put((I(m, [0, 2]),), v)),
    # ---- matrix products -----------------------------------------------------------------------
    Case("matmul_mm", lambda m, a, b: a @ b, [(3, 4), (4, 2)]),
    Case("matmul_vv", lambda m, a, b: m.matmul(a, b), [(4,), (4,)]),
    Case("matmul_mv", lambda m, a, b: a @ b, [(3, 4), (4,)]),
    Case("matmul_vm", lambda m, a, b: a @ b, [(4,), (4, 2)]),
    Case("matmul_batched", lambda m, a, b: a @ b, [(2, 3, 4), (2, 4, 2)]),
    Case("matmul_bcast_batch", lambda m, a, b: a @ b, [(2, 1, 3, 4), (3, 4, 2)]),
    Case("matmul_batch_vec", lambda m, a, b: a @ b, [(2, 3, 4), (4,)]),
    Case("matmul_vec_batch", lambda m, a, b: a @ b, [(3,), (2, 3, 4)]),
    Case("matmul_mat_batch", lambda m, a, b: a @ b, [(3, 4), (2, 4, 2)]),
    Case("linear", lambda m, x, w, b: tg.linear(x, w, b), [(5, 4), (3, 4), (3,)],
         torch_fn=lambda m, x, w, b: torch.nn.functional.linear(x, w, b)),
    Case("linear_nobias_3d", lambda m, x, w: tg.linear(x, w), [(2, 5, 4), (3, 4)],
         torch_fn=lambda m, x, w: torch.nn.functional.linear(x, w)),
    Case("linear_1d", lambda m, x, w, b: tg.linear(x, w, b), [(4,), (3, 4), (3,)],
         torch_fn=lambda m, x, w, b: torch.nn.functional.linear(x, w, b)),
    Case("dot", lambda m, a, b: m.dot(a, b), [(4,), (4,)]),
    Case("mm", lambda m, a, b: m.mm(a, b), [(3, 4), (4, 2)]),
    Case("bmm", lambda m, a, b: m.bmm(a, b), [(2, 3, 4), (2, 4, 2)]),
    Case("outer", lambda m, a, b: m.outer(a, b), [(3,), (4,)]),
    Case("mlp_softmax", lambda m, x, w: m.softmax((x @ w).tanh(), dim=-1), [(3, 4), (4, 5)]),
] + MORE_CASES

IDS = [c.name for c in CASES]
assert len(set(IDS)) == len(IDS)


# ---- runners ---------------------------------------------------------------------------------
def _flat(out):
    """Outputs as a list, keeping only floating tensors (indices of max(dim) are compared
    separately)."""
    if isinstance(out, (tuple, list)):
        return list(out)
    return [out]


def _is_float(t):
    return np.dtype(str(t.dtype).replace("torch.", "")).kind == "f"


def run_tg(case, arrays, create_graph):
    xs = [tg.tensor(a, dtype=tg.float64, requires_grad=True) for a in arrays]
    outs = _flat(case.fn(tg, *xs))
    fouts = [o for o in outs if o.dtype.kind == "f"]
    rng = np.random.default_rng(99)
    gos = [tg.tensor(rng.standard_normal(o.shape), dtype=tg.float64,
                     requires_grad=create_graph) for o in fouts]
    gs = tg.grad(fouts, xs, grad_outputs=gos, create_graph=create_graph, allow_unused=True)
    return xs, outs, fouts, gos, gs


def run_torch(case, arrays, create_graph):
    xs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    outs = _flat(case.torch_fn(torch, *xs))
    fouts = [o for o in outs if o.dtype.is_floating_point]
    rng = np.random.default_rng(99)
    gos = [torch.tensor(rng.standard_normal(tuple(o.shape)), dtype=torch.float64,
                        requires_grad=create_graph) for o in fouts]
    gs = torch.autograd.grad(fouts, xs, grad_outputs=gos, create_graph=create_graph,
                             allow_unused=True, materialize_grads=True)
    return xs, outs, fouts, gos, gs


def close(actual, expected, what):
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != torch's {e.shape}"
    np.testing.assert_allclose(a, e, rtol=RTOL, atol=ATOL, err_msg=what)


def _np(t):
    if t is None:
        return None
    if isinstance(t, torch.Tensor):
        return t.detach().numpy(force=True)
    return t.detach().numpy()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward_and_gradients_match_torch(case):
    arrays = make_inputs(case)
    for cg in (False, True):
        _, outs, _, _, gs = run_tg(case, arrays, cg)
        _, touts, _, _, tgs = run_torch(case, arrays, cg)
        assert len(outs) == len(touts)
        for k, (o, t) in enumerate(zip(outs, touts)):
            if _is_float(t):
                assert o.dtype == np.float64, f"output {k} dtype {o.dtype}"
            close(_np(o), _np(t), f"{case.name}: output {k}")
        for i, (g, tgr) in enumerate(zip(gs, tgs)):
            ga = np.zeros(arrays[i].shape) if g is None else _np(g)
            if g is not None:
                assert g.shape == arrays[i].shape and g.dtype == np.float64
            close(ga, _np(tgr), f"{case.name}: gradient of input {i} (create_graph={cg})")


@pytest.mark.parametrize("case", [c for c in CASES if c.second], ids=[c.name for c in CASES
                                                                      if c.second])
def test_second_derivatives_match_torch(case):
    """Hessian-vector products: d/d(x, go) of <vjp(x, go), v>, through create_graph=True."""
    arrays = make_inputs(case)
    rng = np.random.default_rng(7)
    vs = [rng.standard_normal(a.shape) for a in arrays]

    xs, _, _, gos, gs = run_tg(case, arrays, True)
    s = None
    for g, v in zip(gs, vs):
        if g is not None and g.requires_grad:
            term = (g * tg.tensor(v, dtype=tg.float64)).sum()
            s = term if s is None else s + term
    txs, _, _, tgos, tgs = run_torch(case, arrays, True)
    terms = [(g * torch.tensor(v)).sum() for g, v in zip(tgs, vs) if g.requires_grad]
    if s is None:
        # the gradient is constant in the inputs and the upstream gradient: torch must agree
        assert not terms
        return
    h = tg.grad(s, xs + gos, allow_unused=True)
    if not terms:  # torch's gradient is constant: ours must have zero derivatives
        for a in h:
            assert a is None or not np.any(a.detach().numpy()), f"{case.name}: nonzero second derivative"
        return
    ts = sum(terms)
    th = torch.autograd.grad(ts, txs + tgos, allow_unused=True, materialize_grads=True)
    for i, (a, b) in enumerate(zip(h, th)):
        ref = _np(b)
        got = np.zeros(ref.shape) if a is None else _np(a)
        close(got, ref, f"{case.name}: second derivative wrt {'input' if i < len(xs) else 'grad_output'} "
                        f"{i if i < len(xs) else i - len(xs)}")


@pytest.mark.parametrize("case", [c for c in CASES if c.check], ids=[c.name for c in CASES
                                                                     if c.check])
def test_gradcheck(case):
    arrays = make_inputs(case, seed=3)
    xs = [tg.tensor(a, dtype=tg.float64, requires_grad=True) for a in arrays]
    assert tg.gradcheck(lambda *x: case.fn(tg, *x), xs)


GRADGRAD = ["mul_bcast", "div_bcast", "pow_tensor_exp", "tanh", "sigmoid", "log_softmax",
            "softmax_last", "var_dim_keep", "matmul_bcast_batch", "logsumexp", "prod_dim",
            "getitem_intarray_repeats", "norm_dim"]


@pytest.mark.parametrize("name", GRADGRAD)
def test_gradgradcheck(name):
    case = next(c for c in CASES if c.name == name)
    arrays = make_inputs(case, seed=5)
    xs = [tg.tensor(a, dtype=tg.float64, requires_grad=True) for a in arrays]
    assert tg.gradgradcheck(lambda *x: case.fn(tg, *x), xs)


def test_max_min_dim_indices_match_torch():
    a = np.random.default_rng(0).standard_normal((3, 4, 5))
    for dim in (0, 1, -1):
        for keep in (False, True):
            v, i = tg.tensor(a).max(dim=dim, keepdim=keep)
            tv, ti = torch.tensor(a).max(dim=dim, keepdim=keep)
            np.testing.assert_array_equal(i.detach().numpy(), ti.numpy())
            assert i.dtype == np.int64
            v, i = tg.min(tg.tensor(a), dim, keepdim=keep)
            tv, ti = torch.min(torch.tensor(a), dim, keepdim=keep)
            np.testing.assert_array_equal(i.detach().numpy(), ti.numpy())
            np.testing.assert_array_equal(tg.argmax(tg.tensor(a), dim, keepdim=keep).detach().numpy(),
                                          torch.argmax(torch.tensor(a), dim, keepdim=keep).numpy())
    assert tg.tensor(a).argmax().item() == torch.tensor(a).argmax().item()
    assert tg.tensor(a).argmin().item() == torch.tensor(a).argmin().item()
    for dim in (0, -1):
        np.testing.assert_array_equal(tg.argmin(tg.tensor(a), dim=dim, keepdim=True).detach().numpy(),
                                      torch.argmin(torch.tensor(a), dim=dim, keepdim=True).numpy())


def test_comparisons_and_logical_ops_like_torch():
    rng = np.random.default_rng(3)
    a = rng.integers(-2, 3, (3, 4)).astype(float)
    b = rng.integers(-2, 3, (4,)).astype(float)
    x, y = tg.tensor(a, requires_grad=True), tg.tensor(b)
    tx, ty = torch.tensor(a), torch.tensor(b)
    for name in ("lt", "le", "gt", "ge", "eq", "ne"):
        ours = getattr(tg, name)(x, y)
        assert ours.dtype == np.bool_ and not ours.requires_grad
        np.testing.assert_array_equal(ours.detach().numpy(), getattr(torch, name)(tx, ty).numpy())
        np.testing.assert_array_equal(getattr(tg, name)(x, 0.5).detach().numpy(),
                                      getattr(torch, name)(tx, 0.5).numpy())
    p, q = x > 0, y < 1
    np.testing.assert_array_equal(tg.logical_and(p, q).detach().numpy(), torch.logical_and(tx > 0, ty < 1).numpy())
    np.testing.assert_array_equal(tg.logical_or(p, q).detach().numpy(), torch.logical_or(tx > 0, ty < 1).numpy())
    np.testing.assert_array_equal(tg.logical_not(p).detach().numpy(), torch.logical_not(tx > 0).numpy())
    f = tg.full_like(x, 2.5)
    assert f.dtype == x.dtype and f.shape == x.shape and not f.requires_grad


def test_tied_extremes_share_gradient_like_torch():
    """amax/amin/maximum with ties: gradient split evenly, as PyTorch."""
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    for fn in (lambda m, x: m.amax(x, dim=1), lambda m, x: m.amin(x), lambda m, x: x.max(),
               lambda m, x: m.maximum(x, x.detach()), lambda m, x: m.minimum(x, m.ones_like(x) * 2)):
        x = tg.tensor(a, dtype=tg.float64, requires_grad=True)
        tx = torch.tensor(a, requires_grad=True)
        fn(tg, x).sum().backward()
        fn(torch, tx).sum().backward()
        close(x.grad.detach().numpy(), tx.grad.numpy(), "ties")


def test_pow_zero_base_gradients_like_torch():
    a = np.array([0.0, 0.0, 2.0, 1.5])
    b = np.array([2.0, 0.0, 3.0, -1.0])
    x = tg.tensor(a, dtype=tg.float64, requires_grad=True)
    y = tg.tensor(b, dtype=tg.float64, requires_grad=True)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    (x ** y).sum().backward()
    (tx ** ty).sum().backward()
    close(x.grad.detach().numpy(), tx.grad.numpy(), "pow base grad at 0")
    close(y.grad.detach().numpy(), ty.grad.numpy(), "pow exponent grad at 0")


def test_setitem_index_put_gradients_like_torch():
    a = np.random.default_rng(1).standard_normal((3, 4))
    v = np.random.default_rng(2).standard_normal((2, 4))

    def run(m, x, val):
        y = x * 1.0
        y[m.tensor(np.array([0, 2]))] = val * 2.0
        return (y * y).sum()

    x = tg.tensor(a, requires_grad=True, dtype=tg.float64)
    val = tg.tensor(v, requires_grad=True, dtype=tg.float64)
    tx, tval = torch.tensor(a, requires_grad=True), torch.tensor(v, requires_grad=True)
    out, tout = run(tg, x, val), run(torch, tx, tval)
    close(out.detach().numpy(), tout.detach().numpy(), "setitem forward")
    out.backward()
    tout.backward()
    close(x.grad.detach().numpy(), tx.grad.numpy(), "setitem grad wrt base")
    close(val.grad.detach().numpy(), tval.grad.numpy(), "setitem grad wrt value")


@pytest.mark.parametrize("base", [0.0, -2.0])
def test_rpow_scalar_base_zero_or_negative_like_torch(base):
    e = np.array([1.0, 2.0, 0.5])
    x = tg.tensor(e, dtype=tg.float64, requires_grad=True)
    tx = torch.tensor(e, requires_grad=True)
    with np.errstate(all="ignore"):
        (g,) = tg.grad((base ** x).sum(), x)
    (tgr,) = torch.autograd.grad((base ** tx).sum(), tx)
    np.testing.assert_array_equal(np.isnan(g.detach().numpy()), np.isnan(tgr.numpy()))
    close(np.nan_to_num(g.detach().numpy()), np.nan_to_num(tgr.numpy()), f"rpow base {base}")


@pytest.mark.parametrize("case", [c for c in CASES if c.name != "astype_f32_f64"],
                         ids=[c.name for c in CASES if c.name != "astype_f32_f64"])
def test_float32_stays_float32(case):
    """Every op keeps float32 inputs float32 (outputs and gradients, both backward paths) and
    agrees with its own float64 result to float32 precision."""
    arrays = make_inputs(case, seed=1)
    xs = [tg.tensor(a.astype(np.float32), requires_grad=True) for a in arrays]
    outs = [o for o in _flat(case.fn(tg, *xs)) if o.dtype.kind == "f"]
    for o in outs:
        assert o.dtype == np.float32, f"{case.name}: output dtype {o.dtype}"
    gos = [tg.ones_like(o) for o in outs]
    for cg in (False, True):
        gs = tg.grad(outs, xs, grad_outputs=gos, allow_unused=True, retain_graph=True,
                     create_graph=cg)
        for g in gs:
            assert g is None or g.dtype == np.float32, f"{case.name}: gradient dtype {g.dtype}"
    ref = [o.detach().numpy() for o in run_tg(case, arrays, False)[2]]
    for o, r in zip(outs, ref):
        np.testing.assert_allclose(o.detach().numpy(), r, rtol=2e-4, atol=2e-5)


def test_clamp_with_tensor_bounds_ties_like_torch():
    """At x == min (or max) PyTorch gives the whole gradient to x, none to the bound."""
    a = np.array([[0.0, 1.0, 2.0], [3.0, 1.0, -1.0]])
    lo = np.array([0.0, 1.5, 2.0])
    hi = np.array([[3.0], [3.0]])
    x, l, h = (tg.tensor(v, dtype=tg.float64, requires_grad=True) for v in (a, lo, hi))
    tx, tl, th = (torch.tensor(v, requires_grad=True) for v in (a, lo, hi))
    x.clamp(l, h).sum().backward()
    tx.clamp(tl, th).sum().backward()
    for ours, ref, what in ((x, tx, "input"), (l, tl, "min"), (h, th, "max")):
        close(ours.grad.detach().numpy(), ref.grad.numpy(), f"clamp tie gradient wrt {what}")
