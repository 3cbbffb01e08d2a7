"""Convolution and pooling: tensorgrad vs PyTorch CPU, side by side in one process.

Run from the repository root: ``python bench/bench_conv.py`` (``--quick``: fewer rounds;
``--single-thread``: torch, BLAS and tensorgrad all on one thread; ``--no-compile``: skip the
compile-time measurement).
float32; every workload is forward + backward (input, weight and bias gradients); medians of
``ROUNDS`` rounds, tensorgrad and torch alternating round by round so that both see the same
machine load; each round is itself a median of a few calls after warm-up. Also reports the
cold numba compile time of all conv/pool kernels and the warm (cached) start, each measured in
a fresh process.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ensure_bench_env, median_time, report  # noqa: E402

ROUNDS = 3 if "--quick" in sys.argv else 9

_COMPILE_SNIPPET = r"""
import time
t0 = time.perf_counter()
import numpy as np
import tensorgrad as tg
import tensorgrad.nn.functional as F
t1 = time.perf_counter()
for dt in (np.float32, np.float64):
    x = tg.tensor(np.random.rand(2, 2, 6, 6).astype(dt), requires_grad=True)
    w = tg.tensor(np.random.rand(3, 2, 3, 3).astype(dt), requires_grad=True)
    for s in (1, 2):                      # stride 1 (flat layout) and general im2col
        F.conv2d(x, w, None, stride=s, padding=1).sum().backward()
    F.max_pool2d(x, 2).sum().backward()   # 2x2/2 fast path
    F.max_pool2d(x, 3, 1).sum().backward()
    F.avg_pool2d(x, 2).sum().backward()
    F.adaptive_avg_pool2d(x, 1).sum().backward()
    xw = tg.tensor(np.random.rand(2, 16, 10, 10).astype(dt), requires_grad=True)
    ww = tg.tensor(np.random.rand(16, 16, 3, 3).astype(dt), requires_grad=True)
    F.conv2d(xw, ww, None, padding=1).sum().backward()  # Winograd F(2x2, 3x3) path
