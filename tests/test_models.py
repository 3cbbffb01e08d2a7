"""tg.models: torchvision's state_dict keys, shapes and parameter counts (fixture written by
torchvision itself, tools/make_models_fixtures.py), forward and parameter-gradient parity with
torch reference models of torchvision's layout in float64, and errors for bad inputs."""
import json
import os

import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import nn

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "data", "torchvision_models.json")) as _f:
    TV = json.load(_f)["models"]


def _keys(model):
    return [[k, list(v.shape)] for k, v in model.state_dict().items()]


def _count(model):
    return sum(int(p.numel()) for p in model.parameters())


# ---- torchvision's keys, shapes and parameter counts ---------------------------------------
@pytest.mark.parametrize("name", ["resnet18", "resnet34", "resnet50", "resnext50_32x4d",
                                  "googlenet"])
def test_state_dict_and_parameter_count_equal_torchvision(name):
    m = getattr(tg.models, name)()
    assert _keys(m) == TV[name]["state_dict"]
    assert _count(m) == TV[name]["num_parameters"]


def test_big_model_figures():
    expected = {"alexnet": 61_100_840, "vgg16": 138_357_544, "resnet18": 11_689_512,
                "resnet50": 25_557_032}
    for name, n in expected.items():  # the figures are torchvision's
        assert TV[name]["num_parameters"] == n
    # the other VGGs share VGG-16's classifier: compare their feature extractors
    from tensorgrad.models.vgg import cfgs, make_layers
    head = [kv for kv in TV["vgg16"]["state_dict"] if not kv[0].startswith("features.")]
    n_head = 25088 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000
    for name, cfg, bn in (("vgg11", "A", False), ("vgg11_bn", "A", True), ("vgg13", "B", False),
                          ("vgg16_bn", "D", True), ("vgg19", "E", False)):
        f = nn.Sequential()
        f.features = make_layers(cfgs[cfg], batch_norm=bn)
        assert _keys(f) + head == TV[name]["state_dict"], name
        assert _count(f) + n_head == TV[name]["num_parameters"], name
    assert _count(tg.models.googlenet(aux_logits=False)) == 6_624_904
    assert _keys(tg.models.googlenet(aux_logits=False)) == TV["googlenet_noaux"]["state_dict"]


def test_torchvision_initialization_statistics():
    tg.manual_seed(0)
    m = tg.models.resnet18()
    w = m.layer3[0].conv1.weight.detach().numpy()  # kaiming normal, fan_out = 256 * 9, ReLU gain
    assert abs(w.std() - np.sqrt(2 / (256 * 9))) < 0.02 * np.sqrt(2 / (256 * 9))
    assert np.all(m.bn1.weight.detach().numpy() == 1) and np.all(m.bn1.bias.detach().numpy() == 0)
    z = tg.models.resnet18(zero_init_residual=True)
    assert np.all(z.layer1[0].bn2.weight.detach().numpy() == 0)
    g = tg.models.googlenet()
    cw = g.conv2.conv.weight.detach().numpy()
    assert abs(cw.std() - 0.01) < 0.001  # trunc_normal_(std=0.01, a=-2, b=2) as torchvision


# ---- parity with torch (float64, copied weights) -------------------------------------------
def _no_dropout(*models):
    for model in models:
        for m in model.modules():
            if type(m).__name__ == "Dropout":
                m.p = 0.0


