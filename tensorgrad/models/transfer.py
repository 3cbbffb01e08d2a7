"""**tg** Transfer learning: reuse a network trained on one task (A) for another (B).

The recipe (Yosinski et al. 2014; the course's transfer-learning advice):

1. take a network trained on task A and **replace its head** — the last fully connected layer
   that maps features to A's classes — by a fresh one for B's classes (``replace_head``);
2. with little data for B, **freeze** everything else (``freeze(model, train_last=1)``): the
   early layers' edge and texture detectors transfer, and only the head's weights are learned;
3. since the frozen trunk never changes, **compute its features once** and train the head on
   them (``precompute_features``, cached to a safetensors file, so later runs skip the trunk);
4. with more data for B, **unfreeze more layers** from the top down (``freeze(model,
   train_last=k)`` with a larger k, or ``ProgressiveUnfreezing`` during training) and fine-tune
   with a small learning rate.

Layers are counted in "groups": the top-level children of the model that own parameters,
with ``Sequential`` children opened one level (VGG's ``features.0``, ResNet's ``layer4.1``
block, ...), in forward order (``layer_groups``).
"""
from __future__ import annotations

import hashlib
import os

import numpy as np

from .. import nn
from ..tensor import Tensor, _wrap
from ..autograd.grad_mode import no_grad

__all__ = ["layer_groups", "freeze", "unfreeze", "trainable_parameters", "get_head",
           "set_head", "replace_head", "precompute_features", "ProgressiveUnfreezing"]


def _check_model(model, op):
    if not isinstance(model, nn.Module):
        raise TypeError(f"{op}: expected a tg.nn.Module, got {type(model).__name__}")


def _owns_params(m):
    return any(True for _ in m.parameters())


def layer_groups(model):
    """``[(name, module), ...]``: the model's parameterized layers/blocks in order (top-level
    children; a top-level ``Sequential`` is opened into its elements)."""
    _check_model(model, "layer_groups")
    groups = []
    for name, child in model.named_children():
        if child is None:
            continue
        if isinstance(child, nn.Sequential):
            groups += [(f"{name}.{k}", m) for k, m in child.named_children()
                       if _owns_params(m)]
        elif _owns_params(child):
            groups.append((name, child))
    if not groups and _owns_params(model):
        groups = [("", model)]
    return groups


def freeze(model, train_last=0):
    """Freeze every parameter (``requires_grad_(False)``) except those of the last
    ``train_last`` layer groups; returns the names of the groups left trainable. Batch norm
    layers in frozen groups keep updating their running statistics in ``train()`` mode — call
    ``.eval()`` on them (or on the whole trunk) to hold them fixed too."""
    _check_model(model, "freeze")
    groups = layer_groups(model)
    k = int(train_last)
    if not 0 <= k <= len(groups):
        raise ValueError(f"freeze: train_last must be between 0 and {len(groups)} (the number "
                         f"of layer groups of {type(model).__name__}), got {train_last}")
    model.requires_grad_(False)
    live = groups[len(groups) - k:] if k else []
    for _, m in live:
        m.requires_grad_(True)
    return [n for n, _ in live]


def unfreeze(model):
    """Make every parameter trainable again."""
    _check_model(model, "unfreeze")
    model.requires_grad_(True)
    return model


def trainable_parameters(model):
    """The parameters that require grad (give these to the optimizer)."""
    return [p for p in model.parameters() if p.requires_grad]


_HEADS = ("fc", "classifier", "head", "heads")


def get_head(model):
    """``(path, module)`` of the model's final classification layer: ``fc`` (ResNet,
    GoogLeNet), the last Linear of ``classifier`` (VGG, AlexNet, LeNet-5) or of ``head`` —
    or the ``nn.Identity`` that ``set_head(model, nn.Identity())`` put there."""
    _check_model(model, "get_head")
    for attr in _HEADS:
        m = getattr(model, attr, None)
        if isinstance(m, nn.Sequential):
            if len(m) and isinstance(m[len(m) - 1], (nn.Linear, nn.Identity)):
                return f"{attr}.{len(m) - 1}", m[len(m) - 1]
            idx = [i for i, sub in enumerate(m) if isinstance(sub, nn.Linear)]
            if idx:
                return f"{attr}.{idx[-1]}", m[idx[-1]]
        elif isinstance(m, nn.Module):
            return attr, m
    raise ValueError(f"get_head: found no classification head on {type(model).__name__} "
                     f"(looked for a Linear named {', '.join(_HEADS)} or the last Linear of "
                     f"such a Sequential)")


