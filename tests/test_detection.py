"""tg.vision.detection: localization and landmark losses (PyTorch float64 parity, gradcheck),
the convolutional sliding-window net (= per-window classification), YOLO's grid/anchor
assignment, k-means anchors, encoding/decoding, the YOLO loss (PyTorch parity, gradcheck),
post-processing and the model, the synthetic dataset and drawing."""
import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad.vision import detection as D


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _parity(torch, tfn, gfn, arrays, targets, rtol=1e-12):
    """Same loss in both frameworks (float64): value and gradient of the first input."""
    t_in = torch.tensor(arrays, requires_grad=True)
    g_in = tg.tensor(arrays, requires_grad=True)
    tv, gv = tfn(t_in, targets), gfn(g_in, targets)
    np.testing.assert_allclose(gv.item(), tv.item(), rtol=rtol)
    tv.backward()
    gv.backward()
    np.testing.assert_allclose(g_in.grad.numpy(), t_in.grad.numpy(), rtol=1e-10, atol=1e-13)


# ---- classification with localization -------------------------------------------------------
def _loc_data(seed=0, n=7, k=3):
    rng = np.random.default_rng(seed)
    boxes = [None if i % 3 == 0 else np.array([2 + i, 3, 20 + i, 30.0]) for i in range(n)]
    labels = rng.integers(0, k, n)
    y = D.localization_target(boxes, labels, k, (40, 32))
    return rng.standard_normal((n, 5 + k)), y


def test_localization_target_layout():
    y = D.localization_target([None, [4, 8, 12, 24]], [0, 2], 3, (40, 32))
    np.testing.assert_array_equal(y[0], np.zeros(8))
    # p_c, b_x = 8/32, b_y = 16/40, b_h = 16/40, b_w = 8/32, one-hot class 2
    np.testing.assert_allclose(y[1], [1, 0.25, 0.4, 0.4, 0.25, 0, 0, 1])
    with pytest.raises(ValueError, match=r"localization_target: boxes\[0\]\[0\] = \[5, 0, 1, 1\] "
                                         r"has x2 < x1"):
        D.localization_target([[5, 0, 1, 1]], [0], 3, 10)
    with pytest.raises(ValueError, match="labels\\[0\\] = 3 is not in 0..2"):
        D.localization_target([[0, 0, 1, 1]], [3], 3, 10)


def test_notes_localization_loss(torch):
    out, y = _loc_data()
    # by hand: all 8 squared errors where p_c = 1, only the first where p_c = 0
    per = np.where(y[:, 0] == 1, ((out - y) ** 2).sum(1), (out[:, 0] - y[:, 0]) ** 2)
    got = D.localization_loss(tg.tensor(out), tg.tensor(y.astype(np.float64)), reduction="none")
    np.testing.assert_allclose(got.numpy(), per, rtol=1e-12)
    yt = y.astype(np.float64)

    def tfn(o, t):
        m = torch.tensor(t[:, 0:1])
        sq = (o - torch.tensor(t)) ** 2
        return ((sq * m).sum(1) + sq[:, 0] * (1 - m[:, 0])).mean()
    _parity(torch, tfn, lambda o, t: D.localization_loss(o, tg.tensor(t)), out, yt)
    assert tg.gradcheck(lambda o: D.localization_loss(o, tg.tensor(yt)),
                        (tg.tensor(out, requires_grad=True),))


def test_practical_localization_loss(torch):
    out, y = _loc_data(1)
    yt = y.astype(np.float64)
    F = torch.nn.functional

    def tfn(o, t):
        t = torch.tensor(t)
        has = t[:, 0] > 0.5
        bce = F.binary_cross_entropy_with_logits(o[:, 0], t[:, 0], reduction="none")
        box = 2.0 * ((o[:, 1:5] - t[:, 1:5]) ** 2).sum(1)
        ce = F.cross_entropy(o[:, 5:], t[:, 5:].argmax(1), reduction="none")
        return (bce + torch.where(has, box + ce, torch.zeros_like(bce))).sum()
    _parity(torch, tfn, lambda o, t: D.localization_loss_practical(
        o, tg.tensor(t), box_weight=2.0, reduction="sum"), out, yt)
    assert tg.gradcheck(lambda o: D.localization_loss_practical(o, tg.tensor(yt)),
                        (tg.tensor(out, requires_grad=True),))
    assert tg.gradgradcheck(lambda o: D.localization_loss_practical(o, tg.tensor(yt)),
                            (tg.tensor(out, requires_grad=True),))
    with pytest.raises(ValueError, match="localization_loss_practical: input and target must"):
        D.localization_loss_practical(tg.tensor(out), tg.tensor(yt[:, :5]))


