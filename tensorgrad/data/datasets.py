"""Real datasets that ship with installable packages — never downloaded at run time.

* ``load_digits`` and ``load_breast_cancer`` come with scikit-learn.
* ``load_fashion_mnist`` reads Debian's ``dataset-fashion-mnist`` package
  (``apt-get install dataset-fashion-mnist``: IDX files under /usr/share/datasets/fashion-mnist).
* ``load_mnist_subset`` reads MNIST IDX files from a folder you give (no package here ships
  MNIST itself); ``read_idx`` parses any IDX file.
"""
from __future__ import annotations

import gzip
import os

import numpy as np

from ..tensor import _wrap

__all__ = ["load_digits", "load_breast_cancer", "load_fashion_mnist", "load_mnist_subset",
           "read_idx", "FASHION_MNIST_CLASSES"]

FASHION_MNIST_DIRS = ("/usr/share/datasets/fashion-mnist",)
MNIST_DIRS = ("/usr/share/datasets/mnist",)
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")


def _sklearn(op):
    try:
        import sklearn.datasets as skd
    except ImportError:
        raise ImportError(f"{op} needs scikit-learn, which ships this dataset: "
                          f"pip install scikit-learn") from None
    return skd


def _out(X, y, as_numpy):
    return (X, y) if as_numpy else (_wrap(X), _wrap(y))


def load_digits(images=False, dtype=np.float32, as_numpy=False):
    """scikit-learn's 1,797 handwritten digits (8×8, an MNIST-like set), pixels scaled to [0, 1].

    Returns ``(X, y)``: ``X`` of shape (1797, 64), or (1797, 1, 8, 8) with ``images=True``;
    ``y`` int64 labels 0–9. Tensors unless ``as_numpy``."""
    d = _sklearn("load_digits").load_digits()
    X = (d.data / 16.0).astype(dtype)
    if images:
        X = X.reshape(-1, 1, 8, 8)
    return _out(X, d.target.astype(np.int64), as_numpy)


def load_breast_cancer(dtype=np.float32, as_numpy=False):
    """scikit-learn's Wisconsin breast-cancer data: 569 examples, 30 raw (unnormalized)
    features, ``y`` = 1 for benign, 0 for malignant. Returns ``(X, y)``."""
    d = _sklearn("load_breast_cancer").load_breast_cancer()
    return _out(d.data.astype(dtype), d.target.astype(np.int64), as_numpy)


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path, limit=None) -> np.ndarray:
    """Parse an IDX file (the MNIST format), gzipped or not. ``limit`` keeps the first items."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        head = f.read(4)
        if len(head) != 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_TYPES:
            raise ValueError(f"read_idx: {path} is not an IDX file (magic bytes {head!r})")
        dt = np.dtype(_IDX_TYPES[head[2]])
        ndim = head[3]
        dims = [int.from_bytes(f.read(4), "big") for _ in range(ndim)]
        n = dims[0] if limit is None else min(dims[0], int(limit))
        count = n * int(np.prod(dims[1:], dtype=np.int64))
        data = np.frombuffer(f.read(count * dt.itemsize), dtype=dt)
    if data.size != count:
        raise ValueError(f"read_idx: {path} is truncated ({data.size} of {count} values)")
    return data.reshape([n] + dims[1:]).astype(dt.newbyteorder("="), copy=False)


def _find(stem, folder):
    for name in (stem, stem + ".gz"):
        p = os.path.join(folder, name)
        if os.path.exists(p):
            return p
    return None


def _load_idx_pair(op, folder, split, n, flatten, dtype, as_numpy):
    if split not in ("train", "test"):
        raise ValueError(f"{op}: split must be 'train' or 'test', got {split!r}")
    prefix = "train" if split == "train" else "t10k"
    img = _find(f"{prefix}-images-idx3-ubyte", folder)
    lab = _find(f"{prefix}-labels-idx1-ubyte", folder)
    if img is None or lab is None:
        return None
    if n is not None and (int(n) != n or n < 1):
        raise ValueError(f"{op}: n must be a positive integer, got {n!r}")
    X = read_idx(img, limit=n).astype(dtype) / dtype(255)
    y = read_idx(lab, limit=n).astype(np.int64)
    X = X.reshape(len(X), -1) if flatten else X.reshape(len(X), 1, *X.shape[1:])
    return _out(X, y, as_numpy)


def _first_idx_pair(op, what, folders, split, n, flatten, dtype, as_numpy, hint):
    """The IDX pair from the first folder that holds it, or FileNotFoundError with ``hint``."""
    for folder in folders:
        out = _load_idx_pair(op, folder, split, n, flatten, dtype, as_numpy)
        if out is not None:
            return out
    raise FileNotFoundError(f"{op}: {what} were not found (looked in {', '.join(folders)}). "
                            f"{hint}")


def load_fashion_mnist(split="train", n=None, flatten=False, path=None, dtype=np.float32,
                       as_numpy=False):
    """Fashion-MNIST (Zalando; 60k train / 10k test, 28×28 greyscale, 10 classes named in
    ``FASHION_MNIST_CLASSES``). ``n`` keeps the first n examples. Returns ``(X, y)`` with X of
    shape (n, 1, 28, 28) in [0, 1] (or (n, 784) with ``flatten``).

    Looks in ``path``, then ``$TENSORGRAD_FASHION_MNIST_DIR``, then Debian's install folder."""
    folders = [p for p in (path, os.environ.get("TENSORGRAD_FASHION_MNIST_DIR")) if p]
    folders += list(FASHION_MNIST_DIRS)
    return _first_idx_pair(
        "load_fashion_mnist", "the Fashion-MNIST files", folders, split, n, flatten, dtype,
        as_numpy, "Install Debian's package with `apt-get install dataset-fashion-mnist` (it puts "
        f"them under /usr/share/datasets/fashion-mnist), or pass path= to a folder holding "
        f"{split if split == 'train' else 't10k'}-images-idx3-ubyte.gz and the labels file. "
        "tensorgrad never downloads data.")


def load_mnist_subset(n=10000, split="train", flatten=False, path=None, dtype=np.float32,
                      as_numpy=False):
    """The first ``n`` MNIST digits from IDX files in ``path`` (or ``$TENSORGRAD_MNIST_DIR``, or
    /usr/share/datasets/mnist). No package installable here ships MNIST itself, so without the
    files this raises an error that says what to use instead."""
    folders = [p for p in (path, os.environ.get("TENSORGRAD_MNIST_DIR")) if p] + list(MNIST_DIRS)
    return _first_idx_pair(
        "load_mnist_subset", "MNIST IDX files", folders, split, n, flatten, dtype, as_numpy,
        "tensorgrad knows of no installable package that ships MNIST and never downloads data: "
        "put train-images-idx3-ubyte(.gz) / train-labels-idx1-ubyte(.gz) (and t10k-*) in a folder "
        "and pass path= or set TENSORGRAD_MNIST_DIR. Offline alternatives: "
        "tg.data.load_digits() (scikit-learn's 8x8 digits) or tg.data.load_fashion_mnist() "
        "(apt-get install dataset-fashion-mnist).")
