"""Train/dev/test splits (§4.1, §7.2) and the training-dev set of §7.4.1 (docs/maths.md)."""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import random as _random
from ..tensor import Tensor, _wrap
from .dataset import Dataset, Subset
from .sampler import numpy_generator

__all__ = ["train_dev_test_split", "train_dev_split", "mismatched_split", "split_indices",
           "random_split"]


def _gen(seed):
    return np.random.default_rng(seed) if seed is not None else _random.generator()


def _check_fractions(fractions, op):
    fr = [float(f) for f in fractions]
    if any(not f >= 0 for f in fr):
        raise ValueError(f"{op}: fractions must be >= 0, got {tuple(fractions)}")
    if abs(sum(fr) - 1.0) > 1e-6:
        raise ValueError(f"{op}: fractions must add up to 1, got {tuple(fractions)} "
                         f"(sum {sum(fr):.6g})")
    return fr


def _counts(n, fr, op):
    """Sizes of each part: every part after the first gets round(f·n) examples (at least one
    when its fraction is positive), the first part takes the rest."""
    sizes = [0] * len(fr)
    for i in range(1, len(fr)):
        if fr[i] > 0:
            sizes[i] = max(1, int(round(fr[i] * n)))
    sizes[0] = n - sum(sizes[1:])
    if sizes[0] < (1 if fr[0] > 0 else 0):
        raise ValueError(f"{op}: {n} example(s) are too few for fractions {tuple(fr)} "
                         f"(sizes would be {sizes})")
    return sizes


def split_indices(n, fractions, *, shuffle=True, seed=None, stratify=None, op="split_indices"):
    """Index arrays, one per part, that partition ``range(n)`` by ``fractions``.

    With ``stratify`` (labels, one per example) each part keeps the class proportions (to
    within one example per class): examples are ordered by their relative rank inside their
    class, with random tie-breaks, and the parts are cut from that order."""
    fr = _check_fractions(fractions, op)
    sizes = _counts(n, fr, op)
    gen = _gen(seed)
    if stratify is not None:
        labels = np.asarray(stratify._data if isinstance(stratify, Tensor) else stratify)
        if labels.shape[:1] != (n,):
            raise ValueError(f"{op}: stratify has {labels.shape[0] if labels.ndim else 0} "
                             f"labels for {n} examples")
        key = np.empty(n)
        for c in np.unique(labels):
            idx = np.flatnonzero(labels == c)
            ranks = gen.permutation(idx.size) if shuffle else np.arange(idx.size)
            key[idx] = (ranks + gen.random(idx.size)) / idx.size
        order = np.argsort(key, kind="stable")
    else:
        order = gen.permutation(n) if shuffle else np.arange(n)
    parts, start = [], 0
    for size in sizes:
        parts.append(order[start:start + size])
        start += size
    return parts


def _take(arrays, idx):
    out = []
    for a in arrays:
        if isinstance(a, Tensor):
            out.append(_wrap(a._data[idx]))
        elif isinstance(a, np.ndarray):
            out.append(a[idx])
        else:
            out.append([a[int(i)] for i in idx])
    return out[0] if len(out) == 1 else tuple(out)


def _len_of(arrays, op):
    if not arrays:
        raise ValueError(f"{op}: expected at least one array or a Dataset")
    lens = []
    for a in arrays:
        if isinstance(a, (Tensor, np.ndarray)):
            if a.ndim == 0:
                raise ValueError(f"{op}: got a 0-dimensional array; every input needs a first "
                                 f"(example) dimension")
            lens.append(a.shape[0])
        else:
            lens.append(len(a))
    if len(set(lens)) != 1:
        raise ValueError(f"{op}: inputs have different numbers of examples: {lens}")
    return lens[0]


def _split(arrays, fractions, shuffle, seed, stratify, op):
    if len(arrays) == 1 and isinstance(arrays[0], Dataset):
        ds = arrays[0]
        parts = split_indices(len(ds), fractions, shuffle=shuffle, seed=seed, stratify=stratify,
                              op=op)
        return tuple(Subset(ds, p) for p in parts)
    n = _len_of(arrays, op)
    parts = split_indices(n, fractions, shuffle=shuffle, seed=seed, stratify=stratify, op=op)
    return tuple(_take(arrays, p) for p in parts)


