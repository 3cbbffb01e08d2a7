"""GloVe (Pennington, Socher & Manning 2014): word vectors from global co-occurrence counts
(docs/word_embeddings.md).

1. Co-occurrence matrix: X_ij adds 1/d each time word j appears d ≤ ``window`` positions from
   word i in a sentence (both sides: X is symmetric), as the paper's weighting does.
2. Weighted least squares over the non-zero entries:
       J = ½ Σ_ij f(X_ij) (w_i·w̃_j + b_i + b̃_j − log X_ij)²,   f(x) = min(1, (x/x_max)^α)
   (x_max = 100, α = ¾; the ½ is glove.c's, the paper omits it). f caps the weight of very
   frequent pairs and gives rare, noisy pairs little.
3. AdaGrad, one entry at a time in a shuffled order (initial rate 0.05, accumulators starting
   at 1 as in glove.c), in a fused numba kernel; ``glove_loss`` is the same objective on the
   graph, and the tests check the kernel's steps against its gradients.
4. The word vectors are W + W̃ (the paper: the two sets are equivalent up to initialization,
   and their sum is slightly better).
"""
from __future__ import annotations

import time

import numpy as np

from ..ops import word2vec as _w2v
from ..tensor import Tensor, _wrap
from .vectors import KeyedVectors
from .word2vec import _bar, _vocabulary, build_counts, encode_corpus

__all__ = ["cooccurrence_matrix", "glove_weights", "glove_loss", "GloVe"]


