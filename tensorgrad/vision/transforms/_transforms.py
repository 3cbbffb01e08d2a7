"""Random augmentation transforms (torchvision.transforms.v2's classes, names and defaults).

Each transform is a callable on an image ``(C, H, W)`` or a batch ``(N, C, H, W)`` (Tensor or
numpy array, float in [0, 1] or uint8) that returns the same kind. On a batch every image gets
its own random parameters, drawn at once and applied in one vectorized pass (torchvision v2
draws one set per call and applies it to the whole batch; per-image draws are what a
``DataLoader(transform=...)`` needs). All draws come from tensorgrad's generator, so
``tg.manual_seed`` makes them reproducible.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ... import random as _random
from . import functional as F

__all__ = ["Transform", "Compose", "RandomApply", "Lambda", "RandomHorizontalFlip",
           "RandomVerticalFlip", "Pad", "CenterCrop", "Resize", "RandomCrop",
           "RandomResizedCrop", "RandomRotation", "RandomAffine", "ElasticTransform",
           "GaussianBlur", "ColorJitter", "Normalize", "FiveCrop", "TenCrop",
           "PCAColorAugmentation"]


def _range(v, name, op, center=0.0, bound=None, nonneg=False):
    """A number v -> (center - v, center + v); a pair stays; checks signs and bounds."""
    if isinstance(v, numbers.Number):
        if v < 0:
            raise ValueError(f"{op}: if {name} is a single number, it must be non-negative, "
                             f"got {v}")
        lo, hi = center - float(v), center + float(v)
        if nonneg:
            lo = max(lo, 0.0)
    else:
        t = [float(a) for a in v]
        if len(t) != 2 or t[0] > t[1]:
            raise ValueError(f"{op}: {name} must be a number or a pair (min, max) with "
                             f"min <= max, got {v!r}")
        lo, hi = t
    if bound is not None and (lo < bound[0] or hi > bound[1]):
        raise ValueError(f"{op}: {name} values must lie in {list(bound)}, got {(lo, hi)}")
    return lo, hi


class Transform:
    """Base class: subclasses implement ``_apply(a, rng)`` on float arrays (N, C, H, W) with
    values in [0, 1] (uint8 inputs are scaled there and back)."""

    def __call__(self, x):
        im = F._Img(x, type(self).__name__)
        a = im.a / 255.0 if im.dtype == np.uint8 else im.a
        out = self._apply(a, _random.generator())
        return im.out(out * 255.0 if im.dtype == np.uint8 else out)

    def _apply(self, a, rng):  # pragma: no cover - abstract
        raise NotImplementedError

    def extra_repr(self):
        return ""

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"


def _apply_any(t, a, rng):
    """Run a tg Transform or any callable on a float batch array."""
    return t._apply(a, rng) if isinstance(t, Transform) else np.asarray(t(a))


class Compose(Transform):
    """Apply ``transforms`` one after another."""

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for i, t in enumerate(self.transforms):
            if not callable(t):
                raise TypeError(f"Compose: transform {i} is a {type(t).__name__}, not callable")

    def __call__(self, x):
        if all(isinstance(t, Transform) for t in self.transforms):
            return super().__call__(x)
        for t in self.transforms:
            x = t(x)
        return x

    def _apply(self, a, rng):
        for t in self.transforms:
            a = _apply_any(t, a, rng)
        return a

    def __repr__(self):
        body = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"Compose({body}\n)"


class RandomApply(Transform):
    """Apply the composed ``transforms`` to each image with probability ``p``."""

    def __init__(self, transforms, p=0.5):
        self.transforms = Compose(transforms if isinstance(transforms, (list, tuple))
                                  else [transforms])
        self.p = float(p)

    def _apply(self, a, rng):
        pick = np.flatnonzero(rng.random(a.shape[0]) < self.p)
        if pick.size == 0:
            return a
        out = a.copy()
        out[pick] = self.transforms._apply(a[pick], rng)
        return out

    def extra_repr(self):
        return f"p={self.p}"


class Lambda(Transform):
    """Wrap a function of the float batch array (N, C, H, W)."""

    def __init__(self, fn):
        if not callable(fn):
            raise TypeError(f"Lambda: expected a callable, got {type(fn).__name__}")
        self.fn = fn

    def _apply(self, a, rng):
        return np.asarray(self.fn(a))


class RandomHorizontalFlip(Transform):
    """Mirror each image left-right with probability ``p`` (labels of most objects survive a
    mirror image)."""

    def __init__(self, p=0.5):
        self.p = float(p)

    def _apply(self, a, rng):
        return F.hflip(a, rng.random(a.shape[0]) < self.p)

    def extra_repr(self):
        return f"p={self.p}"


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror each image top-bottom with probability ``p``."""

    def _apply(self, a, rng):
        return F.vflip(a, rng.random(a.shape[0]) < self.p)