def _parity(tgm, tm, x, train=True, tol=1e-9):
    """Copy tgm's weights into tm via state_dict (strict: the keys must agree), run both in
    float64 and compare outputs, every parameter gradient and the BN running statistics."""
    torch = pytest.importorskip("torch")
    tgm.double()
    tm.double()
    tm.load_state_dict({k: torch.tensor(np.array(v.detach().numpy())) for k, v in
                        tgm.state_dict().items()}, strict=True)
    _no_dropout(tgm, tm)
    tgm.train(train)
    tm.train(train)
    out = tgm(tg.tensor(x))
    tout = tm(torch.tensor(x))
    outs = list(out) if isinstance(out, tuple) else [out]
    touts = list(tout) if isinstance(tout, tuple) else [tout]
    assert len(outs) == len(touts)
    rng = np.random.default_rng(1)
    loss, tloss = 0, 0
    for o, t in zip(outs, touts):
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-7,
                                   atol=tol)
        g = rng.standard_normal(o.shape)
        loss = loss + (o * tg.tensor(g)).sum()
        tloss = tloss + (t * torch.tensor(g)).sum()
    loss.backward()
    tloss.backward()
    tparams = dict(tm.named_parameters())
    n = 0
    for name, p in tgm.named_parameters():
        tp = tparams[name]
        scale = max(1.0, float(tp.grad.abs().max()))
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-6,
                                   atol=tol * scale, err_msg=name)
        n += 1
    assert n == len(tparams)
    tsd = tm.state_dict()
    for k, v in tgm.state_dict().items():  # running statistics after the training step
        np.testing.assert_allclose(v.detach().numpy(), tsd[k].numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=k)
    return outs


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("original", [False, True])
def test_lenet5_parity(original):
    pytest.importorskip("torch")
    import _tv_reference as R
    tg.manual_seed(0)
    _parity(tg.models.lenet5(in_channels=3, original=original),
            R.lenet5(10, 3, original), _x(2, 3, 32, 32))


def _small_head(mod, sizes, layout):
    """Replace a 4096-wide classifier by the same layout with small widths (same indices)."""
    layers = []
    it = iter(sizes)
    for kind in layout:
        if kind == "L":
            i, o = next(it)
            layers.append(mod.Linear(i, o))
        elif kind == "R":
            layers.append(mod.ReLU())
        else:
            layers.append(mod.Dropout())
    return mod.Sequential(*layers)


def test_alexnet_keys_count_and_parity():
    torch = pytest.importorskip("torch")
    import _tv_reference as R
    tg.manual_seed(0)
    m = tg.models.alexnet()
    assert _count(m) == 61_100_840 and _keys(m) == TV["alexnet"]["state_dict"]
    w = m.classifier[4].weight.detach().numpy()  # PyTorch's default init, drawn once
    assert 0.9 / 64 < np.abs(w).max() <= 1 / 64 and np.isfinite(w).all()
    tm = R.AlexNet(3)
    sizes = [(9216, 6), (6, 5), (5, 3)]  # the 4096-wide head, shrunk (same layout)
    m.classifier = _small_head(nn, sizes, "DLRDLRL")
    tm.classifier = _small_head(torch.nn, sizes, "DLRDLRL")
    _parity(m, tm, _x(2, 3, 67, 70))


def _torch_vgg(torch, R, cfg, bn, sizes):
    tm = torch.nn.Module()
    tm.features = R.vgg_features(cfg, bn)
    tm.avgpool = torch.nn.AdaptiveAvgPool2d((7, 7))
    tm.classifier = _small_head(torch.nn, sizes, "LRDLRDL")
    tm.forward = lambda x: tm.classifier(torch.flatten(tm.avgpool(tm.features(x)), 1))
    return tm


def test_vgg16_keys_count_and_parity():
    torch = pytest.importorskip("torch")
    import _tv_reference as R
    from tensorgrad.models.vgg import cfgs
    from tensorgrad.models._utils import deferred_init, default_init_
    tg.manual_seed(0)
    with deferred_init():  # the 4096-wide classifier allocated, not drawn (seconds saved)
        m = tg.models.vgg16(init_weights=False)
    assert _count(m) == 138_357_544 and _keys(m) == TV["vgg16"]["state_dict"]
    assert all(getattr(m.classifier[i], "_tg_uninitialized", False) for i in (0, 3, 6))
    with tg.no_grad():
        for i in (0, 3):
            m.classifier[i].weight.zero_()
            m.classifier[i].bias.zero_()
            m.classifier[i]._tg_uninitialized = False
    default_init_(m)  # what vgg16(init_weights=False) runs: PyTorch's default init
    w = m.classifier[6].weight.detach().numpy()
    assert 0.9 / 64 < np.abs(w).max() <= 1 / 64
    s = nn.summary(m, input_size=(3, 32, 32))  # VGG-16's totals
    assert s.total_params == 138_357_544 == s.trainable_params
    assert "Total params: 138,357,544" in str(s)
    convs = [r for r in s.rows if r.type == "Conv2d"]
    assert len(convs) == 13 and convs[0].num_params == 1792 and convs[-1].num_params == 2_359_808
    fcs = [r.num_params for r in s.rows if r.type == "Linear"]
    assert fcs == [102_764_544, 16_781_312, 4_097_000]
    tg.models._utils.init_like_torchvision(m.features)
    sizes = [(25088, 6), (6, 5), (5, 4)]
    m.classifier = _small_head(nn, sizes, "LRDLRDL")
    _parity(m, _torch_vgg(torch, R, cfgs["D"], False, sizes), _x(2, 3, 32, 32))


