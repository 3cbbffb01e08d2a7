"""Image transforms as functions (``torchvision.transforms.v2.functional``'s names and
semantics), vectorized over a batch.

Every function takes an image ``(C, H, W)`` or a batch ``(N, C, H, W)`` — a tensorgrad Tensor
or a numpy array, float (values in [0, 1]) or uint8 — and returns the same kind, shape layout
and dtype. Parameters that describe one transformation (crop offsets, angles, factors) may be
scalars, applied to every image, or arrays of length N, one value per image: that is how the
random transforms apply independent augmentations to each image of a batch in one vectorized
pass. The functions are not differentiable (augmentation happens on data, off the graph).

Conventions follow torchvision for tensors: pixel centers at integer coordinates, rotations
and affine maps about the image center ``((W - 1) / 2, (H - 1) / 2)``, positive angles
counter-clockwise, sampling as ``grid_sample(align_corners=False)`` with zero padding and
torchvision's ``fill`` blending, antialiased bilinear resizing (PIL's triangle filter).
"""
from __future__ import annotations

import numbers

import numpy as np

from ...tensor import Tensor, _wrap

__all__ = ["hflip", "vflip", "crop", "center_crop", "pad", "resize", "resized_crop",
           "rotate", "affine", "elastic", "gaussian_blur", "adjust_brightness",
           "adjust_contrast", "adjust_saturation", "adjust_hue", "rgb_to_grayscale",
           "normalize", "five_crop", "ten_crop", "get_size", "InterpolationMode"]


class InterpolationMode:
    """torchvision's interpolation names (plain strings work too)."""
    NEAREST = "nearest"
    BILINEAR = "bilinear"


_IMG = "an image (C, H, W) or a batch of images (N, C, H, W)"


# ---- unpacking and packing ------------------------------------------------------------------
class _Img:
    """An input turned into a float (N, C, H, W) array, and how to turn the result back."""
    __slots__ = ("a", "tensor", "batched", "dtype", "bound")

    def __init__(self, x, op):
        if isinstance(x, Tensor):
            arr, self.tensor = x._data, True
        elif isinstance(x, np.ndarray):
            arr, self.tensor = x, False
        else:
            raise TypeError(f"{op}: expected {_IMG} as a Tensor or numpy array, got "
                            f"{type(x).__name__}")
        if arr.ndim not in (3, 4):
            raise ValueError(f"{op}: expected {_IMG}, got an input of shape {tuple(arr.shape)}")
        if arr.dtype.kind not in "fu" or (arr.dtype.kind == "u" and arr.dtype != np.uint8):
            raise TypeError(f"{op}: images must be float or uint8, got {arr.dtype}")
        self.batched = arr.ndim == 4
        self.dtype = arr.dtype
        self.bound = 255.0 if arr.dtype == np.uint8 else 1.0
        a = arr if self.batched else arr[None]
        self.a = a.astype(np.float32) if arr.dtype == np.uint8 else a

    @property
    def n(self):
        return self.a.shape[0]

    def out(self, a):
        if self.dtype == np.uint8:
            a = np.clip(np.rint(a), 0, 255).astype(np.uint8)
        elif a.dtype != self.dtype:
            a = a.astype(self.dtype)
        if not self.batched:
            a = a[0]
        return _wrap(np.ascontiguousarray(a)) if self.tensor else a


def get_size(x):
    """``[H, W]`` of an image or batch."""
    return list(_Img(x, "get_size").a.shape[-2:])


def _per_image(v, n, op, what, dtype=np.float64):
    """A scalar or a length-n sequence -> an array of n values."""
    arr = np.asarray(v, dtype=dtype)
    if arr.ndim == 0:
        return np.full(n, arr, dtype=dtype)
    if arr.shape != (n,):
        raise ValueError(f"{op}: {what} must be a number or one value per image ({n}), got "
                         f"shape {arr.shape}")
    return arr


def _pair(v, op, what):
    if isinstance(v, numbers.Number):
        return int(v), int(v)
    t = tuple(int(a) for a in v)
    if len(t) == 1:
        return t[0], t[0]
    if len(t) != 2:
        raise ValueError(f"{op}: {what} must be an int or a pair (h, w), got {v!r}")
    return t


