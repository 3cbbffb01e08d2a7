"""Layers: Linear, Flatten, Unflatten (PyTorch's
names, arguments, parameter shapes, state_dict keys and default initializations)."""
from __future__ import annotations

import math

import numpy as np

from ..tensor import _wrap
from .. import ops as _ops
from . import init
from .module import Module, Parameter, check_factory_kwargs

__all__ = ["Linear", "Flatten", "Unflatten"]


def _empty(shape, dt):
    return Parameter(_wrap(np.zeros(shape, dtype=dt)))


class Linear(Module):
    """y = x Wᵀ + b with W (out_features, in_features) — one fused op (``tg.ops.linear``).
    Default init as PyTorch: W, b ~ U(-1/sqrt(in), 1/sqrt(in))."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        dt = check_factory_kwargs("Linear", device, dtype)
        self.weight = _empty((self.out_features, self.in_features), dt)
        if bias:
            self.bias = _empty((self.out_features,), dt)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return _ops.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Flatten(Module):
    """Flattens dims start_dim..end_dim (default: all but the batch dim)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):
        return _ops.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Expands dim ``dim`` into ``unflattened_size``."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, input):
        shape = list(input.shape)
        d = self.dim % len(shape)
        return _ops.reshape(input, tuple(shape[:d]) + self.unflattened_size + tuple(shape[d + 1:]))

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
