"""Adam and AdamW (§6.4, docs/maths.md; Kingma & Ba 2015, Loshchilov & Hutter 2019): momentum
plus RMSprop, with bias correction."""
from __future__ import annotations

import math

import numpy as np

from .optimizer import Optimizer, _check_nonneg
from .rmsprop import _lerp_

__all__ = ["Adam", "AdamW"]


def update_moments(st, g, b1, b2):
    """Adam's running moments in place: ``m ← β₁ m + (1 − β₁) g``, ``v ← β₂ v + (1 − β₂) g²``
    (``st["exp_avg"]``, ``st["exp_avg_sq"]``); returns the two arrays."""
    m, v = st["exp_avg"]._data, st["exp_avg_sq"]._data
    _lerp_(m, g, 1 - b1)
    v *= b2
    v += (1 - b2) * (g * g)
    return m, v


def check_adam_hyper(name, group):
    """Validate the hyperparameters the Adam family shares (lr, eps, weight_decay, betas)."""
    _check_nonneg(name, "learning rate", group["lr"])
    _check_nonneg(name, "epsilon value", group["eps"])
    _check_nonneg(name, "weight_decay value", group["weight_decay"])
    betas = group["betas"]
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
    group["betas"] = tuple(betas)
    for i, b in enumerate(betas):
        if not 0.0 <= b < 1.0:
            raise ValueError(f"{name}: invalid beta parameter at index {i}: {b} "
                             f"(expected 0 <= beta < 1)")


class Adam(Optimizer):
    """PyTorch's Adam: ``V ← β₁ V + (1 − β₁) g``, ``S ← β₂ S + (1 − β₂) g²``, and with the bias
    corrections ``V / (1 − β₁ᵗ)`` and ``S / (1 − β₂ᵗ)`` the step
    ``θ ← θ − lr · V̂ / (√Ŝ + ε)``. ``amsgrad`` uses the running maximum of ``S``;
    ``weight_decay`` adds ``λ θ`` to the gradient, or with ``decoupled_weight_decay=True``
    (that is ``AdamW``) shrinks ``θ ← θ (1 − lr λ)`` before the step. ``foreach``,
    ``capturable`` and ``fused`` are accepted and change nothing (one implementation)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      foreach=foreach, maximize=maximize, capturable=capturable,
                                      differentiable=differentiable, fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _check_hyper(self, group):
        check_adam_hyper(type(self).__name__, group)

    def _update_group(self, group):
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        amsgrad = group["amsgrad"]
        arrays = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ())
        for p, g, st in self._stepped(group, arrays):
            t = st["step"]
            theta, g = self._decayed(p, g, group)
            m, v = update_moments(st, g, b1, b2)
            bc1 = 1 - b1 ** t
            bc2_sqrt = math.sqrt(1 - b2 ** t)
            step_size = lr / bc1
            if amsgrad:
                vmax = self._state_array(p, "max_exp_avg_sq")._data
                np.maximum(vmax, v, out=vmax)
                denom = np.sqrt(vmax) / bc2_sqrt + eps
            else:
                denom = np.sqrt(v) / bc2_sqrt + eps
            self._write(p, theta - step_size * (m / denom))


class AdamW(Adam):
    """Adam with decoupled weight decay: ``θ ← θ (1 − lr λ)`` before the Adam step."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
