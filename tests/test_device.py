"""Devices as in PyTorch, on the CPU only: the usual idioms work, any other device is refused
with one clear error."""
import numpy as np
import pytest

import tensorgrad as tg


def test_cpu_idioms():
    device = "cuda" if tg.cuda.is_available() else "cpu"
    assert device == "cpu" and not tg.accelerator.is_available()
    x = tg.ones(2, 3)
    assert x.device == tg.device("cpu") == "cpu" and str(x.device) == "cpu"
    assert repr(tg.device("cpu")) == "device(type='cpu')"
    assert tg.device("cpu:0").index == 0 and str(tg.device("cpu", 0)) == "cpu:0"
    assert x.to(device) is x and x.to(tg.device("cpu")) is x and x.cpu() is x
    assert x.to("cpu", tg.float64).dtype == tg.float64
    assert x.to(device="cpu", dtype=tg.float64).dtype == tg.float64
    assert x.to(tg.zeros(1, dtype=tg.float64)).dtype == tg.float64
    y = x.to("cpu", copy=True)
    assert y is not x and (y.numpy() == x.numpy()).all()


@pytest.mark.parametrize("call", [
    lambda x: x.to("cuda"), lambda x: x.to("cuda:0"), lambda x: x.cuda(),
    lambda x: x.to(device="mps"), lambda x: x.to(0), lambda x: tg.device("cuda"),
    lambda x: tg.device("mps"), lambda x: tg.cuda.current_device()])
def test_other_devices_raise_one_clear_error(call):
    with pytest.raises(RuntimeError, match="tensorgrad runs on the CPU only"):
        call(tg.ones(2))


def test_device_matches_torch_spelling():
    torch = pytest.importorskip("torch")
    for s in ("cpu", "cpu:0"):
        assert str(tg.device(s)) == str(torch.device(s))
        assert repr(tg.device(s)) == repr(torch.device(s))


def test_set_num_threads_as_torch():
    """tg.set_num_threads / get_num_threads: the ops' threads and numpy's BLAS threads."""
    from tensorgrad.kernels import _blas
    from tensorgrad.ops import _conv_impl
    old, old_blas = tg.get_num_threads(), _blas.default_threads()
    try:
        tg.set_num_threads(1)
        assert tg.get_num_threads() == 1
        x = tg.randn(4, 3, 9, 9)
        w = tg.randn(5, 3, 3, 3)
        one = tg.nn.functional.conv2d(x, w).numpy()
        tg.set_num_threads(2)
        np.testing.assert_allclose(tg.nn.functional.conv2d(x, w).numpy(), one, rtol=1e-6)
        with pytest.raises(ValueError, match="positive int"):
            tg.set_num_threads(0)
    finally:  # put back exactly what was there (the BLAS count may differ from the ops')
        _conv_impl.set_num_threads(old)
        _blas.set_default_threads(old_blas)
