"""F.triplet_margin_loss / nn.TripletMarginLoss, F.pairwise_distance and F.normalize against
PyTorch in float64 (values and gradients), plus gradcheck / gradgradcheck."""
import numpy as np
import pytest

import tensorgrad as tg
import tensorgrad.nn.functional as F

RNG = np.random.default_rng(7)
A, P, N = (RNG.normal(size=(6, 5)) for _ in range(3))


def _pair(arrays, torch):
    t = [tg.tensor(a.copy(), requires_grad=True) for a in arrays]
    r = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    return t, r


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_triplet_margin_loss_matches_torch(p, swap, reduction):
    torch = pytest.importorskip("torch")
    (a, pp, n), (ta, tp, tn) = _pair((A, P, N), torch)
    margin = 1.5  # large enough that some triplets are active, some not
    out = F.triplet_margin_loss(a, pp, n, margin=margin, p=p, swap=swap, reduction=reduction)
    ref = torch.nn.functional.triplet_margin_loss(ta, tp, tn, margin=margin, p=p, swap=swap,
                                                  reduction=reduction)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-14)
    w = RNG.normal(size=ref.shape)
    (out * tg.tensor(w)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    for x, tx in ((a, ta), (pp, tp), (n, tn)):
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.filterwarnings("ignore:size_average and reduce")
def test_triplet_module_unbatched_eps_and_legacy_reduction():
    torch = pytest.importorskip("torch")
    (a, pp, n), (ta, tp, tn) = _pair((A[0], P[0], N[0]), torch)
    out = tg.nn.TripletMarginLoss(margin=2.0, p=2, eps=1e-3, swap=True)(a, pp, n)
    ref = torch.nn.TripletMarginLoss(margin=2.0, p=2, eps=1e-3, swap=True)(ta, tp, tn)
    assert out.shape == () and abs(out.item() - ref.item()) < 1e-12
    out.backward()
    ref.backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-10)
    (a, pp, n), (ta, tp, tn) = _pair((A, P, N), torch)
    out = F.triplet_margin_loss(a, pp, n, reduce=False)
    ref = torch.nn.functional.triplet_margin_loss(ta, tp, tn, reduce=False)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
    assert repr(tg.nn.TripletMarginLoss()) == repr(torch.nn.TripletMarginLoss())  # as torch


def test_triplet_margin_loss_gradcheck_and_gradgradcheck():
    a, p, n = (tg.tensor(x[:3, :4].copy(), requires_grad=True) for x in (A, P, N))
    fn = lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=3.0, swap=True)  # noqa: E731
    assert tg.gradcheck(fn, (a, p, n))
    assert tg.gradgradcheck(fn, (a, p, n))


@pytest.mark.parametrize("p", [1.0, 2.0, 2.5])
def test_pairwise_distance_and_normalize_match_torch(p):
    torch = pytest.importorskip("torch")
    (x, y), (tx, ty) = _pair((A, P[:1]), torch)  # broadcasting (6, 5) against (1, 5)
    out = F.pairwise_distance(x, y, p=p, keepdim=True)
    ref = torch.nn.functional.pairwise_distance(tx, ty, p=p, keepdim=True)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-10)
    d = tg.nn.PairwiseDistance(p=p)(tg.tensor(A), tg.tensor(P))
    np.testing.assert_allclose(d.numpy(), torch.nn.PairwiseDistance(p=p)(
        torch.tensor(A), torch.tensor(P)).numpy(), rtol=1e-12)
    (x,), (tx,) = _pair((A,), torch)
    for dim in (0, 1):
        out = F.normalize(x, p=p, dim=dim)
        ref = torch.nn.functional.normalize(tx, p=p, dim=dim)
        np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
        w = RNG.normal(size=A.shape)
        (out * tg.tensor(w)).sum().backward()
        (ref * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    # a zero row stays zero (eps guards the division), as in PyTorch
    z = F.normalize(tg.tensor(np.zeros((2, 3))))
    assert np.all(z.numpy() == 0)


def test_triplet_bad_input():
    a = tg.tensor(A)
    with pytest.raises(ValueError, match="same number of dimensions.*anchor 2D.*negative 1D"):
        F.triplet_margin_loss(a, a, tg.tensor(N[0]))
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        tg.nn.TripletMarginLoss(margin=0)
    with pytest.raises(ValueError, match="reduction"):
        F.triplet_margin_loss(a, a, a, reduction="avg")
    with pytest.raises(ValueError, match="last dimensions must match"):
        F.pairwise_distance(a, tg.tensor(np.zeros((6, 4))))
    with pytest.raises(TypeError, match="anchor must be a Tensor"):
        F.triplet_margin_loss(A, a, a)
    with pytest.raises(TypeError, match="floating-point"):
        F.normalize(tg.tensor(np.arange(6).reshape(2, 3)))
