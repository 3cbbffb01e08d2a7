"""tg.nn.Module & containers: registration, PyTorch names/keys, state_dict round trips with
PyTorch weights, hooks, modes, casts, repr, summary."""
from collections import OrderedDict

import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import nn


def _torch():
    return pytest.importorskip("torch")


def _pair_mlp(torch):
    tnn = torch.nn
    t = tnn.Sequential(tnn.Linear(5, 8), tnn.BatchNorm1d(8), tnn.ReLU(), tnn.Dropout(0.3),
                       tnn.Linear(8, 3))
    g = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.3),
                      nn.Linear(8, 3))
    return t, g


def _encoder_class(fw, name):
    """The same small encoder written against ``fw`` (tensorgrad or torch)."""
    fnn = fw.nn

    class Encoder(fnn.Module):
        def __init__(self):
            super().__init__()
            self.embed = fnn.Embedding(11, 4, padding_idx=0)
            self.layers = fnn.ModuleList([fnn.Linear(4, 4), fnn.Linear(4, 6)])
            self.heads = fnn.ModuleDict({"a": fnn.Linear(6, 2), "b": fnn.Linear(6, 1, bias=False)})
            self.norm = fnn.BatchNorm1d(6)
            self.scale = fnn.Parameter(fw.ones(1))

        def forward(self, idx):
            h = self.embed(idx).mean(dim=1)
            for layer in self.layers:
                h = layer(h).tanh()
            h = self.norm(h)
            return self.heads["a"](h) * self.scale, self.heads["b"](h)

    Encoder.__name__ = Encoder.__qualname__ = name
    return Encoder


TgEncoder = _encoder_class(tg, "TgEncoder")


def _torch_encoder(torch):
    return _encoder_class(torch, "TEncoder")()


