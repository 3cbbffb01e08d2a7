"""Feature networks for style transfer: activations picked by VGG layer names.

Any model laid out like torchvision's VGG — a ``model.features`` ``Sequential`` of Conv2d,
(BatchNorm2d,) ReLU and pooling layers — works, and so does a bare ``Sequential``. Layers are
named the way the style-transfer literature names VGG's: in block b (blocks end at a pooling
layer) the i-th convolution is ``conv{b}_{i}``, the ReLU after it ``relu{b}_{i}``, its batch
norm ``bn{b}_{i}``, and the pooling layer ``pool{b}``; ``features.{index}`` (or the integer
index) names any layer directly. For VGG-19, Gatys et al. take content from ``conv4_2`` and
style from ``relu1_1 … relu5_1``.

Weights:

* Pretrained VGG (ImageNet) gives the classic results — ``tg.models.vgg16/vgg19(weights=path)``
  where that exists, or ``load_vgg_features(path)`` here, from a safetensors file converted
  once from torchvision's weights with ``convert_torchvision_vgg`` (see its docstring). Expect
  painterly results that keep objects recognisable; use ``IMAGENET_MEAN``/``IMAGENET_STD``.
* Offline default, ``random_features(seed)``: a seeded VGG-layout network with random weights
  and average pooling, so its layers see the image at four scales (1, ½, ¼, ⅛). Random
  convolutional features already carry texture statistics (Ustyuzhaninov, Brendel, Gatys &
  Bethge, "What does it take to generate natural textures?", ICLR 2017; He, Gao & Bai, "A
  powerful generative model using random weights for the deep image representation", NeurIPS
  2016): expect the style image's colours and local texture (strokes, grain, blotches) to be
  transferred while the content's edges stay; do not expect object-level understanding, and
  expect coarser, noisier textures than with VGG.
"""
from __future__ import annotations

import os

import numpy as np

from ... import nn
from ...tensor import Tensor, _wrap

