"""Probability distributions with torch.distributions' names and conventions: ``Normal``,
``Uniform``, ``Bernoulli``, ``Categorical``, ``MultivariateNormal``, ``Independent`` and
``kl_divergence`` (with ``register_kl``).

Everything is written with tensor ops, so ``log_prob``, ``entropy``, ``kl_divergence`` and the
reparameterised ``rsample`` are differentiable with respect to the parameters (the REINFORCE
estimator uses ``log_prob``; VAEs use ``rsample``). ``sample`` draws without a graph. Draws use
the global generator, so ``tg.manual_seed`` makes them reproducible (they are not the same
numbers PyTorch draws). Arguments are validated as in PyTorch (``validate_args=False`` turns it
off): a negative scale or probabilities outside [0, 1] raise ``ValueError`` naming the
distribution.
"""
from __future__ import annotations

import math

import numpy as np

from . import ops as _ops
from .autograd.grad_mode import no_grad
from .random import generator
from .tensor import Tensor, _wrap

__all__ = ["Distribution", "Normal", "Uniform", "Bernoulli", "Categorical",
           "MultivariateNormal", "Independent", "kl_divergence", "register_kl"]

_LOG_2PI = math.log(2 * math.pi)


def _param(x, like=None):
    if isinstance(x, Tensor):
        return x if x.dtype.kind == "f" else x.to(np.float32)
    dt = like.dtype if isinstance(like, Tensor) else np.float32
    return _wrap(np.asarray(x, dtype=dt))


def _broadcast(*params):
    """Elementwise parameters as tensors (of the first one's float dtype), expanded to their
    broadcast shape."""
    first = _param(params[0])
    ts = [first] + [_param(p, first) for p in params[1:]]
    shape = np.broadcast_shapes(*(tuple(t.shape) for t in ts))
    return [t.expand(shape) for t in ts]


def _shape(s):
    if isinstance(s, int):
        return (s,)
    return tuple(int(v) for v in s)


class Distribution:
    """What every distribution has: ``batch_shape``, ``event_shape``, ``sample``, ``log_prob``,
    ``entropy``, ``mean``, ``variance``, ``stddev``."""
    has_rsample = False

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = _shape(batch_shape)
        self._event_shape = _shape(event_shape)
        self._validate = True if validate_args is None else bool(validate_args)

    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    def _extended_shape(self, sample_shape=()):
        return _shape(sample_shape) + self._batch_shape + self._event_shape

    def _check(self, ok, what, value):
        if self._validate and not bool(np.all(ok)):
            raise ValueError(f"{type(self).__name__}: expected {what}, got {value!r:.200}")

    def sample(self, sample_shape=()):
        """A draw of shape sample_shape + batch_shape + event_shape, outside the graph."""
        if self.has_rsample:
            with no_grad():
                return self.rsample(sample_shape)
        raise NotImplementedError(f"{type(self).__name__}.sample is not implemented")

    def rsample(self, sample_shape=()):
        raise NotImplementedError(f"{type(self).__name__} has no reparameterised sample "
                                  f"(rsample); use sample()")

    def sample_n(self, n):
        return self.sample((n,))

    @property
    def stddev(self):
        return _ops.sqrt(self.variance)

    def perplexity(self):
        return _ops.exp(self.entropy())

    _shown = ()  # the parameters ``repr`` lists with their shapes

    def __repr__(self):
        shown = ", ".join(f"{n}: {getattr(self, n).shape}" for n in self._shown)
        return f"{type(self).__name__}({shown})"


class Normal(Distribution):
    """N(loc, scale²), elementwise (loc and scale broadcast)."""
    has_rsample = True
    _shown = ("loc", "scale")

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = _broadcast(loc, scale)
        super().__init__(self.loc.shape, (), validate_args)
        self._check(self.scale._data > 0, "scale > 0", self.scale)

    @property
    def mean(self):
        return self.loc

    mode = mean

    @property
    def variance(self):
        return self.scale ** 2

    @property
    def stddev(self):
        return self.scale

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = _wrap(generator().standard_normal(shape).astype(self.loc._data.dtype))
        return self.loc + eps * self.scale

    def log_prob(self, value):
        value = _param(value, self.loc)
        return (-((value - self.loc) ** 2) / (2 * self.variance) - _ops.log(self.scale)
                - 0.5 * _LOG_2PI)

    def entropy(self):
        return 0.5 + 0.5 * _LOG_2PI + _ops.log(self.scale)

    def cdf(self, value):
        value = _param(value, self.loc)
        return 0.5 * (1 + _ops.erf((value - self.loc) / (self.scale * math.sqrt(2))))

    def icdf(self, value):
        value = _param(value, self.loc)
        return self.loc + self.scale * _ops.erfinv(2 * value - 1) * math.sqrt(2)


