"""Choosing triplets inside a batch, and the P identities × K images batch sampler.

Random triplets are mostly easy: once the embedding separates identities a little, a random
negative is already farther than the positive by more than the margin, its loss is 0 and it
teaches nothing. FaceNet (Schroff et al., 2015) therefore builds batches that hold several
images of each of several identities and picks negatives *inside the batch*:

* ``"random"`` — for every anchor–positive pair, a random image of another identity;
* ``"semi-hard"`` (FaceNet) — for every anchor–positive pair, the closest negative that is still
  farther than the positive, d(a, p) < d(a, n); such a negative violates the margin when
  d(a, n) < d(a, p) + α and otherwise gives loss 0. If every negative is closer than the
  positive, the farthest of them is used (the rule of TensorFlow Addons'
  ``triplet_semihard_loss``). Semi-hard negatives avoid the collapsed encodings that the very
  hardest negatives cause early in training;
* ``"batch-hard"`` (Hermans, Beyer & Leibe, "In defense of the triplet loss for person
  re-identification", 2017) — one triplet per anchor: its farthest positive and closest negative;
* ``"all"`` — every valid (a, p, n) of the batch.

Distances are squared Euclidean distances between the (detached) embeddings; ties are broken by
the lowest index. Each miner returns three int64 index arrays (anchor, positive, negative).
"""
from __future__ import annotations

import numpy as np

from ... import random as _random
from ...tensor import Tensor

__all__ = ["random_triplets", "semi_hard_triplets", "batch_hard_triplets", "all_triplets",
           "mine_triplets", "squared_distances", "PKSampler", "MINING"]

MINING = ("random", "semi-hard", "batch-hard", "all")


def _labels(labels, op, n=None):
    arr = labels.detach().numpy() if isinstance(labels, Tensor) else np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"{op}: labels must be 1-D (one identity per image), got shape "
                         f"{arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{op}: {arr.shape[0]} labels for {n} embeddings")
    _, codes = np.unique(arr, return_inverse=True)  # works for ints and strings alike
    return codes.reshape(-1).astype(np.int64)


def _embeddings(emb, op):
    arr = emb.detach().numpy() if isinstance(emb, Tensor) else np.asarray(emb)
    if arr.ndim != 2:
        raise ValueError(f"{op}: embeddings must be (N, D), got shape {arr.shape}")
    return np.asarray(arr, dtype=np.float64)


def squared_distances(x, y=None):
    """‖xᵢ − yⱼ‖² for all i, j as an (N, M) numpy array (y defaults to x; clipped at 0)."""
    x = _embeddings(x, "squared_distances")
    y = x if y is None else _embeddings(y, "squared_distances")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"squared_distances: embeddings of size {x.shape[1]} and "
                         f"{y.shape[1]} can't be compared")
    d = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2.0 * x @ y.T
    return np.maximum(d, 0.0)


def _masks(codes):
    same = codes[:, None] == codes[None, :]
    pos = same & ~np.eye(codes.size, dtype=bool)
    return pos, ~same


def _check_any(a, op):
    if a.size == 0:
        raise ValueError(f"{op}: the batch holds no valid triplet; it needs at least two "
                         f"identities, one of them with two or more images (use PKSampler to "
                         f"build P identities × K images batches)")


def _out(*arrays):
    return tuple(np.asarray(a, dtype=np.int64) for a in arrays)


def random_triplets(labels, generator=None):
    """Every ordered anchor–positive pair with a uniformly drawn negative."""
    codes = _labels(labels, "random_triplets")
    pos, neg = _masks(codes)
    a, p = np.nonzero(pos)
    keep = neg[a].any(1)
    a, p = a[keep], p[keep]
    _check_any(a, "random_triplets")
    gen = generator if generator is not None else _random.generator()
    rows = neg[a]
    r = gen.integers(rows.sum(1))                    # which of the anchor's negatives
    n = np.argmax(np.cumsum(rows, axis=1) > r[:, None], axis=1)
    return _out(a, p, n)


