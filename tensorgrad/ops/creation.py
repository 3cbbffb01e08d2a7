"""Tensor constructors with PyTorch's signatures and dtype rules.

Every constructor takes PyTorch's keywords: ``dtype=``, ``device=`` (the CPU; anything else
raises, see ``tensorgrad.device``), ``requires_grad=``, ``layout=`` (``tg.strided`` only) and,
where PyTorch has it, ``pin_memory=`` (False only: pinned memory is for copies to a GPU).
Floats get the default dtype (``tg.get_default_dtype()``, float32 unless changed), Python
ints int64, bools bool; numpy arrays keep their dtype. Random constructors live in
``sampling.py``.
"""
from __future__ import annotations

import numbers

import numpy as np

from .._state import STATE
from ..device import check_device
from ..dtypes import as_dtype, default_float, promote_types, name as dtype_name
from ..tensor import InferenceVersion, Tensor, _wrap
from ._registry import named, op, tensor_method


class _Named:
    """A constant of the ``tg`` namespace that prints as its name there (``tg.strided``)."""
    __slots__ = ("_name",)

    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return f"tg.{self._name}"


class layout(_Named):
    """A memory layout (``tg.strided`` is the only one tensorgrad has)."""
    __slots__ = ()


class memory_format(_Named):
    """A memory format for ``*_like``/``contiguous`` (results are always C-contiguous here)."""
    __slots__ = ()


strided = layout("strided")
sparse_coo = layout("sparse_coo")
contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")


def check_options(where, device=None, layout=None, pin_memory=False, memory_format=None):
    """The keywords every constructor accepts: the CPU, the strided layout, no pinning."""
    check_device(device, where)
    if layout is not None and layout is not strided:
        raise RuntimeError(f"{where}: tensorgrad has only the strided layout, got layout={layout!r}")
    if pin_memory:
        raise RuntimeError(f"{where}: pin_memory=True needs a GPU (pinned memory speeds up "
                           f"copies to one); tensorgrad runs on the CPU, so pass "
                           f"pin_memory=False")
    if memory_format is not None and memory_format not in (contiguous_format, preserve_format):
        raise RuntimeError(f"{where}: tensorgrad keeps every tensor contiguous; "
                           f"memory_format={memory_format!r} is not supported")


def finish(arr, requires_grad=False):
    """Wrap a fresh array (marked as an inference tensor under tg.inference_mode)."""
    t = _wrap(arr)
    if STATE.enabled is None:
        t._vc = InferenceVersion((0,))
    if requires_grad:
        t.requires_grad_(True)
    return t


def size_arg(where, shape, size=None):
    """The size of f(2, 3), f((2, 3)), f([2, 3]), f(tg.Size), f(()) or f(size=(2, 3)) as a
    tuple of ints (``shape``: the positional arguments; ``size``: the keyword)."""
    if size is not None:
        if shape:
            raise TypeError(f"{where}: the size was given both positionally {tuple(shape)} and "
                            f"as size={size!r}")
        shape = (size,)
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, Tensor, np.ndarray)):
        s = shape[0]
        shape = tuple(s.tolist()) if isinstance(s, (Tensor, np.ndarray)) and s.ndim else (
            (s.item(),) if isinstance(s, (Tensor, np.ndarray)) else tuple(s))
    out = []
    for i, s in enumerate(shape):
        if isinstance(s, Tensor) and s.numel() == 1 and s.dtype.kind in "iu":
            s = s.item()
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (numbers.Integral,)):
            raise TypeError(f"{where}: size must be a tuple of ints, got {type(s).__name__} "
                            f"at position {i}")
        if s < 0:
            raise RuntimeError(f"{where}: trying to create a tensor with negative dimension "
                               f"{s}: {list(shape)}")
        out.append(int(s))
    return tuple(out)


def _float_dtype(dtype, where):
    return default_float() if dtype is None else as_dtype(dtype, where)


# ---- from data -------------------------------------------------------------------------------
_PLAIN = {float, int, bool}