class Pad(Transform):
    """Pad the borders (see ``functional.pad``)."""

    def __init__(self, padding, fill=0, padding_mode="constant"):
        self.padding = F._parse_padding(padding, "Pad")
        self.fill, self.padding_mode = fill, padding_mode

    def _apply(self, a, rng):
        return F._pad(a, self.padding, self.fill, self.padding_mode, "Pad")

    def extra_repr(self):
        return f"padding={self.padding}, fill={self.fill}, padding_mode={self.padding_mode}"


class CenterCrop(Transform):
    def __init__(self, size):
        self.size = F._pair(size, "CenterCrop", "size")

    def _apply(self, a, rng):
        return F.center_crop(a, self.size)

    def extra_repr(self):
        return f"size={self.size}"


class Resize(Transform):
    def __init__(self, size, interpolation="bilinear", max_size=None, antialias=True):
        self.size, self.interpolation = size, F._mode(interpolation, "Resize")
        self.max_size, self.antialias = max_size, antialias

    def _apply(self, a, rng):
        return F.resize(a, self.size, self.interpolation, self.max_size, self.antialias)

    def extra_repr(self):
        return f"size={self.size}, interpolation={self.interpolation}"


class RandomCrop(Transform):
    """Pad by ``padding`` (optional), then cut a ``size`` window at a uniformly random
    position — e.g. ``RandomCrop(28, padding=4)``: shifts of up to 4 pixels."""

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0,
                 padding_mode="constant"):
        self.size = F._pair(size, "RandomCrop", "size")
        self.padding = None if padding is None else F._parse_padding(padding, "RandomCrop")
        self.pad_if_needed, self.fill, self.padding_mode = pad_if_needed, fill, padding_mode

    def _apply(self, a, rng):
        N, C, H, W = a.shape
        l_, t, r, b = self.padding or (0, 0, 0, 0)
        h, w = self.size
        if self.pad_if_needed:
            dh, dw = max(0, h - (H + t + b)), max(0, w - (W + l_ + r))
            t, b, l_, r = t + dh, b + dh, l_ + dw, r + dw
        if any((l_, t, r, b)):
            a = F._pad(a, (l_, t, r, b), self.fill, self.padding_mode, "RandomCrop")
        H2, W2 = a.shape[-2:]
        if H2 < h or W2 < w:
            raise ValueError(f"RandomCrop: required crop size {(h, w)} is larger than the "
                             f"{'padded ' if self.padding else ''}input image size {(H2, W2)}")
        top = rng.integers(0, H2 - h + 1, N)
        left = rng.integers(0, W2 - w + 1, N)
        return F._crop(a, top, left, h, w, "RandomCrop")

    def extra_repr(self):
        return f"size={self.size}, padding={self.padding}"


