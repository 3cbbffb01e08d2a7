"""Datasets, DataLoader, splits, Normalizer and the offline dataset loaders."""
import os

import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import data as D


def test_tensor_dataset_and_errors():
    X = tg.tensor(np.arange(20.0).reshape(10, 2))
    y = np.arange(10)
    ds = D.TensorDataset(X, y)
    assert len(ds) == 10
    x3, y3 = ds[3]
    assert x3.data.tolist() == [6.0, 7.0] and int(y3.item()) == 3
    with pytest.raises(ValueError, match=r"size mismatch.*\[10, 9\]"):
        D.TensorDataset(X, np.arange(9))
    with pytest.raises(ValueError, match="at least one"):
        D.TensorDataset()
    with pytest.raises(ValueError, match="0-dimensional"):
        D.TensorDataset(tg.tensor(1.0))


@pytest.mark.parametrize("drop_last", [False, True])
def test_loader_batches_cover_dataset(drop_last):
    X = np.arange(23 * 3).reshape(23, 3).astype(np.float32)
    y = np.arange(23)
    loader = D.DataLoader(D.TensorDataset(X, y), batch_size=5, drop_last=drop_last)
    batches = list(loader)
    assert len(batches) == len(loader) == (4 if drop_last else 5)
    sizes = [len(b[1]) for b in batches]
    assert sizes == ([5] * 4 if drop_last else [5, 5, 5, 5, 3])
    got = np.concatenate([b[1].data for b in batches])
    np.testing.assert_array_equal(got, y[:sum(sizes)])  # in order without shuffle
    assert isinstance(batches[0][0], tg.Tensor) and batches[0][0].shape == (5, 3)


def test_loader_shuffle_is_seeded():
    ds = D.TensorDataset(np.arange(50))
    a = [b[0].data.tolist() for b in D.DataLoader(ds, batch_size=7, shuffle=True, seed=3)]
    b = [b[0].data.tolist() for b in D.DataLoader(ds, batch_size=7, shuffle=True, seed=3)]
    assert a == b
    flat = sorted(sum(a, []))
    assert flat == list(range(50)) and sum(a, []) != list(range(50))
    # global generator: tg.manual_seed fixes the order; epochs differ
    tg.manual_seed(1)
    loader = D.DataLoader(ds, batch_size=50, shuffle=True)
    e1, e2 = [next(iter(loader))[0].data.tolist() for _ in range(2)]
    tg.manual_seed(1)
    assert next(iter(loader))[0].data.tolist() == e1 and e1 != e2
    # private generator state round trip
    l1 = D.DataLoader(ds, batch_size=50, shuffle=True, seed=5)
    next(iter(l1))
    st = l1.state_dict()
    l2 = D.DataLoader(ds, batch_size=50, shuffle=True, seed=99)
    l2.load_state_dict(st)
    assert next(iter(l1))[0].data.tolist() == next(iter(l2))[0].data.tolist()


