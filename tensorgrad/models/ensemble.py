"""**tg** Test-time tricks for benchmarks: ensembles and multi-crop evaluation.

* An **ensemble** trains several networks independently and averages their predicted class
  probabilities; their errors are partly independent, so the average is usually more accurate
  than any member — at the price of running every member at test time.
* **Multi-crop** evaluation runs one network on several crops of each test image and averages
  the probabilities: 10-crop uses the four corner crops and the central crop of the image and
  of its mirror image (Krizhevsky et al. 2012), again multiplying the test-time cost.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..autograd.grad_mode import no_grad
from ..ops import softmax, stack
from ..tensor import Tensor, _wrap

__all__ = ["Ensemble", "predict_proba", "multi_crop_predict"]


class Ensemble(nn.Module):
    """Average the members' predictions: ``average="prob"`` (softmax probabilities, the
    default; the output is then probabilities) or ``"logits"``. Members are registered as
    ``models.0``, ``models.1``, ... so the ensemble saves and loads as one state dict."""

    def __init__(self, models, average="prob"):
        super().__init__()
        models = list(models)
        if not models:
            raise ValueError("Ensemble: needs at least one model")
        if average not in ("prob", "logits"):
            raise ValueError(f"Ensemble: average must be 'prob' or 'logits', got {average!r}")
        self.models = nn.ModuleList(models)
        self.average = average

    def forward(self, x):
        outs = []
        for m in self.models:
            o = m(x)
            outs.append(softmax(o, dim=1) if self.average == "prob" else o)
        return stack(outs, 0).mean(dim=0)

    def extra_repr(self):
        return f"average={self.average!r}"


def predict_proba(model, X, batch_size=256):
    """Class probabilities of ``model`` on ``X`` (eval mode, no graph, in batches) as a numpy
    array (N, num_classes). An ``Ensemble(average="prob")`` already returns probabilities."""
    arr = X._data if isinstance(X, Tensor) else np.asarray(X)
    was = model.training
    model.eval()
    outs = []
    try:
        with no_grad():
            for i in range(0, len(arr), int(batch_size)):
                o = model(_wrap(arr[i:i + int(batch_size)]))
                if not (isinstance(model, Ensemble) and model.average == "prob"):
                    o = softmax(o, dim=1)
                outs.append(np.array(o._data, copy=True))
    finally:
        model.train(was)
    return np.concatenate(outs)


def multi_crop_predict(model, X, size, crops=10, batch_size=256):
    """Average ``model``'s class probabilities over ``crops`` (5: corners + center; 10: the
    same on the mirror image too) crops of ``size`` of every image of ``X`` (N, C, H, W).
    Returns a numpy array (N, num_classes)."""
    from ..vision.transforms import functional as VF
    if crops not in (5, 10):
        raise ValueError(f"multi_crop_predict: crops must be 5 or 10, got {crops}")
    arr = X._data if isinstance(X, Tensor) else np.asarray(X)
    if arr.ndim != 4:
        raise ValueError(f"multi_crop_predict: expected a batch of images (N, C, H, W), got "
                         f"shape {arr.shape}")
    views = VF.ten_crop(arr, size) if crops == 10 else VF.five_crop(arr, size)
    probs = [predict_proba(model, v, batch_size) for v in views]
    return np.mean(probs, axis=0)
