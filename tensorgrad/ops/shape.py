"""More shape ops with PyTorch's names: narrow, unflatten, Tensor.unfold, roll, tile,
repeat_interleave, tril/triu, diagonal/diag/diag_embed, meshgrid, movedim, swapaxes, t,
tensor_split and the h/v/d splits and stacks, atleast_nd, broadcast_tensors/shapes,
cartesian_prod, combinations, flipud/fliplr/rot90, contiguous.

Most are compositions of recorded ops (getitem, reshape, permute, cat), so their gradients and
double backward come from those. The new primitives are roll (its VJP rolls back), tril/triu
(a mask) and the diagonal pair: ``diagonal`` reads a diagonal, ``diagonal_scatter`` writes one
into zeros — each is the other's adjoint, so each VJP is the other op.
"""
from __future__ import annotations

import itertools

import numpy as np

from ..autograd.node import record
from ..tensor import Tensor, _wrap
from ._registry import op, tensor_method
from ._util import data_of, norm_dims, shape_args
from ._xp import array_module, diagonal_scatter_np
from .elementwise import _mask_vjp
from .index import getitem, np_getitem
from .movement import cat, expand, permute, reshape, stack, transpose

_T = Tensor


_data = data_of


def _dim(dim, ndim, name):
    return norm_dims(dim, ndim, name)[0]


def _along(dim, index):
    """An index selecting ``index`` along ``dim``."""
    return (slice(None),) * dim + (index,)


# ---- views and reshapes ------------------------------------------------------------------------
@op
def narrow(input, dim, start, length):  # noqa: A002 (torch's names)
    """The slice ``start:start+length`` of dimension ``dim`` (a view)."""
    d = _data("narrow", input)
    dm = _dim(dim, d.ndim, "narrow")
    n = d.shape[dm]
    start = int(start.item() if isinstance(start, _T) else start)
    if start < 0:
        start += n
    if not (0 <= start <= n and 0 <= length and start + length <= n):
        raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension "
                         f"{dm} of size {n}")
    return getitem(input, _along(dm, slice(start, start + length)))


