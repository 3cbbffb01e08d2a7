"""The neural-style-transfer costs (Gatys, Ecker & Bethge, "Image style transfer using
convolutional neural networks", CVPR 2016), composed from tensor ops.

For a layer ℓ with activation a of shape (N, n_C, n_H, n_W):

* Gram ("style") matrix: G_kk' = Σ_ij a_ijk · a_ijk' — G = A·Aᵀ with A the n_C × (n_H·n_W)
  unrolled activation. It is an unnormalised cross-covariance: which channels fire *together*,
  wherever in the image — texture, not layout.
* Content cost: J_content = ½‖a⁽ᶜ⁾ − a⁽ᴳ⁾‖², or with ``normalize=True`` the variant
  1/(4·n_H·n_W·n_C)·‖a⁽ᶜ⁾ − a⁽ᴳ⁾‖², which keeps the value comparable across layers and sizes.
* Style cost of one layer: J_style^[ℓ] = 1/(2·n_H·n_W·n_C)² · ‖G⁽ˢ⁾ − G⁽ᴳ⁾‖²_F.
* Style cost: J_style = Σ_ℓ λ^[ℓ] · J_style^[ℓ] over several layers (early layers: fine texture
  and colour; later ones: larger motifs).
* Total: J(G) = α·J_content + β·J_style (+ γ·TV(G), the total variation, which smooths the
  high-frequency noise the pixel optimisation tends to leave).
"""
from __future__ import annotations

import numbers

from ... import ops as _ops
from ...tensor import Tensor

__all__ = ["gram_matrix", "content_cost", "style_layer_cost", "style_cost",
           "total_variation", "total_cost"]


def _act(a, op, what, ndim=4):
    if not isinstance(a, Tensor):
        raise TypeError(f"{op}: {what} must be a Tensor, got {type(a).__name__}")
    if a.ndim != ndim:
        raise ValueError(f"{op}: {what} must be an (N, C, H, W) activation, got shape {a.shape}")
    return a


def gram_matrix(a):
    """(N, C, H, W) → (N, C, C) unnormalised Gram matrices G = A·Aᵀ."""
    a = _act(a, "gram_matrix", "a")
    n, c, h, w = a.shape
    A = a.reshape(n, c, h * w)
    return _ops.bmm(A, A.transpose(1, 2))


def _same_shape(a, b, op, hint):
    if a.shape != b.shape:
        raise ValueError(f"{op}: the two activations must have the same shape, got {a.shape} "
                         f"and {b.shape}{hint}")


def content_cost(a_C, a_G, normalize=False):
    """½‖a_C − a_G‖² (default), or ‖a_C − a_G‖² / (4·n_H·n_W·n_C) with ``normalize=True``
    (summed over the batch)."""
    op = "content_cost"
    a_C, a_G = _act(a_C, op, "a_C"), _act(a_G, op, "a_G")
    _same_shape(a_C, a_G, op, " (the content and generated images must have the same size)")
    sq = _ops.sum((a_C - a_G) ** 2)
    if normalize:
        _, c, h, w = a_C.shape
        return sq / (4.0 * h * w * c)
    return 0.5 * sq


def style_layer_cost(a_S, a_G):
    """‖G(a_S) − G(a_G)‖²_F / (2·n_H·n_W·n_C)² for one layer (summed over the batch).

    ``a_S`` may also be the style image's precomputed Gram matrices (N, C, C) — then only a_G's
    n_H, n_W are used, so it must come from an image of the style image's size."""
    op = "style_layer_cost"
    a_G = _act(a_G, op, "a_G")
    _, c, h, w = a_G.shape
    if isinstance(a_S, Tensor) and a_S.ndim == 3:
        G_S = a_S
        if G_S.shape[1:] != (c, c):
            raise ValueError(f"{op}: the style Gram matrix is {G_S.shape[1:]} but a_G has {c} "
                             f"channels (expected ({c}, {c}))")
    else:
        a_S = _act(a_S, op, "a_S")
        _same_shape(a_S, a_G, op, " (the course's normalisation uses one n_H, n_W, n_C: resize "
                                  "the style image to the generated image's size)")
        G_S = gram_matrix(a_S)
    G_G = gram_matrix(a_G)
    return _ops.sum((G_S - G_G) ** 2) / float((2.0 * h * w * c) ** 2)


def style_cost(style_feats, gen_feats, weights=None):
    """Σ_ℓ λ_ℓ · style_layer_cost(style_feats[ℓ], gen_feats[ℓ]) over the layers named in
    ``weights`` (a dict name → λ; default: every layer of ``style_feats``, equal weights
    summing to 1). Values of ``style_feats`` may be activations or precomputed Grams."""
    if weights is None:
        weights = {k: 1.0 / len(style_feats) for k in style_feats}
    if not weights:
        raise ValueError("style_cost: no style layers given")
    total = None
    for name, lam in weights.items():
        for where, feats in (("style", style_feats), ("generated", gen_feats)):
            if name not in feats:
                raise KeyError(f"style_cost: layer {name!r} is missing from the {where} "
                               f"features (they hold {sorted(feats)})")
        if not isinstance(lam, numbers.Real):
            raise TypeError(f"style_cost: the weight of layer {name!r} must be a number, got "
                            f"{type(lam).__name__}")
        term = float(lam) * style_layer_cost(style_feats[name], gen_feats[name])
        total = term if total is None else total + term
    return total


def total_variation(img):
    """Σ (x[i+1, j] − x[i, j])² + Σ (x[i, j+1] − x[i, j])² over an (N, C, H, W) image."""
    x = _act(img, "total_variation", "img")
    return _ops.sum((x[:, :, 1:, :] - x[:, :, :-1, :]) ** 2) + \
        _ops.sum((x[:, :, :, 1:] - x[:, :, :, :-1]) ** 2)


def total_cost(j_content, j_style, alpha=10.0, beta=40.0, tv=None, tv_weight=0.0):
    """J(G) = α·J_content + β·J_style (+ tv_weight·tv when given)."""
    J = alpha * j_content + beta * j_style
    if tv is not None and tv_weight:
        J = J + tv_weight * tv
    return J
