"""``tensorgrad.nn.functional`` (alias ``F``): the functional forms of layers and losses.

The ops declared with ``@op(functional=True)`` in ``tensorgrad.ops`` (activations, linear,
convolution, pooling, batch norm, cross entropy, ...) are gathered here from their
declarations; what follows is built from public tensor ops.
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np

from .. import ops as _ops
from .. import random as _random
from ..ops import activation as _act
from .._state import STATE
from ..ops import FUNCTIONAL as _DECLARED
from ..ops._util import (TargetOutOfRangeError, as_tensor_arg as _as_tensor,  # noqa: F401
                         check_float as _check_float, int_indices as _int_indices,
                         legacy_reduction as _legacy_reduction, reduce_loss as _reduce,
                         float_pair as _float_pair)
from ..tensor import Tensor, _wrap

globals().update(_DECLARED)
from ..ops.padding import pad  # noqa: E402  (every mode; F.pad dispatches on mode there)

__all__ = sorted(_DECLARED) + [
    "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout",
    "local_response_norm", "embedding", "embedding_bag", "scaled_dot_product_attention",
    "multi_head_attention_forward", "one_hot", "mse_loss", "l1_loss", "multitask_bce_with_logits",
    "l2_penalty", "l1_penalty", "normalize", "pairwise_distance", "triplet_margin_loss",
    "gumbel_softmax", "relu", "leaky_relu", "relu_", "leaky_relu_", "elu_", "celu_", "selu_",
    "hardtanh_", "rrelu_", "threshold_"]


# ---- activations with PyTorch's functional keywords ------------------------------------------
def relu(input, inplace=False):  # noqa: A002 (torch's names)
    """max(x, 0); ``inplace=True`` writes it into ``input`` (PyTorch's ``F.relu``)."""
    return input.relu_() if inplace else _ops.relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):  # noqa: A002
    """x if x > 0 else negative_slope · x; ``inplace=True`` writes it into ``input``."""
    if inplace:
        return _act.apply_inplace(_ops.leaky_relu, input, negative_slope)
    return _ops.leaky_relu(input, negative_slope)


def _inplace_form(fn):
    def f(input, *args, **kwargs):  # noqa: A002
        return fn(input, *args, inplace=True, **kwargs)
    f.__name__ = fn.__name__ + "_"
    f.__doc__ = f"``{fn.__name__}(..., inplace=True)``."
    return f


relu_ = _inplace_form(relu)
leaky_relu_ = _inplace_form(leaky_relu)
elu_ = _inplace_form(_DECLARED["elu"])
celu_ = _inplace_form(_DECLARED["celu"])
selu_ = _inplace_form(_DECLARED["selu"])
hardtanh_ = _inplace_form(_DECLARED["hardtanh"])
rrelu_ = _inplace_form(_DECLARED["rrelu"])
threshold_ = _inplace_form(_DECLARED["threshold"])


# ---- dropout ----------------------------------------------------------------------------------
_SELU_NEG_SAT = 1.7580993408473766  # −λα of SELU: where alpha dropout sends dropped units


