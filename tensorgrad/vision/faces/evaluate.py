"""Verification metrics: pairs, ROC curve and its area, the best distance threshold.

A verification system answers "same identity?" for a pair by thresholding the distance
d = ‖f(x₁) − f(x₂)‖²: same when d ≤ τ. Sweeping τ traces the ROC curve — the true-positive rate
(same-identity pairs accepted) against the false-positive rate (different-identity pairs
accepted); its area (AUC) is the probability that a random same pair is closer than a random
different pair (ties count ½). ``roc_curve`` and ``roc_auc_score`` follow scikit-learn's
conventions (scores: larger means "positive"; pass −distance).
"""
from __future__ import annotations

import numpy as np

from ... import random as _random
from ...tensor import Tensor
from .mining import _labels

__all__ = ["make_pairs", "pair_distances", "roc_curve", "auc", "roc_auc_score",
           "best_threshold", "verification_accuracy", "evaluate_verification"]


def _np(x, what, op, ndim=1):
    arr = x.detach().numpy() if isinstance(x, Tensor) else np.asarray(x)
    if arr.ndim != ndim:
        raise ValueError(f"{op}: {what} must be {ndim}-D, got shape {arr.shape}")
    return arr


def make_pairs(labels, n_pairs, seed=None, generator=None, groups=None):
    """``n_pairs`` image pairs, half of one identity and half of two different identities, drawn
    uniformly. With ``groups`` (one value per image, e.g. each item's class) the different pairs
    are *hard*: two identities of one group. Returns (i, j, same) with ``same`` a bool array."""
    codes = _labels(labels, "make_pairs")
    if isinstance(n_pairs, bool) or not isinstance(n_pairs, (int, np.integer)) or n_pairs < 2:
        raise ValueError(f"make_pairs: n_pairs must be an integer >= 2, got {n_pairs!r}")
    gen = generator if generator is not None else (
        np.random.default_rng(seed) if seed is not None else _random.generator())
    counts = np.bincount(codes)
    multi = np.flatnonzero(counts >= 2)
    if multi.size == 0 or counts.size < 2:
        raise ValueError("make_pairs: needs at least two identities, one of them with two or "
                         "more images")
    members = [np.flatnonzero(codes == c) for c in range(counts.size)]
    partners = None
    if groups is not None:
        g = _labels(groups, "make_pairs", codes.size)
        if any(np.unique(g[m]).size != 1 for m in members):
            raise ValueError("make_pairs: groups must give every image of an identity the same "
                             "group")
        gid = g[[m[0] for m in members]]
        partners = [np.flatnonzero((gid == gid[c]) & (np.arange(counts.size) != c))
                    for c in range(counts.size)]
        if not any(p.size for p in partners):
            raise ValueError("make_pairs: no group holds two identities, so there is no hard "
                             "different pair")
    n_same = n_pairs // 2
    i, j = np.empty(n_pairs, np.int64), np.empty(n_pairs, np.int64)
    ids = gen.choice(multi, size=n_same)
    for t, c in enumerate(ids):
        i[t], j[t] = gen.choice(members[c], size=2, replace=False)
    firsts = None if partners is None else np.flatnonzero([p.size > 0 for p in partners])
    for t in range(n_same, n_pairs):
        if partners is None:
            c1, c2 = gen.choice(counts.size, size=2, replace=False)
        else:
            c1 = gen.choice(firsts)
            c2 = gen.choice(partners[c1])
        i[t], j[t] = gen.choice(members[c1]), gen.choice(members[c2])
    same = np.zeros(n_pairs, dtype=bool)
    same[:n_same] = True
    return i, j, same


def pair_distances(embeddings, i, j):
    """‖e_i − e_j‖² for each pair (numpy)."""
    e = _np(embeddings, "embeddings", "pair_distances", ndim=2).astype(np.float64)
    return ((e[np.asarray(i)] - e[np.asarray(j)]) ** 2).sum(1)


