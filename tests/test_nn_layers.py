"""Layers vs PyTorch in float64 with identical weights: forward, input gradients, parameter
gradients; gradcheck; batch-norm running statistics; dropout; embedding."""
import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import nn
from tensorgrad.nn import functional as F


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _copy_weights(tmod, gmod):
    gmod.load_state_dict({k: v.detach().numpy() for k, v in tmod.state_dict().items()})


def _compare(torch, tmod, gmod, x, rtol=1e-10, atol=1e-12, upstream_seed=3):
    """Same weights, same input: outputs, input grads and parameter grads agree."""
    tmod = tmod.double()
    gmod = gmod.double()
    _copy_weights(tmod, gmod)
    tx = torch.tensor(x, requires_grad=x.dtype.kind == "f")
    gx = tg.tensor(x, requires_grad=x.dtype.kind == "f")
    to, go = tmod(tx), gmod(gx)
    np.testing.assert_allclose(go.detach().numpy(), to.detach().numpy(), rtol=rtol, atol=atol)
    up = np.random.default_rng(upstream_seed).standard_normal(to.shape)
    (to * torch.tensor(up)).sum().backward()
    (go * tg.tensor(up)).sum().backward()
    if x.dtype.kind == "f":
        np.testing.assert_allclose(gx.grad.detach().numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-11)
    tp = dict(tmod.named_parameters())
    for k, p in gmod.named_parameters():
        np.testing.assert_allclose(p.grad.detach().numpy(), tp[k].grad.numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=k)
    for k, b in tmod.state_dict().items():
        np.testing.assert_allclose(gmod.state_dict()[k].detach().numpy(), b.numpy(), rtol=1e-12, err_msg=k)
    return go


LAYERS = [
    ("Linear", lambda m: m.Linear(6, 4), (5, 6)),
    ("Linear-3d-nobias", lambda m: m.Linear(6, 4, bias=False), (2, 3, 6)),
    ("ReLU", lambda m: m.ReLU(), (4, 5)),
    ("LeakyReLU", lambda m: m.LeakyReLU(), (4, 5)),
    ("LeakyReLU-0.2", lambda m: m.LeakyReLU(0.2), (4, 5)),
    ("Tanh", lambda m: m.Tanh(), (4, 5)),
    ("Sigmoid", lambda m: m.Sigmoid(), (4, 5)),
    ("Softmax", lambda m: m.Softmax(dim=1), (4, 5)),
    ("Softmax-0", lambda m: m.Softmax(dim=0), (4, 5)),
    ("LogSoftmax", lambda m: m.LogSoftmax(dim=-1), (3, 4, 5)),
    ("Flatten", lambda m: m.Flatten(), (2, 3, 4, 5)),
    ("Flatten-1-2", lambda m: m.Flatten(1, 2), (2, 3, 4, 5)),
    ("Identity", lambda m: m.Identity(), (2, 3)),
    ("BatchNorm1d-2d", lambda m: m.BatchNorm1d(5), (8, 5)),
    ("BatchNorm1d-3d", lambda m: m.BatchNorm1d(3), (4, 3, 6)),
    ("BatchNorm2d", lambda m: m.BatchNorm2d(3), (4, 3, 5, 2)),
    ("BatchNorm2d-noaffine", lambda m: m.BatchNorm2d(3, affine=False), (4, 3, 5, 2)),
    ("BatchNorm1d-nostats", lambda m: m.BatchNorm1d(5, track_running_stats=False), (8, 5)),
    ("BatchNorm1d-momNone", lambda m: m.BatchNorm1d(5, momentum=None), (8, 5)),
    ("BatchNorm1d-nobias", lambda m: m.BatchNorm1d(5, bias=False), (8, 5)),
    ("Dropout-eval-equivalent-p0", lambda m: m.Dropout(0.0), (3, 4)),
]


@pytest.mark.parametrize("name,make,shape", LAYERS, ids=[c[0] for c in LAYERS])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_layer_matches_pytorch(torch, name, make, shape, mode):
    torch.manual_seed(0)
    tmod = make(torch.nn)
    gmod = make(nn)
    x = np.random.default_rng(1).standard_normal(shape) * 2 + 0.5
    if mode == "eval":
        # move the running statistics away from their initial values first
        tmod.double()(torch.tensor(x * 1.5 - 0.3))
    getattr(tmod, mode)()
    getattr(gmod, mode)()
    _compare(torch, tmod, gmod, x)
    # and a second step to compare the running statistics after two updates
    _compare(torch, tmod, gmod, x[::-1].copy() * 0.7, upstream_seed=4)


