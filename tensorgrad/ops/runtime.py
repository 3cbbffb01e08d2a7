"""Array-level helpers for the layers above ``ops`` that must not import the numba kernels
themselves: BLAS thread limits around GEMMs (recurrent layers, language models) and the
one-pass in-place parameter update the optimizers use, and the one ``zero_grad`` rule that
``Module.zero_grad`` and ``Optimizer.zero_grad`` share."""
import numpy as np

from ..kernels._blas import single_thread as blas_single_thread  # noqa: F401
from ..kernels._blas import threads_for as blas_threads  # noqa: F401
from ..tensor import _wrap

_AXPY = []


def axpy_(y, x, a):
    """``y += a * x`` in place, one pass (kernels/optim.py; numba is imported on first use)."""
    if not _AXPY:
        from ..kernels.optim import axpy_ as kernel
        _AXPY.append(kernel)
    _AXPY[0](y, x, a)

__all__ = ["axpy_", "blas_single_thread", "blas_threads", "zero_grads", "set_num_threads",
           "get_num_threads"]


def set_num_threads(n: int) -> None:
    """PyTorch's ``torch.set_num_threads``: the threads tensorgrad's ops use (convolution,
    pooling and recurrent work: 1 = all on the calling thread) and numpy's BLAS threads."""
    from ..kernels import _blas
    from . import _conv_impl
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    _conv_impl.set_num_threads(int(n))
    _blas.set_default_threads(int(n))


def get_num_threads() -> int:
    """The thread count ``set_num_threads`` set (2 by default on 2+ cores)."""
    from . import _conv_impl
    return _conv_impl.get_num_threads()


def zero_grads(params, set_to_none=True):
    """``.grad = None`` for each parameter (PyTorch's default), or zeros of its shape."""
    for p in params:
        if p.grad is None:
            continue
        p.grad = None if set_to_none else _wrap(np.zeros_like(p.grad._data))