def roc_curve(y_true, scores):
    """(fpr, tpr, thresholds) as ``sklearn.metrics.roc_curve(..., drop_intermediate=False)``:
    one point per distinct score, thresholds decreasing, the first threshold +inf (nothing
    accepted)."""
    y = _np(y_true, "y_true", "roc_curve").astype(bool)
    s = _np(scores, "scores", "roc_curve").astype(np.float64)
    if y.shape != s.shape:
        raise ValueError(f"roc_curve: y_true and scores have shapes {y.shape} and {s.shape}")
    if y.all() or not y.any():
        raise ValueError("roc_curve: y_true needs both positive and negative examples")
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]   # last index of each distinct score
    tps = np.cumsum(y)[last]
    fps = (last + 1) - tps
    tpr = np.r_[0.0, tps / y.sum()]
    fpr = np.r_[0.0, fps / (~y).sum()]
    return fpr, tpr, np.r_[np.inf, s[last]]


def auc(x, y):
    """Area under a curve by the trapezoid rule (x monotonic)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return float(abs(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2.0)))


def roc_auc_score(y_true, scores):
    fpr, tpr, _ = roc_curve(y_true, scores)
    return auc(fpr, tpr)


def best_threshold(distances, same, balanced=False):
    """The distance threshold τ (accept "same" when d ≤ τ) with the highest accuracy on these
    pairs — or, with ``balanced``, the highest mean of the true-positive and true-negative rates;
    τ is the midpoint between neighbouring distances. Returns (τ, that accuracy)."""
    d = _np(distances, "distances", "best_threshold").astype(np.float64)
    y = _np(same, "same", "best_threshold").astype(bool)
    if d.size == 0 or d.shape != y.shape:
        raise ValueError(f"best_threshold: need non-empty distances and labels of one shape, "
                         f"got {d.shape} and {y.shape}")
    u = np.unique(d)
    cands = np.r_[u[0] - 1e-12, (u[:-1] + u[1:]) / 2.0, u[-1] + 1e-12]
    order = np.argsort(d)
    ds, ys = d[order], y[order]
    # accepted = d <= τ: true positives among them plus true negatives above
    k = np.searchsorted(ds, cands, side="right")
    tp = np.r_[0, np.cumsum(ys)][k]
    tn = (~ys).sum() - (k - tp)
    if balanced:
        n_pos, n_neg = max(int(ys.sum()), 1), max(int((~ys).sum()), 1)
        acc = (tp / n_pos + tn / n_neg) / 2.0
    else:
        acc = (tp + tn) / d.size
    best = int(np.argmax(acc))
    return float(cands[best]), float(acc[best])


def verification_accuracy(distances, same, threshold):
    """Fraction of pairs decided right by ``d ≤ threshold``."""
    d = _np(distances, "distances", "verification_accuracy")
    y = _np(same, "same", "verification_accuracy").astype(bool)
    return float(np.mean((d <= threshold) == y))


def evaluate_verification(embeddings, labels, n_pairs=2000, threshold=None, seed=0,
                          groups=None):
    """Draw balanced pairs among ``embeddings`` (rows, with identities ``labels``; hard
    different pairs within one of ``groups``, see ``make_pairs``) and report
    ``{"auc", "accuracy", "threshold", "fpr", "tpr", "distances", "same"}``. Without
    ``threshold`` the best one on these same pairs is used (an optimistic accuracy: choose it on
    a validation split and pass it in for an honest one)."""
    i, j, same = make_pairs(labels, n_pairs, seed=seed, groups=groups)
    d = pair_distances(embeddings, i, j)
    fpr, tpr, _ = roc_curve(same, -d)
    if threshold is None:
        threshold, _ = best_threshold(d, same)
    return {"auc": auc(fpr, tpr), "accuracy": verification_accuracy(d, same, threshold),
            "threshold": float(threshold), "fpr": fpr, "tpr": tpr, "distances": d,
            "same": same}
