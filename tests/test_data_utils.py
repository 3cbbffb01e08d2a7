"""``tensorgrad.utils.data`` against ``torch.utils.data``: the same objects as tensorgrad.data,
DataLoader arguments, ``len()``, batches and collation (nested dicts/tuples/lists, numbers,
numpy arrays, Tensors), samplers, random_split, Concat/Chain datasets, IterableDataset and
thread workers."""
import collections
import threading

import numpy as np
import pytest

import tensorgrad as tg
import tensorgrad.utils.data as tud

NAMES = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset",
         "ChainDataset", "DataLoader", "random_split", "default_collate", "default_convert",
         "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
         "WeightedRandomSampler", "BatchSampler", "DistributedSampler", "get_worker_info"]


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def test_same_objects_as_tg_data():
    for name in NAMES:
        assert getattr(tud, name) is getattr(tg.data, name), name
    import tensorgrad.utils.data.distributed as tdist
    import tensorgrad.utils.data.sampler as tsamp
    assert tdist.DistributedSampler is tg.data.DistributedSampler
    assert tsamp.WeightedRandomSampler is tg.data.WeightedRandomSampler
    assert tg.utils.data is tud  # reachable as an attribute after `import tensorgrad`


def _plain(x):
    """A framework-neutral picture of a batch: containers kept, tensors as (dtype, values)."""
    if isinstance(x, tg.Tensor):
        return ("T", str(x.numpy().dtype), x.numpy().tolist())
    if type(x).__module__.startswith("torch") and hasattr(x, "numpy"):
        return ("T", str(x.numpy().dtype), x.numpy().tolist())
    if isinstance(x, dict):
        return ("dict", {k: _plain(v) for k, v in x.items()})
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return (type(x).__name__, [_plain(v) for v in x])
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, [_plain(v) for v in x])
    return x


Point = collections.namedtuple("Point", "x y")


class Nested:
    """A map-style dataset (no base class: duck typing, as PyTorch allows) of nested examples."""

    def __init__(self, lib, n=11):
        self.lib, self.n = lib, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"img": np.full((2, 3), i, dtype=np.float32),
                "label": i % 3, "weight": 0.5 * i, "ok": i % 2 == 0,
                "name": f"ex{i}", "pair": (self.lib.tensor([i, -i]), np.int16(i)),
                "seq": [1.0 * i, i], "pt": Point(i, 2.0 * i)}


@pytest.mark.parametrize("kw", [dict(batch_size=4), dict(batch_size=4, drop_last=True),
                                dict(batch_size=None), dict(batch_size=11),
                                dict(batch_size=3, sampler=[10, 2, 5, 7, 0])])
def test_batches_and_len_match_torch(torch, kw):
    got = tud.DataLoader(Nested(tg), **kw)
    want = torch.utils.data.DataLoader(Nested(torch), **kw)
    assert len(got) == len(want)
    g, w = [_plain(b) for b in got], [_plain(b) for b in want]
    assert len(g) == len(w) == len(got)
    assert g == w


def test_default_collate_matches_torch(torch):
    cases = [[1.5, 2.5], [1, 2], [True, False], [np.float32(1), np.float32(2)],
             [(1, "a"), (2, "b")], [[1, 2.0], [3, 4.0]], [{"a": [1, 2]}, {"a": [3, 4]}],
             [np.arange(3), np.arange(3) * 2], [Point(1, 2.0), Point(3, 4.0)]]
    for batch in cases:
        assert _plain(tud.default_collate(batch)) == \
            _plain(torch.utils.data.default_collate(batch)), batch
        assert _plain(tud.default_convert(batch[0])) == \
            _plain(torch.utils.data.default_convert(batch[0])), batch
    t = tud.default_collate([tg.tensor([1.0, 2.0]), tg.tensor([3.0, 4.0])])
    assert t.shape == (2, 2) and t.dtype == tg.float32
    with pytest.raises(RuntimeError, match="equal size"):
        tud.default_collate([(1, 2), (3,)])
    with pytest.raises(RuntimeError, match="equal size"):
        tud.default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="found object"):
        tud.default_collate([object(), object()])


class Stream(tud.IterableDataset):
    def __init__(self, n, with_len=True):
        self.n, self.with_len = n, with_len

    def __iter__(self):
        return iter([np.array([i, i * i]) for i in range(self.n)])

    def __len__(self):
        if not self.with_len:
            raise TypeError("Stream has no len()")
        return self.n


@pytest.mark.parametrize("kw", [dict(batch_size=3), dict(batch_size=3, drop_last=True),
                                dict(batch_size=None), dict(batch_size=5)])