def _mode(interpolation, op):
    m = getattr(interpolation, "value", interpolation)
    m = str(m).lower()
    if m not in ("nearest", "bilinear"):
        raise ValueError(f"{op}: interpolation must be 'nearest' or 'bilinear', got "
                         f"{interpolation!r}")
    return m


# ---- flips, crops, padding ------------------------------------------------------------------
def _select(mask, a, b):
    return np.where(np.asarray(mask, bool)[:, None, None, None], a, b)


def hflip(x, mask=None):
    """Mirror left-right (``mask``: a boolean per image, flip only those)."""
    im = _Img(x, "hflip")
    f = im.a[..., ::-1]
    return im.out(f if mask is None else _select(mask, f, im.a))


def vflip(x, mask=None):
    """Mirror top-bottom."""
    im = _Img(x, "vflip")
    f = im.a[..., ::-1, :]
    return im.out(f if mask is None else _select(mask, f, im.a))


def _crop(a, top, left, h, w, op):
    N, C, H, W = a.shape
    top = _per_image(top, N, op, "top", np.int64)
    left = _per_image(left, N, op, "left", np.int64)
    if top.min() < 0 or left.min() < 0 or top.max() + h > H or left.max() + w > W:
        raise ValueError(f"{op}: the crop (top {top.min()}..{top.max()}, left "
                         f"{left.min()}..{left.max()}, size {h}x{w}) leaves the {H}x{W} image")
    if np.all(top == top[0]) and np.all(left == left[0]):
        return a[:, :, top[0]:top[0] + h, left[0]:left[0] + w]
    rows = top[:, None] + np.arange(h)
    cols = left[:, None] + np.arange(w)
    out = a[np.arange(N)[:, None, None], :, rows[:, :, None], cols[:, None, :]]
    return out.transpose(0, 3, 1, 2)  # advanced indexing put the channels last


def crop(x, top, left, height, width):
    """``x[..., top:top + height, left:left + width]`` (top/left per image or shared)."""
    im = _Img(x, "crop")
    return im.out(_crop(im.a, top, left, int(height), int(width), "crop"))


def center_crop(x, output_size):
    """The central ``output_size`` crop (offsets rounded as torchvision: ``round((H - h) / 2)``)."""
    im = _Img(x, "center_crop")
    h, w = _pair(output_size, "center_crop", "output_size")
    H, W = im.a.shape[-2:]
    if h > H or w > W:
        raise ValueError(f"center_crop: crop size {(h, w)} is larger than the image {(H, W)}")
    t, l_ = int(round((H - h) / 2.0)), int(round((W - w) / 2.0))
    return im.out(im.a[..., t:t + h, l_:l_ + w])


def _parse_padding(padding, op):
    if isinstance(padding, numbers.Number):
        p = [int(padding)] * 4
    else:
        p = [int(v) for v in padding]
        if len(p) == 1:
            p = p * 4
        elif len(p) == 2:
            p = [p[0], p[1], p[0], p[1]]
        elif len(p) != 4:
            raise ValueError(f"{op}: padding must be an int or a sequence of 1, 2 or 4 ints "
                             f"(left, top, right, bottom), got {padding!r}")
    if min(p) < 0:
        raise ValueError(f"{op}: padding must be non-negative, got {padding!r}")
    return p  # left, top, right, bottom


_PAD_MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect",
              "symmetric": "symmetric"}


def _pad(a, p, fill, mode, op):
    if mode not in _PAD_MODES:
        raise ValueError(f"{op}: padding_mode must be one of {sorted(_PAD_MODES)}, got {mode!r}")
    l_, t, r, b = p
    width = ((0, 0), (0, 0), (t, b), (l_, r))
    if mode == "constant":
        return np.pad(a, width, mode="constant", constant_values=fill)
    return np.pad(a, width, mode=_PAD_MODES[mode])


def pad(x, padding, fill=0, padding_mode="constant"):
    """Pad the borders: ``padding`` is an int, (left/right, top/bottom) or
    (left, top, right, bottom); modes constant (``fill``), edge, reflect, symmetric."""
    im = _Img(x, "pad")
    return im.out(_pad(im.a, _parse_padding(padding, "pad"), fill, padding_mode, "pad"))


