"""The learning-rate scheduler base class, PyTorch's protocol (``torch.optim.lr_scheduler``).

A scheduler owns ``last_epoch`` (how many times ``step()`` ran; construction is step 0) and
writes a rate into every parameter group of its optimizer on each step. Most schedules are
*chainable*: ``get_lr()`` computes the new rate from the group's current ``lr`` (not from
``base_lrs``), so two schedulers on one optimizer compose (``ChainedScheduler``), exactly as in
PyTorch; ``step(epoch)`` (deprecated there too) jumps with the closed form where one exists.

Call order, as PyTorch: ``optimizer.step()`` first, then ``scheduler.step()``. Stepping the
scheduler before the optimizer ever stepped warns, as PyTorch does, because the first rate of
the schedule is then skipped.
"""
from __future__ import annotations

import warnings

from .optimizer import Optimizer

__all__ = ["LRScheduler"]

EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated where "
    "possible. Please use `scheduler.step()` to step the scheduler. During the deprecation, if "
    "epoch is different from None, the closed form is used instead of the new chainable form, "
    "where available.")


def format_param(name, optimizer, value):
    """One value per parameter group: a list/tuple of the right length, or one value for all."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name} must have the same length as optimizer.param_groups. "
                             f"{name} has {len(value)} values, param_groups has {n}.")
        return list(value)
    return [value] * n


def group_values(optimizer, key):
    return [g[key] for g in optimizer.param_groups]


def check_optimizer(who, optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{who}: expected a tensorgrad Optimizer, got {type(optimizer).__name__}")


class LRScheduler:
    """Base class: subclasses give ``get_lr()`` (the chainable rule for ``last_epoch``) and,
    where a closed form exists, ``_get_closed_form_lr()``."""

    _get_lr_called_within_step = False
    _is_initial = False
    _not_saved = ("optimizer",)

    def __init__(self, optimizer, last_epoch: int = -1):
        check_optimizer(type(self).__name__, optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for g in optimizer.param_groups:
                g.setdefault("initial_lr", g["lr"])
        else:
            for i, g in enumerate(optimizer.param_groups):
                if "initial_lr" not in g:
                    raise KeyError(f"{type(self).__name__}: param 'initial_lr' is not specified "
                                   f"in param_groups[{i}] when resuming (last_epoch="
                                   f"{last_epoch}); create the scheduler with last_epoch=-1, "
                                   f"or load the optimizer's state first")
        self.base_lrs = group_values(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _warn_outside_step(self):
        if not self._get_lr_called_within_step:
            warnings.warn("To get the last learning rate computed by the scheduler, please use "
                          "`get_last_lr()`.", UserWarning, stacklevel=3)

    def get_last_lr(self):
        """The rates the last ``step()`` set, one per parameter group."""
        return list(self._last_lr)

    def step(self, epoch=None):
        if self._step_count == 1 and not getattr(self.optimizer, "_opt_called", False):
            warnings.warn("Detected call of `lr_scheduler.step()` before `optimizer.step()`. "
                          "Call them in the opposite order: `optimizer.step()` before "
                          "`lr_scheduler.step()`; otherwise the first value of the learning "
                          "rate schedule is skipped.", UserWarning, stacklevel=2)
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch=None):
        self._get_lr_called_within_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = epoch
                closed = getattr(self, "_get_closed_form_lr", None)
                values = closed() if closed is not None else self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        for g, lr in zip(self.optimizer.param_groups, values):
            g["lr"] = lr
        self._last_lr = group_values(self.optimizer, "lr")

    def state_dict(self) -> dict:
        """Everything but the optimizer (and functions, which can't be saved)."""
        return {k: (list(v) if isinstance(v, list) else v)
                for k, v in self.__dict__.items() if k not in self._not_saved}

    def load_state_dict(self, state_dict: dict):
        if not isinstance(state_dict, dict) or "last_epoch" not in state_dict:
            raise ValueError(f"{type(self).__name__}.load_state_dict: expected a dict from "
                             f"state_dict() (with 'last_epoch'), got {type(state_dict).__name__}")
        self.__dict__.update({k: v for k, v in state_dict.items() if k not in self._not_saved})

    def __repr__(self):
        return (f"{type(self).__name__}(last_epoch={getattr(self, 'last_epoch', None)}, "
                f"lr={getattr(self, '_last_lr', None)})")
