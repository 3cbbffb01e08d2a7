"""Helpers shared by the model builders: loading weights, checking inputs, initialization."""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager

import numpy as np

from ..tensor import Tensor
from ..nn import init

__all__ = ["load_weights", "check_images", "init_like_torchvision", "uninitialized_linear",
           "default_init_", "deferred_init", "init_deferred"]


def load_weights(model, weights, name):
    """Load ``weights`` into ``model``: ``None`` (keep the random init), a path to a
    safetensors file (``tg.save(model.state_dict(), path)``, or a file written by
    ``safetensors.torch.save_file(torchvision_model.state_dict(), path)``) or a state dict.
    Keys and shapes must match exactly (``load_state_dict(strict=True)``)."""
    if weights is None:
        return model
    if isinstance(weights, (str, os.PathLike)):
        from ..io import load
        state = load(weights)
        if isinstance(state, dict) and "model" in state and hasattr(state["model"], "items") \
                and not any(isinstance(v, Tensor) for v in state.values()):
            state = state["model"]  # a tg.train checkpoint
    elif hasattr(weights, "items"):
        state = weights
    else:
        raise TypeError(f"{name}: weights must be None, a path to a safetensors file or a "
                        f"state dict, got {type(weights).__name__} (torchvision's weight enums "
                        f"are not available: save the state_dict to safetensors and pass the "
                        f"path)")
    model.load_state_dict(state)  # strict: every parameter now holds loaded values
    for m in model.modules():
        if getattr(m, "_tg_uninitialized", False):
            m._tg_uninitialized = False
    return model


_DEFER = threading.local()


@contextmanager
def deferred_init():
    """While inside, the big models skip their random initialization (a builder that is about
    to load weights into every parameter uses it)."""
    old = getattr(_DEFER, "on", False)
    _DEFER.on = True
    try:
        yield
    finally:
        _DEFER.on = old


def init_deferred():
    return getattr(_DEFER, "on", False)


def check_images(name, x, in_channels, size=None, min_size=None):
    """Raise a clear error unless ``x`` is an image batch ``(N, in_channels, H, W)`` (with
    ``(H, W) == size`` for a fixed-size head, and ``H, W >= min_size``)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor of images (N, {in_channels}, H, W), got "
                        f"{type(x).__name__}")
    shape = tuple(x.shape)
    if len(shape) != 4:
        raise ValueError(f"{name}: expected a 4-D batch of images (N, {in_channels}, H, W), "
                         f"got a {len(shape)}-D input of shape {shape}")
    if shape[1] != in_channels:
        raise ValueError(f"{name}: expected {in_channels} input channel"
                         f"{'s' if in_channels != 1 else ''} (N, {in_channels}, H, W), got "
                         f"{shape[1]} (input shape {shape})")
    if size is not None and tuple(shape[2:]) != tuple(size):
        raise ValueError(f"{name}: the fixed-size head expects {size[0]}x{size[1]} images "
                         f"(N, {in_channels}, {size[0]}, {size[1]}), got {shape[2]}x{shape[3]} "
                         f"(input shape {shape})")
    if min_size is not None and min(shape[2:]) < min_size:
        raise ValueError(f"{name}: images must be at least {min_size}x{min_size} for the "
                         f"feature extractor's strides and pools, got {shape[2]}x{shape[3]} "
                         f"(input shape {shape})")


def init_like_torchvision(model, linear="default"):
    """torchvision's initialization for conv nets: every Conv2d kaiming-normal (fan_out, ReLU)
    with zero bias, every BatchNorm weight 1 and bias 0; ``linear="normal"`` gives Linear
    layers N(0, 0.01²) weights and zero biases (VGG), ``"default"`` keeps PyTorch's default
    (ResNet)."""
    from ..nn import BatchNorm2d, Conv2d, Linear
    for m in model.modules():
        if isinstance(m, Conv2d):
            init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                init.zeros_(m.bias)
        elif isinstance(m, BatchNorm2d):
            init.ones_(m.weight)
            init.zeros_(m.bias)
        elif isinstance(m, Linear) and linear == "normal":
            init.normal_(m.weight, 0.0, 0.01)
            init.zeros_(m.bias)
            m._tg_uninitialized = False
    return default_init_(model)


def uninitialized_linear(in_features, out_features):
    """A ``Linear(in_features, out_features)`` whose parameters are allocated but not drawn:
    the big classifiers of AlexNet/VGG hold ~10^8 weights, and drawing PyTorch's default init
    only to overwrite it (torchvision's VGG init, or loaded weights) costs seconds. The caller
    initializes it (``default_init_`` gives PyTorch's default)."""
    from ..nn import Linear, Parameter
    lin = Linear(1, 1)
    lin.in_features, lin.out_features = int(in_features), int(out_features)
    lin.weight = Parameter(np.empty((lin.out_features, lin.in_features), np.float32))
    lin.bias = Parameter(np.empty((lin.out_features,), np.float32))
    lin._tg_uninitialized = True
    return lin


def default_init_(model):
    """PyTorch's default initialization for every Linear left uninitialized."""
    for m in model.modules():
        if getattr(m, "_tg_uninitialized", False):
            m.reset_parameters()
            m._tg_uninitialized = False
    return model
