"""``SyncBatchNorm``: batch normalization with the statistics of the global batch.

Under plain data parallelism each rank normalizes with the mean and variance of its own share of
the batch. SyncBatchNorm sums over every rank instead: with ``M`` values per channel in all,

    μ = (1/M) Σ_ranks Σ_local x,        σ² = (1/M) Σ_ranks Σ_local (x − μ)²,

(two all-reduces; the second sums centred squares, which stays accurate in float32) so R ranks
holding b examples each compute exactly what one process computes on the R·b examples, running
statistics included (updated with the unbiased ``σ²·M/(M−1)``).

The sums pass through ``_AllReduceSum``, a differentiable all-reduce: its backward all-reduces
the incoming gradients (the adjoint of "sum over ranks, copy to every rank" is the same
operation), so the gradient of the ranks' summed loss reaches every rank's inputs — and, after
DDP averages the parameter gradients, matches one process's gradient of the mean loss.
"""
from __future__ import annotations

import numpy as np

from ... import distributed as dist
from ...autograd.function import Function
from ...autograd.grad_mode import no_grad
from ...tensor import _wrap
from ..normalization import _BatchNorm

__all__ = ["SyncBatchNorm"]


class _AllReduceSum(Function):
    """Sum a tensor over every rank (a new tensor; the input is left alone)."""

    @staticmethod
    def forward(ctx, x):
        out = _wrap(np.array(x._data, copy=True))
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out

    @staticmethod
    def backward(ctx, g):
        g = _wrap(np.array(g._data, copy=True))
        dist.all_reduce(g, op=dist.ReduceOp.SUM)
        return g


def _all_reduce_sum(x):
    return _AllReduceSum.apply(x)


class SyncBatchNorm(_BatchNorm):
    """``BatchNorm`` over (N, C, ...) inputs whose training statistics are taken over the batch
    of every rank of the process group (see the module docstring). In eval mode, or without an
    initialized process group of more than one rank, it is an ordinary batch norm."""
    _expected_dims = (2, 3, 4, 5)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, process_group=None, device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)
        if process_group is not None:
            dist.group._check_group(process_group, "SyncBatchNorm")

    def forward(self, input):
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(input)
        self._check_input_dim(input)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats:
            self.num_batches_tracked._data[...] += 1
            self.num_batches_tracked._version += 1
            if self.momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked._data)
        C = input.shape[1]
        dims = (0,) + tuple(range(2, input.ndim))
        shape = (1, C) + (1,) * (input.ndim - 2)
        count = np.array([input._data.size // C], dtype=np.int64)
        dist.all_reduce(count)
        M = int(count[0])
        if M <= 1:
            raise ValueError(f"SyncBatchNorm: expected more than 1 value per channel when "
                             f"training, got {M} over all ranks (input size {tuple(input.shape)})")
        mean = _all_reduce_sum(input.sum(dim=dims)) / M
        xc = input - mean.reshape(shape)
        var = _all_reduce_sum((xc * xc).sum(dim=dims)) / M
        y = xc / (var + self.eps).sqrt().reshape(shape)
        if self.weight is not None:
            y = y * self.weight.reshape(shape)
        if self.bias is not None:
            y = y + self.bias.reshape(shape)
        if self.track_running_stats:
            with no_grad():
                m = momentum
                rm, rv = self.running_mean._data, self.running_var._data
                rm[...] = (1 - m) * rm + m * mean._data.astype(rm.dtype)
                rv[...] = (1 - m) * rv + m * (var._data * (M / (M - 1))).astype(rv.dtype)
                self.running_mean._version += 1
                self.running_var._version += 1
        return y

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """Replace every ``BatchNorm1d/2d`` in ``module`` (itself included) by a
        ``SyncBatchNorm`` holding the same parameters and running statistics; returns the
        converted module."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group)
            for name in ("weight", "bias"):
                if getattr(module, name, None) is None and name in out._parameters:
                    out._parameters[name] = None
            for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
                v = getattr(module, name, None)
                if v is not None:
                    setattr(out, name, v)  # the same Parameter / buffer objects
            out.train(module.training)
        for name, child in list(module._modules.items()):
            if child is not None:
                new = cls.convert_sync_batchnorm(child, process_group)
                if new is not child:
                    setattr(out, name, new)
        return out