def test_iterable_dataset_matches_torch(torch, kw):
    class TStream(torch.utils.data.IterableDataset):
        __iter__, __len__ = Stream.__iter__, Stream.__len__

        def __init__(self, n):
            self.n, self.with_len = n, True

    got, want = tud.DataLoader(Stream(10), **kw), torch.utils.data.DataLoader(TStream(10), **kw)
    assert len(got) == len(want)
    assert [_plain(b) for b in got] == [_plain(b) for b in want]
    with pytest.raises(TypeError):
        len(tud.DataLoader(Stream(4, with_len=False), batch_size=2))
    assert len(list(tud.DataLoader(Stream(4, with_len=False), batch_size=3))) == 2
    for bad in (dict(shuffle=True), dict(sampler=[0, 1]), dict(batch_sampler=[[0]])):
        with pytest.raises(ValueError, match="IterableDataset"):
            tud.DataLoader(Stream(4), **bad)


@pytest.mark.parametrize("kw", [dict(sampler=[0, 1], shuffle=True),
                                dict(batch_sampler=[[0, 1]], batch_size=2),
                                dict(batch_sampler=[[0, 1]], drop_last=True),
                                dict(batch_size=None, drop_last=True),
                                dict(num_workers=-1), dict(prefetch_factor=2),
                                dict(persistent_workers=True), dict(timeout=-1)])
def test_argument_conflicts_raise_value_error_like_torch(torch, kw):
    ds = tud.TensorDataset(np.arange(6))
    with pytest.raises(ValueError):
        torch.utils.data.DataLoader(ds, **kw)
    with pytest.raises(ValueError):
        tud.DataLoader(ds, **kw)


def test_samplers(torch):
    ds = tud.TensorDataset(np.arange(10))
    assert list(tud.SequentialSampler(ds)) == list(range(10))
    g = np.random.default_rng(0)
    r = list(tud.RandomSampler(ds, generator=g))
    assert sorted(r) == list(range(10)) and r != list(range(10))
    r2 = list(tud.RandomSampler(ds, num_samples=25))
    assert len(r2) == 25 and sorted(r2[:10]) == list(range(10)) and sorted(r2[10:20]) == \
        list(range(10))
    r3 = list(tud.RandomSampler(ds, replacement=True, num_samples=200, generator=g))
    assert len(r3) == 200 and set(r3) <= set(range(10)) and len(set(r3)) == 10
    assert len(tud.RandomSampler(ds, replacement=True, num_samples=7)) == \
        len(torch.utils.data.RandomSampler(ds, replacement=True, num_samples=7)) == 7
    sub = list(tud.SubsetRandomSampler([3, 5, 9, 11]))
    assert sorted(sub) == [3, 5, 9, 11]
    w = [0.0, 1.0, 3.0, 0.0]
    draws = list(tud.WeightedRandomSampler(w, 4000, generator=np.random.default_rng(1)))
    counts = np.bincount(draws, minlength=4)
    assert counts[0] == counts[3] == 0 and abs(counts[2] / 4000 - 0.75) < 0.03
    nr = list(tud.WeightedRandomSampler(w, 2, replacement=False))
    assert sorted(nr) == [1, 2]
    for seq in (tud.SequentialSampler(range(10)), [4, 2, 9, 1, 0]):
        for bs, dl in ((3, False), (3, True), (5, True)):
            tseq = torch.utils.data.SequentialSampler(range(10)) if not isinstance(seq, list) \
                else seq
            assert list(tud.BatchSampler(seq, bs, dl)) == \
                list(torch.utils.data.BatchSampler(tseq, bs, dl))
            assert len(tud.BatchSampler(seq, bs, dl)) == \
                len(torch.utils.data.BatchSampler(tseq, bs, dl))
    # a weighted sampler drives a loader; len follows num_samples
    loader = tud.DataLoader(ds, batch_size=4, sampler=tud.WeightedRandomSampler([1.0] * 10, 9))
    assert len(loader) == 3 and sum(len(b[0]) for b in loader) == 9
    with pytest.raises(ValueError, match="num_samples"):
        tud.RandomSampler(ds, num_samples=0)
    with pytest.raises(TypeError, match="replacement"):
        tud.RandomSampler(ds, replacement=1)
    with pytest.raises(ValueError, match="1d"):
        tud.WeightedRandomSampler([[1.0, 2.0]], 3)
    with pytest.raises(ValueError, match="batch_size"):
        tud.BatchSampler(range(3), 0, False)
    with pytest.raises(RuntimeError, match="without replacement"):
        tud.WeightedRandomSampler(w, 3, replacement=False)


def test_shuffle_generator_and_batch_sampler():
    ds = tud.TensorDataset(np.arange(20), np.arange(20) * 10)
    a = [b[0].numpy().tolist() for b in tud.DataLoader(ds, batch_size=6, shuffle=True,
                                                        generator=np.random.default_rng(4))]
    b = [b[0].numpy().tolist() for b in tud.DataLoader(ds, batch_size=6, shuffle=True,
                                                        generator=np.random.default_rng(4))]
    assert a == b and sorted(sum(a, [])) == list(range(20)) and [len(x) for x in a] == \
        [6, 6, 6, 2]
    loader = tud.DataLoader(ds, batch_sampler=[[3, 1], [0, 19, 7]])
    got = [(x.numpy().tolist(), y.numpy().tolist()) for x, y in loader]
    assert got == [([3, 1], [30, 10]), ([0, 19, 7], [0, 190, 70])] and len(loader) == 2
    assert isinstance(tud.DataLoader(ds, shuffle=True).sampler, tud.RandomSampler)
    assert isinstance(tud.DataLoader(ds).batch_sampler, tud.BatchSampler)


