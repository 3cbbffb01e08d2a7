"""Detection metrics: precision/recall curves, average precision, VOC mAP@0.5 and COCO
mAP@[.5:.95].

Matching. For one class, all detections of all images are taken by decreasing score. A
detection is a true positive when it overlaps a ground-truth box of its image and class with
IoU >= the threshold and that box is not matched yet; otherwise it is a false positive (a
second detection of an already found object counts as a false positive, which is how
duplicates are punished). Two matching rules are used, each as its reference does:

* VOC (PASCAL VOC devkit): the detection looks only at its highest-IoU ground-truth box; if that
  one is taken, it is a false positive.
* COCO (pycocotools): the detection takes the highest-IoU ground-truth box among those not
  taken yet. Each image keeps at most ``max_detections`` (100) detections per class.

After the first ``n`` detections, precision = TP / n and recall = TP / (number of ground-truth
boxes). Average precision (AP) summarises the curve:

* VOC 2010+ "all-point interpolation": make precision monotone (``p(r) = max_{r' >= r} p(r')``)
  and take the area under that step curve;
* COCO: the mean of the interpolated precision at the 101 recalls 0, 0.01, ..., 1 (0 where the
  recall is never reached), averaged over IoU thresholds 0.50, 0.55, ..., 0.95.

mAP is the mean of AP over classes that have ground truth (classes without any are left out,
as in pycocotools). Boxes are continuous xyxy coordinates (no "+1 pixel" convention).
"""
from __future__ import annotations

import numpy as np

from ...tensor import Tensor
from ..ops import box_iou, check_boxes

__all__ = ["precision_recall_curve", "average_precision", "voc_map", "coco_map",
           "evaluate_detections"]

COCO_IOUS = np.linspace(0.5, 0.95, 10)
COCO_RECALLS = np.linspace(0.0, 1.0, 101)


def _a(x, dtype=None):
    a = x._data if isinstance(x, Tensor) else np.asarray(x)
    return a.astype(dtype) if dtype is not None else a


def _normalize(predictions, targets, fn):
    """Lists of per-image (boxes, scores, labels) and (boxes, labels) as numpy arrays."""
    if len(predictions) != len(targets):
        raise ValueError(f"{fn}: got predictions for {len(predictions)} images but targets for "
                         f"{len(targets)}")
    P, T = [], []
    for i, (p, t) in enumerate(zip(predictions, targets)):
        if isinstance(p, dict):
            p = (p["boxes"], p["scores"], p["labels"])
        if isinstance(t, dict):
            t = (t["boxes"], t["labels"])
        if len(p) != 3 or len(t) != 2:
            raise ValueError(f"{fn}: image {i}: a prediction is (boxes, scores, labels) and a "
                             f"target (boxes, labels)")
        pb, ps, pl = _a(p[0], np.float64).reshape(-1, 4), _a(p[1], np.float64).reshape(-1), \
            _a(p[2]).reshape(-1).astype(np.int64)
        tb, tl = _a(t[0], np.float64).reshape(-1, 4), _a(t[1]).reshape(-1).astype(np.int64)
        if not len(pb) == len(ps) == len(pl):
            raise ValueError(f"{fn}: image {i}: {len(pb)} predicted boxes, {len(ps)} scores, "
                             f"{len(pl)} labels")
        if len(tb) != len(tl):
            raise ValueError(f"{fn}: image {i}: {len(tb)} target boxes but {len(tl)} labels")
        check_boxes(pb, f"{fn} (image {i})", "predicted boxes")
        check_boxes(tb, f"{fn} (image {i})", "target boxes")
        P.append((pb, ps, pl))
        T.append((tb, tl))
    return P, T


def _iou(a, b):
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    return box_iou(a, b).numpy()


def _match_voc(ious, thr):
    """TP flags of detections (rows, by decreasing score) against ground truth (columns)."""
    tp = np.zeros(ious.shape[0], bool)
    taken = np.zeros(ious.shape[1], bool)
    if ious.shape[1] == 0:
        return tp
    best = ious.argmax(1)
    for d in range(ious.shape[0]):
        g = best[d]
        if ious[d, g] >= thr and not taken[g]:
            tp[d] = taken[g] = True
    return tp


def _match_coco(ious, thr):
    tp = np.zeros(ious.shape[0], bool)
    taken = np.zeros(ious.shape[1], bool)
    for d in range(ious.shape[0]):
        cur, m = min(thr, 1 - 1e-10), -1
        for g in range(ious.shape[1]):      # pycocotools: the last of equal best IoUs wins
            if taken[g] or ious[d, g] < cur:
                continue
            cur, m = ious[d, g], g
        if m >= 0:
            tp[d] = taken[m] = True
    return tp