def test_names_keys_and_shapes_match_pytorch():
    torch = _torch()
    t, g = _torch_encoder(torch), TgEncoder()
    tn = [(k, tuple(v.shape)) for k, v in t.named_parameters()]
    gn = [(k, tuple(v.shape)) for k, v in g.named_parameters()]
    assert gn == tn
    ts = [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    gs = [(k, tuple(v.shape)) for k, v in g.state_dict().items()]
    assert gs == ts
    assert [k for k, _ in g.named_buffers()] == [k for k, _ in t.named_buffers()]
    assert [k for k, _ in g.named_modules()] == [k for k, _ in t.named_modules()]
    assert [k for k, _ in g.named_children()] == [k for k, _ in t.named_children()]
    assert g.state_dict()["norm.num_batches_tracked"].dtype == np.int64


def test_pytorch_weights_load_and_outputs_match():
    torch = _torch()
    torch.manual_seed(0)
    t = _torch_encoder(torch).double()
    g = TgEncoder().double()
    # train-mode step in torch to move running stats, then compare in eval mode too
    idx = np.random.default_rng(0).integers(0, 11, size=(7, 5))
    t(torch.tensor(idx))
    res = g.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    assert res.missing_keys == [] and res.unexpected_keys == []
    for mode in ("train", "eval"):
        getattr(t, mode)()
        getattr(g, mode)()
        ta, tb = t(torch.tensor(idx))
        ga, gb = g(tg.tensor(idx))
        np.testing.assert_allclose(ga.detach().numpy(), ta.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(gb.detach().numpy(), tb.detach().numpy(), rtol=1e-10, atol=1e-12)
        (ta.sum() + (tb ** 2).sum()).backward()
        (ga.sum() + (gb ** 2).sum()).backward()
        for (k, tp), (k2, gp) in zip(t.named_parameters(), g.named_parameters()):
            assert k == k2
            np.testing.assert_allclose(gp.grad.detach().numpy(), tp.grad.numpy(), rtol=1e-9, atol=1e-11,
                                       err_msg=k)
        t.zero_grad()
        g.zero_grad()
    # running statistics evolved identically in train mode
    for k, v in t.state_dict().items():
        np.testing.assert_allclose(g.state_dict()[k].detach().numpy(), v.numpy(), rtol=1e-12, err_msg=k)
    # and the other way: tensorgrad weights load into the PyTorch model
    t2 = _torch_encoder(torch).double()
    t2.load_state_dict({k: torch.tensor(np.array(v.detach().numpy())) for k, v in g.state_dict().items()})
    t2.eval()
    np.testing.assert_allclose(t2(torch.tensor(idx))[0].detach().numpy(),
                               g(tg.tensor(idx))[0].detach().numpy(), rtol=1e-10, atol=1e-12)


def test_load_state_dict_errors_and_non_strict():
    g = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    sd = {k: v.detach().numpy().copy() for k, v in g.state_dict().items()}
    bad = dict(sd)
    del bad["1.bias"]
    bad["extra.weight"] = np.zeros(3)
    bad["0.weight"] = np.zeros((5, 3))
    with pytest.raises(RuntimeError) as e:
        g.load_state_dict(bad)
    msg = str(e.value)
    assert "Missing key(s)" in msg and '"1.bias"' in msg
    assert "Unexpected key(s)" in msg and '"extra.weight"' in msg
    assert "size mismatch for 0.weight" in msg and "(5, 3)" in msg and "(4, 3)" in msg
    # non-strict: shape mismatches still raise, missing/unexpected are reported
    del bad["0.weight"]
    res = g.load_state_dict(bad, strict=False)
    assert res.missing_keys == ["0.weight", "1.bias"]
    assert res.unexpected_keys == ["extra.weight"]
    with pytest.raises(TypeError, match="dict-like"):
        g.load_state_dict([1, 2])


def test_load_keeps_module_dtype_and_copies_values():
    g = nn.Linear(2, 2)
    w = g.weight
    v0 = w._version
    src = {"weight": np.arange(4, dtype=np.float64).reshape(2, 2), "bias": tg.tensor([1.0, 2.0], dtype=tg.float64)}
    g.load_state_dict(src)
    assert g.weight is w and w.dtype == np.float32 and w._version > v0
    np.testing.assert_array_equal(w.detach().numpy(), [[0, 1], [2, 3]])
    src["weight"][0, 0] = 99  # a copy, not a view
    assert w.detach().numpy()[0, 0] == 0
    sd = g.state_dict()
    assert not sd["weight"].requires_grad and sd["weight"].detach().numpy() is w.detach().numpy()  # shares memory
    assert g.state_dict(keep_vars=True)["weight"] is w


def test_registration_rules():
    m = nn.Module()
    m.w = nn.Parameter(tg.zeros(2))
    m.sub = nn.Linear(2, 2)
    m.register_buffer("stat", tg.zeros(2))
    m.register_buffer("tmp", tg.zeros(1), persistent=False)
    m.plain = tg.zeros(3)  # a plain tensor attribute is neither parameter nor buffer
    assert [k for k, _ in m.named_parameters()] == ["w", "sub.weight", "sub.bias"]
    assert list(m.state_dict()) == ["w", "stat", "sub.weight", "sub.bias"]
    assert [k for k, _ in m.named_buffers()] == ["stat", "tmp"]
    with pytest.raises(TypeError, match="parameter 'w'"):
        m.w = tg.zeros(2)
    m.w = None
    assert [k for k, _ in m.named_parameters()] == ["sub.weight", "sub.bias"]
    with pytest.raises(TypeError, match="buffer 'stat'"):
        m.stat = 3
    with pytest.raises(KeyError):
        m.register_parameter("a.b", nn.Parameter(tg.zeros(1)))
    del m.sub
    assert list(m.children()) == []
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        m.nothing
    p = nn.Parameter(tg.ones(2))
    assert isinstance(p, tg.Tensor) and p.requires_grad and p.is_leaf
    assert "Parameter containing" in repr(p)


def test_shared_parameters_counted_once_and_implicit_lists():
    lin = nn.Linear(3, 3)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = lin
            self.b = lin
            self.blocks = [nn.Linear(3, 2), {"k": nn.Parameter(tg.zeros(2))}]  # tg: plain containers

        def forward(self, x):
            return self.blocks[0](self.b(self.a(x))) + self.blocks[1]["k"]

    n = Net()
    names = [k for k, _ in n.named_parameters()]
    # a module's own parameters (implicit containers included) come before its children's
    assert names == ["blocks.1.k", "a.weight", "a.bias", "blocks.0.weight", "blocks.0.bias"]
    assert len(list(n.parameters())) == 5
    n(tg.randn(4, 3)).sum().backward()
    assert all(p.grad is not None for p in n.parameters())


def test_modes_zero_grad_apply_requires_grad():
    m = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.Dropout(0.5), nn.BatchNorm1d(3)))
    assert all(x.training for x in m.modules())
    assert m.eval() is m and not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())
    with pytest.raises(ValueError):
        m.train("yes")
    m(tg.randn(4, 2)).sum().backward()
    m.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.detach().numpy().any() for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "Dropout", "BatchNorm1d", "Sequential", "Sequential"]
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_double_float_keep_parameter_objects():
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    ps = list(m.parameters())
    m.double()
    assert [p for p in m.parameters()] == ps or all(a is b for a, b in zip(m.parameters(), ps))
    assert all(p.dtype == np.float64 for p in m.parameters())
    assert m[1].running_mean.dtype == np.float64
    assert m[1].num_batches_tracked.dtype == np.int64  # integer buffers untouched
    assert m(tg.randn(4, 2, dtype=tg.float64)).dtype == np.float64
    m.float()
    assert all(p.dtype == np.float32 for p in m.parameters())
    assert m.to(tg.float64)[0].weight.dtype == np.float64