def test_landmarks(torch):
    rng = np.random.default_rng(2)
    pts = rng.uniform(0, 32, (5, 4, 2))
    y = D.landmark_target(pts, present=[1, 0, 1, 1, 0], image_size=32).astype(np.float64)
    assert y.shape == (5, 9) and (y[1, 1:] == 0).all()
    np.testing.assert_allclose(y[0, 1:3], pts[0, 0] / 32)
    head = D.LandmarkHead(6, 4).double()
    out = head(tg.tensor(rng.standard_normal((5, 6))))
    assert out.shape == (5, 9) and head.points(out).shape == (5, 4, 2)
    F = torch.nn.functional

    def tfn(o, t):
        t = torch.tensor(t)
        bce = F.binary_cross_entropy_with_logits(o[:, 0], t[:, 0], reduction="none")
        return (bce + ((o[:, 1:] - t[:, 1:]) ** 2).sum(1) * t[:, 0]).mean()
    o = rng.standard_normal((5, 9))
    _parity(torch, tfn, lambda a, t: D.landmark_loss(a, tg.tensor(t)), o, y)
    assert tg.gradcheck(lambda a: D.landmark_loss(a, tg.tensor(y)),
                        (tg.tensor(o, requires_grad=True),))
    with pytest.raises(ValueError, match=r"landmark_loss: .*\(N, 1 \+ 2K\)"):
        D.landmark_loss(tg.tensor(o[:, :8]), tg.tensor(y[:, :8]))


# ---- sliding windows ------------------------------------------------------------------------
@pytest.mark.parametrize("size,grid", [(14, 1), (16, 2), (28, 8)])
def test_convolutional_sliding_windows_equal_per_window_classification(size, grid):
    tg.manual_seed(0)
    clf = D.WindowClassifier(4).double()
    conv = D.to_convolutional(clf)
    x = tg.tensor(np.random.default_rng(size).random((2, 3, size, size)))
    with tg.no_grad():
        fast = conv(x).numpy()
        slow = D.sliding_window_outputs(clf, x).numpy()
    assert fast.shape == slow.shape == (2, 4, grid, grid)       # the course's 16 -> 2x2, 28 -> 8x8
    assert np.abs(fast - slow).max() < 1e-6
    np.testing.assert_allclose(fast, slow, rtol=1e-10, atol=1e-12)
    # window (i, j) of the slow path really is the crop at (2i, 2j)
    with tg.no_grad():
        one = clf(x[:, :, 2:16, 4:18]).numpy() if size >= 18 else None
    if one is not None:
        np.testing.assert_allclose(fast[:, :, 1, 2], one, rtol=1e-10, atol=1e-12)


def test_sliding_windows_float32_and_detections():
    tg.manual_seed(1)
    clf = D.WindowClassifier(3)
    conv = D.to_convolutional(clf)
    x = tg.tensor(np.random.default_rng(0).random((1, 3, 32, 32)).astype(np.float32))
    with tg.no_grad():
        fast = conv(x).numpy()
        slow = D.sliding_window_outputs(clf, x).numpy()
    assert fast.dtype == np.float32 and np.abs(fast - slow).max() < 1e-5
    crops, (nh, nw) = D.sliding_windows(x, 14, 2)
    assert crops.shape == (nh * nw, 3, 14, 14) and (nh, nw) == (10, 10)
    np.testing.assert_array_equal(crops.numpy()[nw + 3], x.numpy()[0, :, 2:16, 6:20])
    logits = np.full((1, 3, 2, 2), -5.0)
    logits[0, 1, 0, 0] = logits[0, 2, 1, 1] = logits[0, 1, 0, 1] = 5.0
    (b, s, lab), = D.window_detections(logits, 14, 2, background=0, score_threshold=0.5,
                                       iou_threshold=0.5)
    # (0,0) and (0,1) are the same class and overlap (IoU 12/16 > 0.5): one survives
    assert lab.tolist() == [1, 2] and b.numpy().tolist() == [[0, 0, 14, 14], [2, 2, 16, 16]]
    with pytest.raises(ValueError, match="WindowClassifier: expected crops"):
        clf(x)


# ---- YOLO: grid, anchors, targets -----------------------------------------------------------
ANCHORS = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 3.0]])


