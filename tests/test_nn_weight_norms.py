"""nn.utils.weight_norm / spectral_norm (and their removal) against PyTorch's: state_dict
keys, outputs, gradients to the new parameters, power-iteration buffers, in train and eval."""
import numpy as np
import pytest

import tensorgrad as tg
from _torch import torch

rng = np.random.default_rng(0)


def _load(m, tm):
    m.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_matches_torch(dim):
    tm = torch.nn.utils.weight_norm(torch.nn.Linear(3, 4).double(), dim=dim)
    m = tg.nn.utils.weight_norm(tg.nn.Linear(3, 4, dtype=tg.float64), dim=dim)
    assert list(m.state_dict()) == list(tm.state_dict())
    _load(m, tm)
    x, w = rng.standard_normal((5, 3)), rng.standard_normal((5, 4))
    y, ty = m(tg.tensor(x)), tm(torch.tensor(x))
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    (y * tg.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    for n in ("weight_g", "weight_v", "bias"):
        np.testing.assert_allclose(getattr(m, n).grad.numpy(), getattr(tm, n).grad.numpy(),
                                   rtol=1e-10, atol=1e-13, err_msg=n)
    tg.nn.utils.remove_weight_norm(m)
    torch.nn.utils.remove_weight_norm(tm)
    assert list(m.state_dict()) == list(tm.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(m.weight.detach().numpy(), tm.weight.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("kind", ["linear", "conv", "conv_transpose"])
def test_spectral_norm_matches_torch_in_train_and_eval(kind):
    make = {"linear": lambda M, **k: M.Linear(3, 4, **k),
            "conv": lambda M, **k: M.Conv2d(2, 3, 3, **k),
            "conv_transpose": lambda M, **k: M.ConvTranspose2d(2, 3, 3, **k)}[kind]
    tm = torch.nn.utils.spectral_norm(make(torch.nn).double(), n_power_iterations=2)
    m = tg.nn.utils.spectral_norm(make(tg.nn, dtype=tg.float64), n_power_iterations=2)
    assert list(m.state_dict()) == list(tm.state_dict())
    _load(m, tm)
    x = rng.standard_normal((2, 3) if kind == "linear" else (1, 2, 5, 5))
    for train in (True, True, False):
        m.train(train)
        tm.train(train)
        m.weight_orig.grad = tm.weight_orig.grad = None
        y, ty = m(tg.tensor(x)), tm(torch.tensor(x))
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)
        y.sum().backward()
        ty.sum().backward()
        np.testing.assert_allclose(m.weight_orig.grad.numpy(), tm.weight_orig.grad.numpy(),
                                   rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(m.weight_u.numpy(), tm.weight_u.numpy(), rtol=1e-10)
    sigma = np.linalg.svd(m.weight.detach().numpy().reshape(m.weight.shape[0], -1)
                          if kind != "conv_transpose" else
                          np.moveaxis(m.weight.detach().numpy(), 1, 0).reshape(3, -1),
                          compute_uv=False)[0]
    assert abs(sigma - 1) < 0.2                        # normalised to spectral norm ~1
    tg.nn.utils.remove_spectral_norm(m)
    assert "weight" in dict(m.named_parameters())


def test_weight_norm_errors():
    m = tg.nn.utils.weight_norm(tg.nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="two weight_norm hooks"):
        tg.nn.utils.weight_norm(m)
    with pytest.raises(ValueError, match="no parameter 'kernel'"):
        tg.nn.utils.weight_norm(tg.nn.Linear(2, 2), name="kernel")
    with pytest.raises(ValueError, match="spectral_norm of 'weight' not found"):
        tg.nn.utils.remove_spectral_norm(tg.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="n_power_iterations"):
        tg.nn.utils.spectral_norm(tg.nn.Linear(2, 2), n_power_iterations=0)
