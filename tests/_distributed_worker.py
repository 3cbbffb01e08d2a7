"""Run by tests/test_distributed.py under ``mpirun -n N`` (not collected by pytest itself).

    mpirun -n 2 python tests/_distributed_worker.py main OUTDIR
    mpirun -n 3 python tests/_distributed_worker.py collectives OUTDIR
    mpirun -n 2 python tests/_distributed_worker.py crash OUTDIR

Each rank writes what it saw to OUTDIR/<mode>_rank<r>.npz; the test compares it with what one
process computes. The model/data builders below are shared with the test (one process)."""
import os
import sys

import numpy as np

import tensorgrad as tg
import tensorgrad.distributed as dist
from tensorgrad.data import DataLoader, DistributedSampler, TensorDataset

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool",
          "complex128"]
OPS = ["SUM", "AVG", "PRODUCT", "MIN", "MAX"]
STEPS, GLOBAL_BATCH, N_EXAMPLES = 20, 16, 64


def rank_input(dtype, rank, shape=(2, 3)):
    """A tensor whose values differ per rank, exact in every dtype."""
    v = (np.arange(np.prod(shape)).reshape(shape) % 3) + rank + 1
    if dtype == "bool":
        return ((v + rank) % 2 == 0)
    if dtype.startswith("complex"):
        return (v + 1j * (rank - v)).astype(dtype)
    return v.astype(dtype)


def valid(op, dtype):
    if op == "AVG":
        return dtype.startswith(("float", "complex"))
    if op in ("MIN", "MAX"):
        return not dtype.startswith("complex")
    return True


# ---- models and data (shared with the one-process reference) ---------------------------------
def make_data(kind):
    g = np.random.default_rng(7)
    x = g.standard_normal((N_EXAMPLES, 10) if kind == "mlp" else (N_EXAMPLES, 2, 6, 6))
    y = g.integers(0, 3, N_EXAMPLES)
    return TensorDataset(x.astype(np.float64), y)


def make_model(kind, seed):
    tg.manual_seed(seed)
    nn = tg.nn
    if kind == "mlp":
        m = nn.Sequential(nn.Linear(10, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(),
                          nn.Linear(16, 3))
    else:  # a small CNN; SyncBatchNorm is an ordinary BatchNorm in a single process
        m = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, bias=False), nn.SyncBatchNorm(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(),
                          nn.Flatten(), nn.Linear(36, 3))
    return m.double()


def make_opt(kind, params):
    if kind == "mlp":
        return tg.optim.SGD(params, lr=0.1, momentum=0.9)
    return tg.optim.Adam(params, lr=1e-2)


