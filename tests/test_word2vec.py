"""word2vec: embedding gradients against PyTorch, the losses as graph compositions through
gradcheck, the fused kernels' SGD steps against the graph's gradients (float64), the Huffman
tree, negative table and subsampling, planted analogies, and bad input."""
import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad.nn import functional as F
from tensorgrad.ops import word2vec as ops_w2v
from tensorgrad.text import (Word2Vec, Word2VecGraph, context_vectors, hierarchical_softmax_loss,
                             huffman_tree, negative_sampling_loss, planted_analogy_corpus,
                             softmax_loss)
from tensorgrad.text.word2vec import keep_probabilities, unigram_table


def _t(a, grad=True):
    return tg.tensor(np.array(a, np.float64), requires_grad=grad)


# ---- embedding lookups against PyTorch ---------------------------------------------------------
@pytest.mark.parametrize("idx", [[3, 1, 3, 3, 0], [[0, 2, 2], [2, 2, 4]]])
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_forward_and_accumulated_gradient_match_torch(idx, padding_idx):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    W = rng.normal(size=(5, 4))
    G = rng.normal(size=np.shape(idx) + (4,))
    w = _t(W)
    out = F.embedding(np.array(idx), w, padding_idx=padding_idx)
    (out * tg.tensor(G)).sum().backward()
    wt = torch.tensor(W, requires_grad=True)
    ot = torch.nn.functional.embedding(torch.tensor(idx), wt, padding_idx=padding_idx)
    (ot * torch.tensor(G)).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), ot.detach().numpy(), rtol=0, atol=0)
    # rows named several times accumulate (sparse-style), padding rows get nothing
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy(), rtol=1e-14, atol=1e-14)


def test_embedding_module_gradient_matches_torch_sparse_embedding():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    W = rng.normal(size=(7, 3))
    idx = np.array([[1, 1, 6], [0, 1, 6]])
    emb = tg.nn.Embedding(7, 3, _weight=W.copy())
    (emb(idx) ** 2).sum().backward()
    te = torch.nn.Embedding.from_pretrained(torch.tensor(W), freeze=False, sparse=True)
    (te(torch.tensor(idx)) ** 2).sum().backward()
    np.testing.assert_allclose(emb.weight.grad.numpy(), te.weight.grad.to_dense().numpy(),
                               rtol=1e-14)