@op
def unflatten(input, dim, sizes):  # noqa: A002
    """Dimension ``dim`` reshaped to ``sizes`` (one entry may be -1)."""
    d = _data("unflatten", input)
    dm = _dim(dim, d.ndim, "unflatten")
    sizes = tuple(int(s) for s in sizes)
    if sizes.count(-1) > 1:
        raise RuntimeError(f"unflatten: only one dimension can be inferred, got {sizes}")
    known = int(np.prod([s for s in sizes if s != -1]))
    if -1 in sizes:
        if known == 0 or d.shape[dm] % known:
            raise RuntimeError(f"unflatten: sizes {sizes} don't multiply up to the size "
                               f"{d.shape[dm]} of dimension {dm}")
        sizes = tuple(d.shape[dm] // known if s == -1 else s for s in sizes)
    elif known != d.shape[dm]:
        raise RuntimeError(f"unflatten: sizes {sizes} don't multiply up to the size "
                           f"{d.shape[dm]} of dimension {dm}")
    return reshape(input, d.shape[:dm] + sizes + d.shape[dm + 1:])


@tensor_method("unfold")
def unfold(self, dimension, size, step):
    """Tensor.unfold: every window of ``size`` along ``dimension``, ``step`` apart, as a new
    last dimension (the windows may overlap; their gradients add up)."""
    d = _data("unfold", self)
    if d.ndim == 0:
        return unfold(reshape(self, (1,)), 0, size, step)
    dm = _dim(dimension, d.ndim, "unfold")
    n = d.shape[dm]
    if size > n or size < 0:
        raise RuntimeError(f"unfold: maximum size for dimension {dm} is {n}, but size is {size}")
    if step <= 0:
        raise RuntimeError(f"unfold: step must be positive, got {step}")
    nw = (n - size) // step + 1
    idx = np.arange(nw)[:, None] * step + np.arange(size)[None, :]
    out = np_getitem(self, _along(dm, idx))  # (..., nw, size, ...)
    perm = list(range(out._data.ndim))
    perm.append(perm.pop(dm + 1))
    return permute(out, perm)


@op(methods=("movedim", "moveaxis"))
def movedim(input, source, destination):  # noqa: A002
    """Dimensions ``source`` moved to positions ``destination``; the others keep their order."""
    d = _data("movedim", input)
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: source {source} and destination {destination} must "
                           f"have the same number of dimensions")
    nd = d.ndim
    src = [_dim(s, nd, "movedim") for s in src]
    dst = [_dim(s, nd, "movedim") for s in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise RuntimeError(f"movedim: repeated dim in source {source} or destination "
                           f"{destination}")
    perm = [None] * nd
    for s_, d_ in zip(src, dst):
        perm[d_] = s_
    rest = iter(i for i in range(nd) if i not in src)
    return permute(input, tuple(p if p is not None else next(rest) for p in perm))


moveaxis = op(movedim, name="moveaxis", methods=())


@op(methods=("swapaxes", "swapdims"))
def swapaxes(input, axis0, axis1):  # noqa: A002
    """Dimensions ``axis0`` and ``axis1`` exchanged (transpose)."""
    return transpose(input, axis0, axis1)


swapdims = op(swapaxes, name="swapdims", methods=())


@op
def t(input):  # noqa: A002
    """A matrix transposed; 0-D and 1-D tensors come back as they are."""
    d = _data("t", input)
    if d.ndim > 2:
        raise RuntimeError(f"t: expects a tensor with <= 2 dimensions, got {d.ndim}")
    return transpose(input, 0, 1) if d.ndim == 2 else input


def _contiguous_copy_vjp(ctx, g):
    return (g,)


@tensor_method("contiguous")
def contiguous(self, memory_format=None):
    """This tensor if its memory is C-contiguous, else a contiguous copy (same gradient)."""
    d = self._data
    if d.flags.c_contiguous:
        return self
    return record("contiguous", np.ascontiguousarray(d), (self,), _contiguous_copy_vjp)


@tensor_method("is_contiguous")
def is_contiguous(self, memory_format=None):
    return bool(self._data.flags.c_contiguous)


@op(methods=())
def atleast_1d(*tensors):
    return _atleast(tensors, 1)


@op(methods=())
def atleast_2d(*tensors):
    return _atleast(tensors, 2)


@op(methods=())
def atleast_3d(*tensors):
    return _atleast(tensors, 3)


def _atleast(tensors, n):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(_atleast(tuple(tensors[0]), n))
    outs = []
    for t_ in tensors:
        s = _data(f"atleast_{n}d", t_).shape
        if len(s) < n:
            # torch: 1-D (k,) -> (1, k) -> (1, k, 1); 0-D -> (1,) * n
            new = {0: (1,) * n, 1: (1, s[0], 1)[:n] if n == 3 else (1,) + s,
                   2: s + (1,)}[len(s)]
            t_ = reshape(t_, new)
        outs.append(t_)
    return outs[0] if len(outs) == 1 else tuple(outs)


# ---- roll, tile, repeat_interleave, flips -----------------------------------------------------
def _roll_vjp(ctx, g, shifts, dims):
    xp = array_module(g)
    back = tuple(-s for s in shifts) if isinstance(shifts, tuple) else -shifts
    return (xp.roll(g, back, dims),)


@op
def roll(input, shifts, dims=None):  # noqa: A002
    """Elements shifted by ``shifts`` along ``dims`` (all elements, flattened, when None),
    wrapping around."""
    d = _data("roll", input)
    if dims is None:
        if not isinstance(shifts, int) and len(shifts) != 1:
            raise RuntimeError("roll: with dims=None shifts must be a single int")
        shifts = int(shifts) if isinstance(shifts, int) else int(shifts[0])
        return record("roll", np.roll(d, shifts), (input,), _roll_vjp, saved=(shifts, None))
    sh = (shifts,) if isinstance(shifts, int) else tuple(int(s) for s in shifts)
    dm = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(sh) != len(dm):
        raise RuntimeError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    dm = tuple(_dim(x, d.ndim, "roll") for x in dm)
    return record("roll", np.roll(d, sh, dm), (input,), _roll_vjp, saved=(sh, dm))


@op
def tile(input, dims):  # noqa: A002
    """``input`` repeated ``dims[i]`` times along each dimension (as numpy's tile: fewer dims
    than the tensor's are padded with ones on the left)."""
    from .movement import repeat
    d = _data("tile", input)
    dims = shape_args((dims,)) if not isinstance(dims, int) else (dims,)
    dims = (1,) * (d.ndim - len(dims)) + tuple(dims)
    return repeat(input, dims)


@op
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):  # noqa: A002
    """Each element repeated ``repeats`` times (an int, or one count per element along
    ``dim``); the input is flattened when ``dim`` is None. ``repeat_interleave(counts)`` with
    one integer tensor gives each index repeated its count."""
    if repeats is None:  # torch.repeat_interleave(repeats): indices repeated
        r = _data("repeat_interleave", input)
        return _wrap(np.repeat(np.arange(r.size, dtype=np.int64), r.reshape(-1)))
    d = _data("repeat_interleave", input)
    if dim is None:
        input, d = reshape(input, (-1,)), d.reshape(-1)
        dm = 0
    else:
        dm = _dim(dim, d.ndim, "repeat_interleave")
    r = repeats._data if isinstance(repeats, _T) else np.asarray(repeats)
    if r.dtype.kind not in "iu":
        raise RuntimeError(f"repeat_interleave: repeats must be integers, got dtype {r.dtype}")
    n = d.shape[dm] if d.ndim else 1
    if r.ndim and r.size not in (1, n):
        raise RuntimeError(f"repeat_interleave: repeats must have {n} entries (or one), got "
                           f"{r.size}")
    if np.any(r < 0):
        raise RuntimeError("repeat_interleave: repeats can not be negative")
    idx = np.repeat(np.arange(n), r.reshape(-1) if r.ndim else int(r))
    if d.ndim == 0:
        input = reshape(input, (1,))
    return np_getitem(input, _along(dm, idx))