def train(kind, model, steps, rank=0, world=1, on_step=None):
    """``steps`` optimizer steps on the global batch GLOBAL_BATCH split over ``world`` ranks."""
    ds = make_data(kind)
    sampler = DistributedSampler(ds, num_replicas=world, rank=rank, shuffle=True, seed=3)
    loader = DataLoader(ds, batch_size=GLOBAL_BATCH // world, sampler=sampler)
    opt = make_opt(kind, model.parameters())
    step, epoch = 0, 0
    while step < steps:
        sampler.set_epoch(epoch)
        for x, y in loader:
            opt.zero_grad()
            loss = tg.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            step += 1
            if on_step is not None:
                on_step(step)
            if step == steps:
                break
        epoch += 1
    return model


def fit_run(world, rank, epochs, ckpt, resume=False, log=None):
    """tg.train.Trainer on the MLP: 4 steps of the global batch per epoch, a dev set split over
    the ranks too, a checkpoint after every epoch (main process only)."""
    from tensorgrad import train
    from tensorgrad.nn.parallel import DistributedDataParallel as DDP
    ds = make_data("mlp")
    g = np.random.default_rng(11)
    dev = TensorDataset(g.standard_normal((32, 10)), g.integers(0, 3, 32))
    loader = DataLoader(ds, batch_size=GLOBAL_BATCH // world,
                        sampler=DistributedSampler(ds, world, rank, seed=3))
    dev_loader = DataLoader(dev, batch_size=8,
                            sampler=DistributedSampler(dev, world, rank, shuffle=False))
    model = make_model("mlp", seed=100 + rank)
    net = DDP(model) if world > 1 else model
    cbs = [train.EarlyStopping(patience=None, restore_best=False), train.Checkpoint(ckpt),
           train.Logger(write=log.append if log is not None else print)]
    trainer = train.Trainer(net, tg.nn.functional.cross_entropy, make_opt("mlp", net.parameters()),
                            loader, dev_loader, metrics=["accuracy"], callbacks=cbs)
    hist = trainer.fit(epochs, resume_from=ckpt if resume else None)
    return trainer, model, hist


def params_of(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


# ---- the modes -------------------------------------------------------------------------------
def run_collectives(out, r, n):
    RO = dist.ReduceOp
    for dt in DTYPES:
        for op in OPS:
            t = tg.tensor(rank_input(dt, r))
            if valid(op, dt):
                dist.all_reduce(t, op=getattr(RO, op))
                out[f"allreduce_{op}_{dt}"] = t.numpy()
            else:
                try:
                    dist.all_reduce(t, op=getattr(RO, op))
                    out[f"allreduce_{op}_{dt}"] = np.array("no error")
                except TypeError:
                    out[f"allreduce_{op}_{dt}"] = np.array("TypeError")
        b = tg.tensor(rank_input(dt, r))
        dist.broadcast(b, src=n - 1)
        out[f"broadcast_{dt}"] = b.numpy()
        lst = [tg.tensor(np.zeros((2, 3), dtype=dt)) for _ in range(n)]
        dist.all_gather(lst, tg.tensor(rank_input(dt, r)))
        out[f"allgather_{dt}"] = np.stack([t.numpy() for t in lst])
    # a strided view is reduced in place through a temporary and written back
    base = tg.tensor(np.arange(12.0).reshape(3, 4) * (r + 1))
    view = base[:, 1::2]
    dist.all_reduce(view)
    out["view_base"] = base.numpy()
    # non-blocking
    t = tg.tensor(rank_input("float64", r))
    w = dist.all_reduce(t, op=RO.MAX, async_op=True)
    w.wait()
    out["async_max"] = t.numpy()
    out["async_done"] = np.array(w.is_completed())
    # reduce / gather / scatter / all_gather_into_tensor on the last rank
    dst = n - 1
    t = tg.tensor(rank_input("int64", r))
    dist.reduce(t, dst=dst, op=RO.SUM)
    out["reduce"] = t.numpy()
    gl = [tg.zeros(2, 3, dtype=tg.float32) for _ in range(n)] if r == dst else None
    dist.gather(tg.tensor(rank_input("float32", r)), gl, dst=dst)
    if r == dst:
        out["gather"] = np.stack([t.numpy() for t in gl])
    sl = [tg.tensor(rank_input("float32", k) * 10) for k in range(n)] if r == 0 else None
    s = tg.zeros(2, 3, dtype=tg.float32)
    dist.scatter(s, sl, src=0)
    out["scatter"] = s.numpy()
    big = tg.zeros(2 * n, 3, dtype=tg.float64)
    dist.all_gather_into_tensor(big, tg.tensor(rank_input("float64", r)))
    out["allgather_into"] = big.numpy()
    objs = [None, None]
    if r == 0:
        objs = [{"a": 1}, "two"]
    dist.broadcast_object_list(objs, src=0)
    gathered = [None] * n
    dist.all_gather_object(gathered, ("rank", r))
    out["objects_ok"] = np.array(objs == [{"a": 1}, "two"]
                                 and gathered == [("rank", k) for k in range(n)])
    dist.barrier()
    # errors are raised on every rank alike, before any communication
    errs = []
    for f in (lambda: dist.broadcast(tg.zeros(2), src=n),
              lambda: dist.all_gather([tg.zeros(2)], tg.zeros(2)),
              lambda: dist.all_reduce(tg.zeros(2), op="mean"),
              lambda: dist.get_rank(group="other")):
        try:
            f()
            errs.append("no error")
        except (ValueError, TypeError) as e:
            errs.append(str(e).split(":")[0])
    out["errors"] = np.array(errs)


def run_main(out, r, n):
    from tensorgrad.nn.parallel import DistributedDataParallel as DDP
    run_collectives(out, r, n)
    for kind in ("mlp", "cnn"):
        model = make_model(kind, seed=100 + r)  # different on each rank: DDP broadcasts rank 0's
        ddp = DDP(model, bucket_cap_mb=0.0005)  # several buckets even for these small models
        out[f"{kind}_buckets"] = np.array(len(ddp._buckets))
        train(kind, ddp, STEPS, r, n)
        out[f"{kind}_started_in_backward"] = np.array(ddp.started_in_backward)
        for k, v in params_of(model).items():
            out[f"{kind}.{k}"] = v
    # tg.train under DDP: 2 epochs, rank-0-only log lines and checkpoint
    lines = []
    trainer, model, hist = fit_run(n, r, 2, os.path.join(out["_outdir"], "fit_ckpt.tg"), log=lines)
    out["fit_main"] = np.array(trainer.is_main_process)
    out["fit_lines"] = np.array(len(lines))
    for key in ("train_loss", "dev_loss"):
        out[f"fit_{key}"] = np.array(hist.to_dict()[key], dtype=np.float64)
    for k, v in params_of(model).items():
        out[f"fit.{k}"] = v
    # no_sync: two local micro-batches, then a synchronized one
    model = make_model("mlp", seed=5)
    ddp = DDP(model)
    ds = make_data("mlp")
    F = tg.nn.functional
    for k in range(3):
        lo = k * 2 * 8 + r * 8
        x, y = ds._batch(np.arange(lo, lo + 8))
        if k < 2:
            with ddp.no_sync():
                F.cross_entropy(ddp(x), y).backward()
            if k == 0:
                out["nosync_local_grad"] = model[0].weight.grad.numpy().copy()
        else:
            F.cross_entropy(ddp(x), y).backward()
    out["nosync_grad"] = model[0].weight.grad.numpy()
    # a second backward through the same forward is refused (it would average twice)
    loss = F.cross_entropy(ddp(x), y)
    loss.backward(retain_graph=True)
    try:
        loss.backward()
        out["double_backward"] = np.array("no error")
    except RuntimeError as e:
        out["double_backward"] = np.array(str(e)[:40])
    # different models on the ranks are refused, on every rank
    try:
        DDP(tg.nn.Linear(3, 2 + r))
        out["mismatch"] = np.array("no error")
    except ValueError as e:
        out["mismatch"] = np.array(str(e)[:60])
    # plain BatchNorm under DDP: each rank normalizes with its own batch statistics; rank 0's
    # running statistics are broadcast at the next forward (broadcast_buffers=True)
    tg.manual_seed(0)
    bn = tg.nn.BatchNorm1d(3).double()
    dbn = DDP(bn)
    xb = tg.tensor(np.random.default_rng(r).standard_normal((8, 3)) + r * 5)
    yb = dbn(xb)
    out["bn_out"] = yb.detach().numpy()
    out["bn_running_mean_1"] = bn.running_mean.numpy().copy()
    dbn(xb)
    out["bn_running_mean_2"] = bn.running_mean.numpy().copy()
    out["bn_x"] = xb.numpy()


def run_crash(outdir, r, n):
    """Rank 0 checkpoints after every step; rank 1 raises in step 6."""
    from tensorgrad.nn.parallel import DistributedDataParallel as DDP
    model = make_model("mlp", seed=100)
    ddp = DDP(model)
    path = os.path.join(outdir, "ckpt.tg")

    def on_step(step):
        if r == 0:
            tg.save({"step": step, "model": model.state_dict()}, path)
        if r == 1 and step == 5:
            raise RuntimeError("rank 1 fails on purpose")
    train("mlp", ddp, STEPS, r, n, on_step=on_step)


def main():
    mode, outdir = sys.argv[1], sys.argv[2]
    dist.init_process_group(backend="mpi")
    r, n = dist.get_rank(), dist.get_world_size()
    out = {"world_size": np.array(n), "_outdir": outdir}
    if mode == "collectives":
        run_collectives(out, r, n)
    elif mode == "main":
        run_main(out, r, n)
    elif mode == "crash":
        run_crash(outdir, r, n)
    else:
        raise SystemExit(f"unknown mode {mode}")
    out.pop("_outdir")
    np.savez(os.path.join(outdir, f"{mode}_rank{r}.npz"), **out)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
