"""Scatter, gather-like and masked ops with PyTorch's names: scatter (src or value, reduce=),
scatter_add, scatter_reduce, index_add/index_copy/index_fill, masked_select, masked_scatter,
nonzero/argwhere, take, take_along_dim.

Most are ``index_put`` (ops/index.py) with an index built here: scattering along ``dim`` at
``index`` writes element ``src[i][j]`` to ``out[i][index[i][j]]`` (for dim=1), i.e. to the
numpy index (rows, index) — the same index ``gather`` reads. So their gradients are index_put's:
overwritten entries of the input get none, ``src`` gets the gradient gathered back.
``scatter_reduce`` has its own VJP (PyTorch's conventions for each reduction).
"""
from __future__ import annotations

import numpy as np

from ..autograd.node import OUT, record
from ..tensor import Tensor, _wrap
from ._registry import op
from ._util import data_of, norm_dims, not_tensor
from ._xp import array_module
from .index import _gather_index, check_index_range, getitem, index_put, np_getitem
from .movement import expand, reshape

_T = Tensor


_data = data_of


def _index_array(name, index):
    idx = index._data if isinstance(index, _T) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"{name}: expected an int64 index tensor, got dtype {idx.dtype}")
    return idx


def _scatter_index(name, d, dim, index, src_shape=None):
    """The numpy index ``scatter``/``scatter_add`` write to, after PyTorch's shape checks."""
    idx = _index_array(name, index)
    if d.ndim == 0:
        d = d.reshape(1)
    dm = norm_dims(dim, d.ndim, name)[0]
    if idx.ndim != d.ndim and idx.size:
        raise RuntimeError(f"{name}: index has {idx.ndim} dimensions, self has {d.ndim}")
    for k in range(idx.ndim):
        if (k != dm and idx.shape[k] > d.shape[k]) or (src_shape is not None and
                                                        idx.shape[k] > src_shape[k]):
            raise RuntimeError(f"{name}: index of shape {idx.shape} is larger than self "
                               f"{d.shape} (except at dim {dm}) or src {src_shape}")
    check_index_range(name, idx, d.shape[dm], dm)
    return _gather_index(idx, dm), idx.shape


def _src_part(src, shape):
    """The leading ``shape`` block of ``src`` (the part an index of that shape reads)."""
    if src._data.shape == shape:
        return src
    return getitem(src, tuple(slice(0, k) for k in shape))


@op
def scatter(input, dim, index, src=None, value=None, *, reduce=None):  # noqa: A002
    """A copy of ``input`` with ``src`` (a tensor, or the number ``value``) written along
    ``dim`` at ``index``; ``reduce='add'``/``'multiply'`` combines instead of overwriting."""
    d = _data("scatter", input)
    if src is None and value is None:
        raise TypeError("scatter: give src (a tensor) or value (a number)")
    if src is not None and not isinstance(src, _T):
        value, src = src, None
    full, ishape = _scatter_index("scatter", d, dim, index,
                                  None if src is None else src._data.shape)
    if d.ndim == 0:
        return reshape(scatter(reshape(input, (1,)), 0, index, src, value, reduce=reduce), ())
    if reduce is None:
        return index_put(input, full, value if src is None else _src_part(src, ishape))
    if reduce == "add":
        v = _src_part(src, ishape) if src is not None else _wrap(
            np.full(ishape, value, dtype=d.dtype))
        return index_put(input, full, v, accumulate=True)
    if reduce == "multiply":
        v = _src_part(src, ishape)._data if src is not None else np.full(ishape, value, d.dtype)
        out = d.copy()
        np.multiply.at(out, full, v)
        return _wrap(out)  # PyTorch: no gradient for scatter with reduce
    raise RuntimeError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")


