"""KeyedVectors: gensim's construction, lookups, cosine similarity, analogies and
doesnt_match (checked against gensim itself on the same vectors), files, t-SNE, errors;
the corpora."""
import os
import shutil

import numpy as np
import pytest

from tensorgrad.text import KeyedVectors, kjv_tokenize, load_kjv, planted_analogy_corpus, plot_tsne

WORDS = ["king", "queen", "man", "woman", "apple", "orange", "prince", "princess", "boy", "girl"]


def _toy():
    """The course's feature table (gender, royal, age, food) plus a little noise."""
    base = {"man": [-1, .01, .03, .04], "woman": [1, .02, .02, .01],
            "king": [-.95, .93, .70, .02], "queen": [.97, .95, .69, .01],
            "apple": [0, -.01, .03, .95], "orange": [.01, 0, -.02, .97],
            "prince": [-.9, .9, .2, 0], "princess": [.9, .92, .2, 0],
            "boy": [-.95, 0, -.5, 0], "girl": [.95, 0, -.5, .02]}
    rng = np.random.default_rng(0)
    vecs = np.array([base[w] for w in WORDS], np.float32)
    vecs = np.hstack([vecs, 0.05 * rng.normal(size=(len(WORDS), 4)).astype(np.float32)])
    kv = KeyedVectors(8)
    kv.add_vectors(WORDS, vecs)
    return kv, vecs


def test_construction_and_lookup():
    kv, vecs = _toy()
    assert kv.index_to_key == WORDS and kv.key_to_index["queen"] == 1 and len(kv) == 10
    np.testing.assert_array_equal(kv["woman"], vecs[3])
    np.testing.assert_array_equal(kv[["man", "king"]], vecs[[2, 0]])
    assert "apple" in kv and "pear" not in kv
    kv.add_vectors(["pear"], np.ones((1, 8)))
    assert kv.get_index("pear") == 10 and kv.vectors.shape == (11, 8)
    kv.add_vectors(["pear"], 2 * np.ones((1, 8)), replace=True)
    assert kv["pear"][0] == 2 and len(kv) == 11
    with pytest.raises(ValueError, match=r"weights must have shape \(2, 8\), got \(2, 7\)"):
        kv.add_vectors(["a", "b"], np.zeros((2, 7)))


def test_similarity_is_cosine_and_the_notes_analogy_holds():
    kv, vecs = _toy()
    u, v = vecs[2].astype(np.float64), vecs[3].astype(np.float64)
    assert kv.similarity("man", "woman") == pytest.approx(u @ v / np.linalg.norm(u) /
                                                          np.linalg.norm(v), rel=1e-6)
    assert kv.most_similar(positive=["woman", "king"], negative=["man"], topn=1)[0][0] == "queen"
    assert kv.analogy("man", "woman", "boy")[0][0] == "girl"
    assert kv.doesnt_match(["man", "boy", "king", "orange"]) == "orange"
    res = kv.most_similar("apple", topn=3)
    assert res[0][0] == "orange" and "apple" not in [w for w, _ in res]


def test_semantics_agree_with_gensim_on_the_same_vectors():
    gensim_kv = pytest.importorskip("gensim.models.keyedvectors")
    kv, vecs = _toy()
    gk = gensim_kv.KeyedVectors(8)
    gk.add_vectors(WORDS, vecs)
    queries = [dict(positive=["woman", "king"], negative=["man"]),
               dict(positive=["apple"]), dict(positive="queen", negative="king"),
               dict(positive=[("king", 2.0), "girl"], negative=["boy"]),
               dict(positive=[vecs[4]], negative=["man"]),
               dict(positive=["prince"], restrict_vocab=6)]
    for q in queries:
        ours = kv.most_similar(topn=5, **q)
        theirs = gk.most_similar(topn=5, **q)
        assert [w for w, _ in ours] == [w for w, _ in theirs], q
        np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-6)
    np.testing.assert_allclose(kv.most_similar("king", topn=None),
                               gk.most_similar("king", topn=None), atol=1e-6)
    for group in (["man", "woman", "boy", "orange"], ["apple", "orange", "king"],
                  ["queen", "princess", "girl", "man"]):
        assert kv.doesnt_match(group) == gk.doesnt_match(group)
    for a, b in (("man", "woman"), ("king", "apple"), ("girl", "girl")):
        assert kv.similarity(a, b) == pytest.approx(float(gk.similarity(a, b)), abs=1e-6)
    assert kv.n_similarity(["man", "boy"], ["woman"]) == pytest.approx(
        float(gk.n_similarity(["man", "boy"], ["woman"])), abs=1e-6)
    ours = kv.most_similar_cosmul(positive=["woman", "king"], negative=["man"], topn=3)
    theirs = gk.most_similar_cosmul(positive=["woman", "king"], negative=["man"], topn=3)
    assert [w for w, _ in ours] == [w for w, _ in theirs]


