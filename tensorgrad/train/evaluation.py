"""Metrics by name, one pass over a loader without graphs (``evaluate``), and ``predict``."""
from __future__ import annotations

import contextlib

import numpy as np

from .. import metrics as _metrics
from ..autograd import no_grad
from ..tensor import Tensor, _wrap

__all__ = ["METRICS", "evaluate", "predict"]


def _acc(out, y):
    return _metrics.accuracy(y, _metrics.predict_labels(out))


def _err(out, y):
    return 1.0 - _acc(out, y)


def _macro(kind):
    def f(out, y):
        labels = _metrics.predict_labels(out)
        avg = "binary" if (out.ndim == 1 or out.shape[1] == 1) else "macro"
        return getattr(_metrics, kind)(y, labels, average=avg)
    f.__name__ = kind
    return f


METRICS = {"accuracy": _acc, "error": _err, "f1": _macro("f1_score"),
           "precision": _macro("precision"), "recall": _macro("recall")}
"""Metrics ``fit`` knows by name: each takes (outputs, targets) as numpy arrays. Class scores
(N, C) are argmaxed; (N,) or (N, 1) outputs are read as logits (positive means class 1)."""


def metric_fns(metrics, who="fit") -> dict:
    """``{name: f(outputs, targets) -> float}`` from names in ``METRICS``, callables, a list of
    either, or a ``{name: name_or_callable}`` dict."""
    if metrics is None:
        return {}
    if isinstance(metrics, str):
        metrics = [metrics]
    if isinstance(metrics, dict):
        items = list(metrics.items())
    else:
        items = []
        for m in metrics:
            if isinstance(m, str):
                items.append((m, m))
            elif callable(m):
                items.append((getattr(m, "__name__", "metric"), m))
            else:
                raise TypeError(f"{who}: a metric must be a name or a callable, got "
                                f"{type(m).__name__}")
    out = {}
    for name, m in items:
        if isinstance(m, str):
            if m not in METRICS:
                raise ValueError(f"{who}: unknown metric {m!r}; known: {sorted(METRICS)} (or "
                                 f"pass a callable f(outputs, targets) -> float)")
            m = METRICS[m]
        out[name] = m
    return out


def split_batch(batch, who="fit"):
    """``(inputs_tuple, target)`` from a ``(inputs..., target)`` batch."""
    if isinstance(batch, (tuple, list)):
        if len(batch) < 2:
            raise ValueError(f"{who}: a batch must be (inputs..., target), got {len(batch)} "
                             f"item(s)")
        return tuple(batch[:-1]), batch[-1]
    raise TypeError(f"{who}: expected batches of (inputs..., target) tuples, got "
                    f"{type(batch).__name__}")


def _np(t):
    return t._data if isinstance(t, Tensor) else np.asarray(t)


class EpochStats:
    """Running example-weighted mean loss of an epoch, plus the outputs and targets the
    metrics need (kept only when there are metrics)."""

    def __init__(self, fns):
        self.fns = fns
        self.total, self.count, self.outs, self.targets = 0.0, 0, [], []

    def add(self, loss_value, out, y):
        n = len(_np(y))
        self.total += loss_value * n
        self.count += n
        if self.fns:
            self.outs.append(np.array(_np(out), copy=True))
            self.targets.append(_np(y))

    def loss(self):
        return self.total / self.count

    def metrics(self) -> dict:
        if not self.fns:
            return {}
        o, t = np.concatenate(self.outs), np.concatenate(self.targets)
        return {name: float(f(o, t)) for name, f in self.fns.items()}


@contextlib.contextmanager
def eval_mode(model):
    """The model in eval mode and no graph recording inside; its train/eval mode restored
    after."""
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        with no_grad():
            yield
    finally:
        if was_training and hasattr(model, "train"):
            model.train()


def evaluate(model, loss_fn, loader, metrics=None) -> dict:
    """Average loss (weighted by batch size) and metrics over ``loader``, in eval mode and
    without building graphs. Returns ``{"loss": ..., name: ...}``; the model's train/eval
    mode is restored afterwards."""
    stats = EpochStats(metric_fns(metrics, "evaluate"))
    with eval_mode(model):
        for batch in loader:
            inputs, y = split_batch(batch, "evaluate")
            out = model(*inputs)
            stats.add(float(loss_fn(out, y).item()), out, y)
    if stats.count == 0:
        raise ValueError("evaluate: the loader gave no examples")
    return {"loss": stats.loss(), **stats.metrics()}


def predict(model, data, batch_size=256):
    """Model outputs (a Tensor) for a tensor of inputs or a loader of (inputs..., target)
    batches, in eval mode without graphs."""
    outs = []
    with eval_mode(model):
        if isinstance(data, (Tensor, np.ndarray)):
            arr = _np(data)
            for i in range(0, len(arr), batch_size):
                outs.append(_np(model(_wrap(arr[i:i + batch_size]))))
        else:
            for batch in data:
                inputs, _ = split_batch(batch, "predict")
                outs.append(_np(model(*inputs)))
    return _wrap(np.concatenate(outs))
