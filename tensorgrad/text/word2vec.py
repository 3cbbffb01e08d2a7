"""word2vec (Mikolov et al. 2013) with gensim's constructor and knobs (docs/word_embeddings.md).

``Word2Vec(sentences, vector_size=100, window=5, min_count=5, sg=0, hs=0, negative=5, ...)``
builds the vocabulary, trains, and leaves the word vectors in ``model.wv`` (a
``KeyedVectors``), as gensim does.

* ``sg=1``: skip-gram — each word in a window predicts the centre word (as word2vec.c and
  gensim arrange it: the input vector is the context word's, the output unit the centre's);
  ``sg=0``: CBOW — the mean (``cbow_mean=1``) or sum of the window's vectors predicts the
  centre.
* Output layer: ``negative=K > 0`` negative sampling with K draws from the unigram
  distribution raised to ``ns_exponent`` (¾); ``hs=1`` hierarchical softmax over a Huffman
  tree (frequent words get short codes); both may be on. ``hs=0, negative=0`` trains the full
  softmax over the vocabulary (O(V) per example — small vocabularies only; gensim refuses
  this setting).
* Frequent-word subsampling (``sample``): a word seen with frequency f = count/total is kept
  with probability (√(f/sample) + 1)·sample/f (word2vec.c's formula), before windows are laid.
* Dynamic window (``shrink_windows``): each centre uses a window b drawn uniformly from
  1..window, so near words weigh more.
* Learning rate: falls linearly from ``alpha`` to ``min_alpha`` over all the words of all
  epochs.

The loop runs in fused numba kernels (``tensorgrad.ops.word2vec``); each step is exactly an
SGD step on the losses written as graph compositions in ``tensorgrad.text.w2v_losses`` (the
tests check this). ``workers`` threads train at once without locks (Hogwild, as gensim);
results are reproducible from ``seed`` with ``workers=1``.
"""
from __future__ import annotations

import heapq
import math
import time
from collections import Counter

import numpy as np

from ..ops import word2vec as _w2v
from .vectors import KeyedVectors

__all__ = ["Word2Vec", "huffman_tree", "unigram_table", "keep_probabilities", "build_counts",
           "encode_corpus"]

MAX_WORDS_IN_SENTENCE = 10000  # longer sentences are cut into pieces (gensim does the same)


def build_counts(corpus, op="Word2Vec"):
    """Word counts of an iterable of tokenized sentences, with clear errors for a str where a
    list of tokens is expected and for an empty corpus. Returns (Counter, n_sentences)."""
    counts = Counter()
    n = 0
    if corpus is None:
        raise ValueError(f"{op}: no corpus given (sentences=None)")
    for sent in corpus:
        if isinstance(sent, str):
            raise TypeError(f"{op}: each sentence must be a list of tokens, got a str "
                            f"({sent[:30]!r}...); tokenize it first (e.g. text.split())")
        counts.update(sent)
        n += 1
    if n == 0 or not counts:
        raise ValueError(f"{op}: the corpus is empty ({n} sentences, no tokens)")
    return counts, n


def _vocabulary(counts, min_count, max_final_vocab=None, op="Word2Vec"):
    """Words with count ≥ min_count, most frequent first; ties are ordered as gensim orders
    them (the word seen first last)."""
    keep = [(w, c) for w, c in counts.items() if c >= min_count]
    if not keep:
        raise ValueError(f"{op}: min_count={min_count} leaves no vocabulary (the most frequent "
                         f"word, {counts.most_common(1)[0][0]!r}, occurs "
                         f"{counts.most_common(1)[0][1]} times)")
    keep = [keep[i] for i in sorted(range(len(keep)), key=lambda i: (-keep[i][1], -i))]
    if max_final_vocab is not None:
        keep = keep[:int(max_final_vocab)]
    return [w for w, _ in keep], np.array([c for _, c in keep], np.int64)


