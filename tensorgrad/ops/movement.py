"""Shape and movement ops: reshape/view, permute/transpose, squeeze/unsqueeze, expand, repeat,
cat/stack/split, flip, pad."""
from __future__ import annotations

import math

import numpy as np

from ..autograd.node import record
from ..tensor import Tensor, _wrap
from ._registry import op, tensor_method, tensor_property
from .convert import view_dtype
from ._util import data_of, not_tensor, norm_dims, shape_args
from ._xp import array_module


def _array_and_sizes(op, a, sizes, cover=False):
    """``a``'s array and the sizes of ``f(a, 2, 3)`` or ``f(a, (2, 3))`` (permute, expand,
    repeat); with ``cover``, one size at least for every dim of ``a`` (expand and repeat:
    extra sizes add leading dims)."""
    try:
        d = a._data
    except AttributeError:
        raise not_tensor(op, a) from None
    sizes = shape_args(sizes)
    if cover and len(sizes) < d.ndim:
        raise RuntimeError(f"{op}: the number of sizes given ({len(sizes)}) must be at least "
                           f"the number of dimensions of the tensor ({d.ndim}, shape {d.shape})")
    return d, sizes


def _reshape_vjp(ctx, g, in_shape):
    return (array_module(g).reshape(g, in_shape),)


@op(methods="reshape")
def reshape(a, *shape, _view=False, _name="reshape"):
    """``a`` with a new shape (one entry may be -1); a view when the memory allows.
    (``_name``: the node's name when another op is this reshape, e.g. ``unsqueeze``.)"""
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("view" if _view else "reshape", a) from None
    shape = shape_args(shape)
    if d.shape == shape:
        return a
    try:
        out = d.reshape(shape)
    except ValueError:
        raise RuntimeError(f"{'view' if _view else 'reshape'}: shape {shape} is invalid for "
                           f"input of shape {d.shape} (size {d.size})") from None
    shared = np.shares_memory(out, d)
    if _view and not shared:
        raise RuntimeError(f"view: view size is not compatible with input tensor's size and "
                           f"stride (at least one dimension spans across two contiguous "
                           f"subspaces); shape {d.shape} with strides "
                           f"{tuple(x // d.itemsize for x in d.strides)} cannot be viewed as "
                           f"{shape}. Use .reshape(...) instead.")
    return record(_name, out, (a,), _reshape_vjp, saved=(d.shape,),
                  view_of=a if shared else None)


@op(methods="view")
def view(a, *shape):
    """``a`` with a new shape, sharing its memory; raises where that needs a copy (a
    non-contiguous tensor), as PyTorch (use reshape). ``view(dtype)`` reinterprets the bytes
    (no gradient)."""
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list, np.integer, Tensor)):
        return view_dtype(a, shape[0])
    return reshape(a, *shape, _view=True)


@tensor_method("view_as", "reshape_as")
def view_as(a, other):
    return reshape(a, other.shape)


def _permute_vjp(ctx, g, inverse):
    return (array_module(g).permute(g, inverse),)


@op
def permute(a, *dims):
    x, dims = _array_and_sizes("permute", a, dims)
    nd = x.ndim
    if sorted(d % nd if nd else 0 for d in dims) != list(range(nd)):
        raise RuntimeError(f"permute: dims {dims} are not a permutation of the {nd} dimensions "
                           f"of a tensor of shape {x.shape}")
    dims = tuple(d % nd for d in dims)
    inv = tuple(np.argsort(dims))
    return record("permute", x.transpose(dims), (a,), _permute_vjp, saved=(inv,),
                  view_of=a)


@tensor_property("T")
def _T(a):
    """The tensor with its dimensions reversed."""
    return permute(a, tuple(range(a._data.ndim - 1, -1, -1)))


@tensor_property("mT")
def _mT(a):
    """The last two dimensions swapped (a batch of matrices transposed)."""
    return transpose(a, -2, -1)


def _transpose_vjp(ctx, g, d0, d1):
    return (array_module(g).transpose(g, d0, d1),)


