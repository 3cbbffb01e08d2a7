"""YOLO's grid and anchor boxes: which cell and which anchor is responsible for an object,
anchor selection by k-means, and the target volume ``S x S x A x (5 + k)``.

Grid (YOLO, Redmon et al. 2016). An ``image_size x image_size`` image is cut into an
``S x S`` grid of cells of ``cell = image_size / S`` pixels. An object belongs to the one cell
that contains the midpoint of its box, even when the box spans several cells. Inside that cell
its box is described in cell units: ``b_x, b_y`` in [0, 1) the midpoint's offset from the
cell's top-left corner, ``b_h, b_w`` the height and width divided by the cell size (they can
exceed 1).

Anchor boxes (YOLOv2, Redmon & Farhadi 2017). Each cell has ``A`` predictors, one per anchor
shape ``(w, h)`` (cell units). An object goes to the anchor whose shape has the highest IoU with
its box, both boxes centred at the same point (only shapes are compared). If that slot of the
cell is taken already, the object takes the next best free anchor of the cell; if all are
taken it is dropped (and counted): the grid can not describe it.

Anchor shapes by k-means on the training boxes' ``(w, h)`` with the distance
``d = 1 - IoU(box, centroid)``: Euclidean k-means would let large boxes dominate, while this
distance is scale free. Centroids start by k-means++ (seeded) and move to the mean of their
members until the assignment stops changing.

Target vector per (cell, anchor): ``(p_c, b_x, b_y, b_h, b_w, c_1 .. c_k)`` with ``p_c = 1``
and a one-hot class where an object was assigned, all zeros elsewhere.
"""
from __future__ import annotations

import numpy as np

from ...tensor import Tensor
from ..ops import box_iou, check_boxes

__all__ = ["wh_iou", "kmeans_anchors", "mean_best_iou", "grid_cell", "match_anchor",
           "encode_targets", "targets_to_boxes"]


