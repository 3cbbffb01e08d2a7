"""Hyperparameter search (§6.7–§6.8, docs/maths.md; Bergstra & Bengio 2012): random search
rather than a grid, on the right scale (learning rates on a log scale, β through ``1 − β`` on a
log scale), then coarse to fine — zoom into the region of the best trials and sample again.
Trials run in parallel worker processes ("caviar" rather than "panda").

    space = {"lr": LogUniform(1e-4, 1), "beta": OneMinusLogUniform(0.9, 0.999),
             "hidden": Choice([32, 64, 128])}
    results = coarse_to_fine(train_and_score, space, rounds=2, trials_per_round=12, seed=0)
    print(results)          # a table, best first

The objective ``f(params: dict) -> float | dict`` must be a module-level function (it is
pickled to the worker processes); ``n_workers=1`` runs trials in this process instead.
``engine="ray"`` runs each trial as a task on a cluster engine, local or at
``address=``; ``successive_halving`` stops the worse half of the trials at each budget.
"""
from __future__ import annotations

import math
import pickle
import time
import traceback
from dataclasses import dataclass, field

import numpy as np

from . import random as _random

__all__ = ["Uniform", "LogUniform", "OneMinusLogUniform", "IntUniform", "Choice",
           "sample_space", "random_search", "coarse_to_fine", "successive_halving", "zoom_space",
           "Trial", "Results"]


# ---- search-space dimensions ------------------------------------------------------------------
class _Dim:
    """A dimension sampled uniformly in a transformed coordinate ``u = fwd(x)``."""

    def __init__(self, low, high):
        low, high = float(low), float(high)
        if not low < high:
            raise ValueError(f"{type(self).__name__}: need low < high, got ({low}, {high})")
        self.low, self.high = low, high
        self._ulo, self._uhi = sorted((self._fwd(low), self._fwd(high)))

    def _fwd(self, x):
        return x

    def _inv(self, u):
        return u

    def sample(self, gen):
        return self._cast(self._inv(gen.uniform(self._ulo, self._uhi)))

    def _cast(self, x):
        return float(min(max(x, self.low), self.high))

    def zoom(self, values, margin):
        """A narrower dimension around ``values`` (in the transformed coordinate), widened by
        ``margin`` of its span on each side and kept inside the current bounds."""
        us = [self._fwd(float(v)) for v in values]
        lo, hi = min(us), max(us)
        span = max(hi - lo, 1e-3 * (self._uhi - self._ulo))
        lo, hi = max(lo - margin * span, self._ulo), min(hi + margin * span, self._uhi)
        a, b = sorted((self._inv(lo), self._inv(hi)))
        return type(self)._make(self, a, b)

    @classmethod
    def _make(cls, old, a, b):
        return cls(a, b)

    def __repr__(self):
        return f"{type(self).__name__}({self.low:.4g}, {self.high:.4g})"


class Uniform(_Dim):
    """Uniform on ``[low, high]`` — for ranges that span less than a factor of ~10
    (e.g. hidden units between 50 and 100)."""


class LogUniform(_Dim):
    """Uniform in ``log10`` between ``low`` and ``high`` (§6.8): ``r ~ U[log10 low, log10 high]``,
    ``x = 10^r``. Each decade gets the same share of trials; the scale for learning rates."""

    def __init__(self, low, high):
        if not (float(low) > 0 and float(high) > 0):
            raise ValueError(f"LogUniform: bounds must be > 0, got ({low}, {high})")
        super().__init__(low, high)

    def _fwd(self, x):
        return math.log10(x)

    def _inv(self, u):
        return 10.0 ** u


class OneMinusLogUniform(_Dim):
    """For averaging constants such as momentum's ``β`` in ``[0.9, 0.999]`` (§6.8): sample
    ``1 − β`` on a log scale, so 0.9→0.99 (averaging over 10→100 values) gets as many trials
    as 0.99→0.999 (100→1000)."""

    def __init__(self, low, high):
        if not (0 <= float(low) < 1 and 0 <= float(high) < 1):
            raise ValueError(f"OneMinusLogUniform: bounds must be in [0, 1), got ({low}, {high})")
        super().__init__(low, high)

    def _fwd(self, x):
        return math.log10(1.0 - x)

    def _inv(self, u):
        return 1.0 - 10.0 ** u


