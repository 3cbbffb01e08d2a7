"""Datasets and the mini-batch loader (§6.1, docs/maths.md)."""
from __future__ import annotations

import numbers

import numpy as np

from .. import random as _random
from ..tensor import Tensor, _wrap
from .sampler import BatchSampler, RandomSampler, SequentialSampler, numpy_generator
from .workers import threaded_batches

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "DataLoader",
           "default_collate", "default_convert"]


class Dataset:
    """A dataset maps an index ``0 <= i < len(ds)`` to an example (usually a tuple).
    ``ds1 + ds2`` is their ``ConcatDataset``."""

    def __getitem__(self, index):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __add__(self, other):
        from .combine import ConcatDataset
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream: ``__iter__`` yields the examples (no indexing, maybe no
    length). ``ds1 + ds2`` chains two of them (``ChainDataset``)."""

    def __iter__(self):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __add__(self, other):
        from .combine import ChainDataset
        return ChainDataset([self, other])


def _as_array(x, what):
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, np.ndarray):
        return x
    try:
        arr = np.asarray(x)
    except Exception as e:  # noqa: BLE001
        raise TypeError(f"{what}: could not turn {type(x).__name__} into an array ({e})") from None
    if arr.dtype == object:
        raise TypeError(f"{what}: expected array-like numeric data, got {type(x).__name__} "
                        f"that makes an object array")
    return arr


class TensorDataset(Dataset):
    """Examples are rows of the given tensors: ``ds[i] == (t0[i], t1[i], ...)``. All tensors
    need the same first dimension. Numpy arrays are accepted and kept as they are (wrapped as
    Tensors on access)."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        arrays = []
        for i, t in enumerate(tensors):
            a = _as_array(t, "TensorDataset")
            if a.ndim == 0:
                raise ValueError(f"TensorDataset: tensor {i} is 0-dimensional; every tensor "
                                 f"needs a first (example) dimension")
            arrays.append(a)
        sizes = [a.shape[0] for a in arrays]
        if len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset: size mismatch between tensors: first dimensions "
                             f"are {sizes} (shapes {[a.shape for a in arrays]}); every tensor "
                             f"must hold the same number of examples")
        self.arrays = arrays
        self.tensors = tuple(t if isinstance(t, Tensor) else _wrap(a)
                             for t, a in zip(tensors, arrays))

    def __len__(self):
        return self.arrays[0].shape[0]

    def __getitem__(self, index):
        return tuple(_wrap(np.asarray(a[index])) for a in self.arrays)

    def _batch(self, idx):
        """Fast path for DataLoader: one fancy-index per tensor instead of stacking rows
        (a list of fields, as ``default_collate`` gives for tuple examples)."""
        return [_wrap(a[idx]) for a in self.arrays]


