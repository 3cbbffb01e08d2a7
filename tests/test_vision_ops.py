"""tg.vision.ops against torchvision's own results (a committed fixture made by
tools/make_box_fixtures.py), against brute-force references on thousands of random boxes (exact
ties, identical and zero-area boxes, thresholds 0 and 1), gradients (gradcheck and PyTorch
float64 parity of the same composition) and the errors for bad boxes."""
import os

import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad.vision import ops as V

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                       "torchvision_boxes.npz")


@pytest.fixture(scope="module")
def tv():
    return np.load(FIXTURE)


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


# ---- brute-force references ----------------------------------------------------------------
def ref_iou_scalar(a, b):
    """IoU of two xyxy boxes from the definition, in the boxes' dtype (NaN for 0/0)."""
    dt = a.dtype.type
    w = max(dt(0), min(a[2], b[2]) - max(a[0], b[0]))
    h = max(dt(0), min(a[3], b[3]) - max(a[1], b[1]))
    inter = dt(w * h)
    union = dt(dt((a[2] - a[0]) * (a[3] - a[1])) + dt((b[2] - b[0]) * (b[3] - b[1]))) - inter
    return np.nan if union == 0 else dt(inter / union)


def ref_nms(boxes, scores, thr, idxs=None):
    """Greedy NMS from its definition: visit boxes by (score desc, index asc); keep a box unless
    a kept box of the same class overlaps it with IoU > thr (NaN IoU never suppresses)."""
    order = sorted(range(len(boxes)), key=lambda i: (-float(scores[i]), i))
    keep = []
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        for i in order:
            k = np.asarray(keep, dtype=np.int64)
            if idxs is not None and len(k):
                k = k[idxs[k] == idxs[i]]
            if len(k):
                w = np.maximum(np.minimum(boxes[k, 2], boxes[i, 2])
                               - np.maximum(boxes[k, 0], boxes[i, 0]), 0)
                h = np.maximum(np.minimum(boxes[k, 3], boxes[i, 3])
                               - np.maximum(boxes[k, 1], boxes[i, 1]), 0)
                inter = w * h
                iou = inter / (area[k] + area[i] - inter)
                if (iou.astype(np.float64) > thr).any():   # compared in double, as C++ does
                    continue
            keep.append(i)
    return np.asarray(keep, dtype=np.int64)


def random_boxes(rng, n, grid=None, dtype=np.float32, span=100.0, max_wh=20.0):
    xy = rng.uniform(0, span, (n, 2))
    wh = rng.uniform(0, max_wh, (n, 2))
    if grid:
        xy, wh = np.round(xy * grid) / grid, np.round(wh * grid) / grid
    b = np.concatenate([xy, xy + wh], 1).astype(dtype)
    # identical boxes and zero-area boxes mixed in
    b[5:25] = b[0]
    b[30:40, 2] = b[30:40, 0]
    b[40:45, 2:] = b[40:45, :2]
    return b


# ---- torchvision fixture ---------------------------------------------------------------------
def test_box_iou_and_giou_equal_torchvision(tv):
    got = V.box_iou(tv["iou_boxes"], tv["iou_boxes"]).numpy()
    assert got.dtype == np.float32
    assert np.isnan(got).sum() == np.isnan(tv["iou_result"]).sum() > 0   # 0/0 for zero-area
    np.testing.assert_array_equal(got, tv["iou_result"])
    for tag, dt in (("f32", np.float32), ("f64", np.float64)):
        a, b = tv["iou_random_a"].astype(dt), tv["iou_random_b"].astype(dt)
        np.testing.assert_array_equal(V.box_iou(a, b).numpy(), tv[f"iou_random_{tag}"])
        a[:, 2:] += 0.25
        b[:, 2:] += 0.25
        np.testing.assert_allclose(V.generalized_box_iou(a, b).numpy(), tv[f"giou_random_{tag}"],
                                   rtol=0, atol=1e-6 if tag == "f32" else 1e-15)


def test_box_convert_equals_torchvision(tv):
    for i in ("xyxy", "xywh", "cxcywh"):
        for o in ("xyxy", "xywh", "cxcywh"):
            np.testing.assert_array_equal(V.box_convert(tv["convert_in"], i, o).numpy(),
                                          tv[f"convert_{i}_{o}"], err_msg=f"{i}->{o}")


def test_nms_equals_torchvision(tv):
    names = tv["nms_names"]
    for k, name in enumerate(names):
        keep = V.nms(tv[f"set_{name}_boxes"], tv[f"set_{name}_scores"], float(tv[f"nms{k}_thr"]))
        assert keep.dtype == np.int64
        np.testing.assert_array_equal(keep.numpy(), tv[f"nms{k}_keep"],
                                      err_msg=f"{name} thr={tv[f'nms{k}_thr']}")
    assert {float(tv[f"nms{k}_thr"]) for k in range(len(names))} >= {0.0, 1.0}


