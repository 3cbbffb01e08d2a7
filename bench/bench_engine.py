"""Engine benchmarks: per-op overhead and an MLP training step, tensorgrad vs PyTorch CPU.

Run from the repository root:  python bench/bench_engine.py [--profile]

* per-op overhead: a chain of 1,000 tiny ops (mul, add, tanh, sub in turn) on a 10-element
  float32 tensor, forward + backward; reported per op.
* MLP step: 784-256-128-10, batch 128, ReLU, cross-entropy, one SGD step (forward, backward,
  update). Two spellings each: plain ops (tg.linear/relu/log_softmax/getitem + manual SGD on
  .data, the engine alone) and the module stack (nn.Sequential + F.cross_entropy + optim.SGD).

Both frameworks run in this one process under bench/harness.py's environment; float32; medians
after warm-up. ``--profile`` prints cProfile's top entries for the tensorgrad side.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ensure_bench_env, median_time, report  # noqa: E402

ensure_bench_env()

import numpy as np  # noqa: E402
import torch  # noqa: E402

import tensorgrad as tg  # noqa: E402

N_OPS = 1000
B, D_IN, H1, H2, D_OUT = 128, 784, 256, 128, 10
LR = 0.01


# ---- per-op overhead ----------------------------------------------------------------------------
def chain(x, c):
    y = x
    for i in range(N_OPS // 4):
        y = y * c
        y = y + c
        y = y.tanh()
        y = y - c
    return y.sum()


def make_chain_tg():
    x = tg.tensor(np.linspace(-1, 1, 10, dtype=np.float32), requires_grad=True)
    c = tg.tensor(np.full(10, 0.5, dtype=np.float32))

    def step():
        x.grad = None
        chain(x, c).backward()
    return step


def make_chain_torch():
    x = torch.linspace(-1, 1, 10, dtype=torch.float32, requires_grad=True)
    c = torch.full((10,), 0.5, dtype=torch.float32)

    def step():
        x.grad = None
        chain(x, c).backward()
    return step


# ---- MLP training step --------------------------------------------------------------------------
def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((B, D_IN)).astype(np.float32)
    y = rng.integers(0, D_OUT, B)
    Ws = []
    for i, o in ((D_IN, H1), (H1, H2), (H2, D_OUT)):
        bound = 1 / np.sqrt(i)
        Ws.append((rng.uniform(-bound, bound, (o, i)).astype(np.float32),
                   rng.uniform(-bound, bound, o).astype(np.float32)))
    return X, y, Ws


def make_mlp_plain_tg():
    X, y, Ws = _data()
    X, rows, yt = tg.tensor(X), tg.tensor(np.arange(B)), tg.tensor(y)
    params = [tg.tensor(a, requires_grad=True) for W in Ws for a in W]

    def step():
        w1, b1, w2, b2, w3, b3 = params
        h = tg.linear(X, w1, b1).relu()
        h = tg.linear(h, w2, b2).relu()
        logp = tg.log_softmax(tg.linear(h, w3, b3), dim=1)
        loss = -logp[rows, yt].mean()
        for p in params:
            p.grad = None
        loss.backward()
        for p in params:
            p.data -= LR * p.grad.data
    return step


def make_mlp_plain_torch():
    X, y, Ws = _data()
    X, rows, yt = torch.tensor(X), torch.arange(B), torch.tensor(y)
    params = [torch.tensor(a, requires_grad=True) for W in Ws for a in W]
    F = torch.nn.functional

    def step():
        w1, b1, w2, b2, w3, b3 = params
        h = F.linear(X, w1, b1).relu()
        h = F.linear(h, w2, b2).relu()
        logp = torch.log_softmax(F.linear(h, w3, b3), dim=1)
        loss = -logp[rows, yt].mean()
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad
    return step


def _load(model, Ws, tensor):
    lin = [m for m in model if hasattr(m, "weight")]
    for m, (w, b) in zip(lin, Ws):
        m.weight.data[...] = w if tensor is None else tensor(w)
        m.bias.data[...] = b if tensor is None else tensor(b)


def make_mlp_modules_tg():
    X, y, Ws = _data()
    nn = tg.nn
    model = nn.Sequential(nn.Linear(D_IN, H1), nn.ReLU(), nn.Linear(H1, H2), nn.ReLU(),
                          nn.Linear(H2, D_OUT))
    _load(model, Ws, None)
    opt = tg.optim.SGD(model.parameters(), lr=LR)
    X, yt = tg.tensor(X), tg.tensor(y)

    def step():
        loss = tg.nn.functional.cross_entropy(model(X), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def make_mlp_modules_torch():
    X, y, Ws = _data()
    nn = torch.nn
    model = nn.Sequential(nn.Linear(D_IN, H1), nn.ReLU(), nn.Linear(H1, H2), nn.ReLU(),
                          nn.Linear(H2, D_OUT))
    with torch.no_grad():
        _load(model, Ws, torch.tensor)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    X, yt = torch.tensor(X), torch.tensor(y)

    def step():
        loss = nn.functional.cross_entropy(model(X), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def _agree():
    """Sanity: both frameworks compute the same thing (losses after 3 steps agree)."""
    X, y, Ws = _data()
    a, b = make_mlp_plain_tg(), make_mlp_plain_torch()
    for _ in range(3):
        a(), b()
    xa = tg.tensor(np.linspace(-1, 1, 10, dtype=np.float32), requires_grad=True)
    xb = torch.linspace(-1, 1, 10, requires_grad=True)
    ca, cb = chain(xa, tg.full((10,), 0.5)), chain(xb, torch.full((10,), 0.5))
    assert abs(ca.item() - cb.item()) < 1e-4, (ca.item(), cb.item())


def paired(make_a, make_b, rounds=7, repeat=5, warmup=3):
    """Median times of two workloads measured in alternating rounds, so that a change in the
    machine's load hits both alike (this machine is shared; see bench/RESULTS.md)."""
    a, b = make_a(), make_b()
    ta, tb = [], []
    for _ in range(rounds):
        ta.append(median_time(a, repeat=repeat, warmup=warmup))
        tb.append(median_time(b, repeat=repeat, warmup=warmup))
        warmup = 1
    return float(np.median(ta)), float(np.median(tb))


