"""Drawing computation graphs: ``tg.viz.draw(loss, model=model, show_grads=True)``.

The graph is read from ``tensor.grad_fn`` (a Node: ``.name``, ``.next``, ``.meta``, ``.nout``)
iteratively, never recursively, so a graph hundreds of thousands of ops deep draws. Then, to
keep a big graph readable:

1. ops are grouped in one box per module call (see ``scope.trace``) or named scope;
2. repeated structure is folded: consecutive calls of a block with identical structure (RNN
   time steps, a stack of identical layers) are drawn once, marked ×N, with the edge from one
   step to the next shown as a dashed "next step" loop; long periodic chains of ops are folded
   the same way;
3. past ``max_nodes`` the ops farthest from the outputs are folded into one summary node that
   says what it holds ("… 18,500 more ops folded: 9,000 mul, …").

The result is DOT text written here (no Python Graphviz bindings needed); pictures come from
the ``dot`` program (see render.py).
"""
from __future__ import annotations

import html
import math
import os
from collections import Counter, deque

import numpy as np

from ..tensor import Tensor
from . import render as _render
from .scopes import Scope, _tag

__all__ = ["draw", "Graph"]

OP, LEAF, CONST, OUT = 0, 1, 2, 3

# palette
C_OP = "#f3f3f3"
C_OP_BORDER = "#8a8a8a"
C_LEAF = "#d6eaff"
C_PARAM = "#ffe7b8"
C_PARAM_BORDER = "#c98a12"
C_OUT = "#c8efc4"
C_NAN = "#ff2bd6"
C_ZERO = "#e0e0e0"
CLUSTER_FILLS = ["#f5f9ff", "#fbf7ef", "#f3fbf3", "#fbf3f8"]
CLUSTER_BORDERS = ["#6d8fbf", "#b3955b", "#6aa46a", "#b36a94"]
# a viridis-like ramp: small gradients dark violet, large gradients yellow
RAMP = [(0.0, (68, 1, 84)), (0.25, (59, 82, 139)), (0.5, (33, 145, 140)),
        (0.75, (94, 201, 98)), (1.0, (253, 231, 37))]


def _ramp(t):
    t = min(1.0, max(0.0, t))
    for (t0, c0), (t1, c1) in zip(RAMP, RAMP[1:]):
        if t <= t1:
            u = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
            r, g, b = (round(a + (b_ - a) * u) for a, b_ in zip(c0, c1))
            return f"#{r:02x}{g:02x}{b:02x}"
    r, g, b = RAMP[-1][1]
    return f"#{r:02x}{g:02x}{b:02x}"


def _text_on(hexcolor):
    r, g, b = (int(hexcolor[i:i + 2], 16) for i in (1, 3, 5))
    return "#000000" if (0.299 * r + 0.587 * g + 0.114 * b) > 140 else "#ffffff"


def _esc(s) -> str:
    return html.escape(str(s), quote=True)


def _shape(shape) -> str:
    if len(shape) == 0:
        return "scalar"
    return str(tuple(int(d) for d in shape))


def _dtype(dt) -> str:
    return np.dtype(dt).name


def _fmt_norm(x) -> str:
    if x is None:
        return "–"
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf"
    if x == 0:
        return "0"
    return f"{x:.2e}"


def _named_params(params):
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


class _Raw:
    """The reachable graph as flat arrays of vertices and edges."""

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
                elif type(item) is tuple:
                    self.edges.append((op_vertex(item[0]), v, item[1], k))
                else:
                    self.edges.append((leaf_vertex(item), v, 0, k))
        self.nv = len(self.kind)
        self.ops = [v for v in range(self.nv) if self.kind[v] == OP]


def _rel(qualname, parent):
    """A scope's name below its parent scope: 'Outer.blocks.1' under 'Outer' -> 'blocks.1'."""
    if parent is not None and qualname.startswith(parent.qualname + "."):
        return qualname[len(parent.qualname) + 1:]
    return qualname.rsplit(".", 1)[-1]


class _Cluster:
    __slots__ = ("key", "label", "parent", "children", "members", "depth", "folded")

    def __init__(self, key, label, parent):
        self.key = key
        self.label = label
        self.parent = parent
        self.children = []
        self.members = []
        self.depth = 0 if parent is None else parent.depth + 1
        self.folded = 0


class Graph:
    """A drawn computation graph: ``.source`` (DOT), ``.save(path)``, ``.pipe(fmt)``;
    notebooks show it through ``_repr_svg_``. ``.stats`` says what was drawn and folded."""

    def __init__(self, source: str, stats: dict):
        self.source = source
        self.stats = stats
        self._svg = None

    def pipe(self, format: str = "svg") -> bytes:  # noqa: A002 (graphviz's name)
        """The rendered picture as bytes (needs the Graphviz ``dot`` program)."""
        return _render.render_bytes(self.source, format)

    def svg(self) -> str:
        if self._svg is None:
            self._svg = self.pipe("svg").decode("utf-8")
        return self._svg

    def save(self, path, format: str | None = None):  # noqa: A002
        """Write the graph; the format comes from the suffix (.dot/.gv, .svg, .png, .pdf, ...).
        Returns the path."""
        path = os.fspath(path)
        ext = os.path.splitext(path)[1].lower()
        if format is None:
            if ext in (".dot", ".gv"):
                format = "dot"
            elif ext in _render.FORMATS:
                format = _render.FORMATS[ext]
            else:
                raise ValueError(f"Graph.save: cannot tell the format from {path!r}; use a .dot, "
                                 f".svg, .png or .pdf suffix, or pass format=")
        d = os.path.dirname(path)
        if d:
            os.makedirs(d, exist_ok=True)
        if format in ("dot", "gv"):
            with open(path, "w", encoding="utf-8") as f:
                f.write(self.source)
        else:
            data = self.svg().encode("utf-8") if format == "svg" else self.pipe(format)
            with open(path, "wb") as f:
                f.write(data)
        return path

    def _repr_svg_(self):
        if _render.find_dot() is None:
            return None  # the notebook falls back to __repr__, which says what to install
        return self.svg()

    def __repr__(self):
        s = self.stats
        hint = "" if _render.find_dot() else " (install Graphviz 'dot' to render; .source has DOT)"
        return (f"<tensorgrad.viz.Graph: {s['ops']} ops, {s['drawn_ops']} drawn, "
                f"{s['leaves']} leaves{hint}>")


