"""Training: a mini-batch loop (``Trainer``) and callbacks for the habits that go with it — a dev
set watched every epoch, early stopping that restores the best weights, learning-rate schedules,
gradient clipping, progress bars and checkpoints that resume bit for bit.

    history = tg.train.fit(model, nn.CrossEntropyLoss(), opt, train_loader, dev_loader,
                           epochs=20, metrics=["accuracy"], early_stopping=3)
    history.plot()

``fit`` turns its keyword arguments into callbacks; the same run written out is

    trainer = tg.train.Trainer(model, nn.CrossEntropyLoss(), opt, train_loader, dev_loader,
                               metrics=["accuracy"],
                               callbacks=[tg.train.EarlyStopping(patience=3),
                                          tg.train.ProgressBar()])
    history = trainer.fit(20)

and a callback of your own (a subclass of ``tg.train.Callback``) goes in either list.
Checkpoints are written with ``tg.save`` (safetensors + a JSON description of the rest; never
pickle, so loading a checkpoint cannot run code; saves are atomic).
"""
from __future__ import annotations

import os

from .callbacks import (Callback, Checkpoint, ClipGradNorm, EarlyStopping, Logger,
                        LRSchedulerCallback, ProgressBar)
from .checkpoint import load_checkpoint, save_checkpoint
from .evaluation import METRICS, evaluate, predict
from .history import History
from .trainer import Trainer

__all__ = ["fit", "Trainer", "evaluate", "predict", "History", "save_checkpoint",
           "load_checkpoint", "METRICS", "Callback", "EarlyStopping", "LRSchedulerCallback",
           "ClipGradNorm", "Checkpoint", "ProgressBar", "Logger"]


def fit(model, loss_fn, optimizer, train_loader, dev_loader=None, epochs=10, metrics=None,
        scheduler=None, early_stopping=None, min_delta=0.0, restore_best=True,
        checkpoint_path=None, resume=False, clip_grad_norm=None, progress=True,
        leave_progress=True, callbacks=()) -> History:
    """Train ``model`` for ``epochs`` epochs of mini-batch steps and return a ``History``: a
    ``Trainer`` with the callbacks these arguments ask for, plus ``callbacks``.

    - ``dev_loader``: evaluated after every epoch; ``history.best_epoch`` is the epoch of
      lowest dev loss (improving by more than ``min_delta``).
    - ``early_stopping=p``: stop after ``p`` epochs without such an improvement and
      (``restore_best``) put the best epoch's weights back (``EarlyStopping``).
    - ``scheduler``: stepped once per epoch; ``ReduceLROnPlateau`` gets the dev loss (the
      training loss without a dev set) (``LRSchedulerCallback``).
    - ``clip_grad_norm``: clip the gradients' joint norm before each step (``ClipGradNorm``).
    - ``checkpoint_path``: save everything after each epoch (``Checkpoint``); ``resume=True``
      continues from that file if it exists — model, optimizer, scheduler, RNG, the loader's
      private generator, early-stopping state and history — giving the same parameters as an
      uninterrupted run.
    - ``progress``: a tqdm bar over the epochs (``ProgressBar``).

    ``metrics``: names from ``METRICS`` ("accuracy", "error", "f1", ...) or callables
    ``f(outputs, targets) -> float`` on numpy arrays."""
    if early_stopping is not None and dev_loader is None:
        raise ValueError("fit: early_stopping needs a dev_loader (it watches the dev loss)")
    if resume and checkpoint_path is None:
        raise ValueError("fit: resume=True needs checkpoint_path")
    cbs = []
    if dev_loader is not None:
        cbs.append(EarlyStopping(patience=early_stopping, min_delta=min_delta,
                                 restore_best=restore_best and early_stopping is not None))
    if scheduler is not None:
        cbs.append(LRSchedulerCallback(scheduler))
    if clip_grad_norm is not None:
        cbs.append(ClipGradNorm(clip_grad_norm))
    if progress:
        cbs.append(ProgressBar(leave=leave_progress))
    if checkpoint_path is not None:
        cbs.append(Checkpoint(checkpoint_path))
    trainer = Trainer(model, loss_fn, optimizer, train_loader, dev_loader, metrics=metrics,
                      callbacks=[*cbs, *callbacks])
    resume_from = checkpoint_path if resume and os.path.exists(checkpoint_path) else None
    return trainer.fit(epochs, resume_from=resume_from)
