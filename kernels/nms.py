"""Greedy non-maximum suppression (numba), with torchvision's arithmetic and tie-breaking.

``nms_sorted(boxes, order, cls, ncls, iou_threshold, eps)`` walks the boxes in ``order`` (the caller
sorts them by decreasing score, ties by increasing index: a stable sort) and keeps a box unless
a box kept before it, of the same class ``cls`` (ids ``0 .. ncls-1``; all zeros for plain NMS),
overlaps it with IoU strictly greater than ``iou_threshold``. It returns the kept indices
(int64) in walk order, i.e. by decreasing score.

Exactness: the IoU of a pair is computed in the boxes' own dtype, in the order of operations of
torchvision's CPU kernel (``inter / (area_i + area_j - inter)``, compared with the threshold in
double), so results agree bit for bit at the threshold. A pair whose union is 0 (two zero-area
boxes) has IoU 0/0 = NaN there, which is never "greater than" anything: such boxes never
suppress each other.

Speed: the naive walk compares every kept box with every later box (N²/2 IoUs when little is
suppressed). Boxes that do not overlap in x have intersection 0, hence IoU 0 (or NaN), which
can not exceed a threshold >= 0; so each kept box only visits the boxes of its class whose x1
lies in ``[x1_i - widest box - margin, x2_i)``, found by binary search in an x1-sorted copy.
The margin (8 ``eps``, the dtype's machine epsilon, times the largest coordinate) only lets
extra pairs in, which are then computed exactly, so pruning never changes the result. A
negative threshold visits every pair.

Boxes are ``(N, 4)`` C-contiguous float32 or float64 ``(x1, y1, x2, y2)``; checks (finite,
``x1 <= x2``, ``y1 <= y2``) live in the caller.
"""

from __future__ import annotations

import numpy as np

from ._numba import njit

__all__ = ["nms_sorted"]


@njit
def _first_at_least(a, lo, hi, v):
    """Smallest q in [lo, hi) with a[q] >= v (hi if none); ``a`` ascending on [lo, hi)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit
def nms_sorted(boxes, order, cls, ncls, thr, eps):
    """Kept indices of ``boxes`` walked in ``order`` (see the module docstring)."""
    n = boxes.shape[0]
    x1 = boxes[:, 0]
    y1 = boxes[:, 1]
    x2 = boxes[:, 2]
    y2 = boxes[:, 3]
    areas = (x2 - x1) * (y2 - y1)
    rank = np.empty(n, np.int64)
    for p in range(n):
        rank[order[p]] = p
    # boxes grouped by class, each group sorted by x1 (counting sort of an x1-sorted order)
    starts = np.zeros(ncls + 1, np.int64)
    for j in range(n):
        starts[cls[j] + 1] += 1
    for c in range(ncls):
        starts[c + 1] += starts[c]
    fill = starts[:ncls].copy()
    by_x = np.empty(n, np.int64)
    for j in np.argsort(x1, kind="mergesort"):
        c = cls[j]
        by_x[fill[c]] = j
        fill[c] += 1
    xs = np.empty(n, np.float64)
    widest = np.zeros(ncls, np.float64)
    big = 0.0
    for q in range(n):
        j = by_x[q]
        xs[q] = x1[j]
        w = np.float64(x2[j]) - np.float64(x1[j])
        if w > widest[cls[j]]:
            widest[cls[j]] = w
        big = max(big, abs(np.float64(x1[j])), abs(np.float64(x2[j])))
    margin = 8.0 * eps * big
    prune = thr >= 0.0

    suppressed = np.zeros(n, np.bool_)
    keep = np.empty(n, np.int64)
    nk = 0
    for p in range(n):
        i = order[p]
        if suppressed[i]:
            continue
        keep[nk] = i
        nk += 1
        ix1, iy1, ix2, iy2, iarea = x1[i], y1[i], x2[i], y2[i], areas[i]
        c = cls[i]
        lo, hi = starts[c], starts[c + 1]
        if prune:
            lo = _first_at_least(xs, lo, hi, np.float64(ix1) - widest[c] - margin)
            hi = _first_at_least(xs, lo, hi, np.float64(ix2))   # x1_j >= x2_i: no overlap
        for q in range(lo, hi):
            j = by_x[q]
            if rank[j] <= p or suppressed[j]:
                continue
            w = min(ix2, x2[j]) - max(ix1, x1[j])
            if w < 0:
                w = w - w  # a zero of the boxes' dtype (keeps float32 arithmetic float32)
            h = min(iy2, y2[j]) - max(iy1, y1[j])
            if h < 0:
                h = h - h
            inter = w * h
            union = iarea + areas[j] - inter
            # union == 0 means 0/0 = NaN in torchvision: NaN > thr is false, nothing suppressed
            if union != 0 and inter / union > thr:
                suppressed[j] = True
    return keep[:nk]
