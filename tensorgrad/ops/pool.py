"""Pooling (1-D, 2-D, 3-D max and average; adaptive average) as differentiable ops.

Max pooling records the arg-max of every window; its gradient scatter-adds the output gradient
to the arg-max (``max_pool_backward``, a recorded op), and the gradient of that scatter is a
gather at the same indices (``max_pool_gather``), so double backward works. Average pooling
is linear: its VJP is the transpose kernel, whose own VJP is average pooling again.

Kernels: ``tensorgrad.kernels.pool`` (numba), on ``(N, C, D, H, W)`` views of the input.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.node import record
from ..tensor import Tensor, _wrap
from ._registry import op
from ._xp import on_arrays
from ._conv_impl import _run_chunks
from .conv import _AXES, _FLOATS, _pad3, _positive, _tuple  # one argument parser for conv and pool


def _kernels():
    from ..kernels import pool as K
    return K


def _check_input(op, nd, x):
    if not isinstance(x, Tensor):
        if isinstance(x, np.ndarray):
            x = _wrap(x)
        else:
            raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    s = x._data.shape
    if len(s) not in (nd + 1, nd + 2):
        raise ValueError(f"{op}: expected a {nd + 2}-D input {_AXES[nd]} (or {nd + 1}-D "
                         f"unbatched), got a {len(s)}-D input of shape {s}")
    if x._data.dtype not in _FLOATS:
        raise TypeError(f"{op}: input must be float32 or float64, got {x._data.dtype}")
    return x, len(s) == nd + 1


def _out_len(n, k, s, p, d, ceil_mode):
    span = n + 2 * p - d * (k - 1) - 1
    if ceil_mode:
        o = -(-span // s) + 1
        if (o - 1) * s >= n + p:  # the last window must start inside the input or left pad
            o -= 1
    else:
        o = span // s + 1
    return o


def _window(op, nd, shape, kernel_size, stride, padding, dilation, ceil_mode):
    ks = _tuple(kernel_size, nd, "kernel_size", op)
    st = ks if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else _tuple(stride, nd, "stride", op)
    pd = _tuple(padding, nd, "padding", op)
    dl = _tuple(dilation, nd, "dilation", op)
    _positive(op, kernel_size=ks, stride=st, dilation=dl)
    if any(p < 0 or 2 * p > k for p, k in zip(pd, ks)):
        raise ValueError(f"{op}: padding should be non-negative and at most half of the kernel "
                         f"size, got padding {pd} for kernel {ks}")
    sp = shape[2:]
    out = []
    for n, k, s, p, d in zip(sp, ks, st, pd, dl):
        if n + 2 * p < d * (k - 1) + 1:
            raise RuntimeError(f"{op}: kernel size {ks} is larger than the padded input "
                               f"{tuple(m + 2 * q for m, q in zip(sp, pd))} (input {shape}, "
                               f"padding {pd})")
        out.append(_out_len(n, k, s, p, d, ceil_mode))
    return (_pad3(ks, 1), _pad3(st, 1), _pad3(pd, 0), _pad3(dl, 1), _pad3(sp, 1),
            _pad3(tuple(out), 1))


def _chunked(kernel, arrays, *args):
    """``kernel(*arrays, *args, work=...)`` over batch chunks on up to two threads (the conv
    ops' chunk runner; small work stays on one): each thread makes one GIL-free call that takes
    chunks from the shared ``work`` until none is left (kernels/pool.py)."""
    def task(work, m):
        kernel(*arrays, *args, work=work)
    N = arrays[0].shape[0]
    if N:
        _run_chunks(task, N, max(a.nbytes for a in arrays) // N)


def _v5(a, sp3):
    return np.ascontiguousarray(a).reshape(a.shape[:2] + sp3)


def _unsqueeze(x):
    from .movement import unsqueeze
    return unsqueeze(x, 0)


def _squeeze(x):
    from .movement import squeeze
    return squeeze(x, 0)


# ---- max pooling ------------------------------------------------------------------------------
def _flat3(a, shape):
    """(N, C, ...) -> (N, C, L) without -1 (which numpy refuses for an empty batch)."""
    return a.reshape(shape[0], shape[1], math.prod(shape[2:]))


def _scatter_np(g, idx, x_shape):
    gx = np.empty(x_shape, dtype=g.dtype)
    _chunked(_kernels().scatter_add_into, (_flat3(np.ascontiguousarray(g), idx.shape),
                                            _flat3(idx, idx.shape), _flat3(gx, x_shape)))
    return gx


def _gather_np(x, idx, x_shape):
    out = np.empty(idx.shape, dtype=x.dtype)
    _chunked(_kernels().gather_into, (_flat3(np.ascontiguousarray(x), x_shape),
                                       _flat3(idx, idx.shape), _flat3(out, idx.shape)))
    return out


# ---- pairs of mutually adjoint linear maps ------------------------------------------------------
# Max pooling's gradient scatters g to the arg-max positions and the VJP of that scatter gathers
# at the same positions (max pooling with fixed indices); average pooling (and adaptive) is
# linear and its VJP is its transpose. Each pair is recorded by ``_linear``: the VJP of either
# map is the other, one kernel call on arrays (plain backward) and a recorded op on Tensors
# (create_graph), so derivatives of any order flow.
def _linear(name, fn, x, args, adj_name, adj_fn, data=None):
    """Record ``fn(x, *args)`` (or the precomputed ``data``), whose VJP is ``adj_fn``."""
    out = fn(x._data, *args) if data is None else data
    return record(name, out, (x,), _linear_vjp, saved=(adj_name, adj_fn, name, fn, args))


def _linear_vjp(ctx, g, name, fn, adj_name, adj_fn, args):
    if on_arrays(g):
        return (fn(g, *args),)
    return (_linear(name, fn, g, args, adj_name, adj_fn),)


def _max_pool(nd, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    op = f"max_pool{nd}d"
    x, unbatched = _check_input(op, nd, x)
    if unbatched:
        x = _unsqueeze(x)
    ks, st, pd, dl, sp, osp = _window(op, nd, x._data.shape, kernel_size, stride, padding,
                                      dilation, ceil_mode)
    x5 = _v5(x._data, sp)
    N, C = x5.shape[:2]
    out = np.empty((N, C) + osp, dtype=x5.dtype)
    idx = np.empty((N, C) + osp, dtype=np.int64)
    K = _kernels()
    if dl == (1, 1, 1) and _k2s2(ks, st, pd, sp, osp):
        _chunked(K.max_pool2d_k2s2_into, (x5, out, idx))
    else:
        _chunked(K.max_pool_into, (x5, out, idx), *ks, *st, *pd, *dl)
    oshape = (N, C) + osp[3 - nd:]
    out = out.reshape(oshape)
    idx = idx.reshape(oshape)
    y = _linear(op, _gather_np, x, (idx, x._data.shape), op + "_backward", _scatter_np, data=out)
    if unbatched:
        y = _squeeze(y)
        idx = idx[0]
    if return_indices:
        return y, _wrap(idx)
    return y


@op(functional=True, methods=(), export=False)
def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over sliding windows of ``(N, C, L)``; ``stride`` defaults to ``kernel_size``."""
    return _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


@op(functional=True, methods=(), export=False)
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over sliding windows of ``(N, C, H, W)``; gradients go to the arg-max (the first
    maximum in scan order), as in PyTorch. ``return_indices`` gives flat indices into H*W."""
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


@op(functional=True, methods=(), export=False)
def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over sliding windows of ``(N, C, D, H, W)``."""
    return _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


# ---- average pooling ----------------------------------------------------------------------------
def _k2s2(ks, st, pd, sp, osp):
    """2x2 windows, stride 2, no padding, every window inside the input (the fast kernels)."""
    return (ks == (1, 2, 2) and st == (1, 2, 2) and pd == (0, 0, 0) and sp[0] == 1
            and 2 * osp[1] <= sp[1] and 2 * osp[2] <= sp[2])


def _avg_run(a5, o5, geo, adjoint):
    """Average pooling (``adjoint``: its transpose) of the 5-D ``a5`` into ``o5``: the 2x2/2
    kernel (~2x faster) where it fits, else the phase-plane one."""
    ks, st, pd, sp, osp, inc, _ = geo
    K = _kernels()
    if _k2s2(ks, st, pd, sp, osp):
        _chunked(K.avg_pool2d_k2s2_adjoint_into if adjoint else K.avg_pool2d_k2s2_into, (a5, o5))
    else:
        _chunked(K.avg_pool_adjoint_into if adjoint else K.avg_pool_into, (a5, o5), *ks, *st,
                 *pd, inc)


def _avg_np(x, geo, x_shape=None):
    sp, osp, oshape = geo[3], geo[4], geo[6]
    x5 = _v5(x, sp)
    out = np.empty(oshape, dtype=x5.dtype)
    _avg_run(x5, out.reshape(x5.shape[:2] + osp), geo, False)
    return out


def _avg_adj_np(g, geo, x_shape):
    sp, osp = geo[3], geo[4]
    g5 = _v5(g, osp)
    gx = np.empty(x_shape, dtype=g5.dtype)  # returned as allocated: the engine keeps it as .grad
    _avg_run(g5, gx.reshape(x_shape[:2] + sp), geo, True)
    return gx


def _avg_pool(nd, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    op = f"avg_pool{nd}d"
    if divisor_override is not None:
        raise NotImplementedError(f"{op}: divisor_override is not supported")
    x, unbatched = _check_input(op, nd, x)
    if unbatched:
        x = _unsqueeze(x)
    ks, st, pd, dl, sp, osp = _window(op, nd, x._data.shape, kernel_size, stride, padding, 1,
                                      ceil_mode)
    oshape = x._data.shape[:2] + osp[3 - nd:]
    geo = (ks, st, pd, sp, osp, bool(count_include_pad), oshape)
    y = _linear(op, _avg_np, x, (geo, x._data.shape), op + "_backward", _avg_adj_np)
    return _squeeze(y) if unbatched else y


@op(functional=True, methods=(), export=False)
def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """Mean over sliding windows of ``(N, C, L)`` (zero padding counted unless told otherwise)."""
    return _avg_pool(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


@op(functional=True, methods=(), export=False)
def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over sliding windows of ``(N, C, H, W)``; ``stride`` defaults to ``kernel_size``."""
    return _avg_pool(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


@op(functional=True, methods=(), export=False)
def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over sliding windows of ``(N, C, D, H, W)``."""
    return _avg_pool(3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


# ---- adaptive average pooling ---------------------------------------------------------------------
def _adapt_np(x, sp, osp, oshape, x_shape=None):
    x5 = _v5(x, sp)
    out = np.empty(oshape, dtype=x5.dtype)
    _chunked(_kernels().adaptive_avg_pool_into, (x5, out.reshape(x5.shape[:2] + osp)))
    return out


def _adapt_adj_np(g, sp, osp, oshape, x_shape):
    g5 = _v5(g, osp)
    gx = np.empty(x_shape, dtype=g5.dtype)
    _chunked(_kernels().adaptive_avg_pool_adjoint_into, (g5, gx.reshape(x_shape[:2] + sp)))
    return gx


def adaptive_args(op, nd, x, output_size):
    """The batched input, whether it was unbatched, and the output size (``None`` entries keep
    the input's size), checked as PyTorch's adaptive poolings do."""
    x, unbatched = _check_input(op, nd, x)
    if unbatched:
        x = _unsqueeze(x)
    insp = x._data.shape[2:]
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size,) * nd
    output_size = tuple(output_size)
    if len(output_size) == 1 and nd > 1:
        output_size = output_size * nd
    if len(output_size) != nd:
        raise ValueError(f"{op}: output_size must be an int or a tuple of {nd} ints, got "
                         f"{output_size!r}")
    osz = tuple(n if o is None else int(o) for o, n in zip(output_size, insp))
    if any(o <= 0 for o in osz):
        raise ValueError(f"{op}: output_size must be positive, got {osz}")
    if any(n == 0 for n in insp):
        raise RuntimeError(f"{op}: input has an empty spatial dimension, shape {x._data.shape}")
    return x, unbatched, osz


def _adaptive(nd, x, output_size):
    op = f"adaptive_avg_pool{nd}d"
    x, unbatched, osz = adaptive_args(op, nd, x, output_size)
    args = (_pad3(x._data.shape[2:], 1), _pad3(osz, 1), x._data.shape[:2] + osz, x._data.shape)
    y = _linear(op, _adapt_np, x, args, op + "_backward", _adapt_adj_np)
    return _squeeze(y) if unbatched else y


@op(functional=True, methods=(), export=False)
def adaptive_avg_pool1d(input, output_size):
    """Average pooling to a fixed output length (PyTorch's window rule)."""
    return _adaptive(1, input, output_size)


@op(functional=True, methods=(), export=False)
def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size; ``output_size=1`` is global average pooling."""
    return _adaptive(2, input, output_size)


@op(functional=True, methods=(), export=False)
def adaptive_avg_pool3d(input, output_size):
    return _adaptive(3, input, output_size)
