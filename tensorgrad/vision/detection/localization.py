"""Classification with localization and landmark detection (course chapter 8.12.1).

Classification with localization: besides the class, the network outputs a bounding box.
With the image's top-left corner at (0, 0) and its bottom-right corner at (1, 1), the label of
an image is the vector

    y = (p_c, b_x, b_y, b_h, b_w, c_1, ..., c_k)

where ``p_c`` is 1 if the image holds an object of one of the k classes (0 for background),
``(b_x, b_y)`` is the box's midpoint and ``b_h, b_w`` its height and width (fractions of the
image), and ``c_1 .. c_k`` is the one-hot class. When ``p_c = 0`` the other entries are
"don't care". The loss of the course is squared error, over all entries when there is an object
and over ``p_c`` alone when there is none:

    L(ŷ, y) = Σ_i (ŷ_i - y_i)²   if y_1 = 1,        (ŷ_1 - y_1)²   if y_1 = 0.

In practice one uses a logistic loss for ``p_c`` (``ŷ_1`` a logit), cross-entropy for the class
(``ŷ_6..`` logits) and squared error for the box (``localization_loss_practical``).

Landmark detection: the network regresses K points ``(ℓ_x, ℓ_y)`` (e.g. corners of the eyes and
mouth), in the same normalised coordinates, plus a logit saying whether the object (a face) is
there at all: ``1 + 2K`` outputs. Its loss (``landmark_loss``) is the logistic loss of the
presence plus the squared error of the points where the object is present.
"""
from __future__ import annotations

import numpy as np

from ... import nn
from ... import ops as _ops
from ...nn import functional as F
from ...ops._util import as_tensor_arg as _t, reduce_loss as _reduce
from ...tensor import Tensor, _wrap
from ..ops import check_boxes

__all__ = ["localization_target", "localization_loss", "localization_loss_practical",
           "LocalizationHead", "LandmarkHead", "landmark_target", "landmark_loss"]


def localization_target(boxes, labels, num_classes, image_size):
    """Target vectors ``(N, 5 + k)`` (float32) for N images with at most one object each.

    ``boxes``: per image a ``(4,)`` xyxy pixel box or None (no object); ``labels``: per image
    the class (ignored where the box is None). ``image_size``: ``(height, width)`` or an int."""
    H, W = (image_size, image_size) if np.isscalar(image_size) else image_size
    if len(boxes) != len(labels):
        raise ValueError(f"localization_target: {len(boxes)} boxes but {len(labels)} labels")
    y = np.zeros((len(boxes), 5 + int(num_classes)), np.float32)
    for i, (b, c) in enumerate(zip(boxes, labels)):
        if b is None:
            continue
        b = check_boxes(np.asarray(b, np.float64).reshape(1, 4), "localization_target",
                        f"boxes[{i}]")._data[0]
        if not 0 <= int(c) < num_classes:
            raise ValueError(f"localization_target: labels[{i}] = {c} is not in "
                             f"0..{num_classes - 1}")
        y[i, :5] = [1, (b[0] + b[2]) / 2 / W, (b[1] + b[3]) / 2 / H, (b[3] - b[1]) / H,
                    (b[2] - b[0]) / W]
        y[i, 5 + int(c)] = 1
    return y


def _pair(fn, out, target, min_width=6):
    out = _t(out, fn, "input")
    target = _t(target, fn, "target")
    if out.ndim != 2 or out.shape[1] < min_width or target.shape != out.shape:
        raise ValueError(f"{fn}: input and target must both have shape (N, 5 + k) with k >= 1, "
                         f"got {tuple(out.shape)} and {tuple(target.shape)}")
    return out, target


def localization_loss(input, target, reduction="mean"):
    """The course's loss: per example Σ_i (ŷ_i - y_i)² if p_c = 1 else (ŷ_1 - y_1)²."""
    out, y = _pair("localization_loss", input, target)
    sq = (out - y) ** 2
    has = y._data[:, 0:1] > 0.5
    per = (sq * _wrap(np.where(has, 1.0, 0.0).astype(sq.dtype))).sum(1) \
        + sq[:, 0] * _wrap((~has[:, 0]).astype(sq.dtype))
    return _reduce(per, reduction, "localization_loss")


