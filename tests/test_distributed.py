"""tg.distributed over MPI, DistributedDataParallel, SyncBatchNorm, DistributedSampler.

Multi-process checks launch tests/_distributed_worker.py under ``mpirun`` (three launches:
2 ranks for collectives + DDP training, 3 ranks for collectives, 2 ranks for a crash); each
launch does many checks, since process start-up dominates. They skip when mpirun or mpi4py are
missing (apt-get install openmpi-bin libopenmpi-dev; pip install mpi4py)."""
import importlib.util
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad.data import DataLoader, DistributedSampler, TensorDataset

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "_distributed_worker.py")
_spec = importlib.util.spec_from_file_location("_distributed_worker", WORKER)
W = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(W)

MPIRUN = shutil.which("mpirun")


def _mpi4py_works():
    # mpi4py's wheel loads the MPI library at import: check in a child process, so this
    # process never initializes MPI itself
    if importlib.util.find_spec("mpi4py") is None:
        return False
    p = subprocess.run([sys.executable, "-c", "from mpi4py import MPI"], capture_output=True,
                       timeout=60)
    return p.returncode == 0


HAVE_MPI4PY = MPIRUN is not None and _mpi4py_works()
needs_mpi = pytest.mark.skipif(
    MPIRUN is None or not HAVE_MPI4PY,
    reason="multi-process tests need Open MPI's mpirun and mpi4py "
           "(apt-get install openmpi-bin libopenmpi-dev; pip install mpi4py)")


def mpirun(n, mode, outdir, timeout=180):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    cmd = [MPIRUN, "-n", str(n), "--oversubscribe"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    cmd += [sys.executable, WORKER, mode, str(outdir)]
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    return p, time.monotonic() - t0


def load(outdir, mode, n):
    return [dict(np.load(os.path.join(outdir, f"{mode}_rank{r}.npz"))) for r in range(n)]


def _np_reduce(op, xs, dtype):
    xs = np.stack(xs)
    if dtype == "bool":
        return {"SUM": xs.any(0), "MAX": xs.any(0), "PRODUCT": xs.all(0), "MIN": xs.all(0)}[op]
    if op == "SUM":
        return xs.sum(0).astype(dtype)
    if op == "AVG":
        return (xs.astype(np.complex128 if dtype.startswith("complex") else np.float64).sum(0)
                / len(xs)).astype(dtype)
    if op == "PRODUCT":
        return xs.prod(0).astype(dtype)
    return (xs.min(0) if op == "MIN" else xs.max(0)).astype(dtype)


def check_collectives(outs):
    n = len(outs)
    for r, out in enumerate(outs):
        assert int(out["world_size"]) == n
        for dt in W.DTYPES:
            xs = [W.rank_input(dt, k) for k in range(n)]
            for op in W.OPS:
                got = out[f"allreduce_{op}_{dt}"]
                if W.valid(op, dt):
                    assert got.dtype == np.dtype(dt), (op, dt, got.dtype)
                    np.testing.assert_array_equal(got, _np_reduce(op, xs, dt), err_msg=f"{op} {dt}")
                else:
                    assert str(got) == "TypeError", (op, dt)
            np.testing.assert_array_equal(out[f"broadcast_{dt}"], xs[n - 1])
            np.testing.assert_array_equal(out[f"allgather_{dt}"], np.stack(xs))
        base = np.arange(12.0).reshape(3, 4)
        want = base * (r + 1)
        want[:, 1::2] = base[:, 1::2] * sum(k + 1 for k in range(n))
        np.testing.assert_array_equal(out["view_base"], want)
        f64 = [W.rank_input("float64", k) for k in range(n)]
        np.testing.assert_array_equal(out["async_max"], np.max(f64, 0))
        assert bool(out["async_done"])
        own = W.rank_input("int64", r)
        np.testing.assert_array_equal(out["reduce"], sum(W.rank_input("int64", k)
                                                         for k in range(n)) if r == n - 1 else own)
        if r == n - 1:
            np.testing.assert_array_equal(out["gather"],
                                          np.stack([W.rank_input("float32", k) for k in range(n)]))
        else:
            assert "gather" not in out
        np.testing.assert_array_equal(out["scatter"], W.rank_input("float32", r) * 10)
        np.testing.assert_array_equal(out["allgather_into"], np.concatenate(f64))
        assert bool(out["objects_ok"])
        assert list(out["errors"]) == ["broadcast", "all_gather", "all_reduce", "get_rank"]


def reference_params(kind, steps=W.STEPS):
    model = W.make_model(kind, seed=100)
    W.train(kind, model, steps, rank=0, world=1)
    return W.params_of(model)


def assert_rel_close(got, want, tol=1e-10, what=""):
    err = np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-300)
    assert err <= tol, f"{what}: relative error {err:.3e}"


