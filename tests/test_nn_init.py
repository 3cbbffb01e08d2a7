"""tg.nn.init: PyTorch's formulas (gain, fans, bounds, std), the course's schemes, seeding, and the
course's symmetry argument (§2.3.1): zero-initialized hidden units stay identical."""
import math

import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import nn
from tensorgrad.nn import init


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def test_calculate_gain_matches_pytorch(torch):
    for nl, param in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                      ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)]:
        assert init.calculate_gain(nl, param) == pytest.approx(
            torch.nn.init.calculate_gain(nl, param))
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")


def test_fans(torch):
    for shape in [(5, 3), (8, 3, 5, 5), (4, 2, 3)]:
        got = init.calculate_fan_in_and_fan_out(tg.zeros(*shape))
        exp = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(*shape))
        assert got == exp
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(tg.zeros(3))


BIG = (400, 500)  # fan_in 500, fan_out 400


@pytest.mark.parametrize("fn,kwargs,expected_std", [
    (init.normal_, {"mean": 0.0, "std": 0.3}, 0.3),
    (init.uniform_, {"a": -2.0, "b": 2.0}, 4 / math.sqrt(12)),
    (init.xavier_uniform_, {"gain": 2.0}, 2.0 * math.sqrt(2 / 900)),
    (init.xavier_normal_, {}, math.sqrt(2 / 900)),
    (init.xavier_normal_, {"variance": "notes"}, math.sqrt(1 / 500)),
    (init.xavier_notes_, {}, math.sqrt(1 / 500)),
    (init.kaiming_normal_, {}, math.sqrt(2 / 500)),
    (init.kaiming_normal_, {"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(2 / 400)),
    (init.kaiming_uniform_, {"a": math.sqrt(5)}, 1 / math.sqrt(500) / math.sqrt(3)),
    (init.he_notes_, {}, math.sqrt(2 / 500)),
    (init.small_normal_, {}, 0.01),
    (init.trunc_normal_, {"std": 1.0, "a": -10.0, "b": 10.0}, 1.0),
])
def test_distribution_std_and_pytorch_agreement(torch, fn, kwargs, expected_std):
    tg.manual_seed(0)
    w = nn.Parameter(tg.zeros(*BIG))
    out = fn(w, **kwargs)
    assert out is w and w.dtype == np.float32 and w.requires_grad
    assert abs(w.data.std() - expected_std) < 0.02 * expected_std
    tname = {"xavier_notes_": None, "he_notes_": None, "small_normal_": None}.get(
        fn.__name__, fn.__name__)
    if tname and "variance" not in kwargs:
        t = torch.empty(*BIG)
        getattr(torch.nn.init, tname)(t, **kwargs)
        assert abs(w.data.std() - t.std().item()) < 0.03 * expected_std


def test_bounds_constants_and_inplace_version():
    w = nn.Parameter(tg.zeros(30, 20))
    v = w._version
    init.xavier_uniform_(w)
    assert np.abs(w.data).max() <= math.sqrt(6 / 50) and w._version > v
    init.constant_(w, 0.25)
    assert (w.data == 0.25).all()
    init.ones_(w)
    init.zeros_(w)
    assert not w.data.any()
    init.eye_(w)
    np.testing.assert_array_equal(w.data, np.eye(30, 20))
    assert w.grad_fn is None and w.is_leaf  # no graph recorded
    with pytest.raises(TypeError, match="init.normal_: expected a tg.Tensor"):
        init.normal_(np.zeros(3))
    with pytest.raises(TypeError, match="floating"):
        init.normal_(tg.tensor([1, 2]))
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_normal_(w, mode="fan_avg")


def test_seeded_reproducibility():
    tg.manual_seed(7)
    a = nn.Linear(5, 4)
    tg.manual_seed(7)
    b = nn.Linear(5, 4)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    c = nn.Linear(5, 4)
    assert not np.array_equal(a.weight.data, c.weight.data)


def test_default_inits_match_pytorch_distributions(torch):
    tg.manual_seed(1)
    emb = nn.Embedding(300, 200)
    assert abs(emb.weight.data.std() - 1.0) < 0.02  # N(0, 1) like torch.nn.Embedding
    bn = nn.BatchNorm1d(7)
    assert (bn.weight.data == 1).all() and not bn.bias.data.any()
    assert (bn.running_var.data == 1).all() and not bn.running_mean.data.any()


def test_init_module_schemes():
    m = nn.Sequential(nn.Linear(50, 40), nn.ReLU(), nn.Linear(40, 3))
    for scheme, std in [("small", 0.01), ("xavier", math.sqrt(1 / 50)), ("he", math.sqrt(2 / 50))]:
        tg.manual_seed(0)
        init.init_module_(m, scheme)
        assert abs(m[0].weight.data.std() - std) < 0.1 * std, scheme
        assert not m[0].bias.data.any()
    init.init_module_(m, "zeros")
    assert not any(p.data.any() for p in m.parameters())
    init.init_module_(m, "default")
    assert m[0].weight.data.any()
    with pytest.raises(ValueError, match="unknown scheme"):
        init.init_module_(m, "orthogonal")


def test_zero_init_hidden_units_stay_symmetric():
    """The course's symmetry argument: with W = 0 every hidden unit computes the same function,
    receives the same gradient, and so stays identical however long we train. Random init
    breaks the symmetry."""
    rng = np.random.default_rng(0)
    X = tg.tensor(rng.standard_normal((64, 3)))
    y = tg.tensor((rng.random((64, 1)) > 0.5).astype(float))

    def train(scheme):
        tg.manual_seed(0)
        net = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 1)).double()
        if scheme == "zeros":
            init.init_module_(net, "zeros", bias=0.1)  # biases equal too: no symmetry breaking
        else:
            init.init_module_(net, "small")
        for _ in range(50):
            net.zero_grad()
            loss = nn.functional.binary_cross_entropy_with_logits(net(X), y)
            loss.backward()
            with tg.no_grad():
                for p in net.parameters():
                    p.data -= 0.5 * p.grad.data
        return net

    sym = train("zeros")
    W1 = sym[0].weight.data
    assert np.allclose(W1, W1[0:1]), "hidden units diverged under zero init"
    assert np.allclose(sym[0].bias.data, sym[0].bias.data[0])
    assert np.allclose(sym[2].weight.data, sym[2].weight.data[0, 0])
    assert np.abs(sym[2].weight.data).max() > 1e-3  # it did train (the output layer moved)
    rnd = train("small")
    W1r = rnd[0].weight.data
    assert not np.allclose(W1r, W1r[0:1])