def semi_hard_triplets(embeddings, labels):
    """Every ordered anchor–positive pair with FaceNet's semi-hard negative (module docstring)."""
    op = "semi_hard_triplets"
    emb = _embeddings(embeddings, op)
    codes = _labels(labels, op, emb.shape[0])
    d = squared_distances(emb)
    pos, neg = _masks(codes)
    a, p = np.nonzero(pos)
    keep = neg[a].any(1)
    a, p = a[keep], p[keep]
    _check_any(a, op)
    d_an = np.where(neg[a], d[a], np.nan)            # (pairs, N): distances to negatives
    d_ap = d[a, p][:, None]
    farther = np.where(d_an > d_ap, d_an, np.inf)
    closest_farther = np.argmin(farther, axis=1)
    has = np.isfinite(farther[np.arange(a.size), closest_farther])
    farthest = np.nanargmax(d_an, axis=1)
    n = np.where(has, closest_farther, farthest)
    return _out(a, p, n)


def batch_hard_triplets(embeddings, labels):
    """One triplet per anchor (that has a positive and a negative in the batch): its farthest
    positive and its closest negative."""
    op = "batch_hard_triplets"
    emb = _embeddings(embeddings, op)
    codes = _labels(labels, op, emb.shape[0])
    d = squared_distances(emb)
    pos, neg = _masks(codes)
    a = np.flatnonzero(pos.any(1) & neg.any(1))
    _check_any(a, op)
    p = np.argmax(np.where(pos[a], d[a], -np.inf), axis=1)
    n = np.argmin(np.where(neg[a], d[a], np.inf), axis=1)
    return _out(a, p, n)


def all_triplets(labels):
    """Every (a, p, n) with a ≠ p of one identity and n of another."""
    codes = _labels(labels, "all_triplets")
    pos, neg = _masks(codes)
    a, p, n = np.nonzero(pos[:, :, None] & neg[:, None, :])
    _check_any(a, "all_triplets")
    return _out(a, p, n)


def mine_triplets(embeddings, labels, mining="semi-hard", margin=None, generator=None):
    """Dispatch on ``mining`` (one of ``MINING``); returns (anchor, positive, negative) index
    arrays. ``margin`` is accepted for symmetry with the loss (the selection rules above do not
    need it)."""
    if mining == "random":
        return random_triplets(labels, generator=generator)
    if mining == "semi-hard":
        return semi_hard_triplets(embeddings, labels)
    if mining == "batch-hard":
        return batch_hard_triplets(embeddings, labels)
    if mining == "all":
        return all_triplets(labels)
    raise ValueError(f"mine_triplets: mining must be one of {', '.join(MINING)}, got {mining!r}")


class PKSampler:
    """Batches of ``p`` identities × ``k`` images each (FaceNet / Hermans et al.): iterate to get
    int64 index arrays of length p·k (identity-major order). Identities are drawn without
    replacement among those with at least two images; an identity with fewer than ``k`` images
    has its images drawn with replacement. ``num_batches`` per pass (default: len(labels) //
    (p·k), at least 1). Randomness: ``generator`` (numpy), else ``seed``, else tensorgrad's."""

    def __init__(self, labels, p, k, num_batches=None, seed=None, generator=None):
        op = "PKSampler"
        arr = labels.detach().numpy() if isinstance(labels, Tensor) else np.asarray(labels)
        codes = _labels(arr, op)
        for what, v in (("p", p), ("k", k)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{op}: {what} must be a positive integer, got {v!r}")
        if k < 2:
            raise ValueError(f"{op}: k must be at least 2 (an anchor needs a positive), got {k}")
        counts = np.bincount(codes)
        usable = np.flatnonzero(counts >= 2)
        if usable.size < p:
            raise ValueError(f"{op}: asked for p={p} identities per batch, but only "
                             f"{usable.size} identities have two or more images")
        self.p, self.k = int(p), int(k)
        self._members = {c: np.flatnonzero(codes == c) for c in usable}
        self._ids = usable
        n = max(1, codes.size // (self.p * self.k)) if num_batches is None else int(num_batches)
        if n < 1:
            raise ValueError(f"{op}: num_batches must be positive, got {num_batches!r}")
        self.num_batches = n
        self.generator = generator if generator is not None else (
            np.random.default_rng(seed) if seed is not None else None)

    def __len__(self):
        return self.num_batches

    def __iter__(self):
        gen = self.generator if self.generator is not None else _random.generator()
        for _ in range(self.num_batches):
            ids = gen.choice(self._ids, size=self.p, replace=False)
            parts = []
            for c in ids:
                m = self._members[c]
                parts.append(gen.choice(m, size=self.k, replace=m.size < self.k))
            yield np.concatenate(parts).astype(np.int64)

    def __repr__(self):
        return (f"PKSampler(p={self.p}, k={self.k}, identities={self._ids.size}, "
                f"num_batches={self.num_batches})")
