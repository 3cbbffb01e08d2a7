"""Random numbers as PyTorch's API: tg.Generator and the default generator (seeds, states),
generator= honoured everywhere, the shapes and dtypes torch gives, and the distributions
(checked by their moments on large samples; the streams are numpy's, not torch's)."""
import numpy as np
import pytest

import tensorgrad as tg

N = 200_000


def test_generator_api_as_torch():
    torch = pytest.importorskip("torch")
    g, tgen = tg.Generator(), torch.Generator()
    assert g.initial_seed() == tgen.initial_seed() == 67280421310721
    assert g.manual_seed(5) is g and g.initial_seed() == 5
    assert g.device == tg.device("cpu")
    s = g.seed()
    assert isinstance(s, int) and g.initial_seed() == s and 0 <= s < 2 ** 64
    g.manual_seed(-1)
    assert g.initial_seed() == 2 ** 64 - 1 == torch.Generator().manual_seed(-1).initial_seed()
    with pytest.raises(RuntimeError, match="CPU"):
        tg.Generator(device="cuda")


def test_get_state_set_state_round_trip():
    g = tg.Generator().manual_seed(3)
    g.normal = None  # a Generator is a plain object; nothing else is consulted
    state = g.get_state()
    assert state.dtype == tg.uint8 and state.ndim == 1
    a = tg.rand(5, generator=g)
    g.set_state(state)
    b = tg.rand(5, generator=g)
    assert a.tolist() == b.tolist()
    with pytest.raises(RuntimeError, match="set_state"):
        g.set_state(tg.zeros(3, dtype=tg.uint8))


def test_default_generator_functions():
    tg.manual_seed(11)
    assert tg.initial_seed() == 11 and tg.default_generator.initial_seed() == 11
    st = tg.get_rng_state()
    a = tg.randn(4)
    tg.set_rng_state(st)
    assert tg.randn(4).tolist() == a.tolist()
    assert tg.manual_seed(11) is tg.default_generator
    s = tg.seed()
    assert tg.initial_seed() == s


SAMPLERS = {
    "rand": lambda L, g: L.rand(3, 4, generator=g),
    "randn": lambda L, g: L.randn(3, 4, generator=g, dtype=L.float64),
    "randint_high": lambda L, g: L.randint(10, (5,), generator=g),
    "randint_low_high": lambda L, g: L.randint(3, 10, (2, 2), generator=g),
    "randint_kw_size": lambda L, g: L.randint(3, 10, size=(4,), generator=g, dtype=L.int32),
    "randint_all_kw": lambda L, g: L.randint(low=3, high=10, size=(2, 3), generator=g),
    "randint_high_kw": lambda L, g: L.randint(high=4, size=(5,), generator=g),
    "rand_size_kw": lambda L, g: L.rand(size=(2, 2), generator=g),
    "randperm": lambda L, g: L.randperm(6, generator=g),
    "rand_like": lambda L, g: L.rand_like(L.ones(2, 3, dtype=L.float64), generator=g),
    "randn_like": lambda L, g: L.randn_like(L.ones(2, 3), generator=g),
    "randint_like": lambda L, g: L.randint_like(L.ones(4), 3, 9, generator=g),
    "normal_tt": lambda L, g: L.normal(L.zeros(2, 3), L.ones(3), generator=g),
    "normal_ft": lambda L, g: L.normal(1.0, L.ones(3, dtype=L.float64), generator=g),
    "normal_tf": lambda L, g: L.normal(L.zeros(4), 2.0, generator=g),
    "normal_size": lambda L, g: L.normal(0.0, 1.0, (2, 5), generator=g),
    "multinomial": lambda L, g: L.multinomial(L.tensor([0.0, 1.0, 2.0, 3.0]), 3, generator=g),
    "multinomial_2d": lambda L, g: L.multinomial(L.ones(2, 5), 8, True, generator=g),
    "bernoulli": lambda L, g: L.bernoulli(L.full((3,), 0.5), generator=g),
    "bernoulli_p": lambda L, g: L.bernoulli(L.ones(4, dtype=L.float64), 0.5, generator=g),
    "poisson": lambda L, g: L.poisson(L.full((3,), 4.0), generator=g),
}


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_samplers_shapes_dtypes_and_generator(name):
    torch = pytest.importorskip("torch")
    want = SAMPLERS[name](torch, torch.Generator().manual_seed(0))
    draw = SAMPLERS[name]
    a = draw(tg, tg.Generator().manual_seed(7))
    assert (tuple(a.shape), str(a.dtype)) == (tuple(want.shape), str(want.dtype).split(".")[1])
    tg.manual_seed(0)
    before = tg.get_rng_state().tolist()
    b = draw(tg, tg.Generator().manual_seed(7))
    assert tg.get_rng_state().tolist() == before      # a generator= draw leaves the default alone
    assert a.tolist() == b.tolist()                   # and is reproducible
    tg.manual_seed(1)
    c = draw(tg, None)
    tg.manual_seed(1)
    assert draw(tg, None).tolist() == c.tolist()      # the default generator follows manual_seed


def _moments(x):
    x = x.numpy().astype(np.float64).ravel()
    return x.mean(), x.std()


