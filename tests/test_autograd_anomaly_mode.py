"""tg.autograd.set_detect_anomaly: a switch from the call on, or a context that restores."""
import numpy as np
import pytest

import tensorgrad as tg


def test_set_detect_anomaly_switch_and_context():
    assert not tg.autograd.is_anomaly_enabled()
    try:
        tg.autograd.set_detect_anomaly(True)
        assert tg.autograd.is_anomaly_enabled()
        x = tg.tensor([0.0], dtype=tg.float64, requires_grad=True)
        with np.errstate(divide="ignore"), pytest.raises(RuntimeError, match="NaN/inf"):
            tg.log(x)
    finally:
        tg.autograd.set_detect_anomaly(False)
    assert not tg.autograd.is_anomaly_enabled()
    with tg.autograd.set_detect_anomaly(True):
        assert tg.autograd.is_anomaly_enabled()
    assert not tg.autograd.is_anomaly_enabled()
