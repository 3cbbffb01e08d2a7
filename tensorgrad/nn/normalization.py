"""Normalization layers, PyTorch's names, arguments, parameters, buffers and reprs:
``BatchNorm1d/2d/3d``, ``LayerNorm``, ``GroupNorm``, ``InstanceNorm1d/2d/3d``, ``RMSNorm``,
``LocalResponseNorm``. The functional forms are in ``tensorgrad/ops/norm.py`` (one fused op
for batch, layer, group and instance norm)."""
from __future__ import annotations

import numpy as np

from .. import ops as _ops
from ..tensor import _wrap
from . import functional as F
from . import init
from ._nd import nd_variants
from .module import Module, Parameter, check_factory_kwargs

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "GroupNorm",
           "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "RMSNorm",
           "LocalResponseNorm"]


class _Affine(Module):
    """What the normalization layers share: ``weight`` (ones) and ``bias`` (zeros) of one
    shape, either of them switched off (registered as None, as PyTorch), and a repr given
    as a template of the layer's attributes (``_repr``; ``{bias}``: whether it has one)."""
    _repr = ""

    def _affine(self, shape, weight, bias, dt):
        self.register_parameter("weight", Parameter(_wrap(np.ones(shape, dtype=dt)))
                                if weight else None)
        self.register_parameter("bias", Parameter(_wrap(np.zeros(shape, dtype=dt)))
                                if weight and bias else None)

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)
        if getattr(self, "bias", None) is not None:
            init.zeros_(self.bias)

    def extra_repr(self):
        return self._repr.format(**vars(self), bias=getattr(self, "bias", None) is not None)


class _BatchNorm(_Affine):
    _nd = 0
    _repr = ("{num_features}, eps={eps}, momentum={momentum}, affine={affine}, bias={bias}, "
             "track_running_stats={track_running_stats}")

    @property
    def _expected_dims(self):
        """The input ranks the layer takes: (N, C) or (N, C, L) in 1-d, (N, C, *nd dims)
        beyond."""
        return (2, 3) if self._nd == 1 else (self._nd + 2,)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features = int(num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        dt = check_factory_kwargs(type(self).__name__, device, dtype)
        self._affine((self.num_features,), affine, bias, dt)
        if track_running_stats:
            self.register_buffer("running_mean", _wrap(np.zeros(self.num_features, dtype=dt)))
            self.register_buffer("running_var", _wrap(np.ones(self.num_features, dtype=dt)))
            self.register_buffer("num_batches_tracked", _wrap(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean._data[...] = 0
            self.running_var._data[...] = 1
            self.num_batches_tracked._data[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        super().reset_parameters()

    def _check_input_dim(self, input):
        if input.ndim not in self._expected_dims:
            exp = " or ".join(f"{d}D" for d in self._expected_dims)
            raise ValueError(f"{type(self).__name__}: expected {exp} input, got "
                             f"{input.ndim}D input of shape {tuple(input.shape)}")
        if input.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}: input has {input.shape[1]} channels "
                             f"(dim 1), the layer expects num_features={self.num_features} "
                             f"(input shape {tuple(input.shape)})")

    def forward(self, input):
        self._check_input_dim(input)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked._data[...] += 1
            self.num_batches_tracked._version += 1
            if self.momentum is None:  # cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked._data)
        use_batch = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(input,
                            self.running_mean if track else None,
                            self.running_var if track else None,
                            self.weight, self.bias, use_batch, momentum, self.eps)


BatchNorm1d, BatchNorm2d, BatchNorm3d = nd_variants(_BatchNorm, "BatchNorm", (
    "Batch norm over (N, C) or (N, C, L) inputs, per feature/channel C (docs/maths.md §6.9).",
    "Batch norm over (N, C, H, W) inputs, per channel.",
    "Batch norm over (N, C, D, H, W) inputs, per channel."))


class _InstanceNorm(_BatchNorm):
    """Instance norm: statistics per sample and channel over the spatial dims; an unbatched
    input (one dim fewer) is treated as a batch of one. Defaults as PyTorch: no affine
    parameters, no running statistics."""
    _nd = 0

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)

    def forward(self, input):
        cls = type(self).__name__
        nd = self._nd
        if input.ndim not in (nd + 1, nd + 2):
            raise ValueError(f"{cls}: expected {nd + 1}D (unbatched) or {nd + 2}D (batched) "
                             f"input, got {input.ndim}D input of shape {tuple(input.shape)}")
        unbatched = input.ndim == nd + 1
        x = _ops.unsqueeze(input, 0) if unbatched else input
        if x.shape[1] != self.num_features and self.affine:
            raise ValueError(f"{cls}: expected input's size at dim={1 - unbatched} to match "
                             f"num_features ({self.num_features}), but got: "
                             f"{x.shape[1]}.")
        use_input_stats = self.training or not self.track_running_stats
        out = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                              use_input_stats, 0.0 if self.momentum is None else self.momentum,
                              self.eps)
        return _ops.squeeze(out, 0) if unbatched else out


InstanceNorm1d, InstanceNorm2d, InstanceNorm3d = nd_variants(_InstanceNorm, "InstanceNorm", (
    "Instance norm over (N, C, L) or (C, L) inputs.",
    "Instance norm over (N, C, H, W) or (C, H, W) inputs.",
    "Instance norm over (N, C, D, H, W) or (C, D, H, W) inputs."))


def _normalized_shape(normalized_shape):
    if isinstance(normalized_shape, (int, np.integer)):
        return (int(normalized_shape),)
    return tuple(int(s) for s in normalized_shape)


class LayerNorm(_Affine):
    """Normalize over the last dims (``normalized_shape``) of every sample; ``weight`` (ones)
    and ``bias`` (zeros) of shape ``normalized_shape`` when ``elementwise_affine``."""
    _repr = "{normalized_shape}, eps={eps}, elementwise_affine={elementwise_affine}, bias={bias}"

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        dt = check_factory_kwargs("LayerNorm", device, dtype)
        self.normalized_shape = _normalized_shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        self._affine(self.normalized_shape, elementwise_affine, bias, dt)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)


class GroupNorm(_Affine):
    """Normalize groups of channels per sample (Wu & He, 2018); per-channel ``weight`` (ones)
    and ``bias`` (zeros) when ``affine``."""
    _repr = "{num_groups}, {num_channels}, eps={eps}, affine={affine}, bias={bias}"

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        dt = check_factory_kwargs("GroupNorm", device, dtype)
        if num_groups <= 0 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps, self.affine = eps, affine
        self._affine((self.num_channels,), affine, bias, dt)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)


class RMSNorm(_Affine):
    """x / sqrt(mean(x²) + eps) over ``normalized_shape``, times ``weight`` (ones)."""
    _repr = "{normalized_shape}, eps={eps}, elementwise_affine={elementwise_affine}"

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None,
                 dtype=None):
        super().__init__()
        dt = check_factory_kwargs("RMSNorm", device, dtype)
        self.normalized_shape = _normalized_shape(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.register_parameter("weight", Parameter(_wrap(np.ones(self.normalized_shape,
                                                                  dtype=dt)))
                                if elementwise_affine else None)

    def forward(self, input):
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)


class LocalResponseNorm(Module):
    """x / (k + α/n Σ x²)^β over ``size`` neighbouring channels (Krizhevsky et al., 2012)."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