def test_continuous_distributions_have_the_right_moments():
    g = tg.Generator().manual_seed(0)
    tol = 5 / np.sqrt(N)
    m, s = _moments(tg.rand(N, generator=g))
    assert abs(m - 0.5) < tol and abs(s - np.sqrt(1 / 12)) < tol
    m, s = _moments(tg.randn(N, generator=g))
    assert abs(m) < tol and abs(s - 1) < tol
    m, s = _moments(tg.normal(2.0, 3.0, (N,), generator=g))
    assert abs(m - 2) < 3 * tol and abs(s - 3) < 3 * tol
    m, s = _moments(tg.normal(tg.full((N,), -1.0), tg.full((N,), 0.5), generator=g))
    assert abs(m + 1) < tol and abs(s - 0.5) < tol
    t = tg.empty(N)
    m, s = _moments(t.uniform_(2, 5, generator=g))
    assert abs(m - 3.5) < 3 * tol and t.numpy().min() >= 2 and t.numpy().max() < 5
    m, s = _moments(t.normal_(1.0, 2.0, generator=g))
    assert abs(m - 1) < 2 * tol and abs(s - 2) < 2 * tol
    m, s = _moments(t.exponential_(4.0, generator=g))
    assert abs(m - 0.25) < tol and abs(s - 0.25) < tol
    m, _ = _moments(t.log_normal_(0.0, 0.5, generator=g))
    assert abs(m - np.exp(0.125)) < 2 * tol
    assert abs(np.median(t.cauchy_(3.0, 1.0, generator=g).numpy()) - 3.0) < 4 * tol
    m, _ = _moments(t.geometric_(0.25, generator=g))
    assert abs(m - 4.0) < 20 * tol and t.numpy().min() >= 1


def test_discrete_distributions():
    g = tg.Generator().manual_seed(1)
    r = tg.randint(3, 7, (N,), generator=g).numpy()
    assert set(np.unique(r)) == {3, 4, 5, 6}
    assert sorted(tg.randperm(50, generator=g).tolist()) == list(range(50))
    b = tg.bernoulli(tg.full((N,), 0.3), generator=g).numpy()
    assert abs(b.mean() - 0.3) < 0.01 and set(np.unique(b)) == {0.0, 1.0}
    t = tg.zeros(N)
    assert abs(t.bernoulli_(0.8, generator=g).numpy().mean() - 0.8) < 0.01
    v = tg.zeros(N).random_(10, generator=g).numpy()
    assert set(np.unique(v)) == set(range(10))
    v = tg.zeros(N, dtype=tg.int64).random_(-3, 3, generator=g).numpy()
    assert set(np.unique(v)) == set(range(-3, 3))
    assert tg.zeros(100, dtype=tg.uint8).random_(generator=g).numpy().max() > 200
    f = tg.zeros(1000).random_(generator=g).numpy()
    assert f.max() <= 2 ** 24 and f.max() > 2 ** 20 and np.all(f == np.round(f))


def test_multinomial_frequencies_and_rules():
    g = tg.Generator().manual_seed(2)
    w = tg.tensor([0.0, 1.0, 2.0, 7.0])
    draws = tg.multinomial(w.expand(20000, 4), 1, generator=g).numpy().ravel()
    freq = np.bincount(draws, minlength=4) / draws.size
    np.testing.assert_allclose(freq, [0, 0.1, 0.2, 0.7], atol=0.015)
    s = tg.multinomial(w.expand(2000, 4), 3, generator=g).numpy()
    assert np.all(s != 0) and all(len(set(r)) == 3 for r in s)   # distinct, never weight 0
    # first draw of a draw without replacement follows the weights
    np.testing.assert_allclose(np.bincount(s[:, 0], minlength=4) / 2000, [0, 0.1, 0.2, 0.7],
                               atol=0.04)
    r = tg.multinomial(tg.tensor([1.0, 1.0]), 50, replacement=True, generator=g).numpy()
    assert r.shape == (50,) and set(np.unique(r)) == {0, 1}


@pytest.mark.parametrize("call, msg", [
    (lambda: tg.multinomial(tg.tensor([-1.0, 1.0]), 1), "element < 0"),
    (lambda: tg.multinomial(tg.tensor([0.0, 0.0]), 1), "sum of probabilities <= 0"),
    (lambda: tg.multinomial(tg.tensor([0.0, 1.0, 1.0]), 4), "without replacement"),
    (lambda: tg.multinomial(tg.tensor([0.0, 1.0, 1.0]), 3), "not enough non-negative category"),
    (lambda: tg.bernoulli(tg.tensor([0.0, 2.0])), r"in \[0, 1\]"),
    (lambda: tg.randint(5, 5, (2,)), "from=5 >= to=5"),
    (lambda: tg.normal(tg.zeros(2), tg.tensor([1.0, -1.0])), "std >= 0"),
    (lambda: tg.zeros(2, dtype=tg.int64).normal_(), "not implemented for tg.int64"),
    (lambda: tg.zeros(2).uniform_(3, 1), "from=3 > to=1"),
    (lambda: tg.rand(2, generator=object()), "tg.Generator"),
])
def test_sampler_errors(call, msg):
    with pytest.raises((RuntimeError, NotImplementedError, TypeError), match=msg):
        call()


def test_random_fills_on_tensors_in_a_graph_give_zero_gradient():
    torch = pytest.importorskip("torch")
    for lib in (torch, tg):
        x = lib.ones(4, requires_grad=True)
        y = x * 2
        y[1:3].normal_()
        y.sum().backward()
        assert x.grad.tolist() == [2.0, 0.0, 0.0, 2.0]
        with pytest.raises(RuntimeError, match="leaf"):
            x.uniform_()
        with lib.no_grad():
            x.uniform_()