def test_wh_iou_and_kmeans_anchors():
    np.testing.assert_allclose(D.wh_iou([[2, 2]], [[1, 4], [2, 2]]), [[1 / 3, 1]])
    rng = np.random.default_rng(0)
    centres = np.array([[1.0, 3.0], [3.0, 1.0], [4.0, 4.0]])
    wh = np.concatenate([c * rng.uniform(0.9, 1.1, (200, 2)) for c in centres])
    anchors = D.kmeans_anchors(wh, 3, seed=1)
    assert anchors.shape == (3, 2)
    areas = anchors.prod(1)
    assert (np.diff(areas) >= 0).all()                     # sorted by area
    np.testing.assert_allclose(anchors[np.argsort(anchors[:, 0])][[0, 2]][:, 0], [1, 4], rtol=0.05)
    fits = [D.mean_best_iou(wh, D.kmeans_anchors(wh, k, seed=0)) for k in (1, 2, 3)]
    assert fits[0] < fits[1] < fits[2] and fits[2] > 0.9
    np.testing.assert_array_equal(D.kmeans_anchors(wh, 3, seed=1), anchors)   # seeded
    with pytest.raises(ValueError, match=r"kmeans_anchors: wh\[0\] = \[0.0, 1.0\] must be"):
        D.kmeans_anchors([[0, 1], [1, 1]], 1)


def test_encode_targets_grid_and_anchor_assignment():
    # image 64, grid 4 (cells of 16 px); box midpoint (40, 20) -> row 1, col 2
    boxes = [np.array([[32, 12, 48, 28.0],   # 1 x 1 cells: IoU 1/2 with anchors 0 and 1 -> 0
                       [36, 4, 44, 36.0],    # 0.5 x 2: best anchor 0 is taken -> 1 (IoU 0.2)
                       [34, 14, 46, 26.0],   # 0.75 x 0.75, same cell: the last free anchor
                       [0, 0, 64, 64.0]])]   # midpoint on the cell corner (32, 32)
    labels = [np.array([0, 1, 2, 1])]
    t, dropped = D.encode_targets(boxes, labels, ANCHORS, 3, 64, 4, return_dropped=True)
    assert t.shape == (1, 4, 4, 3, 8) and dropped == 0
    np.testing.assert_allclose(t[0, 1, 2, 0], [1, 0.5, 0.25, 1, 1, 1, 0, 0])
    np.testing.assert_allclose(t[0, 1, 2, 1], [1, 0.5, 0.25, 2, 0.5, 0, 1, 0])
    np.testing.assert_allclose(t[0, 1, 2, 2], [1, 0.5, 0.25, 0.75, 0.75, 0, 0, 1])
    np.testing.assert_allclose(t[0, 2, 2, 2], [1, 0, 0, 4, 4, 0, 1, 0])
    assert t[..., 0].sum() == 4
    # a fourth object in the full cell is dropped and counted
    more = [np.concatenate([boxes[0][:3], [[33, 13, 47, 27.0]]])]
    _, dropped = D.encode_targets(more, [np.array([0, 1, 2, 0])], ANCHORS, 3, 64, 4,
                                  return_dropped=True)
    assert dropped == 1
    back = D.targets_to_boxes(t, 64)[0]
    order = np.lexsort(back[0].T[::-1])
    np.testing.assert_allclose(back[0][order], boxes[0][np.lexsort(boxes[0].T[::-1])])
    with pytest.raises(ValueError, match=r"encode_targets \(image 0\): boxes\[1\] = .* x2 < x1"):
        D.encode_targets([np.array([[0, 0, 5, 5], [9, 0, 3, 4.0]])], [np.array([0, 1])],
                         ANCHORS, 3, 64, 4)
    with pytest.raises(ValueError, match="encode_targets: image 0 has a label outside 0..2"):
        D.encode_targets([np.array([[0, 0, 5, 5.0]])], [np.array([3])], ANCHORS, 3, 64, 4)


def _perfect_outputs(t, anchors):
    """Raw outputs that decode exactly to the targets (confident where there is an object)."""
    obj = t[..., 0] > 0.5
    out = np.zeros(t.shape)
    out[..., 0] = np.where(obj, 12.0, -12.0)
    off = np.clip(t[..., 1:3], 1e-6, 1 - 1e-6)
    out[..., 1:3] = np.log(off / (1 - off))
    wh = np.where(obj[..., None], t[..., 3:5], anchors[:, ::-1])
    out[..., 3:5] = np.log(wh / anchors[:, ::-1])
    out[..., 5:] = np.where(t[..., 5:] > 0.5, 8.0, -8.0)
    return out


