"""NMS timing: tg.vision.ops.nms / batched_nms on 10,000 boxes (numba kernel).

    python bench/bench_nms.py [--n 10000] [--tv-python PATH]

Workloads: boxes spread over a large image (little overlap: almost every box survives, the
kernel's worst case, N²/2 IoUs), boxes crowded on a small image (heavy suppression), and
batched NMS over 20 classes. ``--tv-python`` names a Python interpreter that has torchvision;
the same workloads then also run there, each framework in its own fresh process, alternated
over rounds, and the table shows the ratio of medians. Prints a markdown table and the load
average (the machine may be shared: say so when reporting a figure).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ensure_bench_env, settings_line  # noqa: E402

WORKLOADS = [  # name, image span, max box size, threshold, classes
    ("sparse, IoU>0.5 (little suppression)", 4000.0, 60.0, 0.5, 0),
    ("crowded, IoU>0.5", 300.0, 60.0, 0.5, 0),
    ("crowded, IoU>0.7", 300.0, 60.0, 0.7, 0),
    ("threshold 1 (keeps all)", 1000.0, 60.0, 1.0, 0),
    ("batched, 20 classes, IoU>0.5", 1000.0, 60.0, 0.5, 20),
]

CHILD = r"""
import json, sys, time, statistics
import numpy as np
n, span, size, thr, ncls, lib = json.loads(sys.argv[1])
rng = np.random.default_rng(0)
xy = rng.uniform(0, span, (n, 2)); wh = rng.uniform(1, size, (n, 2))
boxes = np.concatenate([xy, xy + wh], 1).astype(np.float32)
scores = rng.random(n).astype(np.float32)
idxs = rng.integers(0, max(ncls, 1), n)
if lib == "tg":
    from tensorgrad.vision.ops import nms, batched_nms
    b, s, i = boxes, scores, idxs
else:
    import torch
    from torchvision.ops import nms, batched_nms
    torch.set_num_threads(1)
    b, s, i = torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(idxs)
f = (lambda: batched_nms(b, s, i, thr)) if ncls else (lambda: nms(b, s, thr))
kept = len(f())
for _ in range(2): f()
ts = []
for _ in range(7):
    t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
ver = "tensorgrad" if lib == "tg" else f"torch {torch.__version__}, torchvision " + \
    __import__("torchvision").__version__ + ", 1 thread"
print(json.dumps({"median": statistics.median(ts), "kept": kept, "version": ver}))
"""


def run_child(python, args):
    out = subprocess.run([python, "-c", CHILD, json.dumps(args)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ensure_bench_env()
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tv-python", default=None, help="a python with torch + torchvision")
    a = ap.parse_args()
    print(f"### NMS on {a.n} boxes (bench/bench_nms.py)\n\n{settings_line()}\n")
    head = "| workload | kept | tensorgrad (ms) |"
    if a.tv_python:
        head += " torchvision (ms) | ratio tg/tv |"
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    tv_version = None
    for name, span, size, thr, ncls in WORKLOADS:
        tg_t, tv_t = [], []
        for _ in range(a.rounds):   # alternate the frameworks, fresh process each
            r = run_child(sys.executable, [a.n, span, size, thr, ncls, "tg"])
            tg_t.append(r["median"])
            if a.tv_python:
                rv = run_child(a.tv_python, [a.n, span, size, thr, ncls, "tv"])
                tv_t.append(rv["median"])
                tv_version = rv["version"]
        line = f"| {name} | {r['kept']} | {statistics.median(tg_t) * 1e3:.1f} |"
        if a.tv_python:
            m_tg, m_tv = statistics.median(tg_t), statistics.median(tv_t)
            line += f" {m_tv * 1e3:.1f} | {m_tg / m_tv:.2f}× |"
        print(line, flush=True)
    if a.tv_python:
        print(f"\ntorchvision side: {tv_version}")
    print(f"\nload average (1, 5, 15 min): {os.getloadavg()}")


if __name__ == "__main__":
    main()
