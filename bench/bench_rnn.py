"""Recurrent layers: tensorgrad vs torch, forward + backward, float32, one process.

    python bench/bench_rnn.py              # default threads (2 here) for both frameworks
    python bench/bench_rnn.py --one-thread # one thread each (threadpoolctl + torch)

Workload (PERF.md anchor): T = 50, batch 32, input 64, hidden 128; the loss is ``out.sum()``
so every step's output feeds the backward pass.  Both frameworks get the same input and the
same weights.  Goal: tensorgrad ≤ 1.5× torch.
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
from tensorgrad import nn  # noqa: E402

T, B, I, H = 50, 32, 64, 128


def pair(kind, **kw):
    th = getattr(torch.nn, kind)(I, H, **kw)
    m = getattr(nn, kind)(I, H, **kw)
    m.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in th.state_dict().items()})
    return m, th


def step_tg(m, x):
    m.zero_grad()
    x.grad = None
    out, _ = m(x)
    out.sum().backward()


def step_th(m, x):
    m.zero_grad()
    x.grad = None
    out, _ = m(x)
    out.sum().backward()


def main():
    one = "--one-thread" in sys.argv
    ctx = None
    if one:
        from threadpoolctl import threadpool_limits
        torch.set_num_threads(1)
        ctx = threadpool_limits(1)
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((T, B, I)).astype(np.float32)
    rows = []
    for kind, kw, label in (("LSTM", {}, "LSTM"), ("GRU", {}, "GRU"),
                            ("LSTM", {"num_layers": 2, "bidirectional": True}, "LSTM 2 layers bidir"),
                            ("RNN", {}, "RNN tanh")):
        m, th = pair(kind, **kw)
        x = tg.tensor(x_np, requires_grad=True)
        xt = torch.tensor(x_np, requires_grad=True)
        # same numbers first
        o, _ = m(x)
        ot, _ = th(xt)
        err = float(np.abs(o.data - ot.detach().numpy()).max())
        assert err < 1e-4, err
        # interleave the two frameworks round by round so that load from other processes on
        # this 2-core machine hits both alike; each round is a median of 3 calls
        tg_r, th_r = [], []
        step_tg(m, x), step_th(th, xt)
        for _ in range(15):
            tg_r.append(median_time(lambda: step_tg(m, x), repeat=3, warmup=1))
            th_r.append(median_time(lambda: step_th(th, xt), repeat=3, warmup=1))
        t_tg, t_th = float(np.median(tg_r)), float(np.median(th_r))
        goal = 1.5 if label in ("LSTM", "GRU") else None
        rows.append((f"{label} T{T} B{B} in{I} h{H} fwd+bwd", t_tg, t_th, goal))
    title = "Recurrent (bench/bench_rnn.py" + (" --one-thread)" if one else ")")
    report(rows, title)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    if ctx is not None:
        ctx.unregister()


if __name__ == "__main__":
    main()
