"""Classification metrics (§7.2, docs/maths.md): accuracy, precision, recall, F1, confusion
matrix and the weighted error that lets some mistakes cost more than others.

Inputs are labels (Tensors, numpy arrays or lists). ``from_logits`` helpers turn model outputs
into labels first."""
from __future__ import annotations

import numpy as np

from .tensor import Tensor

__all__ = ["accuracy", "error_rate", "precision", "recall", "f1_score",
           "precision_recall_f1", "confusion_matrix", "weighted_error", "predict_labels",
           "classification_report"]


def _labels(x, name, op):
    a = x._data if isinstance(x, Tensor) else np.asarray(x)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise ValueError(f"{op}: {name} must be a 1-D array of labels, got shape {a.shape} "
                         f"(turn scores into labels with metrics.predict_labels)")
    return a


def _pair(y_true, y_pred, op):
    t = _labels(y_true, "y_true", op)
    p = _labels(y_pred, "y_pred", op)
    if t.shape != p.shape:
        raise ValueError(f"{op}: y_true has {t.shape[0]} labels, y_pred has {p.shape[0]}")
    if t.size == 0:
        raise ValueError(f"{op}: got no examples")
    return t, p


def predict_labels(outputs, threshold=0.0):
    """Labels from model outputs: argmax over classes for (N, C>1) scores, ``output > threshold``
    for (N,) or (N, 1) outputs (threshold 0 for logits, 0.5 for probabilities)."""
    a = outputs._data if isinstance(outputs, Tensor) else np.asarray(outputs)
    if a.ndim == 2 and a.shape[1] > 1:
        return a.argmax(axis=1)
    if a.ndim == 2:
        a = a[:, 0]
    if a.ndim != 1:
        raise ValueError(f"predict_labels: expected outputs of shape (N,), (N, 1) or (N, C), "
                         f"got {a.shape}")
    return (a > threshold).astype(np.int64)


def accuracy(y_true, y_pred) -> float:
    """The fraction of predictions equal to the labels."""
    t, p = _pair(y_true, y_pred, "accuracy")
    return float(np.mean(t == p))


def error_rate(y_true, y_pred) -> float:
    """``1 − accuracy``: the (unweighted) error of §7.2."""
    return 1.0 - accuracy(y_true, y_pred)


def weighted_error(y_true, y_pred, weights) -> float:
    """The weighted error of §7.2: ``Σ w⁽ⁱ⁾ 1{ŷ⁽ⁱ⁾ ≠ y⁽ⁱ⁾} / Σ w⁽ⁱ⁾`` — e.g. weight 100 for
    examples whose mistakes are unacceptable, 1 for the others. Lies in [0, 1]."""
    t, p = _pair(y_true, y_pred, "weighted_error")
    w = weights._data if isinstance(weights, Tensor) else np.asarray(weights, dtype=np.float64)
    if w.shape != t.shape:
        raise ValueError(f"weighted_error: expected one weight per example ({t.shape[0]}), got "
                         f"weights of shape {w.shape}")
    if np.any(w < 0):
        raise ValueError("weighted_error: weights must be >= 0")
    total = float(np.sum(w))
    if total <= 0:
        raise ValueError("weighted_error: the weights sum to 0")
    return float(np.sum(w * (t != p)) / total)


def confusion_matrix(y_true, y_pred, labels=None, num_classes=None) -> np.ndarray:
    """``C[i, j]`` = number of examples of true class ``labels[i]`` predicted as ``labels[j]``
    (scikit-learn's convention). ``labels`` defaults to the sorted union of both label sets, or
    ``range(num_classes)``."""
    t, p = _pair(y_true, y_pred, "confusion_matrix")
    if labels is None:
        labels = np.arange(num_classes) if num_classes is not None else np.union1d(t, p)
    labels = np.asarray(labels)
    index = {v: i for i, v in enumerate(labels.tolist())}
    k = len(labels)
    ti = np.array([index.get(v, -1) for v in t.tolist()])
    pi = np.array([index.get(v, -1) for v in p.tolist()])
    keep = (ti >= 0) & (pi >= 0)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (ti[keep], pi[keep]), 1)
    return cm


def _safe_div(a, b, zero_division):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    out = np.full(a.shape, float(zero_division))
    np.divide(a, b, out=out, where=b > 0)
    return out


