"""Shared test fixtures (kept minimal)."""
import pytest

from tensorgrad._state import STATE


@pytest.fixture(autouse=True)
def _autograd_state_is_restored():
    """Every test starts with grad mode on and anomaly mode off, and a test that leaves either
    switched (e.g. by failing inside a ``no_grad`` block it set by hand) can't leak it into the
    next one."""
    enabled, anomaly = STATE.enabled, STATE.anomaly
    STATE.enabled, STATE.anomaly = True, False
    yield
    STATE.enabled, STATE.anomaly = enabled, anomaly
