"""Creation functions with PyTorch's signatures: values and dtypes against torch, the keywords
every one of them takes (device, dtype, requires_grad, layout, pin_memory), tg.tensor's dtype
inference and errors, Tensor.new_*."""
import numpy as np
import pytest

import tensorgrad as tg

# (name, call) run as call(lib) for lib = torch and tg
DETERMINISTIC = [
    ("zeros", lambda L: L.zeros(2, 3)), ("zeros_tuple", lambda L: L.zeros((2, 3))),
    ("zeros_list", lambda L: L.zeros([4])), ("zeros_scalar", lambda L: L.zeros(())),
    ("ones_int", lambda L: L.ones(3, dtype=L.int64)), ("empty_shape", lambda L: L.empty(2, 0).shape),
    ("full_float", lambda L: L.full((2,), 1.5)), ("full_int", lambda L: L.full((2, 2), 7)),
    ("full_bool", lambda L: L.full((2,), True)), ("full_cast", lambda L: L.full((2,), 1.5, dtype=L.int64)),
    ("full_int_size", lambda L: L.full([3], 2.0)),
    ("arange_int", lambda L: L.arange(5)), ("arange_float", lambda L: L.arange(0, 1, 0.3)),
    ("arange_neg", lambda L: L.arange(5, 0, -2)), ("arange_dtype", lambda L: L.arange(4, dtype=L.float64)),
    ("arange_float_end", lambda L: L.arange(2.5)), ("arange_int_dtype", lambda L: L.arange(0, 1, 0.25, dtype=L.int32)),
    ("linspace", lambda L: L.linspace(0, 10, 5)), ("linspace_f64", lambda L: L.linspace(-1, 1, 7, dtype=L.float64)),
    ("linspace_int", lambda L: L.linspace(0, 1, 5, dtype=L.int64)), ("linspace_one", lambda L: L.linspace(3, 9, 1)),
    ("linspace_zero", lambda L: L.linspace(3, 9, 0)),
    ("zeros_size_kw", lambda L: L.zeros(size=(2, 3))), ("ones_size_kw", lambda L: L.ones(size=[2], dtype=L.int32)),
    ("empty_size_kw", lambda L: L.empty(size=(3, 1)).shape), ("rand_size_kw", lambda L: L.rand(size=(2, 2)).shape),
    ("randn_size_kw", lambda L: L.randn(size=(4,), dtype=L.float64).shape),
    ("new_zeros_size_kw", lambda L: L.ones(1, dtype=L.int64).new_zeros(size=(2,))),
    ("scalar_tensor", lambda L: L.scalar_tensor(3)), ("scalar_tensor_dtype", lambda L: L.scalar_tensor(2.5, dtype=L.float64)),
    ("scalar_tensor_bool", lambda L: L.scalar_tensor(True)),
    ("tril_indices", lambda L: L.tril_indices(3, 3)), ("tril_indices_off", lambda L: L.tril_indices(4, 3, -1)),
    ("tril_indices_int32", lambda L: L.tril_indices(3, 5, 2, dtype=L.int32)), ("tril_indices_empty", lambda L: L.tril_indices(0, 3)),
    ("triu_indices", lambda L: L.triu_indices(3, 4, 1)), ("triu_indices_far", lambda L: L.triu_indices(3, 3, -5)),
    ("triu_indices_none", lambda L: L.triu_indices(3, 3, 4)),
    ("logspace", lambda L: L.logspace(0, 2, 3)), ("logspace_base", lambda L: L.logspace(0, 3, 4, base=2.0, dtype=L.float64)),
    ("eye", lambda L: L.eye(3)), ("eye_rect", lambda L: L.eye(2, 4, dtype=L.int64)),
    ("zeros_like", lambda L: L.zeros_like(L.ones(2, 2, dtype=L.float64))),
    ("ones_like_dtype", lambda L: L.ones_like(L.ones(3), dtype=L.int32)),
    ("full_like", lambda L: L.full_like(L.ones(2, dtype=L.int64), 4)),
    ("empty_like_shape", lambda L: L.empty_like(L.ones(2, 5)).shape),
    ("tensor_nested", lambda L: L.tensor([[1, 2], [3, 4.0]])), ("tensor_bool_int", lambda L: L.tensor([True, 2])),
    ("tensor_tuple", lambda L: L.tensor(((1, 2), (3, 4)))), ("tensor_empty", lambda L: L.tensor([])),
    ("tensor_empty2", lambda L: L.tensor([[], []])), ("tensor_scalar", lambda L: L.tensor(3)),
    ("tensor_np_scalar", lambda L: L.tensor(np.float64(1.5))), ("tensor_np", lambda L: L.tensor(np.arange(3.0))),
    ("tensor_0d_tensors", lambda L: L.tensor([L.tensor(1.0), L.tensor(2.0)])),
    ("tensor_mixed_tensors", lambda L: L.tensor([L.tensor(1, dtype=L.int64), 2.5])),
    ("tensor_f64_tensors", lambda L: L.tensor([L.tensor(1.0, dtype=L.float64), L.tensor(2.0)])),
    ("tensor_1elem_tensors", lambda L: L.tensor([L.tensor([5]), L.tensor([6])])),
    ("tensor_nested_tensor", lambda L: L.tensor([[L.tensor(1.0), 2], [3, 4]])),
    ("tensor_np_rows", lambda L: L.tensor(np.stack([np.array([1, 2]), np.array([3, 4])]))),
    ("tensor_np_float32_scalars", lambda L: L.tensor([np.float32(1.0), 2.0])),
    ("tensor_dtype", lambda L: L.tensor([1, 2], dtype=L.float16)),
    ("as_tensor", lambda L: L.as_tensor([1.0, 2.0], dtype=L.float64)),
    ("new_zeros", lambda L: L.ones(2, dtype=L.int64).new_zeros(3)),
    ("new_ones", lambda L: L.ones(2, dtype=L.float64).new_ones((2, 2))),
    ("new_full", lambda L: L.ones(2).new_full((2,), 3)), ("new_empty_shape", lambda L: L.ones(2).new_empty(4, 1).shape),
    ("new_tensor", lambda L: L.ones(2).new_tensor([1, 2])),
    ("new_tensor_dtype", lambda L: L.ones(2).new_tensor([1, 2], dtype=L.int32)),
]