# ---------------------------------------------------------------------------------------------
def draw(*outputs, params=None, model=None, show_grads=False, grads=None, max_nodes=300,
         collapse=True, output_names=None, show_constants=True, rankdir="TB", title=None,
         fontsize=11, show_dtype=True, split_shared=8):
    """Draw the computation graph that produced ``outputs``.

    params:  names for parameters: a dict name -> Tensor, (name, Tensor) pairs or a Module.
    model:   a Module: names its parameters and, for ops recorded under ``tg.viz.trace(model)``,
             gives one box per module call (without a trace, ops that use a module's
             parameters directly are boxed with that module).
    show_grads: colour nodes and edges by gradient norm (log scale); NaN/inf in magenta.
             Leaves use ``.grad``; op nodes need ``grads=`` from ``tg.viz.grad_flow``.
    grads:   a GradFlow (from ``with tg.viz.grad_flow(loss) as flow: loss.backward()``);
             implies show_grads.
    max_nodes: op nodes drawn at most; the rest fold into one summary node.
    collapse: fold repeated structure (True: runs of >= 3 repeats; an int: that many; False: off).
    rankdir: "TB" (outputs at the bottom), "LR", "BT", "RL" or "auto".
    split_shared: a leaf read by more than this many drawn ops (a weight shared by every
             step) is drawn as a small copy next to each reader instead of one node with a
             fan of long edges (None: never).
    """
    if not outputs:
        raise TypeError("draw: expected at least one output Tensor")
    if len(outputs) == 1 and isinstance(outputs[0], (list, tuple)):
        outputs = tuple(outputs[0])
    if grads is not None:
        if not callable(getattr(grads, "norm", None)):
            raise TypeError(f"draw: grads must be a GradFlow from tg.viz.grad_flow(...) or "
                            f"tg.viz.record_grad_norms(...), got {type(grads).__name__}")
        show_grads = True
    if max_nodes is not None and (not isinstance(max_nodes, int) or max_nodes < 1):
        raise ValueError(f"draw: max_nodes must be a positive int or None, got {max_nodes!r}")
    min_rep = 0 if collapse is False else (3 if collapse is True else int(collapse))
    if collapse is not False and min_rep < 2:
        raise ValueError(f"draw: collapse must be True/False or an int >= 2, got {collapse!r}")
    names = _named_params(params)
    if model is not None:
        for k, v in _named_params(model).items():
            names.setdefault(k, v)
    if output_names is not None and len(output_names) != len(outputs):
        raise ValueError(f"draw: got {len(output_names)} output_names for {len(outputs)} outputs")

    raw = _Raw(outputs)
    b = _Builder(raw, names, model, show_grads, grads, max_nodes, min_rep, output_names,
                 show_constants, rankdir, title, fontsize, show_dtype)
    b.split_shared = split_shared
    return b.build()