@op
def fliplr(input):  # noqa: A002
    from .movement import flip
    return flip(input, (1,))


@op
def flipud(input):  # noqa: A002
    from .movement import flip
    return flip(input, (0,))


@op
def rot90(input, k=1, dims=(0, 1)):  # noqa: A002
    """Rotate by 90° ``k`` times in the plane of ``dims`` (from the first toward the second)."""
    from .movement import flip
    d0, d1 = dims
    k %= 4
    if k == 1:
        return transpose(flip(input, (d1,)), d0, d1)
    if k == 2:
        return flip(input, (d0, d1))
    if k == 3:
        return flip(transpose(input, d0, d1), (d1,))
    return input


# ---- triangles and diagonals ------------------------------------------------------------------
def _tri(name, fn, input, diagonal):
    d = _data(name, input)
    if d.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions, got shape "
                           f"{d.shape}")
    mask = fn(np.ones(d.shape[-2:], dtype=bool), diagonal)
    return record(name, np.where(mask, d, np.zeros((), dtype=d.dtype)), (input,), _mask_vjp,
                  saved=(mask,))


@op
def tril(input, diagonal=0):  # noqa: A002
    """The lower triangle of the last two dims (on and below ``diagonal``), zeros elsewhere."""
    return _tri("tril", np.tril, input, diagonal)


@op
def triu(input, diagonal=0):  # noqa: A002
    """The upper triangle of the last two dims (on and above ``diagonal``), zeros elsewhere."""
    return _tri("triu", np.triu, input, diagonal)


def _diagonal_vjp(ctx, g, shape, offset, dim1, dim2):
    return (array_module(g).diagonal_scatter(g, shape, offset, dim1, dim2),)


