"""Convolution and pooling ops: PyTorch parity (forward, gradients, second derivatives),
gradcheck / gradgradcheck in float64, dtype handling, and errors that name the op and shapes."""
import numpy as np
import pytest
from _torch import lazy, torch
from conv_parity import check_forward_backward, check_second_order, conv_pair

import tensorgrad as tg
from tensorgrad.ops import conv as C
from tensorgrad.ops import _conv_impl as CI  # array-level knobs (chunk sizes, threads, Winograd)
from tensorgrad.ops import pool as P

TF = lazy("torch.nn.functional")
rng = np.random.default_rng(7)

# torch's functions by name (torch is imported on first use)
CONV = {1: (C.conv1d, "conv1d"), 2: (C.conv2d, "conv2d"), 3: (C.conv3d, "conv3d")}

# nd, N, C_in, C_out, spatial, kernel, stride, padding, dilation, bias
CONV_TABLE = [
    (2, 2, 3, 4, (8, 8), (3, 3), 1, 1, 1, True),
    (2, 2, 3, 4, (7, 9), (3, 2), (2, 1), (1, 0), 1, True),          # odd sizes, mixed stride
    (2, 1, 1, 2, (6, 6), (3, 3), 1, 0, 1, True),                    # batch 1, one channel
    (2, 2, 3, 2, (5, 4), (5, 4), 1, 0, 1, True),                    # kernel = input size
    (2, 2, 4, 3, (5, 5), (1, 1), 1, 0, 1, True),                    # 1x1
    (2, 2, 3, 2, (7, 7), (3, 3), 3, 2, 1, False),                   # stride 3, pad 2, no bias
    (2, 2, 2, 3, (9, 8), (3, 3), 1, 2, 2, True),                    # dilation
    (2, 2, 2, 3, (6, 7), (3, 3), 1, "same", 1, True),
    (2, 2, 2, 3, (6, 7), (4, 2), 1, "same", (1, 2), True),          # asymmetric 'same'
    (2, 2, 2, 3, (6, 7), (3, 3), 1, "valid", 1, True),
    (1, 2, 3, 4, (11,), (3,), 2, 1, 1, True),
    (1, 1, 1, 1, (5,), (5,), 1, 0, 1, False),
    (1, 3, 2, 2, (10,), (4,), 1, "same", 1, True),
    (3, 2, 2, 3, (4, 5, 6), (2, 3, 2), (1, 2, 1), (1, 0, 1), 1, True),
    (3, 1, 1, 2, (3, 3, 3), (3, 3, 3), 1, 0, 1, True),
    (2, 2, 4, 3, (7, 8), (1, 1), 2, 0, 1, True),                    # strided 1x1 (subsample)
    (1, 2, 3, 2, (10,), (1,), 3, 0, 1, False),
    (3, 2, 2, 3, (3, 5, 4), (1, 1, 1), (1, 2, 2), 0, 1, True),
]


def _ids(t):
    return "conv%dd-%s-k%s-s%s-p%s-d%s" % (t[0], t[4], t[5], t[6], t[7], t[8])


def _run_conv(case, dtype=np.float64, unbatched=False):
    nd, N, ci, co, sp, k, s, p, d, bias = case
    xs = (ci,) + sp if unbatched else (N, ci) + sp
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal((co, ci) + k).astype(dtype)
    b = rng.standard_normal(co).astype(dtype) if bias else None
    f, tf = CONV[nd]
    return conv_pair(torch, f, getattr(TF, tf), x, w, b, stride=s, padding=p, dilation=d)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", CONV_TABLE, ids=_ids)
def test_conv_matches_pytorch_forward_and_gradients(case):
    pair = _run_conv(case)
    y, ty = pair[0][3], pair[1][3]
    assert y.shape == tuple(ty.shape) and y.dtype == np.float64
    check_forward_backward(torch, pair, rng, 1e-7)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", CONV_TABLE[:2] + CONV_TABLE[7:9] + CONV_TABLE[10:11] + CONV_TABLE[13:14]
                         + CONV_TABLE[15:16],
                         ids=_ids)
def test_conv_second_derivatives_match_pytorch(case):
    check_second_order(torch, _run_conv(case), rng, 1e-7)


