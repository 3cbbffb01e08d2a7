"""numba kernels for tensorgrad (installed as ``tensorgrad.kernels``).

They know nothing of tensorgrad: plain numpy arrays in, numpy arrays out.  Ops in
``tensorgrad.ops`` check shapes, dtypes and contiguity and then call them.
``_numba`` holds the shared ``njit`` wrapper (cache=True with a cache folder that works from a
read-only install).

Importing this package does not import numba (~0.2 s and ~60,000 objects that every full
garbage collection of the process then scans); the first kernel module imported does.
"""


def __getattr__(name):
    if name in ("njit", "cache_dir"):
        from . import _numba
        return getattr(_numba, name)
    raise AttributeError(f"module 'tensorgrad.kernels' has no attribute {name!r}")