@op
def transpose(a, dim0=-2, dim1=-1):
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("transpose", a) from None
    nd = d.ndim
    d0, d1 = norm_dims(dim0, nd, "transpose")[0], norm_dims(dim1, nd, "transpose")[0]
    if d0 == d1:
        return a
    return record("transpose", np.swapaxes(d, d0, d1), (a,), _transpose_vjp,
                  saved=(d0, d1), view_of=a)


@op
def flatten(a, start_dim=0, end_dim=-1):
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("flatten", a) from None
    s = d.shape
    if not s:
        return reshape(a, (1,))
    st = norm_dims(start_dim, len(s), "flatten")[0]
    en = norm_dims(end_dim, len(s), "flatten")[0]
    if st > en:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    return reshape(a, s[:st] + (math.prod(s[st:en + 1]),) + s[en + 1:])


@op
def unsqueeze(a, dim):
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("unsqueeze", a) from None
    s = d.shape
    nd = len(s) + 1
    if not -nd <= dim < nd:
        raise IndexError(f"unsqueeze: dim {dim} out of range for a result with {nd} dimensions")
    dim %= nd
    return reshape(a, s[:dim] + (1,) + s[dim:], _name="unsqueeze")


@op
def squeeze(a, dim=None):
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("squeeze", a) from None
    s = d.shape
    if dim is None:
        return reshape(a, tuple(x for x in s if x != 1), _name="squeeze")
    dims = norm_dims(dim, len(s), "squeeze")
    return reshape(a, tuple(x for i, x in enumerate(s) if not (i in dims and x == 1)),
                   _name="squeeze_dim")


def _expand_vjp(ctx, g, in_shape):
    return (array_module(g).sum_to_size(g, in_shape),)


