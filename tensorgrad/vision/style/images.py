"""Reading, resizing and writing RGB images for style transfer (Pillow for files and resizing).

Images travel as (1, 3, H, W) float tensors with values in [0, 1]. ``load_image`` accepts a file
path, a numpy array (H, W, 3) / (H, W) (uint8 0–255 or float 0–1), a tensor (1, 3, H, W) or
(3, H, W), or the name of an image bundled with an installed package — ``"skimage:chelsea"``
(any ``skimage.data`` image function) or ``"sklearn:flower.jpg"`` (scikit-learn's sample
images) — so the examples run offline.
"""
from __future__ import annotations

import os

import numpy as np

from ...tensor import Tensor, _wrap

__all__ = ["load_image", "save_image", "to_numpy_image", "resize_image", "fit_size"]


def _pil():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("tg.vision.style needs Pillow to read, resize and write images: "
                          "pip install Pillow") from None
    return Image


def _named(name):
    lib, _, what = name.partition(":")
    if lib == "skimage":
        try:
            import skimage.data as skd
        except ImportError:
            raise ImportError(f"load_image: {name!r} needs scikit-image: pip install "
                              f"scikit-image") from None
        fn = getattr(skd, what, None)
        if fn is None or not callable(fn):
            raise ValueError(f"load_image: skimage.data has no image {what!r} (try chelsea, "
                             f"astronaut, coffee, immunohistochemistry, rocket, ...)")
        return np.asarray(fn())
    try:
        from sklearn.datasets import load_sample_image
    except ImportError:
        raise ImportError(f"load_image: {name!r} needs scikit-learn") from None
    try:
        return np.asarray(load_sample_image(what))
    except AttributeError:
        raise ValueError(f"load_image: scikit-learn has no sample image {what!r} (china.jpg, "
                         f"flower.jpg)") from None


def _to_hwc(img):
    if isinstance(img, (str, os.PathLike)):
        s = str(img)
        if s.startswith(("skimage:", "sklearn:")):
            arr = _named(s)
        else:
            if not os.path.exists(s):
                raise FileNotFoundError(f"load_image: no such file {s!r}")
            with _pil().open(s) as im:
                arr = np.asarray(im.convert("RGB"))
    elif isinstance(img, Tensor):
        a = img.detach().numpy()
        if a.ndim == 4:
            if a.shape[0] != 1:
                raise ValueError(f"load_image: expected one image, got a batch of shape {a.shape}")
            a = a[0]
        if a.ndim != 3 or a.shape[0] not in (1, 3):
            raise ValueError(f"load_image: expected a (1, 3, H, W) or (3, H, W) tensor, got "
                             f"{img.shape}")
        arr = a.transpose(1, 2, 0)
    else:
        arr = np.asarray(img)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise ValueError(f"load_image: expected an (H, W, 3) RGB or (H, W) grey image, got shape "
                         f"{arr.shape}")
    arr = arr[:, :, :3]
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    return np.clip(arr.astype(np.float32), 0.0, 1.0)


def resize_image(arr, size):
    """Resize an (H, W, 3) float image to ``size`` = (H', W') with Pillow's Lanczos filter."""
    Image = _pil()
    h, w = int(size[0]), int(size[1])
    if (h, w) == arr.shape[:2]:
        return arr
    chans = [np.asarray(Image.fromarray(arr[:, :, c].astype(np.float32), mode="F")
                        .resize((w, h), Image.LANCZOS)) for c in range(3)]
    return np.clip(np.stack(chans, axis=2), 0.0, 1.0)


def fit_size(shape, size):
    """(H, W) with the longer side ``size`` and the aspect ratio of ``shape``."""
    h, w = shape[:2]
    s = float(size) / max(h, w)
    return max(1, round(h * s)), max(1, round(w * s))


def load_image(img, size=None, crop_to=None, dtype=np.float32):
    """Any accepted image (module doc) → (1, 3, H, W) tensor in [0, 1].

    ``size``: an int (longer side, aspect kept) or (H, W). ``crop_to`` = (H, W): centre-crop to
    that aspect ratio, then resize to exactly that size (how a style image is fitted to the
    content image)."""
    arr = _to_hwc(img)
    if crop_to is not None:
        th, tw = int(crop_to[0]), int(crop_to[1])
        h, w = arr.shape[:2]
        if h * tw > w * th:      # too tall: crop rows
            nh = max(1, round(w * th / tw))
            top = (h - nh) // 2
            arr = arr[top:top + nh]
        else:
            nw = max(1, round(h * tw / th))
            left = (w - nw) // 2
            arr = arr[:, left:left + nw]
        arr = resize_image(arr, (th, tw))
    elif size is not None:
        arr = resize_image(arr, fit_size(arr.shape, size) if np.isscalar(size) else size)
    return _wrap(np.ascontiguousarray(arr.transpose(2, 0, 1)[None], dtype=dtype))


def to_numpy_image(x):
    """(1, 3, H, W) or (3, H, W) tensor → (H, W, 3) float numpy array clipped to [0, 1]."""
    a = x.detach().numpy() if isinstance(x, Tensor) else np.asarray(x)
    if a.ndim == 4:
        a = a[0]
    if a.ndim != 3 or a.shape[0] != 3:
        raise ValueError(f"to_numpy_image: expected a (1, 3, H, W) or (3, H, W) image, got "
                         f"shape {a.shape}")
    return np.clip(a.transpose(1, 2, 0).astype(np.float64), 0.0, 1.0)


def save_image(x, path):
    """Write an image tensor (or (H, W, 3) array in [0, 1]) as PNG/JPEG (by suffix)."""
    a = x if (isinstance(x, np.ndarray) and x.ndim == 3 and x.shape[2] == 3) else to_numpy_image(x)
    _pil().fromarray((np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path)
    return path
