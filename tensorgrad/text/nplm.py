"""The neural probabilistic language model of Bengio, Ducharme, Vincent & Jauvin (2003), on
the graph (docs/word_embeddings.md): predict word t from the n previous words.

    x = [C(w_{t−n}), ..., C(w_{t−1})]          (n embeddings of size m, concatenated)
    y = b + W x + U tanh(d + H x)               (logits over the vocabulary)
    P(w_t | context) = softmax(y)

C is an ``nn.Embedding`` shared by all positions, H/d and U/b are ``nn.Linear`` layers, and
W (``direct=True``) is the paper's optional direct connection from the embeddings to the
output. Training minimizes the cross-entropy of the next word with any ``tg.optim``
optimizer; the embedding table C is then a set of word vectors (``model.keyed_vectors()``),
similar for words that are used in similar contexts (the course's "orange juice" / "apple
juice" argument). A sentence's first words see ``<EOS>`` as padding on the left.
"""
from __future__ import annotations

import time

import numpy as np

from .. import nn, optim
from ..autograd.grad_mode import no_grad
from ..nn import functional as F
from ..tensor import _wrap
from .vectors import KeyedVectors
from .vocab import Vocab

__all__ = ["NPLM", "nplm_examples", "nplm_perplexity", "train_nplm"]


class NPLM(nn.Module):
    """Bengio et al.'s model; ``forward(ctx (B, n) int ids) → logits (B, V)``."""

    def __init__(self, vocab_size, context_size=4, embedding_dim=30, hidden_size=50,
                 direct=True):
        super().__init__()
        for name, v in (("vocab_size", vocab_size), ("context_size", context_size),
                        ("embedding_dim", embedding_dim), ("hidden_size", hidden_size)):
            if int(v) < 1:
                raise ValueError(f"NPLM: {name} must be positive, got {v}")
        self.vocab_size, self.context_size = int(vocab_size), int(context_size)
        self.embed = nn.Embedding(vocab_size, embedding_dim)
        # small initial vectors (as word2vec's ±0.5/m), so that what training writes into the
        # table is not drowned by N(0, 1) noise for the many rarely seen words
        nn.init.uniform_(self.embed.weight, -0.5 / embedding_dim, 0.5 / embedding_dim)
        self.hidden = nn.Linear(context_size * embedding_dim, hidden_size)
        self.out = nn.Linear(hidden_size, vocab_size)
        self.direct = (nn.Linear(context_size * embedding_dim, vocab_size, bias=False)
                       if direct else None)
        self.vocab = None

    def forward(self, ctx):
        ctx = np.asarray(ctx.numpy() if hasattr(ctx, "numpy") else ctx)
        if ctx.ndim != 2 or ctx.shape[1] != self.context_size:
            raise ValueError(f"NPLM: expected contexts of shape (batch, {self.context_size}), "
                             f"got {ctx.shape}")
        x = self.embed(ctx).reshape(ctx.shape[0], -1)
        y = self.out(self.hidden(x).tanh())
        if self.direct is not None:
            y = y + self.direct(x)
        return y

    def keyed_vectors(self, vocab=None):
        """The embedding table C as ``KeyedVectors`` (special tokens left out)."""
        vocab = vocab or self.vocab
        if vocab is None:
            raise ValueError("NPLM.keyed_vectors: pass the vocabulary the model was trained "
                             "with")
        W = self.embed.weight.detach().numpy()
        keep = [i for i, t in enumerate(vocab.itos) if t not in vocab.specials]
        return KeyedVectors.from_arrays([vocab.itos[i] for i in keep], W[keep],
                                        [vocab.counts.get(vocab.itos[i], 0) for i in keep]
                                        if hasattr(vocab, "counts") else None)


def nplm_examples(sentences, vocab, context_size):
    """(contexts (N, n), targets (N,)) int64: every word of every sentence, with the n words
    before it (``<EOS>`` where the sentence has not started); unknown words become ``<UNK>``."""
    eos = vocab.eos_id
    ctx, tgt = [], []
    for s in sentences:
        ids = [eos] * context_size + vocab.encode(s)
        for t in range(context_size, len(ids)):
            ctx.append(ids[t - context_size:t])
            tgt.append(ids[t])
    if not tgt:
        raise ValueError("nplm_examples: the corpus is empty (no words)")
    return np.asarray(ctx, np.int64), np.asarray(tgt, np.int64)


def train_nplm(sentences, context_size=4, embedding_dim=30, hidden_size=50, direct=True,
               min_count=1, max_vocab=None, epochs=5, batch_size=256, lr=3e-3,
               optimizer="adam", seed=0, progress=True):
    """Build a vocabulary, make the examples and train an ``NPLM`` on the graph.

    Returns the model (``model.vocab`` set, ``model.history`` the mean training loss of each
    epoch, ``model.wv`` the embedding table as ``KeyedVectors``)."""
    from ..random import manual_seed
    from .word2vec import _bar, build_counts
    sentences = list(sentences)
    counts, _ = build_counts(sentences, op="train_nplm")
    vocab = Vocab.build(sentences, max_size=max_vocab, min_freq=min_count)
    if len(vocab) <= len(vocab.specials):
        raise ValueError(f"train_nplm: min_count={min_count} leaves no vocabulary (the most "
                         f"frequent word occurs {counts.most_common(1)[0][1]} times)")
    ctx, tgt = nplm_examples(sentences, vocab, context_size)
    manual_seed(seed)
    model = NPLM(len(vocab), context_size, embedding_dim, hidden_size, direct)
    model.vocab = vocab
    if optimizer == "adam":
        opt = optim.Adam(model.parameters(), lr=lr)
    elif optimizer == "sgd":
        opt = optim.SGD(model.parameters(), lr=lr)
    else:
        raise ValueError(f"train_nplm: optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    rng = np.random.default_rng(seed)
    n = len(tgt)
    bar = _bar(progress, epochs * n, desc="NPLM")
    model.history = []
    t0 = time.perf_counter()
    try:
        for _ in range(epochs):
            order = rng.permutation(n)
            total = 0.0
            for s in range(0, n, batch_size):
                b = order[s:s + batch_size]
                loss = F.cross_entropy(model(ctx[b]), _wrap(tgt[b]))
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(b)
                if bar is not None:
                    bar.update(len(b))
                    bar.set_postfix_str(f"loss {loss.item():.3f}, "
                                        f"{bar.n / (time.perf_counter() - t0):,.0f} words/s",
                                        refresh=False)
            model.history.append(total / n)
    finally:
        if bar is not None:
            bar.close()
    with no_grad():
        model.wv = model.keyed_vectors(vocab)
    return model


def nplm_perplexity(model, sentences, batch_size=1024):
    """exp(mean cross-entropy of the next word) over all words of ``sentences``."""
    ctx, tgt = nplm_examples(sentences, model.vocab, model.context_size)
    total = 0.0
    with no_grad():
        for s in range(0, len(tgt), batch_size):
            total += F.cross_entropy(model(ctx[s:s + batch_size]), _wrap(tgt[s:s + batch_size]),
                                     reduction="sum").item()
    return float(np.exp(total / len(tgt)))
