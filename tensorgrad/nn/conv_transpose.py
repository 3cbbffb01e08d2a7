"""Transposed convolution layers ``ConvTranspose1d/2d/3d`` (PyTorch's arguments, attribute
names, parameter shapes, initialization and repr). ``weight`` has shape
(in_channels, out_channels // groups, *kernel_size); both ``weight`` and ``bias`` start from
kaiming-uniform with a = √5, i.e. U(±1/√fan_in) with fan_in = out_channels/groups ·
prod(kernel_size), as PyTorch computes it for this weight layout. ``forward(input,
output_size=None)``: ``output_size`` picks the output_padding that reaches it."""
from __future__ import annotations

from ..ops import conv_transpose as _ct
from ..ops.conv import _tuple as _ntuple
from ._nd import nd_variants
from .conv import _ConvBase
from .layers import init_weight_and_bias
from .module import check_factory_kwargs

__all__ = ["ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]


class _ConvTransposeNd(_ConvBase):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__()
        cls = type(self).__name__
        nd = self._nd
        dt = check_factory_kwargs(cls, device, dtype)
        if padding_mode != "zeros":
            raise ValueError(f"{cls}: only 'zeros' padding mode is supported for transposed "
                             f"convolutions, got {padding_mode!r}")
        if groups <= 0 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{cls}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must be divisible by groups ({groups})")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _ntuple(kernel_size, nd, "kernel_size", cls)
        self.stride = _ntuple(stride, nd, "stride", cls)
        self.padding = _ntuple(padding, nd, "padding", cls)
        self.output_padding = _ntuple(output_padding, nd, "output_padding", cls)
        self.dilation = _ntuple(dilation, nd, "dilation", cls)
        self.groups = int(groups)
        self.transposed = True
        self.padding_mode = padding_mode
        if any(k <= 0 for k in self.kernel_size):
            raise ValueError(f"{cls}: kernel_size must be positive, got {self.kernel_size}")
        init_weight_and_bias(self, (self.in_channels, self.out_channels // self.groups)
                             + self.kernel_size, bias, dt, bias_size=self.out_channels)

    def _output_padding(self, input, output_size):
        if output_size is None:
            return self.output_padding
        nd = self._nd
        size = tuple(int(s) for s in output_size)[-nd:]
        if len(size) != nd:
            raise ValueError(f"{type(self).__name__}: output_size must have {nd} or "
                             f"{nd + 2} elements, got {tuple(output_size)}")
        base = _ct.output_size(nd, tuple(input.shape[-nd:]), self.kernel_size, self.stride,
                               self.padding, (0,) * nd, self.dilation)
        out = []
        for want, lo, s in zip(size, base, self.stride):
            if not lo <= want <= lo + s - 1:
                raise ValueError(f"{type(self).__name__}: requested an output size of {size}, "
                                 f"but valid sizes range from {base} to "
                                 f"{tuple(b + s - 1 for b, s in zip(base, self.stride))} (for "
                                 f"an input of {tuple(input.shape[-nd:])})")
            out.append(want - lo)
        return tuple(out)

    def forward(self, input, output_size=None):
        fn = getattr(_ct, f"conv_transpose{self._nd}d")
        return fn(input, self.weight, self.bias, self.stride, self.padding,
                  self._output_padding(input, output_size), self.groups, self.dilation)


ConvTranspose1d, ConvTranspose2d, ConvTranspose3d = nd_variants(
    _ConvTransposeNd, "ConvTranspose", (
    "Transposed 1-D convolution over (N, C_in, L) inputs.",
    "Transposed 2-D convolution over (N, C_in, H, W) inputs.",
    "Transposed 3-D convolution over (N, C_in, D, H, W) inputs."))