class RandomResizedCrop(Transform):
    """Cut a random box covering a ``scale`` fraction of the area with aspect ratio in
    ``ratio`` (log-uniform), and resize it to ``size`` (Inception-style cropping; after 10
    failed draws, the central crop of clamped ratio, as torchvision)."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation="bilinear", antialias=True):
        self.size = F._pair(size, "RandomResizedCrop", "size")
        self.scale = _range(scale, "scale", "RandomResizedCrop")
        self.ratio = _range(ratio, "ratio", "RandomResizedCrop")
        self.interpolation = F._mode(interpolation, "RandomResizedCrop")
        self.antialias = antialias

    def _params(self, N, H, W, rng):
        area = H * W
        lr = np.log(self.ratio)
        ta = area * rng.uniform(self.scale[0], self.scale[1], (N, 10))
        ar = np.exp(rng.uniform(lr[0], lr[1], (N, 10)))
        w = np.rint(np.sqrt(ta * ar)).astype(np.int64)
        h = np.rint(np.sqrt(ta / ar)).astype(np.int64)
        ok = (w > 0) & (w <= W) & (h > 0) & (h <= H)
        first = ok.argmax(axis=1)
        hit = ok.any(axis=1)
        rows = np.arange(N)
        h, w = h[rows, first], w[rows, first]
        in_ratio = W / H
        if in_ratio < min(self.ratio):
            fw, fh = W, int(round(W / min(self.ratio)))
        elif in_ratio > max(self.ratio):
            fh, fw = H, int(round(H * max(self.ratio)))
        else:
            fw, fh = W, H
        h, w = np.where(hit, h, fh), np.where(hit, w, fw)
        top = np.where(hit, np.floor(rng.random(N) * (H - h + 1)).astype(np.int64), (H - h) // 2)
        left = np.where(hit, np.floor(rng.random(N) * (W - w + 1)).astype(np.int64),
                        (W - w) // 2)
        return top, left, h, w

    def _apply(self, a, rng):
        N, C, H, W = a.shape
        top, left, h, w = self._params(N, H, W, rng)
        return F.resized_crop(a, top, left, h, w, self.size, self.interpolation,
                              self.antialias)

    def extra_repr(self):
        return f"size={self.size}, scale={self.scale}, ratio={self.ratio}"


class RandomRotation(Transform):
    """Rotate each image by an angle drawn uniformly from ``degrees`` (a number d means
    (-d, d)); nearest-neighbour sampling by default, as torchvision."""

    def __init__(self, degrees, interpolation="nearest", expand=False, center=None, fill=0):
        self.degrees = _range(degrees, "degrees", "RandomRotation")
        self.interpolation = F._mode(interpolation, "RandomRotation")
        if expand:
            raise NotImplementedError("RandomRotation: expand=True is not supported")
        self.center, self.fill = center, fill

    def _apply(self, a, rng):
        ang = rng.uniform(self.degrees[0], self.degrees[1], a.shape[0])
        return F.rotate(a, ang, self.interpolation, center=self.center, fill=self.fill)

    def extra_repr(self):
        return f"degrees={list(self.degrees)}, interpolation={self.interpolation}"


class RandomAffine(Transform):
    """Random rotation (``degrees``), translation (``translate=(fx, fy)``: up to fx·W, fy·H
    pixels, rounded), scaling (``scale=(lo, hi)``) and shear (``shear``: a number s gives an
    x-shear in (-s, s) degrees; (a, b) an x-shear in (a, b); 4 values x and y ranges)."""

    def __init__(self, degrees, translate=None, scale=None, shear=None,
                 interpolation="nearest", fill=0, center=None):
        op = "RandomAffine"
        self.degrees = _range(degrees, "degrees", op)
        if translate is not None:
            translate = tuple(float(t) for t in translate)
            if len(translate) != 2 or not all(0.0 <= t <= 1.0 for t in translate):
                raise ValueError(f"{op}: translate must be two fractions in [0, 1], got "
                                 f"{translate!r}")
        self.translate = translate
        if scale is not None:
            scale = tuple(float(s) for s in scale)
            if len(scale) != 2 or min(scale) <= 0:
                raise ValueError(f"{op}: scale must be two positive numbers, got {scale!r}")
        self.scale = scale
        if shear is not None:
            if isinstance(shear, numbers.Number):
                shear = _range(shear, "shear", op)
            else:
                shear = tuple(float(s) for s in shear)
                if len(shear) not in (2, 4):
                    raise ValueError(f"{op}: shear must be a number or 2 or 4 values, got "
                                     f"{shear!r}")
        self.shear = shear
        self.interpolation = F._mode(interpolation, op)
        self.fill, self.center = fill, center

    def _apply(self, a, rng):
        N, C, H, W = a.shape
        ang = rng.uniform(self.degrees[0], self.degrees[1], N)
        tr = np.zeros((N, 2))
        if self.translate is not None:
            mx, my = self.translate[0] * W, self.translate[1] * H
            tr = np.rint(np.stack([rng.uniform(-mx, mx, N), rng.uniform(-my, my, N)], 1))
        sc = np.ones(N) if self.scale is None else rng.uniform(self.scale[0], self.scale[1], N)
        sh = np.zeros((N, 2))
        if self.shear is not None:
            sh[:, 0] = rng.uniform(self.shear[0], self.shear[1], N)
            if len(self.shear) == 4:
                sh[:, 1] = rng.uniform(self.shear[2], self.shear[3], N)
        return F.affine(a, ang, tr, sc, sh, self.interpolation, self.fill, self.center)

    def extra_repr(self):
        return (f"degrees={list(self.degrees)}, translate={self.translate}, scale={self.scale}, "
                f"shear={self.shear}")


class ElasticTransform(Transform):
    """Local warping: a random displacement field (uniform in [-1, 1] per pixel, smoothed by a
    Gaussian of std ``sigma`` pixels, scaled by ``alpha``) moves every pixel a little, as
    torchvision's ``ElasticTransform`` (Simard et al. 2003)."""

    def __init__(self, alpha=50.0, sigma=5.0, interpolation="bilinear", fill=0):
        self.alpha = _pair_f(alpha, "alpha")
        self.sigma = _pair_f(sigma, "sigma")
        self.interpolation = F._mode(interpolation, "ElasticTransform")
        self.fill = fill

    def _field(self, N, H, W, rng, axis):
        d = rng.random((N, 1, H, W)) * 2 - 1
        s = self.sigma[axis]
        if s > 0:
            k = int(8 * s + 1)
            k += 1 - k % 2
            d = F._blur(d, (k, k), (self.sigma[0], self.sigma[1]))
        return d[:, 0] * self.alpha[axis] / (W if axis == 0 else H)

    def _apply(self, a, rng):
        N, C, H, W = a.shape
        disp = np.stack([self._field(N, H, W, rng, 0), self._field(N, H, W, rng, 1)], -1)
        return F.elastic(a, disp, self.interpolation, self.fill)

    def extra_repr(self):
        return f"alpha={list(self.alpha)}, sigma={list(self.sigma)}"