def test_batched_nms_equals_torchvision(tv):
    for k, name in enumerate(tv["bnms_names"]):
        boxes, scores = tv[f"bset_{name}_boxes"], tv[f"bnms{k}_scores"]
        keep = V.batched_nms(boxes, scores, tv[f"bnms{k}_idxs"], float(tv[f"bnms{k}_thr"]))
        keep = keep.numpy()
        ref = tv[f"bnms{k}_keep"]
        if len(boxes) <= 1000:   # torchvision's coordinate-trick path: identical, order included
            np.testing.assert_array_equal(keep, ref, err_msg=name)
        else:
            # above 1000 boxes torchvision sorts the per-class survivors with an unstable sort,
            # so only the set and the score order are defined; ours breaks ties by index
            assert sorted(keep.tolist()) == sorted(ref.tolist()), name
            np.testing.assert_array_equal(scores[keep], scores[ref])
            s = scores[keep]
            assert np.all((s[:-1] > s[1:]) | ((s[:-1] == s[1:]) & (keep[:-1] < keep[1:])))


# ---- brute force on random boxes -------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_box_iou_equals_definition(dtype):
    rng = np.random.default_rng(1)
    a = random_boxes(rng, 1500, grid=2, dtype=dtype)
    b = random_boxes(rng, 50, grid=2, dtype=dtype)
    b[45:48] = a[[0, 30, 40]]        # identical to boxes of a (a positive and two zero areas)
    got = V.box_iou(a, b).numpy()
    assert got.shape == (1500, 50) and got.dtype == dtype
    ref = np.array([[ref_iou_scalar(x, y) for y in b] for x in a], dtype=dtype)
    np.testing.assert_array_equal(got, ref)
    assert np.isnan(got).any() and (got == 1).any() and (got == 0).any()
    # batch dimensions broadcast as in torchvision: (..., N, 4) x (..., M, 4) -> (..., N, M)
    batched = V.box_iou(a[:40].reshape(2, 20, 4), b[:10].reshape(1, 10, 4).repeat(2, 0))
    np.testing.assert_array_equal(batched.numpy()[1], got[20:40, :10])


@pytest.mark.parametrize("thr", [0.0, 0.3, 0.5, 0.7, 1.0])
@pytest.mark.parametrize("grid,dtype", [(4, np.float32), (None, np.float32), (None, np.float64)])
def test_nms_equals_brute_force(thr, grid, dtype):
    rng = np.random.default_rng(int(thr * 10) + (grid or 0))
    boxes = random_boxes(rng, 2000, grid=grid, dtype=dtype)
    scores = (rng.integers(0, 30, 2000) / 30).astype(np.float32)       # exact ties
    boxes[0] = boxes[5:25] = [10, 10, 20, 20]
    scores[0] = scores[5:25] = 1.0                     # tied identical boxes with the top score
    keep = V.nms(tg.tensor(boxes), tg.tensor(scores), thr).numpy()
    np.testing.assert_array_equal(keep, ref_nms(boxes, scores, thr))
    if thr == 1.0:
        assert len(keep) == 2000
    if thr < 1.0:
        assert 0 in keep and not set(range(5, 25)) & set(keep.tolist())   # identical: first wins


