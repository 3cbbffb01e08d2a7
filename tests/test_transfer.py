"""tg.models.transfer (freezing a prefix, replacing the head, cached trunk features,
progressive unfreezing) and tg.models.ensemble (ensembles, 10-crop evaluation)."""
import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import nn
from tensorgrad.models import transfer as TL


def test_layer_groups_follow_forward_order():
    names = [n for n, _ in TL.layer_groups(tg.models.resnet18())]
    assert names[:3] == ["conv1", "bn1", "layer1.0"] and names[-2:] == ["layer4.1", "fc"]
    assert len(names) == 2 + 8 + 1
    lenet = [n for n, _ in TL.layer_groups(tg.models.lenet5())]
    assert lenet == ["features.0", "features.3", "classifier.0", "classifier.2",
                     "classifier.4"]


def test_freeze_prefix_trains_only_the_last_groups():
    tg.manual_seed(0)
    m = tg.models.lenet5()
    live = TL.freeze(m, train_last=2)
    assert live == ["classifier.2", "classifier.4"]
    trainable = [n for n, p in m.named_parameters() if p.requires_grad]
    assert trainable == ["classifier.2.weight", "classifier.2.bias", "classifier.4.weight",
                         "classifier.4.bias"]
    before = {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}
    opt = tg.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    x, y = tg.randn(8, 1, 32, 32), tg.tensor(np.arange(8) % 10)
    for _ in range(2):
        opt.zero_grad()
        nn.functional.cross_entropy(m(x), y).backward()
        opt.step()
    assert m.features[0].weight.grad is None
    after = m.state_dict()
    for k, v in before.items():
        changed = not np.array_equal(v, after[k].detach().numpy())
        assert changed == k.startswith(("classifier.2", "classifier.4")), k
    assert len(TL.trainable_parameters(m)) == 4
    TL.unfreeze(m)
    assert all(p.requires_grad for p in m.parameters())
    with pytest.raises(ValueError, match="freeze: train_last must be between 0 and 5"):
        TL.freeze(m, 9)


def test_replace_and_set_head():
    m = tg.models.resnet20(num_classes=5)
    new = TL.replace_head(m, 3)
    assert m.fc is new and new.weight.shape == (3, 64)
    m.eval()
    assert m(tg.randn(2, 3, 28, 28)).shape == (2, 3)
    lenet = tg.models.lenet5()
    path, head = TL.get_head(lenet)
    assert path == "classifier.4" and head.out_features == 10
    old = TL.set_head(lenet, nn.Identity())
    assert old is head and lenet(tg.randn(1, 1, 32, 32)).shape == (1, 84)
    assert TL.get_head(lenet)[0] == "classifier.4"
    assert TL.set_head(lenet, head) is not head and lenet.classifier[4] is head  # put back
    with pytest.raises(ValueError, match="replace_head: the head of ResNet is a Identity"):
        r = tg.models.resnet18()
        TL.set_head(r, nn.Identity())
        TL.replace_head(r, 3)
    with pytest.raises(ValueError, match="get_head: found no classification head on "
                                         "Sequential"):
        TL.get_head(nn.Sequential(nn.ReLU()))


def test_precompute_features_caches_to_safetensors(tmp_path):
    tg.manual_seed(0)
    m = tg.models.lenet5()
    TL.set_head(m, nn.Identity())
    X = np.random.default_rng(0).random((20, 1, 32, 32)).astype(np.float32)
    calls = []
    m.features.register_forward_hook(lambda mod, a, o: calls.append(1))
    path = str(tmp_path / "feats.safetensors")
    f1 = TL.precompute_features(m, X, path=path, batch_size=8)
    assert f1.shape == (20, 84) and len(calls) == 3
    with open(path, "rb") as fh:  # a safetensors file: an 8-byte header length, then JSON
        n = int.from_bytes(fh.read(8), "little")
        assert fh.read(n).lstrip().startswith(b"{")
    f2 = TL.precompute_features(m, X, path=path, batch_size=8)
    assert len(calls) == 3  # loaded from the cache
    np.testing.assert_array_equal(f1.numpy(), f2.numpy())
    m.eval()
    with tg.no_grad():
        np.testing.assert_allclose(f1.numpy(), m(tg.tensor(X)).numpy(), rtol=1e-5, atol=1e-6)
    X2 = X.copy()
    X2[5] += 1
    TL.precompute_features(m, X2, path=path, batch_size=8)
    assert len(calls) == 3 + 1 + 3  # (one direct call above) other data: recomputed
    assert m.training is False  # it was in eval mode before and stays so


def test_progressive_unfreezing():
    m = tg.models.resnet20()
    sched = TL.ProgressiveUnfreezing(m, start=1, every=2)
    assert sched.names == ["fc"]
    sched.step()
    assert sched.names == ["fc"]
    sched.step()
    assert sched.names == ["layer3.2", "fc"]
    n_groups = len(TL.layer_groups(m))
    for _ in range(3 * n_groups):
        sched.step()
    assert all(p.requires_grad for p in m.parameters())


def test_ensemble_averages_probabilities_and_multi_crop():
    tg.manual_seed(0)
    a, b = tg.models.resnet20(num_classes=4), tg.models.resnet20(num_classes=4)
    ens = tg.models.Ensemble([a, b])
    ens.eval()
    x = tg.randn(3, 3, 16, 16)
    with tg.no_grad():
        pa = nn.functional.softmax(a(x), dim=1).numpy()
        pb = nn.functional.softmax(b(x), dim=1).numpy()
        pe = ens(x).numpy()
    np.testing.assert_allclose(pe, (pa + pb) / 2, rtol=1e-5)
    np.testing.assert_allclose(tg.models.predict_proba(ens, x), pe, rtol=1e-5)
    assert list(ens.state_dict())[0].startswith("models.0.")
    # 10-crop: the average of the model's probabilities over the ten views
    X = np.random.default_rng(0).random((2, 3, 16, 16)).astype(np.float32)
    got = tg.models.multi_crop_predict(a, X, 12, crops=10)
    views = tg.vision.transforms.functional.ten_crop(X, 12)
    want = np.mean([tg.models.predict_proba(a, v) for v in views], axis=0)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert got.shape == (2, 4) and np.allclose(got.sum(1), 1, atol=1e-5)
    with pytest.raises(ValueError, match="multi_crop_predict: crops must be 5 or 10"):
        tg.models.multi_crop_predict(a, X, 12, crops=3)
