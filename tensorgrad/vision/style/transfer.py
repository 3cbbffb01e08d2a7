"""Neural style transfer by optimising the generated image's pixels.

Algorithm (Gatys et al. 2016): fix a feature network; take the content image's activation at one
layer and the style image's Gram matrices at several layers as targets; start the generated
image G from the content image plus noise; minimise J(G) = α·J_content + β·J_style (+ γ·TV)
over G's pixels with Adam or L-BFGS. Only the image is a leaf that requires grad; the network is
frozen.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import numpy as np

from ... import optim
from ...autograd import no_grad
from ...tensor import Tensor, _wrap
from .costs import content_cost, gram_matrix, style_cost, total_variation
from .features import FeatureExtractor, random_features
from .images import load_image

__all__ = ["style_transfer", "StyleResult", "RANDOM_CONTENT", "RANDOM_STYLE"]

# layers of random_features() used by default
RANDOM_CONTENT = "relu2_1"
RANDOM_STYLE = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")


@dataclass
class StyleResult:
    """The generated image (1, 3, H, W) in [0, 1] and the costs per closure evaluation
    (``history`` keys "J", "content", "style", "tv"; "seconds" per evaluation). ``reference``
    holds yardsticks: "content_of_style" = J_content(C, S) (how far the style image itself is
    from the content) and "style_of_content" = J_style(S, C) (the content image's style cost)."""
    image: Tensor
    history: dict = field(default_factory=dict)
    iterations: int = 0
    evaluations: int = 0
    reference: dict = field(default_factory=dict)


def _as_image(x, what):
    if isinstance(x, Tensor) and x.ndim == 4:
        if x.shape[0] != 1 or x.shape[1] != 3:
            raise ValueError(f"style_transfer: {what} must be one RGB image (1, 3, H, W), got "
                             f"{x.shape}")
        return _wrap(np.ascontiguousarray(x.detach().numpy()))
    return load_image(x)


def style_transfer(content, style, *, extractor=None, content_layer=None, style_layers=None,
                   style_weights=None, alpha=1.0, beta=100.0, tv_weight=0.0,
                   normalize_content=True, optimizer="lbfgs", steps=100, lr=None, noise=0.02,
                   seed=0, dtype=np.float32, progress=True, callback=None):
    """Generate an image with ``content``'s layout and ``style``'s texture statistics.

    ``content``/``style``: anything ``load_image`` accepts (same height and width; fit the style
    image with ``load_image(style, crop_to=(H, W))``). ``extractor``: a ``FeatureExtractor``, a
    VGG-layout model (``model.features``), or None for ``random_features(seed)``.
    ``content_layer`` / ``style_layers`` (names; ``style_weights`` λ per layer, default equal,
    summing to 1) default to conv4_2 / relu1_1…relu5_1 for a 5-block VGG and to relu3_1 /
    relu1_1…relu4_1 for the random network. The content cost uses the 1/(4·n_H·n_W·n_C) variant
    unless ``normalize_content=False`` (then ½‖·‖²). The defaults α = 1, β = 100 and noise 0.02
    were tuned by eye for the random network on 128-pixel photos; retune β for VGG.

    ``optimizer``: "lbfgs" (``tg.optim.LBFGS`` with a strong-Wolfe line search; ``steps`` counts
    L-BFGS iterations, each one or more forward+backward evaluations) or "adam" (``steps`` Adam
    updates at ``lr``, default 0.02, pixels clipped to [0, 1] after each). G starts from the
    content image plus ``noise``·N(0, 1) (seeded), clipped to [0, 1]. ``callback(iteration,
    costs_dict, image)`` is called after each iteration. Returns a ``StyleResult``."""
    C, S = _as_image(content, "content"), _as_image(style, "style")
    if C.shape != S.shape:
        raise ValueError(f"style_transfer: the content and style images must have the same size, "
                         f"got content {tuple(C.shape[2:])} and style {tuple(S.shape[2:])} "
                         f"(H, W); fit the style image with load_image(style, crop_to="
                         f"{tuple(C.shape[2:])})")
    if optimizer not in ("lbfgs", "adam"):
        raise ValueError(f"style_transfer: optimizer must be 'lbfgs' or 'adam', got "
                         f"{optimizer!r}")
    ext, content_layer, weights = _extractor(extractor, content_layer, style_layers,
                                             style_weights, seed, dtype)
    C, S = _wrap(C.numpy().astype(dtype)), _wrap(S.numpy().astype(dtype))

    with no_grad():
        target_c = ext(C)[content_layer].detach()
        feats_s = ext(S)
        grams = {k: gram_matrix(feats_s[k]).detach() for k in weights}
        reference = {
            "content_of_style": float(content_cost(target_c, feats_s[content_layer],
                                                   normalize=normalize_content).item()),
            "style_of_content": float(style_cost(grams, ext(C), weights).item())}
    rng = np.random.default_rng(seed)
    g0 = np.clip(C.numpy() + noise * rng.standard_normal(C.shape).astype(dtype), 0, 1)
    G = _wrap(g0.astype(dtype)).requires_grad_(True)

    hist = {"J": [], "content": [], "style": [], "tv": [], "seconds": []}

    def costs():
        t0 = time.perf_counter()
        feats = ext(G)
        jc = content_cost(target_c, feats[content_layer], normalize=normalize_content)
        js = style_cost(grams, feats, weights)
        J = alpha * jc + beta * js
        tv = None
        if tv_weight:
            tv = total_variation(G)
            J = J + tv_weight * tv
        return J, jc, js, tv, t0

    def closure():
        opt.zero_grad()
        J, jc, js, tv, t0 = costs()
        J.backward()
        hist["J"].append(float(J.item()))
        hist["content"].append(float(jc.item()))
        hist["style"].append(float(js.item()))
        hist["tv"].append(float(tv.item()) if tv is not None else 0.0)
        hist["seconds"].append(time.perf_counter() - t0)
        return J

    if optimizer == "adam":
        opt = optim.Adam([G], lr=0.02 if lr is None else lr)
    else:
        opt = optim.LBFGS([G], lr=1.0 if lr is None else lr, max_iter=min(20, steps),
                          line_search_fn="strong_wolfe", history_size=50)
    bar = _bar(steps, optimizer, progress)
    it = 0
    while it < steps:
        if optimizer == "adam":
            closure()
            opt.step()
            with no_grad():
                G.clamp_(0.0, 1.0)
            it += 1
            done = 1
        else:
            before = opt.state.get(G, {}).get("n_iter", 0)
            opt.param_groups[0]["max_iter"] = min(20, steps - it)
            opt.param_groups[0]["max_eval"] = opt.param_groups[0]["max_iter"] * 5 // 4
            opt.step(closure)
            done = opt.state[G]["n_iter"] - before   # 0: the gradient is already ~0
            it += done
        if bar is not None:
            bar.update(done)
            bar.set_postfix(J=f"{hist['J'][-1]:.4g}", style=f"{hist['style'][-1]:.3g}",
                            content=f"{hist['content'][-1]:.3g}")
        if callback is not None:
            callback(it, {k: v[-1] for k, v in hist.items()}, G)
        if done == 0:
            break
    if bar is not None:
        bar.close()
    out = _wrap(np.clip(G.detach().numpy(), 0.0, 1.0).copy())
    return StyleResult(out, hist, it, len(hist["J"]), reference)


def _bar(total, desc, progress):
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        return None
    return tqdm(total=total, desc=f"style transfer ({desc})", unit="it", file=sys.stdout)


def _extractor(extractor, content_layer, style_layers, style_weights, seed, dtype):
    from .features import VGG19_CONTENT, VGG19_STYLE, vgg_layer_names
    if isinstance(extractor, FeatureExtractor):
        model = extractor
        names = list(model.layer_index)
        content_layer = content_layer or names[0]
        style_layers = style_layers or names[1:] or names
    else:
        base = random_features(seed, dtype=dtype) if extractor is None else extractor
        names = vgg_layer_names(base)
        if content_layer is None:
            content_layer = RANDOM_CONTENT if extractor is None else VGG19_CONTENT
        if style_layers is None:
            style_layers = RANDOM_STYLE if extractor is None else tuple(
                n for n in VGG19_STYLE if n in names)
        model = FeatureExtractor(base, [content_layer, *style_layers])
    if style_weights is None:
        style_weights = {k: 1.0 / len(style_layers) for k in style_layers}
    for k in style_weights:
        if k not in model.layer_index:
            raise ValueError(f"style_transfer: style layer {k!r} is not extracted (layers: "
                             f"{sorted(model.layer_index)})")
    if content_layer not in model.layer_index:
        raise ValueError(f"style_transfer: content layer {content_layer!r} is not extracted "
                         f"(layers: {sorted(model.layer_index)})")
    return model, content_layer, dict(style_weights)
