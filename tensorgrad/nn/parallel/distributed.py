"""``DistributedDataParallel``: data-parallel training over the MPI process group.

Every rank holds a full copy of the model and runs forward and backward on its own share of the
global mini-batch. If rank r's loss is the mean over its ``b`` examples, the mean of the R
ranks' gradients is the gradient of the mean loss over all ``R·b`` examples — so after the
gradients are averaged, every rank takes the same optimizer step that one process would take
with the global batch, and the replicas stay identical.

How the averaging is done (as PyTorch's reducer does it, Li et al., "PyTorch Distributed",
VLDB 2020):

* at construction rank 0's parameters and buffers are broadcast to every rank;
* parameters are grouped into **buckets** of about ``bucket_cap_mb`` (the first one small), in
  the reverse of ``parameters()`` order — roughly the order backward completes their gradients;
* a hook on each parameter (``register_post_accumulate_grad_hook``) marks it ready the moment
  backward has finished its gradient; when every parameter of a bucket is ready the bucket is
  copied into one flat buffer and a **non-blocking** all-reduce is started on it, while backward
  goes on with the layers below. Buckets start strictly in order, so every rank issues the same
  sequence of collectives;
* when backward ends, the remaining buckets are started (a parameter that took no part in this
  forward contributes zeros), every all-reduce is waited for, and the averaged gradients are
  written back into ``.grad``.

``no_sync()`` skips the averaging (gradients accumulate locally; the first synchronized
backward after it averages the sum). With ``broadcast_buffers=True`` (the default) rank 0's
buffers — BatchNorm running statistics — are broadcast at the start of each forward; each rank
still normalizes with its own batch's statistics, like PyTorch. ``SyncBatchNorm`` normalizes
with the statistics of the global batch instead.
"""
from __future__ import annotations

import time
from contextlib import contextmanager

import numpy as np

from ... import distributed as dist
from ...autograd.engine import register_backward_hooks
from ...autograd.grad_mode import STATE
from ...tensor import _wrap
from ..module import Module

__all__ = ["DistributedDataParallel"]

_FIRST_BUCKET_MB = 1.0  # PyTorch starts with a small bucket so communication starts early


def _coalesced_broadcast(tensors, src=0):
    """Broadcast many tensors from ``src`` with one collective per dtype (flat buffers)."""
    by_dtype = {}
    for t in tensors:
        by_dtype.setdefault(t._data.dtype, []).append(t)
    for dtype in sorted(by_dtype, key=str):  # the same order on every rank
        ts = by_dtype[dtype]
        flat = np.concatenate([t._data.reshape(-1) for t in ts]) if ts else None
        dist.broadcast(flat, src)
        o = 0
        for t in ts:
            n = t._data.size
            t._data[...] = flat[o:o + n].reshape(t._data.shape)
            t._version += 1
            o += n


