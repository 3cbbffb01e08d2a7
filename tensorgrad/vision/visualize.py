"""What deep ConvNets learn: the image patches that most excite a unit (Zeiler & Fergus,
"Visualizing and understanding convolutional networks", ECCV 2014).

A unit of a convolutional layer is one channel; at each spatial position it looks at a square
window of the input, its *receptive field*, which grows with depth: a 3×3 convolution adds 2
input pixels times the current stride ("jump"), a 2×2 pooling doubles the jump. Scanning a data
set, keep for each chosen unit the nine (image, position) pairs with the largest activation
(at most one per image) and crop each from its image — layer-1 units pick small edges and
blobs of one shade, deeper units larger parts of shapes.

``receptive_fields(model)`` gives each layer's field size, jump and offset;
``top_patches(model, images, {layer: units})`` finds and crops the patches;
``plot_top_patches`` draws one 3×3 grid per unit (matplotlib).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..tensor import Tensor, _wrap
from .style.features import _sequential, vgg_layer_names

__all__ = ["ReceptiveField", "receptive_fields", "top_patches", "plot_top_patches"]


@dataclass(frozen=True)
class ReceptiveField:
    """Output position (i, j) of a layer sees input rows ``start + i·jump … + size − 1`` (and
    the same for columns); ``start`` may be negative where padding reaches outside the image."""
    size: int
    jump: int
    start: int

    def window(self, i, j):
        r0, c0 = self.start + i * self.jump, self.start + j * self.jump
        return r0, c0, r0 + self.size, c0 + self.size


def _pair(v, what, layer):
    t = (v, v) if isinstance(v, int) else tuple(v)
    if t[0] != t[1]:
        raise ValueError(f"receptive_fields: layer {layer} has a non-square {what} {t}; only "
                         f"square kernels, strides and paddings are supported")
    return int(t[0])


def _layers(model, op="receptive_fields"):
    return _sequential(model, op)


def receptive_fields(model):
    """A list with one ``ReceptiveField`` per layer of the Sequential (``model.features`` or
    ``model``), up to the first layer that is not convolution, pooling or elementwise."""
    out, size, jump, start = [], 1, 1, 0
    for i, m in enumerate(_layers(model)):
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k = _pair(m.kernel_size, "kernel", i)
            s = _pair(m.stride, "stride", i)
            if isinstance(m.padding, str):
                raise ValueError(f"receptive_fields: layer {i} uses padding={m.padding!r}; give "
                                 f"the padding as a number")
            p = _pair(m.padding, "padding", i)
            d = _pair(getattr(m, "dilation", 1), "dilation", i)
            start -= p * jump
            size += (k - 1) * d * jump
            jump *= s
        elif isinstance(m, (nn.Linear, nn.Flatten, nn.AdaptiveAvgPool2d)):
            break
        out.append(ReceptiveField(size, jump, start))
    return out


def _layer_index(feats, layer):
    if isinstance(layer, (int, np.integer)) and 0 <= layer < len(feats):
        return int(layer)
    names = vgg_layer_names(feats)
    if layer in names:
        return names.index(layer)
    raise ValueError(f"top_patches: no layer {layer!r}; expected an index < {len(feats)} or one "
                     f"of {names}")


def top_patches(model, images, units, k=9, batch_size=256):
    """For every ``{layer: [unit, ...]}`` (layer: an index into the Sequential or a VGG-style
    name such as ``"relu2_1"``), the ``k`` images whose strongest response of that unit is the
    largest, each with its receptive-field crop.

    Returns ``{layer: {unit: [dict(image=index, position=(i, j), activation=float,
    patch=(C, S, S) array), ...]}}``, best first. Crops that reach outside the image are padded
    with zeros."""
    feats = _layers(model, "top_patches")
    X = images.detach().numpy() if isinstance(images, Tensor) else np.asarray(images)
    if X.ndim != 4 or X.shape[0] == 0:
        raise ValueError(f"top_patches: expected a non-empty batch of images (N, C, H, W), got "
                         f"shape {X.shape}")
    fields = receptive_fields(feats)
    want = {}
    for layer, us in units.items():
        idx = _layer_index(feats, layer)
        if idx >= len(fields):
            raise ValueError(f"top_patches: layer {layer!r} comes after the convolutional part "
                             f"(receptive fields are known for the first {len(fields)} layers)")
        want[layer] = (idx, [int(u) for u in (us if np.ndim(us) else [us])])
    depth = max(i for i, _ in want.values()) + 1
    best = {layer: {u: [] for u in us} for layer, (_, us) in want.items()}
    dtype = next((p.dtype for p in feats.parameters()), np.float32)
    was_training = feats.training
    feats.eval()
    try:
        with no_grad():
            for s in range(0, X.shape[0], batch_size):
                h = _wrap(np.ascontiguousarray(X[s:s + batch_size], dtype=dtype))
                acts = {}
                for i, m in enumerate(feats):
                    if i >= depth:
                        break
                    h = m(h)
                    acts[i] = h
                for layer, (idx, us) in want.items():
                    a = acts[idx].numpy()
                    bad = [u for u in us if not 0 <= u < a.shape[1]]
                    if bad:
                        raise ValueError(f"top_patches: layer {layer!r} has {a.shape[1]} units, "
                                         f"asked for unit {bad[0]}")
                    flat = a[:, us].reshape(a.shape[0], len(us), -1)     # (n, units, H·W)
                    pos = flat.argmax(2)
                    val = np.take_along_axis(flat, pos[:, :, None], 2)[:, :, 0]
                    for t, u in enumerate(us):
                        cand = best[layer][u] + [(float(val[n, t]), s + n,
                                                  divmod(int(pos[n, t]), a.shape[3]))
                                                 for n in np.argsort(-val[:, t])[:k]]
                        best[layer][u] = sorted(cand, key=lambda c: (-c[0], c[1]))[:k]
    finally:
        feats.train(was_training)
    out = {}
    for layer, (idx, us) in want.items():
        rf = fields[idx]
        out[layer] = {u: [{"image": n, "position": pos, "activation": v,
                           "patch": _crop(X[n], rf.window(*pos))}
                          for v, n, pos in best[layer][u]] for u in us}
    return out


def _crop(img, window):
    r0, c0, r1, c1 = window
    C, H, W = img.shape
    patch = np.zeros((C, r1 - r0, c1 - c0), dtype=np.float64)
    rs, cs = max(r0, 0), max(c0, 0)
    re, ce = min(r1, H), min(c1, W)
    if rs < re and cs < ce:
        patch[:, rs - r0:re - r0, cs - c0:ce - c0] = img[:, rs:re, cs:ce]
    return patch


def plot_top_patches(result, layer, cmap="gray", figsize_per_unit=1.6, title=None):
    """One 3×3 grid (or ⌈√k⌉ square) of patches per unit of ``result[layer]``, side by side;
    returns the matplotlib Figure."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plot_top_patches needs matplotlib: pip install matplotlib (or "
                          "pip install tensorgrad[plot])") from None
    units = result[layer]
    k = max(len(v) for v in units.values())
    g = int(np.ceil(np.sqrt(k)))
    fig, axes = plt.subplots(1, len(units), figsize=(figsize_per_unit * len(units),
                                                     figsize_per_unit + 0.4), squeeze=False)
    for ax, (u, items) in zip(axes[0], units.items()):
        S = items[0]["patch"].shape[1]
        C = items[0]["patch"].shape[0]
        grid = np.ones((g * (S + 1) - 1, g * (S + 1) - 1, C))
        for t, it in enumerate(items):
            r, c = divmod(t, g)
            p = it["patch"].transpose(1, 2, 0)
            lo, hi = p.min(), p.max()
            grid[r * (S + 1):r * (S + 1) + S, c * (S + 1):c * (S + 1) + S] = \
                (p - lo) / (hi - lo) if hi > lo else 0.0
        ax.imshow(grid[:, :, 0] if C == 1 else grid, cmap=cmap if C == 1 else None,
                  vmin=0, vmax=1)
        ax.set_title(f"unit {u}", fontsize=8)
        ax.axis("off")
    fig.suptitle(title or f"layer {layer}: top-{k} patches, receptive field "
                          f"{items[0]['patch'].shape[1]}px", fontsize=9)
    fig.tight_layout()
    return fig
