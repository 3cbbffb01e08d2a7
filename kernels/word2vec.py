"""Fused numba kernels for training word vectors: word2vec (skip-gram / CBOW with negative
sampling, hierarchical softmax or the full softmax) and GloVe (weighted least squares with
AdaGrad).

Plain numpy arrays in and out; ``tensorgrad.ops.word2vec`` checks dtypes and shapes and calls
them. Every kernel is ``nogil`` so several Python threads can train one model at once
(Hogwild: rows are updated without locks, as in word2vec.c and gensim).

One training example (``_example``) is: the input vector h (the mean or sum of the rows of
``syn0`` named by ``ctx`` — one word for skip-gram, the window for CBOW), an output layer and
one SGD step of size ``alpha`` on every parameter the example's loss touches:

* negative sampling: L = −log σ(u_c·h) − Σ_k log σ(−u_k·h) (c the target, k the negatives);
* hierarchical softmax: L = −Σ_n log σ((1 − 2 code_n) v_n·h) along the target's Huffman path;
* full softmax: L = −log softmax(U h)_c.

All dot products of an example are taken at the parameters' values before its update, then
every gradient is applied (a row that appears twice — a repeated negative, a word twice in
a CBOW window — gets both contributions), so an example's step is exactly
θ ← θ − alpha ∇L(θ). The mean in CBOW is differentiated as a mean (each context row gets
1/count of h's gradient; word2vec.c adds the whole of it).
"""
from __future__ import annotations

import math

import numpy as np

from ._numba import njit

__all__ = ["train_sentences", "train_examples", "glove_epoch"]

_MUL = np.uint64(25214903917)
_ADD = np.uint64(11)
_S16 = np.uint64(16)
_M32 = np.uint64(0xFFFFFFFF)


@njit(nogil=True, inline="always")
def _lcg(state):
    """word2vec.c's linear congruential generator; returns (new state, 32 random bits)."""
    state = state * _MUL + _ADD
    return state, np.int64((state >> _S16) & _M32)


@njit(nogil=True, inline="always")
def _sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@njit(nogil=True, inline="always")
def _log_sigmoid(x):
    if x >= 0:
        return -math.log1p(math.exp(-x))
    return x - math.log1p(math.exp(x))


@njit(nogil=True, fastmath=True)
def _out_rows(h, out, rows, labels, n, alpha, neu1e, g, want_loss):
    """Binary logistic units: rows[k] of ``out`` with labels[k] (1/0). Accumulates the step on
    h into neu1e, updates the rows; returns the loss (0 unless want_loss)."""
    D = h.shape[0]
    loss = 0.0
    for k in range(n):
        r = rows[k]
        f = h[0] * 0
        for d in range(D):
            f += h[d] * out[r, d]
        lab = labels[k]
        g[k] = (lab - _sigmoid(f)) * alpha
        if want_loss:
            loss -= _log_sigmoid(f if lab > 0.5 else -f)
    for k in range(n):
        r = rows[k]
        gk = g[k]
        for d in range(D):
            neu1e[d] += gk * out[r, d]
    for k in range(n):
        r = rows[k]
        gk = g[k]
        for d in range(D):
            out[r, d] += gk * h[d]
    return loss


@njit(nogil=True, fastmath=True)
def _out_softmax(h, out, target, alpha, neu1e, logits, want_loss):
    V, D = out.shape
    m = -np.inf
    for v in range(V):
        f = h[0] * 0
        for d in range(D):
            f += h[d] * out[v, d]
        logits[v] = f
        if f > m:
            m = f
    s = 0.0
    for v in range(V):
        s += math.exp(logits[v] - m)
    loss = -(logits[target] - m - math.log(s)) if want_loss else 0.0
    for v in range(V):
        p = math.exp(logits[v] - m) / s
        logits[v] = ((1.0 if v == target else 0.0) - p) * alpha
    for v in range(V):
        gv = logits[v]
        for d in range(D):
            neu1e[d] += gv * out[v, d]
    for v in range(V):
        gv = logits[v]
        for d in range(D):
            out[v, d] += gv * h[d]
    return loss


