"""Where ``tg.tune`` runs its trials: in this process, in a pool of worker processes, or on
Ray, a cluster engine (the running Ray, a cluster at ``address=``, or a local Ray started on
demand and kept for the next searches, as Ray's own auto-start does).

Every engine runs one trial per task and hands results back **as they finish**
(``ray.wait`` / ``concurrent.futures.as_completed``). The
configurations are drawn in the calling process from the search's seed, so which engine ran a
trial never changes what was tried; an objective that seeds its own randomness gives the same
values on every engine.
"""
from __future__ import annotations

import os
import sys

__all__ = ["ENGINES", "make_engine"]

ENGINES = ("inline", "process", "ray")


class _Inline:
    """Trials one after the other in this process."""

    def map_unordered(self, fn, arg_tuples):
        for i, args in enumerate(arg_tuples):
            yield i, fn(*args)

    def close(self):
        pass


class _Process:
    """A ``ProcessPoolExecutor`` (``fork`` where available)."""

    def __init__(self, n_workers, mp_context):
        from concurrent.futures import ProcessPoolExecutor
        import multiprocessing as mp
        ctx = mp.get_context(mp_context) if isinstance(mp_context, str) else mp_context
        self.pool = ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx)

    def map_unordered(self, fn, arg_tuples):
        from concurrent.futures import as_completed
        futs = {self.pool.submit(fn, *args): i for i, args in enumerate(arg_tuples)}
        for f in as_completed(futs):
            yield futs[f], f.result()

    def close(self):
        self.pool.shutdown()


def _driver_path():
    # workers started by an engine import the objective by module name: give them this
    # process's import path (what a forked worker inherits), so objectives defined in a
    # script's folder, a notebook's folder or a test module are found
    paths = [p if p else os.getcwd() for p in sys.path]
    return os.pathsep.join(dict.fromkeys(paths))


class _Ray:
    """Ray tasks (``num_cpus=1`` each). Connects to the running Ray, or to the cluster at
    ``address``, or else starts a local Ray with ``n_workers`` CPUs — which, as Ray's own
    auto-start does, stays up for the next searches of this process (``ray.shutdown()`` stops
    it; Ray stops it at exit). On a remote cluster the objective's module must be importable
    by the workers (install it there, or pass ``runtime_env`` to your own ``ray.init``)."""

    def __init__(self, n_workers, address):
        try:
            import ray
        except ImportError:
            raise ImportError("tune: engine='ray' needs Ray: pip install ray (or "
                              "pip install 'tensorgrad[distributed]')") from None
        self.ray = ray
        if not ray.is_initialized():
            kw = dict(include_dashboard=False, log_to_driver=False)
            if address is None:
                kw["num_cpus"] = int(n_workers)
                # the local Ray's worker processes inherit the environment of its start
                old = os.environ.get("PYTHONPATH")
                os.environ["PYTHONPATH"] = _driver_path()
                try:
                    ray.init(**kw)
                finally:
                    if old is None:
                        os.environ.pop("PYTHONPATH", None)
                    else:
                        os.environ["PYTHONPATH"] = old
            else:
                ray.init(address=address, **kw)
        self._remote = {}

    def map_unordered(self, fn, arg_tuples):
        ray = self.ray
        task = self._remote.get(fn)
        if task is None:
            task = self._remote[fn] = ray.remote(num_cpus=1)(fn)
        refs = {task.remote(*args): i for i, args in enumerate(arg_tuples)}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                yield refs[ref], ray.get(ref)

    def close(self):
        pass


def make_engine(engine, n_workers, address=None, mp_context=None):
    """An engine object with ``map_unordered(fn, arg_tuples)`` (yields ``(index, result)`` as
    each task finishes) and ``close()``. ``engine=None`` picks "inline" for one worker and
    "process" otherwise."""
    if engine is None:
        engine = "inline" if int(n_workers) <= 1 else "process"
    if engine not in ENGINES:
        raise ValueError(f"tune: engine must be one of {ENGINES}, got {engine!r}")
    if address is not None and engine != "ray":
        raise ValueError(f"tune: address= names a Ray cluster; it needs engine='ray', got "
                         f"engine={engine!r}")
    if engine == "inline":
        return _Inline()
    if engine == "process":
        return _Process(int(n_workers), mp_context)
    return _Ray(n_workers, address)
