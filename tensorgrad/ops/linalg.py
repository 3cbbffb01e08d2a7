"""Matrix products: matmul (vectors, matrices, broadcast batches), a fused linear, addmm and
its family, inner/kron/tensordot/multi_dot/matrix_power/trace.

This module is also ``tg.linalg`` (as ``torch.linalg``): the matrix functions of ops/matrix.py
(det, inv, solve, slogdet, vector_norm, matrix_norm, norm, cross with dim=-1) are imported at
the bottom under their torch.linalg names.
"""
from __future__ import annotations

from builtins import max as builtins_max

import numpy as np

from ..autograd.node import record
from ..tensor import Tensor, _wrap
from ._registry import op
from ._util import not_tensor
from ._xp import _np_matmul, array_module


def _matmul_vjp(ctx, g, a, b):
    xp = array_module(g)
    n = ctx.needs
    return (xp.matmul(g, xp.transpose(b, -1, -2)) if n[0] else None,
            xp.matmul(xp.transpose(a, -1, -2), g) if n[1] else None)


@op(methods=("matmul", "__matmul__"), rmethods=("__rmatmul__",))
def matmul(a, b):
    if not isinstance(a, Tensor):
        a = _wrap(np.asarray(a))
    if not isinstance(b, Tensor):
        b = _wrap(np.asarray(b))
    ad, bd = a._data, b._data
    if ad.ndim == 0 or bd.ndim == 0:
        raise RuntimeError(f"matmul: both arguments need at least 1 dimension, got shapes "
                           f"{ad.shape} @ {bd.shape}")
    if ad.ndim == 1 or bd.ndim == 1:
        from .movement import reshape, unsqueeze
        if (ad.shape[-1] != (bd.shape[0] if bd.ndim == 1 else bd.shape[-2])):
            raise RuntimeError(f"matmul: {ad.shape} @ {bd.shape} (inner dimensions "
                               f"{ad.shape[-1]} and {bd.shape[0] if bd.ndim == 1 else bd.shape[-2]} differ)")
        a2 = unsqueeze(a, 0) if ad.ndim == 1 else a
        b2 = unsqueeze(b, -1) if bd.ndim == 1 else b
        out = matmul(a2, b2)
        s = out._data.shape
        if ad.ndim == 1:
            s = s[:-2] + s[-1:]
        if bd.ndim == 1:
            s = s[:-1]
        return reshape(out, s)
    if ad.shape[-1] != bd.shape[-2]:
        raise RuntimeError(f"matmul: {ad.shape} @ {bd.shape} (inner dimensions "
                           f"{ad.shape[-1]} and {bd.shape[-2]} differ)")
    try:
        out = _np_matmul(ad, bd)
    except ValueError:
        raise RuntimeError(f"matmul: batch dimensions do not broadcast: {ad.shape} @ "
                           f"{bd.shape}") from None
    ab = (a, b)  # inputs and saved values: one tuple
    return record("matmul", out, ab, _matmul_vjp, ab)


mm = op(matmul, name="mm", methods="mm")
bmm = op(matmul, name="bmm", methods="bmm")


@op
def dot(a, b):
    if a._data.ndim != 1 or b._data.ndim != 1:
        raise RuntimeError(f"dot: expected two 1-D tensors, got shapes {a._data.shape} and {b._data.shape}")
    return matmul(a, b)


vdot = op(dot, name="vdot", methods="vdot")  # real tensors: no conjugation to do


@op
def outer(a, b):
    from .movement import unsqueeze
    return matmul(unsqueeze(a, 1), unsqueeze(b, 0))


def _linear_vjp(ctx, g, x, w):
    xp = array_module(g)
    n = ctx.needs
    gx = xp.matmul(g, w) if n[0] else None
    gw = gb = None
    if n[1]:
        g2 = xp.reshape(g, (-1, g.shape[-1])) if g.ndim != 2 else g
        x2 = xp.reshape(x, (-1, x.shape[-1])) if x.ndim != 2 else x
        gw = xp.matmul(xp.transpose(g2, -1, -2), x2)
    if len(n) > 2 and n[2]:
        gb = xp.sum(g, tuple(range(g.ndim - 1))) if g.ndim > 1 else g
    return (gx, gw, gb)


