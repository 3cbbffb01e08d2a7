"""Kernel-level tests for tensorgrad.kernels.conv / .pool: plain numpy references and adjoint
identities <A x, y> = <x, A^T y>, in float32 and float64."""
import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

from tensorgrad.kernels import conv as KC
from tensorgrad.kernels import pool as KP
from tensorgrad.kernels._numba import cache_dir

rng = np.random.default_rng(1234)


# ---- plain numpy references ------------------------------------------------------------------
def im2col_ref(x, k, s, p, d):
    """Loop-by-loop im2col on (N, C, D, H, W) -> (C*KD*KH*KW, N*P), no numba."""
    N, C, D, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1]), (p[2], p[2])))
    o = [KC.out_size(n, kk, ss, pp, dd) for n, kk, ss, pp, dd in zip((D, H, W), k, s, p, d)]
    P = o[0] * o[1] * o[2]
    cols = np.zeros((C * k[0] * k[1] * k[2], N * P), x.dtype)
    for n, c, i, j, l in itertools.product(range(N), range(C), range(k[0]), range(k[1]), range(k[2])):
        row = ((c * k[0] + i) * k[1] + j) * k[2] + l
        patch = xp[n, c,
                   i * d[0]: i * d[0] + (o[0] - 1) * s[0] + 1: s[0],
                   j * d[1]: j * d[1] + (o[1] - 1) * s[1] + 1: s[1],
                   l * d[2]: l * d[2] + (o[2] - 1) * s[2] + 1: s[2]]
        cols[row, n * P:(n + 1) * P] = patch.reshape(-1)
    return cols


def pool_ref(x, k, s, p, d, mode, include_pad=True):
    N, C, D, H, W = x.shape
    o = [KC.out_size(n, kk, ss, pp, dd) for n, kk, ss, pp, dd in zip((D, H, W), k, s, p, d)]
    out = np.zeros((N, C, *o), x.dtype)
    idx = np.zeros((N, C, *o), np.int64)
    for n, c, a, b, e in itertools.product(range(N), range(C), *map(range, o)):
        vals, where = [], []
        for i, j, l in itertools.product(*map(range, k)):
            z, y, xx = a * s[0] - p[0] + i * d[0], b * s[1] - p[1] + j * d[1], e * s[2] - p[2] + l * d[2]
            if 0 <= z < D and 0 <= y < H and 0 <= xx < W:
                vals.append(x[n, c, z, y, xx])
                where.append((z * H + y) * W + xx)
        if mode == "max":
            m = int(np.argmax(vals))  # first maximum
            out[n, c, a, b, e] = vals[m]
            idx[n, c, a, b, e] = where[m]
        else:
            out[n, c, a, b, e] = sum(vals) / (k[0] * k[1] * k[2] if include_pad else len(vals))
    return out, idx