def _per_class(P, T, c, thr, rule, max_detections):
    """Scores and TP flags of all class-c detections (by decreasing score), number of GTs."""
    scores, flags, n_gt = [], [], 0
    for (pb, ps, pl), (tb, tl) in zip(P, T):
        sel = np.flatnonzero(pl == c)
        sel = sel[np.argsort(-ps[sel], kind="stable")]
        if max_detections is not None:
            sel = sel[:max_detections]
        gt = tb[tl == c]
        n_gt += len(gt)
        ious = _iou(pb[sel], gt)
        flags.append(_match_voc(ious, thr) if rule == "voc" else _match_coco(ious, thr))
        scores.append(ps[sel])
    s, f = np.concatenate(scores), np.concatenate(flags)
    order = np.argsort(-s, kind="stable")
    return s[order], f[order], n_gt


def _curve(flags, n_gt):
    tp = np.cumsum(flags)
    fp = np.cumsum(~flags)
    recall = tp / n_gt if n_gt else np.full(len(tp), np.nan)
    precision = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return precision, recall


def precision_recall_curve(predictions, targets, class_id, iou_threshold=0.5, rule="voc",
                           max_detections=None):
    """(precision, recall, scores) after each detection of class ``class_id``, by decreasing
    score. ``predictions``: per image ``(boxes, scores, labels)``; ``targets``: per image
    ``(boxes, labels)`` (or dicts with those keys)."""
    P, T = _normalize(predictions, targets, "precision_recall_curve")
    s, f, n = _per_class(P, T, int(class_id), float(iou_threshold), rule, max_detections)
    precision, recall = _curve(f, n)
    return precision, recall, s


def average_precision(precision, recall, method="all_points"):
    """Area under the interpolated precision/recall curve: ``'all_points'`` (VOC 2010+) or
    ``'coco'`` (mean over the 101 recalls 0, 0.01, ..., 1)."""
    p = np.asarray(precision, np.float64)
    r = np.asarray(recall, np.float64)
    if p.shape != r.shape or p.ndim != 1:
        raise ValueError(f"average_precision: precision and recall must be 1-D of the same "
                         f"length, got {p.shape} and {r.shape}")
    if method == "all_points":
        mrec = np.concatenate([[0.0], r, [1.0]])
        mpre = np.concatenate([[0.0], p, [0.0]])
        mpre = np.maximum.accumulate(mpre[::-1])[::-1]          # monotone envelope
        i = np.flatnonzero(mrec[1:] != mrec[:-1])
        return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))
    if method == "coco":
        env = np.maximum.accumulate(p[::-1])[::-1] if len(p) else p
        idx = np.searchsorted(r, COCO_RECALLS, side="left")
        q = np.where(idx < len(env), env[np.minimum(idx, len(env) - 1)] if len(env) else 0, 0)
        return float(np.mean(q))
    raise ValueError(f"average_precision: method must be 'all_points' or 'coco', got {method!r}")


def evaluate_detections(predictions, targets, num_classes, iou_thresholds=(0.5,), rule="voc",
                        method="all_points", max_detections=None, _fn="evaluate_detections"):
    """AP per class and IoU threshold: returns ``{"map", "ap" (T, k) with NaN for classes
    without ground truth, "iou_thresholds"}``; ``map`` averages over thresholds and the classes
    that have ground truth."""
    P, T = _normalize(predictions, targets, _fn)
    thr = np.asarray(iou_thresholds, np.float64).reshape(-1)
    ap = np.full((len(thr), int(num_classes)), np.nan)
    for c in range(int(num_classes)):
        for ti, t in enumerate(thr):
            s, f, n = _per_class(P, T, c, t, rule, max_detections)
            if n == 0:
                continue
            precision, recall = _curve(f, n)
            ap[ti, c] = average_precision(precision, recall, method)
    has = ~np.isnan(ap[0])
    m = float(np.mean(ap[:, has])) if has.any() else float("nan")
    return {"map": m, "ap": ap, "iou_thresholds": thr}


def voc_map(predictions, targets, num_classes, iou_threshold=0.5):
    """PASCAL VOC mAP at one IoU threshold (0.5), all-point interpolation."""
    return evaluate_detections(predictions, targets, num_classes, (iou_threshold,),
                               _fn="voc_map")["map"]


def coco_map(predictions, targets, num_classes, iou_thresholds=COCO_IOUS, max_detections=100):
    """COCO mAP@[.5:.95] (pycocotools' bbox AP, area 'all', maxDets 100); pass
    ``iou_thresholds=(0.5,)`` for COCO's AP50."""
    return evaluate_detections(predictions, targets, num_classes, iou_thresholds, rule="coco",
                               method="coco", max_detections=max_detections,
                               _fn="coco_map")["map"]
