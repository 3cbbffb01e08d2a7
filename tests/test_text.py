"""tensorgrad.text: tokenization, vocabularies, LM losses/metrics, sampling, the §9.3
architectures, and a character-level LSTM trained on a real word list."""
import math
import sys

import numpy as np
import pytest
from _torch import torch

import tensorgrad as tg
from tensorgrad import text as T


# ---- tokenization and vocabularies ----------------------------------------------------------
def test_tokenizers():
    s = "Cats average 15 hours of sleep a day. Don't they?"
    assert T.word_tokenize(s) == ["cats", "average", "15", "hours", "of", "sleep", "a", "day",
                                  "don't", "they"]
    assert T.word_tokenize(s, keep_punct=True)[-3:] == ["don't", "they", "?"]
    assert T.word_tokenize("A B", lower=False) == ["A", "B"]
    assert T.char_tokenize("ab c") == ["a", "b", " ", "c"]
    assert T.split_sentences("One. Two!  Three?\nFour") == ["One.", "Two!", "Three?", "Four"]
    with pytest.raises(TypeError, match="word_tokenize: expected a str"):
        T.word_tokenize(["a"])


def test_vocab_build_encode_decode():
    seqs = [["the", "cat", "sat"], ["the", "dog", "sat"], ["the", "cat", "ran"]]
    v = T.Vocab.build(seqs)
    assert v.itos[:2] == [T.UNK, T.EOS]
    assert v.itos[2:] == ["the", "cat", "sat", "dog", "ran"]  # by count, then alphabetically
    assert v.unk_id == 0 and v.eos_id == 1 and len(v) == 7
    ids = v.encode(["the", "zebra", "sat"], add_eos=True)
    assert ids == [2, 0, 4, 1]
    assert v.decode(ids) == ["the", T.UNK, "sat"]
    assert v.decode(ids, stop_at_eos=False)[-1] == T.EOS
    small = T.Vocab.build(seqs, max_size=4)
    assert small.itos == [T.UNK, T.EOS, "the", "cat"]
    assert T.Vocab.build(seqs, min_freq=2).itos == [T.UNK, T.EOS, "the", "cat", "sat"]
    oh = v.one_hot(["cat", "nope"])
    assert oh.shape == (2, 7) and oh[0, 3] == 1 and oh[1, 0] == 1 and oh.sum() == 2
    v2 = T.Vocab.from_dict(v.to_dict())
    assert v2.itos == v.itos and v2.eos_id == v.eos_id
    with pytest.raises(IndexError, match="Vocab: index 99 out of range"):
        v.lookup_token(99)
    chars = T.Vocab.build(["abc", "abd"])
    assert chars.encode("bad") == [chars["b"], chars["a"], chars["d"]]


def test_lm_batch_and_padding():
    x, y = T.lm_batch([[5, 6, 7], [8]], eos_id=1)
    np.testing.assert_array_equal(x, [[1, 5, 6, 7], [1, 8, 1, 1]])
    np.testing.assert_array_equal(y, [[5, 6, 7, 1], [8, 1, -100, -100]])
    assert x.dtype == np.int64
    tr, va = T.train_val_split(list(range(100)), 0.2, seed=0)
    assert len(va) == 20 and sorted(tr + va) == list(range(100))


def test_load_words_real_list_and_missing_package(monkeypatch):
    words = T.load_words(min_len=4, max_len=6, limit=500, seed=0)
    assert len(words) == 500
    assert all(4 <= len(w) <= 6 and w.isalpha() and w.islower() for w in words)
    assert words == T.load_words(min_len=4, max_len=6, limit=500, seed=0)
    with pytest.raises(ValueError, match="load_words: unknown source"):
        T.load_words(source="nope")
    monkeypatch.setitem(sys.modules, "english_words", None)
    with pytest.raises(ImportError, match="pip install english-words"):
        T.load_words()


# ---- loss, probabilities, perplexity ---------------------------------------------------------
def test_sequence_nll_matches_torch_cross_entropy():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((3, 5, 7))
    y = rng.integers(0, 7, (3, 5))
    y[1, 3:] = -100
    lt = tg.tensor(logits, requires_grad=True)
    th = torch.tensor(logits, requires_grad=True)
    loss = T.sequence_nll(lt, y)
    loss_t = torch.nn.functional.cross_entropy(th.reshape(-1, 7), torch.tensor(y).reshape(-1),
                                               ignore_index=-100)
    np.testing.assert_allclose(loss.detach().numpy(), loss_t.item(), rtol=1e-12)
    loss.backward()
    loss_t.backward()
    np.testing.assert_allclose(lt.grad.detach().numpy(), th.grad.numpy(), rtol=1e-10, atol=1e-14)
    with pytest.raises(ValueError, match=r"sequence_nll: targets must lie in \[0, 7\)"):
        T.sequence_nll(lt, np.full((3, 5), 9))


