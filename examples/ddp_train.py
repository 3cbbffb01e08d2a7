"""Data-parallel training over MPI with tensorgrad (part 2 of the distributed examples).

    mpirun -n 2 --oversubscribe python examples/ddp_train.py --epochs 5
    mpirun -n 2 --oversubscribe python examples/ddp_train.py --epochs 8 --resume   # carry on
    python examples/ddp_train.py --epochs 10 --resume     # ... or on one process
    (as root in a container add --allow-run-as-root to mpirun)

A small CNN (with SyncBatchNorm) learns scikit-learn's 8×8 digits. Each rank reads its share of
every global batch (DistributedSampler), DistributedDataParallel averages the gradients, and
tg.train's Trainer draws the progress bar, prints and checkpoints on rank 0 only. The
checkpoint holds the plain model, so a run can resume on any number of processes: with the
same --batch (the global batch) the result is the same as one uninterrupted run.
"""
import argparse
import os

import tensorgrad as tg
import tensorgrad.distributed as dist
from tensorgrad import nn, train
from tensorgrad.data import DataLoader, DistributedSampler, TensorDataset, load_digits
from tensorgrad.nn.parallel import DistributedDataParallel as DDP


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=64, help="global batch (split over the ranks)")
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--checkpoint", default="ddp_digits.tg")
    ap.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    args = ap.parse_args()

    dist.init_process_group(backend="mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    if args.batch % world:
        raise SystemExit(f"--batch {args.batch} must be divisible by the {world} processes")

    X, y = load_digits(images=True, as_numpy=True)
    train_ds, dev_ds = TensorDataset(X[:1500], y[:1500]), TensorDataset(X[1500:], y[1500:])
    train_loader = DataLoader(train_ds, batch_size=args.batch // world,
                              sampler=DistributedSampler(train_ds, seed=0))
    dev_loader = DataLoader(dev_ds, batch_size=100,
                            sampler=DistributedSampler(dev_ds, shuffle=False))

    tg.manual_seed(0)  # DDP copies rank 0's initial weights to every rank anyway
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.SyncBatchNorm(16), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.SyncBatchNorm(32), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 2 * 2, 10))
    ddp = DDP(model)
    opt = tg.optim.SGD(ddp.parameters(), lr=args.lr, momentum=0.9)
    trainer = train.Trainer(ddp, nn.CrossEntropyLoss(), opt, train_loader, dev_loader,
                            metrics=["accuracy"],
                            callbacks=[train.ProgressBar(), train.Logger(),
                                       train.Checkpoint(args.checkpoint)])
    resume = args.checkpoint if args.resume and os.path.exists(args.checkpoint) else None
    history = trainer.fit(args.epochs, resume_from=resume)
    if trainer.is_main_process:
        print(f"{world} process(es): dev accuracy {history.dev_metrics['accuracy'][-1]:.3f}; "
              f"checkpoint in {args.checkpoint}")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
