"""Sequence-model architectures of §9.3–§9.4 (docs/maths.md), built on ``tg.nn`` recurrent
layers (every model takes ``cell="lstm" | "gru" | "rnn"``; inputs are batch-first):

* ``RNNLanguageModel``: token ids → next-token logits at every step (word- or character-level
  language model, §9.4), with a one-step interface for sampling;
* ``SequenceTagger``: many-to-many with T_x = T_y (e.g. named-entity tags per word, §9.1);
* ``SequenceClassifier``: many-to-one (e.g. sentiment of a review, §9.3);
* ``SequenceGenerator``: one-to-many (one input vector → a generated sequence, §9.3);
* ``Seq2Seq``: many-to-many with T_x ≠ T_y, an encoder whose final state starts a decoder
  (machine translation, §9.3).
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..autograd.grad_mode import no_grad
from ..ops.movement import cat
from ..tensor import Tensor, _wrap

__all__ = ["make_rnn", "RNNLanguageModel", "SequenceTagger", "SequenceClassifier",
           "SequenceGenerator", "Seq2Seq"]

_CELLS = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN", "rnn_relu": "RNN"}


def make_rnn(cell, input_size, hidden_size, num_layers=1, bidirectional=False, dropout=0.0,
             **kw):
    """``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` (``"rnn_relu"``: relu), batch-first."""
    key = str(cell).lower()
    if key not in _CELLS:
        raise ValueError(f"make_rnn: unknown cell {cell!r} (expected one of {sorted(_CELLS)})")
    cls = getattr(nn, _CELLS[key])
    if key == "rnn_relu":
        kw["nonlinearity"] = "relu"
    return cls(input_size, hidden_size, num_layers=num_layers, batch_first=True,
               bidirectional=bidirectional, dropout=dropout, **kw)


def _ids(x, name):
    if isinstance(x, Tensor):
        x = x._data
    x = np.asarray(x)
    if x.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integer token ids, got dtype {x.dtype}")
    return _wrap(x.astype(np.int64, copy=False))


def _last_hidden(state, rnn):
    """The top layer's final hidden state (B, H·D) from an RNN's h_n (L·D, B, H)."""
    h = state[0] if isinstance(state, tuple) else state
    D = 2 if rnn.bidirectional else 1
    if D == 1:
        return h[-1]
    return cat([h[-2], h[-1]], 1)


class RNNLanguageModel(nn.Module):
    """Embedding → recurrent layers → linear head over the vocabulary.

    ``forward(ids (B, T), state=None)`` returns ``(logits (B, T, V), state)``: the logits at step
    t score y<t+1> given y<1..t> — the softmax outputs ŷ<t> of §9.4.  For a character
    model the embedding is the one-hot product W_ax x<t> of §9.2, stored as a table.
    """

    def __init__(self, vocab_size, embed_dim=32, hidden_size=128, num_layers=1, cell="lstm",
                 dropout=0.0, **rnn_kw):
        super().__init__()
        self.vocab_size = int(vocab_size)
        self.cell = cell
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.rnn = make_rnn(cell, embed_dim, hidden_size, num_layers, dropout=dropout, **rnn_kw)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids, state=None):
        x = self.embed(_ids(ids, "RNNLanguageModel"))
        if x.ndim != 3:
            raise ValueError(f"RNNLanguageModel: expected token ids of shape (batch, T), got "
                             f"{x.shape[:-1]}")
        out, state = self.rnn(x, state)
        return self.head(out), state


class _EncoderHead(nn.Module):
    """An (optional) embedding, a recurrent encoder and a linear head over its outputs: at every
    step (``_per_step``, many-to-many) or over the final hidden state (many-to-one)."""

    _per_step = True

    def __init__(self, input_size, hidden_size, n_out, cell, num_layers, bidirectional,
                 vocab_size):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, input_size) if vocab_size else None
        self.rnn = make_rnn(cell, input_size, hidden_size, num_layers, bidirectional)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), n_out)

    def forward(self, x):
        if self.embed is not None:
            x = self.embed(_ids(x, type(self).__name__))
        out, state = self.rnn(x)
        return self.head(out if self._per_step else _last_hidden(state, self.rnn))


class SequenceTagger(_EncoderHead):
    """Many-to-many, T_x = T_y: one label per input step (``bidirectional`` to see the whole
    sentence, §9.5.3).  ``vocab_size`` set: inputs are token ids; else feature vectors."""

    def __init__(self, input_size, hidden_size, num_tags, cell="lstm", num_layers=1,
                 bidirectional=True, vocab_size=None):
        super().__init__(input_size, hidden_size, num_tags, cell, num_layers, bidirectional,
                         vocab_size)


class SequenceClassifier(_EncoderHead):
    """Many-to-one: read the whole sequence, predict from the final hidden state."""

    _per_step = False

    def __init__(self, input_size, hidden_size, num_classes, cell="lstm", num_layers=1,
                 bidirectional=False, vocab_size=None):
        super().__init__(input_size, hidden_size, num_classes, cell, num_layers, bidirectional,
                         vocab_size)


def _init_state(rnn, h):
    """Decoder initial state from a vector h (B, H): h_0 = h on every layer (c_0 = 0)."""
    L = rnn.num_layers
    from ..ops.movement import stack
    h0 = stack([h] * L, 0)
    if isinstance(rnn, nn.LSTM):
        return (h0, _wrap(np.zeros(h0.shape, h0.dtype)))
    return h0


def _sample_next(logits, temperature, rng):
    """Sample one id per row from logits (B, V) (numpy); temperature 0 = argmax."""
    if temperature == 0:
        return logits.argmax(-1)
    z = logits.astype(np.float64) / temperature
    z -= z.max(-1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(-1, keepdims=True)
    u = rng.random((p.shape[0], 1))
    return np.minimum((np.cumsum(p, -1) < u).sum(-1), p.shape[1] - 1)


class SequenceGenerator(nn.Module):
    """One-to-many: a single input vector x (e.g. a genre, §9.3's music example) sets the
    decoder's initial state h<0> = tanh(W x + b); the decoder then emits tokens, each fed back
    as the next input (teacher forcing in training)."""

    def __init__(self, cond_size, vocab_size, embed_dim=16, hidden_size=64, cell="gru",
                 num_layers=1):
        super().__init__()
        self.vocab_size = int(vocab_size)
        self.init = nn.Linear(cond_size, hidden_size)
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.rnn = make_rnn(cell, embed_dim, hidden_size, num_layers)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, cond, ids, state=None):
        if state is None:
            state = _init_state(self.rnn, self.init(cond).tanh())
        out, state = self.rnn(self.embed(_ids(ids, "SequenceGenerator")), state)
        return self.head(out), state

    def generate(self, cond, start_id, eos_id=None, max_len=20, temperature=1.0, rng=None):
        """Token ids (B, ≤ max_len) sampled step by step; rows stop at ``eos_id``."""
        return _generate(self, lambda ids, st: self(cond, ids, st), cond.shape[0], start_id,
                         eos_id, max_len, temperature, rng)


class Seq2Seq(nn.Module):
    """Encoder-decoder for T_x ≠ T_y: the encoder reads the source; its final state is the
    decoder's initial state; the decoder is a language model of the target conditioned on it."""

    def __init__(self, src_vocab, tgt_vocab, embed_dim=32, hidden_size=64, cell="gru",
                 num_layers=1):
        super().__init__()
        self.src_embed = nn.Embedding(src_vocab, embed_dim)
        self.tgt_embed = nn.Embedding(tgt_vocab, embed_dim)
        self.encoder = make_rnn(cell, embed_dim, hidden_size, num_layers)
        self.decoder = make_rnn(cell, embed_dim, hidden_size, num_layers)
        self.head = nn.Linear(hidden_size, tgt_vocab)

    def encode(self, src):
        _, state = self.encoder(self.src_embed(_ids(src, "Seq2Seq")))
        return state

    def decode(self, tgt_in, state):
        out, state = self.decoder(self.tgt_embed(_ids(tgt_in, "Seq2Seq")), state)
        return self.head(out), state

    def forward(self, src, tgt_in):
        """Teacher forcing: logits (B, T_y, V_tgt) for target inputs tgt_in (B, T_y)."""
        return self.decode(tgt_in, self.encode(src))[0]

    def generate(self, src, start_id, eos_id=None, max_len=20, temperature=0.0, rng=None):
        """Greedy (temperature 0) or sampled decoding of each source sequence."""
        with no_grad():
            state = self.encode(src)
        B = np.asarray(src._data if isinstance(src, Tensor) else src).shape[0]
        return _generate(self, lambda ids, st: self.decode(ids, st), B, start_id, eos_id,
                         max_len, temperature, rng, state=state)


def _generate(model, step, B, start_id, eos_id, max_len, temperature, rng, state=None):
    from ..random import generator
    rng = generator() if rng is None else rng
    was = model.training
    model.eval()
    try:
        with no_grad():
            ids = np.full((B, 1), start_id, np.int64)
            out = np.zeros((B, 0), np.int64)
            done = np.zeros(B, bool)
            for _ in range(max_len):
                logits, state = step(ids, state)
                nxt = _sample_next(logits._data[:, -1], temperature, rng)
                if eos_id is not None:
                    nxt = np.where(done, eos_id, nxt)
                out = np.concatenate([out, nxt[:, None]], 1)
                if eos_id is not None:
                    done |= nxt == eos_id
                    if done.all():
                        break
                ids = nxt[:, None]
    finally:
        model.train(was)
    return out
