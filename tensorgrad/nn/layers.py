"""Layers: Linear, Bilinear, Flatten, Unflatten (PyTorch's
names, arguments, parameter shapes, state_dict keys and default initializations)."""
from __future__ import annotations

import math

import numpy as np

from ..tensor import _wrap
from .. import ops as _ops
from ..ops._util import as_tensor_arg
from . import init
from .module import Module, Parameter, check_factory_kwargs

__all__ = ["Linear", "Bilinear", "Flatten", "Unflatten"]
FUNCTIONAL = ["bilinear"]  # tg.nn.functional's


def _empty(shape, dt):
    return Parameter(_wrap(np.zeros(shape, dtype=dt)))


def init_weight_and_bias(module, weight_shape, bias, dt, bias_size=None):
    """``module.weight`` of ``weight_shape`` and (``bias``) ``module.bias`` of ``bias_size``
    (default: the weight's leading size) — else a registered ``None`` bias, as PyTorch — then
    ``module.reset_parameters()``."""
    module.weight = _empty(weight_shape, dt)
    if bias:
        module.bias = _empty((weight_shape[0] if bias_size is None else bias_size,), dt)
    else:
        module.register_parameter("bias", None)
    module.reset_parameters()


class Linear(Module):
    """y = x Wᵀ + b with W (out_features, in_features) — one fused op (``tg.ops.linear``).
    Default init as PyTorch: W, b ~ U(-1/sqrt(in), 1/sqrt(in))."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        dt = check_factory_kwargs("Linear", device, dtype)
        init_weight_and_bias(self, (self.out_features, self.in_features), bias, dt)

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


def bilinear(input1, input2, weight, bias=None):
    """y_k = x1ᵀ A_k x2 + b_k for ``weight`` A (out, in1, in2): inputs (..., in1), (..., in2)."""
    op = "bilinear"
    a = as_tensor_arg(input1, op, "input1")
    b = as_tensor_arg(input2, op, "input2")
    w = as_tensor_arg(weight, op, "weight")
    if w.ndim != 3 or a.shape[-1] != w.shape[1] or b.shape[-1] != w.shape[2] \
            or a.shape[:-1] != b.shape[:-1]:
        raise RuntimeError(f"{op}: expected input1 (..., {w.shape[1] if w.ndim == 3 else 'in1'}),"
                           f" input2 (..., in2) with the same leading dims and weight "
                           f"(out, in1, in2); got {tuple(a.shape)}, {tuple(b.shape)} and "
                           f"{tuple(w.shape)}")
    y = _ops.einsum("...i,oij,...j->...o", a, w, b)
    return y if bias is None else y + bias


class Bilinear(Module):
    """y = x1ᵀ A x2 + b with A (out_features, in1_features, in2_features); A and b start
    uniform in ±1/sqrt(in1_features), as PyTorch."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None,
                 dtype=None):
        super().__init__()
        self.in1_features, self.in2_features = int(in1_features), int(in2_features)
        self.out_features = int(out_features)
        dt = check_factory_kwargs("Bilinear", device, dtype)
        init_weight_and_bias(
            self, (self.out_features, self.in1_features, self.in2_features), bias, dt)

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.in1_features) if self.in1_features > 0 else 0.0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


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