@pytest.mark.parametrize("nd,stride,padding,dilation", [(1, 2, 1, 1), (2, (2, 1), 1, 1),
                                                         (2, 1, "same", (2, 1)), (3, 1, (1, 0, 1), 1)])
def test_conv_gradcheck_and_gradgradcheck(nd, stride, padding, dilation):
    f = CONV[nd][0]
    sp = {1: (6,), 2: (5, 4), 3: (3, 4, 3)}[nd]
    k = {1: (3,), 2: (3, 2), 3: (2, 2, 2)}[nd]
    x = tg.tensor(rng.standard_normal((2, 2) + sp), requires_grad=True)
    w = tg.tensor(rng.standard_normal((2, 2) + k), requires_grad=True)
    b = tg.tensor(rng.standard_normal(2), requires_grad=True)

    def fn(x, w, b):
        return f(x, w, b, stride=stride, padding=padding, dilation=dilation)

    assert tg.gradcheck(fn, (x, w, b))
    assert tg.gradgradcheck(fn, (x, w, b))


def test_conv_unbatched_input_and_float32():
    case = (2, 1, 3, 4, (6, 5), (3, 3), 1, 1, 1, True)
    (X, W, B, y), (tx, tw, tb, ty) = _run_conv(case, unbatched=True)
    assert y.shape == tuple(ty.shape) == (4, 6, 5)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=1e-10)
    pair = _run_conv(CONV_TABLE[1], dtype=np.float32)
    assert pair[0][3].dtype == np.float32
    check_forward_backward(torch, pair, rng, 1e-5, rtol=1e-5, grad_tol=(1e-4, 1e-4))


def test_conv_non_contiguous_input_and_retain_graph():
    x = rng.standard_normal((2, 3, 6, 7))
    xt = tg.tensor(x.transpose(0, 1, 3, 2).copy().transpose(0, 1, 3, 2), requires_grad=True)
    w = tg.tensor(rng.standard_normal((2, 3, 3, 3)), requires_grad=True)
    y = C.conv2d(xt, w, padding=1)
    ref = TF.conv2d(torch.tensor(x), torch.tensor(w.detach().numpy()), padding=1).numpy()
    np.testing.assert_allclose(y.detach().numpy(), ref, atol=1e-10)
    s = (y * y).sum()
    s.backward(retain_graph=True)
    g1 = w.grad.detach().numpy().copy()
    s.backward()
    np.testing.assert_allclose(w.grad.detach().numpy(), 2 * g1, atol=1e-9)


def test_conv_error_messages():
    x = tg.tensor(np.zeros((2, 4, 6, 6)))
    w = tg.tensor(np.zeros((8, 3, 3, 3)))
    with pytest.raises(ValueError, match=r"conv2d: input has 4 channels, weight expects 3 .*"
                                         r"weight shape \(8, 3, 3, 3\)"):
        C.conv2d(x, w)
    with pytest.raises(ValueError, match=r"conv2d: expected a 4-D input .* got a 5-D input of "
                                         r"shape \(1, 2, 4, 6, 6\)"):
        C.conv2d(tg.tensor(np.zeros((1, 2, 4, 6, 6))), w)
    with pytest.raises(ValueError, match=r"conv2d: expected a 4-D input .*shape \(6, 6\)"):
        C.conv2d(tg.tensor(np.zeros((6, 6))), w)
    w3 = tg.tensor(np.zeros((8, 4, 7, 7)))
    with pytest.raises(RuntimeError, match=r"conv2d: kernel size \(7, 7\).*larger than the padded "
                                           r"input \(6, 6\)"):
        C.conv2d(x, w3)
    with pytest.raises(ValueError, match=r"conv2d: stride must be positive, got \(0, 0\)"):
        C.conv2d(x, tg.tensor(np.zeros((8, 4, 3, 3))), stride=0)
    with pytest.raises(ValueError, match=r"conv2d: weight must be 4-D"):
        C.conv2d(x, tg.tensor(np.zeros((8, 4, 3))))
    with pytest.raises(ValueError, match=r"conv2d: bias must have shape \(8,\)"):
        C.conv2d(x, tg.tensor(np.zeros((8, 4, 3, 3))), tg.tensor(np.zeros(4)))
    with pytest.raises(ValueError, match=r"conv1d: padding='same' is not supported for strided"):
        C.conv1d(tg.tensor(np.zeros((1, 1, 5))), tg.tensor(np.zeros((1, 1, 3))), stride=2,
                 padding="same")
    with pytest.raises(ValueError, match=r"conv3d: padding must be an int, a tuple, 'same' or 'valid'"):
        C.conv3d(tg.tensor(np.zeros((1, 1, 3, 3, 3))), tg.tensor(np.zeros((1, 1, 1, 1, 1))),
                 padding="full")


