"""Training loops: the encoder on mined triplets, the verification head on pairs."""
from __future__ import annotations

import sys

import numpy as np

from ... import optim
from ...nn import functional as F
from ...tensor import Tensor, _wrap
from .evaluate import make_pairs
from .losses import batch_triplet_loss
from .mining import PKSampler, _labels
from .model import _param_dtype

__all__ = ["train_triplet", "train_verification"]


def _images(X, op):
    arr = X.detach().numpy() if isinstance(X, Tensor) else np.asarray(X)
    if arr.ndim < 2 or arr.shape[0] == 0:
        raise ValueError(f"{op}: expected a non-empty batch of images (N, C, H, W), got shape "
                         f"{arr.shape}")
    return arr


def _bar(total, desc, progress):
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    return tqdm(total=total, desc=desc, unit="step", file=sys.stdout, leave=False)


def train_triplet(encoder, images, labels, *, mining="semi-hard", margin=0.2, p=8, k=8,
                  steps=500, lr=1e-3, optimizer=None, seed=0, progress=True):
    """Train ``encoder`` with the triplet loss on P×K batches (``PKSampler``), mining triplets
    inside each batch (``mining``: "random", "semi-hard", "batch-hard" or "all").

    ``optimizer`` defaults to Adam(lr). Returns a history dict: per step the mean loss
    (``"loss"``) and the fraction of triplets with a positive loss (``"active"``)."""
    X = _images(images, "train_triplet")
    y = labels.detach().numpy() if isinstance(labels, Tensor) else np.asarray(labels)
    _labels(y, "train_triplet", X.shape[0])
    gen = np.random.default_rng(seed)
    sampler = PKSampler(y, p, k, num_batches=steps, generator=gen)
    opt = optimizer if optimizer is not None else optim.Adam(encoder.parameters(), lr=lr)
    dtype = _param_dtype(encoder)
    hist = {"loss": [], "active": []}
    bar = _bar(steps, f"triplet ({mining})", progress)
    encoder.train()
    for idx in sampler:
        emb = encoder(_wrap(np.ascontiguousarray(X[idx], dtype=dtype)))
        loss, info = batch_triplet_loss(emb, y[idx], margin=margin, mining=mining,
                                        generator=gen, return_info=True)
        opt.zero_grad()
        loss.backward()
        opt.step()
        hist["loss"].append(float(loss.item()))
        hist["active"].append(info["active"])
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{hist['loss'][-1]:.4f}", active=f"{info['active']:.2f}")
    if bar is not None:
        bar.close()
    return hist


def train_verification(encoder, head, images, labels, *, steps=300, batch_size=64, lr=1e-3,
                       train_encoder=False, seed=0, progress=True):
    """Train the logistic verification ``head`` (and, with ``train_encoder``, the encoder too —
    the course's siamese network trained as binary classification) on balanced pairs drawn each
    step: label 1 for two images of one identity, 0 otherwise; binary cross-entropy on the
    head's logits. Returns {"loss": [...], "accuracy": [...]} per step (accuracy of the
    batch's decisions at logit 0)."""
    X = _images(images, "train_verification")
    y = labels.detach().numpy() if isinstance(labels, Tensor) else np.asarray(labels)
    _labels(y, "train_verification", X.shape[0])
    gen = np.random.default_rng(seed)
    params = list(head.parameters()) + (list(encoder.parameters()) if train_encoder else [])
    opt = optim.Adam(params, lr=lr)
    dtype = _param_dtype(encoder)
    hist = {"loss": [], "accuracy": []}
    bar = _bar(steps, f"verification ({head.form})", progress)
    encoder.train(train_encoder)
    head.train()
    for _ in range(steps):
        i, j, same = make_pairs(y, batch_size, generator=gen)
        x1 = _wrap(np.ascontiguousarray(X[i], dtype=dtype))
        x2 = _wrap(np.ascontiguousarray(X[j], dtype=dtype))
        if train_encoder:
            f1, f2 = encoder.pair(x1, x2)
        else:
            from ...autograd import no_grad
            with no_grad():
                f1, f2 = encoder.pair(x1, x2)
        logits = head(f1, f2)
        target = _wrap(same.astype(logits.dtype))
        loss = F.binary_cross_entropy_with_logits(logits, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        hist["loss"].append(float(loss.item()))
        hist["accuracy"].append(float(np.mean((logits.detach().numpy() > 0) == same)))
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{hist['loss'][-1]:.4f}")
    if bar is not None:
        bar.close()
    encoder.train()
    return hist
