"""Winograd F(2x2, 3x3) convolution path: the kernels against numpy references and as exact
adjoints of each other, and the conv2d op on the shapes that dispatch to it against PyTorch
(float64 forward, gradients, second derivatives) and against the im2col path."""
import numpy as np
import pytest
from _torch import lazy, torch
from conv_parity import check_forward_backward, check_second_order, conv_pair

import tensorgrad as tg
from tensorgrad.kernels import winograd as WK
from tensorgrad.ops import conv as C
from tensorgrad.ops import _conv_impl as CI  # array-level knobs (chunk sizes, threads, Winograd)

TF = lazy("torch.nn.functional")
rng = np.random.default_rng(11)

BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64)
AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64)


def _planes(rows, length, dtype):
    return np.full((rows, length + 5), np.nan, dtype=dtype)  # NaN: catches reads of unset cells


def _geom(m, C_, H, W, p):
    oh, ow = H + 2 * p - 2, W + 2 * p - 2
    th, tw, tq, Qi = WK.tiles(oh, ow)
    return oh, ow, th, tw, tq, Qi, C_ * m * Qi


def _correlate(x, w, p):
    """Direct 3x3 cross-correlation in numpy (float64 reference)."""
    N, C_, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    oh, ow = H + 2 * p - 2, W + 2 * p - 2
    out = np.zeros((N, w.shape[0], oh, ow))
    for i in range(3):
        for j in range(3):
            out += np.einsum("nchw,oc->nohw", xp[:, :, i:i + oh, j:j + ow], w[:, :, i, j])
    return out


# m, C, H, W, padding: odd sizes, batch 1, padding 0 / 1 / 2
GEOMS = [(2, 3, 8, 8, 1), (1, 2, 7, 9, 1), (2, 3, 5, 6, 0), (3, 2, 6, 5, 2), (1, 1, 3, 3, 0),
         (2, 2, 4, 7, 3)]


@pytest.mark.parametrize("geom", GEOMS)
def test_input_transform_matches_numpy_reference(geom):
    m, C_, H, W, p = geom
    oh, ow, th, tw, tq, Qi, L = _geom(m, C_, H, W, p)
    x = rng.standard_normal((m, C_, H, W))
    V = _planes(16, L, np.float64)
    work = _planes(8, WK.work_length(C_, m, th, tw), np.float64)
    WK.input_transform_into(x, V, work, p, p, th, tq)
    xp = np.pad(x, ((0, 0), (0, 0), (p, p + 4), (p, p + 4)))
    planes = V[:, :L].reshape(16, C_, th, m, tw)
    for n in range(m):
        for c in range(C_):
            for ty in range(th):
                for tx in range(tw):
                    d = xp[n, c, 2 * ty:2 * ty + 4, 2 * tx:2 * tx + 4]
                    ref = (BT @ d @ BT.T).reshape(16)
                    np.testing.assert_allclose(planes[:, c, ty, n, tx], ref, rtol=0, atol=1e-13)
    assert np.isfinite(V[:, :L]).all()