@op(functional=True, methods=())
def linear(x, weight, bias=None):
    """y = x Wᵀ + b in one op (W is (out, in), as PyTorch)."""
    try:
        xd, wd = x._data, weight._data
    except AttributeError:
        raise not_tensor("linear", x if not isinstance(x, Tensor) else weight) from None
    if wd.ndim != 2 or xd.ndim == 0 or xd.shape[-1] != wd.shape[1]:
        raise RuntimeError(f"linear: input of shape {xd.shape} has {xd.shape[-1] if xd.ndim else 0} "
                           f"features, weight of shape {wd.shape} expects {wd.shape[-1] if wd.ndim == 2 else '?'}")
    out = _np_matmul(xd, wd.T)
    if bias is None:
        xw = (x, weight)
        return record("linear", out, xw, _linear_vjp, xw)
    bd = bias._data
    if bd.shape != (wd.shape[0],):
        raise RuntimeError(f"linear: bias must have shape ({wd.shape[0]},), got {bd.shape}")
    if out.dtype == np.result_type(out.dtype, bd.dtype):
        out += bd
    else:
        out = out + bd
    return record("linear", out, (x, weight, bias), _linear_vjp, saved=(x, weight))


# ---- products with an added term (addmm, addmv, addbmm, baddbmm, addr) -------------------------
def _add_scaled(inp, prod_, beta, alpha):
    """beta * inp + alpha * prod_ (``inp`` ignored when beta is 0, NaNs included, as PyTorch)."""
    if alpha != 1:
        prod_ = prod_ * alpha
    if beta == 0:
        return prod_
    return prod_ + (inp if beta == 1 else inp * beta)


def _mat_args(name, *ts):
    for t in ts:
        if not isinstance(t, Tensor):
            raise not_tensor(name, t)


def _product(name, a, b, ndims):
    """a @ b after checking both are Tensors with the ``ndims`` PyTorch's ``name`` takes."""
    _mat_args(name, a, b)
    if (a._data.ndim, b._data.ndim) != ndims:
        raise RuntimeError(f"{name}: expected {ndims[0]}-D and {ndims[1]}-D operands, got "
                           f"shapes {a._data.shape} and {b._data.shape}")
    return matmul(a, b)


@op
def addmm(input, mat1, mat2, *, beta=1, alpha=1):  # noqa: A002 (torch's names)
    """beta * input + alpha * (mat1 @ mat2) for matrices."""
    return _add_scaled(input, _product("addmm", mat1, mat2, (2, 2)), beta, alpha)


@op
def addmv(input, mat, vec, *, beta=1, alpha=1):  # noqa: A002
    """beta * input + alpha * (mat @ vec)."""
    return _add_scaled(input, _product("addmv", mat, vec, (2, 1)), beta, alpha)


@op
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):  # noqa: A002
    """beta * input + alpha * bmm(batch1, batch2)."""
    return _add_scaled(input, _product("baddbmm", batch1, batch2, (3, 3)), beta, alpha)


@op
def addbmm(input, batch1, batch2, *, beta=1, alpha=1):  # noqa: A002
    """beta * input + alpha * sum_b batch1[b] @ batch2[b]."""
    from .reduce import sum as _sum
    return _add_scaled(input, _sum(_product("addbmm", batch1, batch2, (3, 3)), 0), beta, alpha)


@op
def addr(input, vec1, vec2, *, beta=1, alpha=1):  # noqa: A002
    """beta * input + alpha * outer(vec1, vec2)."""
    _mat_args("addr", input, vec1, vec2)
    return _add_scaled(input, outer(vec1, vec2), beta, alpha)


