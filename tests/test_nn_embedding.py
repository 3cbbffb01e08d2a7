"""Embedding and EmbeddingBag against PyTorch in float64: lookups, gradients with padding_idx,
max_norm (the in-place renorm), scale_grad_by_freq, bags (sum/mean/max, offsets, per-sample
weights); negative indices raise IndexError as in PyTorch."""
import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import nn
from tensorgrad.nn import functional as F


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


RNG = np.random.default_rng(0)
W = RNG.standard_normal((6, 3)) * 2
IDX = np.array([[1, 2, 4], [5, 4, 1], [0, 1, 1]])


def _both(torch, fn_g, fn_t, idx, **kw):
    gw, tw = tg.tensor(W, requires_grad=True), torch.tensor(W, requires_grad=True)
    kt = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    kg = {k: tg.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    g, t = fn_g(tg.tensor(idx), gw, **kg), fn_t(torch.tensor(idx), tw, **kt)
    np.testing.assert_allclose(g.detach().numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-14)
    u = RNG.standard_normal(tuple(t.shape))
    (g * tg.tensor(u)).sum().backward()
    (t * torch.tensor(u)).sum().backward()
    tgrad = tw.grad.to_dense() if tw.grad.is_sparse else tw.grad  # ours is always dense
    np.testing.assert_allclose(gw.grad.numpy(), tgrad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gw.detach().numpy(), tw.detach().numpy(), rtol=1e-12)  # renorm


@pytest.mark.parametrize("kw", [{}, dict(padding_idx=1), dict(padding_idx=-2),
                                dict(scale_grad_by_freq=True),
                                dict(scale_grad_by_freq=True, padding_idx=4),
                                dict(max_norm=1.5), dict(max_norm=1.0, norm_type=1.0),
                                dict(sparse=True)],
                         ids=["plain", "pad", "pad-neg", "freq", "freq-pad", "max_norm",
                              "max_norm-l1", "sparse"])
def test_embedding_matches_torch(torch, kw):
    _both(torch, F.embedding, torch.nn.functional.embedding, IDX, **kw)


def test_embedding_negative_index_raises_index_error_like_torch(torch):
    with pytest.raises(IndexError):
        torch.nn.functional.embedding(torch.tensor([-1]), torch.tensor(W))
    with pytest.raises(IndexError, match="negative indices are not allowed"):
        F.embedding(tg.tensor([0, -1]), tg.tensor(W))
    with pytest.raises(IndexError, match="out of range"):
        nn.Embedding(6, 3)(tg.tensor([6]))
    with pytest.raises(TypeError, match="integer"):
        F.embedding(tg.tensor([0.0, 1.0]), tg.tensor(W))
    with pytest.raises(TypeError, match=r"tg\.tensor"):
        F.embedding([0, 1], tg.tensor(W))  # a list, refused as torch refuses it
    # (tg) integer numpy arrays are accepted: tensorgrad.text passes its token ids so
    np.testing.assert_array_equal(F.embedding(np.array([2, 0]), tg.tensor(W)).numpy(), W[[2, 0]])


BAG_CASES = [dict(mode="sum"), dict(mode="mean"), dict(mode="max"),
             dict(mode="mean", padding_idx=2), dict(mode="max", padding_idx=4),
             dict(mode="sum", per_sample_weights=RNG.standard_normal(9)),
             dict(mode="mean", include_last_offset=True), dict(mode="sum", max_norm=1.0)]


@pytest.mark.parametrize("kw", BAG_CASES, ids=[str(i) for i in range(len(BAG_CASES))])
def test_embedding_bag_matches_torch(torch, kw):
    idx = np.array([1, 2, 4, 5, 4, 3, 2, 0, 1])
    off = np.array([0, 2, 2, 5] + ([9] if kw.get("include_last_offset") else []))
    _both(torch, lambda i, w, **k: F.embedding_bag(i, w, tg.tensor(off), **k),
          lambda i, w, **k: torch.nn.functional.embedding_bag(i, w, torch.tensor(off), **k),
          idx, **kw)
    if "per_sample_weights" not in kw:  # 2-D input: one bag per row
        _both(torch, F.embedding_bag, torch.nn.functional.embedding_bag, IDX, **kw)


def test_embedding_modules_match_torch(torch):
    for g, t in ((nn.Embedding(6, 3, padding_idx=2, max_norm=2.0, scale_grad_by_freq=True),
                  torch.nn.Embedding(6, 3, padding_idx=2, max_norm=2.0, scale_grad_by_freq=True)),
                 (nn.Embedding(6, 3, norm_type=1.0, sparse=True),
                  torch.nn.Embedding(6, 3, norm_type=1.0, sparse=True)),
                 (nn.EmbeddingBag(6, 3, mode="max", padding_idx=1),
                  torch.nn.EmbeddingBag(6, 3, mode="max", padding_idx=1))):
        assert repr(g) == repr(t)
        assert [k for k in g.state_dict()] == [k for k in t.state_dict()]
    assert not nn.Embedding(6, 3, padding_idx=2).weight.detach().numpy()[2].any()
    e = nn.Embedding.from_pretrained(tg.tensor(W), padding_idx=0, max_norm=3.0)
    assert not e.weight.requires_grad and e.max_norm == 3.0
    bag = nn.EmbeddingBag.from_pretrained(tg.tensor(W), mode="sum")
    np.testing.assert_allclose(bag(tg.tensor(IDX)).numpy(), W[IDX].sum(1), rtol=1e-12)
    assert nn.Embedding(3, 2, dtype=tg.float64).weight.dtype == np.float64


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("V,ishape,row", [(65, (32, 64), (64,)), (10, (500,), (3, 4)),
                                          (300, (20, 30), (2,)), (5, (40,), ())])
def test_row_gradient_kernel_sums_as_numpy_add_at(dtype, V, ishape, row):
    """The gradient of picking rows (an embedding, ``w[idx]``) goes through kernels/index.py
    for many rows: the same sums as ``np.add.at`` in the same order, bit for bit, negative
    indices included; a 1-D pick of scalars keeps numpy's path."""
    from tensorgrad.ops._xp import getitem_adjoint_np
    rng = np.random.default_rng(1)
    idx = rng.integers(-V, V, ishape)
    g = rng.standard_normal(ishape + row).astype(dtype)
    ref = np.zeros((V,) + row, dtype)
    np.add.at(ref, idx, g)
    np.testing.assert_array_equal(getitem_adjoint_np(g, (V,) + row, idx), ref)
    w = tg.tensor(rng.standard_normal((V,) + row).astype(dtype), requires_grad=True)
    w[tg.tensor(idx)].backward(tg.tensor(g))
    np.testing.assert_array_equal(w.grad.numpy(), ref)