def test_vgg_bn_features_parity():
    # VGG-11-BN's feature extractor (the classifier is VGG-16's, tested above)
    torch = pytest.importorskip("torch")
    import _tv_reference as R
    from tensorgrad.models.vgg import cfgs, make_layers
    tg.manual_seed(0)
    sizes = [(25088, 6), (6, 5), (5, 4)]
    m = nn.Sequential()
    m.features = make_layers(cfgs["A"], batch_norm=True)
    m.avgpool, m.flatten = nn.AdaptiveAvgPool2d((7, 7)), nn.Flatten()
    m.classifier = _small_head(nn, sizes, "LRDLRDL")
    tg.models._utils.init_like_torchvision(m)
    tm = torch.nn.Sequential()
    tm.features = R.vgg_features(cfgs["A"], True)
    tm.avgpool, tm.flatten = torch.nn.AdaptiveAvgPool2d((7, 7)), torch.nn.Flatten()
    tm.classifier = _small_head(torch.nn, sizes, "LRDLRDL")
    _parity(m, tm, _x(2, 3, 32, 32))


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_resnet_parity(name):
    pytest.importorskip("torch")
    import _tv_reference as R
    tg.manual_seed(0)
    block, layers = {"resnet18": (R.BasicBlock, [2, 2, 2, 2]),
                     "resnet50": (R.Bottleneck, [3, 4, 6, 3])}[name]
    # 33x33 (17, 9, 5, 3 and 2 pixels after the stem, pool and stages): the last stage still
    # sees 2x2 maps, so training-mode batch norm is not normalizing just two numbers per
    # channel (ill-conditioned: float64 would lose 1e-7)
    x = _x(2, 3, 33, 33)
    _parity(getattr(tg.models, name)(num_classes=5), R.ResNet(block, layers, 5), x)
    if name == "resnet18":  # eval mode (running statistics) too
        tg.manual_seed(1)
        _parity(tg.models.resnet18(num_classes=5), R.ResNet(block, layers, 5), x, train=False)


def test_resnext_grouped_bottleneck_parity():
    pytest.importorskip("torch")
    import _tv_reference as R
    from tensorgrad.models.resnet import Bottleneck, ResNet
    tg.manual_seed(0)
    m = ResNet(Bottleneck, [1, 1, 1, 1], num_classes=3, groups=4, width_per_group=4)
    tm = R.ResNet(R.Bottleneck, [1, 1, 1, 1], 3, groups=4, width_per_group=4)
    _parity(m, tm, _x(2, 3, 24, 24))


