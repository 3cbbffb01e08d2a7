"""dtypes as PyTorch's: names, type promotion (checked against torch over random dtype pairs,
0-d/n-d tensors and Python/numpy scalars), the default dtype, finfo/iinfo, can_cast."""
import itertools

import numpy as np
import pytest

import tensorgrad as tg

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def test_torch_dtype_names():
    assert tg.int is tg.int32 and tg.long is tg.int64 and tg.short is tg.int16
    assert tg.float is tg.float32 and tg.double is tg.float64 and tg.half is tg.float16
    assert tg.bool is np.bool_ and tg.uint8 is np.uint8 and tg.int8 is np.int8
    x = tg.ones(2, dtype=tg.long)
    assert x.dtype == tg.int64 == tg.long and x.dtype != tg.int
    assert tg.zeros(2, dtype=tg.half).dtype == tg.float16
    assert tg.zeros(2, dtype="float64").dtype == tg.double
    assert tg.zeros(2, dtype=float).dtype == tg.float64      # Python types, as torch
    assert tg.zeros(2, dtype=int).dtype == tg.int64 and tg.zeros(2, dtype=bool).dtype == tg.bool
    assert tg.ones(2).is_floating_point() and tg.is_floating_point(tg.ones(2))
    assert not tg.is_floating_point(tg.ones(2, dtype=tg.int32))
    assert tg.is_tensor(x) and not tg.is_tensor(np.ones(2))
    with pytest.raises(TypeError, match="dtype"):
        tg.zeros(2, dtype="bfloat16")


def test_finfo_iinfo_match_torch():
    torch = pytest.importorskip("torch")
    for n in ("float16", "float32", "float64"):
        a, b = tg.finfo(getattr(tg, n)), torch.finfo(getattr(torch, n))
        for k in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
            assert getattr(a, k) == getattr(b, k), (n, k)
            assert type(getattr(a, k)) is type(getattr(b, k))
        assert a.dtype == b.dtype
    assert tg.finfo().eps == torch.finfo().eps
    for n in ("uint8", "int8", "int16", "int32", "int64"):
        a, b = tg.iinfo(getattr(tg, n)), torch.iinfo(getattr(torch, n))
        assert (a.bits, a.max, a.min, a.dtype) == (b.bits, b.max, b.min, b.dtype)
    with pytest.raises(TypeError, match="iinfo"):
        tg.iinfo(tg.float32)
    with pytest.raises(TypeError, match="finfo"):
        tg.finfo(tg.int32)
    with pytest.raises(TypeError):
        tg.iinfo(tg.bool)


def test_promote_types_result_type_can_cast_match_torch():
    torch = pytest.importorskip("torch")
    for a, b in itertools.product(NAMES, NAMES):
        ta, tb = getattr(torch, a), getattr(torch, b)
        assert str(torch.promote_types(ta, tb)).split(".")[1] == np.dtype(
            tg.promote_types(getattr(tg, a), getattr(tg, b))).name.replace("bool", "bool"), (a, b)
        assert torch.can_cast(ta, tb) == tg.can_cast(getattr(tg, a), getattr(tg, b)), (a, b)


def _tensor(lib, name, ndim, rng):
    vals = rng.integers(1, 4, size=(3,) if ndim else ())
    if name == "bool":
        vals = vals > 1
    return lib.tensor(vals.tolist(), dtype=getattr(lib, name))


def _scalar(kind):
    return {"bool": True, "int": 2, "float": 2.5, "np_float64": np.float64(1.5),
            "np_int64": np.int64(3), "big_int": 1000}[kind]


OPS = {"add": lambda L, a, b: a + b, "sub": lambda L, a, b: a - b,
       "mul": lambda L, a, b: a * b, "div": lambda L, a, b: a / b,
       "rsub": lambda L, a, b: b - a, "rdiv": lambda L, a, b: b / a,
       "pow": lambda L, a, b: a ** b, "where": lambda L, a, b: L.where(
           L.tensor([True, False, True]), a, b),
       "maximum": lambda L, a, b: L.maximum(a, b)}


def _outcome(f):
    try:
        with np.errstate(all="ignore"):  # 1 / False is inf, silently, in torch
            out = f()
    except (RuntimeError, TypeError, ValueError, OverflowError):
        return "raises"
    return (str(out.dtype).replace("torch.", ""), np.asarray(out.tolist(), dtype=np.float64))


