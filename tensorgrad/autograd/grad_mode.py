"""Global autograd switches: grad mode and anomaly mode.

One module-level object holds the flags so the hot path (`record`) reads a single attribute.
"""
from __future__ import annotations

import functools


from .._state import STATE  # noqa: E402



class _GradModeContext:
    """Base for no_grad / enable_grad: usable as a context manager and as a decorator."""

    _mode = True

    def __new__(cls, func=None):
        self = super().__new__(cls)
        if func is not None and callable(func) and cls is not set_grad_enabled:
            return self(func)  # bare @no_grad / @enable_grad
        return self

    def __enter__(self):
        self._prev = STATE.enabled
        STATE.enabled = self._mode
        return self

    def __exit__(self, *exc):
        STATE.enabled = self._prev
        return False

    def __call__(self, fn):
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = STATE.enabled
            STATE.enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                STATE.enabled = prev

        return wrapper


class no_grad(_GradModeContext):
    """Disable graph recording (context manager or decorator)."""

    _mode = False


class enable_grad(_GradModeContext):
    """Enable graph recording, e.g. inside a ``no_grad`` block."""

    _mode = True


class set_grad_enabled(_GradModeContext):
    def __init__(self, mode: bool):
        self._mode = bool(mode)


def is_grad_enabled() -> bool:
    return STATE.enabled
