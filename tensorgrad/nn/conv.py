"""Convolution and pooling layers (PyTorch names, arguments, parameter names and init).

``Conv1d/2d/3d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
groups=1, bias=True)``: ``weight`` of shape ``(out, in // groups, *kernel)`` and ``bias``
``(out,)`` (``groups=in`` is a depthwise convolution),
initialized as PyTorch does (kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(fan_in),
1/sqrt(fan_in)), for both), so ``state_dict`` keys and shapes match PyTorch's.
Pooling layers hold no parameters.
"""
from __future__ import annotations

import math

import numpy as np

from ..ops import conv as _conv
from ..ops import adaptive_max as _adaptive_max
from ..ops import pool as _pool
from . import init
from ._nd import nd_variants
from .module import Module, Parameter

__all__ = ["Conv1d", "Conv2d", "Conv3d", "MaxPool1d", "MaxPool2d", "MaxPool3d",
           "AvgPool1d", "AvgPool2d", "AvgPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
           "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d"]


def _ntuple(v, n, what, cls):
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    t = tuple(int(a) for a in v)
    if len(t) != n:
        raise ValueError(f"{cls}: {what} must be an int or a tuple of {n} ints, got {v!r}")
    return t


class _ConvBase(Module):
    """What convolutions and transposed convolutions share: PyTorch's init and repr (of the
    attributes both set, ``output_padding`` being zeros for a convolution, as in PyTorch)."""
    _nd = 0

    def reset_parameters(self):
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)) for the weight, U(+-1/sqrt(fan_in))
        for the bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * int(np.prod(self.kernel_size))
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        nd = self._nd
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * nd:
            s += f", padding={self.padding!r}"
        if self.dilation != (1,) * nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class _ConvNd(_ConvBase):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", dtype=None):
        super().__init__()
        cls = type(self).__name__
        nd = self._nd
        if padding_mode != "zeros":
            raise NotImplementedError(f"{cls}: padding_mode={padding_mode!r} is not supported "
                                      f"(only 'zeros')")
        if int(in_channels) <= 0 or int(out_channels) <= 0:
            raise ValueError(f"{cls}: in_channels and out_channels must be positive, got "
                             f"{in_channels} and {out_channels}")
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
            raise ValueError(f"{cls}: groups must be a positive integer, got {groups!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{cls}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must both be divisible by groups ({groups})")
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = _ntuple(kernel_size, nd, "kernel_size", cls)
        self.stride = _ntuple(stride, nd, "stride", cls)
        self.padding = padding if isinstance(padding, str) else _ntuple(padding, nd, "padding", cls)
        self.dilation = _ntuple(dilation, nd, "dilation", cls)
        self.groups = int(groups)
        self.output_padding = (0,) * nd
        self.transposed = False
        self.padding_mode = padding_mode
        if any(k <= 0 for k in self.kernel_size):
            raise ValueError(f"{cls}: kernel_size must be positive, got {self.kernel_size}")
        if any(s <= 0 for s in self.stride):
            raise ValueError(f"{cls}: stride must be positive, got {self.stride}")
        dt = np.dtype(dtype) if dtype is not None else np.dtype(np.float32)
        # PyTorch's layout: each output channel sees in_channels / groups input channels
        self.weight = Parameter(np.empty((self.out_channels, self.in_channels // self.groups)
                                         + self.kernel_size, dtype=dt))
        if bias:
            self.bias = Parameter(np.empty((self.out_channels,), dtype=dt))
        else:
            self.bias = None
        self.reset_parameters()

    def forward(self, input):
        f = (_conv.conv1d, _conv.conv2d, _conv.conv3d)[self._nd - 1]
        return f(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                 self.groups)


Conv1d, Conv2d, Conv3d = nd_variants(_ConvNd, "Conv", (
    "1-D convolution over ``(N, C_in, L)`` (or unbatched ``(C_in, L)``).",
    "2-D convolution over ``(N, C_in, H, W)`` (or unbatched ``(C_in, H, W)``).",
    "3-D convolution over ``(N, C_in, D, H, W)``."))


class _PoolNd(Module):
    """A pooling window: ``kernel_size``, ``stride`` (by default the kernel size), ``padding``
    and ``ceil_mode`` (kept as given; the functional form checks them)."""
    _nd = 0

    def __init__(self, kernel_size, stride, padding, ceil_mode):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode


class _MaxPoolNd(_PoolNd):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.dilation = dilation
        self.return_indices = return_indices

    def forward(self, input):
        f = (_pool.max_pool1d, _pool.max_pool2d, _pool.max_pool3d)[self._nd - 1]
        return f(input, self.kernel_size, self.stride, self.padding, self.dilation,
                 ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


MaxPool1d, MaxPool2d, MaxPool3d = nd_variants(_MaxPoolNd, "MaxPool")


class _AvgPoolNd(_PoolNd):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.count_include_pad = count_include_pad

    def forward(self, input):
        f = (_pool.avg_pool1d, _pool.avg_pool2d, _pool.avg_pool3d)[self._nd - 1]
        return f(input, self.kernel_size, self.stride, self.padding, ceil_mode=self.ceil_mode,
                 count_include_pad=self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


AvgPool1d, AvgPool2d, AvgPool3d = nd_variants(_AvgPoolNd, "AvgPool")


class _AdaptiveAvgPoolNd(Module):
    _nd = 0

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        f = (_pool.adaptive_avg_pool1d, _pool.adaptive_avg_pool2d,
             _pool.adaptive_avg_pool3d)[self._nd - 1]
        return f(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d = nd_variants(
    _AdaptiveAvgPoolNd, "AdaptiveAvgPool",
    (None, "``AdaptiveAvgPool2d(1)`` is global average pooling.", None))


class _AdaptiveMaxPoolNd(_AdaptiveAvgPoolNd):
    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input):
        f = (_adaptive_max.adaptive_max_pool1d, _adaptive_max.adaptive_max_pool2d,
             _adaptive_max.adaptive_max_pool3d)[self._nd - 1]
        return f(input, self.output_size, self.return_indices)


AdaptiveMaxPool1d, AdaptiveMaxPool2d, AdaptiveMaxPool3d = nd_variants(
    _AdaptiveMaxPoolNd, "AdaptiveMaxPool",
    (None, "``AdaptiveMaxPool2d(1)`` is global max pooling.", None))
