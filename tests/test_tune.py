"""Hyperparameter search: log-scale sampling, random search in worker processes,
coarse-to-fine zoom, result tables."""
import math
import os

import numpy as np
import pytest

from tensorgrad.tune import (Choice, IntUniform, LogUniform, OneMinusLogUniform, Uniform,
                             coarse_to_fine, random_search, sample_space, zoom_space)


def bowl(params):
    """Minimum at lr = 1e-2, beta = 0.99 (distance measured on the course's scales)."""
    d = (math.log10(params["lr"]) + 2) ** 2 + (math.log10(1 - params["beta"]) + 2) ** 2
    return {"value": d + (0.1 if params.get("act") == "tanh" else 0.0), "pid": os.getpid()}


def sometimes_fails(params):
    if params["x"] > 0.5:
        raise ValueError("x too large")
    return params["x"]


SPACE = {"lr": LogUniform(1e-4, 1), "beta": OneMinusLogUniform(0.9, 0.9999),
         "act": Choice(["relu", "tanh"])}


def test_log_scale_sampling():
    cfgs = sample_space({"lr": LogUniform(1e-4, 1), "beta": OneMinusLogUniform(0.9, 0.999),
                         "u": Uniform(50, 100), "L": IntUniform(2, 4),
                         "bs": IntUniform(16, 512, log=True)}, 4000, seed=0)
    lr = np.array([c["lr"] for c in cfgs])
    beta = np.array([c["beta"] for c in cfgs])
    assert lr.min() >= 1e-4 and lr.max() <= 1
    # every decade gets about a quarter of the trials (uniform sampling would give 0.01 % here)
    frac = np.histogram(np.log10(lr), bins=[-4, -3, -2, -1, 0])[0] / lr.size
    np.testing.assert_allclose(frac, 0.25, atol=0.03)
    # 1 - beta on a log scale: [0.9, 0.99] and [0.99, 0.999] equally likely
    assert abs(np.mean(beta < 0.99) - 0.5) < 0.03 and beta.min() >= 0.9 and beta.max() <= 0.999
    L = [c["L"] for c in cfgs]
    assert set(L) == {2, 3, 4} and all(isinstance(v, int) for v in L)
    bs = np.array([c["bs"] for c in cfgs])
    assert bs.min() >= 16 and bs.max() <= 512 and abs(np.mean(bs < 90) - 0.5) < 0.05
    assert all(50 <= c["u"] <= 100 for c in cfgs)
    assert sample_space(SPACE, 3, seed=1) == sample_space(SPACE, 3, seed=1)


def test_random_search_in_two_worker_processes():
    res = random_search(bowl, SPACE, n_trials=8, seed=0, n_workers=2, progress=False)
    assert len(res) == 8
    pids = {t.metrics["pid"] for t in res}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2  # ran in worker processes
    vals = [t.value for t in res.sorted()]
    assert vals == sorted(vals)
    # the same seed gives the same trials, whichever worker ran them
    again = random_search(bowl, SPACE, n_trials=8, seed=0, n_workers=1, progress=False)
    assert [t.params for t in again] == [t.params for t in res]
    assert [t.value for t in again] == [t.value for t in res]
    text = str(res)
    assert "lr" in text and "beta" in text and text.count("\n") == 9
    assert res.best.value == vals[0]


def test_coarse_to_fine_zooms_in():
    res = coarse_to_fine(bowl, SPACE, rounds=3, trials_per_round=10, top_k=3, seed=0,
                         n_workers=1, progress=False)
    assert len(res) == 30 and [t.round for t in res.trials] == [0] * 10 + [1] * 10 + [2] * 10
    s0, s2 = res.spaces[0], res.spaces[2]
    width = lambda d: math.log10(d.high) - math.log10(d.low)  # noqa: E731
    assert width(s2["lr"]) < width(s0["lr"])
    best_r0 = min(t.value for t in res.trials if t.round == 0)
    assert res.best.value <= best_r0
    assert res.best.value < 0.2
    # the zoomed lr range still contains the best trial's lr
    assert s2["lr"].low <= res.best.params["lr"] <= s2["lr"].high or res.best.round < 2


def test_zoom_space_on_each_scale():
    z = zoom_space({"lr": LogUniform(1e-5, 1), "n": IntUniform(1, 10), "c": Choice("abc")},
                   [{"lr": 1e-3, "n": 3, "c": "a"}, {"lr": 1e-2, "n": 5, "c": "b"}], margin=0.5)
    np.testing.assert_allclose([z["lr"].low, z["lr"].high], [10 ** -3.5, 10 ** -1.5])
    assert (z["n"].low, z["n"].high) == (2, 6) and z["c"].options == ["a", "b"]


def test_failures_and_bad_input():
    res = random_search(sometimes_fails, {"x": Uniform(0, 1)}, n_trials=10, seed=0,
                        n_workers=1, progress=False)
    failed = [t for t in res if t.error is not None]
    assert failed and all("x too large" in t.error for t in failed)
    assert res.sorted()[-1].error is not None and res.best.error is None
    assert "failed" in res.table()
    with pytest.raises(TypeError, match="module-level function"):
        random_search(lambda p: 0.0, {"x": Uniform(0, 1)}, n_trials=2, n_workers=2)
    with pytest.raises(ValueError, match="low < high"):
        LogUniform(1.0, 0.1)
    with pytest.raises(ValueError, match="> 0"):
        LogUniform(0.0, 1.0)
    with pytest.raises(TypeError, match="Choice"):
        sample_space({"x": 3}, 1)
    with pytest.raises(ValueError, match="mode"):
        random_search(bowl, SPACE, n_trials=1, mode="best")
    with pytest.raises(RuntimeError, match="every trial failed"):
        random_search(sometimes_fails, {"x": Uniform(0.6, 1)}, n_trials=2, n_workers=1,
                      progress=False).best


def test_spawned_workers():
    res = random_search(bowl, {"lr": LogUniform(1e-3, 1e-1), "beta": Uniform(0.9, 0.99)},
                        n_trials=2, seed=0, n_workers=2, progress=False, mp_context="spawn")
    assert all(t.error is None and math.isfinite(t.value) for t in res)
    assert os.getpid() not in {t.metrics["pid"] for t in res}