def _scan(x, dim, shape, dts, state):
    """Walk nested data: check it is rectangular (PyTorch's errors) and collect the dtype of
    every leaf; ``state[0]``: the depth of the leaves; ``state[1]``: tensors were seen."""
    if isinstance(x, (list, tuple)):
        n = len(x)
        if dim == len(shape):
            if state[0] is not None and state[0] <= dim:
                raise TypeError("tensor: not a sequence (a list holds a number at one place "
                                "and a sequence at another)")
            shape.append(n)
        elif shape[dim] != n:
            raise ValueError(f"tensor: expected sequence of length {shape[dim]} at dim {dim} "
                             f"(got {n})")
        types = set(map(type, x))
        if n and types <= _PLAIN:
            _leaf(dim + 1, shape, state)
            dts.update(types)
            return
        for e in x:
            _scan(e, dim + 1, shape, dts, state)
        if not n:
            _leaf(dim + 1, shape, state)
        return
    if isinstance(x, np.ndarray) and x.ndim:
        _scan_array(x, dim, shape, dts, state)
        return
    _leaf(dim, shape, state)
    if isinstance(x, Tensor):
        if x.numel() != 1:
            raise ValueError(f"tensor: only one element tensors can be converted to Python "
                             f"scalars, got a tensor of shape {tuple(x._data.shape)} inside the "
                             f"data")
        dts.add(x._data.dtype)
        state[1] = True
    elif isinstance(x, (np.generic, np.ndarray)):
        dts.add(x.dtype)
    elif isinstance(x, (bool, numbers.Number)):
        dts.add(type(x) if type(x) in _PLAIN else (complex if isinstance(x, numbers.Complex) and
                                                   not isinstance(x, numbers.Real) else
                                                   float if not isinstance(x, numbers.Integral)
                                                   else int))
    elif isinstance(x, str):
        raise ValueError(f"tensor: too many dimensions 'str' (could not build a tensor from "
                         f"{x!r}: strings are not numbers)")
    else:
        raise RuntimeError(f"tensor: could not infer dtype of {type(x).__name__}")


def _scan_array(x, dim, shape, dts, state):
    for k, n in enumerate(x.shape):
        d = dim + k
        if d == len(shape):
            shape.append(n)
        elif shape[d] != n:
            raise ValueError(f"tensor: expected sequence of length {shape[d]} at dim {d} "
                             f"(got {n})")
    _leaf(dim + x.ndim, shape, state)
    dts.add(x.dtype)


def _leaf(dim, shape, state):
    if state[0] is None:
        state[0] = dim
        if dim < len(shape):
            raise ValueError(f"tensor: expected sequence of length {shape[dim]} at dim {dim} "
                             f"(got a number)")
    elif state[0] != dim:
        raise TypeError(f"tensor: not a sequence: the data holds a number at depth "
                        f"{min(dim, state[0])} and a sequence at the same depth elsewhere "
                        f"(it is not rectangular)")


def _infer_dtype(dts):
    out = None
    for d in dts:
        if d is float:
            d = default_float()
        elif d is int:
            d = np.dtype(np.int64)
        elif d is bool:
            d = np.dtype(np.bool_)
        elif d is complex:
            d = np.dtype(np.complex128 if default_float() == np.float64 else np.complex64)
        out = d if out is None else promote_types(out, d)
    return default_float() if out is None else out


def _items(x):
    """Nested data with tensors replaced by their Python values (np.array can then read it)."""
    if isinstance(x, Tensor):
        return x.item()
    if isinstance(x, (list, tuple)):
        return [_items(e) for e in x]
    return x


def array_from_data(data, dtype=None, where="tensor"):
    """A new numpy array from ``data`` with PyTorch's dtype inference (see ``tensor``)."""
    dt = as_dtype(dtype, where)
    if isinstance(data, Tensor):
        return data._data.astype(dt or data._data.dtype, copy=True)
    if isinstance(data, (np.ndarray, np.generic)):
        if data.dtype.kind in "OUSV":
            raise TypeError(f"{where}: can't convert a numpy array of dtype {data.dtype}; "
                            f"tensors hold numbers (bool, integers, floats)")
        return np.array(data, dtype=dt, copy=True)
    if isinstance(data, range):
        data = list(data)
    if data is None:
        raise RuntimeError(f"{where}: could not infer dtype of NoneType")
    if isinstance(data, str) or not isinstance(data, (list, tuple, numbers.Number, np.bool_)):
        raise TypeError(f"{where}: invalid data type {type(data).__name__!r}: expected a number, "
                        f"a (nested) list or tuple of numbers, a numpy array or a Tensor")
    shape, dts, state = [], set(), [None, False]
    _scan(data, 0, shape, dts, state)
    if dt is None:
        dt = _infer_dtype(dts)
    if state[1]:
        data = _items(data)
    try:
        return np.array(data, dtype=dt)
    except OverflowError as e:
        raise ValueError(f"{where}: overflow: a value cannot be converted to {dtype_name(dt)} "
                         f"({e})") from None