# ---- pooling ---------------------------------------------------------------------------------
POOL_TABLE = [  # (tg fn, torch fn, input shape, kwargs)
    (P.max_pool2d, "max_pool2d", (2, 3, 8, 8), dict(kernel_size=2)),
    (P.max_pool2d, "max_pool2d", (1, 1, 9, 7), dict(kernel_size=3, stride=2, padding=1)),
    (P.max_pool2d, "max_pool2d", (2, 2, 9, 7), dict(kernel_size=(3, 2), stride=1, dilation=2)),
    (P.max_pool2d, "max_pool2d", (2, 2, 7, 7), dict(kernel_size=2, ceil_mode=True)),
    (P.max_pool2d, "max_pool2d", (2, 2, 5, 4), dict(kernel_size=(5, 4))),
    (P.max_pool1d, "max_pool1d", (2, 3, 11), dict(kernel_size=3, stride=2, padding=1)),
    (P.max_pool3d, "max_pool3d", (2, 2, 4, 6, 5), dict(kernel_size=2)),
    (P.max_pool3d, "max_pool3d", (1, 2, 5, 5, 5), dict(kernel_size=3, stride=(1, 2, 2), padding=1)),
    (P.avg_pool2d, "avg_pool2d", (2, 3, 8, 8), dict(kernel_size=2)),
    (P.avg_pool2d, "avg_pool2d", (2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1)),
    (P.avg_pool2d, "avg_pool2d", (2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1,
                                                      count_include_pad=False, ceil_mode=True)),
    (P.avg_pool1d, "avg_pool1d", (2, 3, 10), dict(kernel_size=4, stride=3, padding=2)),
    (P.avg_pool2d, "avg_pool2d", (2, 3, 10, 11), dict(kernel_size=(3, 2), stride=(2, 3),
                                                        padding=1, count_include_pad=False)),
    (P.avg_pool3d, "avg_pool3d", (2, 2, 4, 6, 5), dict(kernel_size=(2, 3, 2), stride=1, padding=1)),
    (P.adaptive_avg_pool2d, "adaptive_avg_pool2d", (2, 3, 9, 7), dict(output_size=(4, 3))),
    (P.adaptive_avg_pool2d, "adaptive_avg_pool2d", (2, 3, 5, 5), dict(output_size=1)),
    (P.adaptive_avg_pool2d, "adaptive_avg_pool2d", (2, 3, 5, 6), dict(output_size=(None, 4))),
    (P.adaptive_avg_pool1d, "adaptive_avg_pool1d", (2, 3, 10), dict(output_size=3)),
    (P.adaptive_avg_pool3d, "adaptive_avg_pool3d", (1, 2, 5, 4, 6), dict(output_size=(2, 3, 4))),
]


@pytest.mark.parametrize("fn,tfn,shape,kw", POOL_TABLE,
                         ids=[f"{t[0].__name__}-{t[2]}-{t[3]}" for t in POOL_TABLE])
