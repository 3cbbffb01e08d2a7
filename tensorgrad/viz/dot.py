"""Writing a folded graph as DOT text: one box (a Graphviz cluster) per scope, nested as the
scopes nest; nodes labelled with op names, shapes and dtypes, parameter names and gradient
norms; folded blocks marked ×N with their "next step" loops; the summary of what
``max_nodes`` hid. No Python Graphviz bindings are needed (the text is written here).
"""
from __future__ import annotations

import math
from collections import Counter, deque

from .read import CONST, LEAF, OP, const_meta
from .style import (C_LEAF, C_NAN, C_OP, C_OP_BORDER, C_OUT, C_PARAM, C_PARAM_BORDER,
                    CLUSTER_BORDERS, CLUSTER_FILLS, GradColours, dtype_str, esc,
                    shape_str, text_on)

__all__ = ["DotWriter"]


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


class DotWriter:
    """The DOT text of a ``Folded`` graph (``.source``) and what was drawn (``.stats``)."""

    def __init__(self, folded, names, show_grads, flow, output_names, rankdir, title, fontsize,
                 show_dtype, split_shared):
        self.f, self.raw, self.names = folded, folded.raw, names
        self.show_grads, self.output_names, self.show_dtype = show_grads, output_names, show_dtype
        self.rankdir, self.title, self.fontsize = rankdir, title, fontsize
        self.split_shared, self.flow = split_shared, flow
        self.grad = GradColours(folded, flow) if show_grads else None
        raw, f = self.raw, folded
        leaves = [v for v in range(raw.nv) if raw.kind[v] == LEAF]
        self.stats = {
            "ops": len(raw.ops),
            "drawn_ops": sum(1 for v in f.visible if raw.kind[v] == OP),
            "leaves": len(leaves),
            "params": sum(1 for v in leaves if id(raw.ref[v]) in names),
            "folded": [{k: g[k] for k in ("label", "count", "kind")} for g in f.groups],
            "op_counts": dict(Counter(raw.ref[v].name for v in raw.ops)),
            "hidden_by_limit": 0 if f.summary is None else f.summary[0],
            "clusters": 0,
        }
        self._clusters(f.visible)
        self.stats["clusters"] = sum(1 for c in self._all_clusters() if self._nonempty(c))
        self.source = self._emit(f.visible, f.edges)

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
            box = self.f.fold_box.get(sc)
            if box is not None:
                bc = boxes.get(box["uid"])
                if bc is None:
                    f, last = _rel(box["first"], sc.parent), _rel(box["last"], sc.parent)
                    bc = _Cluster(f"b{box['uid']}", f"<B>{esc(f)} … {esc(last)}</B> "
                                  f"({esc(box['types'])}) <FONT COLOR=\"#b00000\"><B>×"
                                  f"{box['count']:,}</B></FONT>", parent)
                    bc.folded = box["count"]
                    boxes[box["uid"]] = bc
                    (parent.children if parent else self.roots).append(bc)
                parent = bc
            fl = self.f.fold_label.get(sc)
            t = f" ({sc.type_name})" if sc.type_name and sc.type_name != sc.name else ""
            if fl is not None:
                n, same, last = fl
                first_s = _rel(sc.qualname, sc.parent)
                nm = first_s if same else f"{first_s} … {_rel(last, sc.parent)}"
                lab = f"<B>{esc(nm)}</B>{esc(t)} " \
                      f"<FONT COLOR=\"#b00000\"><B>×{n}</B></FONT>"
            else:
                shown = _rel(sc.qualname, sc.parent)
                call = f" [call {sc.call + 1}]" if sc.call else ""
                lab = f"<B>{esc(shown)}</B>{esc(t)}{esc(call)}"
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
            if raw.kind[v] == OP and v in self.f.scope:
                c = cluster_for(self.f.scope[v])
                self.where[v] = c
        # chain folds: a box inside the ops' own cluster
        for gi, g in enumerate(self.f.groups):
            if g["kind"] != "chain":
                continue
            rep = [v for v in g["rep"] if v in visible]
            if not rep:
                continue
            parent = self.where.get(rep[0])
            c = _Cluster(f"f{gi}", f"<FONT COLOR=\"#b00000\"><B>×{g['count']:,}</B></FONT>"
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
                c = self.where.get(self.f.find(raw.ref[v][0]))
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
        gcol = self.grad.colour(v) if self.show_grads else None
        if k == OP:
            n = raw.ref[v]
            metas = [n.meta] if n.nout == 1 else list(n.meta)
            desc = ", ".join(shape_str(m[0]) for m in metas)
            if self.show_dtype:
                dts = sorted({dtype_str(m[1]) for m in metas})
                desc += " · " + "/".join(dts)
            lines.append(f"<B>{esc(n.name)}</B>")
            lines.append(f"<FONT POINT-SIZE=\"{small}\">{esc(desc)}</FONT>")
            attrs.update(shape="box", style="rounded,filled", fillcolor=C_OP, color=C_OP_BORDER)
        elif k == LEAF:
            t = raw.ref[v]
            name = self.names.get(id(t))
            if name is not None and self.f.mult[v] > 1:
                name = self._folded_name(v, name)
            desc = self._desc(t._data.shape, t._data.dtype)
            if name is not None:
                lines.append(f"<B>{esc(name)}</B>")
                attrs.update(shape="box", style="filled", fillcolor=C_PARAM,
                             color=C_PARAM_BORDER)
            else:
                lines.append("<I>leaf</I>")
                attrs.update(shape="ellipse", style="filled", fillcolor=C_LEAF, color="#5b86b5")
            lines.append(f"<FONT POINT-SIZE=\"{small}\">{esc(desc)}</FONT>")
        elif k == CONST:  # an input that needs no gradient (the data batch, say)
            node, slot = raw.ref[raw.ref[v][0]], raw.ref[v][1]
            meta = const_meta(node, slot)
            if meta is None and self.flow is not None:  # saved values freed by backward()
                meta = self.flow.const_meta(node, slot)
            desc = "" if meta is None else "<BR/>" + esc(self._desc(*meta))
            lines.append(f"<FONT POINT-SIZE=\"{small}\" COLOR=\"#808080\">const{desc}</FONT>")
            attrs.update(shape="plaintext", height="0.15", margin="0.02")
        else:
            t = raw.ref[v]
            i = raw.outputs.index(v)
            nm = self.output_names[i] if self.output_names else (
                "output" if len(raw.outputs) == 1 else f"output {i}")
            desc = self._desc(t._data.shape, t._data.dtype)
            if t._data.size == 1:
                try:
                    desc += f" = {float(t._data.reshape(())):.4g}"
                except (TypeError, ValueError):
                    pass
            lines.append(f"<B>{esc(nm)}</B>")
            lines.append(f"<FONT POINT-SIZE=\"{small}\">{esc(desc)}</FONT>")
            attrs.update(shape="box", style="filled,bold", fillcolor=C_OUT, color="#3f8f3a")
        if self.show_grads and k != CONST:
            txt = self.grad.text(v)
            if gcol is not None:
                attrs["fillcolor"] = gcol
                attrs["fontcolor"] = text_on(gcol)
                glo = self.grad.colour_lo(v)
                if glo is not None:  # folded: a left-to-right ramp from smallest to largest
                    attrs["fillcolor"] = f"{glo}:{gcol}"
                    attrs["gradientangle"] = "0"
                    lo_, hi_ = self.grad.gnorm[v][0], self.grad.gnorm[v][1]
                    mid = self.grad.at(0.5 * (math.log10(lo_) + math.log10(hi_)))
                    attrs["fontcolor"] = text_on(mid)
                if "filled" not in attrs.get("style", ""):
                    attrs["style"] = attrs.get("style", "") + ",filled"
            if txt is not None:
                if txt == "NaN/inf!":
                    lines.append(f"<FONT POINT-SIZE=\"{fs + 1}\"><B>⚠ NaN/inf gradient</B>"
                                 f"</FONT>")
                    attrs.update(color="#d00000", penwidth="3", fontcolor="#000000")
                else:
                    lines.append(f"<FONT POINT-SIZE=\"{small}\">{esc(txt)}</FONT>")
        attrs["label"] = "<" + "<BR/>".join(lines) + ">"
        return attrs

    def _desc(self, shape, dtype):
        """A shape (and dtype, with ``show_dtype``), e.g. ``(N, C) · float32``."""
        return shape_str(shape) + (f" · {dtype_str(dtype)}" if self.show_dtype else "")

    def _folded_name(self, v, name):
        """'blocks.0.lin1.bias' standing for 6 parameters -> 'blocks.0…5.lin1.bias'."""
        names = [n for n in self.f.leaf_groups.get(v, []) if n is not None]
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
        if self.f.summary is not None:
            n, counts, nleaves = self.f.summary
            top = ", ".join(f"{c:,} {name}" for name, c in counts.most_common(6))
            more = len(counts) - 6
            if more > 0:
                top += f", … ({more} more op kinds)"
            lv = (f"<BR/>and {nleaves:,} lea{'f' if nleaves == 1 else 'ves'}" if nleaves
                  else "")
            w(f'  summary [shape=note, style="filled,dashed", fillcolor="#fff6d5", '
              f'color="#a08000", label=<<B>… {n:,} more ops folded</B> (max_nodes='
              f'{self.f.max_nodes})<BR/><FONT POINT-SIZE="{max(7, fs - 2)}">{esc(top)}{lv}'
              f'</FONT>>];')
        for (S, D, oi, rec), cnt in edges.items():
            a = {}
            src = "summary" if S == "summary" else (f"v{S}_{D}" if S in split else f"v{S}")
            if isinstance(S, int) and raw.kind[S] == OP and raw.ref[S].nout > 1:
                outs = self.f.rec_outs.get((S, D, oi, rec), [oi])
                a["taillabel"] = ",".join(f"[{o}]" for o in sorted(outs))
            lab = []
            if rec:
                a.update(style="dashed", color="#b00000", constraint="false")
                word = self.f.rec_word.get((S, D, oi, rec), "next step")
                lab.append(f"{word} ×{cnt:,}" if cnt > 1 else word)
            elif cnt > 1 and (S, D, oi, rec) not in self.f.internal:
                lab.append(f"×{cnt:,}")
            if self.show_grads and isinstance(S, int):
                gc = self.grad.colour(S)
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
                q = self.f.seq.get(v)
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
        folds = self.f.groups
        if folds:
            parts.append(f"{len(folds)} repeated structure{'s' if len(folds) > 1 else ''} folded")
        head = f'<B>{esc(self.title)}</B><BR ALIGN="LEFT"/>' if self.title else ""
        text = (f"{head}<FONT POINT-SIZE=\"{self.fontsize}\">{esc(', '.join(parts))}</FONT>"
                f'<BR ALIGN="LEFT"/>')
        if not self.show_grads:
            return text
        return (f'<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="2"><TR><TD ALIGN="LEFT">{text}'
                f'</TD></TR><TR><TD ALIGN="LEFT">{self.grad.legend()}</TD></TR></TABLE>')

    def _all_clusters(self):
        stack = list(self.roots)
        while stack:
            c = stack.pop()
            yield c
            stack.extend(c.children)