@op
def diagonal(input, offset=0, dim1=0, dim2=1):  # noqa: A002
    """The diagonal of the (dim1, dim2) planes as the last dimension (``offset`` > 0 above
    the main diagonal)."""
    d = _data("diagonal", input)
    a1, a2 = _dim(dim1, d.ndim, "diagonal"), _dim(dim2, d.ndim, "diagonal")
    if a1 == a2:
        raise RuntimeError(f"diagonal: dim1 and dim2 can not be the same dimension ({a1})")
    out = np.diagonal(d, offset, a1, a2).copy()
    return record("diagonal", out, (input,), _diagonal_vjp, saved=(d.shape, offset, a1, a2))


def _diagonal_scatter_vjp(ctx, g, offset, dim1, dim2):
    return (array_module(g).diagonal(g, offset, dim1, dim2),)


@op(export=False, methods=())
def diagonal_scatter(g, shape, offset, dim1, dim2):
    """The adjoint of ``diagonal``: zeros of ``shape`` with ``g`` on the diagonal."""
    return record("diagonal_scatter", diagonal_scatter_np(g._data, shape, offset, dim1, dim2),
                  (g,), _diagonal_scatter_vjp, saved=(offset, dim1, dim2))


@op
def diag_embed(input, offset=0, dim1=-2, dim2=-1):  # noqa: A002
    """The last dimension of ``input`` placed on the diagonal of new (dim1, dim2) planes of
    size n + |offset| (dims of the output)."""
    d = _data("diag_embed", input)
    nd = d.ndim + 1
    a1, a2 = _dim(dim1, nd, "diag_embed"), _dim(dim2, nd, "diag_embed")
    if a1 == a2:
        raise RuntimeError(f"diag_embed: dim1 and dim2 can not be the same dimension ({a1})")
    m = d.shape[-1] + abs(offset)
    # output shape: the batch dims in order, with the two m-sized dims inserted at a1, a2
    batch = list(d.shape[:-1])
    shape = []
    for i in range(nd):
        shape.append(m if i in (a1, a2) else batch.pop(0))
    return diagonal_scatter(input, tuple(shape), offset, a1, a2)


@op
def diag(input, diagonal=0):  # noqa: A002
    """1-D input: a square matrix with it on diagonal ``diagonal``; 2-D input: that diagonal."""
    d = _data("diag", input)
    if d.ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if d.ndim == 2:
        return globals()["diagonal"](input, diagonal, 0, 1)
    raise RuntimeError(f"diag: expected a 1-D or 2-D tensor, got shape {d.shape}")


# ---- splitting -----------------------------------------------------------------------------------
@op
def tensor_split(input, indices_or_sections, dim=0):  # noqa: A002
    """Split into ``n`` nearly equal parts (the first n % size ones one longer) or at the
    given indices, along ``dim``; views."""
    d = _data("tensor_split", input)
    dm = _dim(dim, d.ndim, "tensor_split")
    n = d.shape[dm]
    ios = indices_or_sections
    if isinstance(ios, _T):
        ios = ios._data.tolist()
    if isinstance(ios, (int, np.integer)):
        k = int(ios)
        if k <= 0:
            raise RuntimeError(f"tensor_split: number of sections must be positive, got {k}")
        q, r = divmod(n, k)
        sizes = [q + 1] * r + [q] * (k - r)
        bounds = np.concatenate([[0], np.cumsum(sizes)]).tolist()
    else:
        pts = [min(max(int(i) + (n if int(i) < 0 else 0), 0), n) for i in ios]
        bounds = [0] + pts + [n]
    return tuple(getitem(input, _along(dm, slice(lo, max(lo, hi))))
                 for lo, hi in zip(bounds[:-1], bounds[1:]))


def _numpy_split(name, input, ios, dim):
    d = _data(name, input)
    if isinstance(ios, int) and d.shape[dim] % ios:
        raise RuntimeError(f"{name}: dimension {dim} of size {d.shape[dim]} is not divisible "
                           f"by {ios}")
    return tensor_split(input, ios, dim)


