"""Graph nodes and the one primitive every op uses to record itself: ``record``.

A Node is the ``grad_fn`` of the tensors an op produced. It holds the op's VJP, the values the
op saved for it, and edges to the producers of its inputs: ``next[i]`` is the producing Node
itself for an input that is output 0 of its op, ``(node, output_index)`` for another output of
a multi-output op, the leaf Tensor itself for a leaf that requires grad, or ``None`` for a
constant (``node_edge`` reads one as ``(node, output_index)``). Bare nodes rather than
``(node, 0)`` pairs: one object fewer per op for the garbage collector to scan.

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

from .._state import COUNTS, STATE
from ..tensor import InferenceVersion, Tensor, _wrap
from ..utils.hooks import RemovableHandle
from .names import OpName, op_name

_ndarray = np.ndarray
_ref = weakref.ref
_new = object.__new__
_NEEDS1 = (True,)
_NEEDS11, _NEEDS10, _NEEDS01 = (True, True), (True, False), (False, True)
_V0, _V00, _V0N, _VN0 = (0,), (0, 0), (0, None), (None, 0)  # saved versions, all zero


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


class AccumulateGrad:
    """What ``next_functions`` shows for a leaf that requires grad (as PyTorch): the leaf is
    ``.variable``. One per leaf while it is referenced."""
    __slots__ = ("variable", "__weakref__")
    next_functions = ()

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "torch::autograd::AccumulateGrad"

    def __repr__(self):
        return f"<AccumulateGrad object at {id(self):#x}>"


_ACCUMULATORS = weakref.WeakValueDictionary()


def accumulate_grad(leaf):
    a = _ACCUMULATORS.get(id(leaf))
    if a is None or a.variable is not leaf:
        a = _ACCUMULATORS[id(leaf)] = AccumulateGrad(leaf)
    return a


class Node:
    __slots__ = ("_name", "fn", "next", "needs", "saved", "versions", "shape", "dtype", "metas",
                 "outs", "orefs", "hooks", "trace", "nout", "scope", "__weakref__")
    # shape, dtype: output 0's (two slots, not a tuple per node); metas: ((shape, dtype), ...)
    # per output for a multi-output op, else None. ``meta`` reads either.
    # orefs: weak references to the outputs when the op saved one (OUT), so backward can see an
    # in-place change to it; one bare reference for ``record``'s single output, else a tuple

    def __init__(self, name, fn, inputs, saved):
        # record/record_multi set the outputs' part: shape, dtype, metas, nout, outs, orefs
        self._name = name
        self.fn = fn
        k = len(inputs)
        # record() only builds a node if some input requires grad; one and two inputs are the
        # common cases, spelled out (this runs once per recorded op)
        if k == 1:
            t = inputs[0]
            gf = t.grad_fn
            self.next = ((gf if not t._oi else (gf, t._oi)) if gf is not None else t,)
            self.needs = _NEEDS1
        elif k == 2:
            a, b = inputs
            if a.requires_grad:
                gf = a.grad_fn
                ea = (gf if not a._oi else (gf, a._oi)) if gf is not None else a
                if b.requires_grad:
                    gf = b.grad_fn
                    self.next = (ea, (gf if not b._oi else (gf, b._oi)) if gf is not None else b)
                    self.needs = _NEEDS11
                else:
                    self.next = (ea, None)
                    self.needs = _NEEDS10
            else:
                gf = b.grad_fn
                self.next = (None, (gf if not b._oi else (gf, b._oi)) if gf is not None else b)
                self.needs = _NEEDS01
        else:
            nxt = []
            needs = []
            for t in inputs:
                if t.requires_grad:
                    needs.append(True)
                    gf = t.grad_fn
                    nxt.append((gf if not t._oi else (gf, t._oi)) if gf is not None else t)
                else:
                    needs.append(False)
                    nxt.append(None)
            self.next = tuple(nxt)
            self.needs = tuple(needs)
        self.saved = saved  # None once released (backward without retain_graph)
        if saved:
            # the version of every saved Tensor now (None for other values), to detect in-place
            # changes by backward; () when no Tensor is saved. Plain ints: the collector stops
            # tracking such a tuple, where (counter, version) pairs stayed tracked for as long
            # as the graph lived (full collections scan every tracked object)
            # all-zero versions (the common case) are shared tuples, not one per node; one and
            # two saved values (tanh, mul, matmul, ...) are spelled out
            n = len(saved)
            if n == 1:
                s = saved[0]
                if isinstance(s, Tensor):
                    v = s._vc[0]
                    self.versions = _V0 if v == 0 else (v,)
                else:
                    self.versions = ()
            elif n == 2:
                a, b = saved
                if isinstance(a, Tensor):
                    va = a._vc[0]
                    if isinstance(b, Tensor):
                        vb = b._vc[0]
                        self.versions = _V00 if va == 0 and vb == 0 else (va, vb)
                    else:
                        self.versions = _V0N if va == 0 else (va, None)
                elif isinstance(b, Tensor):
                    vb = b._vc[0]
                    self.versions = _VN0 if vb == 0 else (None, vb)
                else:
                    self.versions = ()
            else:
                vs = None
                i = 0
                for s in saved:  # a plain loop: cheaper than a comprehension for a few items
                    if isinstance(s, Tensor):
                        if vs is None:
                            vs = [None] * n
                        vs[i] = s._vc[0]
                    i += 1
                self.versions = () if vs is None else tuple(vs)
        else:
            self.versions = ()
        self.outs = None
        self.orefs = None
        self.metas = None
        self.hooks = None
        self.trace = None
        self.nout = 1

    @property
    def meta(self):
        """``(shape, dtype)`` of the output, or a tuple of them for a multi-output op."""
        return (self.shape, self.dtype) if self.metas is None else self.metas

    @property
    def released(self):
        """Whether a backward without retain_graph has freed what the op saved."""
        return self.saved is None

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
    def name(self):
        """The op's name (``"mul"``, what tg.viz draws); ``node.name()`` is PyTorch's name for
        this grad_fn (``"MulBackward0"``)."""
        return op_name(self._name, self)

    @name.setter
    def name(self, value):
        self._name = value

    @property
    def next_functions(self):
        """PyTorch's view of the edges: ``((grad_fn, output_index), ...)`` with
        ``(AccumulateGrad, 0)`` for a leaf that requires grad and ``(None, 0)`` for an input
        that does not."""
        out = []
        for item in self.next:
            if item is None:
                out.append((None, 0))
            else:
                out.append(node_edge(item) or (accumulate_grad(item), 0))
        return tuple(out)

    def _torch_name(self):
        return self.name().rsplit("::", 1)[-1]

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
        return f"<{self._torch_name()} object at {id(self):#x}>"


def node_edge(item):
    """An entry of ``node.next`` as ``(producer node, output index)``; None for a leaf or a
    constant."""
    if type(item) is Node:
        return (item, 0)
    if type(item) is tuple:
        return item
    return None


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
    # the output Tensor, built inline (this is the hottest path; _wrap is the other place);
    # requires_grad and grad_fn are set once, below
    out = _new(Tensor)
    out._data = data
    out.grad = None
    out._oi = 0
    out._hooks = None
    if view_of is None:
        out._vc = [0]
    else:
        as_view(out, view_of)
    # True: record; False: no_grad; None: inference_mode (thread-local, read only when some
    # thread is off the default)
    enabled = STATE.enabled if COUNTS.not_recording else True
    if enabled:
        for t in inputs:
            if t.requires_grad:
                break
        else:
            out.requires_grad = False
            out.grad_fn = None
            return out
        node = Node(name, vjp, inputs, saved)
        node.shape = data.shape
        node.dtype = data.dtype
        # output placeholders come first in ``saved`` (OUT, ...), so one check finds them
        if saved and type(saved[0]) is _Out:
            node.outs = (data,)
            node.orefs = _ref(out)  # weak: lets backward see in-place changes to the output
        out.grad_fn = node
        out.requires_grad = True
        if COUNTS.watching and STATE.watch:  # a viz scope is open or anomaly mode is on
            _watch(node, name, (data,))
        return out
    out.requires_grad = False
    out.grad_fn = None
    if enabled is None and view_of is None:
        out._vc = InferenceVersion((0,))
    return out


def as_view(out, src):
    """Make ``out`` (whose array shares ``src``'s memory) a view of ``src``'s base: it shares
    the version counter, remembers its base (``out._view``, the tensor that is not itself a
    view) and is listed in the counter after the version (weakly), so an in-place op on any
    member of the family can re-derive the graph of the others (ops/views.py)."""
    vc = src._vc
    out._vc = vc
    try:
        base = src._view
    except AttributeError:
        base = src
    out._view = base
    vc.append(_ref(out))
    n = len(vc)
    if n > 32 and not n & (n - 1):  # at 64, 128, ...: drop views that are gone (amortized)
        vc[1:] = [r for r in vc[1:] if r() is not None]


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
    enabled = STATE.enabled if COUNTS.not_recording else True
    if enabled is None:
        for t in outs:
            t._vc = InferenceVersion((0,))
    if enabled and any(t.requires_grad for t in inputs):
        if len(datas) == 1:  # the engine hands single-output nodes a bare gradient
            node = Node(name, _one(vjp), inputs, saved)
        else:
            node = Node(name, vjp, inputs, saved)
            node.metas = tuple((d.shape, d.dtype) for d in datas)
            node.nout = len(datas)
        node.shape = datas[0].shape
        node.dtype = datas[0].dtype
        if any(type(s) is _Out for s in saved):
            node.outs = datas
            node.orefs = tuple(_ref(t) for t in outs)
        for i, t in enumerate(outs):
            if differentiable is None or differentiable[i]:
                t.grad_fn = node
                t.requires_grad = True
                t._oi = i
        if COUNTS.watching and STATE.watch:
            _watch(node, name, datas)
    return outs