def test_batchnorm_running_stats_formula():
    bn = nn.BatchNorm1d(3)
    x = np.random.default_rng(0).standard_normal((10, 3)) * [1, 2, 3] + [0, 1, -1]
    bn(tg.tensor(x, dtype=tg.float32))
    np.testing.assert_allclose(bn.running_mean.detach().numpy(), 0.1 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.detach().numpy(), 0.9 + 0.1 * x.var(0, ddof=1), rtol=1e-5)
    assert int(bn.num_batches_tracked.item()) == 1
    bn.eval()
    y = bn(tg.tensor(x, dtype=tg.float32))
    exp = (x - bn.running_mean.detach().numpy()) / np.sqrt(bn.running_var.detach().numpy() + 1e-5)
    np.testing.assert_allclose(y.detach().numpy(), exp, rtol=1e-4, atol=1e-5)
    assert int(bn.num_batches_tracked.item()) == 1  # eval does not count


def test_batchnorm_errors():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="expected more than 1 value per channel"):
        bn(tg.randn(1, 3))
    with pytest.raises(ValueError, match="input has 4 channels.*num_features=3"):
        bn(tg.randn(5, 4))
    with pytest.raises(ValueError, match="BatchNorm2d: expected 4D input, got 2D"):
        nn.BatchNorm2d(3)(tg.randn(5, 3))
    with pytest.raises(ValueError, match="running_mean must have shape"):
        F.batch_norm(tg.randn(4, 3), tg.zeros(2), tg.ones(3), training=True)


def test_batchnorm_gradcheck_and_double_backward():
    rng = np.random.default_rng(5)
    x = tg.tensor(rng.standard_normal((5, 3, 2)), requires_grad=True)
    w = tg.tensor(rng.standard_normal(3) + 1, requires_grad=True)
    b = tg.tensor(rng.standard_normal(3), requires_grad=True)
    fn = lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True)  # noqa: E731
    assert tg.gradcheck(fn, (x, w, b))
    assert tg.gradgradcheck(fn, (x, w, b))
    fn_eval = lambda x, w, b: F.batch_norm(  # noqa: E731
        x, tg.tensor(np.array([0.1, 0.2, -0.3])), tg.tensor(np.array([1.5, 0.7, 2.0])), w, b)
    assert tg.gradcheck(fn_eval, (x, w, b))


def test_batchnorm_fast_twin_matches_tensor_vjp():
    rng = np.random.default_rng(8)
    x = tg.tensor(rng.standard_normal((6, 4, 3)), requires_grad=True)
    w = tg.tensor(rng.standard_normal(4), requires_grad=True)
    b = tg.tensor(rng.standard_normal(4), requires_grad=True)
    up = tg.tensor(rng.standard_normal((6, 4, 3)))
    y = F.batch_norm(x, None, None, w, b, training=True)
    slow = tg.grad([y], [x, w, b], grad_outputs=[up], create_graph=True)
    y = F.batch_norm(x, None, None, w, b, training=True)
    (y * up).sum().backward()
    for s, p in zip(slow, (x, w, b)):
        np.testing.assert_allclose(p.grad.detach().numpy(), s.detach().numpy(), rtol=1e-12, atol=1e-13)


