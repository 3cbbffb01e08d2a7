"""Matrix products: matmul (vectors, matrices, broadcast batches) and a fused linear."""
from __future__ import annotations

import numpy as np

from ..autograd.node import record
from ..tensor import Tensor, _wrap

__all__ = ["matmul", "linear", "mm", "bmm", "dot", "outer"]


def _swap(x):
    from .movement import transpose
    return transpose(x, -1, -2)


def _matmul_bw(node, g):
    a, b = node.saved
    n = node.needs
    return (matmul(g, _swap(b)) if n[0] else None, matmul(_swap(a), g) if n[1] else None)


def matmul(a, b):
    if not isinstance(a, Tensor):
        a = _wrap(np.asarray(a))
    if not isinstance(b, Tensor):
        b = _wrap(np.asarray(b))
    ad, bd = a.data, b.data
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
        s = out.data.shape
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
    return record("matmul", out, (a, b), _matmul_bw, saved=(a, b))


mm = matmul
bmm = matmul


def dot(a, b):
    if a.data.ndim != 1 or b.data.ndim != 1:
        raise RuntimeError(f"dot: expected two 1-D tensors, got shapes {a.data.shape} and {b.data.shape}")
    return matmul(a, b)


def outer(a, b):
    from .movement import unsqueeze
    return matmul(unsqueeze(a, 1), unsqueeze(b, 0))


def _linear_bw(node, g):
    x, w = node.saved[:2]
    n = node.needs
    gx = matmul(g, w) if n[0] else None
    gw = None
    if n[1]:
        from .movement import reshape
        g2 = reshape(g, (-1, g.data.shape[-1])) if g.data.ndim != 2 else g
        x2 = reshape(x, (-1, x.data.shape[-1])) if x.data.ndim != 2 else x
        gw = matmul(_swap(g2), x2)
    gb = None
    if len(n) > 2 and n[2]:
        from .reduce import sum
        gb = sum(g, dim=tuple(range(g.data.ndim - 1))) if g.data.ndim > 1 else g
    return (gx, gw, gb)


def linear(x, weight, bias=None):
    """y = x Wᵀ + b in one op (W is (out, in), as PyTorch)."""
    xd, wd = x.data, weight.data
    if wd.ndim != 2 or xd.ndim == 0 or xd.shape[-1] != wd.shape[1]:
        raise RuntimeError(f"linear: input of shape {xd.shape} has {xd.shape[-1] if xd.ndim else 0} "
                           f"features, weight of shape {wd.shape} expects {wd.shape[-1] if wd.ndim == 2 else '?'}")
    out = np.matmul(xd, wd.T)
    if bias is None:
        return record("linear", out, (x, weight), _linear_bw, saved=(x, weight))
    bd = bias.data
    if bd.shape != (wd.shape[0],):
        raise RuntimeError(f"linear: bias must have shape ({wd.shape[0]},), got {bd.shape}")
    if out.dtype == np.result_type(out.dtype, bd.dtype):
        out += bd
    else:
        out = out + bd
    return record("linear", out, (x, weight, bias), _linear_bw, saved=(x, weight))


# ---- numpy twins of the VJPs (plain backward) --------------------------------------------------
def _reg():
    from ..autograd.node import fast_vjp as fv

    @fv(_matmul_bw)
    def _(n, g):
        a, b = n.saved
        return (np.matmul(g, np.swapaxes(b.data, -1, -2)) if n.needs[0] else None,
                np.matmul(np.swapaxes(a.data, -1, -2), g) if n.needs[1] else None)

    @fv(_linear_bw)
    def _(n, g):
        x, w = n.saved[:2]
        need = n.needs
        gx = np.matmul(g, w.data) if need[0] else None
        gw = None
        if need[1]:
            g2 = g.reshape(-1, g.shape[-1])
            gw = g2.T @ x.data.reshape(-1, x.data.shape[-1])
        gb = None
        if len(need) > 2 and need[2]:
            gb = g.reshape(-1, g.shape[-1]).sum(axis=0)
        return (gx, gw, gb)


_reg()
del _reg
