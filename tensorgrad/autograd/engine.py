"""The backward pass: iterative topological traversal, gradient fitting and accumulation.

No recursion anywhere: a 100,000-op chain backpropagates.

Two modes share one loop and every VJP (see autograd/node.py):
* plain ``backward()``: gradients are numpy arrays and each VJP gets the arrays of what its op
  saved, so no Tensor is built per gradient;
* ``create_graph=True``: gradients are Tensors, each VJP gets the saved Tensors and its
  operations are recorded, so gradients are differentiable.

The engine imports nothing above the Tensor: un-broadcasting a Tensor gradient uses the
Tensor's own ``sum_to_size``/``to`` methods.
"""
from __future__ import annotations

import numpy as np

from .._state import STATE
from ..tensor import Tensor, _wrap
from ..utils.hooks import RemovableHandle
from .node import _V0, _V00, Node

_ndarray = np.ndarray
_Tensor = Tensor
_Node = Node


# ---- fitting a gradient to its input (the one place un-broadcasting happens) -----------------
def _fit(g, shape, dtype):
    if g._data.shape != shape:
        g = g.sum_to_size(shape)
    if g._data.dtype != dtype:
        g = g.to(dtype)
    return g


def sum_to_np(g, shape):
    """Sum array ``g`` down to ``shape`` (the adjoint of broadcasting ``shape`` to g.shape)."""
    lead = g.ndim - len(shape)
    if lead < 0:
        g = g.reshape((1,) * -lead + g.shape)
        lead = 0
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape)
                                      if s == 1 and g.shape[i + lead] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if g.shape != shape:
        g = g.reshape(shape)
    return g


def _fit_np(g, shape, dtype):
    if g.shape != shape:
        g = sum_to_np(g, shape)
    if g.dtype != dtype:
        g = g.astype(dtype)
    return g


def _freed_error(node):
    return RuntimeError(
        f"Trying to backward through the graph a second time (op '{node.name}'), or to "
        f"access saved tensors after they have already been freed. Saved intermediate values "
        f"of the graph are freed when you call .backward() or tg.grad(). Specify "
        f"retain_graph=True if you need to backward through the graph a second time.")


def _check_versions(node):
    for s, v in zip(node.saved, node.versions):
        if v is not None and s._vc[0] != v:
            raise RuntimeError(
                f"{node.name}: one of the tensors needed for gradient computation has been "
                f"modified by an in-place operation: a saved tensor of shape {s._data.shape} is "
                f"at version {s._version}; expected version {v}. Use an out-of-place op (or "
                f".clone()) before modifying it.")


def _check_outputs(node):
    refs = node.orefs
    for i, r in enumerate(refs if type(refs) is tuple else (refs,)):
        t = r()
        # a recorded in-place op rebinds t._data to a new array and leaves the saved one intact
        if t is not None and t._vc[0] != 0 and t._data is node.outs[i]:
            raise RuntimeError(
                f"{node.name}: one of the tensors needed for gradient computation has been "
                f"modified by an in-place operation: output {i} of {node.name} (shape "
                f"{t._data.shape}) is at version {t._vc[0]}; expected version 0. Use an "
                f"out-of-place op (or .clone()) before modifying it.")


def _anomaly_backward(node, grads):
    for g in grads:
        if g is None:
            continue
        d = g._data if isinstance(g, Tensor) else g
        if d.dtype.kind in "fc" and not np.all(np.isfinite(d)):
            raise RuntimeError(
                f"detect_anomaly: op '{node.name}' returned NaN/inf in its backward gradient "
                f"(shape {d.shape}). The op was created at:\n{node.creation_site()}")


def _make_root_grad(t, g):
    if g is None:
        if t._data.size != 1:
            raise RuntimeError(
                f"backward: grad can be implicitly created only for scalar outputs; this "
                f"output has shape {t._data.shape}. Pass gradient= (a tensor of that shape).")
        return _wrap(np.ones(t._data.shape, dtype=t._data.dtype))
    if not isinstance(g, Tensor):
        g = _wrap(np.asarray(g, dtype=t._data.dtype))
    if g._data.shape != t._data.shape:
        raise RuntimeError(f"backward: gradient has shape {g._data.shape}, but the output has "
                           f"shape {t._data.shape}")
    return g


