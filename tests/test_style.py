"""tg.vision.style: the costs against hand formulas and PyTorch (float64), the feature extractor
on a small VGG-layout network, the torchvision-state-dict conversion, the optimisation and the
command line."""
import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import nn
from tensorgrad.vision import style as st

RNG = np.random.default_rng(5)


def _t(x, grad=False):
    return tg.tensor(np.array(x, dtype=np.float64), requires_grad=grad)


# ---- costs -------------------------------------------------------------------------------------------
def test_gram_matrix_is_unrolled_A_At():
    a = RNG.normal(size=(2, 3, 4, 5))
    G = st.gram_matrix(_t(a)).numpy()
    A = a.reshape(2, 3, 20)
    np.testing.assert_allclose(G, A @ A.transpose(0, 2, 1), rtol=1e-12)
    np.testing.assert_allclose(G[1, 0, 2], (a[1, 0] * a[1, 2]).sum(), rtol=1e-12)
    x = _t(a[:1, :2, :3, :3], grad=True)
    assert tg.gradcheck(st.gram_matrix, (x,))


def test_costs_equal_the_formulas_and_torch():
    torch = pytest.importorskip("torch")
    n, c, h, w = 1, 3, 4, 5
    aC, aS, aG = (RNG.normal(size=(n, c, h, w)) for _ in range(3))
    G = _t(aG, grad=True)
    jc = st.content_cost(_t(aC), G)
    jc4 = st.content_cost(_t(aC), G, normalize=True)
    js = st.style_layer_cost(_t(aS), G)
    assert abs(jc.item() - 0.5 * ((aC - aG) ** 2).sum()) < 1e-12
    assert abs(jc4.item() - ((aC - aG) ** 2).sum() / (4 * h * w * c)) < 1e-12
    gram = lambda a: a.reshape(c, h * w) @ a.reshape(c, h * w).T  # noqa: E731
    hand = ((gram(aS) - gram(aG)) ** 2).sum() / (2 * h * w * c) ** 2
    assert abs(js.item() - hand) < 1e-12 * hand
    # precomputed style Gram gives the same value
    assert abs(st.style_layer_cost(st.gram_matrix(_t(aS)), G).item() - hand) < 1e-12 * hand
    tv = st.total_variation(G)
    assert abs(tv.item() - ((np.diff(aG, axis=2) ** 2).sum() + (np.diff(aG, axis=3) ** 2).sum())) < 1e-10
    J = st.total_cost(jc4, js, alpha=10, beta=40, tv=tv, tv_weight=0.1)
    J.backward()
    # the same in torch
    tG = torch.tensor(aG, requires_grad=True)
    tgram = lambda a: (a.reshape(1, c, -1) @ a.reshape(1, c, -1).transpose(1, 2))  # noqa: E731
    tjc4 = ((torch.tensor(aC) - tG) ** 2).sum() / (4 * h * w * c)
    tjs = ((tgram(torch.tensor(aS)) - tgram(tG)) ** 2).sum() / (2 * h * w * c) ** 2
    ttv = ((tG[:, :, 1:] - tG[:, :, :-1]) ** 2).sum() + ((tG[..., 1:] - tG[..., :-1]) ** 2).sum()
    (10 * tjc4 + 40 * tjs + 0.1 * ttv).backward()
    np.testing.assert_allclose(G.grad.numpy(), tG.grad.numpy(), rtol=1e-10, atol=1e-13)
    assert tg.gradcheck(lambda g: st.style_layer_cost(_t(aS[:, :2, :3, :3]), g),
                        (_t(aG[:, :2, :3, :3], grad=True),))


def test_style_cost_weights_and_errors():
    f = {k: _t(RNG.normal(size=(1, 2, 3, 3))) for k in ("a", "b")}
    g = {k: _t(RNG.normal(size=(1, 2, 3, 3))) for k in ("a", "b")}
    want = 0.3 * st.style_layer_cost(f["a"], g["a"]).item() + \
        0.7 * st.style_layer_cost(f["b"], g["b"]).item()
    assert abs(st.style_cost(f, g, {"a": 0.3, "b": 0.7}).item() - want) < 1e-12
    with pytest.raises(KeyError, match="layer 'c' is missing from the style features"):
        st.style_cost(f, g, {"c": 1.0})
    with pytest.raises(ValueError, match="same shape.*resize the style image"):
        st.style_layer_cost(_t(np.zeros((1, 2, 4, 4))), _t(np.zeros((1, 2, 3, 3))))
    with pytest.raises(ValueError, match="same size"):
        st.content_cost(_t(np.zeros((1, 2, 4, 4))), _t(np.zeros((1, 2, 3, 3))))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        st.gram_matrix(_t(np.zeros((2, 3))))


