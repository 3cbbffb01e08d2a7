"""Winograd F(2, 3) for conv1d (kernels/winograd1d.py): the kernels against numpy references and
as exact adjoints of each other, and conv1d on the shapes that dispatch to it against PyTorch
(float64 forward, gradients, second derivatives), against the im2col path, across threads and
batch chunks, and in float32."""
import numpy as np
import pytest
from _torch import lazy, torch
from conv_parity import check_forward_backward, check_second_order, conv_pair

import tensorgrad as tg
from tensorgrad.kernels import winograd as WK
from tensorgrad.kernels import winograd1d as W1
from tensorgrad.ops import conv as C
from tensorgrad.ops import _conv_impl as CI

TF = lazy("torch.nn.functional")
rng = np.random.default_rng(12)

BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64)
AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64)

# m, C, L, padding: odd and even lengths, the shortest rows, padding 0-3
GEOMS = [(2, 3, 8, 1), (1, 2, 9, 1), (2, 3, 6, 0), (3, 2, 5, 2), (1, 1, 3, 0), (2, 2, 7, 3),
         (2, 4, 40, 1), (1, 2, 4, 0)]


def _tiles(L, p):
    ol = L + 2 * p - 2
    return ol, (ol + 1) // 2


def _nan_planes(length, dtype=np.float64):
    return np.full((4, length + 5), np.nan, dtype=dtype)  # NaN: catches reads of unset cells


@pytest.mark.parametrize("geom", GEOMS)
def test_input_transform_matches_numpy_reference(geom):
    m, C_, L, p = geom
    ol, tw = _tiles(L, p)
    x = rng.standard_normal((m, C_, 1, L))
    V = _nan_planes(C_ * m * tw)
    W1.input_transform_1d(x, V, p, tw)
    xp = np.pad(x[:, :, 0], ((0, 0), (0, 0), (p, p + 4)))
    planes = V[:, :C_ * m * tw].reshape(4, C_, m, tw)
    for n in range(m):
        for c in range(C_):
            for t in range(tw):
                ref = BT @ xp[n, c, 2 * t:2 * t + 4]
                np.testing.assert_allclose(planes[:, c, n, t], ref, rtol=0, atol=1e-13)
    assert np.isnan(V[:, C_ * m * tw:]).all()  # nothing written past the planes


