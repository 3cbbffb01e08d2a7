"""The Tensor: a numpy array plus what autograd needs to know about it.

Operators and methods delegate to the op library (``tensorgrad.ops``); they are bound at the
bottom of this file so that one op lives in one place.
"""
from __future__ import annotations

import numpy as np

from ._state import STATE
from .utils.hooks import RemovableHandle

float32 = np.float32
float64 = np.float64
float16 = np.float16
int32 = np.int32
int64 = np.int64
bool_ = np.bool_
_ndarray = np.ndarray
_new = object.__new__


def _wrap(data):
    """Fast internal constructor: ``data`` must already be an ndarray."""
    t = _new(Tensor)
    t.data = data
    t.grad = None
    t.requires_grad = False
    t.grad_fn = None
    t._vc = [0]
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

    __slots__ = ("data", "grad", "requires_grad", "grad_fn", "_vc", "_oi", "_hooks",
                 "__weakref__")
    __array_priority__ = 1000  # numpy defers to our reflected operators

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        arr = np.asarray(data, dtype=_as_dtype(dtype))
        if dtype is None and arr.dtype == np.float64 and not isinstance(data, (np.ndarray, np.generic)):
            arr = arr.astype(np.float32)  # Python floats -> float32, as tg.tensor and torch.Tensor
        self.data = arr
        self.grad = None
        self.requires_grad = False
        self.grad_fn = None
        self._vc = [0]
        self._oi = 0
        self._hooks = None
        if requires_grad:
            self.requires_grad_(True)

    # ---- version counter: shared by a tensor and its views (reshape, transpose, slices, ...),
    # bumped by every in-place change; the engine compares it with what saved tensors had.
    @property
    def _version(self):
        return self._vc[0]

    @_version.setter
    def _version(self, value):
        try:
            self._vc[0] = value
        except AttributeError:
            self._vc = [value]

    # ---- basic attributes -------------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def T(self):
        return _ops.permute(self, tuple(range(self.data.ndim - 1, -1, -1)))

    @property
    def mT(self):
        return _ops.transpose(self, -2, -1)

    def size(self, dim=None):
        return self.data.shape if dim is None else self.data.shape[dim]

    def dim(self):
        return self.data.ndim

    def numel(self):
        return int(self.data.size)

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def numpy(self):
        if self.requires_grad:
            raise RuntimeError("numpy(): can't call numpy() on a Tensor that requires grad; "
                               "use tensor.detach().numpy()")
        return self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item(): only one-element tensors can be converted to Python "
                             f"scalars, got shape {self.data.shape}")
        return self.data.reshape(()).item()

    def tolist(self):
        return self.data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self.data.size} elements is ambiguous")
        return bool(self.data.reshape(()).item())

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    __hash__ = object.__hash__

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", precision=4, threshold=200,
                               prefix="tensor(")
        extra = []
        if self.data.dtype not in (np.float32, np.int64, np.bool_):
            extra.append(f"dtype={self.data.dtype}")
        if self.grad_fn is not None:
            extra.append(f"grad_fn=<{self.grad_fn.name}Backward>")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extra) + ")"

    # ---- autograd -----------------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True):
        if requires_grad and self.data.dtype.kind not in "fc":
            raise RuntimeError(f"requires_grad_: only floating point tensors can require "
                               f"gradients, got dtype {self.data.dtype}")
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("requires_grad_(False): you can only change requires_grad of "
                               "leaf tensors; use detach() for a non-leaf")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self):
        t = _wrap(self.data)
        t._vc = self._vc  # shares data, so shares the version counter (as PyTorch)
        return t

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
                t.grad = g if t.grad is None else _wrap(t.grad.data + g.data)
        self.grad_fn.register_hook(_keep, self._oi)

    # ---- dtype conversion ---------------------------------------------------------------------
    def double(self):
        return _ops.astype(self, np.float64)

    def float(self):
        return _ops.astype(self, np.float32)

    def long(self):
        return _ops.astype(self, np.int64)

    def int(self):
        return _ops.astype(self, np.int32)

    def bool(self):
        return _ops.astype(self, np.bool_)

    def type(self, dtype):
        return _ops.astype(self, dtype)

    def to(self, dtype=None, *args, **kwargs):
        if dtype is None or isinstance(dtype, str) and dtype in ("cpu",):
            return self
        return _ops.astype(self, dtype)

    def cpu(self):
        return self

    def contiguous(self):
        return self

    def clone(self):
        return _ops.clone(self)

    # ---- in-place operations (bump the version counter) --------------------------------------
    def _inplace(self, name, fn, other=None):
        """Apply ``fn(self_value, other) -> Tensor`` in place, recording it when needed."""
        tracking = STATE.enabled and (self.requires_grad or
                                      (isinstance(other, Tensor) and other.requires_grad))
        if tracking:
            if self.grad_fn is None and self.requires_grad:
                raise RuntimeError(f"{name}: a leaf Variable that requires grad is being used "
                                   f"in an in-place operation (wrap it in tg.no_grad())")
            # Record the op out of place and rebind this tensor to the result: arrays the
            # graph saved (inputs or outputs of earlier ops) are never overwritten.
            old = _wrap(self.data)
            old.requires_grad = self.requires_grad
            old.grad_fn = self.grad_fn
            old._oi = self._oi
            res = fn(old, other)
            if res.data.shape != self.data.shape:
                raise RuntimeError(f"{name}: output with shape {self.data.shape} doesn't match "
                                   f"the broadcast shape {res.data.shape}")
            self.data = res.data.astype(self.data.dtype, copy=False)
            self._vc = [self._vc[0]]  # new storage: views of the old one keep their counter
            self.grad_fn = res.grad_fn
            self._oi = res._oi
            self.requires_grad = res.requires_grad
        else:
            prev = STATE.enabled  # no_grad, spelled out (autograd.grad_mode imports this module)
            STATE.enabled = False
            try:
                res = fn(self, other)
            finally:
                STATE.enabled = prev
            if res.data.shape != self.data.shape:
                raise RuntimeError(f"{name}: output with shape {self.data.shape} doesn't match "
                                   f"the broadcast shape {res.data.shape}")
            np.copyto(self.data, res.data, casting="unsafe")
        self._version += 1
        return self

    def add_(self, other, alpha=1):
        return self._inplace("add_", lambda a, b: a + (b * alpha if alpha != 1 else b), other)

    def sub_(self, other, alpha=1):
        return self._inplace("sub_", lambda a, b: a - (b * alpha if alpha != 1 else b), other)

    def mul_(self, other):
        return self._inplace("mul_", lambda a, b: a * b, other)

    def div_(self, other):
        return self._inplace("div_", lambda a, b: a / b, other)

    def pow_(self, other):
        return self._inplace("pow_", lambda a, b: a ** b, other)

    def clamp_(self, min=None, max=None):
        return self._inplace("clamp_", lambda a, _: _ops.clamp(a, min, max))

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        value = value.item() if isinstance(value, Tensor) else value
        return self._inplace("fill_", lambda a, _: _ops.full_like(a, value))

    def copy_(self, src):
        src_t = src if isinstance(src, Tensor) else Tensor(np.asarray(src))
        return self._inplace("copy_", lambda a, b: _ops.expand(_ops.astype(b, a.data.dtype),
                                                             a.data.shape), src_t)

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def __setitem__(self, index, value):
        index = _ops.normalize_index(index)
        self._inplace("__setitem__", lambda a, v: _ops.index_put(a, index, v),
                      value if isinstance(value, Tensor) else Tensor(np.asarray(value, dtype=self.data.dtype)))

    # ---- reflected arithmetic --------------------------------------------------------------
    def __radd__(self, other):
        return _ops.add(other, self)

    def __rsub__(self, other):
        return _ops.sub(other, self)

    def __rmul__(self, other):
        return _ops.mul(other, self)

    def __rtruediv__(self, other):
        return _ops.div(other, self)

    def __rpow__(self, other):
        return _ops.pow(other, self)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __pos__(self):
        return self

    # ---- methods with several spellings ------------------------------------------------------
    def view(self, *shape):
        return _ops.reshape(self, *shape)

    def reshape(self, *shape):
        return _ops.reshape(self, *shape)

    def permute(self, *dims):
        return _ops.permute(self, *dims)

    def expand(self, *shape):
        return _ops.expand(self, *shape)

    def repeat(self, *sizes):
        return _ops.repeat(self, *sizes)

    def view_as(self, other):
        return _ops.reshape(self, other.shape)

    def expand_as(self, other):
        return _ops.expand(self, other.shape)


