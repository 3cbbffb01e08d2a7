"""Neural style transfer at 128×128: time per iteration, tensorgrad vs PyTorch CPU.

Run from the repository root: ``python bench/bench_style.py`` (``--quick``: fewer rounds).

The workload is one evaluation of J(G) = α·J_content + β·J_style and its gradient with respect to
the 128×128 RGB image G, through ``tg.vision.style.random_features(0)`` (the offline default:
VGG-layout, widths 32-64-128-128, 7 convolutions, content relu2_1, style relu1_1…relu4_1) — the
cost of one Adam step, and of each function evaluation inside an L-BFGS iteration. PyTorch runs
the same network with the same weights. Also reported: one L-BFGS iteration of tensorgrad
(strong-Wolfe line search, averaged over 10 iterations, so it includes ~1–2 evaluations each).

Each framework runs in its own fresh process (PERF.md: never both in one), alternating over
ROUNDS rounds under one environment (``harness.ensure_bench_env``); medians are compared.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ensure_bench_env, report  # noqa: E402

ROUNDS = 2 if "--quick" in sys.argv else 5
SIZE = 128

_COMMON = r"""
import json, time, statistics
import numpy as np
from tensorgrad.vision import style as st
SIZE = %d
rng = np.random.default_rng(0)
C = rng.random((1, 3, SIZE, SIZE)).astype(np.float32)
S = rng.random((1, 3, SIZE, SIZE)).astype(np.float32)
net = st.random_features(0)
names = st.vgg_layer_names(net)
CONTENT, STYLE = st.RANDOM_CONTENT, st.RANDOM_STYLE
state = {k: v.numpy() for k, v in net.state_dict().items()}
def med(fn, n=5, warm=2):
    for _ in range(warm): fn()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts)
""" % SIZE

_TG = _COMMON + r"""
import tensorgrad as tg
ext = st.FeatureExtractor(net, [CONTENT, *STYLE])
w = {k: 1.0 / len(STYLE) for k in STYLE}
with tg.no_grad():
    tc = ext(tg.tensor(C))[CONTENT]
    fs = ext(tg.tensor(S))
    grams = {k: st.gram_matrix(fs[k]) for k in STYLE}
G = tg.tensor(C.copy(), requires_grad=True)
def evaluate():
    G.grad = None
    f = ext(G)
    J = st.content_cost(tc, f[CONTENT], normalize=True) + 10.0 * st.style_cost(grams, f, w)
    J.backward()
    return J
t_eval = med(evaluate)
opt = tg.optim.LBFGS([G], max_iter=10, line_search_fn="strong_wolfe")
evals = [0]
def closure():
    evals[0] += 1
    return evaluate()
opt.step(closure)  # warm-up
n0, e0 = opt.state[G]["n_iter"], evals[0]
t0 = time.perf_counter(); opt.step(closure); t_lbfgs = time.perf_counter() - t0
iters = opt.state[G]["n_iter"] - n0
print(json.dumps({"eval": t_eval, "lbfgs_iter": t_lbfgs / max(iters, 1),
                  "evals_per_iter": (evals[0] - e0) / max(iters, 1)}))
"""

_TORCH = _COMMON + r"""
import torch
tnn = torch.nn
layers = []
for m in net.features:
    kind = type(m).__name__
    if kind == "Conv2d":
        layers.append(tnn.Conv2d(m.in_channels, m.out_channels, 3, padding=1))
    elif kind == "ReLU":
        layers.append(tnn.ReLU())
    else:
        layers.append(tnn.AvgPool2d(2))
feats = tnn.Sequential(*layers)
feats.load_state_dict({k.split(".", 1)[1]: torch.tensor(v) for k, v in state.items()})
for p in feats.parameters():
    p.requires_grad_(False)
idx = {n: names.index(n) for n in [CONTENT, *STYLE]}
def extract(x):
    out = {}
    for i, m in enumerate(feats):
        x = m(x)
        for n, j in idx.items():
            if j == i: out[n] = x
        if i >= max(idx.values()): break
    return out
def gram(a):
    A = a.reshape(a.shape[0], a.shape[1], -1)
    return A @ A.transpose(1, 2)
with torch.no_grad():
    tc = extract(torch.tensor(C))[CONTENT]
    fs = extract(torch.tensor(S))
    grams = {k: gram(fs[k]) for k in STYLE}
G = torch.tensor(C.copy(), requires_grad=True)
def evaluate():
    G.grad = None
    f = extract(G)
    a = f[CONTENT]
    jc = ((tc - a) ** 2).sum() / (4.0 * a.shape[1] * a.shape[2] * a.shape[3])
    js = 0.0
    for k in STYLE:
        b = f[k]
        js = js + ((grams[k] - gram(b)) ** 2).sum() / (2.0 * b.shape[1] * b.shape[2] * b.shape[3]) ** 2 / len(STYLE)
    J = jc + 10.0 * js
    J.backward()
    return J
print(json.dumps({"eval": med(evaluate)}))
"""


def _run(code):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ensure_bench_env()
    tg_runs, th_runs = [], []
    for _ in range(ROUNDS):
        tg_runs.append(_run(_TG))
        try:
            th_runs.append(_run(_TORCH))
        except (subprocess.CalledProcessError, json.JSONDecodeError):  # torch absent
            th_runs.append({"eval": float("nan")})
    tg_eval = statistics.median(r["eval"] for r in tg_runs)
    th_eval = statistics.median(r["eval"] for r in th_runs)
    it = statistics.median(r["lbfgs_iter"] for r in tg_runs)
    epi = statistics.median(r["evals_per_iter"] for r in tg_runs)
    report([(f"style transfer {SIZE}×{SIZE}: one J(G) forward+backward (= one Adam step)",
             tg_eval, th_eval, None)],
           f"Style transfer, {ROUNDS} rounds, each framework in its own process")
    print(f"\ntensorgrad L-BFGS (strong Wolfe): {it * 1e3:.0f} ms per iteration, "
          f"{epi:.2f} evaluations per iteration")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average at the end: {load:.2f}")


if __name__ == "__main__":
    main()
