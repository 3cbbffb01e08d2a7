"""Indexing with PyTorch's rules: basic slices, integer arrays (repeated indices accumulate),
boolean masks; gather; index_put (the differentiable form of ``__setitem__``).

numpy and PyTorch agree on every index but one kind: an integer mixed with index arrays. numpy
counts the integer as an advanced index, PyTorch selects it first (a plain ``select``), so
``x[0, :, [0, 1, 2]]`` puts the list's dimension in front under numpy and after the slice's
under PyTorch. ``torch_layout`` finds where PyTorch puts the broadcast index dimensions; the op
then moves numpy's block there (a view), and ``__setitem__`` moves the value the other way.
"""
from __future__ import annotations

import numpy as np

from ..autograd.node import record
from ..tensor import Tensor, _wrap
from ._registry import op
from ._util import not_tensor
from ._xp import array_module, getitem_adjoint_np, is_advanced

_ndarray = np.ndarray
_Tensor = Tensor


def normalize_index(index):
    """A PyTorch index as a numpy one: Tensors and lists become arrays, a 0-d integer
    tensor an int (PyTorch selects with it, as with an int)."""
    if type(index) is tuple:
        return tuple([_norm_one(i) for i in index])
    return _norm_one(index)


def _norm_one(i):
    if isinstance(i, _Tensor):
        i = i._data
    elif isinstance(i, list):
        i = np.asarray(i) if i else np.zeros(0, dtype=np.int64)
    else:
        return i
    if i.ndim == 0 and i.dtype.kind in "iu":
        return int(i)
    return i


def _is_int(i):
    return isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_))


def torch_layout(index, ndim):
    """For an index mixing ints and arrays, ``(numpy_pos, torch_pos, k)``: the k broadcast
    index dimensions sit at ``numpy_pos`` in numpy's result and belong at ``torch_pos``.
    None when the two layouts agree."""
    if type(index) is not tuple:
        return None
    other = arrays = False  # ints, or an Ellipsis (numpy counts it as a separator even
    for i in index:         # when it stands for no dimension, PyTorch does not)
        if isinstance(i, _ndarray) or isinstance(i, (bool, np.bool_)):
            arrays = True
        elif i is Ellipsis or _is_int(i):
            other = True
    if not (other and arrays):
        return None
    consumed = 0
    for i in index:
        if i is None or i is Ellipsis or isinstance(i, (bool, np.bool_)):
            continue
        consumed += i.ndim if isinstance(i, _ndarray) and i.dtype == np.bool_ else 1
    kinds = []  # one entry per index item after expanding the Ellipsis: "i"(nt), "a"(rray),
    for i in index:  # "b"(asic: a result dimension) or "e" (an Ellipsis standing for none)
        if i is Ellipsis:
            kinds += ["b"] * (ndim - consumed) if ndim > consumed else ["e"]
        elif _is_int(i):
            kinds.append("i")
        elif isinstance(i, (_ndarray, bool, np.bool_)):
            kinds.append("a")
        else:  # a slice or None: one result dimension
            kinds.append("b")

    def place(adv, sep):
        pos = [p for p, k in enumerate(kinds) if k in adv]
        between = kinds[pos[0]:pos[-1] + 1]
        if any(k in sep for k in between):
            return 0  # separated: the index dimensions go first
        return kinds[:pos[0]].count("b")

    np_pos, t_pos = place("ia", "be"), place("a", "b")
    if np_pos == t_pos:
        return None
    shapes = []
    for i in index:
        if isinstance(i, (bool, np.bool_)):
            shapes.append((int(i),))
        elif isinstance(i, _ndarray):
            shapes.append((int(np.count_nonzero(i)),) if i.dtype == np.bool_ else i.shape)
    try:
        k = len(np.broadcast_shapes(*shapes))
    except ValueError:
        return None  # numpy raises the shape mismatch itself
    return np_pos, t_pos, k


def _block_perm(nd, src, dst, k):
    """The axes order that moves the k axes starting at ``src`` to start at ``dst``."""
    rest = [a for a in range(nd) if not src <= a < src + k]
    block = list(range(src, src + k))
    return tuple(rest[:dst] + block + rest[dst:])


def _check_index(d, index):
    items = index if isinstance(index, tuple) else (index,)
    for i in items:
        if isinstance(i, np.ndarray) and i.dtype.kind not in "iub":
            raise IndexError(f"getitem: tensors used as indices must be integer or bool, got "
                             f"dtype {i.dtype}")


def _getitem_vjp(ctx, g, shape, index):
    return (array_module(g).getitem_adjoint(g, shape, index),)


def _np_getitem(a, d, index, adv):
    """``a[index]`` with numpy's rules (the index is already a numpy one), recorded."""
    try:
        out = d[index]
    except IndexError as e:
        _check_index(d, index)
        raise IndexError(f"getitem: {e} (indexing a tensor of shape {d.shape})") from None
    if adv:
        out = np.array(out, copy=True) if isinstance(out, np.ndarray) else np.asarray(out)
    return record("getitem", out, (a,), _getitem_vjp, saved=(d.shape, index),
                  view_of=None if adv else a)


@op(methods="__getitem__")
def getitem(a, index):
    """``a[index]`` with PyTorch's rules (see the module docstring)."""
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("getitem", a) from None
    index = normalize_index(index)
    if not is_advanced(index):
        return _np_getitem(a, d, index, False)
    out = _np_getitem(a, d, index, True)
    move = torch_layout(index, d.ndim)
    if move is None:
        return out
    from .movement import permute
    return permute(out, _block_perm(out._data.ndim, *move))


