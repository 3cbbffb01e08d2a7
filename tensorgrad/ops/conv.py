"""Convolution (1-D, 2-D, 3-D cross-correlation, as PyTorch) as differentiable ops.

Forward: ``im2col`` (numba, ``tensorgrad.kernels.conv``) + a BLAS GEMM per cache-sized batch
chunk, or a Winograd F(2x2, 3x3) path (F(2, 3) for conv1d); the array-level code is in
``_conv_impl.py``.
Three recorded ops close under differentiation (``T(x, w, g) = <conv(x, w), g>`` is trilinear):

* ``conv``          y  = conv(x, w) (+ b)
* ``conv_input_grad``  dx = conv_dx(g, w)  = d<conv(x, w), g>/dx   (col2im of W^T g)
* ``conv_weight_grad`` dw = conv_dw(x, g)  = d<conv(x, w), g>/dw   (g times the columns)

and the VJP of each is written with the three of them, so gradients of gradients flow
(``create_graph=True``, gradgradcheck). On plain ``backward()`` the conv VJP gets arrays and
computes all three gradients in one pass over the batch chunks instead.

``groups > 1`` (grouped / depthwise convolution, weight ``(C_out, C_in/groups, *k)``) runs one
convolution per channel group and concatenates them (``per_group``, shared with
``conv_transpose.py``).

All three spatial ranks share the 5-D kernels: a 1-D input ``(N, C, L)`` is viewed as
``(N, C, 1, 1, L)``, a 2-D one as ``(N, C, 1, H, W)``.
"""
from __future__ import annotations

import numpy as np

from ..autograd.node import record, tensor_vjp
from ..tensor import Tensor, _wrap
from . import _conv_impl as _impl
from ._conv_impl import get_num_threads, set_num_threads  # noqa: F401 (tg.ops.conv API)
from ._registry import op
from ._xp import on_arrays

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_AXES = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}
_WAXES = {1: "(out_channels, in_channels, kL)", 2: "(out_channels, in_channels, kH, kW)",
          3: "(out_channels, in_channels, kD, kH, kW)"}


# ---- argument handling ----------------------------------------------------------------------
def _tuple(v, nd, what, op):
    if isinstance(v, (int, np.integer)):
        return (int(v),) * nd
    try:
        t = tuple(int(a) for a in v)
    except TypeError:
        raise TypeError(f"{op}: {what} must be an int or a tuple of {nd} ints, got {v!r}") from None
    if len(t) == 1 and nd > 1:
        t = t * nd
    if len(t) != nd:
        raise ValueError(f"{op}: {what} must be an int or a tuple of {nd} ints, got {v!r}")
    return t


def _positive(op, **tuples):
    """Raise ``ValueError`` naming ``op`` if any entry of a keyword tuple is not positive."""
    for what, t in tuples.items():
        if any(v <= 0 for v in t):
            raise ValueError(f"{op}: {what} must be positive, got {t}")


def _pad3(t, fill):
    """Spatial tuple of length 1/2/3 -> length 3 (leading axes get ``fill``)."""
    return (fill,) * (3 - len(t)) + tuple(t)


class _Geom:
    """Geometry of one convolution, 3-D normalized: kernel, stride, left padding, dilation,
    input and output spatial sizes (leading singleton axes for 1-D / 2-D)."""
    __slots__ = ("nd", "k", "s", "p", "d", "isp", "osp", "name", "sym")

    def __init__(self, nd, k, s, p, d, isp, osp, name, sym=True):
        self.nd, self.k, self.s, self.p, self.d = nd, k, s, p, d
        self.isp, self.osp, self.name, self.sym = isp, osp, name, sym

    def args(self):
        return (*self.k, *self.s, *self.p, *self.d, *self.osp)


