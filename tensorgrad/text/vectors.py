"""Word vectors with gensim's names: ``KeyedVectors`` (docs/word_embeddings.md).

A ``KeyedVectors`` holds a matrix ``vectors`` (one row per key) and the vocabulary
(``index_to_key``, ``key_to_index``). The row of word w is its embedding e_w = E o_w — the
matrix-vector product with a one-hot vector, done as a lookup.

Similarity is the cosine sim(u, v) = uᵀv / (‖u‖‖v‖). An analogy a : b :: c : ? is answered as
gensim (and word2vec's ``compute-accuracy``) do: with unit vectors û, the word w maximizing
cos(e_w, ê_b − ê_a + ê_c) over the vocabulary, the three query words excluded
(``most_similar(positive=[b, c], negative=[a])``).

Files: ``save``/``load`` write a safetensors file (``tg.save``: the matrix as a tensor, the
vocabulary and counts in its JSON metadata — no pickle). ``save_word2vec_format`` /
``load_word2vec_format`` read and write the text and binary formats of the original word2vec
tool, which gensim reads and writes too.
"""
from __future__ import annotations

import difflib
import os
from numbers import Integral

import numpy as np

__all__ = ["KeyedVectors", "plot_tsne"]

_KEY_TYPES = (str, Integral)


def _unit(v):
    v = np.asarray(v)
    n = np.linalg.norm(v)
    return v / n if n > 0 else v


def _ensure_list(value):
    """A single key or 1-D vector becomes a one-element list; a 2-D array a list of rows."""
    if value is None:
        return []
    if isinstance(value, _KEY_TYPES) or (isinstance(value, np.ndarray) and value.ndim == 1):
        return [value]
    if isinstance(value, np.ndarray) and value.ndim == 2:
        return list(value)
    return list(value)