@njit(nogil=True, fastmath=True)
def _example(syn0, syn1neg, syn1, syn1sm, ctx, nctx, center, rows, labels, nneg,
             points, codes, codelens, use_neg, use_hs, use_sm, cbow_mean, alpha,
             h, neu1e, g, logits, want_loss):
    """One example; rows[1:nneg+1] hold its negatives (rows[0] is set to center here)."""
    D = syn0.shape[1]
    for d in range(D):
        h[d] = 0
        neu1e[d] = 0
    for c in range(nctx):
        w = ctx[c]
        for d in range(D):
            h[d] += syn0[w, d]
    scale = 1.0 / nctx if cbow_mean else 1.0
    if nctx > 1 and cbow_mean:
        for d in range(D):
            h[d] *= scale
    loss = 0.0
    if use_hs:
        L = codelens[center]
        for k in range(L):
            labels[k] = 1.0 - codes[center, k]
        loss += _out_rows(h, syn1, points[center], labels, L, alpha, neu1e, g, want_loss)
    if use_neg:
        rows[0] = center
        labels[0] = 1.0
        for k in range(1, nneg + 1):
            labels[k] = 0.0
        loss += _out_rows(h, syn1neg, rows, labels, nneg + 1, alpha, neu1e, g, want_loss)
    if use_sm:
        loss += _out_softmax(h, syn1sm, center, alpha, neu1e, logits, want_loss)
    for c in range(nctx):
        w = ctx[c]
        for d in range(D):
            syn0[w, d] += scale * neu1e[d]
    return loss


@njit(nogil=True)
def _sample(cum_table, r):
    """The index i with cum_table[i-1] <= r < cum_table[i] (bisect right)."""
    lo, hi = 0, cum_table.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if cum_table[mid] <= r:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(nogil=True, inline="always")
def _negatives(state, cum_table, ntab, negative, center, rows):
    """Draw ``negative`` words into rows[1:], skipping draws equal to the target;
    returns (new random state, number kept)."""
    nneg = 0
    for _k in range(negative):
        state, r = _lcg(state)
        t = _sample(cum_table, r % ntab)
        if t != center:
            nneg += 1
            rows[nneg] = t
    return state, nneg


@njit(nogil=True)
def train_sentences(ids, offsets, s0, s1, syn0, syn1neg, syn1, syn1sm, sg, cbow_mean, window,
                    shrink, negative, use_hs, use_sm, cum_table, points, codes, codelens,
                    keep, alpha0, min_alpha, word_base, total_words, seed, want_loss):
    """Train on sentences s0..s1-1 of the corpus ``ids`` (int32 word indices, sentence k is
    ids[offsets[k]:offsets[k+1]]).

    Each word w is kept with probability keep[w] / 2**32 (frequent-word subsampling; a value
    ≥ 2**32 always keeps), before the window is laid. Each centre position draws a reduced
    window b ∈ [0, window) when ``shrink`` (word2vec's dynamic window: a context word at
    distance d is used with probability (window − d + 1)/window). The learning rate falls
    linearly from alpha0 to min_alpha over ``total_words`` raw words; ``word_base`` raw words
    came before this call. Returns (effective words, raw words, summed loss).
    """
    D = syn0.shape[1]
    maxlen = 1
    for s in range(s0, s1):
        if offsets[s + 1] - offsets[s] > maxlen:
            maxlen = offsets[s + 1] - offsets[s]
    sent = np.empty(maxlen, np.int64)
    ctx = np.empty(2 * window + 1, np.int64)
    h = np.empty(D, syn0.dtype)
    neu1e = np.empty(D, syn0.dtype)
    maxcode = codes.shape[1] if use_hs else 1
    g = np.empty(max(negative + 1, maxcode, 1), syn0.dtype)
    labels = np.empty(max(negative + 1, maxcode, 1), syn0.dtype)
    rows = np.empty(negative + 1, np.int64)
    logits = np.empty(syn1sm.shape[0] if use_sm else 1, np.float64)
    use_neg = negative > 0
    ntab = cum_table[cum_table.shape[0] - 1] if use_neg else 1
    state = np.uint64(seed)
    for _ in range(3):
        state, _r = _lcg(state)
    raw = 0
    eff = 0
    loss = 0.0
    for s in range(s0, s1):
        a, b = offsets[s], offsets[s + 1]
        alpha = alpha0 - (alpha0 - min_alpha) * ((word_base + raw) / total_words)
        if alpha < min_alpha:
            alpha = min_alpha
        raw += b - a
        n = 0
        for p in range(a, b):
            w = ids[p]
            if keep[w] < 4294967296:
                state, r = _lcg(state)
                if r >= keep[w]:
                    continue
            sent[n] = w
            n += 1
        eff += n
        for i in range(n):
            red = 0
            if shrink:
                state, r = _lcg(state)
                red = r % window
            j0 = max(0, i - window + red)
            j1 = min(n, i + window + 1 - red)
            center = sent[i]
            if sg:
                for j in range(j0, j1):
                    if j == i:
                        continue
                    ctx[0] = sent[j]
                    state, nneg = _negatives(state, cum_table, ntab, negative, center, rows)
                    loss += _example(syn0, syn1neg, syn1, syn1sm, ctx, 1, center, rows,
                                     labels, nneg, points, codes, codelens, use_neg, use_hs,
                                     use_sm, cbow_mean, alpha, h, neu1e, g, logits, want_loss)
            else:
                nctx = 0
                for j in range(j0, j1):
                    if j != i:
                        ctx[nctx] = sent[j]
                        nctx += 1
                if nctx == 0:
                    continue
                state, nneg = _negatives(state, cum_table, ntab, negative, center, rows)
                loss += _example(syn0, syn1neg, syn1, syn1sm, ctx, nctx, center, rows, labels,
                                 nneg, points, codes, codelens, use_neg, use_hs, use_sm,
                                 cbow_mean, alpha, h, neu1e, g, logits, want_loss)
    return eff, raw, loss