# ---- resizing (separable interpolation matrices) --------------------------------------------
def _interp_matrix(n_in, n_out, start, length, mode, antialias):
    """(N, n_out, n_in) weights resampling rows ``start[k] .. start[k] + length[k]`` of an
    n_in-long axis to n_out samples (bilinear, antialiased as PyTorch's/PIL's triangle filter
    when shrinking, or nearest)."""
    N = start.shape[0]
    length = length.astype(np.float64)
    scale = length / n_out                                                   # (N,)
    centers = scale[:, None] * (np.arange(n_out) + 0.5)                     # (N, n_out)
    M = np.zeros((N, n_out, n_in))
    rows = np.arange(N)[:, None, None]
    outs = np.arange(n_out)[None, :, None]
    if mode == "nearest":  # PyTorch's legacy 'nearest': floor(dst * scale)
        src = np.minimum(np.floor(np.arange(n_out)[None, :] * scale[:, None]),
                         length[:, None] - 1).astype(np.int64)
        M[rows[:, :, 0], outs[:, :, 0], start[:, None] + src] = 1.0
        return M
    aa = antialias and np.any(scale > 1)
    support = np.where(scale >= 1.0, scale, 1.0) if aa else np.ones_like(scale)
    inv = np.where(scale >= 1.0, 1.0 / scale, 1.0) if aa else np.ones_like(scale)
    lo = np.maximum(np.trunc(centers - support[:, None] + 0.5), 0).astype(np.int64)
    hi = np.minimum(np.trunc(centers + support[:, None] + 0.5), length[:, None]).astype(np.int64)
    K = int((hi - lo).max())
    j = lo[:, :, None] + np.arange(K)[None, None, :]                         # (N, n_out, K)
    w = np.maximum(0.0, 1.0 - np.abs((j - centers[:, :, None] + 0.5) * inv[:, None, None]))
    w = np.where(j < hi[:, :, None], w, 0.0)
    tot = w.sum(axis=2, keepdims=True)
    w = w / np.where(tot == 0, 1.0, tot)
    np.add.at(M, (rows, outs, start[:, None, None] + np.minimum(j, length[:, None, None] - 1)
                  .astype(np.int64)), w)
    return M


def _resample(a, top, left, h, w, size, mode, antialias):
    N, C, H, W = a.shape
    oh, ow = size
    Mh = _interp_matrix(H, oh, top, h, mode, antialias)
    Mw = _interp_matrix(W, ow, left, w, mode, antialias)
    dt = a.dtype if a.dtype.kind == "f" else np.float32
    out = np.matmul(Mh[:, None].astype(dt), a)
    return np.matmul(out, Mw[:, None].transpose(0, 1, 3, 2).astype(dt))


def _resize_size(H, W, size, op):
    if isinstance(size, numbers.Number) or len(size) == 1:
        s = int(size if isinstance(size, numbers.Number) else size[0])
        if H <= W:
            return s, int(s * W / H)
        return int(s * H / W), s
    return _pair(size, op, "size")


def resize(x, size, interpolation="bilinear", max_size=None, antialias=True):
    """Resize to ``size`` ((h, w), or an int: the shorter side, keeping the aspect ratio)."""
    im = _Img(x, "resize")
    N, C, H, W = im.a.shape
    oh, ow = _resize_size(H, W, size, "resize")
    if max_size is not None and not (isinstance(size, numbers.Number) or len(size) == 1):
        raise ValueError("resize: max_size should only be passed if size specifies the length "
                         f"of the smaller edge (an int), got size={size!r}")
    if max_size is not None and max(oh, ow) > max_size:
        f = max_size / max(oh, ow)
        oh, ow = int(oh * f), int(ow * f)
    if (oh, ow) == (H, W):
        return im.out(im.a)
    z = np.zeros(N, np.int64)
    return im.out(_resample(im.a, z, z, np.full(N, H), np.full(N, W), (oh, ow),
                            _mode(interpolation, "resize"), antialias))


