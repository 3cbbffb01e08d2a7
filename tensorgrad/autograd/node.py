"""Graph nodes and the one primitive every op uses to record itself: ``record``.

A Node is the ``grad_fn`` of the tensors an op produced. It holds the op's backward function
(a vector-Jacobian product written with tensorgrad ops), what the op saved for it, and edges to
the producers of its inputs: ``next[i]`` is ``(node, output_index)`` for a non-leaf input, the
leaf Tensor itself for a leaf that requires grad, or ``None`` for a constant.
"""
from __future__ import annotations

import itertools
import traceback
import weakref

import numpy as np

from .grad_mode import STATE
from ..tensor import Tensor, _wrap
from ..utils.hooks import RemovableHandle

_ndarray = np.ndarray
_new = object.__new__
_ref = weakref.ref


_NEEDS1 = (True,)


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
    __slots__ = ("name", "fn", "next", "needs", "saved", "versions", "info", "meta",
                 "outs", "orefs", "hooks", "trace", "released", "nout", "scope", "__weakref__")

    def __init__(self, name, fn, inputs, saved, info, nout=1):
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
        self.versions = tuple([s._vc[0] if isinstance(s, Tensor) else None for s in saved]) if saved else ()
        self.info = info
        self.outs = None
        self.orefs = None
        self.hooks = None
        self.trace = None
        self.released = False
        self.nout = nout

    # -- helpers for backward functions ------------------------------------------------------
    def output(self, i: int = 0) -> Tensor:
        """The op's i-th output as a Tensor attached to this node (ops recorded with save_output)."""
        if self.outs is None:
            raise RuntimeError(f"{self.name}: output was not saved for backward (internal error)")
        t = _wrap(self.outs[i])
        t.grad_fn = self
        t.requires_grad = True
        t._oi = i
        return t

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


FAST = {}


def fast_vjp(backward):
    """Register a numpy twin of a tensor-op VJP: ``fast(node, g_array) -> tuple of arrays``.

    The tensor-op VJP stays the definition (it is what ``create_graph=True`` differentiates);
    the twin is what plain ``backward()`` runs, without building Tensors for every gradient.
    Both must compute the same thing; the test suite checks each pair against each other
    (tests/test_fast_vjp.py)."""
    def deco(fast):
        FAST[backward] = fast
        return fast
    return deco


def _anomaly_forward(node, name, datas):
    node.trace = traceback.extract_stack()[:-3]
    for d in datas:
        if d.dtype.kind in "fc" and not np.all(np.isfinite(d)):
            raise RuntimeError(
                f"detect_anomaly: op '{name}' produced NaN/inf in its forward output "
                f"(shape {d.shape}). It was created at:\n{node.creation_site()}")


_SEQ = itertools.count()


def _tag(node, scope):
    """Tag a new node with the open scope and its creation number (read by tg.viz)."""
    node.scope = (scope, next(_SEQ))


def record(name, data, inputs, backward, saved=(), info=None, save_output=False, view_of=None):
    """Wrap ``data`` (the op's numpy result) in a Tensor and, if any input requires grad and
    grad mode is on, attach a Node that will call ``backward(node, grad)``. ``view_of``: the
    input whose memory ``data`` shares (a view op), so the two share a version counter."""
    if type(data) is not _ndarray:
        data = np.asarray(data)
    out = _new(Tensor)
    out.data = data
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
        node = Node(name, backward, inputs, saved, info)
        node.meta = (data.shape, data.dtype)
        if save_output:
            node.outs = (data,)
            node.orefs = (_ref(out),)  # weak: lets backward see in-place changes to the output
        out.grad_fn = node
        out.requires_grad = True
        if STATE.scope is not None:
            _tag(node, STATE.scope)
        if STATE.anomaly:
            _anomaly_forward(node, name, (data,))
    return out


def record_multi(name, datas, inputs, backward, saved=(), info=None, save_output=False,
                 differentiable=None):
    """Like ``record`` for an op with several outputs; ``backward(node, grads)`` gets a tuple of
    gradients (None for outputs that received none). ``differentiable`` (tuple of bools) marks
    outputs that carry no gradient (e.g. indices)."""
    datas = tuple(d if type(d) is _ndarray else np.asarray(d) for d in datas)
    outs = tuple(_wrap(d) for d in datas)
    if STATE.enabled and any(t.requires_grad for t in inputs):
        if len(datas) == 1:  # the engine passes single-output nodes a bare gradient
            fn = backward

            def backward(node, g, _fn=fn):
                return _fn(node, (g,))
        node = Node(name, backward, inputs, saved, info, nout=len(datas))
        node.meta = ((datas[0].shape, datas[0].dtype) if len(datas) == 1 else
                     tuple((d.shape, d.dtype) for d in datas))
        if save_output:
            node.outs = datas
            node.orefs = tuple(_ref(t) for t in outs)
        for i, t in enumerate(outs):
            if differentiable is None or differentiable[i]:
                t.grad_fn = node
                t.requires_grad = True
                t._oi = i
        if STATE.scope is not None:
            _tag(node, STATE.scope)
        if STATE.anomaly:
            _anomaly_forward(node, name, datas)
    return outs
