"""The Transformer of Vaswani et al. (2017) with PyTorch's classes, arguments, submodule names
(so ``state_dict`` keys match and PyTorch weights load) and computation:

* ``TransformerEncoderLayer``: self-attention then a feed-forward block (linear1 →
  activation → dropout → linear2), each wrapped as ``x + dropout(block(x))`` followed by
  LayerNorm (post-norm), or ``x + dropout(block(norm(x)))`` with ``norm_first``;
* ``TransformerDecoderLayer``: the same with cross-attention to the encoder's ``memory``
  between the two;
* ``TransformerEncoder``/``TransformerDecoder``: ``num_layers`` deep copies of a layer and an
  optional final norm; ``Transformer``: both, with final LayerNorms and xavier-uniform
  weights, and ``generate_square_subsequent_mask(sz)`` (−∞ above the diagonal).

``enable_nested_tensor`` is accepted and ignored: PyTorch's inference fast path (nested
tensors) only changes the padded positions of the output (it leaves zeros there), which
tensorgrad computes like the others.
"""
from __future__ import annotations

import copy

import numpy as np

from .. import ops as _ops
from ..ops import activation as _act
from ..tensor import Tensor, _wrap
from . import init
from .attention import MultiheadAttention
from .containers import ModuleList
from .dropout import Dropout
from .layers import Linear
from .module import Module, check_factory_kwargs
from .normalization import LayerNorm

__all__ = ["TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder",
           "TransformerDecoder", "Transformer"]


def _activation(activation, where):
    if isinstance(activation, str):
        if activation == "relu":
            return _ops.relu
        if activation == "gelu":
            return _act.gelu
        raise RuntimeError(f"{where}: activation should be relu/gelu, not {activation}")
    if not callable(activation):
        raise TypeError(f"{where}: activation must be 'relu', 'gelu' or a callable, got "
                        f"{type(activation).__name__}")
    return activation


def _square_subsequent_mask(sz, dtype=np.float32):
    return _wrap(np.triu(np.full((sz, sz), float("-inf"), dtype=dtype), k=1))


def _is_causal(mask, is_causal, size):
    """PyTorch's ``_detect_is_causal_mask``: a mask equal to the square subsequent mask is
    causal, unless ``is_causal`` says otherwise."""
    if is_causal is not None or mask is None:
        return is_causal is True
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    ref = _square_subsequent_mask(size, m.dtype if m.dtype.kind == "f" else np.float32)._data
    return m.shape == ref.shape and bool(np.all(m == ref))


class _Layer(Module):
    """What encoder and decoder layers share: attention/feed-forward blocks and norms."""

    _cross = False  # the decoder layer also attends to the encoder's output ("memory")

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        super().__init__()
        dt = check_factory_kwargs(type(self).__name__, device, dtype)
        # submodules in PyTorch's order, so its state_dict keys and order
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dt)
        if self._cross:
            self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                     batch_first=batch_first, dtype=dt)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dt)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dt)
        self.norm_first = norm_first
        k = 3 if self._cross else 2
        for i in range(1, k + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dt))
        for i in range(1, k + 1):
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation = _activation(activation, type(self).__name__)

    def _ff_block(self, x, drop):
        return drop(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)


class TransformerEncoderLayer(_Layer):
    """Self-attention + feed-forward (PyTorch's ``nn.TransformerEncoderLayer``)."""

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x), self.dropout2)
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x, self.dropout2))
        return x


class TransformerDecoderLayer(_Layer):
    """Self-attention + cross-attention to ``memory`` + feed-forward
    (PyTorch's ``nn.TransformerDecoderLayer``)."""

    _cross = True

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal):
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, is_causal=is_causal,
                                need_weights=False)[0]
        return self.dropout2(x)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask,
                                    memory_key_padding_mask, memory_is_causal)
            x = x + self._ff_block(self.norm3(x), self.dropout3)
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask,
                                               memory_is_causal))
            x = self.norm3(x + self._ff_block(x, self.dropout3))
        return x


def _clones(layer, n, where):
    if not isinstance(layer, Module):
        raise TypeError(f"{where}: expected a layer Module to copy, got "
                        f"{type(layer).__name__}")
    return ModuleList([copy.deepcopy(layer) for _ in range(int(n))])


def _seq_len(x, batch_first):
    if x.ndim == 2:  # unbatched (S, E)
        return x.shape[0]
    return x.shape[1] if batch_first else x.shape[0]


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` and an optional final ``norm``."""

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
                 mask_check=True):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers, "TransformerEncoder")
        self.num_layers = int(num_layers)
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        first = self.layers[0] if len(self.layers) else None
        batch_first = first.self_attn.batch_first if first is not None else False
        is_causal = _is_causal(mask, is_causal, _seq_len(src, batch_first))
        out = src
        for mod in self.layers:
            out = mod(out, src_mask=mask, is_causal=is_causal,
                      src_key_padding_mask=src_key_padding_mask)
        return self.norm(out) if self.norm is not None else out


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer`` and an optional final ``norm``."""

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers, "TransformerDecoder")
        self.num_layers = int(num_layers)
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        first = self.layers[0] if len(self.layers) else None
        batch_first = first.self_attn.batch_first if first is not None else False
        tgt_is_causal = _is_causal(tgt_mask, tgt_is_causal, _seq_len(tgt, batch_first))
        out = tgt
        for mod in self.layers:
            out = mod(out, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask,
                      memory_key_padding_mask=memory_key_padding_mask,
                      tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        return self.norm(out) if self.norm is not None else out


class Transformer(Module):
    """Encoder-decoder Transformer (PyTorch's ``nn.Transformer``)."""

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6,
                 dim_feedforward=2048, dropout=0.1, activation="relu", custom_encoder=None,
                 custom_decoder=None, layer_norm_eps=1e-5, batch_first=False, norm_first=False,
                 bias=True, device=None, dtype=None):
        super().__init__()
        dt = check_factory_kwargs("Transformer", device, dtype)
        kw = dict(dim_feedforward=dim_feedforward, dropout=dropout, activation=activation,
                  layer_norm_eps=layer_norm_eps, batch_first=batch_first,
                  norm_first=norm_first, bias=bias, dtype=dt)

        def side(custom, stack, layer, num_layers):  # the custom module, or a stack of layers
            if custom is not None:
                return custom
            return stack(layer(d_model, nhead, **kw), num_layers,
                         LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dt))
        self.encoder = side(custom_encoder, TransformerEncoder, TransformerEncoderLayer,
                            num_encoder_layers)
        self.decoder = side(custom_decoder, TransformerDecoder, TransformerDecoderLayer,
                            num_decoder_layers)
        self._reset_parameters()
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def _reset_parameters(self):
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        batched = src.ndim == 3
        bdim = 0 if self.batch_first else 1
        if batched and src.shape[bdim] != tgt.shape[bdim]:
            raise RuntimeError("Transformer: the batch number of src and tgt must be equal")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError("Transformer: the feature number of src and tgt must be equal to "
                               f"d_model ({self.d_model}), got {src.shape[-1]} and "
                               f"{tgt.shape[-1]}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """A float (sz, sz) mask: −∞ above the diagonal, 0 on and below it."""
        check_factory_kwargs("Transformer.generate_square_subsequent_mask", device, dtype)
        return _square_subsequent_mask(int(sz), np.float32 if dtype is None
                                       else check_factory_kwargs("", None, dtype))
