"""tg.vision.faces: FaceNet's triplet loss, mining on a hand-made batch, the P×K sampler, the
verification head, ROC/AUC, the recognition database and the loaders."""
import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import nn
from tensorgrad.vision import faces

RNG = np.random.default_rng(11)


# ---- the loss ------------------------------------------------------------------------------------
def _hand(a, p, n, margin):
    return np.maximum(((a - p) ** 2).sum(-1) - ((a - n) ** 2).sum(-1) + margin, 0.0)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_triplet_loss_equals_hand_formula_and_torch(reduction):
    torch = pytest.importorskip("torch")
    A, P, N = (RNG.normal(size=(7, 4)) * 0.5 for _ in range(3))
    ts = [tg.tensor(x.copy(), requires_grad=True) for x in (A, P, N)]
    rs = [torch.tensor(x.copy(), requires_grad=True) for x in (A, P, N)]
    out = faces.triplet_loss(*ts, margin=0.3, reduction=reduction)
    hand = _hand(A, P, N, 0.3)
    assert 0 < (hand > 0).sum() < hand.size            # some triplets active, some not
    want = {"mean": hand.mean(), "sum": hand.sum(), "none": hand}[reduction]
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-12, atol=1e-15)
    ra, rp, rn = rs
    ref = torch.clamp(((ra - rp) ** 2).sum(-1) - ((ra - rn) ** 2).sum(-1) + 0.3, min=0)
    ref = {"mean": ref.mean(), "sum": ref.sum(), "none": ref}[reduction]
    w = RNG.normal(size=ref.shape)
    (out * tg.tensor(w)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    for t, r in zip(ts, rs):
        np.testing.assert_allclose(t.grad.numpy(), r.grad.numpy(), rtol=1e-12, atol=1e-14)
    # the gradient by hand: d/da = 2(n − p), d/dp = 2(p − a), d/dn = 2(a − n) on active rows
    if reduction == "sum":
        act = (hand > 0)[:, None]
        np.testing.assert_allclose(ts[0].grad.numpy(), (2 * (N - P) * act) * w, rtol=1e-12)
        np.testing.assert_allclose(ts[1].grad.numpy(), (2 * (P - A) * act) * w, rtol=1e-12)
        np.testing.assert_allclose(ts[2].grad.numpy(), (2 * (A - N) * act) * w, rtol=1e-12)


def test_triplet_loss_gradcheck_single_triplet_and_errors():
    a, p, n = (tg.tensor(RNG.normal(size=5), requires_grad=True) for _ in range(3))
    assert faces.triplet_loss(a, p, n).shape == ()
    assert tg.gradcheck(lambda a, p, n: faces.triplet_loss(a, p, n, margin=5.0), (a, p, n))
    with pytest.raises(ValueError, match="same shape"):
        faces.triplet_loss(tg.zeros(3, 4), tg.zeros(3, 4), tg.zeros(2, 4))
    with pytest.raises(ValueError, match="margin"):
        faces.triplet_loss(a, p, n, margin=-1)
    with pytest.raises(TypeError, match="Tensor"):
        faces.triplet_loss(np.zeros(3), p, n)


# ---- mining on a hand-made batch -------------------------------------------------------------------
# five points on a line: identities 0, 0, 1, 1, 2 at x = 0, 1, 0.5, 3, 1.5
EMB = np.array([[0.0, 0], [1, 0], [0.5, 0], [3, 0], [1.5, 0]])
LAB = np.array([0, 0, 1, 1, 2])


def test_batch_hard_picks_farthest_positive_and_closest_negative():
    a, p, n = faces.batch_hard_triplets(EMB, LAB)
    assert a.tolist() == [0, 1, 2, 3]       # point 4 has no positive
    assert p.tolist() == [1, 0, 3, 2]
    assert n.tolist() == [2, 2, 0, 4]       # anchor 1: tie 2/4 at 0.25 -> lowest index


def test_semi_hard_picks_closest_negative_beyond_the_positive():
    a, p, n = faces.semi_hard_triplets(tg.tensor(EMB), LAB)
    got = {(i, j): k for i, j, k in zip(a.tolist(), p.tolist(), n.tolist())}
    # (0,1): d_ap = 1, negatives at 0.25, 9, 2.25 -> 2.25 (point 4)
    # (1,0): d_ap = 1, negatives at 0.25, 4, 0.25 -> 4 (point 3)
    # (2,3): d_ap = 6.25, every negative closer -> the farthest of them (point 4, d = 1)
    # (3,2): d_ap = 6.25, negatives at 9, 4, 2.25 -> 9 (point 0)
    assert got == {(0, 1): 4, (1, 0): 3, (2, 3): 4, (3, 2): 0}


def test_random_and_all_triplets_are_valid():
    a, p, n = faces.all_triplets(LAB)
    assert a.size == 12
    assert np.all(LAB[a] == LAB[p]) and np.all(a != p) and np.all(LAB[a] != LAB[n])
    gen = np.random.default_rng(0)
    seen = set()
    for _ in range(60):
        a, p, n = faces.random_triplets(LAB, generator=gen)
        assert sorted(zip(a.tolist(), p.tolist())) == [(0, 1), (1, 0), (2, 3), (3, 2)]
        assert np.all(LAB[a] != LAB[n])
        seen |= set(zip(a.tolist(), n.tolist()))
    assert seen == {(i, k) for i in range(4) for k in range(5) if LAB[i] != LAB[k]}
    with pytest.raises(ValueError, match="no valid triplet"):
        faces.batch_hard_triplets(EMB[:1], LAB[:1])
    with pytest.raises(ValueError, match="mining must be one of"):
        faces.mine_triplets(EMB, LAB, "hardest")


def test_batch_triplet_loss_uses_the_mined_rows():
    emb = tg.tensor(EMB, requires_grad=True)
    loss, info = faces.batch_triplet_loss(emb, LAB, margin=0.5, mining="batch-hard",
                                          return_info=True)
    hand = _hand(EMB[[0, 1, 2, 3]], EMB[[1, 0, 3, 2]], EMB[[2, 2, 0, 4]], 0.5)
    assert abs(loss.item() - hand.mean()) < 1e-12
    assert info == {"triplets": 4, "active": float(np.mean(hand > 0))}
    loss.backward()
    assert emb.grad.shape == EMB.shape and np.abs(emb.grad.numpy()).sum() > 0


def test_pk_sampler():
    labels = np.repeat(np.arange(6), [5, 5, 5, 5, 1, 3])
    s = faces.PKSampler(labels, p=3, k=4, num_batches=20, seed=0)
    assert len(s) == 20
    for idx in s:
        assert idx.shape == (12,)
        ids = labels[idx].reshape(3, 4)
        assert np.all(ids == ids[:, :1]) and len(set(ids[:, 0])) == 3
        assert 4 not in ids                      # one image only: never drawn
    with pytest.raises(ValueError, match="only 5 identities"):
        faces.PKSampler(labels, p=6, k=2)
    with pytest.raises(ValueError, match="k must be at least 2"):
        faces.PKSampler(labels, p=2, k=1)


# ---- encoder, head, training -----------------------------------------------------------------------
def _identity_encoder(dim=4, nonnegative=False):
    enc = faces.SiameseEncoder(nn.Flatten(), embedding_dim=dim, in_features=dim,
                               nonnegative=nonnegative)
    enc.load_state_dict({"embedding.weight": tg.eye(dim), "embedding.bias": tg.zeros(dim)})
    return enc


def test_siamese_encoder_normalises_and_shares_weights():
    enc = faces.SiameseEncoder(faces.small_convnet(1, (4, 8)), 6, input_shape=(1, 12, 12))
    x1, x2 = tg.randn(3, 1, 12, 12), tg.randn(3, 1, 12, 12)
    f1, f2 = enc.pair(x1, x2)
    np.testing.assert_allclose(np.linalg.norm(f1.detach().numpy(), axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(enc.distance(x1, x2).detach().numpy(),
                               ((f1 - f2) ** 2).sum(1).detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(faces.embed(enc, x1.numpy()), f1.detach().numpy(), rtol=1e-5)
    with pytest.raises(ValueError, match=r"expected images of shape \(N, 1, 12, 12\)"):
        enc(tg.randn(2, 1, 10, 10))


def test_verification_head_forms():
    f1 = np.abs(RNG.normal(size=(5, 4)))
    f2 = np.abs(RNG.normal(size=(5, 4)))
    for form, phi in (("abs", np.abs(f1 - f2)), ("chi2", (f1 - f2) ** 2 / (f1 + f2 + 1e-6))):
        head = faces.VerificationHead(4, form=form).double()
        w, b = head.linear.weight.detach().numpy(), head.linear.bias.detach().numpy()
        out = head(tg.tensor(f1), tg.tensor(f2))
        np.testing.assert_allclose(out.detach().numpy(), phi @ w[0] + b[0], rtol=1e-12)
    with pytest.raises(ValueError, match="non-negative"):
        faces.VerificationHead(4, "chi2")(tg.tensor(-f1), tg.tensor(f2))


def test_training_on_digits_separates_identities():
    X, y = tg.data.load_digits(images=True, as_numpy=True)
    X, y = X[:600], y[:600]
    tg.manual_seed(0)
    enc = faces.SiameseEncoder(faces.small_convnet(1, (8, 16)), 16, input_shape=(1, 8, 8))
    before = faces.evaluate_verification(faces.embed(enc, X), y, n_pairs=600)["auc"]
    hist = faces.train_triplet(enc, X, y, mining="semi-hard", p=5, k=6, steps=40, lr=3e-3,
                               progress=False)
    after = faces.evaluate_verification(faces.embed(enc, X), y, n_pairs=600)["auc"]
    assert len(hist["loss"]) == 40 and after > before + 0.05
    head = faces.VerificationHead(16, "abs")
    h = faces.train_verification(enc, head, X, y, steps=40, batch_size=64, lr=0.05,
                                 progress=False)
    assert np.mean(h["accuracy"][-10:]) > 0.7


# ---- metrics -----------------------------------------------------------------------------------------
def test_roc_and_auc_match_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    y = RNG.random(200) < 0.4
    s = np.round(RNG.normal(size=200) + y, 1)            # ties on purpose
    fpr, tpr, thr = faces.roc_curve(y, s)
    rf, rt, rth = metrics.roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, rf)
    np.testing.assert_allclose(tpr, rt)
    np.testing.assert_allclose(thr[1:], rth[1:])
    assert abs(faces.roc_auc_score(y, s) - metrics.roc_auc_score(y, s)) < 1e-12


def test_make_pairs_and_best_threshold():
    labels = np.repeat(np.arange(4), 5)
    i, j, same = faces.make_pairs(labels, 100, seed=0)
    assert same.sum() == 50 and np.all((labels[i] == labels[j]) == same) and np.all(i != j)
    d = np.array([0.1, 0.2, 0.3, 0.9, 1.0, 0.25])
    sm = np.array([1, 1, 1, 0, 0, 0], bool)
    tau, acc = faces.best_threshold(d, sm)
    assert abs(tau - 0.225) < 1e-12 and abs(acc - 5 / 6) < 1e-12
    assert faces.verification_accuracy(d, sm, tau) == acc


def test_make_pairs_hard_groups():
    # six identities in two groups; hard different pairs stay inside a group
    labels = np.repeat(np.arange(6), 3)
    groups = np.repeat([0, 0, 0, 1, 1, 1], 3)
    i, j, same = faces.make_pairs(labels, 200, seed=1, groups=groups)
    assert same.sum() == 100 and np.all((labels[i] == labels[j]) == same)
    assert np.all(groups[i] == groups[j])                # every pair within one group
    assert len({(a, b) for a, b in zip(labels[i][~same], labels[j][~same])}) > 6
    with pytest.raises(ValueError, match="same group"):
        faces.make_pairs(labels, 10, seed=0, groups=np.arange(18))
    with pytest.raises(ValueError, match="no group holds two identities"):
        faces.make_pairs(labels, 10, seed=0, groups=np.repeat(np.arange(6), 3))


# ---- the database ------------------------------------------------------------------------------------
def _img(v):
    return np.asarray(v, np.float32).reshape(1, 2, 2)


def test_database_verify_identify_calibrate_save_load(tmp_path):
    enc = _identity_encoder()
    db = faces.FaceDatabase(enc)
    db.add("ann", _img([1, 0, 0, 0]))
    db.add("bob", np.stack([_img([0, 1, 0, 0]), _img([0, 1, 0.2, 0])]))
    assert db.identities == ["ann", "bob"] and len(db) == 2
    val = np.stack([_img([1, 0.3, 0, 0]), _img([0.2, 1, 0, 0]), _img([0, 0, 0, 1])])
    tau = db.calibrate(val, ["ann", "bob", "stranger"])
    assert 0.09 < tau < 1.0
    assert db.identify(_img([1, 0.1, 0, 0])) == "ann"
    assert db.identify(_img([0, 0, 0, 1])) == faces.UNKNOWN
    assert db.identify(np.stack([_img([0, 1, 0.1, 0]), _img([0, 0, 1, 1])])) == ["bob", "unknown"]
    ok, d = db.verify(_img([0.1, 1, 0, 0]), "bob", return_distance=True)
    assert ok and d < tau
    assert not db.verify(_img([0.1, 1, 0, 0]), "ann")
    db.save(tmp_path / "db.safetensors")
    db2 = faces.FaceDatabase.load(tmp_path / "db.safetensors", enc)
    assert db2.identities == db.identities and db2.threshold == db.threshold
    np.testing.assert_allclose(db2.distances(val), db.distances(val))


def test_database_errors():
    enc = _identity_encoder()
    db = faces.FaceDatabase(enc, threshold=0.5)
    with pytest.raises(RuntimeError, match="database is empty"):
        db.identify(_img([1, 0, 0, 0]))
    db.add("ann", _img([1, 0, 0, 0]))
    with pytest.raises(ValueError, match=r"expected images of shape \(1, 2, 2\)"):
        db.identify(np.zeros((1, 3, 3), np.float32))
    with pytest.raises(KeyError, match="unknown identity 'zed'"):
        db.verify(_img([1, 0, 0, 0]), "zed")
    with pytest.raises(ValueError, match="can't be an identity"):
        db.add("unknown", _img([0, 1, 0, 0]))
    with pytest.raises(RuntimeError, match="no distance threshold"):
        d2 = faces.FaceDatabase(enc)
        d2.add("ann", _img([1, 0, 0, 0]))
        d2.verify(_img([1, 0, 0, 0]), "ann")


# ---- loaders -------------------------------------------------------------------------------------------
def test_image_folder_loader_and_identity_split(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    for name, shade in (("alice", 40), ("bob", 200)):
        (tmp_path / name).mkdir()
        for k in range(3):
            Image.fromarray(np.full((6, 5, 3), shade + k, np.uint8)).save(tmp_path / name / f"{k}.png")
    (tmp_path / "bob" / "notes.txt").write_text("not an image")
    X, y, names = faces.load_image_folder(tmp_path)
    assert X.shape == (6, 3, 6, 5) and names == ("alice", "bob") and y.tolist() == [0, 0, 0, 1, 1, 1]
    assert abs(X[0].max() - 40 / 255) < 1e-6
    Xg, _, _ = faces.load_image_folder(tmp_path, size=(4, 4), grayscale=True)
    assert Xg.shape == (6, 1, 4, 4)
    Image.fromarray(np.zeros((7, 5, 3), np.uint8)).save(tmp_path / "bob" / "odd.png")
    with pytest.raises(ValueError, match="share one size"):
        faces.load_image_folder(tmp_path)
    split = faces.load_identities("digits", held_out=(8, 9))
    assert set(np.unique(split.test_labels)) == {8, 9}
    assert not np.isin(split.train_labels, [8, 9]).any()
    with pytest.raises(ValueError, match="have no images"):
        faces.identity_split(X[:3], y[:3], held_out=[5])


def test_instance_identities_photos():
    d = faces.instance_identities("digits", n_train=30, n_test=10, views=4, seed=3)
    assert d.train_images.shape == (120, 1, 8, 8) and d.test_images.shape == (40, 1, 8, 8)
    assert d.train_labels.tolist() == np.repeat(np.arange(30), 4).tolist()
    assert d.test_labels.tolist() == np.repeat(np.arange(30, 40), 4).tolist()
    assert len(d.names) == 40 and d.names[31].endswith("#t1")
    assert 0 <= d.train_images.min() and d.train_images.max() <= 1
    X, c = tg.data.load_digits(images=True, as_numpy=True)
    assert d.train_classes.tolist() == np.repeat(c[:30], 4).tolist()
    assert d.test_classes.tolist() == np.repeat(c[-10:], 4).tolist()
    assert d.names[0] == f"{c[0]} #0"
    # the photos of one item differ from each other, yet resemble their item more than others
    ph = d.train_images.reshape(30, 4, -1)
    assert np.abs(ph[:, 0] - ph[:, 1]).mean() > 0.01
    dist = ((ph.reshape(120, 1, -1) - X[:30].reshape(1, 30, -1)) ** 2).sum(-1)
    own = dist[np.arange(120), np.repeat(np.arange(30), 4)]
    assert own.mean() < 0.75 * dist.mean()                 # closer to its item than on average
    assert (dist.argmin(1) == np.repeat(np.arange(30), 4)).mean() > 0.3     # chance: 1/30
    state = tg.random.get_rng_state().numpy()
    again = faces.instance_identities("digits", n_train=30, n_test=10, views=4, seed=3)
    np.testing.assert_array_equal(again.train_images, d.train_images)     # seeded
    np.testing.assert_array_equal(tg.random.get_rng_state().numpy(), state)   # state kept
    with pytest.raises(ValueError, match="views must be an integer >= 2"):
        faces.instance_identities("digits", views=1)
    with pytest.raises(ValueError, match="digits has 1797 images"):
        faces.instance_identities("digits", n_train=1500, n_test=500)
    with pytest.raises(ValueError, match="source must be"):
        faces.instance_identities("faces")
