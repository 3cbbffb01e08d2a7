"""Small helpers shared by the op families."""
from __future__ import annotations

import numbers

import numpy as np

from ..dtypes import default_float, result_type
from ..tensor import Tensor, _wrap


def const(x, like=None):
    """Operand coercion for binary ops, with PyTorch's type promotion for scalars: Tensors
    pass through; a Python/numpy scalar stays a Python scalar where numpy then computes
    PyTorch's dtype (a float with a float tensor, an int in range with an int tensor), and
    otherwise becomes a 0-d tensor of the dtype PyTorch gives it (a float with an integer or
    bool tensor: the default float dtype; an int outside an int tensor's range: wrapped into
    it, as PyTorch). Anything else becomes a constant Tensor."""
    tx = type(x)
    if tx is float or tx is int:  # the common case first (no ABC isinstance)
        if like is None or like._data.dtype.kind == "f":
            return x
    elif isinstance(x, Tensor):
        return x
    if isinstance(x, (bool, numbers.Number)) and not isinstance(x, np.ndarray):
        v = x.item() if isinstance(x, np.generic) else x
        if like is None:
            return v
        dt = like._data.dtype
        k = dt.kind
        if k == "f" or k == "c":
            return v
        if type(v) is float:
            return _wrap(np.array(v, dtype=default_float()))
        if k in "iu" and type(v) is int:
            info = np.iinfo(dt)
            if not info.min <= v <= info.max:
                return _wrap(np.array(v).astype(dt))  # wraps around, as PyTorch
        return v
    arr = np.asarray(x)
    if arr.dtype == np.float64 and like is not None and not isinstance(x, np.ndarray):
        arr = arr.astype(like._data.dtype)  # lists of Python floats follow the tensor's dtype
    return _wrap(arr)


def promote(*operands):
    """PyTorch's type promotion for an elementwise op: the operands' values (arrays of Tensors,
    Python scalars as they are) cast to ``result_type(*operands)``, so numpy computes in the
    dtype PyTorch would. The one place ops apply the promotion rules (tensorgrad/dtypes.py)."""
    dt = result_type(*operands)
    out = []
    for x in operands:
        if isinstance(x, Tensor):
            d = x._data
            out.append(d if d.dtype == dt else d.astype(dt))
        elif isinstance(x, np.ndarray):
            out.append(x if x.dtype == dt else x.astype(dt))
        else:
            out.append(np.array(x.item() if isinstance(x, np.generic) else x).astype(dt)[()])
    return out


def no_bool_sub():
    """PyTorch refuses ``-`` with a bool operand (the error says what to use instead)."""
    return RuntimeError("sub: Subtraction, the `-` operator, with a bool tensor is not "
                        "supported. If you are trying to invert a mask, use the `~` or "
                        "`logical_not()` operator instead.")


def _kind(x):
    if isinstance(x, Tensor):
        return x._data.dtype.kind
    return "b" if isinstance(x, (bool, np.bool_)) else (
        "i" if isinstance(x, (numbers.Integral, np.integer)) else "f")


def float_array(d):
    """``d`` itself if it is a float (or complex) array, else ``d`` in the default float dtype:
    PyTorch's rule for float functions of integer and bool tensors (``int_tensor.sqrt()`` is
    float32)."""
    return d if d.dtype.kind in "fc" else d.astype(default_float())


def true_divide_operands(a, b):
    """Operands for true division: when neither is a float (or complex), integer and bool
    tensors become the default float dtype (PyTorch: 1 / 2 is 0.5, float32)."""
    ka, kb = _kind(a), _kind(b)
    if ka in "fc" or kb in "fc":
        return a, b
    dt = default_float()
    return (a.to(dt) if isinstance(a, Tensor) else a, b.to(dt) if isinstance(b, Tensor) else b)


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