@op(methods=(), export=False)
def np_getitem(a, index):
    """``a[index]`` with numpy's rules, for VJPs that index with numpy indices they saved."""
    return _np_getitem(a, a._data, index, is_advanced(index))


def _getitem_adjoint_vjp(ctx, g, index):
    return (array_module(g).getitem(g, index),)


@op(methods=(), export=False)
def getitem_adjoint(g, shape, index):
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeated indices accumulate).
    The adjoint of getitem; its own VJP is getitem, so double backward works."""
    return record("getitem_backward", getitem_adjoint_np(g._data, shape, index), (g,),
                  _getitem_adjoint_vjp, saved=(index,))


def _index_put_vjp(ctx, g, index):
    xp = array_module(g)
    n = ctx.needs
    return (xp.index_put(g, index, 0.0) if n[0] else None,  # overwritten entries: no gradient
            xp.getitem(g, index) if len(n) > 1 and n[1] else None)


def _index_put_acc_vjp(ctx, g, index):
    n = ctx.needs
    return (g if n[0] else None,
            array_module(g).getitem(g, index) if len(n) > 1 and n[1] else None)


def _numpy_layout(d, index, value, move):
    """``value`` (laid out as PyTorch's result of ``d[index]``) laid out as numpy's."""
    from .movement import expand, permute
    np_shape = np.broadcast_to(np.zeros((), dtype=bool), d.shape)[index].shape
    perm = _block_perm(len(np_shape), *move)
    t_shape = tuple(np_shape[p] for p in perm)
    if not isinstance(value, Tensor):
        value = _wrap(np.asarray(value, dtype=d.dtype))
    try:
        value = expand(value, t_shape)
    except RuntimeError:
        raise RuntimeError(f"__setitem__: shape mismatch: value of shape {value._data.shape} "
                           f"cannot be broadcast to indexing result of shape {t_shape}") from None
    return permute(value, tuple(np.argsort(perm)))


@op
def index_put(a, indices, values, accumulate=False):
    """A copy of ``a`` with ``a[indices] = values`` (``+=`` with ``accumulate=True``, repeated
    indices adding up); differentiable in both. Any index ``a[...]`` takes is accepted."""
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("index_put", a) from None
    index = normalize_index(indices)
    if is_advanced(index):
        move = torch_layout(index, d.ndim)
        if move is not None and not np.isscalar(values):
            values = _numpy_layout(d, index, values, move)
    out = d.copy()
    v = values._data if isinstance(values, Tensor) else values
    try:
        if accumulate:
            np.add.at(out, index, v)
        else:
            out[index] = v
    except (ValueError, IndexError) as e:
        raise type(e)(f"__setitem__: cannot assign a value of shape {np.shape(v)} to index "
                      f"{index!r} of a tensor of shape {d.shape}: {e}") from None
    ins = (a, values) if isinstance(values, Tensor) else (a,)
    return record("index_put", out, ins, _index_put_acc_vjp if accumulate else _index_put_vjp,
                  saved=(index,))


def _gather_index(idx, dim):
    grids = np.indices(idx.shape, sparse=True)
    full = list(grids)
    full[dim] = idx
    return tuple(full)


def check_index_range(op, idx, size, dim, exc=RuntimeError):
    """PyTorch's bounds check for gather/scatter-style indices (no negative wrap-around)."""
    if idx.size:
        lo, hi = idx.min(), idx.max()
        if lo < 0 or hi >= size:
            bad = lo if lo < 0 else hi
            raise exc(f"{op}: index {bad} is out of bounds for dimension {dim} with size {size}")


@op
def gather(a, dim, index, *, sparse_grad=False):
    """out[i][j] = a[i][index[i][j]] along ``dim`` (as torch.gather)."""
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("gather", a) from None
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"gather: expected an int64 index tensor, got dtype {idx.dtype}")
    if idx.ndim != d.ndim and not (idx.ndim <= 1 and d.ndim <= 1):
        raise RuntimeError(f"gather: index has {idx.ndim} dimensions, input has {d.ndim} "
                           f"(shapes {idx.shape} and {d.shape})")
    if d.ndim == 0:
        check_index_range("gather", idx, 1, 0)
        return getitem(a.reshape(1), idx.reshape(-1)).reshape(idx.shape)
    dim = _dim(dim, d.ndim, "gather")
    for k in range(d.ndim):
        if k != dim and idx.shape[k] > d.shape[k]:
            raise RuntimeError(f"gather: size of index {idx.shape} does not match the input "
                               f"{d.shape} at dimension {k} (index may not be larger except "
                               f"at dimension {dim})")
    check_index_range("gather", idx, d.shape[dim], dim)
    full = _gather_index(idx, dim)
    return record("gather", d[full], (a,), _getitem_vjp, saved=(d.shape, full))


def _dim(dim, ndim, op):
    from ._util import norm_dims
    return norm_dims(dim, ndim, op)[0]


@op
def index_select(a, dim, index):
    """The entries of ``a`` at ``index`` (1-D) along ``dim``."""
    try:
        d = a._data
    except AttributeError:
        raise not_tensor("index_select", a) from None
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.ndim > 1 or idx.dtype.kind not in "iu":
        raise IndexError(f"index_select: index must be a 1-D integer tensor, got shape "
                         f"{idx.shape} and dtype {idx.dtype}")
    if d.ndim == 0:
        check_index_range("index_select", idx, 1, 0, IndexError)
        return getitem(a.reshape(1), idx.reshape(-1)).reshape(idx.shape)
    dim = _dim(dim, d.ndim, "index_select")
    check_index_range("index_select", idx, d.shape[dim], dim, IndexError)
    return np_getitem(a, (slice(None),) * dim + (idx.reshape(-1),))