class Uniform(Distribution):
    """Uniform on [low, high), elementwise."""
    has_rsample = True
    _shown = ("low", "high")

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = _broadcast(low, high)
        super().__init__(self.low.shape, (), validate_args)
        self._check(self.low._data < self.high._data, "low < high", (self.low, self.high))

    @property
    def mean(self):
        return (self.low + self.high) / 2

    @property
    def variance(self):
        return (self.high - self.low) ** 2 / 12

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        u = _wrap(generator().random(shape).astype(self.low._data.dtype))
        return self.low + u * (self.high - self.low)

    def log_prob(self, value):
        value = _param(value, self.low)
        inside = (self.low._data <= value._data) & (value._data < self.high._data)
        return _ops.log(_wrap(inside.astype(value._data.dtype))) - _ops.log(self.high - self.low)

    def entropy(self):
        return _ops.log(self.high - self.low)

    def cdf(self, value):
        value = _param(value, self.low)
        return _ops.clamp((value - self.low) / (self.high - self.low), 0, 1)


def _probs_logits(name, probs, logits):
    if (probs is None) == (logits is None):
        raise ValueError(f"{name}: either `probs` or `logits` must be specified, but not both.")
    if probs is not None:
        p = _param(probs)
        return p, None
    return None, _param(logits)


class Bernoulli(Distribution):
    """1 with probability ``probs`` (or sigmoid(``logits``)), else 0."""
    _shown = ("probs", "logits")

    def __init__(self, probs=None, logits=None, validate_args=None):
        p, lg = _probs_logits("Bernoulli", probs, logits)
        src = p if p is not None else lg
        super().__init__(tuple(src.shape), (), validate_args)
        if p is not None:
            self._check((p._data >= 0) & (p._data <= 1), "probs in [0, 1]", p)
            eps = np.finfo(p._data.dtype).eps
            self.probs = p
            self.logits = _ops.log(_ops.clamp(p, eps, 1 - eps)) - _ops.log1p(
                -_ops.clamp(p, eps, 1 - eps))
        else:
            self.logits = lg
            self.probs = _ops.sigmoid(lg)

    @property
    def mean(self):
        return self.probs

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        u = generator().random(shape)
        return _wrap((u < self.probs._data).astype(self.probs._data.dtype))

    def log_prob(self, value):
        value = _param(value, self.logits)
        from .ops.loss import binary_cross_entropy_with_logits as bce
        logits, value = _ops.broadcast_tensors(self.logits, value)
        return -bce(logits, value, reduction="none")

    def entropy(self):
        from .ops.loss import binary_cross_entropy_with_logits as bce
        return bce(self.logits, self.probs, reduction="none")


