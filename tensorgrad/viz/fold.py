"""Folding a read graph so that a big one stays readable.

1. ops are grouped by the scope that recorded them: one box per module call (see
   ``scopes.trace``) or named scope; without a trace, an op that reads the parameters of
   exactly one module of ``model`` is put with that module;
2. repeated structure is folded: consecutive calls of a block with identical structure (RNN
   time steps, a stack of identical layers) stand for one another and are drawn once, marked
   ×N, with the edge from one step to the next kept as a "next step" loop; long periodic
   chains of ops are folded the same way;
3. past ``max_nodes`` the ops farthest from the outputs are hidden behind one summary vertex
   that says what it holds.

Folding is a union-find over the vertices of a ``RawGraph``: a folded vertex points at the one
that is drawn for it (``find(v)``). ``Folded`` ends with the drawn vertices (``visible``) and
the edges between them, counted (``edges``).
"""
from __future__ import annotations

from collections import Counter, deque

from .read import CONST, LEAF, OP
from .scopes import Scope, tag

__all__ = ["Folded"]


class Folded:
    """The folding of ``raw``: see the module docstring. ``min_rep``: the fewest repeats that
    fold (0: no folding); ``max_nodes``: op vertices drawn at most (None: all)."""

    def __init__(self, raw, names, model, min_rep, max_nodes, show_constants):
        self.raw, self.names, self.model = raw, names, model
        self.min_rep, self.max_nodes, self.show_constants = min_rep, max_nodes, show_constants
        nv = raw.nv
        self.rep = list(range(nv))
        self.groups = []         # fold groups: dict(label, count, kind)
        self.inst = {}           # vid -> list of (group index, instance index)
        self.mult = [1] * nv     # original vertices each visible vertex stands for
        self._run()

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
            t = tag(raw.ref[v])
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

    # -- assemble ---------------------------------------------------------------------------------
    def _run(self):
        raw = self.raw
        self._scopes()
        self.fold_label, self.fold_box = {}, {}
        if self.min_rep:
            if self.scope:
                self._fold_scopes()
            self._fold_chains()
            self._fold_inputs()
        find = self.find
        for v in range(raw.nv):
            r = find(v)
            if r != v:
                self.mult[r] += 1
        self._limit()
        self.visible = set()
        for v in range(raw.nv):
            if find(v) == v and v not in self.limited:
                if raw.kind[v] == CONST and not self.show_constants:
                    continue
                self.visible.add(v)
        self.edges = self._edges()
        self.leaf_groups = {}  # drawn leaf -> names of the leaves it stands for
        for u in range(raw.nv):
            if raw.kind[u] == LEAF:
                self.leaf_groups.setdefault(find(u), []).append(self.names.get(id(raw.ref[u])))

    def _edges(self):
        """``{(src, dst, src output index, recurrent?): count}`` between drawn vertices; the
        source is "summary" for edges out of what ``max_nodes`` hid. Also sets ``internal``
        (edges inside a folded block), ``rec_word`` and ``rec_outs`` (a recurrent edge's
        label and the outputs it carries)."""
        raw, find, visible, inst = self.raw, self.find, self.visible, self.inst
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
        return edges