class _Bucket:
    __slots__ = ("params", "offsets", "flat", "remaining", "work")

    def __init__(self, params):
        self.params = params
        sizes = [p._data.size for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.flat = np.zeros(int(self.offsets[-1]), dtype=params[0]._data.dtype)
        self.remaining = len(params)
        self.work = None


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training (see the module docstring); call it like the
    module. ``ddp.module`` is the wrapped model (its ``state_dict`` has no ``module.`` prefix —
    save that one). Arguments follow PyTorch; ``device_ids``/``output_device`` must be None
    (tensorgrad runs on the CPU)."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=None, find_unused_parameters=False,
                 check_reduction=False, gradient_as_bucket_view=False, static_graph=False):
        super().__init__()
        fn = "DistributedDataParallel"
        if not isinstance(module, Module):
            raise TypeError(f"{fn}: module must be a tg.nn.Module, got {type(module).__name__}")
        if device_ids not in (None, [], ["cpu"]) or output_device not in (None, "cpu"):
            raise ValueError(f"{fn}: tensorgrad runs on the CPU; device_ids/output_device must "
                             f"be None, got {device_ids!r}/{output_device!r}")
        if dim != 0:
            raise ValueError(f"{fn}: only dim=0 (batch dimension first) is supported, got {dim}")
        if not dist.is_initialized():
            raise RuntimeError(f"{fn}: the default process group has not been initialized; call "
                               f"tg.distributed.init_process_group(backend='mpi') first")
        if process_group is not None:
            dist.group._check_group(process_group, fn)
        cap = 25.0 if bucket_cap_mb is None else float(bucket_cap_mb)
        if cap <= 0:
            raise ValueError(f"{fn}: bucket_cap_mb must be > 0, got {bucket_cap_mb}")
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.bucket_cap_mb = cap
        self.find_unused_parameters = bool(find_unused_parameters)
        self.require_backward_grad_sync = True
        self.world_size = dist.get_world_size()
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self._check_same_model(module, fn)
        # 1) every rank starts from rank 0's weights and buffers
        _coalesced_broadcast([p for _, p in module.named_parameters()]
                             + [b for _, b in module.named_buffers() if b is not None])
        # 2) buckets, in reverse parameter order, split by dtype and size
        self._params = [p for _, p in named]
        self._buckets = self._make_buckets(self._params, cap)
        self._where = {}
        for bi, b in enumerate(self._buckets):
            for j, p in enumerate(b.params):
                self._where[id(p)] = (bi, j)
        # 3) hooks: per parameter, plus the start/end of every backward pass
        self._mode = None         # "sync"/"local": what the next backward does (set by forward)
        self._touched = False     # a hook fired in the current backward
        self._next = 0            # the next bucket to start
        self._seen = set()
        self.comm_seconds = 0.0   # time spent starting and waiting for all-reduces
        self.started_in_backward = 0  # buckets the last backward started from its hooks
        self._handles = [p.register_post_accumulate_grad_hook(self._on_grad_ready)
                         for p in self._params]
        self._handles.append(register_backward_hooks(on_start=self._on_backward_start,
                                                     on_finish=self._on_backward_end))

    # ---- construction helpers ------------------------------------------------------------
    def _check_same_model(self, module, fn):
        mine = [(n, tuple(p._data.shape), str(p._data.dtype))
                for n, p in list(module.named_parameters()) + list(module.named_buffers())
                if p is not None]
        everyone = [None] * self.world_size
        dist.all_gather_object(everyone, mine)
        for r, theirs in enumerate(everyone):
            if theirs != mine:
                diff = next(((a, b) for a, b in zip(mine, theirs) if a != b),
                            (f"{len(mine)} tensors", f"{len(theirs)} tensors"))
                raise ValueError(f"{fn}: the model on rank {r} differs from this rank's "
                                 f"({dist.get_rank()}): {diff[1]} there, {diff[0]} here; every "
                                 f"rank must build the same model")

    @staticmethod
    def _make_buckets(params, cap_mb):
        buckets, cur, cur_bytes, limit = [], {}, {}, min(_FIRST_BUCKET_MB, cap_mb) * 2 ** 20
        for p in reversed(params):
            dt = p._data.dtype
            cur.setdefault(dt, []).append(p)
            cur_bytes[dt] = cur_bytes.get(dt, 0) + p._data.nbytes
            if cur_bytes[dt] >= limit:
                buckets.append(_Bucket(cur.pop(dt)))
                cur_bytes[dt] = 0
                limit = cap_mb * 2 ** 20
        for dt in sorted(cur, key=str):
            buckets.append(_Bucket(cur[dt]))
        return buckets

    # ---- forward -------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        if self.broadcast_buffers and self.world_size > 1:
            bufs = [b for _, b in self.module.named_buffers() if b is not None]
            if bufs:
                _coalesced_broadcast(bufs)
        if STATE.enabled:
            # the decision to average is taken here, as in PyTorch: a forward inside no_sync()
            # gives a backward that only accumulates locally
            self._mode = "sync" if self.require_backward_grad_sync else "local"
        return self.module(*args, **kwargs)

    @contextmanager
    def no_sync(self):
        """Inside this block backward accumulates gradients locally without averaging them
        (gradient accumulation); the first synchronized backward after it averages the sum."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    # ---- backward: hooks -----------------------------------------------------------------
    def _on_backward_start(self, outputs):
        self._touched = False

    def _on_grad_ready(self, p):
        if self._mode != "sync":
            if self._mode is None:
                # a backward with no forward through the wrapper since the last averaged one:
                # averaging now would average gradients that were already averaged
                raise RuntimeError("DistributedDataParallel: backward reached the model's "
                                   "parameters without a forward pass through the DDP wrapper "
                                   "since the last synchronized backward; call ddp(x), not "
                                   "ddp.module(x), and one backward per forward (use no_sync() "
                                   "for gradient accumulation)")
            return
        self._touched = True
        key = id(p)
        if key in self._seen:
            return
        self._seen.add(key)
        bi, _ = self._where[key]
        b = self._buckets[bi]
        b.remaining -= 1
        if b.remaining == 0:
            self._launch_ready()
        else:
            self._poll()

    def _launch(self, b):
        t0 = time.perf_counter()
        flat, off = b.flat, b.offsets
        for j, p in enumerate(b.params):
            seg = flat[off[j]:off[j + 1]]
            if p.grad is None:
                seg[...] = 0
            else:
                seg[...] = p.grad._data.reshape(-1)
        b.work = dist.all_reduce(flat, op=dist.ReduceOp.AVG, async_op=True)
        self.comm_seconds += time.perf_counter() - t0

    def _launch_ready(self):
        while self._next < len(self._buckets) and self._buckets[self._next].remaining == 0:
            self._launch(self._buckets[self._next])
            self._next += 1
        self._poll()

    def _poll(self):
        # Open MPI moves a non-blocking collective forward only inside MPI calls: test the
        # ones in flight so they progress while backward computes
        for b in self._buckets[:self._next]:
            if b.work is not None:
                b.work.is_completed()

    def _on_backward_end(self, outputs):
        if not (self._mode == "sync" and self._touched):
            return
        self.started_in_backward = self._next
        try:
            for b in self._buckets[self._next:]:  # parameters this forward did not use
                b.remaining = 0
            self._launch_ready()
            t0 = time.perf_counter()
            for b in self._buckets:
                b.work.wait()
                b.work = None
                off = b.offsets
                for j, p in enumerate(b.params):
                    avg = b.flat[off[j]:off[j + 1]].reshape(p._data.shape)
                    if p.grad is None:
                        p.grad = _wrap(avg.copy())
                    else:
                        p.grad._data[...] = avg
            self.comm_seconds += time.perf_counter() - t0
        finally:
            for b in self._buckets:
                b.remaining = len(b.params)
            self._next = 0
            self._seen.clear()
            self._mode, self._touched = None, False

    def _remove_hooks(self):
        """Detach this wrapper from its parameters (the module keeps working un-wrapped)."""
        for h in self._handles:
            h.remove()
        self._handles = []

    def extra_repr(self):
        return f"world_size={self.world_size}, buckets={len(self._buckets)}"
