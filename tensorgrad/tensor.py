"""The Tensor: a numpy array plus what autograd needs to know about it.

This file holds only the tensor's state and its autograd methods. Its operators and op methods
(``x + y``, ``x.exp()``, ``x.view(...)``, ``x.add_(...)``) are declared next to each op in
``tensorgrad.ops`` (``@op``; see ``tensorgrad/ops/_registry.py``) and bound onto the class when
``tensorgrad.ops`` is imported, so one op lives in one place.
"""
from __future__ import annotations

import math

import numpy as np

from . import dtypes as _dtypes
from ._tensor_str import tensor_repr as _tensor_repr
from .device import CPU as _CPU
from .utils.hooks import RemovableHandle

float32 = np.float32
float64 = np.float64
float16 = np.float16
int32 = np.int32
int64 = np.int64
bool_ = np.bool_
_ndarray = np.ndarray
_new = object.__new__
_tuple_new = tuple.__new__


def _wrap(data, vc=None, cls=None):
    """Fast internal constructor: ``data`` must already be an ndarray; ``vc``: a version
    counter to share (views share their base's); ``cls``: a subclass (Parameter). The one
    place a Tensor's slots are set (``record`` inlines the same for op outputs)."""
    t = _new(cls or Tensor)
    t._data = data
    t.grad = None
    t.requires_grad = False
    t.grad_fn = None
    t._vc = [0] if vc is None else vc
    t._oi = 0
    t._hooks = None
    return t


def _as_dtype(dtype):
    return _dtypes.as_dtype(dtype)


class InferenceVersion(list):
    """The version counter of a tensor made under ``tg.inference_mode()`` (its type marks the
    tensor as an inference tensor)."""
    __slots__ = ()


