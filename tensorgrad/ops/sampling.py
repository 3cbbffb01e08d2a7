"""Random tensors with PyTorch's signatures: ``rand``, ``randn``, ``randint``, ``randperm``,
``normal``, ``multinomial``, ``bernoulli``, ``poisson``, the ``*_like`` forms, and the in-place
fills ``normal_``, ``uniform_``, ``bernoulli_``, ``random_``, ``exponential_``,
``geometric_``, ``log_normal_``, ``cauchy_``.

Each draws from ``generator=`` (a ``tg.Generator``) or the default generator
(``tg.manual_seed``). Distributions are PyTorch's; the streams are numpy's (PCG64), so a seed
reproduces tensorgrad's numbers, not PyTorch's.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..dtypes import as_dtype, default_float, name as dtype_name, result_type
from ..random import numpy_generator
from ..tensor import Tensor
from ._registry import named, op, tensor_method
from .creation import check_options, finish, like_dtype, size_arg
from .inplace import _inplace, constant_like


def _float_dt(dtype, where):
    dt = default_float() if dtype is None else as_dtype(dtype, where)
    if dt.kind != "f":
        raise RuntimeError(f"{where}: expected a floating point dtype, got {dtype_name(dt)}")
    return dt


def _draw(dt):
    """The dtype numpy's samplers produce for ``dt`` (they know float32 and float64)."""
    return dt if dt in (np.float32, np.float64) else np.dtype(np.float64)


def _uniform(rng, shape, dt):
    return rng.random(shape, dtype=_draw(dt)).astype(dt, copy=False)


def _normal(rng, shape, dt):
    return rng.standard_normal(shape, dtype=_draw(dt)).astype(dt, copy=False)


def _float_sampler(name, draw, doc):
    """``rand`` and ``randn``: a tensor of float samples ``draw(rng, shape, dtype)``."""
    def sample(*args, size=None, generator=None, dtype=None, layout=None, device=None,
               requires_grad=False, pin_memory=False):
        check_options(name, device, layout, pin_memory)
        dt = _float_dt(dtype, name)
        return finish(draw(numpy_generator(generator, name), size_arg(name, args, size), dt),
                      requires_grad)
    return op(named(sample, name, doc), methods=())


rand = _float_sampler("rand", _uniform, "Uniform samples on [0, 1).")
randn = _float_sampler("randn", _normal, "Standard normal samples.")


def _int_bounds(low, high, where):
    for v in (low, high):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{where}: low and high must be ints, got {v!r}")
    if low >= high:
        raise RuntimeError(f"{where}: random_ expects 'from' to be less than 'to', but got "
                           f"from={low} >= to={high}")


def _integers(rng, low, high, shape, dt):
    draw = dt if dt.kind in "iu" and np.iinfo(dt).min <= low and high - 1 <= np.iinfo(dt).max \
        else np.dtype(np.int64)
    return rng.integers(low, high, size=shape, dtype=draw).astype(dt, copy=False)


@op(methods=())
def randint(*args, size=None, generator=None, dtype=None, layout=None, device=None,
            requires_grad=False, low=None, high=None):
    """``randint(high, size)`` or ``randint(low, high, size)`` (each also by keyword):
    integers in [low, high), int64 unless ``dtype`` says otherwise."""
    check_options("randint", device, layout)
    args = list(args)
    if high is not None:  # keywords: randint(low=..., high=..., size=...)
        if len(args) > (0 if low is not None else 1):
            raise TypeError("randint: bounds given both positionally and by keyword")
        args = [low if low is not None else (args[0] if args else 0), high]
    elif low is not None:
        raise TypeError("randint: low= given without high=")
    if size is None:
        if not args or not isinstance(args[-1], (tuple, list)):
            raise TypeError("randint: expected randint(high, size) or randint(low, high, size) "
                            "with size a tuple of ints")
        size = args.pop()
    if len(args) == 1:
        low, high = 0, args[0]
    elif len(args) == 2:
        low, high = args
    else:
        raise TypeError(f"randint: expected randint(high, size) or randint(low, high, size), "
                        f"got {len(args)} bounds")
    low, high = (v.item() if isinstance(v, Tensor) else v for v in (low, high))
    _int_bounds(low, high, "randint")
    dt = as_dtype(dtype, "randint") or np.dtype(np.int64)
    arr = _integers(numpy_generator(generator, "randint"), int(low), int(high),
                    size_arg("randint", (size,)), dt)
    return finish(arr, requires_grad)


