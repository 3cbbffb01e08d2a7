"""A training loop with the notes' habits built in: mini-batches (§6.1), a dev set watched every
epoch, early stopping that restores the best weights (§4.3), learning-rate schedules (§6.5),
progress bars, and checkpoints that resume bit for bit.

    history = tg.train.fit(model, nn.CrossEntropyLoss(), opt, train_loader, dev_loader,
                           epochs=20, metrics=["accuracy"], early_stopping=3)
    history.plot()

Checkpoints are written with ``tg.save`` (safetensors + a JSON description of the rest; never
pickle, so loading a checkpoint cannot run code; saves are atomic).
"""
from __future__ import annotations

import math
import os

import numpy as np

from . import metrics as _metrics
from . import random as _random
from .autograd import no_grad
from .tensor import Tensor, _wrap

__all__ = ["fit", "evaluate", "predict", "History", "save_checkpoint", "load_checkpoint",
           "METRICS"]


# ---- metrics by name ------------------------------------------------------------------------
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


def _metric_fns(metrics):
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
                raise TypeError(f"fit: a metric must be a name or a callable, got "
                                f"{type(m).__name__}")
    out = {}
    for name, m in items:
        if isinstance(m, str):
            if m not in METRICS:
                raise ValueError(f"fit: unknown metric {m!r}; known: {sorted(METRICS)} (or pass "
                                 f"a callable f(outputs, targets) -> float)")
            m = METRICS[m]
        out[name] = m
    return out


# ---- history --------------------------------------------------------------------------------
class History:
    """Per-epoch record of a ``fit`` run: ``epochs``, ``train_loss``, ``dev_loss``, ``lr``,
    ``train_metrics[name]``, ``dev_metrics[name]`` (lists, one entry per epoch), ``best_epoch``
    (lowest dev loss) and ``stopped_early``."""

    def __init__(self):
        self.epochs, self.train_loss, self.dev_loss, self.lr = [], [], [], []
        self.train_metrics, self.dev_metrics = {}, {}
        self.best_epoch = None
        self.stopped_early = False

    def _append(self, epoch, train_loss, train_m, dev_loss, dev_m, lr):
        self.epochs.append(epoch)
        self.train_loss.append(train_loss)
        self.dev_loss.append(dev_loss)
        self.lr.append(lr)
        for k, v in train_m.items():
            self.train_metrics.setdefault(k, []).append(v)
        for k, v in dev_m.items():
            self.dev_metrics.setdefault(k, []).append(v)

    def to_dict(self) -> dict:
        return {"epochs": list(self.epochs), "train_loss": list(self.train_loss),
                "dev_loss": list(self.dev_loss), "lr": list(self.lr),
                "train_metrics": {k: list(v) for k, v in self.train_metrics.items()},
                "dev_metrics": {k: list(v) for k, v in self.dev_metrics.items()},
                "best_epoch": self.best_epoch, "stopped_early": self.stopped_early}

    @classmethod
    def from_dict(cls, d) -> "History":
        h = cls()
        for k, v in d.items():
            setattr(h, k, v)
        return h

    def __len__(self):
        return len(self.epochs)

    def __repr__(self):
        if not self.epochs:
            return "History(empty)"
        names = list(self.train_metrics) + [f"dev_{k}" for k in self.dev_metrics]
        head = f"{'epoch':>5} {'train_loss':>10} {'dev_loss':>9} " + \
            " ".join(f"{n:>12}" for n in names) + f" {'lr':>9}"
        rows = [head]
        for i, e in enumerate(self.epochs):
            vals = [self.train_metrics[k][i] for k in self.train_metrics] + \
                [self.dev_metrics[k][i] for k in self.dev_metrics]
            dl = self.dev_loss[i]
            rows.append(f"{e:>5} {self.train_loss[i]:>10.4f} "
                        f"{(f'{dl:9.4f}' if dl is not None else '        -')} "
                        + " ".join(f"{v:>12.4f}" for v in vals) + f" {self.lr[i]:>9.3g}")
        if self.best_epoch is not None:
            rows.append(f"best epoch (lowest dev loss): {self.best_epoch}"
                        + ("; stopped early" if self.stopped_early else ""))
        return "\n".join(rows)

    def plot(self, axes=None):
        """Loss curves (train and dev) and one panel per metric; returns the matplotlib Figure.
        Needs matplotlib (an optional dependency)."""
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError("History.plot needs matplotlib: pip install matplotlib "
                              "(or install tensorgrad's 'viz' extra)") from None
        names = list(dict.fromkeys(list(self.train_metrics) + list(self.dev_metrics)))
        n = 1 + len(names)
        if axes is None:
            fig, axes = plt.subplots(1, n, figsize=(4.5 * n, 3.4), squeeze=False)
            axes = axes[0]
        else:
            axes = np.atleast_1d(axes)
            if len(axes) < n:
                raise ValueError(f"History.plot: need {n} axes, got {len(axes)}")
            fig = axes[0].figure
        ax = axes[0]
        ax.plot(self.epochs, self.train_loss, "o-", label="train")
        if any(v is not None for v in self.dev_loss):
            ax.plot(self.epochs, [np.nan if v is None else v for v in self.dev_loss], "o-",
                    label="dev")
        if self.best_epoch is not None:
            ax.axvline(self.best_epoch, color="grey", ls=":", label="best")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend()
        for ax, name in zip(axes[1:], names):
            if name in self.train_metrics:
                ax.plot(self.epochs, self.train_metrics[name], "o-", label="train")
            if name in self.dev_metrics:
                ax.plot(self.epochs, self.dev_metrics[name], "o-", label="dev")
            ax.set_xlabel("epoch")
            ax.set_ylabel(name)
            ax.legend()
        fig.tight_layout()
        return fig