def huffman_tree(counts):
    """Huffman codes of a vocabulary (word2vec.c's hierarchical softmax tree).

    Returns ``points`` (V, L) — the inner nodes (0..V−2, root V−2) on the path from the root
    to each word, ``codes`` (V, L) — the branch (0/1) taken at each, and ``codelens`` (V,);
    rows are padded with 0 beyond their length. Frequent words get short codes."""
    counts = np.asarray(counts, np.int64)
    V = len(counts)
    if V < 2:
        return np.zeros((V, 1), np.int64), np.zeros((V, 1), np.int8), np.zeros(V, np.int64)
    heap = [(int(c), i) for i, c in enumerate(counts)]
    heapq.heapify(heap)
    parent = np.zeros(2 * V - 1, np.int64)
    branch = np.zeros(2 * V - 1, np.int8)
    for n in range(V - 1):
        c1, a = heapq.heappop(heap)
        c2, b = heapq.heappop(heap)
        node = V + n
        parent[a], branch[a] = node, 0
        parent[b], branch[b] = node, 1
        heapq.heappush(heap, (c1 + c2, node))
    root = 2 * V - 2
    paths = []
    for w in range(V):
        pts, cds, node = [], [], w
        while node != root:
            cds.append(branch[node])
            pts.append(parent[node] - V)
            node = parent[node]
        paths.append((pts[::-1], cds[::-1]))
    L = max(len(p) for p, _ in paths)
    points = np.zeros((V, L), np.int64)
    codes = np.zeros((V, L), np.int8)
    codelens = np.zeros(V, np.int64)
    for w, (p, c) in enumerate(paths):
        points[w, :len(p)], codes[w, :len(c)], codelens[w] = p, c, len(p)
    return points, codes, codelens


def unigram_table(counts, ns_exponent=0.75, domain=2 ** 31 - 1):
    """Cumulative table for drawing negatives: word i owns the integers
    [table[i−1], table[i]), in proportion to count_i ** ns_exponent."""
    p = np.asarray(counts, np.float64) ** ns_exponent
    cum = np.cumsum(p / p.sum())
    return np.round(cum * domain).astype(np.int64)


def keep_probabilities(counts, sample):
    """word2vec.c's subsampling: P(keep w) = (√(c_w / t) + 1) · t / c_w, capped at 1, with
    t = sample · total count (``sample`` < 1) or ``sample`` itself (≥ 1); 0 keeps all."""
    counts = np.asarray(counts, np.float64)
    if not sample:
        return np.ones_like(counts)
    t = sample * counts.sum() if sample < 1.0 else float(sample)
    return np.minimum(1.0, (np.sqrt(counts / t) + 1.0) * t / counts)


def encode_corpus(corpus, key_to_index, max_len=MAX_WORDS_IN_SENTENCE):
    """Corpus → (ids int32, offsets int64, number of tokens): words outside the vocabulary
    are dropped, sentences longer than ``max_len`` cut into pieces."""
    ids, offsets = [], [0]
    get = key_to_index.get
    n_tokens = 0
    for sent in corpus:
        if isinstance(sent, str):
            raise TypeError(f"Word2Vec: each sentence must be a list of tokens, got a str "
                            f"({sent[:30]!r}...)")
        n_tokens += len(sent)
        row = [i for i in (get(w, -1) for w in sent) if i >= 0]
        for s in range(0, len(row), max_len):
            piece = row[s:s + max_len]
            ids.extend(piece)
            offsets.append(offsets[-1] + len(piece))
    return np.asarray(ids, np.int32), np.asarray(offsets, np.int64), n_tokens