# ---- the losses on the graph ------------------------------------------------------------------
def _setup(V=9, D=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng, rng.normal(size=(V, D)) * 0.5, rng.normal(size=(V, D)) * 0.5


def test_negative_sampling_loss_values_and_gradcheck():
    rng, A, B = _setup()
    targets = np.array([1, 4, 4])
    negs = np.array([[2, 2, 7], [0, 5, -1], [3, -1, -1]])     # a repeat and −1 padding
    h = A[[0, 3, 8]]
    loss = negative_sampling_loss(tg.tensor(h), tg.tensor(B), targets, negs)
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    want = 0.0
    for e in range(3):
        want -= np.log(sig(h[e] @ B[targets[e]]))
        want -= sum(np.log(sig(-h[e] @ B[k])) for k in negs[e] if k >= 0)
    assert loss.item() == pytest.approx(want, rel=1e-12)
    ctx = np.array([[0, 5, 5], [3, -1, -1], [8, 1, -1]])
    assert tg.gradcheck(lambda a, b: negative_sampling_loss(context_vectors(a, ctx), b, targets,
                                                            negs), (_t(A), _t(B)))


def test_hierarchical_softmax_loss_is_a_distribution_and_passes_gradcheck():
    rng, A, _ = _setup(V=6)
    counts = np.array([50, 20, 9, 9, 3, 1])
    points, codes, lens = huffman_tree(counts)
    nodes = rng.normal(size=(5, 4))
    h = A[2]
    # Σ_w P(w | h) = 1: the tree's leaf probabilities form a distribution
    per_word = hierarchical_softmax_loss(tg.tensor(np.tile(h, (6, 1))), tg.tensor(nodes),
                                         points, codes, lens, reduction="none").detach().numpy()
    assert np.exp(-per_word).sum() == pytest.approx(1.0, abs=1e-12)
    tgt = np.array([0, 5, 3, 3])
    assert tg.gradcheck(lambda a, n: hierarchical_softmax_loss(
        context_vectors(a, np.array([1, 2, 2, 4])), n, points[tgt], codes[tgt], lens[tgt]),
        (_t(A), _t(nodes)))


def test_softmax_loss_gradcheck_and_cbow_sum():
    _, A, B = _setup()
    ctx = np.array([[0, 1, 1], [2, -1, -1]])
    assert tg.gradcheck(lambda a, b: softmax_loss(context_vectors(a, ctx, cbow_mean=False), b,
                                                  np.array([3, 3])), (_t(A), _t(B)))


# ---- fused kernels == SGD on the graph's gradients --------------------------------------------
def _graph_steps(A, B, mode, ctx, centers, negs, tree, alpha, cbow_mean):
    """Sequential SGD on the graph losses, one example at a time (float64)."""
    A, B = A.copy(), B.copy()
    total = 0.0
    for e in range(len(centers)):
        a, b = _t(A), _t(B)
        h = context_vectors(a, ctx[e:e + 1], cbow_mean)
        if mode == "negative":
            loss = negative_sampling_loss(h, b, centers[e:e + 1], negs[e:e + 1])
        elif mode == "hs":
            p, c, n = (x[centers[e:e + 1]] for x in tree)
            loss = hierarchical_softmax_loss(h, b, p, c, n)
        else:
            loss = softmax_loss(h, b, centers[e:e + 1])
        ga, gb = tg.grad(loss, [a, b])
        total += loss.item()
        A -= alpha * ga.numpy()
        B -= alpha * gb.numpy()
    return A, B, total


@pytest.mark.parametrize("mode", ["negative", "hs", "softmax"])
@pytest.mark.parametrize("arch", ["sg", "cbow_mean", "cbow_sum"])
def test_fused_kernel_steps_equal_graph_sgd(mode, arch):
    rng, A, B = _setup(V=8, D=5, seed=3)
    counts = np.array([40, 30, 12, 9, 7, 5, 2, 1])
    tree = huffman_tree(counts)
    N = 6
    centers = rng.integers(0, 8, N)
    if arch == "sg":
        ctx = rng.integers(0, 8, (N, 1))
    else:
        ctx = np.array([[1, 1, 5, -1], [0, 2, 3, 4], [6, -1, -1, -1], [2, 7, 2, 2],
                        [5, 4, -1, -1], [3, 3, 1, 0]])
    negs = np.array([[2, 2, 5], [0, -1, -1], [7, 1, 3], [4, 4, 4], [1, 6, -1], [5, 0, 2]])
    negs = np.where(negs == centers[:, None], -1, negs)
    negs = np.array([np.concatenate([r[r >= 0], r[r < 0]]) for r in negs])
    Bn = B[:7] if mode == "hs" else B
    A_ref, B_ref, loss_ref = _graph_steps(A, Bn, mode, ctx, centers, negs, tree, 0.3,
                                          arch != "cbow_sum")
    syn0 = A.copy()
    out = np.ascontiguousarray(Bn.copy())
    dummy = ops_w2v.empty_like_rows(np.float64)
    syn1neg, syn1, syn1sm = (out if mode == "negative" else dummy, out if mode == "hs" else dummy,
                             out if mode == "softmax" else dummy)
    loss = ops_w2v.w2v_train_examples(syn0, syn1neg, syn1, syn1sm, ctx, centers,
                                      negs if mode == "negative" else None, hs=mode == "hs",
                                      points=tree[0], codes=tree[1], codelens=tree[2],
                                      softmax=mode == "softmax", cbow_mean=arch != "cbow_sum",
                                      alpha=0.3)
    np.testing.assert_allclose(syn0, A_ref, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(out, B_ref, rtol=1e-11, atol=1e-13)
    assert loss == pytest.approx(loss_ref, rel=1e-12)


def test_kernel_float32_matches_float64():
    rng, A, B = _setup(V=8, D=16, seed=5)
    ctx, centers, negs = rng.integers(0, 8, (20, 1)), rng.integers(0, 8, 20), None
    negs = np.where((k := rng.integers(0, 8, (20, 5))) == centers[:, None], -1, k)
    negs = np.array([np.concatenate([r[r >= 0], r[r < 0]]) for r in negs])
    res = []
    for dt in (np.float32, np.float64):
        s0, s1 = A.astype(dt), B.astype(dt)
        d = ops_w2v.empty_like_rows(dt)
        ops_w2v.w2v_train_examples(s0, s1, d, d, ctx, centers, negs, alpha=0.1)
        res.append((s0, s1))
    np.testing.assert_allclose(res[0][0], res[1][0], atol=1e-5)
    np.testing.assert_allclose(res[0][1], res[1][1], atol=1e-5)


def test_word2vec_graph_module_gives_the_same_loss_as_the_functions():
    tg.manual_seed(0)
    m = Word2VecGraph(9, 4, loss="negative").double()
    with tg.no_grad():
        m.out_embed.weight.copy_(tg.randn(9, 4).double())
    ctx, tgt, negs = np.array([1, 2]), np.array([3, 4]), np.array([[5, 6], [7, 8]])
    want = negative_sampling_loss(m.in_embed.weight[ctx], m.out_embed.weight, tgt, negs)
    assert m(ctx, tgt, negs).item() == pytest.approx(want.item(), rel=1e-14)


# ---- tree, tables, subsampling ----------------------------------------------------------------
def test_huffman_tree_is_an_optimal_prefix_code():
    counts = np.array([45, 13, 12, 16, 9, 5])         # the textbook example
    points, codes, lens = huffman_tree(counts)
    words = ["".join(map(str, codes[w, :lens[w]])) for w in range(6)]
    assert len(set(words)) == 6
    assert not any(a != b and b.startswith(a) for a in words for b in words)
    assert (counts * lens).sum() == 224                 # optimal cost for these frequencies
    assert all(points[w, 0] == 4 for w in range(6))     # every path starts at the root V−2
    assert lens[0] == 1 and lens[5] == 4


def test_negative_table_follows_unigram_to_the_three_quarters():
    from tensorgrad.kernels.word2vec import _sample
    counts = np.array([1000, 100, 10, 1])
    table = unigram_table(counts, 0.75)
    r = np.random.default_rng(0).integers(0, table[-1], 200_000)
    draws = np.array([_sample(table, int(x)) for x in r[:20000]])
    freq = np.bincount(draws, minlength=4) / len(draws)
    p = counts ** 0.75 / (counts ** 0.75).sum()
    np.testing.assert_allclose(freq, p, atol=0.01)
    np.testing.assert_allclose(np.diff(np.concatenate([[0], table])) / table[-1], p, atol=1e-9)


def test_subsampling_keeps_the_expected_share_of_words():
    sents, _ = planted_analogy_corpus(n_sentences=3000)
    m = Word2Vec(sents, vector_size=8, min_count=1, sample=1e-2, epochs=2, workers=1,
                 progress=False, seed=3)
    counts = m.wv.counts
    expected = 2 * (counts * keep_probabilities(counts, 1e-2)).sum()
    assert m.train_stats["effective_words"] == pytest.approx(expected, rel=0.02)
    assert m.train_stats["raw_words"] == 2 * sum(map(len, sents))
    assert keep_probabilities(counts, 0).min() == 1.0


def test_vocabulary_subsampling_negative_table_and_tree_agree_with_gensim():
    gensim = pytest.importorskip("gensim.models")
    sents, _ = planted_analogy_corpus(n_sentences=2000, seed=4)
    sents = sents + [["rare"], ["rare", "once"]]
    kw = dict(vector_size=8, min_count=2, sample=1e-2, negative=5, hs=1)
    g = gensim.Word2Vec(**kw)
    g.build_vocab(sents)
    m = Word2Vec(progress=False, **kw)
    m.build_vocab(sents)
    assert m.wv.index_to_key == g.wv.index_to_key          # same order, ties included
    np.testing.assert_array_equal(m.wv.counts, [g.wv.get_vecattr(w, "count")
                                                for w in g.wv.index_to_key])
    sample_int = np.array([g.wv.get_vecattr(w, "sample_int") for w in g.wv.index_to_key])
    assert np.abs(np.minimum(m._keep, 2 ** 32 - 1) - sample_int).max() <= 1
    assert np.abs(m.cum_table - g.cum_table).max() <= 1
    code_len = np.array([len(g.wv.get_vecattr(w, "code")) for w in g.wv.index_to_key])
    assert (m.wv.counts * m.codelens).sum() == (m.wv.counts * code_len).sum()  # both optimal


# ---- training on planted analogies ------------------------------------------------------------
@pytest.fixture(scope="module")
def planted():
    return planted_analogy_corpus(n_sentences=6000, seed=0)


@pytest.mark.parametrize("kw", [dict(sg=1, negative=5), dict(sg=0, negative=5),
                                dict(sg=1, hs=1, negative=0), dict(sg=0, hs=1, negative=0),
                                dict(sg=1, hs=0, negative=0, epochs=4)])
def test_planted_analogies_are_recovered(planted, kw):
    sents, questions = planted
    kw = {"epochs": 10, **kw}
    m = Word2Vec(sents, vector_size=32, window=5, min_count=1, workers=1, seed=0,
                 progress=False, compute_loss=True, **kw)
    acc, details = m.wv.evaluate_word_analogies(questions)
    assert acc >= 0.95, (kw, acc)
    assert details["skipped"] == 0 and len(details["correct"]) + len(details["incorrect"]) == 900
    assert m.get_latest_training_loss() > 0


def test_same_seed_same_vectors_and_two_workers_still_learn(planted):
    sents, questions = planted
    kw = dict(vector_size=16, min_count=1, epochs=3, sg=1, progress=False, seed=7)
    a = Word2Vec(sents, workers=1, **kw).wv.vectors
    b = Word2Vec(sents, workers=1, **kw).wv.vectors
    assert np.array_equal(a, b)
    m = Word2Vec(sents, workers=2, **{**kw, "epochs": 10, "vector_size": 32})
    assert m.wv.evaluate_word_analogies(questions)[0] >= 0.95


@pytest.mark.parametrize("sg", [1, 0])
def test_training_loop_replays_as_sgd_with_a_linearly_decaying_rate(sg):
    """No randomness (full softmax, fixed window, no subsampling): the trainer's loop must be
    the SGD steps on the graph loss, pair by pair, with alpha falling linearly per sentence."""
    sents = [["a", "b", "c"], ["c", "a"], ["b", "c", "a"]] * 4
    m = Word2Vec(vector_size=6, window=1, min_count=1, sample=0, hs=0, negative=0, sg=sg,
                 shrink_windows=False, alpha=0.5, min_alpha=0.05, epochs=2, workers=1,
                 progress=False, seed=2)
    m.build_vocab(sents)
    A, B = m.wv.vectors.astype(np.float64), m.syn1sm.astype(np.float64)
    m.train(sents)
    idx = m.wv.key_to_index
    total, seen = 2 * sum(map(len, sents)), 0
    for _ in range(2):
        for s in sents:
            alpha = 0.5 - (0.5 - 0.05) * seen / total
            seen += len(s)
            w = [idx[t] for t in s]
            for i in range(len(w)):
                ctx = [w[j] for j in (i - 1, i + 1) if 0 <= j < len(w)]
                if sg:
                    ex = [([c], w[i]) for c in ctx]
                else:
                    ex = [(ctx, w[i])]
                for c, t in ex:
                    A, B, _ = _graph_steps(A, B, "softmax", np.array([c + [-1] * (2 - len(c))]),
                                           np.array([t]), None, None, alpha, True)
    np.testing.assert_allclose(m.wv.vectors, A, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(m.syn1sm, B, rtol=1e-4, atol=1e-6)


# ---- bad input --------------------------------------------------------------------------------
def test_bad_corpora_raise_clear_errors():
    with pytest.raises(ValueError, match="corpus is empty"):
        Word2Vec([], progress=False)
    with pytest.raises(ValueError, match="corpus is empty"):
        Word2Vec([[], []], progress=False)
    with pytest.raises(ValueError, match=r"min_count=10 leaves no vocabulary.*'a'.*3 times"):
        Word2Vec([["a", "b", "a"], ["a"]], min_count=10, progress=False)
    with pytest.raises(TypeError, match="list of tokens, got a str"):
        Word2Vec(["a plain string"], min_count=1, progress=False)
    with pytest.raises(ValueError, match="window must be an integer"):
        Word2Vec([["a"]], window=0)
    with pytest.raises(RuntimeError, match="build_vocab"):
        Word2Vec(progress=False).train([["a"]])
    with pytest.raises(TypeError, match="not a generator"):
        Word2Vec((s for s in [["a", "b"]]), min_count=1, progress=False)


def test_unknown_word_names_the_word_and_near_spellings(planted):
    m = Word2Vec(planted[0], vector_size=8, min_count=1, epochs=1, workers=1, progress=False)
    with pytest.raises(KeyError, match=r"'r1c9'.*nearest known spellings: 'r1c[0-5]'"):
        m.wv["r1c9"]
    with pytest.raises(KeyError, match="'zzz'"):
        m.wv.most_similar("zzz")
