"""Graph nodes and the one primitive every op uses to record itself: ``record``.

A Node is the ``grad_fn`` of the tensors an op produced. It holds the op's VJP, the values the
op saved for it, and edges to the producers of its inputs: ``next[i]`` is
``(node, output_index)`` for a non-leaf input, the leaf Tensor itself for a leaf that requires
grad, or ``None`` for a constant.

A VJP is written once, for both backward modes (see docs/architecture.md):

    def _mul_vjp(ctx, g, a, b):          # ctx: the Node (ctx.needs: which inputs want a grad)
        n = ctx.needs
        return (g * b if n[0] else None, g * a if n[1] else None)

    record("mul", a._data * b._data, (a, b), _mul_vjp, saved=(a, b))

``saved`` values reach the VJP as positional arguments after the gradient, under the names the
VJP gives them. On plain ``backward()`` the gradient is a numpy array and every saved Tensor
arrives as its array; under ``create_graph=True`` they are Tensors and the VJP's own operations
are recorded, so gradients are differentiable. ``OUT`` in ``saved`` stands for the op's output
and comes first (``record(..., saved=(OUT, dim))``); ``outputs(k)`` stands for output k of a
multi-output op (anywhere in ``saved``). Other saved values (shapes, masks, scalars) arrive as
they are. A VJP that needs functions rather than operators picks them with
``tensorgrad.ops.array_module(g)`` (numpy or tensorgrad, with the same signatures).
"""
from __future__ import annotations

import itertools
import traceback
import weakref

import numpy as np

from .._state import STATE
from ..tensor import Tensor, _wrap
from ..utils.hooks import RemovableHandle

_ndarray = np.ndarray
_ref = weakref.ref
_new = object.__new__
_NEEDS1 = (True,)


class _Out:
    """Placeholder for output ``i`` of the op in ``saved``."""
    __slots__ = ("i",)

    def __init__(self, i):
        self.i = i

    def __repr__(self):
        return f"OUT{self.i}"


_OUTS = [_Out(i) for i in range(8)]
OUT = _OUTS[0]


def outputs(i):
    """The placeholder for output ``i`` of a multi-output op (``OUT`` is ``outputs(0)``)."""
    while i >= len(_OUTS):
        _OUTS.append(_Out(len(_OUTS)))
    return _OUTS[i]


class _NodeHookHandle(RemovableHandle):
    """Removes a node's gradient hook and drops emptied hook tables (``node.hooks`` is None
    again once the last hook is gone)."""

    def __init__(self, hooks_dict, node, index):
        super().__init__(hooks_dict)
        self._node = weakref.ref(node)
        self._index = index

    def remove(self):
        super().remove()
        node = self._node()
        if node is not None and node.hooks is not None and not node.hooks.get(self._index, 1):
            del node.hooks[self._index]
            if not node.hooks:
                node.hooks = None


class Node:
    __slots__ = ("name", "fn", "next", "needs", "saved", "versions", "meta", "outs", "orefs",
                 "hooks", "trace", "released", "nout", "scope", "__weakref__")

    def __init__(self, name, fn, inputs, saved, datas, outs_saved):
        self.name = name
        self.fn = fn
        if len(inputs) == 1:  # the common case: record() only builds a node if it requires grad
            t = inputs[0]
            gf = t.grad_fn
            self.next = ((gf, t._oi) if gf is not None else t,)
            self.needs = _NEEDS1
        else:
            nxt = []
            needs = []
            for t in inputs:
                if t.requires_grad:
                    needs.append(True)
                    gf = t.grad_fn
                    nxt.append((gf, t._oi) if gf is not None else t)
                else:
                    needs.append(False)
                    nxt.append(None)
            self.next = tuple(nxt)
            self.needs = tuple(needs)
        self.saved = saved
        if saved:
            # the version of every saved Tensor now, to detect in-place changes by backward
            vs = [s._vc[0] if isinstance(s, Tensor) else None for s in saved]
            self.versions = () if vs.count(None) == len(vs) else vs  # () when nothing to check
            self.outs = datas if outs_saved else None
        else:
            self.versions = ()
            self.outs = None
        self.orefs = None
        self.hooks = None
        self.trace = None
        self.released = False
        self.nout = len(datas)

    def arrays(self):
        """``saved`` as the VJP gets it on the plain backward path (arrays for Tensors)."""
        outs = self.outs
        if outs is None:
            return [s._data if isinstance(s, Tensor) else s for s in self.saved]
        return [s._data if isinstance(s, Tensor) else outs[s.i] if type(s) is _Out else s
                for s in self.saved]

    # -- what the VJP gets under create_graph ----------------------------------------------------
    def output(self, i: int = 0) -> Tensor:
        """The op's i-th output as a Tensor attached to this node (for differentiable VJPs)."""
        if self.outs is None:
            raise RuntimeError(f"{self.name}: output was not saved for backward (internal error)")
        t = _wrap(self.outs[i])
        t.grad_fn = self
        t.requires_grad = True
        t._oi = i
        return t

    def tensor_args(self):
        """``saved`` with output placeholders replaced by the attached outputs."""
        return [self.output(s.i) if type(s) is _Out else s for s in self.saved]

    @property
    def next_functions(self):
        """PyTorch-style view of the edges: ((node_or_leaf, index), ...)."""
        out = []
        for item in self.next:
            if item is None:
                out.append((None, 0))
            elif type(item) is tuple:
                out.append(item)
            else:
                out.append((item, 0))
        return tuple(out)

    def register_hook(self, fn, index=0):
        """Hook on the gradient flowing into this node's output ``index`` (used by
        Tensor.register_hook); returns a handle whose ``.remove()`` unregisters it."""
        if self.hooks is None:
            self.hooks = {}
        d = self.hooks.setdefault(index, {})
        h = _NodeHookHandle(d, self, index)
        d[h.id] = fn
        return h

    def creation_site(self) -> str:
        if not self.trace:
            return "(creation site unknown: run under tg.autograd.detect_anomaly() to record it)"
        return "".join(traceback.format_list(self.trace))

    def __repr__(self):
        return f"<{self.name}Backward>"


