"""Embeddings (PyTorch's ``F.embedding``/``F.embedding_bag`` and ``nn.Embedding``/
``nn.EmbeddingBag``): rows of a weight table picked by integer indices.

* Indices must lie in [0, num_embeddings): a negative index raises IndexError, as PyTorch.
  They come as an integer tensor or (**tg**, used by ``tensorgrad.text``) an integer numpy
  array; lists and float arrays are refused with a TypeError, as PyTorch refuses them.
* ``padding_idx``: that row gets no gradient (and starts at zero in the modules).
* ``max_norm``: before the lookup, every referenced row whose ``norm_type``-norm exceeds
  ``max_norm`` is rescaled in place to norm ``max_norm`` (PyTorch's ``embedding_renorm_``:
  factor max_norm / (norm + 1e-7)), outside autograd.
* ``scale_grad_by_freq``: each row's gradient is divided by how often its index occurs in the
  mini-batch.
* ``sparse=True`` is accepted, but the gradient is a dense tensor (same values; tensorgrad
  has no sparse tensors).

Gradient scaling (padding, frequencies) is ``w.detach() + (w − w.detach()) · s``: the value
is exactly ``w``, the gradient is scaled by ``s``, and second derivatives still flow.
"""
from __future__ import annotations

import numpy as np

from .. import ops as _ops
from ..ops._util import TargetOutOfRangeError, as_tensor_arg, int_indices
from ..tensor import Tensor, _wrap
from . import init
from .module import Module, Parameter, check_factory_kwargs

__all__ = ["Embedding", "EmbeddingBag"]


def _check(op, input, weight):
    if not (isinstance(input, np.ndarray) and input.dtype.kind in "iu"):
        input = as_tensor_arg(input, op, "indices")  # (integer numpy arrays are accepted)
    idx = int_indices(input, op)
    if not isinstance(weight, Tensor) or weight._data.ndim != 2:
        raise ValueError(f"{op}: weight must be a 2-D tensor (num_embeddings, embedding_dim), "
                         f"got {getattr(weight, 'shape', type(weight).__name__)}")
    n = weight._data.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = int(idx.max()) if idx.max() >= n else int(idx.min())
        raise TargetOutOfRangeError(f"{op}: index {bad} is out of range for {n} embeddings "
                                    f"(indices must be in [0, {n}); negative indices are not "
                                    f"allowed, as in PyTorch)")
    return idx.astype(np.int64, copy=False), n


def _pad_index(padding_idx, n, op):
    if padding_idx is None:
        return None
    if not -n <= padding_idx < n:
        raise ValueError(f"{op}: padding_idx {padding_idx} must be within [-{n}, {n})")
    return padding_idx + n if padding_idx < 0 else padding_idx