class IntUniform(_Dim):
    """Integers ``low..high`` inclusive, uniformly (e.g. number of layers); ``log=True`` samples
    on a log scale (e.g. mini-batch sizes)."""

    def __init__(self, low, high, log=False):
        self.log = bool(log)
        if self.log and not (low > 0 and high > 0):
            raise ValueError(f"IntUniform(log=True): bounds must be > 0, got ({low}, {high})")
        if int(low) != low or int(high) != high:
            raise ValueError(f"IntUniform: bounds must be integers, got ({low}, {high})")
        super().__init__(int(low), int(high) + 1 - 1e-9)
        self.high = int(high)

    @classmethod
    def _make(cls, old, a, b):
        lo, hi = int(math.floor(a)), int(math.floor(b))
        return cls(lo, max(hi, lo), log=old.log)

    def _fwd(self, x):
        return math.log10(x) if self.log else x

    def _inv(self, u):
        return 10.0 ** u if self.log else u

    def _cast(self, x):
        return int(min(max(math.floor(x), self.low), self.high))

    def __repr__(self):
        return f"IntUniform({int(self.low)}, {self.high}{', log=True' if self.log else ''})"


class Choice:
    """One of a few options, each equally likely (activation, optimizer, ...)."""

    def __init__(self, options):
        self.options = list(options)
        if not self.options:
            raise ValueError("Choice: needs at least one option")

    def sample(self, gen):
        v = self.options[int(gen.integers(len(self.options)))]
        return v.item() if isinstance(v, np.generic) else v

    def zoom(self, values, margin):
        keep = [o for o in self.options if any(o == v for v in values)]
        return Choice(keep or self.options)

    def __repr__(self):
        return f"Choice({self.options!r})"


def _check_space(space):
    if not isinstance(space, dict) or not space:
        raise ValueError("tune: the search space must be a non-empty dict name -> dimension")
    for k, d in space.items():
        if not isinstance(d, (_Dim, Choice)):
            raise TypeError(f"tune: dimension {k!r} must be Uniform, LogUniform, "
                            f"OneMinusLogUniform, IntUniform or Choice, got {type(d).__name__} "
                            f"(wrap a fixed value as Choice([value]))")


def sample_space(space, n, seed=None):
    """``n`` random configurations (dicts) from ``space``."""
    _check_space(space)
    gen = np.random.default_rng(seed) if seed is not None else _random.generator()
    return [{k: d.sample(gen) for k, d in space.items()} for _ in range(int(n))]


def zoom_space(space, configs, margin=0.5):
    """The coarse-to-fine step: each dimension narrowed to the span of ``configs`` (the best
    trials' parameters), widened by ``margin`` of that span on each side, on its own scale."""
    _check_space(space)
    if not configs:
        raise ValueError("zoom_space: need at least one configuration to zoom around")
    return {k: d.zoom([c[k] for c in configs], margin) for k, d in space.items()}


# ---- results ----------------------------------------------------------------------------------
@dataclass
class Trial:
    """One evaluated configuration: ``value`` is the optimized number (nan if the objective
    failed, with ``error`` set); ``metrics`` anything else the objective returned."""
    id: int
    round: int
    params: dict
    value: float = math.nan
    metrics: dict = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0


