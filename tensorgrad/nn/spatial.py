"""Layers that move, resample or pad spatial data (PyTorch's names, arguments and reprs):

* padding modules ``ZeroPad1d/2d/3d``, ``ConstantPad1d/2d/3d``, ``ReflectionPad1d/2d/3d``,
  ``ReplicationPad1d/2d/3d``, ``CircularPad1d/2d/3d`` around ``F.pad``;
* ``Upsample``, ``UpsamplingNearest2d``, ``UpsamplingBilinear2d`` around ``F.interpolate``;
* ``PixelShuffle``/``PixelUnshuffle`` (sub-pixel convolution, Shi et al. 2016) and
  ``Fold``/``Unfold`` (col2im/im2col), with their functional forms built here from reshapes,
  permutes and indexing (so their gradients are those ops' gradients);
* ``MaxUnpool1d/2d/3d`` around ``F.max_unpool*d``.
"""
from __future__ import annotations

import numpy as np

from .. import ops as _ops
from ..ops import padding as _padding
from ..ops.index import getitem, getitem_adjoint
from ..ops.interpolate import interpolate
from ..ops.unpool import max_unpool1d, max_unpool2d, max_unpool3d
from ..ops._util import as_tensor_arg
from ._nd import nd_variants
from .module import Module

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d",
           "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d",
           "CircularPad2d", "CircularPad3d", "Upsample", "UpsamplingNearest2d",
           "UpsamplingBilinear2d", "PixelShuffle", "PixelUnshuffle", "Fold", "Unfold",
           "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "LPPool1d", "LPPool2d", "LPPool3d",
           "ChannelShuffle"]
FUNCTIONAL = ["pixel_shuffle", "pixel_unshuffle", "unfold", "fold", "upsample",
              "upsample_nearest", "upsample_bilinear", "lp_pool1d", "lp_pool2d", "lp_pool3d",
              "channel_shuffle"]  # tg.nn.functional's


def _ntuple(v, n):
    return tuple(int(a) for a in v) if isinstance(v, (tuple, list)) else (int(v),) * n


# ---- padding modules ----------------------------------------------------------------------
class _PadNd(Module):
    _nd = 0
    _mode = "constant"

    def __init__(self, padding, value=0.0):
        super().__init__()
        self.padding = _ntuple(padding, 2 * self._nd)
        if len(self.padding) != 2 * self._nd:
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple of "
                             f"{2 * self._nd} ints, got {padding!r}")
        if self._mode == "constant":
            self.value = value

    def forward(self, input):
        if self._mode == "constant":
            return _padding.pad(input, self.padding, "constant", self.value)
        return _padding.pad(input, self.padding, self._mode)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding, value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


for _name, _base, _mode in (("ZeroPad", _ZeroPadNd, "constant"),
                            ("ConstantPad", _ConstantPadNd, "constant"),
                            ("ReflectionPad", _PadNd, "reflect"),
                            ("ReplicationPad", _PadNd, "replicate"),
                            ("CircularPad", _PadNd, "circular")):
    _doc = f"{_name[:-3]} padding of the last {{nd}} dim(s) (see ``tg.nn.functional.pad``)."
    for _cls in nd_variants(_base, _name, _doc, _mode=_mode):
        globals()[_cls.__name__] = _cls


