"""YOLO with anchor boxes: output decoding, the loss, post-processing and a small model.

Output volume. The network maps an image to ``(N, S, S, A, 5 + k)``: for every cell and
anchor the raw numbers ``(t_o, t_x, t_y, t_h, t_w, s_1 .. s_k)``, in the order of the target
vector ``(p_c, b_x, b_y, b_h, b_w, c_1 .. c_k)`` (see ``anchors``). Decoding (YOLOv2):

    p_c = sigmoid(t_o)                      objectness
    b_x = sigmoid(t_x), b_y = sigmoid(t_y)  the midpoint stays inside its cell
    b_w = anchor_w * exp(t_w), b_h = anchor_h * exp(t_h)   positive, relative to the anchor
    P(class | object) = softmax(s)

and the box in pixels is ``((col + b_x) * cell, (row + b_y) * cell)`` with size
``(b_w * cell, b_h * cell)``.

Loss (sum over the batch, divided by N), in the spirit of YOLOv1-v3: the course's per-cell
loss in its practical form, with logistic loss for p_c, cross-entropy for the class and
squared error for the box,

    L = λ_coord Σ_obj [(σ(t_x) - b_x)² + (σ(t_y) - b_y)²
                       + (t_w - log(b_w/a_w))² + (t_h - log(b_h/a_h))²]
      + Σ_obj BCE(t_o, 1) + λ_noobj Σ_noobj BCE(t_o, 0) + Σ_obj CE(s, class)

where "obj" are the (cell, anchor) slots an object was assigned to. With ``ignore_threshold``
(YOLOv3) a no-object slot whose predicted box already overlaps a ground-truth box with IoU
above it is left out of the no-object term: it is not punished for finding an object that
another slot is responsible for.

Prediction: score = p_c · max_c P(c | object) with its class as the label, drop scores at or
below ``score_threshold``, clip boxes to the image, then non-maximum suppression per class
(``batched_nms``) and keep the ``max_detections`` best.
"""
from __future__ import annotations

import time

import numpy as np

from ... import nn
from ... import ops as _ops
from ...autograd import no_grad
from ...nn import functional as F
from ...tensor import Tensor, _wrap
from ..ops import batched_nms, box_iou, clip_boxes_to_image
from .anchors import _wh, encode_targets, targets_to_boxes

__all__ = ["decode_outputs", "ignore_mask", "yolo_loss", "postprocess", "YOLO", "train_yolo"]


def _check_out(fn, outputs, anchors):
    if not isinstance(outputs, Tensor):
        outputs = _wrap(np.asarray(outputs))
    s = outputs.shape
    if len(s) != 5 or s[1] != s[2] or s[3] != len(anchors) or s[4] < 6:
        raise ValueError(f"{fn}: outputs must have shape (N, S, S, A, 5 + k) with A = "
                         f"{len(anchors)} anchors and k >= 1 classes, got {tuple(s)}")
    return outputs


def decode_outputs(outputs, anchors, image_size):
    """Raw outputs ``(N, S, S, A, 5 + k)`` -> (boxes ``(N, S, S, A, 4)`` xyxy pixels,
    objectness ``(N, S, S, A)``, class probabilities ``(N, S, S, A, k)``); differentiable."""
    anchors = _wh(anchors, "decode_outputs", "anchors")
    out = _check_out("decode_outputs", outputs, anchors)
    S = out.shape[1]
    cell = image_size / S
    dt = out.dtype
    cols = np.arange(S, dtype=dt)[None, None, :, None]
    rows = np.arange(S, dtype=dt)[None, :, None, None]
    cx = (_ops.sigmoid(out[..., 1]) + _wrap(cols)) * cell
    cy = (_ops.sigmoid(out[..., 2]) + _wrap(rows)) * cell
    h = _ops.exp(out[..., 3]) * _wrap((anchors[:, 1] * cell).astype(dt))
    w = _ops.exp(out[..., 4]) * _wrap((anchors[:, 0] * cell).astype(dt))
    boxes = _ops.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)
    return boxes, _ops.sigmoid(out[..., 0]), _ops.softmax(out[..., 5:], dim=-1)


def ignore_mask(outputs, targets, anchors, image_size, threshold):
    """Boolean ``(N, S, S, A)``: no-object slots whose predicted box has IoU > ``threshold``
    with some ground-truth box of the same image (YOLOv3's ignored predictions)."""
    with no_grad():
        boxes, _, _ = decode_outputs(_wrap(_np(outputs)), anchors, image_size)
    b = boxes.numpy()
    t = _np(targets)
    mask = np.zeros(t.shape[:4], bool)
    for n, (gt, _) in enumerate(targets_to_boxes(t, image_size)):
        if len(gt):
            best = box_iou(b[n].reshape(-1, 4), gt).numpy().max(1).reshape(t.shape[1:4])
            mask[n] = (best > threshold) & (t[n, ..., 0] < 0.5)
    return mask


