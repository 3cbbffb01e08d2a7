"""The Tensor as PyTorch shows it: repr, Size, grad_fn names and next_functions, strides and
memory, T/mT/H/mH, grad modes (set_grad_enabled, inference_mode, no_grad as decorator)."""
import numpy as np
import pytest

import tensorgrad as tg


def _both(torch, make):
    return make(torch), make(tg)


REPRS = [
    lambda L: L.tensor([1.0, 2.0, 3.0]), lambda L: L.tensor([1.5, -2.25]),
    lambda L: L.tensor([1e-5, 1.0]), lambda L: L.tensor([1e10, 1.0]),
    lambda L: L.tensor([[1.0, 2.0], [3.0, 4.5]]), lambda L: L.tensor(3.0), lambda L: L.tensor(0.5),
    lambda L: L.tensor([1, 2, 3]), lambda L: L.tensor([True, False]),
    lambda L: L.tensor([1, 2], dtype=L.int32), lambda L: L.tensor([1.0, 2.0], dtype=L.float64),
    lambda L: L.zeros(0, 3), lambda L: L.tensor([]), lambda L: L.zeros(0, dtype=L.int64),
    lambda L: L.arange(2000.0), lambda L: L.arange(24.0).reshape(2, 3, 4),
    lambda L: L.arange(5000).reshape(50, 100), lambda L: L.tensor([float("nan"), float("inf"), 1.0]),
    lambda L: L.tensor([0.0, -0.0]), lambda L: L.ones(3, requires_grad=True),
    lambda L: L.ones(2, dtype=L.float64, requires_grad=True) * 2,
    lambda L: L.linspace(-1, 1, 30), lambda L: L.ones(2, 2, dtype=L.float16) / 3,
    lambda L: L.tensor([123456.0, 0.001]),
]


@pytest.mark.parametrize("i", range(len(REPRS)))
def test_repr_matches_torch(i):
    torch = pytest.importorskip("torch")
    want, got = _both(torch, REPRS[i])
    assert repr(got) == repr(want).replace("torch.", "tg.")


def test_size():
    torch = pytest.importorskip("torch")
    t, x = torch.ones(2, 3, 4), tg.ones(2, 3, 4)
    assert isinstance(x.shape, tg.Size) and isinstance(x.shape, tuple)
    assert repr(x.shape) == repr(t.shape).replace("torch.", "tg.")
    assert x.size() == x.shape == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
    assert isinstance(x.shape[1:], tg.Size) and x.shape[1:] == (3, 4)
    assert isinstance(x.shape + (5,), tg.Size) and (1,) + x.shape == (1, 2, 3, 4)
    assert isinstance((1,) + x.shape, tg.Size)
    assert x.shape.numel() == t.shape.numel() == 24 and tg.Size([2, 5]) == (2, 5)
    with pytest.raises(IndexError):
        x.size(3)


def _names(lib, f):
    x = lib.ones(3, dtype=lib.float64, requires_grad=True)
    m = lib.ones(2, 3, dtype=lib.float64, requires_grad=True)
    out = f(lib, x, m)
    n = out.grad_fn.name()
    return n.rsplit("::", 1)[-1]


GRAD_FNS = {
    "mul": lambda L, x, m: x * 2, "add": lambda L, x, m: x + x, "sub": lambda L, x, m: x - 1,
    "rsub": lambda L, x, m: 1 - x, "div": lambda L, x, m: x / x, "rdiv": lambda L, x, m: 1 / x,
    "pow": lambda L, x, m: x ** 2, "rpow": lambda L, x, m: 2 ** x, "neg": lambda L, x, m: -x,
    "exp": lambda L, x, m: x.exp(), "log": lambda L, x, m: x.log(), "sqrt": lambda L, x, m: x.sqrt(),
    "tanh": lambda L, x, m: x.tanh(), "sigmoid": lambda L, x, m: x.sigmoid(),
    "relu": lambda L, x, m: L.relu(x), "abs": lambda L, x, m: x.abs(),
    "log1p": lambda L, x, m: x.log1p(), "sum": lambda L, x, m: x.sum(),
    "sum_dim": lambda L, x, m: m.sum(0), "mean": lambda L, x, m: x.mean(),
    "mean_dim": lambda L, x, m: m.mean(1), "max": lambda L, x, m: x.max(),
    "view": lambda L, x, m: m.view(6), "reshape": lambda L, x, m: m.reshape(3, 2),
    "transpose": lambda L, x, m: m.transpose(0, 1), "permute": lambda L, x, m: m.permute(1, 0),
    "select": lambda L, x, m: m[0], "select2": lambda L, x, m: m[:, 1], "slice": lambda L, x, m: x[1:],
    "index": lambda L, x, m: x[[0, 2]], "expand": lambda L, x, m: x.expand(2, 3),
    "cat": lambda L, x, m: L.cat([x, x]), "clone": lambda L, x, m: x.clone(),
    "where": lambda L, x, m: L.where(x > 0, x, x), "clamp": lambda L, x, m: x.clamp(0, 1),
    "maximum": lambda L, x, m: L.maximum(x, x), "to_double": lambda L, x, m: x.float(),
    "mm": lambda L, x, m: m @ m.T, "softmax": lambda L, x, m: L.softmax(x, 0),
    "log_softmax": lambda L, x, m: L.log_softmax(x, 0), "gather": lambda L, x, m: x.gather(0, L.tensor([1])),
    "flip": lambda L, x, m: x.flip(0), "repeat": lambda L, x, m: x.repeat(2),
    "pow_tensor": lambda L, x, m: x ** x, "prod": lambda L, x, m: x.prod(),
    "prod_dim": lambda L, x, m: m.prod(1), "max_dim": lambda L, x, m: m.max(0)[0],
    "min": lambda L, x, m: x.min(), "min_dim": lambda L, x, m: m.min(1).values,
    "amax": lambda L, x, m: m.amax(0), "norm": lambda L, x, m: x.norm(),
    "norm_dim": lambda L, x, m: m.norm(dim=1), "t": lambda L, x, m: m.t(),
    "unsqueeze": lambda L, x, m: x.unsqueeze(0), "squeeze": lambda L, x, m: m[None].squeeze(),
    "squeeze_dim": lambda L, x, m: m[None].squeeze(0),
    "layer_norm": lambda L, x, m: L.nn.functional.layer_norm(m, (3,)),
}