@pytest.mark.parametrize("thr", [0.0, 0.5, 1.0])
def test_batched_nms_equals_brute_force(thr):
    rng = np.random.default_rng(7)
    boxes = random_boxes(rng, 2500, grid=4)
    scores = (rng.integers(0, 20, 2500) / 20).astype(np.float32)
    idxs = rng.integers(0, 5, 2500)
    keep = V.batched_nms(boxes, scores, idxs, thr).numpy()
    np.testing.assert_array_equal(keep, ref_nms(boxes, scores, thr, idxs))
    # per class it is plain nms
    for c in range(5):
        sel = np.flatnonzero(idxs == c)
        np.testing.assert_array_equal(np.sort(sel[V.nms(boxes[sel], scores[sel], thr).numpy()]),
                                      np.sort(keep[idxs[keep] == c]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nms_pruning_never_changes_the_result(dtype):
    """The kernel skips pairs that do not overlap in x; far from the origin (where rounding
    is coarse), with one very wide box, and with a negative threshold (no pruning: every
    non-NaN IoU, 0 included, exceeds it) it still equals the definition."""
    rng = np.random.default_rng(11)
    boxes = random_boxes(rng, 1500, dtype=dtype, span=30, max_wh=3) + dtype(1e5)
    boxes[7] = [1e5, 1e5, 1e5 + 40, 1e5 + 2]
    scores = rng.random(1500).astype(np.float32)
    for thr in (0.0, 0.2, 0.6):
        np.testing.assert_array_equal(V.nms(boxes, scores, thr).numpy(),
                                      ref_nms(boxes, scores, thr))
    idxs = rng.integers(0, 3, 1500)
    for thr in (-0.1, 0.4):
        np.testing.assert_array_equal(V.batched_nms(boxes, scores, idxs, thr).numpy(),
                                      ref_nms(boxes, scores, thr, idxs))
    small = random_boxes(rng, 300)
    keep = V.nms(small, scores[:300], -0.1).numpy()
    np.testing.assert_array_equal(keep, ref_nms(small, scores[:300], -0.1))
    assert len(keep) == 1     # IoU 0 > -0.1: the top box suppresses every box of positive area


def test_nms_edge_inputs():
    e = V.nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), 0.5)
    assert e.shape == (0,) and e.dtype == np.int64
    assert V.batched_nms(np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64), 0.5).shape == (0,)
    # IoU exactly 0.5 is not > 0.5: kept; touching boxes have IoU 0: kept even at threshold 0
    b = np.array([[0, 0, 2, 1], [0, 0, 1, 1], [2, 0, 3, 1]], np.float32)
    assert V.nms(b, np.array([3, 2, 1.0]), 0.5).tolist() == [0, 1, 2]
    assert V.nms(b, np.array([3, 2, 1.0]), 0.49).tolist() == [0, 2]
    assert V.nms(b, np.array([3, 2, 1.0]), 0.0).tolist() == [0, 2]
    # integer boxes and integer scores work (computed in float64)
    assert V.nms(b.astype(np.int64), np.array([1, 2, 3]), 0.4).tolist() == [2, 1]


# ---- gradients -------------------------------------------------------------------------------
def _valid_pair(seed, n=4, m=3):
    """Boxes with positive areas, overlapping some and not others, no ties in coordinates."""
    rng = np.random.default_rng(seed)
    out = []
    for k in (n, m):
        xy = rng.uniform(0, 10, (k, 2))
        out.append(np.concatenate([xy, xy + rng.uniform(1, 8, (k, 2))], 1))
    return out


@pytest.mark.parametrize("fn", ["box_iou", "generalized_box_iou"])
def test_iou_gradcheck_and_second_order(fn):
    a, b = _valid_pair(3)
    f = getattr(V, fn)
    ta = tg.tensor(a, requires_grad=True)
    tb = tg.tensor(b, requires_grad=True)
    assert tg.gradcheck(lambda x, y: f(x, y), (ta, tb))
    assert tg.gradgradcheck(lambda x, y: f(x, y), (ta, tb))


def test_area_convert_clip_gradcheck():
    a, _ = _valid_pair(4)
    t = tg.tensor(a, requires_grad=True)
    assert tg.gradcheck(lambda x: V.box_area(x), (t,))
    for i, o in (("xyxy", "cxcywh"), ("cxcywh", "xywh"), ("xywh", "xyxy")):
        assert tg.gradcheck(lambda x: V.box_convert(x, i, o), (t,))
    assert tg.gradcheck(lambda x: V.clip_boxes_to_image(x, (7.5, 8.5)), (t,))


def _torch_iou(torch, a, b, giou=False):
    area1 = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area2 = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area1[:, None] + area2[None, :] - inter
    iou = inter / union
    if not giou:
        return iou
    whc = (torch.max(a[:, None, 2:], b[None, :, 2:]) - torch.min(a[:, None, :2], b[None, :, :2]))
    area_c = whc.clamp(min=0).prod(-1)
    return iou - (area_c - union) / area_c


