"""Views share memory and a version counter with their base, also while grad mode records, and
in-place ops on views or bases give PyTorch's values and gradients (CopySlices semantics).
Every case runs the same program in PyTorch and tensorgrad (float64) and compares the values
of every tensor involved and the gradients of every leaf."""
import numpy as np
import pytest

import tensorgrad as tg


def _programs():
    """(name, program): program(lib, a, w) with lib = torch or tg, a a leaf (4, 3), w a leaf
    (3,); returns a dict of tensors to compare and a scalar loss."""
    def slice_mul(L, a, w):
        b = a * 1.0
        v = b[1:3]
        v.mul_(w)
        return {"b": b, "v": v}, (b * b).sum() + v.sum()

    def select_add(L, a, w):
        b = a * 2.0
        r = b[0]
        r.add_(w * w)
        return {"b": b, "r": r}, (b.exp()).sum()

    def column_copy(L, a, w):
        b = a.clone()
        col = b[:, 1]
        col.copy_(w.sum() * L.ones(4, dtype=L.float64))
        return {"b": b}, (b * b).sum()

    def transpose_div(L, a, w):
        b = a + 0.0
        t = b.T
        t.div_(w.reshape(3, 1) + 2.0)
        return {"b": b, "t": t}, (b ** 2).sum()

    def view_of_view(L, a, w):
        b = a * 1.0
        v = b[1:]            # (3, 3)
        vv = v[:, 0]         # (3,)
        vv.mul_(w)
        return {"b": b, "v": v, "vv": vv}, (b * L.arange(12.0, dtype=L.float64).reshape(4, 3)).sum() + v.sum()

    def reshape_view(L, a, w):
        b = a * 1.0
        f = b.view(12)
        f[2:5] = w * 3.0
        return {"b": b, "f": f}, (b.sin()).sum()

    def other_view_sees_change(L, a, w):
        b = a * 1.0
        v = b[0:2]           # rows 0, 1
        u = b[1:3]           # rows 1, 2: overlaps v in row 1
        v.mul_(w)
        return {"b": b, "u": u}, (u * u).sum()

    def base_inplace_then_view(L, a, w):
        b = a * 1.0
        v = b[2]
        b.mul_(w)
        return {"b": b, "v": v}, (v ** 3).sum() + b.sum()

    def setitem_on_view(L, a, w):
        b = a * 1.0
        v = b[1:]
        v[0] = w
        v[1, 2] = w[0] * 5.0
        return {"b": b, "v": v}, (b * b).sum()

    def diagonal_fill(L, a, w):
        b = a * 1.0
        sq = b[:3]
        d = sq.diagonal() if hasattr(sq, "diagonal") else None
        if d is None:
            d = sq.reshape(9)[::4]
        d.fill_(2.0)
        return {"b": b}, (b * w).sum()

    def chained_inplace(L, a, w):
        b = a * 1.0
        v = b[:, :2]
        v.mul_(2.0)
        v.add_(b[:, 2:3])   # reads the base's other column
        b.sub_(1.0)
        return {"b": b, "v": v}, (b * b).sum() + (v * w[:2]).sum()

    def untracked_leaf_base(L, a, w):
        b = L.zeros(4, 3, dtype=L.float64)   # a leaf that does not require grad
        b[1] = w
        v = b[2]
        v.add_(w * a[0])
        return {"b": b}, (b * b).sum()

    progs = [slice_mul, select_add, column_copy, transpose_div, view_of_view, reshape_view,
             other_view_sees_change, base_inplace_then_view, setitem_on_view, chained_inplace,
             untracked_leaf_base]
    return {p.__name__: p for p in progs}


PROGRAMS = _programs()


def _run(lib, prog, a0, w0):
    a = lib.tensor(a0, dtype=lib.float64, requires_grad=True)
    w = lib.tensor(w0, dtype=lib.float64, requires_grad=True)
    vals, loss = prog(lib, a, w)
    loss.backward()
    out = {k: v.detach().numpy().copy() for k, v in vals.items()}
    out["loss"] = loss.detach().numpy().copy()
    out["a.grad"] = a.grad.numpy().copy()
    out["w.grad"] = w.grad.numpy().copy()
    return out


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_inplace_on_views_matches_torch(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a0, w0 = rng.standard_normal((4, 3)), rng.standard_normal(3) + 1.5
    want = _run(torch, PROGRAMS[name], a0, w0)
    got = _run(tg, PROGRAMS[name], a0, w0)
    assert set(got) == set(want)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-12, atol=1e-12, err_msg=k)


def test_write_through_under_recording_and_no_grad():
    a = tg.tensor(np.arange(6.0), requires_grad=True)
    b = a * 1.0
    v = b[2:4]
    v.add_(10.0)                         # recording
    assert b.detach().numpy().tolist() == [0, 1, 12, 13, 4, 5]
    with tg.no_grad():
        b[0:2].mul_(-1.0)                # not recording: same memory
    assert b.detach().numpy().tolist() == [0, -1, 12, 13, 4, 5]
    assert np.shares_memory(v.detach().numpy(), b.detach().numpy())


