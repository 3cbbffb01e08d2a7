"""Array-level helpers for the layers above ``ops`` that must not import the numba kernels
themselves: BLAS thread limits around GEMMs (recurrent layers, language models) and the
one-pass in-place parameter update the optimizers use."""
from ..kernels.optim import axpy_  # noqa: F401  (y += a * x in place, one pass)
from ..kernels.rnn import blas_single_thread, blas_threads  # noqa: F401

__all__ = ["axpy_", "blas_single_thread", "blas_threads"]