def _tiny_lm(V, cell="lstm", seed=0):
    tg.manual_seed(seed)
    return T.RNNLanguageModel(V, embed_dim=6, hidden_size=8, cell=cell)


def test_uniform_model_has_perplexity_vocab_size():
    v = T.Vocab.build(["abc", "bcd"])
    m = _tiny_lm(len(v))
    m.head.weight.data[:] = 0
    m.head.bias.data[:] = 0
    seqs = [v.encode(w) for w in ["abc", "dd", "cabd"]]
    assert math.isclose(T.perplexity(m, seqs, v.eos_id), len(v), rel_tol=1e-5)
    lp = T.sentence_log_prob(m, v, "abc")
    assert math.isclose(lp, -4 * math.log(len(v)), rel_tol=1e-5)  # 3 chars + <EOS>
    assert math.isclose(T.unigram_perplexity(seqs, seqs, len(v), v.eos_id, alpha=1e9),
                        len(v), rel_tol=1e-6)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_sentence_probability_is_product_of_step_conditionals(cell):
    """P(y1..yT <EOS>) from one pass equals the product of the softmax outputs obtained by
    feeding the tokens one at a time with the carried state (docs/maths.md §9.4)."""
    v = T.Vocab.build(["hello", "world"])
    m = _tiny_lm(len(v), cell)
    word = "hold"
    lp = T.sentence_log_prob(m, v, word)
    ids = v.encode(word) + [v.eos_id]
    state, prev, total = None, v.eos_id, 0.0
    with tg.no_grad():
        for tok in ids:
            logits, state = m(np.array([[prev]]), state)
            z = logits.detach().numpy()[0, -1].astype(np.float64)
            total += z[tok] - (np.log(np.exp(z - z.max()).sum()) + z.max())
            prev = tok
    assert math.isclose(lp, total, rel_tol=1e-5)
    assert math.isclose(T.sentence_probability(m, v, word), math.exp(total), rel_tol=1e-4)


def test_sampling_stops_and_follows_temperature_and_seed():
    v = T.Vocab.build(["abcde"])
    m = _tiny_lm(len(v))
    tg.manual_seed(5)
    a = T.sample(m, v, n=6, max_len=7, join="")
    tg.manual_seed(5)
    b = T.sample(m, v, n=6, max_len=7, join="")
    assert a == b and len(a) == 6
    assert all(len(s) <= 7 and T.EOS not in s for s in a)
    g1 = T.sample(m, v, n=3, max_len=5, temperature=0)
    g2 = T.sample(m, v, n=3, max_len=5, temperature=0)
    assert g1 == g2 and g1[0] == g1[1] == g1[2]  # greedy: deterministic
    # an <EOS>-loving head: every sample is empty (stops at once)
    m.head.bias.data[:] = -50
    m.head.bias.data[v.eos_id] = 50
    assert T.sample(m, v, n=4, join="") == [""] * 4
    # a prefix is kept and continued
    out = T.sample(m, v, n=1, prefix="ab", join="")
    assert out == ["ab"]
    with pytest.raises(ValueError, match="sample: temperature must be >= 0"):
        T.sample(m, v, temperature=-1)


# ---- a real character-level model --------------------------------------------------------------
def test_char_lstm_on_english_words_beats_unigram_and_samples_plausible_words():
    tg.manual_seed(0)
    words = T.load_words(limit=3000, seed=1)
    train, val = T.train_val_split(words, 0.15, seed=0)
    vocab = T.Vocab.build(train)
    tr = [vocab.encode(w) for w in train]
    va = [vocab.encode(w) for w in val]
    uni = T.unigram_perplexity(tr, va, len(vocab), vocab.eos_id)
    m = T.RNNLanguageModel(len(vocab), embed_dim=16, hidden_size=64, cell="lstm")
    before = T.perplexity(m, va, vocab.eos_id)
    hist = T.train_language_model(m, tr, vocab.eos_id, epochs=1, batch_size=32, lr=1e-2,
                                  progress=False)
    after = T.perplexity(m, va, vocab.eos_id)
    assert np.mean(hist["loss"][-10:]) < np.mean(hist["loss"][:10])
    assert after < 0.75 * uni < before, (after, uni, before)
    # plausibility: real held-out words score higher than the same letters shuffled
    rng = np.random.default_rng(0)
    real = [T.sentence_log_prob(m, vocab, w) for w in val[:40]]
    shuffled = [T.sentence_log_prob(m, vocab, "".join(rng.permutation(list(w))))
                for w in val[:40]]
    assert np.mean(real) > np.mean(shuffled) + 2.0
    tg.manual_seed(1)
    samples = T.sample(m, vocab, n=30, max_len=20, temperature=0.8, join="")
    assert all(s.isalpha() or s == "" for s in samples)
    assert np.mean([len(s) for s in samples]) > 3
    assert sum(s not in set(train) for s in samples) >= 10  # novel words