def _dropout(op, input, p, training, inplace, feature_dims=None, alpha=False):
    """Inverted dropout with the mask from ``tensorgrad.random.generator()``: one draw per entry,
    or per (sample, channel) for feature dropout (``feature_dims``: the spatial dims the mask
    is shared over). ``alpha``: alpha dropout (Klambauer et al., 2017), which keeps SELU
    activations' mean and variance by sending dropped units to −λα and rescaling."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    x = _as_tensor(input, op, "input")
    if not training or p == 0.0 or not STATE.dropout or x._data.size == 0:
        return x  # check_gradients switches dropout off
    _check_float(x, op)
    d = x._data
    shape = d.shape
    if feature_dims is not None:
        shape = d.shape[:d.ndim - feature_dims] + (1,) * feature_dims
    keep = 1.0 - p
    mask = (_random.generator().random(shape) < keep).astype(d.dtype) if keep > 0 else \
        np.zeros(shape, dtype=d.dtype)
    if alpha:
        if keep == 0.0:
            out = x * _wrap(np.zeros((), d.dtype))
        else:
            a = 1.0 / np.sqrt((_SELU_NEG_SAT ** 2 * p + 1) * keep)
            b = (mask - 1.0) * (_SELU_NEG_SAT * a) + _SELU_NEG_SAT * a * p
            out = x * _wrap((mask * a).astype(d.dtype)) + _wrap(b.astype(d.dtype))
    else:
        if keep > 0:
            mask *= d.dtype.type(1.0 / keep)
        out = x * _wrap(mask)
    return x.copy_(out) if inplace else out


def dropout(input, p=0.5, training=True, inplace=False):
    """Inverted dropout: keep each entry with probability 1-p and scale kept ones by 1/(1-p)
    at training time; identity otherwise."""
    return _dropout("dropout", input, p, training, inplace)


def _feature_dropout(op, nd, input, p, training, inplace, alpha=False):
    x = _as_tensor(input, op, "input")
    if x._data.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{op}: expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input, "
                         f"got {x._data.ndim}D input of shape {x._data.shape}")
    return _dropout(op, x, p, training, inplace, feature_dims=nd, alpha=alpha)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) / (C, L) inputs (Tompson et al., 2015)."""
    return _feature_dropout("dropout1d", 1, input, p, training, inplace)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) / (C, H, W) inputs."""
    return _feature_dropout("dropout2d", 2, input, p, training, inplace)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, D, H, W) / (C, D, H, W) inputs."""
    return _feature_dropout("dropout3d", 3, input, p, training, inplace)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout for SELU networks (each entry)."""
    return _dropout("alpha_dropout", input, p, training, inplace, alpha=True)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels (the mask is shared over dims 2, ...)."""
    x = _as_tensor(input, "feature_alpha_dropout", "input")
    return _dropout("feature_alpha_dropout", x, p, training, inplace,
                    feature_dims=max(x._data.ndim - 2, 0), alpha=True)


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """x / (k + α · mean of x² over ``size`` neighbouring channels)^β, as PyTorch computes it
    (zero-padded channel window, average pooling)."""
    op = "local_response_norm"
    x = _as_tensor(input, op, "input")
    if x._data.ndim < 3:
        raise ValueError(f"{op}: expected 3D or higher dimensionality input (got "
                         f"{x._data.ndim} dimensions)")
    if x._data.size == 0:
        return x
    div = (x * x).unsqueeze(1)
    if x._data.ndim == 3:
        div = _ops.pad(div, (0, 0, size // 2, (size - 1) // 2))
        div = avg_pool2d(div, (size, 1), stride=1).squeeze(1)
    else:
        shp = x._data.shape
        div = div.reshape(shp[0], 1, shp[1], shp[2], -1)
        div = _ops.pad(div, (0, 0, 0, 0, size // 2, (size - 1) // 2))
        div = avg_pool3d(div, (size, 1, 1), stride=1).squeeze(1).reshape(shp)
    return x / (div * alpha + k) ** beta


def one_hot(tensor, num_classes=-1):
    """int64 one-hot encoding with a new last dim of size ``num_classes`` (-1: max + 1)."""
    op = "one_hot"
    idx = _int_indices(_as_tensor(tensor, op, "tensor"), op, "class values")
    if idx.size and idx.min() < 0:
        raise ValueError(f"{op}: class values must be non-negative, got {int(idx.min())}")
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and idx.max() >= num_classes:
        raise ValueError(f"{op}: class value {int(idx.max())} is out of range for "
                         f"num_classes={num_classes}")
    out = np.zeros(idx.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, idx[..., None].astype(np.int64), 1, axis=-1)
    return _wrap(out)


def _regression_pair(input, target, op):
    x = _as_tensor(input, op, "input")
    t = _as_tensor(target, op, "target")
    _check_float(x, op)
    if t._data.shape != x._data.shape:
        try:
            np.broadcast_shapes(x._data.shape, t._data.shape)
        except ValueError:
            raise ValueError(f"{op}: input shape {x._data.shape} and target shape "
                             f"{t._data.shape} do not match (and do not broadcast)") from None
        warnings.warn(f"{op}: using a target size {t._data.shape} that is different to the "
                      f"input size {x._data.shape}; this will broadcast and is likely wrong. "
                      f"Please ensure they have the same size.", UserWarning, stacklevel=3)
    return x, t


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """(input - target)^2, reduced."""
    op = "mse_loss"
    x, t = _regression_pair(input, target, op)
    d = x - t
    return _reduce(d * d, _legacy_reduction(size_average, reduce, reduction), op)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """|input - target|, reduced (gradient sign(input - target), 0 at ties)."""
    op = "l1_loss"
    x, t = _regression_pair(input, target, op)
    return _reduce(_ops.abs(x - t), _legacy_reduction(size_average, reduce, reduction), op)


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """A sample of the Gumbel-softmax distribution (Jang et al. 2017; Maddison et al. 2017):
    softmax((logits + g) / tau) along ``dim`` with g = -log(E), E ~ Exp(1) (the global
    generator). ``hard``: the one-hot of its argmax in the forward pass, with the soft sample's
    gradient (straight-through). ``eps`` is unused, as in PyTorch."""
    op = "gumbel_softmax"
    x = _as_tensor(logits, op, "logits")
    _check_float(x, op, "logits")
    e = _random.generator().exponential(size=x._data.shape).astype(x._data.dtype)
    y_soft = _ops.softmax((x + _wrap(-np.log(e))) / tau, dim)
    if not hard:
        return y_soft
    d = y_soft._data
    index = np.argmax(d, axis=dim)
    y_hard = np.zeros_like(d)
    np.put_along_axis(y_hard, np.expand_dims(index, dim), 1.0, axis=dim)
    return _wrap(y_hard) - y_soft.detach() + y_soft


# ---- tg: the course's multi-task loss and penalties -------------------------------------------
def multitask_bce_with_logits(input, target, mask=None, reduction="mean", pos_weight=None):
    """**tg** The course's multi-task loss (§7.5.1): logistic losses summed over the
    labelled entries only. ``target`` (N, T) holds 0/1 labels; unlabelled entries are marked by
    ``mask`` (bool, True = labelled) or, without a mask, by NaN targets.

    reduction: ``'mean'`` = (1/m) Σ_i Σ_j 1{labelled} L(ŷ_ij, y_ij) with m = N (the course's
    cost J); ``'sum'`` = the double sum; ``'mean_labelled'`` divides by the number of labelled
    entries; ``'none'`` returns the elementwise losses (0 where unlabelled)."""
    op = "multitask_bce_with_logits"
    x, t = _float_pair(op, input, target)
    td = t._data
    if mask is None:
        m = ~np.isnan(td)
    else:
        m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
        if m.shape != td.shape:
            raise ValueError(f"{op}: mask shape {m.shape} differs from target shape {td.shape}")
        m = m.astype(bool)
    filled = np.where(m, np.nan_to_num(td), 0.0).astype(x._data.dtype)
    if np.any((filled != 0) & (filled != 1) & m):
        raise ValueError(f"{op}: labelled targets must be 0 or 1")
    per = binary_cross_entropy_with_logits(x, _wrap(filled), reduction="none",
                                           pos_weight=pos_weight)
    per = per * _wrap(m.astype(x._data.dtype))
    if reduction == "none":
        return per
    total = _ops.sum(per)
    if reduction == "sum":
        return total
    if reduction == "mean":
        n = x._data.shape[0] if x._data.ndim else 1
        return total / float(n)
    if reduction == "mean_labelled":
        return total / float(max(int(m.sum()), 1))
    raise ValueError(f"{op}: reduction must be 'none', 'mean', 'sum' or 'mean_labelled', got "
                     f"{reduction!r}")


def _penalty_params(model_or_params, weights_only, op):
    from .module import Module
    if isinstance(model_or_params, Module):
        items = list(model_or_params.named_parameters())
    elif isinstance(model_or_params, Tensor):
        items = [("", model_or_params)]
    elif isinstance(model_or_params, dict):
        items = list(model_or_params.items())
    else:
        items = []
        for i, p in enumerate(model_or_params):
            if isinstance(p, tuple) and len(p) == 2:
                items.append(p)
            else:
                items.append((str(i), p))
    out = []
    for name, p in items:
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: expected tensors, got {type(p).__name__} for {name!r}")
        if weights_only and p._data.ndim < 2:
            continue  # biases and batch-norm scales/shifts are not regularized 
        out.append(p)
    if not out:
        raise ValueError(f"{op}: no weight tensors to penalize (weights_only={weights_only} "
                         f"keeps tensors with 2 or more dims)")
    return out


def l2_penalty(model_or_params, lambd, m, weights_only=True):
    """**tg** The course's L2 term λ/(2m) Σ_l ‖W[l]‖_F² (§4.2), to add to any loss. By
    default only weights (tensors with ≥ 2 dims) count, not biases. Its gradient adds (λ/m) W."""
    op = "l2_penalty"
    if m <= 0:
        raise ValueError(f"{op}: m (the number of examples) must be positive, got {m}")
    total = None
    for p in _penalty_params(model_or_params, weights_only, op):
        s = _ops.sum(p * p)
        total = s if total is None else total + s
    return total * (lambd / (2.0 * m))


def l1_penalty(model_or_params, lambd, m, weights_only=True):
    """**tg** The course's L1 term λ/m Σ |w| (§4.2): it drives weights to exact zeros."""
    op = "l1_penalty"
    if m <= 0:
        raise ValueError(f"{op}: m (the number of examples) must be positive, got {m}")
    total = None
    for p in _penalty_params(model_or_params, weights_only, op):
        s = _ops.sum(_ops.abs(p))
        total = s if total is None else total + s
    return total * (lambd / float(m))


from .triplet import normalize, pairwise_distance, triplet_margin_loss  # noqa: E402,F401
from .loss_functions import *  # noqa: E402,F401,F403
from .loss_functions import __all__ as _loss_all  # noqa: E402

from .spatial import (channel_shuffle, fold, lp_pool1d, lp_pool2d, lp_pool3d,  # noqa: E402,F401
                      pixel_shuffle, pixel_unshuffle, unfold, upsample, upsample_bilinear,
                      upsample_nearest)
from .spatial import FUNCTIONAL as _spatial_all  # noqa: E402
from .layers import bilinear  # noqa: E402,F401
from .layers import FUNCTIONAL as _layers_all  # noqa: E402
from .sampling import affine_grid, grid_sample  # noqa: E402,F401
from .sampling import FUNCTIONAL as _sampling_all  # noqa: E402
from .sparse import embedding, embedding_bag  # noqa: E402,F401
from .attention import (multi_head_attention_forward,  # noqa: E402,F401
                        scaled_dot_product_attention)

__all__ += _loss_all + _spatial_all + _sampling_all + _layers_all