@op
def scatter_add(input, dim, index, src):  # noqa: A002
    """A copy of ``input`` with ``src`` added along ``dim`` at ``index`` (repeats add up)."""
    d = _data("scatter_add", input)
    if not isinstance(src, _T):
        raise not_tensor("scatter_add", src, "src")
    if d.ndim == 0:
        return reshape(scatter_add(reshape(input, (1,)), 0, index, src), ())
    full, ishape = _scatter_index("scatter_add", d, dim, index, src._data.shape)
    return index_put(input, full, _src_part(src, ishape), accumulate=True)


# ---- scatter_reduce -----------------------------------------------------------------------------
def _scatter_reduce_vjp(ctx, g, out, a, s, full, gin, gsrc):
    """``gin``/``gsrc``: constant weights of the input's and src's gradients; ``gsrc`` None
    marks 'prod' without zeros, whose differentiable form is out / x (``gin``: where the input
    takes part)."""
    xp = array_module(g)
    n = ctx.needs
    if gsrc is None:
        go = g * out
        return (xp.where(gin, go / xp.where(gin, a, 1.0), 0.0) if n[0] else None,
                xp.getitem(go, full) / s if n[1] else None)
    return (g * gin if n[0] else None,
            xp.getitem(g * gsrc[0], full) * gsrc[1] if n[1] else None)


def _reduce_forward(d, full, v, mode, include_self):
    cnt = np.zeros(d.shape, dtype=np.int64)
    np.add.at(cnt, full, 1)
    hit = cnt > 0
    keep = np.ones(d.shape, dtype=bool) if include_self else ~hit  # where self counts
    if mode in ("sum", "mean"):
        out = np.where(keep, d, 0).astype(d.dtype)
        np.add.at(out, full, v)
        if mode == "mean":
            den = cnt + keep
            out = np.where(den > 0, out / np.maximum(den, 1), d).astype(d.dtype)
            return out, cnt, keep, den
        return out, cnt, keep, None
    if mode == "prod":
        out = np.where(keep, d, 1).astype(d.dtype)
        np.multiply.at(out, full, v)
        return out, cnt, keep, None
    fill = -np.inf if mode == "amax" else np.inf
    if d.dtype.kind not in "fc":
        info = np.iinfo(d.dtype)
        fill = info.min if mode == "amax" else info.max
    out = np.where(keep, d, fill).astype(d.dtype)
    (np.maximum if mode == "amax" else np.minimum).at(out, full, v)
    return out, cnt, keep, None


def _reduce_weights(d, v, out, full, cnt, keep, den, mode):
    """Constant gradient weights: the input's, and src's as (before, after gathering); for
    'prod' without zeros (where-input-counts mask, None): the differentiable form."""
    dt = out.dtype
    if mode == "sum":
        return keep.astype(dt), (np.ones((), dt), np.ones((), dt))
    if mode == "mean":
        w = 1.0 / np.maximum(den, 1)
        return (keep * w).astype(dt), (w.astype(dt), np.ones((), dt))
    if mode == "prod":
        if np.all(d[keep] != 0) and np.all(v != 0):
            return keep, None
        # exact with zeros: each factor's gradient is the product of the others
        zeros = np.where(keep, d == 0, False).astype(np.int64)
        np.add.at(zeros, full, (v == 0).astype(np.int64))
        nz = np.where(keep & (d != 0), d, 1).astype(dt)
        np.multiply.at(nz, full, np.where(v == 0, 1, v).astype(dt))
        with np.errstate(all="ignore"):
            def others(x, z, p):
                return np.where(z == 0, p / np.where(x == 0, 1, x),
                                np.where((z == 1) & (x == 0), p, 0)).astype(dt)
            gin = np.where(keep, others(d, zeros, nz), 0).astype(dt)
            gsrc = others(v, zeros[full], nz[full])
        return gin, (np.ones((), dt), gsrc)
    eq_self = keep & (d == out)
    cnt_eq = eq_self.astype(np.int64)
    eq_src = v == out[full]
    np.add.at(cnt_eq, full, eq_src.astype(np.int64))
    c = np.maximum(cnt_eq, 1)
    return (eq_self / c).astype(dt), ((1.0 / c).astype(dt), eq_src.astype(dt))