@op(methods=())
def randperm(n, generator=None, dtype=None, layout=None, device=None, requires_grad=False,
             pin_memory=False):
    """A random permutation of 0 .. n-1 (int64)."""
    check_options("randperm", device, layout, pin_memory)
    n = size_arg("randperm", (n,))[0]
    dt = as_dtype(dtype, "randperm") or np.dtype(np.int64)
    return finish(numpy_generator(generator, "randperm").permutation(n).astype(dt), requires_grad)


@op(methods=())
def rand_like(input, generator=None, dtype=None, layout=None, device=None,  # noqa: A002
              requires_grad=False, memory_format=None):
    dt = like_dtype("rand_like", input, dtype, layout, device, memory_format=memory_format)
    return rand(input._data.shape, generator=generator, dtype=dt, requires_grad=requires_grad)


@op(methods=())
def randn_like(input, generator=None, dtype=None, layout=None, device=None,  # noqa: A002
               requires_grad=False, memory_format=None):
    dt = like_dtype("randn_like", input, dtype, layout, device, memory_format=memory_format)
    return randn(input._data.shape, generator=generator, dtype=dt, requires_grad=requires_grad)


@op(methods=())
def randint_like(input, low=0, high=None, generator=None, dtype=None, layout=None,  # noqa: A002
                 device=None, requires_grad=False, memory_format=None):
    """``randint_like(input, high)`` or ``randint_like(input, low, high)``."""
    dt = like_dtype("randint_like", input, dtype, layout, device, memory_format=memory_format)
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input._data.shape), generator=generator, dtype=dt,
                   requires_grad=requires_grad)


# ---- distributions over given parameters ------------------------------------------------------
def _param(x):
    return x._data if isinstance(x, Tensor) else x


@op(methods=())
def normal(mean=0.0, std=1.0, size=None, generator=None, dtype=None, layout=None, device=None,
           requires_grad=False, pin_memory=False):
    """``normal(mean, std)`` with tensors for either (broadcast; the result's dtype is
    theirs), or ``normal(mean, std, size)`` with two floats. Samples carry no gradient to
    ``mean``/``std`` (PyTorch's: zero)."""
    rng = numpy_generator(generator, "normal")
    tens = [x for x in (mean, std) if isinstance(x, Tensor)]
    if size is not None or not tens:
        if tens:
            raise TypeError("normal: size= is only for float mean and std")
        if size is None:
            raise TypeError("normal: give mean and std as tensors, or a size with float "
                            "mean and std")
        check_options("normal", device, layout, pin_memory)
        dt = _float_dt(dtype, "normal")
        return finish(float(mean) + float(std) * _normal(rng, size_arg("normal", (size,)), dt),
                      requires_grad)
    s = _param(std)
    if np.any(np.asarray(s) < 0):
        raise RuntimeError("normal: expected all elements of std >= 0.0")
    dt = result_type(*tens)
    shape = np.broadcast_shapes(np.shape(_param(mean)), np.shape(s))
    arr = (_param(mean) + s * _normal(rng, shape, np.dtype(dt))).astype(dt, copy=False)
    out = finish(np.ascontiguousarray(arr))
    src = tens[0] if len(tens) == 1 or tens[0].requires_grad else tens[1]
    return constant_like(src, out._data) if src.requires_grad else out