class _Builder:
    def __init__(self, raw, names, model, show_grads, grads, max_nodes, min_rep, output_names,
                 show_constants, rankdir, title, fontsize, show_dtype):
        self.raw = raw
        self.names = names
        self.model = model
        self.show_grads = show_grads
        self.flow = grads
        self.max_nodes = max_nodes
        self.min_rep = min_rep
        self.output_names = output_names
        self.show_constants = show_constants
        self.rankdir = rankdir
        self.title = title
        self.fontsize = fontsize
        self.show_dtype = show_dtype
        nv = raw.nv
        self.rep = list(range(nv))
        self.groups = []         # fold groups: dict(label, count, kind)
        self.inst = {}           # vid -> list of (group index, instance index)
        self.mult = [1] * nv     # original vertices each visible vertex stands for

    # -- union of folded vertices -------------------------------------------------------------
    def find(self, v):
        rep = self.rep
        r = v
        while rep[r] != r:
            r = rep[r]
        while rep[v] != r:
            rep[v], v = r, rep[v]
        return r

    # -- scopes --------------------------------------------------------------------------------
    def _scopes(self):
        raw = self.raw
        self.scope = {}
        self.seq = {}
        for v in raw.ops:
            t = _tag(raw.ref[v])
            if t is not None:
                self.scope[v] = t[0]
                self.seq[v] = t[1]
        if not self.scope and self.model is not None and self.names:
            self._heuristic_scopes()

    def _heuristic_scopes(self):
        """No trace: box each op that reads parameters of exactly one module with that module."""
        raw = self.raw
        types = {}
        if hasattr(self.model, "named_modules"):
            types = {n: type(m).__name__ for n, m in self.model.named_modules()}
        made = {}
        for (s, d, _, _) in raw.edges:
            if raw.kind[s] != LEAF or raw.kind[d] != OP:
                continue
            name = self.names.get(id(raw.ref[s]))
            if name is None or "." not in name:
                continue
            path = name.rsplit(".", 1)[0]
            cur = self.scope.get(d)
            if cur is not None and cur.path != path:
                self.scope[d] = False  # ops reading several modules' parameters stay outside
                continue
            if cur is False:
                continue
            sc = made.get(path)
            if sc is None:
                sc = made[path] = Scope(path.rsplit(".", 1)[-1], path, "module", types.get(path),
                                        None, 0, path)
            self.scope[d] = sc
        for v in [v for v, s in self.scope.items() if s is False]:
            del self.scope[v]
        for i, v in enumerate(raw.ops):  # ops were found from the output back: reverse it
            self.seq[v] = len(raw.ops) - i

    # -- folding repeated module calls ----------------------------------------------------------
    def _fold_scopes(self):
        raw = self.raw
        members = {}   # Scope -> op vids (the scope and everything nested in it)
        children = {}  # parent Scope (None = top) -> child Scopes
        seen = set()
        for v, s in self.scope.items():
            for a in s.chain():
                members.setdefault(a, []).append(v)
                if a not in seen:
                    seen.add(a)
                    children.setdefault(a.parent, []).append(a)
        for lst in members.values():
            lst.sort(key=self.seq.__getitem__)
        inputs = {}
        for (s, d, oi, k) in raw.edges:
            if raw.kind[d] == OP:
                inputs.setdefault(d, []).append((k, s, oi))
        for lst in inputs.values():
            lst.sort()

        def signature(sc):
            mem = members[sc]
            pos = {v: i for i, v in enumerate(mem)}
            sig = []
            for v in mem:
                n = raw.ref[v]
                ins = []
                for (k, s, oi) in inputs.get(v, ()):
                    kind = raw.kind[s]
                    if kind == OP and s in pos:
                        ins.append(("in", pos[s], oi))
                    else:
                        ins.append(("x", kind))
                rel = tuple(x.name for x in self.scope[v].chain()[len(sc.chain()):])
                sig.append((n.name, str(n.meta), tuple(ins), rel))
            return tuple(sig)

        def key(sc):
            ident = sc.type_name if sc.kind == "module" else sc.name
            return (sc.kind, ident, signature(sc))

        self.fold_label = {}
        self.fold_box = {}  # rep Scope -> shared box for a folded run of several sibling scopes
        todo = [None]
        while todo:
            parent = todo.pop()
            kids = children.get(parent, [])
            kids.sort(key=lambda s: self.seq[members[s][0]])
            keys = [key(k) for k in kids]
            i = 0
            while i < len(kids):
                best = None
                for p in range(1, 5):  # runs of one repeated scope, or of a repeated group
                    if i + p * self.min_rep > len(kids):
                        break
                    r = 1
                    while (i + (r + 1) * p <= len(kids)
                           and keys[i + r * p:i + (r + 1) * p] == keys[i:i + p]):
                        r += 1
                    if r >= self.min_rep and (best is None or r * p > best[0] * best[1]):
                        best = (r, p)
                if best is None:
                    todo.append(kids[i])
                    i += 1
                    continue
                r, p = best
                if i > 0 and p > 1:
                    # align blocks with how the sequence starts: (Linear, Sigmoid) ×N rather
                    # than (Sigmoid, Linear) ×N when a lone Linear came just before
                    t0 = kids[i - 1].type_name or kids[i - 1].name
                    for sft in range(1, p):
                        k = kids[i + sft]
                        if (k.type_name or k.name) != t0:
                            continue
                        r2 = 0
                        while (i + sft + (r2 + 1) * p <= len(kids) and
                               keys[i + sft + r2 * p:i + sft + (r2 + 1) * p]
                               == keys[i + sft:i + sft + p]):
                            r2 += 1
                        if r2 == r:
                            todo.extend(kids[i:i + sft])
                            i += sft
                        break
                g = len(self.groups)
                run = kids[i:i + r * p]
                rep = run[:p]
                names_ = [s.qualname for s in run]
                same = p == 1 and all(n == names_[0] for n in names_)
                lab = names_[0] if same else f"{names_[0]} … {names_[-1]}"
                types = ", ".join(dict.fromkeys(s.type_name or s.name for s in rep))
                self.groups.append({"label": lab, "count": r, "kind": "scope", "type": types,
                                    "next": "next step" if same else "next block"})
                if p == 1:
                    self.fold_label[rep[0]] = (r, same, names_[-1])
                else:
                    box = {"count": r, "first": names_[0], "last": names_[-1], "types": types,
                           "uid": g}
                    for sc in rep:
                        self.fold_box[sc] = box
                rep_mem = [v for sc in rep for v in members[sc]]
                for b in range(r):
                    mem = [v for sc in run[b * p:(b + 1) * p] for v in members[sc]]
                    for q, v in enumerate(mem):
                        self.inst.setdefault(v, []).append((g, b))
                        if b:
                            self.rep[v] = rep_mem[q]
                todo.extend(rep)
                i += r * p

    # -- folding periodic chains ----------------------------------------------------------------
    def _fold_chains(self):
        """Fold periodic chains of ops. A chain link may carry a small side tree (ops fed only
        by leaves/constants, e.g. ``x[t] @ W_x`` in an unrolled RNN step)."""
        raw = self.raw
        find = self.find
        vis = [v for v in raw.ops if find(v) == v]
        visset = set(vis)
        cons = {}      # op -> consumers (visible vertices, any kind)
        opins = {}     # op -> op-producers, in input order
        insig = {}
        for (s, d, oi, k) in raw.edges:
            if s in visset and find(d) == d:
                cons.setdefault(s, set()).add(d)
            if d in visset:
                insig.setdefault(d, []).append((k, raw.kind[s] if raw.kind[s] != OP else 9))
                if raw.kind[s] == OP and find(s) == s:
                    opins.setdefault(d, []).append((k, s))
        for lst in opins.values():
            lst.sort()
        scope = self.scope
        side = {}  # op -> tuple of vids of its side tree (itself last), or None

        def side_tree(v, depth=0, limit=4):
            if v in side:
                return side[v]
            if depth > limit:
                return "trunc"
            c = cons.get(v)
            res = None
            if c is not None and len(c) == 1:
                (d,) = c
                if d in visset and scope.get(d) is scope.get(v):
                    acc = []
                    ok = True
                    for _, p in opins.get(v, ()):
                        t = side_tree(p, depth + 1, limit)
                        if t is None or t == "trunc" or len(acc) + len(t) >= limit:
                            ok = False
                            if t == "trunc":
                                return "trunc"  # undecided from here: not memoised
                            break
                        acc.extend(t)
                    if ok:
                        res = tuple(acc) + (v,)
            side[v] = res
            return res

        for v in vis:
            side_tree(v)

        def spine_ins(v):
            return {p for _, p in opins.get(v, ()) if side.get(v) is None and side.get(p) is None}

        def nxt(u):
            c = cons.get(u)
            if c is None or len(c) != 1 or side.get(u) is not None:
                return None
            (v,) = c
            if v not in visset or spine_ins(v) != {u} or scope.get(v) is not scope.get(u):
                return None
            return v

        def sig1(v):
            n = raw.ref[v]
            return (n.name, str(n.meta), tuple(sorted(insig.get(v, ()))))

        has_prev = set()
        nexts = {}
        for u in vis:
            v = nxt(u)
            if v is not None:
                nexts[u] = v
                has_prev.add(v)
        for start in vis:
            if start in has_prev or start not in nexts:
                continue
            chain = [start]
            while chain[-1] in nexts:
                chain.append(nexts[chain[-1]])
            if len(chain) < 2 * self.min_rep:
                continue
            units, sig = [], []
            for v in chain:
                extra = [w for _, p in opins.get(v, ()) if side.get(p) is not None
                         for w in side[p]]
                units.append(extra + [v])
                sig.append((sig1(v), tuple(sig1(w) for w in extra)))
            self._fold_periodic(chain, units, sig)

    def _fold_periodic(self, chain, units, sig, pmax=12):
        L = len(chain)
        i = 0
        while i < L:
            best = None
            for p in range(1, pmax + 1):
                if i + p * self.min_rep > L:
                    break
                r = 1
                while i + (r + 1) * p <= L and sig[i + r * p:i + (r + 1) * p] == sig[i:i + p]:
                    r += 1
                if r >= self.min_rep and (best is None or r * p > best[0] * best[1]):
                    best = (r, p)
            if best is None:
                i += 1
                continue
            r, p = best
            g = len(self.groups)
            rep_units = units[i:i + p]
            self.groups.append({"label": " → ".join(self.raw.ref[chain[i + q]].name
                                                   for q in range(p)),
                                "count": r, "kind": "chain",
                                "rep": [w for u in rep_units for w in u]})
            for b in range(r):
                for q in range(p):
                    for w, w0 in zip(units[i + b * p + q], rep_units[q]):
                        self.inst.setdefault(w, []).append((g, b))
                        if b:
                            self.rep[w] = w0
            i += r * p

    # -- leaves and constants that only feed folded ops follow them -----------------------------
    def _fold_inputs(self):
        raw = self.raw
        find = self.find
        consumers = {}
        for (s, d, oi, k) in raw.edges:
            if raw.kind[s] == LEAF:
                consumers.setdefault(s, []).append((d, k))
        leaf_at = {}
        for (s, d, oi, k) in raw.edges:
            if raw.kind[s] == LEAF and raw.kind[d] == OP:
                leaf_at[(d, k)] = s
        for s, lst in consumers.items():
            if all(raw.kind[d] == OP and find(d) != d for d, _ in lst):
                d, k = lst[0]
                other = leaf_at.get((find(d), k))
                if other is not None and other != s:
                    self.rep[s] = other
        for (v, k), c in raw.const_at.items():
            r = find(v)
            if r != v:
                other = raw.const_at.get((r, k))
                if other is not None and other != c:
                    self.rep[c] = other

    # -- node limit -----------------------------------------------------------------------------
    def _limit(self):
        raw = self.raw
        find = self.find
        self.limited = set()
        vis_ops = [v for v in raw.ops if find(v) == v]
        self.summary = None
        if self.max_nodes is None or len(vis_ops) <= self.max_nodes:
            return
        prod = {}
        for (s, d, oi, k) in raw.edges:
            S, D = find(s), find(d)
            if S != D:
                prod.setdefault(D, []).append(S)
        keep = set()
        seen = set(raw.outputs)
        q = deque(raw.outputs)
        while q and len(keep) < self.max_nodes:
            v = q.popleft()
            for s in prod.get(v, ()):
                if s not in seen:
                    seen.add(s)
                    if raw.kind[s] == OP:
                        if len(keep) >= self.max_nodes:
                            continue
                        keep.add(s)
                    q.append(s)
        hidden_ops = [v for v in vis_ops if v not in keep]
        counts = Counter()
        for v in raw.ops:
            if find(v) not in keep:
                counts[raw.ref[v].name] += 1
        self.limited = set(hidden_ops)
        # leaves / constants whose every consumer is hidden go too
        cons = {}
        for (s, d, oi, k) in raw.edges:
            S = find(s)
            if raw.kind[S] in (LEAF, CONST):
                cons.setdefault(S, set()).add(find(d))
        hidden_leaves = 0
        for S, ds in cons.items():
            if all(d in self.limited for d in ds):
                self.limited.add(S)
                if raw.kind[S] == LEAF:
                    hidden_leaves += 1
        self.summary = (sum(counts.values()), counts, hidden_leaves)

    # -- gradient norms -------------------------------------------------------------------------
    def _grad_norms(self):
        raw = self.raw
        self.gnorm = {}   # visible vid -> (min, max, nonfinite) over what it stands for
        if not self.show_grads:
            return
        flow = self.flow
        find = self.find
        for v in range(raw.nv):
            k = raw.kind[v]
            val = None
            if k == OP and flow is not None:
                n = raw.ref[v]
                vals = [flow.norm(n, i) for i in range(n.nout)]
                vals = [x for x in vals if x is not None]
                if vals:
                    val = math.sqrt(sum(x * x for x in vals)) if all(map(math.isfinite, vals)) \
                        else float("nan")
            elif k == LEAF:
                g = raw.ref[v].grad
                if g is not None:
                    d = np.asarray(g.data, dtype=np.float64)
                    val = float(np.sqrt(np.sum(d * d))) if d.size else 0.0
            elif k == OUT and flow is not None:
                t = raw.ref[v]
                if t.grad_fn is not None:
                    val = flow.norm(t.grad_fn, t._oi)
            if val is None:
                continue
            r = find(v)
            lo, hi, bad = self.gnorm.get(r, (math.inf, -math.inf, False))
            if math.isfinite(val):
                self.gnorm[r] = (min(lo, val), max(hi, val), bad)
            else:
                self.gnorm[r] = (lo, hi, True)
        fin = [x for (lo, hi, bad) in self.gnorm.values() for x in (lo, hi)
               if math.isfinite(x) and x > 0]
        if fin:
            self.glo, self.ghi = math.log10(min(fin)), math.log10(max(fin))
            if self.ghi - self.glo < 1e-9:
                self.glo -= 0.5
                self.ghi += 0.5
        else:
            self.glo, self.ghi = -1.0, 1.0

    def _gcolor(self, v):
        g = self.gnorm.get(v)
        if g is None:
            return None
        lo, hi, bad = g
        if bad:
            return C_NAN
        if hi <= 0:
            return C_ZERO
        return _ramp((math.log10(hi) - self.glo) / (self.ghi - self.glo))

    def _gcolor_lo(self, v):
        """Colour of the smallest norm a folded node stands for (None if it is one value)."""
        g = self.gnorm.get(v)
        if g is None or g[2] or self.mult[v] <= 1:
            return None
        lo, hi = g[0], g[1]
        if not (math.isfinite(lo) and lo > 0) or lo == hi:
            return None
        return _ramp((math.log10(lo) - self.glo) / (self.ghi - self.glo))

    def _gtext(self, v):
        g = self.gnorm.get(v)
        if g is None:
            return None
        lo, hi, bad = g
        if bad:
            return "NaN/inf!"
        if not math.isfinite(lo):
            return "–"
        if self.mult[v] > 1 and lo != hi:
            return f"‖g‖ {_fmt_norm(lo)} … {_fmt_norm(hi)}"
        return f"‖g‖ {_fmt_norm(hi)}"

    # -- clusters -------------------------------------------------------------------------------
    def _clusters(self, visible):
        raw = self.raw
        made = {}
        self.roots = []
        self.where = {}

        boxes = {}

        def cluster_for(sc):
            c = made.get(sc)
            if c is not None:
                return c
            parent = cluster_for(sc.parent) if sc.parent is not None else None
            box = self.fold_box.get(sc)
            if box is not None:
                bc = boxes.get(box["uid"])
                if bc is None:
                    f, last = _rel(box["first"], sc.parent), _rel(box["last"], sc.parent)
                    bc = _Cluster(f"b{box['uid']}", f"<B>{_esc(f)} … {_esc(last)}</B> "
                                  f"({_esc(box['types'])}) <FONT COLOR=\"#b00000\"><B>×"
                                  f"{box['count']:,}</B></FONT>", parent)
                    bc.folded = box["count"]
                    boxes[box["uid"]] = bc
                    (parent.children if parent else self.roots).append(bc)
                parent = bc
            fl = self.fold_label.get(sc)
            t = f" ({sc.type_name})" if sc.type_name and sc.type_name != sc.name else ""
            if fl is not None:
                n, same, last = fl
                first_s = _rel(sc.qualname, sc.parent)
                nm = first_s if same else f"{first_s} … {_rel(last, sc.parent)}"
                lab = f"<B>{_esc(nm)}</B>{_esc(t)} " \
                      f"<FONT COLOR=\"#b00000\"><B>×{n}</B></FONT>"
            else:
                shown = _rel(sc.qualname, sc.parent)
                call = f" [call {sc.call + 1}]" if sc.call else ""
                lab = f"<B>{_esc(shown)}</B>{_esc(t)}{_esc(call)}"
            c = _Cluster(f"s{sc.uid}", lab, parent)
            if fl is not None:
                c.folded = fl[0]
            made[sc] = c
            if parent is None:
                self.roots.append(c)
            else:
                parent.children.append(c)
            return c

        for v in visible:
            if raw.kind[v] == OP and v in self.scope:
                c = cluster_for(self.scope[v])
                self.where[v] = c
        # chain folds: a box inside the ops' own cluster
        for g in self.groups:
            if g["kind"] != "chain":
                continue
            rep = [v for v in g["rep"] if v in visible]
            if not rep:
                continue
            parent = self.where.get(rep[0])
            c = _Cluster(f"f{id(g)}", f"<FONT COLOR=\"#b00000\"><B>×{g['count']:,}</B></FONT>"
                         f" <FONT POINT-SIZE=\"9\">repeated</FONT>", parent)
            c.folded = g["count"]
            (parent.children if parent else self.roots).append(c)
            for v in rep:
                self.where[v] = c
        # parameters sit in the box of their module when that box is unique
        by_path = {}
        for sc, c in made.items():
            if sc.path is not None:
                by_path.setdefault(sc.path, []).append(c)
        for v in visible:
            if raw.kind[v] == LEAF:
                name = self.names.get(id(raw.ref[v]))
                if name and "." in name:
                    cs = by_path.get(name.rsplit(".", 1)[0], [])
                    if len(cs) == 1:
                        self.where[v] = cs[0]
                    elif len(cs) > 1:  # a module called several times: the boxes' common parent
                        chains = []
                        for c in cs:
                            ch, x = [], c.parent
                            while x is not None:
                                ch.append(x)
                                x = x.parent
                            chains.append(ch[::-1])
                        common = None
                        for level in zip(*chains):
                            if all(x is level[0] for x in level):
                                common = level[0]
                            else:
                                break
                        if common is not None:
                            self.where[v] = common
                elif name and by_path.get("") and len(by_path[""]) == 1:
                    self.where[v] = by_path[""][0]
        for v in visible:  # a constant sits next to the op that reads it
            if raw.kind[v] == CONST:
                c = self.where.get(self.find(raw.ref[v][0]))
                if c is not None:
                    self.where[v] = c
        for v, c in self.where.items():
            c.members.append(v)

    # -- DOT ------------------------------------------------------------------------------------
    def _node_attrs(self, v):
        raw = self.raw
        k = raw.kind[v]
        fs = self.fontsize
        small = max(7, fs - 2)
        lines = []
        attrs = {}
        gcol = self._gcolor(v) if self.show_grads else None
        if k == OP:
            n = raw.ref[v]
            metas = [n.meta] if n.nout == 1 else list(n.meta)
            desc = ", ".join(_shape(m[0]) for m in metas)
            if self.show_dtype:
                dts = sorted({_dtype(m[1]) for m in metas})
                desc += " · " + "/".join(dts)
            lines.append(f"<B>{_esc(n.name)}</B>")
            lines.append(f"<FONT POINT-SIZE=\"{small}\">{_esc(desc)}</FONT>")
            attrs.update(shape="box", style="rounded,filled", fillcolor=C_OP, color=C_OP_BORDER)
        elif k == LEAF:
            t = raw.ref[v]
            name = self.names.get(id(t))
            if name is not None and self.mult[v] > 1:
                name = self._folded_name(v, name)
            desc = _shape(t.data.shape) + (f" · {_dtype(t.data.dtype)}" if self.show_dtype else "")
            if name is not None:
                lines.append(f"<B>{_esc(name)}</B>")
                attrs.update(shape="box", style="filled", fillcolor=C_PARAM, color=C_PARAM_BORDER)
            else:
                lines.append("<I>leaf</I>")
                attrs.update(shape="ellipse", style="filled", fillcolor=C_LEAF, color="#5b86b5")
            lines.append(f"<FONT POINT-SIZE=\"{small}\">{_esc(desc)}</FONT>")
        elif k == CONST:
            lines.append(f"<FONT POINT-SIZE=\"{small}\" COLOR=\"#808080\">const</FONT>")
            attrs.update(shape="plaintext", height="0.15", margin="0.02")
        else:
            t = raw.ref[v]
            i = raw.outputs.index(v)
            nm = self.output_names[i] if self.output_names else (
                "output" if len(raw.outputs) == 1 else f"output {i}")
            desc = _shape(t.data.shape) + (f" · {_dtype(t.data.dtype)}" if self.show_dtype else "")
            if t.data.size == 1:
                try:
                    desc += f" = {float(t.data.reshape(())):.4g}"
                except (TypeError, ValueError):
                    pass
            lines.append(f"<B>{_esc(nm)}</B>")
            lines.append(f"<FONT POINT-SIZE=\"{small}\">{_esc(desc)}</FONT>")
            attrs.update(shape="box", style="filled,bold", fillcolor=C_OUT, color="#3f8f3a")
        if self.show_grads and k != CONST:
            txt = self._gtext(v)
            if gcol is not None:
                attrs["fillcolor"] = gcol
                attrs["fontcolor"] = _text_on(gcol)
                glo = self._gcolor_lo(v)
                if glo is not None:  # folded: a left-to-right ramp from smallest to largest
                    attrs["fillcolor"] = f"{glo}:{gcol}"
                    attrs["gradientangle"] = "0"
                    lo_, hi_ = self.gnorm[v][0], self.gnorm[v][1]
                    centre = 0.5 * (math.log10(lo_) + math.log10(hi_))
                    mid = _ramp((centre - self.glo) / (self.ghi - self.glo))
                    attrs["fontcolor"] = _text_on(mid)
                if "filled" not in attrs.get("style", ""):
                    attrs["style"] = attrs.get("style", "") + ",filled"
            if txt is not None:
                if txt == "NaN/inf!":
                    lines.append(f"<FONT POINT-SIZE=\"{fs + 1}\"><B>⚠ NaN/inf gradient</B></FONT>")
                    attrs.update(color="#d00000", penwidth="3", fontcolor="#000000")
                else:
                    lines.append(f"<FONT POINT-SIZE=\"{small}\">{_esc(txt)}</FONT>")
        attrs["label"] = "<" + "<BR/>".join(lines) + ">"
        return attrs

    def _folded_name(self, v, name):
        """'blocks.0.lin1.bias' standing for 6 parameters -> 'blocks.0…5.lin1.bias'."""
        names = [n for n in self._leaf_groups.get(v, []) if n is not None]
        if len(set(names)) <= 1:
            return name
        parts = [n.split(".") for n in names]
        if len({len(p) for p in parts}) == 1:
            diff = [i for i in range(len(parts[0])) if len({p[i] for p in parts}) > 1]
            if len(diff) == 1:
                i = diff[0]
                vals = sorted({p[i] for p in parts},
                              key=lambda x: (0, int(x), "") if x.isdigit() else (1, 0, x))
                out = list(parts[0])
                out[i] = f"{vals[0]}…{vals[-1]}"
                return ".".join(out)
        return f"{name} (+{len(set(names)) - 1})"

    @staticmethod
    def _attr_str(attrs):
        parts = []
        for a, val in attrs.items():
            if a == "label" and val.startswith("<"):
                parts.append(f"label={val}")
            else:
                sval = str(val).replace("\\", "\\\\").replace('"', '\\"')
                parts.append(f'{a}="{sval}"')
        return "[" + ", ".join(parts) + "]"

    def _emit(self, visible, edges):
        raw = self.raw
        fs = self.fontsize
        out = []
        w = out.append
        rankdir = self.rankdir
        if rankdir == "auto":
            rankdir = self._auto_rankdir(visible, edges)
        if rankdir not in ("TB", "LR", "BT", "RL"):
            raise ValueError(f"draw: rankdir must be 'TB', 'LR', 'BT', 'RL' or 'auto', got "
                             f"{self.rankdir!r}")
        w("digraph tensorgrad {")
        title = self._title()
        w(f'  graph [rankdir={rankdir}, fontname="Helvetica", fontsize={fs + 2}, '
          f'nodesep=0.25, ranksep=0.32, labelloc=t, labeljust=l, newrank=true, '
          f'label=<{title}>];')
        w(f'  node [fontname="Helvetica", fontsize={fs}, height=0.3, margin="0.08,0.03", '
          f'penwidth=1];')
        w('  edge [color="#555555", arrowsize=0.6, fontname="Helvetica", '
          f'fontsize={max(7, fs - 2)}];')

        split = set()
        copies = {}  # cluster (or None) -> [(leaf, consumer)]
        if self.split_shared:
            targets = {}
            for (S, D, oi, rec) in edges:
                if isinstance(S, int) and raw.kind[S] == LEAF and not rec:
                    targets.setdefault(S, set()).add(D)
            split = {S for S, ds in targets.items() if len(ds) > self.split_shared}
            for S in sorted(split):
                for D in sorted(targets[S]):
                    copies.setdefault(self.where.get(D), []).append((S, D))

        def emit_node(v, indent):
            if v in split:
                return
            w(f"{indent}v{v} {self._attr_str(self._node_attrs(v))};")

        def emit_copies(c, indent):
            for S, D in copies.get(c, ()):
                a = self._node_attrs(S)
                a["style"] = a.get("style", "") + ",dashed"
                a["label"] = a["label"][:-1] + '<BR/><FONT POINT-SIZE="7">(shared)</FONT>>'
                w(f"{indent}v{S}_{D} {self._attr_str(a)};")

        def emit_cluster(c, indent):
            fill = CLUSTER_FILLS[c.depth % len(CLUSTER_FILLS)]
            border = CLUSTER_BORDERS[c.depth % len(CLUSTER_BORDERS)]
            style = "rounded,filled,dashed" if c.folded else "rounded,filled"
            w(f"{indent}subgraph cluster_{c.key} {{")
            w(f'{indent}  label=<{c.label}>; style="{style}"; fillcolor="{fill}"; '
              f'color="{border}"; fontsize={fs}; penwidth={2 if c.folded else 1};')
            for ch in sorted(c.children, key=self._order):
                if self._nonempty(ch):
                    emit_cluster(ch, indent + "  ")
            for v in c.members:
                if v in visible:
                    emit_node(v, indent + "  ")
            emit_copies(c, indent + "  ")
            w(f"{indent}}}")

        for c in sorted(self.roots, key=self._order):
            if self._nonempty(c):
                emit_cluster(c, "  ")
        for v in sorted(visible):
            if v not in self.where:
                emit_node(v, "  ")
        emit_copies(None, "  ")
        if self.summary is not None:
            n, counts, nleaves = self.summary
            top = ", ".join(f"{c:,} {name}" for name, c in counts.most_common(6))
            more = len(counts) - 6
            if more > 0:
                top += f", … ({more} more op kinds)"
            lv = (f"<BR/>and {nleaves:,} lea{'f' if nleaves == 1 else 'ves'}" if nleaves
                  else "")
            w(f'  summary [shape=note, style="filled,dashed", fillcolor="#fff6d5", '
              f'color="#a08000", label=<<B>… {n:,} more ops folded</B> (max_nodes='
              f'{self.max_nodes})<BR/><FONT POINT-SIZE="{max(7, fs - 2)}">{_esc(top)}{lv}'
              f'</FONT>>];')
        for (S, D, oi, rec), cnt in edges.items():
            a = {}
            src = "summary" if S == "summary" else (f"v{S}_{D}" if S in split else f"v{S}")
            if isinstance(S, int) and raw.kind[S] == OP and raw.ref[S].nout > 1:
                outs = self.rec_outs.get((S, D, oi, rec), [oi])
                a["taillabel"] = ",".join(f"[{o}]" for o in sorted(outs))
            lab = []
            if rec:
                a.update(style="dashed", color="#b00000", constraint="false")
                word = self.rec_word.get((S, D, oi, rec), "next step")
                lab.append(f"{word} ×{cnt:,}" if cnt > 1 else word)
            elif cnt > 1 and (S, D, oi, rec) not in self.internal:
                lab.append(f"×{cnt:,}")
            if self.show_grads and isinstance(S, int):
                gc = self._gcolor(S)
                if gc is not None:
                    a["color"] = gc
                    a["penwidth"] = "2"
                    if gc == C_NAN:
                        a["penwidth"] = "3.5"
            if lab:
                a["label"] = " ".join(lab)
                a["fontcolor"] = "#b00000" if rec else "#555555"
            attr = self._attr_str(a) if a else ""
            w(f"  {src} -> v{D} {attr};".replace(" ;", ";"))
        w("}")
        return "\n".join(out) + "\n"

    def _order(self, c):
        """Clusters in the order their ops were recorded (forward order)."""
        best = math.inf
        stack = [c]
        while stack:
            x = stack.pop()
            for v in x.members:
                q = self.seq.get(v)
                if q is not None and q < best:
                    best = q
            stack.extend(x.children)
        return best

    def _nonempty(self, c):
        stack = [c]
        while stack:
            x = stack.pop()
            if x.members:
                return True
            stack.extend(x.children)
        return False

    def _auto_rankdir(self, visible, edges):
        depth = {}
        indeg = Counter()
        succ = {}
        for (S, D, oi, rec) in edges:
            if rec or S == "summary":
                continue
            succ.setdefault(S, []).append(D)
            indeg[D] += 1
        q = deque(v for v in visible if indeg[v] == 0)
        for v in q:
            depth[v] = 0
        while q:
            v = q.popleft()
            for d in succ.get(v, ()):
                depth[d] = max(depth.get(d, 0), depth[v] + 1)
                indeg[d] -= 1
                if indeg[d] == 0:
                    q.append(d)
        if not depth:
            return "TB"
        levels = Counter(depth.values())
        width, height = max(levels.values()), len(levels)
        return "LR" if width > 2.5 * height else "TB"

    def _title(self):
        raw = self.raw
        s = self.stats
        parts = [f"{s['ops']:,} ops"]
        if s["drawn_ops"] != s["ops"]:
            parts.append(f"{s['drawn_ops']:,} drawn")
        parts.append(f"{s['leaves']:,} leaves")
        if s["params"]:
            parts.append(f"{s['params']:,} named parameters")
        folds = [g for g in self.groups]
        if folds:
            parts.append(f"{len(folds)} repeated structure{'s' if len(folds) > 1 else ''} folded")
        head = f'<B>{_esc(self.title)}</B><BR ALIGN="LEFT"/>' if self.title else ""
        text = (f"{head}<FONT POINT-SIZE=\"{self.fontsize}\">{_esc(', '.join(parts))}</FONT>"
                f'<BR ALIGN="LEFT"/>')
        if not self.show_grads:
            return text
        return (f'<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="2"><TR><TD ALIGN="LEFT">{text}'
                f'</TD></TR><TR><TD ALIGN="LEFT">{self._legend()}</TD></TR></TABLE>')

    def _legend(self):
        cells = []
        for i in range(5):
            t = i / 4
            x = self.glo + t * (self.ghi - self.glo)
            col = _ramp(t)
            cells.append(f'<TD BGCOLOR="{col}"><FONT POINT-SIZE="9" COLOR="{_text_on(col)}">'
                         f'{_esc(_fmt_norm(10 ** x))}</FONT></TD>')
        cells.append(f'<TD BGCOLOR="{C_NAN}"><FONT POINT-SIZE="9"><B>NaN/inf</B></FONT></TD>')
        cells.append(f'<TD BGCOLOR="{C_ZERO}"><FONT POINT-SIZE="9">0</FONT></TD>')
        note = "" if self.flow is not None else (
            '<TR><TD COLSPAN="7"><FONT POINT-SIZE="8">op gradients: record them with '
            'tg.viz.grad_flow(loss)</FONT></TD></TR>')
        return ('<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3"><TR>'
                '<TD COLSPAN="7"><FONT POINT-SIZE="10">gradient norm ‖g‖ flowing back into '
                'each output (log colour scale)</FONT></TD></TR><TR>' + "".join(cells) +
                "</TR>" + note + "</TABLE>")

    # -- assemble ---------------------------------------------------------------------------------
    def build(self):
        raw = self.raw
        self._scopes()
        self.fold_label, self.fold_box = {}, {}
        if self.min_rep:
            if self.scope:
                self._fold_scopes()
            self._fold_chains()
            self._fold_inputs()
        else:
            self.fold_label = {}
        find = self.find
        for v in range(raw.nv):
            r = find(v)
            if r != v:
                self.mult[r] += 1
        self._limit()
        visible = set()
        for v in range(raw.nv):
            if find(v) == v and v not in self.limited:
                if raw.kind[v] == CONST and not self.show_constants:
                    continue
                visible.add(v)
        inst = self.inst
        self.internal = set()  # edges inside a folded block: its ×N is on the box already
        self.rec_word = {}
        edges = {}
        for (s, d, oi, k) in raw.edges:
            S, D = find(s), find(d)
            if D in self.limited:
                continue
            if S in self.limited:
                S = "summary"
            elif S not in visible:
                continue
            rec = False
            internal = False
            if s != S or d != D:
                a, b = inst.get(s), inst.get(d)
                if a and b:
                    ga = dict(a)
                    recg = [g for g, j in b if g in ga and ga[g] != j]
                    rec = bool(recg)
                    internal = not rec and any(g in ga for g, j in b)
            key = (S, D, oi, rec)
            if rec:
                self.rec_word[(S, D, 0, True)] = self.groups[recg[0]].get("next", "next step")
            if internal:
                self.internal.add(key)
            edges[key] = edges.get(key, 0) + 1
        # recurrent loops: one dashed edge per pair of boxes, whichever outputs it carries
        merged, self.rec_outs = {}, {}
        for key, cnt in edges.items():
            if key[3]:
                k2 = (key[0], key[1], 0, True)
                merged[k2] = max(merged.get(k2, 0), cnt)
                self.rec_outs.setdefault(k2, []).append(key[2])
            else:
                merged[key] = cnt
        edges = merged
        if self.summary is not None:
            # collapse the summary's many edges into one per target
            merged = {}
            for key, cnt in edges.items():
                if key[0] == "summary":
                    key = ("summary", key[1], 0, False)
                merged[key] = merged.get(key, 0) + cnt
            edges = merged
        self._grad_norms()
        drawn_ops = sum(1 for v in visible if raw.kind[v] == OP)
        leaves = [v for v in range(raw.nv) if raw.kind[v] == LEAF]
        self.stats = {
            "ops": len(raw.ops),
            "drawn_ops": drawn_ops,
            "leaves": len(leaves),
            "params": sum(1 for v in leaves if id(raw.ref[v]) in self.names),
            "folded": [{k: g[k] for k in ("label", "count", "kind")} for g in self.groups],
            "op_counts": dict(Counter(raw.ref[v].name for v in raw.ops)),
            "hidden_by_limit": 0 if self.summary is None else self.summary[0],
            "clusters": 0,
        }
        self._leaf_groups = {}
        for u in range(raw.nv):
            if raw.kind[u] == LEAF:
                self._leaf_groups.setdefault(find(u), []).append(self.names.get(id(raw.ref[u])))
        self._clusters(visible)
        self.stats["clusters"] = sum(1 for c in self._all_clusters() if self._nonempty(c))
        src = self._emit(visible, edges)
        return Graph(src, self.stats)

    def _all_clusters(self):
        stack = list(self.roots)
        while stack:
            c = stack.pop()
            yield c
            stack.extend(c.children)
