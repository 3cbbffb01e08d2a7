"""Hyperparameter search on Ray with tensorgrad (part 3 of the distributed examples).

    python examples/tune_on_ray.py                      # a local Ray, started on demand
    python examples/tune_on_ray.py --address HOST:6379  # a running Ray cluster (`ray start`)

Random search over the learning rate (log scale), momentum (1 − β on a log scale) and width
(Bergstra & Bengio 2012, docs/maths.md: random, not a grid; on the right scale), one Ray task
per trial; then the same space with successive halving, which trains every configuration
briefly and gives the longer budgets to the better half only. The local runner with the same seed picks the
same configuration.
"""
import argparse
import time

import numpy as np

import tensorgrad as tg
from tensorgrad.tune import (Choice, IntUniform, LogUniform, OneMinusLogUniform, random_search,
                             successive_halving)

SPACE = {"lr": LogUniform(1e-3, 1.0), "beta": OneMinusLogUniform(0.5, 0.999),
         "hidden": IntUniform(8, 128, log=True), "act": Choice(["relu", "tanh"])}


def train_digits(params):
    """Train a one-hidden-layer MLP on scikit-learn's digits for ``params['epochs']`` epochs
    (default 8); return the dev error. Seeds everything it draws."""
    from tensorgrad.data import DataLoader, TensorDataset, load_digits
    X, y = load_digits(as_numpy=True)
    tg.manual_seed(0)
    nn = tg.nn
    model = nn.Sequential(nn.Linear(64, params["hidden"]),
                          nn.ReLU() if params["act"] == "relu" else nn.Tanh(),
                          nn.Linear(params["hidden"], 10))
    opt = tg.optim.SGD(model.parameters(), lr=params["lr"], momentum=params["beta"])
    loader = DataLoader(TensorDataset(X[:1400], y[:1400]), batch_size=64, shuffle=True, seed=0)
    for _ in range(int(params.get("epochs", 8))):
        for xb, yb in loader:
            opt.zero_grad()
            nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
    with tg.no_grad():
        pred = model(tg.tensor(X[1400:])).numpy().argmax(1)
    err = float(np.mean(pred != y[1400:]))
    return err if np.isfinite(err) else 1.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--address", default=None, help="a Ray cluster to use (default: local)")
    ap.add_argument("--trials", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    t0 = time.perf_counter()
    on_ray = random_search(train_digits, SPACE, n_trials=args.trials, seed=0, engine="ray",
                           address=args.address, n_workers=args.workers)
    t_ray = time.perf_counter() - t0
    print(on_ray.table(limit=5))
    t0 = time.perf_counter()
    local = random_search(train_digits, SPACE, n_trials=args.trials, seed=0, n_workers=1)
    t_local = time.perf_counter() - t0
    print(f"\nbest on Ray:   {on_ray.best.params}  dev error {on_ray.best.value:.4f} "
          f"({t_ray:.1f} s, Ray start-up included)")
    print(f"best locally:  {local.best.params}  dev error {local.best.value:.4f} "
          f"({t_local:.1f} s, one process)")
    print("same best configuration:", on_ray.best.params == local.best.params)

    sh = successive_halving(train_digits, SPACE, n_trials=args.trials, min_budget=1, eta=2,
                            budget_key="epochs", seed=0, engine="ray", address=args.address)
    rungs = sorted({t.round for t in sh})
    print("\nsuccessive halving: trials per rung", [sum(t.round == k for t in sh) for k in rungs],
          "epochs per rung", [next(t.params["epochs"] for t in sh if t.round == k) for k in rungs])
    print(f"best: {sh.best.params}  dev error {sh.best.value:.4f}")


if __name__ == "__main__":
    main()