def test_batchnorm_torch_double_backward(torch):
    rng = np.random.default_rng(9)
    xs = rng.standard_normal((5, 3))
    ws = rng.standard_normal(3)
    tx = torch.tensor(xs, requires_grad=True)
    tw = torch.tensor(ws, requires_grad=True)
    ty = torch.nn.functional.batch_norm(tx, None, None, tw, None, training=True)
    (tgx,) = torch.autograd.grad((ty ** 3).sum(), tx, create_graph=True)
    (tgx ** 2).sum().backward()
    gx = tg.tensor(xs, requires_grad=True)
    gw = tg.tensor(ws, requires_grad=True)
    gy = F.batch_norm(gx, None, None, gw, None, training=True)
    (ggx,) = tg.grad((gy ** 3).sum(), gx, create_graph=True)
    (ggx ** 2).sum().backward()
    np.testing.assert_allclose(ggx.detach().numpy(), tgx.detach().numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(gx.grad.detach().numpy(), tx.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(gw.grad.detach().numpy(), tw.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_dropout_inverted_statistics_and_eval():
    tg.manual_seed(0)
    d = nn.Dropout(0.25)
    x = tg.ones(200, 500, requires_grad=True)
    y = d(x)
    vals = np.unique(y.detach().numpy())
    np.testing.assert_allclose(vals, [0.0, 1 / 0.75], rtol=1e-6)
    assert abs((y.detach().numpy() == 0).mean() - 0.25) < 0.01
    assert abs(y.detach().numpy().mean() - 1.0) < 0.01  # expectation kept (inverted dropout)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), y.detach().numpy())  # same mask, same scale
    d.eval()
    assert d(x) is x
    tg.manual_seed(3)
    a = F.dropout(tg.ones(10), 0.5).detach().numpy()
    tg.manual_seed(3)
    np.testing.assert_array_equal(F.dropout(tg.ones(10), 0.5).detach().numpy(), a)
    assert not F.dropout(tg.ones(4), 1.0).detach().numpy().any()
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(tg.ones(2), -0.1)


def test_dropout_gradcheck_with_fixed_mask():
    x = tg.tensor(np.random.default_rng(2).standard_normal((4, 5)), requires_grad=True)

    def fn(x):
        tg.manual_seed(11)
        return F.dropout(x, 0.3)
    assert tg.gradcheck(fn, (x,))


def test_embedding_matches_pytorch(torch):
    torch.manual_seed(0)
    tm = torch.nn.Embedding(7, 3, padding_idx=2).double()
    gm = nn.Embedding(7, 3, padding_idx=2).double()
    assert not gm.weight.detach().numpy()[2].any()
    _copy_weights(tm, gm)
    idx = np.array([[1, 2, 1, 6], [2, 0, 1, -1 + 7]])
    to, go = tm(torch.tensor(idx)), gm(tg.tensor(idx))
    np.testing.assert_allclose(go.detach().numpy(), to.detach().numpy())
    up = np.random.default_rng(0).standard_normal(to.shape)
    (to * torch.tensor(up)).sum().backward()
    (go * tg.tensor(up)).sum().backward()
    np.testing.assert_allclose(gm.weight.grad.detach().numpy(), tm.weight.grad.numpy(), rtol=1e-12)
    assert not gm.weight.grad.detach().numpy()[2].any()  # padding row gets no gradient
    # repeated indices accumulate
    np.testing.assert_allclose(gm.weight.grad.detach().numpy()[1], up[0, 0] + up[0, 2] + up[1, 2])
    with pytest.raises(IndexError, match="index 7 is out of range for 7 embeddings"):
        gm(tg.tensor([7]))
    with pytest.raises(TypeError, match="integer indices"):
        gm(tg.tensor([1.0]))
    pre = nn.Embedding.from_pretrained(tg.tensor(np.eye(3)))
    assert not pre.weight.requires_grad and pre(tg.tensor([2])).detach().numpy().tolist() == [[0, 0, 1]]


def test_embedding_gradcheck():
    w = tg.tensor(np.random.default_rng(1).standard_normal((5, 3)), requires_grad=True)
    idx = tg.tensor([[0, 4, 4], [1, 0, 3]])
    assert tg.gradcheck(lambda w: F.embedding(idx, w), (w,))  # (padding_idx cuts its gradient on purpose)


def test_linear_default_init_and_errors(torch):
    tg.manual_seed(0)
    lin = nn.Linear(400, 30)
    bound = 1 / np.sqrt(400)
    assert lin.weight.dtype == np.float32 and lin.weight.shape == (30, 400)
    assert np.abs(lin.weight.detach().numpy()).max() <= bound and np.abs(lin.bias.detach().numpy()).max() <= bound
    # U(-b, b) has std b/sqrt(3), like PyTorch's kaiming_uniform_(a=sqrt(5))
    assert abs(lin.weight.detach().numpy().std() - bound / np.sqrt(3)) < 0.05 * bound
    tstd = torch.nn.Linear(400, 30).weight.detach().numpy().std()
    assert abs(lin.weight.detach().numpy().std() - tstd) < 0.05 * bound
    with pytest.raises(RuntimeError, match="linear"):
        lin(tg.randn(2, 5))


def test_activation_gradchecks():
    x = tg.tensor(np.random.default_rng(4).standard_normal((3, 4)) + 0.05, requires_grad=True)
    for mod in (nn.ReLU(), nn.LeakyReLU(0.1), nn.Tanh(), nn.Sigmoid(), nn.Softmax(1),
                nn.LogSoftmax(0), nn.Flatten(0)):
        assert tg.gradcheck(lambda x: mod(x), (x,)), type(mod).__name__
    lin = nn.Linear(4, 2).double()
    assert tg.gradcheck(lambda x, w, b: F.linear(x, w, b), (x, lin.weight, lin.bias))


def test_unflatten_roundtrip():
    x = tg.randn(2, 12)
    y = nn.Unflatten(1, (3, 4))(x)
    assert y.shape == (2, 3, 4)
    np.testing.assert_array_equal(nn.Flatten()(y).detach().numpy(), x.detach().numpy())