class Results:
    """All trials of a search, printable as a table sorted best first (no pandas needed)."""

    def __init__(self, trials, mode="min", metric="value", spaces=None):
        self.trials = list(trials)
        self.mode = mode
        self.metric = metric
        self.spaces = spaces or []

    def _key(self, t):
        bad = t.error is not None or not math.isfinite(t.value)
        return (bad, (t.value if self.mode == "min" else -t.value) if not bad else 0.0, t.id)

    def sorted(self):
        return sorted(self.trials, key=self._key)

    def top(self, k):
        return [t for t in self.sorted()[:int(k)] if t.error is None and math.isfinite(t.value)]

    @property
    def best(self) -> Trial:
        ok = self.top(1)
        if not ok:
            errs = "; ".join(f"trial {t.id}: {t.error}" for t in self.trials[:3])
            raise RuntimeError(f"tune: every trial failed ({errs})")
        return ok[0]

    def __len__(self):
        return len(self.trials)

    def __iter__(self):
        return iter(self.trials)

    def to_records(self):
        return [{"trial": t.id, "round": t.round, **t.params, self.metric: t.value, **t.metrics,
                 "error": t.error} for t in self.sorted()]

    def table(self, limit=None) -> str:
        rows = self.sorted()[:limit] if limit else self.sorted()
        pkeys = list(dict.fromkeys(k for t in self.trials for k in t.params))
        mkeys = list(dict.fromkeys(k for t in self.trials for k in t.metrics))
        head = ["rank", "trial", "round"] + pkeys + [self.metric] + mkeys
        body = []
        for r, t in enumerate(rows, 1):
            cells = [str(r), str(t.id), str(t.round)] + [_fmt(t.params.get(k)) for k in pkeys]
            cells += [_fmt(t.value) if t.error is None else "failed"]
            cells += [_fmt(t.metrics.get(k)) for k in mkeys]
            if t.error is not None:
                cells[-1 if mkeys else len(cells) - 1] += f"  ({t.error.splitlines()[-1][:60]})"
            body.append(cells)
        widths = [max(len(h), *(len(c[i]) for c in body)) if body else len(h)
                  for i, h in enumerate(head)]
        lines = ["  ".join(h.rjust(w) for h, w in zip(head, widths))]
        lines += ["  ".join(c.rjust(w) for c, w in zip(cells, widths)) for cells in body]
        return "\n".join(lines)

    def __str__(self):
        return (f"{len(self.trials)} trials, {self.mode}imize {self.metric}\n"
                + self.table())

    def __repr__(self):
        return f"Results({len(self.trials)} trials, best {self.metric}=" \
               f"{_fmt(self.top(1)[0].value) if self.top(1) else 'n/a'})"

    def plot(self, x, y=None, ax=None, logx=None):
        """Scatter of the objective against parameter ``x`` (coloured by round); matplotlib."""
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError("Results.plot needs matplotlib: pip install matplotlib") from None
        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3.5))
        ok = [t for t in self.trials if t.error is None]
        xs = [t.params[x] for t in ok]
        ys = [t.value if y is None else t.params[y] for t in ok]
        sc = ax.scatter(xs, ys, c=[t.round for t in ok], cmap="viridis")
        if logx or (logx is None and any(isinstance(s.get(x), LogUniform) for s in self.spaces)):
            ax.set_xscale("log")
        ax.set_xlabel(x)
        ax.set_ylabel(self.metric if y is None else y)
        if len({t.round for t in ok}) > 1:
            ax.figure.colorbar(sc, ax=ax, label="round")
        return ax


def _fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return f"{v:.3e}"
        return f"{v:.4g}"
    return str(v)


# ---- running trials ---------------------------------------------------------------------------
def _call(objective, params, metric):
    """Run one trial (in a worker or here): (value, metrics, error, seconds)."""
    t0 = time.perf_counter()
    try:
        out = objective(dict(params))
        if isinstance(out, dict):
            if metric not in out:
                raise KeyError(f"the objective returned a dict without the key {metric!r} "
                               f"(keys: {sorted(out)}); pass metric=")
            out = dict(out)
            value = float(out.pop(metric))
            mets = {k: (float(v) if isinstance(v, (int, float, np.number)) else v)
                    for k, v in out.items()}
        else:
            value, mets = float(out), {}
        return value, mets, None, time.perf_counter() - t0
    except Exception as e:  # noqa: BLE001 - a failed trial is recorded, the search goes on
        tb = traceback.format_exception_only(type(e), e)
        return math.nan, {}, "".join(tb).strip(), time.perf_counter() - t0


