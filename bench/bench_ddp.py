"""Data-parallel scaling over MPI: samples/s for 1 and 2 processes, and the communication
time per step, for an MLP of ~1.07 M parameters (784-1024-256-10, float32).

Run from the repository root:  python bench/bench_ddp.py [--quick] [--write]

Each configuration runs under ``mpirun`` in fresh processes, the configurations alternating
round by round (median of the rounds), with the same global batch of 256 examples split over
the ranks (strong scaling):

* ``1 proc × 2 threads``: one process, BLAS on both cores (the single-process baseline);
* ``1 proc × 1 thread``: one process, one BLAS thread (what each rank gets below);
* ``2 procs × 1 thread``: DistributedDataParallel on 2 ranks, one BLAS thread each.

Per configuration: the step time (zero_grad, forward, backward with the gradient all-reduce,
SGD step; the slowest rank's), samples/s = 256 / step, the same step under ``no_sync()`` (no
communication), their difference (the communication the step could not hide), the time DDP
spent starting and waiting for its all-reduces, and one blocking all-reduce of all 1.07 M
gradients (4.3 MB). This machine has 2 cores: two ranks can at best match one process that
already uses both cores for its GEMMs, so the interesting figures are the communication costs.
``--write`` saves the table to bench/RESULTS_ddp.md.
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GLOBAL_BATCH = 256


def worker():
    import numpy as np

    import tensorgrad as tg
    import tensorgrad.distributed as dist
    from tensorgrad.nn.parallel import DistributedDataParallel as DDP
    dist.init_process_group("mpi")
    r, n = dist.get_rank(), dist.get_world_size()
    steps = int(os.environ.get("BENCH_STEPS", "15"))
    tg.manual_seed(0)
    nn = tg.nn
    model = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 256), nn.ReLU(),
                          nn.Linear(256, 10))
    nparams = sum(p.numel() for p in model.parameters())
    ddp = DDP(model)
    opt = tg.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    b = GLOBAL_BATCH // n
    g = np.random.default_rng(r)
    x = tg.tensor(g.standard_normal((b, 784)).astype(np.float32))
    y = tg.tensor(g.integers(0, 10, b))
    F = nn.functional

    def step():
        opt.zero_grad()
        F.cross_entropy(ddp(x), y).backward()
        opt.step()

    def timed(fn, k):
        ts = []
        for _ in range(k):
            dist.barrier()
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        arr = np.array(ts)
        dist.all_reduce(arr, op=dist.ReduceOp.MAX)  # the job moves at its slowest rank
        return float(np.median(arr))

    for _ in range(3):
        step()
    c0 = ddp.comm_seconds
    t_sync = timed(step, steps)
    comm = (ddp.comm_seconds - c0) / steps

    def local_step():
        with ddp.no_sync():
            step()
    t_local = timed(local_step, steps)
    flat = np.ones(nparams, dtype=np.float32)
    t_ar = timed(lambda: dist.all_reduce(flat, op=dist.ReduceOp.AVG), steps)
    if r == 0:
        print("RESULT " + json.dumps({"n": n, "params": nparams, "step": t_sync,
                                      "local": t_local, "ddp_comm": comm, "allreduce": t_ar,
                                      "buckets": len(ddp._buckets)}), flush=True)
    dist.destroy_process_group()


def run(nprocs, threads, steps):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               NUMBA_NUM_THREADS=str(threads), BENCH_STEPS=str(steps))
    cmd = [shutil.which("mpirun"), "-n", str(nprocs), "--oversubscribe", "--bind-to", "none"]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    cmd += [sys.executable, os.path.abspath(__file__), "--worker"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    line = [ln[ln.index("RESULT ") + 7:] for ln in p.stdout.splitlines() if "RESULT " in ln]
    if p.returncode != 0 or not line:
        raise SystemExit(f"bench_ddp: {cmd} failed:\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return json.loads(line[0])


def main():
    sys.path.insert(0, HERE)
    from harness import ensure_bench_env, settings_line
    ensure_bench_env()
    if shutil.which("mpirun") is None:
        raise SystemExit("bench_ddp: needs mpirun (apt-get install openmpi-bin libopenmpi-dev) "
                         "and mpi4py")
    quick = "--quick" in sys.argv
    rounds, steps = (1, 5) if quick else (3, 15)
    configs = [("1 proc × 2 threads", 1, 2), ("1 proc × 1 thread", 1, 1),
               ("2 procs × 1 thread", 2, 1)]
    load0 = os.getloadavg()
    res = {c[0]: [] for c in configs}
    for _ in range(rounds):
        for name, n, th in configs:
            res[name].append(run(n, th, steps))
    load1 = os.getloadavg()
    med = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
           for name, rs in res.items()}
    p = next(iter(med.values()))["params"]
    out = ["### Data-parallel MLP (784-1024-256-10, %.2f M parameters, float32), global batch %d"
           % (p / 1e6, GLOBAL_BATCH), "", settings_line(), "",
           f"load average (1 min) before/after: {load0[0]:.1f} / {load1[0]:.1f} on "
           f"{os.cpu_count()} cores; median of {rounds} rounds × {steps} steps", "",
           "| configuration | step (ms) | samples/s | step without comm (ms) | exposed comm "
           "(ms) | DDP all-reduce time (ms) | blocking all-reduce of 4.3 MB (ms) |",
           "|---|---|---|---|---|---|---|"]
    for name, m in med.items():
        out.append(f"| {name} | {m['step'] * 1e3:.1f} | {GLOBAL_BATCH / m['step']:.0f} | "
                   f"{m['local'] * 1e3:.1f} | {(m['step'] - m['local']) * 1e3:.1f} | "
                   f"{m['ddp_comm'] * 1e3:.1f} | {m['allreduce'] * 1e3:.2f} |")
    text = "\n".join(out)
    print(text)
    if "--write" in sys.argv:
        with open(os.path.join(HERE, "RESULTS_ddp.md"), "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    if "--worker" in sys.argv:
        worker()
    else:
        main()