@njit(nogil=True)
def train_examples(syn0, syn1neg, syn1, syn1sm, ctx, nctx, centers, negs, nnegs, points,
                   codes, codelens, use_neg, use_hs, use_sm, cbow_mean, alpha, want_loss):
    """Sequential SGD over explicit examples (the same ``_example`` the trainer uses):
    example e has context ctx[e, :nctx[e]], target centers[e], negatives negs[e, :nnegs[e]].
    Returns the summed loss (before each step)."""
    D = syn0.shape[1]
    K = negs.shape[1]
    maxcode = codes.shape[1] if use_hs else 1
    h = np.empty(D, syn0.dtype)
    neu1e = np.empty(D, syn0.dtype)
    g = np.empty(max(K + 1, maxcode, 1), syn0.dtype)
    labels = np.empty(max(K + 1, maxcode, 1), syn0.dtype)
    rows = np.empty(K + 1, np.int64)
    logits = np.empty(syn1sm.shape[0] if use_sm else 1, np.float64)
    loss = 0.0
    for e in range(centers.shape[0]):
        for k in range(nnegs[e]):
            rows[k + 1] = negs[e, k]
        loss += _example(syn0, syn1neg, syn1, syn1sm, ctx[e], nctx[e], centers[e], rows,
                         labels, nnegs[e], points, codes, codelens, use_neg, use_hs, use_sm,
                         cbow_mean, alpha, h, neu1e, g, logits, want_loss)
    return loss


@njit(nogil=True, fastmath=True)
def glove_epoch(W, C, bw, bc, GW, GC, Gbw, Gbc, rows, cols, logx, fx, order, lr):
    """One AdaGrad pass of GloVe over the co-occurrence entries in ``order``.

    Entry e = (i, j, X_ij) contributes ½ f(X_ij)(w_i·c_j + b_i + b̃_j − log X_ij)²; its gradient
    is applied at once: G += g², θ −= lr g / √G (AdaGrad, G starting at 1 as in glove.c).
    Returns the summed loss (each entry's, before its own step)."""
    D = W.shape[1]
    cost = 0.0
    for e in order:
        i = rows[e]
        j = cols[e]
        f = W[i, 0] * 0
        for d in range(D):
            f += W[i, d] * C[j, d]
        diff = f + bw[i] + bc[j] - logx[e]
        fd = fx[e] * diff
        cost += 0.5 * fd * diff
        for d in range(D):
            gw = fd * C[j, d]
            gc = fd * W[i, d]
            GW[i, d] += gw * gw
            GC[j, d] += gc * gc
            W[i, d] -= lr * gw / math.sqrt(GW[i, d])
            C[j, d] -= lr * gc / math.sqrt(GC[j, d])
        Gbw[i] += fd * fd
        Gbc[j] += fd * fd
        bw[i] -= lr * fd / math.sqrt(Gbw[i])
        bc[j] -= lr * fd / math.sqrt(Gbc[j])
    return cost