def test_googlenet_parity_with_side_classifiers():
    pytest.importorskip("torch")
    import _tv_reference as R
    tg.manual_seed(0)
    outs = _parity(tg.models.googlenet(num_classes=4), R.GoogLeNet(4), _x(2, 3, 64, 64))
    assert len(outs) == 3  # logits, aux2, aux1 in training mode
    m = tg.models.googlenet(num_classes=4)
    m.eval()
    x = tg.randn(1, 3, 64, 64)
    assert m(x).shape == (1, 4)  # eval: logits only
    # transform_input: ImageNet-normalized RGB re-normalized as the original weights expect
    m.transform_input = True
    xn = x.numpy()
    scale, shift = np.array([0.229, 0.224, 0.225]) / 0.5, (np.array([0.485, 0.456, 0.406])
                                                            - 0.5) / 0.5
    moved = tg.tensor((xn * scale[:, None, None] + shift[:, None, None]).astype(np.float32))
    with tg.no_grad():
        a = m(x).numpy()
        m.transform_input = False
        b = m(moved).numpy()
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("residual", [True, False])
def test_cifar_resnet_and_plain_parity(residual):
    pytest.importorskip("torch")
    import _tv_reference as R
    tg.manual_seed(0)
    m = tg.models.cifar_resnet(14, plain=not residual, in_channels=1, widths=(4, 8, 16))
    tm = R.CifarResNet(2, 10, 1, (4, 8, 16), residual=residual)
    _parity(m, tm, _x(3, 1, 28, 28))


def test_cifar_resnet_shapes_counts_and_option_a_shortcut():
    m = tg.models.resnet20()
    assert _count(m) == 272_474  # projection shortcuts: two 1x1 convs + BN more than option A
    a = tg.models.resnet20(shortcut="A")
    assert _count(a) == 269_722  # no parameters in the zero-padding shortcuts (paper: 0.27M)
    a.eval()
    assert a(tg.randn(2, 3, 32, 32)).shape == (2, 10)
    sc = tg.models.resnet.ZeroPadShortcut(8, 2)
    y = sc(tg.tensor(np.arange(2 * 4 * 4 * 4, dtype=np.float64).reshape(2, 4, 4, 4)))
    assert y.shape == (2, 8, 2, 2) and y.numpy()[0, 0, 1, 1] == 10 and y.numpy()[:, 4:].sum() == 0
    p = tg.models.plain20()
    assert _count(p) == 269_722 and all(not b.residual for b in p.layer2)
    small = tg.models.resnet18(small=True, in_channels=1, num_classes=10)
    small.eval()
    assert small.conv1.weight.shape == (64, 1, 3, 3)
    assert small(tg.randn(2, 1, 28, 28)).shape == (2, 10)


def test_inception_module_and_paper_5x5_branch():
    inc = tg.models.Inception(192, 64, 96, 128, 16, 32, 32)
    assert inc(tg.randn(1, 192, 28, 28)).shape == (1, 256, 28, 28)
    paper = tg.models.Inception(192, 64, 96, 128, 16, 32, 32, branch3_kernel=5)
    assert paper.branch3[1].conv.weight.shape == (32, 16, 5, 5)
    assert paper(tg.randn(1, 192, 7, 7)).shape == (1, 256, 7, 7)
    with pytest.raises(ValueError, match=r"Inception: expected input \(N, 192, H, W\), got "
                                         r"shape \(1, 100, 7, 7\)"):
        inc(tg.randn(1, 100, 7, 7))


def test_googlenet_loss_weights_side_classifiers():
    logits = tg.tensor([[2.0, 0.0]])
    aux = tg.tensor([[0.0, 0.0]])
    y = tg.tensor(np.array([0]))
    out = tg.models.GoogLeNetOutputs(logits, aux, aux)
    main = float(nn.functional.cross_entropy(logits, y).item())
    got = float(tg.models.googlenet_loss(out, y).item())
    assert got == pytest.approx(main + 0.6 * np.log(2))
    assert float(tg.models.googlenet_loss(logits, y).item()) == pytest.approx(main)