def _np(v):
    return np.asarray(v.numpy() if hasattr(v, "numpy") else v, dtype=np.float64)


def _pair_f(v, name):
    if isinstance(v, numbers.Number):
        return float(v), float(v)
    t = [float(a) for a in v]
    if len(t) == 1:
        return t[0], t[0]
    if len(t) != 2:
        raise ValueError(f"ElasticTransform: {name} must be a number or a pair, got {v!r}")
    return t[0], t[1]


class GaussianBlur(Transform):
    """Blur with a Gaussian whose std is drawn uniformly from ``sigma`` per image."""

    def __init__(self, kernel_size, sigma=(0.1, 2.0)):
        self.kernel_size = F._pair(kernel_size, "GaussianBlur", "kernel_size")
        s = (float(sigma),) * 2 if isinstance(sigma, numbers.Number) else tuple(map(float,
                                                                                    sigma))
        if len(s) != 2 or s[0] <= 0 or s[0] > s[1]:
            raise ValueError(f"GaussianBlur: sigma must be a positive number or a range "
                             f"(min, max) with 0 < min <= max, got {sigma!r}")
        self.sigma = s

    def _apply(self, a, rng):
        s = rng.uniform(self.sigma[0], self.sigma[1], a.shape[0])
        return np.concatenate([F.gaussian_blur(a[i:i + 1], self.kernel_size, float(s[i]))
                               for i in range(a.shape[0])])

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, sigma={self.sigma}"


class ColorJitter(Transform):
    """Random brightness, contrast, saturation and hue changes (colour shifting), in a random
    order: ``brightness=b`` draws a factor in [max(0, 1 - b), 1 + b], ``hue=h`` a shift in
    [-h, h] turns (h <= 0.5). Saturation and hue leave greyscale images unchanged."""

    def __init__(self, brightness=None, contrast=None, saturation=None, hue=None):
        op = "ColorJitter"
        self.brightness = None if not brightness else _range(brightness, "brightness", op,
                                                             1.0, (0, math.inf), True)
        self.contrast = None if not contrast else _range(contrast, "contrast", op, 1.0,
                                                         (0, math.inf), True)
        self.saturation = None if not saturation else _range(saturation, "saturation", op,
                                                             1.0, (0, math.inf), True)
        self.hue = None if not hue else _range(hue, "hue", op, 0.0, (-0.5, 0.5))

    def _apply(self, a, rng):
        N = a.shape[0]
        fns = (("brightness", F.adjust_brightness), ("contrast", F.adjust_contrast),
               ("saturation", F.adjust_saturation), ("hue", F.adjust_hue))
        for i in rng.permutation(4):
            name, fn = fns[i]
            r = getattr(self, name)
            if r is not None:
                a = fn(a, rng.uniform(r[0], r[1], N))
        return a

    def extra_repr(self):
        return (f"brightness={self.brightness}, contrast={self.contrast}, "
                f"saturation={self.saturation}, hue={self.hue}")


