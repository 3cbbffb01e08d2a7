"""More rows of the parity table (see tests/ops_cases.py): indexing with PyTorch's rules,
the scatter family, matrix products, einsum and the matrix functions."""
from __future__ import annotations

from test_ops_parity import B, Case, I

IDX = [[0, 2], [1, 0], [2, 2]]
MASK = [[1, 0, 0, 1], [0, 0, 1, 0], [1, 0, 0, 0]]
IDXU = [[0, 2], [1, 0], [2, 3]]  # no repeats in a row: scatter's overwrite is well defined
SPD = lambda m, a: a @ a.mT + m.eye(a.shape[-1], dtype=a.dtype) * 3.0  # noqa: E731


def setitem_mixed(m, a, v):
    y = a * 1.0
    y[0, :, I(m, [2, 0, 1])] = v * 2.0
    return y


INDEXING = [
    Case("index_put_accumulate", lambda m, a, v: m.index_put(a, (I(m, [0, 2, 0]),), v,
                                                             accumulate=True),
         [(3, 4), (3, 4)]),
    Case("getitem_int_slice_list", lambda m, a: a[0, :, [0, 1, 2]], [(2, 3, 4)]),
    Case("getitem_fuzz_shape", lambda m, a: a[1, :, 1:5:2, I(m, [0, 1]), 0:2],
         [(2, 2, 6, 3, 3)]),
    Case("getitem_separated_arrays", lambda m, a: a[I(m, [0, 1]), :, I(m, [2, 0])],
         [(2, 3, 4)]),
    Case("getitem_0d_index", lambda m, a: a[m.tensor(1), I(m, [0, 0])], [(3, 4)]),
    Case("setitem_mixed_layout", setitem_mixed, [(2, 3, 4), (3, 3)]),
    Case("gather_neg_dim", lambda m, a: a.gather(-1, I(m, IDX)), [(3, 4)]),
    Case("scatter_src", lambda m, a, s: m.scatter(a, 1, I(m, IDXU), s), [(3, 4), (3, 2)]),
    Case("scatter_dim0", lambda m, a, s: a.scatter(0, I(m, [[2, 0, 1, 1]]), s),
         [(3, 4), (1, 4)]),
    Case("scatter_value", lambda m, a: a.scatter(1, I(m, IDX), 1.5), [(3, 4)]),
    Case("scatter_add", lambda m, a, s: m.scatter_add(a, 1, I(m, IDX), s), [(3, 4), (3, 2)]),
    Case("index_add", lambda m, a, s: m.index_add(a, 0, I(m, [2, 0, 2]), s, alpha=-2.0),
         [(3, 4), (3, 4)]),
    Case("index_copy", lambda m, a, s: a.index_copy(1, I(m, [3, 0]), s), [(3, 4), (3, 2)]),
    Case("index_fill", lambda m, a: m.index_fill(a, 1, I(m, [1, 3]), -0.5), [(3, 4)]),
    Case("masked_fill_tensor_value", lambda m, a, v: a.masked_fill(B(m, MASK), v), [(3, 4), ()]),
    Case("masked_select", lambda m, a: m.masked_select(a, B(m, MASK)), [(3, 4)]),
    Case("masked_select_bcast", lambda m, a: a.masked_select(B(m, [True, False, True, True])),
         [(3, 4)]),
    Case("masked_scatter", lambda m, a, s: a.masked_scatter(B(m, MASK), s), [(3, 4), (6,)]),
    Case("take", lambda m, a: m.take(a, I(m, [[0, 11], [-1, 5]])), [(3, 4)]),
    Case("take_along_dim", lambda m, a: m.take_along_dim(a, I(m, IDX), 1), [(3, 4)]),
    Case("take_along_dim_bcast", lambda m, a: a.take_along_dim(I(m, [[0], [3]]), dim=1),
         [(1, 4)]),
    Case("take_along_dim_flat", lambda m, a: m.take_along_dim(a, I(m, [4, 0, 4])), [(3, 4)]),
    Case("where_method", lambda m, a, b: a.where(B(m, MASK), b), [(3, 4), (4,)]),
]

SCATTER_REDUCE = [
    Case(f"scatter_reduce_{r}_{inc}",
         (lambda r, inc: lambda m, a, s: m.scatter_reduce(
             a, 1, I(m, [[0, 2, 0], [1, 1, 1], [3, 0, 3]]), s, r, include_self=inc))(r, inc),
         [(3, 4), (3, 3)], "distinct" if r in ("amax", "amin") else "nz")
    for r in ("sum", "prod", "mean", "amax", "amin") for inc in (True, False)
] + [
    Case("scatter_reduce_prod_zeros", lambda m, a, s: a.scatter_reduce(
        0, I(m, [[0, 1, 0, 1], [0, 1, 1, 1]]), s.masked_fill(B(m, [[1, 0, 0, 0], [1, 0, 1, 1]]),
                                                          0.0), "prod"),
         [(2, 4), (2, 4)], "nz", second=False),
    Case("scatter_reduce_amax_ties", lambda m, a, s: a.scatter_reduce(
        1, I(m, [[0, 0, 1], [2, 2, 2]]), s, "amax"), [(2, 3), (2, 3)], "ties", check=False),
]