@pytest.mark.parametrize("name", list(GRAD_FNS))
def test_grad_fn_names_match_torch(name):
    torch = pytest.importorskip("torch")
    assert _names(tg, GRAD_FNS[name]) == _names(torch, GRAD_FNS[name])


def test_linear_and_losses_print_torchs_names():
    torch = pytest.importorskip("torch")
    for lib in (torch, tg):
        lin = lib.nn.Linear(3, 2)
        y = lin(lib.ones(4, 3))
        loss = lib.nn.functional.cross_entropy(y, lib.tensor([0, 1, 1, 0]))
        assert repr(y).endswith("grad_fn=<AddmmBackward0>)")
        assert loss.grad_fn.name() == "NllLossBackward0"


def test_next_functions_and_accumulate_grad_as_torch():
    torch = pytest.importorskip("torch")
    for lib in (torch, tg):
        x = lib.ones(3, requires_grad=True)
        c = lib.ones(3)
        y = (x * c).sum()
        (mul, i), = y.grad_fn.next_functions
        assert i == 0 and mul.name() == "MulBackward0"
        (acc, i0), (const, i1) = mul.next_functions
        assert acc.variable is x and const is None and i0 == i1 == 0
        assert acc.name() == "torch::autograd::AccumulateGrad" and acc.next_functions == ()
        assert repr(acc).startswith("<AccumulateGrad object at 0x")
        assert acc is mul.next_functions[0][0]          # one per leaf
        assert repr(y.grad_fn).startswith("<SumBackward0 object at 0x")
    assert tg.ones(1, requires_grad=True).grad_fn is None