def _run(objective, configs, first_id, rnd, metric, eng, progress):
    """Evaluate ``configs`` on engine ``eng`` (one task per trial), recording each result as
    it arrives."""
    trials = [Trial(first_id + i, rnd, c) for i, c in enumerate(configs)]
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(trials), desc=f"tune round {rnd}", unit="trial", leave=False)
    try:
        for i, res in eng.map_unordered(_call, [(objective, t.params, metric) for t in trials]):
            trials[i].value, trials[i].metrics, trials[i].error, trials[i].seconds = res
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return trials


def _engine(engine, n_workers, address, mp_context):
    from .tune_engines import make_engine
    return make_engine(engine, n_workers, address, mp_context or _default_context())


def _check_objective(objective, n_workers, engine=None):
    if not callable(objective):
        raise TypeError(f"tune: the objective must be callable, got {type(objective).__name__}")
    if engine in ("process", "ray") or (engine is None and n_workers > 1):
        try:
            pickle.dumps(objective)
        except Exception as e:  # noqa: BLE001
            raise TypeError(f"tune: the objective {getattr(objective, '__qualname__', objective)!r} "
                            f"can't be sent to worker processes ({type(e).__name__}: {e}); define "
                            f"it as a module-level function, or pass n_workers=1 to run trials "
                            f"in this process") from None


def _default_context():
    import multiprocessing as mp
    # fork starts workers in milliseconds and lets functions defined in __main__ (scripts,
    # notebooks) be found by name; fall back to the platform default elsewhere
    return "fork" if "fork" in mp.get_all_start_methods() else None


def random_search(objective, space, n_trials=20, *, seed=None, mode="min", metric="value",
                  n_workers=2, progress=True, mp_context=None, engine=None,
                  address=None) -> Results:
    """Evaluate ``n_trials`` random configurations of ``space`` (§6.7); returns ``Results``.

    ``objective(params)`` returns the number to optimize, or a dict holding it under
    ``metric`` plus anything else worth tabulating. ``mode`` is "min" (errors, losses) or "max"
    (accuracies). Trials run in ``n_workers`` processes (1 = in this process), started with
    ``fork`` where available (fast; functions defined in a notebook or script work); pass
    ``mp_context="spawn"`` if the objective uses libraries that don't survive a fork. Each
    trial should seed what it draws (``tg.manual_seed``): which worker runs it is not fixed.

    ``engine`` runs the trials elsewhere: ``"ray"`` (the running Ray, the cluster at
    ``address``, or else a local Ray with ``n_workers`` CPUs started on demand and kept for
    later searches); ``"process"``/``"inline"`` name the default ones (see
    ``tensorgrad.tune_engines``). The same seed gives the same configurations on every engine."""
    if mode not in ("min", "max"):
        raise ValueError(f"random_search: mode must be 'min' or 'max', got {mode!r}")
    if int(n_trials) < 1:
        raise ValueError(f"random_search: n_trials must be >= 1, got {n_trials}")
    _check_objective(objective, n_workers, engine)
    configs = sample_space(space, n_trials, seed)
    eng = _engine(engine, n_workers, address, mp_context)
    try:
        trials = _run(objective, configs, 0, 0, metric, eng, progress)
    finally:
        eng.close()
    return Results(trials, mode, metric, [space])