def test_grad_fns_after_inplace_on_a_view_are_torchs():
    torch = pytest.importorskip("torch")
    for lib in (torch, tg):
        a = lib.ones(5, dtype=lib.float64, requires_grad=True)
        b = a * 2
        v = b[1:3]
        w = b.view(5, 1)
        v.mul_(3)
        names = (type(b.grad_fn).__name__ if lib is torch else b.grad_fn._torch_name(),
                 type(v.grad_fn).__name__ if lib is torch else v.grad_fn._torch_name(),
                 b.grad_fn.name())
        if lib is torch:
            want = names
        else:
            assert names == want
            assert v._base is b and w._base is b
            assert b.grad_fn.next_functions[0][0].name() == "MulBackward0"
    assert want == ("CopySlices", "AsStridedBackward0", "torch::autograd::CopySlices")


def test_version_counter_is_shared_by_views_and_bumped_by_inplace():
    b = tg.tensor([1.0, 2.0, 3.0, 4.0], dtype=tg.float64, requires_grad=True) * 1.0
    v, w = b[1:], b.view(2, 2)
    v0 = b._version
    v.add_(1.0)
    assert b._version == w._version == v._version == v0 + 1
    w.mul_(2.0)
    assert b._version == v0 + 2


def test_saved_tensor_modified_through_a_view_raises_at_backward():
    a = tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64, requires_grad=True)
    b = a * 1.0
    c = (b * b).sum()                    # saves b
    b[0:2].mul_(2.0)                     # recorded, writes into b
    with pytest.raises(RuntimeError, match=r"mul: .*modified by an in-place operation"):
        c.backward()


def test_saved_output_modified_in_place_raises_as_torch():
    a = tg.tensor([0.5, 1.0], dtype=tg.float64, requires_grad=True)
    y = a.exp()                          # saves its output
    y.add_(1.0)
    with pytest.raises(RuntimeError, match=r"exp: .*in-place"):
        y.sum().backward()


def test_inplace_on_leaf_or_view_of_leaf_that_requires_grad_raises():
    a = tg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        a.add_(1.0)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable"):
        a[1:].add_(1.0)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        a[0] = 5.0
    with tg.no_grad():
        a[1:].add_(1.0)
    assert a.detach().numpy().tolist() == [1, 2, 2]


def test_inplace_on_an_expanded_tensor_raises_torchs_error():
    e = tg.ones(3).expand(2, 3)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        e.add_(1.0)


def test_view_of_non_contiguous_raises_and_reshape_copies():
    torch = pytest.importorskip("torch")
    x = tg.tensor(np.arange(6.0).reshape(2, 3))
    with pytest.raises(RuntimeError, match=r"view size is not compatible.*Use \.reshape"):
        x.T.view(6)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        torch.arange(6.0).reshape(2, 3).T.view(6)
    r = x.T.reshape(6)
    assert r.tolist() == torch.arange(6.0).reshape(2, 3).T.reshape(6).tolist()
    assert not np.shares_memory(r.numpy(), x.numpy())
    v = x.view(3, 2)
    assert np.shares_memory(v.numpy(), x.numpy()) and v._base is x
    assert x.T.contiguous().view(6).tolist() == [0, 3, 1, 4, 2, 5]
    assert x.view(tg.int64).dtype == tg.int64 and x.view(tg.int64).shape == (2, 3)


@pytest.mark.parametrize("make", [lambda b: b[1:3], lambda b: b[2], lambda b: b.view(2, 3),
                                  lambda b: b.view(3, 2).T, lambda b: b[::2],
                                  lambda b: b.view(2, 3)[:, 1]])
def test_many_view_kinds_write_through_and_backprop(make):
    torch = pytest.importorskip("torch")
    res = []
    for lib in (torch, tg):
        a = lib.tensor(np.linspace(-1, 1, 6), dtype=lib.float64, requires_grad=True)
        b = a * 1.5
        v = make(b)
        v.mul_(v + 1.0)
        (b.sin().sum() + v.sum()).backward()
        res.append((b.detach().numpy().copy(), v.detach().numpy().copy(), a.grad.numpy().copy()))
    for want, got in zip(*res):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_gradcheck_through_inplace_on_views():
    def f(a, w):
        b = a * 1.0
        b[1:3].mul_(w)
        b[0].add_(w.sum())
        return (b * b).sum()
    a = tg.tensor(np.random.default_rng(1).standard_normal((4, 2)), requires_grad=True)
    w = tg.tensor([0.7, -1.3], dtype=tg.float64, requires_grad=True)
    assert tg.gradcheck(f, (a, w))
    assert tg.gradgradcheck(f, (a, w))


