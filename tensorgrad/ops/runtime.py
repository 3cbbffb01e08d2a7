"""Array-level helpers for the layers above ``ops`` that must not import the numba kernels
themselves: BLAS thread limits around GEMMs (recurrent layers, language models) and the
one-pass in-place parameter update the optimizers use, and the one ``zero_grad`` rule that
``Module.zero_grad`` and ``Optimizer.zero_grad`` share."""
import numpy as np

from ..kernels.optim import axpy_  # noqa: F401  (y += a * x in place, one pass)
from ..kernels.rnn import blas_single_thread, blas_threads  # noqa: F401

from ..tensor import _wrap

__all__ = ["axpy_", "blas_single_thread", "blas_threads", "zero_grads"]


def zero_grads(params, set_to_none=True):
    """``.grad = None`` for each parameter (PyTorch's default), or zeros of its shape."""
    for p in params:
        if p.grad is None:
            continue
        p.grad = None if set_to_none else _wrap(np.zeros_like(p.grad._data))
