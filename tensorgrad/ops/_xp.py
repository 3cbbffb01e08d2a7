"""The two array namespaces a VJP computes with (Chainer's ``get_array_module`` idea).

``array_module(g)`` is ``NP`` when ``g`` is a numpy array (plain ``backward()``: the VJP runs
on arrays, nothing is recorded) and ``TG`` when it is a Tensor (``create_graph=True``: the VJP
is recorded, so it can be differentiated again). Both offer the same functions with
tensorgrad's signatures, so a VJP body is written once:

    def _softmax_vjp(ctx, g, y, dim):
        xp = array_module(g)
        return (y * (g - xp.sum(g * y, dim, keepdim=True)),)

``NAMES`` lists what both provide; tests/test_xp.py checks that they agree.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ..autograd.engine import sum_to_np
from ..kernels import _blas
from ..tensor import Tensor

NAMES = ("exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tanh", "sigmoid", "abs", "sign",
         "where", "sum", "mean", "reshape", "expand", "permute", "transpose", "flip", "matmul",
         "getitem", "getitem_adjoint", "sum_to_size", "softmax", "astype", "zeros_like",
         "maximum", "clamp", "index_put", "relu", "sinh", "cosh", "cumsum", "inverse", "solve", "cross",
         "einsum", "logcumsumexp", "roll", "diagonal", "diagonal_scatter")


# Once the ops' kernels have lowered numpy's BLAS to one thread (their own two threads are at
# work in this program), a big product runs in two halves, on the caller's thread and the ops'
# worker thread, with BLAS on one thread. Raising BLAS's own thread count for it instead woke
# OpenBLAS's worker, which spins for ~0.1 s after the call and took a core from the ops' next
# two threads: the char-LSTM language model's step (bench/bench_rnn.py), whose head and its
# gradient are the big GEMMs between its LSTM layers, went 140 -> 93-96 ms. A program of GEMMs
# alone (an MLP) never lowers it and keeps OpenBLAS's threads, which hand work over faster
# (a spinning worker) than the ops' worker (~55 us a round trip here): split on our threads
# its step took 1.5 ms instead of 1.1. Where numpy's BLAS has more than two threads (a bigger
# machine than the ops' two), a big product gets them as before (kernels/_blas.py).
SPLIT_GEMM_FLOPS = 1e7


def _halves(a, b):
    """The two halves of a @ b (arguments and output slices), split along the output's rows or
    its columns; None when the product is too narrow to split."""
    M, N = a.shape[-2], b.shape[-1]
    if M >= 16:
        h = M // 2
        return ((a[..., :h, :], b, np.s_[..., :h, :]), (a[..., h:, :], b, np.s_[..., h:, :]))
    if N >= 16:
        h = N // 2
        return ((a, b[..., :h], np.s_[..., :h]), (a, b[..., h:], np.s_[..., h:]))
    return None


def _np_matmul(a, b):
    """np.matmul for the ops: a big product on the ops' two threads (see above)."""
    flops = 2.0 * a.size * b.shape[-1] if b.ndim > 1 else 0.0
    if flops < SPLIT_GEMM_FLOPS:
        return np.matmul(a, b)
    if _blas.default_threads() > 2 or not _blas.lowered():
        with _blas.gemm(flops):
            return np.matmul(a, b)
    from ._conv_impl import background, on_both
    pool = background()  # None on the worker itself (it never waits for itself)
    halves = _halves(a, b) if pool is not None and a.ndim >= 2 and b.ndim >= 2 else None
    with _blas.single_thread():
        if halves is None:
            return np.matmul(a, b)
        shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1])
        out = np.empty(shape, np.result_type(a, b))

        def half(k):
            x, y, at = halves[k]
            np.matmul(x, y, out=out[at])
        on_both(pool, half)
    return out