def test_word_level_language_model_prefers_the_sensible_sentence():
    """The course's speech-recognition example: 'apple and pear salad' vs 'apple and pair'."""
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    fruits = ["apple", "pear", "plum", "fig"]
    sents = []
    for _ in range(150):
        a, b = rng.choice(fruits, 2, replace=False)
        sents.append(f"the {a} and {b} salad was delicious")
        sents.append(f"she bought a pair of {rng.choice(['shoes', 'socks', 'gloves'])}")
    toks = [T.word_tokenize(s) for s in sents]
    vocab = T.Vocab.build(toks)
    seqs = [vocab.encode(t) for t in toks]
    m = T.RNNLanguageModel(len(vocab), embed_dim=12, hidden_size=24, cell="gru")
    T.train_language_model(m, seqs, vocab.eos_id, epochs=2, batch_size=30, lr=2e-2,
                           progress=False)
    good = T.sentence_log_prob(m, vocab, T.word_tokenize("the apple and pear salad was delicious"))
    bad = T.sentence_log_prob(m, vocab, T.word_tokenize("the apple and pair salad was delicious"))
    assert good > bad + 3.0
    unk = T.sentence_log_prob(m, vocab, ["the", "kiwi", "and", "pear"])  # kiwi -> <UNK>
    assert np.isfinite(unk)


# ---- §9.3 architectures ---------------------------------------------------------------------------
def _fit(model, loss_fn, steps, lr=1e-2):
    opt = tg.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        loss = loss_fn()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return float(loss.detach().numpy())


def test_many_to_one_and_many_to_many_learn():
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, (64, 8))
    y_one = (x.sum(1) > 4).astype(np.int64)          # many-to-one: majority of ones
    y_many = np.cumsum(x, 1) % 2                      # many-to-many: running parity
    clf = T.SequenceClassifier(8, 16, 2, cell="gru", vocab_size=2)
    tagger = T.SequenceTagger(8, 16, 2, cell="lstm", bidirectional=False, vocab_size=2)
    assert clf(x).shape == (64, 2) and tagger(x).shape == (64, 8, 2)

    def l1():
        return T.sequence_nll(clf(x)[:, None, :], y_one[:, None])

    def l2():
        return T.sequence_nll(tagger(x), y_many)
    _fit(clf, l1, 120)
    _fit(tagger, l2, 150, lr=2e-2)
    assert (clf(x).detach().numpy().argmax(-1) == y_one).mean() > 0.9
    assert (tagger(x).detach().numpy().argmax(-1) == y_many).mean() > 0.9


def test_one_to_many_and_encoder_decoder():
    tg.manual_seed(0)
    rng = np.random.default_rng(1)
    # one-to-many: a class vector decides which fixed sequence to emit
    seqs = np.array([[2, 3, 4, 1], [4, 4, 2, 1], [3, 2, 2, 1]])  # 1 = <EOS>, 0 = start
    cond = np.eye(3)
    gen = T.SequenceGenerator(3, 5, embed_dim=8, hidden_size=16, cell="lstm")
    inp = np.concatenate([np.zeros((3, 1), np.int64), seqs[:, :-1]], 1)
    _fit(gen, lambda: T.sequence_nll(gen(tg.tensor(cond), inp)[0], seqs), 150, lr=3e-2)
    out = gen.generate(tg.tensor(cond), start_id=0, eos_id=1, max_len=6, temperature=0)
    np.testing.assert_array_equal(out, seqs)
    # encoder-decoder, T_x != T_y: the target is the source's even positions, reversed
    src = rng.integers(2, 6, (128, 6))
    tgt = np.concatenate([src[:, ::2][:, ::-1], np.ones((128, 1), np.int64)], 1)  # + <EOS>
    tgt_in = np.concatenate([np.zeros((128, 1), np.int64), tgt[:, :-1]], 1)
    s2s = T.Seq2Seq(6, 6, embed_dim=8, hidden_size=32, cell="gru")
    _fit(s2s, lambda: T.sequence_nll(s2s(src, tgt_in), tgt), 200, lr=2e-2)
    dec = s2s.generate(src[:32], start_id=0, eos_id=1, max_len=6)
    assert dec.shape[1] <= 6
    acc = (dec[:, :4] == tgt[:32, :4]).mean()
    assert acc > 0.8, acc