def _np(x):
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def yolo_loss(outputs, targets, anchors, image_size=None, lambda_coord=5.0, lambda_noobj=0.5,
              ignore_threshold=None, reduction="mean"):
    """The YOLO loss of raw ``outputs`` against encoded ``targets`` (module docstring).

    ``reduction='mean'`` divides the sum by the number of images, 'sum' does not.
    ``ignore_threshold`` needs ``image_size``."""
    anchors = _wh(anchors, "yolo_loss", "anchors")
    out = _check_out("yolo_loss", outputs, anchors)
    t = _np(targets)
    if t.shape != out.shape:
        raise ValueError(f"yolo_loss: targets must have the outputs' shape {tuple(out.shape)}, "
                         f"got {t.shape}")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"yolo_loss: reduction must be 'mean' or 'sum', got {reduction!r}")
    dt = out.dtype
    obj = t[..., 0] > 0.5
    w_conf = np.where(obj, 1.0, lambda_noobj).astype(dt)
    if ignore_threshold is not None:
        if image_size is None:
            raise ValueError("yolo_loss: ignore_threshold needs image_size")
        w_conf[ignore_mask(out, t, anchors, image_size, ignore_threshold)] = 0
    conf = F.binary_cross_entropy_with_logits(out[..., 0], _wrap(obj.astype(dt)),
                                              weight=_wrap(w_conf), reduction="sum")
    total = conf
    if obj.any():
        pos = out[_wrap(obj)]                                 # (P, 5 + k)
        tp = t[obj]
        a_idx = np.nonzero(obj)[3]
        log_wh = np.log(np.maximum(tp[:, 3:5], 1e-9) / anchors[a_idx][:, ::-1])   # (h, w)
        xy = ((_ops.sigmoid(pos[:, 1:3]) - _wrap(tp[:, 1:3].astype(dt))) ** 2).sum()
        wh = ((pos[:, 3:5] - _wrap(log_wh.astype(dt))) ** 2).sum()
        cls = F.cross_entropy(pos[:, 5:], _wrap(tp[:, 5:].argmax(1)), reduction="sum")
        total = total + lambda_coord * (xy + wh) + cls
    return total / out.shape[0] if reduction == "mean" else total


def postprocess(outputs, anchors, image_size, score_threshold=0.3, iou_threshold=0.5,
                max_detections=100):
    """Detections per image from raw outputs: a list of ``(boxes (n, 4) xyxy pixels,
    scores (n,), labels (n,))`` Tensors, by decreasing score (module docstring)."""
    with no_grad():
        boxes, obj, prob = decode_outputs(_wrap(_np(outputs)), anchors, image_size)
        boxes = clip_boxes_to_image(boxes, (image_size, image_size)).numpy()
    prob = prob.numpy()
    score_all = obj.numpy()[..., None] * prob
    labels_all = score_all.argmax(-1)
    scores_all = score_all.max(-1)
    result = []
    for n in range(boxes.shape[0]):
        s = scores_all[n].reshape(-1)
        keep = np.flatnonzero(s > score_threshold)
        b, s, lab = boxes[n].reshape(-1, 4)[keep], s[keep], labels_all[n].reshape(-1)[keep]
        k = batched_nms(b, s, lab, iou_threshold).numpy()[:max_detections]
        result.append((_wrap(b[k]), _wrap(s[k]), _wrap(lab[k].astype(np.int64))))
    return result


