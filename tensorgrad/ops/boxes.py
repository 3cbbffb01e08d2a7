"""Array-level entry to the NMS kernel (``tensorgrad.kernels.nms``).

Not a differentiable op (NMS returns indices) and not star-exported: ``tensorgrad.vision.ops``
validates user input and calls ``nms_indices``. This file only makes the arrays the kernel
expects (C-contiguous float32/float64 boxes, the stable score order) and checks internal
invariants.
"""
from __future__ import annotations

import numpy as np

__all__ = ["nms_indices", "score_order"]


def _kernels():
    from ..kernels import nms as K  # numba import deferred to first use
    return K


def score_order(scores: np.ndarray) -> np.ndarray:
    """Indices by decreasing score, ties by increasing index (torchvision's order)."""
    s = np.asarray(scores)
    if s.dtype.kind in "iub":
        s = s.astype(np.float64)
    return np.argsort(-s, kind="stable").astype(np.int64, copy=False)


def nms_indices(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float,
                idxs: np.ndarray | None = None) -> np.ndarray:
    """Kept indices (int64, by decreasing score) of greedy NMS on ``(N, 4)`` xyxy ``boxes``;
    with ``idxs`` only boxes of the same id suppress each other (batched NMS)."""
    assert boxes.ndim == 2 and boxes.shape[1] == 4, boxes.shape
    assert scores.shape == (boxes.shape[0],), (scores.shape, boxes.shape)
    if boxes.shape[0] == 0:
        return np.empty(0, np.int64)
    if boxes.dtype not in (np.float32, np.float64):
        boxes = boxes.astype(np.float64)
    boxes = np.ascontiguousarray(boxes)
    order = score_order(scores)
    if idxs is None:
        cls, ncls = np.zeros(boxes.shape[0], np.int64), 1
    else:
        ids = np.asarray(idxs)
        assert ids.shape == (boxes.shape[0],), ids.shape
        uniq, cls = np.unique(ids, return_inverse=True)   # class ids -> 0 .. ncls-1
        cls, ncls = np.ascontiguousarray(cls.reshape(-1), dtype=np.int64), len(uniq)
    return _kernels().nms_sorted(boxes, order, cls, ncls, float(iou_threshold),
                                 float(np.finfo(boxes.dtype).eps))
