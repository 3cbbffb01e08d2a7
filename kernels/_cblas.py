"""numpy's own BLAS GEMM, callable from inside a numba kernel without the GIL.

A recurrent layer's time loop is one small GEMM and a few elementwise passes per step. Driven
from Python (``np.matmul`` and a numba kernel per step) every step holds the GIL for some
microseconds, so two threads that each run the loop over half of the batch mostly wait for each
other (measured: 1.2x faster than one thread, not 2x). Run as one numba function per
(layer, direction, batch part), the loop needs the GIL once; the per-step GEMM then has to be
called from numba, and this module finds it: ``cblas_?gemm`` of the BLAS numpy loaded
(threadpoolctl knows its file), as a ctypes function that numba calls directly. Passed to a
kernel as an *argument* (not a global), it leaves the kernel cacheable: the address is read when
the kernel is called, not baked into the compiled code.

``gemm_function(dtype)`` returns that function, or None when numpy's BLAS has no CBLAS symbol we
know. Kernels written with ``matmul_into`` take either: with None, numba prunes the BLAS branch
and the kernel multiplies with a plain numba loop (correct, slower).
"""
from __future__ import annotations

import ctypes

import numpy as np

from . import _blas
from ._numba import njit

__all__ = ["gemm_function", "gemm_into", "matmul_into"]

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112

# (symbol pattern, integer type): ILP64 builds (numpy's own wheels: scipy-openblas64) first
_SYMBOLS = (("scipy_cblas_{}gemm64_", ctypes.c_int64), ("cblas_{}gemm64_", ctypes.c_int64),
            ("scipy_cblas_{}gemm", ctypes.c_int), ("cblas_{}gemm", ctypes.c_int))
_FOUND = {}

# OpenBLAS's small-matrix GEMM kernels (its SkylakeX/AVX-512 builds, which numpy's wheels pick
# on this machine) run products of up to 100³ multiply-adds without packing the operands. The
# recurrent loops' per-step products have few rows (a batch half) and many columns; cut into
# column blocks that qualify they ran 1.3-2.3x faster (16 x 128 by 128 x 512: 29.7 -> 18.7 us;
# 16 x 256 by 256 x 1024: 177 -> 77 us, one thread). Elsewhere the blocks cost a few extra
# calls on the same packing.
SMALL_MNK = 1000000


def _lookup(dtype):
    char = {np.dtype(np.float32): "s", np.dtype(np.float64): "d"}.get(dtype)
    if char is None:
        return None
    real = ctypes.c_float if char == "s" else ctypes.c_double
    # numpy's own BLAS first: other libraries may have loaded theirs (scipy's), and the order
    # threadpoolctl lists them in changes from run to run (a kernel compiled for one GEMM
    # signature would then miss numba's cache in the next process)
    paths = [getattr(lib, "filepath", None) or "" for lib in _blas._libs()]
    for path in sorted(paths, key=lambda p: "numpy" not in p):
        if not path:
            continue
        try:
            handle = ctypes.CDLL(path)
        except OSError:
            continue
        for pattern, integer in _SYMBOLS:
            fn = getattr(handle, pattern.format(char), None)
            if fn is None:
                continue
            ptr = ctypes.c_size_t  # array addresses, passed as integers
            fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, integer, integer, integer,
                           real, ptr, integer, ptr, integer, real, ptr, integer]
            fn.restype = None
            return fn
    return None


def gemm_function(dtype):
    """``cblas_sgemm`` / ``cblas_dgemm`` of numpy's BLAS for ``dtype`` (float32/float64) as a
    ctypes function, or None if none is found."""
    dtype = np.dtype(dtype)
    if dtype not in _FOUND:
        _FOUND[dtype] = _lookup(dtype)
    return _FOUND[dtype]


@njit(inline="always")
def _operand(a):
    """(transpose flag, leading dimension) of a 2-D operand whose rows or columns are
    contiguous; (0, 0) if neither."""
    s = a.itemsize
    if a.strides[1] == s or a.shape[1] == 1:
        return NO_TRANS, max(a.strides[0] // s, a.shape[1], 1)
    if a.strides[0] == s or a.shape[0] == 1:
        return TRANS, max(a.strides[1] // s, a.shape[0], 1)
    return 0, 0


@njit(nogil=True)
def gemm_into(gemm, a, b, c, beta, small_blocks):
    """c = a @ b + beta * c for 2-D arrays (beta 0 or 1): c's rows contiguous, a and b with
    contiguous rows or columns (a transposed view is fine). ``gemm``: from ``gemm_function``
    (numpy's BLAS) or None (a numba loop). ``small_blocks``: cut a wide product with few rows
    into column blocks for OpenBLAS's small-matrix kernels (see SMALL_MNK). A function of its
    own, not inlined into its callers: inlined into every kernel it made the first conv + LSTM
    with an empty numba cache take 12.1 s instead of 9.2 (the kernels just as fast)."""
    M, K = a.shape
    N = b.shape[1]
    ta, lda = _operand(a)
    tb, ldb = _operand(b)
    if gemm is None or ta == 0 or tb == 0 or c.strides[1] != c.itemsize:
        for m in range(M):
            if beta == 0:
                for n in range(N):
                    c[m, n] = 0
            for k in range(K):
                v = a[m, k]
                for n in range(N):
                    c[m, n] += v * b[k, n]
    elif M > 0 and N > 0:
        ldc = max(c.strides[0] // c.itemsize, N, 1)
        # blocks of the widest power of two that qualifies (measured best: for 16 x 256 by
        # 256 x 1024, 128 wide 77 us against 109 us in blocks of 240)
        width = N
        if small_blocks and M * K * N > SMALL_MNK and M * K * 16 <= SMALL_MNK:
            width = 16
            while M * K * width * 2 <= SMALL_MNK:
                width *= 2
        for j in range(0, N, width):
            n = min(width, N - j)
            gemm(ROW_MAJOR, ta, tb, M, n, K, 1.0, a.ctypes.data, lda,
                 b.ctypes.data + np.uint64(j * b.strides[1]), ldb, beta,
                 c.ctypes.data + np.uint64(j * c.itemsize), ldc)


@njit(nogil=True, inline="always")
def matmul_into(gemm, a, b, c):
    """c = a @ b (``gemm_into`` with the small-matrix column blocks: the recurrent loops' per-step
    products, few rows and many columns)."""
    gemm_into(gemm, a, b, c, 0.0, True)
