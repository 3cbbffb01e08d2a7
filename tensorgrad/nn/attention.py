"""Attention, as PyTorch computes it (composed from tensor ops, so gradients and second
derivatives come from the graph):

* ``F.scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False,
  scale=None, enable_gqa=False)`` = softmax(q kᵀ · scale + bias) v (Vaswani et al., "Attention
  is all you need", 2017) with scale = 1/√E by default; a bool mask marks the pairs that take
  part (False → −∞), a float mask is added; ``is_causal`` keeps key j ≤ query i. A query row
  with every key masked gives zeros (and zero gradients), as PyTorch's kernels do.
* ``F.multi_head_attention_forward`` and ``nn.MultiheadAttention``: the inputs projected to
  ``num_heads`` heads of size E/num_heads, attention per head, heads concatenated and
  projected again. PyTorch's parameters (``in_proj_weight`` (3E, E) and ``in_proj_bias``, or
  ``q/k/v_proj_weight`` when kdim/vdim differ; ``out_proj``; ``bias_k``/``bias_v``), masks
  (``key_padding_mask`` True = ignore that key, ``attn_mask`` bool True = not allowed or
  float added), ``need_weights``/``average_attn_weights`` and ``batch_first``. With
  ``need_weights=True`` the weights are computed by an explicit softmax, as in PyTorch
  (a fully masked row gives NaN there, as it does in PyTorch).
"""
from __future__ import annotations

import math

import numpy as np

from .. import ops as _ops
from ..ops._util import as_tensor_arg
from ..tensor import Tensor, _wrap
from . import functional as F
from . import init
from .layers import Linear
from .module import Module, Parameter, check_factory_kwargs

__all__ = ["MultiheadAttention", "NonDynamicallyQuantizableLinear"]

_NEG_INF = float("-inf")


def _mask_array(mask, op, what):
    if mask is None:
        return None
    m = mask._data if isinstance(mask, Tensor) else None
    if m is None:
        raise TypeError(f"{op}: {what} must be a tg.Tensor (bool or float), got "
                        f"{type(mask).__name__}")
    if m.dtype != np.bool_ and m.dtype.kind != "f":
        raise TypeError(f"{op}: only bool and floating types of {what} are supported, got "
                        f"{m.dtype}")
    return mask