def test_pool_matches_pytorch(fn, tfn, shape, kw):
    tfn = getattr(TF, tfn)  # by name: torch is imported on first use
    x = rng.standard_normal(shape)
    X = tg.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    y, ty = fn(X, **kw), tfn(tx, **kw)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=0, atol=1e-12)
    g = rng.standard_normal(ty.shape)
    y.backward(tg.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(X.grad.detach().numpy(), tx.grad.numpy(), rtol=0, atol=1e-12)
    # second derivative through a non-linear use of the gradient
    X2 = tg.tensor(x, requires_grad=True)
    tx2 = torch.tensor(x, requires_grad=True)
    (gx,) = tg.grad((fn(X2, **kw) ** 2).sum(), (X2,), create_graph=True)
    (tgx,) = torch.autograd.grad((tfn(tx2, **kw) ** 2).sum(), (tx2,), create_graph=True)
    np.testing.assert_allclose(gx.detach().numpy(), tgx.detach().numpy(), atol=1e-12)
    (gx * gx).sum().backward()
    (tgx * tgx).sum().backward()
    np.testing.assert_allclose(X2.grad.detach().numpy(), tx2.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("shape,kw", [
    ((3, 4, 32, 32), dict(kernel_size=3, stride=2, padding=1)),
    ((2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False,
                        ceil_mode=True)),
    ((2, 3, 21), dict(kernel_size=3, stride=2, padding=1)),
    ((2, 2, 8, 8), dict(kernel_size=2)),
])
def test_avg_pool_float32_has_pytorchs_bits(shape, kw):
    # the 2-D/1-D kernels add each window's in-bounds cells in PyTorch's order (forward) and
    # each cell's shares in output order (backward), so float32 results are bit-identical
    fn, tfn = (P.avg_pool2d, TF.avg_pool2d) if len(shape) == 4 else (P.avg_pool1d, TF.avg_pool1d)
    x = rng.standard_normal(shape).astype(np.float32)
    X, tx = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = fn(X, **kw), tfn(tx, **kw)
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    g = rng.standard_normal(ty.shape).astype(np.float32)
    y.backward(tg.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_array_equal(X.grad.detach().numpy(), tx.grad.numpy())


def test_max_pool_gradient_goes_to_the_argmax_with_overlap_and_ties():
    x = np.array([[[[1.0, 1.0, 0.0], [3.0, 2.0, 3.0], [0.0, 3.0, 1.0]]]])
    X, tx = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, idx = P.max_pool2d(X, 2, stride=1, return_indices=True)
    ty, tidx = TF.max_pool2d(tx, 2, stride=1, return_indices=True)
    np.testing.assert_array_equal(idx.detach().numpy(), tidx.numpy())
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(X.grad.detach().numpy(), tx.grad.numpy())
    assert X.grad.detach().numpy().sum() == 4


@pytest.mark.parametrize("fn,kw", [(P.max_pool2d, dict(kernel_size=2, stride=1)),
                                   (P.max_pool1d, dict(kernel_size=3, stride=2, padding=1)),
                                   (P.max_pool3d, dict(kernel_size=2)),
                                   (P.avg_pool2d, dict(kernel_size=3, stride=2, padding=1)),
                                   (P.avg_pool3d, dict(kernel_size=2, stride=1)),
                                   (P.adaptive_avg_pool2d, dict(output_size=(2, 3)))])
def test_pool_gradcheck_and_gradgradcheck(fn, kw):
    nd = int(fn.__name__[-2])
    shape = {1: (2, 2, 7), 2: (1, 2, 5, 5), 3: (1, 1, 4, 4, 3)}[nd]
    # distinct values so the arg-max is stable under the finite-difference step
    x = tg.tensor(rng.permutation(np.prod(shape)).reshape(shape) / 10.0, requires_grad=True)
    w = tg.tensor(rng.standard_normal(shape))

    def f(x):
        return fn(x * w + x * x, **kw)

    assert tg.gradcheck(f, (x,))
    assert tg.gradgradcheck(f, (x,))


def test_pool_float32_unbatched_and_errors():
    x = rng.standard_normal((3, 8, 8)).astype(np.float32)
    y = P.max_pool2d(tg.tensor(x), 2)
    assert y.shape == (3, 4, 4) and y.dtype == np.float32
    np.testing.assert_array_equal(y.detach().numpy(), TF.max_pool2d(torch.tensor(x), 2).numpy())
    a = P.avg_pool2d(tg.tensor(x), 2)
    np.testing.assert_allclose(a.detach().numpy(), TF.avg_pool2d(torch.tensor(x), 2).numpy(),
                               rtol=1e-6, atol=1e-7)  # float32 sums in another order
    with pytest.raises(ValueError, match=r"max_pool2d: expected a 4-D input .*shape \(8,\)"):
        P.max_pool2d(tg.tensor(np.zeros(8)), 2)
    with pytest.raises(RuntimeError, match=r"max_pool2d: kernel size \(5, 5\) is larger than the "
                                           r"padded input \(4, 4\)"):
        P.max_pool2d(tg.tensor(np.zeros((1, 1, 4, 4))), 5)
    with pytest.raises(ValueError, match=r"avg_pool2d: stride must be positive, got \(0, 0\)"):
        P.avg_pool2d(tg.tensor(np.zeros((1, 1, 4, 4))), 2, stride=0)
    with pytest.raises(ValueError, match=r"max_pool1d: padding should be .* at most half"):
        P.max_pool1d(tg.tensor(np.zeros((1, 1, 8))), 2, padding=2)
    with pytest.raises(TypeError, match=r"avg_pool1d: input must be float32 or float64, got int64"):
        P.avg_pool1d(tg.tensor(np.zeros((1, 1, 8), np.int64)), 2)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("stride", [1, 2])
def test_conv_batch_chunks_and_threads_give_the_same_result(monkeypatch, threads, stride):
    """Small chunk budget: the batch is cut into several uneven chunks spread over threads."""
    monkeypatch.setattr(CI, "_CHUNK_BYTES", 2000)
    monkeypatch.setattr(CI, "_MIN_PARALLEL_BYTES", 0)
    old = C.get_num_threads()
    C.set_num_threads(threads)
    try:
        (X, W, B, y), (tx, tw, tb, ty) = _run_conv((2, 7, 3, 4, (6, 5), (3, 3), stride, 1, 1, True))
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=1e-10)
        # a different shape in between: the reused per-thread buffers must not leak state
        (_, _, _, y2), (_, _, _, ty2) = _run_conv((2, 5, 2, 3, (4, 7), (2, 3), stride, 2, 1, False))
        np.testing.assert_allclose(y2.detach().numpy(), ty2.detach().numpy(), atol=1e-10)
        g = rng.standard_normal(ty.shape)
        y.backward(tg.tensor(g))
        ty.backward(torch.tensor(g))
        for a, b in ((X.grad, tx.grad), (W.grad, tw.grad), (B.grad, tb.grad)):
            np.testing.assert_allclose(a.detach().numpy(), b.numpy(), atol=1e-10)
    finally:
        C.set_num_threads(old)


@pytest.mark.parametrize("blas", [True, False])
@pytest.mark.parametrize("case", ["im2col", "im2col stride 2", "winograd", "pointwise",
                                  "pointwise stride 2"])
def test_conv_chunk_kernels_float32_two_threads_with_and_without_blas(monkeypatch, blas, case):
    """The chunk loops run inside numba on both threads (the forward/backward chunk kernels of
    kernels/conv.py, its 1x1 ones, kernels/winograd.py): float32 through numpy's BLAS, and
    through the numba fallback loop where no CBLAS symbol is found, agree with torch in
    float64; several uneven chunks."""
    from tensorgrad.kernels import _cblas
    if not blas:
        monkeypatch.setattr(_cblas, "gemm_function", lambda dtype: None)
    monkeypatch.setattr(CI, "_CHUNK_BYTES", 900 if case.startswith("pointwise") else 2500)
    monkeypatch.setattr(CI, "_WINO_CHUNK_BYTES", 20000)  # one image a chunk
    monkeypatch.setattr(CI, "_MIN_PARALLEL_BYTES", 0)
    old = C.get_num_threads()
    C.set_num_threads(2)
    try:
        stride = 2 if case.endswith("stride 2") else 1
        C_, Co = (16, 17) if case == "winograd" else (3, 5)
        x = rng.standard_normal((7, C_, 9, 8))
        k = (1, 1) if case.startswith("pointwise") else (3, 3 if case == "winograd" else 2)
        pad = 0 if case.startswith("pointwise") else 1
        w = rng.standard_normal((Co, C_) + k) / C_
        b = rng.standard_normal(Co)
        geo = tg.ops.conv._geometry("conv2d", 2, x.shape, w.shape, stride, pad, 1)
        assert CI._use_winograd(geo, C_, Co) == (case == "winograd")
        assert CI._pointwise(geo) == case.startswith("pointwise")
        X, W, B = (tg.tensor(v.astype(np.float32), requires_grad=True) for v in (x, w, b))
        tx, tw, tb = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
        y = tg.nn.functional.conv2d(X, W, B, stride=stride, padding=pad)
        ty = torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=pad)
        assert y.dtype == tg.float32
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-4)
        g = rng.standard_normal(ty.shape)
        y.backward(tg.tensor(g.astype(np.float32)))
        ty.backward(torch.tensor(g))
        for a, t in ((X.grad, tx.grad), (W.grad, tw.grad), (B.grad, tb.grad)):
            np.testing.assert_allclose(a.numpy(), t.numpy(), rtol=1e-4, atol=1e-3)
    finally:
        C.set_num_threads(old)


