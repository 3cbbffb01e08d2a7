"""DataLoader workers as threads (``num_workers > 0``).

PyTorch's workers are processes; tensorgrad's are threads of the same process that load and
collate the next ``num_workers * prefetch_factor`` batches while the training loop runs, and the
batches come back in order. What that buys is honest but limited: reading files, decoding
images and numpy work that releases the GIL overlap with training; pure-Python
``__getitem__`` code does not run in parallel (the GIL). Results are the same as with
``num_workers=0`` for datasets whose ``__getitem__`` is deterministic; a ``__getitem__`` that
draws from tensorgrad's global random generator gets its draws in thread order (use a
generator of your own per worker, seeded in ``worker_init_fn`` from
``get_worker_info().seed``, for repeatable augmentation).

An ``IterableDataset`` is read in the main thread whatever ``num_workers`` says (so its items
are never duplicated across workers, and ``get_worker_info()`` is None there, as in a
single-process PyTorch loader).
"""
from __future__ import annotations

import collections
import concurrent.futures
import itertools
import threading
from dataclasses import dataclass

__all__ = ["WorkerInfo", "get_worker_info"]

_local = threading.local()


@dataclass(frozen=True)
class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker: its ``id`` (0 ..
    ``num_workers - 1``), ``num_workers``, a ``seed`` of its own and the ``dataset``."""
    id: int
    num_workers: int
    seed: int
    dataset: object


def get_worker_info():
    """The calling worker's ``WorkerInfo``, or None in the main thread (as PyTorch)."""
    return getattr(_local, "info", None)


def threaded_batches(index_batches, fetch, dataset, num_workers, prefetch_factor,
                     worker_init_fn, base_seed, timeout):
    """Yield ``fetch(indices)`` for each item of ``index_batches``, in order, computed by a pool
    of ``num_workers`` threads that keeps ``num_workers * prefetch_factor`` batches in flight."""
    ids = itertools.count()
    lock = threading.Lock()

    def init():
        with lock:
            wid = next(ids)
        _local.info = WorkerInfo(wid, num_workers, base_seed + wid, dataset)
        if worker_init_fn is not None:
            worker_init_fn(wid)

    depth = max(1, num_workers * prefetch_factor)
    pool = concurrent.futures.ThreadPoolExecutor(num_workers, thread_name_prefix="tg-loader",
                                                 initializer=init)
    pending = collections.deque()
    try:
        it = iter(index_batches)
        for idx in it:
            pending.append(pool.submit(fetch, idx))
            if len(pending) >= depth:
                break
        while pending:
            fut = pending.popleft()
            try:
                batch = fut.result(timeout=timeout if timeout > 0 else None)
            except concurrent.futures.TimeoutError:
                raise RuntimeError(f"DataLoader timed out after {timeout} seconds") from None
            nxt = next(it, None)
            if nxt is not None:
                pending.append(pool.submit(fetch, nxt))
            yield batch
    finally:
        for f in pending:
            f.cancel()
        pool.shutdown(wait=True)