def _safe_softmax(scores):
    """softmax over the last dim; rows whose scores are all −∞ give zeros (no NaN, no NaN
    gradient)."""
    dead = np.all(np.isneginf(scores._data), axis=-1, keepdims=True)
    if not dead.any():
        return _ops.softmax(scores, -1)
    p = _ops.softmax(_ops.where(dead, 0.0, scores), -1)
    return _ops.where(dead, 0.0, p)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(q kᵀ · scale + mask) v over the last two dims ((..., L, E), (..., S, E),
    (..., S, Ev) -> (..., L, Ev)); see the module docstring for the masks."""
    op = "scaled_dot_product_attention"
    q = as_tensor_arg(query, op, "query")
    k = as_tensor_arg(key, op, "key")
    v = as_tensor_arg(value, op, "value")
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ValueError(f"{op}: query, key and value need at least 2 dims (..., L, E), got "
                         f"shapes {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{op}: expected query (..., L, E), key (..., S, E) and value "
                         f"(..., S, Ev), got shapes {tuple(q.shape)}, {tuple(k.shape)}, "
                         f"{tuple(v.shape)}")
    L, S = q.shape[-2], k.shape[-2]
    if enable_gqa and q.ndim >= 3 and k.shape[-3] != q.shape[-3]:
        hq, hk = q.shape[-3], k.shape[-3]
        if hq % hk:
            raise ValueError(f"{op}: with enable_gqa the number of query heads ({hq}) must be "
                             f"a multiple of the key/value heads ({hk})")
        rep = hq // hk
        k = k.unsqueeze(-3).expand(*k.shape[:-2], rep, S, k.shape[-1]).reshape(
            *k.shape[:-3], hq, S, k.shape[-1])
        v = v.unsqueeze(-3).expand(*v.shape[:-2], rep, S, v.shape[-1]).reshape(
            *v.shape[:-3], hq, S, v.shape[-1])
    s = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    scores = (q @ k.transpose(-2, -1)) * s
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError(f"{op}: _scaled_dot_product_attention: Explicit attn_mask "
                               f"should not be set when is_causal=True")
        scores = _ops.where(~np.tril(np.ones((L, S), dtype=bool)), _NEG_INF, scores)
    mask = _mask_array(attn_mask, op, "attn_mask")
    if mask is not None:
        if mask._data.dtype == np.bool_:
            scores = _ops.where(~mask._data, _NEG_INF, scores)
        else:
            scores = scores + mask
    if S == 0:  # no keys: every output row is zero, as in PyTorch
        return scores.detach() @ v
    p = _safe_softmax(scores)
    if dropout_p > 0.0:
        p = F.dropout(p, dropout_p, training=True)
    return p @ v


def canonical_mask(mask, dtype, op, what):
    """PyTorch's ``_canonical_mask``: a bool mask (True = masked) becomes a float mask with −∞
    where True; a float mask is kept."""
    mask = _mask_array(mask, op, what)
    if mask is None or mask._data.dtype != np.bool_:
        return mask
    return _wrap(np.where(mask._data, _NEG_INF, 0.0).astype(dtype))


def _linear(x, w, b):
    return _ops.linear(x, w, b)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """PyTorch's ``F.multi_head_attention_forward`` on (L, N, E) inputs (or unbatched (L, E))."""
    op = "multi_head_attention_forward"
    q_in, k_in, v_in = (as_tensor_arg(t, op, w) for t, w in ((query, "query"), (key, "key"),
                                                               (value, "value")))
    batched = q_in.ndim == 3
    if q_in.ndim not in (2, 3) or k_in.ndim != q_in.ndim or v_in.ndim != q_in.ndim:
        raise ValueError(f"{op}: query, key and value must all be 3-D (L, N, E) or all 2-D "
                         f"(L, E), got shapes {tuple(q_in.shape)}, {tuple(k_in.shape)}, "
                         f"{tuple(v_in.shape)}")
    if not batched:
        q_in, k_in, v_in = q_in.unsqueeze(1), k_in.unsqueeze(1), v_in.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = q_in.shape
    dt = q_in.dtype
    key_padding_mask = canonical_mask(key_padding_mask, dt, op, "key_padding_mask")
    if is_causal and attn_mask is None:
        raise RuntimeError(f"{op}: Need attn_mask if specifying the is_causal hint. You may use "
                           f"the Transformer module method `generate_square_subsequent_mask` "
                           f"to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the causal mask is made inside the attention
    else:
        attn_mask = canonical_mask(attn_mask, dt, op, "attn_mask")
        if key_padding_mask is not None:
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise ValueError(f"{op}: was expecting embedding dimension of {embed_dim_to_check}, "
                         f"but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise ValueError(f"{op}: embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        b = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
        q = _linear(q_in, q_proj_weight, b[0])
        k = _linear(k_in, k_proj_weight, b[1])
        v = _linear(v_in, v_proj_weight, b[2])
    else:
        if k_in.shape != v_in.shape:
            raise ValueError(f"{op}: key shape {tuple(k_in.shape)} does not match value shape "
                             f"{tuple(v_in.shape)}")
        w = in_proj_weight.chunk(3)
        b = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
        q, k, v = (_linear(t, wi, bi) for t, wi, bi in zip((q_in, k_in, v_in), w, b))
    src_len = k.shape[0]
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"{op}: The shape of the 2D attn_mask is "
                                   f"{tuple(attn_mask.shape)}, but should be "
                                   f"{(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.ndim == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"{op}: The shape of the 3D attn_mask is "
                                   f"{tuple(attn_mask.shape)}, but should be "
                                   f"{(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"{op}: attn_mask's dimension {attn_mask.ndim} is not supported")
    if bias_k is not None and bias_v is not None:
        k = _ops.cat([k, bias_k.repeat(1, bsz, 1)])
        v = _ops.cat([v, bias_v.repeat(1, bsz, 1)])
        if attn_mask is not None:
            attn_mask = _ops.pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = _ops.pad(key_padding_mask, (0, 1))
    elif (bias_k is None) != (bias_v is None):
        raise ValueError(f"{op}: bias_k and bias_v must be given together")
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = (k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1) if static_k is None
         else static_k)
    v = (v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1) if static_v is None
         else static_v)
    if add_zero_attn:
        zeros = _wrap(np.zeros((bsz * num_heads, 1, head_dim), dtype=k.dtype))
        k, v = _ops.cat([k, zeros], 1), _ops.cat([v, zeros], 1)
        if attn_mask is not None:
            attn_mask = _ops.pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = _ops.pad(key_padding_mask, (0, 1))
    src_len = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise ValueError(f"{op}: expecting key_padding_mask shape of {(bsz, src_len)}, but "
                             f"got {tuple(key_padding_mask.shape)}")
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(
            bsz, num_heads, 1, src_len).reshape(bsz * num_heads, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0
    if need_weights:
        scores = (q * math.sqrt(1.0 / head_dim)) @ k.transpose(-2, -1)
        if attn_mask is not None:
            scores = scores + attn_mask
        w = _ops.softmax(scores, -1)
        if dropout_p > 0.0:
            w = F.dropout(w, p=dropout_p)
        out = (w @ v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = _linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
        w = w.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            w = w.mean(dim=1)
        if not batched:
            out, w = out.squeeze(1), w.squeeze(0)
        return out, w
    if attn_mask is not None:
        attn_mask = (attn_mask.unsqueeze(0) if attn_mask.shape[0] == 1 and attn_mask.ndim == 3
                     else attn_mask.reshape(bsz, num_heads, -1, src_len))
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = _linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
    return (out if batched else out.squeeze(1)), None


class NonDynamicallyQuantizableLinear(Linear):
    """PyTorch's name for the output projection of ``MultiheadAttention`` (a ``Linear``)."""


class MultiheadAttention(Module):
    """Multi-head attention with PyTorch's parameters, initialization, masks and outputs
    ``(attn_output, attn_weights or None)``."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        dt = check_factory_kwargs("MultiheadAttention", device, dtype)
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be greater than "
                             f"0, got embed_dim={embed_dim} and num_heads={num_heads} instead")
        self.embed_dim = int(embed_dim)
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = int(num_heads)
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by "
                             f"num_heads ({num_heads})")

        def new(*shape):
            return Parameter(_wrap(np.zeros(shape, dtype=dt)))
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = new(embed_dim, embed_dim)
            self.k_proj_weight = new(embed_dim, self.kdim)
            self.v_proj_weight = new(embed_dim, self.vdim)
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = new(3 * embed_dim, embed_dim)
            for n in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(n, None)
        if bias:
            self.in_proj_bias = new(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        dtype=dt)
        if add_bias_kv:
            self.bias_k = new(1, 1, embed_dim)
            self.bias_v = new(1, 1, embed_dim)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        dt = query.dtype if isinstance(query, Tensor) else None
        key_padding_mask = canonical_mask(key_padding_mask, dt, "MultiheadAttention",
                                          "key_padding_mask")
        attn_mask = canonical_mask(attn_mask, dt, "MultiheadAttention", "attn_mask")
        batched = isinstance(query, Tensor) and query.ndim == 3
        if self.batch_first and batched:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        sep = not self._qkv_same_embed_dim
        out, weights = multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights,
            attn_mask=attn_mask, use_separate_proj_weight=sep,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight,
            v_proj_weight=self.v_proj_weight, average_attn_weights=average_attn_weights,
            is_causal=is_causal)
        if self.batch_first and batched:
            out = out.transpose(0, 1)
        return out, weights
