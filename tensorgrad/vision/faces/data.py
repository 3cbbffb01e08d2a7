"""Identity datasets.

No face set with identities installs offline here. Two stand-ins:

* ``instance_identities`` — every *item* is an identity (one particular shirt, one particular
  sneaker), photographed several times under random pose, lighting and sensor noise: thousands
  of identities with a handful of photos each, like a face set, and the held-out identities are
  items of the other split that the encoder never saw (the "exemplar" idea of Dosovitskiy et
  al., 2014). Negatives range from trivially different (a shoe against a shirt) to hard (two
  similar shirts), which is the setting where FaceNet's mining matters;
* ``load_identities`` — image *classes* as identities: Fashion-MNIST's ten garments (Debian's
  dataset-fashion-mnist), scikit-learn's 8×8 digits, or MNIST subsets (IDX files you provide),
  some classes held out of training entirely. Only a few identities.

For real faces, ``load_image_folder`` reads one folder per person (PNG/JPEG via Pillow).
"""
from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from ...tensor import Tensor

__all__ = ["IdentitySplit", "identity_split", "load_identities", "instance_identities",
           "load_image_folder"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


class IdentitySplit(NamedTuple):
    """Images and identity labels of the training identities and of the held-out ones;
    ``names[label]`` is an identity's name. ``instance_identities`` also gives each image's
    class (``train_classes``, ``test_classes``: e.g. which garment an item is); else None."""
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    names: tuple
    train_classes: np.ndarray = None
    test_classes: np.ndarray = None


def identity_split(images, labels, held_out, names=None):
    """Split by identity: every image whose label is in ``held_out`` goes to the test side."""
    X = images.detach().numpy() if isinstance(images, Tensor) else np.asarray(images)
    y = labels.detach().numpy() if isinstance(labels, Tensor) else np.asarray(labels)
    if X.shape[0] != y.shape[0] or y.ndim != 1:
        raise ValueError(f"identity_split: {X.shape[0]} images but labels of shape {y.shape}")
    held = np.asarray(list(held_out))
    unknown = sorted(set(held.tolist()) - set(np.unique(y).tolist()))
    if unknown:
        raise ValueError(f"identity_split: held-out identities {unknown} have no images "
                         f"(labels present: {np.unique(y).tolist()})")
    test = np.isin(y, held)
    if test.all():
        raise ValueError("identity_split: every identity is held out; nothing is left to train on")
    if names is None:
        names = tuple(str(i) for i in range(int(y.max()) + 1))
    return IdentitySplit(X[~test], y[~test], X[test], y[test], tuple(names))


def load_identities(source="fashion_mnist", held_out=(2, 5, 8), n=None, split="train",
                    path=None, dtype=np.float32):
    """Classes as identities, with ``held_out`` classes kept out of training.

    ``source``: "fashion_mnist" (28×28, names from ``FASHION_MNIST_CLASSES``), "digits"
    (scikit-learn's 8×8 digits) or "mnist" (``tg.data.load_mnist_subset``; needs the IDX files)
    — or a folder path (``load_image_folder``). ``n`` keeps the first n images. Returns an
    ``IdentitySplit`` of numpy arrays (images (N, C, H, W) in [0, 1])."""
    from ... import data as tgdata
    if source == "fashion_mnist":
        X, y = tgdata.load_fashion_mnist(split=split, n=n, path=path, dtype=dtype, as_numpy=True)
        names = tgdata.FASHION_MNIST_CLASSES
    elif source == "digits":
        X, y = tgdata.load_digits(images=True, dtype=dtype, as_numpy=True)
        if n is not None:
            X, y = X[:n], y[:n]
        names = tuple(str(i) for i in range(10))
    elif source == "mnist":
        X, y = tgdata.load_mnist_subset(n=n or 10000, split=split, path=path, dtype=dtype,
                                        as_numpy=True)
        names = tuple(str(i) for i in range(10))
    elif isinstance(source, (str, os.PathLike)) and os.path.isdir(source):
        X, y, names = load_image_folder(source, dtype=dtype)
    else:
        raise ValueError(f"load_identities: source must be 'fashion_mnist', 'digits', 'mnist' or "
                         f"a folder with one sub-folder of images per person, got {source!r}")
    return identity_split(X, y, held_out, names)


def _photos(images, views, seed, shift, noise):
    """``views`` random "photos" of each image: rotation ±15°, translation up to ``shift`` of the
    size, scale 0.85–1.1 (pose), brightness and contrast ×[0.7, 1.3] (lighting), Gaussian noise
    of std ``noise`` (sensor), clipped to [0, 1]. Image-major order. tensorgrad's global random
    state is restored afterwards."""
    from ... import random as _random
    from .. import transforms as T
    pose_light = T.Compose([
        T.RandomAffine(degrees=15, translate=(shift, shift), scale=(0.85, 1.1),
                       interpolation="bilinear"),
        T.ColorJitter(brightness=0.3, contrast=0.3)])
    state = _random.get_rng_state()
    try:
        _random.manual_seed(seed)
        out = np.asarray(pose_light(np.repeat(images, views, axis=0)), dtype=np.float64)
    finally:
        _random.set_rng_state(state)
    out += np.random.default_rng(seed).normal(0.0, noise, out.shape)
    return np.clip(out, 0.0, 1.0)


def instance_identities(source="fashion_mnist", n_train=2000, n_test=500, views=8, seed=0,
                        shift=0.1, noise=0.05, path=None, dtype=np.float32):
    """Every item an identity, each seen in ``views`` random photos (pose, lighting, noise; see
    the module docstring): training identities are the first ``n_train`` images of the training
    split, held-out identities the first ``n_test`` of the test split — other items, never seen
    in training. ``source``: "fashion_mnist" (28×28) or "digits" (scikit-learn's 8×8 digits: the
    first ``n_train`` images train, the last ``n_test`` are held out; at most 1797 in all).

    Returns an ``IdentitySplit``: labels 0..n_train−1 for the training items and
    n_train..n_train+n_test−1 for the held-out ones; ``names[label]`` is e.g. "Sneaker #3" (the
    item's class and its index in its split, "t" marking the test split); ``train_classes`` /
    ``test_classes`` hold each image's class (for hard pairs: two items of one class)."""
    from ... import data as tgdata
    op = "instance_identities"
    for what, v, least in (("n_train", n_train, 2), ("n_test", n_test, 2), ("views", views, 2)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < least:
            raise ValueError(f"{op}: {what} must be an integer >= {least}, got {v!r}")
    if source == "fashion_mnist":
        Xtr, ctr = tgdata.load_fashion_mnist(split="train", n=n_train, path=path,
                                             dtype=np.float32, as_numpy=True)
        Xte, cte = tgdata.load_fashion_mnist(split="test", n=n_test, path=path,
                                             dtype=np.float32, as_numpy=True)
        classes = tgdata.FASHION_MNIST_CLASSES
    elif source == "digits":
        X, c = tgdata.load_digits(images=True, dtype=np.float32, as_numpy=True)
        if n_train + n_test > X.shape[0]:
            raise ValueError(f"{op}: digits has {X.shape[0]} images, asked for n_train={n_train}"
                             f" + n_test={n_test}")
        Xtr, ctr, Xte, cte = X[:n_train], c[:n_train], X[-n_test:], c[-n_test:]
        classes = tuple(str(i) for i in range(10))
    else:
        raise ValueError(f"{op}: source must be 'fashion_mnist' or 'digits', got {source!r}")
    if Xtr.shape[0] < n_train or Xte.shape[0] < n_test:
        raise ValueError(f"{op}: asked for {n_train} training and {n_test} held-out items, the "
                         f"source has {Xtr.shape[0]} and {Xte.shape[0]}")
    ctr, cte = np.asarray(ctr, np.int64), np.asarray(cte, np.int64)
    names = tuple([f"{classes[c]} #{i}" for i, c in enumerate(ctr)]
                  + [f"{classes[c]} #t{i}" for i, c in enumerate(cte)])
    return IdentitySplit(
        _photos(Xtr, views, seed, shift, noise).astype(dtype),
        np.repeat(np.arange(n_train, dtype=np.int64), views),
        _photos(Xte, views, seed + 1, shift, noise).astype(dtype),
        np.repeat(np.arange(n_train, n_train + n_test, dtype=np.int64), views),
        names, np.repeat(ctr, views), np.repeat(cte, views))


def load_image_folder(root, size=None, grayscale=False, dtype=np.float32):
    """One sub-folder per identity under ``root`` (its name is the identity), images inside
    (PNG, JPEG, ... via Pillow). Returns ``(images, labels, names)``: images (N, C, H, W) in
    [0, 1] (C = 1 with ``grayscale`` else 3), int64 labels indexing ``names`` (sorted folder
    names). Images must share one size unless ``size=(H, W)`` resizes them all."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("load_image_folder needs Pillow to read images: pip install Pillow") \
            from None
    if not os.path.isdir(root):
        raise FileNotFoundError(f"load_image_folder: {root} is not a folder")
    names = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    if not names:
        raise ValueError(f"load_image_folder: {root} holds no sub-folders; expected one folder "
                         f"of images per identity (e.g. {root}/alice/1.jpg)")
    images, labels, first = [], [], None
    for k, name in enumerate(names):
        folder = os.path.join(root, name)
        for fname in sorted(os.listdir(folder)):
            if not fname.lower().endswith(IMAGE_EXTENSIONS):
                continue
            fpath = os.path.join(folder, fname)
            with Image.open(fpath) as im:
                im = im.convert("L" if grayscale else "RGB")
                if size is not None:
                    im = im.resize((int(size[1]), int(size[0])), Image.BILINEAR)
                arr = np.asarray(im, dtype=np.float32) / 255.0
            arr = arr[None] if grayscale else arr.transpose(2, 0, 1)
            if first is None:
                first = (fpath, arr.shape)
            elif arr.shape != first[1]:
                raise ValueError(f"load_image_folder: {fpath} is {arr.shape[1]}×{arr.shape[2]} "
                                 f"but {first[0]} is {first[1][1]}×{first[1][2]}; images must "
                                 f"share one size — pass size=(H, W) to resize them")
            images.append(arr)
            labels.append(k)
    if not images:
        raise ValueError(f"load_image_folder: no images ({', '.join(IMAGE_EXTENSIONS)}) in the "
                         f"sub-folders of {root}")
    return (np.stack(images).astype(dtype), np.asarray(labels, dtype=np.int64), tuple(names))