class Size(tuple):
    """``x.shape`` / ``x.size()``: a tuple of ints, printed and sliced as PyTorch's Size."""
    __slots__ = ()

    def __new__(cls, sizes=()):
        return _tuple_new(cls, (int(s) for s in sizes))

    def __repr__(self):
        return f"tg.Size({list(self)})"

    __str__ = __repr__

    def __getitem__(self, i):
        r = tuple.__getitem__(self, i)
        return _tuple_new(Size, r) if isinstance(i, slice) else r

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return _tuple_new(Size, tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return _tuple_new(Size, tuple.__add__(other, self))

    def numel(self):
        """The number of elements a tensor of this shape holds."""
        return math.prod(self)


def _root_array(a):
    """The ndarray that owns the memory ``a`` looks at (the end of its ``.base`` chain)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _address(a):
    return a.__array_interface__["data"][0]


def _legacy_array(args, dtype):
    """The array of PyTorch's legacy constructor ``torch.Tensor(...)``: ``Tensor()`` is empty,
    ``Tensor(2, 3)`` / ``Tensor(tg.Size(...))`` a (zero-filled) tensor of that size,
    ``Tensor(sequence or array)`` the data in the default float dtype, ``Tensor(tensor)``
    the tensor's memory as it is. ``dtype=`` (tensorgrad's addition) overrides the dtype."""
    dt = _dtypes.default_float() if dtype is None else _as_dtype(dtype)
    if not args:
        return np.zeros(0, dtype=dt)
    first = args[0]
    if all(isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_))
           for a in args) or (len(args) == 1 and isinstance(first, Size)):
        sizes = tuple(first) if isinstance(first, Size) else tuple(int(a) for a in args)
        if any(n < 0 for n in sizes):
            raise RuntimeError(f"Tensor: trying to create a tensor with negative dimension: "
                               f"{list(sizes)}")
        return np.zeros(sizes, dtype=dt)
    if len(args) > 1:
        raise TypeError(f"Tensor: expected sizes (ints) or one sequence of data, got "
                        f"{len(args)} arguments")
    if isinstance(first, Tensor):
        return first._data if dtype is None else first._data.astype(dt)
    if not isinstance(first, (list, tuple, np.ndarray, range)):
        raise TypeError(f"Tensor: data must be a sequence (got {type(first).__name__})")
    return np.asarray(first, dtype=dt)


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    ``Tensor(...)`` is PyTorch's legacy constructor (``Tensor(2, 3)``, ``Tensor([1, 2])``: the
    default float dtype); ``tg.tensor(data)`` is the constructor with PyTorch's dtype
    inference. Inside the package an array is wrapped with ``_wrap``.
    """

    # _view: only on views (set by record(view_of=...)): the base Tensor whose memory this one
    # shares; never assigned on other tensors (read it with getattr(t, "_view", None))
    __slots__ = ("_data", "grad", "requires_grad", "grad_fn", "_vc", "_oi", "_hooks", "_view",
                 "__weakref__")
    __array_priority__ = 1000  # numpy defers to our reflected operators

    def __new__(cls, *args, requires_grad: bool = False, dtype=None):
        if cls is not Tensor:  # a subclass (nn.Parameter) fills itself in __init__
            return _wrap(np.zeros(0, dtype=np.float32), None, cls)
        t = _wrap(_legacy_array(args, dtype), None, cls)
        if requires_grad:
            t.requires_grad_(True)
        return t

    # ---- version counter: shared by a tensor and its views (reshape, transpose, slices, ...),
    # bumped by every in-place change; the engine compares it with what saved tensors had.
    @property
    def _version(self):
        return self._vc[0]

    @_version.setter
    def _version(self, value):
        self._vc[0] = value

    # ---- the array ------------------------------------------------------------------------------
    @property
    def data(self):
        """As PyTorch's ``.data``: a Tensor sharing this one's memory, outside autograd (writes
        through it are not tracked). The numpy array itself is ``.numpy()``."""
        return _wrap(self._data)

    @data.setter
    def data(self, value):
        arr = value._data if isinstance(value, Tensor) else np.asarray(value)
        self._data = arr

    # ---- basic attributes -------------------------------------------------------------------
    @property
    def shape(self):
        return _tuple_new(Size, self._data.shape)

    @property
    def device(self):
        return _CPU

    @property
    def is_cuda(self):
        return False

    def get_device(self):
        """-1: the CPU (as PyTorch)."""
        return -1

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def is_leaf(self):
        return self.grad_fn is None

    def size(self, dim=None):
        s = self._data.shape
        if dim is None:
            return _tuple_new(Size, s)
        if not -len(s) <= dim < len(s):
            raise IndexError(f"size: dimension {dim} is out of range for a tensor with "
                             f"{len(s)} dimension(s)")
        return s[dim]

    def dim(self):
        return self._data.ndim

    ndimension = dim

    def numel(self):
        return int(self._data.size)

    nelement = numel

    def is_floating_point(self):
        return self._data.dtype.kind == "f"

    def is_complex(self):
        return self._data.dtype.kind == "c"

    def is_signed(self):
        return self._data.dtype.kind in "ifc"

    def is_inference(self):
        """Was this tensor made under ``tg.inference_mode()``?"""
        return type(self._vc) is InferenceVersion

    # ---- memory, as PyTorch reports it (strides in elements) ---------------------------------
    def type(self, dtype=None, non_blocking=False, **kwargs):
        """``x.type()``: PyTorch's type string (``'torch.FloatTensor'``); ``x.type(dtype)``
        (a dtype or such a string) casts, as ``x.to(dtype)``."""
        if dtype is None:
            return _dtypes.type_string(self._data.dtype)
        return self.to(_dtypes.as_dtype(dtype, "Tensor.type"))

    def element_size(self):
        return self._data.itemsize

    @property
    def itemsize(self):
        return self._data.itemsize

    @property
    def nbytes(self):
        return self._data.nbytes

    def stride(self, dim=None):
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        if dim is None:
            return st
        if not -len(st) <= dim < len(st):
            raise IndexError(f"stride: dimension {dim} is out of range for a tensor with "
                             f"{len(st)} dimension(s)")
        return st[dim]

    def is_contiguous(self, memory_format=None):
        return bool(self._data.flags.c_contiguous)

    def data_ptr(self):
        """The address of the first element."""
        return _address(self._data)

    def storage_offset(self):
        """How many elements the first element lies past the start of the memory block it
        shares (0 for a tensor that owns its memory; ``x[1:]`` gives 1)."""
        d = self._data
        return (_address(d) - _address(_root_array(d))) // d.itemsize

    @property
    def _base(self):
        """The tensor this view shares memory with (None for a tensor that is not a view)."""
        return getattr(self, "_view", None)

    def _is_view(self):
        return getattr(self, "_view", None) is not None

    @property
    def H(self):
        """The conjugate transpose of a matrix (the transpose, for real tensors)."""
        if self._data.ndim != 2:
            raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got "
                               f"{self._data.ndim}-D tensor. For batches of matrices, consider "
                               f"using tensor.mH")
        return self.transpose(0, 1)

    @property
    def mH(self):
        """The conjugate transpose of the last two dimensions (real tensors: ``mT``)."""
        if self._data.ndim < 2:
            raise RuntimeError(f"tensor.mH is only supported on matrices or batches of "
                               f"matrices. Got {self._data.ndim}-D tensor.")
        return self.transpose(-2, -1)

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def numpy(self):
        if self.requires_grad:
            raise RuntimeError("numpy(): can't call numpy() on a Tensor that requires grad; "
                               "use tensor.detach().numpy()")
        return self._data

    def item(self):
        if self._data.size != 1:
            raise ValueError(f"item(): only one-element tensors can be converted to Python "
                             f"scalars, got shape {self._data.shape}")
        return self._data.reshape(()).item()

    def tolist(self):
        return self._data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} elements is ambiguous")
        return bool(self._data.reshape(()).item())

    def __array__(self, dtype=None, copy=None):
        return self._data if dtype is None else self._data.astype(dtype)

    __hash__ = object.__hash__

    def __repr__(self):
        return _tensor_repr(self)

    def __format__(self, spec):
        if self._data.ndim == 0 and spec:
            return format(self.item(), spec)
        return str(self)

    # ---- autograd -----------------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True):
        if requires_grad and self._data.dtype.kind not in "fc":
            raise RuntimeError(f"requires_grad_: only Tensors of floating point and complex "
                               f"dtype can require gradients, got dtype "
                               f"{_dtypes.name(self._data.dtype)}")
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("requires_grad_(False): you can only change requires_grad of "
                               "leaf tensors; use detach() for a non-leaf")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self):
        return _wrap(self._data, self._vc)  # shares data, so shares the version counter

    def detach_(self):
        self.grad_fn = None
        self.requires_grad = False
        return self

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        from .autograd.engine import backward
        backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph,
                 inputs=inputs)

    def register_hook(self, fn):
        """``fn(grad)`` is called with this tensor's gradient; a returned tensor replaces it.
        Returns a handle whose ``.remove()`` unregisters the hook."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that "
                               "doesn't require gradient")
        if self.grad_fn is not None:
            return self.grad_fn.register_hook(fn, self._oi)
        return self._leaf_hook(0, fn)

    def register_post_accumulate_grad_hook(self, fn):
        """``fn(tensor)`` runs after backward has accumulated this leaf's gradient into
        ``.grad`` (as PyTorch's; data-parallel training starts its all-reduce from it)."""
        if self.grad_fn is not None:
            raise RuntimeError("register_post_accumulate_grad_hook: post accumulate grad hooks "
                               "cannot be registered on non-leaf tensors")
        if not self.requires_grad:
            raise RuntimeError("register_post_accumulate_grad_hook: cannot register a hook on "
                               "a tensor that doesn't require gradient")
        return self._leaf_hook(1, fn)

    def _leaf_hook(self, kind, fn):
        if self._hooks is None:
            self._hooks = ({}, {})  # (gradient hooks, post-accumulate hooks), id -> fn
        d = self._hooks[kind]
        h = RemovableHandle(d)
        d[h.id] = fn
        return h

    def retain_grad(self):
        """Keep ``.grad`` for a non-leaf tensor after backward."""
        if self.grad_fn is None:
            return
        import weakref
        ref = weakref.ref(self)

        def _keep(g):
            t = ref()
            if t is not None:
                t.grad = g if t.grad is None else _wrap(t.grad._data + g._data)
        self.grad_fn.register_hook(_keep, self._oi)