def test_custom_dataset_and_collate():
    class Squares(D.Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return np.array([i, i * i], dtype=np.float32), i % 2

    batches = list(D.DataLoader(Squares(), batch_size=4))
    assert batches[0][0].shape == (4, 2) and batches[0][1].data.tolist() == [0, 1, 0, 1]
    assert batches[1][0].data.tolist() == [[4, 16], [5, 25]]
    lists = list(D.DataLoader(Squares(), batch_size=3, collate_fn=lambda ex: len(ex)))
    assert lists == [3, 3]
    sub = D.Subset(Squares(), [5, 0])
    assert sub[0][1] == 1 and len(sub) == 2
    with pytest.raises(ValueError, match="batch_size"):
        D.DataLoader(Squares(), batch_size=0)
    with pytest.raises(TypeError, match="__len__"):
        D.DataLoader(object())
    with pytest.raises(TypeError, match="seed="):
        D.DataLoader(Squares(), generator=3)
    g = np.random.default_rng(0)
    order = [b[1].data.tolist() for b in D.DataLoader(Squares(), batch_size=6, shuffle=True,
                                                        generator=g)]
    assert order == [np.random.default_rng(0).permutation(6).__mod__(2).tolist()]
    with pytest.raises(TypeError, match="don't know how to batch"):
        D.default_collate([object(), object()])


def test_train_dev_test_split_sizes_and_disjoint():
    X = np.arange(1000).reshape(1000, 1)
    y = np.arange(1000) % 7
    (Xtr, ytr), (Xd, yd), (Xte, yte) = D.train_dev_test_split(X, y, seed=0)
    assert (len(Xtr), len(Xd), len(Xte)) == (980, 10, 10)  # the course's 98/1/1
    ids = np.concatenate([Xtr[:, 0], Xd[:, 0], Xte[:, 0]])
    assert sorted(ids.tolist()) == list(range(1000))
    np.testing.assert_array_equal(ytr, Xtr[:, 0] % 7)  # rows stay paired
    again = D.train_dev_test_split(X, y, seed=0)
    np.testing.assert_array_equal(again[1][0], Xd)
    # tensors stay tensors; a single input comes back bare
    tr, dv, te = D.train_dev_test_split(tg.tensor(X), fractions=(0.6, 0.2, 0.2), seed=1)
    assert isinstance(tr, tg.Tensor) and tr.shape == (600, 1) and dv.shape == (200, 1)
    with pytest.raises(ValueError, match="add up to 1"):
        D.train_dev_test_split(X, fractions=(0.5, 0.2, 0.2))
    with pytest.raises(ValueError, match="different numbers of examples"):
        D.train_dev_test_split(X, y[:-1])
    with pytest.raises(ValueError, match="too few"):
        D.train_dev_test_split(np.arange(2), fractions=(0.5, 0.25, 0.25))


def test_stratified_split_keeps_proportions():
    y = np.array([0] * 900 + [1] * 90 + [2] * 10)
    X = np.arange(1000)
    (_, ytr), (_, yd), (_, yte) = D.train_dev_test_split(X, y, fractions=(0.8, 0.1, 0.1),
                                                         seed=0, stratify=y)
    for part, n in ((ytr, 800), (yd, 100), (yte, 100)):
        counts = np.bincount(part, minlength=3)
        expected = np.array([0.9, 0.09, 0.01]) * n
        assert np.all(np.abs(counts - expected) <= 1), (counts, expected)


def test_dataset_split_and_train_dev_split():
    ds = D.TensorDataset(np.arange(100))
    tr, dv, te = D.train_dev_test_split(ds, fractions=(0.8, 0.1, 0.1), seed=0)
    assert isinstance(tr, D.Subset) and (len(tr), len(dv), len(te)) == (80, 10, 10)
    batch = next(iter(D.DataLoader(dv, batch_size=10)))[0].data
    assert sorted(batch.tolist()) == sorted(int(dv[i][0].item()) for i in range(10))
    Xtr, Xtd = D.train_dev_split(np.arange(200), train_dev_fraction=0.1, seed=0)
    assert len(Xtr) == 180 and len(Xtd) == 20 and not set(Xtr) & set(Xtd)


def test_mismatched_split_recipe():
    web = (np.zeros((2000, 2)), np.zeros(2000, dtype=int))
    app = (np.ones((100, 2)), np.ones(100, dtype=int))
    parts = D.mismatched_split(web, app, target_in_train=0.5, train_dev_fraction=0.05, seed=0)
    # dev and test come only from the target distribution; train mixes both
    assert parts["dev"][1].tolist() == [1] * 25 and parts["test"][1].tolist() == [1] * 25
    n_train = len(parts["train"][1]) + len(parts["train_dev"][1])
    assert n_train == 2050
    assert 0 < parts["train"][1].mean() < 0.1
    with pytest.raises(ValueError, match="field"):
        D.mismatched_split(web, app[:1])


@pytest.mark.parametrize("scale", ["std", "variance", None])
def test_normalizer(scale):
    rng = np.random.default_rng(0)
    Xtr = rng.normal(3.0, 5.0, size=(500, 4)).astype(np.float32)
    Xtr[:, 3] = 7.0  # a constant feature is left unscaled
    Xdev = rng.normal(3.0, 5.0, size=(50, 4)).astype(np.float32)
    n = D.Normalizer(scale=scale)
    Z = n.fit_transform(Xtr)
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-5)
    mu = Xtr.astype(np.float64).mean(0)
    var = Xtr.astype(np.float64).var(0)
    div = {"std": np.sqrt(var), "variance": var, None: np.ones(4)}[scale]
    div[3] = 1.0
    # dev data uses the training statistics, unchanged
    np.testing.assert_allclose(n.transform(Xdev), (Xdev - mu) / div, rtol=1e-5, atol=1e-5)
    if scale == "std":
        np.testing.assert_allclose(Z[:, :3].std(0), 1, rtol=1e-5)
    np.testing.assert_allclose(n.inverse_transform(Z), Xtr, rtol=1e-5, atol=1e-4)
    T = n.transform(tg.tensor(Xdev))
    assert isinstance(T, tg.Tensor)
    m = D.Normalizer().load_state_dict(n.state_dict())
    np.testing.assert_array_equal(m.transform(Xdev), n.transform(Xdev))


