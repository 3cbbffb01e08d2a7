"""Identity datasets.

No face set with identities installs offline here, so the mechanics run on image *classes* as
identities: Fashion-MNIST's ten garments (Debian's dataset-fashion-mnist), scikit-learn's 8×8
digits, or MNIST subsets (IDX files you provide). Some classes are held out of training
entirely, for one-shot tests on identities the encoder has never seen. For real faces,
``load_image_folder`` reads one folder per person (PNG/JPEG via Pillow).
"""
from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from ...tensor import Tensor

__all__ = ["IdentitySplit", "identity_split", "load_identities", "load_image_folder"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


class IdentitySplit(NamedTuple):
    """Images and identity labels of the training identities and of the held-out ones;
    ``names[label]`` is an identity's name."""
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    names: tuple


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