# ---- upsampling ---------------------------------------------------------------------------
class Upsample(Module):
    """Resample by ``scale_factor`` or to ``size`` (see ``tg.nn.functional.interpolate``)."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        if self.scale_factor is not None:
            info = f"scale_factor={self.scale_factor!r}"
        else:
            info = f"size={self.size!r}"
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of ``interpolate`` (as PyTorch)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---- pixel shuffle --------------------------------------------------------------------------
def pixel_shuffle(input, upscale_factor):
    """(*, C·r², H, W) -> (*, C, H·r, W·r): channel blocks become r × r pixel blocks."""
    op = "pixel_shuffle"
    x = as_tensor_arg(input, op, "input")
    r = int(upscale_factor)
    if x.ndim < 3 or r <= 0 or x.shape[-3] % (r * r):
        raise ValueError(f"{op}: expected an input (*, C·r², H, W) with C·r² divisible by "
                         f"r² = {r * r}, got shape {tuple(x.shape)}")
    *lead, c, h, w = x.shape
    y = x.reshape(*lead, c // (r * r), r, r, h, w)
    k = len(lead)
    y = y.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return y.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H·r, W·r) -> (*, C·r², H, W), the inverse of ``pixel_shuffle``."""
    op = "pixel_unshuffle"
    x = as_tensor_arg(input, op, "input")
    r = int(downscale_factor)
    if x.ndim < 3 or r <= 0 or x.shape[-1] % r or x.shape[-2] % r:
        raise ValueError(f"{op}: expected an input (*, C, H·r, W·r) with H and W divisible by "
                         f"r = {r}, got shape {tuple(x.shape)}")
    *lead, c, h, w = x.shape
    y = x.reshape(*lead, c, h // r, r, w // r, r)
    k = len(lead)
    y = y.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return y.reshape(*lead, c * r * r, h // r, w // r)


class PixelShuffle(Module):
    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input):
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input):
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"