class Word2Vec:
    """word2vec with gensim's names; see the module docstring. ``progress=True`` shows a bar
    with words/s; ``model.train_stats`` holds the last run's word counts and throughput."""

    def __init__(self, sentences=None, vector_size=100, alpha=0.025, window=5, min_count=5,
                 max_vocab_size=None, sample=1e-3, seed=1, workers=3, min_alpha=0.0001, sg=0,
                 hs=0, negative=5, ns_exponent=0.75, cbow_mean=1, epochs=5,
                 batch_words=10000, compute_loss=False, shrink_windows=True,
                 max_final_vocab=None, progress=True, corpus_iterable=None):
        op = "Word2Vec"
        if sentences is not None and corpus_iterable is not None:
            raise ValueError(f"{op}: give sentences or corpus_iterable, not both")
        sentences = sentences if sentences is not None else corpus_iterable
        if sentences is not None and iter(sentences) is sentences:
            raise TypeError(f"{op}: the corpus is read several times (vocabulary, then each "
                            f"epoch); pass a list or a restartable iterable, not a generator")
        for name, v, lo in (("vector_size", vector_size, 1), ("window", window, 1),
                            ("epochs", epochs, 1), ("workers", workers, 1),
                            ("min_count", min_count, 0), ("negative", negative, 0),
                            ("batch_words", batch_words, 1)):
            if not isinstance(v, (int, np.integer)) or v < lo:
                raise ValueError(f"{op}: {name} must be an integer ≥ {lo}, got {v!r}")
        if not 0 < alpha or min_alpha < 0 or sample < 0:
            raise ValueError(f"{op}: need alpha > 0, min_alpha ≥ 0, sample ≥ 0; got "
                             f"alpha={alpha}, min_alpha={min_alpha}, sample={sample}")
        self.vector_size, self.alpha, self.min_alpha = int(vector_size), alpha, min_alpha
        self.window, self.min_count, self.sample, self.seed = int(window), min_count, sample, seed
        self.workers, self.sg, self.hs, self.negative = int(workers), int(sg), int(hs), int(negative)
        self.ns_exponent, self.cbow_mean, self.epochs = ns_exponent, int(cbow_mean), int(epochs)
        self.batch_words, self.compute_loss = int(batch_words), bool(compute_loss)
        self.shrink_windows, self.max_final_vocab = bool(shrink_windows), max_final_vocab
        self.max_vocab_size, self.progress = max_vocab_size, progress
        self.softmax = not self.hs and not self.negative
        self.running_training_loss = 0.0
        self.train_stats = {}
        self.wv = KeyedVectors(self.vector_size)
        if sentences is not None:
            self.build_vocab(sentences)
            self.train(sentences, total_examples=self.corpus_count, epochs=self.epochs)

    # ---- vocabulary -------------------------------------------------------------------------
    def build_vocab(self, corpus_iterable):
        """Count words, keep those seen ≥ min_count times and set up the weights."""
        counts, n = build_counts(corpus_iterable)
        if self.max_vocab_size is not None:
            counts = Counter(dict(counts.most_common(int(self.max_vocab_size))))
        words, freq = _vocabulary(counts, self.min_count, self.max_final_vocab)
        self.corpus_count = n
        self.corpus_total_words = int(sum(counts.values()))
        rng = np.random.default_rng(self.seed)
        V, D = len(words), self.vector_size
        syn0 = ((rng.random((V, D)) - 0.5) / D).astype(np.float32)
        self.wv = KeyedVectors.from_arrays(words, syn0, freq)
        self.syn1neg = np.zeros((V, D), np.float32) if self.negative else None
        self.syn1 = np.zeros((max(V - 1, 1), D), np.float32) if self.hs else None
        self.syn1sm = np.zeros((V, D), np.float32) if self.softmax else None
        self.cum_table = unigram_table(freq, self.ns_exponent) if self.negative else None
        self.points, self.codes, self.codelens = (huffman_tree(freq) if self.hs
                                                  else (None, None, None))
        keep = keep_probabilities(freq, self.sample)
        self._keep = np.where(keep >= 1.0, 2 ** 32, np.round(keep * 2 ** 32)).astype(np.int64)
        return self

    # ---- training ---------------------------------------------------------------------------
    def _jobs(self, offsets):
        """Sentence ranges of about ``batch_words`` raw words each."""
        bounds = [0]
        target = self.batch_words
        for s in range(1, len(offsets)):
            if offsets[s] - offsets[bounds[-1]] >= target:
                bounds.append(s)
        if bounds[-1] != len(offsets) - 1:
            bounds.append(len(offsets) - 1)
        return list(zip(bounds[:-1], bounds[1:]))

    def train(self, corpus_iterable=None, total_examples=None, epochs=None, start_alpha=None,
              end_alpha=None, compute_loss=None, progress=None, total_words=None):
        """Train (more) on a corpus; returns (effective words, raw words) as gensim does.
        ``total_examples``/``total_words`` are accepted for gensim compatibility."""
        if len(self.wv) == 0:
            raise RuntimeError("Word2Vec.train: call build_vocab(corpus) first (the vocabulary "
                               "is empty)")
        if corpus_iterable is None:
            raise ValueError("Word2Vec.train: no corpus given")
        epochs = int(self.epochs if epochs is None else epochs)
        a0 = self.alpha if start_alpha is None else start_alpha
        a1 = self.min_alpha if end_alpha is None else end_alpha
        want_loss = self.compute_loss if compute_loss is None else bool(compute_loss)
        show = self.progress if progress is None else progress
        ids, offsets, n_tokens = encode_corpus(corpus_iterable, self.wv.key_to_index)
        if len(ids) == 0:
            raise ValueError("Word2Vec.train: no word of the corpus is in the vocabulary")
        jobs = self._jobs(offsets)
        per_epoch = int(offsets[-1])
        syn0 = self.wv.vectors
        dummy = _w2v.empty_like_rows(syn0.dtype)
        common = dict(sg=self.sg, cbow_mean=self.cbow_mean, window=self.window,
                      shrink_windows=self.shrink_windows, negative=self.negative, hs=self.hs,
                      softmax=self.softmax, cum_table=self.cum_table, points=self.points,
                      codes=self.codes, codelens=self.codelens, keep=self._keep, alpha=a0,
                      min_alpha=a1, total_words=per_epoch * epochs, compute_loss=want_loss)
        outs = tuple(x if x is not None else dummy for x in (self.syn1neg, self.syn1,
                                                             self.syn1sm))
        starts = np.asarray(offsets)[[s for s, _ in jobs]]

        def run(epoch, k):
            s0, s1 = jobs[k]
            seed = (int(self.seed) * 1_000_003 + epoch * 7_919 + k * 104_729 + 1) % 2 ** 62
            return _w2v.w2v_train_sentences(ids, offsets, s0, s1, syn0, *outs,
                                            word_base=epoch * per_epoch + int(starts[k]),
                                            seed=seed, **common)

        _w2v.w2v_train_sentences(ids, offsets, 0, 0, syn0, *outs, word_base=0, seed=1,
                                 **common)  # compile before any thread starts
        bar = _bar(show, epochs * per_epoch)
        eff_total = done = 0
        loss = 0.0
        t0 = time.perf_counter()
        tasks = [(e, k) for e in range(epochs) for k in range(len(jobs))]
        if self.workers == 1:
            results = (run(e, k) for e, k in tasks)
        else:
            from concurrent.futures import ThreadPoolExecutor
            pool = ThreadPoolExecutor(self.workers)
            results = pool.map(lambda ek: run(*ek), tasks)
        try:
            for eff, raw, ls in results:
                eff_total += eff
                done += raw
                loss += ls
                if bar is not None:
                    bar.update(raw)
                    dt = time.perf_counter() - t0
                    bar.set_postfix_str(f"{eff_total / max(dt, 1e-9):,.0f} effective words/s",
                                        refresh=False)
        finally:
            if self.workers != 1:
                pool.shutdown(wait=True)
            if bar is not None:
                bar.close()
        dt = time.perf_counter() - t0
        raw_total = n_tokens * epochs  # words seen, out-of-vocabulary ones included (gensim)
        assert done == per_epoch * epochs
        self.running_training_loss = loss
        self.wv.norms = None
        self.train_stats = {"effective_words": eff_total, "raw_words": raw_total,
                            "seconds": dt, "effective_words_per_s": eff_total / max(dt, 1e-9),
                            "raw_words_per_s": raw_total / max(dt, 1e-9), "epochs": epochs,
                            "workers": self.workers}
        return eff_total, raw_total

    def get_latest_training_loss(self):
        """Summed loss of the last ``train`` (needs ``compute_loss=True``)."""
        return self.running_training_loss

    def __repr__(self):
        kind = "skip-gram" if self.sg else "CBOW"
        out = "+".join(n for n, on in (("hs", self.hs), (f"negative={self.negative}",
                                                          self.negative),
                                       ("softmax", self.softmax)) if on)
        return (f"Word2Vec({kind}, {out}, vocab={len(self.wv)}, vector_size="
                f"{self.vector_size}, window={self.window})")


def _bar(show, total, desc="word2vec", unit="word"):
    """A tqdm bar (words/s shown as the rate), or None when ``show`` is false."""
    if not show:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    return tqdm(total=total, unit=unit, unit_scale=True, desc=desc, leave=True)
