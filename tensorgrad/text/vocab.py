"""Tokenization and vocabularies (§9.1, §9.4; docs/maths.md).

A vocabulary is an ordered list of tokens; a token's position is its index (the position of
the 1 in its one-hot vector).  Two special tokens: ``<UNK>`` for every token
outside the vocabulary and ``<EOS>`` to mark where a sentence (or word, for a character model)
ends.  The language models also feed ``<EOS>`` as the input of the first step ("the previous
sequence has just ended"), so no third start symbol is needed.
"""
from __future__ import annotations

import re
from collections import Counter

__all__ = ["UNK", "EOS", "Vocab", "word_tokenize", "char_tokenize", "split_sentences"]

UNK = "<UNK>"
EOS = "<EOS>"

_WORD = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?")
_WORD_PUNCT = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?|[.,!?;:]")


def word_tokenize(text: str, lower: bool = True, keep_punct: bool = False) -> list[str]:
    """Split text into word tokens.  Punctuation is dropped (a language model then only marks the
    end of a sentence, with ``<EOS>``) unless ``keep_punct``."""
    if not isinstance(text, str):
        raise TypeError(f"word_tokenize: expected a str, got {type(text).__name__}")
    if lower:
        text = text.lower()
    return (_WORD_PUNCT if keep_punct else _WORD).findall(text)


def char_tokenize(text: str, lower: bool = False) -> list[str]:
    """Split text into characters (a character-level model's tokens)."""
    if not isinstance(text, str):
        raise TypeError(f"char_tokenize: expected a str, got {type(text).__name__}")
    return list(text.lower() if lower else text)


def split_sentences(text: str) -> list[str]:
    """Split running text into sentences at ``.``, ``!``, ``?`` (and line breaks)."""
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [p.strip() for p in parts if p.strip()]


class Vocab:
    """Token ↔ index map with ``<UNK>`` and ``<EOS>``.

    ``Vocab.build(sequences, max_size=10_000, min_freq=1)`` keeps the most frequent tokens
    (ties broken alphabetically, so the result is deterministic); ``encode`` maps unknown
    tokens to ``<UNK>``; ``decode`` maps back and stops at ``<EOS>`` by default.
    """

    def __init__(self, tokens=(), specials=(UNK, EOS)):
        self.itos: list[str] = []
        self.stoi: dict[str, int] = {}
        for t in list(specials) + list(tokens):
            if not isinstance(t, str):
                raise TypeError(f"Vocab: tokens must be str, got {type(t).__name__} ({t!r})")
            if t not in self.stoi:
                self.stoi[t] = len(self.itos)
                self.itos.append(t)
        self.specials = tuple(specials)

    @classmethod
    def build(cls, sequences, max_size=None, min_freq=1, specials=(UNK, EOS)):
        """From an iterable of token sequences (lists of str, or str for characters)."""
        counts = Counter()
        for seq in sequences:
            counts.update(seq)
        for s in specials:
            counts.pop(s, None)
        items = sorted((t for t, c in counts.items() if c >= min_freq),
                       key=lambda t: (-counts[t], t))
        if max_size is not None:
            items = items[:max(0, int(max_size) - len(specials))]
        v = cls(items, specials)
        v.counts = {t: counts[t] for t in items}
        return v

    # ---- lookups ------------------------------------------------------------------------------
    @property
    def unk_id(self) -> int:
        if UNK not in self.stoi:
            raise KeyError("Vocab: this vocabulary has no <UNK> token")
        return self.stoi[UNK]

    @property
    def eos_id(self) -> int:
        if EOS not in self.stoi:
            raise KeyError("Vocab: this vocabulary has no <EOS> token")
        return self.stoi[EOS]

    def __len__(self):
        return len(self.itos)

    def __contains__(self, token):
        return token in self.stoi

    def __getitem__(self, token) -> int:
        i = self.stoi.get(token)
        if i is None:
            if UNK in self.stoi:
                return self.stoi[UNK]
            raise KeyError(f"Vocab: token {token!r} is not in the vocabulary and there is no "
                           f"<UNK> token")
        return i

    def lookup_token(self, index: int) -> str:
        if not 0 <= int(index) < len(self.itos):
            raise IndexError(f"Vocab: index {index} out of range for a vocabulary of "
                             f"{len(self.itos)} tokens")
        return self.itos[int(index)]

    def encode(self, tokens, add_eos: bool = False) -> list[int]:
        """Token indices; unknown tokens become ``<UNK>``; ``add_eos`` appends ``<EOS>``."""
        ids = [self[t] for t in tokens]
        if add_eos:
            ids.append(self.eos_id)
        return ids

    def decode(self, ids, stop_at_eos: bool = True) -> list[str]:
        out = []
        eos = self.stoi.get(EOS)
        for i in ids:
            i = int(i)
            if stop_at_eos and i == eos:
                break
            out.append(self.lookup_token(i))
        return out

    def one_hot(self, tokens):
        """One-hot rows (len(tokens), len(vocab)) as a float32 numpy array (§9.1)."""
        import numpy as np
        ids = self.encode(tokens)
        out = np.zeros((len(ids), len(self)), np.float32)
        out[np.arange(len(ids)), ids] = 1
        return out

    def to_dict(self) -> dict:
        return {"itos": list(self.itos), "specials": list(self.specials)}

    @classmethod
    def from_dict(cls, d):
        specials = tuple(d.get("specials", ()))
        return cls([t for t in d["itos"] if t not in specials], specials)

    def __repr__(self):
        head = ", ".join(repr(t) for t in self.itos[:8])
        return f"Vocab({len(self)} tokens: {head}{', ...' if len(self) > 8 else ''})"
