"""Callbacks: what a training run does besides stepping the optimizer.

A callback overrides some of the hooks below; each receives the ``Trainer``, whose attributes
(``model``, ``optimizer``, ``history``, ``epoch``, ``logs``, ``stop_training``,
``is_main_process``, ...) it may read and change. Callbacks run in ascending ``order`` (ties
keep the order they were given in): the ``History`` record first (-100), then early stopping (0),
learning-rate schedules (10), gradient clipping (50), progress and logs (90), checkpoints last
(100, so a checkpoint holds everything the others updated that epoch).

Side effects that must happen once per job — drawing a progress bar, printing, writing a
checkpoint — check ``trainer.is_main_process``; a data-parallel trainer sets it to False on all
but one process and every callback here then does the right thing.
"""
from __future__ import annotations

import inspect
import math

import numpy as np

from ..tensor import _wrap

__all__ = ["Callback", "EarlyStopping", "LRSchedulerCallback", "ClipGradNorm", "Checkpoint",
           "ProgressBar", "Logger"]


class Callback:
    """Base class: every hook does nothing. ``state_dict()``/``load_state_dict()`` are saved in
    and restored from checkpoints, so a resumed run carries on where it stopped."""

    order = 0

    def on_train_begin(self, trainer):
        """Before the first epoch (after a resume has loaded the checkpoint)."""

    def on_epoch_begin(self, trainer):
        """Before each epoch's first batch; ``trainer.epoch`` is the 0-based epoch index."""

    def on_after_backward(self, trainer):
        """After ``loss.backward()``, before ``optimizer.step()``: gradients are in ``.grad``
        (the place to clip, inspect or average them); ``trainer.loss`` is the batch loss."""

    def on_batch_end(self, trainer):
        """After ``optimizer.step()``."""

    def on_epoch_end(self, trainer):
        """After the epoch and its dev evaluation; ``trainer.logs`` holds ``epoch`` (1-based),
        ``train_loss``, ``train_metrics``, ``dev_loss`` (None without a dev set),
        ``dev_metrics`` and ``lr`` (the rate the epoch trained with). Set
        ``trainer.stop_training = True`` to end the run after this epoch."""

    def on_train_end(self, trainer):
        """After the last epoch (also when a resumed run had already finished)."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict):
        pass


def monitored(logs, name, who):
    """The value called ``name`` in an epoch's logs: "train_loss", "dev_loss", or a metric as
    "train_<metric>" / "dev_<metric>". None where the run has no dev set."""
    if name in ("train_loss", "dev_loss"):
        return logs[name]
    for split in ("train", "dev"):
        if name.startswith(split + "_"):
            ms = logs[split + "_metrics"]
            if name[len(split) + 1:] in ms:
                return ms[name[len(split) + 1:]]
            if split == "dev" and logs["dev_loss"] is None:
                return None
    known = ["train_loss", "dev_loss"] + [f"{s}_{k}" for s in ("train", "dev")
                                          for k in logs[s + "_metrics"]]
    raise ValueError(f"{who}: cannot monitor {name!r}; this run logs {known}")


class EarlyStopping(Callback):
    """Stop once the monitored value (the dev loss by default) has not improved by more than
    ``min_delta`` for ``patience`` epochs, and (``restore_best``) put the best epoch's weights
    back at the end (early stopping as in Prechelt, "Early Stopping — But When?", 1998).

    It also records ``history.best_epoch``. ``patience=None`` never stops: it only tracks the
    best epoch (and, with ``restore_best``, ends the run on its weights)."""

    order = 0

    def __init__(self, patience=None, min_delta=0.0, restore_best=True, monitor="dev_loss",
                 mode="min"):
        if patience is not None and (int(patience) != patience or patience < 1):
            raise ValueError(f"EarlyStopping: patience is a number of epochs (an integer >= 1, "
                             f"or None to only track the best epoch), got {patience!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        self.patience, self.min_delta, self.restore_best = patience, min_delta, restore_best
        self.monitor, self.mode = monitor, mode
        self.best = math.inf if mode == "min" else -math.inf
        self.bad_epochs, self.best_state = 0, None

    def on_train_begin(self, trainer):
        if self.monitor.startswith("dev_") and trainer.dev_loader is None:
            raise ValueError(f"EarlyStopping: monitoring {self.monitor!r} needs a dev_loader")

    def _improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, trainer):
        value = monitored(trainer.logs, self.monitor, "EarlyStopping")
        if value is None:
            return
        if self._improved(value):
            self.best, self.bad_epochs = value, 0
            trainer.history.best_epoch = trainer.logs["epoch"]
            if self.restore_best:
                self.best_state = {k: _wrap(np.array(v._data, copy=True))
                                   for k, v in trainer.module.state_dict().items()}
        else:
            self.bad_epochs += 1
            if self.patience is not None and self.bad_epochs >= self.patience:
                trainer.stop_training = True
                trainer.history.stopped_early = True

    def on_train_end(self, trainer):
        if self.restore_best and self.best_state is not None:
            trainer.module.load_state_dict(self.best_state)

    def state_dict(self):
        return {"best": self.best, "bad_epochs": self.bad_epochs, "best_state": self.best_state}

    def load_state_dict(self, state):
        self.best, self.bad_epochs = state["best"], state["bad_epochs"]
        self.best_state = state.get("best_state")


def _step_takes_value(scheduler):
    """Whether ``scheduler.step`` needs an argument (the watched value, as for
    ``ReduceLROnPlateau.step(metrics)``) rather than stepping on the epoch count alone."""
    try:
        params = inspect.signature(scheduler.step).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               for p in params)


class LRSchedulerCallback(Callback):
    """Step a learning-rate scheduler (``tg.optim.lr_scheduler``) once per epoch.

    A scheduler whose ``step`` takes a value (``ReduceLROnPlateau.step(metrics)``) gets the
    ``monitor``ed one; with ``monitor="auto"`` that is the dev loss, or the training loss when
    there is no dev set. Other schedulers are stepped with no argument."""

    order = 10

    def __init__(self, scheduler, monitor="auto"):
        if not callable(getattr(scheduler, "step", None)):
            raise TypeError(f"LRSchedulerCallback: expected a scheduler with a step() method, "
                            f"got {type(scheduler).__name__}")
        self.scheduler = scheduler
        takes_value = _step_takes_value(scheduler)
        if monitor not in ("auto", None) and not takes_value:
            raise ValueError(f"LRSchedulerCallback: {type(scheduler).__name__}.step() takes no "
                             f"value, so it cannot monitor {monitor!r}")
        self.monitor = monitor if takes_value else None

    def on_epoch_end(self, trainer):
        if self.monitor is None:
            self.scheduler.step()
            return
        name = self.monitor
        if name == "auto":
            name = "train_loss" if trainer.logs["dev_loss"] is None else "dev_loss"
        self.scheduler.step(monitored(trainer.logs, name, "LRSchedulerCallback"))

    def state_dict(self):
        return self.scheduler.state_dict()

    def load_state_dict(self, state):
        self.scheduler.load_state_dict(state)


class ClipGradNorm(Callback):
    """Rescale the optimizer's gradients so that their joint norm is at most ``max_norm``
    before each step (``tg.nn.utils.clip_grad_norm_``; Pascanu et al., "On the difficulty of
    training recurrent neural networks", 2013)."""

    order = 50

    def __init__(self, max_norm, norm_type=2.0):
        self.max_norm, self.norm_type = max_norm, norm_type

    def on_after_backward(self, trainer):
        from ..nn.utils import clip_grad_norm_
        clip_grad_norm_([p for g in trainer.optimizer.param_groups for p in g["params"]],
                        self.max_norm, self.norm_type)


def _summary(logs):
    """The epoch's losses and metrics, as short strings (dev metrics where there is a dev
    set, else train ones)."""
    out = {"loss": f"{logs['train_loss']:.4f}"}
    if logs["dev_loss"] is not None:
        out["dev_loss"] = f"{logs['dev_loss']:.4f}"
    dev = logs["dev_metrics"]
    for k, v in (dev or logs["train_metrics"]).items():
        out[("dev_" if dev else "") + k] = f"{v:.4f}"
    return out


class ProgressBar(Callback):
    """A tqdm bar over the epochs, showing the last epoch's losses and metrics (main process
    only)."""

    order = 90

    def __init__(self, leave=True, desc="fit"):
        self.leave, self.desc, self.bar = leave, desc, None

    def on_train_begin(self, trainer):
        if not trainer.is_main_process or trainer.stop_training:
            return
        from tqdm.auto import tqdm
        self.bar = tqdm(desc=self.desc, unit="epoch", leave=self.leave, initial=trainer.epoch,
                        total=trainer.epochs)

    def on_epoch_end(self, trainer):
        if self.bar is not None:
            self.bar.set_postfix(_summary(trainer.logs), refresh=False)
            self.bar.update(1)

    def on_train_end(self, trainer):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class Logger(Callback):
    """One line per ``every`` epochs through ``write`` (``print`` by default; a
    ``logging.Logger``'s ``info`` works too), main process only:
    ``epoch 3/10  loss 0.4120  dev_loss 0.4398  dev_accuracy 0.8750  lr 0.01``."""

    order = 90

    def __init__(self, write=print, every=1):
        if int(every) != every or every < 1:
            raise ValueError(f"Logger: every must be an integer >= 1, got {every!r}")
        self.write, self.every = write, int(every)

    def on_epoch_end(self, trainer):
        e = trainer.logs["epoch"]
        if trainer.is_main_process and (e % self.every == 0 or e == trainer.epochs):
            parts = [f"{k} {v}" for k, v in _summary(trainer.logs).items()]
            self.write(f"epoch {e}/{trainer.epochs}  " + "  ".join(parts)
                       + f"  lr {trainer.logs['lr']:.3g}")


class Checkpoint(Callback):
    """Write the whole training state (``Trainer.save_checkpoint``: model, optimizer, RNG, the
    loader's generator, history and every callback's state) to ``path`` after each epoch, on
    the main process. ``Trainer.fit(epochs, resume_from=path)`` continues from it."""

    order = 100

    def __init__(self, path):
        self.path = path

    def on_epoch_end(self, trainer):
        if trainer.is_main_process:
            trainer.save_checkpoint(self.path)
