"""More of PyTorch's numeric functions, each a composition of recorded ops (so gradients and
higher derivatives come from those ops) or, where PyTorch has no gradient, a plain result:

* elementwise: ``nan_to_num``, ``logit``, ``xlogy``, ``sinc``, ``deg2rad``, ``rad2deg``,
  ``float_power``, ``logaddexp2``, ``fmax``/``fmin`` (NaN-ignoring), ``clamp_min``/``clamp_max``,
  ``positive``; ``heaviside`` (no gradient, as PyTorch);
* differences and integrals: ``diff``, ``trapezoid``; distance ``dist``;
* statistics: ``quantile``, ``nanquantile`` (PyTorch's interpolations), ``cov``, ``corrcoef``;
* matrices: ``mv``, ``diagflat``, ``block_diag``, ``vander``, ``chain_matmul``, ``ravel``;
* searching: ``isin``, ``bucketize``, ``searchsorted`` (integer results).
"""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor, _wrap
from . import elementwise as E
from ._registry import op
from ._util import data_of
from .index import gather
from .matrix import vector_norm
from .movement import cat, reshape
from .reduce import sum as _sum

_LN2 = math.log(2.0)


def _t(x, like):
    """A Python number or array as a constant of ``like``'s dtype (Tensors pass through)."""
    if isinstance(x, Tensor):
        return x
    return _wrap(np.asarray(x, dtype=like._data.dtype))


def _float(x, op_name):
    d = data_of(op_name, x)
    return x if d.dtype.kind == "f" else x.to(_default_float())


def _default_float():
    from ..dtypes import get_default_dtype
    return get_default_dtype()


# ---- elementwise --------------------------------------------------------------------------------
@op
def nan_to_num(input, nan=0.0, posinf=None, neginf=None):  # noqa: A002 (torch's names)
    """NaN -> ``nan``, +inf -> ``posinf`` (default: the dtype's largest), -inf -> ``neginf``
    (default: its lowest); the gradient passes where the input is finite."""
    d = data_of("nan_to_num", input)
    if d.dtype.kind not in "fc":
        return input.clone()
    fi = np.finfo(d.dtype)
    hi = fi.max if posinf is None else posinf
    lo = fi.min if neginf is None else neginf
    out = E.where(_wrap(np.isnan(d)), _t(nan, input), input)
    out = E.where(_wrap(np.isposinf(d)), _t(hi, input), out)
    return E.where(_wrap(np.isneginf(d)), _t(lo, input), out)


@op
def logit(input, eps=None):  # noqa: A002
    """log(p / (1 - p)), with p clamped to [eps, 1 - eps] first when ``eps`` is given."""
    x = _float(input, "logit")
    if eps is not None:
        x = E.clamp(x, eps, 1 - eps)
    return E.log(x) - E.log1p(-x)


@op
def xlogy(input, other):  # noqa: A002
    """x · log(y), and 0 where x == 0 (unless y is NaN), as PyTorch."""
    x = input if isinstance(input, Tensor) else _t(input, other)
    y = other if isinstance(other, Tensor) else _t(other, x)
    x, y = _float(x, "xlogy"), _float(y, "xlogy")
    zero = (x._data == 0) & ~np.isnan(y._data)
    safe_y = E.where(_wrap(zero), _t(1.0, y), y)
    return E.where(_wrap(zero), _t(0.0, x), x * E.log(safe_y))


@op
def sinc(input):  # noqa: A002
    """sin(πx)/(πx), and 1 at x = 0, where its Taylor polynomial 1 - (πx)²/6 stands in so
    that the first and second derivatives there are exact (0 and -π²/3; PyTorch: 0, NaN)."""
    x = _float(input, "sinc")
    zero = _wrap(x._data == 0)
    px = E.where(zero, _t(1.0, x), x) * math.pi
    return E.where(zero, 1 - (x * math.pi) ** 2 / 6, E.sin(px) / px)


@op
def deg2rad(input):  # noqa: A002
    return _float(input, "deg2rad") * (math.pi / 180.0)


@op
def rad2deg(input):  # noqa: A002
    return _float(input, "rad2deg") * (180.0 / math.pi)


@op
def float_power(input, exponent):  # noqa: A002
    """``pow`` in float64 (PyTorch's float_power)."""
    x = input.double() if isinstance(input, Tensor) else input
    e = exponent.double() if isinstance(exponent, Tensor) else exponent
    if not isinstance(x, Tensor):
        x = _wrap(np.asarray(x, dtype=np.float64))
    return E.pow(x, e)