GEOMS = [  # (x shape N,C,D,H,W), kernel, stride, padding, dilation
    ((2, 3, 1, 1, 9), (1, 1, 3), (1, 1, 2), (0, 0, 1), (1, 1, 1)),        # 1-D
    ((2, 3, 1, 6, 7), (1, 3, 3), (1, 1, 1), (0, 1, 1), (1, 1, 1)),        # 2-D same
    ((1, 2, 1, 7, 8), (1, 3, 2), (1, 2, 3), (0, 1, 2), (1, 2, 1)),        # 2-D stride/dil
    ((2, 1, 1, 5, 5), (1, 5, 5), (1, 1, 1), (0, 0, 0), (1, 1, 1)),        # kernel = input
    ((2, 4, 1, 3, 3), (1, 1, 1), (1, 1, 1), (0, 0, 0), (1, 1, 1)),        # 1x1
    ((2, 2, 4, 5, 6), (2, 3, 2), (2, 1, 2), (1, 1, 0), (1, 1, 2)),        # 3-D
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geom", GEOMS)
def test_im2col_matches_reference_and_col2im_is_adjoint(geom, dtype):
    shape, k, s, p, d = geom
    x = rng.standard_normal(shape).astype(dtype)
    cols = KC.im2col(x, k, s, p, d)
    np.testing.assert_array_equal(cols, im2col_ref(x, k, s, p, d))
    y = rng.standard_normal(cols.shape).astype(dtype)
    back = KC.col2im(y, x.shape, k, s, p, d)
    assert back.dtype == dtype and back.shape == x.shape
    lhs = np.vdot(cols.astype(np.float64), y.astype(np.float64))
    rhs = np.vdot(x.astype(np.float64), back.astype(np.float64))
    tol = 1e-4 if dtype == np.float32 else 1e-11
    assert abs(lhs - rhs) <= tol * max(1.0, abs(lhs))
    # col2im is also the explicit transpose: compare with the reference's scatter
    ref = np.zeros(x.shape)
    eye_cols = im2col_ref(np.arange(x.size, dtype=np.float64).reshape(x.shape), k, s, p, d)
    pad_mask = im2col_ref(np.ones(x.shape), k, s, p, d) > 0
    np.add.at(ref.reshape(-1), eye_cols[pad_mask].astype(np.int64), y[pad_mask].astype(np.float64))
    np.testing.assert_allclose(back, ref, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5)


POOLS = [
    ((2, 3, 1, 1, 10), (1, 1, 3), (1, 1, 2), (0, 0, 1), (1, 1, 1)),
    ((2, 3, 1, 8, 8), (1, 2, 2), (1, 2, 2), (0, 0, 0), (1, 1, 1)),       # the 2x2/2 fast path
    ((2, 3, 1, 7, 9), (1, 3, 3), (1, 2, 1), (0, 1, 1), (1, 1, 1)),
    ((1, 2, 1, 9, 9), (1, 3, 2), (1, 1, 2), (0, 1, 1), (1, 2, 1)),
    ((1, 2, 5, 6, 4), (2, 2, 3), (1, 2, 1), (1, 0, 1), (1, 1, 1)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geom", POOLS)
def test_max_pool_reference_and_scatter_gather_adjoint(geom, dtype):
    shape, k, s, p, d = geom
    x = rng.standard_normal(shape).astype(dtype)
    ref, ref_idx = pool_ref(x, k, s, p, d, "max")
    out = np.empty(ref.shape, dtype)
    idx = np.empty(ref.shape, np.int64)
    if k == (1, 2, 2) and s == (1, 2, 2) and p == (0, 0, 0):
        KP.max_pool2d_k2s2_into(x, out, idx)
        out2, idx2 = np.empty_like(out), np.empty_like(idx)
        KP.max_pool_into(x, out2, idx2, *k, *s, *p, *d)
        np.testing.assert_array_equal(out2, ref)
        np.testing.assert_array_equal(idx2, ref_idx)
    else:
        KP.max_pool_into(x, out, idx, *k, *s, *p, *d)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(idx, ref_idx)
    # gather at the arg-max reproduces the output; scatter_add is its adjoint
    N, C = shape[:2]
    g_out = np.empty(idx.shape, dtype)
    KP.gather_into(x.reshape(N, C, -1), idx.reshape(N, C, -1), g_out.reshape(N, C, -1))
    np.testing.assert_array_equal(g_out, out)
    g = rng.standard_normal(idx.shape).astype(dtype)
    gx = np.empty(x.shape, dtype)
    KP.scatter_add_into(g.reshape(N, C, -1), idx.reshape(N, C, -1), gx.reshape(N, C, -1))
    assert np.isclose(np.vdot(g_out.astype(np.float64), g), np.vdot(x.astype(np.float64), gx),
                      rtol=1e-5)


def test_max_pool_ties_and_nan_follow_pytorch():
    x = np.zeros((1, 1, 1, 2, 4))
    x[0, 0, 0, 1, 3] = np.nan
    out = np.empty((1, 1, 1, 1, 2))
    idx = np.empty((1, 1, 1, 1, 2), np.int64)
    KP.max_pool_into(x, out, idx, 1, 2, 2, 1, 2, 2, 0, 0, 0, 1, 1, 1)
    assert out[0, 0, 0, 0, 0] == 0 and idx[0, 0, 0, 0, 0] == 0  # all tied: the first wins
    assert np.isnan(out[0, 0, 0, 0, 1]) and idx[0, 0, 0, 0, 1] == 7  # NaN propagates
    KP.max_pool2d_k2s2_into(x, out, idx)
    assert out[0, 0, 0, 0, 0] == 0 and idx[0, 0, 0, 0, 0] == 0
    assert np.isnan(out[0, 0, 0, 0, 1]) and idx[0, 0, 0, 0, 1] == 7


@pytest.mark.parametrize("include_pad", [True, False])
@pytest.mark.parametrize("geom", [g for g in POOLS if g[4] == (1, 1, 1)])
def test_avg_pool_reference_and_adjoint(geom, include_pad):
    shape, k, s, p, d = geom
    x = rng.standard_normal(shape)
    ref, _ = pool_ref(x, k, s, p, d, "avg", include_pad)
    out = np.empty(ref.shape)
    KP.avg_pool_into(x, out, *k, *s, *p, include_pad)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-14)
    g = rng.standard_normal(out.shape)
    gx = np.empty(x.shape)
    KP.avg_pool_adjoint_into(g, gx, *k, *s, *p, include_pad)
    assert np.isclose(np.vdot(out, g), np.vdot(x, gx), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2, 3, 1, 8, 8), (2, 3, 1, 7, 9)])
