"""Adamax, NAdam and RAdam: three variations on Adam, each as ``torch.optim`` computes it.

* Adamax (Kingma & Ba 2015, §7.1) replaces Adam's second moment by an exponentially weighted
  infinity norm ``u ← max(β₂ u, |g| + ε)``.
* NAdam (Dozat, "Incorporating Nesterov Momentum into Adam", 2016) applies the *next* step's
  momentum now: with the momentum schedule ``μ_t = β₁ (1 − ½ · 0.96^(t·ψ))`` (ψ =
  ``momentum_decay``) the step mixes the current gradient and the first moment, each with its
  own bias correction through the product ``Π μ``.
* RAdam (Liu et al., "On the Variance of the Adaptive Learning Rate and Beyond", ICLR 2020)
  rectifies the adaptive rate while its variance is still large: with ``ρ∞ = 2/(1 − β₂) − 1``
  and ``ρ_t = ρ∞ − 2 t β₂ᵗ / (1 − β₂ᵗ)`` it takes plain momentum steps while ``ρ_t ≤ 5`` and
  Adam steps scaled by ``r_t = √((ρ_t−4)(ρ_t−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρ_t))`` afterwards.

NAdam and RAdam take ``decoupled_weight_decay`` (shrink ``θ`` by ``1 − lr λ`` first, as AdamW)
as PyTorch does; otherwise ``weight_decay`` adds ``λ θ`` to the gradient.
"""
from __future__ import annotations

import math

import numpy as np

from .adam import check_adam_hyper, update_moments
from .optimizer import Optimizer, _check_nonneg
from .rmsprop import _lerp_

__all__ = ["Adamax", "NAdam", "RAdam"]


class _Moments(Optimizer):
    """The Adam family's hyperparameter checks (lr, eps, weight_decay, betas)."""

    def _check_hyper(self, group):
        check_adam_hyper(type(self).__name__, group)


class Adamax(_Moments):
    """PyTorch's Adamax: ``m ← β₁ m + (1 − β₁) g``, ``u ← max(β₂ u, |g| + ε)``,
    ``θ ← θ − lr / (1 − β₁ᵗ) · m / u``."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _update_group(self, group):
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        for p, g, st in self._stepped(group, ("exp_avg", "exp_inf")):
            theta, g = self._decayed(p, g, group)
            m, u = st["exp_avg"]._data, st["exp_inf"]._data
            _lerp_(m, g, 1 - b1)
            u *= b2
            np.maximum(u, np.abs(g) + eps, out=u)
            clr = lr / (1 - b1 ** st["step"])
            self._write(p, theta - clr * (m / u))


class NAdam(_Moments):
    """PyTorch's NAdam (state ``step``, ``mu_product``, ``exp_avg``, ``exp_avg_sq``)."""

    _scalar_state = ("step", "mu_product")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable))

    def _check_hyper(self, group):
        super()._check_hyper(group)
        _check_nonneg("NAdam", "momentum_decay value", group["momentum_decay"])

    def _update_group(self, group):
        lr, (b1, b2), eps, psi = group["lr"], group["betas"], group["eps"], \
            group["momentum_decay"]
        for p, g, st in self._stepped(group, ("exp_avg", "exp_avg_sq"), {"mu_product": 1.0}):
            t = st["step"]
            theta, g = self._decayed(p, g, group)
            mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
            mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
            st["mu_product"] *= mu
            prod = st["mu_product"]
            m, v = update_moments(st, g, b1, b2)
            denom = np.sqrt(v / (1 - b2 ** t)) + eps
            theta = theta + (-lr * (1.0 - mu) / (1.0 - prod)) * (g / denom)
            self._write(p, theta + ((-lr * mu_next) / (1.0 - prod * mu_next)) * (m / denom))


class RAdam(_Moments):
    """PyTorch's RAdam (state ``step``, ``exp_avg``, ``exp_avg_sq``)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, maximize=maximize,
                                      foreach=foreach, capturable=capturable,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      differentiable=differentiable))

    def _update_group(self, group):
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        for p, g, st in self._stepped(group, ("exp_avg", "exp_avg_sq")):
            t = st["step"]
            theta, g = self._decayed(p, g, group)
            m, v = update_moments(st, g, b1, b2)
            bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
            m_hat = m / bc1
            rho_inf = 2 / (1 - b2) - 1
            rho_t = rho_inf - 2 * t * (b2 ** t) / bc2
            if rho_t > 5.0:
                rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                                 / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                adaptive = bc2 ** 0.5 / (np.sqrt(v) + eps)
                self._write(p, theta - m_hat * lr * adaptive * rect)
            else:
                self._write(p, theta - m_hat * lr)
