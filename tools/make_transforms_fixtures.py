"""Write tests/data/torchvision_transforms.npz: torchvision.transforms.v2.functional outputs
on fixed images and fixed parameters, for tests/test_transforms.py.

Needs torchvision (a separate virtualenv with torch + torchvision; offline):

    /path/to/tv-venv/bin/python tools/make_transforms_fixtures.py

Each case is stored as ``<name>`` (the output) beside the inputs ``img_rgb`` / ``img_gray`` and
the displacement field ``disp``; the test file lists the same calls with tensorgrad's names.
"""
import os

import numpy as np
import torch
from torchvision.transforms.v2 import functional as F

BIL = F.InterpolationMode.BILINEAR
NEAR = F.InterpolationMode.NEAREST


def images():
    rng = np.random.default_rng(12)
    yy, xx = np.mgrid[0:20, 0:24]
    base = 0.5 + 0.4 * np.sin(xx / 3.0) * np.cos(yy / 4.0)
    rgb = np.stack([base, np.roll(base, 5, axis=1), 1 - base]) + 0.05 * rng.random((3, 20, 24))
    rgb = np.clip(rgb, 0, 1).astype(np.float32)
    gray = np.clip(rng.random((1, 28, 28)) * 0.3 + np.linspace(0, 0.7, 28)[None, :, None],
                   0, 1).astype(np.float32)
    disp = (0.08 * np.stack([np.sin(yy / 3.0 + xx / 5.0), np.cos(xx / 4.0)], -1))[None]
    return rgb, gray, disp.astype(np.float32)


def cases(rgb, gray, disp):
    """name -> torchvision output (the test mirrors each call)."""
    r, g, d = torch.tensor(rgb), torch.tensor(gray), torch.tensor(disp)
    sq = r[:, :, 2:22]  # a square 20x20 image
    out = {
        "hflip": F.horizontal_flip(r), "vflip": F.vertical_flip(r),
        "crop": F.crop(r, 3, 5, 10, 12),
        "center_crop": F.center_crop(r, [11, 13]),
        "pad_constant": F.pad(r, [1, 2, 3, 4], fill=0.5),
        "pad_reflect": F.pad(r, 3, padding_mode="reflect"),
        "pad_edge": F.pad(r, [2, 1], padding_mode="edge"),
        "pad_symmetric": F.pad(r, 2, padding_mode="symmetric"),
        "resize_down": F.resize(r, [10, 12], antialias=True),
        "resize_down_odd": F.resize(r, [7, 17], antialias=True),
        "resize_up": F.resize(r, [31, 37], antialias=True),
        "resize_short": F.resize(r, 16, antialias=True),
        "resize_noaa": F.resize(r, [10, 12], antialias=False),
        "resize_nearest": F.resize(r, [9, 13], interpolation=NEAR),
        "resized_crop": F.resized_crop(r, 2, 3, 15, 17, [12, 10], antialias=True),
        "rotate_nearest": F.rotate(r, 33.0),
        "rotate_bilinear": F.rotate(r, 33.0, interpolation=BIL),
        "rotate_fill": F.rotate(r, -20.0, interpolation=BIL, fill=[0.2, 0.3, 0.4]),
        "rotate_fill0": F.rotate(r, 47.0, interpolation=BIL, fill=0),
        "rotate_90": F.rotate(sq, 90.0),
        "rotate_center": F.rotate(r, 25.0, interpolation=BIL, center=[5, 7]),
        "affine_bilinear": F.affine(r, angle=15.0, translate=[2, -3], scale=1.1, shear=[10.0, 5.0],
                                    interpolation=BIL, fill=0),
        "affine_nearest": F.affine(r, angle=-8.0, translate=[1, 2], scale=0.9, shear=[3.0, 0.0]),
        "affine_shear": F.affine(g, angle=0.0, translate=[0, 0], scale=1.0, shear=[20.0, 0.0],
                                 interpolation=BIL, fill=0),
        "elastic_bilinear": F.elastic(r, d, interpolation=BIL, fill=0),
        "elastic_nearest": F.elastic(r, d, interpolation=NEAR),
        "blur": F.gaussian_blur(r, [5, 3], [1.5, 0.8]),
        "blur_gray": F.gaussian_blur(g, [7, 7], [2.0, 2.0]),
        "brightness": F.adjust_brightness(r, 1.3),
        "contrast": F.adjust_contrast(r, 0.6),
        "contrast_gray": F.adjust_contrast(g, 1.7),
        "saturation": F.adjust_saturation(r, 0.3),
        "hue": F.adjust_hue(r, 0.2),
        "hue_neg": F.adjust_hue(r, -0.35),
        "grayscale": F.rgb_to_grayscale(r),
        "normalize": F.normalize(r, [0.4, 0.5, 0.6], [0.2, 0.25, 0.3]),
    }
    for i, c in enumerate(F.ten_crop(r, [10, 12])):
        out[f"ten_crop_{i}"] = c
    return {k: v.numpy() for k, v in out.items()}


def main():
    rgb, gray, disp = images()
    res = cases(rgb, gray, disp)
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "data",
                        "torchvision_transforms.npz")
    np.savez_compressed(path, img_rgb=rgb, img_gray=gray, disp=disp, **res)
    print(f"{len(res)} cases -> {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