def test_normalizer_errors_and_channels():
    with pytest.raises(RuntimeError, match="fit"):
        D.Normalizer().transform(np.ones((2, 2)))
    n = D.Normalizer().fit(np.ones((5, 3)))
    with pytest.raises(ValueError, match="shape"):
        n.transform(np.ones((5, 4)))
    with pytest.raises(ValueError, match="scale"):
        D.Normalizer(scale="minmax")
    imgs = np.random.default_rng(0).normal(2, 3, size=(10, 3, 4, 4))
    z = D.Normalizer(axis=(0, 2, 3)).fit_transform(imgs)
    np.testing.assert_allclose(z.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=(0, 2, 3)), 1, rtol=1e-12)


def test_sklearn_loaders():
    X, y = D.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32 and y.dtype == np.int64
    assert float(X.data.max()) == 1.0 and sorted(set(y.data.tolist())) == list(range(10))
    Xi, _ = D.load_digits(images=True, as_numpy=True)
    assert Xi.shape == (1797, 1, 8, 8) and isinstance(Xi, np.ndarray)
    Xb, yb = D.load_breast_cancer()
    assert Xb.shape == (569, 30) and set(yb.data.tolist()) == {0, 1}


_FASHION = os.path.isdir("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(not _FASHION, reason="Debian package dataset-fashion-mnist not installed "
                                         "(apt-get install dataset-fashion-mnist)")
def test_fashion_mnist_from_debian_package():
    X, y = D.load_fashion_mnist(split="test", n=500)
    assert X.shape == (500, 1, 28, 28) and X.dtype == np.float32
    assert 0.0 <= float(X.data.min()) and float(X.data.max()) <= 1.0
    assert set(y.data.tolist()) <= set(range(10)) and len(set(y.data.tolist())) == 10
    Xf, _ = D.load_fashion_mnist(n=3, flatten=True, as_numpy=True)
    assert Xf.shape == (3, 784)


def test_idx_reader_and_missing_dataset_messages(tmp_path, monkeypatch):
    # write a tiny IDX pair and read it back through load_mnist_subset(path=...)
    imgs = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    labels = np.array([4, 2, 9], dtype=np.uint8)
    with open(tmp_path / "train-images-idx3-ubyte", "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + b"".join(int(d).to_bytes(4, "big") for d in imgs.shape))
        f.write(imgs.tobytes())
    import gzip
    with gzip.open(tmp_path / "train-labels-idx1-ubyte.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + labels.tobytes())
    X, y = D.load_mnist_subset(n=2, path=str(tmp_path))
    assert X.shape == (2, 1, 28, 28) and y.data.tolist() == [4, 2]
    np.testing.assert_allclose(X.data[1, 0], imgs[1] / 255.0, rtol=1e-6)
    with pytest.raises(FileNotFoundError, match="TENSORGRAD_MNIST_DIR"):
        D.load_mnist_subset(path=str(tmp_path / "nowhere"), split="test")
    monkeypatch.setattr(D.datasets, "FASHION_MNIST_DIRS", ())
    monkeypatch.delenv("TENSORGRAD_FASHION_MNIST_DIR", raising=False)
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        D.load_fashion_mnist(path=str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="split"):
        D.load_fashion_mnist(path=str(tmp_path), split="validation")
    with pytest.raises(ValueError, match="not an IDX file"):
        (tmp_path / "bad").write_bytes(b"hello world")
        D.read_idx(str(tmp_path / "bad"))


def test_random_split_like_pytorch():
    ds = D.TensorDataset(np.arange(10))
    a, b = D.random_split(ds, [7, 3], seed=0)
    assert (len(a), len(b)) == (7, 3)
    ids = sorted(int(a[i][0].item()) for i in range(7)) + sorted(int(b[i][0].item()) for i in range(3))
    assert sorted(ids) == list(range(10))
    parts = D.random_split(ds, [0.5, 0.3, 0.2], generator=np.random.default_rng(1))
    assert [len(p) for p in parts] == [5, 3, 2]
    parts = D.random_split(D.TensorDataset(np.arange(11)), [0.5, 0.5], seed=0)
    assert [len(p) for p in parts] == [6, 5]
    with pytest.raises(ValueError, match="sum to"):
        D.random_split(ds, [5, 4])