def coarse_to_fine(objective, space, rounds=2, trials_per_round=10, top_k=3, margin=0.5, *,
                   seed=None, mode="min", metric="value", n_workers=2, progress=True,
                   mp_context=None, engine=None, address=None) -> Results:
    """Random search in ``rounds``: after each round, zoom every dimension into the region of
    the ``top_k`` best trials so far (on its own scale, widened by ``margin`` of the span) and
    sample ``trials_per_round`` more there (the coarse-to-fine scheme of §6.7). ``Results.spaces``
    keeps the space of every round. ``engine``/``address`` as in ``random_search`` (one engine
    serves every round)."""
    if mode not in ("min", "max"):
        raise ValueError(f"coarse_to_fine: mode must be 'min' or 'max', got {mode!r}")
    if int(rounds) < 1 or int(trials_per_round) < 1 or int(top_k) < 1:
        raise ValueError("coarse_to_fine: rounds, trials_per_round and top_k must be >= 1")
    _check_objective(objective, n_workers, engine)
    gen = np.random.default_rng(seed) if seed is not None else _random.generator()
    all_trials, spaces, cur = [], [], space
    eng = _engine(engine, n_workers, address, mp_context)
    try:
        for r in range(int(rounds)):
            spaces.append(cur)
            configs = sample_space(cur, trials_per_round, int(gen.integers(2 ** 63 - 1)))
            all_trials += _run(objective, configs, len(all_trials), r, metric, eng, progress)
            res = Results(all_trials, mode, metric, spaces)
            best = res.top(top_k)
            if not best:
                break
            cur = zoom_space(cur, [t.params for t in best], margin)
    finally:
        eng.close()
    return Results(all_trials, mode, metric, spaces)


# ---- early stopping: successive halving -------------------------------------------------------
class _HalvingResults(Results):
    """Trials of later rungs (more budget) rank before earlier ones: the best configuration
    is the best of the last rung, whatever a cheap early evaluation scored."""

    def _key(self, t):
        bad, v, i = super()._key(t)
        return (bad, -t.round if not bad else 0, v, i)


def successive_halving(objective, space, n_trials=16, *, min_budget=1, max_budget=None, eta=2,
                       budget_key="budget", seed=None, mode="min", metric="value", n_workers=2,
                       progress=True, mp_context=None, engine=None, address=None) -> Results:
    """Random search that stops bad trials early (successive halving: Jamieson & Talwalkar,
    AISTATS 2016; the synchronous form of Hyperband's inner loop, Li et al., JMLR 2018).

    Rung 0 evaluates ``n_trials`` random configurations with budget ``min_budget`` (passed to
    the objective as ``params[budget_key]`` — epochs, steps, examples: the objective decides);
    each next rung keeps the best ``1/eta`` of the previous one (at least one) and evaluates
    them again with ``eta`` times the budget, until one configuration is left or the budget
    would pass ``max_budget``. Every evaluation is one task on the engine (``engine``,
    ``address`` as in ``random_search``). A rung waits for all its trials, so the survivors —
    and the result — don't depend on which trial finished first. ``Trial.round`` is the rung;
    ``Results.best`` is the best trial of the last rung."""
    if mode not in ("min", "max"):
        raise ValueError(f"successive_halving: mode must be 'min' or 'max', got {mode!r}")
    if int(n_trials) < 1:
        raise ValueError(f"successive_halving: n_trials must be >= 1, got {n_trials}")
    if not eta > 1:
        raise ValueError(f"successive_halving: eta must be > 1, got {eta}")
    if not min_budget > 0 or (max_budget is not None and max_budget < min_budget):
        raise ValueError(f"successive_halving: need 0 < min_budget <= max_budget, got "
                         f"min_budget={min_budget}, max_budget={max_budget}")
    if budget_key in space:
        raise ValueError(f"successive_halving: budget_key {budget_key!r} is also a dimension of "
                         f"the search space; name the budget differently")
    _check_objective(objective, n_workers, engine)
    configs = sample_space(space, n_trials, seed)
    budget = min_budget
    all_trials, rung = [], 0
    eng = _engine(engine, n_workers, address, mp_context)
    try:
        while True:
            with_budget = [{**c, budget_key: budget} for c in configs]
            trials = _run(objective, with_budget, len(all_trials), rung, metric, eng, progress)
            all_trials += trials
            keep = max(1, int(len(configs) // eta))
            nxt = budget * eta
            if isinstance(min_budget, int) and float(eta).is_integer():
                nxt = int(nxt)
            if len(configs) == 1 or (max_budget is not None and nxt > max_budget):
                break
            best = Results(trials, mode, metric).top(keep)
            if not best:
                break
            configs = [{k: t.params[k] for k in space} for t in best]
            budget, rung = nxt, rung + 1
    finally:
        eng.close()
    return _HalvingResults(all_trials, mode, metric, [space])
