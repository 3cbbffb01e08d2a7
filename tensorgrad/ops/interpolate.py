"""``F.interpolate`` (and ``nn.Upsample``): resampling of the spatial dims of (N, C, *spatial)
inputs, with PyTorch's index arithmetic so the numbers match.

Every mode is separable: resampling along each spatial axis is a linear map of that axis,

* ``nearest`` / ``nearest-exact``: picks an input index per output index (src =
  ⌊dst · scale⌋, or ⌊(dst + ½) · scale⌋, clamped), done with ``index_select``;
* ``linear`` / ``bilinear`` / ``trilinear``: 2 taps per output (src = scale (dst + ½) − ½,
  clamped at 0; or scale · dst with ``align_corners``), weights (1 − λ, λ);
* ``bicubic``: 4 taps with Keys' cubic convolution kernel (a = −0.75, PyTorch's choice;
  Keys 1981), indices clamped to the border;
* ``area``: adaptive average pooling.

The linear and cubic maps are applied as an (out × in) matrix along the axis (``_axis_map``,
one recorded op); its VJP is the same op with the transposed matrix, so second derivatives
work. ``scale`` is in/out, or 1/scale_factor when a scale factor is given and not recomputed,
or (in − 1)/(out − 1) with ``align_corners``. Index arithmetic runs in the input's float
precision, as PyTorch's kernels do.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.node import record
from ._registry import op
from ._util import as_tensor_arg
from ._xp import NP, array_module
from .index import index_select
from .pool import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d

_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_NEEDS = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}
_CUBIC_A = -0.75


# ---- one axis as a linear map -------------------------------------------------------------
def _axis_np(x, m, axis):
    return np.moveaxis(np.moveaxis(x, axis, -1) @ m.T, -1, axis)


def _axis_vjp(ctx, g, m, axis):
    if array_module(g) is NP:
        return (_axis_np(g, m.T, axis),)
    return (_axis_map(g, m.T, axis),)


def _axis_map(x, m, axis):
    """out[..., i, ...] = Σ_j m[i, j] x[..., j, ...] along ``axis`` (a recorded op)."""
    out = np.ascontiguousarray(_axis_np(x._data, m, axis))
    return record("upsample", out, (x,), _axis_vjp, saved=(m, axis))


# ---- PyTorch's source indices -------------------------------------------------------------
def _scale(n_in, n_out, align_corners, scale_factor, dt):
    """area_pixel_compute_scale: the step in input coordinates per output index."""
    if align_corners:
        return dt(n_in - 1) / dt(n_out - 1) if n_out > 1 else dt(0)
    if scale_factor is not None and scale_factor > 0:
        return dt(1.0 / scale_factor)
    return dt(n_in) / dt(n_out)


def _source(n_in, n_out, align_corners, scale_factor, dt, cubic):
    scale = _scale(n_in, n_out, align_corners, scale_factor, dt)
    dst = np.arange(n_out, dtype=dt)
    if align_corners:
        return scale * dst
    src = scale * (dst + dt(0.5)) - dt(0.5)
    return src if cubic else np.maximum(src, dt(0))


def _taps(n_in, n_out, mode, align_corners, scale_factor, dt):
    """The (n_out × n_in) matrix of one axis for the linear and cubic modes."""
    src = _source(n_in, n_out, align_corners, scale_factor, dt, mode == "bicubic")
    i0 = np.minimum(np.floor(src.astype(np.float32)).astype(np.int64), n_in - 1)
    lam = np.clip(src - i0.astype(dt), 0, 1).astype(dt)
    m = np.zeros((n_out, n_in), dtype=dt)
    rows = np.arange(n_out)
    if mode == "bicubic":
        a = _CUBIC_A

        def near(t):  # |t| <= 1
            return ((a + 2) * t - (a + 3)) * t * t + 1

        def far(t):  # 1 < |t| < 2
            return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a

        coeffs = (far(lam + 1), near(lam), near(1 - lam), far(2 - lam))
        for j, c in enumerate(coeffs):
            np.add.at(m, (rows, np.clip(i0 - 1 + j, 0, n_in - 1)), c.astype(dt))
    else:
        i1 = i0 + (i0 < n_in - 1)
        np.add.at(m, (rows, i0), (1 - lam).astype(dt))
        np.add.at(m, (rows, i1), lam)
    return m


def _nearest_index(n_in, n_out, scale_factor, exact):
    """PyTorch's nearest_idx / nearest_exact_idx (float32 scale, as its kernels)."""
    dst = np.arange(n_out)
    if not exact and n_out == n_in:
        return dst
    if not exact and n_out == 2 * n_in:
        return dst >> 1
    if scale_factor is not None and scale_factor > 0:
        scale = np.float32(1.0 / scale_factor)
    else:
        scale = np.float32(n_in) / np.float32(n_out)
    if exact:
        src = np.floor(((dst + 0.5) * np.float64(scale)).astype(np.float32))
    else:
        src = np.floor(dst.astype(np.float32) * scale)
    return np.minimum(src.astype(np.int64), n_in - 1)


