"""Counting with PyTorch's names and rules: ``bincount`` and ``histc``.

Neither is differentiable in PyTorch (their outputs are counts); here too they return tensors
outside the graph.
"""
from __future__ import annotations

import numpy as np

from ..tensor import _wrap
from ._registry import op
from ._util import data_of


@op
def bincount(input, weights=None, minlength=0):  # noqa: A002 (torch's names)
    """Occurrences of each value in a 1-D tensor of non-negative integers (``weights``: their
    sum per value, in the weights' dtype); at least ``minlength`` bins."""
    d = data_of("bincount", input)
    if d.ndim != 1 or d.dtype.kind not in "iub" or (d.size and d.min() < 0):
        raise RuntimeError(f"bincount: only supports 1-d non-negative integral inputs, got "
                           f"shape {d.shape}, dtype {d.dtype}")
    if int(minlength) < 0:
        raise RuntimeError(f"bincount: minlength should be >= 0, got {minlength}")
    if weights is None:
        return _wrap(np.bincount(d, minlength=int(minlength)).astype(np.int64))
    w = data_of("bincount", weights, "weights")
    if w.shape != d.shape:
        raise RuntimeError(f"bincount: weights should be 1-d and have the same length as "
                           f"input, got {w.shape} for input {d.shape}")
    out_dt = w.dtype if w.dtype.kind == "f" else np.dtype(np.float64)
    return _wrap(np.bincount(d, weights=w, minlength=int(minlength)).astype(out_dt))


@op
def histc(input, bins=100, min=0, max=0):  # noqa: A002
    """Histogram of ``bins`` equal-width bins over [min, max] (the data's range when both are
    0; widened by 1 on each side when that range is a single value). Elements outside are
    ignored; the last bin includes ``max``."""
    d = data_of("histc", input)
    if d.dtype.kind != "f":
        raise NotImplementedError(f"histc: not implemented for dtype {d.dtype} (a floating "
                                  f"tensor is expected)")
    bins = int(bins)
    if bins <= 0:
        raise RuntimeError(f"histc: bins must be > 0, got {bins}")
    lo, hi = float(min), float(max)
    if lo == hi and d.size:
        lo, hi = float(d.min()), float(d.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError(f"histc: max must be larger than min, got min={min}, max={max}")
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"histc: range of [{lo}, {hi}] is not finite")
    x = d.reshape(-1)
    x = x[(x >= lo) & (x <= hi)]
    idx = np.minimum(((x - lo) * bins / (hi - lo)).astype(np.int64), bins - 1)
    return _wrap(np.bincount(idx, minlength=bins).astype(d.dtype))
