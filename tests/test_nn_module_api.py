"""Module API for PyTorch programs: full backward hooks (and pre-hooks) with torch's
grad_input/grad_output, forward hooks with kwargs/prepend/always_call, to()/half()/cuda(),
load_state_dict(assign=), state_dict(prefix=, keep_vars=), device=/dtype= on layer
constructors, deepcopy, and the TypeError for numpy/list inputs."""
import copy

import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import nn
from tensorgrad.nn import functional as F


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


RNG = np.random.default_rng(0)
A, B = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 2))
U0, U1 = RNG.standard_normal((4, 2)), RNG.standard_normal(4)


def _two(m):
    """A module with two tensor inputs around a float, and two outputs, in either library."""
    class Two(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = m.nn.Linear(3, 2)

        def forward(self, a, scale, b):
            h = self.lin(a)
            return h * scale + b, (h * b).sum(-1)
    return Two()


def _arr(gs):
    return [None if g is None else g.detach().numpy().copy() for g in gs]


def _run(torch, hooks, grad_a=True, grad_b=True):
    """Both libraries, same weights and inputs, the same hooks; returns (logs, grads)."""
    res = []
    tm = _two(torch).double()
    for m in (torch, tg):
        mod = tm if m is torch else _two(tg).double()
        if m is tg:
            mod.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
        log = []
        handles = [getattr(mod, kind)(make(log)) for kind, make in hooks]
        a = m.tensor(A, requires_grad=grad_a)
        b = m.tensor(B, requires_grad=grad_b)
        o0, o1 = mod(a, 2.0, b)
        ((o0 * m.tensor(U0)).sum() + (o1 * m.tensor(U1)).sum()).backward()
        res.append((log, [None if t.grad is None else t.grad.numpy() for t in (a, b)],
                    mod.lin.weight.grad.numpy(), mod, handles))
    return res


def _full(log):
    return lambda mod, gi, go: log.append(("full", _arr(gi), _arr(go)))


def _pre(log):
    return lambda mod, go: log.append(("pre", _arr(go)))


def _same(x, y):
    assert len(x) == len(y)
    for p, q in zip(x, y):
        assert (p is None) == (q is None)
        if p is not None:
            if isinstance(p, list):
                _same(p, q)
            elif isinstance(p, str):
                assert p == q
            else:
                np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-14)


def test_full_backward_hook_and_pre_hook_see_torchs_gradients(torch):
    (tlog, tgrads, tw, _, _), (glog, ggrads, gw, gmod, handles) = _run(
        torch, [("register_full_backward_pre_hook", _pre),
                ("register_full_backward_hook", _full)])
    assert [e[0] for e in glog] == [e[0] for e in tlog] == ["pre", "full"]
    _same(glog[0][1], tlog[0][1])                       # grad_output: 2 entries
    _same(glog[1][1], tlog[1][1])                       # grad_input: a, None (the float), b
    _same(glog[1][2], tlog[1][2])
    assert len(glog[1][1]) == 3 and glog[1][1][1] is None
    _same(ggrads, tgrads)
    np.testing.assert_allclose(gw, tw, rtol=1e-12)
    for h in handles:
        h.remove()
    assert not gmod._backward_hooks and not gmod._backward_pre_hooks


def test_hooks_can_replace_gradients_like_torch(torch):
    def scale_inputs(log):
        return lambda mod, gi, go: (gi[0] * 0.0, None, gi[2] * 3.0)

    def scale_outputs(log):
        return lambda mod, go: (go[0] * 2.0, go[1])
    (_, tgrads, tw, _, _), (_, ggrads, gw, _, _) = _run(
        torch, [("register_full_backward_pre_hook", scale_outputs),
                ("register_full_backward_hook", scale_inputs)])
    _same(ggrads, tgrads)
    np.testing.assert_allclose(gw, tw, rtol=1e-12)  # the weights saw the doubled grad_output
    assert not ggrads[0].any()