@pytest.mark.parametrize("needs", [(True, True, True), (False, True, True), (True, False, True),
                                   (False, False, True), (True, True, False)])
@pytest.mark.parametrize("shape,stride,padding", [((1, 3, 7, 9), 1, 1), ((3, 3, 8, 5), 1, 0),
                                                   ((2, 2, 7, 6), 2, 1)])
def test_conv_bias_gradient_with_and_without_weight_gradient(monkeypatch, needs, shape, stride,
                                                             padding):
    """With the weight gradient the im2col backward takes the bias gradient out of the
    weight-gradient GEMM (a row of ones under the columns; the flat layout's garbage columns
    must stay out of it); without it, from a plain sum. Several uneven chunks."""
    monkeypatch.setattr(CI, "_CHUNK_BYTES", 3000)
    nx, nw, nb = needs
    x = rng.standard_normal(shape)
    w = rng.standard_normal((4, shape[1], 3, 3))
    b = rng.standard_normal(4)
    X, W, B = (tg.tensor(v, requires_grad=r) for v, r in ((x, nx), (w, nw), (b, nb)))
    tx, tw, tb = (torch.tensor(v, requires_grad=r) for v, r in ((x, nx), (w, nw), (b, nb)))
    y = tg.nn.functional.conv2d(X, W, B, stride=stride, padding=padding)
    ty = torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=padding)
    g = rng.standard_normal(ty.shape)
    y.backward(tg.tensor(g))
    ty.backward(torch.tensor(g))
    for a, t, r in ((X, tx, nx), (W, tw, nw), (B, tb, nb)):
        if r:
            ref = t.grad.numpy()
            np.testing.assert_allclose(a.grad.detach().numpy(), ref, rtol=1e-7, atol=1e-12 * np.abs(ref).max())
        else:
            assert a.grad is None