@op
def logaddexp2(input, other):  # noqa: A002
    """log2(2^x + 2^y), computed stably."""
    m = E.maximum(input, other).detach()
    return m + E.log(E.exp((input - m) * _LN2) + E.exp((other - m) * _LN2)) / _LN2


def _nan_pick(op_name, a, b, take_max):
    ad, bd = data_of(op_name, a), data_of(op_name, b, "other")
    pick_b = np.isnan(ad) | (bd > ad if take_max else bd < ad)
    pick_b &= ~np.isnan(bd)
    return E.where(_wrap(np.asarray(pick_b)), b, a)


@op
def fmax(input, other):  # noqa: A002
    """Elementwise maximum ignoring NaN (NaN only where both are NaN)."""
    return _nan_pick("fmax", input, other, True)


@op
def fmin(input, other):  # noqa: A002
    """Elementwise minimum ignoring NaN (NaN only where both are NaN)."""
    return _nan_pick("fmin", input, other, False)


@op
def clamp_min(input, min):  # noqa: A002
    return E.clamp(input, min=min)


@op
def clamp_max(input, max):  # noqa: A002
    return E.clamp(input, max=max)


@op
def positive(input):  # noqa: A002
    data_of("positive", input)
    if input._data.dtype == np.bool_:
        raise TypeError("positive: the `+` operator, on a bool tensor is not supported.")
    return input


@op
def heaviside(input, values):  # noqa: A002
    """0 where x < 0, ``values`` where x == 0, 1 where x > 0 (no gradient, as PyTorch)."""
    d, v = data_of("heaviside", input), data_of("heaviside", values, "values")
    return _wrap(np.heaviside(d, v).astype(np.result_type(d, v)))


# ---- differences, integrals, distance ---------------------------------------------------------
@op
def diff(input, n=1, dim=-1, prepend=None, append=None):  # noqa: A002
    """The n-th forward difference along ``dim`` (after ``prepend``/``append``)."""
    x = input
    parts = [p for p in (prepend, x, append) if p is not None]
    if len(parts) > 1:
        x = cat(parts, dim)
    for _ in range(int(n)):
        L = x.shape[dim]
        if L == 0:
            break
        a, b = x.narrow(dim, 1, L - 1), x.narrow(dim, 0, L - 1)
        x = (a != b) if x._data.dtype == np.bool_ else a - b
    return x


@op
def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoidal rule along ``dim``: spacing ``dx`` (default 1) or sample points ``x``."""
    L = y.shape[dim]
    if L == 0:
        return _sum(y, dim) * 0
    mid = (y.narrow(dim, 1, L - 1) + y.narrow(dim, 0, L - 1)) / 2
    if x is None:
        return _sum(mid, dim) * (1.0 if dx is None else dx)
    dxs = diff(x, dim=dim if x.ndim == y.ndim else -1)
    return _sum(mid * dxs, dim)


@op
def dist(input, other, p=2):  # noqa: A002
    """‖input − other‖_p over all elements."""
    return vector_norm(input - other, float(p))


# ---- statistics ---------------------------------------------------------------------------------
_INTERP = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(op_name, input, q, dim, keepdim, interpolation, ignore_nan):
    d = data_of(op_name, input)
    if d.dtype.kind != "f":
        raise RuntimeError(f"{op_name}() input tensor must be either float or double dtype")
    if interpolation not in _INTERP:
        raise ValueError(f"{op_name}() interpolation must be one of linear, lower, higher, "
                         f"midpoint or nearest. Got {interpolation}")
    qd = q._data if isinstance(q, Tensor) else np.asarray(q, dtype=np.float64)
    scalar_q = qd.ndim == 0
    if qd.ndim > 1:
        raise RuntimeError(f"{op_name}() q must be a scalar or 1D tensor")
    qd = np.atleast_1d(qd).astype(np.float64)
    if np.any((qd < 0) | (qd > 1)) or np.any(np.isnan(qd)):
        raise RuntimeError(f"{op_name}() q values must be in the range [0, 1]")
    x = input
    if dim is None:
        x, dim, keep_shape = reshape(x, (-1,)), 0, (1,) * d.ndim
    else:
        dim = dim % max(d.ndim, 1)
        keep_shape = None
    x = x.movedim(dim, -1)
    xd = x._data
    if xd.shape[-1] == 0:
        raise RuntimeError(f"{op_name}() input tensor cannot be empty")
    s = x.sort(-1).values                                  # NaN last
    nans = np.isnan(xd)
    n = (~nans).sum(-1) if ignore_nan else np.full(xd.shape[:-1], xd.shape[-1])
    outs = []
    for qq in qd:
        pos = qq * (n - 1).astype(np.float64)
        if interpolation == "lower":
            lo = hi = np.floor(pos)
        elif interpolation == "higher":
            lo = hi = np.ceil(pos)
        elif interpolation == "nearest":
            lo = hi = np.rint(pos)
        else:
            lo, hi = np.floor(pos), np.ceil(pos)
        lo_i = np.clip(lo, 0, None).astype(np.int64)[..., None]
        hi_i = np.clip(hi, 0, None).astype(np.int64)[..., None]
        a = gather(s, -1, _wrap(lo_i)).squeeze(-1)
        b = gather(s, -1, _wrap(hi_i)).squeeze(-1)
        if interpolation == "linear":
            w = _wrap((pos - lo).astype(xd.dtype))
            v = a + (b - a) * w
        elif interpolation == "midpoint":
            v = (a + b) / 2
        else:
            v = a
        bad = (n == 0) if ignore_nan else nans.any(-1)
        if bad.any():
            v = E.where(_wrap(bad), _wrap(np.array(np.nan, dtype=xd.dtype)), v)
        if keepdim:
            v = v.reshape(keep_shape) if keep_shape is not None else v.unsqueeze(dim)
        outs.append(v)
    from .movement import stack
    return outs[0] if scalar_q else stack(outs, 0)


@op
def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):  # noqa: A002
    """The q-th quantiles along ``dim`` (all elements when None); NaN where a NaN is present.
    A 1-D ``q`` adds a leading dimension, one entry per q."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