@pytest.fixture(scope="module")
def main_run(tmp_path_factory):
    if MPIRUN is None or not HAVE_MPI4PY:
        pytest.skip("needs mpirun and mpi4py")
    d = tmp_path_factory.mktemp("dist2")
    p, _ = mpirun(2, "main", d)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    outs = load(d, "main", 2)
    outs[0]["_dir"] = d
    return outs


@needs_mpi
def test_collectives_on_two_ranks(main_run):
    check_collectives(main_run)


@needs_mpi
def test_collectives_on_three_ranks(tmp_path):
    p, _ = mpirun(3, "collectives", tmp_path)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    check_collectives(load(tmp_path, "collectives", 3))


@needs_mpi
@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_ddp_training_matches_one_process(main_run, kind):
    """20 steps on 2 ranks × 8 examples = 20 steps on one process × 16 examples (float64);
    the CNN has a SyncBatchNorm, compared with an ordinary BatchNorm on the whole batch."""
    ref = reference_params(kind)
    start = W.params_of(W.make_model(kind, seed=100))
    for r in (0, 1):
        nb = int(main_run[r][f"{kind}_buckets"])
        assert nb > 2
        # every bucket was started from a parameter hook, while backward was still running
        assert int(main_run[r][f"{kind}_started_in_backward"]) == nb
        for k, want in ref.items():
            got = main_run[r][f"{kind}.{k}"]
            assert_rel_close(got, want, what=f"rank {r} {kind}.{k}")
            if k.endswith("weight"):  # and the model did train
                assert np.max(np.abs(want - start[k])) > 1e-3
    if kind == "cnn":  # running statistics of the global batch
        assert np.max(np.abs(ref["1.running_mean"])) > 1e-3


@needs_mpi
def test_no_sync_and_batchnorm_per_process(main_run):
    F = tg.nn.functional
    model = W.make_model("mlp", seed=5)
    ds = W.make_data("mlp")
    for k in range(3):  # global micro-batch k = both ranks' k-th batches
        x, y = ds._batch(np.arange(16 * k, 16 * k + 16))
        F.cross_entropy(model(x), y).backward()
    want = model[0].weight.grad.numpy()
    for r in (0, 1):
        assert_rel_close(main_run[r]["nosync_grad"], want, what="no_sync accumulation")
    # inside no_sync the gradients stayed local: the ranks differ after the first micro-batch
    assert np.max(np.abs(main_run[0]["nosync_local_grad"] - main_run[1]["nosync_local_grad"])) > 1e-3
    assert all("DistributedDataParallel" in str(o["double_backward"]) for o in main_run)
    assert all("the model on rank" in str(o["mismatch"]) for o in main_run)
    # BatchNorm: each rank normalized with its own batch (outputs have zero mean per rank) and
    # updated its own running mean; the next forward started from rank 0's statistics
    m1 = [o["bn_x"].mean(0) * 0.1 for o in main_run]
    for r, o in enumerate(main_run):
        np.testing.assert_allclose(o["bn_out"].mean(0), 0, atol=1e-12)
        np.testing.assert_allclose(o["bn_running_mean_1"], m1[r], rtol=1e-12)
        np.testing.assert_allclose(o["bn_running_mean_2"], 0.9 * m1[0] + 0.1 * o["bn_x"].mean(0),
                                   rtol=1e-12)


@needs_mpi
def test_train_under_ddp_logs_once_and_resumes_on_one_process(main_run):
    """tg.train.Trainer with a DDP model on 2 ranks for 2 epochs (checkpoint after each, on rank
    0 only), then resumed here in one process for epochs 3-4: the same parameters and history
    as 4 epochs in one process with the same global batch."""
    assert [bool(o["fit_main"]) for o in main_run] == [True, False]
    assert [int(o["fit_lines"]) for o in main_run] == [2, 0]
    full_trainer, full_model, full = W.fit_run(1, 0, 4, os.path.join(main_run[0]["_dir"], "x.tg"))
    fd = full.to_dict()
    for o in main_run:  # the logged losses are the global ones, on every rank
        for key in ("train_loss", "dev_loss"):
            np.testing.assert_allclose(o[f"fit_{key}"], fd[key][:2], rtol=1e-10)
    ck = os.path.join(main_run[0]["_dir"], "fit_ckpt.tg")
    assert set(tg.load(ck)["model"]) == set(full_model.state_dict())  # no "module." prefix
    _, resumed_model, resumed = W.fit_run(1, 0, 4, ck, resume=True)
    rd = resumed.to_dict()
    for key in ("train_loss", "dev_loss"):
        np.testing.assert_allclose(rd[key], fd[key], rtol=1e-10)
    want = W.params_of(full_model)
    for k, v in W.params_of(resumed_model).items():
        assert_rel_close(v, want[k], what=f"resumed {k}")
    for k, v in want.items():
        np.testing.assert_array_equal(main_run[0][f"fit.{k}"], main_run[1][f"fit.{k}"])


