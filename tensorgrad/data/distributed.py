"""``DistributedSampler``: each rank of a data-parallel job reads its own share of a dataset."""
from __future__ import annotations

import math

import numpy as np

from .sampler import Sampler

__all__ = ["DistributedSampler"]


def _int_arg(v, name):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"DistributedSampler: {name} must be an int, got {type(v).__name__}")
    return int(v)


class DistributedSampler(Sampler):
    """The indices of ``dataset`` that rank ``rank`` of ``num_replicas`` reads, PyTorch's way:

    * every epoch all ranks draw the same permutation (``shuffle=True``: seeded with
      ``seed + epoch``; call ``set_epoch(e)`` at the start of each epoch, or every epoch repeats
      the same order), then rank ``r`` takes positions ``r, r + R, r + 2R, ...``;
    * so that every rank gets the same count, the order is padded by repeating its first
      indices up to a multiple of ``num_replicas`` (``drop_last=False``), or its tail is dropped
      instead (``drop_last=True``).

    ``num_replicas``/``rank`` default to the process group's world size and rank. With a
    DataLoader of ``batch_size=b`` on every rank, rank r's k-th batch and the other ranks'
    k-th batches together are positions ``[kRb, (k+1)Rb)`` of the padded order: the same
    examples one process would see with ``batch_size=R*b`` and
    ``DistributedSampler(ds, num_replicas=1, rank=0, seed=seed)`` (when no padding is needed).
    The permutation comes from numpy's generator, not torch's, so the orders differ from
    PyTorch's (the arithmetic above is the same)."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if num_replicas is None or rank is None:
            from .. import distributed as dist
            if not dist.is_initialized():
                raise RuntimeError("DistributedSampler: num_replicas and rank default to the "
                                   "process group's, but it is not initialized; call "
                                   "tg.distributed.init_process_group() or pass both")
            if num_replicas is None:
                num_replicas = dist.get_world_size()
            if rank is None:
                rank = dist.get_rank()
        num_replicas, rank = _int_arg(num_replicas, "num_replicas"), _int_arg(rank, "rank")
        if num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be >= 1, got {num_replicas}")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: invalid rank {rank}, rank should be in the "
                             f"interval [0, {num_replicas - 1}]")
        if not hasattr(dataset, "__len__"):
            raise TypeError(f"DistributedSampler: dataset must have a length, got "
                            f"{type(dataset).__name__}")
        self.dataset = dataset
        self.num_replicas, self.rank = num_replicas, rank
        self.shuffle, self.seed, self.drop_last = bool(shuffle), _int_arg(seed, "seed"), \
            bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if self.drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            order = np.arange(n)
        if not self.drop_last:
            pad = self.total_size - n
            if pad > 0:
                order = np.concatenate([order, np.resize(order, pad)])
        else:
            order = order[:self.total_size]
        mine = order[self.rank:self.total_size:self.num_replicas]
        assert mine.size == self.num_samples
        return iter(mine.tolist())

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Make the next pass draw epoch ``epoch``'s permutation (the same on every rank)."""
        self.epoch = _int_arg(epoch, "epoch")

    def __repr__(self):
        return (f"DistributedSampler({len(self.dataset)} examples, num_replicas="
                f"{self.num_replicas}, rank={self.rank}, shuffle={self.shuffle}, seed={self.seed}, "
                f"drop_last={self.drop_last}, epoch={self.epoch})")