def test_orthogonal_dirac_sparse_as_torch(torch):
    import tensorgrad.nn.init as I
    tg.manual_seed(0)
    for shape, gain in (((4, 6), 1.0), ((6, 4), 2.0), ((3, 2, 2, 2), 0.5)):
        w = I.orthogonal_(tg.empty(*shape), gain=gain).numpy().reshape(shape[0], -1)
        small = w @ w.T if shape[0] <= w.shape[1] else w.T @ w
        np.testing.assert_allclose(small, gain ** 2 * np.eye(len(small)), atol=1e-5)
    w = I.dirac_(tg.empty(4, 2, 3, 3), groups=2).numpy()
    want = torch.nn.init.dirac_(torch.empty(4, 2, 3, 3), groups=2).numpy()
    np.testing.assert_array_equal(w, want)
    x = tg.randn(1, 3, 5, 5)
    conv = tg.nn.Conv2d(3, 3, 3, padding=1, bias=False)
    I.dirac_(conv.weight)
    np.testing.assert_allclose(conv(x).detach().numpy(), x.numpy(), atol=1e-6)  # identity
    s = I.sparse_(tg.empty(10, 4), sparsity=0.3, std=0.5).numpy()
    assert ((s == 0).sum(0) == 3).all()                   # ceil(0.3 * 10) zeros per column
    with pytest.raises(ValueError, match="orthogonal_"):
        I.orthogonal_(tg.empty(3))
    with pytest.raises(ValueError, match="dirac_"):
        I.dirac_(tg.empty(3, 3))
