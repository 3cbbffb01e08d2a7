"""RMSprop (§6.3, docs/maths.md; Tieleman & Hinton 2012): divide the step by a running root
mean square of the gradient."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check_nonneg

__all__ = ["RMSprop"]


def _lerp_(a, b, w):
    """``a ← a + w (b − a)`` in place, in PyTorch's two-branch form (same rounding)."""
    if w < 0.5:
        a += w * (b - a)
    else:
        a[...] = b - (b - a) * (1 - w)


class RMSprop(Optimizer):
    """PyTorch's RMSprop: ``S ← α S + (1 − α) g²``; ``θ ← θ − lr · g / (√S + ε)``.
    ``centered=True`` subtracts the squared running mean of ``g`` from ``S`` first;
    ``momentum`` keeps a buffer ``b ← μ b + g / (√S + ε)`` and steps by ``lr · b``. The textbook
    ``β`` is PyTorch's ``alpha``."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered,
                                      capturable=capturable, foreach=foreach, maximize=maximize,
                                      differentiable=differentiable))

    def _check_hyper(self, group):
        for what, key in (("learning rate", "lr"), ("epsilon value", "eps"),
                          ("momentum value", "momentum"), ("weight_decay value", "weight_decay"),
                          ("alpha value", "alpha")):
            _check_nonneg("RMSprop", what, group[key])

    def _update_group(self, group):
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        mom, centered = group["momentum"], group["centered"]
        arrays = ("square_avg",) + (("momentum_buffer",) if mom > 0 else ()) \
            + (("grad_avg",) if centered else ())
        for p, g, st in self._stepped(group, arrays):
            _, g = self._decayed(p, g, group)
            sq = st["square_avg"]._data
            sq *= alpha
            sq += (1 - alpha) * (g * g)
            if centered:
                ga = st["grad_avg"]._data
                _lerp_(ga, g, 1 - alpha)
                avg = np.sqrt(sq - ga * ga)
            else:
                avg = np.sqrt(sq)
            avg += eps
            if mom > 0:
                buf = self._state_array(p, "momentum_buffer")._data
                buf *= mom
                buf += g / avg
                self._write(p, p._data - lr * buf)
            else:
                self._write(p, p._data - lr * (g / avg))
