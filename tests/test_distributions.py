"""tg.distributions against torch.distributions in float64: log_prob, entropy, cdf/icdf and
kl_divergence with their gradients; sampling statistics; argument validation."""
import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import distributions as D
from _torch import lazy, torch

TD = lazy("torch.distributions")
rng = np.random.default_rng(0)
LOC, SC = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
V = rng.standard_normal((4, 3))
P = rng.uniform(0.1, 1, (2, 4))
IDX = np.array([[1, 3], [0, 2], [3, 3]])
_A = rng.standard_normal((3, 3))
COV = _A @ _A.T + np.eye(3)


def _both(m, name):
    return getattr(D, name) if m is tg else getattr(TD, name)


CASES = [
    ("normal_log_prob", lambda m, l, s: _both(m, "Normal")(l, s).log_prob(m.tensor(V)), [LOC, SC]),
    ("normal_entropy", lambda m, l, s: _both(m, "Normal")(l, s).entropy() + 0 * l, [LOC, SC]),
    ("normal_cdf", lambda m, l, s: _both(m, "Normal")(l, s).cdf(m.tensor(V)), [LOC, SC]),
    ("normal_icdf", lambda m, l, s: _both(m, "Normal")(l, s).icdf(m.tensor(V * 0 + 0.3)),
     [LOC, SC]),
    ("normal_rsample_is_loc_plus_scale_eps",
     lambda m, l, s: _both(m, "Normal")(l, s).mean + _both(m, "Normal")(l, s).stddev, [LOC, SC]),
    ("kl_normal", lambda m, l, s: _both(m, "kl_divergence")(
        _both(m, "Normal")(l, s), _both(m, "Normal")(s, l.abs() + 0.1)), [LOC, SC]),
    ("uniform_log_prob", lambda m, lo, hi: _both(m, "Uniform")(lo, hi).log_prob(m.tensor(V * .1)),
     [LOC - 3, LOC + 3]),
    ("uniform_entropy", lambda m, lo, hi: _both(m, "Uniform")(lo, hi).entropy(),
     [LOC - 3, LOC + 3]),
    ("categorical_log_prob", lambda m, p: _both(m, "Categorical")(probs=p).log_prob(
        m.tensor(IDX)), [P]),
    ("categorical_entropy", lambda m, p: _both(m, "Categorical")(logits=p).entropy(), [P]),
    ("kl_categorical", lambda m, p, q: _both(m, "kl_divergence")(
        _both(m, "Categorical")(logits=p), _both(m, "Categorical")(logits=q)), [P, P[::-1].copy()]),
    ("bernoulli_log_prob", lambda m, p: _both(m, "Bernoulli")(logits=p).log_prob(
        m.tensor((P > 0.5) * 1.0)), [P]),
    ("bernoulli_entropy", lambda m, p: _both(m, "Bernoulli")(probs=p * 0.9).entropy(), [P]),
    ("kl_bernoulli", lambda m, p, q: _both(m, "kl_divergence")(
        _both(m, "Bernoulli")(probs=p * 0.9), _both(m, "Bernoulli")(probs=q * 0.9)),
     [P, P[::-1].copy()]),
    ("mvn_log_prob", lambda m, mu, c: _both(m, "MultivariateNormal")(
        mu, covariance_matrix=c).log_prob(m.tensor(V)), [LOC, COV]),
    ("mvn_scale_tril_log_prob", lambda m, mu, c: _both(m, "MultivariateNormal")(
        mu, scale_tril=m.linalg.cholesky(c)).log_prob(m.tensor(V)), [LOC, COV]),
    ("mvn_precision_log_prob", lambda m, mu, c: _both(m, "MultivariateNormal")(
        mu, precision_matrix=c).log_prob(m.tensor(V)), [LOC, COV]),
    ("mvn_entropy", lambda m, mu, c: _both(m, "MultivariateNormal")(
        mu, covariance_matrix=c).entropy() + 0 * mu.sum(), [LOC, COV]),
    ("kl_mvn", lambda m, mu, c: _both(m, "kl_divergence")(
        _both(m, "MultivariateNormal")(mu, covariance_matrix=c),
        _both(m, "MultivariateNormal")(mu * 2, covariance_matrix=c + m.eye(3, dtype=m.float64))),
     [LOC, COV]),
    ("independent_log_prob", lambda m, l, s: _both(m, "Independent")(
        _both(m, "Normal")(l, s), 1).log_prob(m.tensor(V)), [LOC, SC]),
    ("kl_independent", lambda m, l, s: _both(m, "kl_divergence")(
        _both(m, "Independent")(_both(m, "Normal")(l, s), 1),
        _both(m, "Independent")(_both(m, "Normal")(s, s), 1)), [LOC, SC]),
]


