"""``History``: what a training run logged, epoch by epoch, with a table and a plot."""
from __future__ import annotations

import numpy as np

from .callbacks import Callback

__all__ = ["History"]


class History(Callback):
    """Per-epoch record of a ``fit`` run: ``epochs``, ``train_loss``, ``dev_loss``, ``lr``,
    ``train_metrics[name]``, ``dev_metrics[name]`` (lists, one entry per epoch), ``best_epoch``
    (lowest dev loss, as ``EarlyStopping`` judged it; None without one) and ``stopped_early``.

    It is the first callback of every ``Trainer``: it appends each epoch's ``trainer.logs``."""

    order = -100

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

    def on_epoch_end(self, trainer):
        lg = trainer.logs
        self._append(lg["epoch"], lg["train_loss"], lg["train_metrics"], lg["dev_loss"],
                     lg["dev_metrics"], lg["lr"])

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

    def state_dict(self) -> dict:
        return self.to_dict()

    def load_state_dict(self, state: dict):
        self.__dict__.update(History.from_dict(state).__dict__)

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
                              "(or tensorgrad's 'plot' extra)") from None
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
