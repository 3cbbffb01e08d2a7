"""Loss modules (PyTorch's classes around the functional forms in ``nn/_functional.py``),
plus **tg** the multi-task loss of §7.5.1 and the L2/L1 penalties of §4.2 (docs/maths.md)."""
from __future__ import annotations

from . import _functional as F
from ._functional import l1_penalty, l2_penalty  # noqa: F401  (tg.nn.l2_penalty)
from .module import Module

__all__ = ["CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "MSELoss", "L1Loss",
           "MultiTaskBCEWithLogitsLoss", "l2_penalty", "l1_penalty"]


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.reduction = F._legacy_reduction(size_average, reduce, reduction)
        if self.reduction not in ("none", "mean", "sum", "mean_labelled"):
            raise ValueError(f"{type(self).__name__}: reduction must be 'none', 'mean' or "
                             f"'sum', got {reduction!r}")

    def extra_repr(self):
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross entropy from logits; see ``tg.nn.functional.cross_entropy``."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean", label_smoothing=0.0):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood on log-probabilities; see ``tg.nn.functional.nll_loss``."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class BCELoss(_WeightedLoss):
    """Binary cross entropy on probabilities: the logistic loss −[y log a + (1 − y) log(1 − a)]
    of §1 (docs/maths.md)."""

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight,
                                      reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross entropy in one stable op, with ``pos_weight``."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean",
                 pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class MSELoss(_Loss):
    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class MultiTaskBCEWithLogitsLoss(_Loss):
    """**tg** The multi-task loss of §7.5.1 (docs/maths.md); see
    ``tg.nn.functional.multitask_bce_with_logits``. ``loss(logits, targets, mask=None)``."""

    def __init__(self, reduction="mean", pos_weight=None):
        super().__init__(reduction=reduction)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target, mask=None):
        return F.multitask_bce_with_logits(input, target, mask=mask, reduction=self.reduction,
                                           pos_weight=self.pos_weight)