def _apply_hooks(hooks, g, fast):
    """Run gradient hooks (a dict id -> fn, in registration order) on ``g``."""
    for h in list(hooks.values()):
        r = h(_wrap(g) if fast else g)
        if r is not None:
            new = r._data if fast else r
            if new.shape != g.shape:
                raise RuntimeError(f"hook {getattr(h, '__name__', h)!r} changed the gradient's "
                                   f"shape from {tuple(g.shape)} to {tuple(new.shape)}; a hook "
                                   f"must return a gradient of the same shape (or None)")
            g = new
    return g


_BACKWARD_HOOKS = {}  # handle id -> (on_start, on_finish)


def register_backward_hooks(on_start=None, on_finish=None):
    """Observe every backward pass: ``on_start(outputs)`` runs before the graph is walked
    (e.g. to put gradient hooks on it, as ``tg.viz.grad_flow`` does), ``on_finish(outputs)``
    after. Returns a handle whose ``.remove()`` unregisters both."""
    h = RemovableHandle(_BACKWARD_HOOKS)
    _BACKWARD_HOOKS[h.id] = (on_start, on_finish)
    return h


def run_backward(outputs, grad_outputs, retain_graph, create_graph, capture=None,
                 accumulate=True):
    """Core loop. ``capture``: list of (tensor, slot) whose gradients are returned (tg.grad)."""
    observers = list(_BACKWARD_HOOKS.values()) if _BACKWARD_HOOKS else ()
    for start, _ in observers:
        if start is not None:
            start(outputs)
    prev = STATE.enabled
    STATE.enabled = bool(create_graph)
    try:
        return _run(outputs, grad_outputs, retain_graph, create_graph, capture, accumulate)
    finally:
        STATE.enabled = prev
        for _, finish in observers:
            if finish is not None:
                finish(outputs)