def _probs(input, where):
    p = input._data
    if p.dtype.kind != "f":
        raise RuntimeError(f"{where}: expected a floating point tensor of probabilities, got "
                           f"{dtype_name(p.dtype)}")
    return p


@op
def bernoulli(input, p=None, generator=None):  # noqa: A002
    """Draws 0/1 with probability ``input`` (elementwise, in [0, 1]) or ``p`` (a float, the
    shape of ``input``); the result has ``input``'s dtype."""
    rng = numpy_generator(generator, "bernoulli")
    if p is None:
        probs = _probs(input, "bernoulli")
        if probs.size and (np.nanmin(probs) < 0 or np.nanmax(probs) > 1 or np.isnan(probs).any()):
            raise RuntimeError("bernoulli: expected all probabilities in [0, 1]")
    else:
        if not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli: expected p in [0, 1], got {p}")
        probs = p
    arr = (rng.random(input._data.shape) < probs).astype(input._data.dtype)
    return constant_like(input, arr) if input.requires_grad else finish(arr)


@op
def poisson(input, generator=None):  # noqa: A002
    """Poisson samples with rates ``input``."""
    rates = _probs(input, "poisson")
    if np.any(rates < 0):
        raise RuntimeError("poisson: expected all rates >= 0")
    arr = numpy_generator(generator, "poisson").poisson(rates).astype(rates.dtype)
    return finish(arr)


@op
def multinomial(input, num_samples, replacement=False, generator=None):  # noqa: A002
    """Category indices (int64) drawn with weights ``input`` (a vector, or one row per draw
    set); without replacement each category is drawn at most once."""
    w = _probs(input, "multinomial")
    if w.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got {w.ndim}")
    n = w.shape[-1]
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or "
                           "element < 0")
    rows = w.reshape(-1, n).astype(np.float64)
    if np.any(rows.sum(1) <= 0):
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of "
                           "probabilities <= 0)")
    k = int(num_samples)
    if k <= 0:
        raise RuntimeError(f"multinomial: cannot sample n_sample <= 0 samples, got {k}")
    rng = numpy_generator(generator, "multinomial")
    if not replacement:
        if k > n:
            raise RuntimeError(f"multinomial: cannot sample n_sample > prob_dist.size(-1) "
                               f"samples without replacement ({k} > {n})")
        if np.any((rows > 0).sum(1) < k):
            raise RuntimeError("multinomial: invalid multinomial distribution (with "
                               "replacement=False, not enough non-negative category to sample)")
        # Gumbel-top-k: the k largest log w + Gumbel noise are a draw without replacement
        with np.errstate(divide="ignore"):
            keys = np.log(rows) - np.log(-np.log(rng.random(rows.shape)))
        out = np.argsort(-keys, axis=1, kind="stable")[:, :k]
    else:
        cdf = np.cumsum(rows, axis=1)
        u = rng.random((rows.shape[0], k)) * cdf[:, -1:]
        out = np.stack([np.searchsorted(c, x, side="right") for c, x in zip(cdf, u)])
        out = np.minimum(out, n - 1)
    out = out.astype(np.int64).reshape(w.shape[:-1] + (k,))
    return finish(out)


# ---- in-place fills ---------------------------------------------------------------------------
def _fill_with(self, name, draw):
    """Replace ``self``'s values by ``draw(shape, dtype)`` (recorded with a zero gradient)."""
    return _inplace(self, name, lambda a, _: constant_like(a, draw(a._data.shape, a._data.dtype)),
                    cast=False)


def _check_float(self, name):
    if self._data.dtype.kind != "f":
        raise NotImplementedError(f"{name}: not implemented for {dtype_name(self._data.dtype)} "
                                  f"tensors (a floating point tensor is expected)")


