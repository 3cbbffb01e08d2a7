"""Samplers: which dataset indices a DataLoader reads, and in what order (PyTorch's classes).

Random samplers draw from a numpy Generator: the ``generator`` given (a numpy
``np.random.Generator``, or an object holding one), else tensorgrad's global generator, so
``tg.manual_seed`` fixes every order. The orders are numpy's, not torch's: the same
*distributions* as PyTorch, not the same draws.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import random as _random
from ..tensor import Tensor

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]

_HOLDERS = ("_rng", "rng", "_generator", "generator", "numpy_generator")


def numpy_generator(generator, who):
    """The numpy Generator behind ``generator``: None (tensorgrad's global generator, looked up
    at each use), a ``np.random.Generator``, or an object that holds one (e.g. a generator
    object of tensorgrad's own) under one of the usual attribute names."""
    if generator is None or isinstance(generator, np.random.Generator):
        return generator
    for name in _HOLDERS:
        inner = getattr(generator, name, None)
        if isinstance(inner, np.random.Generator):
            return inner
        if callable(inner) and name == "numpy_generator":
            inner = inner()
            if isinstance(inner, np.random.Generator):
                return inner
    raise TypeError(f"{who}: generator must be a numpy Generator (np.random.default_rng(...)) "
                    f"or hold one, got {type(generator).__name__}; pass an int as seed= instead")


def _rng(gen):
    return gen if gen is not None else _random.generator()


def _positive_int(who, name, v):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
        raise ValueError(f"{who}: {name} should be a positive integer value, but got "
                         f"{name}={v!r}")
    return int(v)


def _bool(who, name, v):
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{who}: {name} should be a boolean value, but got {name}={v!r}")
    return bool(v)


class Sampler:
    """Base class: iterating gives dataset indices (or, for a batch sampler, lists of them);
    ``len()``, where defined, says how many."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order of the dataset (a new one each pass); with ``replacement=True``,
    ``num_samples`` independent uniform draws. Without replacement and ``num_samples`` larger
    than the dataset, whole permutations follow one another (as PyTorch)."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = _bool("RandomSampler", "replacement", replacement)
        self._num_samples = num_samples
        self.generator = numpy_generator(generator, "RandomSampler")
        if num_samples is not None:
            _positive_int("RandomSampler", "num_samples", num_samples)

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def __iter__(self):
        n, k, gen = len(self.data_source), self.num_samples, _rng(self.generator)
        if self.replacement:
            return iter(gen.integers(0, n, size=k).tolist())
        parts = [gen.permutation(n) for _ in range(k // n)]
        if k % n:
            parts.append(gen.permutation(n)[:k % n])
        return iter(np.concatenate(parts).tolist() if parts else [])

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order (a new one each pass)."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = numpy_generator(generator, "SubsetRandomSampler")

    def __iter__(self):
        order = _rng(self.generator).permutation(len(self.indices))
        return iter([self.indices[int(i)] for i in order])

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights`` (with
    replacement by default) — e.g. weights ``1 / class_count[label]`` to balance classes."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        who = "WeightedRandomSampler"
        self.num_samples = _positive_int(who, "num_samples", num_samples)
        self.replacement = _bool(who, "replacement", replacement)
        w = np.asarray(weights._data if isinstance(weights, Tensor) else weights,
                       dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"{who}: weights should be a 1d sequence but given weights have "
                             f"shape {tuple(w.shape)}")
        if w.size == 0 or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(f"{who}: weights must be finite, non-negative and not all zero, "
                             f"got {w.tolist()[:8]}{'...' if w.size > 8 else ''}")
        if not self.replacement and self.num_samples > int(np.count_nonzero(w)):
            raise RuntimeError(f"{who}: cannot draw {self.num_samples} samples without "
                               f"replacement from {int(np.count_nonzero(w))} non-zero weights")
        self.weights = w
        self.generator = numpy_generator(generator, who)

    def __iter__(self):
        p = self.weights / self.weights.sum()
        idx = _rng(self.generator).choice(p.size, size=self.num_samples,
                                          replace=self.replacement, p=p)
        return iter(idx.tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Group the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter
    unless ``drop_last``)."""

    def __init__(self, sampler, batch_size, drop_last):
        self.batch_size = _positive_int("BatchSampler", "batch_size", batch_size)
        if not isinstance(drop_last, (bool, np.bool_)):
            raise ValueError(f"BatchSampler: drop_last should be a boolean value, but got "
                             f"drop_last={drop_last!r}")
        self.sampler, self.drop_last = sampler, bool(drop_last)

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
