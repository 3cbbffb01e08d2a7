"""F.affine_grid and F.grid_sample against PyTorch in float64 (values and gradients with
respect to input, grid and theta) for every mode, padding mode and align_corners, 2-D and 3-D;
gradcheck; errors."""
import warnings

import numpy as np
import pytest

import tensorgrad as tg
import tensorgrad.nn.functional as F
from _torch import torch
from nn_parity import compare_with_torch

rng = np.random.default_rng(0)


@pytest.mark.parametrize("align", [False, True])
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 3, 1, 4), (2, 1, 3, 4, 5)])
def test_affine_grid_matches_torch(align, size):
    nd = len(size) - 2
    theta = rng.standard_normal((size[0], nd, nd + 1))
    compare_with_torch(torch, lambda t: F.affine_grid(t, size, align_corners=align),
                       lambda t: torch.nn.functional.affine_grid(t, size, align_corners=align),
                       [theta])


@pytest.mark.parametrize("nd", [2, 3])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align", [False, True])
def test_grid_sample_matches_torch(nd, mode, padding_mode, align):
    xs, gs = ((2, 3, 5, 6), (2, 4, 3, 2)) if nd == 2 else ((2, 2, 4, 5, 3), (2, 3, 4, 2, 3))
    x, grid = rng.standard_normal(xs), rng.uniform(-1.6, 1.6, gs)  # some positions outside
    compare_with_torch(
        torch, lambda a, g: F.grid_sample(a, g, mode, padding_mode, align),
        lambda a, g: torch.nn.functional.grid_sample(a, g, mode, padding_mode, align),
        [x, grid], second=False, grad_inputs=[0, 1] if mode == "bilinear" else [0])


def test_spatial_transformer_chain_matches_torch():
    """theta -> affine_grid -> grid_sample, differentiated with respect to theta and input."""
    x, theta = rng.standard_normal((2, 3, 6, 7)), rng.standard_normal((2, 2, 3)) * 0.5

    def fn(F_, a, t):
        return F_.grid_sample(a, F_.affine_grid(t, (2, 3, 4, 4), align_corners=False),
                              align_corners=False)
    compare_with_torch(torch, lambda a, t: fn(F, a, t),
                       lambda a, t: fn(torch.nn.functional, a, t), [x, theta], second=False)


def test_grid_sample_gradcheck_and_second_derivatives():
    x = tg.tensor(rng.standard_normal((1, 2, 4, 5)), requires_grad=True)
    g = tg.tensor(rng.uniform(-0.9, 0.9, (1, 3, 2, 2)), requires_grad=True)
    for pm in ("zeros", "border", "reflection"):
        assert tg.autograd.gradcheck(
            lambda a, b: F.grid_sample(a, b, padding_mode=pm, align_corners=True), (x, g))
    assert tg.autograd.gradgradcheck(lambda a, b: F.grid_sample(a, b, align_corners=False),
                                     (x, g))


def test_align_corners_default_warns_as_torch():
    with pytest.warns(UserWarning, match="align_corners"):
        F.affine_grid(tg.zeros(1, 2, 3), (1, 1, 2, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.grid_sample(tg.zeros(1, 1, 2, 2), tg.zeros(1, 1, 1, 2), align_corners=False)


@pytest.mark.parametrize("call,exc,msg", [
    (lambda: F.grid_sample(tg.zeros(1, 1, 2, 2), tg.zeros(1, 1, 1, 3), align_corners=False),
     RuntimeError, "grid"),
    (lambda: F.grid_sample(tg.zeros(1, 1, 2, 2), tg.zeros(1, 1, 1, 2), mode="cubic",
                           align_corners=False), ValueError, "mode"),
    (lambda: F.grid_sample(tg.zeros(1, 1, 2, 2), tg.zeros(1, 1, 1, 2), mode="bicubic",
                           align_corners=False), NotImplementedError, "bicubic"),
    (lambda: F.grid_sample(tg.zeros(1, 1, 2, 2), tg.zeros(1, 1, 1, 2), padding_mode="wrap",
                           align_corners=False), ValueError, "padding_mode"),
    (lambda: F.affine_grid(tg.zeros(2, 2, 3), (1, 1, 2, 2), align_corners=False),
     ValueError, "affine matrices"),
    (lambda: F.affine_grid(tg.zeros(1, 2, 3), (1, 2), align_corners=False),
     NotImplementedError, "4D and 5D"),
    (lambda: F.grid_sample(np.zeros((1, 1, 2, 2)), tg.zeros(1, 1, 1, 2), align_corners=False),
     TypeError, "tg.tensor"),
])
def test_sampling_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()