def test_save_load_roundtrip_without_pickle(tmp_path):
    kv, vecs = _toy()
    kv.counts[:] = np.arange(10, 0, -1)
    p = tmp_path / "kv.safetensors"
    kv.save(p)
    assert b"pickle" not in p.read_bytes()[:200] and p.read_bytes()[8:9] == b"{"
    back = KeyedVectors.load(p)
    assert back.index_to_key == WORDS and back.get_vecattr("queen", "count") == 9
    np.testing.assert_array_equal(back.vectors, vecs)
    import tensorgrad as tg
    tg.save({"x": tg.zeros(2)}, tmp_path / "other.safetensors")
    with pytest.raises(ValueError, match="does not hold KeyedVectors"):
        KeyedVectors.load(tmp_path / "other.safetensors")


@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_format_interoperates_with_gensim(tmp_path, binary):
    kv, vecs = _toy()
    p = str(tmp_path / "v.bin")
    kv.save_word2vec_format(p, binary=binary)
    back = KeyedVectors.load_word2vec_format(p, binary=binary)
    assert back.index_to_key == WORDS
    np.testing.assert_array_equal(back.vectors, vecs)
    gensim_kv = pytest.importorskip("gensim.models.keyedvectors")
    gk = gensim_kv.KeyedVectors.load_word2vec_format(p, binary=binary)
    np.testing.assert_array_equal(gk.vectors, vecs)
    q = str(tmp_path / "g.txt")
    gk.save_word2vec_format(q, binary=binary)
    np.testing.assert_array_equal(KeyedVectors.load_word2vec_format(q, binary=binary).vectors,
                                  vecs)


def test_unknown_words_raise_keyerror_with_spelling_hints():
    kv, _ = _toy()
    with pytest.raises(KeyError, match=r"'quen' not present.*nearest known spellings: 'queen'"):
        kv["quen"]
    with pytest.raises(KeyError, match="'kingg'"):
        kv.most_similar(positive=["kingg"])
    with pytest.raises(KeyError, match="'xyz'"):
        kv.similarity("king", "xyz")
    with pytest.warns(UserWarning, match="ignoring"):   # gensim skips unknown words here
        assert kv.doesnt_match(["man", "boy", "king", "apple", "xyz"]) == "apple"
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="none of the words"):
        kv.doesnt_match(["xyz"])
    with pytest.raises(ValueError, match="at least one positive or negative"):
        kv.most_similar()


def test_evaluate_word_analogies_from_tuples_and_file(tmp_path):
    kv, _ = _toy()
    qs = [("man", "woman", "king", "queen"), ("man", "woman", "boy", "girl"),
          ("man", "king", "woman", "queen"), ("man", "woman", "unk", "x")]
    acc, d = kv.evaluate_word_analogies(qs)
    assert acc == 1.0 and d["skipped"] == 1 and len(d["correct"]) == 3
    f = tmp_path / "q.txt"
    f.write_text(": gender\n" + "\n".join(" ".join(q) for q in qs) + "\n")
    assert kv.evaluate_word_analogies(str(f))[0] == 1.0


def test_plot_tsne_returns_coordinates():
    plt = pytest.importorskip("matplotlib.pyplot")
    pytest.importorskip("sklearn")
    kv, _ = _toy()
    fig, ax = plt.subplots()
    ax, coords = plot_tsne(kv, WORDS, ax=ax)
    assert coords.shape == (10, 2) and np.isfinite(coords).all()
    assert {t.get_text() for t in ax.texts} == set(WORDS)
    plt.close(fig)
    with pytest.raises(ValueError, match="at least 3 words"):
        plot_tsne(kv, ["man", "king"])


def test_planted_corpus_structure():
    sents, qs = planted_analogy_corpus(n_rows=3, n_cols=4, n_sentences=50, seed=1)
    assert len(sents) == 50 and all(len(s) == 6 for s in sents)
    assert len(qs) == 3 * 2 * 4 * 3
    a, b, c, d = qs[0]
    assert a[:2] == c[:2] and b[:2] == d[:2] and a[2:] == b[2:] and c[2:] == d[2:]
    with pytest.raises(ValueError, match="n_rows must be at least 2"):
        planted_analogy_corpus(n_rows=1)


def test_kjv_tokenizer_and_loader(tmp_path):
    assert kjv_tokenize("In the beginning God created the heaven; Lord's 12") == \
        ["in", "the", "beginning", "god", "created", "the", "heaven", "lord", "s"]
    f = tmp_path / "kjv.txt"
    f.write_text("Ge1:1 In the beginning God created.\n\nGe1:2 And the earth was.\n")
    assert load_kjv(str(f)) == [["in", "the", "beginning", "god", "created"],
                                ["and", "the", "earth", "was"]]
    with pytest.raises(FileNotFoundError):
        load_kjv(str(tmp_path / "missing.txt"))
    if shutil.which("bible") is None or not os.path.exists("/usr/lib/bible.data"):
        pytest.skip("Debian bible-kjv-text / bible-kjv not installed")
    verses = load_kjv()
    assert len(verses) == 31102
    assert verses[0] == ["in", "the", "beginning", "god", "created", "the", "heaven", "and",
                         "the", "earth"]
    assert sum(map(len, verses)) == 791450
