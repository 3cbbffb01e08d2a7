"""FaceNet's triplet loss with squared distances, per triplet or mined inside a batch.

For an anchor A, a positive P (same identity) and a negative N (another identity) and an
encoder f, the loss is

    L(A, P, N) = max(‖f(A) − f(P)‖² − ‖f(A) − f(N)‖² + α, 0)

(Schroff, Kalenichenko & Philbin, "FaceNet: a unified embedding for face recognition and
clustering", CVPR 2015): the anchor must be closer to every positive than to every negative by
the margin α. Without the margin, f ≡ 0 (or any constant encoding) would satisfy
d(A, P) ≤ d(A, N) trivially. With L2-normalised embeddings squared distances lie in [0, 4], so
the default α = 0.2 is FaceNet's. ``tg.nn.functional.triplet_margin_loss`` is PyTorch's
variant with unsquared p-norm distances (default margin 1).
"""
from __future__ import annotations

import numbers

import numpy as np

from ... import ops as _ops
from ...tensor import Tensor
from .mining import mine_triplets

__all__ = ["triplet_loss", "batch_triplet_loss"]


def _check_emb(x, op, what):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {what} must be a Tensor of embeddings, got {type(x).__name__}")
    if x.ndim not in (1, 2):
        raise ValueError(f"{op}: {what} must be (N, D) embeddings or one (D,) embedding, got "
                         f"shape {x.shape}")
    return x


def triplet_loss(anchor, positive, negative, margin=0.2, reduction="mean"):
    """max(‖a − p‖² − ‖a − n‖² + margin, 0) per triplet (rows of (N, D) inputs, or one (D,)
    triplet); ``reduction`` "mean" (default), "sum" (the course's J = Σᵢ L) or "none"."""
    op = "triplet_loss"
    a = _check_emb(anchor, op, "anchor")
    p = _check_emb(positive, op, "positive")
    n = _check_emb(negative, op, "negative")
    if not (a.shape == p.shape == n.shape):
        raise ValueError(f"{op}: anchor, positive and negative must have the same shape, got "
                         f"{a.shape}, {p.shape} and {n.shape}")
    if isinstance(margin, bool) or not isinstance(margin, numbers.Real) or margin < 0:
        raise ValueError(f"{op}: margin must be a number >= 0, got {margin!r}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    d_ap = _ops.sum((a - p) ** 2, dim=-1)
    d_an = _ops.sum((a - n) ** 2, dim=-1)
    loss = _ops.clamp(d_ap - d_an + float(margin), min=0.0)
    if reduction == "mean":
        return _ops.mean(loss)
    if reduction == "sum":
        return _ops.sum(loss)
    return loss


def batch_triplet_loss(embeddings, labels, margin=0.2, mining="semi-hard", reduction="mean",
                       generator=None, return_info=False):
    """Mine triplets inside a batch (``mining``: "random", "batch-hard", "semi-hard" or "all";
    see ``mine_triplets``) on the detached embeddings, then apply ``triplet_loss`` to the
    gathered rows. With ``return_info`` also returns a dict: the triplet count and the fraction
    with a positive loss ("active")."""
    emb = _check_emb(embeddings, "batch_triplet_loss", "embeddings")
    if emb.ndim != 2:
        raise ValueError(f"batch_triplet_loss: embeddings must be (N, D), got {emb.shape}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"batch_triplet_loss: reduction must be 'mean', 'sum' or 'none', got "
                         f"{reduction!r}")
    a, p, n = mine_triplets(emb, labels, mining, margin=margin, generator=generator)
    per = triplet_loss(emb[a], emb[p], emb[n], margin=margin, reduction="none")
    loss = _ops.mean(per) if reduction == "mean" else _ops.sum(per) if reduction == "sum" \
        else per
    if return_info:
        v = per.detach().numpy()
        active = float(np.mean(v > 0)) if v.size else 0.0
        return loss, {"triplets": int(a.size), "active": active}
    return loss