@needs_mpi
def test_a_failing_rank_aborts_the_job_and_the_checkpoint_survives(tmp_path):
    p, seconds = mpirun(2, "crash", tmp_path, timeout=120)
    assert p.returncode != 0
    assert "rank 1 fails on purpose" in p.stderr + p.stdout
    assert seconds < 60, f"the job took {seconds:.0f} s to go down"
    ck = tg.load(os.path.join(tmp_path, "ckpt.tg"))
    step = int(ck["step"])
    assert 1 <= step <= 5
    ref = reference_params("mlp", steps=step)
    for k, want in ref.items():
        assert_rel_close(ck["model"][k].numpy(), want, what=f"checkpoint {k}")


# ---- single process --------------------------------------------------------------------------
def test_distributed_sampler_semantics():
    ds = TensorDataset(np.arange(10.0))
    # padding: 10 examples over 3 ranks -> 4 each, the first two repeated
    parts = [list(DistributedSampler(ds, 3, r, shuffle=False)) for r in range(3)]
    assert parts == [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]
    assert all(len(DistributedSampler(ds, 3, r, shuffle=False)) == 4 for r in range(3))
    dropped = [list(DistributedSampler(ds, 3, r, shuffle=False, drop_last=True)) for r in range(3)]
    assert dropped == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]
    # more padding than examples
    tiny = TensorDataset(np.arange(2.0))
    assert [list(DistributedSampler(tiny, 5, r, shuffle=False)) for r in range(5)] == \
        [[0], [1], [0], [1], [0]]
    # shuffling: same permutation on every rank for an epoch; set_epoch changes it
    s = [DistributedSampler(ds, 2, r, seed=4) for r in range(2)]
    e0 = [list(x) for x in s]
    assert sorted(e0[0] + e0[1]) == list(range(10))
    assert list(s[0]) == e0[0]  # no set_epoch: same order again
    for x in s:
        x.set_epoch(1)
    e1 = [list(x) for x in s]
    assert sorted(e1[0] + e1[1]) == list(range(10)) and e1 != e0
    whole = list(DistributedSampler(ds, 1, 0, seed=4))
    assert e0[0] == whole[0::2] and e0[1] == whole[1::2]
    # the union of the ranks' k-th batches is one process's k-th batch of twice the size
    xs = [[b[0].numpy() for b in DataLoader(ds, 2, sampler=DistributedSampler(ds, 2, r, seed=4))]
          for r in range(2)]
    big = [b[0].numpy() for b in DataLoader(ds, 4, sampler=DistributedSampler(ds, 1, 0, seed=4))]
    for k in range(2):
        assert sorted(np.concatenate([xs[0][k], xs[1][k]])) == sorted(big[k])
    assert len(DataLoader(ds, 3, sampler=s[0])) == 2


def test_sampler_and_group_errors():
    ds = TensorDataset(np.arange(4.0))
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, 2, shuffle=True, sampler=DistributedSampler(ds, 2, 0))
    with pytest.raises(ValueError, match="invalid rank 2"):
        DistributedSampler(ds, 2, 2)
    with pytest.raises(ValueError, match="num_replicas must be >= 1"):
        DistributedSampler(ds, 0, 0)
    with pytest.raises(TypeError, match="seed must be an int"):
        DistributedSampler(ds, 2, 0, seed=1.5)
    import tensorgrad.distributed as dist
    assert not dist.is_initialized()
    with pytest.raises(RuntimeError, match="not been initialized"):
        dist.get_rank()
    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedSampler(ds)
    with pytest.raises(ValueError, match="MPI only"):
        dist.init_process_group(backend="gloo")
    with pytest.raises(RuntimeError, match="init_process_group"):
        tg.nn.parallel.DistributedDataParallel(tg.nn.Linear(2, 2))


def test_sync_batchnorm_is_batchnorm_in_one_process_and_converts():
    torch = pytest.importorskip("torch")
    tg.manual_seed(0)
    model = tg.nn.Sequential(tg.nn.Conv2d(2, 3, 3), tg.nn.BatchNorm2d(3), tg.nn.ReLU()).double()
    sync = tg.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert isinstance(sync[1], tg.nn.SyncBatchNorm) and sync[1].weight is model[1].weight
    x = np.random.default_rng(0).standard_normal((4, 2, 5, 5))
    tm = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3),
                             torch.nn.ReLU()).double()
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    y = sync(tg.tensor(x))
    yt = tm(torch.tensor(x))
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), atol=1e-12)
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(sync[0].weight.grad.numpy(), tm[0].weight.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(sync[1].running_var.numpy(), tm[1].running_var.numpy(), rtol=1e-12)
