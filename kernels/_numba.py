"""numba set-up shared by every kernel module: a cache directory that works from any install.

``from tensorgrad.kernels._numba import njit`` gives ``numba.njit`` with ``cache=True`` by
default (``@njit``, ``@njit(parallel=True)``, ``@njit("f8(f8)")`` all work).

numba's on-disk cache normally lives in ``__pycache__`` beside the source file and falls back to
the user-wide cache directory (``~/.cache/numba``).  An installed package in a read-only
site-packages with a read-only (or absent) HOME has neither, and numba then refuses to even
decorate a ``cache=True`` function.  Before any kernel is compiled this module checks where the
cache can go, in this order:

1. ``NUMBA_CACHE_DIR`` set by the user: numba's own rule, left alone;
2. ``kernels/__pycache__`` writable: numba's default, left alone;
3. otherwise ``numba.config.CACHE_DIR`` is pointed at the first writable folder of
   ``$XDG_CACHE_HOME/tensorgrad/numba``, ``~/.cache/tensorgrad/numba``,
   ``<tempdir>/tensorgrad-numba-<uid>``.

If nothing is writable, kernels are compiled without a cache (each process compiles anew).
``cache_dir()`` reports the folder in use (None for "no cache").
"""

from __future__ import annotations

import os
import tempfile

import numba
import numba.extending
import numpy as np

__all__ = ["njit", "prange", "cache_dir", "CACHE_ENABLED", "take", "next_chunk", "plane_state",
           "next_plane"]

prange = numba.prange

_HERE = os.path.dirname(os.path.abspath(__file__))


def _writable(path: str) -> bool:
    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
        return True
    except OSError:
        return False


def _choose_cache_dir():
    """Return (folder or None, whether numba.config must be changed)."""
    user = os.environ.get("NUMBA_CACHE_DIR")
    if user:
        return user, False
    if numba.config.CACHE_DIR:  # set programmatically by someone before us
        return numba.config.CACHE_DIR, False
    in_tree = os.path.join(_HERE, "__pycache__")
    if _writable(in_tree):
        return in_tree, False
    candidates = []
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        candidates.append(os.path.join(xdg, "tensorgrad", "numba"))
    home = os.path.expanduser("~")
    if home and home != "~":
        candidates.append(os.path.join(home, ".cache", "tensorgrad", "numba"))
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    candidates.append(os.path.join(tempfile.gettempdir(), f"tensorgrad-numba-{uid}"))
    for c in candidates:
        if _writable(c):
            return c, True
    return None, False


_CACHE_DIR, _SET = _choose_cache_dir()
if _SET:
    numba.config.CACHE_DIR = _CACHE_DIR
    os.environ.setdefault("NUMBA_CACHE_DIR", _CACHE_DIR)  # child processes agree
CACHE_ENABLED = _CACHE_DIR is not None


def cache_dir():
    """The folder numba caches tensorgrad kernels in, or None when caching is off."""
    return _CACHE_DIR


def njit(*args, **kwargs):
    """``numba.njit`` with ``cache=True`` (when a cache folder exists) unless told otherwise."""
    kwargs.setdefault("cache", CACHE_ENABLED)
    if not CACHE_ENABLED:
        kwargs["cache"] = False
    if args and callable(args[0]):  # bare @njit
        return _decorate(args[0], args[1:], kwargs)
    return lambda fn: _decorate(fn, args, kwargs)


def _decorate(fn, args, kwargs):
    try:
        return numba.njit(*args, **kwargs)(fn)
    except RuntimeError as exc:  # e.g. a function with no source file: no cache locator
        if not kwargs.get("cache") or "cannot cache" not in str(exc):
            raise
        return numba.njit(*args, **{**kwargs, "cache": False})(fn)


@numba.extending.intrinsic
def _atomic_add(typingctx, counter, index):
    """counter[index] += 1, atomically; returns the value before (int64 1-D array)."""
    if not (isinstance(counter, numba.types.Array) and counter.dtype == numba.types.int64):
        return None
    sig = numba.types.int64(counter, index)

    def codegen(context, builder, signature, args):
        from numba.core import cgutils
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]])
        one = context.get_constant(numba.types.int64, 1)
        return builder.atomic_rmw("add", ptr, one, "seq_cst")
    return sig, codegen


@numba.njit(inline="always", cache=CACHE_ENABLED)
def take(counter):
    """The next index of a work list several threads share: ``counter[0]`` (an int64 array the
    threads all hold) incremented atomically, its old value returned. Inside nogil kernels this
    is how two threads split batch chunks without the GIL: whoever is free takes the next."""
    return _atomic_add(counter, 0)


@numba.njit(inline="always", cache=CACHE_ENABLED)
def next_chunk(chunks, counter):
    """The next (n0, n1) row of ``chunks`` (k x 2 int64) this thread takes through ``take``,
    or (-1, -1) when none is left."""
    i = take(counter)
    if i >= chunks.shape[0]:
        return -1, -1
    return chunks[i, 0], chunks[i, 1]


@numba.njit(inline="always", cache=CACHE_ENABLED)
def plane_state():
    """A thread's place in its chunks for ``next_plane`` (sample, end of its chunk, channel)."""
    return np.array([0, 0, -1], dtype=np.int64)


@numba.njit(inline="always", cache=CACHE_ENABLED)
def next_plane(chunks, counter, at, C):
    """The next (n, c) of the batch ranges this thread takes through ``next_chunk``: every
    channel c < C of each sample n of a range, then the next range; (-1, -1) when none is left.
    ``at`` (from ``plane_state``) keeps the thread's place between calls."""
    at[2] += 1
    if at[2] >= C:
        at[2] = 0
        at[0] += 1
    while at[0] >= at[1]:
        n0, n1 = next_chunk(chunks, counter)
        if n0 < 0 or C == 0:
            return -1, -1
        at[0], at[1], at[2] = n0, n1, 0
    return at[0], at[2]