@op(methods=())
def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of ``data`` (numbers, nested lists/tuples, numpy arrays, or
    one-element tensors inside lists). Python floats take the default dtype, ints int64,
    bools bool; numpy arrays and tensors keep theirs."""
    check_options("tensor", device, pin_memory=pin_memory)
    return finish(array_from_data(data, dtype), requires_grad)


@op(methods=())
def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing memory when it already is one (or a numpy array) of the
    requested dtype."""
    check_options("as_tensor", device)
    dt = as_dtype(dtype, "as_tensor")
    if isinstance(data, Tensor):
        return data if dt is None or dt == data._data.dtype else data.to(dt)
    if isinstance(data, np.ndarray) and data.dtype.kind in "biufc" and (dt is None or dt == data.dtype):
        return _wrap(data)
    return finish(array_from_data(data, dt, "as_tensor"))


@op(methods=())
def asarray(obj, dtype=None, device=None, copy=None, requires_grad=False):
    """As ``torch.asarray``: shares memory with a tensor or numpy array unless ``copy=True``
    or a new dtype is asked for."""
    check_options("asarray", device)
    dt = as_dtype(dtype, "asarray")
    if copy is not True and isinstance(obj, (Tensor, np.ndarray)):
        arr = obj._data if isinstance(obj, Tensor) else obj
        if dt is None or dt == arr.dtype:
            t = obj if isinstance(obj, Tensor) else _wrap(arr)
            return t.requires_grad_(True) if requires_grad else t
        if copy is False:
            raise ValueError(f"asarray: copy=False, but a cast from {dtype_name(arr.dtype)} to "
                             f"{dtype_name(dt)} needs a copy")
    return finish(array_from_data(obj, dt, "asarray"), requires_grad)


@op(methods=())
def from_numpy(arr):
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(arr).__name__}")
    return _wrap(arr)


# ---- filled ------------------------------------------------------------------------------------
def _filled(where, fill, args, size, dtype, device, layout, requires_grad, pin_memory=False):
    check_options(where, device, layout, pin_memory)
    shape = size_arg(where, args, size)
    dt = _float_dtype(dtype, where)
    return finish(fill(shape, dtype=dt), requires_grad)


@op(methods=())
def zeros(*args, size=None, dtype=None, layout=None, device=None, requires_grad=False, out=None):
    _no_out("zeros", out)
    return _filled("zeros", np.zeros, args, size, dtype, device, layout, requires_grad)


@op(methods=())
def ones(*args, size=None, dtype=None, layout=None, device=None, requires_grad=False, out=None):
    _no_out("ones", out)
    return _filled("ones", np.ones, args, size, dtype, device, layout, requires_grad)


@op(methods=())
def empty(*args, size=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False, memory_format=None, out=None):
    _no_out("empty", out)
    check_options("empty", memory_format=memory_format)
    return _filled("empty", np.empty, args, size, dtype, device, layout, requires_grad,
                   pin_memory)


def _no_out(where, out):
    if out is not None:
        raise TypeError(f"{where}: out= is not supported; use the returned tensor "
                        f"(or out.copy_(...))")


