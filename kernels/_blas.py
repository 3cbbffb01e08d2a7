"""numpy's BLAS thread count, switched cheaply around the kernels that want it changed.

Why the kernels switch it (docs in bench/RESULTS.md): a GEMM too small to split (the per-step
products of a recurrent layer, a convolution's batch chunk) gains nothing from a second BLAS
thread, and after a multi-threaded call OpenBLAS's worker spins for ~100 ms, fighting whatever
runs next (our own chunk threads, numba kernels) for the 2 cores. So the time loops and the
convolution chunks run on one BLAS thread, and only big GEMMs get the default count. Leaving a
context never raises the count again (that too wakes the spinning workers): after the kernels
have run, numpy's BLAS stays on one thread until ``tg.set_num_threads`` asks for more, and the
ops' own big products run on their two threads instead (``lowered``; ops/_xp.py). The counts
are read from the libraries on every switch, not remembered: OpenBLAS may keep them per
calling thread, and a remembered count set from the worker thread was wrong for the caller.

threadpoolctl finds the BLAS libraries numpy loaded (OpenBLAS, MKL, BLIS) once; after that a
switch is one call into the library (~1 µs). threadpoolctl's own ``limit()`` costs ~100 µs of
Python per use, which was 0.3 ms of every LSTM forward. Without threadpoolctl (or with a BLAS
it cannot control) the contexts do nothing.
"""
from __future__ import annotations

import threading

__all__ = ["blas_threads", "single_thread", "threads_for", "gemm", "controllable", "lowered",
           "default_threads", "set_default_threads", "BIG_GEMM_FLOPS"]

# GEMMs with fewer FLOPs than this run on one BLAS thread (see threads_for)
BIG_GEMM_FLOPS = 5e7

_LIBS = []
_DEFAULT = [1]
_LOCK = threading.Lock()


def _libs():
    if not _LIBS:
        libs = []
        try:
            from threadpoolctl import ThreadpoolController
            libs = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
        except Exception:  # pragma: no cover - threadpoolctl missing or failing
            libs = []
        _DEFAULT[0] = max([c.get_num_threads() for c in libs] + [1])
        _LIBS.append(libs)
    return _LIBS[0]


def controllable() -> bool:
    """Whether numpy's BLAS thread count can be changed here."""
    return bool(_libs())


def default_threads() -> int:
    """numpy's BLAS thread count when the kernels first looked (the environment's setting)."""
    _libs()
    return _DEFAULT[0]


_ACTIVE = []       # the contexts inside which the program is now, from any thread, in entry order
_ORIGINAL = [()]   # the counts found when the first of them was entered


def set_default_threads(n) -> None:
    """numpy's BLAS on ``n`` threads from now on (the count big GEMMs get back)."""
    libs = _libs()
    with _LOCK:
        _DEFAULT[0] = max(1, int(n))
        if _ACTIVE:                     # restored when the open contexts end
            _ORIGINAL[0] = (_DEFAULT[0],) * len(libs)
        else:
            for c in libs:
                c.set_num_threads(_DEFAULT[0])


def _apply(libs, counts):
    for c, k in zip(libs, counts):
        if c.get_num_threads() != k:
            c.set_num_threads(k)


class blas_threads:
    """Context manager: numpy's BLAS on ``n`` threads inside. BLAS's count is one setting for
    the whole process while these contexts open and close in several threads (a layer's worker
    thread beside the caller), so they are kept on one list: leaving one sets the count of the
    latest still open, and leaving the last puts back what the first found."""
    __slots__ = ("n",)

    def __init__(self, n):
        self.n = max(1, int(n))

    def __enter__(self):
        libs = _libs()
        with _LOCK:
            if not _ACTIVE:
                _ORIGINAL[0] = tuple(c.get_num_threads() for c in libs)
            _ACTIVE.append(self)
            _apply(libs, (self.n,) * len(libs))
        return self

    def __exit__(self, *exc):
        libs = _libs()
        with _LOCK:
            for i in range(len(_ACTIVE) - 1, -1, -1):
                if _ACTIVE[i] is self:
                    del _ACTIVE[i]
                    break
            want = (_ACTIVE[-1].n,) * len(libs) if _ACTIVE else _ORIGINAL[0]
            # Only ever lower the count on the way out. Raising it wakes OpenBLAS's idle
            # workers, which then spin for ~100 ms against our own two threads: put back after
            # every convolution's one-thread chunks, it halved a 64->64 conv's speed on two
            # threads (342 -> 634 convs in 2 s once it stopped). A context that wants more
            # threads (threads_for, gemm) raises the count on entry.
            _apply(libs, tuple(min(w, c.get_num_threads()) for w, c in zip(want, libs)))


def single_thread() -> blas_threads:
    """One BLAS thread inside (for time loops and batch chunks)."""
    return blas_threads(1)


class _NoContext:
    __slots__ = ()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


_NO_CONTEXT = _NoContext()


def gemm(flops):
    """Context for one GEMM of ``flops`` outside the kernels (a linear layer, a matmul): for a
    big one, numpy's BLAS on the default count (the kernels' contexts leave it lowered); for a
    small one nothing changes."""
    if flops < BIG_GEMM_FLOPS:
        return _NO_CONTEXT
    libs = _libs()  # (also reads the default count, the first time)
    if _DEFAULT[0] < 2 or (not _ACTIVE and all(c.get_num_threads() == _DEFAULT[0]
                                               for c in libs)):
        return _NO_CONTEXT  # already there (e.g. an MLP, where no kernel lowered it)
    return threads_for(flops)


def lowered() -> bool:
    """Whether numpy's BLAS now runs on fewer threads than its default: the kernels' contexts
    lowered it, so tensorgrad's own threads have been at work."""
    libs = _libs()
    return any(c.get_num_threads() < _DEFAULT[0] for c in libs)


def threads_for(flops) -> blas_threads:
    """For one GEMM of ``flops`` floating-point operations: the default thread count when it is
    big (≥ ``BIG_GEMM_FLOPS``: e.g. the weight gradient Σ_t dG_tᵀ h_{t-1} of a T50 B32 H128
    LSTM, 210 MFLOP, 1.7x faster on two threads of an idle machine), one thread otherwise
    (and always inside ``solo``)."""
    big = flops >= BIG_GEMM_FLOPS and not getattr(_SOLO, "on", False)
    return blas_threads(default_threads() if big else 1)


_SOLO = threading.local()


class solo:
    """Context manager: the calling thread runs its work alone, on one core, while another
    thread of ours runs beside it (the two directions of a bidirectional recurrent layer):
    BLAS on one thread, ``threads_for`` never raises it, and ``is_solo()`` tells the ops not
    to hand work to the worker thread."""
    __slots__ = ("_prev", "_ctx")

    def __enter__(self):
        self._prev = getattr(_SOLO, "on", False)
        _SOLO.on = True
        self._ctx = single_thread()
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)
        _SOLO.on = self._prev


def is_solo() -> bool:
    """Whether the calling thread is inside ``solo``."""
    return getattr(_SOLO, "on", False)