LINALG = [
    Case("addmm", lambda m, c, a, b: m.addmm(c, a, b, beta=0.5, alpha=2.0),
         [(3, 2), (3, 4), (4, 2)]),
    Case("addmm_bcast", lambda m, c, a, b: c.addmm(a, b), [(2,), (3, 4), (4, 2)]),
    Case("addmv", lambda m, c, a, v: m.addmv(c, a, v, alpha=-1.0), [(3,), (3, 4), (4,)]),
    Case("baddbmm", lambda m, c, a, b: m.baddbmm(c, a, b, beta=2.0), [(2, 3, 2), (2, 3, 4),
                                                                     (2, 4, 2)]),
    Case("addbmm", lambda m, c, a, b: m.addbmm(c, a, b), [(3, 2), (2, 3, 4), (2, 4, 2)]),
    Case("addr", lambda m, c, u, v: m.addr(c, u, v, beta=0.0), [(3, 4), (3,), (4,)]),
    Case("inner", lambda m, a, b: m.inner(a, b), [(2, 3), (4, 3)]),
    Case("inner_1d", lambda m, a, b: m.inner(a, b), [(3,), (3,)]),
    Case("kron", lambda m, a, b: m.kron(a, b), [(2, 3), (3, 2)]),
    Case("kron_mixed_ndim", lambda m, a, b: m.kron(a, b), [(2,), (2, 3)]),
    Case("cross", lambda m, a, b: m.cross(a, b, dim=1), [(2, 3), (2, 3)]),
    Case("cross_default_dim", lambda m, a, b: m.cross(a, b), [(4, 3), (4, 3)],
         torch_fn=lambda m, a, b: m.cross(a, b, dim=1)),  # torch warns without dim
    Case("linalg_cross_bcast", lambda m, a, b: m.linalg.cross(a, b), [(2, 3), (1, 3)]),
    Case("tensordot", lambda m, a, b: m.tensordot(a, b, dims=([1, 0], [0, 2])),
         [(3, 2, 4), (2, 5, 3)]),
    Case("tensordot_int", lambda m, a, b: m.tensordot(a, b, 1), [(3, 4), (4, 2)]),
    Case("multi_dot", lambda m, a, b, c: m.linalg.multi_dot([a, b, c]), [(3,), (3, 4), (4, 2)]),
    Case("matrix_power", lambda m, a: m.matrix_power(a, 3), [(3, 3)]),
    Case("matrix_power_neg", lambda m, a: m.linalg.matrix_power(SPD(m, a), -2), [(3, 3)]),
    Case("trace", lambda m, a: m.trace(a), [(3, 4)]),
    Case("det", lambda m, a: m.det(a), [(3, 3)]),
    Case("det_batched", lambda m, a: m.linalg.det(a), [(2, 3, 3)]),
    Case("inverse", lambda m, a: m.inverse(SPD(m, a)), [(3, 3)]),
    Case("linalg_inv", lambda m, a: m.linalg.inv(a), [(2, 3, 3)]),
    Case("slogdet", lambda m, a: m.linalg.slogdet(a)[1], [(2, 3, 3)]),
    Case("logdet", lambda m, a: m.logdet(SPD(m, a)), [(3, 3)]),
    Case("solve", lambda m, a, b: m.linalg.solve(SPD(m, a), b), [(3, 3), (3, 2)]),
    Case("solve_vector", lambda m, a, b: m.linalg.solve(SPD(m, a), b), [(3, 3), (3,)]),
    Case("solve_batched_bcast", lambda m, a, b: m.linalg.solve(SPD(m, a), b),
         [(2, 3, 3), (3, 2)]),
    Case("solve_right", lambda m, a, b: m.linalg.solve(SPD(m, a), b, left=False),
         [(3, 3), (2, 3)]),
    Case("vecdot", lambda m, a, b: m.linalg.vecdot(a, b), [(3, 4), (4,)]),
    Case("linalg_diagonal", lambda m, a: m.linalg.diagonal(a), [(2, 3, 3)],
         torch_fn=lambda m, a: m.linalg.diagonal(a)),
]

EINSUM = [
    Case(f"einsum_{eq.replace(',', '_').replace('->', '_to_').replace('...', 'E')}",
         (lambda eq: lambda m, *xs: m.einsum(eq, *xs))(eq), shapes)
    for eq, shapes in [
        ("ij,jk->ik", [(3, 4), (4, 2)]),
        ("bij,bjk->bik", [(2, 3, 4), (2, 4, 2)]),
        ("ii", [(3, 3)]),
        ("ii->i", [(3, 3)]),
        ("i,j->ij", [(3,), (4,)]),
        ("ij->", [(3, 4)]),
        ("ij->j", [(3, 4)]),
        ("ij,ij->i", [(3, 4), (3, 4)]),
        ("ij,jk", [(3, 4), (4, 2)]),
        ("...ij,...jk->...ik", [(2, 3, 4), (4, 2)]),
        ("...i,i", [(2, 3, 4), (4,)]),
        ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
        ("bii->bi", [(2, 3, 3)]),
        ("iij->j", [(3, 3, 2)]),
        ("ij,k->kji", [(2, 3), (4,)]),
    ]
] + [
    Case("einsum_list_operands", lambda m, a, b: m.einsum("ij,j->i", [a, b]), [(3, 4), (4,)]),
    Case("einsum_bcast_ellipsis", lambda m, a, b: m.einsum("...ij,...jk", a, b),
         [(2, 1, 3, 4), (3, 4, 2)]),
]

MORE_CASES2 = INDEXING + SCATTER_REDUCE + LINALG + EINSUM