# ---- the course's worked numbers (§8) -----------------------------------------------------------
def test_notes_6x6_vertical_edge_example():
    image = np.array([[3, 0, 1, 2, 7, 4], [1, 5, 8, 9, 3, 1], [2, 7, 2, 5, 1, 3],
                      [0, 1, 3, 1, 7, 8], [4, 2, 1, 6, 2, 8], [2, 4, 5, 2, 3, 9]], np.float64)
    k = np.array([[1, 0, -1]] * 3, np.float64)
    out = C.conv2d(tg.tensor(image[None, None]), tg.tensor(k[None, None])).detach().numpy()[0, 0]
    np.testing.assert_array_equal(out, [[-5, -4, 0, 8], [-10, -2, 2, 3], [0, -2, -4, -7],
                                        [-3, -2, -3, -16]])


def test_notes_parameter_counts_and_shapes():
    nn = tg.nn
    assert sum(p.numel() for p in nn.Conv2d(3, 10, 3).parameters()) == 280   # §8.4.2
    net = [nn.Conv2d(3, 10, 3), nn.Conv2d(10, 20, 5, stride=2), nn.Conv2d(20, 40, 5, stride=2)]
    a = tg.zeros(1, 3, 39, 39)
    shapes = []
    for layer in net:                                                          # §8.5
        a = layer(a)
        shapes.append(tuple(a.shape[1:]))
    assert shapes == [(10, 37, 37), (20, 17, 17), (40, 7, 7)] and a.numel() == 1960
    # §8.7 LeNet-5-like table: (activation shape, activation size, parameters) per layer. The
    # notes print Conv1's shape as (28, 28, 8) / 6,272, a typo: 6 filters (456 = (5*5*3+1)*6
    # parameters) give 28x28x6 = 4,704, which is what Pool1's (14, 14, 6) implies.
    layers = [nn.Conv2d(3, 6, 5), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.MaxPool2d(2),
              nn.Flatten(), nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)]
    a = tg.zeros(1, 3, 32, 32)
    table = []
    for layer in layers:
        a = layer(a)
        if isinstance(layer, nn.Flatten):
            continue
        table.append((a.numel(), sum(p.numel() for p in layer.parameters())))
    assert table == [(4704, 456), (1176, 0), (1600, 2416), (400, 0), (120, 48120),
                     (84, 10164), (10, 850)]


