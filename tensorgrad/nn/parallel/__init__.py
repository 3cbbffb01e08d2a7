"""Data parallelism across processes: ``DistributedDataParallel`` and ``SyncBatchNorm``
(over ``tg.distributed``'s MPI process group)."""
from .distributed import DistributedDataParallel  # noqa: F401
from .sync_batchnorm import SyncBatchNorm  # noqa: F401

__all__ = ["DistributedDataParallel", "SyncBatchNorm"]