def sigmoid_np(x):
    """Logistic function, stable for large |x| in float32 (exp of a non-positive number)."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def softmax_np(x, dim):
    m = np.max(x, axis=dim, keepdims=True)
    e = np.exp(x - m)
    e /= e.sum(axis=dim, keepdims=True)
    return e


def is_advanced(index):
    """Does ``index`` use integer/boolean arrays (a copy with numpy's advanced indexing)?"""
    items = index if isinstance(index, tuple) else (index,)
    for i in items:
        if isinstance(i, (np.ndarray, list, np.bool_, bool)):
            return True
    return False


def getitem_adjoint_np(g, shape, index):
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeated indices accumulate)."""
    out = np.zeros(shape, dtype=g.dtype)
    if not is_advanced(index):
        out[index] = g
    elif not _rows_add(out, index, g):
        np.add.at(out, index, g)
    return out


def _rows_add(out, index, g):
    """``np.add.at(out, index, g)`` through kernels/index.py when ``index`` is one integer
    array picking rows of a float array (an embedding's gradient): the same sums in the same
    order, ~30x faster for many rows. Returns False (nothing done) for anything else."""
    if (type(index) is not np.ndarray or index.dtype.kind not in "iu" or index.size < 64
            or g.ndim <= index.ndim or out.dtype not in (np.float32, np.float64)
            or g.dtype != out.dtype):
        return False
    idx = index.reshape(-1).astype(np.int64, copy=False)
    V = out.shape[0]
    if idx.min() < -V or idx.max() >= V:
        return False  # numpy raises the IndexError
    idx = np.where(idx < 0, idx + V, idx)
    from ..kernels.index import rows_add_
    rows_add_(out.reshape(V, -1), idx, np.ascontiguousarray(g).reshape(idx.size, -1))
    return True


def index_put_np(a, index, value):
    """A copy of ``a`` with ``a[index] = value``."""
    out = a.copy()
    out[index] = value
    return out


def _cross_np(a, b, dim):
    shape = np.broadcast_shapes(np.shape(a), np.shape(b))
    return np.cross(np.broadcast_to(a, shape), np.broadcast_to(b, shape), axis=dim)


def diagonal_scatter_np(g, shape, offset, dim1, dim2):
    """Zeros of ``shape`` with ``g`` (the diagonal as its last axis) written on the
    ``offset`` diagonal of the (dim1, dim2) planes: the adjoint of np.diagonal."""
    out = np.zeros(shape, dtype=g.dtype)
    r0, c0 = max(-offset, 0), max(offset, 0)
    n = max(min(shape[dim1] - r0, shape[dim2] - c0), 0)
    i = np.arange(n)
    np.moveaxis(out, (dim1, dim2), (-2, -1))[..., i + r0, i + c0] = g
    return out


def _clamp_np(x, min=None, max=None):  # noqa: A002 (torch's names)
    return np.clip(x, min, max)


# array methods rather than numpy's module functions where both exist: the methods skip the
# Python-level dispatch of np.sum/np.reshape/np.swapaxes (~1 us each on this hot path)
NP = SimpleNamespace(
    exp=np.exp, log=np.log, log1p=np.log1p, expm1=np.expm1, sqrt=np.sqrt, sin=np.sin,
    cos=np.cos, tanh=np.tanh, sigmoid=sigmoid_np, abs=np.abs, sign=np.sign, where=np.where,
    sum=lambda x, dim=None, keepdim=False: x.sum(axis=dim, keepdims=keepdim),
    mean=lambda x, dim=None, keepdim=False: x.mean(axis=dim, keepdims=keepdim),
    reshape=lambda x, shape: x.reshape(shape), expand=np.broadcast_to,
    permute=lambda x, dims: x.transpose(dims), transpose=lambda x, d0, d1: x.swapaxes(d0, d1),
    flip=np.flip, matmul=_np_matmul, getitem=lambda x, index: x[index],
    getitem_adjoint=getitem_adjoint_np, sum_to_size=sum_to_np, softmax=softmax_np,
    astype=lambda x, dtype: x.astype(dtype, copy=False), zeros_like=np.zeros_like,
    maximum=np.maximum, clamp=_clamp_np, index_put=index_put_np,
    relu=lambda x: np.maximum(x, 0), sinh=np.sinh, cosh=np.cosh,
    cumsum=lambda x, dim: np.cumsum(x, axis=dim), inverse=np.linalg.inv, solve=np.linalg.solve,
    cross=lambda a, b, dim: _cross_np(a, b, dim),
    einsum=lambda eq, *xs: np.einsum(eq, *xs, optimize=len(xs) > 2),
    logcumsumexp=lambda x, dim: np.logaddexp.accumulate(x, axis=dim),
    roll=lambda x, shifts, dims: np.roll(x, shifts, dims),
    diagonal=lambda x, offset, d1, d2: np.diagonal(x, offset, d1, d2),
    diagonal_scatter=diagonal_scatter_np,
)

TG = SimpleNamespace()  # filled by tensorgrad.ops once every op is declared


def array_module(x):
    """``TG`` (tensorgrad ops) for a Tensor, ``NP`` for a numpy array or scalar."""
    return TG if isinstance(x, Tensor) else NP


def on_arrays(g):
    """Is this VJP call on the plain backward path (numpy arrays, nothing recorded)?"""
    return not isinstance(g, Tensor)
