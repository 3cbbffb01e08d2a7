"""Engine benchmarks: per-op overhead and an MLP training step, tensorgrad vs PyTorch CPU.

    python bench/bench_engine.py [--rounds N] [--quick] [--only TEXT]

* per-op overhead: a chain of 1,000 tiny ops (mul, add, tanh, sub in turn) on a 10-element
  float32 tensor, forward + backward; the time per chain in ms is the time per op in µs.
* MLP step: 784-256-128-10, batch 128, ReLU, cross-entropy, one SGD step (zero_grad, forward,
  backward, update) with ``nn.Sequential`` + ``optim.SGD``, and the same with plain ops and a
  manual update (the engine alone).

Each framework runs in its own fresh process per round (bench/harness.py); float32.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Case, framework, script_main  # noqa: E402

N_OPS = 1000
B, D_IN, H1, H2, D_OUT = 128, 784, 256, 128, 10
LR = 0.01

CASES = [
    Case("per_op", f"per-op overhead: chain of {N_OPS} tiny ops fwd+bwd (ms per chain = µs/op)",
         0.8),
    Case("mlp_modules", "MLP 784-256-128-10, B128, SGD step (nn.Sequential + optim.SGD)", 1.0),
    Case("mlp_plain", "MLP 784-256-128-10, B128, SGD step (plain ops, manual update)", 1.0),
]


def per_op(fw):
    import numpy as np
    T = framework(fw)
    x = T.tensor(np.linspace(-1, 1, 10, dtype=np.float32), requires_grad=True)
    c = T.tensor(np.full(10, 0.5, dtype=np.float32))

    def step():
        x.grad = None
        y = x
        for _ in range(N_OPS // 4):
            y = y * c
            y = y + c
            y = y.tanh()
            y = y - c
        y = y.sum()
        y.backward()
        return y
    return step


def _data():
    import numpy as np
    rng = np.random.default_rng(0)
    X = rng.standard_normal((B, D_IN)).astype(np.float32)
    y = rng.integers(0, D_OUT, B)
    Ws = []
    for i, o in ((D_IN, H1), (H1, H2), (H2, D_OUT)):
        bound = 1 / np.sqrt(i)
        Ws.append((rng.uniform(-bound, bound, (o, i)).astype(np.float32),
                   rng.uniform(-bound, bound, o).astype(np.float32)))
    return X, y, Ws


def load_weights(T, model, arrays):
    """Copy numpy arrays into a model's parameters in order (both frameworks)."""
    with T.no_grad():
        for p, a in zip(model.parameters(), arrays):
            p.copy_(T.tensor(a))


def mlp_modules(fw):
    T = framework(fw)
    X, y, Ws = _data()
    nn = T.nn
    model = nn.Sequential(nn.Linear(D_IN, H1), nn.ReLU(), nn.Linear(H1, H2), nn.ReLU(),
                          nn.Linear(H2, D_OUT))
    load_weights(T, model, [a for W in Ws for a in W])
    opt = T.optim.SGD(model.parameters(), lr=LR)
    X, yt = T.tensor(X), T.tensor(y)

    def step():
        loss = nn.functional.cross_entropy(model(X), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    return step


def mlp_plain(fw):
    import numpy as np
    T = framework(fw)
    X, y, Ws = _data()
    X, rows, yt = T.tensor(X), T.tensor(np.arange(B)), T.tensor(y)
    params = [T.tensor(a, requires_grad=True) for W in Ws for a in W]
    F = T.nn.functional

    def step():
        w1, b1, w2, b2, w3, b3 = params
        h = F.linear(X, w1, b1).relu()
        h = F.linear(h, w2, b2).relu()
        logp = T.log_softmax(F.linear(h, w3, b3), dim=1)
        loss = -logp[rows, yt].mean()
        for p in params:
            p.grad = None
        loss.backward()
        with T.no_grad():
            for p in params:
                p -= LR * p.grad
        return loss
    return step


if __name__ == "__main__":
    script_main(__file__, CASES, "Engine (bench/bench_engine.py), float32")