__all__ = ["vgg_layer_names", "FeatureExtractor", "random_features", "RandomFeatures",
           "convert_torchvision_vgg", "vgg_features_from_state_dict", "load_vgg_features",
           "IMAGENET_MEAN", "IMAGENET_STD", "VGG19_CONTENT", "VGG19_STYLE"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
VGG19_CONTENT = "conv4_2"
VGG19_STYLE = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def _sequential(model, op):
    feats = getattr(model, "features", model)
    if not isinstance(feats, nn.Sequential):
        raise TypeError(f"{op}: expected a model with a `features` Sequential (torchvision's VGG "
                        f"layout) or a Sequential, got {type(model).__name__}")
    return feats


def vgg_layer_names(model):
    """The VGG-style names of the layers of ``model.features`` (or of a Sequential), in order."""
    feats = _sequential(model, "vgg_layer_names")
    names, block, conv = [], 1, 0
    for m in feats:
        if isinstance(m, nn.Conv2d):
            conv += 1
            names.append(f"conv{block}_{conv}")
        elif isinstance(m, nn.ReLU):
            names.append(f"relu{block}_{conv}")
        elif isinstance(m, nn.BatchNorm2d):
            names.append(f"bn{block}_{conv}")
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            names.append(f"pool{block}")
            block, conv = block + 1, 0
        else:
            names.append(f"{type(m).__name__.lower()}{block}_{conv}")
    return names


class FeatureExtractor(nn.Module):
    """Run ``model.features`` (VGG layout) up to the deepest requested layer and return
    ``{name: activation}`` for ``layers`` (VGG-style names, ``"features.<i>"`` or ints).
    ``mean``/``std`` (per channel) normalise the [0, 1] input first — ImageNet's for VGG.
    The network's parameters are frozen (``requires_grad=False``): only the image is optimised.
    """

    def __init__(self, model, layers, mean=None, std=None):
        super().__init__()
        feats = _sequential(model, "FeatureExtractor")
        names = vgg_layer_names(feats)
        if isinstance(layers, (str, int)):
            layers = [layers]
        layers = list(dict.fromkeys(layers))
        if not layers:
            raise ValueError("FeatureExtractor: no layers requested")
        index = {}
        for layer in layers:
            i = self._resolve(layer, names)
            index[layer if not isinstance(layer, (int, np.integer)) else f"features.{layer}"] = i
        self.features = feats
        self.layer_index = index
        self.depth = max(index.values()) + 1
        for p in feats.parameters():
            p.requires_grad_(False)
        self._mean = None if mean is None else np.asarray(mean, np.float32).reshape(1, -1, 1, 1)
        self._std = None if std is None else np.asarray(std, np.float32).reshape(1, -1, 1, 1)

    @staticmethod
    def _resolve(layer, names):
        if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
            if 0 <= layer < len(names):
                return int(layer)
        elif isinstance(layer, str):
            if layer in names:
                return names.index(layer)
            if layer.startswith("features."):
                tail = layer.split(".", 1)[1]
                if tail.isdigit() and int(tail) < len(names):
                    return int(tail)
        raise ValueError(f"FeatureExtractor: no layer {layer!r}; expected one of {names} (or "
                         f"'features.<index>' with index < {len(names)})")

    def forward(self, x):
        if not isinstance(x, Tensor) or x.ndim != 4:
            raise ValueError(f"FeatureExtractor: expected an (N, C, H, W) image tensor, got "
                             f"{getattr(x, 'shape', type(x).__name__)}")
        c_in = next((m.in_channels for m in self.features if isinstance(m, nn.Conv2d)), None)
        if c_in is not None and x.shape[1] != c_in:
            raise ValueError(f"FeatureExtractor: the network expects {c_in}-channel images, got "
                             f"{x.shape[1]} channels (shape {x.shape})")
        if self._mean is not None:
            x = x - _wrap(self._mean.astype(x.dtype))
        if self._std is not None:
            x = x / _wrap(self._std.astype(x.dtype))
        wanted = {}
        for name, i in self.layer_index.items():
            wanted.setdefault(i, []).append(name)
        out = {}
        for i, m in enumerate(self.features):
            if i >= self.depth:
                break
            x = m(x)
            for name in wanted.get(i, ()):
                out[name] = x
        return out


class RandomFeatures(nn.Module):
    """A VGG-layout ``features`` Sequential with seeded random weights (see the module doc)."""

    def __init__(self, features):
        super().__init__()
        self.features = features


def random_features(seed=0, widths=(32, 64, 128, 128), convs=(2, 2, 2, 1), in_channels=3,
                    dtype=np.float32):
    """The offline default feature network: blocks of 3×3 convolutions + ReLU separated by 2×2
    average pooling (so ``relu1_1 … relu4_1`` see four scales), weights drawn from N(0, 1) with a
    numpy generator seeded by ``seed`` (independent of ``tg.manual_seed``), each filter scaled to
    norm √2 (He-style, so activations keep their size through the ReLUs), zero biases.
    Returns a module with ``.features``."""
    if len(widths) != len(convs):
        raise ValueError(f"random_features: widths {widths} and convs {convs} must have one "
                         f"entry per block")
    rng = np.random.default_rng(seed)
    layers, state, c = [], {}, in_channels
    for b, (w, n) in enumerate(zip(widths, convs)):
        for _ in range(n):
            W = rng.standard_normal((w, c, 3, 3))
            W *= np.sqrt(2.0) / np.linalg.norm(W.reshape(w, -1), axis=1)[:, None, None, None]
            state[f"features.{len(layers)}.weight"] = _wrap(W.astype(dtype))
            state[f"features.{len(layers)}.bias"] = _wrap(np.zeros(w, dtype))
            layers += [nn.Conv2d(c, w, 3, padding=1, dtype=dtype), nn.ReLU()]
            c = w
        if b < len(widths) - 1:
            layers.append(nn.AvgPool2d(2))
    model = RandomFeatures(nn.Sequential(*layers))
    model.load_state_dict(state)
    return model.eval()


# ---- pretrained VGG: conversion from torchvision and loading --------------------------------
def _to_numpy(v, key):
    if isinstance(v, Tensor):
        return np.asarray(v.detach().numpy())
    if isinstance(v, np.ndarray):
        return v
    if hasattr(v, "detach") and hasattr(v, "numpy"):  # a torch tensor
        return v.detach().cpu().numpy()
    raise TypeError(f"convert_torchvision_vgg: value of {key!r} is a {type(v).__name__}, "
                    f"expected a tensor or array")


def convert_torchvision_vgg(src, dst, features_only=True):
    """Write a torchvision VGG state dict as a safetensors file (via ``tg.save``).

    ``src`` is a state dict (torch tensors, numpy arrays or tg tensors) or a path to a ``.pth``
    file saved with ``torch.save(model.state_dict(), path)`` (read with
    ``torch.load(weights_only=True)``, so PyTorch must be installed for that form). Keys keep
    torchvision's names (``features.0.weight`` …); ``features_only`` drops the classifier
    (style transfer needs only the convolutional trunk: ~80 MB instead of ~550 MB for VGG-19).
    Returns the list of keys written. Done once where torchvision is at hand::

        import torch, torchvision
        sd = torchvision.models.vgg19(weights="IMAGENET1K_V1").state_dict()
        tg.vision.style.convert_torchvision_vgg(sd, "vgg19_features.safetensors")
    """
    if isinstance(src, (str, os.PathLike)):
        try:
            import torch
        except ImportError:
            raise ImportError("convert_torchvision_vgg: reading a .pth file needs PyTorch; or "
                              "pass the state dict itself") from None
        src = torch.load(src, map_location="cpu", weights_only=True)
    if not isinstance(src, dict) or not src:
        raise TypeError(f"convert_torchvision_vgg: expected a non-empty state dict or a path, "
                        f"got {type(src).__name__}")
    if not any(k.startswith("features.") for k in src):
        raise ValueError(f"convert_torchvision_vgg: no 'features.*' keys — not a torchvision "
                         f"VGG state dict (keys start {sorted(src)[:4]})")
    out = {k: _wrap(np.array(_to_numpy(v, k), order="C", copy=True)) for k, v in src.items()
           if not features_only or k.startswith("features.")}
    from ...io import save
    save(out, dst)
    return list(out)


def vgg_features_from_state_dict(state_dict, dtype=np.float32):
    """Build the ``features`` Sequential that a torchvision VGG state dict describes (any depth,
    with or without batch norm; layer positions read from the keys) and load the weights.
    Returns a module with ``.features`` (its state-dict keys are torchvision's), in eval mode."""
    idx, state = {}, {}
    for k, v in state_dict.items():
        parts = k.split(".")
        if len(parts) == 3 and parts[0] == "features" and parts[1].isdigit():
            arr = _to_numpy(v, k)
            idx.setdefault(int(parts[1]), {})[parts[2]] = arr
            state[k] = _wrap(arr.astype(np.int64 if parts[2] == "num_batches_tracked"
                                        else dtype))
    if not idx:
        raise ValueError("vgg_features_from_state_dict: no 'features.<i>.<name>' keys found")
    layers, i, last = [], 0, max(idx)
    while i <= last:
        w = idx.get(i, {}).get("weight")
        if w is None or w.ndim != 4:
            raise ValueError(f"vgg_features_from_state_dict: expected a convolution weight "
                             f"(out, in, k, k) at features.{i} (torchvision's VGG layout), found "
                             f"{'nothing' if w is None else f'shape {w.shape}'}")
        layers.append(nn.Conv2d(w.shape[1], w.shape[0], w.shape[2], padding=w.shape[2] // 2,
                                dtype=dtype))
        i += 1
        if "running_mean" in idx.get(i, {}):
            layers.append(nn.BatchNorm2d(w.shape[0], dtype=dtype))
            i += 1
        layers.append(nn.ReLU())
        i += 1
        nxt = min((j for j in idx if j >= i), default=None)
        if nxt is None or nxt > i:  # a gap holds a pooling layer (and the trunk ends with one)
            layers.append(nn.MaxPool2d(2))
            i += 1
    model = RandomFeatures(nn.Sequential(*layers))
    model.load_state_dict(state)
    return model.eval()


def load_vgg_features(path):
    """VGG features from a safetensors file written by ``convert_torchvision_vgg`` (or any file
    holding torchvision's ``features.*`` keys)."""
    from ...io import load
    return vgg_features_from_state_dict(load(path))
