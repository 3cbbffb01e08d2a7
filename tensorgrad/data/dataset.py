"""Datasets and the mini-batch loader (notes §6.1)."""
from __future__ import annotations

import numbers

import numpy as np

from .. import random as _random
from ..tensor import Tensor, _wrap

__all__ = ["Dataset", "TensorDataset", "Subset", "DataLoader", "default_collate"]


class Dataset:
    """A dataset maps an index ``0 <= i < len(ds)`` to an example (usually a tuple)."""

    def __getitem__(self, index):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")


def _as_array(x, what):
    if isinstance(x, Tensor):
        return x.data
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
        """Fast path for DataLoader: one fancy-index per tensor instead of stacking rows."""
        return tuple(_wrap(a[idx]) for a in self.arrays)


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
        return self.dataset[int(self.indices[index])]

    def _batch(self, idx):
        inner = getattr(self.dataset, "_batch", None)
        if inner is None:
            return None
        return inner(self.indices[idx])


def default_collate(batch):
    """Stack a list of examples: tuples stack field by field; Tensors, arrays and numbers become
    one Tensor with a new first dimension; dicts stack per key."""
    if len(batch) == 0:
        raise ValueError("default_collate: got an empty batch")
    first = batch[0]
    if isinstance(first, (tuple, list)):
        n = len(first)
        for i, ex in enumerate(batch):
            if len(ex) != n:
                raise ValueError(f"default_collate: example {i} has {len(ex)} fields, example 0 "
                                 f"has {n}")
        return tuple(default_collate([ex[j] for ex in batch]) for j in range(n))
    if isinstance(first, dict):
        return {k: default_collate([ex[k] for ex in batch]) for k in first}
    if isinstance(first, Tensor):
        return _wrap(np.stack([ex.data for ex in batch]))
    if isinstance(first, (np.ndarray, np.generic, numbers.Number)):
        arr = np.stack([np.asarray(ex) for ex in batch])
        if arr.dtype == np.float64 and isinstance(first, float):
            arr = arr.astype(np.float32)  # Python floats follow tg.tensor's default
        return _wrap(arr)
    if isinstance(first, str):
        return list(batch)
    raise TypeError(f"default_collate: don't know how to batch examples of type "
                    f"{type(first).__name__}; pass collate_fn=")


class DataLoader:
    """Iterate over ``dataset`` in mini-batches.

    ``shuffle=True`` draws a new order each epoch from ``generator`` (a numpy Generator) if
    given, else from a private generator seeded with ``seed`` if given, else from tensorgrad's
    global generator (so ``tg.manual_seed`` fixes it). The last, smaller batch is kept unless
    ``drop_last``. ``collate_fn`` turns a list of examples into a batch (``default_collate``).
    ``transform`` (**tg**) is applied to each batch's inputs (its first field), e.g. a
    ``tg.vision.transforms`` augmentation that draws new parameters for every image.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, *, seed=None,
                 generator=None, collate_fn=None, collate=None, transform=None):
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: dataset must define __len__ and __getitem__, got "
                            f"{type(dataset).__name__}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size should be a positive integer, got "
                             f"{batch_size!r}")
        if seed is not None and generator is not None:
            raise ValueError("DataLoader: give either seed or generator, not both")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(f"DataLoader: generator must be a numpy Generator "
                            f"(np.random.default_rng(...)), got {type(generator).__name__}; "
                            f"pass an int as seed= instead")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn or collate
        if transform is not None and not callable(transform):
            raise TypeError(f"DataLoader: transform must be callable, got "
                            f"{type(transform).__name__}")
        self.transform = transform
        self.seed = seed
        self.generator = generator if generator is not None else (
            np.random.default_rng(seed) if seed is not None else None)

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self):
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        gen = self.generator if self.generator is not None else _random.generator()
        return gen.permutation(n)

    def __iter__(self):
        order = self._order()
        n, bs = order.size, self.batch_size
        stop = (n // bs) * bs if self.drop_last else n
        fast = getattr(self.dataset, "_batch", None) if self.collate_fn is None else None
        for start in range(0, stop, bs):
            idx = order[start:start + bs]
            batch = fast(idx) if fast is not None else None
            if batch is None:
                examples = [self.dataset[int(i)] for i in idx]
                batch = (self.collate_fn or default_collate)(examples)
            if self.transform is not None:
                batch = ((self.transform(batch[0]),) + tuple(batch[1:])
                         if isinstance(batch, (tuple, list)) else self.transform(batch))
            yield batch

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
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last})")
