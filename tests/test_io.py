"""tg.save / tg.load: safetensors files written and parsed without pickle; atomic saves; clear
errors for corrupt, truncated and foreign files; interop with the safetensors package."""
import os
import pickle

import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import io as tgio

safetensors_numpy = pytest.importorskip("safetensors.numpy")
from _torch import lazy, torch
safetensors_torch = lazy("safetensors.torch")


def _tg_mlp():
    tg.manual_seed(0)
    return tg.nn.Sequential(tg.nn.Linear(4, 8), tg.nn.ReLU(), tg.nn.Linear(8, 3))


def _torch_mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))


X = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)


def test_state_dict_roundtrip(tmp_path):
    model = _tg_mlp()
    p = tmp_path / "model.safetensors"
    tg.save(model.state_dict(), p)
    sd = tg.load(p)
    assert list(sd) == list(model.state_dict())
    for k, v in model.state_dict().items():
        assert isinstance(sd[k], tg.Tensor) and sd[k].dtype == v.dtype
        np.testing.assert_array_equal(sd[k].data, v.data)
        assert not sd[k].requires_grad
    other = tg.nn.Sequential(tg.nn.Linear(4, 8), tg.nn.ReLU(), tg.nn.Linear(8, 3))
    other.load_state_dict(tg.load(p, map_location="cpu", weights_only=True))  # torch spelling
    np.testing.assert_array_equal(other(tg.tensor(X)).data, model(tg.tensor(X)).data)


def test_nested_structures_and_dtypes_roundtrip(tmp_path):
    obj = {
        "model": {"w": tg.randn(3, 4), "w64": tg.randn(2, dtype=tg.float64),
                  "idx": tg.tensor([1, 2, 3]), "mask": tg.tensor([True, False]),
                  "i32": tg.tensor(np.array([7], dtype=np.int32)), "empty": tg.zeros(0, 3),
                  "scalar": tg.tensor(2.5)},
        "opt": {"state": {0: {"step": 3, "exp_avg": np.arange(4.0).reshape(2, 2)}},
                "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1],
                                  "nesterov": False, "name": None}]},
        "numbers": [1, 2 ** 70, -0.0, 1e-300, float("inf"), float("nan"), True, None, "héllo ✓"],
        "tuple": (np.float32(1.5), np.int64(3)),
        "uint8": np.arange(5, dtype=np.uint8),
        "f16": np.ones(2, dtype=np.float16),
    }
    p = tmp_path / "nested.safetensors"
    tg.save(obj, p)
    back = tg.load(p)
    m = back["model"]
    for k, v in obj["model"].items():
        assert isinstance(m[k], tg.Tensor) and m[k].dtype == v.dtype and m[k].shape == v.shape
        np.testing.assert_array_equal(m[k].data, v.data)
    st = back["opt"]["state"]
    assert list(st) == [0] and st[0]["step"] == 3 and isinstance(st[0]["exp_avg"], np.ndarray)
    np.testing.assert_array_equal(st[0]["exp_avg"], obj["opt"]["state"][0]["exp_avg"])
    assert back["opt"]["param_groups"] == obj["opt"]["param_groups"]
    assert isinstance(back["opt"]["param_groups"][0]["betas"], tuple)
    nums = back["numbers"]
    assert nums[:5] == [1, 2 ** 70, -0.0, 1e-300, float("inf")] and np.isnan(nums[5])
    assert np.copysign(1, nums[2]) == -1.0
    assert nums[6:] == [True, None, "héllo ✓"] and type(nums[6]) is bool
    assert back["tuple"] == (1.5, 3)
    assert back["uint8"].dtype == np.uint8 and back["f16"].dtype == np.float16


def test_parameters_and_non_contiguous_arrays(tmp_path):
    a = np.arange(12.0).reshape(3, 4).T  # not C-contiguous
    big_endian = np.arange(3, dtype=">i4")
    p = tmp_path / "x.safetensors"
    tg.save({"t": a, "param": tg.nn.Parameter(tg.ones(2)), "be": big_endian}, p)
    back = tg.load(p)
    np.testing.assert_array_equal(back["t"], a)
    assert isinstance(back["param"], tg.Tensor) and not back["param"].requires_grad
    np.testing.assert_array_equal(back["be"], [0, 1, 2])


def test_files_are_readable_by_the_safetensors_package(tmp_path):
    model = _tg_mlp()
    p = tmp_path / "tg.safetensors"
    tg.save(model.state_dict(), p)
    arrays = safetensors_numpy.load_file(str(p))
    assert set(arrays) == set(model.state_dict())
    tm = _torch_mlp()
    tm.load_state_dict(safetensors_torch.load_file(str(p)))
    with torch.no_grad():
        ref = tm(torch.tensor(X)).numpy()
    np.testing.assert_allclose(model(tg.tensor(X)).data, ref, rtol=1e-6, atol=1e-6)


