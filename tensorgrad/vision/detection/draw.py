"""Drawing detections with matplotlib (optional extra ``plot``: ``pip install matplotlib``).

``draw_detections(image, boxes, scores, labels)`` shows an image with its boxes, each labelled
with its class name and score; ``draw_nms(image, boxes, scores, labels)`` puts the raw boxes and
the boxes that survive per-class non-maximum suppression side by side. The arguments come in
the order of a detector's output, so ``draw_detections(image, *model.predict(image)[0])``
works; for ground truth pass ``labels=`` by name.
"""
from __future__ import annotations

import numpy as np

from ...tensor import Tensor
from ..ops import batched_nms, check_boxes

__all__ = ["draw_detections", "draw_nms", "CLASS_COLOURS"]

CLASS_COLOURS = ("#ff4b4b", "#4bd36b", "#4b8bff", "#ffd23f", "#e15fff", "#3fe0e6", "#ff9f40",
                 "#ffffff")


def _plt():
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("drawing detections needs matplotlib: pip install matplotlib "
                          "(or tensorgrad[plot])") from None
    return plt


def _np(x):
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _hwc(image):
    """An image as (H, W, 3) or (H, W) for imshow; (C, H, W) tensors are transposed."""
    a = _np(image).astype(np.float32)
    if a.ndim == 3 and a.shape[0] in (1, 3):
        a = a.transpose(1, 2, 0)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3):
        raise ValueError(f"draw_detections: image must be (C, H, W), (H, W, C) or (H, W), got "
                         f"{_np(image).shape}")
    return np.clip(a, 0, 1)


def draw_detections(image, boxes, scores=None, labels=None, class_names=None, ax=None,
                    title=None, linewidth=1.5, fontsize=7, colours=CLASS_COLOURS):
    """Draw ``boxes`` (xyxy pixels) on ``image``; returns the matplotlib Axes."""
    plt = _plt()
    b = check_boxes(_np(boxes).reshape(-1, 4), "draw_detections", "boxes")._data
    lab = None if labels is None else _np(labels).reshape(-1).astype(int)
    sc = None if scores is None else _np(scores).reshape(-1)
    for name, v in (("labels", lab), ("scores", sc)):
        if v is not None and len(v) != len(b):
            raise ValueError(f"draw_detections: {len(b)} boxes but {len(v)} {name}")
    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3))
    img = _hwc(image)
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, interpolation="nearest")
    for i, (x1, y1, x2, y2) in enumerate(b):
        c = colours[(lab[i] if lab is not None else 0) % len(colours)]
        ax.add_patch(plt.Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False,
                                   edgecolor=c, linewidth=linewidth))
        text = []
        if lab is not None:
            text.append(class_names[lab[i]] if class_names is not None else str(lab[i]))
        if sc is not None:
            text.append(f"{sc[i]:.2f}")
        if text:
            ax.text(x1 - 0.5, y1 - 1.0, " ".join(text), color="black", fontsize=fontsize,
                    va="bottom", bbox=dict(facecolor=c, alpha=0.8, pad=0.5, linewidth=0))
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=fontsize + 2)
    return ax


def draw_nms(image, boxes, scores, labels=None, iou_threshold=0.5, class_names=None,
             axes=None):
    """Two panels: every box, and the boxes kept by per-class NMS at ``iou_threshold``.
    Returns the two Axes."""
    plt = _plt()
    b, s = _np(boxes).reshape(-1, 4), _np(scores).reshape(-1)
    lab = np.zeros(len(b), np.int64) if labels is None else _np(labels).reshape(-1)
    keep = batched_nms(b, s, lab, iou_threshold).numpy()
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(6, 3))
    draw_detections(image, b, s, None if labels is None else lab, class_names, ax=axes[0],
                    title=f"before NMS: {len(b)} boxes", linewidth=0.8)
    draw_detections(image, b[keep], s[keep], None if labels is None else lab[keep], class_names,
                    ax=axes[1], title=f"after NMS (IoU > {iou_threshold}): {len(keep)}")
    return axes
