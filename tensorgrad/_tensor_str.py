"""``repr(tensor)`` laid out as PyTorch prints it.

The rules (PyTorch's printing defaults: precision 4, line width 80, tensors over 1000
elements summarized with 3 items at each edge):

* floats whose non-zero finite values are all integers print as ``1.``; otherwise with four
  decimals (``0.5000``), or in scientific notation (``1.0000e-05``) when the largest and
  smallest non-zero magnitudes differ by more than 1000×, or the largest exceeds 1e8 or the
  smallest is under 1e-4;
* every element is padded to the widest one; rows wrap at 80 columns;
* suffixes follow the values: ``dtype=`` unless the dtype is the default float dtype, int64
  or bool (``tg.`` names), then ``grad_fn=<MulBackward0>`` or ``requires_grad=True``.
"""
from __future__ import annotations

import math

import numpy as np

from . import dtypes as _dt

PRECISION, LINEWIDTH, THRESHOLD, EDGE = 4, 80, 1000, 3


class _Formatter:
    def __init__(self, values):
        self.floating = values.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        flat = values.reshape(-1)
        if not self.floating:
            for v in flat.tolist():
                self.width = max(self.width, len(str(v)))
            return
        nz = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if nz.size == 0:
            return
        a = np.abs(nz)
        lo, hi = a.min(), a.max()
        self.int_mode = bool(np.all(nz == np.ceil(nz)))
        self.sci_mode = bool(hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4)
        for v in nz.tolist():
            if self.sci_mode:
                n = len(f"{v:.{PRECISION}e}")
            elif self.int_mode:
                n = len(f"{v:.0f}") + 1
            else:
                n = len(f"{v:.{PRECISION}f}")
            self.width = max(self.width, n)

    def format(self, v):
        if self.floating:
            if self.sci_mode:
                s = f"{v:{self.width}.{PRECISION}e}"
            elif self.int_mode:
                s = f"{v:.0f}"
                if not (math.isinf(v) or math.isnan(v)):
                    s += "."
            else:
                s = f"{v:.{PRECISION}f}"
        else:
            s = str(v)
        return (self.width - len(s)) * " " + s


def _summarized(a):
    """The elements a summarized print shows (for the formatter's widths)."""
    if a.ndim == 0:
        return a
    if a.shape[0] > 2 * EDGE:
        a = np.concatenate([a[:EDGE], a[-EDGE:]])
    if a.ndim == 1:
        return a
    return np.stack([_summarized(x) for x in a])


def _body(a, indent, summarize, fmt):
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        per_line = max(1, math.floor((LINEWIDTH - indent) / (fmt.width + 2)))
        if summarize and a.shape[0] > 2 * EDGE:
            items = ([fmt.format(v) for v in a[:EDGE].tolist()] + [" ..."] +
                     [fmt.format(v) for v in a[-EDGE:].tolist()])
        else:
            items = [fmt.format(v) for v in a.tolist()]
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"
    n = a.shape[0]
    if summarize and n > 2 * EDGE:
        rows = ([_body(a[i], indent + 1, summarize, fmt) for i in range(EDGE)] + ["..."] +
                [_body(a[i], indent + 1, summarize, fmt) for i in range(n - EDGE, n)])
    else:
        rows = [_body(a[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _suffixed(text, suffixes, indent):
    out = [text]
    last = len(text) - text.rfind("\n") + 1
    for s in suffixes:
        if last + len(s) + 2 > LINEWIDTH:
            out.append(",\n" + " " * indent + s)
            last = indent + len(s)
        else:
            out.append(", " + s)
            last += len(s) + 2
    return "".join(out) + ")"


def tensor_repr(t, prefix="tensor("):
    a = t._data
    indent = len(prefix)
    dt = a.dtype
    suffixes = []
    default = dt == _dt.default_float() or dt == np.int64 or dt == np.bool_
    if a.size == 0:
        if a.ndim != 1:
            suffixes.append(f"size={tuple(a.shape)}")
        if dt != _dt.default_float():
            suffixes.append(f"dtype={_dt.name(dt)}")
        body = "[]"
    else:
        if not default:
            suffixes.append(f"dtype={_dt.name(dt)}")
        summarize = a.size > THRESHOLD
        if dt.kind == "c":  # complex: numpy's layout (PyTorch pairs two formatters)
            body = np.array2string(a, separator=", ", prefix=prefix)
        else:
            fmt = _Formatter(_summarized(a) if summarize else a)
            body = _body(a, indent, summarize, fmt)
    gf = t.grad_fn
    if gf is not None:
        suffixes.append(f"grad_fn=<{gf.name().rsplit('::', 1)[-1]}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _suffixed(prefix + body, suffixes, indent)