def _fill_dtype(fill_value, dtype, where):
    if dtype is not None:
        return as_dtype(dtype, where)
    if isinstance(fill_value, Tensor):
        return fill_value._data.dtype
    if isinstance(fill_value, (bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(fill_value, numbers.Integral):
        return np.dtype(np.int64)
    if isinstance(fill_value, numbers.Real):
        return default_float()
    if isinstance(fill_value, numbers.Complex):
        return _infer_dtype({complex})
    raise TypeError(f"{where}: fill_value must be a number, got {type(fill_value).__name__}")


def _value(v):
    return v.item() if isinstance(v, Tensor) else v


@op(methods=())
def full(size, fill_value, dtype=None, layout=None, device=None, requires_grad=False, out=None):
    _no_out("full", out)
    check_options("full", device, layout)
    shape = size_arg("full", (size,))
    dt = _fill_dtype(fill_value, dtype, "full")
    return finish(np.full(shape, _value(fill_value), dtype=dt), requires_grad)


# ---- *_like and Tensor.new_* (another tensor's dtype unless given) -----------------------------
def like_dtype(where, t, dtype, layout, device, pin_memory=False, memory_format=None):
    """The dtype of a tensor made after ``t`` (``*_like``, ``new_*``): ``dtype``, else ``t``'s
    (after checking the constructor keywords)."""
    check_options(where, device, layout, pin_memory, memory_format)
    return as_dtype(dtype, where) or t._data.dtype


def _like_op(name, fill, what):
    """``zeros_like`` and its kin: a tensor of ``input``'s shape made by ``fill``."""
    def like(input, dtype=None, layout=None, device=None, requires_grad=False,  # noqa: A002
             memory_format=None):
        dt = like_dtype(name, input, dtype, layout, device, memory_format=memory_format)
        return finish(fill(input._data.shape, dtype=dt), requires_grad)
    return op(named(like, name, f"A tensor of ``input``'s shape {what}, in ``input``'s dtype "
                                f"unless ``dtype`` is given."), methods=())


def _new_op(name, fill, what):
    """``Tensor.new_zeros`` and its kin: a tensor of the given size made by ``fill``."""
    def new(self, *args, size=None, dtype=None, device=None, requires_grad=False, layout=None,
            pin_memory=False):
        dt = like_dtype(name, self, dtype, layout, device, pin_memory)
        return finish(fill(size_arg(name, args, size), dtype=dt), requires_grad)
    return tensor_method(name)(named(new, name, f"A tensor of the given size {what}, in this "
                                           f"tensor's dtype unless ``dtype`` is given."))


zeros_like = _like_op("zeros_like", np.zeros, "filled with zeros")
ones_like = _like_op("ones_like", np.ones, "filled with ones")
empty_like = _like_op("empty_like", np.empty, "left uninitialized")
new_zeros = _new_op("new_zeros", np.zeros, "filled with zeros")
new_ones = _new_op("new_ones", np.ones, "filled with ones")
new_empty = _new_op("new_empty", np.empty, "left uninitialized")


@op(methods=())
def full_like(input, fill_value, dtype=None, layout=None, device=None,  # noqa: A002
              requires_grad=False, memory_format=None):
    dt = like_dtype("full_like", input, dtype, layout, device, memory_format=memory_format)
    return finish(np.full(input._data.shape, _value(fill_value), dtype=dt), requires_grad)


@tensor_method("new_full")
def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False, layout=None,
             pin_memory=False):
    dt = like_dtype("new_full", self, dtype, layout, device, pin_memory)
    return finish(np.full(size_arg("new_full", (size,)), _value(fill_value), dtype=dt),
                  requires_grad)


@tensor_method("new_tensor")
def new_tensor(self, data, dtype=None, device=None, requires_grad=False, layout=None,
               pin_memory=False):
    """A copy of ``data`` with this tensor's dtype unless ``dtype`` is given."""
    check_options("new_tensor", device, layout, pin_memory)
    dt = as_dtype(dtype, "new_tensor") or self._data.dtype
    return finish(array_from_data(data, dt, "new_tensor"), requires_grad)


# ---- ranges ------------------------------------------------------------------------------------
def _is_float(*vals):
    return any(isinstance(_value(v), float) or (isinstance(v, Tensor) and v.dtype.kind == "f")
               for v in vals)


@op(methods=())
def arange(start, end=None, step=1, dtype=None, layout=None, device=None,
           requires_grad=False, out=None):
    """Values from ``start`` (default 0) up to, not including, ``end`` by ``step``; int64
    unless an argument is a float (then the default float dtype)."""
    _no_out("arange", out)
    check_options("arange", device, layout)
    if end is None:
        start, end = 0, start
    start, end, step = _value(start), _value(end), _value(step)
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound and lower bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    dt = as_dtype(dtype, "arange") or (default_float() if _is_float(start, end, step)
                                       else np.dtype(np.int64))
    n = int(np.ceil((end - start) / step))
    arr = (start + np.arange(n, dtype=np.float64) * step) if dt.kind in "fc" or \
        _is_float(start, end, step) else start + np.arange(n, dtype=np.int64) * step
    return finish(arr.astype(dt, copy=False), requires_grad)


def _lin(start, end, steps, dt):
    """PyTorch's linspace: step = (end - start) / (steps - 1) in the output dtype; the first
    half counts up from start, the second down from end, each with a fused multiply-add
    (emulated in a wider type, so the values are PyTorch's to the last bit)."""
    work = dt if dt.kind == "f" else np.dtype(np.float64)
    s, e = work.type(start), work.type(end)
    if steps == 1:
        return np.full(1, s, dtype=work)
    step = (e - s) / work.type(steps - 1)
    wide = np.float64 if work.itemsize < 8 else np.longdouble
    i = np.arange(steps)
    half = steps // 2
    out = np.empty(steps, dtype=wide)
    out[:half] = wide(s) + wide(step) * i[:half]
    out[half:] = wide(e) - wide(step) * (steps - 1 - i[half:])
    return out.astype(work)


def _steps(steps, where):
    steps = _value(steps)
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise RuntimeError(f"{where}: number of steps must be a non-negative int, got {steps!r}")
    return int(steps)


@op(methods=())
def linspace(start, end, steps, dtype=None, layout=None, device=None, requires_grad=False,
             out=None):
    _no_out("linspace", out)
    check_options("linspace", device, layout)
    steps = _steps(steps, "linspace")
    dt = _float_dtype(dtype, "linspace")
    arr = _lin(_value(start), _value(end), steps, dt) if steps else np.empty(0, dt)
    return finish(arr.astype(dt, copy=False), requires_grad)


@op(methods=())
def logspace(start, end, steps, base=10.0, dtype=None, layout=None, device=None,
             requires_grad=False, out=None):
    _no_out("logspace", out)
    check_options("logspace", device, layout)
    steps = _steps(steps, "logspace")
    dt = _float_dtype(dtype, "logspace")
    work = dt if dt.kind == "f" else np.dtype(np.float64)
    arr = np.power(work.type(base), _lin(_value(start), _value(end), steps, work)) if steps \
        else np.empty(0, work)
    return finish(arr.astype(dt, copy=False), requires_grad)


@op(methods=())
def eye(n, m=None, dtype=None, layout=None, device=None, requires_grad=False, out=None):
    _no_out("eye", out)
    check_options("eye", device, layout)
    n, m = size_arg("eye", (n,))[0], size_arg("eye", (n if m is None else m,))[0]
    return finish(np.eye(n, m, dtype=_float_dtype(dtype, "eye")), requires_grad)


@op(methods=())
def scalar_tensor(s, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False):
    """A 0-d tensor holding the number ``s`` (the default float dtype unless ``dtype``)."""
    check_options("scalar_tensor", device, layout, pin_memory)
    if not isinstance(s, (numbers.Number, np.bool_, np.number)):
        raise TypeError(f"scalar_tensor: expected a number, got {type(s).__name__}")
    return finish(np.array(s, dtype=_float_dtype(dtype, "scalar_tensor")), requires_grad)


def _tri_indices(where, tri, row, col, offset, dtype, device, layout):
    check_options(where, device, layout)
    row, col = size_arg(where, (row, col))
    dt = np.dtype(np.int64) if dtype is None else as_dtype(dtype, where)
    if dt.kind not in "iu":
        raise NotImplementedError(f"{where}: not implemented for {dtype_name(dt)} (an integer "
                                  f"dtype is needed)")
    return finish(np.stack(tri(row, int(offset), col)).astype(dt))


@op(methods=())
def tril_indices(row, col, offset=0, dtype=None, device=None, layout=None):
    """The (2, N) row/column indices of the lower triangle of a row x col matrix (diagonal
    ``offset``), in row-major order, as PyTorch."""
    return _tri_indices("tril_indices", np.tril_indices, row, col, offset, dtype, device, layout)


@op(methods=())
def triu_indices(row, col, offset=0, dtype=None, device=None, layout=None):
    """The (2, N) row/column indices of the upper triangle of a row x col matrix (diagonal
    ``offset``), in row-major order, as PyTorch."""
    return _tri_indices("triu_indices", np.triu_indices, row, col, offset, dtype, device, layout)
