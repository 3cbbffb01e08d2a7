"""ASGD and Rprop, as ``torch.optim`` computes them.

* ASGD (Polyak & Juditsky, "Acceleration of Stochastic Approximation by Averaging", 1992):
  SGD with a decaying step ``η_t = lr / (1 + λ lr t)^α`` and a running average ``ax`` of the
  iterates, which starts averaging after ``t0`` steps (``mu = 1 / max(1, t − t0)``). The
  parameters are the SGD iterates; the average lives in ``optimizer.state[p]["ax"]``.
* Rprop (Riedmiller & Braun, "A Direct Adaptive Method for Faster Backpropagation Learning:
  The RPROP Algorithm", 1993): only the *sign* of the gradient is used; every coordinate keeps
  its own step size, multiplied by ``etaplus`` while the sign stays the same and by
  ``etaminus`` when it flips (then that coordinate skips one update), clipped to
  ``step_sizes``. Meant for full-batch training.
"""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check_nonneg

__all__ = ["ASGD", "Rprop"]


class ASGD(Optimizer):
    """PyTorch's ASGD (state ``step``, ``eta``, ``mu``, ``ax``)."""

    _scalar_state = ("step", "eta", "mu")

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _check_hyper(self, group):
        _check_nonneg("ASGD", "learning rate", group["lr"])
        _check_nonneg("ASGD", "weight_decay value", group["weight_decay"])

    def _update_group(self, group):
        lr, lambd, alpha, t0 = group["lr"], group["lambd"], group["alpha"], group["t0"]
        for p, g, st in self._stepped(group, ("ax",), {"eta": float(lr), "mu": 1.0}):
            _, g = self._decayed(p, g, group)
            eta = st["eta"]
            self._write(p, p._data * (1 - lambd * eta))
            self._axpy(p, g, -eta)
            ax = st["ax"]._data
            if st["mu"] != 1:
                ax += (p._data - ax) * st["mu"]
            else:
                ax[...] = p._data
            t = st["step"]
            st["eta"] = lr / ((1 + lambd * lr * t) ** alpha)
            st["mu"] = 1 / max(1, t - t0)


class Rprop(Optimizer):
    """PyTorch's Rprop (state ``step``, ``prev``, ``step_size``)."""

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        super().__init__(params, dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes),
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, capturable=capturable))

    def _check_hyper(self, group):
        _check_nonneg("Rprop", "learning rate", group["lr"])
        for key in ("etas", "step_sizes"):
            v = group[key]
            if not isinstance(v, (tuple, list)) or len(v) != 2:
                raise ValueError(f"Rprop: {key} must be a pair, got {v!r}")
            group[key] = tuple(v)
        lo, hi = group["etas"]
        if not 0.0 < lo < 1.0 < hi:
            raise ValueError(f"Rprop: invalid eta values: {lo}, {hi} (expected "
                             f"0 < etaminus < 1 < etaplus)")

    def _update_group(self, group):
        etaminus, etaplus = group["etas"]
        smin, smax = group["step_sizes"]
        for p, g, st in self._stepped(group, {"prev": None, "step_size": group["lr"]}):
            prev, size = st["prev"]._data, st["step_size"]._data
            s = np.sign(g * prev)
            factor = np.where(s > 0, etaplus, np.where(s < 0, etaminus, 1.0))
            size *= factor
            np.clip(size, smin, smax, out=size)
            g = np.where(s < 0, 0.0, g).astype(p._data.dtype, copy=False)
            self._write(p, p._data - np.sign(g) * size)
            prev[...] = g
