"""A seeded synthetic detection dataset: coloured shapes on a noisy background, with boxes.

Each image holds ``min_objects .. max_objects`` objects. An object's class is its shape
(rectangle, ellipse, triangle, and a plus sign when ``num_classes=4``); its colour is drawn from
a palette independently of the class, so colour says nothing about the class; its width and
height are drawn independently (so boxes have many aspect ratios, which is what anchor boxes
are for). Objects may overlap: a new object is placed where its box has IoU at most
``max_overlap`` with every earlier box and covers at most ``max_cover`` of the smaller box, and
is painted over what is already there (later objects occlude earlier ones). Boxes are the
full extent of each shape in pixel ``(x1, y1, x2, y2)`` coordinates (integers, so a box covers
whole pixels), occluded or not.

The generator is a pure function of its arguments (numpy ``default_rng(seed)``): the same seed
gives the same images. Use different seeds for the training and held-out splits.
"""
from __future__ import annotations

import numpy as np

from ...data.dataset import Dataset
from ...tensor import _wrap
from ..ops import box_area, box_iou

__all__ = ["SyntheticShapes", "SHAPE_NAMES", "PALETTE"]

SHAPE_NAMES = ("rectangle", "ellipse", "triangle", "plus")
PALETTE = np.array([[0.95, 0.25, 0.2], [0.2, 0.8, 0.3], [0.25, 0.45, 0.95], [0.95, 0.85, 0.2],
                    [0.85, 0.3, 0.9], [0.2, 0.85, 0.9]], np.float32)


def _mask(kind, h, w):
    """Boolean (h, w) mask of a shape filling an h x w box (sampled at pixel centres)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u = (xx + 0.5) / w           # 0..1 across the box
    v = (yy + 0.5) / h
    if kind == 0:                # rectangle
        return np.ones((h, w), bool)
    if kind == 1:                # ellipse inscribed in the box
        return (u - 0.5) ** 2 + (v - 0.5) ** 2 <= 0.25
    if kind == 2:                # triangle: apex at the top centre, base along the bottom
        return np.abs(u - 0.5) <= 0.5 * v + 0.5 / w
    arm = 0.34                   # plus sign: a horizontal and a vertical bar
    return (np.abs(u - 0.5) <= arm / 2) | (np.abs(v - 0.5) <= arm / 2)


def _iou_and_cover(box, boxes):
    """IoU of ``box`` with each of ``boxes`` and the share of the smaller box they overlap."""
    if len(boxes) == 0:
        return np.zeros(0), np.zeros(0)
    b = np.asarray(boxes, np.float64)
    iou = box_iou(box[None], b).numpy()[0]
    a0, a = box_area(box).item(), box_area(b).numpy()
    inter = iou * (a0 + a) / (1 + iou)          # from IoU = I / (A0 + A - I)
    return iou, inter / np.minimum(a0, a)


class SyntheticShapes(Dataset):
    """``n`` images ``(3, image_size, image_size)`` (float32 in [0, 1]) with their boxes.

    ``ds[i]`` is ``(image, {"boxes": (k, 4) float32 xyxy, "labels": (k,) int64})``, as
    torchvision's detection datasets give. ``ds.images`` (numpy ``(n, 3, H, W)``),
    ``ds.boxes`` and ``ds.labels`` (lists of numpy arrays) hold everything at once;
    ``ds.class_names`` names the labels."""

    def __init__(self, n, image_size=64, num_classes=3, min_objects=1, max_objects=4,
                 min_size=10, max_size=28, max_overlap=0.3, max_cover=0.5, noise=0.06,
                 seed=0):
        if not 1 <= num_classes <= len(SHAPE_NAMES):
            raise ValueError(f"SyntheticShapes: num_classes must be 1..{len(SHAPE_NAMES)}, got "
                             f"{num_classes}")
        if not 0 <= min_objects <= max_objects:
            raise ValueError(f"SyntheticShapes: need 0 <= min_objects <= max_objects, got "
                             f"{min_objects}, {max_objects}")
        if not 2 <= min_size <= max_size <= image_size:
            raise ValueError(f"SyntheticShapes: need 2 <= min_size <= max_size <= image_size, "
                             f"got {min_size}, {max_size}, {image_size}")
        if int(n) != n or n < 0:
            raise ValueError(f"SyntheticShapes: n must be a non-negative integer, got {n!r}")
        self.n, self.image_size, self.num_classes = int(n), int(image_size), int(num_classes)
        self.class_names = SHAPE_NAMES[:num_classes]
        rng = np.random.default_rng(seed)
        S = self.image_size
        self.images = np.empty((self.n, 3, S, S), np.float32)
        self.boxes, self.labels = [], []
        for i in range(self.n):
            base = rng.uniform(0.0, 0.25, size=3).astype(np.float32)
            img = np.broadcast_to(base[:, None, None], (3, S, S)).copy()
            grad = rng.uniform(-0.1, 0.1) * np.linspace(0, 1, S, dtype=np.float32)
            img += grad[None, None, :]
            boxes, labels = [], []
            want = rng.integers(min_objects, max_objects + 1)
            tries = 0
            while len(boxes) < want and tries < 50:
                tries += 1
                w, h = rng.integers(min_size, max_size + 1, size=2)
                x1, y1 = rng.integers(0, S - w + 1), rng.integers(0, S - h + 1)
                box = np.array([x1, y1, x1 + w, y1 + h], np.float64)
                iou, cover = _iou_and_cover(box, boxes)
                if len(boxes) and (iou.max() > max_overlap or cover.max() > max_cover):
                    continue
                kind = int(rng.integers(0, num_classes))
                colour = PALETTE[rng.integers(0, len(PALETTE))] * rng.uniform(0.8, 1.0)
                m = _mask(kind, h, w)
                region = img[:, y1:y1 + h, x1:x1 + w]
                region[:, m] = colour[:, None]
                boxes.append(box)
                labels.append(kind)
            img += rng.normal(0, noise, size=img.shape).astype(np.float32)
            self.images[i] = np.clip(img, 0, 1)
            self.boxes.append(np.asarray(boxes, np.float32).reshape(-1, 4))
            self.labels.append(np.asarray(labels, np.int64))

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not -self.n <= i < self.n:
            raise IndexError(f"SyntheticShapes: index {i} out of range for {self.n} images")
        return (_wrap(self.images[i]),
                {"boxes": _wrap(self.boxes[i]), "labels": _wrap(self.labels[i])})

    def __repr__(self):
        return (f"SyntheticShapes(n={self.n}, image_size={self.image_size}, "
                f"classes={list(self.class_names)}, objects={sum(map(len, self.labels))})")