@pytest.mark.parametrize("giou", [False, True])
def test_iou_gradients_match_torch(torch, giou):
    a, b = _valid_pair(5, 30, 20)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ga, gb = tg.tensor(a, requires_grad=True), tg.tensor(b, requires_grad=True)
    ref = _torch_iou(torch, ta, tb, giou)
    got = (V.generalized_box_iou if giou else V.box_iou)(ga, gb)
    np.testing.assert_allclose(got.detach().numpy(), ref.detach().numpy(), rtol=1e-13, atol=1e-15)
    up = np.random.default_rng(0).standard_normal(ref.shape)
    (ref * torch.tensor(up)).sum().backward()
    (got * tg.tensor(up)).sum().backward()
    np.testing.assert_allclose(ga.grad.numpy(), ta.grad.numpy(), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(gb.grad.numpy(), tb.grad.numpy(), rtol=1e-11, atol=1e-13)


# ---- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("fn,call", [
    ("nms", lambda b: V.nms(b, np.ones(len(b)), 0.5)),
    ("batched_nms", lambda b: V.batched_nms(b, np.ones(len(b)), np.zeros(len(b), int), 0.5)),
    ("box_iou", lambda b: V.box_iou(b, np.zeros((1, 4)))),
    ("generalized_box_iou", lambda b: V.generalized_box_iou(np.zeros((1, 4)), b)),
    ("box_area", lambda b: V.box_area(b)),
    ("box_convert", lambda b: V.box_convert(b, "xyxy", "cxcywh")),
])
def test_bad_boxes_name_function_and_box(fn, call):
    good = [[0, 0, 1, 1], [1, 1, 3, 4]]
    with pytest.raises(ValueError, match=rf"^{fn}: .*\[1\] = \[5, 1, 3, 4\] has x2 < x1"):
        call(np.array([good[0], [5, 1, 3, 4]], np.float32))
    with pytest.raises(ValueError, match=rf"^{fn}: .*\[1\] = \[1, 4, 3, 1\] has y2 < y1"):
        call(np.array([good[0], [1, 4, 3, 1]], np.float32))
    with pytest.raises(ValueError, match=rf"^{fn}: .*\[1\] = \[1, nan, 3, 4\] has a NaN"):
        call(np.array([good[0], [1, np.nan, 3, 4]]))
    with pytest.raises(ValueError, match=rf"^{fn}: .*shape .*4.*got \(2, 5\)"):
        call(np.zeros((2, 5)))


def test_other_errors():
    b = np.array([[0, 0, 1, 1.0]])
    with pytest.raises(ValueError, match=r"^nms: boxes must have shape \(N, 4\), got \(3, 5\)"):
        V.nms(np.zeros((3, 5)), np.zeros(3), 0.5)
    with pytest.raises(ValueError, match=r"nms: boxes must have shape \(N, 4\), got \(1, 1, 4\)"):
        V.nms(b[None], np.ones(1), 0.5)
    with pytest.raises(ValueError, match="nms: scores must have shape \\(N,\\) = \\(1,\\)"):
        V.nms(b, np.ones(2), 0.5)
    with pytest.raises(ValueError, match=r"nms: scores\[0\] = nan is not finite"):
        V.nms(b, np.array([np.nan]), 0.5)
    with pytest.raises(TypeError, match="nms: iou_threshold must be a real number"):
        V.nms(b, np.ones(1), None)
    with pytest.raises(ValueError, match="batched_nms: idxs must have shape"):
        V.batched_nms(b, np.ones(1), np.zeros(2, int), 0.5)
    with pytest.raises(TypeError, match="batched_nms: idxs must be integer"):
        V.batched_nms(b, np.ones(1), np.array([0.5]), 0.5)
    with pytest.raises(ValueError, match="box_convert: unsupported box format in_fmt='xyz'"):
        V.box_convert(b, "xyz", "xyxy")
    with pytest.raises(ValueError, match=r"box_convert: boxes\[0\] = \[0, 0, -1, 1\] has negative "
                                         r"width .*'cxcywh'"):
        V.box_convert(np.array([[0, 0, -1, 1.0]]), "cxcywh", "xyxy")
    with pytest.raises(TypeError, match="box_iou: boxes1 must be a Tensor or a numpy array"):
        V.box_iou("abc", b)
    with pytest.raises(ValueError, match="box_iou: boxes1 and boxes2 must have shape"):
        V.box_iou(b[0], b)


def test_inputs_like_torchvision():
    b = [[0, 0, 2, 2], [1, 1, 3, 3]]
    iou = V.box_iou([[0.0, 0, 2, 2], [1, 1, 3, 3]], np.array(b, np.float32))   # lists: float32
    assert isinstance(iou, tg.Tensor) and iou.dtype == np.float32
    np.testing.assert_allclose(iou.numpy(), [[1, 1 / 7], [1 / 7, 1]], rtol=1e-6)
    ii = V.box_iou(np.array(b), np.array(b))   # integer boxes: float32 IoU, as torch's int / int
    assert ii.dtype == np.float32
    np.testing.assert_array_equal(ii.numpy(), iou.numpy())
    assert V.box_area(np.array(b, np.int16)).dtype == np.int32      # torchvision's upcast
    np.testing.assert_array_equal(V.box_area(b, fmt="xywh").numpy(), [4, 9])
    rng = np.random.default_rng(0)
    c = np.concatenate([rng.uniform(0, 9, (20, 2)), rng.uniform(0, 5, (20, 2))], 1)
    for fmt in ("xywh", "cxcywh"):
        xyxy = V.box_convert(c, fmt, "xyxy")
        np.testing.assert_allclose(V.box_iou(c, c[:7], fmt=fmt).numpy(),
                                   V.box_iou(xyxy, xyxy[:7]).numpy(), rtol=1e-12)
        np.testing.assert_allclose(V.box_area(c, fmt=fmt).numpy(), V.box_area(xyxy).numpy(),
                                   rtol=1e-12)
