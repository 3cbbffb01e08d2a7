"""tg.tune on a cluster engine (Ray, started locally) and successive-halving early stopping.
The same seeds must give the same trials, values and best configuration as the local runner."""
import math
import os

import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad.tune import (Choice, IntUniform, LogUniform, OneMinusLogUniform, random_search,
                             successive_halving)

SPACE = {"lr": LogUniform(1e-3, 1.0), "beta": OneMinusLogUniform(0.5, 0.99),
         "hidden": IntUniform(2, 16, log=True), "act": Choice(["tanh", "relu"])}


def train_mlp(params):
    """A small real training run: full-batch SGD on a fixed two-moons-like problem for
    ``params['budget']`` steps (default 40); returns the dev loss. Seeds what it draws."""
    g = np.random.default_rng(0)
    x = g.standard_normal((240, 4))
    y = ((x[:, 0] * x[:, 1] + 0.5 * x[:, 2]) > 0).astype(np.int64)
    xtr, ytr, xdev, ydev = tg.tensor(x[:160]), tg.tensor(y[:160]), tg.tensor(x[160:]), \
        tg.tensor(y[160:])
    tg.manual_seed(1)
    nn = tg.nn
    act = nn.Tanh() if params["act"] == "tanh" else nn.ReLU()
    model = nn.Sequential(nn.Linear(4, params["hidden"]), act,
                          nn.Linear(params["hidden"], 2)).double()
    opt = tg.optim.SGD(model.parameters(), lr=params["lr"], momentum=params["beta"])
    F = nn.functional
    for _ in range(int(params.get("budget", 40))):
        opt.zero_grad()
        F.cross_entropy(model(xtr), ytr).backward()
        opt.step()
    with tg.no_grad():
        dev = F.cross_entropy(model(xdev), ydev).item()
    return {"value": dev if math.isfinite(dev) else 1e9, "pid": os.getpid()}


@pytest.fixture(scope="module")
def ray():
    ray = pytest.importorskip("ray")
    yield ray
    ray.shutdown()  # tg.tune started it on demand; one start serves the whole module


def _same(a, b):
    assert [t.params for t in a] == [t.params for t in b]
    np.testing.assert_allclose([t.value for t in a], [t.value for t in b], rtol=1e-9)
    assert a.best.params == b.best.params


def test_sixteen_trials_on_ray_match_the_local_runner(ray):
    local = random_search(train_mlp, SPACE, n_trials=16, seed=0, n_workers=1, progress=False)
    assert not ray.is_initialized()
    on_ray = random_search(train_mlp, SPACE, n_trials=16, seed=0, n_workers=2, engine="ray",
                           progress=False)
    assert ray.is_initialized()  # started on demand, kept for the next searches
    assert len(on_ray) == 16 and all(t.error is None for t in on_ray)
    assert os.getpid() not in {t.metrics["pid"] for t in on_ray}  # ran in Ray's workers
    _same(on_ray, local)
    assert on_ray.best.value < 0.6 < max(t.value for t in on_ray)  # a real spread to pick from


def test_successive_halving_on_ray_matches_local(ray):
    local = successive_halving(train_mlp, SPACE, n_trials=8, min_budget=5, eta=2, seed=3,
                               n_workers=1, progress=False)
    # rungs: 8 configs x 5 steps, 4 x 10, 2 x 20, 1 x 40
    assert [sum(t.round == k for t in local) for k in range(4)] == [8, 4, 2, 1]
    assert sorted({t.params["budget"] for t in local}) == [5, 10, 20, 40]
    last = [t for t in local if t.round == 3]
    assert local.best is last[0] and local.best.params["budget"] == 40
    # each rung kept the best half of the one before
    for k in range(3):
        rung = sorted((t for t in local if t.round == k), key=lambda t: t.value)
        kept = {tuple(sorted((p, v) for p, v in t.params.items() if p != "budget"))
                for t in local if t.round == k + 1}
        want = {tuple(sorted((p, v) for p, v in t.params.items() if p != "budget"))
                for t in rung[:len(rung) // 2]}
        assert kept == want
    on_ray = successive_halving(train_mlp, SPACE, n_trials=8, min_budget=5, eta=2, seed=3,
                                engine="ray", progress=False)
    _same(on_ray, local)
    assert on_ray.best.params == local.best.params


def test_engine_and_halving_errors():
    with pytest.raises(ValueError, match="engine must be one of"):
        random_search(train_mlp, SPACE, n_trials=2, engine="spark", progress=False)
    with pytest.raises(ValueError, match="address="):
        random_search(train_mlp, SPACE, n_trials=2, engine="process", address="x:1",
                      progress=False)
    with pytest.raises(TypeError, match="module-level function"):
        random_search(lambda p: 0.0, SPACE, n_trials=2, n_workers=1, engine="ray")
    with pytest.raises(ValueError, match="eta must be > 1"):
        successive_halving(train_mlp, SPACE, eta=1)
    with pytest.raises(ValueError, match="budget_key"):
        successive_halving(train_mlp, {"budget": LogUniform(1, 2)})
    res = successive_halving(train_mlp, SPACE, n_trials=5, min_budget=2, max_budget=8, eta=3,
                             seed=0, n_workers=1, progress=False)
    # 5 x 2 steps, then 1 x 6 steps; 18 would pass max_budget
    assert [t.params["budget"] for t in res] == [2] * 5 + [6]
    assert res.best.round == 1