def tensor_vjp(fn):
    """Adapt a VJP that only works on Tensors (user ``Function``s, compositions differentiated
    by the engine) to the plain backward path: there it gets the gradients wrapped as Tensors
    and the op's saved Tensors themselves, runs under no_grad, and its results are unwrapped."""
    def vjp(ctx, g, *saved):
        if isinstance(g, Tensor) or (type(g) is tuple and any(isinstance(x, Tensor) for x in g)):
            return fn(ctx, g, *saved)
        if type(g) is tuple:
            g = tuple(None if x is None else _wrap(np.asarray(x)) for x in g)
        else:
            g = _wrap(np.asarray(g))
        res = fn(ctx, g, *ctx.tensor_args())
        return tuple(None if r is None else r._data for r in res)
    vjp.__name__ = getattr(fn, "__name__", "vjp")
    vjp.__wrapped__ = fn
    return vjp


def _anomaly_forward(node, name, datas):
    node.trace = traceback.extract_stack()[:-3]
    for d in datas:
        if d.dtype.kind in "fc" and not np.all(np.isfinite(d)):
            raise RuntimeError(
                f"detect_anomaly: op '{name}' produced NaN/inf in its forward output "
                f"(shape {d.shape}). It was created at:\n{node.creation_site()}")


_SEQ = itertools.count()


def _watch(node, name, datas):
    """Tag a new node with the open viz scope and its creation number; in anomaly mode, record
    where it was created and check its outputs."""
    if STATE.scope is not None:
        node.scope = (STATE.scope, next(_SEQ))
    if STATE.anomaly:
        _anomaly_forward(node, name, datas)


def record(name, data, inputs, vjp, saved=(), view_of=None):
    """Wrap ``data`` (the op's numpy result) in a Tensor and, if any input requires grad and
    grad mode is on, attach a Node that will call ``vjp(node, grad, *saved)``. ``view_of``: the
    input whose memory ``data`` shares (a view op), so the two share a version counter."""
    if type(data) is not _ndarray:
        data = np.asarray(data)
    # the output Tensor, built inline (this is the hottest path; _wrap is the other place)
    out = _new(Tensor)
    out._data = data
    out.grad = None
    out.requires_grad = False
    out.grad_fn = None
    out._vc = [0] if view_of is None else view_of._vc
    out._oi = 0
    out._hooks = None
    if STATE.enabled:
        for t in inputs:
            if t.requires_grad:
                break
        else:
            return out
        # output placeholders come first in ``saved`` (OUT, ...), so one check finds them
        node = Node(name, vjp, inputs, saved, (data,),
                    saved and type(saved[0]) is _Out)
        node.meta = (data.shape, data.dtype)
        if node.outs is not None:
            node.orefs = (_ref(out),)  # weak: lets backward see in-place changes to the output
        out.grad_fn = node
        out.requires_grad = True
        if STATE.watch:  # a viz scope is open or anomaly mode is on
            _watch(node, name, (data,))
    return out


def _one(vjp):
    def one(ctx, g, *saved):
        return vjp(ctx, (g,), *saved)
    one.__wrapped__ = vjp
    return one


def record_multi(name, datas, inputs, vjp, saved=(), differentiable=None):
    """Like ``record`` for an op with several outputs; ``vjp(node, grads, *saved)`` gets a
    tuple of gradients (None for outputs that received none). ``differentiable`` (tuple of
    bools) marks outputs that carry no gradient (e.g. indices)."""
    datas = tuple(d if type(d) is _ndarray else np.asarray(d) for d in datas)
    outs = tuple(_wrap(d) for d in datas)
    if STATE.enabled and any(t.requires_grad for t in inputs):
        if len(datas) == 1:  # the engine hands single-output nodes a bare gradient
            node = Node(name, _one(vjp), inputs, saved, datas,
                        any(type(s) is _Out for s in saved))
            node.meta = (datas[0].shape, datas[0].dtype)
        else:
            node = Node(name, vjp, inputs, saved, datas,
                        any(type(s) is _Out for s in saved))
            node.meta = tuple((d.shape, d.dtype) for d in datas)
        if node.outs is not None:
            node.orefs = tuple(_ref(t) for t in outs)
        for i, t in enumerate(outs):
            if differentiable is None or differentiable[i]:
                t.grad_fn = node
                t.requires_grad = True
                t._oi = i
        if STATE.watch:
            _watch(node, name, datas)
    return outs
