"""Language modelling with RNNs (docs/maths.md §9.4): loss, sentence probability, perplexity,
sampling novel sequences, a unigram baseline, and a small training loop.

Conventions (see ``data.lm_batch``): a sequence y<1..T> is scored as
P(y<1>) P(y<2>|y<1>) ... P(<EOS>|y<1..T>), the first input being ``<EOS>``.  Perplexity is
exp(mean negative log-likelihood per predicted token, ``<EOS>`` included).
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from .data import iterate_batches, lm_batch
from .models import _sample_next
from .vocab import UNK

__all__ = ["sequence_nll", "sentence_log_prob", "sentence_probability", "perplexity",
           "unigram_perplexity", "sample", "train_language_model"]


def sequence_nll(logits, targets, ignore_index=-100, reduction="mean"):
    """Cross-entropy of next-token logits (B, T, V) against targets (B, T), skipping
    ``ignore_index`` (padding).  ``reduction``: "mean" (per token) or "sum"."""
    t = np.asarray(targets._data if isinstance(targets, Tensor) else targets)
    if logits.ndim != 3 or t.shape != logits.shape[:2]:
        raise ValueError(f"sequence_nll: expected logits (B, T, V) and targets (B, T), got "
                         f"{logits.shape} and {t.shape}")
    V = logits.shape[2]
    flat_t = t.reshape(-1)
    valid = np.nonzero(flat_t != ignore_index)[0]
    if valid.size == 0:
        raise ValueError("sequence_nll: every target is ignore_index")
    tv = flat_t[valid]
    if tv.min() < 0 or tv.max() >= V:
        raise ValueError(f"sequence_nll: targets must lie in [0, {V}) (or be ignore_index="
                         f"{ignore_index}), got values in [{tv.min()}, {tv.max()}]")
    sel = logits.reshape(-1, V)[valid]
    logp = sel.log_softmax(-1)
    picked = logp[np.arange(valid.size), tv]
    total = -picked.sum()
    if reduction == "sum":
        return total
    if reduction != "mean":
        raise ValueError(f"sequence_nll: unknown reduction {reduction!r}")
    return total / float(valid.size)


def _nll_total(model, seqs, eos_id, batch_size):
    total, count = 0.0, 0
    was = model.training
    model.eval()
    try:
        with no_grad():
            for batch in iterate_batches(seqs, batch_size, shuffle=False):
                x, y = lm_batch(batch, eos_id)
                logits, _ = model(x)
                total += float(sequence_nll(logits, y, reduction="sum")._data)
                count += int((y != -100).sum())
    finally:
        model.train(was)
    return total, count


def sentence_log_prob(model, vocab, tokens) -> float:
    """log P(y<1>, ..., y<T>, <EOS>) under the model (natural log).  ``tokens`` is a list of
    tokens (unknown ones count as ``<UNK>``) or a str for a character model."""
    ids = vocab.encode(tokens)
    total, _ = _nll_total(model, [ids], vocab.eos_id, 1)
    return -total


def sentence_probability(model, vocab, tokens) -> float:
    """P(sentence) = Π_t P(y<t> | y<1..t-1>) (docs/maths.md §9.4)."""
    return math.exp(sentence_log_prob(model, vocab, tokens))


def perplexity(model, seqs, eos_id, batch_size=256) -> float:
    """exp(mean NLL per token) over id sequences (each scored with its ``<EOS>``)."""
    if not seqs:
        raise ValueError("perplexity: no sequences")
    total, count = _nll_total(model, seqs, eos_id, batch_size)
    return math.exp(total / count)


def unigram_perplexity(train_seqs, eval_seqs, vocab_size, eos_id, alpha=1.0) -> float:
    """Perplexity of the context-free baseline P(y<t>) = (count(y) + α) / (N + α V), counts
    from ``train_seqs`` (with one ``<EOS>`` each)."""
    counts = np.full(vocab_size, float(alpha))
    for s in train_seqs:
        np.add.at(counts, np.asarray(s, np.int64), 1)
        counts[eos_id] += 1
    logp = np.log(counts / counts.sum())
    nll, n = 0.0, 0
    for s in eval_seqs:
        ids = np.asarray(list(s) + [eos_id], np.int64)
        nll -= logp[ids].sum()
        n += ids.size
    return math.exp(nll / n)


def sample(model, vocab, n=1, max_len=30, temperature=1.0, prefix=(), rng=None,
           join=None, allow_unk=False):
    """Sample ``n`` novel sequences (docs/maths.md §9.4.1): feed ``<EOS>`` (and ``prefix``), draw
    ŷ<t> from the softmax (sharpened or flattened by ``temperature``; 0 = greedy), feed it
    back, stop at ``<EOS>`` or after ``max_len`` tokens.  Returns lists of tokens, or strings
    joined with ``join`` (e.g. ``""`` for characters, ``" "`` for words).  ``<UNK>`` is never
    drawn unless ``allow_unk`` (its probability mass goes to the other tokens)."""
    from ..random import generator
    if temperature < 0:
        raise ValueError(f"sample: temperature must be >= 0, got {temperature}")
    rng = generator() if rng is None else rng
    eos = vocab.eos_id
    unk = vocab.stoi.get(UNK) if not allow_unk else None
    pre = vocab.encode(prefix)
    was = model.training
    model.eval()
    try:
        with no_grad():
            ids = np.array([[eos] + pre] * n, np.int64)
            logits, state = model(ids)
            out = [list(pre) for _ in range(n)]
            done = np.zeros(n, bool)
            for _ in range(max_len):
                z = logits._data[:, -1]
                if unk is not None:
                    z = z.copy()
                    z[:, unk] = -np.inf
                nxt = _sample_next(z, temperature, rng)
                for i in range(n):
                    if not done[i]:
                        if nxt[i] == eos:
                            done[i] = True
                        else:
                            out[i].append(int(nxt[i]))
                if done.all():
                    break
                logits, state = model(nxt[:, None].astype(np.int64), state)
    finally:
        model.train(was)
    toks = [vocab.decode(o, stop_at_eos=False) for o in out]
    return toks if join is None else [join.join(t) for t in toks]


def train_language_model(model, train_seqs, eos_id, epochs=1, batch_size=64, lr=3e-3,
                         clip=1.0, val_seqs=None, optimizer=None, progress=True,
                         max_steps=None, single_thread_blas="auto"):
    """Adam on the next-token cross-entropy, gradient-norm clipping at ``clip`` (the course'
    remedy for exploding gradients). Returns {"loss": per-step losses, "val_ppl": per epoch}.

    ``single_thread_blas``: run every GEMM of the step on one BLAS thread ("auto": when the
    model has under 2^20 parameters). A small model's GEMMs gain nothing from a second thread
    and stall when the cores are busy: a 2,000-word epoch of a hidden-64 character LSTM took
    1.3-1.8 s with two OpenBLAS threads on the loaded 2-core machine, 0.35-0.40 s with one."""
    import contextlib

    from .. import optim
    from ..ops.runtime import blas_single_thread
    if single_thread_blas == "auto":
        single_thread_blas = sum(p.numel() for p in model.parameters()) < 2 ** 20
    ctx = blas_single_thread() if single_thread_blas else contextlib.nullcontext()
    with ctx:
        return _train_lm(model, train_seqs, eos_id, epochs, batch_size, lr, clip, val_seqs,
                         optimizer, progress, max_steps)


def _train_lm(model, train_seqs, eos_id, epochs, batch_size, lr, clip, val_seqs, optimizer,
              progress, max_steps):
    from .. import optim
    opt = optimizer or optim.Adam(model.parameters(), lr=lr)
    clip_fn = None
    if clip:
        try:
            from ..nn.utils import clip_grad_norm_ as clip_fn
        except ImportError:  # pragma: no cover - utils not there yet
            clip_fn = None
    hist = {"loss": [], "val_ppl": []}
    steps_per_epoch = math.ceil(len(train_seqs) / batch_size)
    total = epochs * steps_per_epoch if max_steps is None else min(max_steps,
                                                                   epochs * steps_per_epoch)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=total, desc="train LM", leave=False)
    step = 0
    model.train()
    for _ in range(epochs):
        for batch in iterate_batches(train_seqs, batch_size):
            x, y = lm_batch(batch, eos_id)
            logits, _ = model(x)
            loss = sequence_nll(logits, y)
            opt.zero_grad()
            loss.backward()
            if clip_fn is not None:
                clip_fn(model.parameters(), clip)
            opt.step()
            hist["loss"].append(float(loss._data))
            step += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{hist['loss'][-1]:.3f}")
            if max_steps is not None and step >= max_steps:
                break
        if val_seqs is not None:
            hist["val_ppl"].append(perplexity(model, val_seqs, eos_id))
        if max_steps is not None and step >= max_steps:
            break
    if bar is not None:
        bar.close()
    return hist