@tensor_method("normal_")
def normal_(self, mean=0.0, std=1.0, generator=None):
    _check_float(self, "normal_")
    if std < 0:
        raise RuntimeError(f"normal_: expects std >= 0.0, but found std {std}")
    rng = numpy_generator(generator, "normal_")
    return _fill_with(self, "normal_", lambda s, dt: mean + std * _normal(rng, s, dt))


@tensor_method("uniform_")
def uniform_(self, a=0.0, b=1.0, generator=None, **kwargs):
    """``uniform_(from=0, to=1)`` (``from`` is a Python keyword; positional use is usual)."""
    a, b = kwargs.pop("from", a), kwargs.pop("to", b)
    if kwargs:
        raise TypeError(f"uniform_: unexpected keyword(s) {sorted(kwargs)}")
    _check_float(self, "uniform_")
    if a > b:
        raise RuntimeError(f"uniform_: expects to return a [from, to) range, but found "
                           f"from={a} > to={b}")
    rng = numpy_generator(generator, "uniform_")
    return _fill_with(self, "uniform_", lambda s, dt: a + (b - a) * _uniform(rng, s, dt))


@tensor_method("bernoulli_")
def bernoulli_(self, p=0.5, generator=None):
    rng = numpy_generator(generator, "bernoulli_")
    probs = p._data if isinstance(p, Tensor) else p
    if np.any(np.asarray(probs) < 0) or np.any(np.asarray(probs) > 1):
        raise RuntimeError("bernoulli_: expected p in [0, 1]")
    return _fill_with(self, "bernoulli_", lambda s, dt: (rng.random(s) < probs).astype(dt))


@tensor_method("random_")
def random_(self, a=None, b=None, generator=None, **kwargs):
    """``random_()``: integers over the dtype's range (floats: [0, 2**mantissa]);
    ``random_(to)``: [0, to); ``random_(from, to)``: [from, to)."""
    a, b = kwargs.pop("from", a), kwargs.pop("to", b)
    if kwargs:
        raise TypeError(f"random_: unexpected keyword(s) {sorted(kwargs)}")
    dt = self._data.dtype
    if a is None and b is None:
        if dt.kind == "f":
            lo, hi = 0, 2 ** (np.finfo(dt).nmant + 1) + 1
        elif dt.kind == "b":
            lo, hi = 0, 2
        else:
            lo, hi = 0, int(np.iinfo(dt).max) + 1
    elif b is None:
        lo, hi = 0, a
    else:
        lo, hi = a, b
    _int_bounds(lo, hi, "random_")
    rng = numpy_generator(generator, "random_")
    return _fill_with(self, "random_", lambda s, d: _integers(rng, lo, hi, s, d))


@tensor_method("exponential_")
def exponential_(self, lambd=1.0, generator=None):
    _check_float(self, "exponential_")
    if lambd <= 0:
        raise RuntimeError(f"exponential_: expects lambd > 0.0, but found lambd={lambd}")
    rng = numpy_generator(generator, "exponential_")
    return _fill_with(self, "exponential_",
                      lambda s, dt: rng.exponential(1.0 / lambd, s).astype(dt))


@tensor_method("geometric_")
def geometric_(self, p, generator=None):
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_: expects p to be in (0, 1), but got p={p}")
    rng = numpy_generator(generator, "geometric_")
    return _fill_with(self, "geometric_", lambda s, dt: rng.geometric(p, s).astype(dt))


@tensor_method("log_normal_")
def log_normal_(self, mean=1.0, std=2.0, generator=None):
    _check_float(self, "log_normal_")
    rng = numpy_generator(generator, "log_normal_")
    return _fill_with(self, "log_normal_", lambda s, dt: rng.lognormal(mean, std, s).astype(dt))


@tensor_method("cauchy_")
def cauchy_(self, median=0.0, sigma=1.0, generator=None):
    _check_float(self, "cauchy_")
    rng = numpy_generator(generator, "cauchy_")
    return _fill_with(self, "cauchy_",
                      lambda s, dt: (median + sigma * rng.standard_cauchy(s)).astype(dt))