# ---- evaluation -----------------------------------------------------------------------------
def _split_batch(batch):
    if isinstance(batch, (tuple, list)):
        if len(batch) < 2:
            raise ValueError(f"fit: a batch must be (inputs..., target), got {len(batch)} item(s)")
        return tuple(batch[:-1]), batch[-1]
    raise TypeError(f"fit: expected batches of (inputs..., target) tuples, got "
                    f"{type(batch).__name__}")


def _np(t):
    return t.data if isinstance(t, Tensor) else np.asarray(t)


def evaluate(model, loss_fn, loader, metrics=None) -> dict:
    """Average loss (weighted by batch size) and metrics over ``loader``, in eval mode and
    without building graphs. Returns ``{"loss": ..., name: ...}``; the model's train/eval
    mode is restored afterwards."""
    fns = _metric_fns(metrics)
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    total, count, outs, targets = 0.0, 0, [], []
    try:
        with no_grad():
            for batch in loader:
                inputs, y = _split_batch(batch)
                out = model(*inputs)
                loss = loss_fn(out, y)
                n = len(_np(y))
                total += float(loss.item()) * n
                count += n
                if fns:
                    outs.append(_np(out))
                    targets.append(_np(y))
    finally:
        if was_training and hasattr(model, "train"):
            model.train()
    if count == 0:
        raise ValueError("evaluate: the loader gave no examples")
    res = {"loss": total / count}
    if fns:
        o, t = np.concatenate(outs), np.concatenate(targets)
        for name, f in fns.items():
            res[name] = float(f(o, t))
    return res


def predict(model, data, batch_size=256):
    """Model outputs (a Tensor) for a tensor of inputs or a loader of (inputs..., target)
    batches, in eval mode without graphs."""
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    outs = []
    try:
        with no_grad():
            if isinstance(data, (Tensor, np.ndarray)):
                arr = _np(data)
                for i in range(0, len(arr), batch_size):
                    outs.append(_np(model(_wrap(arr[i:i + batch_size]))))
            else:
                for batch in data:
                    inputs, _ = _split_batch(batch)
                    outs.append(_np(model(*inputs)))
    finally:
        if was_training and hasattr(model, "train"):
            model.train()
    return _wrap(np.concatenate(outs))


