"""Detection metrics: COCO mAP against pycocotools' COCOeval (a committed fixture made by
tools/make_map_fixtures.py), VOC all-point AP on a hand-computed case, the two matching rules,
and edge cases."""
import os

import numpy as np
import pytest

from tensorgrad.vision import detection as D

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "coco_map.npz")


def _split(gts, dets, n=60):
    preds = [(dets[dets[:, 0] == i, 1:5], dets[dets[:, 0] == i, 5], dets[dets[:, 0] == i, 6])
             for i in range(n)]
    targets = [(gts[gts[:, 0] == i, 1:5], gts[gts[:, 0] == i, 5]) for i in range(n)]
    return preds, targets


@pytest.mark.parametrize("case", ["a", "b"])
def test_coco_map_equals_pycocotools(case):
    f = np.load(FIXTURE)
    preds, targets = _split(f[f"{case}_gts"], f[f"{case}_dets"])
    stats = f[f"{case}_stats"]
    np.testing.assert_allclose(D.coco_map(preds, targets, 3), stats[0], rtol=1e-12)
    np.testing.assert_allclose(D.coco_map(preds, targets, 3, iou_thresholds=(0.5,)), stats[1],
                               rtol=1e-12)
    np.testing.assert_allclose(D.coco_map(preds, targets, 3, iou_thresholds=(0.75,)), stats[2],
                               rtol=1e-12)
    res = D.evaluate_detections(preds, targets, 3, D.evaluate.COCO_IOUS, rule="coco",
                                method="coco", max_detections=100)
    per_class = np.nanmean(res["ap"], 0) if case == "a" else \
        np.array([*np.nanmean(res["ap"][:, :2], 0), np.nan])
    np.testing.assert_allclose(per_class, f[f"{case}_per_class"], rtol=1e-12)
    if case == "b":                    # class 2 has no ground truth: left out, as pycocotools
        assert np.isnan(res["ap"][:, 2]).all()


def _hand_case():
    targets = [(np.array([[0, 0, 10, 10], [20, 20, 30, 30.0]]), np.array([0, 0])),
               (np.array([[0, 0, 10, 10.0]]), np.array([0]))]
    preds = [(np.array([[0, 0, 10, 10], [0, 0, 10, 10.5], [21, 21, 31, 31.0]]),
              np.array([0.9, 0.8, 0.5]), np.array([0, 0, 0])),
             (np.array([[50, 50, 60, 60], [0, 0, 10, 9.0]]), np.array([0.7, 0.6]),
              np.array([0, 0]))]
    return preds, targets


def test_voc_all_point_ap_by_hand():
    preds, targets = _hand_case()
    # by score: TP, duplicate (FP), FP, TP, TP (IoU 81/119 = 0.68)
    p, r, s = D.precision_recall_curve(preds, targets, 0)
    np.testing.assert_allclose(s, [0.9, 0.8, 0.7, 0.6, 0.5])
    np.testing.assert_allclose(p, [1, 1 / 2, 1 / 3, 1 / 2, 3 / 5])
    np.testing.assert_allclose(r, [1 / 3, 1 / 3, 1 / 3, 2 / 3, 1])
    # envelope: 1 up to recall 1/3, then 0.6 -> AP = (1 + 0.6 + 0.6) / 3
    np.testing.assert_allclose(D.average_precision(p, r), 2.2 / 3, rtol=1e-12)
    np.testing.assert_allclose(D.voc_map(preds, targets, 1), 2.2 / 3, rtol=1e-12)
    # COCO's 101 recall points: 34 of them (0 .. 0.33) at precision 1, 67 at 0.6
    np.testing.assert_allclose(D.average_precision(p, r, "coco"), (34 + 67 * 0.6) / 101,
                               rtol=1e-12)
    # at IoU 0.7 the last detection (0.68) is a false positive too
    np.testing.assert_allclose(D.voc_map(preds, targets, 1, iou_threshold=0.7),
                               1 / 3 + 1 / 3 * 0.5, rtol=1e-12)


def test_all_point_ap_equals_sklearn_when_precision_is_monotone():
    sk = pytest.importorskip("sklearn.metrics")
    # one object per image; detections sorted so that all true positives come first
    flags = np.array([1] * 7 + [0] * 5, bool)
    scores = np.linspace(1, 0.1, 12)
    precision = np.cumsum(flags) / np.arange(1, 13)
    recall = np.cumsum(flags) / 10                       # 3 objects never detected
    ours = D.average_precision(precision, recall)
    ref = sk.average_precision_score(flags, scores) * 7 / 10   # sklearn: recall over found ones
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
    assert ours == pytest.approx(0.7)


def test_matching_rules_differ_as_their_references():
    # two overlapping objects; the first detection takes the best one; the second detection's
    # best box is taken: VOC calls it a false positive, COCO matches it to the other object
    targets = [(np.array([[0, 0, 10, 10], [2, 0, 12, 10.0]]), np.array([1, 1]))]
    preds = [(np.array([[0, 0, 10, 10], [0.5, 0, 10.5, 10.0]]), np.array([0.9, 0.8]),
              np.array([1, 1]))]
    p_voc, r_voc, _ = D.precision_recall_curve(preds, targets, 1, rule="voc")
    p_coco, r_coco, _ = D.precision_recall_curve(preds, targets, 1, rule="coco")
    np.testing.assert_allclose(r_voc, [0.5, 0.5])
    np.testing.assert_allclose(r_coco, [0.5, 1.0])
    assert np.isnan(D.voc_map(preds, targets, 1))             # class 0 has no ground truth


def test_edge_cases_and_errors():
    preds, targets = _hand_case()
    empty = [(np.zeros((0, 4)), np.zeros(0), np.zeros(0, int)) for _ in targets]
    assert D.voc_map(empty, targets, 1) == 0.0 and D.coco_map(empty, targets, 1) == 0.0
    perfect = [(b, np.ones(len(b)), lab) for b, lab in targets]
    assert D.voc_map(perfect, targets, 1) == 1.0 and D.coco_map(perfect, targets, 1) == 1.0
    dict_preds = [{"boxes": b, "scores": s, "labels": lab} for b, s, lab in preds]
    dict_targets = [{"boxes": b, "labels": lab} for b, lab in targets]
    assert D.voc_map(dict_preds, dict_targets, 1) == D.voc_map(preds, targets, 1)
    with pytest.raises(ValueError, match="evaluate_detections: got predictions for 2 images but "
                                         "targets for 1"):
        D.evaluate_detections(preds, targets[:1], 1)
    with pytest.raises(ValueError, match="^voc_map: image 0: 3 predicted boxes, 2 scores"):
        D.voc_map([(preds[0][0], preds[0][1][:2], preds[0][2])] + preds[1:], targets, 1)
    bad = [(np.array([[0, 0, 5, 5], [0, 9, 5, 3.0]]), np.ones(2), np.zeros(2, int))] + preds[1:]
    with pytest.raises(ValueError, match=r"^voc_map \(image 0\): predicted boxes\[1\] = "
                                         r"\[0, 9, 5, 3\] has y2 < y1"):
        D.voc_map(bad, targets, 1)
    with pytest.raises(ValueError, match="average_precision: method must be"):
        D.average_precision([1.0], [1.0], "11-point")
