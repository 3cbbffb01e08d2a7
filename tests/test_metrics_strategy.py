"""Metrics against scikit-learn; satisficing model selection and the bias/variance diagnosis."""
import numpy as np
import pytest
from sklearn import metrics as skm

import tensorgrad as tg
from tensorgrad import metrics as M
from tensorgrad.strategy import diagnose, select_model

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("k", [2, 5])
def test_metrics_match_sklearn(k):
    t = RNG.integers(0, k, 300)
    p = np.where(RNG.random(300) < 0.7, t, RNG.integers(0, k, 300))
    assert M.accuracy(t, p) == pytest.approx(skm.accuracy_score(t, p))
    assert M.error_rate(tg.tensor(t), tg.tensor(p)) == pytest.approx(1 - skm.accuracy_score(t, p))
    np.testing.assert_array_equal(M.confusion_matrix(t, p), skm.confusion_matrix(t, p))
    for avg in (["binary", "macro", "micro", "weighted"] if k == 2 else
                ["macro", "micro", "weighted"]):
        for ours, theirs in ((M.precision, skm.precision_score), (M.recall, skm.recall_score),
                             (M.f1_score, skm.f1_score)):
            assert ours(t, p, average=avg) == pytest.approx(theirs(t, p, average=avg)), avg
    P, R, F = M.precision_recall_f1(t, p, average=None)
    sp, sr, sf, _ = skm.precision_recall_fscore_support(t, p)
    np.testing.assert_allclose(P, sp)
    np.testing.assert_allclose(R, sr)
    np.testing.assert_allclose(F, sf)


def test_binary_pos_label_zero_division_and_f1_formula():
    t = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    p = np.array([1, 0, 1, 0, 1, 0, 0, 0])
    P, R = M.precision(t, p), M.recall(t, p)
    assert (P, R) == (pytest.approx(2 / 3), 0.5)
    assert M.f1_score(t, p) == pytest.approx(2 * P * R / (P + R))  # harmonic mean (§7.2)
    assert M.precision(t, p, pos_label=0) == pytest.approx(skm.precision_score(t, p, pos_label=0))
    # nothing predicted positive: precision is 0 by convention (sklearn's zero_division=0)
    assert M.precision([1, 0], [0, 0]) == 0.0
    assert M.precision([1, 0], [0, 0], zero_division=1.0) == 1.0
    cm = M.confusion_matrix([0, 2], [2, 2], num_classes=4)
    assert cm.shape == (4, 4) and cm[0, 2] == 1 and cm[2, 2] == 1
    with pytest.raises(ValueError, match="binary"):
        M.f1_score([0, 1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="y_true has 3 labels, y_pred has 2"):
        M.accuracy([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="predict_labels"):
        M.accuracy(np.zeros((3, 4)), np.zeros(3))
    assert "macro" in M.classification_report(t, p, names=["neg", "pos"])


def test_weighted_error_of_the_notes():
    # a mistake on a heavy example (w=100, "unacceptable") dominates the error
    t = np.array([0, 0, 1, 1, 0])
    p = np.array([0, 1, 1, 1, 0])
    w = np.array([1, 100, 1, 1, 1])
    assert M.weighted_error(t, p, w) == pytest.approx(100 / 104)
    assert M.weighted_error(t, p, np.ones(5)) == pytest.approx(M.error_rate(t, p))
    sk = 1 - skm.accuracy_score(t, p, sample_weight=w)
    assert M.weighted_error(t, p, w) == pytest.approx(sk)
    with pytest.raises(ValueError, match="one weight per example"):
        M.weighted_error(t, p, np.ones(4))
    with pytest.raises(ValueError, match=">= 0"):
        M.weighted_error(t, p, -np.ones(5))


def test_predict_labels():
    assert M.predict_labels(np.array([[0.1, 2.0], [3.0, 0.0]])).tolist() == [1, 0]
    assert M.predict_labels(np.array([[-0.2], [0.3]])).tolist() == [0, 1]
    assert M.predict_labels(np.array([0.2, 0.7]), threshold=0.5).tolist() == [0, 1]


CANDIDATES = [
    {"name": "A", "accuracy": 0.90, "runtime_ms": 80},
    {"name": "B", "accuracy": 0.92, "runtime_ms": 95},
    {"name": "C", "accuracy": 0.95, "runtime_ms": 1500},
]


def test_select_model_satisficing():
    sel = select_model(CANDIDATES, optimize=("accuracy", "max"),
                       satisficing={"runtime_ms": ("<=", 100)})
    assert sel.name == "B" and sel.feasible == ["B", "A"]
    assert list(sel.rejected) == ["C"] and "runtime_ms <= 100" in sel.rejected["C"][0]
    text = str(sel)
    assert "BEST" in text and "fails" in text
    # without constraints the most accurate wins; minimizing picks the fastest
    assert select_model(CANDIDATES).name == "C"
    assert select_model({c["name"]: c for c in CANDIDATES},
                        optimize=("runtime_ms", "min")).name == "A"
    with pytest.raises(ValueError, match="no candidate meets"):
        select_model(CANDIDATES, satisficing={"runtime_ms": ("<", 10)})
    with pytest.raises(ValueError, match="no value for the satisficing metric 'memory'"):
        select_model(CANDIDATES, satisficing={"memory": ("<", 10)})
    with pytest.raises(ValueError, match=r"\(op, threshold\)"):
        select_model(CANDIDATES, satisficing={"runtime_ms": 100})


@pytest.mark.parametrize("kw,largest", [
    # the course's examples (§4.1, §7.3, §7.4.1)
    (dict(human=0.01, train=0.08, dev=0.10), "avoidable bias"),
    (dict(human=0.075, train=0.08, dev=0.10), "variance"),
    (dict(human=0.0, train=0.01, train_dev=0.09, dev=0.10), "variance"),
    (dict(human=0.0, train=0.01, train_dev=0.015, dev=0.10), "data mismatch"),
    (dict(human=0.0, train=0.10, train_dev=0.11, dev=0.12), "avoidable bias"),
    (dict(human=0.0, train=0.01, train_dev=0.015, dev=0.02, test=0.08), "overfitting to dev"),
])
def test_diagnose_names_the_largest_gap(kw, largest):
    d = diagnose(**kw)
    assert d.largest == largest
    assert d.remedies and d.remedies == list(tg.strategy.REMEDIES[largest])
    assert largest in str(d) and "<- largest" in str(d)


def test_diagnose_values_and_notes():
    d = diagnose(human=0.0, train=0.10, train_dev=0.11, dev=0.20)
    assert d.avoidable_bias == pytest.approx(0.10) and d.variance == pytest.approx(0.01)
    assert d.data_mismatch == pytest.approx(0.09) and d.dev_overfitting is None
    assert "regularize" in " ".join(diagnose(human=0.0, train=0.0, dev=0.1).remedies)
    d = diagnose(train=0.05, dev=0.06)
    assert any("Bayes error taken as 0" in n for n in d.notes)
    d = diagnose(human=0.0, train=0.01, train_dev=0.05, dev=0.03)
    assert any("easier" in n for n in d.notes)
    with pytest.raises(ValueError, match="pass 0.08 for 8 %"):
        diagnose(train=8.0, dev=10.0)
    with pytest.raises(TypeError, match="number"):
        diagnose(train="low")