@op
def expand(a, *shape):
    d, shape = _array_and_sizes("expand", a, shape, cover=True)
    lead = len(shape) - d.ndim
    shape = tuple(d.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
    if shape == d.shape:
        return a
    try:
        out = np.broadcast_to(d, shape)
    except ValueError:
        raise RuntimeError(f"expand: cannot expand shape {d.shape} to {shape}") from None
    return record("expand", out, (a,), _expand_vjp, saved=(d.shape,), view_of=a)


broadcast_to = op(expand, name="broadcast_to", methods="broadcast_to")


@tensor_method("expand_as")
def expand_as(a, other):
    return expand(a, other.shape)


def _repeat_vjp(ctx, g, in_shape, reps):
    xp = array_module(g)
    inter = []
    for r, s in zip(reps, in_shape):
        inter += [r, s]
    return (xp.sum(xp.reshape(g, tuple(inter)), tuple(range(0, len(inter), 2))),)


@op
def repeat(a, *sizes):
    d, sizes = _array_and_sizes("repeat", a, sizes, cover=True)
    in_shape = (1,) * (len(sizes) - d.ndim) + d.shape
    out = np.tile(d.reshape(in_shape), sizes)
    return record("repeat", out, (a,), _repeat_vjp, saved=(in_shape, sizes))


def _cat_vjp(ctx, g, dm, sizes):
    xp = array_module(g)
    outs = []
    start = 0
    for need, n in zip(ctx.needs, sizes):
        outs.append(xp.getitem(g, (slice(None),) * dm + (slice(start, start + n),))
                    if need else None)
        start += n
    return tuple(outs)


@op(methods=())
def cat(tensors, dim=0):
    tensors = [t if isinstance(t, Tensor) else _wrap(np.asarray(t)) for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    if len(tensors) > 1 and any(t._data.shape == (0,) for t in tensors):
        # PyTorch skips 1-D empty tensors (legacy), whatever the others' shapes
        kept = [t for t in tensors if t._data.shape != (0,)]
        tensors = kept or tensors[:1]
    nd = tensors[0]._data.ndim
    dm = norm_dims(dim, nd, "cat")[0]
    for i, t in enumerate(tensors):
        s0, s = tensors[0]._data.shape, t._data.shape
        if len(s) != nd or s[:dm] + s[dm + 1:] != s0[:dm] + s0[dm + 1:]:
            raise RuntimeError(f"cat: sizes of tensors must match except in dimension {dm}; "
                               f"tensor 0 has shape {s0}, tensor {i} has shape {s}")
    out = np.concatenate([t._data for t in tensors], axis=dm)
    return record("cat", out, tuple(tensors), _cat_vjp,
                  saved=(dm, [t._data.shape[dm] for t in tensors]))


concatenate = op(cat, name="concatenate", methods=())
concat = op(cat, name="concat", methods=())


@op(methods=())
def stack(tensors, dim=0):
    tensors = [t if isinstance(t, Tensor) else _wrap(np.asarray(t)) for t in tensors]
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    s0 = tensors[0]._data.shape
    for i, t in enumerate(tensors):
        if t._data.shape != s0:
            raise RuntimeError(f"stack: expects each tensor to be equal size, but got {s0} at "
                               f"entry 0 and {t._data.shape} at entry {i}")
    nd = len(s0) + 1
    if not -nd <= dim < nd:
        raise IndexError(f"stack: dim {dim} out of range for a result with {nd} dimensions")
    return cat([unsqueeze(t, dim % nd) for t in tensors], dim % nd)


@op
def split(a, split_size_or_sections, dim=0):
    d = data_of("split", a)
    from .index import getitem
    dm = norm_dims(dim, d.ndim, "split")[0]
    n = d.shape[dm]
    if isinstance(split_size_or_sections, int):
        if split_size_or_sections <= 0:
            raise ValueError(f"split: split_size must be positive, got {split_size_or_sections}")
        sizes = [min(split_size_or_sections, n - s) for s in range(0, n, split_size_or_sections)]
    else:
        sizes = list(split_size_or_sections)
        if np.sum(sizes) != n:
            raise ValueError(f"split: sections {sizes} do not add up to the size {n} of "
                             f"dimension {dm}")
    outs, start = [], 0
    for s in sizes:
        outs.append(getitem(a, (slice(None),) * dm + (slice(start, start + s),)))
        start += s
    return tuple(outs)


@op
def chunk(a, chunks, dim=0):
    d = data_of("chunk", a)
    n = d.shape[norm_dims(dim, d.ndim, "chunk")[0]]
    size = -(-n // chunks)
    return split(a, size, dim)


@op
def unbind(a, dim=0):
    d = data_of("unbind", a)
    from .index import getitem
    dm = norm_dims(dim, d.ndim, "unbind")[0]
    return tuple(getitem(a, (slice(None),) * dm + (i,)) for i in range(d.shape[dm]))


def _flip_vjp(ctx, g, dims):
    return (array_module(g).flip(g, dims),)


@op
def flip(a, dims):
    d = data_of("flip", a)
    n = 1 if isinstance(dims, int) else len(dims)
    dims = norm_dims(dims, d.ndim, "flip")
    if len(dims) != n:
        raise RuntimeError(f"flip: a dim appears multiple times in the list of dims {dims}")
    return record("flip", np.flip(d, dims).copy(), (a,), _flip_vjp, saved=(dims,))


def _pad_vjp(ctx, g, index):
    return (array_module(g).getitem(g, index),)


@op(functional=True, methods=())
def pad(a, pad, mode="constant", value=0.0):
    """F.pad: ``pad`` lists (left, right) pairs starting from the last dimension."""
    d = data_of("pad", a)
    if mode != "constant":
        raise NotImplementedError(f"pad: only mode='constant' is supported, got {mode!r}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > d.ndim:
        raise ValueError(f"pad: padding length must be even and at most 2*ndim={2 * d.ndim}, "
                         f"got {len(pad)} for input of shape {d.shape}")
    if any(p < 0 for p in pad):
        raise ValueError(f"pad: negative padding is not supported, got {pad}")
    widths = [(0, 0)] * d.ndim
    for i in range(len(pad) // 2):
        widths[d.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    out = np.pad(d, widths, constant_values=value)
    idx = tuple(slice(lo, lo + s) for (lo, _), s in zip(widths, d.shape))
    return record("pad", out, (a,), _pad_vjp, saved=(idx,))