def cooccurrence_matrix(ids, offsets, vocab_size, window=10, symmetric=True):
    """Distance-weighted co-occurrence counts of an encoded corpus (``encode_corpus``):
    returns (rows, cols, values) of the non-zero entries, sorted by (row, col)."""
    if int(window) < 1:
        raise ValueError(f"cooccurrence_matrix: window must be at least 1, got {window}")
    ids = np.asarray(ids, np.int64)
    sent = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    V = int(vocab_size)
    keys, vals = [], []
    for d in range(1, int(window) + 1):
        if d >= len(ids):
            break
        same = sent[:-d] == sent[d:]
        keys.append(ids[:-d][same] * V + ids[d:][same])
        vals.append(np.full(int(same.sum()), 1.0 / d))
    if not keys or not sum(len(k) for k in keys):
        raise ValueError("cooccurrence_matrix: no two words share a window (every sentence "
                         "has fewer than two in-vocabulary words)")
    keys, vals = np.concatenate(keys), np.concatenate(vals)
    if symmetric:
        uk, inv = np.unique(keys, return_inverse=True)
        x = np.bincount(inv, weights=vals)
        keys = np.concatenate([uk, (uk % V) * V + uk // V])
        vals = np.concatenate([x, x])
    uk, inv = np.unique(keys, return_inverse=True)
    x = np.bincount(inv, weights=vals)
    return uk // V, uk % V, x


def glove_weights(x, x_max=100.0, alpha=0.75):
    """f(x) = min(1, (x / x_max)^α)."""
    return np.minimum(1.0, (np.asarray(x, np.float64) / x_max) ** alpha)


def glove_loss(W, C, bw, bc, rows, cols, x, x_max=100.0, alpha=0.75, reduction="sum"):
    """½ Σ f(X_ij)(w_i·w̃_j + b_i + b̃_j − log X_ij)² on the graph (W, C: (V, D); bw, bc: (V,))."""
    from ..nn import functional as F
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    dt = W.dtype if isinstance(W, Tensor) else np.float64
    x = np.asarray(x, np.float64)
    dot = (F.embedding(rows, W) * F.embedding(cols, C)).sum(-1)
    diff = dot + bw[rows] + bc[cols] - _wrap(np.log(x).astype(dt))
    loss = 0.5 * _wrap(glove_weights(x, x_max, alpha).astype(dt)) * diff * diff
    return loss.sum() if reduction == "sum" else loss


class GloVe:
    """GloVe with gensim-style knobs: ``GloVe(sentences, vector_size=100, window=10,
    min_count=5, x_max=100, alpha=0.75, learning_rate=0.05, epochs=25, seed=1, workers=1)``.
    After training, ``model.wv`` holds W + W̃ as ``KeyedVectors``; ``model.loss_history`` the
    loss of each epoch (per non-zero entry, averaged)."""

    def __init__(self, sentences=None, vector_size=100, window=10, min_count=5, x_max=100.0,
                 alpha=0.75, learning_rate=0.05, epochs=25, seed=1, workers=1,
                 symmetric=True, progress=True):
        for name, v in (("vector_size", vector_size), ("window", window), ("epochs", epochs),
                        ("workers", workers)):
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"GloVe: {name} must be a positive integer, got {v!r}")
        if x_max <= 0 or alpha <= 0 or learning_rate <= 0:
            raise ValueError(f"GloVe: x_max, alpha and learning_rate must be positive, got "
                             f"{x_max}, {alpha}, {learning_rate}")
        self.vector_size, self.window, self.min_count = int(vector_size), int(window), min_count
        self.x_max, self.alpha, self.learning_rate = float(x_max), float(alpha), learning_rate
        self.epochs, self.seed, self.workers = int(epochs), seed, int(workers)
        self.symmetric, self.progress = symmetric, progress
        self.loss_history = []
        self.wv = KeyedVectors(self.vector_size)
        if sentences is not None:
            self.build_vocab(sentences)
            self.train()

    def build_vocab(self, sentences):
        """Vocabulary (count ≥ min_count), co-occurrence matrix and initial weights."""
        sentences = list(sentences)
        counts, _ = build_counts(sentences, op="GloVe")
        words, freq = _vocabulary(counts, self.min_count, op="GloVe")
        ids, offsets, _ = encode_corpus(sentences, {w: i for i, w in enumerate(words)})
        self.rows, self.cols, self.x = cooccurrence_matrix(ids, offsets, len(words),
                                                           self.window, self.symmetric)
        V, D = len(words), self.vector_size
        rng = np.random.default_rng(self.seed)
        init = lambda *shape: ((rng.random(shape) - 0.5) / D).astype(np.float32)  # noqa: E731
        self.W, self.C, self.bw, self.bc = init(V, D), init(V, D), init(V), init(V)
        self.GW, self.GC = np.ones((V, D), np.float32), np.ones((V, D), np.float32)
        self.Gbw, self.Gbc = np.ones(V, np.float32), np.ones(V, np.float32)
        self._words, self._freq = words, freq
        self._rng = rng
        self._sync()
        return self

    def _sync(self):
        self.wv = KeyedVectors.from_arrays(self._words, self.W + self.C, self._freq)

    def train(self, epochs=None, progress=None):
        """Run AdaGrad epochs over the shuffled non-zero entries; returns the loss history."""
        if not hasattr(self, "W"):
            raise RuntimeError("GloVe.train: call build_vocab(sentences) first")
        epochs = self.epochs if epochs is None else int(epochs)
        logx = np.log(self.x).astype(np.float32)
        fx = glove_weights(self.x, self.x_max, self.alpha).astype(np.float32)
        n = len(self.x)
        show = self.progress if progress is None else progress
        bar = _bar(show, epochs * n, desc="GloVe", unit="pair")
        args = (self.W, self.C, self.bw, self.bc, self.GW, self.GC, self.Gbw, self.Gbc,
                self.rows, self.cols, logx, fx)
        _w2v.glove_epoch(*args, np.zeros(0, np.int64), self.learning_rate)  # compile first
        pool = None
        if self.workers > 1:
            from concurrent.futures import ThreadPoolExecutor
            pool = ThreadPoolExecutor(self.workers)
        try:
            for _ in range(epochs):
                t0 = time.perf_counter()
                order = self._rng.permutation(n)
                if pool is None:
                    cost = _w2v.glove_epoch(*args, order, self.learning_rate)
                else:
                    parts = np.array_split(order, self.workers)
                    cost = sum(pool.map(lambda o: _w2v.glove_epoch(*args, o,
                                                                   self.learning_rate), parts))
                self.loss_history.append(cost / n)
                if bar is not None:
                    bar.update(n)
                    bar.set_postfix_str(f"loss {cost / n:.4f}, "
                                        f"{n / (time.perf_counter() - t0):,.0f} pairs/s")
        finally:
            if pool is not None:
                pool.shutdown()
            if bar is not None:
                bar.close()
        self._sync()
        return self.loss_history

    def __repr__(self):
        return (f"GloVe(vocab={len(self.wv)}, vector_size={self.vector_size}, "
                f"window={self.window}, nonzeros={len(getattr(self, 'x', []))})")