def test_torch_state_dict_saved_by_safetensors_loads_into_tensorgrad(tmp_path):
    tm = _torch_mlp()
    p = tmp_path / "torch.safetensors"
    safetensors_torch.save_file(tm.state_dict(), str(p))
    sd = tg.load(p)
    assert set(sd) == set(tm.state_dict()) and all(v.dtype == np.float32 for v in sd.values())
    model = tg.nn.Sequential(tg.nn.Linear(4, 8), tg.nn.ReLU(), tg.nn.Linear(8, 3))
    model.load_state_dict(sd)
    with torch.no_grad():
        ref = tm(torch.tensor(X)).numpy()
    np.testing.assert_allclose(model(tg.tensor(X)).data, ref, rtol=1e-6, atol=1e-6)
    # all dtypes the numpy writer knows come through
    q = tmp_path / "np.safetensors"
    arrs = {"f64": np.ones(2), "i8": np.arange(3, dtype=np.int8), "b": np.array([True]),
            "u16": np.arange(2, dtype=np.uint16)}
    safetensors_numpy.save_file(arrs, str(q))
    back = tg.load(q)
    for k, v in arrs.items():
        assert back[k].dtype == v.dtype
        np.testing.assert_array_equal(back[k].data, v)


def test_bfloat16_widened_to_float32(tmp_path):
    p = tmp_path / "bf16.safetensors"
    t = torch.tensor([1.5, -2.0, 3.25], dtype=torch.bfloat16)
    safetensors_torch.save_file({"x": t}, str(p))
    x = tg.load(p)["x"]
    assert x.dtype == np.float32 and x.data.tolist() == [1.5, -2.0, 3.25]


# ---- atomic saves ---------------------------------------------------------------------------------
def test_failed_save_midway_leaves_previous_file_intact(tmp_path, monkeypatch):
    p = tmp_path / "ckpt.safetensors"
    tg.save({"a": tg.ones(3), "b": tg.zeros(2)}, p)
    before = p.read_bytes()
    calls = []
    real = tgio._array_bytes

    def failing(arr):
        calls.append(1)
        if len(calls) == 2:  # the first tensor's bytes are already written
            raise OSError("disk full (simulated)")
        return real(arr)

    monkeypatch.setattr(tgio, "_array_bytes", failing)
    with pytest.raises(OSError, match="disk full"):
        tg.save({"a": tg.full((3,), 5.0), "b": tg.full((2,), 7.0)}, p)
    assert p.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["ckpt.safetensors"]  # no temp file left behind
    np.testing.assert_array_equal(tg.load(p)["a"].data, [1, 1, 1])


def test_unsupported_object_raises_and_keeps_old_file(tmp_path):
    p = tmp_path / "c.safetensors"
    tg.save({"a": 1}, p)
    before = p.read_bytes()
    with pytest.raises(TypeError, match=r"entry model\.bad is a set"):
        tg.save({"model": {"w": tg.ones(2), "bad": {1, 2}}}, p)
    with pytest.raises(TypeError, match=r"entry m is a Sequential; save its state_dict\(\)"):
        tg.save({"m": _tg_mlp()}, p)
    with pytest.raises(TypeError, match="complex"):
        tg.save({"z": np.ones(2, dtype=np.complex64)}, p)
    assert p.read_bytes() == before and os.listdir(tmp_path) == ["c.safetensors"]


def test_save_replaces_file_and_sets_normal_permissions(tmp_path):
    p = tmp_path / "d.safetensors"
    tg.save({"v": tg.ones(1)}, p)
    tg.save({"v": tg.zeros(1)}, str(p))
    assert tg.load(str(p))["v"].data.tolist() == [0.0]
    assert os.stat(p).st_mode & 0o644 == 0o644 & ~_umask()


def _umask():
    u = os.umask(0)
    os.umask(u)
    return u


# ---- corrupt, truncated, foreign files -----------------------------------------------------------
@pytest.fixture
def good(tmp_path):
    p = tmp_path / "good.safetensors"
    tg.save({"w": tg.randn(4, 4), "n": 3}, p)
    return p


def test_truncated_file(good, tmp_path):
    raw = good.read_bytes()
    bad = tmp_path / "trunc.safetensors"
    bad.write_bytes(raw[:-10])
    with pytest.raises(tgio.LoadError, match=r"trunc\.safetensors.*truncated"):
        tg.load(bad)
    bad.write_bytes(raw[:20])
    with pytest.raises(tgio.LoadError, match=r"trunc\.safetensors.*(truncated|header)"):
        tg.load(bad)
    bad.write_bytes(raw[:5])
    with pytest.raises(tgio.LoadError, match=r"trunc\.safetensors.*too short"):
        tg.load(bad)


def test_empty_and_garbage_files(tmp_path):
    p = tmp_path / "junk.bin"
    p.write_bytes(b"")
    with pytest.raises(tgio.LoadError, match=r"junk\.bin: only 0 bytes"):
        tg.load(p)
    p.write_bytes(os.urandom(64))
    with pytest.raises(tgio.LoadError, match=r"junk\.bin"):
        tg.load(p)
    p.write_bytes((10).to_bytes(8, "little") + b"not json!!")
    with pytest.raises(tgio.LoadError, match=r"junk\.bin.*not a safetensors|junk\.bin.*'\{'"):
        tg.load(p)
    p.write_bytes((10).to_bytes(8, "little") + b"{broken js")
    with pytest.raises(tgio.LoadError, match=r"junk\.bin.*not valid JSON"):
        tg.load(p)