# ---- the feature extractor on a small VGG-layout network --------------------------------------------
def _small_vgg_torch(torch, bn=False, classifier=True):
    tnn = torch.nn

    def block(cin, cout):
        return [tnn.Conv2d(cin, cout, 3, padding=1)] + ([tnn.BatchNorm2d(cout)] if bn else []) \
            + [tnn.ReLU(inplace=True)]
    layers = block(3, 4) + block(4, 4) + [tnn.MaxPool2d(2)] + block(4, 6) + [tnn.MaxPool2d(2)] \
        + block(6, 6) + block(6, 6) + [tnn.MaxPool2d(2)]

    class VGGLike(tnn.Module):
        def __init__(self):
            super().__init__()
            self.features = tnn.Sequential(*layers)
            if classifier:
                self.classifier = tnn.Sequential(tnn.Linear(6 * 2 * 2, 5))
    m = VGGLike().double().eval()
    if bn:  # non-trivial running statistics
        for mod in m.features:
            if isinstance(mod, tnn.BatchNorm2d):
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 2.0)
                mod.weight.data.uniform_(0.5, 1.5)
    return m


def test_vgg_layer_names_and_extractor_match_torch():
    torch = pytest.importorskip("torch")
    tm = _small_vgg_torch(torch)
    model = st.vgg_features_from_state_dict(tm.state_dict(), dtype=np.float64)
    assert st.vgg_layer_names(model) == [
        "conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1", "conv2_1", "relu2_1", "pool2",
        "conv3_1", "relu3_1", "conv3_2", "relu3_2", "pool3"]
    ext = st.FeatureExtractor(model, ["relu1_2", "conv3_2", "features.5", 6])
    x = RNG.random((2, 3, 16, 16))
    out = ext(tg.tensor(x))
    assert set(out) == {"relu1_2", "conv3_2", "features.5", "features.6"}
    with torch.no_grad():
        acts, h = [], torch.tensor(x)
        for m in tm.features:
            h = m(h)
            acts.append(h.clone())
    np.testing.assert_allclose(out["relu1_2"].numpy(), acts[3].numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out["conv3_2"].numpy(), acts[10].numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out["features.6"].numpy(), acts[6].numpy(), rtol=1e-10, atol=1e-12)
    assert all(not p.requires_grad for p in ext.parameters())
    with pytest.raises(ValueError, match=r"no layer 'conv9_9'; expected one of \['conv1_1'"):
        st.FeatureExtractor(model, ["relu1_1", "conv9_9"])
    with pytest.raises(ValueError, match="expects 3-channel images"):
        ext(tg.zeros(1, 1, 8, 8))
    with pytest.raises(TypeError, match="features"):
        st.FeatureExtractor(nn.Linear(2, 2), ["conv1_1"])


@pytest.mark.parametrize("bn", [False, True])
def test_convert_torchvision_state_dict_to_safetensors(tmp_path, bn):
    torch = pytest.importorskip("torch")
    tm = _small_vgg_torch(torch, bn=bn).float()
    sd = tm.state_dict()
    keys = st.convert_torchvision_vgg(sd, tmp_path / "vgg.safetensors")
    assert keys == [k for k in sd if k.startswith("features.")]
    # a real safetensors file: the safetensors package reads it
    sft = pytest.importorskip("safetensors.numpy")
    raw = sft.load_file(str(tmp_path / "vgg.safetensors"))
    np.testing.assert_array_equal(raw["features.0.weight"], sd["features.0.weight"].numpy())
    model = st.load_vgg_features(tmp_path / "vgg.safetensors")
    x = RNG.random((1, 3, 16, 16)).astype(np.float32)
    got = st.FeatureExtractor(model, ["pool3"])(tg.tensor(x))["pool3"].numpy()
    with torch.no_grad():
        want = tm.features(torch.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    # from a .pth file too
    torch.save(sd, tmp_path / "vgg.pth")
    st.convert_torchvision_vgg(str(tmp_path / "vgg.pth"), tmp_path / "vgg2.safetensors")
    again = st.load_vgg_features(tmp_path / "vgg2.safetensors")
    np.testing.assert_allclose(st.FeatureExtractor(again, ["pool3"])(tg.tensor(x))["pool3"].numpy(),
                               got, rtol=1e-6)
    with pytest.raises(ValueError, match="not a torchvision VGG state dict"):
        st.convert_torchvision_vgg({"fc.weight": np.zeros((2, 2))}, tmp_path / "x.safetensors")


def test_vgg19_key_layout_gives_the_classic_layer_names():
    # torchvision's VGG-19 features: convs at these indices, pools at 4, 9, 18, 27, 36
    convs = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]
    sd, cin = {}, 3
    for i in convs:
        sd[f"features.{i}.weight"] = np.zeros((2, cin, 3, 3), np.float32)
        sd[f"features.{i}.bias"] = np.zeros(2, np.float32)
        cin = 2
    names = st.vgg_layer_names(st.vgg_features_from_state_dict(sd))
    assert len(names) == 37
    assert names.index(st.VGG19_CONTENT) == 21
    assert [names.index(n) for n in st.VGG19_STYLE] == [1, 6, 11, 20, 29]
    assert names[36] == "pool5"


