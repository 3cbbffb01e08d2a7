"""Adagrad and Adadelta: per-coordinate step sizes from the history of squared gradients.

Adagrad (Duchi, Hazan & Singer, "Adaptive Subgradient Methods", JMLR 2011) divides the step
by the root of the *sum* of all past squared gradients, so coordinates that have seen large
gradients move slowly; Adadelta (Zeiler, "ADADELTA: An Adaptive Learning Rate Method", 2012)
replaces the sum by a running average and multiplies by a running RMS of past updates, so the
step has the units of the parameter and needs almost no learning rate. Both follow
``torch.optim`` step for step, so in float64 the iterates equal PyTorch's.
"""
from __future__ import annotations

import numpy as np

from ..tensor import _wrap
from .optimizer import Optimizer, _check_nonneg

__all__ = ["Adagrad", "Adadelta"]


class Adagrad(Optimizer):
    """PyTorch's Adagrad: ``G ← G + g²``; ``θ ← θ − lr_t · g / (√G + ε)`` with the decayed rate
    ``lr_t = lr / (1 + (t − 1) · lr_decay)``. ``G`` starts at ``initial_accumulator_value``;
    ``weight_decay`` adds ``λ θ`` to the gradient. As in PyTorch the state (``step``, ``sum``)
    exists from construction on."""

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, foreach=None, *, maximize=False,
                 differentiable=False, fused=None):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps,
                                      weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, fused=fused))
        for group in self.param_groups:  # as PyTorch: the state exists from the start
            for p in group["params"]:
                self.state[p] = {"step": 0.0, "sum": _wrap(np.full_like(
                    p._data, group["initial_accumulator_value"]))}

    def _check_hyper(self, group):
        for what, key in (("learning rate", "lr"), ("lr_decay value", "lr_decay"),
                          ("weight_decay value", "weight_decay"),
                          ("initial_accumulator_value value", "initial_accumulator_value"),
                          ("epsilon value", "eps")):
            _check_nonneg("Adagrad", what, group[key])

    def _update_group(self, group):
        lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
        arrays = {"sum": group["initial_accumulator_value"]}
        for p, g, st in self._stepped(group, arrays):
            _, g = self._decayed(p, g, group)
            clr = lr / (1 + (st["step"] - 1) * lr_decay)
            acc = st["sum"]._data
            acc += g * g
            self._write(p, p._data - clr * (g / (np.sqrt(acc) + eps)))


class Adadelta(Optimizer):
    """PyTorch's Adadelta: ``S ← ρ S + (1 − ρ) g²``; the update
    ``Δ = √(U + ε) / √(S + ε) · g``; ``U ← ρ U + (1 − ρ) Δ²``; ``θ ← θ − lr · Δ``
    (``S`` is ``square_avg``, ``U`` is ``acc_delta``). ``weight_decay`` adds ``λ θ`` to the
    gradient."""

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, capturable=capturable, foreach=foreach,
                                      differentiable=differentiable))

    def _check_hyper(self, group):
        _check_nonneg("Adadelta", "learning rate", group["lr"])
        _check_nonneg("Adadelta", "epsilon value", group["eps"])
        _check_nonneg("Adadelta", "weight_decay value", group["weight_decay"])
        if not 0.0 <= group["rho"] <= 1.0:
            raise ValueError(f"Adadelta: invalid rho value: {group['rho']} (expected 0 <= rho "
                             f"<= 1)")

    def _update_group(self, group):
        lr, rho, eps = group["lr"], group["rho"], group["eps"]
        for p, g, st in self._stepped(group, ("square_avg", "acc_delta")):
            _, g = self._decayed(p, g, group)
            sq, acc = st["square_avg"]._data, st["acc_delta"]._data
            sq *= rho
            sq += (1 - rho) * (g * g)
            delta = np.sqrt(acc + eps) / np.sqrt(sq + eps) * g
            acc *= rho
            acc += (1 - rho) * (delta * delta)
            self._axpy(p, delta, -lr)
