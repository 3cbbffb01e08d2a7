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
        arr = arr.astype(like._data.dtype)  # lists of Python floats follow the tensor's dtype
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


# ---- argument checks shared by the functional ops (nn.functional names them) ---------------
class TargetOutOfRangeError(IndexError, ValueError):
    """A class index outside [0, C): an IndexError as in PyTorch, and a ValueError."""


def as_tensor_arg(x, op, what):
    """A function's tensor argument: Tensors pass, Python numbers become 0-d tensors; numpy
    arrays and lists are refused (as PyTorch does), saying how to wrap them."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, numbers.Number):
        return _wrap(np.asarray(x))
    if isinstance(x, (np.ndarray, list, tuple)):
        raise TypeError(f"{op}: {what} must be a tg.Tensor, got "
                        f"{'a numpy array' if isinstance(x, np.ndarray) else type(x).__name__}"
                        f"; wrap it with tg.tensor(...)")
    raise TypeError(f"{op}: {what} must be a tg.Tensor, got {type(x).__name__}")


def check_float(x, op, what="input"):
    if x._data.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating point {what}, got dtype {x._data.dtype}")


def reduce_loss(loss, reduction, op):
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{op}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def legacy_reduction(size_average, reduce, reduction):
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def int_indices(idx, op, what="indices"):
    arr = idx._data if isinstance(idx, Tensor) else np.asarray(idx)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{op}: expected integer {what} (e.g. int64), got dtype {arr.dtype}")
    return arr


def float_pair(op, input, target):
    """``(input, target)`` as floating Tensors of one shape (the elementwise losses' check)."""
    x = as_tensor_arg(input, op, "input")
    t = as_tensor_arg(target, op, "target")
    check_float(x, op)
    check_float(t, op, "target")
    if t._data.shape != x._data.shape:
        raise ValueError(f"{op}: target size {t._data.shape} is different from the input size "
                         f"{x._data.shape}; please ensure they have the same size")
    return x, t


def not_tensor(op, x, what="input"):
    """The TypeError an op raises when given a numpy array, list or number where it needs a
    Tensor (raised where the op first reads ``x._data``, so the Tensor path pays nothing)."""
    return TypeError(f"{op}: {what} must be a tg.Tensor, got {type(x).__name__}; wrap it "
                     f"with tg.tensor(...) first")


def data_of(op, x, what="input"):
    """``x``'s array, or the TypeError ``not_tensor`` for a non-Tensor (ops off the hot path)."""
    try:
        return x._data
    except AttributeError:
        raise not_tensor(op, x, what) from None


def data_and_dim(op, x, dim):
    """``x``'s array and ``dim`` as a non-negative axis (None for a 0-d tensor, whose only
    "dimension" 0/-1 selects the whole)."""
    d = data_of(op, x)
    if d.ndim == 0:
        norm_dims(dim, 0, op)
        return d, None
    return d, norm_dims(dim, d.ndim, op)[0]
