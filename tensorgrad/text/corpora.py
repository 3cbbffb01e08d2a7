"""Corpora for learning word vectors offline.

* ``load_kjv()``: the King James Bible from Debian's ``bible-kjv-text`` package (the text,
  stored compressed in ``/usr/lib/bible.data``, is read with the ``bible`` program of the
  ``bible-kjv`` package, which that package recommends). One sentence per verse, tokenized by
  ``kjv_tokenize``: lower case, runs of letters a-z (``"Lord's"`` → ``lord``, ``s``), which
  gives 791,450 tokens and 5,278 words seen at least 5 times.
* ``planted_analogy_corpus()``: a synthetic corpus whose co-occurrence statistics make
  analogies exact, for tests that need a known answer.

Nothing is downloaded: if the package is missing, the error says which one to install.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import numpy as np

__all__ = ["kjv_tokenize", "load_kjv", "planted_analogy_corpus"]

_LETTERS = re.compile(r"[a-z]+")
_REF = re.compile(r"^\S+\d+:\d+\s")  # "Ge1:1 " in front of each verse


def kjv_tokenize(text: str) -> list[str]:
    """Lower-case the text and keep runs of the letters a-z (digits and punctuation split)."""
    if not isinstance(text, str):
        raise TypeError(f"kjv_tokenize: expected a str, got {type(text).__name__}")
    return _LETTERS.findall(text.lower())


def _kjv_text(data_dir=None) -> str:
    exe = shutil.which("bible")
    if exe is None:
        raise FileNotFoundError(
            "load_kjv: the 'bible' program is not installed; the King James text comes from "
            "Debian's packages: `apt-get install bible-kjv-text bible-kjv`")
    cmd = [exe, "-f"]
    if data_dir is not None:
        cmd += ["-p", str(data_dir)]
    # -f turns pretty-printing off: one verse per line, "Ge1:1 In the beginning ..."
    res = subprocess.run(cmd + ["Gen1:1-Rev22:21"], capture_output=True, text=True,
                         check=False, timeout=120)
    if res.returncode != 0 or not res.stdout.strip():
        raise RuntimeError(f"load_kjv: `{' '.join(cmd)} Gen1:1-Rev22:21` failed "
                           f"(exit {res.returncode}): {res.stderr.strip()[:200]}")
    return res.stdout


def load_kjv(path=None, limit=None) -> list[list[str]]:
    """The King James Bible as a list of verses, each a list of tokens (``kjv_tokenize``).

    path: ``None`` reads Debian's ``bible-kjv-text`` (31,102 verses); a plain-text file with
    one verse (or sentence) per line is read instead when given (an optional leading
    ``Book1:1`` reference is dropped). ``limit`` keeps the first that many verses.
    """
    if path is None:
        text = _kjv_text()
    else:
        if not os.path.exists(path):
            raise FileNotFoundError(f"load_kjv: no such file {path!r}")
        with open(path, encoding="utf-8") as f:
            text = f.read()
    verses = []
    for line in text.splitlines():
        line = _REF.sub("", line, count=1)
        toks = kjv_tokenize(line)
        if toks:
            verses.append(toks)
        if limit is not None and len(verses) >= limit:
            break
    if not verses:
        raise ValueError(f"load_kjv: no verses found in {path or 'the bible-kjv-text data'}")
    return verses


def planted_analogy_corpus(n_rows: int = 6, n_cols: int = 6, n_sentences: int = 6000,
                           markers: int = 3, noise_words: int = 20, leak: float = 0.0,
                           seed: int = 0):
    """A corpus with planted analogies and the questions that test them.

    There are ``n_rows × n_cols`` entity words ``r{i}c{j}``. Every sentence names one entity
    together with two words that describe its row (drawn from the row's ``markers`` words
    ``row{i}_{k}``), two that describe its column (``col{j}_{k}``) and one filler word, in a
    random order. How often an entity meets a context word then factorizes as
    P(row marker | r_i c_j) · P(col marker | r_i c_j), so the pointwise mutual information of
    r_i c_j with the context words is the sum of a row part and a column part: the vector
    offset r_i c_j − r_i' c_j is the same for every column j. That is the structure
    "man : woman :: king : queen" rests on, planted exactly.

    ``leak``: each marker slot is drawn from all rows' (columns') markers with this
    probability instead of the entity's own. The factorization still holds, and the entities'
    co-occurrence counts then differ in size, not only in which are zero — which count-based
    methods that fit only the non-zero entries (GloVe) need to see the structure.

    Returns ``(sentences, questions)``: lists of tokens, and 4-tuples (a, b, c, d) meaning
    a : b :: c : d with a = r_i c_j, b = r_i' c_j, c = r_i c_j', d = r_i' c_j'.
    """
    for name, v in (("n_rows", n_rows), ("n_cols", n_cols), ("markers", markers)):
        if int(v) < 2:
            raise ValueError(f"planted_analogy_corpus: {name} must be at least 2, got {v}")
    if not 0 <= leak < 1:
        raise ValueError(f"planted_analogy_corpus: leak must be in [0, 1), got {leak}")
    if int(n_sentences) < 1:
        raise ValueError(f"planted_analogy_corpus: n_sentences must be positive, got "
                         f"{n_sentences}")
    rng = np.random.default_rng(seed)
    ent = [[f"r{i}c{j}" for j in range(n_cols)] for i in range(n_rows)]
    rowm = [[f"row{i}_{k}" for k in range(markers)] for i in range(n_rows)]
    colm = [[f"col{j}_{k}" for k in range(markers)] for j in range(n_cols)]
    noise = [f"w{k}" for k in range(noise_words)]
    sentences = []
    for _ in range(int(n_sentences)):
        i, j = rng.integers(n_rows), rng.integers(n_cols)
        words = [ent[i][j]]
        for _slot in range(2):
            ii = rng.integers(n_rows) if leak and rng.random() < leak else i
            words.append(rowm[ii][rng.integers(markers)])
        for _slot in range(2):
            jj = rng.integers(n_cols) if leak and rng.random() < leak else j
            words.append(colm[jj][rng.integers(markers)])
        if noise:
            words.append(noise[rng.integers(len(noise))])
        sentences.append([words[k] for k in rng.permutation(len(words))])
    questions = []
    for i in range(n_rows):
        for i2 in range(n_rows):
            for j in range(n_cols):
                for j2 in range(n_cols):
                    if i != i2 and j != j2:
                        questions.append((ent[i][j], ent[i2][j], ent[i][j2], ent[i2][j2]))
    return sentences, questions
