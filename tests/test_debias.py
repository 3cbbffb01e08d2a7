"""Debiasing: the bias direction (mean / PCA), neutralize, equalize, hard_debias."""
import numpy as np
import pytest

from tensorgrad.text import KeyedVectors
from tensorgrad.text.debias import bias_direction, equalize, hard_debias, neutralize

PAIRS = [("woman", "man"), ("girl", "boy"), ("she", "he"), ("mother", "father"),
         ("queen", "king")]
NEUTRAL = ["doctor", "nurse", "engineer", "babysitter", "receptionist", "computer", "bread"]


def _planted(D=20, seed=0):
    """Vectors with a planted gender axis g_true; some "neutral" words leak into it."""
    rng = np.random.default_rng(seed)
    g_true = rng.normal(size=D)
    g_true /= np.linalg.norm(g_true)
    words, vecs = [], []
    for a, b in PAIRS:
        base = rng.normal(size=D)
        base -= (base @ g_true) * g_true
        s = 1.0 + 0.1 * rng.normal()
        words += [a, b]
        vecs += [base + s * g_true + 0.05 * rng.normal(size=D),
                 base - s * g_true + 0.05 * rng.normal(size=D)]
    for w in NEUTRAL:
        words.append(w)
        vecs.append(rng.normal(size=D) + rng.normal() * 0.8 * g_true)   # biased on purpose
    return KeyedVectors.from_arrays(words, np.array(vecs, np.float32)), g_true


@pytest.mark.parametrize("method", ["mean", "pca"])
def test_bias_direction_recovers_the_planted_axis(method):
    kv, g_true = _planted()
    g = bias_direction(kv, PAIRS, method=method)
    assert np.linalg.norm(g) == pytest.approx(1.0)
    assert g @ g_true > 0.98          # points from man to woman, along the planted axis


def test_mean_direction_is_the_mean_of_unit_differences():
    kv, _ = _planted()
    u = lambda w: kv[w] / np.linalg.norm(kv[w])  # noqa: E731
    d = np.mean([u(a) - u(b) for a, b in PAIRS], 0)
    np.testing.assert_allclose(bias_direction(kv, PAIRS), d / np.linalg.norm(d), atol=1e-6)
    raw = np.mean([kv[a].astype(float) - kv[b] for a, b in PAIRS], 0)
    np.testing.assert_allclose(bias_direction(kv, PAIRS, normalize=False),
                               raw / np.linalg.norm(raw), atol=1e-6)


def test_neutralize_zeroes_the_projection():
    kv, _ = _planted()
    g = bias_direction(kv, PAIRS, method="pca") * 3.0      # any length
    for w in NEUTRAL:
        v = neutralize(kv[w], g)
        assert abs(v @ g) / np.linalg.norm(g) < 1e-8
        np.testing.assert_allclose(v + (kv[w] @ g / (g @ g)) * g, kv[w], atol=1e-6)
    batch = neutralize(kv[NEUTRAL], g)
    assert np.abs(batch @ g).max() < 1e-8 and batch.shape == (len(NEUTRAL), 20)


def test_equalize_makes_the_pair_equidistant_from_neutral_words():
    kv, _ = _planted()
    g = bias_direction(kv, PAIRS)
    neutral = [neutralize(kv[w], g) for w in NEUTRAL]
    for a, b in [("mother", "father"), ("queen", "king")]:
        e1, e2 = equalize(kv[a], kv[b], g)
        assert np.linalg.norm(e1) == pytest.approx(1.0, abs=1e-12)
        assert np.linalg.norm(e2) == pytest.approx(1.0, abs=1e-12)
        np.testing.assert_allclose(neutralize(e1, g), neutralize(e2, g), atol=1e-12)
        assert e1 @ g == pytest.approx(-(e2 @ g), abs=1e-12) and e1 @ g > 0
        for n in neutral:
            assert np.linalg.norm(e1 - n) == pytest.approx(np.linalg.norm(e2 - n), abs=1e-10)
            assert e1 @ n == pytest.approx(e2 @ n, abs=1e-10)
        # before equalizing the distances differed
        before = [abs(np.linalg.norm(kv[a] / np.linalg.norm(kv[a]) - n)
                      - np.linalg.norm(kv[b] / np.linalg.norm(kv[b]) - n)) for n in neutral]
        assert max(before) > 1e-3


def test_hard_debias_on_keyed_vectors():
    kv, _ = _planted()
    g = bias_direction(kv, PAIRS, method="pca")
    before = max(abs(kv.similarity(w, "woman") - kv.similarity(w, "man")) for w in NEUTRAL)
    db = hard_debias(kv, g, equalize_pairs=PAIRS)
    assert db.vectors.dtype == np.float64
    for w in NEUTRAL:
        assert abs(db[w] @ g) < 1e-8
        for a, b in PAIRS:
            assert db.similarity(w, a) == pytest.approx(db.similarity(w, b), abs=1e-10)
    assert before > 0.1
    only = hard_debias(kv, g, neutral_words=["doctor"])
    assert abs(only["doctor"] @ g) < 1e-8 and abs(only["nurse"] @ g) > 1e-3


def test_bad_input():
    kv, _ = _planted()
    with pytest.raises(ValueError, match="method must be 'mean' or 'pca'"):
        bias_direction(kv, PAIRS, method="svd")
    with pytest.raises(ValueError, match="at least one pair"):
        bias_direction(kv, [])
    with pytest.raises(KeyError, match="'womn'.*'woman'"):
        bias_direction(kv, [("womn", "man")])
    with pytest.raises(ValueError, match="non-zero 1-D"):
        neutralize(np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="20 dims, g has 3"):
        neutralize(np.ones(20), np.ones(3))
    with pytest.raises(ValueError, match="no difference along g"):
        equalize(np.array([1.0, 0, 0]), np.array([1.0, 0, 0]), np.array([0, 0, 1.0]))
