"""Transposed convolution (``conv_transpose1d/2d/3d``, PyTorch's "deconvolution").

A transposed convolution is the adjoint of a convolution: with ``conv`` the cross-correlation
from a ``y`` of the output's shape to an ``x`` of the input's shape (weight ``w`` of shape
(C_in, C_out/groups, *k) read as a convolution from C_out to C_in channels),

    conv_transpose(x, w) = d<conv(y, w), x>/dy,

which is exactly the input gradient of that convolution. So it is computed by the
convolution's own ``input_grad`` op (``ops/conv.py``: col2im of Wᵀx on the numba kernels),
whose VJP is a convolution and a weight gradient again (gradients of gradients work). The
output length per spatial dim is (L_in − 1)·stride − 2·padding + dilation·(k − 1) +
output_padding + 1. When ``output_padding ≥ stride`` (allowed while it is below the
dilation) the convolution from ``y`` has more outputs than ``x`` has entries; ``x`` is then
zero-padded at the end, which is exact (those outputs receive nothing). ``groups`` splits the
channels into independent transposed convolutions, joined with ``cat`` (``conv.per_group``,
shared with the grouped convolution).
"""
from __future__ import annotations

import numpy as np

from ._registry import op
from ._util import as_tensor_arg
from .conv import _FLOATS, _conv_dx, _geometry, _tuple, per_group
from .convert import astype
from .elementwise import add
from .movement import pad, reshape, squeeze, unsqueeze

_AXES = {1: "(N, C_in, L)", 2: "(N, C_in, H, W)", 3: "(N, C_in, D, H, W)"}


def output_size(nd, in_sp, ks, stride, padding, output_padding, dilation):
    """The spatial output size of a transposed convolution (PyTorch's formula)."""
    return tuple((n - 1) * s - 2 * p + d * (k - 1) + o + 1
                 for n, k, s, p, o, d in zip(in_sp, ks, stride, padding, output_padding,
                                             dilation))


def _conv_transpose(nd, input, weight, bias, stride, padding, output_padding, groups,
                    dilation):
    op = f"conv_transpose{nd}d"
    x = as_tensor_arg(input, op, "input")
    w = as_tensor_arg(weight, op, "weight")
    b = None if bias is None else as_tensor_arg(bias, op, "bias")
    for t, what in ((x, "input"), (w, "weight"), (b, "bias")):
        if t is not None and t._data.dtype not in _FLOATS:
            raise TypeError(f"{op}: {what} must be float32 or float64, got {t._data.dtype}")
    ws = w._data.shape
    if len(ws) != nd + 2:
        raise ValueError(f"{op}: weight must be {nd + 2}-D (in_channels, out_channels/groups, "
                         f"*kernel), got shape {ws}")
    if any(k <= 0 for k in ws[2:]):
        raise RuntimeError(f"{op}: kernel size should be greater than zero, got kernel "
                           f"{tuple(ws[2:])}")
    unbatched = x._data.ndim == nd + 1
    if x._data.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{op}: expected a {nd + 2}-D input {_AXES[nd]} (or {nd + 1}-D "
                         f"unbatched), got shape {x._data.shape}")
    if unbatched:
        x = unsqueeze(x, 0)
    N, C = x._data.shape[:2]
    groups = int(groups)
    if groups <= 0 or C % groups or ws[0] != C:
        raise ValueError(f"{op}: input has {C} channels and weight {ws[0]} input channels "
                         f"(weight shape {ws}); both must match and be divisible by "
                         f"groups={groups}")
    C_out = ws[1] * groups
    if b is not None and b._data.shape != (C_out,):
        raise ValueError(f"{op}: bias must have shape ({C_out},) (one per output channel), "
                         f"got {b._data.shape}")
    st = _tuple(stride, nd, "stride", op)
    pd = _tuple(padding, nd, "padding", op)
    dl = _tuple(dilation, nd, "dilation", op)
    opd = _tuple(output_padding, nd, "output_padding", op)
    if any(s <= 0 for s in st) or any(d <= 0 for d in dl) or any(p < 0 for p in pd):
        raise ValueError(f"{op}: stride and dilation must be positive and padding "
                         f"non-negative, got stride={st}, dilation={dl}, padding={pd}")
    if any(o < 0 or (o >= s and o >= d) for o, s, d in zip(opd, st, dl)):
        raise ValueError(f"{op}: output padding must be smaller than either stride or "
                         f"dilation, got output_padding={opd}, stride={st}, dilation={dl}")
    osp = output_size(nd, x._data.shape[2:], ws[2:], st, pd, opd, dl)
    if any(o <= 0 for o in osp):
        raise RuntimeError(f"{op}: given input size per channel {tuple(x._data.shape[2:])}, the "
                           f"calculated output size per channel {osp} is too small")
    dt = np.result_type(*[t._data.dtype for t in (x, w, b) if t is not None])
    x, w = astype(x, dt), astype(w, dt)
    y_shape = (N, ws[1]) + osp
    gw_shape = (C // groups,) + ws[1:]
    geo = _geometry(op, nd, y_shape, gw_shape, st, pd, dl)
    extra = [c - n for c, n in zip(geo.osp[3 - nd:], x._data.shape[2:])]
    if any(extra):  # output_padding >= stride: the convolution from y has more outputs
        x = pad(x, tuple(v for e in reversed(extra) for v in (0, e)))
    out = per_group(groups, x, w, lambda xk, wk, k: _conv_dx(xk, wk, y_shape, geo))
    if b is not None:
        out = add(out, reshape(astype(b, dt), (1, C_out) + (1,) * nd))
    return squeeze(out, 0) if unbatched else out


@op(functional=True, methods=())
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-D transposed convolution of ``input (N, C_in, L)`` with ``weight (C_in,
    C_out/groups, k)``."""
    return _conv_transpose(1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


@op(functional=True, methods=())
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution of ``input (N, C_in, H, W)`` with ``weight (C_in,
    C_out/groups, kH, kW)``."""
    return _conv_transpose(2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


@op(functional=True, methods=())
def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """3-D transposed convolution of ``input (N, C_in, D, H, W)`` with ``weight (C_in,
    C_out/groups, kD, kH, kW)``."""
    return _conv_transpose(3, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)