def test_inconsistent_header(tmp_path):
    import json
    p = tmp_path / "h.safetensors"

    def write(header, data):
        raw = json.dumps(header).encode()
        p.write_bytes(len(raw).to_bytes(8, "little") + raw + data)

    write({"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8)
    with pytest.raises(tgio.LoadError, match=r"'x'.*needs 12 bytes.*span 8"):
        tg.load(p)
    write({"x": {"dtype": "Q9", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4)
    with pytest.raises(tgio.LoadError, match="unsupported dtype 'Q9'"):
        tg.load(p)
    write({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 12)
    with pytest.raises(tgio.LoadError, match="8 unexpected bytes"):
        tg.load(p)
    write({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
           "y": {"dtype": "F32", "shape": [1], "data_offsets": [2, 6]}}, b"\0" * 6)
    with pytest.raises(tgio.LoadError, match="overlap"):
        tg.load(p)
    write({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
           "__metadata__": {"tensorgrad": "{not json"}}, b"\0" * 4)
    with pytest.raises(tgio.LoadError, match="tensorgrad metadata is corrupt"):
        tg.load(p)


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch " + str(_Evil.marker),))


def test_pickle_file_is_refused_and_never_executed(tmp_path):
    _Evil.marker = tmp_path / "pwned"
    p = tmp_path / "evil.pt"
    p.write_bytes(pickle.dumps({"w": _Evil()}))
    with pytest.raises(tgio.LoadError, match=r"evil\.pt.*pickle.*never unpickles"):
        tg.load(p)
    assert not _Evil.marker.exists()
    q = tmp_path / "model.pt"
    torch.save(_torch_mlp().state_dict(), q)
    with pytest.raises(tgio.LoadError, match=r"model\.pt.*(pickle|not a safetensors)"):
        tg.load(q)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        tg.load(tmp_path / "nope.safetensors")


# ---- property: any nested structure round-trips ------------------------------------------------------
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402
from hypothesis.extra.numpy import array_shapes, arrays  # noqa: E402

_DT = st.sampled_from([np.float32, np.float64, np.int64, np.int32, np.uint8, np.bool_, np.float16])
_ARR = _DT.flatmap(lambda dt: arrays(dt, array_shapes(min_dims=0, max_dims=3, min_side=0,
                                                      max_side=3)))
_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 80, 2 ** 80),
                  st.floats(allow_nan=False), st.text(max_size=8), _ARR,
                  _ARR.map(lambda a: tg.tensor(a)))
_KEY = st.one_of(st.text(max_size=6), st.integers(-5, 5))
_TREE = st.recursive(_LEAF, lambda kids: st.one_of(st.lists(kids, max_size=3),
                                                   st.lists(kids, max_size=3).map(tuple),
                                                   st.dictionaries(_KEY, kids, max_size=3)),
                     max_leaves=8)


def _same(a, b):
    if isinstance(a, tg.Tensor):
        return (isinstance(b, tg.Tensor) and not b.requires_grad and a.dtype == b.dtype
                and a.shape == b.shape and np.array_equal(a.data, b.data, equal_nan=True))
    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
                and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    if isinstance(a, dict):
        return (isinstance(b, dict) and list(a) == list(b)
                and all(type(k) is type(kb) for k, kb in zip(a, b))
                and all(_same(a[k], b[k]) for k in a))
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(obj=_TREE)
def test_any_nested_structure_roundtrips(tmp_path, obj):
    p = tmp_path / "prop.safetensors"
    tg.save(obj, p)
    assert _same(obj, tg.load(p))


def test_save_and_load_file_objects(tmp_path):
    """torch.save/torch.load idioms with io.BytesIO and open binary files."""
    import io
    model = tg.nn.Sequential(tg.nn.Linear(2, 3), tg.nn.BatchNorm1d(3))
    buf = io.BytesIO()
    tg.save(model.state_dict(), buf)
    buf.seek(0)
    sd = tg.load(buf, map_location="cpu")
    assert list(sd) == list(model.state_dict())
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(sd[k].numpy(), v.numpy())
    p = tmp_path / "w.safetensors"
    with open(p, "wb") as f:
        tg.save({"x": tg.arange(3), "meta": [1, "a"]}, f)
    with open(p, "rb") as f:
        back = tg.load(f)
    assert back["meta"] == [1, "a"] and back["x"].tolist() == [0, 1, 2]
    assert tg.load(p)["x"].tolist() == [0, 1, 2]           # the same bytes as a path save
    with pytest.raises(TypeError, match="binary mode"):
        tg.load(io.StringIO("text"))
    with pytest.raises(TypeError, match="save: f must be a path or a binary file object"):
        tg.save({}, 3)
    with pytest.raises(tg.io.LoadError, match="<BytesIO>: only 3 bytes"):
        tg.load(io.BytesIO(b"abc"))