t2 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t1:.3f}")
"""


def compile_times():
    """(cold seconds, warm seconds) to compile/load every conv+pool kernel, f32 and f64."""
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, NUMBA_CACHE_DIR=d)
        out = []
        for _ in range(2):
            r = subprocess.run([sys.executable, "-c", _COMPILE_SNIPPET], env=env,
                               capture_output=True, text=True, check=True)
            out.append(float(r.stdout.split()[1]))
    return out


CPU = []  # (name, tensorgrad CPU ms, torch CPU ms): process CPU time per call, all threads
BEST = []  # (name, tensorgrad best ms, torch best ms): fastest single call over all rounds


def cpu_time(fn, n=5):
    fn()
    t = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - t) / n


def best_time(fn, n=5):
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def interleaved(fa, fb, rounds=ROUNDS, name=""):
    ta, tb, ca, cb, ba, bb = [], [], [], [], [], []
    for _ in range(rounds):
        ta.append(median_time(fa, repeat=3, warmup=1))
        tb.append(median_time(fb, repeat=3, warmup=1))
        ca.append(cpu_time(fa))
        cb.append(cpu_time(fb))
        ba.append(best_time(fa))
        bb.append(best_time(fb))
    CPU.append((name, statistics.median(ca), statistics.median(cb)))
    BEST.append((name, min(ba), min(bb)))
    return statistics.median(ta), statistics.median(tb)


def main():
    ensure_bench_env()
    import numpy as np
    import torch

    import tensorgrad as tg
    import tensorgrad.nn as nn
    import tensorgrad.nn.functional as F

    single = "--single-thread" in sys.argv
    if single:  # both frameworks on one thread: a comparison that a busy machine distorts less
        import tensorgrad.ops.conv as C
        from threadpoolctl import threadpool_limits
        torch.set_num_threads(1)
        C.set_num_threads(1)
        threadpool_limits(1)
    TF = torch.nn.functional
    rng = np.random.default_rng(0)
    f32 = np.float32
    rows = []

    def conv_case(name, N, ci, co, hw, k, p, goal):
        x = rng.standard_normal((N, ci, hw, hw)).astype(f32)
        w = (rng.standard_normal((co, ci, k, k)) * 0.1).astype(f32)
        b = rng.standard_normal(co).astype(f32)
        o = hw + 2 * p - k + 1
        g = rng.standard_normal((N, co, o, o)).astype(f32)
        X, W, B, G = (tg.tensor(x, requires_grad=True), tg.tensor(w, requires_grad=True),
                      tg.tensor(b, requires_grad=True), tg.tensor(g))
        tx, tw, tb, tg_ = (torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True),
                           torch.tensor(b, requires_grad=True), torch.tensor(g))

        def run_tg():
            X.grad = W.grad = B.grad = None
            F.conv2d(X, W, B, padding=p).backward(G)

        def run_th():
            tx.grad = tw.grad = tb.grad = None
            TF.conv2d(tx, tw, tb, padding=p).backward(tg_)

        a, t = interleaved(run_tg, run_th, name=name)
        rows.append((name, a, t, goal))

    conv_case("conv a: N32, 3→16, 32×32, k3 p1", 32, 3, 16, 32, 3, 1, 1.5)
    conv_case("conv b: N64, 16→32, 16×16, k3 p1", 64, 16, 32, 16, 3, 1, 1.5)
    conv_case("conv c: N64, 1→6, 32×32, k5", 64, 1, 6, 32, 5, 0, 1.2)

    x = rng.standard_normal((64, 16, 32, 32)).astype(f32)
    g = rng.standard_normal((64, 16, 16, 16)).astype(f32)
    X, G = tg.tensor(x, requires_grad=True), tg.tensor(g)
    tx, tgo = torch.tensor(x, requires_grad=True), torch.tensor(g)

    def pool_tg():
        X.grad = None
        F.max_pool2d(X, 2).backward(G)

    def pool_th():
        tx.grad = None
        TF.max_pool2d(tx, 2).backward(tgo)

    a, t = interleaved(pool_tg, pool_th, name="max-pool 2×2/2: N64, C16, 32×32")
    rows.append(("max-pool 2×2/2: N64, C16, 32×32", a, t, 0.5))

    # LeNet-5 (notes 8.7/8.9.1): conv5-relu-maxpool-conv5-relu-maxpool-fc120-fc84-fc10, SGD step
    tg.manual_seed(0)
    torch.manual_seed(0)

    def lenet_tg():
        return nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                             nn.Linear(84, 10))

    def lenet_th():
        T = torch.nn
        return T.Sequential(T.Conv2d(1, 6, 5), T.ReLU(), T.MaxPool2d(2), T.Conv2d(6, 16, 5),
                            T.ReLU(), T.MaxPool2d(2), T.Flatten(), T.Linear(400, 120), T.ReLU(),
                            T.Linear(120, 84), T.ReLU(), T.Linear(84, 10))

    mt, mh = lenet_tg(), lenet_th()
    mt.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in mh.state_dict().items()})
    opt_t = tg.optim.SGD(mt.parameters(), lr=0.01)
    opt_h = torch.optim.SGD(mh.parameters(), lr=0.01)
    xb = rng.standard_normal((64, 1, 32, 32)).astype(f32)
    yb = rng.integers(0, 10, 64)
    Xb, Yb = tg.tensor(xb), tg.tensor(yb)
    txb, tyb = torch.tensor(xb), torch.tensor(yb)
    loss_t, loss_h = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    l0 = (loss_t(mt(Xb), Yb).item(), loss_h(mh(txb), tyb).item())

    def step_tg():
        opt_t.zero_grad()
        loss_t(mt(Xb), Yb).backward()
        opt_t.step()

    def step_th():
        opt_h.zero_grad()
        loss_h(mh(txb), tyb).backward()
        opt_h.step()

    a, t = interleaved(step_tg, step_th, name="LeNet-5 SGD step, batch 64")
    rows.append(("LeNet-5 SGD step, batch 64", a, t, 1.5))
    text = report(rows, "Convolution and pooling (float32, forward+backward"
                  + (", everything single-threaded)" if single else ")"))
    print("\nCPU time per call (process time, all threads; median of rounds):\n")
    print("| workload | tensorgrad CPU (ms) | torch CPU (ms) | ratio |")
    print("|---|---|---|---|")
    for name, ca, cb in CPU:
        print(f"| {name} | {ca * 1e3:.3f} | {cb * 1e3:.3f} | {ca / cb:.2f}× |")
    print("\nFastest single call over all rounds (the least disturbed by other processes):\n")
    print("| workload | tensorgrad best (ms) | torch best (ms) | ratio |")
    print("|---|---|---|---|")
    for name, ca, cb in BEST:
        print(f"| {name} | {ca * 1e3:.3f} | {cb * 1e3:.3f} | {ca / cb:.2f}× |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"\nLeNet-5 initial loss with the same weights: tensorgrad {l0[0]:.6f}, torch {l0[1]:.6f}")
    import tensorgrad.ops.conv as C
    print(f"tensorgrad conv threads: {C.get_num_threads()}")

    if "--no-compile" in sys.argv:
        return text, ""
    cold, warm = compile_times()
    line = (f"numba kernels (conv+pool, float32 and float64): cold compile {cold:.2f} s, "
            f"warm start from the cache {warm:.2f} s (fresh processes)")
    print(line)
    return text, line


if __name__ == "__main__":
    main()
