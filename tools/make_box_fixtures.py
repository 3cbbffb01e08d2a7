"""Make tests/data/torchvision_boxes.npz: torchvision's own results for box_iou,
generalized_box_iou, box_convert, nms and batched_nms on tricky inputs.

Needs torch + torchvision (run it in an environment that has them, e.g.
``path/to/venv-with-torchvision/bin/python tools/make_box_fixtures.py``).  The test suite only
reads the .npz and never imports torchvision.

Cases: exact score ties (torchvision keeps the lower index first), identical boxes, zero-area
boxes (their IoU is 0/0 = NaN, which never suppresses), boxes whose IoU is exactly the threshold
(kept: suppression needs IoU > threshold), thresholds 0 and 1, and a few thousand random boxes.
batched_nms is recorded on both of torchvision's code paths (the coordinate trick for <= 1000
boxes on CPU, per-class NMS above).
"""
import os

import numpy as np
import torch
import torchvision
from torchvision.ops import batched_nms, box_convert, box_iou, generalized_box_iou, nms

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "tests", "data", "torchvision_boxes.npz")


def random_boxes(rng, n, span=64.0, max_wh=16.0, grid=None, dtype=np.float32):
    xy = rng.uniform(0, span, size=(n, 2))
    wh = rng.uniform(0, max_wh, size=(n, 2))
    if grid:  # coordinates on a grid of 1/grid: many exact ties in IoU, exact offsets
        xy, wh = np.round(xy * grid) / grid, np.round(wh * grid) / grid
    return np.concatenate([xy, xy + wh], 1).astype(dtype)


def tricky_boxes(rng):
    base = random_boxes(rng, 40, grid=2)
    same = np.repeat(base[:5], 4, axis=0)                               # identical boxes
    zero = np.array([[3, 3, 3, 3], [3, 3, 3, 3], [1, 1, 1, 5], [2, 2, 6, 2], [0, 0, 0, 0]],
                    np.float32)                                         # zero area
    half = np.array([[0, 0, 2, 1], [0, 0, 1, 1], [1, 0, 2, 1], [0, 0, 4, 1],
                     [10, 10, 12, 12], [12, 10, 14, 12]], np.float32)   # IoU exactly 1/2, touching
    return np.concatenate([base, same, zero, half]).astype(np.float32)


def main():
    rng = np.random.default_rng(20261213)
    data = {"torch_version": np.array(torch.__version__), "torchvision_version":
            np.array(torchvision.__version__)}
    # ---- box_iou / generalized_box_iou / box_convert --------------------------------------
    t = tricky_boxes(rng)
    data["iou_boxes"] = t
    data["iou_result"] = box_iou(torch.from_numpy(t), torch.from_numpy(t)).numpy()
    r1 = random_boxes(rng, 120)
    r2 = random_boxes(rng, 80)
    for dt, tag in ((np.float32, "f32"), (np.float64, "f64")):
        a, b = torch.from_numpy(r1.astype(dt)), torch.from_numpy(r2.astype(dt))
        data[f"iou_random_{tag}"] = box_iou(a, b).numpy()
        pos1 = a.clone()
        pos1[:, 2:] += 0.25   # strictly positive area for GIoU
        pos2 = b.clone()
        pos2[:, 2:] += 0.25
        data[f"giou_random_{tag}"] = generalized_box_iou(pos1, pos2).numpy()
    data["iou_random_a"], data["iou_random_b"] = r1, r2
    # valid in every format: x1, y1 in [-5, 20) and x2, y2 (or w, h) in [25, 50)
    conv = np.concatenate([rng.uniform(-5, 20, size=(100, 2)), rng.uniform(25, 50, size=(100, 2))],
                          1).astype(np.float32)
    data["convert_in"] = conv
    for i in ("xyxy", "xywh", "cxcywh"):
        for o in ("xyxy", "xywh", "cxcywh"):
            data[f"convert_{i}_{o}"] = box_convert(torch.from_numpy(conv), i, o).numpy()
    # ---- nms ------------------------------------------------------------------------------
    cases = []
    tb = tricky_boxes(rng)
    ts = rng.choice(np.float32([0.1, 0.2, 0.5, 0.9]), size=len(tb)).astype(np.float32)
    for thr in (0.0, 0.3, 0.5, 1.0):
        cases.append(("tricky", tb, ts, thr))
    cases.append(("tricky_equal_scores", tb, np.ones(len(tb), np.float32), 0.5))
    g = random_boxes(rng, 2500, grid=4)
    gs = (rng.integers(0, 20, size=2500) / 20).astype(np.float32)   # many exact ties
    for thr in (0.0, 0.5, 1.0):
        cases.append(("grid2500", g, gs, thr))
    f = random_boxes(rng, 3000, max_wh=24.0)
    fs = rng.random(3000).astype(np.float32)
    for thr in (0.3, 0.7):
        cases.append(("float3000", f, fs, thr))
    f64 = random_boxes(rng, 1500, dtype=np.float64)
    cases.append(("float64_1500", f64, rng.random(1500), 0.5))
    data["nms_names"] = np.array([c[0] for c in cases])
    for k, (name, b, s, thr) in enumerate(cases):
        keep = nms(torch.from_numpy(b), torch.from_numpy(s), thr).numpy()
        data[f"set_{name}_boxes"], data[f"set_{name}_scores"] = b, s   # stored once per set
        data[f"nms{k}_thr"], data[f"nms{k}_keep"] = np.float64(thr), keep
    # ---- batched_nms (both torchvision code paths) ----------------------------------------
    bcases = []
    sb = random_boxes(rng, 600, grid=8)                   # <= 1000 boxes: coordinate trick
    bcases.append(("small600", sb, (rng.integers(0, 10, 600) / 10).astype(np.float32),
                   rng.integers(0, 4, 600), 0.5))
    bcases.append(("small600", sb, (rng.integers(0, 10, 600) / 10).astype(np.float32),
                   rng.integers(0, 4, 600), 0.0))
    lb = random_boxes(rng, 3000)                         # > 1000 boxes: per-class NMS
    bcases.append(("large3000", lb, (rng.integers(0, 50, 3000) / 50).astype(np.float32),
                   rng.integers(0, 7, 3000), 0.5))
    bcases.append(("large3000", lb, np.ones(3000, np.float32),
                   rng.integers(0, 3, 3000), 1.0))
    data["bnms_names"] = np.array([c[0] for c in bcases])
    for k, (name, b, s, idx, thr) in enumerate(bcases):
        keep = batched_nms(torch.from_numpy(b), torch.from_numpy(s), torch.from_numpy(idx),
                           thr).numpy()
        data[f"bset_{name}_boxes"], data[f"bnms{k}_scores"] = b, s
        data[f"bnms{k}_idxs"], data[f"bnms{k}_thr"] = idx, np.float64(thr)
        data[f"bnms{k}_keep"] = keep
    np.savez_compressed(OUT, **data)
    print(f"wrote {OUT} ({os.path.getsize(OUT) / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