class KeyedVectors:
    """A set of keyed vectors (gensim's ``KeyedVectors``).

    ``KeyedVectors(vector_size, count=0, dtype=np.float32)`` makes an empty set;
    ``add_vectors(keys, weights)`` appends (or, for a key already there, with
    ``replace=True``, overwrites) rows. ``kv[key]`` is a copy-free view of a row (a list of
    keys gives a matrix); ``key in kv``, ``len(kv)``.
    """

    def __init__(self, vector_size: int, count: int = 0, dtype=np.float32):
        if int(vector_size) < 1:
            raise ValueError(f"KeyedVectors: vector_size must be positive, got {vector_size}")
        self.vector_size = int(vector_size)
        self.vectors = np.zeros((int(count), self.vector_size), dtype=dtype)
        self.index_to_key: list = [None] * int(count)
        self.key_to_index: dict = {}
        self.counts = np.zeros(int(count), np.int64)
        self.norms = None

    # ---- construction ---------------------------------------------------------------------
    def add_vectors(self, keys, weights, extras=None, replace=False):
        """Append vectors for new keys (``weights`` (n, vector_size) or one vector for one key).
        Keys already present are skipped, or overwritten when ``replace``. ``extras`` may hold
        ``{"count": [...]}`` (word frequencies, as gensim's ``set_vecattr``)."""
        if isinstance(keys, _KEY_TYPES):
            keys = [keys]
            weights = np.asarray(weights).reshape(1, -1)
        keys = [str(k) if isinstance(k, str) else k for k in keys]  # np.str_ → str
        weights = np.asarray(weights)
        if weights.ndim != 2 or weights.shape != (len(keys), self.vector_size):
            raise ValueError(f"KeyedVectors.add_vectors: weights must have shape "
                             f"({len(keys)}, {self.vector_size}), got {weights.shape}")
        counts = np.zeros(len(keys), np.int64)
        if extras and "count" in extras:
            counts = np.asarray(extras["count"], np.int64).reshape(len(keys))
        if len(set(keys)) != len(keys):
            raise ValueError("KeyedVectors.add_vectors: keys contain duplicates")
        in_vocab = np.array([k in self.key_to_index for k in keys], bool)
        if replace and in_vocab.any():
            rows = [self.key_to_index[k] for k, m in zip(keys, in_vocab) if m]
            self.vectors[rows] = weights[in_vocab]
            self.counts[rows] = counts[in_vocab]
        new = ~in_vocab
        start = len(self.index_to_key)
        for k in (k for k, m in zip(keys, new) if m):
            if not isinstance(k, str):
                raise TypeError(f"KeyedVectors.add_vectors: keys must be str, got "
                                f"{type(k).__name__} ({k!r})")
            self.key_to_index[k] = len(self.index_to_key)
            self.index_to_key.append(k)
        self.vectors = np.concatenate([self.vectors, weights[new].astype(self.vectors.dtype)])
        self.counts = np.concatenate([self.counts, counts[new]])
        assert len(self.index_to_key) == len(self.vectors) and start <= len(self.vectors)
        self.norms = None
        return self

    def add_vector(self, key, vector):
        """Add one vector; returns its index."""
        self.add_vectors([key], np.asarray(vector).reshape(1, -1))
        return self.key_to_index[key]

    @classmethod
    def from_arrays(cls, keys, vectors, counts=None):
        """A set from a vocabulary and its (n, d) matrix (the rows are copied)."""
        vectors = np.asarray(vectors)
        if vectors.ndim != 2:
            raise ValueError(f"KeyedVectors.from_arrays: vectors must be 2-D, got shape "
                             f"{vectors.shape}")
        kv = cls(vectors.shape[1], dtype=vectors.dtype)
        kv.add_vectors(list(keys), vectors,
                       extras=None if counts is None else {"count": counts})
        return kv

    # ---- lookup -----------------------------------------------------------------------------
    def __len__(self):
        return len(self.index_to_key)

    def __contains__(self, key):
        return key in self.key_to_index

    def has_index_for(self, key):
        return self.get_index(key, -1) >= 0

    def _missing(self, key):
        near = difflib.get_close_matches(str(key), [str(k) for k in self.index_to_key], n=3,
                                         cutoff=0.6)
        hint = f"; nearest known spellings: {', '.join(map(repr, near))}" if near else ""
        return KeyError(f"KeyedVectors: key {key!r} not present in the vocabulary of "
                        f"{len(self)} words{hint}")

    def get_index(self, key, default=None):
        """The row of ``key``; an integer within range is taken as a row number itself."""
        i = self.key_to_index.get(key, -1) if isinstance(key, str) else -1
        if i >= 0:
            return i
        if isinstance(key, Integral) and not isinstance(key, bool) and 0 <= key < len(self):
            return int(key)
        if default is not None:
            return default
        raise self._missing(key)

    def get_vector(self, key, norm=False):
        """The vector of ``key`` (unit length when ``norm``)."""
        i = self.get_index(key)
        if norm:
            self.fill_norms()
            return self.vectors[i] / self.norms[i]
        return self.vectors[i]

    word_vec = get_vector

    def __getitem__(self, key_or_keys):
        if isinstance(key_or_keys, _KEY_TYPES):
            return self.get_vector(key_or_keys)
        return np.vstack([self.get_vector(k) for k in key_or_keys])

    def get_vecattr(self, key, attr):
        if attr != "count":
            raise KeyError(f"KeyedVectors.get_vecattr: only 'count' is stored, got {attr!r}")
        return int(self.counts[self.get_index(key)])

    def fill_norms(self, force=False):
        if self.norms is None or force or len(self.norms) != len(self.vectors):
            self.norms = np.linalg.norm(self.vectors, axis=1)
            self.norms[self.norms == 0] = 1.0  # a zero vector stays zero when "normalized"

    def get_normed_vectors(self):
        self.fill_norms()
        return self.vectors / self.norms[:, None]

    # ---- similarity -------------------------------------------------------------------------
    def similarity(self, w1, w2) -> float:
        """Cosine similarity of two keys."""
        return float(np.dot(_unit(self[w1]), _unit(self[w2])))

    def distance(self, w1, w2) -> float:
        """1 − cosine similarity."""
        return 1.0 - self.similarity(w1, w2)

    def n_similarity(self, ws1, ws2) -> float:
        """Cosine similarity of the means of two sets of keys."""
        if not len(ws1) or not len(ws2):
            raise ValueError("KeyedVectors.n_similarity: at least one of the lists is empty")
        return float(np.dot(_unit(self[list(ws1)].mean(0)), _unit(self[list(ws2)].mean(0))))

    def get_mean_vector(self, keys, weights=None, pre_normalize=True, post_normalize=False,
                        ignore_missing=True):
        """Weighted mean of keys (unit vectors when ``pre_normalize``) and raw vectors,
        divided by the sum of |weights| (gensim's rule)."""
        keys = list(keys)
        if not keys:
            raise ValueError("KeyedVectors.get_mean_vector: cannot compute a mean of no keys")
        weights = (np.ones(len(keys)) if weights is None
                   else np.asarray(weights, np.float64).reshape(-1))
        if len(weights) != len(keys):
            raise ValueError(f"KeyedVectors.get_mean_vector: {len(keys)} keys but "
                             f"{len(weights)} weights")
        mean = np.zeros(self.vector_size, np.float64)
        total = 0.0
        for w, key in zip(weights, keys):
            if isinstance(key, np.ndarray):
                if key.shape != (self.vector_size,):
                    raise ValueError(f"KeyedVectors: a vector must have shape "
                                     f"({self.vector_size},), got {key.shape}")
                vec = key
            elif key in self or (isinstance(key, Integral) and self.has_index_for(key)):
                vec = self.get_vector(key, norm=pre_normalize)
            elif not ignore_missing:
                raise self._missing(key)
            else:
                continue
            mean += w * vec
            total += abs(w)
        if total > 0:
            mean /= total
        mean = mean.astype(self.vectors.dtype)
        return _unit(mean) if post_normalize else mean

    def most_similar(self, positive=None, negative=None, topn=10, restrict_vocab=None):
        """The ``topn`` keys closest (cosine) to the mean of the unit vectors of ``positive``
        minus those of ``negative`` (gensim's ``most_similar``; a key may be given as
        ``(key, weight)``, or a raw vector). Keys named in the query are never returned. So
        ``most_similar(positive=["woman", "king"], negative=["man"])`` answers
        man : woman :: king : ?. ``topn=None`` returns all similarities as an array."""
        if isinstance(topn, Integral) and topn < 1:
            return []
        positive, negative = _ensure_list(positive), _ensure_list(negative)
        if not positive and not negative:
            raise ValueError("KeyedVectors.most_similar: give at least one positive or "
                             "negative key")
        keys, weight = [], np.concatenate([np.ones(len(positive)), -np.ones(len(negative))])
        for idx, item in enumerate(positive + negative):
            if isinstance(item, _KEY_TYPES) or isinstance(item, np.ndarray):
                keys.append(item)
            else:
                keys.append(item[0])
                weight[idx] = item[1]
        for k in keys:
            if not isinstance(k, np.ndarray):
                self.get_index(k)  # raises the KeyError with spelling hints
        mean = self.get_mean_vector(keys, weight, pre_normalize=True, post_normalize=True,
                                    ignore_missing=False)
        exclude = {self.get_index(k) for k in keys if isinstance(k, _KEY_TYPES)}
        return self._rank(mean, topn, exclude, restrict_vocab)

    def _rank(self, unit_query, topn, exclude=(), restrict_vocab=None):
        self.fill_norms()
        end = len(self.vectors) if not restrict_vocab else min(int(restrict_vocab),
                                                                len(self.vectors))
        dists = self.vectors[:end] @ unit_query / self.norms[:end]
        if not topn:
            return dists
        k = min(len(dists), int(topn) + len(exclude))
        best = np.argpartition(-dists, k - 1)[:k] if k < len(dists) else np.arange(len(dists))
        best = best[np.argsort(-dists[best], kind="stable")]
        out = [(self.index_to_key[i], float(dists[i])) for i in best if i not in exclude]
        return out[:int(topn)]

    def similar_by_vector(self, vector, topn=10, restrict_vocab=None):
        """The keys closest to a raw vector (nothing excluded)."""
        return self.most_similar(positive=[np.asarray(vector)], topn=topn,
                                 restrict_vocab=restrict_vocab)

    def similar_by_word(self, word, topn=10, restrict_vocab=None):
        return self.most_similar(positive=[word], topn=topn, restrict_vocab=restrict_vocab)

    def most_similar_cosmul(self, positive=None, negative=None, topn=10):
        """Levy & Goldberg's 3CosMul: argmax Π cos⁺(w, p) / (Π cos⁺(w, n) + ε), cos⁺ = (1+cos)/2."""
        positive, negative = _ensure_list(positive), _ensure_list(negative)
        normed = self.get_normed_vectors()
        pos = [(normed @ _unit(self[k]) + 1) / 2 for k in positive]
        neg = [(normed @ _unit(self[k]) + 1) / 2 for k in negative]
        dists = np.prod(pos, axis=0) / (np.prod(neg, axis=0) + 1e-6)
        if not topn:
            return dists
        exclude = {self.get_index(k) for k in positive + negative if isinstance(k, _KEY_TYPES)}
        order = np.argsort(-dists, kind="stable")[:int(topn) + len(exclude)]
        return [(self.index_to_key[i], float(dists[i])) for i in order
                if i not in exclude][:int(topn)]

    def rank_by_centrality(self, words, use_norm=True):
        """``(similarity to the centroid, word)`` pairs, most central first; unknown words are
        skipped with a warning (as gensim)."""
        import warnings
        used = [w for w in words if w in self]
        if len(used) != len(words):
            warnings.warn(f"KeyedVectors: vectors for words {sorted(set(words) - set(used))} "
                          f"are not present in the model, ignoring these words", stacklevel=3)
        if not used:
            raise ValueError("KeyedVectors.doesnt_match: none of the words is in the "
                             "vocabulary, cannot select a word from an empty list")
        vecs = np.vstack([self.get_vector(w, norm=use_norm) for w in used])
        mean = _unit(vecs.mean(0))
        return sorted(zip(map(float, vecs @ mean), used), reverse=True)

    def doesnt_match(self, words):
        """The word farthest (cosine) from the mean of the unit vectors of all of them."""
        return self.rank_by_centrality(list(words))[-1][1]

    def analogy(self, a, b, c, topn=1):
        """a : b :: c : ?  — the best answers as (word, cosine) pairs."""
        return self.most_similar(positive=[b, c], negative=[a], topn=topn)

    def evaluate_word_analogies(self, questions, restrict_vocab=300000):
        """Accuracy on analogy questions (a, b, c, d): "a : b :: c : d". ``questions`` is a
        list of 4-tuples or a path to a file in word2vec's ``questions-words.txt`` format
        (``: section`` lines, then ``a b c d`` lines). Questions with a word outside the first
        ``restrict_vocab`` keys are skipped, as gensim does. Returns ``(accuracy, details)``
        with ``details = {"correct": [...], "incorrect": [...], "skipped": n}``."""
        if isinstance(questions, (str, os.PathLike)):
            with open(questions, encoding="utf-8") as f:
                questions = [tuple(line.split()) for line in f
                             if line.strip() and not line.startswith(":")]
        allowed = set(self.index_to_key[:restrict_vocab])
        correct, incorrect, skipped = [], [], 0
        normed = self.get_normed_vectors()[:restrict_vocab]
        for q in questions:
            if len(q) != 4:
                raise ValueError(f"KeyedVectors.evaluate_word_analogies: a question needs 4 "
                                 f"words, got {q!r}")
            if not all(w in allowed for w in q):
                skipped += 1
                continue
            a, b, c, d = q
            ia, ib, ic = (self.key_to_index[w] for w in (a, b, c))
            query = _unit(normed[ib] - normed[ia] + normed[ic])
            sims = normed @ query
            sims[[ia, ib, ic]] = -np.inf
            guess = self.index_to_key[int(np.argmax(sims))]
            (correct if guess == d else incorrect).append(q)
        n = len(correct) + len(incorrect)
        acc = len(correct) / n if n else 0.0
        return acc, {"correct": correct, "incorrect": incorrect, "skipped": skipped}

    # ---- files ------------------------------------------------------------------------------
    def save(self, path):
        """Write a safetensors file (``tg.save``): no pickle, loadable by ``KeyedVectors.load``."""
        from ..io import save
        save({"kind": "KeyedVectors", "vectors": self.vectors,
              "counts": self.counts, "index_to_key": list(self.index_to_key)}, path)

    @classmethod
    def load(cls, path):
        from ..io import load
        d = load(path)
        if not isinstance(d, dict) or d.get("kind") != "KeyedVectors":
            raise ValueError(f"KeyedVectors.load: {path!r} does not hold KeyedVectors "
                             f"(written by KeyedVectors.save)")
        arr = [np.asarray(d[k].numpy() if hasattr(d[k], "numpy") else d[k])
               for k in ("vectors", "counts")]
        return cls.from_arrays(d["index_to_key"], *arr)

    def save_word2vec_format(self, fname, binary=False, write_header=True):
        """The original word2vec tool's format: a ``count dim`` header, then one line per key
        (``word v1 v2 ...`` as text, or ``word `` + float32 bytes when ``binary``)."""
        with open(fname, "wb") as f:
            if write_header:
                f.write(f"{len(self)} {self.vector_size}\n".encode())
            for key, vec in zip(self.index_to_key, self.vectors):
                if binary:
                    f.write(key.encode() + b" " + vec.astype("<f4").tobytes() + b"\n")
                else:
                    f.write((key + " " + " ".join(repr(float(x)) for x in vec.astype(np.float32))
                             + "\n").encode())

    @classmethod
    def load_word2vec_format(cls, fname, binary=False, limit=None):
        with open(fname, "rb") as f:
            header = f.readline().split()
            if len(header) != 2:
                raise ValueError(f"KeyedVectors.load_word2vec_format: {fname!r} has no "
                                 f"'count dim' header line")
            n, dim = int(header[0]), int(header[1])
            if limit is not None:
                n = min(n, int(limit))
            keys, vecs = [], np.empty((n, dim), np.float32)
            for i in range(n):
                if binary:
                    word = b""
                    while (ch := f.read(1)) != b" ":
                        if not ch:
                            raise ValueError(f"KeyedVectors.load_word2vec_format: {fname!r} "
                                             f"ends inside entry {i}")
                        if ch != b"\n":
                            word += ch
                    raw = f.read(4 * dim)
                    if len(raw) != 4 * dim:
                        raise ValueError(f"KeyedVectors.load_word2vec_format: {fname!r} ends "
                                         f"inside entry {i}")
                    vecs[i] = np.frombuffer(raw, "<f4")
                    keys.append(word.decode("utf-8"))
                else:
                    parts = f.readline().decode("utf-8").rstrip().split(" ")
                    if len(parts) != dim + 1:
                        raise ValueError(f"KeyedVectors.load_word2vec_format: line {i + 2} of "
                                         f"{fname!r} has {len(parts) - 1} numbers, expected "
                                         f"{dim}")
                    keys.append(parts[0])
                    vecs[i] = np.asarray(parts[1:], np.float32)
        return cls.from_arrays(keys, vecs)

    def __repr__(self):
        return (f"KeyedVectors({len(self)} keys, vector_size={self.vector_size}, "
                f"dtype={self.vectors.dtype})")