def test_forward_hooks_and_handles():
    m = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    calls = []
    h1 = m[0].register_forward_pre_hook(lambda mod, args: calls.append(("pre", args[0].shape)))
    h2 = m[0].register_forward_hook(lambda mod, args, out: calls.append(("post", out.shape)))
    m(tg.randn(3, 2))
    assert calls == [("pre", (3, 2)), ("post", (3, 2))]
    h1.remove()
    h2.remove()
    m(tg.randn(3, 2))
    assert len(calls) == 2
    # hooks can replace inputs and outputs
    h = m[1].register_forward_hook(lambda mod, args, out: out * 0)
    assert not m(tg.randn(3, 2)).detach().numpy().any()
    h.remove()
    with m[0].register_forward_pre_hook(lambda mod, args: (args[0] * 0,)):
        out = m[0](tg.ones(1, 2))
    np.testing.assert_allclose(out.detach().numpy(), m[0].bias.detach().numpy()[None], rtol=1e-6)
    assert not m[0]._forward_pre_hooks


def test_repr_matches_pytorch():
    torch = _torch()
    tnn = torch.nn
    t = tnn.Sequential(tnn.Linear(4, 3), tnn.LeakyReLU(0.2), tnn.Sequential(
        tnn.Flatten(), tnn.Dropout(0.1), tnn.BatchNorm1d(3), tnn.Softmax(dim=1)),
        tnn.Embedding(5, 2, padding_idx=1), tnn.Identity(), tnn.Tanh(), tnn.Sigmoid(),
        tnn.LogSoftmax(dim=-1), tnn.ReLU())
    g = nn.Sequential(nn.Linear(4, 3), nn.LeakyReLU(0.2), nn.Sequential(
        nn.Flatten(), nn.Dropout(0.1), nn.BatchNorm1d(3), nn.Softmax(dim=1)),
        nn.Embedding(5, 2, padding_idx=1), nn.Identity(), nn.Tanh(), nn.Sigmoid(),
        nn.LogSoftmax(dim=-1), nn.ReLU())
    assert repr(g) == repr(t)
    assert repr(nn.CrossEntropyLoss()) == repr(tnn.CrossEntropyLoss())
    tl = tnn.ModuleList([tnn.Linear(2, 2) for _ in range(3)] + [tnn.ReLU(), tnn.Linear(2, 2)])
    gl = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU(), nn.Linear(2, 2)])
    assert repr(gl) == repr(tl)
    assert repr(TgEncoder())[2:] == repr(_torch_encoder(torch))[1:]  # "TgEncoder(" vs "TEncoder("