def _renorm_(weight, idx, max_norm, norm_type):
    rows = np.unique(idx)
    w = weight._data
    norms = np.linalg.norm(w[rows], ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        w[rows[big]] *= (max_norm / (norms[big] + 1e-7))[:, None].astype(w.dtype)
        weight._version += 1


def _grad_scale(idx, n, padding_idx, scale_grad_by_freq, dtype):
    """Per-lookup gradient factor, or None when every factor is 1."""
    scale = None
    if scale_grad_by_freq:
        counts = np.bincount(idx.ravel(), minlength=n)
        scale = 1.0 / counts[idx]
    if padding_idx is not None and (idx == padding_idx).any():
        scale = np.where(idx == padding_idx, 0.0, 1.0 if scale is None else scale)
    return None if scale is None else scale.astype(dtype)[..., None]


def _scaled(out, scale):
    if scale is None:
        return out
    d = out.detach()
    return d + (out - d) * _wrap(scale)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` (num_embeddings, dim) picked by integer ``input`` (any shape); the
    gradient of a row accumulates over repeated indices."""
    op = "embedding"
    idx, n = _check(op, input, weight)
    padding_idx = _pad_index(padding_idx, n, op)
    if max_norm is not None:
        _renorm_(weight, idx, max_norm, norm_type)
    out = weight[idx]
    return _scaled(out, _grad_scale(idx, n, padding_idx, scale_grad_by_freq,
                                    weight._data.dtype))


def _bags(op, idx, offsets, include_last_offset):
    """Bag number of every looked-up index, and the number of bags."""
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError(f"{op}: if input is 2D, then offsets has to be None, as input is "
                             f"treated as a mini-batch of fixed length sequences")
        B, L = idx.shape
        return np.repeat(np.arange(B), L), B, idx.reshape(-1)
    if idx.ndim != 1:
        raise ValueError(f"{op}: input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{idx.ndim}")
    if offsets is None:
        raise ValueError(f"{op}: offsets has to be a 1D Tensor but got None")
    off = int_indices(offsets, op, "offsets").reshape(-1).astype(np.int64)
    if off.size == 0 or off[0] != 0 or np.any(np.diff(off) < 0) or off[-1] > idx.size:
        raise ValueError(f"{op}: offsets must start at 0, be non-decreasing and stay within "
                         f"the {idx.size} indices, got {off.tolist()}")
    # with include_last_offset the last offset closes the last bag; PyTorch's kernel then
    # runs that bag to the end of the input, and so does this
    starts = off[:-1] if include_last_offset else off
    ends = np.append(starts[1:], idx.size)
    bag = np.empty(idx.size, dtype=np.int64)
    for b, (s, e) in enumerate(zip(starts, ends)):
        bag[s:e] = b
    return bag, len(starts), idx


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2,
                  scale_grad_by_freq=False, mode="mean", sparse=False, per_sample_weights=None,
                  include_last_offset=False, padding_idx=None):
    """Sum, mean or max of the embeddings of each bag: rows of a 2-D ``input``, or the
    ``offsets``-delimited runs of a 1-D one; ``padding_idx`` entries are left out (an empty
    bag gives zeros); ``per_sample_weights`` scale each row (mode 'sum' only)."""
    op = "embedding_bag"
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"{op}: mode has to be one of sum, mean or max, got {mode!r}")
    idx, n = _check(op, input, weight)
    padding_idx = _pad_index(padding_idx, n, op)
    bag, B, flat = _bags(op, idx, offsets, include_last_offset)
    if max_norm is not None:
        _renorm_(weight, flat, max_norm, norm_type)
    keep = bag >= 0
    if padding_idx is not None:
        keep &= flat != padding_idx
    rows = _scaled(weight[flat], _grad_scale(flat, n, None, scale_grad_by_freq,
                                             weight._data.dtype))
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(f"{op}: embedding_bag: per_sample_weights was not None. "
                                      f"per_sample_weights is only supported for mode='sum' "
                                      f"(got mode='{mode}')")
        psw = per_sample_weights if isinstance(per_sample_weights, Tensor) else \
            _wrap(np.asarray(per_sample_weights))
        rows = rows * psw.reshape(-1, 1)
    if mode == "max":
        outs = []
        for b in range(B):
            sel = np.nonzero(keep & (bag == b))[0]
            outs.append(_ops.amax(rows[sel], dim=0) if sel.size else
                        _wrap(np.zeros(weight._data.shape[1], weight._data.dtype)))
        return _ops.stack(outs, 0)
    member = np.zeros((B, flat.size), dtype=weight._data.dtype)  # bag-membership matrix
    member[bag[keep], np.nonzero(keep)[0]] = 1.0
    if mode == "mean":
        member /= np.maximum(member.sum(1, keepdims=True), 1.0)
    return _wrap(member) @ rows


class Embedding(Module):
    """A lookup table: ``weight`` (num_embeddings, embedding_dim) ~ N(0, 1) (PyTorch's init);
    the ``padding_idx`` row starts at zero and gets no gradient."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None):
        super().__init__()
        cls = type(self).__name__
        dt = check_factory_kwargs(cls, device, dtype)
        self.num_embeddings = int(num_embeddings)
        self.embedding_dim = int(embedding_dim)
        self.padding_idx = _pad_index(padding_idx, self.num_embeddings, cls)
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(_wrap(np.zeros((self.num_embeddings, self.embedding_dim),
                                                   dtype=dt)))
            self.reset_parameters()
        else:
            w = _weight._data if isinstance(_weight, Tensor) else np.asarray(_weight)
            if w.shape != (self.num_embeddings, self.embedding_dim):
                raise ValueError(f"{cls}: _weight has shape {w.shape}, expected "
                                 f"{(self.num_embeddings, self.embedding_dim)}")
            self.weight = Parameter(_wrap(w), requires_grad=not _freeze)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def forward(self, input):
        return embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                         self.scale_grad_by_freq, self.sparse)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False, **kwargs):
        if embeddings.ndim != 2:
            raise ValueError(f"{cls.__name__}.from_pretrained: embeddings must be 2-D, got "
                             f"shape {tuple(embeddings.shape)}")
        n, d = embeddings.shape
        return cls(n, d, padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse, _weight=embeddings,
                   _freeze=freeze, **kwargs)

    def _options(self):
        s = ""
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        return s

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        s += self._options()
        if self.sparse is not False:
            s += ", sparse=True"
        return s


class EmbeddingBag(Embedding):
    """Sums, means or maxima of bags of embeddings (see ``embedding_bag``)."""

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, mode="mean", sparse=False, _weight=None,
                 include_last_offset=False, padding_idx=None, device=None, dtype=None,
                 _freeze=False):
        super().__init__(num_embeddings, embedding_dim, padding_idx, max_norm, norm_type,
                         scale_grad_by_freq, sparse, _weight, _freeze, device=device,
                         dtype=dtype)
        self.mode, self.include_last_offset = mode, include_last_offset

    def forward(self, input, offsets=None, per_sample_weights=None):
        return embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                             self.scale_grad_by_freq, self.mode, self.sparse,
                             per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}" + self._options()
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s
