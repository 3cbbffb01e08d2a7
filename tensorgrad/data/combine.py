"""Datasets made of other datasets: ``ConcatDataset`` (map-style, one after the other) and
``ChainDataset`` (iterable, one stream after the other), as PyTorch's."""
from __future__ import annotations

import bisect

from .dataset import Dataset, IterableDataset

__all__ = ["ConcatDataset", "ChainDataset"]


class ConcatDataset(Dataset):
    """The examples of ``datasets[0]``, then of ``datasets[1]``, ...; ``cumulative_sizes[i]``
    is the number of examples in the first ``i + 1`` datasets. Negative indices count from
    the end."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for i, d in enumerate(self.datasets):
            if isinstance(d, IterableDataset):
                raise TypeError(f"ConcatDataset does not support IterableDataset (dataset {i}); "
                                f"use ChainDataset")
            if not hasattr(d, "__len__") or not hasattr(d, "__getitem__"):
                raise TypeError(f"ConcatDataset: dataset {i} ({type(d).__name__}) needs "
                                f"__len__ and __getitem__")
        self.cumulative_sizes, total = [], 0
        for d in self.datasets:
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError(f"ConcatDataset: absolute value of index {idx} should not "
                                 f"exceed dataset length {n}")
            idx = n + idx
        if idx >= n:
            raise IndexError(f"ConcatDataset: index {idx} is out of range for {n} examples")
        k = bisect.bisect_right(self.cumulative_sizes, idx)
        return self.datasets[k][idx - (self.cumulative_sizes[k - 1] if k else 0)]


class ChainDataset(IterableDataset):
    """Iterate over each dataset of ``datasets`` in turn (streams chained lazily)."""

    def __init__(self, datasets):
        self.datasets = list(datasets)

    def __iter__(self):
        for i, d in enumerate(self.datasets):
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset only supports IterableDataset (dataset {i} is "
                                f"{type(d).__name__})")
            yield from d

    def __len__(self):
        total = 0
        for i, d in enumerate(self.datasets):
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset only supports IterableDataset (dataset {i} is "
                                f"{type(d).__name__})")
            total += len(d)
        return total