class Subset(Dataset):
    """The examples of ``dataset`` at ``indices``."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)
        n = len(dataset)
        if self.indices.size and (self.indices.min() < -n or self.indices.max() >= n):
            raise IndexError(f"Subset: indices must lie in [0, {n}) for a dataset of {n} examples")

    def __len__(self):
        return int(self.indices.size)

    def __getitem__(self, index):
        if isinstance(index, list):
            return [self.dataset[int(self.indices[i])] for i in index]
        return self.dataset[int(self.indices[index])]

    def _batch(self, idx):
        inner = getattr(self.dataset, "_batch", None)
        if inner is None:
            return None
        return inner(self.indices[idx])


_COLLATE_ERR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
                "lists; found {}")


def _stack(arrays, first):
    try:
        return np.stack(arrays)
    except ValueError:
        shapes = sorted({a.shape for a in arrays})
        raise RuntimeError(f"default_collate: stack expects each {first} to be equal size, but "
                           f"got shapes {shapes}") from None


def default_collate(batch):
    """Stack a list of examples into a batch, as PyTorch's ``default_collate``: Tensors and
    numpy arrays stack along a new first dimension; Python floats become a float64 Tensor,
    ints an int64 Tensor, bools a bool Tensor; strings stay as they are; dicts collate per key;
    tuples and lists collate field by field (a tuple example gives a *list* of fields, as in
    PyTorch; a namedtuple keeps its type)."""
    if len(batch) == 0:
        raise ValueError("default_collate: got an empty batch")
    first = batch[0]
    if isinstance(first, Tensor):
        return _wrap(_stack([ex._data for ex in batch], "tensor"))
    if isinstance(first, np.ndarray):
        if first.dtype.kind in "OUSV":
            raise TypeError(_COLLATE_ERR.format(f"numpy array of dtype {first.dtype} (don't "
                                                f"know how to batch it; pass collate_fn=)"))
        return _wrap(_stack([np.asarray(ex) for ex in batch], "array"))
    if isinstance(first, np.generic) and first.dtype.kind not in "OUSV":
        return _wrap(np.asarray(batch))
    if isinstance(first, (bool, np.bool_)):
        return _wrap(np.asarray(batch, dtype=bool))
    if isinstance(first, numbers.Integral):
        return _wrap(np.asarray(batch, dtype=np.int64))
    if isinstance(first, numbers.Real):
        return _wrap(np.asarray(batch, dtype=np.float64))
    if isinstance(first, (str, bytes)):
        return batch
    if isinstance(first, dict):
        out = {k: default_collate([ex[k] for ex in batch]) for k in first}
        if type(first) is not dict:  # e.g. an OrderedDict keeps its type where it can
            try:
                return type(first)(out)
            except TypeError:
                pass
        return out
    if isinstance(first, (tuple, list)):
        n = len(first)
        for i, ex in enumerate(batch):
            if len(ex) != n:
                raise RuntimeError(f"default_collate: each element in list of batch should be "
                                   f"of equal size (example {i} has {len(ex)} fields, example "
                                   f"0 has {n})")
        fields = [default_collate(samples) for samples in zip(*batch)]
        if isinstance(first, tuple) and hasattr(first, "_fields"):  # a namedtuple
            return type(first)(*fields)
        return fields
    raise TypeError(_COLLATE_ERR.format(f"{type(first).__name__} (don't know how to batch it; "
                                        f"pass collate_fn=)"))


def default_convert(data):
    """What a loader with ``batch_size=None`` applies to each example: numpy arrays (and numpy
    scalars) become Tensors, inside dicts, tuples and lists too; everything else is unchanged."""
    if isinstance(data, np.ndarray) and data.dtype.kind not in "OUSV":
        return _wrap(data)
    if isinstance(data, np.generic) and data.dtype.kind not in "OUSV":
        return _wrap(np.asarray(data))
    if isinstance(data, dict):
        return {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(v) for v in data))
    if isinstance(data, tuple):
        return [default_convert(v) for v in data]
    if isinstance(data, list):
        return [default_convert(v) for v in data]
    return data


class DataLoader:
    """Iterate over ``dataset`` in mini-batches, with PyTorch's arguments.

    * Order: ``shuffle=True`` draws a new order each pass from ``generator`` (a numpy
      Generator, or an object holding one), else from a private generator seeded with
      ``seed`` (tensorgrad's), else from tensorgrad's global generator (``tg.manual_seed``
      fixes it). ``sampler`` (e.g. ``WeightedRandomSampler``, ``DistributedSampler``) gives
      the indices instead; ``batch_sampler`` gives whole batches of indices.
    * Batching: ``batch_size`` examples per batch (the last smaller unless ``drop_last``),
      stacked by ``collate_fn`` (``default_collate``); ``batch_size=None`` turns batching off
      (each example goes through ``default_convert``).
    * ``IterableDataset``: examples come from its iterator, batched as they come.
    * ``num_workers > 0``: threads of this process prefetch ``prefetch_factor`` batches each
      (see ``tensorgrad/data/workers.py`` for what that does and doesn't speed up);
      ``worker_init_fn``, ``timeout``, ``persistent_workers`` work with them. ``pin_memory``,
      ``pin_memory_device``, ``multiprocessing_context`` and ``in_order`` are accepted and
      change nothing (one device, in-order threads).

    * ``transform`` (**tg**): applied to each batch's inputs (its first field), e.g. a
      ``tg.vision.transforms`` augmentation that draws new parameters for every image.

    ``len(loader)`` is the number of batches, as in PyTorch.
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True, seed=None, collate=None, transform=None):
        name = "DataLoader"
        iterable = isinstance(dataset, IterableDataset)
        if not iterable and not hasattr(dataset, "__getitem__"):
            raise TypeError(f"{name}: dataset must define __getitem__ and __len__ (a map-style "
                            f"Dataset) or be an IterableDataset, got {type(dataset).__name__}")
        if batch_size is not None:
            if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                    or batch_size < 1:
                raise ValueError(f"{name}: batch_size should be a positive integer or None, got "
                                 f"{batch_size!r}")
        elif drop_last:
            raise ValueError(f"{name}: batch_size=None option disables auto-batching and is "
                             f"mutually exclusive with drop_last")
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) \
                or num_workers < 0:
            raise ValueError(f"{name}: num_workers option should be non-negative; use "
                             f"num_workers=0 to disable workers (got {num_workers!r})")
        if timeout < 0:
            raise ValueError(f"{name}: timeout option should be non-negative, got {timeout}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(f"{name}: prefetch_factor option could only be specified with "
                             f"num_workers > 0 (let num_workers > 0 or set prefetch_factor to "
                             f"None)")
        if persistent_workers and num_workers == 0:
            raise ValueError(f"{name}: persistent_workers option needs num_workers > 0")
        if seed is not None and generator is not None:
            raise ValueError(f"{name}: give either seed or generator, not both")
        gen = numpy_generator(generator, name)
        if seed is not None:
            gen = np.random.default_rng(seed)
        if iterable:
            for what, v in (("shuffle", shuffle), ("sampler", sampler),
                            ("batch_sampler", batch_sampler)):
                if v not in (None, False):
                    raise ValueError(f"{name} with IterableDataset: expected unspecified {what} "
                                     f"option, but got {what}={v!r}")
        if sampler is not None and shuffle:
            raise ValueError(f"{name}: sampler option is mutually exclusive with shuffle")
        if sampler is not None and not hasattr(sampler, "__iter__"):
            raise ValueError(f"{name}: sampler must be iterable, got {type(sampler).__name__}")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(f"{name}: batch_sampler option is mutually exclusive with "
                                 f"batch_size, shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        if sampler is None and not iterable:
            if shuffle:
                sampler = RandomSampler(dataset, generator=gen)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not iterable:
            batch_sampler = BatchSampler(sampler, int(batch_size), bool(drop_last))
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.drop_last = bool(drop_last)
        if transform is not None and not callable(transform):
            raise TypeError(f"{name}: transform must be callable, got "
                            f"{type(transform).__name__}")
        self.transform = transform
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.shuffle = bool(shuffle)
        self.generator, self.seed = gen, seed
        self.num_workers, self.prefetch_factor = int(num_workers), prefetch_factor
        self.timeout, self.worker_init_fn = timeout, worker_init_fn
        self.persistent_workers, self.pin_memory = persistent_workers, pin_memory
        self.pin_memory_device, self.in_order = pin_memory_device, in_order
        self.multiprocessing_context = multiprocessing_context
        self._auto_collation = batch_sampler is not None or (iterable and batch_size is not None)
        self._user_collate = collate_fn or collate
        self.collate_fn = self._user_collate or (default_collate if self._auto_collation
                                                 else default_convert)

    def __len__(self):
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)
            if self.batch_size is not None:
                return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self.batch_sampler if self._auto_collation else self.sampler)

    def _fetch(self, idx):
        """One batch (or, without batching, one example) for the indices ``idx``."""
        if not self._auto_collation:
            return self.collate_fn(self.dataset[idx])
        fast = getattr(self.dataset, "_batch", None) if self._user_collate is None else None
        batch = fast(np.asarray(idx, dtype=np.int64)) if fast is not None else None
        if batch is None:
            batch = self.collate_fn([self.dataset[i] for i in idx])
        return batch

    def _iter_stream(self):
        it = iter(self.dataset)
        if self.batch_size is None:
            for ex in it:
                yield self.collate_fn(ex)
            return
        buf = []
        for ex in it:
            buf.append(ex)
            if len(buf) == self.batch_size:
                yield self.collate_fn(buf)
                buf = []
        if buf and not self.drop_last:
            yield self.collate_fn(buf)

    def __iter__(self):
        batches = self._batches()
        if self.transform is None:
            return batches
        # the transform runs here, in the consuming thread, so its random draws (from
        # tensorgrad's generator) come in batch order whatever num_workers is
        return (self._transformed(b) for b in batches)

    def _transformed(self, batch):
        if isinstance(batch, (tuple, list)):
            return (self.transform(batch[0]),) + tuple(batch[1:])
        return self.transform(batch)

    def _batches(self):
        if isinstance(self.dataset, IterableDataset):
            return self._iter_stream()
        indices = self.batch_sampler if self._auto_collation else self.sampler
        if self.num_workers == 0:
            return (self._fetch(idx) for idx in indices)
        # the workers' seeds come from a copy of the generator, so the draws (shuffles,
        # dropout, ...) are the same whatever num_workers is
        gen = self.generator if self.generator is not None else _random.generator()
        peek = np.random.Generator(type(gen.bit_generator)())
        peek.bit_generator.state = gen.bit_generator.state
        base_seed = int(peek.integers(2 ** 62))
        return threaded_batches(indices, self._fetch, self.dataset, self.num_workers,
                                self.prefetch_factor or 2, self.worker_init_fn, base_seed,
                                self.timeout)

    # the private generator's state travels with checkpoints
    def state_dict(self) -> dict:
        return {"generator": (self.generator.bit_generator.state
                              if self.generator is not None else None)}

    def load_state_dict(self, state: dict):
        g = state.get("generator")
        if g is not None:
            if self.generator is None:
                raise ValueError("DataLoader.load_state_dict: the state holds a private "
                                 "generator but this loader draws from the global one "
                                 "(create it with seed=)")
            self.generator.bit_generator.state = g

    def __repr__(self):
        size = len(self.dataset) if hasattr(self.dataset, "__len__") else "?"
        return (f"DataLoader({type(self.dataset).__name__} of {size}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, num_workers={self.num_workers})")
