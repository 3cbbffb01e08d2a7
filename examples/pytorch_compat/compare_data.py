"""Framework-free helpers the programs here share so that a PyTorch run and a tensorgrad run
start from the same weights and read the same images (this module imports neither).

``numpy_init`` writes weights drawn by numpy into each parameter's memory (through
``p.detach().numpy()``, which shares it in both frameworks); ``load_images`` reads
Fashion-MNIST's IDX files from Debian's ``dataset-fashion-mnist`` or, without them,
scikit-learn's 8x8 digits enlarged to 28x28 (never a download); ``parse_args`` reads a
program's command line from its options' defaults.
"""
import argparse
import gzip
import os

import numpy as np

FASHION = "/usr/share/datasets/fashion-mnist"


def numpy_init(model, seed, fan_in=None):
    """Weights uniform in ±1/√fan_in; ``fan_in(p)`` defaults to the product of a weight's
    trailing dims (100 for a vector)."""
    rng = np.random.default_rng(seed)
    for _, p in model.named_parameters():
        if fan_in is not None:
            n = fan_in(p)
        else:
            n = int(np.prod(tuple(p.shape)[1:])) if p.dim() > 1 else 100
        w = rng.uniform(-1, 1, size=tuple(p.shape)) / np.sqrt(n)
        p.detach().numpy()[...] = w


def read_idx(path):
    """An IDX file (gzipped) as a uint8 array."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(raw[3])]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def load_images(data=None):
    """``(x_train, y_train, x_test, y_test)``, uint8 images (n, 28, 28) and int labels: from
    the ``.npz`` file ``data`` if given, else Fashion-MNIST, else the enlarged digits."""
    if data:
        d = np.load(data)
        return d["x_train"], d["y_train"], d["x_test"], d["y_test"]
    if os.path.isdir(FASHION):
        return tuple(read_idx(f"{FASHION}/{split}-{kind}-idx{k}-ubyte.gz")
                     for split in ("train", "t10k") for kind, k in (("images", 3), ("labels", 1)))
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = np.kron(digits.images, np.ones((3, 3))) * (255 / 16)
    x = np.pad(x, ((0, 0), (2, 2), (2, 2))).astype(np.uint8)
    return x[:1500], digits.target[:1500], x[1500:], digits.target[1500:]


def parse_args(description, help=None, **options):  # noqa: A002 (argparse's word)
    """The command line of a program, declared by its options' defaults: ``name=value`` is the
    option ``--name`` (underscores as dashes) taking value's type, with ``value`` as default;
    ``False`` makes a switch; a type (``int``, ``str``) an option of that type defaulting to
    None; a tuple an option of that many values.  ``help``: {name: help text}."""
    parser = argparse.ArgumentParser(description=description)
    for name, value in options.items():
        kw = {"help": (help or {}).get(name)}
        if value is False:
            kw["action"] = "store_true"
        elif isinstance(value, type):
            kw.update(type=value, default=None)
        elif isinstance(value, tuple):
            kw.update(type=type(value[0]), nargs=len(value), default=value)
        else:
            kw.update(type=type(value), default=value)
        parser.add_argument("--" + name.replace("_", "-"), **kw)
    return parser.parse_args()