def resized_crop(x, top, left, height, width, size, interpolation="bilinear", antialias=True):
    """Crop (per-image boxes allowed) and resize every crop to ``size`` in one pass."""
    im = _Img(x, "resized_crop")
    N, C, H, W = im.a.shape
    top = _per_image(top, N, "resized_crop", "top", np.int64)
    left = _per_image(left, N, "resized_crop", "left", np.int64)
    height = _per_image(height, N, "resized_crop", "height", np.int64)
    width = _per_image(width, N, "resized_crop", "width", np.int64)
    if (top < 0).any() or (left < 0).any() or (top + height > H).any() \
            or (left + width > W).any() or (height < 1).any() or (width < 1).any():
        raise ValueError(f"resized_crop: every crop box must lie inside the {H}x{W} image")
    return im.out(_resample(im.a, top, left, height, width,
                            _pair(size, "resized_crop", "size"),
                            _mode(interpolation, "resized_crop"), antialias))


# ---- grid sampling: rotation, affine maps, elastic warps -------------------------------------
def _grid_sample(a, gx, gy, mode, fill):
    """Sample a (N, C, H, W) at source pixel coordinates gx, gy (N, oh, ow), zero outside, then
    blend with ``fill`` as torchvision does (``mask * (img - fill) + fill``, mask = the sampled
    image of ones; nearest: fill where the sample fell outside)."""
    N, C, H, W = a.shape
    n = np.arange(N)[:, None, None]
    if mode == "nearest":
        xi, yi = np.rint(gx), np.rint(gy)  # round half to even, as nearbyint
        ok = (xi >= 0) & (xi <= W - 1) & (yi >= 0) & (yi <= H - 1)
        v = a[n, :, np.clip(yi, 0, H - 1).astype(np.int64), np.clip(xi, 0, W - 1).astype(np.int64)]
        v = np.moveaxis(v, -1, 1)
        if fill is None:
            return v * ok[:, None]
        return np.where(ok[:, None], v, np.asarray(fill, dtype=a.dtype).reshape(1, -1, 1, 1))
    x0, y0 = np.floor(gx), np.floor(gy)
    out = 0.0
    mask = 0.0
    for dy in (0, 1):
        for dx in (0, 1):
            xs, ys = x0 + dx, y0 + dy
            w = (1 - np.abs(gx - xs)) * (1 - np.abs(gy - ys))
            ok = (xs >= 0) & (xs <= W - 1) & (ys >= 0) & (ys <= H - 1)
            w = w * ok
            v = a[n, :, np.clip(ys, 0, H - 1).astype(np.int64), np.clip(xs, 0, W - 1).astype(np.int64)]
            out = out + np.moveaxis(v, -1, 1) * w[:, None]
            mask = mask + w
    if fill is None:
        return out.astype(a.dtype, copy=False)
    f = np.asarray(fill, dtype=np.float64).reshape(1, -1, 1, 1)
    return (mask[:, None] * (out - f) + f).astype(a.dtype, copy=False)


def _inverse_affine(angle, translate, scale, shear, center):
    """Per-image inverse affine matrices (N, 6) mapping output to input coordinates centered
    on the image (torchvision's ``_get_inverse_affine_matrix``: M = T C R S Sh C^-1)."""
    rot = np.radians(angle)
    sx, sy = np.radians(shear[0]), np.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    a = np.cos(rot - sy) / np.cos(sy)
    b = -np.cos(rot - sy) * np.tan(sx) / np.cos(sy) - np.sin(rot)
    c = np.sin(rot - sy) / np.cos(sy)
    d = -np.sin(rot - sy) * np.tan(sx) / np.cos(sy) + np.cos(rot)
    m = np.stack([d, -b, np.zeros_like(a), -c, a, np.zeros_like(a)], 1) / scale[:, None]
    m[:, 2] += m[:, 0] * (-cx - tx) + m[:, 1] * (-cy - ty) + cx
    m[:, 5] += m[:, 3] * (-cx - tx) + m[:, 4] * (-cy - ty) + cy
    return m


def _warp(a, m, mode, fill):
    N, C, H, W = a.shape
    xc = np.arange(W) - (W - 1) / 2.0
    yc = (np.arange(H) - (H - 1) / 2.0)[:, None]
    m = m[:, :, None, None]
    gx = m[:, 0] * xc + m[:, 1] * yc + m[:, 2] + (W - 1) / 2.0
    gy = m[:, 3] * xc + m[:, 4] * yc + m[:, 5] + (H - 1) / 2.0
    return _grid_sample(a, gx, gy, mode, fill)