def _run(outputs, grad_outputs, retain_graph, create_graph, capture, accumulate):
    fast = not create_graph
    captured = {}
    cap_leaf, cap_node = {}, {}
    if capture is not None:
        for t, slot in capture:
            if t.grad_fn is None:
                cap_leaf[id(t)] = slot
            else:
                cap_node[(t.grad_fn, t._oi)] = slot
    handed = set()  # ids of arrays already stored as a leaf's .grad (avoid aliasing)
    # Leaves with hooks: their gradient is summed over every edge into them first; when the
    # last edge has delivered, the gradient hooks run, then accumulation, then the
    # post-accumulate hooks (so data-parallel all-reduce can start while backward goes on).
    pending = {}  # id(leaf) -> [leaf, summed gradient or None, edges still to come]

    def to_leaf(leaf, g):
        h = leaf._hooks
        if h is not None:
            g = _apply_hooks(h[0], g, fast)
        if cap_leaf:
            slot = cap_leaf.get(id(leaf))
            if slot is not None:
                captured[slot] = g if slot not in captured else captured[slot] + g
                return
        if not accumulate:
            return
        if not fast:
            leaf.grad = g if leaf.grad is None else leaf.grad + g
        elif leaf.grad is None:
            if not g.flags.owndata or not g.flags.writeable or id(g) in handed:
                g = g.copy()
            handed.add(id(g))
            leaf.grad = _wrap(g)
        else:
            leaf.grad = _wrap(leaf.grad._data + g)
        if h is not None:
            for fn in list(h[1].values()):
                fn(leaf)

    def hooked_edge(leaf, g):
        p = pending[id(leaf)]
        if g is not None:
            p[1] = g if p[1] is None else p[1] + g
        p[2] -= 1
        if p[2] == 0 and p[1] is not None:
            to_leaf(leaf, p[1])

    # 1) dependency counts over the reachable graph (iterative DFS)
    deps = {}
    roots = []
    for t in outputs:
        if t.grad_fn is not None and t.grad_fn not in deps:
            deps[t.grad_fn] = 0
            roots.append(t.grad_fn)
        elif t.grad_fn is None and t._hooks is not None:
            p = pending.setdefault(id(t), [t, None, 0])
            p[2] += 1
    stack = list(roots)
    while stack:
        n = stack.pop()
        for item in n.next:
            tp = type(item)
            if tp is _Node:
                m = item
            elif tp is tuple:
                m = item[0]
            else:
                if item is not None and item._hooks is not None:
                    p = pending.setdefault(id(item), [item, None, 0])
                    p[2] += 1
                continue
            if m in deps:
                deps[m] += 1
            else:
                deps[m] = 1
                stack.append(m)

    # 2) seed the output gradients
    buf = {}
    for t, g in zip(outputs, grad_outputs):
        g = g._data if fast else g
        handed.add(id(g))
        if t.grad_fn is None:
            if not t.requires_grad:
                raise RuntimeError("backward: the tensor does not require grad and does not "
                                   "have a grad_fn (was it computed under no_grad, or from "
                                   "tensors without requires_grad=True?)")
            if t._hooks is not None:
                hooked_edge(t, g)
            else:
                to_leaf(t, g)
            continue
        n = t.grad_fn
        if n.nout == 1:
            buf[n] = g if n not in buf else buf[n] + g
        else:
            lst = buf.setdefault(n, [None] * n.nout)
            lst[t._oi] = g if lst[t._oi] is None else lst[t._oi] + g

    # 3) Kahn's algorithm: a node runs once every consumer has contributed. The node made ready
    # last goes next (a stack); it is handed over in locals (``n, gs``) instead of through
    # ``ready`` and ``buf``, which a chain of single-consumer ops never touches then.
    fit = _fit_np if fast else _fit
    ready = [n for n in roots if deps[n] == 0]
    anomaly = STATE.anomaly
    n = ng = None
    while n is not None or ready:
        if n is None:
            n = ready.pop()
            gs = buf.pop(n, None)
        if n.nout == 1:
            if gs is not None:
                if n.hooks:
                    gs = _apply_hooks(n.hooks.get(0, ()), gs, fast)
                if cap_node:
                    slot = cap_node.get((n, 0))
                    if slot is not None:
                        captured[slot] = gs
            has = gs is not None
        else:
            has = False
            if gs is not None:
                for i in range(n.nout):
                    gi = gs[i]
                    if gi is not None:
                        if n.hooks and i in n.hooks:
                            gs[i] = gi = _apply_hooks(n.hooks[i], gi, fast)
                        if cap_node:
                            slot = cap_node.get((n, i))
                            if slot is not None:
                                captured[slot] = gi
                        has = True
                gs = tuple(gs)
        nxt = n.next
        if has:
            sv = n.saved
            if sv is None:  # released by an earlier backward
                raise _freed_error(n)
            vs = n.versions
            if vs:  # the shared all-zero tuples (node.py) are checked without a loop
                if vs is _V00:
                    if sv[0]._vc[0] or sv[1]._vc[0]:
                        _check_versions(n)  # raises, naming the op
                elif vs is _V0:
                    if sv[0]._vc[0]:
                        _check_versions(n)
                else:
                    for s, v in zip(sv, vs):
                        if v is not None and s._vc[0] != v:
                            _check_versions(n)
            ors = n.orefs
            if ors is not None:
                if type(ors) is tuple:
                    _check_outputs(n)
                else:
                    t = ors()
                    if t is not None and t._vc[0]:
                        _check_outputs(n)
            if fast:
                if not sv:
                    in_grads = n.fn(n, gs)
                elif n.outs is None:  # saved Tensors become their arrays (inlined n.arrays())
                    if len(sv) == 2:  # mul, div, matmul, ...: spelled out
                        a, b = sv
                        in_grads = n.fn(n, gs, a._data if isinstance(a, _Tensor) else a,
                                        b._data if isinstance(b, _Tensor) else b)
                    else:
                        in_grads = n.fn(n, gs, *[s._data if isinstance(s, _Tensor) else s
                                                 for s in sv])
                elif len(sv) == 1 and n.nout == 1:  # saved=(OUT,): exp, tanh, sigmoid, ...
                    in_grads = n.fn(n, gs, n.outs[0])
                else:
                    in_grads = n.fn(n, gs, *n.arrays())
            else:
                in_grads = n.fn(n, gs, *n.tensor_args())
            if anomaly:
                _anomaly_backward(n, in_grads)
            if not retain_graph and sv:
                n.saved = None
                n.outs = None
            n = None  # the next node: the last one this one makes ready, and its gradient
            ng = None
            for item, g in zip(nxt, in_grads):
                tp = type(item)
                if tp is _Node:  # output 0 of its op (see node.py: edges)
                    m = item
                    i = 0
                elif tp is tuple:
                    m, i = item
                elif item is None:
                    continue
                else:  # a leaf
                    if item._hooks is not None:
                        hooked_edge(item, None if g is None else
                                    fit(g, item._data.shape, item._data.dtype))
                    elif g is not None:
                        to_leaf(item, fit(g, item._data.shape, item._data.dtype))
                    continue
                c = deps[m] - 1
                deps[m] = c
                if m.nout == 1:
                    if g is not None:
                        dt = m.dtype
                        if g.shape != m.shape or (g.dtype is not dt and g.dtype != dt):
                            g = fit(g, m.shape, dt)
                    if c:  # more gradients to come
                        if g is not None:
                            old = buf.get(m)
                            buf[m] = g if old is None else old + g
                        continue
                    if buf:  # a chain of single-consumer ops never stores in buf
                        old = buf.pop(m, None)
                        if old is not None:
                            g = old if g is None else old + g
                else:
                    if g is not None:
                        meta = m.metas[i]
                        if g.shape != meta[0] or g.dtype != meta[1]:
                            g = fit(g, meta[0], meta[1])
                        lst = buf.setdefault(m, [None] * m.nout)
                        lst[i] = g if lst[i] is None else lst[i] + g
                    if c:
                        continue
                    g = buf.pop(m, None)
                if n is not None:  # an earlier one made ready: it waits on the stack
                    ready.append(n)
                    if ng is not None:
                        buf[n] = ng
                n, ng = m, g
        else:
            n = None
            for item in nxt:
                tp = type(item)
                if tp is _Node or tp is tuple:
                    m = item if tp is _Node else item[0]
                    c = deps[m] - 1
                    deps[m] = c
                    if c == 0:
                        ready.append(m)
                elif item is not None and item._hooks is not None:
                    hooked_edge(item, None)
        gs = ng
    if fast:
        return {k: _wrap(v) for k, v in captured.items()}
    return captured