@op
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):  # noqa: A002
    """Reduce ``src`` into a copy of ``input`` along ``dim`` at ``index`` with 'sum', 'prod',
    'mean', 'amax' or 'amin' (``include_self``: whether input's own values take part).
    Gradients as PyTorch's: amax/amin share it evenly among the tied winners; prod's is the
    product of the other factors (exact with zeros)."""
    d = _data("scatter_reduce", input)
    if not isinstance(src, _T):
        raise not_tensor("scatter_reduce", src, "src")
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise RuntimeError(f"scatter_reduce: reduce must be 'sum', 'prod', 'mean', 'amax' or "
                           f"'amin', got {reduce!r}")
    if d.ndim == 0:
        return reshape(scatter_reduce(reshape(input, (1,)), 0, index, src, reduce,
                                      include_self=include_self), ())
    full, ishape = _scatter_index("scatter_reduce", d, dim, index, src._data.shape)
    src = _src_part(src, ishape)
    v = src._data
    out, cnt, keep, den = _reduce_forward(d, full, v, reduce, include_self)
    gin, gsrc = _reduce_weights(d, v, out, full, cnt, keep, den, reduce)
    return record("scatter_reduce", out, (input, src), _scatter_reduce_vjp,
                  saved=(OUT, input, src, full, gin, gsrc))


# ---- index_add / index_copy / index_fill ---------------------------------------------------------
def _index_along(name, d, dim, index):
    idx = _index_array(name, index)
    if idx.ndim > 1:
        raise IndexError(f"{name}: index must be a vector, got shape {idx.shape}")
    if d.ndim == 0:
        check_index_range(name, idx, 1, 0, IndexError)
        return (idx.reshape(-1) * 0,), 0
    dm = norm_dims(dim, d.ndim, name)[0]
    check_index_range(name, idx, d.shape[dm], dm, IndexError)
    return (slice(None),) * dm + (idx.reshape(-1),), dm


@op
def index_add(input, dim, index, source, *, alpha=1):  # noqa: A002
    """A copy of ``input`` with ``alpha * source`` added at ``index`` along ``dim``."""
    d = _data("index_add", input)
    if not isinstance(source, _T):
        raise not_tensor("index_add", source, "source")
    if d.ndim == 0:
        return reshape(index_add(reshape(input, (1,)), 0, index, reshape(source, (-1,)),
                                 alpha=alpha), ())
    where_, _ = _index_along("index_add", d, dim, index)
    return index_put(input, where_, source * alpha if alpha != 1 else source, accumulate=True)


@op
def index_copy(input, dim, index, source):  # noqa: A002
    """A copy of ``input`` with the slices of ``source`` written at ``index`` along ``dim``."""
    d = _data("index_copy", input)
    if d.ndim == 0:
        return reshape(index_copy(reshape(input, (1,)), 0, index, reshape(source, (-1,))), ())
    where_, _ = _index_along("index_copy", d, dim, index)
    return index_put(input, where_, source)


@op
def index_fill(input, dim, index, value):  # noqa: A002
    """A copy of ``input`` with ``value`` (a number or 0-d tensor) at ``index`` along ``dim``."""
    d = _data("index_fill", input)
    if d.ndim == 0:
        return reshape(index_fill(reshape(input, (1,)), 0, index, value), ())
    where_, _ = _index_along("index_fill", d, dim, index)
    if isinstance(value, _T) and value._data.ndim:
        raise RuntimeError(f"index_fill: value must be a number or a 0-d tensor, got shape "
                           f"{value._data.shape}")
    return index_put(input, where_, value)


# ---- masks ----------------------------------------------------------------------------------------
def _mask_array(name, mask):
    m = mask._data if isinstance(mask, _T) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise RuntimeError(f"{name}: expected a bool mask, got dtype {m.dtype}")
    return m


