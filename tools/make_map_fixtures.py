"""Make tests/data/coco_map.npz: pycocotools' COCOeval (bbox) on random detections.

Needs pycocotools (``pip install pycocotools``); the test suite only reads the .npz. Ground
truth: 60 images, 0-5 boxes of 3 classes (class 2 has none in the last case). Detections:
jittered copies of the ground truth (some loosely, some duplicated), random false positives,
random scores with some exact ties. Recorded: AP@[.5:.95] (stats[0]), AP@.5 (stats[1]),
AP@.75 (stats[2]) and AP@[.5:.95] per class.
"""
import contextlib
import io
import os

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "tests", "data", "coco_map.npz")


def make_case(rng, n_images=60, n_classes=3, drop_class=None):
    gts, dets = [], []
    for i in range(n_images):
        k = rng.integers(0, 6)
        xy = rng.uniform(0, 80, (k, 2))
        wh = rng.uniform(5, 30, (k, 2))
        lab = rng.integers(0, n_classes, k)
        if drop_class is not None:
            lab[lab == drop_class] = 0
        for b, c in zip(np.concatenate([xy, xy + wh], 1), lab):
            gts.append((i, *b, c))
            for _ in range(rng.choice([0, 1, 1, 1, 2])):       # missed, found, duplicated
                jit = rng.normal(0, rng.choice([0.5, 2.0, 5.0]), 4)
                d = b + jit
                d[2:] = np.maximum(d[2:], d[:2] + 1)
                c2 = c if rng.random() > 0.1 else rng.integers(0, n_classes)
                dets.append((i, *d, np.round(rng.random(), 2), c2))   # rounded: score ties
        for _ in range(rng.integers(0, 3)):                       # false positives
            xy0 = rng.uniform(0, 80, 2)
            d = np.concatenate([xy0, xy0 + rng.uniform(5, 30, 2)])
            dets.append((i, *d, np.round(rng.random(), 2), rng.integers(0, n_classes)))
    return np.array(gts, np.float64).reshape(-1, 6), np.array(dets, np.float64).reshape(-1, 7)


def coco_eval(gts, dets, n_images, n_classes):
    images = [{"id": i} for i in range(n_images)]
    cats = [{"id": c} for c in range(n_classes)]
    anns = []
    for j, (i, x1, y1, x2, y2, c) in enumerate(gts):
        anns.append({"id": j + 1, "image_id": int(i), "category_id": int(c), "iscrowd": 0,
                     "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1)})
    gt = COCO()
    gt.dataset = {"images": images, "categories": cats, "annotations": anns}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        dt = gt.loadRes([{"image_id": int(i), "category_id": int(c), "score": float(s),
                          "bbox": [x1, y1, x2 - x1, y2 - y1]}
                         for i, x1, y1, x2, y2, s, c in dets])
        E = COCOeval(gt, dt, "bbox")
        E.evaluate()
        E.accumulate()
        E.summarize()
    prec = E.eval["precision"][:, :, :, 0, -1]          # T, R, K at area all, maxDets 100
    per_class = np.array([prec[:, :, k][prec[:, :, k] > -1].mean() if (prec[:, :, k] > -1).any()
                          else np.nan for k in range(n_classes)])
    return E.stats[:3], per_class


def main():
    rng = np.random.default_rng(2026)
    data = {}
    for name, kw in (("a", {}), ("b", {"drop_class": 2})):
        gts, dets = make_case(rng, **kw)
        stats, per_class = coco_eval(gts, dets, 60, 3)
        data.update({f"{name}_gts": gts, f"{name}_dets": dets, f"{name}_stats": stats,
                     f"{name}_per_class": per_class})
    np.savez_compressed(OUT, **data)
    print(f"wrote {OUT} ({os.path.getsize(OUT) / 1024:.0f} KB)", {k: v for k, v in data.items()
                                                                   if "stats" in k})


if __name__ == "__main__":
    main()