def test_type_promotion_matches_torch_on_random_cases():
    """300 random (op, dtype, 0-d or not) pairs of tensors and 300 tensor-scalar cases:
    the same dtype as torch (or both raise), the same values."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    cases = 0
    for _ in range(300):
        op = rng.choice([o for o in OPS if o not in ("rsub", "rdiv")])
        a, b = rng.choice(NAMES, 2)
        da, db = rng.integers(0, 2, 2)
        seed = int(rng.integers(1 << 30))
        if op == "pow" and a == b == "bool":  # torch: not implemented; numpy: int8
            continue
        res = [_outcome(lambda: OPS[op](L, _tensor(L, a, da, np.random.default_rng(seed)),
                                        _tensor(L, b, db, np.random.default_rng(seed + 1))))
               for L in (torch, tg)]
        _same(res, (op, a, da, b, db))
        cases += 1
    kinds = ["bool", "int", "float", "np_float64", "np_int64", "big_int"]
    for _ in range(300):
        op = rng.choice([o for o in OPS if o not in ("where", "maximum")])
        a, k, da = rng.choice(NAMES), rng.choice(kinds), int(rng.integers(0, 2))
        if op == "pow" and (a == "bool" or k == "big_int"):  # torch: overflow checks differ
            continue
        seed = int(rng.integers(1 << 30))
        res = [_outcome(lambda: OPS[op](L, _tensor(L, a, da, np.random.default_rng(seed)),
                                        _scalar(k)))
               for L in (torch, tg)]
        _same(res, (op, a, da, k))
        cases += 1
    assert cases > 550


def _same(res, case):
    want, got = res
    if want == "raises":
        assert got == "raises", case
        return
    assert got != "raises", case
    assert got[0] == want[0], case
    np.testing.assert_allclose(got[1], want[1], rtol=1e-3, err_msg=str(case))


def test_the_rules_named_in_the_issue():
    i64, i32 = tg.tensor([1, 2]), tg.tensor([1, 2], dtype=tg.int32)
    assert (i64 * 0.5).dtype == tg.float32                      # int * Python float
    assert (i32 + i64).dtype == tg.int64
    assert (tg.ones(2) + i64).dtype == tg.float32               # float32 + int64 tensor
    assert (tg.tensor([True, False]) + i32).dtype == tg.int32   # bool + int
    assert (i64 / i64).dtype == tg.float32 and (i64 / 2).tolist() == [0.5, 1.0]
    assert (i32 + 2 ** 40).dtype == tg.int32                    # scalars never widen
    assert (tg.ones(2) + tg.tensor(1.0, dtype=tg.float64)).dtype == tg.float32  # 0-d
    assert (tg.ones(2, dtype=tg.float16) + 1e3).dtype == tg.float16
    assert (tg.tensor([1], dtype=tg.uint8) - 2).tolist() == [255]  # wraps, as torch


def test_default_dtype_reaches_every_float_constructor():
    torch = pytest.importorskip("torch")
    assert tg.get_default_dtype() is tg.float32
    tg.set_default_dtype(tg.float64)
    try:
        assert tg.get_default_dtype() is tg.float64
        made = [tg.tensor([1.0]), tg.tensor(2.5), tg.zeros(2), tg.ones(2), tg.empty(2),
                tg.full((2,), 1.5), tg.rand(2), tg.randn(2), tg.arange(3.0), tg.linspace(0, 1, 3),
                tg.logspace(0, 1, 3), tg.eye(2), tg.tensor([1, 2]) * 0.5,
                tg.tensor([1, 2]) / tg.tensor([2, 2]), tg.normal(0.0, 1.0, (2,)),
                tg.tensor([1, 2.5]), tg.Tensor([1.0])]
        for t in made:
            assert t.dtype == tg.float64, t
        assert tg.tensor([1, 2]).dtype == tg.int64 and tg.ones(2, dtype=tg.float32).dtype == tg.float32
        assert "dtype" not in repr(tg.ones(2)) and "dtype=tg.float32" in repr(tg.ones(2, dtype=tg.float32))
        assert tg.finfo().eps == torch.finfo(torch.float64).eps
    finally:
        tg.set_default_dtype(tg.float32)
    assert tg.zeros(1).dtype == tg.float32
    with pytest.raises(TypeError, match="floating-point"):
        tg.set_default_dtype(tg.int64)


def test_default_device():
    assert tg.get_default_device() == tg.device("cpu")
    tg.set_default_device("cpu")
    tg.set_default_device(None)
    with pytest.raises(RuntimeError, match="runs on the CPU"):
        tg.set_default_device("cuda")


def test_dtype_strings_and_type():
    torch = pytest.importorskip("torch")
    for name in NAMES:
        t, r = tg.zeros(2, dtype=getattr(tg, name)), torch.zeros(2, dtype=getattr(torch, name))
        assert t.type() == r.type()
        assert t.element_size() == r.element_size() and t.itemsize == r.itemsize
        assert t.nbytes == r.nbytes
    assert tg.ones(2).type(tg.float64).dtype == tg.float64
    assert tg.ones(2).type("torch.DoubleTensor").dtype == tg.float64
    assert tg.ones(2).type("torch.IntTensor").dtype == tg.int32


UNARY_FLOAT = ["sqrt", "exp", "log", "log1p", "expm1", "rsqrt", "reciprocal", "sin", "cos",
               "tanh", "sigmoid", "erf", "atan", "log2", "sinh"]


def test_float_functions_of_integer_tensors_give_the_default_float_dtype():
    torch = pytest.importorskip("torch")
    for default in ("float32", "float64"):
        old = tg.get_default_dtype()
        tg.set_default_dtype(getattr(tg, default))
        torch_old = torch.get_default_dtype()
        torch.set_default_dtype(getattr(torch, default))
        try:
            for data, dt in (([1, 4], "int64"), ([2, 3], "int8"), ([True, False], "bool"),
                             ([1, 2], "uint8")):
                for name in UNARY_FLOAT:
                    g = getattr(tg.tensor(data, dtype=getattr(tg, dt)), name)()
                    t = getattr(torch.tensor(data, dtype=getattr(torch, dt)), name)()
                    assert str(g.dtype) == str(t.dtype).replace("torch.", ""), (name, dt)
                    np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=1e-6)
        finally:
            tg.set_default_dtype(old)
            torch.set_default_dtype(torch_old)
