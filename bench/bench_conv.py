"""Convolution, pooling and LeNet-5: tensorgrad vs PyTorch CPU, each in its own process.

    python bench/bench_conv.py [--rounds N] [--quick] [--only TEXT]

float32; every workload is forward + backward (input, weight and bias gradients; pooling: the
input gradient) with a fixed upstream gradient; LeNet-5 is a whole SGD step. Each framework runs
in its own fresh process per round, alternating (bench/harness.py). The last lines give the
geometric mean of the convolution ratios (goal ≤ 1.0×).
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Case, framework, geomean, script_main  # noqa: E402

# key: (label, N, C_in, C_out, spatial size, kernel, stride, padding, dims)
CONVS = {
    "conv_a": ("conv a: N32, 3→16, 32×32, k3 p1", 32, 3, 16, 32, 3, 1, 1, 2),
    "conv_b": ("conv b: N64, 16→32, 16×16, k3 p1", 64, 16, 32, 16, 3, 1, 1, 2),
    "conv_64": ("conv 64→64: N32, 16×16, k3 p1", 32, 64, 64, 16, 3, 1, 1, 2),
    "conv_s2": ("conv stride 2: N32, 32→64, 32×32, k3 s2 p1", 32, 32, 64, 32, 3, 2, 1, 2),
    "conv_1x1": ("conv 1×1 bottleneck: N32, 256→64, 14×14", 32, 256, 64, 14, 1, 1, 0, 2),
    "conv_c": ("conv c: N64, 1→6, 32×32, k5", 64, 1, 6, 32, 5, 1, 0, 2),
    "conv1d": ("conv1d: N32, 64→64, L128, k3 p1", 32, 64, 64, 128, 3, 1, 1, 1),
    "conv3d": ("conv3d: N8, 8→16, 16×16×16, k3 p1", 8, 8, 16, 16, 3, 1, 1, 3),
}
# key: (label, kind, kernel, stride, padding) on N64, C16, 32×32
POOLS = {
    "maxpool_2": ("max-pool 2×2/2: N64, C16, 32×32", "max", 2, 2, 0),
    "maxpool_3": ("max-pool 3×3/2 p1: N64, C16, 32×32", "max", 3, 2, 1),
    "avgpool_2": ("avg-pool 2×2/2: N64, C16, 32×32", "avg", 2, 2, 0),
    "avgpool_3": ("avg-pool 3×3/2 p1: N64, C16, 32×32", "avg", 3, 2, 1),
}

CASES = ([Case(k, v[0], 1.2) for k, v in CONVS.items()]
         + [Case(k, v[0], 0.5) for k, v in POOLS.items()]
         + [Case("lenet", "LeNet-5 SGD step, B64", 1.0)])


def _conv(key, fw):
    import numpy as np
    _, N, ci, co, n, k, s, p, nd = CONVS[key]
    T = framework(fw)
    rng = np.random.default_rng(0)
    o = (n + 2 * p - k) // s + 1
    x = rng.standard_normal((N, ci) + (n,) * nd).astype(np.float32)
    w = (rng.standard_normal((co, ci) + (k,) * nd) / np.sqrt(ci * k ** nd)).astype(np.float32)
    b = rng.standard_normal(co).astype(np.float32)
    g = rng.standard_normal((N, co) + (o,) * nd).astype(np.float32)
    X, W, B = (T.tensor(a, requires_grad=True) for a in (x, w, b))
    G = T.tensor(g)
    conv = getattr(T.nn.functional, f"conv{nd}d")

    def step():
        X.grad = W.grad = B.grad = None
        y = conv(X, W, B, stride=s, padding=p)
        y.backward(G)
        return y
    return step


def _pool(key, fw):
    import numpy as np
    _, kind, k, s, p = POOLS[key]
    T = framework(fw)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 16, 32, 32)).astype(np.float32)
    o = (32 + 2 * p - k) // s + 1
    g = rng.standard_normal((64, 16, o, o)).astype(np.float32)
    X, G = T.tensor(x, requires_grad=True), T.tensor(g)
    pool = getattr(T.nn.functional, f"{kind}_pool2d")

    def step():
        X.grad = None
        y = pool(X, k, s, p)
        y.backward(G)
        return y
    return step


for _k in CONVS:
    globals()[_k] = (lambda key: lambda fw: _conv(key, fw))(_k)
for _k in POOLS:
    globals()[_k] = (lambda key: lambda fw: _pool(key, fw))(_k)


def init_params(T, model, seed=0):
    """Deterministic U(-1/√fan_in, 1/√fan_in) values for every parameter, in order (the same
    numbers in both frameworks, since both list parameters in registration order)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    with T.no_grad():
        for prm in model.parameters():
            shape = tuple(prm.shape)
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
            a = rng.uniform(-1, 1, shape) / np.sqrt(fan_in)
            prm.copy_(T.tensor(a.astype(np.float32)))


def lenet_model(T):
    nn = T.nn
    return nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def lenet(fw):
    """LeNet-5 (conv5-relu-maxpool-conv5-relu-maxpool-fc120-fc84-fc10), one SGD step on B64."""
    import numpy as np
    T = framework(fw)
    model = lenet_model(T)
    init_params(T, model)
    opt = T.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = T.nn.CrossEntropyLoss()
    rng = np.random.default_rng(1)
    X = T.tensor(rng.standard_normal((64, 1, 32, 32)).astype(np.float32))
    Y = T.tensor(rng.integers(0, 10, 64))

    def step():
        opt.zero_grad()
        loss = loss_fn(model(X), Y)
        loss.backward()
        opt.step()
        return loss
    return step


def _conv_geomean(rows):
    r = [row.ratio for row in rows if row.case.key in CONVS]
    if not r:
        return ""
    return (f"geometric mean of the {len(r)} convolution ratios: {geomean(r):.2f}× "
            f"(goal ≤ 1.0×; each ≤ 1.2×)")


if __name__ == "__main__":
    script_main(__file__, CASES, "Convolution, pooling, LeNet-5 (bench/bench_conv.py), float32, "
                "forward+backward", extra=_conv_geomean)
