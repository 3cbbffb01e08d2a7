"""GloVe: co-occurrence counts against a brute-force count, the objective on the graph through
gradcheck, the fused AdaGrad kernel against the graph's gradients, planted analogies, errors."""
from collections import defaultdict

import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad.ops import word2vec as ops_w2v
from tensorgrad.text import planted_analogy_corpus
from tensorgrad.text.glove import GloVe, cooccurrence_matrix, glove_loss, glove_weights
from tensorgrad.text.word2vec import encode_corpus


def test_cooccurrence_matches_a_brute_force_count():
    sents = [["a", "b", "c", "a", "d"], ["d", "a"], ["b"], ["c", "zz", "c", "b"]]
    vocab = {"a": 0, "b": 1, "c": 2, "d": 3}
    ids, offsets, n_tokens = encode_corpus(sents, vocab)
    assert n_tokens == 12 and list(offsets) == [0, 5, 7, 8, 11]
    for window in (1, 2, 3):
        want = defaultdict(float)
        for s in sents:
            s = [vocab[w] for w in s if w in vocab]       # out-of-vocabulary words dropped
            for p in range(len(s)):
                for d in range(1, window + 1):
                    if p + d < len(s):
                        want[s[p], s[p + d]] += 1 / d
                        want[s[p + d], s[p]] += 1 / d
        r, c, x = cooccurrence_matrix(ids, offsets, 4, window)
        got = {(int(i), int(j)): v for i, j, v in zip(r, c, x)}
        assert got.keys() == want.keys()
        for k in want:
            assert got[k] == pytest.approx(want[k], rel=1e-12)
        assert list(zip(r, c)) == sorted(zip(r, c))
    r, c, x = cooccurrence_matrix(ids, offsets, 4, 1, symmetric=False)
    assert dict(zip(zip(r.tolist(), c.tolist()), x))[(0, 1)] == 1.0   # only "a b", not "b a"


def test_weighting_function():
    np.testing.assert_allclose(glove_weights([1, 50, 100, 1e4], 100, 0.75),
                               [0.01 ** 0.75, 0.5 ** 0.75, 1, 1])


def _params(V=6, D=3, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s) * 0.3 for s in ((V, D), (V, D), (V,), (V,))]


def test_glove_loss_value_and_gradcheck():
    W, C, bw, bc = _params()
    rows, cols = np.array([0, 1, 1, 5, 2]), np.array([1, 0, 3, 5, 1])
    x = np.array([3.0, 3.0, 150.0, 0.5, 20.0])
    loss = glove_loss(*(tg.tensor(a) for a in (W, C, bw, bc)), rows, cols, x)
    f = np.minimum(1, (x / 100) ** 0.75)
    want = 0.5 * (f * ((W[rows] * C[cols]).sum(1) + bw[rows] + bc[cols] - np.log(x)) ** 2).sum()
    assert loss.item() == pytest.approx(want, rel=1e-13)
    ts = [tg.tensor(a, requires_grad=True) for a in (W, C, bw, bc)]
    assert tg.gradcheck(lambda *p: glove_loss(*p, rows, cols, x), ts)


def test_adagrad_kernel_equals_adagrad_on_graph_gradients():
    W, C, bw, bc = _params(seed=1)
    rows, cols = np.array([0, 1, 1, 5, 2, 0]), np.array([1, 0, 3, 5, 1, 1])
    x = np.array([3.0, 3.0, 150.0, 0.5, 20.0, 3.0])
    order, lr = np.array([2, 0, 4, 5, 1, 3]), 0.05
    # reference: AdaGrad on the graph's gradient, one entry at a time
    P = [a.copy() for a in (W, C, bw, bc)]
    G = [np.ones_like(a) for a in P]
    total = 0.0
    for e in order:
        ts = [tg.tensor(a, requires_grad=True) for a in P]
        loss = glove_loss(*ts, rows[e:e + 1], cols[e:e + 1], x[e:e + 1])
        total += loss.item()
        grads = tg.grad(loss, ts)
        for p, g, gr in zip(P, G, grads):
            g += gr.numpy() ** 2
            p -= lr * gr.numpy() / np.sqrt(g)
    K = [np.ascontiguousarray(a.copy()) for a in (W, C, bw, bc)]
    KG = [np.ones_like(a) for a in K]
    cost = ops_w2v.glove_epoch(*K, *KG, rows, cols, np.log(x), glove_weights(x), order, lr)
    assert cost == pytest.approx(total, rel=1e-12)
    for k, p, kg, g in zip(K, P, KG, G):
        np.testing.assert_allclose(k, p, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(kg, g, rtol=1e-12)


def test_glove_learns_planted_analogies_and_its_loss_falls():
    sents, questions = planted_analogy_corpus(n_sentences=6000, leak=0.3, seed=0)
    g = GloVe(sents, vector_size=32, window=5, min_count=1, epochs=50, progress=False, seed=0)
    acc, _ = g.wv.evaluate_word_analogies(questions)
    assert acc >= 0.95
    h = g.loss_history
    assert len(h) == 50 and h[-1] < 0.5 * h[0]
    np.testing.assert_allclose(g.wv["r0c0"], g.W[g.wv.key_to_index["r0c0"]] +
                               g.C[g.wv.key_to_index["r0c0"]])


@pytest.mark.parametrize("make,error,match", [
    (lambda: GloVe([], progress=False), ValueError, "corpus is empty"),
    (lambda: GloVe([["a", "b"]], min_count=3, progress=False), ValueError,
     "min_count=3 leaves no vocabulary"),
    (lambda: GloVe([["a"], ["b"], ["a"]], min_count=1, progress=False), ValueError,
     "no two words share a window"),
    (lambda: GloVe(window=0), ValueError, "window must be a positive integer"),
    (lambda: GloVe(progress=False).train(), RuntimeError, "build_vocab"),
], ids=["empty", "min_count", "no_pairs", "window", "untrained"])
def test_glove_bad_input(make, error, match):
    with pytest.raises(error, match=match):
        make()