@op
def hsplit(input, indices_or_sections):  # noqa: A002
    d = _data("hsplit", input)
    return _numpy_split("hsplit", input, indices_or_sections, 0 if d.ndim == 1 else 1)


@op
def vsplit(input, indices_or_sections):  # noqa: A002
    return _numpy_split("vsplit", input, indices_or_sections, 0)


@op
def dsplit(input, indices_or_sections):  # noqa: A002
    return _numpy_split("dsplit", input, indices_or_sections, 2)


# ---- stacking -------------------------------------------------------------------------------------
@op(methods=())
def hstack(tensors):
    """Concatenate along dim 1 (dim 0 for 1-D tensors)."""
    ts = atleast_1d(*tensors)
    ts = ts if isinstance(ts, tuple) else (ts,)
    return cat(ts, 0 if ts[0]._data.ndim == 1 else 1)


@op(methods=())
def vstack(tensors):
    """Concatenate along dim 0 after making each at least 2-D."""
    ts = atleast_2d(*tensors)
    return cat(ts if isinstance(ts, tuple) else (ts,), 0)


row_stack = op(vstack, name="row_stack", methods=())


@op(methods=())
def dstack(tensors):
    """Concatenate along dim 2 after making each at least 3-D."""
    ts = atleast_3d(*tensors)
    return cat(ts if isinstance(ts, tuple) else (ts,), 2)


@op(methods=())
def column_stack(tensors):
    """0-D and 1-D tensors become columns; then concatenate along dim 1."""
    cols = []
    for t_ in tensors:
        s = _data("column_stack", t_).shape
        cols.append(reshape(t_, (-1, 1)) if len(s) <= 1 else t_)
    return cat(cols, 1)


# ---- broadcasting and grids ------------------------------------------------------------------------
@op(methods=())
def broadcast_shapes(*shapes):
    """The shape all ``shapes`` broadcast to."""
    try:
        return tuple(np.broadcast_shapes(*[(s,) if isinstance(s, int) else tuple(s)
                                           for s in shapes]))
    except ValueError:
        raise RuntimeError(f"broadcast_shapes: shapes {shapes} do not broadcast") from None


@op(methods=())
def broadcast_tensors(*tensors):
    """Every tensor expanded to the common broadcast shape (views)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = broadcast_shapes(*[_data("broadcast_tensors", t_).shape for t_ in tensors])
    return tuple(expand(t_, shape) for t_ in tensors)


@op(methods=())
def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids from 1-D tensors: with ``indexing='ij'`` output i varies along dim i;
    ``'xy'`` swaps the first two dims (numpy's/matplotlib's convention)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    for t_ in tensors:
        if _data("meshgrid", t_).ndim > 1:
            raise RuntimeError(f"meshgrid: expects 0-D or 1-D tensors, got shape "
                               f"{t_._data.shape}")
    ts = [reshape(t_, (-1,)) for t_ in tensors]
    if indexing == "xy" and len(ts) >= 2:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t_._data.shape[0] for t_ in ts)
    n = len(ts)
    grids = [expand(reshape(t_, tuple(-1 if j == i else 1 for j in range(n))), shape)
             for i, t_ in enumerate(ts)]
    if indexing == "xy" and n >= 2:  # x (the first tensor) varies along dim 1
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


@op(methods=())
def cartesian_prod(*tensors):
    """Every combination of one element from each 1-D tensor, as rows."""
    if len(tensors) == 1:
        return tensors[0]
    return stack([reshape(g_, (-1,)) for g_ in meshgrid(*tensors, indexing="ij")], 1)


@op(methods=())
def combinations(input, r=2, with_replacement=False):  # noqa: A002
    """The length-``r`` combinations of a 1-D tensor's elements, as rows (itertools' order)."""
    d = _data("combinations", input)
    if d.ndim != 1:
        raise RuntimeError(f"combinations: expects a 1-D tensor, got shape {d.shape}")
    gen = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    if r <= 0:
        return _wrap(np.zeros((0,), dtype=d.dtype))
    idx = np.array(list(gen(range(d.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    return np_getitem(input, idx)