class YOLO(nn.Module):
    """A small YOLO: a conv backbone that halves the resolution until the ``S x S`` grid, then a
    3x3 conv and a 1x1 conv head with ``A * (5 + k)`` channels.

    ``forward(images (N, 3, H, W))`` -> raw outputs ``(N, S, S, A, 5 + k)``;
    ``loss(outputs, targets)``; ``predict(images)`` -> per image ``(boxes, scores, labels)``.
    ``anchors`` are ``(A, 2)`` shapes in cell units (``kmeans_anchors``); they are a buffer,
    so ``state_dict`` carries them."""

    def __init__(self, num_classes, anchors, image_size=64, grid_size=8, width=16,
                 in_channels=3, score_threshold=0.3, iou_threshold=0.5, max_detections=100,
                 lambda_coord=5.0, lambda_noobj=0.5, ignore_threshold=0.5):
        super().__init__()
        anchors = _wh(anchors, "YOLO", "anchors")
        stages = int(round(np.log2(image_size / grid_size)))
        if stages < 0 or grid_size * 2 ** stages != image_size:
            raise ValueError(f"YOLO: image_size / grid_size must be a power of two, got "
                             f"{image_size} / {grid_size}")
        self.num_classes, self.image_size, self.grid_size = int(num_classes), image_size, \
            grid_size
        # a buffer: saved in state_dict, so loading weights also restores the anchors
        self.register_buffer("anchors", _wrap(anchors.copy()))
        self.score_threshold, self.iou_threshold = score_threshold, iou_threshold
        self.max_detections = max_detections
        self.loss_options = dict(lambda_coord=lambda_coord, lambda_noobj=lambda_noobj,
                                 ignore_threshold=ignore_threshold)
        layers, c = [], in_channels
        for i in range(stages):
            c_out = width * 2 ** i
            layers += [nn.Conv2d(c, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                       nn.LeakyReLU(0.1), nn.MaxPool2d(2)]
            c = c_out
        c_out = max(c * 2, width)
        layers += [nn.Conv2d(c, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                   nn.LeakyReLU(0.1)]
        self.backbone = nn.Sequential(*layers)
        self.head = nn.Conv2d(c_out, len(anchors) * (5 + self.num_classes), 1)

    def forward(self, x):
        if x.ndim != 4 or x.shape[2:] != (self.image_size, self.image_size):
            raise ValueError(f"YOLO: expected images (N, C, {self.image_size}, "
                             f"{self.image_size}), got {tuple(x.shape)}")
        y = self.head(self.backbone(x))                       # (N, A * (5 + k), S, S)
        N, S, A = y.shape[0], self.grid_size, len(self.anchors)
        return y.reshape(N, A, 5 + self.num_classes, S, S).permute(0, 3, 4, 1, 2)

    def encode(self, boxes, labels):
        """Targets ``(N, S, S, A, 5 + k)`` for lists of per-image boxes and labels."""
        return encode_targets(boxes, labels, self.anchors, self.num_classes, self.image_size,
                              self.grid_size)

    def loss(self, outputs, targets):
        return yolo_loss(outputs, targets, self.anchors, self.image_size, **self.loss_options)

    def predict(self, images, score_threshold=None, iou_threshold=None, max_detections=None):
        """Detections for each image: a list of ``(boxes, scores, labels)`` (eval mode, no
        graph; a single ``(C, H, W)`` image gives a list of one)."""
        x = images if isinstance(images, Tensor) else _wrap(np.asarray(images, np.float32))
        if x.ndim == 3:
            x = x.reshape(1, *x.shape)
        was = self.training
        self.eval()
        try:
            with no_grad():
                out = self(x)
        finally:
            self.train(was)
        return postprocess(out, self.anchors, self.image_size,
                           self.score_threshold if score_threshold is None else score_threshold,
                           self.iou_threshold if iou_threshold is None else iou_threshold,
                           self.max_detections if max_detections is None else max_detections)


def train_yolo(model, images, boxes, labels, epochs=20, batch_size=32, lr=3e-3, seed=0,
               progress=True, callback=None):
    """Train ``model`` (a ``YOLO``) with Adam and a cosine learning-rate decay to lr/20.

    ``callback(epoch, model, seconds)`` runs after each epoch (e.g. to measure mAP on held-out
    images); its time is not counted. Returns ``{"epoch", "loss", "lr", "seconds"}`` lists
    (mean training loss of each epoch, cumulative training seconds)."""
    from ... import optim
    from ...data import DataLoader, TensorDataset
    targets = model.encode(boxes, labels)
    loader = DataLoader(TensorDataset(_np(images).astype(np.float32), targets),
                        batch_size=batch_size, shuffle=True, seed=seed)
    opt = optim.Adam(model.parameters(), lr=lr)
    sched = optim.lr_scheduler.LambdaLR(
        opt, lambda e: 0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * min(e, epochs) / epochs)))
    hist = {"epoch": [], "loss": [], "lr": [], "seconds": []}
    epochs_iter = range(1, epochs + 1)
    if progress:
        from tqdm.auto import tqdm
        epochs_iter = tqdm(epochs_iter, desc="train_yolo", unit="epoch")
    spent = 0.0
    for epoch in epochs_iter:
        t0 = time.perf_counter()
        model.train()
        total, count = 0.0, 0
        for x, y in loader:
            opt.zero_grad()
            loss = model.loss(model(x), y)
            loss.backward()
            opt.step()
            total += loss.item() * x.shape[0]
            count += x.shape[0]
        hist["lr"].append(opt.param_groups[0]["lr"])
        sched.step()
        spent += time.perf_counter() - t0
        hist["epoch"].append(epoch)
        hist["loss"].append(total / count)
        hist["seconds"].append(spent)
        if progress:
            epochs_iter.set_postfix(loss=f"{total / count:.3f}")
        if callback is not None:
            callback(epoch, model, spent)
    return hist