# ---- optimisation ------------------------------------------------------------------------------------
def _images(h=24, w=24):
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    content = np.stack([xx, yy, 0.5 * np.ones_like(xx)], 0)[None]        # smooth ramps
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * (xx + yy) * 4)
    style = np.stack([stripes, 1 - stripes, 0.2 * stripes], 0)[None]     # coloured stripes
    return tg.tensor(content.astype(np.float32)), tg.tensor(style.astype(np.float32))


@pytest.mark.parametrize("optimizer,steps", [("lbfgs", 15), ("adam", 40)])
def test_style_transfer_lowers_the_style_cost(optimizer, steps):
    C, S = _images()
    ext = st.random_features(0, widths=(8, 16, 16), convs=(1, 1, 1))
    res = st.style_transfer(C, S, extractor=ext, content_layer="relu2_1",
                            style_layers=("relu1_1", "relu2_1", "relu3_1"), optimizer=optimizer,
                            steps=steps, lr=0.05 if optimizer == "adam" else None, beta=10,
                            progress=False)
    h = res.history
    assert res.image.shape == (1, 3, 24, 24)
    assert res.image.numpy().min() >= 0 and res.image.numpy().max() <= 1
    assert h["style"][-1] < h["style"][0] / 10
    # the result stays closer to the content than the style image is
    assert h["content"][-1] < 0.5 * res.reference["content_of_style"]
    assert h["style"][-1] < res.reference["style_of_content"] / 10
    assert res.evaluations == len(h["J"]) >= steps if optimizer == "adam" else res.iterations <= steps


def test_style_transfer_bad_input():
    C, S = _images()
    with pytest.raises(ValueError, match=r"same size, got content \(24, 24\) and style \(20, 24\)"):
        st.style_transfer(C, S[:, :, :20], steps=1, progress=False)
    with pytest.raises(ValueError, match="no layer 'conv7_1'"):
        st.style_transfer(C, S, content_layer="conv7_1", steps=1, progress=False)
    with pytest.raises(ValueError, match="optimizer must be"):
        st.style_transfer(C, S, optimizer="sgd", steps=1, progress=False)


def test_load_image_fit_and_save(tmp_path):
    pytest.importorskip("PIL")
    arr = (RNG.random((30, 60, 3)) * 255).astype(np.uint8)
    x = st.load_image(arr, size=20)
    assert x.shape == (1, 3, 10, 20) and 0 <= x.numpy().min() and x.numpy().max() <= 1
    y = st.load_image(arr, crop_to=(10, 10))                      # centre square, resized
    assert y.shape == (1, 3, 10, 10)
    st.save_image(x, tmp_path / "x.png")
    back = st.load_image(str(tmp_path / "x.png"))
    np.testing.assert_allclose(back.numpy(), x.numpy(), atol=1 / 255 + 1e-6)
    with pytest.raises(FileNotFoundError):
        st.load_image(str(tmp_path / "missing.png"))
    with pytest.raises(ValueError, match="RGB"):
        st.load_image(np.zeros((4, 4, 5)))


def test_command_line(tmp_path, capsys):
    pytest.importorskip("PIL")
    from tensorgrad.vision.style.__main__ import main
    C, S = _images(16, 24)
    st.save_image(C, tmp_path / "c.png")
    st.save_image(S, tmp_path / "s.png")
    rc = main([str(tmp_path / "c.png"), str(tmp_path / "s.png"), "-o", str(tmp_path / "o.png"),
               "--size", "16", "--steps", "3", "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0 and "-> 16x11" in out and "style cost" in out
    assert st.load_image(str(tmp_path / "o.png")).shape == (1, 3, 11, 16)
    assert main([str(tmp_path / "nope.png"), str(tmp_path / "s.png"), "-o", "x.png"]) == 2