# ---- layers ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_conv_modules_match_pytorch_with_loaded_weights(nd):
    tnn = torch.nn
    kw = dict(kernel_size=3, stride=2, padding=1)
    tcls = (tnn.Conv1d, tnn.Conv2d, tnn.Conv3d)[nd - 1]
    gcls = (tg.nn.Conv1d, tg.nn.Conv2d, tg.nn.Conv3d)[nd - 1]
    torch.manual_seed(0)
    tm, gm = tcls(2, 4, **kw).double(), gcls(2, 4, **kw, dtype=np.float64)
    assert list(gm.state_dict()) == list(tm.state_dict()) == ["weight", "bias"]
    gm.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = rng.standard_normal((2, 2) + (5,) * nd)
    X, tx = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = gm(X), tm(tx)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=1e-12)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(gm.weight.grad.detach().numpy(), tm.weight.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(X.grad.detach().numpy(), tx.grad.numpy(), atol=1e-10)


def test_conv_module_init_is_pytorch_default_and_seeded():
    tg.manual_seed(3)
    a = tg.nn.Conv2d(3, 8, 5)
    tg.manual_seed(3)
    b = tg.nn.Conv2d(3, 8, 5)
    np.testing.assert_array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())
    assert a.weight.dtype == np.float32 and a.weight.requires_grad
    bound = 1 / np.sqrt(3 * 5 * 5)            # kaiming_uniform(a=sqrt(5)) == U(-1/sqrt(fan_in), ..)
    assert np.abs(a.weight.detach().numpy()).max() <= bound and np.abs(a.bias.detach().numpy()).max() <= bound
    assert a.weight.detach().numpy().std() > 0.4 * bound  # spread over the interval, not all zeros
    assert tg.nn.Conv2d(3, 8, 5, bias=False).bias is None
    assert "Conv2d(3, 8, kernel_size=(5, 5), stride=(1, 1))" == repr(a)


def test_pool_modules():
    x = tg.tensor(rng.standard_normal((2, 3, 8, 8)))
    tx = torch.tensor(x.detach().numpy())
    tnn = torch.nn
    pairs = [(tg.nn.MaxPool2d(2), tnn.MaxPool2d(2)), (tg.nn.MaxPool2d(3, 2, 1), tnn.MaxPool2d(3, 2, 1)),
             (tg.nn.AvgPool2d(2), tnn.AvgPool2d(2)), (tg.nn.AvgPool2d(3, 1, 1, count_include_pad=False),
                                                      tnn.AvgPool2d(3, 1, 1, count_include_pad=False)),
             (tg.nn.AdaptiveAvgPool2d((2, 3)), tnn.AdaptiveAvgPool2d((2, 3))),
             (tg.nn.AdaptiveAvgPool2d(1), tnn.AdaptiveAvgPool2d(1))]
    for g, t in pairs:
        np.testing.assert_allclose(g(x).detach().numpy(), t(tx).numpy(), atol=1e-12)
        assert list(g.state_dict()) == []
    x1 = tg.tensor(rng.standard_normal((2, 3, 9)))
    np.testing.assert_allclose(tg.nn.MaxPool1d(3, 2)(x1).detach().numpy(), tnn.MaxPool1d(3, 2)(torch.tensor(x1.detach().numpy())).numpy())
    np.testing.assert_allclose(tg.nn.AvgPool1d(3)(x1).detach().numpy(), tnn.AvgPool1d(3)(torch.tensor(x1.detach().numpy())).numpy())
    x3 = tg.tensor(rng.standard_normal((1, 2, 4, 4, 4)))
    np.testing.assert_allclose(tg.nn.MaxPool3d(2)(x3).detach().numpy(), tnn.MaxPool3d(2)(torch.tensor(x3.detach().numpy())).numpy())
    np.testing.assert_allclose(tg.nn.AvgPool3d(2)(x3).detach().numpy(), tnn.AvgPool3d(2)(torch.tensor(x3.detach().numpy())).numpy())
    y, idx = tg.nn.MaxPool2d(2, return_indices=True)(x)
    assert idx.dtype == np.int64 and idx.shape == y.shape