from . import ops as _ops  # noqa: E402  (binds the op library to the methods below)

for _name, _fn in {
    "__add__": _ops.add, "__sub__": _ops.sub, "__mul__": _ops.mul, "__truediv__": _ops.div,
    "__pow__": _ops.pow, "__matmul__": _ops.matmul, "__neg__": _ops.neg, "__abs__": _ops.abs,
    "__getitem__": _ops.getitem,
    "__lt__": _ops.lt, "__le__": _ops.le, "__gt__": _ops.gt, "__ge__": _ops.ge,
    "__eq__": _ops.eq, "__ne__": _ops.ne,
    "__and__": _ops.logical_and, "__or__": _ops.logical_or, "__invert__": _ops.logical_not,
    "add": _ops.add, "sub": _ops.sub, "mul": _ops.mul, "div": _ops.div, "pow": _ops.pow,
    "matmul": _ops.matmul, "neg": _ops.neg, "abs": _ops.abs, "exp": _ops.exp, "log": _ops.log,
    "sqrt": _ops.sqrt, "sin": _ops.sin, "cos": _ops.cos, "tanh": _ops.tanh,
    "sigmoid": _ops.sigmoid, "relu": _ops.relu, "clamp": _ops.clamp, "clip": _ops.clamp,
    "log1p": _ops.log1p, "expm1": _ops.expm1, "square": _ops.square, "rsqrt": _ops.rsqrt,
    "reciprocal": _ops.reciprocal, "sign": _ops.sign, "floor": _ops.floor, "ceil": _ops.ceil,
    "round": _ops.round, "maximum": _ops.maximum, "minimum": _ops.minimum,
    "sum": _ops.sum, "mean": _ops.mean, "var": _ops.var, "std": _ops.std, "amax": _ops.amax,
    "amin": _ops.amin, "max": _ops.max, "min": _ops.min, "argmax": _ops.argmax,
    "argmin": _ops.argmin, "logsumexp": _ops.logsumexp, "softmax": _ops.softmax,
    "log_softmax": _ops.log_softmax, "norm": _ops.norm, "prod": _ops.prod,
    "transpose": _ops.transpose, "flatten": _ops.flatten, "unsqueeze": _ops.unsqueeze,
    "squeeze": _ops.squeeze, "astype": _ops.astype, "flip": _ops.flip,
    "masked_fill": _ops.masked_fill, "gather": _ops.gather, "split": _ops.split,
    "chunk": _ops.chunk, "unbind": _ops.unbind, "all": _ops.all, "any": _ops.any,
    "isnan": _ops.isnan, "isfinite": _ops.isfinite,
}.items():
    setattr(Tensor, _name, _fn)
del _name, _fn