def _describe(x):
    if not hasattr(x, "dtype"):
        return ("shape", tuple(x))
    return (str(x.dtype).split(".")[-1], tuple(x.shape), np.asarray(x.tolist(), dtype=np.float64))


@pytest.mark.parametrize("name", [n for n, _ in DETERMINISTIC])
def test_constructor_matches_torch(name):
    torch = pytest.importorskip("torch")
    call = dict(DETERMINISTIC)[name]
    want, got = _describe(call(torch)), _describe(call(tg))
    assert got[:-1] == want[:-1] if len(want) == 3 else got == want
    if len(want) == 3:
        np.testing.assert_allclose(got[2], want[2], rtol=1e-6, atol=0)


def test_linspace_is_bitwise_torchs():
    torch = pytest.importorskip("torch")
    for a, b, n in ((0, 1, 11), (-3.3, 7.1, 100), (1e-3, 2.5, 37), (-1, 1, 7)):
        for dt in ("float32", "float64"):
            assert (tg.linspace(a, b, n, dtype=getattr(tg, dt)).tolist() ==
                    torch.linspace(a, b, n, dtype=getattr(torch, dt)).tolist())
    for a, b, s in ((0, 1, 0.1), (-2.5, 3.0, 0.37), (0.5, 100.3, 0.7)):  # arange: to rounding
        np.testing.assert_allclose(tg.arange(a, b, s).numpy(), torch.arange(a, b, s).numpy(),
                                   rtol=1e-6)


CONSTRUCTORS = {
    "tensor": lambda **k: tg.tensor([1.0, 2.0], **k), "zeros": lambda **k: tg.zeros(2, **k),
    "ones": lambda **k: tg.ones(2, **k), "empty": lambda **k: tg.empty(2, **k),
    "full": lambda **k: tg.full((2,), 1.0, **k), "arange": lambda **k: tg.arange(3.0, **k),
    "linspace": lambda **k: tg.linspace(0, 1, 3, **k), "logspace": lambda **k: tg.logspace(0, 1, 3, **k),
    "eye": lambda **k: tg.eye(2, **k), "rand": lambda **k: tg.rand(2, **k),
    "randn": lambda **k: tg.randn(2, **k), "zeros_like": lambda **k: tg.zeros_like(tg.ones(2), **k),
    "ones_like": lambda **k: tg.ones_like(tg.ones(2), **k),
    "empty_like": lambda **k: tg.empty_like(tg.ones(2), **k),
    "full_like": lambda **k: tg.full_like(tg.ones(2), 3.0, **k),
    "rand_like": lambda **k: tg.rand_like(tg.ones(2), **k),
    "randn_like": lambda **k: tg.randn_like(tg.ones(2), **k),
    "normal": lambda **k: tg.normal(0.0, 1.0, (2,), **k),
    "new_zeros": lambda **k: tg.ones(1).new_zeros(2, **k),
    "new_ones": lambda **k: tg.ones(1).new_ones(2, **k),
    "new_empty": lambda **k: tg.ones(1).new_empty(2, **k),
    "new_full": lambda **k: tg.ones(1).new_full((2,), 1.0, **k),
    "new_tensor": lambda **k: tg.ones(1).new_tensor([1.0], **k),
}
INT_CONSTRUCTORS = {
    "randint": lambda **k: tg.randint(0, 5, (2,), **k), "randperm": lambda **k: tg.randperm(4, **k),
    "randint_like": lambda **k: tg.randint_like(tg.ones(2, dtype=tg.int64), 5, **k),
}