@pytest.mark.parametrize("cin,cout,size", [(3, 4, 8), (16, 16, 12)])  # 16→16: the Winograd path
def test_empty_batch_flows_through_conv_and_pools(cin, cout, size):
    x = tg.tensor(np.zeros((0, cin, size, size)), requires_grad=True)
    w = tg.tensor(rng.standard_normal((cout, cin, 3, 3)), requires_grad=True)
    y = C.conv2d(x, w, padding=1)
    assert y.shape == (0, cout, size, size)
    y.sum().backward()
    assert x.grad.shape == (0, cin, size, size) and np.all(w.grad.detach().numpy() == 0)
    for f in (lambda t: P.max_pool2d(t, 2), lambda t: P.max_pool2d(t, 3, 1, 1),
              lambda t: P.avg_pool2d(t, 2), lambda t: P.adaptive_avg_pool2d(t, 2)):
        x.grad = None
        y = f(x)
        assert y.shape[:2] == (0, cin)
        y.sum().backward()
        assert x.grad.shape == (0, cin, size, size)


def test_mixed_dtypes_promote_to_float64_like_every_op():
    x32 = tg.randn(2, 3, 6, 6)
    w64 = tg.randn(4, 3, 3, 3, dtype=tg.float64, requires_grad=True)
    b32 = tg.randn(4, requires_grad=True)
    y = C.conv2d(x32, w64, b32, padding=1)
    assert y.dtype == np.float64
    y.sum().backward()
    assert w64.grad.dtype == np.float64 and b32.grad.dtype == np.float32
    ref = C.conv2d(x32.double(), w64.detach(), b32.detach().double(), padding=1)
    np.testing.assert_allclose(y.detach().numpy(), ref.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("kind", ["max 3x3/2 p1", "max 2x2/2", "avg 3x3/2 p1", "avg 2x2/2",
                                  "adaptive avg"])
def test_pooling_chunk_kernels_two_threads_match_torch(monkeypatch, kind):
    """The pooling kernels' chunk loops run inside numba, one call per thread, each with
    scratch of its own (kernels/pool.py): several uneven chunks on two threads give torch's
    float32 values and gradients bit for bit (sums in torch's order; adaptive pooling divides by
    one window count at a time, as torch does)."""
    monkeypatch.setattr(CI, "_CHUNK_BYTES", 3 * 4 * 9 * 11 * 4)  # 3 samples a chunk
    monkeypatch.setattr(CI, "_MIN_PARALLEL_BYTES", 0)
    old = C.get_num_threads()
    C.set_num_threads(2)
    try:
        x = rng.standard_normal((11, 4, 9, 11)).astype(np.float32)
        name, k = kind.split()[:2]
        args = {"3x3/2": (3, 2, 1), "2x2/2": (2, 2, 0)}.get(k)
        X, tx = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        if name == "adaptive":
            y, ty = P.adaptive_avg_pool2d(X, (4, 5)), torch.nn.functional.adaptive_avg_pool2d(tx, (4, 5))
        else:
            f = getattr(P, f"{name}_pool2d")
            y, ty = f(X, *args), getattr(torch.nn.functional, f"{name}_pool2d")(tx, *args)
        np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
        g = rng.standard_normal(ty.shape).astype(np.float32)
        y.backward(tg.tensor(g))
        ty.backward(torch.tensor(g))
        np.testing.assert_array_equal(X.grad.numpy(), tx.grad.numpy())
    finally:
        C.set_num_threads(old)
