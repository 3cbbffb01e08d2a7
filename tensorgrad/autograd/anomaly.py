"""Anomaly mode: find the first op whose forward output or backward gradient is NaN/inf."""
from __future__ import annotations

from .grad_mode import STATE, _FlagContext


class detect_anomaly(_FlagContext):
    """Context manager / decorator. Inside it every op records where it was created; the first
    op producing NaN/inf (forward) or receiving/returning NaN/inf gradients (backward) raises a
    RuntimeError naming the op and its creation site."""

    _flag = "anomaly"

    def __init__(self, check_nan: bool = True):
        self.check_nan = self._mode = check_nan


def is_anomaly_enabled() -> bool:
    return STATE.anomaly


class set_detect_anomaly:
    """Anomaly mode on (``mode=True``) or off, from the call on — or only inside a ``with``
    block, after which the previous mode returns (PyTorch's ``set_detect_anomaly``)."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self._prev = STATE.anomaly
        STATE.anomaly = bool(mode) and check_nan

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        STATE.anomaly = self._prev
        return False