def test_random_split_lengths_match_torch(torch):
    for n, lengths in ((10, [0.5, 0.3, 0.2]), (11, [0.5, 0.5]), (7, [0.1, 0.9]),
                       (10, [3, 7]), (5, [0.2, 0.2, 0.2, 0.2, 0.2])):
        got = tud.random_split(range(n), lengths, generator=np.random.default_rng(0))
        want = torch.utils.data.random_split(range(n), lengths,
                                             generator=torch.Generator().manual_seed(0))
        assert [len(p) for p in got] == [len(p) for p in want]
        assert sorted(i for p in got for i in (p[j] for j in range(len(p)))) == list(range(n))
    with pytest.warns(UserWarning, match="at index 1 is 0"):
        parts = tud.random_split(range(3), [0.05, 0.05, 0.9])
    with pytest.warns(UserWarning, match="at index 1 is 0"):
        tparts = torch.utils.data.random_split(range(3), [0.05, 0.05, 0.9])
    assert [len(p) for p in parts] == [len(p) for p in tparts] == [1, 0, 2]
    with pytest.raises(ValueError, match="sum to"):
        tud.random_split(range(10), [5, 4])


def test_concat_and_chain_match_torch(torch):
    a, b = tud.TensorDataset(np.arange(3)), tud.TensorDataset(np.arange(10, 15))
    c = a + b
    tc = torch.utils.data.ConcatDataset([range(3), range(10, 15)])
    assert isinstance(c, tud.ConcatDataset) and c.cumulative_sizes == tc.cumulative_sizes
    assert [c[i][0].item() for i in range(-8, 8)] == [tc[i] for i in range(-8, 8)]
    with pytest.raises(IndexError):
        c[8]
    with pytest.raises(TypeError, match="IterableDataset"):
        tud.ConcatDataset([Stream(2)])
    ch = Stream(2) + Stream(3)
    assert isinstance(ch, tud.ChainDataset) and len(ch) == 5
    assert [x.tolist() for x in ch] == [[0, 0], [1, 1], [0, 0], [1, 1], [2, 4]]
    batches = list(tud.DataLoader(c, batch_size=4, shuffle=True))
    assert sorted(sum((b[0].numpy().tolist() for b in batches), [])) == [0, 1, 2, 10, 11, 12,
                                                                          13, 14]


class Slow(tud.Dataset):
    """Records which worker (thread) read each index."""

    def __init__(self, n):
        self.n, self.seen = n, {}

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        info = tud.get_worker_info()
        self.seen[i] = (threading.current_thread().name, None if info is None else info.id)
        return np.array([i, 2 * i], dtype=np.float64), i


def test_thread_workers_give_the_same_batches():
    ds = Slow(37)
    ref = [_plain(b) for b in tud.DataLoader(ds, batch_size=5)]
    assert {w for _, w in ds.seen.values()} == {None}  # num_workers=0: main thread
    inits = []
    loader = tud.DataLoader(ds, batch_size=5, num_workers=3, prefetch_factor=2,
                            worker_init_fn=inits.append, persistent_workers=True,
                            pin_memory=True, timeout=30)
    assert [_plain(b) for b in loader] == ref and len(loader) == 8
    assert {w for _, w in ds.seen.values()} <= {0, 1, 2} and sorted(inits) == \
        sorted(set(inits)) and set(inits) <= {0, 1, 2}
    assert all(name.startswith("tg-loader") for name, _ in ds.seen.values())
    assert tud.get_worker_info() is None
    # shuffled: the same order whatever num_workers is (the workers' seeds don't consume draws)
    tg.manual_seed(3)
    a = [_plain(b) for b in tud.DataLoader(ds, batch_size=4, shuffle=True, num_workers=2)]
    tg.manual_seed(3)
    b = [_plain(b) for b in tud.DataLoader(ds, batch_size=4, shuffle=True)]
    assert a == b
    # stopping early leaves no thread behind
    it = iter(tud.DataLoader(ds, batch_size=2, num_workers=2))
    next(it)
    it.close()
    assert not any(t.name.startswith("tg-loader") for t in threading.enumerate())
    # an IterableDataset is read in the main thread whatever num_workers says
    assert [_plain(b) for b in tud.DataLoader(Stream(7), batch_size=3, num_workers=2)] == \
        [_plain(b) for b in tud.DataLoader(Stream(7), batch_size=3)]