def test_full_backward_hook_when_no_input_requires_grad(torch):
    (tlog, _, tw, _, _), (glog, _, gw, _, _) = _run(
        torch, [("register_full_backward_hook", _full)], grad_a=False, grad_b=False)
    assert len(glog) == len(tlog) == 1
    assert glog[0][1] == [None, None, None] == tlog[0][1]
    _same(glog[0][2], tlog[0][2])
    np.testing.assert_allclose(gw, tw, rtol=1e-12)


def test_forward_hooks_with_kwargs_prepend_and_always_call():
    m = nn.Linear(2, 2)
    calls = []
    m.register_forward_hook(lambda mod, args, out: calls.append("second"))
    m.register_forward_hook(lambda mod, args, out: calls.append("first"), prepend=True)
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, kwargs) if calls.append(
        ("pre", sorted(kwargs))) else None, with_kwargs=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: calls.append(("kw", out.shape)),
                            with_kwargs=True)
    m(tg.randn(3, 2))
    assert calls == [("pre", []), "first", "second", ("kw", (3, 2))]

    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")
    b, seen = Boom(), []
    b.register_forward_hook(lambda mod, args, out: seen.append(out), always_call=True)
    with pytest.raises(ValueError, match="boom"):
        b(tg.ones(1))
    assert seen == [None]


def test_to_half_cuda_and_factory_kwargs():
    m = nn.Sequential(nn.Linear(2, 3), nn.LayerNorm(3))
    assert m.to("cpu") is m and m.to(tg.device("cpu"), tg.float64)[0].weight.dtype == np.float64
    assert m.to(tg.zeros(1, dtype=tg.float32))[1].weight.dtype == np.float32
    assert m.to(device="cpu", dtype=tg.float64)[1].bias.dtype == np.float64
    assert m.half()[0].weight.dtype == np.float16
    for bad in ("cuda", "cuda:0", "mps"):
        with pytest.raises(RuntimeError, match="CPU only"):
            m.to(bad)
    with pytest.raises(RuntimeError, match="CPU only"):
        m.cuda()
    with pytest.raises(TypeError, match="floating point"):
        m.to(tg.int64)
    makers = [lambda **k: nn.Linear(2, 3, **k), lambda **k: nn.Embedding(4, 2, **k),
              lambda **k: nn.BatchNorm1d(3, **k), lambda **k: nn.LayerNorm(3, **k),
              lambda **k: nn.GroupNorm(1, 2, **k), lambda **k: nn.InstanceNorm2d(2, affine=True, **k),
              lambda **k: nn.PReLU(**k), lambda **k: nn.ConvTranspose2d(2, 2, 2, **k),
              lambda **k: nn.MultiheadAttention(4, 2, **k), lambda **k: nn.LSTM(2, 3, **k),
              lambda **k: nn.GRUCell(2, 3, **k), lambda **k: nn.RMSNorm(3, **k),
              lambda **k: nn.TransformerEncoderLayer(4, 2, 8, **k),
              lambda **k: nn.EmbeddingBag(4, 2, **k)]
    for make in makers:
        m = make(device="cpu", dtype=tg.float64)
        assert all(p.dtype == np.float64 for p in m.parameters()), type(m).__name__
        with pytest.raises(RuntimeError, match="CPU only"):
            make(device="cuda")


def test_load_state_dict_assign_and_state_dict_arguments():
    m = nn.Linear(3, 2)
    sd = {"weight": tg.ones(2, 3, dtype=tg.float64), "bias": tg.zeros(2, dtype=tg.float64)}
    m.load_state_dict(sd)
    assert m.weight.dtype == np.float32 and m.weight.detach().numpy() is not sd["weight"].numpy()
    w = m.weight
    m.load_state_dict(sd, assign=True)
    assert m.weight is w and m.weight.detach().numpy() is sd["weight"].numpy()  # the array
    assert m.weight.dtype == np.float64 and m.weight.requires_grad
    sd2 = m.state_dict(prefix="enc.", keep_vars=True)
    assert list(sd2) == ["enc.weight", "enc.bias"] and sd2["enc.weight"] is m.weight
    assert not m.state_dict()["weight"].requires_grad