# ---- the functional form ------------------------------------------------------------------
def _per_dim(v, nd, what):
    if isinstance(v, (list, tuple)):
        if len(v) != nd:
            raise ValueError(f"interpolate: Input and output must have the same number of "
                             f"spatial dimensions, but got input with spatial dimensions of "
                             f"{nd} and {what} {tuple(v)}. Please provide input tensor in "
                             f"(N, C, d1, d2, ...,dK) format and {what} in (o1, o2, ...,oK) "
                             f"format.")
        return list(v)
    return [v] * nd


@op(functional=True, methods=(), export=False)
def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resample the spatial dims of ``input`` (N, C, *spatial) to ``size`` or by
    ``scale_factor`` with ``mode`` (nearest, nearest-exact, linear, bilinear, bicubic,
    trilinear, area); PyTorch's rules for ``align_corners`` and ``recompute_scale_factor``."""
    fn = "interpolate"
    x = as_tensor_arg(input, fn, "input")
    if mode not in _MODES:
        raise NotImplementedError(f"{fn}: mode must be one of {', '.join(_MODES)}, got "
                                  f"{mode!r}")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(f"{fn}: align_corners option can only be set with the "
                             f"interpolating modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    if antialias:
        raise NotImplementedError(f"{fn}: antialias=True is not supported")
    dim = x._data.ndim - 2
    if dim not in (1, 2, 3):
        raise NotImplementedError(f"{fn}: Input Error: Only 3D, 4D and 5D input Tensors "
                                  f"supported (got {x._data.ndim}D) for the modes: "
                                  f"{' | '.join(_MODES)} (got {mode})")
    if mode in _NEEDS and x._data.ndim != _NEEDS[mode]:
        raise ValueError(f"{fn}: Got {x._data.ndim}D input, but {mode} mode needs "
                         f"{_NEEDS[mode]}D input")
    if size is not None and scale_factor is not None:
        raise ValueError(f"{fn}: only one of size or scale_factor should be defined")
    if size is not None:
        out_size = [int(s) for s in _per_dim(size, dim, "output size")]
        scales = [None] * dim
        if recompute_scale_factor:
            raise ValueError(f"{fn}: recompute_scale_factor is not meaningful with an "
                             f"explicit size.")
    elif scale_factor is not None:
        scales = [float(s) for s in _per_dim(scale_factor, dim, "scale_factor")]
        out_size = [int(math.floor(float(n * s))) for n, s in zip(x._data.shape[2:], scales)]
        if recompute_scale_factor or mode == "area":
            scales = [None] * dim
    else:
        raise ValueError(f"{fn}: either size or scale_factor should be defined")
    if any(o <= 0 for o in out_size):
        raise ValueError(f"{fn}: the output size {tuple(out_size)} must be positive (input "
                         f"spatial size {x._data.shape[2:]})")
    if x._data.dtype.kind != "f" and mode not in ("nearest", "nearest-exact"):
        raise TypeError(f"{fn}: mode {mode!r} needs a floating point input, got "
                        f"{x._data.dtype}")
    if mode == "area":
        return (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[dim - 1](
            x, tuple(out_size))
    out = x
    for k, (n_in, n_out, s) in enumerate(zip(x._data.shape[2:], out_size, scales)):
        axis = k + 2
        if mode in ("nearest", "nearest-exact"):
            idx = _nearest_index(n_in, n_out, s, mode == "nearest-exact")
            if n_out != n_in or np.any(idx != np.arange(n_in)):
                out = index_select(out, axis, idx)
        else:
            out = _axis_map(out, _taps(n_in, n_out, mode, align_corners, s,
                                       x._data.dtype.type), axis)
    return out
