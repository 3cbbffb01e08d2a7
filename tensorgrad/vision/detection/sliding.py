"""Sliding-window detection and its convolutional implementation (course chapter 8.12.1;
OverFeat, Sermanet et al. 2014).

Sliding windows: crop every ``window x window`` region of the image at some stride and run a
classifier trained on closely cropped objects on each crop. Simple, but each crop repeats
almost all the work of its neighbours.

Convolutional implementation: a fully connected layer that reads a ``C x 5 x 5`` volume is the
same linear map as a convolution with ``5 x 5 x C`` filters (one filter per output unit), and a
fully connected layer after that is a ``1 x 1`` convolution. Rewritten so, the classifier
accepts any larger image, and one pass gives a grid of outputs in which entry ``(i, j)`` is the
classifier's output on the window at ``(i * s, j * s)``, where ``s`` is the product of the
network's strides (2 here: one 2 x 2 max pool). The windows share every computation they have
in common.

``WindowClassifier`` is the course's network: a 14 x 14 x 3 input, 16 filters 5 x 5, 2 x 2 max
pooling (-> 16 x 5 x 5), two fully connected layers of 400 units and a k-way output.
``to_convolutional`` copies its weights into the convolutional form.
"""
from __future__ import annotations

import copy

import numpy as np

from ... import nn
from ...autograd import no_grad
from ...tensor import Tensor, _wrap
from ..ops import batched_nms

__all__ = ["WindowClassifier", "to_convolutional", "sliding_windows", "sliding_window_outputs",
           "window_detections"]


class WindowClassifier(nn.Module):
    """Classifier of ``window x window`` crops (default the course's 14 x 14 x 3 -> k)."""

    def __init__(self, num_classes, in_channels=3, window=14, channels=16, hidden=400, kernel=5):
        super().__init__()
        side = (window - kernel + 1) // 2
        if side < 1 or (window - kernel + 1) % 2:
            raise ValueError(f"WindowClassifier: window {window} with a {kernel}x{kernel} conv "
                             f"must leave an even side for the 2x2 pool")
        self.window, self.stride, self.side = window, 2, side
        self.features = nn.Sequential(nn.Conv2d(in_channels, channels, kernel), nn.ReLU(),
                                      nn.MaxPool2d(2))
        self.fc1 = nn.Linear(channels * side * side, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, num_classes)
        self.relu = nn.ReLU()

    def forward(self, x):
        if x.ndim != 4 or x.shape[2:] != (self.window, self.window):
            raise ValueError(f"WindowClassifier: expected crops (N, C, {self.window}, "
                             f"{self.window}), got {tuple(x.shape)}; use to_convolutional(...) "
                             f"for larger images")
        h = self.features(x).flatten(1)
        return self.fc3(self.relu(self.fc2(self.relu(self.fc1(h)))))


def to_convolutional(classifier):
    """The same network with its FC layers as ``side x side`` and ``1 x 1`` convolutions.

    On a window-sized input it gives the classifier's output as ``(N, k, 1, 1)``; on a larger
    image ``(N, k, H', W')``, one output per window at stride ``classifier.stride``."""
    if not isinstance(classifier, WindowClassifier):
        raise TypeError(f"to_convolutional: expected a WindowClassifier, got "
                        f"{type(classifier).__name__}")
    c = classifier
    side = c.side
    ch = c.fc1.weight.shape[1] // (side * side)
    conv1 = nn.Conv2d(ch, c.fc1.weight.shape[0], side)
    conv2 = nn.Conv2d(c.fc2.weight.shape[1], c.fc2.weight.shape[0], 1)
    conv3 = nn.Conv2d(c.fc3.weight.shape[1], c.fc3.weight.shape[0], 1)
    net = nn.Sequential(*copy.deepcopy(c.features), conv1, nn.ReLU(), conv2, nn.ReLU(), conv3)
    if c.fc1.weight.dtype == np.float64:
        net.double()
    with no_grad():
        for conv, fc in ((conv1, c.fc1), (conv2, c.fc2), (conv3, c.fc3)):
            # flatten(1) ordered the features (channel, row, col): the conv weight's own layout
            conv.weight.copy_(fc.weight.reshape(*conv.weight.shape))
            conv.bias.copy_(fc.bias)
    net.window, net.stride = c.window, c.stride
    return net


def _images(x, fn):
    a = x if isinstance(x, Tensor) else _wrap(np.asarray(x))
    if a.ndim == 3:
        a = a.reshape(1, *a.shape)
    if a.ndim != 4:
        raise ValueError(f"{fn}: expected images (N, C, H, W) or one (C, H, W), got "
                         f"{tuple(a.shape)}")
    return a


def sliding_windows(images, window, stride):
    """All ``window x window`` crops at ``stride``: ``(N * nh * nw, C, window, window)`` in
    (image, row, col) order, and the grid size ``(nh, nw)``."""
    x = _images(images, "sliding_windows")
    N, C, H, W = x.shape
    if window > min(H, W):
        raise ValueError(f"sliding_windows: window {window} is larger than the image {H}x{W}")
    nh, nw = (H - window) // stride + 1, (W - window) // stride + 1
    crops = [x[:, :, i * stride:i * stride + window, j * stride:j * stride + window]
             for i in range(nh) for j in range(nw)]
    from ... import ops as _ops
    out = _ops.stack(crops, dim=1)                           # (N, nh * nw, C, w, w)
    return out.reshape(N * nh * nw, C, window, window), (nh, nw)


def sliding_window_outputs(classifier, images, stride=None, batch_size=512):
    """Run ``classifier`` on every window, one crop at a time in batches (the slow way):
    ``(N, k, nh, nw)``, laid out like the convolutional version's output."""
    x = _images(images, "sliding_window_outputs")
    stride = classifier.stride if stride is None else stride
    crops, (nh, nw) = sliding_windows(x, classifier.window, stride)
    from ... import ops as _ops
    outs = [classifier(crops[i:i + batch_size]) for i in range(0, crops.shape[0], batch_size)]
    y = _ops.cat(outs, 0) if len(outs) > 1 else outs[0]
    return y.reshape(x.shape[0], nh, nw, -1).permute(0, 3, 1, 2)


def window_detections(outputs, window, stride, background=0, score_threshold=0.5,
                      iou_threshold=None):
    """Detections from per-window logits ``(N, k, nh, nw)`` (class ``background`` = no object):
    per image ``(boxes (n, 4) xyxy, scores, labels)``. A window becomes a box when its best
    non-background class probability exceeds ``score_threshold``; with ``iou_threshold``
    overlapping windows then go through per-class NMS."""
    o = outputs._data if isinstance(outputs, Tensor) else np.asarray(outputs)
    if o.ndim != 4:
        raise ValueError(f"window_detections: outputs must be (N, k, nh, nw), got {o.shape}")
    e = np.exp(o - o.max(1, keepdims=True))
    p = e / e.sum(1, keepdims=True)
    p[:, background] = 0
    res = []
    for n in range(o.shape[0]):
        lab = p[n].argmax(0)
        sc = p[n].max(0)
        i, j = np.nonzero(sc > score_threshold)
        boxes = np.stack([j * stride, i * stride, j * stride + window, i * stride + window],
                         1).astype(np.float32).reshape(-1, 4)
        s, lb = sc[i, j].astype(np.float32), lab[i, j].astype(np.int64)
        if iou_threshold is not None and len(s):
            k = batched_nms(boxes, s, lb, iou_threshold).numpy()
        else:
            k = np.argsort(-s, kind="stable")
        res.append((_wrap(boxes[k]), _wrap(s[k]), _wrap(lb[k])))
    return res