def test_sequential_and_lists():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    s = nn.Sequential(a, b)
    s.append(c)
    assert len(s) == 3 and s[0] is a and s[-1] is c and list(s) == [a, b, c]
    sub = s[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c]
    assert s(tg.randn(4, 2)).shape == (4, 1)
    with pytest.raises(IndexError, match="out of range"):
        s[3]
    del s[1]
    assert [k for k, _ in s.named_children()] == ["0", "1"] and s[1] is c
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert [k for k, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.Linear(1, 1), 3)
    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml.append(nn.Linear(1, 2))
    ml += [nn.Tanh()]
    assert len(ml) == 3 and [k for k, _ in ml.named_parameters()] == [
        "0.weight", "0.bias", "1.weight", "1.bias"]
    md = nn.ModuleDict({"x": nn.Linear(1, 1)})
    md["y"] = nn.Identity()
    assert "y" in md and list(md.keys()) == ["x", "y"] and len(md) == 2
    pl = nn.ParameterList([nn.Parameter(tg.zeros(2)), tg.ones(3)])
    assert [k for k, _ in pl.named_parameters()] == ["0", "1"] and pl[1].requires_grad
    assert nn.Identity(54, unused=1)(tg.ones(2)).detach().numpy().tolist() == [1.0, 1.0]


def test_summary_lenet5_matches_the_notes_table():
    m = nn.Sequential(nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Conv2d(6, 16, 5),
                      nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
                      nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10), nn.Softmax(dim=1))
    m.train()
    s = nn.summary(m, (3, 32, 32))
    rows = {r.type + r.name: r for r in s.rows}
    assert s.rows[0].type == "Input" and s.rows[0].activation_size == 3072
    assert rows["Conv2d0"].output_shape == (6, 28, 28) and rows["Conv2d0"].num_params == 456
    assert rows["MaxPool2d2"].activation_size == 1176
    assert rows["Conv2d3"].num_params == 2416 and rows["MaxPool2d5"].output_shape == (16, 5, 5)
    assert rows["Linear7"].num_params == 48120
    assert rows["Linear9"].num_params == 10164
    assert rows["Linear11"].num_params == 850
    assert s.total_params == 456 + 2416 + 48120 + 10164 + 850 == s.trainable_params
    text = str(s)
    assert "48,120" in text and "Total params: 62,006" in text and "(16, 10, 10)" in text
    assert all(x.training for x in m.modules())  # modes restored
    assert not any(x._forward_hooks for x in m.modules())  # hooks removed
    with pytest.raises(TypeError, match="Module"):
        nn.summary(lambda x: x, (1,))


def test_get_submodule_and_parameter():
    t = TgEncoder()
    assert t.get_submodule("heads.a") is t.heads["a"]
    assert t.get_parameter("layers.1.bias") is t.layers[1].bias
    with pytest.raises(AttributeError, match="no submodule 'zz'"):
        t.get_submodule("heads.zz")


def test_summary_counts_parameters_owned_by_containers():
    s = nn.summary(TgEncoder(), input_data=tg.tensor(np.array([[1, 2, 3], [4, 5, 0]])))
    by_name = {r.name: r for r in s.rows}
    assert by_name["TgEncoder"].num_params == 1  # the top-level `scale`
    assert by_name["embed"].output_shape == (3, 4) and by_name["embed"].num_params == 44
    assert sum(r.num_params for r in s.rows) == s.total_params
    assert by_name["TgEncoder"].output_shape == [(2,), (1,)]  # two outputs