def test_avg_pool_k2s2_fast_path_equals_the_general_kernel(shape, dtype):
    """The 2x2/2 kernels give bit for bit what the general ones give (same summation order),
    uncovered rows/columns of an odd input included (zero gradient there)."""
    x = rng.standard_normal(shape).astype(dtype)
    o = shape[:3] + (shape[3] // 2, shape[4] // 2)
    out, out2 = np.empty(o, dtype), np.empty(o, dtype)
    KP.avg_pool2d_k2s2_into(x, out)
    KP.avg_pool_into(x, out2, 1, 2, 2, 1, 2, 2, 0, 0, 0, True)
    np.testing.assert_array_equal(out, out2)
    g = rng.standard_normal(o).astype(dtype)
    gx, gx2 = np.full(shape, np.nan, dtype), np.full(shape, np.nan, dtype)
    KP.avg_pool2d_k2s2_adjoint_into(g, gx)
    KP.avg_pool_adjoint_into(g, gx2, 1, 2, 2, 1, 2, 2, 0, 0, 0, True)
    np.testing.assert_array_equal(gx, gx2)
    if shape[3] % 2:
        assert not gx[..., -1, :].any() and not gx[..., :, -1].any()


@pytest.mark.parametrize("shape,osz", [((2, 3, 1, 7, 9), (1, 3, 4)), ((1, 2, 1, 5, 5), (1, 1, 1)),
                                       ((1, 2, 4, 6, 5), (3, 2, 5))])
def test_adaptive_avg_pool_reference_and_adjoint(shape, osz):
    x = rng.standard_normal(shape)
    out = np.empty(shape[:2] + osz)
    KP.adaptive_avg_pool_into(x, out)
    ref = np.empty_like(out)
    for a, b, e in itertools.product(*map(range, osz)):
        sl = [slice((o * n) // m, -(-((o + 1) * n) // m)) for o, n, m in zip((a, b, e), shape[2:], osz)]
        ref[:, :, a, b, e] = x[:, :, sl[0], sl[1], sl[2]].mean(axis=(2, 3, 4))
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    g = rng.standard_normal(out.shape)
    gx = np.empty(x.shape)
    KP.adaptive_avg_pool_adjoint_into(g, gx)
    assert np.isclose(np.vdot(out, g), np.vdot(x, gx), rtol=1e-12)


def test_cache_dir_falls_back_to_user_folder_when_package_is_read_only(tmp_path):
    """No NUMBA_CACHE_DIR and an unwritable kernels/__pycache__: the cache goes to
    $XDG_CACHE_HOME/tensorgrad/numba and numba.config.CACHE_DIR points there."""
    assert cache_dir() is not None
    code = (
        "import tensorgrad.kernels._numba as m, numba\n"
        "numba.config.CACHE_DIR = ''\n"
        "m._writable = lambda p, w=m._writable: False if p.endswith('__pycache__') else w(p)\n"
        "print(*m._choose_cache_dir())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == [str(tmp_path / "xdg" / "tensorgrad" / "numba"), "True"]


def test_second_process_starts_warm_from_the_cache(tmp_path):
    """A kernel compiled in one process is loaded from the on-disk cache by the next."""
    code = (
        "import numpy as np\n"
        "from tensorgrad.kernels import pool as K\n"
        "x = np.ones((1, 1, 4)); o = np.empty((1, 1, 2)); i = np.zeros((1, 1, 2), np.int64)\n"
        "K.gather_into(x, i, o)\n"
        "print(K._indexed.stats.cache_hits.total(), K._indexed.stats.cache_misses.total())\n"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, check=True).stdout.split() for _ in range(2)]
    assert runs[0] == ["0", "1"]  # cold: compiled (and written to the cache)
    assert runs[1] == ["1", "0"]  # warm: loaded, nothing compiled


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geom", GEOMS)
def test_phase_layout_im2col_holds_the_columns_and_col2im_is_adjoint(geom, dtype):
    """The phase layout (any stride) holds the reference columns at the real positions, col2im
    is its adjoint and writes every cell, and the layout moves are each other's adjoint."""
    from numpy.lib.stride_tricks import as_strided
    shape, k, s, p, d = geom
    N, C, D, H, W = shape
    x = rng.standard_normal(shape).astype(dtype)
    od, oh, ow = [KC.out_size(n, kk, ss, pp, dd) for n, kk, ss, pp, dd in zip((D, H, W), k, s, p, d)]
    geo = KC.Geometry(k, s, p, d, (od, oh, ow))
    Q, (s2, s3) = geo.Q, geo.grid
    cols = np.empty((C * k[0] * k[1] * k[2], N * Q), dtype)
    xp = np.zeros((C, geo.nph, geo.L), dtype)
    KC.im2col_into(x, cols, xp, *geo.args)
    it = cols.itemsize
    real = as_strided(cols, (cols.shape[0], N, od, oh, ow),
                      (cols.strides[0], Q * it, s2 * it, s3 * it, it))
    np.testing.assert_array_equal(real.reshape(cols.shape[0], -1), im2col_ref(x, k, s, p, d))
    y = rng.standard_normal(cols.shape).astype(dtype)
    gx = np.full_like(x, np.nan)  # every cell must be written (zero where no window reads)
    KC.col2im_into(y, gx, np.empty_like(xp), *geo.args)
    lhs, rhs = np.vdot(cols.astype(np.float64), y), np.vdot(x.astype(np.float64), gx)
    assert abs(lhs - rhs) <= (1e-4 if dtype == np.float32 else 1e-11) * max(1.0, abs(lhs))
    Co = 3
    yg = rng.standard_normal((Co, N * Q)).astype(dtype)
    out = np.empty((N, Co, od, oh, ow), dtype)
    KC.gemm_to_nchw_into(yg, out, np.zeros(Co, dtype), Q, s2, s3)
    np.testing.assert_array_equal(
        out, as_strided(yg, (Co, N, od, oh, ow), (yg.strides[0], Q * it, s2 * it, s3 * it, it))
        .transpose(1, 0, 2, 3, 4))
    g = rng.standard_normal(out.shape).astype(dtype)
    gt = np.zeros((Co, N * Q), dtype)
    KC.nchw_to_gemm_into(g, gt, Q, s2, s3)
    assert np.isclose(np.vdot(out.astype(np.float64), g), np.vdot(yg.astype(np.float64), gt), rtol=1e-5)