def test_decode_postprocess_and_map_on_perfect_outputs():
    ds = D.SyntheticShapes(6, seed=3)
    t = D.encode_targets(ds.boxes, ds.labels, ANCHORS, 3, 64, 8)
    out = _perfect_outputs(t, ANCHORS)
    boxes, obj, prob = D.decode_outputs(tg.tensor(out), ANCHORS, 64)
    assert boxes.shape == (6, 8, 8, 3, 4) and obj.shape == (6, 8, 8, 3) and prob.shape[-1] == 3
    preds = D.postprocess(out, ANCHORS, 64, score_threshold=0.5)
    for (b, s, lab), gb, gl in zip(preds, ds.boxes, ds.labels):
        assert len(b) == len(gb) and (s.numpy() > 0.99).all()
        o1, o2 = np.lexsort(b.numpy().T[::-1]), np.lexsort(gb.T[::-1])
        np.testing.assert_allclose(b.numpy()[o1], gb[o2], atol=1e-3)
        np.testing.assert_array_equal(lab.numpy()[o1], gl[o2])
    assert D.voc_map(preds, list(zip(ds.boxes, ds.labels)), 3) == 1.0


def _torch_yolo_loss(torch, o, t, anchors, ignore, lc=5.0, ln=0.5):
    F = torch.nn.functional
    obj = t[..., 0] > 0.5
    w = np.where(obj, 1.0, ln)
    w[ignore] = 0
    conf = F.binary_cross_entropy_with_logits(o[..., 0], torch.tensor(obj * 1.0),
                                              weight=torch.tensor(w), reduction="sum")
    pos = o[torch.tensor(obj)]
    tp = t[obj]
    log_wh = np.log(tp[:, 3:5] / anchors[np.nonzero(obj)[3]][:, ::-1])
    xy = ((torch.sigmoid(pos[:, 1:3]) - torch.tensor(tp[:, 1:3])) ** 2).sum()
    wh = ((pos[:, 3:5] - torch.tensor(log_wh)) ** 2).sum()
    cls = F.cross_entropy(pos[:, 5:], torch.tensor(tp[:, 5:].argmax(1)), reduction="sum")
    return (conf + lc * (xy + wh) + cls) / o.shape[0]


def test_yolo_loss_matches_torch_and_gradcheck(torch):
    ds = D.SyntheticShapes(3, seed=4, max_objects=3)
    t = D.encode_targets(ds.boxes, ds.labels, ANCHORS, 3, 64, 4).astype(np.float64)
    rng = np.random.default_rng(0)
    out = _perfect_outputs(t, ANCHORS) * 0.3 + rng.standard_normal(t.shape)
    ign = D.ignore_mask(out, t, ANCHORS, 64, 0.3)
    assert ign.any() and not (ign & (t[..., 0] > 0.5)).any()
    _parity(torch, lambda o, tt: _torch_yolo_loss(torch, o, tt, ANCHORS, ign),
            lambda o, tt: D.yolo_loss(o, tt, ANCHORS, 64, ignore_threshold=0.3), out, t)
    small = tg.tensor(out[:1, :2], requires_grad=True)    # (1, 2, 4, 3, 8) slice: shape check
    with pytest.raises(ValueError, match=r"yolo_loss: outputs must have shape \(N, S, S, A"):
        D.yolo_loss(small, t[:1, :2], ANCHORS)
    t1 = t[:1].copy()
    o1 = tg.tensor(out[:1], requires_grad=True)
    assert tg.gradcheck(lambda o: D.yolo_loss(o, t1, ANCHORS), (o1,))
    # the loss is smaller for better outputs
    assert D.yolo_loss(_perfect_outputs(t, ANCHORS), t, ANCHORS).item() < 0.01 \
        < D.yolo_loss(out, t, ANCHORS).item()