def _geometry(op, nd, x_shape, w_shape, stride, padding, dilation):
    ks = tuple(w_shape[2:])
    st = _tuple(stride, nd, "stride", op)
    dl = _tuple(dilation, nd, "dilation", op)
    _positive(op, stride=st, dilation=dl)
    sp = tuple(x_shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            lo = hi = (0,) * nd
        elif padding == "same":
            if any(s != 1 for s in st):
                raise ValueError(f"{op}: padding='same' is not supported for strided "
                                 f"convolutions (stride {st})")
            tot = tuple(d * (k - 1) for d, k in zip(dl, ks))
            lo = tuple(t // 2 for t in tot)
            hi = tuple(t - t // 2 for t in tot)
        else:
            raise ValueError(f"{op}: padding must be an int, a tuple, 'same' or 'valid', "
                             f"got {padding!r}")
    else:
        lo = hi = _tuple(padding, nd, "padding", op)
        if any(p < 0 for p in lo):
            raise ValueError(f"{op}: padding must be non-negative, got {lo}")
    out = []
    for n, k, s, a, b, d in zip(sp, ks, st, lo, hi, dl):
        if n + a + b < d * (k - 1) + 1:
            raise RuntimeError(
                f"{op}: kernel size {ks} (dilated extent "
                f"{tuple(dd * (kk - 1) + 1 for dd, kk in zip(dl, ks))}) is larger than the "
                f"padded input {tuple(m + aa + bb for m, aa, bb in zip(sp, lo, hi))} "
                f"(input {x_shape}, padding {lo if lo == hi else (lo, hi)})")
        out.append((n + a + b - d * (k - 1) - 1) // s + 1)
    return _Geom(nd, _pad3(ks, 1), _pad3(st, 1), _pad3(lo, 0), _pad3(dl, 1),
                 _pad3(sp, 1), _pad3(tuple(out), 1), op, sym=lo == hi)


# ---- recorded ops ---------------------------------------------------------------------------
def _conv_vjp(ctx, g, x, w, geo, has_b):
    n = ctx.needs
    need_b = has_b and n[2]
    if on_arrays(g):  # plain backward: the three gradients in one pass over the batch
        gx, gw, gb = _impl.backward(x, w, g, geo, x.shape, w.shape, n[0], n[1], need_b)
    else:  # create_graph: recorded ops whose own VJPs are convolutions again
        gx = _conv_dx(g, w, x._data.shape, geo) if n[0] else None
        gw = _conv_dw(x, g, w._data.shape, geo) if n[1] else None
        gb = g.sum(dim=(0,) + tuple(range(2, g._data.ndim))) if need_b else None
    return (gx, gw, gb) if has_b else (gx, gw)


def _conv_core(x, w, b, geo):
    out = _impl.forward(x._data, w._data, None if b is None else b._data, geo)
    inputs = (x, w) if b is None else (x, w, b)
    return record(geo.name, out, inputs, _conv_vjp, saved=(x, w, geo, b is not None))


@tensor_vjp
def _conv_dx_vjp(ctx, gg, g, w, geo):
    n = ctx.needs
    dg = _conv_core(gg, w, None, geo) if n[0] else None
    dw = _conv_dw(gg, g, w._data.shape, geo) if n[1] else None
    return dg, dw


def _conv_dx(g, w, x_shape, geo):
    """d<conv(x, w), g>/dx as a recorded op of (g, w)."""
    gx = _impl.backward(None, w._data, g._data, geo, x_shape, w._data.shape, True, False, False)[0]
    return record(geo.name + "_input_grad", gx, (g, w), _conv_dx_vjp, saved=(g, w, geo))


@tensor_vjp
def _conv_dw_vjp(ctx, gg, x, g, geo):
    n = ctx.needs
    dx = _conv_dx(g, gg, x._data.shape, geo) if n[0] else None
    dg = _conv_core(x, gg, None, geo) if n[1] else None
    return dx, dg


def _conv_dw(x, g, w_shape, geo):
    """d<conv(x, w), g>/dw as a recorded op of (x, g)."""
    gw = _impl.backward(x._data, None, g._data, geo, x._data.shape, w_shape, False, True, False)[1]
    return record(geo.name + "_weight_grad", gw, (x, g), _conv_dw_vjp, saved=(x, g, geo))


def per_group(groups, x, w, fn):
    """Grouped convolution (and its transpose) as ``groups`` independent ones: group ``k``
    pairs input channels ``[k*cx, (k+1)*cx)`` of ``x`` (dim 1) with weight rows
    ``[k*cw, (k+1)*cw)`` of ``w`` (dim 0); ``fn(x_k, w_k, k)`` computes one group and the
    results are concatenated along the channels. Gradients (and gradients of gradients) come
    from the slicing, convolution and ``cat`` ops of the graph."""
    if groups == 1:
        return fn(x, w, 0)
    from .movement import cat
    cx, cw = x._data.shape[1] // groups, w._data.shape[0] // groups
    return cat([fn(x[:, k * cx:(k + 1) * cx], w[k * cw:(k + 1) * cw], k)
                for k in range(groups)], 1)


# ---- public functional API ------------------------------------------------------------------
def _as_tensor(v, op, what):
    if isinstance(v, Tensor):
        return v
    if isinstance(v, np.ndarray):
        return _wrap(v)
    raise TypeError(f"{op}: {what} must be a Tensor, got {type(v).__name__}")


def _conv(nd, x, weight, bias, stride, padding, dilation, groups):
    op = f"conv{nd}d"
    x = _as_tensor(x, op, "input")
    weight = _as_tensor(weight, op, "weight")
    if bias is not None:
        bias = _as_tensor(bias, op, "bias")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive integer, got {groups!r}")
    groups = int(groups)
    xs, ws = x._data.shape, weight._data.shape
    if len(ws) != nd + 2:
        raise ValueError(f"{op}: weight must be {nd + 2}-D {_WAXES[nd]}, got shape {ws}")
    unbatched = len(xs) == nd + 1
    if len(xs) != nd + 2 and not unbatched:
        raise ValueError(f"{op}: expected a {nd + 2}-D input {_AXES[nd]} (or {nd + 1}-D "
                         f"unbatched), got a {len(xs)}-D input of shape {xs}")
    c_in = xs[0] if unbatched else xs[1]
    if ws[0] % groups:
        raise ValueError(f"{op}: out_channels {ws[0]} (weight shape {ws}) must be divisible "
                         f"by groups={groups}")
    if c_in != ws[1] * groups:
        g_s = f" = {ws[1]} per group x groups={groups}" if groups != 1 else ""
        raise ValueError(f"{op}: input has {c_in} channels, weight expects {ws[1] * groups}"
                         f"{g_s} (input shape {xs}, weight shape {ws})")
    for t, what in ((x, "input"), (weight, "weight"), (bias, "bias")):
        if t is not None and t._data.dtype not in _FLOATS:
            raise TypeError(f"{op}: {what} must be float32 or float64, got {t._data.dtype}")
    # mixed float32/float64 operands promote to float64, as in every op (differentiable cast)
    dt = np.result_type(*[t._data.dtype for t in (x, weight, bias) if t is not None])
    from .convert import astype
    x, weight = astype(x, dt), astype(weight, dt)
    if bias is not None:
        bias = astype(bias, dt)
    if bias is not None and bias._data.shape != (ws[0],):
        raise ValueError(f"{op}: bias must have shape ({ws[0]},) (one per output channel), "
                         f"got {bias._data.shape}")
    if unbatched:
        from .movement import unsqueeze, squeeze
        x = unsqueeze(x, 0)
    geo = _geometry(op, nd, x._data.shape, ws, stride, padding, dilation)
    co = ws[0] // groups

    def one_group(xk, wk, k):
        bk = bias if bias is None or groups == 1 else bias[k * co:(k + 1) * co]
        return _conv_core(xk, wk, bk, geo)

    out = per_group(groups, x, weight, one_group)
    if unbatched:
        out = squeeze(out, 0)
    return out


@op(functional=True, methods=(), export=False)
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation of ``input (N, C_in, L)`` with ``weight (C_out, C_in, k)``."""
    return _conv(1, input, weight, bias, stride, padding, dilation, groups)


@op(functional=True, methods=(), export=False)
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of ``input (N, C_in, H, W)`` with ``weight (C_out, C_in, kH, kW)``.

    ``padding``: int, tuple, ``'valid'`` (none) or ``'same'`` (stride 1; an odd total padding
    puts the extra zero on the right/bottom, as PyTorch does)."""
    return _conv(2, input, weight, bias, stride, padding, dilation, groups)


@op(functional=True, methods=(), export=False)
def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D cross-correlation of ``input (N, C_in, D, H, W)`` with ``weight (C_out, C_in, kD, kH, kW)``."""
    return _conv(3, input, weight, bias, stride, padding, dilation, groups)