@pytest.mark.parametrize("geom", GEOMS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_full_pipeline_matches_direct_correlation(geom, dtype):
    m, C_, L, p = geom
    Co = 3
    ol, tw = _tiles(L, p)
    x = rng.standard_normal((m, C_, 1, L)).astype(dtype)
    w = rng.standard_normal((Co, C_, 3)).astype(dtype)
    b = rng.standard_normal(Co).astype(dtype)
    T = m * tw
    V, M = _nan_planes(C_ * T, dtype), _nan_planes(Co * T, dtype)
    W1.input_transform_1d(x, V, p, tw)
    U = WK.weight_transform(w)
    assert U.shape == (4, Co, C_)
    np.matmul(U, V[:, :C_ * T].reshape(4, C_, T), out=M[:, :Co * T].reshape(4, Co, T))
    out = np.full((m, Co, 1, ol), np.nan, dtype=dtype)
    W1.output_transform_1d(M, out, b, tw)
    xp = np.pad(x[:, :, 0].astype(np.float64), ((0, 0), (0, 0), (p, p)))
    ref = sum(np.einsum("ncl,oc->nol", xp[:, :, k:k + ol], w[:, :, k].astype(np.float64))
              for k in range(3)) + b[:, None]
    tol = 1e-12 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(out[:, :, 0], ref, rtol=0, atol=tol * max(1.0, np.abs(ref).max()))


@pytest.mark.parametrize("geom", GEOMS)
def test_adjoints_are_exact(geom):
    m, C_, L, p = geom
    ol, tw = _tiles(L, p)
    n = C_ * m * tw
    # <input_transform(x), dV> == <x, input_adjoint(dV)>
    x = rng.standard_normal((m, C_, 1, L))
    V = _nan_planes(n)
    W1.input_transform_1d(x, V, p, tw)
    dV = rng.standard_normal((4, n + 5))
    gx = np.full_like(x, np.nan)
    W1.input_adjoint_1d(dV, gx, p, tw)
    assert np.isclose(np.vdot(V[:, :n], dV[:, :n]), np.vdot(x, gx), rtol=1e-12)
    # <output_transform(M), g> == <M, output_adjoint(g)> (no bias)
    Co = 3
    no = Co * m * tw
    M = np.zeros((4, no + 5))
    M[:, :no] = rng.standard_normal((4, no))
    out = np.empty((m, Co, 1, ol))
    W1.output_transform_1d(M, out, np.zeros(Co), tw)
    g = rng.standard_normal(out.shape)
    dM = _nan_planes(no)
    W1.output_adjoint_1d(g, dM, tw)
    assert np.isclose(np.vdot(out, g), np.vdot(M[:, :no], dM[:, :no]), rtol=1e-12)
    # the weight transform (Co, C, 3) -> (4, Co, C) and its adjoint
    w = rng.standard_normal((Co, C_, 3))
    dU = rng.standard_normal((4, Co, C_))
    dw = WK.weight_adjoint(dU)
    assert dw.shape == w.shape
    assert np.isclose(np.vdot(WK.weight_transform(w), dU), np.vdot(w, dw), rtol=1e-12)


# ---- conv1d ---------------------------------------------------------------------------------
# N, C_in, C_out, L, padding, bias: all dispatch to the Winograd path
OP_CASES = [
    (2, 16, 16, 20, 1, True),
    (1, 16, 17, 23, 1, True),     # batch 1, odd length
    (2, 17, 16, 12, 0, False),    # padding 0, no bias
    (3, 16, 16, 9, 2, True),      # padding 2
    (2, 16, 16, 10, "same", True),
]


def _ids(c):
    return "N%d-%d-%d-L%d-p%s" % c[:5]


def _tensors(case, dtype=np.float64):
    N, ci, co, L, p, bias = case
    x = rng.standard_normal((N, ci, L)).astype(dtype)
    w = rng.standard_normal((co, ci, 3)).astype(dtype)
    b = rng.standard_normal(co).astype(dtype) if bias else None
    return x, w, b


def _dispatches(x_shape, w_shape, stride=1, padding=1, dilation=1):
    geo = C._geometry("conv1d", 1, x_shape, w_shape, stride, padding, dilation)
    return CI._use_winograd(geo, x_shape[1], w_shape[0])


@pytest.mark.parametrize("case", OP_CASES, ids=_ids)
def test_conv1d_winograd_matches_pytorch_float64(case):
    x, w, b = _tensors(case)
    p = case[4]
    assert _dispatches(x.shape, w.shape, padding=p)
    pair = conv_pair(torch, C.conv1d, TF.conv1d, x, w, b, padding=p)
    check_forward_backward(torch, pair, rng, 1e-10)
    (X, W, B, y), (tx, tw, tb, ty) = pair
    for a, r in ((y.detach().numpy(), ty.detach().numpy()),
                 (X.grad.detach().numpy(), tx.grad.numpy()),
                 (W.grad.detach().numpy(), tw.grad.numpy())):
        assert np.abs(a - r).max() <= 1e-12 * np.abs(r).max()


@pytest.mark.parametrize("case", OP_CASES[:1] + OP_CASES[2:4], ids=_ids)
def test_conv1d_winograd_second_derivatives_match_pytorch(case):
    x, w, b = _tensors(case)
    p = case[4]
    pair = conv_pair(torch, C.conv1d, TF.conv1d, x, w, b, padding=p)
    check_second_order(torch, pair, rng, 1e-8)


def test_conv1d_winograd_gradcheck_and_gradgradcheck_small(monkeypatch):
    monkeypatch.setattr(CI, "_WINO_MIN_CHANNELS", 1)
    monkeypatch.setattr(CI, "_WINO_MIN_SIZE", 1)
    x = tg.tensor(rng.standard_normal((2, 2, 7)), requires_grad=True)
    w = tg.tensor(rng.standard_normal((3, 2, 3)), requires_grad=True)
    b = tg.tensor(rng.standard_normal(3), requires_grad=True)
    for p in (0, 1, 2):
        assert _dispatches((2, 2, 7), (3, 2, 3), padding=p)
        assert tg.gradcheck(lambda a, k, c: C.conv1d(a, k, c, padding=p), (x, w, b))
        assert tg.gradgradcheck(lambda a, k, c: C.conv1d(a, k, c, padding=p), (x, w, b))


@pytest.mark.parametrize("threads", [1, 2])
def test_conv1d_winograd_chunks_threads_and_im2col_agree(monkeypatch, threads):
    x, w, b = _tensors((7, 16, 24, 19, 1, True))
    g = rng.standard_normal((7, 24, 19))

    def run(need=(True, True, True)):
        X, W, B = (tg.tensor(a, requires_grad=r) for a, r in zip((x, w, b), need))
        y = C.conv1d(X, W, B, padding=1)
        y.backward(tg.tensor(g))
        return [y.detach().numpy()] + [t.grad.detach().numpy() for t in (X, W, B) if
                                       t.requires_grad]

    monkeypatch.setattr(CI, "_THREADS", [threads])
    ref = run()
    # small chunks: 2 samples each and a last one of 1, shared across threads
    monkeypatch.setattr(CI, "_WINO_CHUNK_BYTES_1D", 2 * 4 * (16 + 24) * 10 * 8)
    monkeypatch.setattr(CI, "_MIN_PARALLEL_BYTES", 0)
    small = run()
    only_w = run((False, True, True))  # the input gradient not wanted
    only_x = run((True, False, False))
    monkeypatch.setattr(CI, "_WINO_MIN_CHANNELS", 10 ** 9)  # the im2col path
    im2col = run()
    for a, s, r in zip(ref, small, im2col):
        np.testing.assert_allclose(s, r, rtol=0, atol=1e-11)
        np.testing.assert_allclose(a, r, rtol=0, atol=1e-11)
    for got, want in zip(only_w, [im2col[0]] + im2col[2:]):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-11)
    for got, want in zip(only_x, im2col[:2]):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-11)


