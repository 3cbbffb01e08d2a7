"""Stochastic gradient descent with (Nesterov) momentum and weight decay (§6.1–§6.2,
docs/maths.md)."""
from __future__ import annotations

from .optimizer import Optimizer, _check_nonneg, required

__all__ = ["SGD"]


class SGD(Optimizer):
    """PyTorch's SGD. With momentum ``μ`` the buffer is ``b ← μ b + (1 − dampening) g``
    (the first step sets ``b = g``) and the step is ``θ ← θ − lr · b`` (or ``g + μ b`` with
    ``nesterov=True``). The textbook momentum ``v ← β v + (1 − β) dW`` is this with
    ``dampening = momentum = β`` — apart from the first step, where PyTorch starts the buffer at
    ``g`` rather than ``(1 − β) g``. ``weight_decay`` adds ``λ θ`` to the gradient (L2)."""

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        if lr is not required:
            _check_nonneg("SGD", "learning rate", lr)
        _check_nonneg("SGD", "momentum value", momentum)
        _check_nonneg("SGD", "weight_decay value", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"SGD: Nesterov momentum requires a momentum and zero dampening "
                             f"(got momentum={momentum}, dampening={dampening})")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def _check_hyper(self, group):
        _check_nonneg("SGD", "learning rate", group["lr"])
        _check_nonneg("SGD", "momentum value", group["momentum"])
        _check_nonneg("SGD", "weight_decay value", group["weight_decay"])

    def _update_group(self, group):
        lr, mom, damp = group["lr"], group["momentum"], group["dampening"]
        wd, nesterov = group["weight_decay"], group["nesterov"]
        for p in group["params"]:
            g = self._grad(p, group)
            if g is None:
                continue
            if wd != 0:
                g = g + wd * p._data
            if mom != 0:
                st = self.state.setdefault(p, {})
                buf = st.get("momentum_buffer")
                if buf is None:
                    buf = self._state_array(p, "momentum_buffer", init=g)
                else:
                    buf._data *= mom
                    buf._data += (1 - damp) * g
                g = g + mom * buf._data if nesterov else buf._data
            self._axpy(p, g, -lr)
