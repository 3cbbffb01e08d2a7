"""Text data for the sequence models: an offline English word list, splits and batching.

``load_words`` reads the word lists shipped by the PyPI package ``english-words`` (in
tensorgrad's ``dev`` extra); nothing is downloaded at run time.  If the package is missing it
raises an ImportError that says what to install.
"""
from __future__ import annotations

import numpy as np

__all__ = ["load_words", "train_val_split", "pad_batch", "lm_batch", "iterate_batches"]

_SOURCES = ("gcide", "web2")


def load_words(source: str = "gcide", min_len: int = 3, max_len: int = 12, limit=None,
               seed: int = 0) -> list[str]:
    """English words (lower case, letters a-z only) from the ``english-words`` package.

    source: ``"gcide"`` (~114k words of the GNU Collaborative International Dictionary of
    English) or ``"web2"`` (~235k words of Webster's 2nd). Words of ``min_len``..``max_len``
    letters are kept, sorted; ``limit`` keeps a seeded random subset of that many.
    """
    if source not in _SOURCES:
        raise ValueError(f"load_words: unknown source {source!r} (expected one of {_SOURCES})")
    try:
        from english_words import get_english_words_set
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "load_words: the word list comes from the PyPI package 'english-words', which is "
            "not installed. Install it with `pip install english-words` (it is part of "
            "tensorgrad's dev extra: `pip install -e .[dev]`).") from e
    words = get_english_words_set([source], lower=True, alpha=True)
    words = sorted(w for w in words
                   if min_len <= len(w) <= max_len and w.isascii() and w.isalpha())
    if limit is not None and limit < len(words):
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(len(words), size=int(limit), replace=False))
        words = [words[i] for i in idx]
    return words


def train_val_split(items, val_fraction: float = 0.1, seed: int = 0):
    """Shuffle (seeded) and split a list into (train, val)."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"train_val_split: val_fraction must be in (0, 1), got {val_fraction}")
    items = list(items)
    perm = np.random.default_rng(seed).permutation(len(items))
    n_val = max(1, int(round(len(items) * val_fraction)))
    val = [items[i] for i in perm[:n_val]]
    train = [items[i] for i in perm[n_val:]]
    return train, val


def pad_batch(seqs, value: int) -> np.ndarray:
    """Right-pad integer sequences to the longest; returns an int64 array (B, T_max)."""
    seqs = [list(s) for s in seqs]
    if not seqs:
        raise ValueError("pad_batch: empty batch")
    T = max(len(s) for s in seqs)
    out = np.full((len(seqs), T), value, np.int64)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = s
    return out


def lm_batch(seqs, eos_id: int, ignore_index: int = -100):
    """Language-model batch from token-id sequences (without ``<EOS>``).

    inputs  = <EOS> y1 y2 ... y_T      (the first input marks "a sequence starts here")
    targets = y1    y2 ...  y_T <EOS>  (predict the next token, and the end)

    Padded positions have input ``<EOS>`` and target ``ignore_index``; since the model reads
    left to right, padding after a sequence never changes its predictions.  Returns
    (inputs, targets) int64 arrays (B, T_max + 1).
    """
    ins = [[eos_id] + list(s) for s in seqs]
    tgs = [list(s) + [eos_id] for s in seqs]
    return pad_batch(ins, eos_id), pad_batch(tgs, ignore_index)


def iterate_batches(items, batch_size: int, shuffle: bool = True, rng=None):
    """Yield lists of ``batch_size`` items (the last one may be smaller)."""
    n = len(items)
    if shuffle:
        if rng is None:
            from ..random import generator
            rng = generator()
        order = rng.permutation(n)
    else:
        order = np.arange(n)
    for s in range(0, n, batch_size):
        yield [items[i] for i in order[s:s + batch_size]]