def _np(x):
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _wh(wh, fn, name="wh"):
    a = np.asarray(_np(wh), dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 2:
        raise ValueError(f"{fn}: {name} must have shape (N, 2) (width, height), got {a.shape}")
    if not np.isfinite(a).all() or (a <= 0).any():
        i = int(np.argmax(~np.isfinite(a).all(1) | (a <= 0).any(1)))
        raise ValueError(f"{fn}: {name}[{i}] = {a[i].tolist()} must be a positive, finite "
                         f"(width, height)")
    return a


def wh_iou(wh1, wh2):
    """IoU of box shapes ``(N, 2)`` x ``(K, 2)`` (boxes centred at the same point) -> (N, K)."""
    a, b = _wh(wh1, "wh_iou", "wh1"), _wh(wh2, "wh_iou", "wh2")
    z1, z2 = np.zeros_like(a), np.zeros_like(b)
    return box_iou(np.concatenate([z1, a], 1), np.concatenate([z2, b], 1), fmt="cxcywh").numpy()


def kmeans_anchors(wh, k, seed=0, max_iter=300):
    """``k`` anchor shapes ``(k, 2)`` (sorted by area) clustering ``wh`` with 1 - IoU."""
    x = _wh(wh, "kmeans_anchors")
    if not 1 <= k <= len(x):
        raise ValueError(f"kmeans_anchors: need 1 <= k <= number of boxes ({len(x)}), got {k}")
    rng = np.random.default_rng(seed)
    cent = [x[rng.integers(len(x))]]
    for _ in range(1, k):                      # k-means++: far (in 1 - IoU) points first
        d = (1 - wh_iou(x, np.array(cent))).min(1)
        p = d ** 2
        cent.append(x[rng.choice(len(x), p=p / p.sum())] if p.sum() > 0
                    else x[rng.integers(len(x))])
    cent = np.array(cent)
    assign = None
    for _ in range(max_iter):
        new = wh_iou(x, cent).argmax(1)
        if assign is not None and np.array_equal(new, assign):
            break
        assign = new
        for j in range(k):
            members = x[assign == j]
            if len(members):
                cent[j] = members.mean(0)
            else:                               # empty cluster: take the worst-fitted box
                cent[j] = x[int(wh_iou(x, cent).max(1).argmin())]
    return cent[np.argsort(cent[:, 0] * cent[:, 1], kind="stable")]


def mean_best_iou(wh, anchors):
    """Average over boxes of the best IoU with an anchor (how well the anchors fit)."""
    return float(wh_iou(wh, anchors).max(1).mean())


def grid_cell(boxes, image_size, grid_size, _fn="grid_cell"):
    """Cell (row, col) holding each box's midpoint and the box in cell units.

    Returns ``row, col`` (int arrays) and ``(b_x, b_y, b_h, b_w)`` as an ``(n, 4)`` array."""
    b = check_boxes(boxes, _fn, "boxes", ndim=2)._data.astype(np.float64)
    cell = image_size / grid_size
    cx, cy = (b[:, 0] + b[:, 2]) / 2 / cell, (b[:, 1] + b[:, 3]) / 2 / cell
    col = np.clip(np.floor(cx).astype(np.int64), 0, grid_size - 1)
    row = np.clip(np.floor(cy).astype(np.int64), 0, grid_size - 1)
    desc = np.stack([cx - col, cy - row, (b[:, 3] - b[:, 1]) / cell,
                     (b[:, 2] - b[:, 0]) / cell], 1)
    return row, col, desc


def match_anchor(wh, anchors):
    """Anchors ranked best-first by IoU of shapes for each box: ``(n, A)`` int array."""
    return np.argsort(-wh_iou(wh, anchors), axis=1, kind="stable")


def encode_targets(boxes, labels, anchors, num_classes, image_size, grid_size,
                   return_dropped=False):
    """YOLO training targets ``(N, S, S, A, 5 + k)`` (float32) for N images.

    ``boxes``: one ``(n_i, 4)`` xyxy pixel array per image; ``labels``: one ``(n_i,)`` int array
    per image; ``anchors``: ``(A, 2)`` shapes in cell units. With ``return_dropped`` also the
    number of objects that found no free anchor in their cell."""
    anchors = _wh(anchors, "encode_targets", "anchors")
    if len(boxes) != len(labels):
        raise ValueError(f"encode_targets: got {len(boxes)} box arrays but {len(labels)} label "
                         f"arrays (one of each per image)")
    S, A, k = int(grid_size), len(anchors), int(num_classes)
    out = np.zeros((len(boxes), S, S, A, 5 + k), np.float32)
    dropped = 0
    for n, (b, lab) in enumerate(zip(boxes, labels)):
        b = np.asarray(_np(b), np.float64)
        b = b.reshape(0, 4) if b.size == 0 else b
        lab = np.asarray(_np(lab)).reshape(-1)
        if len(b) != len(lab):
            raise ValueError(f"encode_targets: image {n} has {len(b)} boxes but {len(lab)} "
                             f"labels")
        if len(b) == 0:
            continue
        if lab.min() < 0 or lab.max() >= k:
            raise ValueError(f"encode_targets: image {n} has a label outside 0..{k - 1}: "
                             f"{lab.tolist()}")
        row, col, desc = grid_cell(b, image_size, S, _fn=f"encode_targets (image {n})")
        ranks = match_anchor(np.maximum(desc[:, 2:][:, ::-1], 1e-9), anchors)
        for j in range(len(b)):
            for a in ranks[j]:
                slot = out[n, row[j], col[j], a]
                if slot[0] == 0:
                    slot[0] = 1
                    slot[1:5] = desc[j]
                    slot[5 + lab[j]] = 1
                    break
            else:
                dropped += 1
    return (out, dropped) if return_dropped else out


def targets_to_boxes(targets, image_size):
    """The ground truth back from target volumes: per image ``(boxes xyxy pixels, labels)``."""
    t = _np(targets)
    if t.ndim != 5 or t.shape[-1] < 6:
        raise ValueError(f"targets_to_boxes: targets must have shape (N, S, S, A, 5 + k), got "
                         f"{t.shape}")
    S = t.shape[1]
    cell = image_size / S
    out = []
    for n in range(t.shape[0]):
        r, c, a = np.nonzero(t[n, ..., 0] > 0.5)
        v = t[n, r, c, a]
        cx, cy = (c + v[:, 1]) * cell, (r + v[:, 2]) * cell
        h, w = v[:, 3] * cell, v[:, 4] * cell
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
        out.append((boxes, v[:, 5:].argmax(1)))
    return out
