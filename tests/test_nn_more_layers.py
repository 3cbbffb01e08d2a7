"""Bilinear, LPPool1d/2d/3d, ChannelShuffle and gumbel_softmax: values and gradients against
PyTorch in float64 (second derivatives where PyTorch has them), module reprs and state_dict
keys as torch, gradcheck, errors."""
import numpy as np
import pytest

import tensorgrad as tg
import tensorgrad.nn as nn
import tensorgrad.nn.functional as F
from _torch import torch
from nn_parity import compare_with_torch

rng = np.random.default_rng(0)


@pytest.mark.parametrize("lead", [(5,), (2, 3), ()])
@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_matches_torch(lead, bias):
    a, b = rng.standard_normal(lead + (3,)), rng.standard_normal(lead + (4,))
    w, c = rng.standard_normal((2, 3, 4)), rng.standard_normal(2)
    if bias:
        compare_with_torch(torch, F.bilinear, torch.nn.functional.bilinear, [a, b, w, c])
    else:
        compare_with_torch(torch, F.bilinear, torch.nn.functional.bilinear, [a, b, w])


def test_bilinear_module_as_torch():
    m, tm = nn.Bilinear(3, 4, 2), torch.nn.Bilinear(3, 4, 2)
    assert list(m.state_dict()) == list(tm.state_dict()) and repr(m) == repr(tm)
    assert m.weight.shape == tuple(tm.weight.shape)
    assert np.abs(m.weight.detach().numpy()).max() <= 1 / np.sqrt(3)
    m.load_state_dict({k: tg.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    x1 = rng.standard_normal((5, 3)).astype(np.float32)
    x2 = rng.standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(m(tg.tensor(x1), tg.tensor(x2)).detach().numpy(),
                               tm(torch.tensor(x1), torch.tensor(x2)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(RuntimeError, match="bilinear"):
        m(tg.zeros(5, 4), tg.zeros(5, 4))


@pytest.mark.parametrize("nd,shape,p,k,s,ceil", [
    (1, (2, 3, 9), 2, 3, None, False), (1, (2, 3, 9), 3, 2, 2, True),
    (2, (2, 2, 7, 6), 2, 3, 2, False), (2, (2, 2, 7, 6), 1.5, (2, 3), None, True),
    (2, (2, 2, 6, 6), float("inf"), 2, None, False),
    (2, (1, 2, 6, 6), float("-inf"), 2, None, False),
    (3, (1, 2, 4, 5, 4), 2, 2, None, False)])
def test_lp_pool_matches_torch(nd, shape, p, k, s, ceil):
    x = np.abs(rng.standard_normal(shape)) + 0.1 if p not in (2,) else rng.standard_normal(shape)
    fn = getattr(F, f"lp_pool{nd}d")
    tfn = getattr(torch.nn.functional, f"lp_pool{nd}d")
    compare_with_torch(torch, lambda t: fn(t, p, k, s, ceil), lambda t: tfn(t, p, k, s, ceil),
                       [x], rtol=1e-9, atol=1e-10)
    m = getattr(nn, f"LPPool{nd}d")(p, k, s, ceil)
    assert repr(m) == repr(getattr(torch.nn, f"LPPool{nd}d")(p, k, s, ceil))


@pytest.mark.parametrize("shape,groups", [((2, 6, 3), 3), ((1, 8, 2, 2), 2),
                                          ((2, 4, 1, 2, 3), 4)])
def test_channel_shuffle_matches_torch(shape, groups):
    x = rng.standard_normal(shape)
    compare_with_torch(torch, lambda t: F.channel_shuffle(t, groups),
                       lambda t: torch.nn.functional.channel_shuffle(t, groups), [x])
    assert repr(nn.ChannelShuffle(groups)) == repr(torch.nn.ChannelShuffle(groups))
    with pytest.raises(RuntimeError, match="channel_shuffle"):
        F.channel_shuffle(tg.zeros(1, 5, 2), 2)


def test_gumbel_softmax_soft_hard_and_straight_through():
    tg.manual_seed(0)
    logits = tg.tensor(rng.standard_normal((4000, 3)), requires_grad=True)
    y = F.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(y.detach().numpy().sum(-1), 1.0, rtol=1e-12)
    hard = F.gumbel_softmax(logits, tau=0.5, hard=True)
    h = hard.detach().numpy()
    assert set(np.unique(h)) == {0.0, 1.0} and (h.sum(-1) == 1).all()
    # the argmax of logits + Gumbel noise is a draw from softmax(logits): frequencies agree
    z = np.exp(logits.detach().numpy())
    p = (z / z.sum(-1, keepdims=True)).mean(0)
    np.testing.assert_allclose(h.mean(0), p, atol=0.03)
    # straight-through: the hard sample's gradient is the soft sample's
    tg.manual_seed(1)
    soft = F.gumbel_softmax(logits, tau=0.7)
    tg.manual_seed(1)
    hard = F.gumbel_softmax(logits, tau=0.7, hard=True)
    w = tg.tensor(rng.standard_normal((4000, 3)))
    (gs,) = tg.grad((soft * w).sum(), logits)
    (gh,) = tg.grad((hard * w).sum(), logits)
    np.testing.assert_allclose(gh.numpy(), gs.numpy(), rtol=1e-12)
    with pytest.raises(TypeError, match="floating"):
        F.gumbel_softmax(tg.tensor([1, 2]))