def test_deepcopy_apply_buffers_and_submodules():
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    c = copy.deepcopy(m)
    assert c[0].weight is not m[0].weight
    np.testing.assert_array_equal(c[0].weight.detach().numpy(), m[0].weight.detach().numpy())
    c[0].weight.data.add_(1.0)
    assert not np.allclose(c[0].weight.detach().numpy(), m[0].weight.detach().numpy())
    assert [k for k, _ in m.named_buffers()] == ["1.running_mean", "1.running_var",
                                                 "1.num_batches_tracked"]
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "BatchNorm1d", "Sequential"]
    assert m.get_submodule("1") is m[1] and m.get_parameter("0.bias") is m[0].bias
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_numpy_and_list_inputs_raise_a_clear_type_error():
    x = np.ones((2, 3), dtype=np.float32)
    for mod in (nn.Linear(3, 2), nn.Sequential(nn.ReLU(), nn.Linear(3, 2)), nn.LayerNorm(3),
                nn.GELU(), nn.Embedding(3, 2)):
        with pytest.raises(TypeError, match=r"wrap it with tg\.tensor"):
            mod(x if not isinstance(mod, nn.Embedding) else [0, 1])
    for fn in (lambda: F.gelu(x), lambda: F.layer_norm(x, (3,)), lambda: F.pad(x, (1, 1)),
               lambda: F.interpolate(x[None], scale_factor=2), lambda: F.conv_transpose1d(
                   x[None], tg.ones(2, 2, 2)), lambda: F.cross_entropy(tg.ones(2, 3), [0, 1])):
        with pytest.raises(TypeError, match=r"tg\.tensor"):
            fn()
    # tensors still flow, and a custom module taking a list of tensors works
    class Cat(nn.Module):
        def forward(self, xs):
            return tg.cat(xs, 1)
    assert Cat()([tg.ones(1, 2), tg.ones(1, 1)]).shape == (1, 3)


DEGENERATE = [
    lambda m, F: F.layer_norm(m.zeros(0, 4), (4,)),
    lambda m, F: F.group_norm(m.zeros(0, 4, 3), 2),
    lambda m, F: F.interpolate(m.zeros(0, 2, 3, 3), scale_factor=2, mode="bilinear"),
    lambda m, F: F.pad(m.zeros(0, 2, 3), (1, 1), mode="reflect"),
    lambda m, F: F.embedding(m.zeros(0, dtype=m.int64), m.ones(3, 2)),
    lambda m, F: F.cross_entropy(m.zeros(0, 3), m.zeros(0, dtype=m.int64)),
    lambda m, F: F.cross_entropy(m.zeros(0, 3), m.zeros(0, dtype=m.int64), reduction="sum"),
    lambda m, F: F.nll_loss(m.zeros(0, 3), m.zeros(0, dtype=m.int64)),
    lambda m, F: F.scaled_dot_product_attention(m.zeros(1, 0, 4), m.ones(1, 3, 4),
                                                m.ones(1, 3, 4)),
    lambda m, F: F.scaled_dot_product_attention(m.ones(1, 2, 4), m.zeros(1, 0, 4),
                                                m.zeros(1, 0, 3)),
    lambda m, F: F.unfold(m.zeros(0, 2, 3, 3), 2),
    lambda m, F: F.max_unpool2d(m.zeros(0, 1, 2, 2), m.zeros(0, 1, 2, 2, dtype=m.int64), 2),
    lambda m, F: F.conv_transpose1d(m.zeros(0, 2, 3), m.ones(2, 1, 2)),
    lambda m, F: F.local_response_norm(m.zeros(0, 3, 4), 2),
]


def test_degenerate_shapes_like_torch(torch):
    """Empty batches, no queries or no keys: torch's shapes and values (NaN means included)."""
    for i, f in enumerate(DEGENERATE):
        got, ref = f(tg, F), f(torch, torch.nn.functional)
        assert tuple(got.shape) == tuple(ref.shape), i
        np.testing.assert_array_equal(got.detach().numpy(), ref.detach().numpy(), err_msg=str(i))
