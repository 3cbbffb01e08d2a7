"""Box operations with torchvision.ops' names and semantics: ``box_convert``, ``box_area``,
``box_iou``, ``generalized_box_iou``, ``clip_boxes_to_image``, ``nms``, ``batched_nms``.

Boxes are ``(..., 4)`` tensors (numpy arrays are accepted too); ``'xyxy'`` is
``(x1, y1, x2, y2)`` with ``x1 <= x2``, ``y1 <= y2``; ``'xywh'`` is the top-left corner and the
size; ``'cxcywh'`` the centre and the size.

Intersection over union (IoU) of two boxes A and B is ``|A ∩ B| / |A ∪ B|``, with
``|A ∪ B| = |A| + |B| - |A ∩ B|``; it is 1 for identical boxes and 0 for disjoint ones (and
0/0 = NaN for two zero-area boxes, as in torchvision). Generalized IoU (Rezatofighi et al.,
CVPR 2019) subtracts the fraction of the smallest enclosing box C not covered by the union:
``GIoU = IoU - (|C| - |A ∪ B|) / |C|``, in [-1, 1] and informative even for disjoint boxes.
``box_area``, ``box_iou``, ``generalized_box_iou``, ``box_convert`` and ``clip_boxes_to_image``
are compositions of tensor ops, so gradients (of any order) flow through them.

Non-maximum suppression (greedy): walk the boxes by decreasing score (ties: lower index first,
as torchvision's CPU kernel) and keep a box unless a kept box overlaps it with
IoU > ``iou_threshold``. ``nms`` returns the kept indices (int64) by decreasing score;
``batched_nms`` does the same with boxes of different category ``idxs`` never competing. Both
run in a numba kernel (thousands of boxes in milliseconds).

Unlike torchvision, bad boxes are refused with an error naming the function and the box:
a last dimension other than 4, NaN/inf coordinates, ``x2 < x1`` / ``y2 < y1`` (or a negative
width/height in the other formats).
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import ops as _ops
from ..ops.boxes import nms_indices
from ..tensor import Tensor, _wrap

__all__ = ["box_convert", "box_area", "box_iou", "generalized_box_iou", "clip_boxes_to_image",
           "nms", "batched_nms", "check_boxes"]

_FMTS = ("xyxy", "xywh", "cxcywh")


# ---- input checks ---------------------------------------------------------------------------
def _as_tensor(x, fn, name):
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (np.ndarray, list, tuple)):
        a = np.asarray(x)
        if a.dtype == object:
            raise TypeError(f"{fn}: {name} must be a Tensor or a numeric array, got a ragged "
                            f"{type(x).__name__}")
        if isinstance(x, (list, tuple)) and a.dtype == np.float64:
            a = a.astype(np.float32)  # Python floats become float32, as tg.tensor does
        return _wrap(a)
    raise TypeError(f"{fn}: {name} must be a Tensor or a numpy array, got {type(x).__name__}")


def _fmt(fmt, fn, what="fmt"):
    if fmt not in _FMTS:
        raise ValueError(f"{fn}: unsupported box format {what}={fmt!r}; expected one of "
                         f"{', '.join(repr(f) for f in _FMTS)}")
    return fmt


def _row_text(row):
    return "[" + ", ".join(f"{v:g}" for v in np.asarray(row, dtype=np.float64).tolist()) + "]"


def check_boxes(boxes, fn="check_boxes", name="boxes", fmt="xyxy", ndim=None):
    """Validate boxes and return them as a Tensor: last dimension 4, numeric, finite, and
    ``x1 <= x2, y1 <= y2`` ('xyxy') or ``w, h >= 0`` ('xywh', 'cxcywh'). ``ndim=2`` also
    requires shape ``(N, 4)``. Errors name ``fn``, ``name`` and the first bad box."""
    t = _as_tensor(boxes, fn, name)
    a = t._data
    if ndim == 2 and (a.ndim != 2 or a.shape[-1] != 4):
        raise ValueError(f"{fn}: {name} must have shape (N, 4), got {tuple(a.shape)}")
    if a.ndim == 0 or a.shape[-1] != 4:
        raise ValueError(f"{fn}: {name} must have shape (..., 4) (4 coordinates per box), got "
                         f"{tuple(a.shape)}")
    if a.dtype.kind not in "fiu":
        raise TypeError(f"{fn}: {name} must hold numbers (float or int), got dtype {a.dtype}")
    if a.size == 0:
        return t
    flat = a.reshape(-1, 4)
    if a.dtype.kind == "f":
        bad = ~np.isfinite(flat).all(axis=1)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{fn}: {name}{_where(a.shape, i)} = {_row_text(flat[i])} has a "
                             f"NaN or infinite coordinate")
    if fmt == "xyxy":
        lo = flat[:, :2] > flat[:, 2:]
        what = "x2 < x1", "y2 < y1"
        need = "(x1, y1, x2, y2) with x1 <= x2 and y1 <= y2"
    else:
        lo = flat[:, 2:] < 0
        what = "negative width", "negative height"
        need = f"a non-negative width and height in {fmt!r} format"
    bad = lo.any(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        which = what[0] if lo[i, 0] else what[1]
        raise ValueError(f"{fn}: {name}{_where(a.shape, i)} = {_row_text(flat[i])} has {which} "
                         f"(expected {need})")
    return t


def _where(shape, flat_index):
    idx = np.unravel_index(flat_index, shape[:-1]) if len(shape) > 1 else ()
    return "[" + ", ".join(str(int(k)) for k in idx) + "]" if idx else ""


# ---- differentiable box maths ---------------------------------------------------------------
def _xyxy_from(t, fmt):
    """(lt, rb): the (..., 2) top-left and bottom-right corners of boxes in ``fmt``."""
    if fmt == "xyxy":
        return t[..., :2], t[..., 2:]
    if fmt == "xywh":
        return t[..., :2], t[..., :2] + t[..., 2:]
    half = t[..., 2:] / 2
    return t[..., :2] - half, t[..., :2] + half


def box_convert(boxes, in_fmt: str, out_fmt: str):
    """Convert ``(..., 4)`` boxes between 'xyxy', 'xywh' and 'cxcywh' (torchvision's formulas:
    ``x1 = cx - 0.5 * w``, ``cx = (x1 + x2) / 2``, ``x2 = x + w``...)."""
    _fmt(in_fmt, "box_convert", "in_fmt")
    _fmt(out_fmt, "box_convert", "out_fmt")
    t = check_boxes(boxes, "box_convert", "boxes", fmt=in_fmt)
    if in_fmt == out_fmt:
        return _ops.clone(t)
    a, b, c, d = _ops.unbind(t, -1)
    if in_fmt == "xywh":          # to xyxy first
        a, b, c, d = a, b, a + c, b + d
    elif in_fmt == "cxcywh":
        a, b, c, d = a - 0.5 * c, b - 0.5 * d, a + 0.5 * c, b + 0.5 * d
    if out_fmt == "xywh":
        a, b, c, d = a, b, c - a, d - b
    elif out_fmt == "cxcywh":
        a, b, c, d = (a + c) / 2, (b + d) / 2, c - a, d - b
    return _ops.stack([a, b, c, d], dim=-1)


def _upcast(t):
    """torchvision's _upcast: float16 -> float32, small ints -> int32 (no overflow in areas)."""
    k, sz = t.dtype.kind, t.dtype.itemsize
    if k == "f" and sz < 4:
        return _ops.astype(t, np.float32)
    if k in "iu" and (sz < 4 or t.dtype == np.uint32):
        return _ops.astype(t, np.int32 if sz < 4 else np.int64)
    return t


