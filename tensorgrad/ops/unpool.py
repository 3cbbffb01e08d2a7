"""Max unpooling (``max_unpool1d/2d/3d``): the partial inverse of max pooling. Each input value
goes to the position its ``indices`` entry names (the flat index within its (N, C) plane, as
``max_pool*d(..., return_indices=True)`` returns it); everything else is zero. The VJP
gathers the gradient at those positions (``gather``, whose own VJP scatters again)."""
from __future__ import annotations

import math

import numpy as np

from ..autograd.node import record
from ._registry import op
from ._util import as_tensor_arg, int_indices
from ._xp import NP, array_module
from .conv import _tuple
from .index import gather
from .movement import reshape, squeeze, unsqueeze


def _flat3(a):
    """(N, C, *spatial) -> (N, C, L) (no -1: numpy refuses it for an empty batch)."""
    return a.reshape(a.shape[0], a.shape[1], math.prod(a.shape[2:]))


def _unpool_vjp(ctx, g, idx):
    if array_module(g) is NP:
        return (np.take_along_axis(_flat3(g), _flat3(idx), 2).reshape(idx.shape),)
    N, C = idx.shape[:2]
    return (reshape(gather(reshape(g, (N, C, -1)), 2, _flat3(idx)), idx.shape),)


def unpool_output_size(op, in_sp, kernel_size, stride, padding, output_size):
    """PyTorch's ``_unpool_output_size``: (in − 1)·stride + kernel − 2·padding, or a given
    ``output_size`` within ±stride of it."""
    nd = len(kernel_size)
    default = [(n - 1) * s + k - 2 * p for n, s, k, p in zip(in_sp, stride, kernel_size,
                                                              padding)]
    if output_size is None:
        return tuple(default)
    size = [int(s) for s in output_size]
    if len(size) == nd + 2:
        size = size[2:]
    if len(size) != nd:
        raise ValueError(f"{op}: output_size should be a sequence containing {nd} or {nd + 2} "
                         f"elements, but it has a length of '{len(size)}'")
    for d in range(nd):
        lo, hi = default[d] - stride[d], default[d] + stride[d]
        if not lo < size[d] < hi:
            raise ValueError(f"{op}: invalid output_size \"{tuple(size)}\" (dim {d} must be "
                             f"between {lo} and {hi})")
    return tuple(size)


def _max_unpool(nd, input, indices, kernel_size, stride, padding, output_size):
    op = f"max_unpool{nd}d"
    x = as_tensor_arg(input, op, "input")
    idx = int_indices(indices, op)
    if idx.shape != x._data.shape:
        raise ValueError(f"{op}: expected indices of the input's shape {x._data.shape}, got "
                         f"{idx.shape}")
    if x._data.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{op}: expected a {nd + 2}-D input (N, C, *spatial) or {nd + 1}-D "
                         f"unbatched, got shape {x._data.shape}")
    unbatched = x._data.ndim == nd + 1
    if unbatched:
        x, idx = unsqueeze(x, 0), idx[None]
    ks = _tuple(kernel_size, nd, "kernel_size", op)
    st = ks if stride is None else _tuple(stride, nd, "stride", op)
    pd = _tuple(padding, nd, "padding", op)
    osp = unpool_output_size(op, x._data.shape[2:], ks, st, pd, output_size)
    n_out = math.prod(osp)
    idx = np.ascontiguousarray(idx, dtype=np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= n_out):
        bad = int(idx.max()) if idx.max() >= n_out else int(idx.min())
        raise RuntimeError(f"{op}: Found an invalid max index: {bad} (output volume of size "
                           f"{osp})")
    N, C = x._data.shape[:2]
    out = np.zeros((N, C, n_out), dtype=x._data.dtype)
    np.put_along_axis(out, _flat3(idx), _flat3(x._data), 2)
    y = record(op, out.reshape((N, C) + osp), (x,), _unpool_vjp, saved=(idx,))
    return squeeze(y, 0) if unbatched else y


@op(functional=True, methods=(), export=False)
def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Put each value of ``input`` (N, C, L) at its ``indices`` in a zero (N, C, L_out)."""
    return _max_unpool(1, input, indices, kernel_size, stride, padding, output_size)


@op(functional=True, methods=(), export=False)
def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Put each value of ``input`` (N, C, H, W) at its ``indices`` in a zero output."""
    return _max_unpool(2, input, indices, kernel_size, stride, padding, output_size)


@op(functional=True, methods=(), export=False)
def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Put each value of ``input`` (N, C, D, H, W) at its ``indices`` in a zero output."""
    return _max_unpool(3, input, indices, kernel_size, stride, padding, output_size)
