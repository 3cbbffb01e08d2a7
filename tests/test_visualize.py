"""tg.vision.visualize: receptive fields (checked against the gradient's support) and the top-k
activating patches on hand-made images."""
import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import nn
from tensorgrad.vision import visualize as vz


def _net():
    tg.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 4, 5, stride=2), nn.Flatten(), nn.Linear(4, 2))


def test_receptive_fields_formula():
    rf = vz.receptive_fields(_net())
    assert len(rf) == 7                                  # stops at Flatten
    assert (rf[0].size, rf[0].jump, rf[0].start) == (3, 1, -1)
    assert rf[1] == rf[0]
    assert (rf[2].size, rf[2].jump, rf[2].start) == (4, 2, -1)
    assert (rf[3].size, rf[3].jump, rf[3].start) == (8, 2, -3)
    assert (rf[5].size, rf[5].jump, rf[5].start) == (10, 4, -3)
    assert (rf[6].size, rf[6].jump, rf[6].start) == (26, 8, -3)


@pytest.mark.parametrize("layer,pos", [(0, (4, 7)), (3, (2, 5)), (5, (1, 2)), (6, (0, 1))])
def test_receptive_field_contains_the_gradient_support(layer, pos):
    net = _net().double()
    x = tg.tensor(np.random.default_rng(1).random((1, 1, 32, 32)) + 0.1, requires_grad=True)
    h = x
    for m in list(net)[:layer + 1]:
        h = m(h)
    h[0, :, pos[0], pos[1]].sum().backward()
    rows, cols = np.nonzero(np.abs(x.grad.numpy()[0, 0]) > 0)
    r0, c0, r1, c1 = vz.receptive_fields(net)[layer].window(*pos)
    assert rows.size > 0
    assert rows.min() >= r0 and rows.max() < r1 and cols.min() >= c0 and cols.max() < c1
    if layer == 0:  # a single conv: the support is the whole window (clipped to the image)
        assert (rows.min(), rows.max(), cols.min(), cols.max()) == (r0, r1 - 1, c0, c1 - 1)


def test_top_patches_find_the_brightest_spots():
    # unit 0 of a 3x3 conv sums its window; each image has one bright spot of its own strength
    conv = nn.Conv2d(1, 2, 3, padding=1)
    w = np.zeros((2, 1, 3, 3), np.float32)
    w[0] = 1.0
    w[1, 0, 1, 1] = -1.0
    conv.load_state_dict({"weight": tg.tensor(w), "bias": tg.zeros(2)})
    net = nn.Sequential(conv, nn.ReLU())
    X = np.zeros((12, 1, 10, 10), np.float32)
    spots = [(k % 8 + 1, (3 * k) % 8 + 1) for k in range(12)]
    for k, (r, c) in enumerate(spots):
        X[k, 0, r, c] = 1.0 + k
    res = vz.top_patches(net, X, {"relu1_1": [0], 0: [0]}, k=9)
    items = res["relu1_1"][0]
    assert [it["image"] for it in items] == list(range(11, 2, -1))     # strongest first
    assert [it["image"] for it in res[0][0]] == [it["image"] for it in items]
    for it in items:
        r, c = spots[it["image"]]
        assert it["activation"] == pytest.approx(1.0 + it["image"])
        assert it["patch"].shape == (1, 3, 3)
        # the crop is centred on the spot (ties: the first maximal position in the window)
        i, j = it["position"]
        assert abs(i - r) <= 1 and abs(j - c) <= 1
        assert it["patch"].max() == pytest.approx(1.0 + it["image"])
    with pytest.raises(ValueError, match="has 2 units, asked for unit 5"):
        vz.top_patches(net, X, {0: [5]})
    with pytest.raises(ValueError, match="no layer 'conv9_1'"):
        vz.top_patches(net, X, {"conv9_1": [0]})


def test_crop_pads_outside_the_image_and_plot():
    img = np.arange(16, dtype=float).reshape(1, 4, 4)
    p = vz._crop(img, (-1, -1, 2, 2))
    assert p.shape == (1, 3, 3) and p[0, 0, 0] == 0 and p[0, 1, 1] == img[0, 0, 0]
    plt = pytest.importorskip("matplotlib.pyplot")
    net = _net()
    X = np.random.default_rng(0).random((20, 1, 16, 16)).astype(np.float32)
    res = vz.top_patches(net, X, {3: [0, 1]})
    fig = vz.plot_top_patches(res, 3)
    assert len(fig.axes) == 2 and res[3][0][0]["patch"].shape == (1, 8, 8)
    plt.close(fig)
