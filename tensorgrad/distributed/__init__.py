"""Process groups and collectives over MPI, under ``torch.distributed``'s names.

Launch N copies of a script with an MPI launcher and let each join the group::

    mpirun -n 2 python train.py          # add --oversubscribe when N exceeds the cores

    import tensorgrad.distributed as dist
    dist.init_process_group(backend="mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    t = tg.tensor([float(rank)])
    dist.all_reduce(t, op=dist.ReduceOp.SUM)     # in place, on every rank

The engine underneath is MPI (Open MPI or MPICH through ``mpi4py``); tensorgrad adds no
transport of its own. Collectives work **in place** on a tensor's numpy buffer, which is handed to
MPI without a copy when it is C-contiguous (a strided view or a float16 tensor goes through one
temporary buffer). ``async_op=True`` starts a non-blocking collective and returns a ``Work``
whose ``wait()`` completes it.

Failure: after ``init_process_group`` an uncaught exception on any rank prints its traceback and
aborts the whole MPI job (``MPI_Abort``), so the other ranks never wait forever inside a
collective for a rank that is gone. ``init_process_group(abort_on_exception=False)`` turns this
off. See docs/distributed.md.
"""
from __future__ import annotations

from .collectives import (ReduceOp, Work, all_gather, all_gather_into_tensor,  # noqa: F401
                          all_gather_object, all_reduce, barrier, broadcast,
                          broadcast_object_list, gather, reduce, scatter)
from .group import (GroupMember, destroy_process_group, get_backend, get_rank,  # noqa: F401
                    get_world_size, init_process_group, is_available, is_initialized,
                    is_mpi_available)

__all__ = ["init_process_group", "destroy_process_group", "is_initialized", "is_available",
           "is_mpi_available", "get_rank", "get_world_size", "get_backend", "GroupMember",
           "ReduceOp", "Work", "all_reduce", "broadcast", "all_gather", "all_gather_into_tensor",
           "reduce", "gather", "scatter", "barrier", "broadcast_object_list",
           "all_gather_object"]
