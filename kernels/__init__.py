"""numba kernels for tensorgrad (installed as ``tensorgrad.kernels``).

They know nothing of tensorgrad: plain numpy arrays in, numpy arrays out.  Ops in
``tensorgrad.ops`` check shapes, dtypes and contiguity and then call them.
``_numba`` holds the shared ``njit`` wrapper (cache=True with a cache folder that works from a
read-only install).
"""

from ._numba import njit, cache_dir  # noqa: F401