# ---- small products: inner, kron, cross, tensordot, multi_dot, matrix_power, trace ----------------
@op
def inner(input, other):  # noqa: A002
    """Sum over the last dimension of both: out[i..., j...] = Σ_k input[i..., k] other[j..., k]."""
    from .movement import reshape
    _mat_args("inner", input, other)
    a, b = input._data, other._data
    if a.ndim == 0 or b.ndim == 0:
        return input * other
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(f"inner: the last dimensions differ: {a.shape} and {b.shape}")
    k = a.shape[-1]
    out = matmul(reshape(input, (-1, k)), reshape(other, (-1, k)).mT)
    return reshape(out, a.shape[:-1] + b.shape[:-1])


@op
def kron(input, other):  # noqa: A002
    """The Kronecker product: every element of ``input`` times the whole of ``other``."""
    from .movement import reshape
    _mat_args("kron", input, other)
    a, b = input._data, other._data
    nd = builtins_max(a.ndim, b.ndim)
    sa, sb = (1,) * (nd - a.ndim) + a.shape, (1,) * (nd - b.ndim) + b.shape
    ia = tuple(x for s in sa for x in (s, 1))
    ib = tuple(x for s in sb for x in (1, s))
    out = reshape(input, ia) * reshape(other, ib)
    return reshape(out, tuple(x * y for x, y in zip(sa, sb)))


@op(methods=())
def tensordot(a, b, dims=2):
    """Contract the last ``dims`` dimensions of ``a`` with the first of ``b`` (or the listed
    pairs ``dims=([..], [..])``)."""
    from .contraction import einsum
    _mat_args("tensordot", a, b)
    na, nb = a._data.ndim, b._data.ndim
    if isinstance(dims, int):
        da, db = list(range(na - dims, na)), list(range(dims))
    else:
        da, db = [[int(x)] if np.ndim(x) == 0 else list(x) for x in dims]
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    sa = list(letters[:na])
    sb = list(letters[na:na + nb])
    for i, j in zip(da, db):
        sb[j % nb] = sa[i % na]
    out = [c for c in sa if c not in [sa[i % na] for i in da]] + \
          [c for k, c in enumerate(sb) if k not in [j % nb for j in db]]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)


@op(methods=())
def multi_dot(tensors):
    """A chain of matrix products (first/last may be vectors), left to right."""
    if not tensors:
        raise RuntimeError("multi_dot: expected at least one tensor")
    out = tensors[0]
    for t in tensors[1:]:
        out = matmul(out, t)
    return out


@op
def matrix_power(input, n):  # noqa: A002
    """``input`` multiplied by itself ``n`` times (the inverse's power for n < 0)."""
    _mat_args("matrix_power", input)
    d = input._data
    if d.ndim < 2 or d.shape[-1] != d.shape[-2]:
        raise RuntimeError(f"matrix_power: expected a square matrix (or batch), got shape "
                           f"{d.shape}")
    if n == 0:
        return _wrap(np.broadcast_to(np.eye(d.shape[-1], dtype=d.dtype), d.shape).copy())
    from .matrix import inverse
    base = inverse(input) if n < 0 else input
    out = base
    for _ in range(abs(n) - 1):
        out = matmul(out, base)
    return out


@op
def trace(input):  # noqa: A002
    """The sum of a matrix's diagonal."""
    from .reduce import sum as _sum
    _mat_args("trace", input)
    if input._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, got shape {input._data.shape}")
    return _sum(diagonal(input))


# ---- tg.linalg: torch.linalg's names for the functions of ops/matrix.py --------------------------
from .matrix import (det, inv, inv_ex, linalg_cross as cross, linalg_norm as norm,  # noqa
                     matrix_norm, slogdet, solve, vector_norm)
from .decompositions import (cholesky, cholesky_ex, cond, eigh, eigvalsh, linalg_svd as svd,  # noqa
                             lstsq, matrix_rank, pinv, qr, solve_triangular, svdvals)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """torch.linalg.diagonal: the diagonal of the last two dims (by default)."""
    from .shape import diagonal as _diagonal
    return _diagonal(A, offset, dim1, dim2)

def vecdot(x, y, *, dim=-1):
    """Σ x * y along ``dim`` (real tensors)."""
    from .reduce import sum as _sum
    return _sum(x * y, dim)
