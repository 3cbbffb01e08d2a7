"""Debiasing word vectors (docs/word_embeddings.md; Bolukbasi et al. 2016, "Man is to Computer
Programmer as Woman is to Homemaker? Debiasing Word Embeddings").

1. Identify a bias direction g from definitional pairs (woman−man, girl−boy, she−he, ...):
   the mean of their differences, or — as Bolukbasi et al. do — the first principal component
   of the pairs' centred vectors.
2. Neutralize words that should carry no bias (doctor, babysitter, ...): remove their component
   along g, e ← e − (e·g / ‖g‖²) g, so they sit in the subspace orthogonal to g.
3. Equalize pairs that should differ only along g (grandmother/grandfather): with unit vectors
   and μ = (e₁ + e₂)/2, ν = μ − proj_g μ, both become ν ± √(1 − ‖ν‖²) · ĝ-side, i.e.
   eᵢ ← ν + √(1 − ‖ν‖²) (proj_g eᵢ − proj_g μ) / ‖proj_g eᵢ − proj_g μ‖.
   They then share everything outside g and have unit length, so any neutralized word is at
   the same distance (and cosine) from both.

Vectors are treated as float64 arrays; the functions return new arrays.
"""
from __future__ import annotations

import numpy as np

from .vectors import KeyedVectors

__all__ = ["bias_direction", "neutralize", "equalize", "hard_debias"]


def _unit(v):
    v = np.asarray(v, np.float64)
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0, n, 1.0)


def _dir(g, op):
    g = np.asarray(g, np.float64)
    if g.ndim != 1 or not np.linalg.norm(g) > 0:
        raise ValueError(f"{op}: the bias direction g must be a non-zero 1-D vector, got "
                         f"shape {g.shape}")
    return g


def bias_direction(kv, pairs, method="mean", normalize=True):
    """Unit bias direction from word pairs ``[(a, b), ...]`` (e.g. ``[("woman", "man")]``),
    pointing from b to a.

    method ``"mean"``: the mean of the differences e_a − e_b; ``"pca"``: the first principal
    component of the pairs' vectors, each centred on its pair's mean (Bolukbasi et al.), signed
    to agree with the mean. ``normalize``: use unit word vectors (as Bolukbasi et al.).
    ``kv`` is a ``KeyedVectors`` (pairs of words) or None (pairs of vectors)."""
    op = "bias_direction"
    pairs = list(pairs)
    if not pairs:
        raise ValueError(f"{op}: give at least one pair")
    vec = (lambda w: np.asarray(w, np.float64)) if kv is None else \
        (lambda w: np.asarray(kv[w], np.float64))
    A, B = [], []
    for p in pairs:
        if len(p) != 2:
            raise ValueError(f"{op}: each pair needs two words, got {p!r}")
        A.append(vec(p[0]))
        B.append(vec(p[1]))
    A, B = np.array(A), np.array(B)
    if normalize:
        A, B = _unit(A), _unit(B)
    mean_diff = (A - B).mean(0)
    if method == "mean":
        g = mean_diff
    elif method == "pca":
        mu = (A + B) / 2
        centred = np.concatenate([A - mu, B - mu])
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        g = vt[0] * (1.0 if vt[0] @ mean_diff >= 0 else -1.0)
    else:
        raise ValueError(f"{op}: method must be 'mean' or 'pca', got {method!r}")
    if not np.linalg.norm(g) > 0:
        raise ValueError(f"{op}: the pairs' differences cancel out (zero direction)")
    return _unit(g)


def neutralize(v, g):
    """v minus its projection on g: v − (v·g / ‖g‖²) g (v may be (D,) or (N, D))."""
    g = _dir(g, "neutralize")
    v = np.asarray(v, np.float64)
    if v.shape[-1] != g.shape[0]:
        raise ValueError(f"neutralize: vectors have {v.shape[-1]} dims, g has {g.shape[0]}")
    return v - np.multiply.outer(v @ g / (g @ g), g)


def equalize(e1, e2, g):
    """Equalize a pair along g (Bolukbasi et al.'s equalize step, on unit vectors): returns
    (e1', e2') of unit length that agree outside g and are mirror images along it."""
    g = _dir(g, "equalize")
    e1, e2 = _unit(e1), _unit(e2)
    if e1.shape != g.shape or e2.shape != g.shape:
        raise ValueError(f"equalize: e1, e2 and g must have the same shape, got {e1.shape}, "
                         f"{e2.shape}, {g.shape}")
    gu = _unit(g)
    mu = (e1 + e2) / 2
    mu_b = (mu @ gu) * gu
    nu = mu - mu_b
    scale = np.sqrt(max(0.0, 1.0 - nu @ nu))
    out = []
    for e in (e1, e2):
        d = (e @ gu) * gu - mu_b
        n = np.linalg.norm(d)
        if n == 0:
            raise ValueError("equalize: the pair has no difference along g; it can not be "
                             "equalized")
        out.append(nu + scale * d / n)
    return out[0], out[1]


def hard_debias(kv, g, equalize_pairs=(), neutral_words=None):
    """A debiased copy of ``kv`` (float64, unit vectors): every word in ``neutral_words``
    (default: all words not in ``equalize_pairs``) is neutralized and re-normalized, and each
    pair in ``equalize_pairs`` is equalized."""
    g = _unit(_dir(g, "hard_debias"))
    vecs = _unit(kv.vectors)
    pair_words = {w for p in equalize_pairs for w in p}
    if neutral_words is None:
        rows = [i for i, w in enumerate(kv.index_to_key) if w not in pair_words]
    else:
        rows = [kv.get_index(w) for w in neutral_words]
    vecs[rows] = _unit(neutralize(vecs[rows], g))
    for a, b in equalize_pairs:
        ia, ib = kv.get_index(a), kv.get_index(b)
        vecs[ia], vecs[ib] = equalize(vecs[ia], vecs[ib], g)
    return KeyedVectors.from_arrays(kv.index_to_key, vecs, kv.counts)