class Normalize(Transform):
    """``(x - mean) / std`` per channel."""

    def __init__(self, mean, std, inplace=False):
        self.mean = [float(v) for v in np.ravel(mean)]
        self.std = [float(v) for v in np.ravel(std)]

    def _apply(self, a, rng):
        return F.normalize(a, self.mean, self.std)

    def extra_repr(self):
        return f"mean={self.mean}, std={self.std}"


class FiveCrop(Transform):
    """The four corners and the center: returns a tuple of 5 images (or batches)."""

    def __init__(self, size):
        self.size = F._pair(size, type(self).__name__, "size")

    def __call__(self, x):
        return F.five_crop(x, self.size)

    def extra_repr(self):
        return f"size={self.size}"


class TenCrop(FiveCrop):
    """``FiveCrop`` of the image and of its mirror image: a tuple of 10 (10-crop testing)."""

    def __init__(self, size, vertical_flip=False):
        super().__init__(size)
        self.vertical_flip = bool(vertical_flip)

    def __call__(self, x):
        return F.ten_crop(x, self.size, self.vertical_flip)


class PCAColorAugmentation(Transform):
    """**tg** AlexNet's "PCA colour augmentation" (Krizhevsky et al. 2012, §4.1): fit the
    eigenvectors p_i and eigenvalues λ_i of the C×C covariance of pixel values over a
    training set, then add ``Σ_i α_i λ_i p_i`` to every pixel of an image, with
    α_i ~ N(0, std²) drawn per image. Colours shift most along the directions in which the
    training images vary most (a mostly red-and-blue image shifts along red and blue)."""

    def __init__(self, std=0.1, eigenvalues=None, eigenvectors=None):
        self.std = float(std)
        self.eigenvalues = None if eigenvalues is None else _np(eigenvalues)
        self.eigenvectors = None if eigenvectors is None else _np(eigenvectors)
        self.mean = None

    def fit(self, images):
        """Fit on a (N, C, H, W) training set (Tensor or array); returns self."""
        im = F._Img(images, "PCAColorAugmentation.fit")
        a = im.a / 255.0 if im.dtype == np.uint8 else im.a
        n = a.shape[0] * a.shape[2] * a.shape[3]
        mean = a.mean(axis=(0, 2, 3), dtype=np.float64)
        second = np.einsum("nchw,ndhw->cd", a, a, dtype=np.float64) / n
        cov = second - np.outer(mean, mean)
        lam, vec = np.linalg.eigh(cov)
        order = np.argsort(lam)[::-1]
        self.eigenvalues = np.maximum(lam[order], 0.0)
        self.eigenvectors = vec[:, order]  # columns p_i
        self.mean = mean
        return self

    def _apply(self, a, rng):
        if self.eigenvalues is None:
            raise RuntimeError("PCAColorAugmentation: call fit(training_images) first (or give "
                               "eigenvalues= and eigenvectors=)")
        C = self.eigenvalues.size
        if a.shape[1] != C:
            raise ValueError(f"PCAColorAugmentation: fitted on {C}-channel images, got "
                             f"{a.shape[1]} channels (shape {a.shape})")
        alpha = rng.normal(0.0, self.std, (a.shape[0], C))
        shift = (alpha * self.eigenvalues) @ self.eigenvectors.T  # (N, C)
        return a + shift[:, :, None, None].astype(a.dtype)

    def state_dict(self):
        return {"std": self.std, "eigenvalues": self.eigenvalues,
                "eigenvectors": self.eigenvectors}

    def load_state_dict(self, state):
        self.std = float(state["std"])
        self.eigenvalues = _np(state["eigenvalues"])
        self.eigenvectors = _np(state["eigenvectors"])

    def extra_repr(self):
        return f"std={self.std}, fitted={self.eigenvalues is not None}"