def test_custom_function_prints_as_torch():
    class Cube(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x * x * g

    y = Cube.apply(tg.ones(2, requires_grad=True))
    assert repr(y) == "tensor([1., 1.], grad_fn=<CubeBackward>)" and y.grad_fn.name == "Cube"


def test_strides_contiguity_offsets_as_torch():
    torch = pytest.importorskip("torch")
    views = [lambda a: a, lambda a: a.T, lambda a: a[1:], lambda a: a[:, 1], lambda a: a[1, 2:],
             lambda a: a.reshape(4, 3), lambda a: a[None].expand(2, 3, 4),
             lambda a: a.transpose(0, 1)[1:]]
    for v in views:
        t, x = v(torch.arange(12.0).reshape(3, 4)), v(tg.arange(12.0).reshape(3, 4))
        assert x.stride() == t.stride() and x.is_contiguous() == t.is_contiguous()
        assert x.storage_offset() == t.storage_offset()
    a = tg.arange(12.0).reshape(3, 4)
    assert a[1:].data_ptr() - a.data_ptr() == 4 * a.element_size()
    assert a.stride(0) == 4 and a.stride(-1) == 1


def test_transposes():
    torch = pytest.importorskip("torch")
    for f in (lambda x: x.T, lambda x: x.mT, lambda x: x.H, lambda x: x.mH):
        t, x = f(torch.arange(6.0).reshape(2, 3)), f(tg.arange(6.0).reshape(2, 3))
        assert x.tolist() == t.tolist()
    assert tg.ones(2, 3, 4).mT.shape == (2, 4, 3) and tg.ones(2, 3, 4).mH.shape == (2, 4, 3)
    with pytest.raises(RuntimeError, match="only supported on matrices"):
        tg.ones(2, 3, 4).H


def test_set_grad_enabled_as_function_context_and_decorator():
    x = tg.ones(2, requires_grad=True)
    tg.set_grad_enabled(False)
    try:
        assert not tg.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        tg.set_grad_enabled(True)
    assert tg.is_grad_enabled()
    with tg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    with tg.no_grad():
        with tg.autograd.grad_mode.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not tg.is_grad_enabled()

    @tg.set_grad_enabled(False)
    def f():
        return x * 2
    assert tg.is_grad_enabled()                  # decorating changes nothing yet
    assert not f().requires_grad and tg.is_grad_enabled()

    @tg.no_grad
    def g():
        return x * 2

    @tg.no_grad()
    def h():
        return x * 2
    assert not g().requires_grad and not h().requires_grad and (x * 2).requires_grad


def test_inference_mode():
    torch = pytest.importorskip("torch")
    x = tg.ones(2, requires_grad=True)
    with tg.inference_mode():
        assert not tg.is_grad_enabled() and tg.is_inference_mode_enabled()
        y = x * 2
        z = tg.zeros(3)
        assert not y.requires_grad and y.is_inference() and z.is_inference()
    assert tg.is_grad_enabled() and not x.is_inference() and not (x * 2).is_inference()
    with pytest.raises(RuntimeError, match="Inplace update to inference tensor outside "
                                           "InferenceMode"):
        y.add_(1)
    with torch.inference_mode():
        ty = torch.ones(2) * 2
    with pytest.raises(RuntimeError, match="Inplace update to inference tensor outside"):
        ty.add_(1)

    @tg.inference_mode()
    def f(a):
        return a * 3
    assert f(x).is_inference() and not f(x).requires_grad

    @tg.inference_mode
    def g(a):
        return a * 3
    assert g(x).is_inference()
    with tg.inference_mode(False):
        assert (x * 2).requires_grad and not (x * 2).is_inference()


def test_format_and_conversions():
    assert f"{tg.tensor(2.5):.2f}" == "2.50" and f"{tg.tensor(3)}" == "tensor(3)"
    assert tg.ones(2).get_device() == -1 and tg.ones(2).ndimension() == 1
    assert tg.ones(2, 3).nelement() == 6


def test_save_of_a_module_is_refused_with_state_dict_advice(tmp_path):
    with pytest.raises(TypeError, match=r"state_dict\(\)"):
        tg.save(tg.nn.Linear(2, 2), tmp_path / "m.pt")
    tg.save(tg.nn.Linear(2, 2).state_dict(), tmp_path / "m.pt")


def test_legacy_tensor_constructor_as_torch():
    torch = pytest.importorskip("torch")
    for make in (lambda L: L.Tensor(), lambda L: L.Tensor(2, 3), lambda L: L.Tensor([1, 2]),
                 lambda L: L.Tensor((2, 3)), lambda L: L.Tensor(np.array([1, 2])),
                 lambda L: L.Tensor(L.Size([4])), lambda L: L.Tensor([[L.tensor(3)]]),
                 lambda L: L.Tensor(L.tensor([1, 2]))):
        g, t = make(tg), make(torch)
        assert tuple(g.shape) == tuple(t.shape) and str(g.dtype) == str(t.dtype)[6:]
    assert tg.Tensor([1, 2]).tolist() == [1.0, 2.0] and tg.Tensor(2, 3).sum().item() == 0
    x = tg.tensor([1.0, 2.0])
    assert np.shares_memory(tg.Tensor(x).numpy(), x.numpy())       # as torch: same memory
    p = tg.nn.Parameter(tg.Tensor(3, 2))                             # the classic custom layer
    assert p.requires_grad and tuple(p.shape) == (3, 2) and p.dtype == tg.float32
    for L in (torch, tg):
        with pytest.raises(TypeError, match="data must be a sequence"):
            L.Tensor(3.5)
    with pytest.raises(RuntimeError, match="negative dimension"):
        tg.Tensor(-1, 2)


def test_numel_function():
    torch = pytest.importorskip("torch")
    for shape in ((2, 3), (), (0, 4)):
        assert tg.numel(tg.zeros(shape)) == torch.numel(torch.zeros(shape))
    with pytest.raises(TypeError, match="numel: input must be a tg.Tensor"):
        tg.numel([1, 2])


def test_set_printoptions_as_torch():
    torch = pytest.importorskip("torch")
    x = np.linspace(-2, 3, 2000).reshape(40, 50) / 7
    small = np.array([[1.123456, -2.5], [1e-3, 4.0]])
    try:
        for opts in ({"precision": 2}, {"precision": 6, "linewidth": 120},
                     {"threshold": 10, "edgeitems": 2}, {"sci_mode": True},
                     {"sci_mode": False, "precision": 3}, {"profile": "short"},
                     {"profile": "default"}):
            tg.set_printoptions(**opts)
            torch.set_printoptions(**opts)
            for a in (x, small, x[0, :12]):
                assert repr(tg.tensor(a, dtype=tg.float64)) == repr(torch.tensor(a)).replace(
                    "torch.", "tg."), opts
    finally:
        tg.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")
    with pytest.raises(ValueError, match="set_printoptions: profile must be one of"):
        tg.set_printoptions(profile="long")