def box_area(boxes, fmt: str = "xyxy"):
    """Area of each box: ``(x2 - x1) * (y2 - y1)`` ('xyxy') or ``w * h``; shape ``(...)``."""
    _fmt(fmt, "box_area")
    t = _upcast(check_boxes(boxes, "box_area", "boxes", fmt=fmt))
    if fmt == "xyxy":
        return (t[..., 2] - t[..., 0]) * (t[..., 3] - t[..., 1])
    return t[..., 2] * t[..., 3]


def _inter_union(fn, boxes1, boxes2, fmt):
    t1 = _upcast(check_boxes(boxes1, fn, "boxes1", fmt=fmt))
    t2 = _upcast(check_boxes(boxes2, fn, "boxes2", fmt=fmt))
    if t1.ndim < 2 or t2.ndim < 2:
        raise ValueError(f"{fn}: boxes1 and boxes2 must have shape (..., N, 4) and "
                         f"(..., M, 4), got {tuple(t1.shape)} and {tuple(t2.shape)}")
    lt1, rb1 = _xyxy_from(t1, fmt)
    lt2, rb2 = _xyxy_from(t2, fmt)
    area1 = (rb1[..., 0] - lt1[..., 0]) * (rb1[..., 1] - lt1[..., 1]) if fmt == "xyxy" \
        else t1[..., 2] * t1[..., 3]
    area2 = (rb2[..., 0] - lt2[..., 0]) * (rb2[..., 1] - lt2[..., 1]) if fmt == "xyxy" \
        else t2[..., 2] * t2[..., 3]
    lt1, rb1 = _ops.unsqueeze(lt1, -2), _ops.unsqueeze(rb1, -2)      # (..., N, 1, 2)
    lt2, rb2 = _ops.unsqueeze(lt2, -3), _ops.unsqueeze(rb2, -3)      # (..., 1, M, 2)
    wh = _ops.clamp(_ops.minimum(rb1, rb2) - _ops.maximum(lt1, lt2), min=0)
    inter = wh[..., 0] * wh[..., 1]                                    # (..., N, M)
    union = _ops.unsqueeze(area1, -1) + _ops.unsqueeze(area2, -2) - inter
    return inter, union, (lt1, rb1, lt2, rb2)