class Categorical(Distribution):
    """One of K categories (the last dim of ``probs``/``logits``; probs are normalised)."""
    _shown = ("probs", "logits")

    def __init__(self, probs=None, logits=None, validate_args=None):
        p, lg = _probs_logits("Categorical", probs, logits)
        src = p if p is not None else lg
        if src.ndim < 1:
            raise ValueError("Categorical: `probs`/`logits` must be at least one-dimensional")
        super().__init__(tuple(src.shape[:-1]), (), validate_args)
        if p is not None:
            self._check(p._data >= 0, "non-negative probs", p)
            self.probs = p / p.sum(-1, keepdim=True)
            self.logits = _ops.log(self.probs)
        else:
            self.logits = lg - _ops.logsumexp(lg, -1, keepdim=True)
            self.probs = _ops.softmax(self.logits, -1)
        self._num_events = int(src.shape[-1])

    @property
    def param_shape(self):
        return self.probs.shape

    @property
    def mean(self):
        return _wrap(np.full(self._batch_shape, np.nan, dtype=self.probs._data.dtype))

    @property
    def variance(self):
        return self.mean

    @property
    def mode(self):
        return self.probs.argmax(-1)

    def sample(self, sample_shape=()):
        shape = _shape(sample_shape) + self._batch_shape
        p = self.probs._data.reshape(-1, self._num_events).astype(np.float64)
        cum = np.cumsum(p, -1)
        n = int(np.prod(_shape(sample_shape), dtype=np.int64))
        u = generator().random((n, p.shape[0], 1)) * cum[None, :, -1:]
        idx = (u >= cum[None]).sum(-1)                      # inverse CDF per row
        return _wrap(np.minimum(idx, self._num_events - 1).astype(np.int64).reshape(shape))

    def log_prob(self, value):
        if not isinstance(value, Tensor):
            value = _wrap(np.asarray(value, dtype=np.int64))
        v = value._data
        self._check((v >= 0) & (v < self._num_events) & (v == np.floor(v)),
                    f"integer values in [0, {self._num_events})", value)
        shape = np.broadcast_shapes(v.shape, self._batch_shape)
        logits = self.logits.expand(shape + (self._num_events,))
        idx = _wrap(np.broadcast_to(v.astype(np.int64), shape)[..., None].copy())
        return logits.gather(-1, idx).squeeze(-1)

    def entropy(self):
        lo = float(np.finfo(self.logits._data.dtype).min)
        return -(self.probs * _ops.clamp(self.logits, min=lo)).sum(-1)

    def enumerate_support(self, expand=True):
        vals = np.arange(self._num_events, dtype=np.int64).reshape(
            (-1,) + (1,) * len(self._batch_shape))
        if expand:
            vals = np.broadcast_to(vals, (self._num_events,) + self._batch_shape).copy()
        return _wrap(vals)


class MultivariateNormal(Distribution):
    """N(loc, Σ) over the last dim, given Σ (``covariance_matrix``), its Cholesky factor
    (``scale_tril``) or its inverse (``precision_matrix``)."""
    has_rsample = True
    _shown = ("loc", "covariance_matrix")

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        given = [m is not None for m in (covariance_matrix, precision_matrix, scale_tril)]
        if sum(given) != 1:
            raise ValueError("MultivariateNormal: exactly one of covariance_matrix or "
                             "precision_matrix or scale_tril may be specified.")
        self.loc = _param(loc)
        if self.loc.ndim < 1:
            raise ValueError("MultivariateNormal: loc must be at least one-dimensional.")
        from .ops import linalg
        self._cov = self._prec = None  # the matrix given, when it was not scale_tril
        if scale_tril is not None:
            self.scale_tril = _param(scale_tril, loc)
        elif covariance_matrix is not None:
            self._cov = _param(covariance_matrix, loc)
            self.scale_tril = linalg.cholesky(self._cov)
        else:
            self._prec = _param(precision_matrix, loc)
            self.scale_tril = linalg.cholesky(linalg.inv(self._prec))
        k = self.loc.shape[-1]
        if tuple(self.scale_tril.shape[-2:]) != (k, k):
            raise ValueError(f"MultivariateNormal: the matrix must be {k} x {k} to match loc, "
                             f"got shape {tuple(self.scale_tril.shape)}")
        batch = np.broadcast_shapes(tuple(self.loc.shape[:-1]),
                                    tuple(self.scale_tril.shape[:-2]))
        super().__init__(batch, (k,), validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def covariance_matrix(self):
        """Σ: as given, or L Lᵀ from ``scale_tril``."""
        return self._cov if self._cov is not None else self.scale_tril @ self.scale_tril.mT

    @property
    def precision_matrix(self):
        """Σ⁻¹: as given, or the inverse of L Lᵀ."""
        from .ops import linalg
        return self._prec if self._prec is not None else linalg.inv(self.covariance_matrix)

    @property
    def variance(self):
        return (self.scale_tril ** 2).sum(-1).expand(self._batch_shape + self._event_shape)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = _wrap(generator().standard_normal(shape).astype(self.loc._data.dtype))
        return self.loc + (self.scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def _half_log_det(self):
        return _ops.log(self.scale_tril.diagonal(0, -2, -1)).sum(-1)

    def log_prob(self, value):
        from .ops import linalg
        diff = _param(value, self.loc) - self.loc
        shape = np.broadcast_shapes(tuple(diff.shape[:-1]), tuple(self.scale_tril.shape[:-2]))
        L = self.scale_tril.expand(shape + tuple(self.scale_tril.shape[-2:]))
        z = linalg.solve_triangular(L, diff.expand(shape + (diff.shape[-1],)).unsqueeze(-1),
                                    upper=False).squeeze(-1)
        k = self._event_shape[0]
        return -0.5 * (k * _LOG_2PI + (z ** 2).sum(-1)) - self._half_log_det()

    def entropy(self):
        k = self._event_shape[0]
        h = 0.5 * k * (1.0 + _LOG_2PI) + self._half_log_det()
        return h.expand(self._batch_shape) if self._batch_shape else h


class Independent(Distribution):
    """Reinterprets the last ``reinterpreted_batch_ndims`` batch dims of ``base_distribution``
    as event dims: ``log_prob`` and ``entropy`` sum over them."""

    def __init__(self, base_distribution, reinterpreted_batch_ndims, validate_args=None):
        n = int(reinterpreted_batch_ndims)
        bs = base_distribution.batch_shape
        if n > len(bs):
            raise ValueError(f"Independent: expected reinterpreted_batch_ndims <= "
                             f"len(base_distribution.batch_shape) = {len(bs)}, got {n}")
        self.base_dist, self._n = base_distribution, n
        self.has_rsample = base_distribution.has_rsample
        super().__init__(bs[:len(bs) - n], bs[len(bs) - n:] + base_distribution.event_shape,
                         validate_args)

    def _sum(self, x):
        return x.sum(tuple(range(-self._n, 0))) if self._n else x

    @property
    def mean(self):
        return self.base_dist.mean

    @property
    def variance(self):
        return self.base_dist.variance

    def sample(self, sample_shape=()):
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value):
        return self._sum(self.base_dist.log_prob(value))

    def entropy(self):
        return self._sum(self.base_dist.entropy())


# ---- KL divergence ------------------------------------------------------------------------------
_KL = {}


def register_kl(type_p, type_q):
    """Decorator registering ``fn(p, q)`` as KL(p || q) for the two distribution types."""
    def deco(fn):
        _KL[(type_p, type_q)] = fn
        return fn
    return deco


def kl_divergence(p, q):
    """KL(p || q) for a registered pair of types (the most specific registration wins)."""
    for tp in type(p).__mro__:
        for tq in type(q).__mro__:
            fn = _KL.get((tp, tq))
            if fn is not None:
                return fn(p, q)
    raise NotImplementedError(f"kl_divergence: no KL(p || q) is implemented for p of type "
                              f"{type(p).__name__} and q of type {type(q).__name__}")


@register_kl(Normal, Normal)
def _kl_normal(p, q):
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - _ops.log(var_ratio))


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli(p, q):
    from .ops.loss import binary_cross_entropy_with_logits as bce
    return bce(q.logits, p.probs, reduction="none") - bce(p.logits, p.probs, reduction="none")


