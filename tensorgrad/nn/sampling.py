"""Spatial transformers' sampling (PyTorch's ``F.affine_grid`` and ``F.grid_sample``) as
compositions of recorded ops, so the gradients with respect to the input, the grid and the
affine matrix (and higher derivatives) come from those ops.

``grid`` holds normalised (x, y[, z]) positions in [-1, 1]: -1 is the left/top edge of the
input and 1 the right/bottom one — the outer edges of the corner pixels, or their centres with
``align_corners=True``. ``grid_sample`` reads the input there: ``bilinear`` (trilinear for 5-D
input) or ``nearest`` (rounding half to even, as PyTorch); positions outside read zeros
(``padding_mode='zeros'``), the nearest edge value (``'border'``) or the input mirrored at its
edges (``'reflection'``). Bicubic sampling is not implemented (it raises).
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import ops as _ops
from ..ops._util import as_tensor_arg
from ..tensor import _wrap

__all__ = []
FUNCTIONAL = ["affine_grid", "grid_sample"]


def _align(align_corners, op):
    if align_corners is None:
        warnings.warn(f"{op}: the default align_corners=False is used (as PyTorch, which warns "
                      f"the same); pass align_corners explicitly to silence this", UserWarning,
                      stacklevel=3)
        return False
    return bool(align_corners)


def _base_coords(n, align_corners, dtype):
    if n == 1:
        return np.zeros(1, dtype=dtype)
    lin = np.linspace(-1.0, 1.0, n, dtype=dtype)
    return lin if align_corners else lin * ((n - 1) / n)


def affine_grid(theta, size, align_corners=None):
    """Sampling grid (N, H, W, 2) — or (N, D, H, W, 3) — of ``theta`` (N, 2, 3) — or
    (N, 3, 4) — applied to the normalised positions of an output of ``size`` (N, C, H, W)
    — or (N, C, D, H, W)."""
    op = "affine_grid"
    th = as_tensor_arg(theta, op, "theta")
    size = tuple(int(s) for s in size)
    align = _align(align_corners, op)
    if th._data.dtype.kind != "f":
        raise ValueError(f"{op}: expected theta to have floating point type, got "
                         f"{th._data.dtype}")
    nd = len(size) - 2
    if nd not in (2, 3):
        raise NotImplementedError(f"{op}: only supports 4D and 5D sizes, for 2D and 3D affine "
                                  f"transforms respectively; got size {size}")
    if th._data.shape != (size[0], nd, nd + 1):
        raise ValueError(f"{op}: expected a batch of {nd}D affine matrices of shape "
                         f"(N={size[0]}, {nd}, {nd + 1}) for size {size}; got {th._data.shape}")
    if min(size) <= 0:
        raise ValueError(f"{op}: expected non-zero, positive output size, got {size}")
    dt = th._data.dtype
    spatial = size[2:]
    axes = [_base_coords(n, align, dt) for n in spatial]            # D, H, W order
    mesh = np.meshgrid(*axes, indexing="ij")
    base = np.stack(list(mesh[::-1]) + [np.ones(spatial, dtype=dt)], axis=-1)  # (..., x, y[, z], 1)
    base = _wrap(np.ascontiguousarray(base.reshape(1, -1, nd + 1)))
    grid = _ops.matmul(base, th.transpose(1, 2))                     # (N, prod, nd)
    return grid.reshape((size[0],) + spatial + (nd,))


def _unnormalize(c, n, align):
    if align:
        return (c + 1) * ((n - 1) / 2)
    return ((c + 1) * n - 1) / 2


def _reflect(c, lo, hi):
    """Mirror coordinates into [lo, hi] (PyTorch's reflect_coordinates on doubled bounds)."""
    if lo == hi:
        return c * 0 + lo / 2
    mn, span = lo / 2, (hi - lo) / 2
    x = _ops.abs(c - mn)
    flips = _ops.floor(x.detach() / span)
    extra = x - flips * span
    even = _ops.remainder(flips, 2) == 0
    return _ops.where(even, extra + mn, span - extra + mn)


def _source_coords(c, n, padding_mode, align):
    c = _unnormalize(c, n, align)
    if padding_mode == "border":
        c = _ops.clamp(c, 0, n - 1)
    elif padding_mode == "reflection":
        c = _reflect(c, 0, 2 * (n - 1)) if align else _reflect(c, -1, 2 * n - 1)
        c = _ops.clamp(c, 0, n - 1)
    return c


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros",  # noqa: A002
                align_corners=None):
    """``input`` (N, C, H_in, W_in) — or (N, C, D, H, W) — read at the positions of ``grid``
    (N, H, W, 2) — or (N, D, H, W, 3) — giving (N, C, H, W) — or (N, C, D, H, W)."""
    op = "grid_sample"
    x = as_tensor_arg(input, op, "input")
    g = as_tensor_arg(grid, op, "grid")
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"{op}: expected mode to be 'bilinear', 'nearest' or 'bicubic', but "
                         f"got: '{mode}'")
    if mode == "bicubic":
        raise NotImplementedError(f"{op}: mode='bicubic' is not implemented in tensorgrad "
                                  f"(use 'bilinear' or 'nearest')")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"{op}: expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    align = _align(align_corners, op)
    xs, gs = x._data.shape, g._data.shape
    nd = len(xs) - 2
    if nd not in (2, 3) or len(gs) != nd + 2 or gs[-1] != nd or gs[0] != xs[0]:
        raise RuntimeError(f"{op}: expected a 4-D input with a (N, H, W, 2) grid or a 5-D "
                           f"input with a (N, D, H, W, 3) grid and the same batch size; got "
                           f"input {xs} and grid {gs}")
    if x._data.dtype.kind != "f" or g._data.dtype != x._data.dtype:
        raise RuntimeError(f"{op}: expected input and grid of one floating dtype, got "
                           f"{x._data.dtype} and {g._data.dtype}")
    N, C = xs[:2]
    insp = xs[2:]                                       # (H, W) or (D, H, W)
    out_sp = gs[1:-1]
    # coordinates in index space, one per spatial dim in (D, H, W) order: grid's last axis
    # holds them as (x, y[, z])
    coords = [_source_coords(g[..., nd - 1 - k], insp[k], padding_mode, align)
              for k in range(nd)]
    flat_x = x.reshape(N, C, -1)
    strides = np.cumprod((1,) + tuple(insp[::-1]))[:-1][::-1]
    P = int(np.prod(out_sp))

    def read(idx, valid):
        """input at integer positions ``idx`` (arrays (N, *out_sp)), 0 where not ``valid``."""
        flat = sum(np.clip(i, 0, n - 1) * s for i, n, s in zip(idx, insp, strides))
        flat = np.broadcast_to(flat.reshape(N, 1, P), (N, C, P))
        vals = _ops.gather(flat_x, 2, _wrap(np.ascontiguousarray(flat, dtype=np.int64)))
        vals = vals.reshape((N, C) + tuple(out_sp))
        if valid is None:
            return vals
        return vals * _wrap(valid.reshape((N, 1) + tuple(out_sp)).astype(x._data.dtype))

    if mode == "nearest":
        idx = [np.rint(c.detach().numpy()).astype(np.int64) for c in coords]
        valid = np.logical_and.reduce([(i >= 0) & (i < n) for i, n in zip(idx, insp)])
        return read(idx, valid)
    lows = [np.floor(c.detach().numpy()).astype(np.int64) for c in coords]
    fracs = [c - _wrap(lo.astype(x._data.dtype)) for c, lo in zip(coords, lows)]
    out = None
    for corner in np.ndindex(*(2,) * nd):
        idx = [lo + b for lo, b in zip(lows, corner)]
        valid = np.logical_and.reduce([(i >= 0) & (i < n) for i, n in zip(idx, insp)])
        w = None
        for f, b in zip(fracs, corner):
            wk = f if b else 1 - f
            w = wk if w is None else w * wk
        term = read(idx, valid) * w.unsqueeze(1)
        out = term if out is None else out + term
    return out
