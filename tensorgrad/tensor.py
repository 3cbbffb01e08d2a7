"""The Tensor: a numpy array plus what autograd needs to know about it.

This file holds only the tensor's state and its autograd methods. Its operators and op methods
(``x + y``, ``x.exp()``, ``x.view(...)``, ``x.add_(...)``) are declared next to each op in
``tensorgrad.ops`` (``@op``; see ``tensorgrad/ops/_registry.py``) and bound onto the class when
``tensorgrad.ops`` is imported, so one op lives in one place.
"""
from __future__ import annotations

import numpy as np

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


def _wrap(data, vc=None, cls=None):
    """Fast internal constructor: ``data`` must already be an ndarray; ``vc``: a version
    counter to share (views share their base's); ``cls``: a subclass (Parameter). The one
    place a Tensor's slots are set."""
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
    if dtype is None:
        return None
    if isinstance(dtype, str):
        dtype = {"float": np.float32, "double": np.float64, "long": np.int64, "int": np.int32,
                 "bool": np.bool_}.get(dtype, dtype)
    return np.dtype(dtype)


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    ``Tensor(array)`` wraps a numpy array as is; ``tg.tensor(data)`` is the user-facing
    constructor with PyTorch's dtype defaults.
    """

    __slots__ = ("_data", "grad", "requires_grad", "grad_fn", "_vc", "_oi", "_hooks",
                 "__weakref__")
    __array_priority__ = 1000  # numpy defers to our reflected operators

    def __new__(cls, data=None, requires_grad: bool = False, dtype=None):
        if data is None:
            data = np.zeros(0, dtype=np.float32)
        if isinstance(data, Tensor):
            data = data._data
        arr = np.asarray(data, dtype=_as_dtype(dtype))
        if dtype is None and arr.dtype == np.float64 and not isinstance(data, (np.ndarray, np.generic)):
            arr = arr.astype(np.float32)  # Python floats -> float32, as tg.tensor and torch.Tensor
        t = _wrap(arr, None, cls)
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
        return self._data.shape

    @property
    def device(self):
        return _CPU

    @property
    def is_cuda(self):
        return False

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
        return self._data.shape if dim is None else self._data.shape[dim]

    def dim(self):
        return self._data.ndim

    def numel(self):
        return int(self._data.size)

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
        body = np.array2string(self._data, separator=", ", precision=4, threshold=200,
                               prefix="tensor(")
        extra = []
        if self._data.dtype not in (np.float32, np.int64, np.bool_):
            extra.append(f"dtype={self._data.dtype}")
        if self.grad_fn is not None:
            extra.append(f"grad_fn=<{self.grad_fn.name}Backward>")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extra) + ")"

    # ---- autograd -----------------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True):
        if requires_grad and self._data.dtype.kind not in "fc":
            raise RuntimeError(f"requires_grad_: only floating point tensors can require "
                               f"gradients, got dtype {self._data.dtype}")
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
