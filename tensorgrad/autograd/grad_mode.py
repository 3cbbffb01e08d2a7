"""Grad modes, as PyTorch's: ``no_grad``, ``enable_grad``, ``set_grad_enabled``,
``inference_mode``.

One thread-local flag (``STATE.enabled``) is read by ``record`` on every op: True records,
False does not (``no_grad``), None does not and marks what it makes as inference tensors
(``inference_mode``).
"""
from __future__ import annotations

import functools

from .._state import STATE


class _FlagContext:
    """Sets one flag of ``STATE`` (``_flag``) to ``_mode`` inside a ``with`` block, or around
    each call of a function it decorates, and restores the previous value after."""

    _flag = "enabled"
    _mode = True

    def __enter__(self):
        self._prev = getattr(STATE, self._flag)
        setattr(STATE, self._flag, self._mode)
        return self

    def __exit__(self, *exc):
        setattr(STATE, self._flag, self._prev)
        return False

    def __call__(self, fn):
        flag, mode = self._flag, self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = getattr(STATE, flag)
            setattr(STATE, flag, mode)
            try:
                return fn(*args, **kwargs)
            finally:
                setattr(STATE, flag, prev)

        return wrapper


class _GradModeContext(_FlagContext):
    """Base for no_grad / enable_grad / inference_mode: a context manager and a decorator,
    with or without parentheses (``@tg.no_grad`` and ``@tg.no_grad()``)."""

    def __new__(cls, *args, **kwargs):
        self = super().__new__(cls)
        if len(args) == 1 and not kwargs and callable(args[0]) and \
                not isinstance(args[0], bool):
            self.__init__()
            return self(args[0])  # bare @no_grad
        return self

    def clone(self):
        return type(self)()


class no_grad(_GradModeContext):
    """Disable graph recording (context manager or decorator)."""

    _mode = False


class enable_grad(_GradModeContext):
    """Enable graph recording, e.g. inside a ``no_grad`` block."""

    _mode = True


class inference_mode(_GradModeContext):
    """``with tg.inference_mode():`` / ``@tg.inference_mode()``: like ``no_grad``, and tensors
    made inside are inference tensors (``x.is_inference()``). ``inference_mode(False)``
    changes nothing (as PyTorch's, it then leaves grad mode as it is)."""

    def __init__(self, mode: bool = True):
        self._mode = None if mode else True
        self._active = bool(mode)

    def __enter__(self):
        self._prev = STATE.enabled
        if self._active:
            STATE.enabled = None
        return self

    def __call__(self, fn):
        if not self._active:
            return fn
        return super().__call__(fn)

    def clone(self):
        return type(self)(self._active)


class set_grad_enabled(_GradModeContext):
    """``tg.set_grad_enabled(False)`` switches grad mode at once (as a function call);
    ``with tg.set_grad_enabled(mode):`` restores the previous mode on exit; as a decorator
    (``@tg.set_grad_enabled(False)``) it applies to each call only."""

    def __new__(cls, mode):
        return object.__new__(cls)

    def __init__(self, mode: bool):
        self._mode = bool(mode)
        self._prev = STATE.enabled
        STATE.enabled = self._mode

    def __enter__(self):
        return self

    def __call__(self, fn):
        STATE.enabled = self._prev  # a decorator changes nothing until the call
        return super().__call__(fn)

    def clone(self):
        return type(self)(self._mode)


def is_grad_enabled() -> bool:
    return bool(STATE.enabled)


def is_inference_mode_enabled() -> bool:
    return STATE.enabled is None