def set_head(model, module):
    """Put ``module`` where the head was; returns the old head."""
    path, old = get_head(model)
    parent, _, leaf = path.rpartition(".")
    owner = model.get_submodule(parent) if parent else model
    if isinstance(owner, nn.Sequential):
        owner[int(leaf)] = module
    else:
        setattr(owner, leaf, module)
    return old


def replace_head(model, num_classes, bias=True):
    """Swap the head for a freshly initialized ``Linear(in_features, num_classes)`` (same
    dtype) and return it."""
    _, old = get_head(model)
    if not isinstance(old, nn.Linear):
        raise ValueError(f"replace_head: the head of {type(model).__name__} is a "
                         f"{type(old).__name__}, not a Linear whose input size could be reused; "
                         f"use set_head(model, nn.Linear(in_features, {num_classes}))")
    new = nn.Linear(old.in_features, int(num_classes), bias=bias, dtype=old.weight.dtype)
    set_head(model, new)
    return new


def _fingerprint(X):
    h = hashlib.sha1()
    h.update(str((X.shape, X.dtype.str)).encode())
    flat = X.reshape(len(X), -1) if X.ndim > 1 else X[:, None]
    rows = np.linspace(0, len(X) - 1, num=min(len(X), 64)).astype(np.int64)
    h.update(np.ascontiguousarray(flat[rows]).tobytes())
    return h.hexdigest()


def precompute_features(trunk, X, path=None, batch_size=256, progress=False):
    """Run the frozen ``trunk`` (a Module or callable; e.g. the model after
    ``set_head(model, nn.Identity())``) over ``X`` in eval mode without a graph and return the
    features as one Tensor. With ``path``, the features are cached there as safetensors
    (``tg.save``; no pickle) together with a fingerprint of ``X`` and the trunk's parameter
    count: a later call with the same data loads the file instead of recomputing."""
    arr = X._data if isinstance(X, Tensor) else np.asarray(X)
    if arr.ndim < 1 or len(arr) == 0:
        raise ValueError(f"precompute_features: expected a non-empty batch of inputs, got shape "
                         f"{arr.shape}")
    key = _fingerprint(arr)
    n_params = sum(int(p.numel()) for p in trunk.parameters()) \
        if isinstance(trunk, nn.Module) else -1
    from ..io import load, save
    if path is not None and os.path.exists(path):
        cached = load(path)
        if isinstance(cached, dict) and cached.get("fingerprint") == key \
                and cached.get("trunk_params") == n_params:
            return cached["features"]
    was_training = trunk.training if isinstance(trunk, nn.Module) else None
    if isinstance(trunk, nn.Module):
        trunk.eval()
    outs = []
    it = range(0, len(arr), int(batch_size))
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(it, desc="features", unit="batch")
    try:
        with no_grad():
            for i in it:
                out = trunk(_wrap(arr[i:i + int(batch_size)]))
                outs.append(np.array(out._data, copy=True))
    finally:
        if was_training:
            trunk.train()
    feats = _wrap(np.concatenate(outs).reshape(len(arr), -1))
    if path is not None:
        save({"features": feats, "fingerprint": key, "trunk_params": n_params}, path)
    return feats


class ProgressiveUnfreezing:
    """Unfreeze one more layer group (from the top down) every ``every`` calls of ``step()``
    (once per epoch), starting from the last ``start`` groups, up to ``max_groups`` (all if
    None). Optimizers skip parameters without gradients, so give the optimizer all parameters
    from the start; frozen ones wait until they are unfrozen."""

    def __init__(self, model, start=1, every=1, max_groups=None):
        self.model = model
        self.groups = len(layer_groups(model))
        self.trainable = int(start)
        self.every = int(every)
        if self.every < 1:
            raise ValueError(f"ProgressiveUnfreezing: every must be >= 1, got {every}")
        self.max_groups = self.groups if max_groups is None else min(int(max_groups),
                                                                    self.groups)
        self.epoch = 0
        self.names = freeze(model, self.trainable)

    def step(self):
        self.epoch += 1
        if self.epoch % self.every == 0 and self.trainable < self.max_groups:
            self.trainable += 1
            self.names = freeze(self.model, self.trainable)
        return self.names