# ---- checkpoints ----------------------------------------------------------------------------
def save_checkpoint(path, model=None, optimizer=None, scheduler=None, epoch=None, **extra):
    """Write model, optimizer and scheduler state, the epoch, tensorgrad's RNG state and any
    ``extra`` keyword values (tensors, numbers, strings, lists, dicts) to ``path`` with
    ``tg.save``, atomically: a failed save leaves an existing file intact."""
    tree = {"format": "tensorgrad-checkpoint-1", "epoch": epoch,
            "rng_state": _random.get_rng_state()}
    if model is not None:
        tree["model"] = dict(model.state_dict())
    if optimizer is not None:
        tree["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        tree["scheduler"] = scheduler.state_dict()
    tree["extra"] = extra
    from .io import save
    save(tree, path)
    return path


def load_checkpoint(path, model=None, optimizer=None, scheduler=None, restore_rng=True) -> dict:
    """Read a checkpoint; load its states into the given model/optimizer/scheduler and (by
    default) restore tensorgrad's RNG. Returns the whole checkpoint as a dict (``epoch``,
    ``extra``, the raw states, ...)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_checkpoint: no checkpoint at {path}")
    from .io import load
    tree = load(path)
    if not isinstance(tree, dict) or tree.get("format") != "tensorgrad-checkpoint-1":
        raise ValueError(f"load_checkpoint: {path} is not a tensorgrad checkpoint (written by "
                         f"save_checkpoint)")
    for name, obj in (("model", model), ("optimizer", optimizer), ("scheduler", scheduler)):
        if obj is not None:
            if name not in tree:
                raise ValueError(f"load_checkpoint: {path} holds no {name} state")
            obj.load_state_dict(tree[name])
    if restore_rng:
        _random.set_rng_state(tree["rng_state"])
    return tree


# ---- the loop -------------------------------------------------------------------------------
def _state_copy(model):
    return {k: _wrap(np.array(v.data, copy=True)) for k, v in model.state_dict().items()}


def fit(model, loss_fn, optimizer, train_loader, dev_loader=None, epochs=10, metrics=None,
        scheduler=None, early_stopping=None, min_delta=0.0, restore_best=True,
        checkpoint_path=None, resume=False, clip_grad_norm=None, progress=True,
        leave_progress=True) -> History:
    """Train ``model`` for ``epochs`` epochs of mini-batch steps and return a ``History``.

    Each step: ``optimizer.zero_grad()``, ``loss_fn(model(*inputs), target).backward()``,
    optional ``clip_grad_norm_`` and ``optimizer.step()``. Each epoch: the dev set is
    evaluated (eval mode, no graph), ``scheduler.step()`` runs, and a checkpoint is written if
    ``checkpoint_path`` is set. Train loss and metrics are averaged over the epoch's batches
    (in train mode, so with dropout); dev ones use the whole dev set.

    ``metrics``: names from ``METRICS`` ("accuracy", "error", "f1", ...) or callables
    ``f(outputs, targets) -> float`` on numpy arrays. ``early_stopping=p`` stops after ``p``
    epochs without a dev-loss improvement larger than ``min_delta`` and (``restore_best``)
    puts the best epoch's weights back (§4.3). ``resume=True`` continues from the checkpoint at
    ``checkpoint_path`` if it exists — model, optimizer, scheduler, RNG, the loader's private
    generator, early-stopping state and history — giving the same parameters as an
    uninterrupted run."""
    fns = _metric_fns(metrics)
    if early_stopping is not None and dev_loader is None:
        raise ValueError("fit: early_stopping needs a dev_loader (it watches the dev loss)")
    if early_stopping is not None and (int(early_stopping) != early_stopping
                                       or early_stopping < 1):
        raise ValueError(f"fit: early_stopping is a patience in epochs (an integer >= 1), got "
                         f"{early_stopping!r}")
    if int(epochs) != epochs or epochs < 0:
        raise ValueError(f"fit: epochs must be a non-negative integer, got {epochs!r}")
    if resume and checkpoint_path is None:
        raise ValueError("fit: resume=True needs checkpoint_path")
    history = History()
    start = 0
    best_loss, bad_epochs, best_state = math.inf, 0, None
    if resume and os.path.exists(checkpoint_path):
        ck = load_checkpoint(checkpoint_path, model, optimizer, scheduler)
        ex = ck["extra"]
        start = int(ck["epoch"]) + 1
        history = History.from_dict(ex["history"])
        if ex.get("loader") is not None and hasattr(train_loader, "load_state_dict"):
            train_loader.load_state_dict(ex["loader"])
        best_loss, bad_epochs = ex["best_loss"], ex["bad_epochs"]
        best_state = ex.get("best_state")
        if history.stopped_early:  # that run had finished: hand back its result
            if restore_best and best_state is not None:
                model.load_state_dict(best_state)
            return history
    from .nn.utils import clip_grad_norm_
    bar = None
    epoch_iter = range(start, int(epochs))
    if progress:
        try:
            from tqdm.auto import tqdm
            bar = tqdm(epoch_iter, desc="fit", unit="epoch", leave=leave_progress,
                       initial=start, total=int(epochs))
            epoch_iter = bar
        except ImportError:  # pragma: no cover - tqdm is a dependency
            bar = None
    for epoch in epoch_iter:
        if hasattr(model, "train"):
            model.train()
        total, count, outs, targets = 0.0, 0, [], []
        for batch in train_loader:
            inputs, y = _split_batch(batch)
            optimizer.zero_grad()
            out = model(*inputs)
            loss = loss_fn(out, y)
            loss.backward()
            if clip_grad_norm is not None:
                clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]],
                                clip_grad_norm)
            optimizer.step()
            n = len(_np(y))
            lv = float(loss.item())
            if not math.isfinite(lv):
                raise FloatingPointError(f"fit: the training loss became {lv} at epoch {epoch}; "
                                         f"try a smaller learning rate, gradient clipping "
                                         f"(clip_grad_norm=) or normalized inputs")
            total += lv * n
            count += n
            if fns:
                outs.append(np.array(out.data, copy=True))
                targets.append(_np(y))
        if count == 0:
            raise ValueError("fit: the training loader gave no batches (is batch_size larger "
                             "than the dataset with drop_last=True?)")
        train_loss = total / count
        train_m = {}
        if fns:
            o, t = np.concatenate(outs), np.concatenate(targets)
            train_m = {k: float(f(o, t)) for k, f in fns.items()}
        dev_loss, dev_m = None, {}
        if dev_loader is not None:
            res = evaluate(model, loss_fn, dev_loader, fns)
            dev_loss = res.pop("loss")
            dev_m = res
        lr = optimizer.param_groups[0]["lr"]
        history._append(epoch + 1, train_loss, train_m, dev_loss, dev_m, lr)
        stop = False
        if dev_loss is not None:
            if dev_loss < best_loss - min_delta:
                best_loss, bad_epochs = dev_loss, 0
                history.best_epoch = epoch + 1
                if early_stopping is not None and restore_best:
                    best_state = _state_copy(model)
            else:
                bad_epochs += 1
                if early_stopping is not None and bad_epochs >= early_stopping:
                    stop = True
                    history.stopped_early = True
        if scheduler is not None:
            if type(scheduler).__name__ == "ReduceLROnPlateau":
                scheduler.step(dev_loss if dev_loss is not None else train_loss)
            else:
                scheduler.step()
        if bar is not None:
            post = {"loss": f"{train_loss:.4f}"}
            if dev_loss is not None:
                post["dev_loss"] = f"{dev_loss:.4f}"
            for k, v in (dev_m or train_m).items():
                post[("dev_" if dev_m else "") + k] = f"{v:.4f}"
            bar.set_postfix(post)
        if checkpoint_path is not None:
            loader_state = train_loader.state_dict() if hasattr(train_loader, "state_dict") \
                else None
            save_checkpoint(checkpoint_path, model, optimizer, scheduler, epoch=epoch,
                            history=history.to_dict(), loader=loader_state,
                            best_loss=best_loss, bad_epochs=bad_epochs, best_state=best_state)
        if stop:
            break
    if bar is not None:
        bar.close()
    if early_stopping is not None and restore_best and best_state is not None:
        model.load_state_dict(best_state)
    return history
