"""Shared benchmark harness: identical environment for tensorgrad and torch, medians, ratios.

Every benchmark script calls ``ensure_bench_env()`` first. It re-executes the script once
with the environment PERF.md prescribes for *both* frameworks alike:

* ``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE`` unset (they halve numpy's GEMM here);
* ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` raised so glibc keeps large blocks
  instead of page-faulting every buffer anew;
* no ``OMP_WAIT_POLICY=PASSIVE`` (it slows torch badly).

Timings are medians after warm-up; nothing here is ever used in a test assertion.
"""
from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time

BENCH_ENV = {
    "MALLOC_MMAP_THRESHOLD_": str(1 << 30),
    "MALLOC_TRIM_THRESHOLD_": str(1 << 31),
}
UNSET = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_WAIT_POLICY")
_MARK = "TENSORGRAD_BENCH_ENV"


def ensure_bench_env() -> None:
    """Re-exec the current script under the benchmark environment (once)."""
    if os.environ.get(_MARK) == "1":
        return
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update(BENCH_ENV)
    env[_MARK] = "1"
    raise SystemExit(subprocess.call([sys.executable] + sys.argv, env=env))


def median_time(fn, repeat: int = 9, warmup: int = 3, number: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds (per call), after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times)


def settings_line() -> str:
    import numpy as np
    try:
        import torch
        tv = torch.__version__
        tthreads = torch.get_num_threads()
    except Exception:  # pragma: no cover
        tv, tthreads = "absent", "-"
    try:
        import numba
        nv = numba.__version__
    except Exception:  # pragma: no cover
        nv = "absent"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{time.strftime('%Y-%m-%d')} · {cpu} · {os.cpu_count()} cores · Python "
            f"{platform.python_version()} · numpy {np.__version__} · numba {nv} · torch {tv} "
            f"({tthreads} threads) · env: OPENBLAS_CORETYPE/L2_SIZE unset, "
            f"MALLOC_MMAP_THRESHOLD_={BENCH_ENV['MALLOC_MMAP_THRESHOLD_']}, "
            f"MALLOC_TRIM_THRESHOLD_={BENCH_ENV['MALLOC_TRIM_THRESHOLD_']}")


def report(rows, title: str) -> str:
    """rows: (name, tensorgrad_seconds, torch_seconds, goal_ratio or None). Returns a markdown table."""
    out = [f"### {title}", "", settings_line(), "",
           "| workload | tensorgrad (ms) | torch (ms) | ratio tg/torch | goal |",
           "|---|---|---|---|---|"]
    for name, tg_s, th_s, goal in rows:
        ratio = tg_s / th_s if th_s else float("nan")
        g = f"≤ {goal}×" if goal else ""
        out.append(f"| {name} | {tg_s * 1e3:.3f} | {th_s * 1e3:.3f} | {ratio:.2f}× | {g} |")
    text = "\n".join(out)
    print(text)
    return text
