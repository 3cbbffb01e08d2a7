"""Small helpers shared by the op families."""
from __future__ import annotations

import numbers

import numpy as np

from ..tensor import Tensor, _wrap


def const(x, like=None):
    """Operand coercion for binary ops: Tensors pass through, Python/numpy scalars stay
    Python scalars (so they never change a tensor's dtype), anything else becomes a constant
    Tensor."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (bool, numbers.Number)) and not isinstance(x, np.ndarray):
        return x.item() if isinstance(x, np.generic) else x
    arr = np.asarray(x)
    if arr.dtype == np.float64 and like is not None and not isinstance(x, np.ndarray):
        arr = arr.astype(like.data.dtype)  # lists of Python floats follow the tensor's dtype
    return _wrap(arr)


def norm_dims(dim, ndim, op):
    """Normalize ``dim`` (None, int or sequence) to a sorted tuple of non-negative axes, or None."""
    if dim is None:
        return None
    if isinstance(dim, (int, np.integer)):
        dim = (int(dim),)
    out = []
    for d in dim:
        d = int(d)
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"{op}: dimension {d} is out of range for a tensor with {ndim} "
                             f"dimension(s) (expected in [{-max(ndim, 1)}, {max(ndim, 1) - 1}])")
        out.append(d % ndim if ndim else 0)
    return tuple(sorted(set(out)))


def pick_dim(dim, axis, op):
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}: give either dim or axis, not both")
        return axis
    return dim


def pick_keep(keepdim, keepdims):
    return bool(keepdims) if keepdims is not None else bool(keepdim)


def shape_args(shape):
    """Accept f(2, 3) and f((2, 3)) alike."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, np.ndarray, Tensor)):
        shape = tuple(shape[0].tolist() if hasattr(shape[0], "tolist") else shape[0])
    return tuple(int(s) for s in shape)
