"""Train the tiny YOLO on the synthetic shapes and measure mAP on a held-out split.

    python examples/train_yolo.py                 # the full run (a few minutes on 2 cores)
    python examples/train_yolo.py --quick         # a smoke run (seconds)

Training images and held-out images come from different seeds. After every epoch the script
prints the held-out VOC mAP@0.5 (all-point interpolation) and the training time so far (the
evaluation itself is not counted), then the final VOC mAP@0.5, COCO mAP@[.5:.95], the load
average (the machine may be shared) and, with --out, writes the curve as JSON and the weights.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

import tensorgrad as tg
from tensorgrad.vision import detection as D


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=3000, help="training images")
    ap.add_argument("--test", type=int, default=500, help="held-out images")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--anchors", type=int, default=3)
    ap.add_argument("--width", type=int, default=16, help="channels of the first conv")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="tiny settings for a smoke test")
    ap.add_argument("--out", default=None, help="folder for curve.json and yolo.tgw")
    a = ap.parse_args(argv)
    if a.quick:
        a.train, a.test, a.epochs = 96, 24, 1
    tg.manual_seed(a.seed)
    t0 = time.perf_counter()
    train = D.SyntheticShapes(a.train, seed=1000 + a.seed)
    test = D.SyntheticShapes(a.test, seed=2000 + a.seed)
    print(f"data: {train} / {test} in {time.perf_counter() - t0:.1f} s", flush=True)
    cell = train.image_size / 8
    wh = np.concatenate([b[:, 2:] - b[:, :2] for b in train.boxes]) / cell
    anchors = D.kmeans_anchors(wh, a.anchors, seed=a.seed)
    print(f"anchors (cells, w x h): {np.round(anchors, 2).tolist()}, mean best IoU "
          f"{D.mean_best_iou(wh, anchors):.3f}", flush=True)
    model = D.YOLO(train.num_classes, anchors, image_size=train.image_size, grid_size=8,
                   width=a.width)
    targets = list(zip(test.boxes, test.labels))
    curve = []

    def on_epoch(epoch, m, seconds):
        preds = m.predict(test.images, score_threshold=0.01)
        mp = D.voc_map(preds, targets, train.num_classes)
        curve.append({"epoch": epoch, "train_seconds": round(seconds, 1), "voc_map50": mp})
        print(f"epoch {epoch:3d}  train time {seconds:7.1f} s  held-out mAP@0.5 {mp:.4f}",
              flush=True)

    hist = D.train_yolo(model, train.images, train.boxes, train.labels, epochs=a.epochs,
                        batch_size=a.batch_size, lr=a.lr, seed=a.seed, callback=on_epoch,
                        progress=sys.stderr.isatty())
    preds = model.predict(test.images, score_threshold=0.01)
    res = D.evaluate_detections(preds, targets, train.num_classes)
    coco = D.coco_map(preds, targets, train.num_classes)
    print(f"\nfinal held-out VOC mAP@0.5 = {res['map']:.4f} (per class "
          f"{dict(zip(train.class_names, np.round(res['ap'][0], 4).tolist()))}), "
          f"COCO mAP@[.5:.95] = {coco:.4f}")
    print(f"training time {hist['seconds'][-1]:.1f} s for {a.epochs} epochs of {a.train} "
          f"images; total wall time {time.perf_counter() - t0:.1f} s; load average "
          f"{tuple(round(x, 2) for x in os.getloadavg())} on {os.cpu_count()} cores")
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        with open(os.path.join(a.out, "curve.json"), "w") as f:
            json.dump({"args": vars(a), "curve": curve, "loss": hist["loss"],
                       "final_voc_map50": res["map"], "final_coco_map": coco}, f, indent=1)
        tg.save(model.state_dict(), os.path.join(a.out, "yolo.tgw"))
    return res["map"], coco


if __name__ == "__main__":
    main()