@pytest.mark.parametrize("geom", GEOMS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_full_pipeline_matches_direct_correlation(geom, dtype):
    m, C_, H, W, p = geom
    Co = 4
    oh, ow, th, tw, tq, Qi, L = _geom(m, C_, H, W, p)
    x = rng.standard_normal((m, C_, H, W)).astype(dtype)
    w = rng.standard_normal((Co, C_, 3, 3)).astype(dtype)
    b = rng.standard_normal(Co).astype(dtype)
    Lo = Co * m * Qi
    V, M = _planes(16, L, dtype), _planes(16, Lo, dtype)
    work = _planes(8, WK.work_length(max(C_, Co), m, th, tw), dtype)
    WK.input_transform_into(x, V, work, p, p, th, tq)
    T = m * Qi
    np.matmul(WK.weight_transform(w), V[:, :L].reshape(16, C_, T), out=M[:, :Lo].reshape(16, Co, T))
    out = np.empty((m, Co, oh, ow), dtype=dtype)
    WK.output_transform_into(M, out, b, work, th, tq)
    ref = _correlate(x.astype(np.float64), w.astype(np.float64), p) + b[:, None, None]
    tol = 1e-12 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(out, ref, rtol=0, atol=tol * max(1.0, np.abs(ref).max()))


@pytest.mark.parametrize("geom", GEOMS)
def test_input_and_output_adjoints_are_exact(geom):
    m, C_, H, W, p = geom
    oh, ow, th, tw, tq, Qi, L = _geom(m, C_, H, W, p)
    work = _planes(8, WK.work_length(C_, m, th, tw), np.float64)
    # <input_transform(x), V> == <x, input_adjoint(V)> for every V
    x = rng.standard_normal((m, C_, H, W))
    V = _planes(16, L, np.float64)
    WK.input_transform_into(x, V, work, p, p, th, tq)
    dV = rng.standard_normal((16, L + 5))
    lhs = np.vdot(V[:, :L], dV[:, :L])
    gx = np.empty_like(x)
    WK.input_adjoint_into(dV, gx, work, p, p, th, tq)  # overwrites dV
    assert np.isclose(lhs, np.vdot(x, gx), rtol=1e-12)
    # <output_transform(M), g> == <M, output_adjoint(g)> (no bias)
    Co = 3
    Lo = Co * m * Qi
    work = _planes(8, WK.work_length(Co, m, th, tw), np.float64)
    M = np.zeros((16, Lo + 5))
    M[:, :Lo] = rng.standard_normal((16, Lo))
    out = np.empty((m, Co, oh, ow))
    WK.output_transform_into(M, out, np.zeros(Co), work, th, tq)
    g = rng.standard_normal(out.shape)
    dM = _planes(16, Lo, np.float64)
    WK.output_adjoint_into(g, dM, work, th, tq)
    assert np.isclose(np.vdot(out, g), np.vdot(M[:, :Lo], dM[:, :Lo]), rtol=1e-12)
    # weight transform and its adjoint
    w = rng.standard_normal((Co, C_, 3, 3))
    dU = rng.standard_normal((16, Co, C_))
    assert np.isclose(np.vdot(WK.weight_transform(w), dU), np.vdot(w, WK.weight_adjoint(dU)),
                      rtol=1e-12)


# ---- the op ---------------------------------------------------------------------------------
# N, C_in, C_out, (H, W), padding, bias: all dispatch to the Winograd path
OP_CASES = [
    (2, 16, 16, (10, 10), 1, True),
    (1, 16, 17, (11, 13), 1, True),       # batch 1, odd sizes
    (2, 17, 16, (13, 12), 0, False),      # padding 0, no bias
    (3, 16, 16, (9, 10), 2, True),        # padding 2
    (2, 16, 16, (10, 12), "same", True),
]


def _op_ids(c):
    return "N%d-%d-%d-%dx%d-p%s" % (c[0], c[1], c[2], *c[3], c[4])


def _tensors(case, dtype=np.float64):
    N, ci, co, sp, p, bias = case
    x = rng.standard_normal((N, ci) + sp).astype(dtype)
    w = rng.standard_normal((co, ci, 3, 3)).astype(dtype)
    b = rng.standard_normal(co).astype(dtype) if bias else None
    return x, w, b


def _dispatches(x, w, p):
    geo = C._geometry("conv2d", 2, x.shape, w.shape, 1, p, 1)
    return CI._use_winograd(geo, x.shape[1], w.shape[0])


@pytest.mark.parametrize("case", OP_CASES, ids=_op_ids)
def test_winograd_conv_matches_pytorch_float64(case):
    x, w, b = _tensors(case)
    p = case[4]
    assert _dispatches(x, w, p)
    pair = conv_pair(torch, C.conv2d, TF.conv2d, x, w, b, padding=p)
    check_forward_backward(torch, pair, rng, 1e-9)
    (X, W, B, y), (tx, tw, tb, ty) = pair
    # relative parity (the values are sums of ~150-250 unit-variance terms)
    for a, r in ((y.detach().numpy(), ty.detach().numpy()), (X.grad.detach().numpy(), tx.grad.numpy()),
                 (W.grad.detach().numpy(), tw.grad.numpy())):
        assert np.abs(a - r).max() <= 1e-7 * np.abs(r).max()


@pytest.mark.parametrize("case", OP_CASES[:2] + OP_CASES[3:4], ids=_op_ids)
def test_winograd_second_derivatives_match_pytorch(case):
    x, w, b = _tensors(case)
    p = case[4]
    pair = conv_pair(torch, C.conv2d, TF.conv2d, x, w, b, padding=p)
    (X, W, B, y), (tx, tw, tb, ty) = pair
    g = rng.standard_normal(ty.shape)
    gx, gw = tg.grad(y, (X, W), grad_outputs=tg.tensor(g), create_graph=True)
    tgx, tgw = torch.autograd.grad(ty, (tx, tw), torch.tensor(g), create_graph=True)
    # the create_graph VJP (recorded ops) and the numpy fast VJP agree
    y2 = C.conv2d(X, W, B, padding=p)
    y2.backward(tg.tensor(g))
    np.testing.assert_allclose(gx.detach().numpy(), X.grad.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(gw.detach().numpy(), W.grad.detach().numpy(), rtol=0, atol=1e-12)
    X.grad = W.grad = None
    check_second_order(torch, pair, rng, 1e-8, grads=((gx, gw), (tgx, tgw)))


def test_winograd_gradcheck_and_gradgradcheck_small(monkeypatch):
    # lower the dispatch thresholds so that a shape small enough for finite differences runs
    # the Winograd path
    monkeypatch.setattr(CI, "_WINO_MIN_CHANNELS", 1)
    monkeypatch.setattr(CI, "_WINO_MIN_SIZE", 1)
    x = tg.tensor(rng.standard_normal((2, 2, 5, 6)), requires_grad=True)
    w = tg.tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    b = tg.tensor(rng.standard_normal(3), requires_grad=True)
    assert _dispatches(x.detach().numpy(), w.detach().numpy(), 1)
    for p in (0, 1):
        assert tg.gradcheck(lambda a, k, c: C.conv2d(a, k, c, padding=p), (x, w, b))
        assert tg.gradgradcheck(lambda a, k, c: C.conv2d(a, k, c, padding=p), (x, w, b))


@pytest.mark.parametrize("threads", [1, 2])
def test_winograd_chunks_threads_and_im2col_agree(monkeypatch, threads):
    x, w, b = _tensors((5, 16, 16, (11, 10), 1, True))
    g = rng.standard_normal((5, 16, 11, 10))

    def run():
        X, W, B = (tg.tensor(x, requires_grad=True), tg.tensor(w, requires_grad=True),
                   tg.tensor(b, requires_grad=True))
        C.conv2d(X, W, B, padding=1).backward(tg.tensor(g))
        y = C.conv2d(X, W, B, padding=1)
        return y.detach().numpy(), X.grad.detach().numpy(), W.grad.detach().numpy(), B.grad.detach().numpy()

    monkeypatch.setattr(CI, "_THREADS", [threads])
    ref = run()
    # small chunks: several chunks of 2 images and a last one of 1, shared across threads
    monkeypatch.setattr(CI, "_WINO_CHUNK_BYTES", 2 * 16 * 32 * 7 * 7 * 8)
    monkeypatch.setattr(CI, "_MIN_PARALLEL_BYTES", 0)
    small = run()
    monkeypatch.setattr(CI, "_WINO_MIN_CHANNELS", 10 ** 9)  # the im2col path
    im2col = run()
    for a, r, s in zip(ref, small, im2col):
        np.testing.assert_allclose(s, r, rtol=0, atol=1e-11)
        np.testing.assert_allclose(a, r, rtol=0, atol=1e-11)


def test_winograd_float32_and_dispatch_rules():
    # conv b of bench/bench_conv.py: float32 within the usual tolerances of torch
    x, w, b = _tensors((4, 16, 32, (16, 16), 1, True), np.float32)
    w *= 0.1
    assert _dispatches(x, w, 1)
    pair = conv_pair(torch, C.conv2d, TF.conv2d, x, w, b, padding=1)
    assert pair[0][3].dtype == np.float32
    check_forward_backward(torch, pair, rng, 1e-5, rtol=1e-5, grad_tol=(1e-4, 1e-3))
    # shapes that keep im2col: few channels (conv a), small outputs, stride/dilation, 5x5
    assert not _dispatches(np.zeros((1, 3, 32, 32)), np.zeros((16, 3, 3, 3)), 1)
    assert not _dispatches(np.zeros((1, 32, 3, 3)), np.zeros((64, 32, 3, 3)), 1)
    assert _dispatches(np.zeros((1, 32, 7, 7)), np.zeros((64, 32, 3, 3)), 1)
    assert not _dispatches(np.zeros((1, 16, 16, 16)), np.zeros((32, 16, 5, 5)), 2)
    geo = C._geometry("conv2d", 2, (1, 16, 16, 16), (32, 16, 3, 3), 2, 1, 1)
    assert not CI._use_winograd(geo, 16, 32)
    geo = C._geometry("conv2d", 2, (1, 16, 16, 16), (32, 16, 3, 3), 1, 2, 2)
    assert not CI._use_winograd(geo, 16, 32)
    geo = C._geometry("conv1d", 1, (1, 16, 16), (32, 16, 3), 1, 1, 1)
    assert CI._use_winograd(geo, 16, 32)  # 1-D: tests/test_conv_winograd1d.py


def test_winograd_unbatched_input():
    """(An empty batch on the Winograd path: test_conv_ops' empty-batch test, 16→16 channels.)"""
    w = tg.tensor(rng.standard_normal((16, 16, 3, 3)), requires_grad=True)
    xu = rng.standard_normal((16, 12, 11))
    y = C.conv2d(tg.tensor(xu), w, padding=1)
    ref = TF.conv2d(torch.tensor(xu), torch.tensor(w.detach().numpy()), padding=1).numpy()
    np.testing.assert_allclose(y.detach().numpy(), ref, rtol=0, atol=1e-9)