def test_integer_inplace_results_must_be_castable():
    torch = pytest.importorskip("torch")
    for lib in (torch, tg):
        i = lib.tensor([1, 2])
        with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                               "output type Long"):
            i.add_(0.5)
        with pytest.raises(RuntimeError, match="can't be cast"):
            i.div_(2)
        with pytest.raises(RuntimeError, match="result type Long can't be cast to the desired "
                                               "output type Bool"):
            lib.tensor([True]).add_(1)
        i.mul_(3)
        i += lib.tensor([1, 1], dtype=lib.int32)
        assert i.tolist() == [4, 7] and i.dtype == lib.int64
        f = lib.ones(2, dtype=lib.float32)
        f.add_(lib.ones(2, dtype=lib.float64))     # narrowing float64 -> float32 is allowed
        assert f.dtype == lib.float32
        i.fill_(2.7)                                # fill_/copy_/setitem truncate, as torch
        i[0] = 9.9
        assert i.tolist() == [9, 2]


@pytest.mark.parametrize("shape,off,d1,d2", [((3, 3), 0, 0, 1), ((3, 4), 1, 0, 1),
                                             ((4, 3), -2, 0, 1), ((2, 3, 4), 1, 2, 0),
                                             ((3, 3), 5, 0, 1), ((2, 3, 4), -1, -1, 0)])
def test_diagonal_is_a_view_as_torch(shape, off, d1, d2):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a, w = rng.standard_normal(shape), rng.standard_normal(shape)
    x = tg.tensor(a)
    v = x.diagonal(off, d1, d2)
    v.fill_(7.0)                                   # unrecorded write through the view
    t = torch.tensor(a)
    t.diagonal(off, d1, d2).fill_(7.0)
    assert x.tolist() == t.tolist() and x._version == v._version == 1
    xg, xt = tg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    bg, bt = xg * 1.0, xt * 1.0
    bg.diagonal(off, d1, d2).mul_(3.0)             # recorded: the base gets CopySlices
    bt.diagonal(off, d1, d2).mul_(3.0)
    (bg * tg.tensor(w)).sum().backward()
    (bt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(bg.detach().numpy(), bt.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=1e-15)
    assert bg.grad_fn.name() == bt.grad_fn.name()


def test_select_as_torch():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(1).standard_normal((2, 3, 4))
    for dim, i in ((0, 1), (1, -1), (2, 3), (-1, 0)):
        xg, xt = tg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        yg, yt = xg.select(dim, i), xt.select(dim, i)
        np.testing.assert_array_equal(yg.detach().numpy(), yt.detach().numpy())
        assert yg.grad_fn.name() == yt.grad_fn.name()
        (yg * yg).sum().backward()
        (yt * yt).sum().backward()
        np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=1e-15)
        assert tg.gradcheck(lambda x: tg.select(x, dim, i) * 2.0, (xg,))
    x = tg.tensor(a)
    x.select(1, 2).fill_(0.0)                       # a view: the write reaches x
    assert not x[:, 2].numpy().any()
    with pytest.raises(IndexError, match=r"select\(\): index 3 out of range"):
        x.select(1, 3)


def test_untracked_arithmetic_inplace_writes_straight_into_the_array():
    """add_/sub_/mul_ without autograd write into self's own array (ops/inplace._direct), and
    agree with torch: broadcast operands, the version bump, an operand that overlaps self;
    other dtypes, bool subtraction and read-only (expanded) targets take the general path."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    a = rng.standard_normal((4, 5)).astype(np.float32)
    for op, other in (("sub_", rng.standard_normal((4, 5)).astype(np.float32)),
                      ("add_", rng.standard_normal(5).astype(np.float32)),
                      ("mul_", rng.standard_normal((4, 1)).astype(np.float32))):
        t, tt = tg.tensor(a.copy()), torch.tensor(a.copy())
        buf = t._data
        v = t._version
        with tg.no_grad():
            getattr(t, op)(tg.tensor(other))
        getattr(tt, op)(torch.tensor(other))
        assert t._data is buf and t._version == v + 1
        np.testing.assert_array_equal(t.numpy(), tt.numpy())
    t, tt = tg.tensor(a.copy()), torch.tensor(a.copy())
    t[1:] += t[:-1]  # the operand overlaps the target: the result is as if computed apart
    tt[1:] += tt[:-1].clone()
    np.testing.assert_array_equal(t.numpy(), tt.numpy())
    t = tg.tensor(a.copy())
    t -= tg.tensor(a.astype(np.float64))  # float64 into float32: the general path, cast back
    assert t.dtype == tg.float32 and not t.numpy().any()
    for x in (tg.tensor([True, False]), tg.tensor([True, False])[:1]):  # also out of place
        with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with a bool"):
            x.sub_(tg.tensor([True]))
        with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with a bool"):
            x - tg.tensor([True])
    with pytest.raises(RuntimeError, match="more than one element"):
        tg.tensor([1.0]).expand(3).add_(tg.tensor([1.0, 2.0, 3.0]))
    t = tg.tensor(a.copy())
    with tg.no_grad(), pytest.raises(ValueError, match=r"add: shapes \(4, 5\) and \(3,\) do "
                                                       r"not broadcast"):
        t += tg.tensor(np.ones(3, np.float32))  # not numpy's bare broadcasting message
    np.testing.assert_array_equal(t.numpy(), a)
