"""Reading a computation graph: the vertices and edges reachable from some outputs.

The graph is read from ``tensor.grad_fn`` (a Node: ``.name``, ``.next``, ``.meta``, ``.nout``)
iteratively, never recursively, so a graph hundreds of thousands of ops deep can be read.
"""
from __future__ import annotations

from collections import deque

from ..autograd.node import node_edge
from ..tensor import Tensor

__all__ = ["OP", "LEAF", "CONST", "OUT", "RawGraph", "named_params", "const_meta"]

OP, LEAF, CONST, OUT = 0, 1, 2, 3


def named_params(params):
    """id(tensor) -> name from a dict, an iterable of (name, tensor), or a Module."""
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        params = params.named_parameters()
    if isinstance(params, dict):
        items = params.items()
    else:
        items = list(params)
    out = {}
    for i, it in enumerate(items):
        if not (isinstance(it, tuple) and len(it) == 2):
            raise TypeError(f"draw: params must be a dict name -> Tensor, (name, Tensor) pairs or "
                            f"a Module; item {i} is {type(it).__name__}")
        name, t = it
        if not isinstance(t, Tensor):
            raise TypeError(f"draw: params[{name!r}] is {type(t).__name__}, expected a Tensor")
        out.setdefault(id(t), str(name))
    return out


def const_meta(node, k):
    """``(shape, dtype)`` of what was fed to input ``k`` of ``node`` when that input needs no
    gradient (a CONST vertex: the graph keeps no edge to it), or None when it cannot be told
    for sure.

    The node only holds it among its saved values. ``saved[k]`` is taken for input ``k`` only
    when the saved values line up with the inputs: every other input that has an edge is the
    very tensor saved at its position (as ``matmul``/``linear`` save ``(x, weight)``), and at
    least one such input exists. A graph whose saved values were freed by ``backward()``
    (without ``retain_graph``) gives None."""
    saved = getattr(node, "saved", None)
    if not saved or k >= len(saved) or not hasattr(saved[k], "shape"):
        return None
    verified = False
    for j, item in enumerate(node.next):
        if j == k or item is None or j >= len(saved):
            continue
        s = saved[j]
        e = node_edge(item)
        if e is not None:
            same = isinstance(s, Tensor) and s.grad_fn is e[0] and s._oi == e[1]
        else:
            same = s is item
        if not same:
            return None
        verified = True
    if not verified:
        return None
    cand = saved[k]
    if isinstance(cand, Tensor):
        if cand.requires_grad:
            return None
        cand = cand._data
    return tuple(cand.shape), cand.dtype


class RawGraph:
    """The graph reachable from ``outputs`` as flat lists of vertices and edges.

    A vertex is an op (``OP``: its Node), a leaf tensor (``LEAF``), an input slot the op
    saved no tensor for (``CONST``: ``(op vertex, input index)``), or an output (``OUT``: the
    Tensor). Vertices are numbered in the order a breadth-first walk back from the outputs
    meets them."""

    def __init__(self, outputs):
        self.kind = []      # OP / LEAF / CONST / OUT
        self.ref = []       # Node, Tensor, (consumer vid, k), Tensor
        self.edges = []     # (src, dst, src_out_index, dst_in_index)
        self.const_at = {}  # (op vid, k) -> const vid
        node_v = {}
        leaf_v = {}
        self._keep = []
        queue = deque()

        def add(kind, ref):
            self.kind.append(kind)
            self.ref.append(ref)
            return len(self.kind) - 1

        def op_vertex(n):
            v = node_v.get(id(n))
            if v is None:
                v = add(OP, n)
                node_v[id(n)] = v
                queue.append(v)
            return v

        def leaf_vertex(t):
            v = leaf_v.get(id(t))
            if v is None:
                v = add(LEAF, t)
                leaf_v[id(t)] = v
            return v

        self.outputs = []
        for i, t in enumerate(outputs):
            if not isinstance(t, Tensor):
                raise TypeError(f"draw: output {i} is {type(t).__name__}, expected a Tensor")
            if not t.requires_grad:
                raise ValueError(
                    f"draw: output {i} (shape {tuple(t.shape)}) has no computation graph: it does "
                    f"not require grad (was it computed under no_grad, or from tensors without "
                    f"requires_grad=True?)")
            o = add(OUT, t)
            self.outputs.append(o)
            if t.grad_fn is not None:
                self.edges.append((op_vertex(t.grad_fn), o, t._oi, 0))
            else:
                self.edges.append((leaf_vertex(t), o, 0, 0))
        while queue:  # breadth-first from the outputs: iterative, any depth
            v = queue.popleft()
            n = self.ref[v]
            for k, item in enumerate(n.next):
                if item is None:
                    c = add(CONST, (v, k))
                    self.const_at[(v, k)] = c
                    self.edges.append((c, v, 0, k))
                elif node_edge(item) is not None:
                    m, i = node_edge(item)
                    self.edges.append((op_vertex(m), v, i, k))
                else:
                    self.edges.append((leaf_vertex(item), v, 0, k))
        self.nv = len(self.kind)
        self.ops = [v for v in range(self.nv) if self.kind[v] == OP]
