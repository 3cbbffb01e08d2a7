"""``F.pad`` with all of PyTorch's modes: ``constant`` (any value), ``reflect``, ``replicate``
and ``circular``, and negative padding (cropping).

``pad`` lists (left, right) amounts starting from the last dim. Each non-constant mode maps
every output position of a padded dim to an input position:

* reflect:   … 2 1 | 0 1 2 … n−1 | n−2 n−3 …   (the edge is not repeated; pad < n)
* replicate: … 0 0 | 0 1 2 … n−1 | n−1 n−1 …
* circular:  … n−2 n−1 | 0 1 … n−1 | 0 1 …     (pad ≤ n)

so the result is ``index_select`` along each padded dim (its VJP adds the gradient of every
copy back to its source). Negative amounts crop (slices); constant padding uses the constant
pad op of ``ops/movement.py``. As in PyTorch, the non-constant modes pad only the last 1, 2
or 3 dims of a batched or unbatched input. ``tg.nn.functional.pad`` is this function (it
replaces the constant-only ``pad`` declared in ``ops/movement.py`` there).
"""
from __future__ import annotations

import numpy as np

from ._util import as_tensor_arg
from .index import getitem, index_select
from .movement import pad as _constant_pad

MODES = ("constant", "reflect", "replicate", "circular")


def _source_index(mode, n, lo, hi):
    """Input index for each of the n + lo + hi output positions; a negative amount crops
    (reflect and replicate map the input's own coordinates; circular wraps the cropped part,
    as PyTorch does)."""
    if mode == "circular":
        c0, c1 = max(-lo, 0), n - max(-hi, 0)
        return c0 + np.mod(np.arange(-max(lo, 0), c1 - c0 + max(hi, 0)), max(c1 - c0, 1))
    j = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    # reflect about 0 and n − 1 without repeating the edge (period 2n − 2)
    if n == 1:
        return np.zeros_like(j)
    p = 2 * n - 2
    j = np.mod(j, p)
    return np.where(j < n, j, p - j)


def _check(op, x, pad, mode):
    if mode not in MODES:
        raise NotImplementedError(f"{op}: mode must be one of {', '.join(MODES)}, got {mode!r}")
    try:
        pad = tuple(int(p) for p in pad)
    except TypeError:
        raise TypeError(f"{op}: pad must be a sequence of ints, got {pad!r}") from None
    nd = x._data.ndim
    if len(pad) % 2 or len(pad) // 2 > nd:
        raise ValueError(f"{op}: padding length must be divisible by 2 and at most 2 * ndim = "
                         f"{2 * nd}, got {len(pad)} for an input of shape {x._data.shape}")
    k = len(pad) // 2
    if mode != "constant":
        if k > 3 or nd not in (k + 1, k + 2):
            raise NotImplementedError(
                f"{op}: padding mode {mode!r} pads the last 1, 2 or 3 dims of a batched "
                f"({k + 2}-D) or unbatched ({k + 1}-D) input; got {len(pad)} padding values "
                f"for a {nd}-D input (only constant mode pads arbitrary dims)")
    return pad


def pad(input, pad, mode="constant", value=None):
    """Pad (or, with negative amounts, crop) the last ``len(pad) // 2`` dims; ``pad`` is
    (left_last, right_last, left_second_last, ...)."""
    op = "pad"
    x = as_tensor_arg(input, op, "input")
    amounts = _check(op, x, pad, mode)
    if mode != "constant" and value is not None and value != 0:
        raise ValueError(f"{op}: padding mode {mode!r} doesn't take in value argument")
    nd = x._data.ndim
    dims = [(nd - 1 - i, amounts[2 * i], amounts[2 * i + 1]) for i in range(len(amounts) // 2)]
    for d, lo, hi in dims:
        n = x._data.shape[d]
        if n + lo + hi < 0 or (n + lo + hi == 0 and mode in ("reflect", "replicate")):
            raise RuntimeError(f"{op}: input size {n} of dim {d} is too small for the padding "
                               f"({lo}, {hi}): the output size would be {n + lo + hi}")
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(f"{op}: padding size should be less than the corresponding "
                               f"input dimension, but got: padding ({lo}, {hi}) at dimension "
                               f"{d} of input {tuple(x._data.shape)}")
        if mode == "circular" and max(lo, hi) > n - max(-lo, 0) - max(-hi, 0):
            raise RuntimeError(f"{op}: padding value causes wrapping around more than once "
                               f"(padding ({lo}, {hi}) for dim {d} of size {n})")
        if mode == "replicate" and n == 0 and (lo > 0 or hi > 0):
            raise RuntimeError(f"{op}: cannot replicate an empty dim {d}")
    if mode != "constant":
        # one index map per dim, over the input's own coordinates (negative amounts crop)
        for d, lo, hi in dims:
            if lo or hi:
                x = index_select(x, d, _source_index(mode, x._data.shape[d], lo, hi))
        return x
    if any(a < 0 for a in amounts):  # constant mode: crop, then pad what is left
        crop = [slice(None)] * nd
        for d, lo, hi in dims:
            crop[d] = slice(max(-lo, 0), x._data.shape[d] - max(-hi, 0))
        x = getitem(x, tuple(crop))
    flat = tuple(v for _, lo, hi in dims for v in (max(lo, 0), max(hi, 0)))
    if not any(flat):
        return x
    return _constant_pad(x, flat, value=0.0 if value is None else value)
