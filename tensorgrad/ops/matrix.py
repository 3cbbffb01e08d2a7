"""Matrix functions with PyTorch's names and gradients: inverse, det, slogdet/logdet, solve,
the norms (``torch.norm``, ``linalg.vector_norm``, ``linalg.matrix_norm``, ``linalg.norm``)
and the cross product. ops/linalg.py publishes them under ``tg.linalg`` as well.

Gradients (A square, batched over leading dimensions):
* inverse: d(A⁻¹) = -A⁻¹ dA A⁻¹, so the VJP is -A⁻ᵀ G A⁻ᵀ;
* det: ∂det(A)/∂A = det(A) A⁻ᵀ (Jacobi's formula); log|det A| has gradient A⁻ᵀ;
* solve X = A⁻¹B: ∂B = A⁻ᵀ G, ∂A = -∂B Xᵀ;
* p-norms: ∂‖x‖ₚ/∂x = sign(x)|x|^(p-1) / ‖x‖ₚ^(p-1) (0 where the norm is 0, as PyTorch).
Singular matrices raise (PyTorch falls back to an SVD-based det gradient; not done here).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd.node import OUT, record
from ..tensor import Tensor, _wrap
from ._registry import op
from ._util import norm_dims, not_tensor
from ._xp import _cross_np as cross_np, array_module

_T = Tensor
slogdet_result = namedtuple("slogdet", ["sign", "logabsdet"])
inv_ex_result = namedtuple("inv_ex", ["inverse", "info"])


def _square(name, a):
    try:
        d = a._data
    except AttributeError:
        raise not_tensor(name, a) from None
    if d.ndim < 2 or d.shape[-1] != d.shape[-2]:
        raise RuntimeError(f"{name}: expected a square matrix or a batch of them, got shape "
                           f"{d.shape}")
    if d.dtype.kind not in "fc":
        raise RuntimeError(f"{name}: expected a floating point tensor, got dtype {d.dtype}")
    return d


def _singular(name, d):
    return RuntimeError(f"{name}: the matrix (shape {d.shape}) is singular, so it has no "
                        f"inverse")


def _inverse_vjp(ctx, g, out):
    xp = array_module(g)
    ot = xp.transpose(out, -1, -2)
    return (-xp.matmul(xp.matmul(ot, g), ot),)


@op
def inverse(input):  # noqa: A002 (torch's names)
    """The matrix inverse A⁻¹ (batched)."""
    d = _square("inverse", input)
    try:
        out = np.linalg.inv(d)
    except np.linalg.LinAlgError:
        raise _singular("inverse", d) from None
    return record("inverse", out, (input,), _inverse_vjp, saved=(OUT,))


inv = inverse


def inv_ex(A, *, check_errors=False):
    """(inverse, info) as torch.linalg.inv_ex (info is 0: a singular matrix raises)."""
    out = inverse(A)
    return inv_ex_result(out, _wrap(np.zeros(A._data.shape[:-2], dtype=np.int32)))


def _det_vjp(ctx, g, out, a):
    xp = array_module(g)
    s = xp.reshape(g * out, tuple(out.shape) + (1, 1))
    return (s * xp.transpose(xp.inverse(a), -1, -2),)


@op
def det(input):  # noqa: A002
    """The determinant (batched); gradient det(A) A⁻ᵀ."""
    d = _square("det", input)
    return record("det", np.asarray(np.linalg.det(d)), (input,), _det_vjp, saved=(OUT, input))


def _logabsdet_vjp(ctx, g, a):
    xp = array_module(g)
    return (xp.reshape(g, tuple(g.shape) + (1, 1)) * xp.transpose(xp.inverse(a), -1, -2),)


@op
def slogdet(input):  # noqa: A002
    """(sign, log|det|) of a square matrix (batched); only log|det| carries a gradient."""
    d = _square("slogdet", input)
    sign, logabs = np.linalg.slogdet(d)
    return slogdet_result(_wrap(np.asarray(sign)),
                          record("slogdet", np.asarray(logabs), (input,), _logabsdet_vjp,
                                 saved=(input,)))


@op
def logdet(input):  # noqa: A002
    """log(det A): NaN where det A < 0, -inf where it is 0 (as PyTorch)."""
    from .elementwise import where
    sign, logabs = slogdet(input)
    return where(sign._data < 0, float("nan"), logabs)


def _solve_vjp(ctx, g, out, a):
    xp = array_module(g)
    n = ctx.needs
    gb = xp.solve(xp.transpose(a, -1, -2), g)
    ga = -xp.matmul(gb, xp.transpose(out, -1, -2)) if n[0] else None
    return (ga, gb if n[1] else None)


@op
def solve(A, B, *, left=True):
    """X with A X = B (``left=False``: X A = B); B may be a vector or a batch."""
    from .movement import unsqueeze, reshape
    d = _square("solve", A)
    if not isinstance(B, _T):
        raise not_tensor("solve", B, "B")
    b = B._data
    if not left:
        return solve(A.mT, B.mT).mT
    if b.ndim == 1 or (b.ndim == d.ndim - 1 and b.shape == d.shape[:-1]):
        x = solve(A, unsqueeze(B, -1))
        return reshape(x, x._data.shape[:-1])
    if b.shape[-2] != d.shape[-1]:
        raise RuntimeError(f"solve: A of shape {d.shape} and B of shape {b.shape} do not "
                           f"match (A's columns vs B's rows)")
    try:
        shape = np.broadcast_shapes(d.shape[:-2], b.shape[:-2])
        out = np.linalg.solve(np.broadcast_to(d, shape + d.shape[-2:]),
                              np.broadcast_to(b, shape + b.shape[-2:]))
    except np.linalg.LinAlgError:
        raise _singular("solve", d) from None
    except ValueError:
        raise RuntimeError(f"solve: batch shapes {d.shape[:-2]} and {b.shape[:-2]} do not "
                           f"broadcast") from None
    return record("solve", out, (A, B), _solve_vjp, saved=(OUT, A))


# ---- norms ------------------------------------------------------------------------------------
def _keepshape(shape, dims):
    return tuple(1 if dims is None or i in dims else s for i, s in enumerate(shape))


def _norm2_vjp(ctx, g, out, a, shape, dims, keep):
    xp = array_module(g)
    if not keep:
        out = xp.reshape(out, _keepshape(shape, dims))
        g = xp.reshape(g, _keepshape(shape, dims))
    zero = out == 0
    return (xp.where(zero, 0.0, g * a / xp.where(zero, 1.0, out)),)


def _pnorm_vjp(ctx, g, out, a, shape, dims, keep, p):
    xp = array_module(g)
    if not keep:
        out = xp.reshape(out, _keepshape(shape, dims))
        g = xp.reshape(g, _keepshape(shape, dims))
    if p < 1:
        zero = a == 0
        scaled = xp.where(zero, 0.0, xp.sign(a) * xp.abs(xp.where(zero, 1.0, a)) ** (p - 1))
        return (scaled * g * out ** (1.0 - p),)
    scaled = xp.sign(a) * xp.abs(a) ** (p - 1)
    zero = out == 0
    return (scaled * xp.where(zero, 0.0, g / xp.where(zero, 1.0, out) ** (p - 1)),)


def _norm0_vjp(ctx, g, shape, dims, keep):
    from .reduce import _expand_back
    return (_expand_back(g * 0.0, shape, dims, keep),)


def _norm_input(name, x, dtype):
    try:
        d = x._data
    except AttributeError:
        raise not_tensor(name, x) from None
    if dtype is not None and d.dtype != np.dtype(dtype):
        from .convert import astype
        x = astype(x, dtype)
        d = x._data
    if d.dtype.kind not in "fc":
        raise RuntimeError(f"{name}: expected a floating point tensor, got dtype {d.dtype}")
    return x, d


@op(export=False, methods=())
def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """‖x‖_ord over ``dim`` (all elements when None): ord = 2, 1, inf, -inf, 0 or any real p."""
    from .elementwise import abs as _abs
    from .reduce import amax, amin, sum as _sum
    x, d = _norm_input("vector_norm", x, dtype)
    dims = norm_dims(dim, d.ndim, "vector_norm") if d.ndim else None
    p = float(ord)
    if p == 2:
        with np.errstate(all="ignore"):
            out = np.sqrt(np.sum(d * d, axis=dims, keepdims=keepdim))
        return record("norm", out, (x,), _norm2_vjp, saved=(OUT, x, d.shape, dims, keepdim))
    if p == 1:
        return _sum(_abs(x), dims, keepdim)
    if p == float("inf"):
        return amax(_abs(x), dims, keepdim) if d.size else _sum(_abs(x), dims, keepdim)
    if p == float("-inf"):
        return amin(_abs(x), dims, keepdim)
    if p == 0:
        cnt = np.sum(d != 0, axis=dims, keepdims=keepdim).astype(d.dtype)
        return record("norm", cnt, (x,), _norm0_vjp, saved=(d.shape, dims, keepdim))
    with np.errstate(all="ignore"):
        out = np.sum(np.abs(d) ** p, axis=dims, keepdims=keepdim) ** (1.0 / p)
    return record("norm", out.astype(d.dtype, copy=False), (x,), _pnorm_vjp,
                  saved=(OUT, x, d.shape, dims, keepdim, p))


@op(export=False, methods=())
def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):  # noqa: A002
    """Matrix norms over the two dims ``dim``: 'fro', 1, -1, inf, -inf (max/min absolute
    column or row sum). 'nuc', 2 and -2 need singular values and are not implemented."""
    from .elementwise import abs as _abs
    from .movement import squeeze
    from .reduce import amax, amin, sum as _sum
    A, d = _norm_input("matrix_norm", A, dtype)
    if d.ndim < 2:
        raise RuntimeError(f"matrix_norm: expected a matrix or a batch of them, got shape "
                           f"{d.shape}")
    d0, d1 = (norm_dims(k, d.ndim, "matrix_norm")[0] for k in dim)
    if d0 == d1:
        raise RuntimeError(f"matrix_norm: dims must be different, got {dim}")
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        raise NotImplementedError(f"matrix_norm: ord={ord!r} needs singular values, which "
                                  f"tensorgrad does not differentiate yet; use 'fro', 1, -1, "
                                  f"inf or -inf")
    if ord in (1, -1):
        inner, outer = d0, d1  # sum down each column, then over columns
    elif ord in (float("inf"), float("-inf")):
        inner, outer = d1, d0
    else:
        raise RuntimeError(f"matrix_norm: ord must be 'fro', 'nuc', inf, -inf, 1, -1, 2 or "
                           f"-2, got {ord!r}")
    red = amax if ord in (1, float("inf")) else amin
    out = red(_sum(_abs(A), inner, keepdim=True), outer, keepdim=True)
    return out if keepdim else squeeze(out, (d0, d1))


@op(export=False, methods=())
def linalg_norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """torch.linalg.norm: a vector norm for one dim (or a 1-D input), a matrix norm for two
    (or a 2-D input); with ord=None and dim=None the 2-norm of all elements."""
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 1:
            return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
        return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    nd = A._data.ndim if isinstance(A, _T) else -1
    if nd == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    if nd == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    raise RuntimeError(f"linalg.norm: with ord={ord!r} and dim=None the input must be 1-D or "
                       f"2-D, got {nd}-D")


@op
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):  # noqa: A002
    """torch.norm: a vector p-norm (p a number; 'fro' is the 2-norm) over ``dim`` (all
    elements when None), or the nuclear norm for p='nuc'."""
    if isinstance(p, str):
        if p == "fro" and (dim is None or isinstance(dim, int) or len(dim) <= 2):
            return vector_norm(input, 2, dim, keepdim, dtype=dtype)
        return matrix_norm(input, p, tuple(range(input._data.ndim)) if dim is None else dim,
                           keepdim, dtype=dtype)
    return vector_norm(input, 2.0 if p is None else p, dim, keepdim, dtype=dtype)


# ---- cross product ------------------------------------------------------------------------------
def _cross_vjp(ctx, g, a, b, dim):
    xp = array_module(g)
    n = ctx.needs
    return (xp.cross(b, g, dim) if n[0] else None, xp.cross(g, a, dim) if n[1] else None)


@op
def cross(input, other, dim=None):  # noqa: A002
    """The cross product of 3-vectors along ``dim`` (default: the first dimension of size 3,
    as torch.cross; tg.linalg.cross uses -1)."""
    for t in (input, other):
        if not isinstance(t, _T):
            raise not_tensor("cross", t)
    a, b = input._data, other._data
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise RuntimeError(f"cross: shapes {a.shape} and {b.shape} do not broadcast") from None
    if dim is None:
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError(f"cross: no dimension of size 3 in shape {shape}")
    dim = norm_dims(dim, len(shape), "cross")[0]
    if shape[dim] != 3:
        raise RuntimeError(f"cross: dimension {dim} must have size 3, got shape {shape}")
    return record("cross", cross_np(a, b, dim), (input, other), _cross_vjp,
                  saved=(input, other, dim))


@op(export=False, methods=())
def linalg_cross(input, other, *, dim=-1):  # noqa: A002
    """torch.linalg.cross: the cross product along ``dim`` (default the last)."""
    return cross(input, other, dim)