def test_yolo_model_trains_and_predicts():
    tg.manual_seed(0)
    ds = D.SyntheticShapes(48, seed=5)
    wh = np.concatenate([b[:, 2:] - b[:, :2] for b in ds.boxes]) / 8
    model = D.YOLO(3, D.kmeans_anchors(wh, 2), width=8)
    out = model(tg.tensor(ds.images[:2]))
    assert out.shape == (2, 8, 8, 2, 8)
    hist = D.train_yolo(model, ds.images, ds.boxes, ds.labels, epochs=4, batch_size=16,
                        lr=1e-2, progress=False)
    assert hist["epoch"] == [1, 2, 3, 4] and hist["loss"][-1] < 0.6 * hist["loss"][0]
    preds = model.predict(ds.images[:3], score_threshold=0.0, max_detections=7)
    assert len(preds) == 3
    for b, s, lab in preds:
        assert b.shape == (7, 4) and s.shape == (7,) and lab.dtype == np.int64
        assert (np.diff(s.numpy()) <= 0).all() and (b.numpy() >= 0).all() \
            and (b.numpy() <= 64).all()
    assert len(model.predict(ds.images[0])) == 1
    state = model.state_dict()
    np.testing.assert_array_equal(state["anchors"].numpy(), model.anchors.numpy())
    fresh = D.YOLO(3, np.ones((2, 2)), width=8)
    fresh.load_state_dict(state)
    again = fresh.predict(ds.images[:3], score_threshold=0.0, max_detections=7)
    for (b1, s1, _), (b2, s2, _) in zip(preds, again):
        np.testing.assert_allclose(b2.numpy(), b1.numpy(), rtol=1e-5, atol=1e-4)
    assert model.training
    with pytest.raises(ValueError, match=r"YOLO: expected images \(N, C, 64, 64\)"):
        model(tg.tensor(ds.images[:1, :, :32]))
    with pytest.raises(ValueError, match="YOLO: image_size / grid_size must be a power of two"):
        D.YOLO(3, ANCHORS, image_size=64, grid_size=6)


# ---- data and drawing -----------------------------------------------------------------------
def test_synthetic_shapes_are_seeded_and_consistent():
    a, b = D.SyntheticShapes(20, seed=9), D.SyntheticShapes(20, seed=9)
    np.testing.assert_array_equal(a.images, b.images)
    assert all(np.array_equal(x, y) for x, y in zip(a.boxes, b.boxes))
    c = D.SyntheticShapes(20, seed=10)
    assert not np.array_equal(a.images, c.images)
    n_obj = [len(x) for x in a.boxes]
    assert min(n_obj) >= 1 and max(n_obj) <= 4 and len(set(np.concatenate(a.labels))) == 3
    img, tgt = a[0]
    assert img.shape == (3, 64, 64) and img.dtype == np.float32
    assert tgt["boxes"].shape == (n_obj[0], 4) and tgt["labels"].dtype == np.int64
    bx = np.concatenate(a.boxes)
    assert (bx[:, 2:] - bx[:, :2] >= 10).all() and (bx >= 0).all() and (bx <= 64).all()
    overl = [tg.vision.ops.box_iou(x, x).numpy() for x in a.boxes if len(x) > 1]
    assert any(((o > 0) & (o < 1)).any() for o in overl)          # objects do overlap
    assert all((o[~np.eye(len(o), dtype=bool)] <= 0.3 + 1e-6).all() for o in overl)
    with pytest.raises(ValueError, match="SyntheticShapes: num_classes must be 1..4"):
        D.SyntheticShapes(1, num_classes=5)


def test_drawing_before_and_after_nms():
    plt = pytest.importorskip("matplotlib.pyplot")
    ds = D.SyntheticShapes(1, seed=0)
    b = np.concatenate([ds.boxes[0], ds.boxes[0] + 1.0])
    s = np.linspace(0.9, 0.5, len(b))
    lab = np.concatenate([ds.labels[0], ds.labels[0]])
    ax0, ax1 = D.draw_nms(ds.images[0], b, s, lab, class_names=ds.class_names)
    assert len(ax0.patches) == len(b) and len(ax1.patches) == len(ds.boxes[0])
    assert ds.class_names[lab[0]] in [t.get_text().split()[0] for t in ax1.texts]
    ax = D.draw_detections(ds.images[0], ds.boxes[0], labels=ds.labels[0])
    assert len(ax.patches) == len(ds.boxes[0])
    assert [t.get_text() for t in ax.texts] == [str(v) for v in ds.labels[0]]
    ax = D.draw_detections(ds.images[0], b[:2], s[:2], lab[:2], ds.class_names)  # predict order
    assert ax.texts[0].get_text() == f"{ds.class_names[lab[0]]} {s[0]:.2f}"
    with pytest.raises(ValueError, match=r"draw_detections: boxes\[0\] = .* has x2 < x1"):
        D.draw_detections(ds.images[0], [[5, 0, 1, 1]])
    plt.close("all")


def test_train_yolo_example_runs_quick(tmp_path, capsys):
    import importlib.util
    import os
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples",
                        "train_yolo.py")
    spec = importlib.util.spec_from_file_location("train_yolo_example", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    voc, coco = mod.main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert 0 <= coco <= voc <= 1 and "held-out mAP@0.5" in out and "load average" in out
    assert (tmp_path / "curve.json").exists() and (tmp_path / "yolo.tgw").exists()
