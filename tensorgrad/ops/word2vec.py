"""Array-level wrappers of the fused word-vector kernels (``tensorgrad.kernels.word2vec``).

They check dtypes, shapes and contiguity and then call the numba kernels, which update the
weight arrays in place (SGD / AdaGrad steps, not graph ops). The losses they take steps on are
written as graph compositions in ``tensorgrad.text.w2v_losses``; the tests compare the two.
Not star-exported from ``tensorgrad.ops``.
"""
from __future__ import annotations

import numpy as np


__all__ = ["w2v_train_sentences", "w2v_train_examples", "glove_epoch", "empty_like_rows"]

_FLOATS = (np.float32, np.float64)


def _kernels():
    from ..kernels import word2vec as K  # numba import deferred to first use
    return K


def empty_like_rows(dtype):
    """A (1, 1) placeholder for an output layer that is not used."""
    return np.zeros((1, 1), dtype)


def _weights(op, syn0, *outs):
    if not isinstance(syn0, np.ndarray) or syn0.ndim != 2 or syn0.dtype.type not in _FLOATS:
        raise TypeError(f"{op}: syn0 must be a 2-D float32/float64 array, got "
                        f"{getattr(syn0, 'dtype', type(syn0).__name__)} "
                        f"{getattr(syn0, 'shape', '')}")
    for name, a in zip(("syn1neg", "syn1", "syn1sm"), outs):
        if not isinstance(a, np.ndarray) or a.ndim != 2 or a.dtype != syn0.dtype:
            raise TypeError(f"{op}: {name} must be a 2-D {syn0.dtype} array, got "
                            f"{getattr(a, 'dtype', type(a).__name__)}")
        if a.shape[1] != syn0.shape[1] and a.shape != (1, 1):
            raise ValueError(f"{op}: {name} has {a.shape[1]} columns, syn0 has "
                             f"{syn0.shape[1]}")
    for name, a in zip(("syn0", "syn1neg", "syn1", "syn1sm"), (syn0,) + outs):
        if not a.flags.c_contiguous or not a.flags.writeable:
            raise ValueError(f"{op}: {name} must be C-contiguous and writeable")


def _tree(points, codes, codelens, use_hs):
    if not use_hs:
        return np.zeros((1, 1), np.int64), np.zeros((1, 1), np.int8), np.zeros(1, np.int64)
    return (np.ascontiguousarray(points, np.int64), np.ascontiguousarray(codes, np.int8),
            np.ascontiguousarray(codelens, np.int64))


def w2v_train_sentences(ids, offsets, s0, s1, syn0, syn1neg, syn1, syn1sm, *, sg, cbow_mean,
                        window, shrink_windows, negative, hs, softmax, cum_table, points,
                        codes, codelens, keep, alpha, min_alpha, word_base, total_words, seed,
                        compute_loss=False):
    """Train on sentences s0..s1-1 in place; returns (effective words, raw words, loss)."""
    op = "w2v_train_sentences"
    _weights(op, syn0, syn1neg, syn1, syn1sm)
    if ids.dtype != np.int32 or offsets.dtype != np.int64:
        raise TypeError(f"{op}: ids must be int32 and offsets int64, got {ids.dtype}, "
                        f"{offsets.dtype}")
    if int(window) < 1:
        raise ValueError(f"{op}: window must be at least 1, got {window}")
    if not 0 <= s0 <= s1 < len(offsets):
        raise ValueError(f"{op}: sentence range [{s0}, {s1}) outside 0..{len(offsets) - 1}")
    points, codes, codelens = _tree(points, codes, codelens, hs)
    cum = np.ascontiguousarray(cum_table if negative else np.ones(1), np.int64)
    return _kernels().train_sentences(ids, offsets, int(s0), int(s1), syn0, syn1neg, syn1, syn1sm,
                              bool(sg), bool(cbow_mean), int(window), bool(shrink_windows),
                              int(negative), bool(hs), bool(softmax), cum, points, codes,
                              codelens, np.ascontiguousarray(keep, np.int64), float(alpha),
                              float(min_alpha), int(word_base), max(int(total_words), 1),
                              int(seed) % (2 ** 63), bool(compute_loss))


def w2v_train_examples(syn0, syn1neg, syn1, syn1sm, ctx, centers, negs=None, *, hs=False,
                       points=None, codes=None, codelens=None, softmax=False, cbow_mean=True,
                       alpha=0.025, compute_loss=True):
    """Sequential SGD steps over explicit examples, in place; returns the summed loss.

    ctx: (N, C) int context rows (−1 pads; one column for skip-gram), centers: (N,) targets,
    negs: (N, K) negatives (−1 pads) or None."""
    op = "w2v_train_examples"
    _weights(op, syn0, syn1neg, syn1, syn1sm)
    ctx = np.atleast_2d(np.asarray(ctx, np.int64))
    centers = np.asarray(centers, np.int64).reshape(-1)
    if ctx.shape[0] != centers.shape[0]:
        raise ValueError(f"{op}: {ctx.shape[0]} context rows for {centers.shape[0]} targets")
    nctx = (ctx >= 0).sum(1)
    if (nctx == 0).any() or not all((row[:n] >= 0).all() for row, n in zip(ctx, nctx)):
        raise ValueError(f"{op}: each context row needs its words first, then −1 padding")
    use_neg = negs is not None
    negs = (np.zeros((len(centers), 0), np.int64) if negs is None
            else np.atleast_2d(np.asarray(negs, np.int64)))
    nnegs = (negs >= 0).sum(1)
    points, codes, codelens = _tree(points, codes, codelens, hs)
    return _kernels().train_examples(syn0, syn1neg, syn1, syn1sm, np.ascontiguousarray(ctx), nctx,
                             centers, np.ascontiguousarray(negs), nnegs, points, codes,
                             codelens, use_neg, bool(hs), bool(softmax), bool(cbow_mean),
                             float(alpha), bool(compute_loss))


def glove_epoch(W, C, bw, bc, GW, GC, Gbw, Gbc, rows, cols, logx, fx, order, lr):
    """One AdaGrad pass of GloVe over the entries in ``order``, in place; returns the loss."""
    op = "glove_epoch"
    for name, a in (("W", W), ("C", C), ("GW", GW), ("GC", GC)):
        if a.ndim != 2 or a.dtype != W.dtype or a.shape != W.shape or not a.flags.c_contiguous:
            raise ValueError(f"{op}: {name} must be a C-contiguous {W.dtype} array of shape "
                             f"{W.shape}, got {a.dtype} {a.shape}")
    for name, a in (("bw", bw), ("bc", bc), ("Gbw", Gbw), ("Gbc", Gbc)):
        if a.shape != (W.shape[0],) or a.dtype != W.dtype:
            raise ValueError(f"{op}: {name} must be a {W.dtype} vector of length "
                             f"{W.shape[0]}, got {a.dtype} {a.shape}")
    return _kernels().glove_epoch(W, C, bw, bc, GW, GC, Gbw, Gbc, np.asarray(rows, np.int64),
                          np.asarray(cols, np.int64), np.asarray(logx, W.dtype),
                          np.asarray(fx, W.dtype), np.asarray(order, np.int64), float(lr))