@pytest.mark.parametrize("name", list(CONSTRUCTORS) + list(INT_CONSTRUCTORS))
def test_every_constructor_takes_torchs_keywords(name):
    make = {**CONSTRUCTORS, **INT_CONSTRUCTORS}[name]
    floating = name in CONSTRUCTORS
    assert make(device="cpu").device == tg.device("cpu")
    assert make(device=tg.device("cpu")).dtype == (tg.float32 if floating else tg.int64)
    dt = tg.float64 if floating else tg.int32
    assert make(dtype=dt).dtype == dt
    if floating:
        t = make(requires_grad=True)
        assert t.requires_grad and t.is_leaf
    with pytest.raises(RuntimeError, match="runs on the CPU"):
        make(device="cuda")
    if name not in ("tensor", "new_tensor") and "like" not in name or name.endswith("_like"):
        with pytest.raises(RuntimeError, match="strided"):
            make(layout=tg.sparse_coo)
        assert make(layout=tg.strided).shape == make().shape


@pytest.mark.parametrize("name", ["tensor", "empty", "rand", "randn", "randperm", "new_zeros"])
def test_pin_memory_is_refused_clearly(name):
    make = {**CONSTRUCTORS, **INT_CONSTRUCTORS}[name]
    assert make(pin_memory=False).shape[0] >= 1
    with pytest.raises(RuntimeError, match="pin_memory=True needs a GPU"):
        make(pin_memory=True)


def test_new_methods_take_selfs_dtype_and_not_its_grad():
    x = tg.ones(2, dtype=tg.float64, requires_grad=True)
    for t in (x.new_zeros(3), x.new_ones(3), x.new_empty(3), x.new_full((3,), 2), x.new_tensor([1, 2, 3])):
        assert t.dtype == tg.float64 and not t.requires_grad and t.shape == (3,)


@pytest.mark.parametrize("data, exc, msg", [
    (["a"], ValueError, "too many dimensions 'str'"),
    ("a", TypeError, "invalid data type"),
    ([[1, 2], [3]], ValueError, r"expected sequence of length 2 at dim 1 \(got 1\)"),
    ([1, [2]], TypeError, "not a sequence"),
    ([[1], 2], TypeError, "not a sequence"),
    ([object()], RuntimeError, "could not infer dtype of object"),
    ([1, None], RuntimeError, "could not infer dtype of NoneType"),
    (None, RuntimeError, "could not infer dtype of NoneType"),
    ([tg.ones(2), tg.ones(2)], ValueError, "only one element tensors"),
    ([2 ** 70], ValueError, "overflow"),
])
def test_tensor_rejects_what_torch_rejects(data, exc, msg):
    torch = pytest.importorskip("torch")
    with pytest.raises(exc, match=f"tensor: .*{msg}" if msg else None):
        tg.tensor(data)
    tdata = [torch.ones(2), torch.ones(2)] if isinstance(data, list) and data and \
        isinstance(data[0], tg.Tensor) else data
    with pytest.raises(exc):
        torch.tensor(tdata)


def test_size_errors_as_torch():
    with pytest.raises(RuntimeError, match="negative dimension"):
        tg.zeros(-1)
    with pytest.raises(TypeError, match="size must be a tuple of ints"):
        tg.zeros(2.5)
    with pytest.raises(TypeError, match="size must be a tuple of ints"):
        tg.ones((2, 3.0))
    assert tg.zeros(tg.tensor(2)).shape == (2,)
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        tg.arange(0, 1, 0)
    with pytest.raises(RuntimeError, match="inconsistent with step sign"):
        tg.arange(0, 10, -1)
    with pytest.raises(RuntimeError, match="floating point dtype"):
        tg.rand(2, dtype=tg.int64)
    with pytest.raises(TypeError, match="zeros: the size was given both positionally"):
        tg.zeros((2,), size=(2,))
    with pytest.raises(NotImplementedError, match="tril_indices: not implemented for tg.float32"):
        tg.tril_indices(3, 3, dtype=tg.float32)
    with pytest.raises(RuntimeError, match="triu_indices: .*negative dimension"):
        tg.triu_indices(-1, 3)
    with pytest.raises(TypeError, match="scalar_tensor: expected a number, got str"):
        tg.scalar_tensor("a")


def test_as_tensor_and_asarray_share_memory_like_torch():
    a = np.arange(3.0)
    t = tg.as_tensor(a)
    a[0] = 7
    assert t[0].item() == 7 and t.dtype == tg.float64
    assert tg.as_tensor(t) is t and tg.as_tensor(t, dtype=tg.float32).dtype == tg.float32
    c = tg.as_tensor(a, dtype=tg.float32)
    a[1] = 9
    assert c[1].item() == 1.0               # a new dtype copies
    assert np.shares_memory(tg.asarray(a).numpy(), a)
    assert not np.shares_memory(tg.asarray(a, copy=True).numpy(), a)
    assert tg.from_numpy(a).numpy() is a


def test_tensor_copies_and_keeps_dtypes_of_arrays_and_tensors():
    src = tg.ones(3, dtype=tg.float16)
    t = tg.tensor(src)
    assert t.dtype == tg.float16 and not np.shares_memory(t.numpy(), src.numpy())
    assert tg.tensor(np.ones(2, dtype=np.int32)).dtype == tg.int32
    assert tg.tensor(range(3)).tolist() == [0, 1, 2]