@op
def masked_select(input, mask):  # noqa: A002
    """The elements of ``input`` where ``mask`` (broadcast together) is True, as a 1-D tensor."""
    d = _data("masked_select", input)
    m = _mask_array("masked_select", mask)
    try:
        shape = np.broadcast_shapes(d.shape, m.shape)
    except ValueError:
        raise RuntimeError(f"masked_select: shapes {d.shape} and {m.shape} do not broadcast") \
            from None
    return np_getitem(expand(input, shape) if d.shape != shape else input,
                      np.broadcast_to(m, shape))


@op
def masked_scatter(input, mask, source):  # noqa: A002
    """A copy of ``input`` with the first elements of ``source`` (in order) written where
    ``mask`` (broadcast to input's shape) is True."""
    d = _data("masked_scatter", input)
    m = np.broadcast_to(_mask_array("masked_scatter", mask), d.shape)
    k = int(m.sum())
    if not isinstance(source, _T):
        raise not_tensor("masked_scatter", source, "source")
    if source._data.size < k:
        raise RuntimeError(f"masked_scatter: source has {source._data.size} elements, the "
                           f"mask selects {k}")
    return index_put(input, m, getitem(reshape(source, (-1,)), slice(0, k)))


@op
def nonzero(input, *, as_tuple=False):  # noqa: A002
    """The indices of the nonzero elements: an (n, ndim) int64 tensor, or one 1-D tensor per
    dimension with ``as_tuple=True``."""
    d = _data("nonzero", input)
    if as_tuple:
        if d.ndim == 0:
            return (_wrap(np.zeros(int(bool(d)), dtype=np.int64)),)
        return tuple(_wrap(i.astype(np.int64)) for i in np.nonzero(d))
    return _wrap(np.argwhere(d).astype(np.int64))


@op
def argwhere(input):  # noqa: A002
    """The indices of the nonzero elements as an (n, ndim) int64 tensor."""
    return nonzero(input)


@op
def take(input, index):  # noqa: A002
    """The elements of the flattened ``input`` at ``index`` (negative counts from the end);
    the result has index's shape."""
    d = _data("take", input)
    idx = _index_array("take", index)
    n = d.size
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx.min() if idx.min() < -n else idx.max()
        raise IndexError(f"take: index {bad} is out of range for a tensor of {n} elements")
    return reshape(np_getitem(reshape(input, (-1,)), idx.reshape(-1)), idx.shape)


@op
def take_along_dim(input, indices, dim=None):  # noqa: A002
    """The values at ``indices`` along ``dim`` (numpy's take_along_axis; other dims
    broadcast); with dim=None the flattened input at the flattened indices."""
    d = _data("take_along_dim", input)
    idx = _index_array("take_along_dim", indices)
    if dim is None:
        return take(reshape(input, (-1,)), _wrap(idx.reshape(-1)))
    dm = norm_dims(dim, d.ndim, "take_along_dim")[0]
    if idx.ndim != d.ndim:
        raise RuntimeError(f"take_along_dim: input and indices should have the same number "
                           f"of dimensions, got {d.ndim} and {idx.ndim}")
    ds, is_ = list(d.shape), list(idx.shape)
    ds[dm] = is_[dm] = 1
    try:
        b = list(np.broadcast_shapes(tuple(ds), tuple(is_)))
    except ValueError:
        raise RuntimeError(f"take_along_dim: shapes {d.shape} and {idx.shape} do not "
                           f"broadcast outside dim {dm}") from None
    in_shape = tuple(b[:dm] + [d.shape[dm]] + b[dm + 1:])
    ix_shape = tuple(b[:dm] + [idx.shape[dm]] + b[dm + 1:])
    if in_shape != d.shape:
        input = expand(input, in_shape)
    idx = np.broadcast_to(idx, ix_shape)
    check_index_range("take_along_dim", np.where(idx < 0, idx + d.shape[dm], idx),
                      d.shape[dm], dm, IndexError)
    return np_getitem(input, _gather_index(np.where(idx < 0, idx + d.shape[dm], idx), dm))