@register_kl(Categorical, Categorical)
def _kl_categorical(p, q):
    t = p.probs * (p.logits - q.logits)
    t = _ops.where(_wrap(p.probs._data == 0), _wrap(np.zeros((), t._data.dtype)), t)
    return t.sum(-1)


@register_kl(Uniform, Uniform)
def _kl_uniform(p, q):
    out = _ops.log((q.high - q.low) / (p.high - p.low))
    outside = (q.low._data > p.low._data) | (q.high._data < p.high._data)
    return _ops.where(_wrap(outside), _wrap(np.array(np.inf, out._data.dtype)), out)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn(p, q):
    from .ops import linalg
    k = p.event_shape[0]
    shape = np.broadcast_shapes(tuple(p.scale_tril.shape), tuple(q.scale_tril.shape))
    Lq, Lp = q.scale_tril.expand(shape), p.scale_tril.expand(shape)
    M = linalg.solve_triangular(Lq, Lp, upper=False)
    diff = (q.loc - p.loc).expand(shape[:-1])
    z = linalg.solve_triangular(Lq, diff.unsqueeze(-1), upper=False).squeeze(-1)
    return (q._half_log_det() - p._half_log_det()
            + 0.5 * ((M ** 2).sum((-2, -1)) + (z ** 2).sum(-1) - k))


@register_kl(Independent, Independent)
def _kl_independent(p, q):
    if p._n != q._n:
        raise NotImplementedError("kl_divergence: Independent distributions with different "
                                  "reinterpreted_batch_ndims")
    return p._sum(kl_divergence(p.base_dist, q.base_dist))
