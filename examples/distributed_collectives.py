"""Collectives over MPI with tensorgrad (part 1 of the distributed examples).

    mpirun -n 3 --oversubscribe python examples/distributed_collectives.py
    (as root in a container add --allow-run-as-root)

Every rank runs this same script; each prints what it holds after each collective.
"""
import numpy as np

import tensorgrad as tg
import tensorgrad.distributed as dist

dist.init_process_group(backend="mpi")
rank, world = dist.get_rank(), dist.get_world_size()


def show(what, t):
    print(f"[rank {rank}/{world}] {what:<28} {np.array2string(t.numpy(), precision=3)}",
          flush=True)


# all_reduce: every rank ends with the same reduction of everybody's tensor (in place)
t = tg.tensor([rank + 1.0, 10.0 * rank])
dist.all_reduce(t, op=dist.ReduceOp.SUM)
show("all_reduce SUM", t)
t = tg.tensor([rank + 1.0, 10.0 * rank])
dist.all_reduce(t, op=dist.ReduceOp.AVG)
show("all_reduce AVG", t)
m = tg.tensor([rank, -rank], dtype=tg.int64)
dist.all_reduce(m, op=dist.ReduceOp.MAX)
show("all_reduce MAX (int64)", m)

# broadcast: the last rank's values everywhere
b = tg.tensor(np.full(3, float(rank)))
dist.broadcast(b, src=world - 1)
show(f"broadcast from {world - 1}", b)

# all_gather: everybody's tensor, on every rank
parts = [tg.zeros(2) for _ in range(world)]
dist.all_gather(parts, tg.tensor([rank, rank ** 2], dtype=tg.float32))
show("all_gather", tg.cat(parts))

# a non-blocking all-reduce overlaps with work done meanwhile
big = tg.tensor(np.ones(1_000_000, dtype=np.float32) * (rank + 1))
work = dist.all_reduce(big, async_op=True)
_ = (np.arange(1000.0) ** 2).sum()  # ... compute something else meanwhile ...
work.wait()
show("async all_reduce, first 3", big[:3])

dist.barrier()
if rank == 0:
    print(f"all {world} ranks done", flush=True)
dist.destroy_process_group()
