"""The default process group: one MPI communicator shared by every rank of the job."""
from __future__ import annotations

import importlib.util
import sys

__all__ = ["init_process_group", "destroy_process_group", "is_initialized", "is_available",
           "is_mpi_available", "get_rank", "get_world_size", "get_backend", "GroupMember"]


class _Group:
    """The state of the default group (tensorgrad has one group: the whole job)."""
    comm = None          # a private duplicate of MPI.COMM_WORLD
    MPI = None           # the mpi4py.MPI module, imported on init only
    rank = 0
    size = 1
    prev_excepthook = None


class GroupMember:
    """``group=GroupMember.WORLD`` (or ``None``) names the default group, as in PyTorch."""
    WORLD = "WORLD"
    NON_GROUP_MEMBER = "NON_GROUP_MEMBER"


_G = _Group()


def is_mpi_available() -> bool:
    """True when ``mpi4py`` can be imported (it brings MPI's library with it)."""
    return importlib.util.find_spec("mpi4py") is not None


def is_available() -> bool:
    """True when a backend (MPI) is there to start a process group with."""
    return is_mpi_available()


def is_initialized() -> bool:
    return _G.comm is not None


def _need(fn):
    if _G.comm is None:
        raise RuntimeError(f"{fn}: the default process group has not been initialized; call "
                           f"tg.distributed.init_process_group(backend='mpi') first (and launch "
                           f"the script with mpirun -n N)")


def _check_group(group, fn):
    if group is not None and group is not GroupMember.WORLD and group != GroupMember.WORLD:
        raise ValueError(f"{fn}: tensorgrad has only the default group (group=None or "
                         f"GroupMember.WORLD), got {group!r}")


def _abort_on_exception(exc_type, exc, tb):
    """sys.excepthook while the group lives: print the traceback, then take the whole job down
    (a rank that simply exited would leave the others blocked inside a collective)."""
    prev = _G.prev_excepthook or sys.__excepthook__
    try:
        sys.stderr.write(f"[tensorgrad.distributed] rank {_G.rank} of {_G.size}: uncaught "
                         f"{exc_type.__name__}; aborting the MPI job\n")
        prev(exc_type, exc, tb)
        sys.stderr.flush()
        sys.stdout.flush()
    finally:
        _G.MPI.COMM_WORLD.Abort(1)


def init_process_group(backend="mpi", init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, *, abort_on_exception=True):
    """Join the job's process group. Only ``backend="mpi"`` exists: the rank and world size
    come from the MPI launcher (``mpirun -n N``); ``world_size``/``rank``, if given, must agree
    with it. A script started without a launcher forms a group of one (MPI's singleton mode).

    ``abort_on_exception`` (default True) makes an uncaught exception on any rank abort the
    whole job instead of leaving the other ranks hanging in a collective."""
    if backend is None:
        backend = "mpi"
    if str(backend).lower() != "mpi":
        raise ValueError(f"init_process_group: tensorgrad runs its collectives over MPI only "
                         f"(backend='mpi'), got backend={backend!r}")
    if init_method not in (None, "env://", "mpi://") or store is not None:
        raise ValueError(f"init_process_group: with the MPI backend the launcher (mpirun) sets "
                         f"up the job; init_method/store are not used, got "
                         f"init_method={init_method!r}")
    if _G.comm is not None:
        raise RuntimeError("init_process_group: trying to initialize the default process group "
                           "twice (call destroy_process_group() first)")
    if not is_mpi_available():
        raise RuntimeError("init_process_group: the MPI backend needs mpi4py and an MPI library: "
                           "apt-get install openmpi-bin libopenmpi-dev && pip install mpi4py "
                           "(or pip install 'tensorgrad[distributed]')")
    from mpi4py import MPI
    comm = MPI.COMM_WORLD.Dup()  # a private communicator: user MPI traffic can't interleave
    r, n = comm.Get_rank(), comm.Get_size()
    if world_size not in (-1, None) and int(world_size) != n:
        comm.Free()
        raise ValueError(f"init_process_group: world_size={world_size} but the MPI job has {n} "
                         f"processes (mpirun -n {n})")
    if rank not in (-1, None) and int(rank) != r:
        comm.Free()
        raise ValueError(f"init_process_group: rank={rank} but MPI gave this process rank {r}")
    _G.comm, _G.MPI, _G.rank, _G.size = comm, MPI, r, n
    if abort_on_exception:
        _G.prev_excepthook = sys.excepthook
        sys.excepthook = _abort_on_exception


def destroy_process_group(group=None):
    """Leave the group (MPI itself is finalized when the process exits)."""
    _check_group(group, "destroy_process_group")
    _need("destroy_process_group")
    if sys.excepthook is _abort_on_exception:
        sys.excepthook = _G.prev_excepthook or sys.__excepthook__
    _G.prev_excepthook = None
    comm, _G.comm = _G.comm, None
    _G.rank, _G.size = 0, 1
    comm.Free()


def get_rank(group=None) -> int:
    """This process's rank, ``0 .. world_size - 1``."""
    _check_group(group, "get_rank")
    _need("get_rank")
    return _G.rank


def get_world_size(group=None) -> int:
    """The number of processes in the job."""
    _check_group(group, "get_world_size")
    _need("get_world_size")
    return _G.size


def get_backend(group=None) -> str:
    _check_group(group, "get_backend")
    _need("get_backend")
    return "mpi"
