"""Matrix products: matmul (vectors, matrices, broadcast batches) and a fused linear."""
from __future__ import annotations

import numpy as np

from ..autograd.node import record
from ..tensor import Tensor, _wrap
from ._registry import op
from ._xp import array_module


def _matmul_vjp(ctx, g, a, b):
    xp = array_module(g)
    n = ctx.needs
    return (xp.matmul(g, xp.transpose(b, -1, -2)) if n[0] else None,
            xp.matmul(xp.transpose(a, -1, -2), g) if n[1] else None)


@op(methods=("matmul", "__matmul__"), rmethods=("__rmatmul__",))
def matmul(a, b):
    if not isinstance(a, Tensor):
        a = _wrap(np.asarray(a))
    if not isinstance(b, Tensor):
        b = _wrap(np.asarray(b))
    ad, bd = a._data, b._data
    if ad.ndim == 0 or bd.ndim == 0:
        raise RuntimeError(f"matmul: both arguments need at least 1 dimension, got shapes "
                           f"{ad.shape} @ {bd.shape}")
    if ad.ndim == 1 or bd.ndim == 1:
        from .movement import reshape, unsqueeze
        if (ad.shape[-1] != (bd.shape[0] if bd.ndim == 1 else bd.shape[-2])):
            raise RuntimeError(f"matmul: {ad.shape} @ {bd.shape} (inner dimensions "
                               f"{ad.shape[-1]} and {bd.shape[0] if bd.ndim == 1 else bd.shape[-2]} differ)")
        a2 = unsqueeze(a, 0) if ad.ndim == 1 else a
        b2 = unsqueeze(b, -1) if bd.ndim == 1 else b
        out = matmul(a2, b2)
        s = out._data.shape
        if ad.ndim == 1:
            s = s[:-2] + s[-1:]
        if bd.ndim == 1:
            s = s[:-1]
        return reshape(out, s)
    if ad.shape[-1] != bd.shape[-2]:
        raise RuntimeError(f"matmul: {ad.shape} @ {bd.shape} (inner dimensions "
                           f"{ad.shape[-1]} and {bd.shape[-2]} differ)")
    try:
        out = np.matmul(ad, bd)
    except ValueError:
        raise RuntimeError(f"matmul: batch dimensions do not broadcast: {ad.shape} @ "
                           f"{bd.shape}") from None
    return record("matmul", out, (a, b), _matmul_vjp, saved=(a, b))


mm = op(matmul, name="mm", methods="mm")
bmm = op(matmul, name="bmm", methods="bmm")


@op
def dot(a, b):
    if a._data.ndim != 1 or b._data.ndim != 1:
        raise RuntimeError(f"dot: expected two 1-D tensors, got shapes {a._data.shape} and {b._data.shape}")
    return matmul(a, b)


@op
def outer(a, b):
    from .movement import unsqueeze
    return matmul(unsqueeze(a, 1), unsqueeze(b, 0))


def _linear_vjp(ctx, g, x, w):
    xp = array_module(g)
    n = ctx.needs
    gx = xp.matmul(g, w) if n[0] else None
    gw = gb = None
    if n[1]:
        g2 = xp.reshape(g, (-1, g.shape[-1])) if g.ndim != 2 else g
        x2 = xp.reshape(x, (-1, x.shape[-1])) if x.ndim != 2 else x
        gw = xp.matmul(xp.transpose(g2, -1, -2), x2)
    if len(n) > 2 and n[2]:
        gb = xp.sum(g, tuple(range(g.ndim - 1))) if g.ndim > 1 else g
    return (gx, gw, gb)


@op(functional=True, methods=())
def linear(x, weight, bias=None):
    """y = x Wᵀ + b in one op (W is (out, in), as PyTorch)."""
    xd, wd = x._data, weight._data
    if wd.ndim != 2 or xd.ndim == 0 or xd.shape[-1] != wd.shape[1]:
        raise RuntimeError(f"linear: input of shape {xd.shape} has {xd.shape[-1] if xd.ndim else 0} "
                           f"features, weight of shape {wd.shape} expects {wd.shape[-1] if wd.ndim == 2 else '?'}")
    out = np.matmul(xd, wd.T)
    if bias is None:
        return record("linear", out, (x, weight), _linear_vjp, saved=(x, weight))
    bd = bias._data
    if bd.shape != (wd.shape[0],):
        raise RuntimeError(f"linear: bias must have shape ({wd.shape[0]},), got {bd.shape}")
    if out.dtype == np.result_type(out.dtype, bd.dtype):
        out += bd
    else:
        out = out + bd
    return record("linear", out, (x, weight, bias), _linear_vjp, saved=(x, weight))
