"""Gradient clipping and flat-vector views of parameters (PyTorch's ``torch.nn.utils``)."""
from __future__ import annotations

import math

import numpy as np

from ...tensor import Tensor, _wrap

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "parameters_to_vector",
           "vector_to_parameters"]


def _as_list(parameters, op):
    if isinstance(parameters, Tensor):
        return [parameters]
    try:
        params = list(parameters)
    except TypeError:
        raise TypeError(f"{op}: expected a Tensor or an iterable of Tensors, got "
                        f"{type(parameters).__name__}") from None
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: element {i} is {type(p).__name__}, expected a Tensor")
    return params


def _norm(arrays, norm_type):
    if not arrays:
        return 0.0
    if norm_type == math.inf:
        return float(max(np.max(np.abs(a)) if a.size else 0.0 for a in arrays))
    if norm_type == 2:
        return math.sqrt(sum(float(np.vdot(a, a).real) for a in arrays))
    per = [float(np.sum(np.abs(a) ** norm_type)) ** (1.0 / norm_type) for a in arrays]
    return float(np.sum(np.asarray(per) ** norm_type) ** (1.0 / norm_type))


def get_total_norm(tensors, norm_type=2.0):
    """The norm of all the given tensors' values taken together, as a Tensor."""
    ts = _as_list(tensors, "get_total_norm")
    dtype = ts[0]._data.dtype if ts else np.float32
    return _wrap(np.asarray(_norm([t._data for t in ts], float(norm_type)), dtype=dtype))


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so their total ``norm_type``-norm is at most ``max_norm``.

    Returns the total norm before clipping as a (0-d) Tensor, as PyTorch does. The scale is
    ``max_norm / (total + 1e-6)`` clamped at 1 (so gradients already small stay as they are)."""
    params = [p for p in _as_list(parameters, "clip_grad_norm_") if p.grad is not None]
    max_norm = float(max_norm)
    norm_type = float(norm_type)
    if not max_norm >= 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be >= 0, got {max_norm}")
    if not norm_type > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be > 0 (or inf), got {norm_type}")
    if not params:
        return _wrap(np.asarray(0.0, dtype=np.float32))
    grads = [p.grad._data for p in params]
    total = _norm(grads, norm_type)
    dtype = grads[0].dtype
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is non-finite ({total}), so it cannot be clipped; pass "
                           f"error_if_nonfinite=False to clip anyway")
    coef = min(max_norm / (total + 1e-6), 1.0)
    for p in params:
        p.grad = _wrap((p.grad._data * coef).astype(p.grad._data.dtype, copy=False))
    return _wrap(np.asarray(total, dtype=dtype))


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element into ``[-clip_value, clip_value]`` (in place)."""
    clip_value = float(clip_value)
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for p in _as_list(parameters, "clip_grad_value_"):
        if p.grad is not None:
            np.clip(p.grad._data, -clip_value, clip_value, out=p.grad._data)


def parameters_to_vector(parameters) -> Tensor:
    """All parameters flattened and concatenated into one 1-D tensor (differentiable)."""
    from ... import ops
    params = _as_list(parameters, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    return ops.cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec, parameters) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters' values (untracked)."""
    params = _as_list(parameters, "vector_to_parameters")
    arr = vec._data if isinstance(vec, Tensor) else np.asarray(vec)
    if arr.ndim != 1:
        raise ValueError(f"vector_to_parameters: expected a 1-D vector, got shape {arr.shape}")
    need = sum(p._data.size for p in params)
    if arr.size != need:
        raise ValueError(f"vector_to_parameters: the vector has {arr.size} elements, the "
                         f"parameters need {need}")
    i = 0
    for p in params:
        n = p._data.size
        np.copyto(p._data, arr[i:i + n].reshape(p._data.shape), casting="unsafe")
        p._version += 1
        i += n


from . import rnn  # noqa: E402,F401  (tg.nn.utils.rnn, as torch.nn.utils.rnn)
from .weight_norms import (remove_spectral_norm, remove_weight_norm,  # noqa: E402,F401
                           spectral_norm, weight_norm)