# ---- weights= loads safetensors files ------------------------------------------------------
def test_weights_path_loads_torch_safetensors(tmp_path):
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    import _tv_reference as R
    torch.manual_seed(0)
    tm = R.ResNet(R.BasicBlock, [2, 2, 2, 2], 7)
    tm.eval()
    with torch.no_grad():  # non-trivial running statistics
        for mod in tm.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.1, 0.1)
                mod.running_var.uniform_(0.5, 1.5)
    path = str(tmp_path / "r18.safetensors")
    st.save_file({k: v.contiguous() for k, v in tm.state_dict().items()}, path)
    m = tg.models.resnet18(weights=path, num_classes=7)
    m.eval()
    x = _x(2, 3, 40, 40).astype(np.float32)
    np.testing.assert_allclose(m(tg.tensor(x)).detach().numpy(),
                               tm(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
    # and tg.save round trip
    p2 = str(tmp_path / "tg.safetensors")
    tg.save(m.state_dict(), p2)
    m2 = tg.models.resnet18(weights=p2, num_classes=7)
    assert all(np.array_equal(a.detach().numpy(), b.detach().numpy()) for a, b in
               zip(m.state_dict().values(), m2.state_dict().values()))
    with pytest.raises(TypeError, match="resnet18: weights must be"):
        tg.models.resnet18(weights=3)
    with pytest.raises(RuntimeError, match="size mismatch for fc.weight"):
        tg.models.resnet18(weights=path)  # 1000 classes vs the file's 7


# ---- bad input -----------------------------------------------------------------------------
def test_bad_inputs_name_the_model_and_the_shapes():
    with pytest.raises(ValueError, match=r"LeNet5: the fixed-size head expects 32x32 images "
                                         r"\(N, 1, 32, 32\), got 28x28 \(input shape "
                                         r"\(2, 1, 28, 28\)\)"):
        tg.models.lenet5()(tg.randn(2, 1, 28, 28))
    with pytest.raises(ValueError, match=r"ResNet: expected 3 input channels \(N, 3, H, W\), "
                                         r"got 1 \(input shape \(2, 1, 32, 32\)\)"):
        tg.models.resnet18()(tg.randn(2, 1, 32, 32))
    with pytest.raises(ValueError, match=r"CifarResNet: expected 1 input channel "):
        tg.models.resnet20(in_channels=1)(tg.randn(2, 3, 32, 32))
    with pytest.raises(ValueError, match=r"AlexNet: images must be at least 63x63 .* got 40x40"):
        with tg.models._utils.deferred_init():  # the check comes before the classifier
            small_alexnet = tg.models.alexnet(num_classes=2)
        small_alexnet(tg.randn(1, 3, 40, 40))
    with pytest.raises(ValueError, match=r"GoogLeNet: expected a 4-D batch of images "
                                         r"\(N, 3, H, W\), got a 3-D input of shape "
                                         r"\(3, 64, 64\)"):
        tg.models.googlenet()(tg.randn(3, 64, 64))
    with pytest.raises(ValueError, match=r"GoogLeNet: images must be at least 31x31 .* got "
                                         r"24x24"):
        tg.models.googlenet()(tg.randn(1, 3, 24, 24))
    with pytest.raises(TypeError, match="LeNet5: expected tg.Tensor inputs, got a numpy array"):
        tg.models.lenet5()(np.zeros((1, 1, 32, 32)))
    with pytest.raises(TypeError, match=r"LeNet5: expected a Tensor of images \(N, 1, H, W\), "
                                        r"got str"):
        tg.models.lenet5()("image.png")
    with pytest.raises(ValueError, match="cifar_resnet: depth must be 6n"):
        tg.models.cifar_resnet(21)


# ---- summary: the course's LeNet-5 table and VGG-16's totals -------------------------------
def test_summary_lenet5_table():
    s = nn.summary(tg.models.lenet5(in_channels=3), (3, 32, 32), hide="activations")
    table = [(r.type, r.output_shape, r.activation_size, r.num_params) for r in s.rows]
    assert table == [("Input", (3, 32, 32), 3072, 0), ("Conv2d", (6, 28, 28), 4704, 456),
                     ("MaxPool2d", (6, 14, 14), 1176, 0), ("Conv2d", (16, 10, 10), 1600, 2416),
                     ("MaxPool2d", (16, 5, 5), 400, 0), ("Linear", (120,), 120, 48120),
                     ("Linear", (84,), 84, 10164), ("Linear", (10,), 10, 850)]
    assert "Total params: 62,006" in str(s) and "ReLU" not in str(s)
