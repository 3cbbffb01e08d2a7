"""``tensorgrad.utils.data``: PyTorch's ``torch.utils.data`` names, the very objects defined
in ``tensorgrad.data`` (one definition; this package only re-exports them), so
``from torch.utils.data import DataLoader, TensorDataset`` becomes
``from tensorgrad.utils.data import DataLoader, TensorDataset`` and nothing else changes.
Submodules ``.dataset``, ``.dataloader``, ``.sampler`` and ``.distributed`` mirror PyTorch's."""
from ...data.dataset import (DataLoader, Dataset, IterableDataset, Subset,  # noqa: F401
                             TensorDataset, default_collate, default_convert)
from ...data.combine import ChainDataset, ConcatDataset  # noqa: F401
from ...data.sampler import (BatchSampler, RandomSampler, Sampler,  # noqa: F401
                             SequentialSampler, SubsetRandomSampler, WeightedRandomSampler)
from ...data.split import random_split  # noqa: F401
from ...data.workers import WorkerInfo, get_worker_info  # noqa: F401
from ...data.distributed import DistributedSampler  # noqa: F401
from . import dataset, dataloader, sampler, distributed  # noqa: F401,E402

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset",
           "ChainDataset", "DataLoader", "random_split", "default_collate", "default_convert",
           "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "DistributedSampler", "get_worker_info",
           "WorkerInfo"]
