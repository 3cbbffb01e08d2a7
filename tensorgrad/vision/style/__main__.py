"""``python -m tensorgrad.vision.style CONTENT STYLE -o OUT.png`` — neural style transfer from the
command line. CONTENT and STYLE are image files or bundled images (``skimage:chelsea``,
``sklearn:flower.jpg``). The content image is resized so its longer side is ``--size``; the style
image is centre-cropped to the same aspect and resized to the same size."""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def build_parser():
    ap = argparse.ArgumentParser(prog="python -m tensorgrad.vision.style",
                                 description="Neural style transfer (Gatys et al. 2016) on the "
                                             "CPU with tensorgrad.")
    ap.add_argument("content", help="content image: a file, or skimage:NAME / sklearn:NAME")
    ap.add_argument("style", help="style image: a file, or skimage:NAME / sklearn:NAME")
    ap.add_argument("-o", "--output", required=True, help="where to write the result (.png)")
    ap.add_argument("--size", type=int, default=128, help="longer side in pixels (128)")
    ap.add_argument("--steps", type=int, default=100, help="iterations (100)")
    ap.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs")
    ap.add_argument("--lr", type=float, default=None, help="step size (L-BFGS 1, Adam 0.02)")
    ap.add_argument("--alpha", type=float, default=1.0, help="content weight α (1)")
    ap.add_argument("--beta", type=float, default=100.0, help="style weight β (100)")
    ap.add_argument("--tv", type=float, default=0.0, help="total-variation weight (0)")
    ap.add_argument("--noise", type=float, default=0.02, help="initial noise std (0.02)")
    ap.add_argument("--weights", default=None,
                    help="safetensors file with torchvision VGG weights (see "
                         "convert_torchvision_vgg); default: seeded random features")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--side-by-side", action="store_true",
                    help="write content | style | result in one image")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    return ap


def main(argv=None):
    args = build_parser().parse_args(argv)
    from . import (IMAGENET_MEAN, IMAGENET_STD, FeatureExtractor, VGG19_CONTENT, VGG19_STYLE,
                   load_image, load_vgg_features, save_image, style_transfer, to_numpy_image,
                   vgg_layer_names)
    if args.size < 8:
        print(f"error: --size must be at least 8, got {args.size}", file=sys.stderr)
        return 2
    try:
        C = load_image(args.content, size=args.size)
        S = load_image(args.style, crop_to=C.shape[2:])
    except (FileNotFoundError, ValueError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    extractor = None
    if args.weights:
        model = load_vgg_features(args.weights)
        names = vgg_layer_names(model)
        extractor = FeatureExtractor(model, [VGG19_CONTENT] + [n for n in VGG19_STYLE
                                                               if n in names],
                                     mean=IMAGENET_MEAN, std=IMAGENET_STD)
    h, w = C.shape[2:]
    print(f"content {args.content} -> {w}x{h}; style {args.style} -> {w}x{h}; "
          f"features: {'VGG from ' + args.weights if args.weights else 'random (seed %d)' % args.seed}; "
          f"{args.optimizer}, {args.steps} iterations")
    t0 = time.perf_counter()
    res = style_transfer(C, S, extractor=extractor, optimizer=args.optimizer, steps=args.steps,
                         lr=args.lr, alpha=args.alpha, beta=args.beta, tv_weight=args.tv,
                         noise=args.noise, seed=args.seed, progress=not args.quiet)
    secs = time.perf_counter() - t0
    hist = res.history
    out = res.image
    if args.side_by_side:
        out = np.concatenate([to_numpy_image(C), to_numpy_image(S), to_numpy_image(res.image)],
                             axis=1)
    save_image(out, args.output)
    print(f"style cost {hist['style'][0]:.4g} -> {hist['style'][-1]:.4g} "
          f"({hist['style'][0] / max(hist['style'][-1], 1e-300):.1f}x lower); content cost "
          f"{hist['content'][0]:.4g} -> {hist['content'][-1]:.4g}; {res.iterations} iterations, "
          f"{res.evaluations} evaluations in {secs:.1f} s "
          f"({1000 * np.median(hist['seconds']):.0f} ms per forward+backward)")
    print(f"wrote {args.output} ({out.shape[1] if isinstance(out, np.ndarray) else w}x{h})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