def backward(tensor, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """``tensor.backward(...)``: accumulate d(tensor)/d(leaf) into every leaf's ``.grad``."""
    if retain_graph is None:
        retain_graph = create_graph
    g = _make_root_grad(tensor, gradient)
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        caps = [(t, i) for i, t in enumerate(inputs)]
        got = run_backward([tensor], [g], retain_graph, create_graph, capture=caps,
                           accumulate=False)
        for i, t in enumerate(inputs):
            if i in got:
                gi = _fit(got[i], t._data.shape, t._data.dtype)
                if not create_graph:
                    gi = _wrap(gi._data.copy())
                t.grad = gi if t.grad is None else t.grad + gi
        return
    run_backward([tensor], [g], retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned (``.grad`` untouched)."""
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"grad: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    for i, t in enumerate(outputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: output {i} does not require grad and does not have a grad_fn")
    gs = [_make_root_grad(t, g) for t, g in zip(outputs, grad_outputs)]
    if retain_graph is None:
        retain_graph = create_graph
    caps = [(t, i) for i, t in enumerate(inputs)]
    got = run_backward(outputs, gs, retain_graph, create_graph, capture=caps, accumulate=False)
    res = []
    for i, t in enumerate(inputs):
        gi = got.get(i)
        if gi is None:
            if not allow_unused:
                raise RuntimeError(f"grad: input {i} (shape {t._data.shape}) was not used in the "
                                   f"graph of the outputs; pass allow_unused=True to get None")
        else:
            gi = _fit(gi, t._data.shape, t._data.dtype)
            if not create_graph:
                gi = gi.detach()
        res.append(gi)
    return tuple(res)
