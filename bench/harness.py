"""Benchmark harness: every framework in its own fresh process, alternating, under one environment.

Why (docs in bench/RESULTS.md): a framework that has just run leaves thread pools spinning
(OpenBLAS's workers, torch's OpenMP pool) that slow whatever runs next in the same process, so
tensorgrad and torch are never timed in one process. For each case and round the harness starts
one process per framework (the order alternates round by round, so drift in the machine's load
hits both alike); each process imports only its framework, builds the workload, warms it up and
times it; the table reports per case the median over rounds, the spread of the round medians,
and the ratio of the medians.

The environment is the same for both frameworks (``bench_env``):

* ``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE`` unset (set on purpose on the project machines,
  they halve numpy's GEMM), ``OMP_WAIT_POLICY`` unset (PASSIVE slows torch badly);
* ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` raised, so glibc keeps freed blocks
  instead of page-faulting every large buffer anew on each call (memory cases use a small fixed
  threshold instead, so that freed memory leaves the resident set and the peak is measurable);
* ``threads`` threads each (default 2): ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``,
  ``MKL_NUM_THREADS``, ``NUMBA_NUM_THREADS``, ``torch.set_num_threads`` and tensorgrad's
  ``tensorgrad.ops.conv.set_num_threads`` (the ops' worker thread); ``--cpus 0,1`` also
  pins every child to those cores (for a quiet many-core machine).

A benchmark script declares its cases as ``CASES = [Case(key, label, goal), ...]`` and, for each
key, a function ``key(fw)`` that builds the workload for ``fw`` ("tg" or "torch") and returns a
zero-argument ``step``; ``step()`` runs one forward + backward (+ update) and may return a tensor
or a loss whose sum is compared across the frameworks (the "check" column). ``framework(fw)``
gives ``tensorgrad`` or ``torch`` (the same API), so a case is usually written once.

    python bench/bench_conv.py                 # that script's table
    python bench/bench_conv.py --only pool     # cases whose key or label contains "pool"
    python bench/run_all.py                    # the whole table (every script, cold start too)

Common options: ``--rounds N`` (default 5), ``--quick`` (3 rounds, shorter timing),
``--threads N`` (default 2), ``--cpus LIST``, ``--only TEXT``, ``--frameworks tg`` (one side).
Nothing here is used by a test assertion: timings live in bench/, never in tests.
"""
from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

UNSET = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_WAIT_POLICY")
MALLOC_SPEED = {"MALLOC_MMAP_THRESHOLD_": str(1 << 30), "MALLOC_TRIM_THRESHOLD_": str(1 << 31)}
# memory cases: every block >= 64 KB is mmap'ed and handed back on free, so the resident set
# follows the live arrays of both frameworks
MALLOC_MEMORY = {"MALLOC_MMAP_THRESHOLD_": str(1 << 16), "MALLOC_TRIM_THRESHOLD_": str(1 << 17)}
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
_MARK = "TENSORGRAD_BENCH_ENV"
NAMES = {"tg": "tensorgrad", "torch": "torch"}


@dataclass
class Case:
    """One row of a table: ``key`` names the setup function in the script, ``goal`` the
    tensorgrad/torch ratio the project aims for (None: no goal), ``kind`` "time" or "memory"."""
    key: str
    label: str
    goal: float | None = None
    kind: str = "time"