@op
def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):  # noqa: A002
    """``quantile`` ignoring NaN (NaN only where every value is NaN)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)


@op
def cov(input, *, correction=1, fweights=None, aweights=None):  # noqa: A002
    """Covariance of the rows (variables) of ``input`` over its columns (observations), with
    optional integer frequency and float observation weights (PyTorch's/numpy's formula)."""
    x = input if input.ndim == 2 else input.reshape(1, -1)
    if input.ndim > 2:
        raise ValueError(f"cov(): expected input to have two or fewer dimensions but got an "
                         f"input with {input.ndim} dimensions")
    x = _float(x, "cov")
    N = x.shape[1]
    w = None
    if fweights is not None:
        w = fweights.to(x.dtype)
    if aweights is not None:
        w = aweights.to(x.dtype) if w is None else w * aweights.to(x.dtype)
    if w is None:
        wsum = float(N)
        avg = x.mean(1, keepdim=True)
        norm = N - correction
    else:
        wsum = _sum(w)
        avg = _sum(x * w, 1, keepdim=True) / wsum
        if correction == 0:
            norm = wsum
        elif aweights is None:
            norm = wsum - correction
        else:
            norm = wsum - correction * _sum(w * aweights.to(x.dtype)) / wsum
    xm = x - avg
    xw = xm if w is None else xm * w
    c = xw @ xm.transpose(0, 1)
    if not isinstance(norm, Tensor):
        norm = max(norm, 0)
    c = c / norm
    return c.squeeze() if input.ndim < 2 else c


@op
def corrcoef(input):  # noqa: A002
    """Pearson correlation coefficients of the rows, clipped to [-1, 1] as PyTorch."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    dg = E.sqrt(c.diagonal())
    c = c / dg.unsqueeze(1) / dg.unsqueeze(0)
    return E.clamp(c, -1, 1)


# ---- matrices -----------------------------------------------------------------------------------
@op
def mv(input, vec):  # noqa: A002
    """Matrix (n, m) times vector (m,)."""
    a, v = data_of("mv", input), data_of("mv", vec, "vec")
    if a.ndim != 2 or v.ndim != 1 or a.shape[1] != v.shape[0]:
        raise RuntimeError(f"mv: expected a matrix (n, m) and a vector (m,), got {a.shape} and "
                           f"{v.shape}")
    return input @ vec


@op
def diagflat(input, offset=0):  # noqa: A002
    """A matrix with the flattened input on its ``offset``-th diagonal."""
    from .shape import diag
    return diag(reshape(input, (-1,)), offset)


@op
def ravel(input):  # noqa: A002
    return reshape(input.contiguous(), (-1,))


