"""The siamese encoder f(x) and the binary verification head.

A siamese network runs two images through *one* encoder (shared weights) and compares the two
encodings. ``SiameseEncoder`` wraps any backbone (a ConvNet whose output is flattened) with a
linear embedding head and L2-normalises the result, so every encoding lies on the unit sphere and
squared distances ‖f(x₁) − f(x₂)‖² lie in [0, 4].

``VerificationHead`` is the course's alternative to the triplet loss: logistic regression on the
pair of encodings, ŷ = σ(Σₖ wₖ·φₖ + b), with the features φ either |f(xᵢ)ₖ − f(xⱼ)ₖ| ("abs", as
DeepFace / Taigman et al. 2014) or the χ² similarity (f(xᵢ)ₖ − f(xⱼ)ₖ)² / (f(xᵢ)ₖ + f(xⱼ)ₖ)
("chi2"), which needs non-negative encodings (``SiameseEncoder(..., nonnegative=True)``).
"""
from __future__ import annotations

import numpy as np

from ... import nn
from ... import ops as _ops
from ...autograd import no_grad
from ...nn.triplet import normalize
from ...tensor import Tensor, _wrap

__all__ = ["SiameseEncoder", "VerificationHead", "small_convnet", "embed"]


def small_convnet(in_channels=1, widths=(16, 32, 64)):
    """A VGG-style trunk for small images: per width, conv3×3 (padding 1) + ReLU + max-pool 2×2,
    then Flatten. For 28×28 inputs and the default widths the output has 64·3·3 = 576 features."""
    layers, c = [], in_channels
    for w in widths:
        layers += [nn.Conv2d(c, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        c = w
    return nn.Sequential(*layers, nn.Flatten())


class SiameseEncoder(nn.Module):
    """f(x) = normalize(W · backbone(x) + b): an L2-normalised embedding of size
    ``embedding_dim``. ``in_features`` is the backbone's flattened output size; give it, or give
    ``input_shape`` = (C, H, W) and it is found by running a zero image through the backbone.
    ``nonnegative=True`` puts a ReLU before the normalisation (for the χ² head).

    ``encoder(x)`` embeds a batch; ``encoder.pair(x1, x2)`` embeds two batches with the shared
    weights; ``encoder.distance(x1, x2)`` is the squared distance per pair."""

    def __init__(self, backbone, embedding_dim=64, in_features=None, input_shape=None,
                 nonnegative=False):
        super().__init__()
        if not isinstance(backbone, nn.Module):
            raise TypeError(f"SiameseEncoder: backbone must be a tg.nn.Module, got "
                            f"{type(backbone).__name__}")
        if in_features is None:
            if input_shape is None:
                raise ValueError("SiameseEncoder: give in_features (the backbone's flattened "
                                 "output size) or input_shape=(C, H, W) to infer it")
            with no_grad():
                out = backbone(_wrap(np.zeros((1, *input_shape), dtype=np.float32)))
            in_features = int(np.prod(out.shape[1:]))
        self.backbone = backbone
        self.embedding = nn.Linear(int(in_features), int(embedding_dim))
        self.embedding_dim = int(embedding_dim)
        self.nonnegative = bool(nonnegative)
        self.input_shape = tuple(input_shape) if input_shape is not None else None

    def forward(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"SiameseEncoder: expected a Tensor of images, got "
                            f"{type(x).__name__}")
        if self.input_shape is not None and tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"SiameseEncoder: expected images of shape (N, "
                             f"{', '.join(map(str, self.input_shape))}), got {x.shape}")
        h = self.backbone(x)
        h = h.reshape(h.shape[0], -1)
        z = self.embedding(h)
        if self.nonnegative:
            z = _ops.relu(z)
        return normalize(z, dim=1)

    def pair(self, x1, x2):
        """Both encodings with the same weights (the siamese twins)."""
        return self(x1), self(x2)

    def distance(self, x1, x2):
        """‖f(x1) − f(x2)‖² per pair of images."""
        f1, f2 = self.pair(x1, x2)
        return _ops.sum((f1 - f2) ** 2, dim=1)

    def extra_repr(self):
        return f"embedding_dim={self.embedding_dim}, nonnegative={self.nonnegative}"


class VerificationHead(nn.Module):
    """Logistic regression on a pair of encodings: returns the logit w·φ(f₁, f₂) + b (use
    ``torch.sigmoid`` / ``tg.sigmoid`` for ŷ and ``F.binary_cross_entropy_with_logits`` to
    train). ``form`` = "abs" (φ = |f₁ − f₂|) or "chi2" (φ = (f₁ − f₂)² / (f₁ + f₂ + eps), needs
    f ≥ 0)."""

    def __init__(self, embedding_dim, form="abs", eps=1e-6):
        super().__init__()
        if form not in ("abs", "chi2"):
            raise ValueError(f"VerificationHead: form must be 'abs' or 'chi2', got {form!r}")
        self.form, self.eps = form, float(eps)
        self.linear = nn.Linear(int(embedding_dim), 1)

    def features(self, f1, f2):
        if f1.shape != f2.shape or f1.ndim != 2:
            raise ValueError(f"VerificationHead: expected two (N, D) batches of encodings of one "
                             f"shape, got {f1.shape} and {f2.shape}")
        if f1.shape[1] != self.linear.in_features:
            raise ValueError(f"VerificationHead: encodings have {f1.shape[1]} features, the head "
                             f"expects {self.linear.in_features}")
        diff = f1 - f2
        if self.form == "abs":
            return _ops.abs(diff)
        if (f1.detach().numpy() < 0).any() or (f2.detach().numpy() < 0).any():
            raise ValueError("VerificationHead(form='chi2'): the χ² form needs non-negative "
                             "encodings (f₁ + f₂ in the denominator); build the encoder with "
                             "SiameseEncoder(..., nonnegative=True) or use form='abs'")
        return diff * diff / (f1 + f2 + self.eps)

    def forward(self, f1, f2):
        return self.linear(self.features(f1, f2)).reshape(-1)

    def extra_repr(self):
        return f"form={self.form!r}"


def embed(encoder, images, batch_size=256):
    """Encodings of ``images`` (numpy or Tensor, (N, C, H, W)) as an (N, D) float64 numpy array,
    computed in eval mode without a graph (the encoder's mode is restored)."""
    arr = images.detach().numpy() if isinstance(images, Tensor) else np.asarray(images)
    if arr.ndim < 2 or arr.shape[0] == 0:
        raise ValueError(f"embed: expected a non-empty batch of images (N, C, H, W), got shape "
                         f"{arr.shape}")
    was_training = encoder.training
    encoder.eval()
    dtype = _param_dtype(encoder)
    try:
        out = []
        with no_grad():
            for s in range(0, arr.shape[0], batch_size):
                out.append(encoder(_wrap(np.ascontiguousarray(arr[s:s + batch_size],
                                                              dtype=dtype))).numpy())
    finally:
        encoder.train(was_training)
    return np.concatenate(out).astype(np.float64)


def _param_dtype(module):
    for p in module.parameters():
        return p.dtype
    return np.float32