def test_conv1d_winograd_float32_unbatched_and_dispatch_rules():
    # conv1d of bench/bench_conv.py (fewer samples): float32 within the usual tolerances
    x, w, b = _tensors((4, 64, 64, 128, 1, True), np.float32)
    w *= 0.1
    assert _dispatches(x.shape, w.shape)
    pair = conv_pair(torch, C.conv1d, TF.conv1d, x, w, b, padding=1)
    assert pair[0][3].dtype == np.float32
    check_forward_backward(torch, pair, rng, 1e-5, rtol=1e-5, grad_tol=(1e-4, 1e-3))
    # an unbatched (C, L) input
    xu = rng.standard_normal((16, 11))
    wu = rng.standard_normal((16, 16, 3))
    y = C.conv1d(tg.tensor(xu), tg.tensor(wu), padding=1)
    ref = TF.conv1d(torch.tensor(xu), torch.tensor(wu), padding=1).numpy()
    np.testing.assert_allclose(y.detach().numpy(), ref, rtol=0, atol=1e-12)
    # what keeps im2col: stride, dilation, other kernel sizes, few channels, short outputs
    assert not _dispatches((2, 16, 32), (16, 16, 3), stride=2)
    assert not _dispatches((2, 16, 32), (16, 16, 3), dilation=2)
    assert not _dispatches((2, 16, 32), (16, 16, 5))
    assert not _dispatches((2, 4, 32), (16, 4, 3))
    assert not _dispatches((2, 16, 2), (16, 16, 3))