@op(methods=())
def block_diag(*tensors):
    """The tensors (0-, 1- or 2-D) as blocks down the diagonal of one matrix."""
    from .creation import zeros
    mats = []
    for t in tensors:
        data_of("block_diag", t, "tensors")
        mats.append(t.reshape(1, -1) if t.ndim < 2 else t)
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer "
                               f"dimensions. Input has {t.ndim} dimensions")
    if not mats:
        return zeros(1, 0)
    dt = np.result_type(*[m._data.dtype for m in mats])
    C = sum(m.shape[1] for m in mats)
    rows, col = [], 0
    for m in mats:
        left = zeros(m.shape[0], col, dtype=dt)
        right = zeros(m.shape[0], C - col - m.shape[1], dtype=dt)
        rows.append(cat([left, m.to(dt), right], 1))
        col += m.shape[1]
    return cat(rows, 0)


@op(methods=())
def vander(x, N=None, increasing=False):
    """Columns x^(N-1), ..., x^0 (``increasing``: x^0, ..., x^(N-1)), PyTorch's torch.vander."""
    d = data_of("vander", x, "x")
    if d.ndim != 1:
        raise RuntimeError(f"x must be a one-dimensional tensor, got shape {d.shape}")
    N = d.shape[0] if N is None else int(N)
    if N < 0:
        raise RuntimeError("N must be non-negative.")
    if N == 0:
        return _wrap(np.zeros((d.shape[0], 0), dtype=d.dtype if d.dtype.kind == "f" else np.int64))
    powers = [x ** 0 if k == 0 else x ** k for k in range(N)]
    from .movement import stack
    out = stack(powers if increasing else powers[::-1], 1)
    if d.dtype.kind in "iub":
        out = out.to(np.int64)
    return out


@op(methods=())
def chain_matmul(*matrices):
    """The product of the matrices, left to right (PyTorch's deprecated name for
    ``linalg.multi_dot``)."""
    from .linalg import multi_dot
    return multi_dot(list(matrices))


# ---- searching ----------------------------------------------------------------------------------
@op
def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each element is among ``test_elements`` (a bool tensor; ``invert`` negates)."""
    e = elements._data if isinstance(elements, Tensor) else np.asarray(elements)
    t = test_elements._data if isinstance(test_elements, Tensor) else np.asarray(test_elements)
    return _wrap(np.isin(e, t, invert=invert))


def _search(op_name, seq, values, right, out_int32, sorter=None):
    s = data_of(op_name, seq, "sorted_sequence")
    v = values._data if isinstance(values, Tensor) else np.asarray(values)
    side = "right" if right else "left"
    if sorter is not None:
        order = sorter._data if isinstance(sorter, Tensor) else np.asarray(sorter)
        s = np.take_along_axis(s, order, -1)
    if s.ndim <= 1:
        out = np.searchsorted(s, v, side=side)
    else:
        if s.shape[:-1] != v.shape[:-1]:
            raise RuntimeError(f"{op_name}: boundaries tensor should be 1 dimension or the "
                               f"first N-1 dimensions of boundaries tensor and input value "
                               f"tensor must match, but we got boundaries tensor {s.shape} "
                               f"and input value tensor {v.shape}")
        flat_s, flat_v = s.reshape(-1, s.shape[-1]), v.reshape(-1, v.shape[-1])
        out = np.stack([np.searchsorted(a, b, side=side) for a, b in zip(flat_s, flat_v)])
        out = out.reshape(v.shape)
    return _wrap(np.asarray(out).astype(np.int32 if out_int32 else np.int64))


@op
def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,  # noqa: A002
                 sorter=None):
    """Indices at which to insert ``input`` into ``sorted_sequence`` (last dim) to keep it
    sorted: the first such place, or the last with ``right=True``/``side='right'``."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites")
        right = side == "right"
    return _search("searchsorted", sorted_sequence, input, right, out_int32, sorter)


@op
def bucketize(input, boundaries, *, out_int32=False, right=False):  # noqa: A002
    """The bucket of each value among 1-D ``boundaries`` (``searchsorted`` with the roles
    of the arguments swapped; ``right`` as there)."""
    b = data_of("bucketize", boundaries, "boundaries")
    if b.ndim != 1:
        raise RuntimeError(f"bucketize: boundaries tensor must be 1 dimension, but got dim("
                           f"{b.ndim})")
    return _search("bucketize", boundaries, input, right, out_int32)