def _true_div(a, b):
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":   # int / int -> float32, as torch
        a, b = _ops.astype(a, np.float32), _ops.astype(b, np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0/0 = NaN quietly, as torch
        return a / b


def box_iou(boxes1, boxes2, fmt: str = "xyxy"):
    """Pairwise IoU of ``(..., N, 4)`` and ``(..., M, 4)`` boxes -> ``(..., N, M)``."""
    _fmt(fmt, "box_iou")
    inter, union, _ = _inter_union("box_iou", boxes1, boxes2, fmt)
    return _true_div(inter, union)


def generalized_box_iou(boxes1, boxes2):
    """Pairwise generalized IoU of xyxy boxes -> ``(..., N, M)`` (see the module docstring)."""
    inter, union, (lt1, rb1, lt2, rb2) = _inter_union("generalized_box_iou", boxes1, boxes2,
                                                      "xyxy")
    iou = _true_div(inter, union)
    whc = _ops.clamp(_ops.maximum(rb1, rb2) - _ops.minimum(lt1, lt2), min=0)
    area_c = whc[..., 0] * whc[..., 1]
    return iou - _true_div(area_c - union, area_c)


def clip_boxes_to_image(boxes, size):
    """Clip xyxy boxes to an image of ``size = (height, width)`` (torchvision's argument order)."""
    t = check_boxes(boxes, "clip_boxes_to_image", "boxes")
    if len(size) != 2:
        raise ValueError(f"clip_boxes_to_image: size must be (height, width), got {size!r}")
    h, w = size
    x = _ops.clamp(t[..., 0::2], min=0, max=w)
    y = _ops.clamp(t[..., 1::2], min=0, max=h)
    return _ops.stack([x[..., 0], y[..., 0], x[..., 1], y[..., 1]], dim=-1)


# ---- non-maximum suppression ----------------------------------------------------------------
def _nms_args(fn, boxes, scores, iou_threshold):
    b = check_boxes(boxes, fn, "boxes", ndim=2)._data
    s = _as_tensor(scores, fn, "scores")._data
    if s.ndim != 1 or s.shape[0] != b.shape[0]:
        raise ValueError(f"{fn}: scores must have shape (N,) = ({b.shape[0]},) to match boxes "
                         f"{tuple(b.shape)}, got {tuple(s.shape)}")
    if s.dtype.kind not in "fiu":
        raise TypeError(f"{fn}: scores must hold numbers, got dtype {s.dtype}")
    if s.dtype.kind == "f" and not np.isfinite(s).all():
        i = int(np.argmax(~np.isfinite(s)))
        raise ValueError(f"{fn}: scores[{i}] = {s[i]} is not finite")
    if isinstance(iou_threshold, Tensor):
        iou_threshold = iou_threshold.item()
    if not isinstance(iou_threshold, numbers.Real) or isinstance(iou_threshold, bool) \
            or np.isnan(iou_threshold):
        raise TypeError(f"{fn}: iou_threshold must be a real number, got {iou_threshold!r}")
    return b, s, float(iou_threshold)


def nms(boxes, scores, iou_threshold: float):
    """Greedy non-maximum suppression: int64 indices of the kept boxes, by decreasing score.

    ``boxes`` (N, 4) xyxy, ``scores`` (N,). A box is dropped when a higher-scoring kept box
    overlaps it with IoU > ``iou_threshold`` (so threshold 1 keeps everything, and 0 drops
    every box that overlaps a kept one at all). Equal scores: the lower index comes first."""
    b, s, thr = _nms_args("nms", boxes, scores, iou_threshold)
    return _wrap(nms_indices(b, s, thr))


def batched_nms(boxes, scores, idxs, iou_threshold: float):
    """NMS within each category: boxes with different ``idxs`` never suppress each other.
    Returns int64 indices by decreasing score (equal scores: lower index first)."""
    b, s, thr = _nms_args("batched_nms", boxes, scores, iou_threshold)
    ids = _as_tensor(idxs, "batched_nms", "idxs")._data
    if ids.shape != (b.shape[0],):
        raise ValueError(f"batched_nms: idxs must have shape (N,) = ({b.shape[0]},) to match "
                         f"boxes {tuple(b.shape)}, got {tuple(ids.shape)}")
    if ids.size and ids.dtype.kind not in "iub":
        if ids.dtype.kind != "f" or not np.array_equal(ids, np.round(ids)):
            raise TypeError(f"batched_nms: idxs must be integer category ids, got dtype "
                            f"{ids.dtype}")
    return _wrap(nms_indices(b, s, thr, ids.astype(np.int64)))
