"""``Trainer``: the mini-batch training loop; everything else it does is a callback."""
from __future__ import annotations

import math
import os

from .callbacks import Callback
from .checkpoint import load_checkpoint, save_checkpoint
from .evaluation import EpochStats, evaluate, metric_fns, split_batch
from .history import History

__all__ = ["Trainer"]


class Trainer:
    """Train ``model`` on ``train_loader`` with ``optimizer``, evaluate it on ``dev_loader``
    after each epoch, and let ``callbacks`` do the rest (early stopping, schedules, clipping,
    progress, checkpoints: see ``tg.train.callbacks``).

    One step is ``optimizer.zero_grad()``, ``loss_fn(model(*inputs), target).backward()``,
    the callbacks' ``on_after_backward`` and ``optimizer.step()``. The train loss and metrics of
    an epoch are averaged over its batches (in train mode, so with dropout); the dev ones over
    the whole dev set (eval mode, no graph). ``metrics``: names from ``METRICS`` or callables
    ``f(outputs, targets) -> float`` on numpy arrays.

    ``is_main_process``: False on all but one process of a data-parallel job; callbacks with
    side effects (printing, checkpoints) then stay quiet there. By default it is True on rank 0
    of an initialized ``tg.distributed`` process group (and in a plain single process).

    Data parallel (``model`` wrapped in ``DistributedDataParallel``): each epoch starts with
    ``train_loader.sampler.set_epoch(epoch)`` (a ``DistributedSampler`` then draws that epoch's
    order), the epoch's losses and metrics are averaged over the ranks before any callback sees
    them (so every rank takes the same early-stopping and schedule decisions), and a rank that
    stops stops them all. Checkpoints hold the wrapped module's state (``trainer.module``),
    without DDP's ``module.`` prefix, so a run can resume on any number of processes."""

    def __init__(self, model, loss_fn, optimizer, train_loader, dev_loader=None, metrics=None,
                 callbacks=(), is_main_process=None):
        from ..nn.parallel import DistributedDataParallel
        from .. import distributed as dist
        self.data_parallel = isinstance(model, DistributedDataParallel)
        self.module = model.module if self.data_parallel else model
        if is_main_process is None:
            is_main_process = not dist.is_initialized() or dist.get_rank() == 0
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.train_loader, self.dev_loader = train_loader, dev_loader
        self.metrics = metric_fns(metrics)
        callbacks = list(callbacks)
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"Trainer: callbacks must be tg.train.Callback instances, got "
                                f"{type(cb).__name__}")
        histories = [cb for cb in callbacks if isinstance(cb, History)]
        self.history = histories[0] if histories else History()
        if not histories:
            callbacks.append(self.history)
        self.callbacks = sorted(callbacks, key=lambda cb: cb.order)
        self.is_main_process = is_main_process
        self.epoch, self.epochs, self.logs, self.loss = 0, 0, None, None
        self.stop_training = False

    def _call(self, hook):
        for cb in self.callbacks:
            getattr(cb, hook)(self)

    # ---- the loop -------------------------------------------------------------------------
    def fit(self, epochs, resume_from=None) -> History:
        """Train up to epoch ``epochs`` (fewer if a callback stops the run) and return the
        ``History``. ``resume_from``: a checkpoint written by ``save_checkpoint`` (e.g. by the
        ``Checkpoint`` callback) to carry on from, giving the same parameters as an
        uninterrupted run."""
        if int(epochs) != epochs or epochs < 0:
            raise ValueError(f"fit: epochs must be a non-negative integer, got {epochs!r}")
        self.epochs, self.epoch, self.stop_training = int(epochs), 0, False
        if resume_from is not None:
            self.load_checkpoint(resume_from)
        self._call("on_train_begin")
        while self.epoch < self.epochs and not self.stop_training:
            self._call("on_epoch_begin")
            self.logs = self.run_epoch()
            if self.data_parallel:
                _average_logs(self.logs)
            self._call("on_epoch_end")
            if self.data_parallel:
                self.stop_training = _any_rank(self.stop_training)
            self.epoch += 1
        self._call("on_train_end")
        return self.history

    def run_epoch(self) -> dict:
        """One pass over the training loader, then the dev evaluation; returns the logs."""
        if hasattr(self.model, "train"):
            self.model.train()
        sampler = getattr(self.train_loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(self.epoch)
        stats = EpochStats(self.metrics)
        for batch in self.train_loader:
            out, y = self.train_step(batch)
            stats.add(float(self.loss.item()), out, y)
        if stats.count == 0:
            raise ValueError("fit: the training loader gave no batches (is batch_size larger "
                             "than the dataset with drop_last=True?)")
        logs = {"epoch": self.epoch + 1, "train_loss": stats.loss(),
                "train_metrics": stats.metrics(), "dev_loss": None, "dev_metrics": {},
                "lr": self.optimizer.param_groups[0]["lr"]}
        if self.dev_loader is not None:
            res = evaluate(self.model, self.loss_fn, self.dev_loader, self.metrics)
            logs["dev_loss"] = res.pop("loss")
            logs["dev_metrics"] = res
        return logs

    def train_step(self, batch):
        """One optimizer step on ``batch``; returns ``(outputs, target)`` and leaves the loss
        in ``self.loss``."""
        inputs, y = split_batch(batch)
        self.optimizer.zero_grad()
        out = self.model(*inputs)
        self.loss = self.loss_fn(out, y)
        self.loss.backward()
        self._call("on_after_backward")
        self.optimizer.step()
        lv = float(self.loss.item())
        if not math.isfinite(lv):
            raise FloatingPointError(f"fit: the training loss became {lv} at epoch "
                                     f"{self.epoch + 1}; try a smaller learning rate, gradient "
                                     f"clipping (clip_grad_norm= or ClipGradNorm) or normalized "
                                     f"inputs")
        self._call("on_batch_end")
        return out, y

    # ---- checkpoints ----------------------------------------------------------------------
    def _callback_keys(self):
        """A stable name per callback for its saved state: the class name, numbered when a
        class appears more than once."""
        keys, seen = [], {}
        for cb in self.callbacks:
            name = type(cb).__name__
            seen[name] = seen.get(name, 0) + 1
            keys.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
        return keys

    def save_checkpoint(self, path):
        """Write the state needed to resume after the current epoch: model, optimizer, RNG,
        the training loader's generator (if it has ``state_dict``) and every callback's
        state (the history, early stopping's best weights, the scheduler, ...)."""
        loader = self.train_loader
        loader_state = loader.state_dict() if hasattr(loader, "state_dict") else None
        states = {k: cb.state_dict() for k, cb in zip(self._callback_keys(), self.callbacks)}
        return save_checkpoint(path, self.module, self.optimizer, epoch=self.epoch,
                               loader=loader_state, callbacks=states)

    def load_checkpoint(self, path):
        """Restore what ``save_checkpoint`` wrote and carry on with the epoch after it; a run
        that had been stopped early stays stopped."""
        ck = load_checkpoint(os.fspath(path), self.module, self.optimizer)
        extra = ck["extra"]
        if extra.get("loader") is not None and hasattr(self.train_loader, "load_state_dict"):
            self.train_loader.load_state_dict(extra["loader"])
        states = extra.get("callbacks", {})
        for key, cb in zip(self._callback_keys(), self.callbacks):
            if key in states:
                cb.load_state_dict(states[key])
        self.epoch = int(ck["epoch"]) + 1
        self.stop_training = bool(self.history.stopped_early)


# ---- data parallel ------------------------------------------------------------------------------
def _average_logs(logs):
    """Average the epoch's losses and metrics over the ranks, in place (one all-reduce). The
    ranks see equally many examples (DistributedSampler pads), so the mean of their means is
    the mean over the global data."""
    import numpy as np
    from .. import distributed as dist
    keys = [("train_loss", None), ("dev_loss", None)] if logs["dev_loss"] is not None \
        else [("train_loss", None)]
    keys += [("train_metrics", k) for k in sorted(logs["train_metrics"])]
    keys += [("dev_metrics", k) for k in sorted(logs["dev_metrics"])]
    vals = np.array([logs[a] if b is None else logs[a][b] for a, b in keys], dtype=np.float64)
    dist.all_reduce(vals, op=dist.ReduceOp.AVG)
    for (a, b), v in zip(keys, vals.tolist()):
        if b is None:
            logs[a] = v
        else:
            logs[a][b] = v


def _any_rank(flag):
    import numpy as np
    from .. import distributed as dist
    f = np.array([1 if flag else 0], dtype=np.int64)
    dist.all_reduce(f, op=dist.ReduceOp.MAX)
    return bool(f[0])
