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

# PyTorch's printing options (``tg.set_printoptions`` changes them; "default" restores these)
_DEFAULTS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80,
             "sci_mode": None}
_PROFILES = {"default": _DEFAULTS,
             "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
             "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80}}
OPTIONS = dict(_DEFAULTS)


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """PyTorch's ``torch.set_printoptions``: digits after the point (``precision``), how
    many elements a tensor may have before it is summarized (``threshold``), how many items
    a summary shows at each edge (``edgeitems``), the line width, a ``profile`` ("default",
    "short", "full") and ``sci_mode`` (True/False force scientific notation on/off; None:
    chosen from the values)."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(_PROFILES)}, "
                             f"got {profile!r}")
        OPTIONS.update(_PROFILES[profile])
    for key, v in (("precision", precision), ("threshold", threshold),
                   ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if v is not None:
            OPTIONS[key] = v
    OPTIONS["sci_mode"] = sci_mode


class _Formatter:
    def __init__(self, values):
        self.floating = values.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        self.precision = OPTIONS["precision"]
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
        forced = OPTIONS["sci_mode"]
        self.sci_mode = bool(hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4) \
            if forced is None else bool(forced)
        prec = self.precision
        for v in nz.tolist():
            if self.sci_mode:
                n = len(f"{v:.{prec}e}")
            elif self.int_mode:
                n = len(f"{v:.0f}") + 1
            else:
                n = len(f"{v:.{prec}f}")
            self.width = max(self.width, n)

    def format(self, v):
        prec = self.precision
        if self.floating:
            if self.sci_mode:
                s = f"{v:{self.width}.{prec}e}"
            elif self.int_mode:
                s = f"{v:.0f}"
                if not (math.isinf(v) or math.isnan(v)):
                    s += "."
            else:
                s = f"{v:.{prec}f}"
        else:
            s = str(v)
        return (self.width - len(s)) * " " + s


def _summarized(a):
    edge = OPTIONS["edgeitems"]
    """The elements a summarized print shows (for the formatter's widths)."""
    if a.ndim == 0:
        return a
    if a.shape[0] > 2 * edge:
        a = np.concatenate([a[:edge], a[-edge:]])
    if a.ndim == 1:
        return a
    return np.stack([_summarized(x) for x in a])


def _body(a, indent, summarize, fmt):
    edge, linewidth = OPTIONS["edgeitems"], OPTIONS["linewidth"]
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        per_line = max(1, math.floor((linewidth - indent) / (fmt.width + 2)))
        if summarize and a.shape[0] > 2 * edge:
            items = ([fmt.format(v) for v in a[:edge].tolist()] + [" ..."] +
                     [fmt.format(v) for v in a[-edge:].tolist()])
        else:
            items = [fmt.format(v) for v in a.tolist()]
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"
    n = a.shape[0]
    if summarize and n > 2 * edge:
        rows = ([_body(a[i], indent + 1, summarize, fmt) for i in range(edge)] + ["..."] +
                [_body(a[i], indent + 1, summarize, fmt) for i in range(n - edge, n)])
    else:
        rows = [_body(a[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _suffixed(text, suffixes, indent):
    linewidth = OPTIONS["linewidth"]
    out = [text]
    last = len(text) - text.rfind("\n") + 1
    for s in suffixes:
        if last + len(s) + 2 > linewidth:
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
        summarize = a.size > OPTIONS["threshold"]
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