@pytest.mark.parametrize("name,fn,arrays", CASES, ids=[c[0] for c in CASES])
def test_distributions_match_torch(name, fn, arrays):
    xs = [tg.tensor(a, requires_grad=True) for a in arrays]
    txs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = fn(tg, *xs), fn(torch, *txs)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-10,
                               atol=1e-12)
    w = rng.standard_normal(tuple(tout.shape))
    (out * tg.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    for x, t in zip(xs, txs):
        got = np.zeros(x.shape) if x.grad is None else x.grad.numpy()
        want = np.zeros(x.shape) if t.grad is None else t.grad.numpy()
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)


def test_shapes_and_sampling_statistics():
    tg.manual_seed(0)
    n = D.Normal(tg.tensor([0.0, 3.0]), tg.tensor([1.0, 0.5]))
    assert n.batch_shape == (2,) and n.event_shape == () and n.sample((3,)).shape == (3, 2)
    s = n.sample((20000,)).numpy()
    np.testing.assert_allclose(s.mean(0), [0.0, 3.0], atol=0.03)
    np.testing.assert_allclose(s.std(0), [1.0, 0.5], atol=0.03)
    c = D.Categorical(probs=tg.tensor([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]]))
    draws = c.sample((20000,)).numpy()
    assert draws.shape == (20000, 2) and (draws[:, 1] == 0).all()
    np.testing.assert_allclose(np.bincount(draws[:, 0]) / 20000, [0.2, 0.3, 0.5], atol=0.015)
    b = D.Bernoulli(probs=tg.tensor([0.25]))
    assert abs(b.sample((20000,)).numpy().mean() - 0.25) < 0.015
    mvn = D.MultivariateNormal(tg.zeros(2), covariance_matrix=tg.tensor([[2.0, 0.5], [0.5, 1.0]]))
    z = mvn.sample((40000,)).numpy()
    np.testing.assert_allclose(np.cov(z.T), [[2.0, 0.5], [0.5, 1.0]], atol=0.05)
    assert D.Independent(n, 1).batch_shape == () and D.Independent(n, 1).event_shape == (2,)
    L = tg.tensor([[1.0, 0.0], [0.5, 2.0]], dtype=tg.float64)
    by_tril = D.MultivariateNormal(tg.zeros(2, dtype=tg.float64), scale_tril=L)
    want = torch.distributions.MultivariateNormal(torch.zeros(2, dtype=torch.float64),
                                                  scale_tril=torch.tensor(L.numpy()))
    np.testing.assert_allclose(by_tril.covariance_matrix.numpy(),
                               want.covariance_matrix.numpy(), rtol=1e-12)
    np.testing.assert_allclose(by_tril.precision_matrix.numpy(),
                               want.precision_matrix.numpy(), rtol=1e-10)
    assert repr(by_tril) == ("MultivariateNormal(loc: tg.Size([2]), "
                             "covariance_matrix: tg.Size([2, 2]))")


def test_rsample_carries_the_gradient_reinforce_uses_log_prob():
    tg.manual_seed(1)
    loc = tg.tensor([0.5], requires_grad=True)
    scale = tg.tensor([2.0], requires_grad=True)
    x = D.Normal(loc, scale).rsample((1000,))
    x.mean().backward()                                   # d mean / d loc = 1
    np.testing.assert_allclose(loc.grad.numpy(), [1.0], rtol=1e-6)  # float32 mean of 1000
    assert not D.Normal(loc, scale).sample((3,)).requires_grad
    logits = tg.zeros(4, requires_grad=True)
    m = D.Categorical(logits=logits)
    a = m.sample()
    (-m.log_prob(a)).backward()                           # REINFORCE's policy-gradient term
    want = np.full(4, 0.25)
    want[a.item()] -= 1
    np.testing.assert_allclose(logits.grad.numpy(), want, rtol=1e-6)


def test_validation_errors():
    with pytest.raises(ValueError, match="Normal: expected scale > 0"):
        D.Normal(tg.zeros(1), tg.tensor([-1.0]))
    D.Normal(tg.zeros(1), tg.tensor([-1.0]), validate_args=False)
    with pytest.raises(ValueError, match="probs in \\[0, 1\\]"):
        D.Bernoulli(probs=tg.tensor([1.5]))
    with pytest.raises(ValueError, match="either `probs` or `logits`"):
        D.Categorical(probs=tg.ones(2), logits=tg.ones(2))
    with pytest.raises(ValueError, match="integer values in \\[0, 3\\)"):
        D.Categorical(probs=tg.ones(3)).log_prob(tg.tensor([3]))
    with pytest.raises(ValueError, match="exactly one of"):
        D.MultivariateNormal(tg.zeros(2))
    with pytest.raises(NotImplementedError, match="no KL"):
        D.kl_divergence(D.Normal(tg.zeros(1), tg.ones(1)), D.Bernoulli(probs=tg.ones(1) / 2))
