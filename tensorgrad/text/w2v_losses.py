"""word2vec's losses as graph compositions (docs/word_embeddings.md), so their gradients come from
the autograd graph and pass ``tg.gradcheck``; the fused training kernels
(``tensorgrad.ops.word2vec``) take SGD steps on exactly these losses, and the tests compare the
two.

Notation: ``syn0`` (V, D) holds the input vectors e_w (an ``nn.Embedding`` weight), an output
matrix holds the output vectors. For an example with input vector h (one context word's e_w
in skip-gram; the mean, or sum, of the window's e_w in CBOW) and target word c:

* full softmax: L = −log softmax(U h)_c — every one of the V output vectors is touched;
* negative sampling (Mikolov et al. 2013): L = −log σ(u_c·h) − Σ_k log σ(−u_k·h), with K
  negatives k drawn from the unigram distribution raised to the ¾ power;
* hierarchical softmax (Morin & Bengio 2005): the words are the leaves of a binary (Huffman)
  tree; P(c | h) is the product of the left/right decisions σ(±v_n·h) at the inner nodes n
  on the path to c, so L = −Σ_n log σ((1 − 2 code_n) v_n·h) costs O(log V).

−log σ(x) is written as softplus(−x), which is exact and never overflows.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..nn import functional as F
from ..tensor import Tensor, _wrap

__all__ = ["context_vectors", "negative_sampling_loss", "hierarchical_softmax_loss",
           "softmax_loss", "Word2VecGraph"]


def _ints(x, op, name):
    a = x._data if isinstance(x, Tensor) else np.asarray(x)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{op}: {name} must hold integer word indices, got dtype {a.dtype}")
    return a.astype(np.int64, copy=False)


def _reduce(loss, reduction, op):
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be 'sum', 'mean' or 'none', got {reduction!r}")


def context_vectors(syn0, ctx, cbow_mean=True):
    """Input vectors h (N, D): rows of ``syn0`` picked by ``ctx`` ((N,) for skip-gram, or
    (N, C) windows padded with −1 for CBOW), averaged (``cbow_mean``) or summed."""
    op = "context_vectors"
    idx = _ints(ctx, op, "ctx")
    if idx.ndim == 1:
        return F.embedding(idx, syn0)
    if idx.ndim != 2:
        raise ValueError(f"{op}: ctx must be (N,) or (N, C), got shape {idx.shape}")
    mask = idx >= 0
    count = mask.sum(1)
    if (count == 0).any():
        raise ValueError(f"{op}: row {int(np.argmin(count))} of ctx has no context word")
    e = F.embedding(np.where(mask, idx, 0), syn0) * _wrap(mask[..., None].astype(syn0.dtype))
    h = e.sum(1)
    if cbow_mean:
        h = h / _wrap(count[:, None].astype(syn0.dtype))
    return h


def negative_sampling_loss(h, out_weight, targets, negatives, reduction="sum"):
    """Σ over examples of −log σ(u_c·h) − Σ_k log σ(−u_k·h); ``negatives`` (N, K) may be
    padded with −1 (a padded slot adds nothing)."""
    op = "negative_sampling_loss"
    t = _ints(targets, op, "targets").reshape(-1)
    neg = _ints(negatives, op, "negatives")
    if neg.ndim != 2 or neg.shape[0] != t.shape[0] or h.shape[0] != t.shape[0]:
        raise ValueError(f"{op}: expected h (N, D), targets (N,), negatives (N, K); got "
                         f"{tuple(h.shape)}, {t.shape}, {neg.shape}")
    pos = (h * F.embedding(t, out_weight)).sum(-1)
    mask = _wrap((neg >= 0).astype(h.dtype))
    u = F.embedding(np.where(neg >= 0, neg, 0), out_weight)       # (N, K, D)
    s = (u * h.unsqueeze(1)).sum(-1)                               # (N, K)
    loss = F.softplus(-pos) + (F.softplus(s) * mask).sum(-1)
    return _reduce(loss, reduction, op)


def hierarchical_softmax_loss(h, node_weight, points, codes, lengths, reduction="sum"):
    """Σ over examples of −Σ_n log σ((1 − 2 code_n) v_n·h) along each target's path:
    ``points``/``codes`` (N, L) padded rows of inner-node indices and 0/1 branch codes, the
    first ``lengths[e]`` of row e used (see ``huffman_tree``)."""
    op = "hierarchical_softmax_loss"
    p = _ints(points, op, "points")
    c = np.asarray(codes, np.float64)
    n = _ints(lengths, op, "lengths").reshape(-1)
    if p.shape != c.shape or p.ndim != 2 or p.shape[0] != n.shape[0] != h.shape[0]:
        raise ValueError(f"{op}: expected points and codes (N, L), lengths (N,); got "
                         f"{p.shape}, {c.shape}, {n.shape}")
    mask = np.arange(p.shape[1])[None, :] < n[:, None]
    v = F.embedding(np.where(mask, p, 0), node_weight)              # (N, L, D)
    s = (v * h.unsqueeze(1)).sum(-1)                                # (N, L)
    sign = _wrap((1.0 - 2.0 * c).astype(h.dtype))
    loss = (F.softplus(-sign * s) * _wrap(mask.astype(h.dtype))).sum(-1)
    return _reduce(loss, reduction, op)


def softmax_loss(h, out_weight, targets, reduction="sum"):
    """−log softmax(U h)_c, the full softmax over the V output vectors."""
    t = _ints(targets, "softmax_loss", "targets").reshape(-1)
    return F.cross_entropy(h @ out_weight.T, _wrap(t), reduction=reduction)


class Word2VecGraph(nn.Module):
    """word2vec as an ``nn.Module`` on the graph: ``in_embed`` (syn0) and an output table
    (``out_embed``: negative sampling / full softmax; ``node_embed``: hierarchical softmax).
    ``forward(ctx, targets, negatives=None, points=None, codes=None, lengths=None)`` returns
    the summed loss; train it with any ``tg.optim`` optimizer. Initialized as word2vec.c:
    input rows uniform in ±0.5/D, output rows zero."""

    def __init__(self, vocab_size, vector_size=100, loss="negative", cbow_mean=True):
        super().__init__()
        if loss not in ("negative", "hs", "softmax"):
            raise ValueError(f"Word2VecGraph: loss must be 'negative', 'hs' or 'softmax', got "
                             f"{loss!r}")
        from ..random import generator
        self.loss, self.cbow_mean = loss, cbow_mean
        init = (generator().random((vocab_size, vector_size)) - 0.5) / vector_size
        self.in_embed = nn.Embedding(vocab_size, vector_size,
                                     _weight=_wrap(init.astype(np.float32)))
        rows = max(vocab_size - 1, 1) if loss == "hs" else vocab_size
        self.out_embed = nn.Embedding(rows, vector_size,
                                      _weight=_wrap(np.zeros((rows, vector_size), np.float32)))

    def forward(self, ctx, targets, negatives=None, points=None, codes=None, lengths=None):
        h = context_vectors(self.in_embed.weight, ctx, self.cbow_mean)
        if self.loss == "negative":
            if negatives is None:
                raise ValueError("Word2VecGraph: negative sampling needs negatives (N, K)")
            return negative_sampling_loss(h, self.out_embed.weight, targets, negatives)
        if self.loss == "hs":
            if points is None or codes is None or lengths is None:
                raise ValueError("Word2VecGraph: hierarchical softmax needs points, codes and "
                                 "lengths of the targets' Huffman paths")
            return hierarchical_softmax_loss(h, self.out_embed.weight, points, codes, lengths)
        return softmax_loss(h, self.out_embed.weight, targets)
