"""How drawn graphs look: the palette, label helpers, and the colours that show gradient norms.
"""
from __future__ import annotations

import html
import math

import numpy as np

from .read import LEAF, OP, OUT

__all__ = ["GradColours", "ramp", "text_on", "esc", "shape_str", "dtype_str", "fmt_norm"]

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


def ramp(t):
    t = min(1.0, max(0.0, t))
    for (t0, c0), (t1, c1) in zip(RAMP, RAMP[1:]):
        if t <= t1:
            u = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
            r, g, b = (round(a + (b_ - a) * u) for a, b_ in zip(c0, c1))
            return f"#{r:02x}{g:02x}{b:02x}"
    r, g, b = RAMP[-1][1]
    return f"#{r:02x}{g:02x}{b:02x}"


def text_on(hexcolor):
    r, g, b = (int(hexcolor[i:i + 2], 16) for i in (1, 3, 5))
    return "#000000" if (0.299 * r + 0.587 * g + 0.114 * b) > 140 else "#ffffff"


def esc(s) -> str:
    return html.escape(str(s), quote=True)


def shape_str(shape) -> str:
    if len(shape) == 0:
        return "scalar"
    return str(tuple(int(d) for d in shape))


def dtype_str(dt) -> str:
    return np.dtype(dt).name


def fmt_norm(x) -> str:
    if x is None:
        return "–"
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf"
    if x == 0:
        return "0"
    return f"{x:.2e}"


class GradColours:
    """The gradient norm each drawn vertex shows, and its colour on a log scale from the
    smallest norm in the graph (dark violet) to the largest (yellow); NaN/inf in magenta.

    Leaves use their ``.grad``; ops and outputs need ``flow`` (a GradFlow from
    ``tg.viz.grad_flow``). A folded vertex shows the range of what it stands for."""

    def __init__(self, folded, flow):
        raw = folded.raw
        self.flow = flow
        self.mult = folded.mult
        self.gnorm = {}   # visible vid -> (min, max, nonfinite) over what it stands for
        find = folded.find
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
                    d = np.asarray(g._data, dtype=np.float64)
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

    def at(self, log_norm):
        """The colour of a norm given as its log10."""
        return ramp((log_norm - self.glo) / (self.ghi - self.glo))

    def colour(self, v):
        """The colour of the largest norm vertex ``v`` stands for (None: no gradient)."""
        lo, hi, bad = self.gnorm.get(v, (None, None, None))
        if hi is None:
            return None
        return C_NAN if bad else (C_ZERO if hi <= 0 else self.at(math.log10(hi)))

    def colour_lo(self, v):
        """Colour of the smallest norm a folded node stands for (None if it is one value)."""
        lo, hi, bad = self.gnorm.get(v, (None, None, True))
        if bad or self.mult[v] <= 1 or not (math.isfinite(lo) and lo > 0) or lo == hi:
            return None
        return self.at(math.log10(lo))

    def text(self, v):
        g = self.gnorm.get(v)
        if g is None:
            return None
        lo, hi, bad = g
        if bad:
            return "NaN/inf!"
        if not math.isfinite(lo):
            return "–"
        if self.mult[v] > 1 and lo != hi:
            return f"‖g‖ {fmt_norm(lo)} … {fmt_norm(hi)}"
        return f"‖g‖ {fmt_norm(hi)}"

    def legend(self):
        cells = []
        for i in range(5):
            t = i / 4
            x = self.glo + t * (self.ghi - self.glo)
            col = ramp(t)
            cells.append(f'<TD BGCOLOR="{col}"><FONT POINT-SIZE="9" COLOR="{text_on(col)}">'
                         f'{esc(fmt_norm(10 ** x))}</FONT></TD>')
        cells.append(f'<TD BGCOLOR="{C_NAN}"><FONT POINT-SIZE="9"><B>NaN/inf</B></FONT></TD>')
        cells.append(f'<TD BGCOLOR="{C_ZERO}"><FONT POINT-SIZE="9">0</FONT></TD>')
        note = "" if self.flow is not None else (
            '<TR><TD COLSPAN="7"><FONT POINT-SIZE="8">op gradients: record them with '
            'tg.viz.grad_flow(loss)</FONT></TD></TR>')
        return ('<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3"><TR>'
                '<TD COLSPAN="7"><FONT POINT-SIZE="10">gradient norm ‖g‖ flowing back into '
                'each output (log colour scale)</FONT></TD></TR><TR>' + "".join(cells) +
                "</TR>" + note + "</TABLE>")