def run_rows():
    rows = []
    t_tg, t_th = paired(make_chain_tg, make_chain_torch)
    rows.append((f"per-op overhead: chain of {N_OPS} tiny ops fwd+bwd (ms per chain = µs per op)",
                 t_tg, t_th, 1.0))
    t_tg, t_th = paired(make_mlp_plain_tg, make_mlp_plain_torch)
    rows.append(("MLP 784-256-128-10, B128, SGD step (plain ops, manual SGD)", t_tg, t_th, 1.0))
    if hasattr(tg.optim, "SGD") and hasattr(tg.nn, "Linear"):
        t_tg, t_th = paired(make_mlp_modules_tg, make_mlp_modules_torch)
        rows.append(("MLP 784-256-128-10, B128, SGD step (nn.Sequential + optim.SGD)",
                     t_tg, t_th, 1.0))
    return rows


def main():
    profile = "--profile" in sys.argv
    _agree()
    rows = run_rows()
    report(rows, "Engine")
    # The same with one BLAS/OpenMP thread on each side: on a busy 2-core machine, threaded
    # GEMMs fighting other processes make the default numbers noisy; one thread each is the
    # steadier comparison of the engines themselves.
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        threadpool_limits = None
    if threadpool_limits is not None:
        nt = torch.get_num_threads()
        torch.set_num_threads(1)
        print()
        with threadpool_limits(1):
            rows1 = run_rows()
            report(rows1, "Engine, one thread each (threadpoolctl + torch.set_num_threads(1))")
        torch.set_num_threads(nt)
    print(f"\nper-op overhead: tensorgrad {rows[0][1] * 1e3:.2f} µs/op, "
          f"torch {rows[0][2] * 1e3:.2f} µs/op; load average {os.getloadavg()[0]:.1f}")
    if profile:
        import cProfile
        import pstats
        for name, fn in (("chain", make_chain_tg()), ("mlp", make_mlp_plain_tg())):
            pr = cProfile.Profile()
            pr.enable()
            for _ in range(20):
                fn()
            pr.disable()
            print(f"\n---- cProfile: {name} (20 steps) ----")
            pstats.Stats(pr).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