def localization_loss_practical(input, target, box_weight=1.0, reduction="mean"):
    """Logistic loss on ``p_c`` (input[:, 0] a logit) for every example; for examples with an
    object, ``box_weight`` × squared error of the box (input[:, 1:5]) plus cross-entropy of the
    class logits (input[:, 5:])."""
    out, y = _pair("localization_loss_practical", input, target)
    yd = y._data
    has = yd[:, 0] > 0.5
    per = F.binary_cross_entropy_with_logits(out[:, 0], y[:, 0], reduction="none")
    if has.any():
        box = ((out[:, 1:5] - y[:, 1:5]) ** 2).sum(1)
        logp = _ops.log_softmax(out[:, 5:], dim=1)
        ce = -(logp * y[:, 5:]).sum(1)                   # one-hot target: -log p(class)
        per = per + (box_weight * box + ce) * _wrap(has.astype(out.dtype))
    return _reduce(per, reduction, "localization_loss_practical")


class LocalizationHead(nn.Module):
    """``Linear(in_features, 5 + num_classes)``: the p_c logit, the box and class logits."""

    def __init__(self, in_features, num_classes):
        super().__init__()
        self.num_classes = int(num_classes)
        self.fc = nn.Linear(in_features, 5 + self.num_classes)

    def forward(self, features):
        return self.fc(features)

    @staticmethod
    def decode(output):
        """(p_c probability, box (N, 4) as (b_x, b_y, b_h, b_w), class index) as numpy."""
        o = output._data if isinstance(output, Tensor) else np.asarray(output)
        return 1 / (1 + np.exp(-o[:, 0])), o[:, 1:5], o[:, 5:].argmax(1)


class LandmarkHead(nn.Module):
    """``Linear(in_features, 1 + 2 * num_landmarks)``: a presence logit then ``(x, y)`` pairs.

    ``points(output)`` gives the ``(N, K, 2)`` landmarks."""

    def __init__(self, in_features, num_landmarks):
        super().__init__()
        self.num_landmarks = int(num_landmarks)
        self.fc = nn.Linear(in_features, 1 + 2 * self.num_landmarks)

    def forward(self, features):
        return self.fc(features)

    def points(self, output):
        return output[:, 1:].reshape(output.shape[0], self.num_landmarks, 2)


def landmark_target(points, present=None, image_size=1.0):
    """Targets ``(N, 1 + 2K)``: presence then the points divided by ``image_size``
    (``(height, width)`` or a number); ``points`` ``(N, K, 2)`` in ``(x, y)`` pixels."""
    p = np.asarray(points._data if isinstance(points, Tensor) else points, np.float64)
    if p.ndim != 3 or p.shape[2] != 2:
        raise ValueError(f"landmark_target: points must have shape (N, K, 2), got {p.shape}")
    H, W = (image_size, image_size) if np.isscalar(image_size) else image_size
    pres = np.ones(len(p)) if present is None else np.asarray(present, np.float64).reshape(-1)
    if pres.shape != (len(p),):
        raise ValueError(f"landmark_target: present must have one flag per image ({len(p)}), "
                         f"got shape {pres.shape}")
    q = p / np.array([W, H])
    q[pres < 0.5] = 0
    return np.concatenate([pres[:, None], q.reshape(len(p), -1)], 1).astype(np.float32)


def landmark_loss(input, target, reduction="mean"):
    """Logistic loss on the presence logit plus, where present, the sum of squared errors of
    the ``2K`` landmark coordinates."""
    out = _t(input, "landmark_loss", "input")
    y = _t(target, "landmark_loss", "target")
    if out.ndim != 2 or out.shape[1] < 3 or out.shape[1] % 2 != 1 or y.shape != out.shape:
        raise ValueError(f"landmark_loss: input and target must both have shape (N, 1 + 2K), got "
                         f"{tuple(out.shape)} and {tuple(y.shape)}")
    per = F.binary_cross_entropy_with_logits(out[:, 0], y[:, 0], reduction="none")
    has = _wrap((y._data[:, 0] > 0.5).astype(out.dtype))
    per = per + ((out[:, 1:] - y[:, 1:]) ** 2).sum(1) * has
    return _reduce(per, reduction, "landmark_loss")