# ---- environment ----------------------------------------------------------------------------
def bench_env(threads: int = 2, memory: bool = False, base=None) -> dict:
    """The environment every benchmark child runs under (the same for both frameworks)."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in UNSET}
    env.update(MALLOC_MEMORY if memory else MALLOC_SPEED)
    for v in THREAD_VARS:
        env[v] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join([HERE] + [p for p in [env.get("PYTHONPATH")] if p])
    env[_MARK] = "1"
    return env


def ensure_bench_env(threads: int | None = None) -> None:
    """Re-execute the calling script once under ``bench_env`` (for scripts whose own children,
    e.g. mpirun ranks or gensim runs, inherit the environment)."""
    if os.environ.get(_MARK) == "1":
        return
    env = bench_env(threads or int(os.environ.get("TG_BENCH_THREADS", 2)))
    raise SystemExit(subprocess.call([sys.executable] + sys.argv, env=env))


def env_line(threads: int = 2, cpus: str | None = None) -> str:
    s = (f"env: OPENBLAS_CORETYPE/L2_SIZE unset, MALLOC_MMAP_THRESHOLD_="
         f"{MALLOC_SPEED['MALLOC_MMAP_THRESHOLD_']}, MALLOC_TRIM_THRESHOLD_="
         f"{MALLOC_SPEED['MALLOC_TRIM_THRESHOLD_']}, {threads} threads each "
         f"({'/'.join(THREAD_VARS)}, torch.set_num_threads, tensorgrad.ops.conv.set_num_threads)")
    return s + (f", pinned to cpus {cpus}" if cpus else "")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(mod):
    try:
        return __import__(mod).__version__
    except Exception:  # pragma: no cover - absent
        return "absent"


def settings_line(threads: int = 2, cpus: str | None = None) -> str:
    """Date, machine, versions and settings of a table (versions read here, not in a child)."""
    import numpy as np
    return (f"{time.strftime('%Y-%m-%d %H:%M %Z')} · {_cpu_model()} · {os.cpu_count()} cores · "
            f"Python {platform.python_version()} · numpy {np.__version__} · numba "
            f"{_version('numba')} · torch {_version('torch')} · {env_line(threads, cpus)}")


# ---- the child: one framework, one case ---------------------------------------------------------
def framework(fw: str):
    """``tensorgrad`` or ``torch`` (thread count from the environment the harness set)."""
    if fw == "torch":
        import torch
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", 2)))
        return torch
    import tensorgrad
    from tensorgrad.ops.conv import set_num_threads  # the ops' own worker thread (2 by default)
    set_num_threads(int(os.environ.get("OMP_NUM_THREADS", 2)))
    return tensorgrad


def _load_script(path):
    name = os.path.splitext(os.path.basename(path))[0]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _check_value(r):
    if r is None:
        return None
    try:
        if hasattr(r, "detach"):
            r = r.detach()
        if hasattr(r, "sum"):
            r = r.sum()
        return float(r.item() if hasattr(r, "item") else r)
    except Exception:  # pragma: no cover - a case that returns something odd
        return None


def _status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024  # kB -> bytes
    return 0


def _first(step):
    """Run the step once; its check value (``step.check`` when the setup set one, e.g. for a
    step whose own result is random, else the sum of what it returns)."""
    r = step()
    return getattr(step, "check", None) if hasattr(step, "check") else _check_value(r)


def measure(step, min_time=0.4, min_calls=5, max_calls=200, warmup=3):
    """Wall time of each of at least ``min_calls`` calls (and ``min_time`` seconds) after
    ``warmup`` calls; CPU time of the process (all threads) per call over the same calls."""
    check = _first(step)
    for _ in range(warmup - 1):
        step()
    times = []
    c0, t_start = time.process_time(), time.perf_counter()
    while len(times) < max_calls and (len(times) < min_calls
                                      or time.perf_counter() - t_start < min_time):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    cpu = (time.process_time() - c0) / len(times)
    return {"n": len(times), "median": statistics.median(times), "best": min(times), "cpu": cpu,
            "check": check}


def measure_memory(step, warmup=2):
    """Peak resident memory of one step above the resident set before it (bytes): the
    high-water mark is reset through /proc/self/clear_refs (Linux) after ``warmup`` steps."""
    check = _first(step)
    for _ in range(warmup - 1):
        step()
    gc.collect()
    base = _status("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    step()
    peak = _status("VmHWM")
    return {"peak": peak - base, "base": base, "check": check}


def child_main(argv):
    script, key, fw = argv[:3]
    opts = json.loads(argv[3]) if len(argv) > 3 else {}
    if opts.get("cpus"):
        os.sched_setaffinity(0, {int(c) for c in opts["cpus"].split(",")})
    mod = _load_script(script)
    step = getattr(mod, key)(fw)
    if opts.get("kind") == "memory":
        res = measure_memory(step)
    else:
        res = measure(step, min_time=opts.get("min_time", 0.4))
    print("BENCH-RESULT " + json.dumps(res))


# ---- the parent: rounds of fresh processes ------------------------------------------------------
def run_child(script, key, fw, threads=2, cpus=None, kind="time", min_time=0.4, timeout=900):
    opts = {"cpus": cpus, "kind": kind, "min_time": min_time}
    cmd = [sys.executable, os.path.abspath(__file__), "--child", os.path.abspath(script), key, fw,
           json.dumps(opts)]
    r = subprocess.run(cmd, env=bench_env(threads, memory=kind == "memory"), cwd=ROOT,
                       capture_output=True, text=True, timeout=timeout)
    for line in r.stdout.splitlines():
        if line.startswith("BENCH-RESULT "):
            return json.loads(line[len("BENCH-RESULT "):])
    raise RuntimeError(f"{os.path.basename(script)}:{key} [{fw}] failed (exit {r.returncode}):\n"
                       f"{r.stderr[-3000:]}")


@dataclass
class Row:
    case: Case
    tg: list   # per-round medians (s) or peaks (bytes)
    torch: list
    tg_cpu: list
    torch_cpu: list
    check: tuple

    def med(self, side):
        v = getattr(self, side)
        return statistics.median(v) if v else float("nan")

    @property
    def ratio(self):
        a, b = self.med("tg"), self.med("torch")
        return a / b if b else float("nan")


def run_cases(script, cases, rounds=5, threads=2, cpus=None, frameworks=("tg", "torch"),
              min_time=0.4, log=sys.stderr):
    rows = []
    for case in cases:
        res = {fw: [] for fw in frameworks}
        checks = {}
        n_rounds = rounds if case.kind == "time" else max(1, min(rounds, 3))
        for r in range(n_rounds):
            order = list(frameworks) if r % 2 == 0 else list(reversed(frameworks))
            for fw in order:
                out = run_child(script, case.key, fw, threads, cpus, case.kind, min_time)
                res[fw].append(out)
                checks[fw] = out.get("check")
        if case.kind == "memory":
            get = {fw: [o["peak"] for o in res[fw]] for fw in frameworks}
            cpu = {fw: [] for fw in frameworks}
        else:
            get = {fw: [o["median"] for o in res[fw]] for fw in frameworks}
            cpu = {fw: [o["cpu"] for o in res[fw]] for fw in frameworks}
        row = Row(case, get.get("tg", []), get.get("torch", []), cpu.get("tg", []),
                  cpu.get("torch", []), (checks.get("tg"), checks.get("torch")))
        rows.append(row)
        if log is not None:
            print(f"  {case.label}: {_fmt_row(row)}", file=log, flush=True)
    return rows


def _spread(v, scale):
    if not v:
        return "–"
    return f"{min(v) * scale:.3g}–{max(v) * scale:.3g}"


def _check_cell(check):
    a, b = check
    if a is None or b is None:
        return ""
    if abs(a - b) <= 1e-3 * max(1.0, abs(a), abs(b)):
        return "✓"
    return f"≠ ({a:.5g} vs {b:.5g})"


def _fmt_row(row):
    mem = row.case.kind == "memory"
    scale, unit = (1 / 2 ** 20, "MB") if mem else (1e3, "ms")
    return (f"tg {row.med('tg') * scale:.3f} {unit}, torch {row.med('torch') * scale:.3f} {unit},"
            f" ratio {row.ratio:.2f}x")


def table(rows, title) -> str:
    """A markdown table: medians, spread (min–max of the round medians), ratio, goal, CPU ratio."""
    out = [f"#### {title}", "",
           "| workload | tensorgrad | spread | torch | spread | ratio tg/torch | goal | "
           "CPU-time ratio | same result |", "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        mem = row.case.kind == "memory"
        scale, unit = (1 / 2 ** 20, " MB") if mem else (1e3, " ms")
        goal = row.case.goal
        ok = "" if goal is None or row.ratio != row.ratio else \
            (" ✓" if row.ratio <= goal else " ✗")
        cpu = ""
        if row.tg_cpu and row.torch_cpu:
            cpu = f"{statistics.median(row.tg_cpu) / statistics.median(row.torch_cpu):.2f}×"
        out.append(f"| {row.case.label} | {row.med('tg') * scale:.3f}{unit} | "
                   f"{_spread(row.tg, scale)} | {row.med('torch') * scale:.3f}{unit} | "
                   f"{_spread(row.torch, scale)} | {row.ratio:.2f}×{ok} | "
                   f"{'' if goal is None else f'≤ {goal}×'} | {cpu} | {_check_cell(row.check)} |")
    return "\n".join(out)


def report(rows, title: str) -> str:
    """A small markdown table from (name, tensorgrad seconds, torch seconds, goal or None)
    tuples measured elsewhere (in separate processes: bench_style.py); printed and returned."""
    out = [f"### {title}", "", settings_line(), "",
           "| workload | tensorgrad (ms) | torch (ms) | ratio tg/torch | goal |",
           "|---|---|---|---|---|"]
    for name, tg_s, th_s, goal in rows:
        ratio = tg_s / th_s if th_s else float("nan")
        out.append(f"| {name} | {tg_s * 1e3:.3f} | {th_s * 1e3:.3f} | {ratio:.2f}× | "
                   f"{f'≤ {goal}×' if goal else ''} |")
    text = "\n".join(out)
    print(text)
    return text


def geomean(values):
    import math
    values = [v for v in values if v == v and v > 0]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def parse_args(argv=None, description=""):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--rounds", type=int, default=None, help="rounds per case (default 5)")
    ap.add_argument("--quick", action="store_true", help="3 rounds, shorter timing per process")
    ap.add_argument("--threads", type=int, default=2, help="threads per framework (default 2)")
    ap.add_argument("--cpus", default=None, help="pin the children to these cpus, e.g. 0,1")
    ap.add_argument("--only", default=None, help="cases whose key or label contains this text")
    ap.add_argument("--frameworks", default="tg,torch", help="tg,torch (default) or one of them")
    a = ap.parse_args(argv)
    if a.rounds is None:
        a.rounds = 3 if a.quick else 5
    a.min_time = 0.2 if a.quick else 0.4
    a.frameworks = tuple(a.frameworks.split(","))
    return a


def select(cases, only):
    if not only:
        return list(cases)
    return [c for c in cases if only in c.key or only.lower() in c.label.lower()]


def script_main(script, cases, title, argv=None, extra=None):
    """What a benchmark script's ``__main__`` does: run its cases and print its table."""
    a = parse_args(argv, title)
    chosen = select(cases, a.only)
    load0 = os.getloadavg()[0]
    print(f"{title}: {len(chosen)} cases × {a.rounds} rounds × {len(a.frameworks)} frameworks, "
          f"one fresh process each", file=sys.stderr, flush=True)
    rows = run_cases(script, chosen, a.rounds, a.threads, a.cpus, a.frameworks, a.min_time)
    text = "\n".join([table(rows, title), "", settings_line(a.threads, a.cpus),
                      f"load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the "
                      f"end ({os.cpu_count()} cores); {a.rounds} rounds, each framework in its "
                      f"own fresh process per round, alternating"])
    if extra is not None:
        text += "\n" + extra(rows)
    print(text, flush=True)
    return rows, text


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--child":
    child_main(sys.argv[2:])