def train_dev_test_split(*arrays, fractions=(0.98, 0.01, 0.01), shuffle=True, seed=None,
                         stratify=None):
    """Split arrays (Tensors, numpy arrays, lists; all with the same number of examples) or one
    Dataset into train, dev and test parts by ``fractions`` (98/1/1 by default, for large data sets;
    60/20/20 suits small data). Returns ``(train, dev, test)``; each part is a tuple with one
    entry per input (or the array itself for one input; a Subset for a Dataset). ``seed``
    (else tg's global generator) fixes the shuffle; ``stratify=y`` keeps class proportions.

    ``(Xtr, ytr), (Xdev, ydev), (Xte, yte) = train_dev_test_split(X, y, fractions=(.8, .1, .1))``
    """
    if len(fractions) != 3:
        raise ValueError(f"train_dev_test_split: expected 3 fractions (train, dev, test), got "
                         f"{len(fractions)}")
    return _split(arrays, fractions, shuffle, seed, stratify, "train_dev_test_split")


def train_dev_split(*arrays, train_dev_fraction=0.05, shuffle=True, seed=None, stratify=None):
    """Carve a training-dev set out of the training data (§7.4.1): same distribution as train,
    never trained on. Returns ``(train, train_dev)``."""
    f = float(train_dev_fraction)
    return _split(arrays, (1.0 - f, f), shuffle, seed, stratify, "train_dev_split")


def mismatched_split(source, target, *, target_in_train=0.5, train_dev_fraction=0.05,
                     seed=None):
    """The recipe of §7.4.1 for data from two distributions: ``source`` (plentiful, e.g. web
    images) and ``target`` (what the application sees, e.g. phone photos), each a tuple of
    arrays with the same fields. Train = all of source + ``target_in_train`` of target; the rest
    of target is halved into dev and test (so dev/test come from the distribution you care
    about); a training-dev set is carved from train.

    Returns a dict with ``train``, ``train_dev``, ``dev``, ``test`` (tuples of arrays)."""
    op = "mismatched_split"
    source = source if isinstance(source, (tuple, list)) else (source,)
    target = target if isinstance(target, (tuple, list)) else (target,)
    if len(source) != len(target):
        raise ValueError(f"{op}: source has {len(source)} field(s), target has {len(target)}")
    if not 0 <= target_in_train < 1:
        raise ValueError(f"{op}: target_in_train must be in [0, 1), got {target_in_train}")
    gen = _gen(seed)
    sub_seed = int(gen.integers(2 ** 63 - 1))
    rest = 1.0 - target_in_train
    t_train, t_dev, t_test = train_dev_test_split(
        *target, fractions=(target_in_train, rest / 2, rest / 2), seed=sub_seed)
    if len(target) == 1:
        t_train, t_dev, t_test = (t_train,), (t_dev,), (t_test,)
    merged = []
    for s, t in zip(source, t_train):
        if isinstance(s, Tensor) or isinstance(t, Tensor):
            sa = s._data if isinstance(s, Tensor) else np.asarray(s)
            ta = t._data if isinstance(t, Tensor) else np.asarray(t)
            merged.append(_wrap(np.concatenate([sa, ta])))
        else:
            merged.append(np.concatenate([np.asarray(s), np.asarray(t)]))
    train, train_dev = train_dev_split(*merged, train_dev_fraction=train_dev_fraction,
                                       seed=sub_seed + 1)
    if len(merged) == 1:
        train, train_dev = (train,), (train_dev,)
    return {"train": tuple(train), "train_dev": tuple(train_dev), "dev": tuple(t_dev),
            "test": tuple(t_test)}


def random_split(dataset, lengths, generator=None, *, seed=None):
    """PyTorch's ``random_split``: Subsets of ``dataset`` with the given ``lengths`` (integers
    summing to ``len(dataset)``, or fractions summing to 1 — leftover examples from rounding go
    round-robin to the parts). Shuffled with ``generator`` (a numpy Generator or an object
    holding one), ``seed``, or tg's global generator."""
    if generator is not None and seed is not None:
        raise ValueError("random_split: give either generator or seed, not both")
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(x, float) for x in lengths) and abs(sum(lengths) - 1) < 1e-6:
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, k in enumerate(counts):
            if k == 0:
                warnings.warn(f"random_split: length of split at index {i} is 0; this might "
                              f"result in an empty dataset", UserWarning, stacklevel=2)
        lengths = counts
    if any(int(x) != x or x < 0 for x in lengths) or sum(lengths) != n:
        raise ValueError(f"random_split: lengths {lengths} must be non-negative integers that "
                         f"sum to the dataset's {n} examples (or fractions that sum to 1)")
    gen = numpy_generator(generator, "random_split")
    if gen is None:
        gen = _gen(seed)
    order = gen.permutation(n)
    out, start = [], 0
    for k in lengths:
        out.append(Subset(dataset, order[start:start + int(k)]))
        start += int(k)
    return out