# ---- fold / unfold (im2col and its adjoint) -----------------------------------------------
def _patch_index(op, spatial, kernel_size, dilation, padding, stride):
    """Row and column indices (into the padded image) of every patch entry."""
    k, d, p, s = (_ntuple(v, 2) for v in (kernel_size, dilation, padding, stride))
    if min(k) <= 0 or min(d) <= 0 or min(s) <= 0 or min(p) < 0:
        raise ValueError(f"{op}: kernel_size, dilation and stride must be positive and padding "
                         f"non-negative, got kernel_size={k}, dilation={d}, stride={s}, "
                         f"padding={p}")
    out = [(n + 2 * pp - dd * (kk - 1) - 1) // ss + 1
           for n, kk, dd, pp, ss in zip(spatial, k, d, p, s)]
    if min(out) <= 0:
        raise RuntimeError(f"{op}: the patches do not fit: input spatial size {tuple(spatial)} "
                           f"with kernel_size={k}, dilation={d}, padding={p}, stride={s} "
                           f"gives {tuple(out)} blocks")
    rows = (np.arange(k[0]) * d[0])[:, None, None, None] + \
        (np.arange(out[0]) * s[0])[None, None, :, None]
    cols = (np.arange(k[1]) * d[1])[None, :, None, None] + \
        (np.arange(out[1]) * s[1])[None, None, None, :]
    return rows, cols, k, p, out


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """im2col: (N, C, H, W) -> (N, C·kh·kw, L), one column per sliding block."""
    op = "unfold"
    x = as_tensor_arg(input, op, "input")
    if x.ndim not in (3, 4):
        raise NotImplementedError(f"{op}: Input Error: Only 3D or 4D input Tensors are "
                                  f"supported (got {x.ndim}D)")
    unbatched = x.ndim == 3
    if unbatched:
        x = x.unsqueeze(0)
    rows, cols, k, p, out = _patch_index(op, x.shape[2:], kernel_size, dilation, padding, stride)
    if any(p):
        x = _ops.pad(x, (p[1], p[1], p[0], p[0]))
    n, c = x.shape[:2]
    y = getitem(x, (slice(None), slice(None), rows, cols))  # (N, C, kh, kw, oh, ow)
    y = y.reshape(n, c * k[0] * k[1], out[0] * out[1])
    return y.squeeze(0) if unbatched else y


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im, the adjoint of ``unfold``: (N, C·kh·kw, L) -> (N, C, H, W), overlapping
    entries summed."""
    op = "fold"
    x = as_tensor_arg(input, op, "input")
    if x.ndim not in (2, 3):
        raise NotImplementedError(f"{op}: Input Error: Only unbatched (2D) or batched (3D) "
                                  f"input Tensors are supported (got {x.ndim}D)")
    unbatched = x.ndim == 2
    if unbatched:
        x = x.unsqueeze(0)
    size = _ntuple(output_size, 2)
    rows, cols, k, p, out = _patch_index(op, size, kernel_size, dilation, padding, stride)
    n, ckk, L = x.shape
    if ckk % (k[0] * k[1]) or L != out[0] * out[1]:
        raise RuntimeError(f"{op}: expected an input of shape (N, C·{k[0] * k[1]}, "
                           f"{out[0] * out[1]}) for output_size={size}, got {tuple(x.shape)}")
    c = ckk // (k[0] * k[1])
    y = x.reshape(n, c, k[0], k[1], out[0], out[1])
    padded = (n, c, size[0] + 2 * p[0], size[1] + 2 * p[1])
    img = getitem_adjoint(y, padded, (slice(None), slice(None), rows, cols))
    img = img[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]] if any(p) else img
    return img.squeeze(0) if unbatched else img


class Unfold(Module):
    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def forward(self, input):
        return unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class Fold(Unfold):
    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__(kernel_size, dilation, padding, stride)
        self.output_size = output_size

    def forward(self, input):
        return fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                    self.stride)

    def extra_repr(self):
        return f"output_size={self.output_size}, " + super().extra_repr()


# ---- max unpooling --------------------------------------------------------------------------
class _MaxUnpoolNd(Module):
    _nd = 0

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        nd = self._nd
        self.kernel_size = _ntuple(kernel_size, nd)
        self.stride = _ntuple(stride if stride is not None else kernel_size, nd)
        self.padding = _ntuple(padding, nd)

    def forward(self, input, indices, output_size=None):
        fn = (max_unpool1d, max_unpool2d, max_unpool3d)[self._nd - 1]
        return fn(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


MaxUnpool1d, MaxUnpool2d, MaxUnpool3d = nd_variants(_MaxUnpoolNd, "MaxUnpool")


# ---- power-average pooling and channel shuffle -------------------------------------------------
def _lp_pool(nd, input, norm_type, kernel_size, stride, ceil_mode):
    """PyTorch's formula: (Σ_window x^p)^(1/p), computed as (k · avg_pool(x^p))^(1/p) with the
    average's sign kept (inf: the max of |x|; -inf: the min of |x|)."""
    from ..ops import pool as _pool
    x = as_tensor_arg(input, f"lp_pool{nd}d", "input")
    avg = (_pool.avg_pool1d, _pool.avg_pool2d, _pool.avg_pool3d)[nd - 1]
    mx = (_pool.max_pool1d, _pool.max_pool2d, _pool.max_pool3d)[nd - 1]
    norm_type = float(norm_type)
    if norm_type == float("inf"):
        return mx(_ops.abs(x), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == float("-inf"):
        return -mx(-_ops.abs(x), kernel_size, stride, 0, 1, ceil_mode)
    k = int(np.prod(_ntuple(kernel_size, nd)))
    out = avg(x ** norm_type, kernel_size, stride, 0, ceil_mode)
    return (_ops.sign(out) * _ops.relu(_ops.abs(out)) * k) ** (1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _lp_pool(1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _lp_pool(2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _lp_pool(3, input, norm_type, kernel_size, stride, ceil_mode)


class _LPPoolNd(Module):
    _nd = 0

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type, self.kernel_size = norm_type, kernel_size
        self.stride, self.ceil_mode = stride, ceil_mode

    def forward(self, input):
        return _lp_pool(self._nd, input, self.norm_type, self.kernel_size, self.stride,
                        self.ceil_mode)

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


LPPool1d, LPPool2d, LPPool3d = nd_variants(_LPPoolNd, "LPPool")


def channel_shuffle(input, groups):
    """(N, g·k, *) -> channels regrouped as (N, k·g, *): channel i·k + j moves to j·g + i
    (ShuffleNet's shuffle)."""
    op = "channel_shuffle"
    x = as_tensor_arg(input, op, "input")
    groups = int(groups)
    if x.ndim < 3 or groups <= 0 or x.shape[1] % groups:
        raise RuntimeError(f"{op}: expected an input of at least 3 dims whose channel dim is "
                           f"divisible by groups > 0; got shape {tuple(x.shape)} and "
                           f"groups={groups}")
    n, c = x.shape[:2]
    rest = tuple(x.shape[2:])
    return x.reshape((n, groups, c // groups) + rest).transpose(1, 2).reshape((n, c) + rest)


class ChannelShuffle(Module):
    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, input):
        return channel_shuffle(input, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"
