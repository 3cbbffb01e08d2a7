"""Cold start: the first ``import tensorgrad`` plus the first convolution and the first LSTM call
(forward + backward, float32), with an EMPTY numba cache and with a warm one.

    python bench/bench_startup.py [--rounds N]

Each measurement is a fresh process. Empty cache: ``NUMBA_CACHE_DIR`` points at a new temporary
folder, so every kernel the calls need is compiled; warm: a second process on the same folder,
so the kernels load from it. torch's import and first calls are shown for reference. Goals: empty
cache ≤ 15 s, warm ≤ 1 s (import + first conv + first LSTM; the interpreter's own start is not
counted, the whole process's wall time is shown beside it).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import bench_env, parse_args, settings_line  # noqa: E402

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
fw = sys.argv[1]
if fw == "tg":
    import tensorgrad as T
else:
    import torch as T
    T.set_num_threads(2)
import numpy as np
t1 = time.perf_counter()
rng = np.random.default_rng(0)
x = T.tensor(rng.standard_normal((8, 3, 32, 32)).astype(np.float32), requires_grad=True)
w = T.tensor(rng.standard_normal((16, 3, 3, 3)).astype(np.float32), requires_grad=True)
T.nn.functional.conv2d(x, w, None, padding=1).sum().backward()
t2 = time.perf_counter()
m = T.nn.LSTM(16, 32)
xs = T.tensor(rng.standard_normal((10, 4, 16)).astype(np.float32), requires_grad=True)
m(xs)[0].sum().backward()
t3 = time.perf_counter()
print("BENCH-RESULT " + json.dumps({"import": t1 - t0, "conv": t2 - t1, "lstm": t3 - t2,
                                    "total": t3 - t0}))
"""


def run(fw, cache_dir, threads):
    env = bench_env(threads)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", CHILD, fw], env=env, capture_output=True,
                       text=True, timeout=600)
    wall = time.perf_counter() - t0
    for line in r.stdout.splitlines():
        if line.startswith("BENCH-RESULT "):
            d = json.loads(line[13:])
            d["process"] = wall
            return d
    raise RuntimeError(f"startup child failed ({fw}):\n{r.stderr[-3000:]}")


def main(argv=None):
    a = parse_args(argv, "cold start")
    rounds = max(1, min(a.rounds, 3))
    res = {"cold": [], "warm": [], "torch": []}
    load0 = os.getloadavg()[0]
    for r in range(rounds):
        with tempfile.TemporaryDirectory(prefix="tg-numba-cold-") as d:
            res["cold"].append(run("tg", d, a.threads))
            res["warm"].append(run("tg", d, a.threads))
        res["torch"].append(run("torch", None, a.threads))
        print(f"  round {r}: cold {res['cold'][-1]['total']:.2f} s, warm "
              f"{res['warm'][-1]['total']:.2f} s, torch {res['torch'][-1]['total']:.2f} s",
              file=sys.stderr, flush=True)
    med = {k: {f: statistics.median(d[f] for d in v) for f in v[0]} for k, v in res.items()}
    goals = {"cold": "≤ 15 s", "warm": "≤ 1 s", "torch": ""}
    names = {"cold": "tensorgrad, empty numba cache", "warm": "tensorgrad, warm numba cache",
             "torch": "torch (reference)"}
    lines = ["#### Cold start (bench/bench_startup.py): import + first conv2d + first LSTM, "
             "fwd+bwd, float32", "",
             "| run | import (s) | first conv (s) | first LSTM (s) | total (s) | goal | "
             "whole process (s) | spread of totals (s) |", "|---|---|---|---|---|---|---|---|"]
    for k in ("cold", "warm", "torch"):
        m = med[k]
        tot = [d["total"] for d in res[k]]
        ok = ""
        if k == "cold":
            ok = " ✓" if m["total"] <= 15 else " ✗"
        elif k == "warm":
            ok = " ✓" if m["total"] <= 1 else " ✗"
        lines.append(f"| {names[k]} | {m['import']:.2f} | {m['conv']:.2f} | {m['lstm']:.2f} | "
                     f"{m['total']:.2f}{ok} | {goals[k]} | {m['process']:.2f} | "
                     f"{min(tot):.2f}–{max(tot):.2f} |")
    lines += ["", settings_line(a.threads, a.cpus),
              f"load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; "
              f"medians of {rounds} rounds, each a fresh process"]
    text = "\n".join(lines)
    print(text, flush=True)
    return text


if __name__ == "__main__":
    main()