def precision_recall_f1(y_true, y_pred, average="binary", pos_label=1, labels=None,
                        zero_division=0.0):
    """``(precision, recall, f1)``. Precision: of the examples predicted as a class, the fraction
    that are; recall: of the examples of a class, the fraction found; F1 their harmonic mean
    ``2 P R / (P + R)`` (§7.2).

    ``average``: ``"binary"`` (scores for ``pos_label``), ``"macro"`` (unweighted mean over
    classes), ``"micro"`` (pooled counts), ``"weighted"`` (mean weighted by class support) or
    ``None`` (arrays, one value per class in ``labels`` order)."""
    op = "precision_recall_f1"
    t, p = _pair(y_true, y_pred, op)
    if average not in ("binary", "macro", "micro", "weighted", None):
        raise ValueError(f"{op}: average must be 'binary', 'macro', 'micro', 'weighted' or None, "
                         f"got {average!r}")
    present = np.union1d(t, p)
    if average == "binary":
        if present.size > 2:
            raise ValueError(f"{op}: average='binary' needs two classes, got {present.size} "
                             f"({present.tolist()[:10]}); use average='macro'")
        labels = np.array([pos_label])
    elif labels is None:
        labels = present
    labels = np.asarray(labels)
    tp = np.array([np.sum((p == c) & (t == c)) for c in labels], dtype=np.float64)
    pred_pos = np.array([np.sum(p == c) for c in labels], dtype=np.float64)
    true_pos = np.array([np.sum(t == c) for c in labels], dtype=np.float64)
    if average == "micro":
        tp, pred_pos, true_pos = tp.sum(keepdims=True), pred_pos.sum(keepdims=True), \
            true_pos.sum(keepdims=True)
    prec = _safe_div(tp, pred_pos, zero_division)
    rec = _safe_div(tp, true_pos, zero_division)
    f1 = _safe_div(2 * tp, pred_pos + true_pos, zero_division)
    if average is None:
        return prec, rec, f1
    if average == "weighted":
        w = true_pos / true_pos.sum() if true_pos.sum() > 0 else np.zeros_like(true_pos)
        return float(prec @ w), float(rec @ w), float(f1 @ w)
    return float(prec.mean()), float(rec.mean()), float(f1.mean())


def precision(y_true, y_pred, average="binary", pos_label=1, labels=None, zero_division=0.0):
    return precision_recall_f1(y_true, y_pred, average, pos_label, labels, zero_division)[0]


def recall(y_true, y_pred, average="binary", pos_label=1, labels=None, zero_division=0.0):
    return precision_recall_f1(y_true, y_pred, average, pos_label, labels, zero_division)[1]


def f1_score(y_true, y_pred, average="binary", pos_label=1, labels=None, zero_division=0.0):
    return precision_recall_f1(y_true, y_pred, average, pos_label, labels, zero_division)[2]


precision.__doc__ = "Precision: of the examples predicted positive, the fraction that are."
recall.__doc__ = "Recall: of the positive examples, the fraction predicted positive."
f1_score.__doc__ = "F1: the harmonic mean 2PR/(P+R) of precision and recall (§7.2)."


def classification_report(y_true, y_pred, labels=None, names=None) -> str:
    """A per-class table of precision, recall, F1 and support, plus accuracy and macro means."""
    t, p = _pair(y_true, y_pred, "classification_report")
    labels = np.union1d(t, p) if labels is None else np.asarray(labels)
    prec, rec, f1 = precision_recall_f1(t, p, average=None, labels=labels)
    names = [str(n) for n in (names if names is not None else labels.tolist())]
    w = max(8, max(len(n) for n in names))
    lines = [f"{'class':>{w}}  precision  recall     f1  support"]
    for n, c, a, b, f in zip(names, labels.tolist(), prec, rec, f1):
        lines.append(f"{n:>{w}}  {a:9.3f}  {b:6.3f}  {f:5.3f}  {int(np.sum(t == c)):7d}")
    lines.append(f"{'macro':>{w}}  {prec.mean():9.3f}  {rec.mean():6.3f}  {f1.mean():5.3f}  "
                 f"{t.size:7d}")
    lines.append(f"{'accuracy':>{w}}  {accuracy(t, p):9.3f}")
    return "\n".join(lines)
