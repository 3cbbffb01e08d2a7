"""Collectives on tensors, in place, over the default group's MPI communicator.

Every collective takes tensors (``tg.Tensor``; numpy arrays are accepted too) and writes its
result into them, as ``torch.distributed`` does. A C-contiguous, writeable buffer is handed to
MPI as it is (no copy); anything else (a strided view, float16, which MPI has no type for) goes
through one temporary contiguous buffer that is copied back when the operation completes.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .group import _G, _check_group, _need

__all__ = ["ReduceOp", "Work", "all_reduce", "broadcast", "all_gather", "all_gather_into_tensor",
           "reduce", "gather", "scatter", "barrier", "broadcast_object_list",
           "all_gather_object"]


class _Op:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"ReduceOp.{self.name}"


class ReduceOp:
    """Reduction operations: ``SUM``, ``AVG`` (floating tensors), ``PRODUCT``, ``MIN``, ``MAX``
    (also ``BAND``/``BOR``/``BXOR`` on integer and bool tensors)."""
    SUM = _Op("SUM")
    AVG = _Op("AVG")
    PRODUCT = _Op("PRODUCT")
    MIN = _Op("MIN")
    MAX = _Op("MAX")
    BAND = _Op("BAND")
    BOR = _Op("BOR")
    BXOR = _Op("BXOR")


_OPS = {o.name: o for o in (ReduceOp.SUM, ReduceOp.AVG, ReduceOp.PRODUCT, ReduceOp.MIN,
                            ReduceOp.MAX, ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR)}
# MPI's predefined operations on C bool are the logical ones; PyTorch treats a bool SUM/MAX as
# "any" and PRODUCT/MIN as "all"
_BOOL_OPS = {"SUM": "LOR", "MAX": "LOR", "BOR": "LOR", "PRODUCT": "LAND", "MIN": "LAND",
             "BAND": "LAND", "BXOR": "LXOR"}
_MPI_NAMES = {"SUM": "SUM", "AVG": "SUM", "PRODUCT": "PROD", "MIN": "MIN", "MAX": "MAX",
              "BAND": "BAND", "BOR": "BOR", "BXOR": "BXOR"}


def _as_op(op, fn):
    if isinstance(op, _Op):
        return op
    if isinstance(op, str) and op.upper() in _OPS:
        return _OPS[op.upper()]
    raise ValueError(f"{fn}: op must be a tg.distributed.ReduceOp (SUM, AVG, PRODUCT, MIN, MAX, "
                     f"BAND, BOR, BXOR), got {op!r}")


def _mpi_op(op, dtype, fn):
    MPI = _G.MPI
    kind = dtype.kind
    if kind == "b":
        if op.name == "AVG":
            raise TypeError(f"{fn}: ReduceOp.AVG needs a floating tensor, got dtype bool")
        return getattr(MPI, _BOOL_OPS[op.name])
    if op.name == "AVG" and kind not in "fc":
        raise TypeError(f"{fn}: ReduceOp.AVG needs a floating tensor, got dtype {dtype} (use SUM "
                        f"and divide)")
    if op.name in ("MIN", "MAX") and kind == "c":
        raise TypeError(f"{fn}: {op!r} is not defined for complex tensors")
    if op.name in ("BAND", "BOR", "BXOR") and kind not in "iu":
        raise TypeError(f"{fn}: {op!r} needs an integer or bool tensor, got dtype {dtype}")
    return getattr(MPI, _MPI_NAMES[op.name])


class _Buf:
    """A tensor's numpy array as MPI sees it: the array itself when MPI can use it in place,
    else a contiguous temporary (float16 travels as float32) copied back by ``finish()``."""
    __slots__ = ("t", "arr", "buf")

    def __init__(self, t, fn, what="tensor"):
        if isinstance(t, Tensor):
            arr = t._data
        elif isinstance(t, np.ndarray):
            arr = t
        else:
            raise TypeError(f"{fn}: {what} must be a tg.Tensor, got {type(t).__name__}")
        if arr.dtype.kind not in "biufc":
            raise TypeError(f"{fn}: {what} has dtype {arr.dtype}, which MPI can't carry")
        self.t, self.arr = t, arr
        if arr.dtype == np.float16:
            self.buf = arr.astype(np.float32)
        elif arr.flags.c_contiguous and arr.flags.writeable:
            self.buf = arr
        else:
            self.buf = np.ascontiguousarray(arr)

    def finish(self, div=None):
        if div is not None:
            self.buf /= div
        if self.buf is not self.arr:
            self.arr[...] = self.buf
        if isinstance(self.t, Tensor):
            self.t._version += 1


class Work:
    """A started non-blocking collective (``async_op=True``): ``wait()`` blocks until it is
    done and its result is in the tensor; ``is_completed()`` polls (and drives MPI's progress)."""

    def __init__(self, request, finish=None):
        self._req = request
        self._finish = finish
        self._done = False

    def _complete(self):
        if not self._done:
            self._done = True
            if self._finish is not None:
                self._finish()

    def wait(self, timeout=None):
        if not self._done:
            self._req.Wait()
            self._complete()
        return True

    def is_completed(self) -> bool:
        if not self._done and self._req.Test():
            self._complete()
        return self._done

    def __repr__(self):
        return f"Work(completed={self._done})"


def _done(finish):
    """A ``Work`` for something that already completed (blocking path with async_op=True)."""
    finish()
    w = Work(None)
    w._done = True
    return w


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` over every rank with ``op`` and leave the result in it on every rank."""
    fn = "all_reduce"
    _check_group(group, fn)
    _need(fn)
    op = _as_op(op, fn)
    b = _Buf(tensor, fn)
    mop = _mpi_op(op, b.buf.dtype, fn)
    div = _G.size if op.name == "AVG" else None
    MPI = _G.MPI
    if async_op:
        req = _G.comm.Iallreduce(MPI.IN_PLACE, b.buf, mop)
        return Work(req, lambda: b.finish(div))
    _G.comm.Allreduce(MPI.IN_PLACE, b.buf, mop)
    b.finish(div)
    return None


def _check_rank(r, fn, what):
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or not 0 <= r < _G.size:
        raise ValueError(f"{fn}: {what} must be a rank in [0, {_G.size}), got {r!r}")
    return int(r)


def broadcast(tensor, src=0, group=None, async_op=False):
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every other rank."""
    fn = "broadcast"
    _check_group(group, fn)
    _need(fn)
    src = _check_rank(src, fn, "src")
    b = _Buf(tensor, fn)
    if async_op:
        return Work(_G.comm.Ibcast(b.buf, root=src), b.finish)
    _G.comm.Bcast(b.buf, root=src)
    b.finish()
    return None


def _same_layout(ts, ref, fn, what):
    for i, t in enumerate(ts):
        a = t._data if isinstance(t, Tensor) else t
        if not isinstance(a, np.ndarray) or a.shape != ref.shape or a.dtype != ref.dtype:
            got = (getattr(a, "shape", None), getattr(a, "dtype", type(t).__name__))
            raise ValueError(f"{fn}: {what}[{i}] must have shape {ref.shape} and dtype "
                             f"{ref.dtype} like the input tensor, got {got}")


def _list_of(ts, fn, what):
    if not isinstance(ts, (list, tuple)) or len(ts) != _G.size:
        raise ValueError(f"{fn}: {what} must be a list of world_size={_G.size} tensors, got "
                         f"{type(ts).__name__} of length {len(ts) if hasattr(ts, '__len__') else '?'}")
    return list(ts)


def _stacked(shape, dtype):
    dt = np.float32 if dtype == np.float16 else dtype
    return np.empty((_G.size,) + tuple(shape), dtype=dt)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Every rank's ``tensor`` into ``tensor_list[r]`` on every rank."""
    fn = "all_gather"
    _check_group(group, fn)
    _need(fn)
    b = _Buf(tensor, fn)
    out = _list_of(tensor_list, fn, "tensor_list")
    _same_layout(out, b.arr, fn, "tensor_list")
    recv = _stacked(b.arr.shape, b.arr.dtype)

    def finish():
        for i, t in enumerate(out):
            _Buf(t, fn).arr[...] = recv[i]
            if isinstance(t, Tensor):
                t._version += 1
    if async_op:
        return Work(_G.comm.Iallgather(b.buf, recv), finish)
    _G.comm.Allgather(b.buf, recv)
    finish()
    return None


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Every rank's ``input_tensor`` concatenated along dim 0 into ``output_tensor``
    (shape ``(world_size * n, ...)``), on every rank."""
    fn = "all_gather_into_tensor"
    _check_group(group, fn)
    _need(fn)
    b_in, b_out = _Buf(input_tensor, fn, "input_tensor"), _Buf(output_tensor, fn, "output_tensor")
    a = b_in.arr
    want = ((a.shape[0] * _G.size,) + a.shape[1:]) if a.ndim else (_G.size,)
    if b_out.arr.shape != want or b_out.arr.dtype != a.dtype:
        raise ValueError(f"{fn}: output_tensor must have shape {want} and dtype {a.dtype}, got "
                         f"{b_out.arr.shape} and {b_out.arr.dtype}")
    if async_op:
        return Work(_G.comm.Iallgather(b_in.buf, b_out.buf), b_out.finish)
    _G.comm.Allgather(b_in.buf, b_out.buf)
    b_out.finish()
    return None


def reduce(tensor, dst=0, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` over every rank into rank ``dst``'s ``tensor`` (the others' are left
    as they were)."""
    fn = "reduce"
    _check_group(group, fn)
    _need(fn)
    dst = _check_rank(dst, fn, "dst")
    op = _as_op(op, fn)
    b = _Buf(tensor, fn)
    mop = _mpi_op(op, b.buf.dtype, fn)
    root = _G.rank == dst
    div = _G.size if op.name == "AVG" else None
    MPI = _G.MPI
    if root:
        args = (MPI.IN_PLACE, b.buf, mop, dst)
    else:
        args = (b.buf, None, mop, dst)
    finish = (lambda: b.finish(div)) if root else (lambda: None)
    if async_op:
        return Work(_G.comm.Ireduce(*args), finish)
    _G.comm.Reduce(*args)
    finish()
    return None


def gather(tensor, gather_list=None, dst=0, group=None, async_op=False):
    """Every rank's ``tensor`` into ``gather_list[r]`` on rank ``dst`` (``gather_list`` is
    given on ``dst`` only)."""
    fn = "gather"
    _check_group(group, fn)
    _need(fn)
    dst = _check_rank(dst, fn, "dst")
    b = _Buf(tensor, fn)
    root = _G.rank == dst
    if root:
        out = _list_of(gather_list, fn, "gather_list")
        _same_layout(out, b.arr, fn, "gather_list")
        recv = _stacked(b.arr.shape, b.arr.dtype)
    elif gather_list is not None:
        raise ValueError(f"{fn}: gather_list is given on the destination rank {dst} only, "
                         f"got one on rank {_G.rank}")
    else:
        out, recv = None, None

    def finish():
        if root:
            for i, t in enumerate(out):
                _Buf(t, fn).arr[...] = recv[i]
                if isinstance(t, Tensor):
                    t._version += 1
    if async_op:
        return Work(_G.comm.Igather(b.buf, recv, root=dst), finish)
    _G.comm.Gather(b.buf, recv, root=dst)
    finish()
    return None


def scatter(tensor, scatter_list=None, src=0, group=None, async_op=False):
    """Rank ``src``'s ``scatter_list[r]`` into ``tensor`` on rank ``r``."""
    fn = "scatter"
    _check_group(group, fn)
    _need(fn)
    src = _check_rank(src, fn, "src")
    b = _Buf(tensor, fn)
    if _G.rank == src:
        ins = _list_of(scatter_list, fn, "scatter_list")
        _same_layout(ins, b.arr, fn, "scatter_list")
        send = _stacked(b.arr.shape, b.arr.dtype)
        for i, t in enumerate(ins):
            send[i] = t._data if isinstance(t, Tensor) else t
    elif scatter_list is not None:
        raise ValueError(f"{fn}: scatter_list is given on the source rank {src} only, got one "
                         f"on rank {_G.rank}")
    else:
        send = None
    if async_op:
        return Work(_G.comm.Iscatter(send, b.buf, root=src), b.finish)
    _G.comm.Scatter(send, b.buf, root=src)
    b.finish()
    return None


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every rank has reached this call."""
    _check_group(group, "barrier")
    _need("barrier")
    if async_op:
        return Work(_G.comm.Ibarrier())
    _G.comm.Barrier()
    return None


def broadcast_object_list(object_list, src=0, group=None, device=None):
    """Replace ``object_list``'s items on every rank by rank ``src``'s (picklable objects;
    the ranks of one job trust each other, as in PyTorch)."""
    fn = "broadcast_object_list"
    _check_group(group, fn)
    _need(fn)
    src = _check_rank(src, fn, "src")
    if not isinstance(object_list, list):
        raise TypeError(f"{fn}: object_list must be a list, got {type(object_list).__name__}")
    got = _G.comm.bcast(object_list if _G.rank == src else None, root=src)
    if len(got) != len(object_list):
        raise ValueError(f"{fn}: rank {src} sent {len(got)} objects, this rank's list holds "
                         f"{len(object_list)}")
    object_list[:] = got


def all_gather_object(object_list, obj, group=None):
    """``object_list[r]`` = rank ``r``'s ``obj``, on every rank."""
    fn = "all_gather_object"
    _check_group(group, fn)
    _need(fn)
    if not isinstance(object_list, list) or len(object_list) != _G.size:
        raise ValueError(f"{fn}: object_list must be a list of world_size={_G.size} items")
    object_list[:] = _G.comm.allgather(obj)