def _center(center, W, H, n):
    if center is None:
        return np.zeros(n), np.zeros(n)
    return (np.full(n, float(center[0]) - W * 0.5), np.full(n, float(center[1]) - H * 0.5))


def rotate(x, angle, interpolation="nearest", expand=False, center=None, fill=None):
    """Rotate by ``angle`` degrees counter-clockwise about the center (or ``center``, in
    pixels); pixels from outside are 0 (or ``fill``). ``expand`` is not supported."""
    im = _Img(x, "rotate")
    if expand:
        raise NotImplementedError("rotate: expand=True is not supported (the output keeps the "
                                  "input's size)")
    N, C, H, W = im.a.shape
    ang = _per_image(angle, N, "rotate", "angle") % 360
    if center is None and np.all(ang == ang[0]) and ang[0] in (0.0, 90.0, 180.0, 270.0) \
            and (H == W or ang[0] in (0.0, 180.0)):
        return im.out(np.rot90(im.a, k=int(ang[0]) // 90, axes=(-2, -1)))  # exact, as torchvision
    z = np.zeros(N)
    m = _inverse_affine(-ang, (z, z), np.ones(N), (z, z), _center(center, W, H, N))
    return im.out(_warp(im.a, m, _mode(interpolation, "rotate"), fill))


def affine(x, angle, translate, scale, shear, interpolation="nearest", fill=None, center=None):
    """Rotate (degrees), translate (pixels, (tx, ty)), scale and shear (degrees; a number is
    an x-shear, or (sx, sy)) about the image center, as torchvision's ``affine``. Every
    parameter may hold one value per image (``translate``/``shear`` as (N, 2) arrays)."""
    im = _Img(x, "affine")
    N, C, H, W = im.a.shape
    op = "affine"
    if isinstance(shear, numbers.Number) or np.ndim(shear) == 0:
        shear = (shear, 0.0)
    tr = np.broadcast_to(np.asarray(translate, dtype=np.float64), (N, 2)) \
        if np.ndim(translate) == 2 else np.asarray(translate, dtype=np.float64)
    sh = np.broadcast_to(np.asarray(shear, dtype=np.float64), (N, 2)) \
        if np.ndim(shear) == 2 else np.asarray(shear, dtype=np.float64)
    if tr.shape[-1] != 2 or sh.shape[-1] != 2:
        raise ValueError(f"affine: translate and shear must be pairs (or (N, 2) arrays), got "
                         f"{np.shape(translate)} and {np.shape(shear)}")
    sc = _per_image(scale, N, op, "scale")
    if (sc <= 0).any():
        raise ValueError(f"affine: scale must be positive, got {scale!r}")
    tr = tr.reshape(-1, 2)
    sh = sh.reshape(-1, 2)
    m = _inverse_affine(_per_image(angle, N, op, "angle"),
                        (np.broadcast_to(tr[:, 0], (N,)), np.broadcast_to(tr[:, 1], (N,))), sc,
                        (np.broadcast_to(sh[:, 0], (N,)), np.broadcast_to(sh[:, 1], (N,))),
                        _center(center, W, H, N))
    return im.out(_warp(im.a, m, _mode(interpolation, op), fill))


def elastic(x, displacement, interpolation="bilinear", fill=None):
    """Warp by a displacement field ``(1 or N, H, W, 2)`` in torchvision's normalized units
    (x then y; 2/W per pixel horizontally): output pixel (i, j) reads the input at
    ``(j + dx * W / 2, i + dy * H / 2)``."""
    im = _Img(x, "elastic")
    N, C, H, W = im.a.shape
    d = displacement._data if isinstance(displacement, Tensor) else np.asarray(displacement)
    if d.ndim != 4 or d.shape[1:] != (H, W, 2) or d.shape[0] not in (1, N):
        raise ValueError(f"elastic: displacement must have shape (1, {H}, {W}, 2) or "
                         f"({N}, {H}, {W}, 2), got {tuple(d.shape)}")
    gx = np.arange(W) + d[..., 0] * (W / 2.0)
    gy = np.arange(H)[:, None] + d[..., 1] * (H / 2.0)
    gx, gy = np.broadcast_to(gx, (N, H, W)), np.broadcast_to(gy, (N, H, W))
    return im.out(_grid_sample(im.a, gx, gy, _mode(interpolation, "elastic"), fill))


def _gauss1d(k, sigma):
    t = np.arange(k) - (k - 1) / 2.0
    g = np.exp(-0.5 * (t / sigma) ** 2)
    return g / g.sum()


def _blur(a, kernel_size, sigma):
    kx, ky = kernel_size
    sx, sy = sigma
    p = np.pad(a, ((0, 0), (0, 0), (ky // 2, ky // 2), (kx // 2, kx // 2)), mode="reflect")
    gx, gy = _gauss1d(kx, sx), _gauss1d(ky, sy)
    H, W = a.shape[-2:]
    rows = sum(gy[i] * p[:, :, i:i + H, :] for i in range(ky))
    return sum(gx[j] * rows[:, :, :, j:j + W] for j in range(kx))


def gaussian_blur(x, kernel_size, sigma=None):
    """Separable Gaussian blur with reflect padding (kernel sizes odd; default sigma
    ``0.15 k + 0.35``), as torchvision."""
    im = _Img(x, "gaussian_blur")
    k = _pair(kernel_size, "gaussian_blur", "kernel_size")  # (kx, ky), as torchvision
    if any(v % 2 == 0 or v < 1 for v in k):
        raise ValueError(f"gaussian_blur: kernel_size must be odd and positive, got "
                         f"{kernel_size!r}")
    if sigma is None:
        s = (0.15 * k[0] + 0.35, 0.15 * k[1] + 0.35)
    else:
        s = (float(sigma),) * 2 if isinstance(sigma, numbers.Number) else tuple(sigma) * (
            2 if len(sigma) == 1 else 1)
    if min(s) <= 0:
        raise ValueError(f"gaussian_blur: sigma must be positive, got {sigma!r}")
    return im.out(_blur(im.a, k, s).astype(im.a.dtype, copy=False))


# ---- colour ---------------------------------------------------------------------------------
def _gray(a):
    return (0.2989 * a[:, 0] + 0.587 * a[:, 1] + 0.114 * a[:, 2])[:, None]


def _channels(a, op, allowed=(1, 3)):
    if a.shape[1] not in allowed:
        raise ValueError(f"{op}: expected images with {' or '.join(map(str, allowed))} "
                         f"channels, got {a.shape[1]} (shape {a.shape})")


def _blend(a, b, f, bound):
    f = f[:, None, None, None]
    return np.clip(f * a + (1.0 - f) * b, 0, bound)


def _factor(v, n, op, what):
    f = _per_image(v, n, op, what)
    if (f < 0).any():
        raise ValueError(f"{op}: {what} must be non-negative, got {v!r}")
    return f


def rgb_to_grayscale(x, num_output_channels=1):
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` (1-channel inputs pass through)."""
    im = _Img(x, "rgb_to_grayscale")
    _channels(im.a, "rgb_to_grayscale")
    g = im.a if im.a.shape[1] == 1 else _gray(im.a)
    return im.out(np.repeat(g, num_output_channels, axis=1))


def adjust_brightness(x, brightness_factor):
    """Multiply by the factor (clamped to the valid range)."""
    im = _Img(x, "adjust_brightness")
    _channels(im.a, "adjust_brightness")
    f = _factor(brightness_factor, im.n, "adjust_brightness", "brightness_factor")
    return im.out(np.clip(im.a * f[:, None, None, None], 0, im.bound))


def adjust_contrast(x, contrast_factor):
    """Blend with the mean grey level of each image."""
    im = _Img(x, "adjust_contrast")
    _channels(im.a, "adjust_contrast")
    f = _factor(contrast_factor, im.n, "adjust_contrast", "contrast_factor")
    g = _gray(im.a) if im.a.shape[1] == 3 else im.a
    if im.dtype == np.uint8 and im.a.shape[1] == 3:
        g = np.floor(g)
    return im.out(_blend(im.a, g.mean(axis=(1, 2, 3), keepdims=True), f, im.bound))


def adjust_saturation(x, saturation_factor):
    """Blend with the grey version (0: grey, 1: unchanged; 1-channel images unchanged)."""
    im = _Img(x, "adjust_saturation")
    _channels(im.a, "adjust_saturation")
    f = _factor(saturation_factor, im.n, "adjust_saturation", "saturation_factor")
    if im.a.shape[1] == 1:
        return im.out(im.a)
    g = _gray(im.a)
    if im.dtype == np.uint8:
        g = np.floor(g)
    return im.out(_blend(im.a, g, f, im.bound))


def _rgb_to_hsv(a):
    r, g, b = a[:, 0], a[:, 1], a[:, 2]
    maxc, minc = a.max(axis=1), a.min(axis=1)
    eq = maxc == minc
    rng = maxc - minc
    s = rng / np.where(eq, 1.0, maxc)
    div = np.where(eq, 1.0, rng)
    rc, gc, bc = (maxc - r) / div, (maxc - g) / div, (maxc - b) / div
    h = np.where(maxc == r, bc - gc, np.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = np.fmod(h / 6.0 + 1.0, 1.0)
    return h, s, maxc


def _hsv_to_rgb(h, s, v):
    h6 = h * 6.0
    i = np.floor(h6)
    f = h6 - i
    i = i.astype(np.int64) % 6
    p = np.clip(v * (1.0 - s), 0, 1)
    q = np.clip(v * (1.0 - s * f), 0, 1)
    t = np.clip(v * (1.0 - s * (1.0 - f)), 0, 1)
    vpqt = np.stack([v, p, q, t], axis=1)
    sel = np.array([[0, 2, 1, 1, 3, 0], [3, 0, 0, 2, 1, 1], [1, 1, 3, 0, 0, 2]])[:, i]
    return np.take_along_axis(vpqt, np.moveaxis(sel, 0, 1), axis=1)


def adjust_hue(x, hue_factor):
    """Shift the hue by ``hue_factor`` turns (in [-0.5, 0.5]; 1-channel images unchanged)."""
    im = _Img(x, "adjust_hue")
    _channels(im.a, "adjust_hue")
    f = _per_image(hue_factor, im.n, "adjust_hue", "hue_factor")
    if (np.abs(f) > 0.5).any():
        raise ValueError(f"adjust_hue: hue_factor must lie in [-0.5, 0.5], got {hue_factor!r}")
    if im.a.shape[1] == 1:
        return im.out(im.a)
    a = im.a / im.bound
    h, s, v = _rgb_to_hsv(a)
    h = np.mod(h + f[:, None, None], 1.0)
    return im.out((_hsv_to_rgb(h, s, v) * im.bound).astype(im.a.dtype, copy=False))


def normalize(x, mean, std, inplace=False):
    """``(x - mean) / std`` per channel."""
    im = _Img(x, "normalize")
    if im.dtype == np.uint8:
        raise TypeError("normalize: expected a float image (convert uint8 images to float "
                        "first), got uint8")
    C = im.a.shape[1]
    m = np.asarray(mean, dtype=im.a.dtype).reshape(-1)
    s = np.asarray(std, dtype=im.a.dtype).reshape(-1)
    if m.size not in (1, C) or s.size not in (1, C):
        raise ValueError(f"normalize: mean and std need 1 or {C} values (one per channel), got "
                         f"{m.size} and {s.size}")
    if (s == 0).any():
        raise ValueError(f"normalize: std evaluated to zero, leading to division by zero "
                         f"(std={std!r})")
    return im.out((im.a - m.reshape(1, -1, 1, 1)) / s.reshape(1, -1, 1, 1))


# ---- multi-crop -------------------------------------------------------------------------------
def five_crop(x, size):
    """The four corner crops and the central crop: ``(tl, tr, bl, br, center)``."""
    im = _Img(x, "five_crop")
    h, w = _pair(size, "five_crop", "size")
    H, W = im.a.shape[-2:]
    if h > H or w > W:
        raise ValueError(f"five_crop: requested crop size {(h, w)} is bigger than the input "
                         f"size {(H, W)}")
    a = im.a
    t, l_ = int(round((H - h) / 2.0)), int(round((W - w) / 2.0))
    boxes = [(0, 0), (0, W - w), (H - h, 0), (H - h, W - w), (t, l_)]
    return tuple(im.out(a[..., i:i + h, j:j + w]) for i, j in boxes)


def ten_crop(x, size, vertical_flip=False):
    """``five_crop`` of the image and of its mirror image (left-right, or top-bottom)."""
    flipped = vflip(x) if vertical_flip else hflip(x)
    return five_crop(x, size) + five_crop(flipped, size)