def plot_tsne(kv, words, ax=None, perplexity=None, seed=0, annotate=True, tsne_kw=None,
              **scatter_kw):
    """Embed the vectors of ``words`` in 2-D with scikit-learn's t-SNE (cosine distances,
    PCA start; ``tsne_kw`` goes to ``TSNE``) and scatter them, labelled. Returns
    ``(ax, coords)`` (coords: (n, 2)). Needs matplotlib and scikit-learn."""
    try:
        from sklearn.manifold import TSNE
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("plot_tsne needs scikit-learn: pip install scikit-learn") from e
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover
        raise ImportError("plot_tsne needs matplotlib: pip install 'tensorgrad[plot]'") from e
    words = list(words)
    if len(words) < 3:
        raise ValueError(f"plot_tsne: need at least 3 words, got {len(words)}")
    X = np.asarray(kv[words], np.float64)
    if perplexity is None:
        perplexity = min(30.0, (len(words) - 1) / 3)
    if not 0 < perplexity < len(words):
        raise ValueError(f"plot_tsne: perplexity must be in (0, {len(words)}), got {perplexity}")
    kw = dict(n_components=2, perplexity=perplexity, random_state=seed, init="pca",
              metric="cosine")
    kw.update(tsne_kw or {})
    coords = TSNE(**kw).fit_transform(X)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 6))
    ax.scatter(coords[:, 0], coords[:, 1], **scatter_kw)
    if annotate:
        for (x, y), w in zip(coords, words):
            ax.annotate(w, (x, y), fontsize=9, xytext=(3, 3), textcoords="offset points")
    ax.set_title("t-SNE of word vectors")
    return ax, coords
