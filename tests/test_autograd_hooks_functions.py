"""The engine's hooks, the Function API, version counters (in-place changes caught at
backward), anomaly mode, gradcheck itself, and grad_fn names as PyTorch prints them."""
import re

import numpy as np
import pytest

import tensorgrad as tg
from _wrong_grads import square_with_backward


def f64(a, requires_grad=True):
    return tg.tensor(np.asarray(a, dtype=np.float64), dtype=tg.float64, requires_grad=requires_grad)


# ---- hooks -------------------------------------------------------------------------------------
def test_leaf_hook_sees_and_replaces_gradient():
    a = f64([1.0, 2.0])
    seen = []
    a.register_hook(lambda g: seen.append(g.detach().numpy().copy()))
    a.register_hook(lambda g: g * 10)
    (a * 3).sum().backward()
    np.testing.assert_allclose(seen[0], [3.0, 3.0])
    np.testing.assert_allclose(a.grad.detach().numpy(), [30.0, 30.0])


def test_nonleaf_hook_changes_upstream_gradient():
    a = f64([1.0, 2.0])
    m = a * 2
    m.register_hook(lambda g: g * 0.5)
    (m * m).sum().backward()
    np.testing.assert_allclose(a.grad.detach().numpy(), 2 * (2 * m.detach().numpy()) * 0.5)


def test_hooks_apply_with_create_graph_too():
    a = f64([1.0, 2.0])
    a.register_hook(lambda g: g * 2)
    (a * a).sum().backward(create_graph=True)
    np.testing.assert_allclose(a.grad.detach().numpy(), 4 * a.detach().numpy())


def test_hook_changing_gradient_shape_is_an_error():
    a = f64([1.0, 2.0])
    a.register_hook(lambda g: g.sum())
    with pytest.raises(RuntimeError, match=r"hook.*shape.*\(2,\).*\(\)"):
        (a * 2).sum().backward()
    b = f64([1.0, 2.0])
    m = b * 2
    m.register_hook(lambda g: g[:1])
    with pytest.raises(RuntimeError, match=r"hook.*shape"):
        (m * m).sum().backward()


def test_leaf_hook_runs_once_on_the_total_gradient():
    """A leaf used twice: its hook sees the summed gradient once (PyTorch), so a nonlinear hook
    such as clipping acts on the total."""
    seen = []
    a = f64([1.0, 2.0])
    a.register_hook(lambda g: seen.append(g.detach().numpy().copy()) or g.clamp(-1, 1))
    (a * 3 + a * 5).sum().backward()
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], [8.0, 8.0])
    np.testing.assert_allclose(a.grad.detach().numpy(), [1.0, 1.0])


def test_nonleaf_hook_runs_once_on_the_total_gradient():
    seen = []
    a = f64([1.0, 2.0])
    m = a * 1
    m.register_hook(lambda g: seen.append(g.detach().numpy().copy()) or g.clamp(-1, 1))
    (m * 3 + m * 5).sum().backward()
    assert len(seen) == 1
    np.testing.assert_allclose(a.grad.detach().numpy(), [1.0, 1.0])


def test_register_hook_needs_requires_grad():
    with pytest.raises(RuntimeError, match="require"):
        tg.ones(2).register_hook(lambda g: g)


def test_retain_grad():
    a = f64([1.0, 2.0])
    m = a * 2
    m.retain_grad()
    (m * m).sum().backward()
    np.testing.assert_allclose(m.grad.detach().numpy(), 2 * m.detach().numpy())


# ---- Function API ---------------------------------------------------------------------------------
class Cube(tg.autograd.Function):
    @staticmethod
    def forward(ctx, x, k):
        ctx.save_for_backward(x)
        ctx.k = k
        return x * x * x * k

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x * ctx.k, None


class MyExp(tg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class SplitSign(tg.autograd.Function):
    """Two outputs, one of them marked non-differentiable."""

    @staticmethod
    def forward(ctx, x):
        pos = x.clamp(min=0)
        mask = x > 0
        ctx.save_for_backward(mask)
        ctx.mark_non_differentiable(mask)
        return pos, mask

    @staticmethod
    def backward(ctx, g, gmask):
        (mask,) = ctx.saved_tensors
        return g * mask.double()


def test_function_forward_backward_and_gradcheck():
    x = f64([0.5, -1.0, 2.0])
    y = Cube.apply(x, 2.0)
    assert y.grad_fn is not None and y.grad_fn.name == "Cube"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), 6 * x.detach().numpy() ** 2)
    assert tg.gradcheck(lambda t: Cube.apply(t, 2.0), (f64([0.5, -1.0]),))


def test_function_needs_input_grad_and_no_grad_inside_forward():
    record = {}

    class Probe(tg.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            record["needs"] = ctx.needs_input_grad
            record["enabled"] = tg.is_grad_enabled()
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g, None

    Probe.apply(f64([1.0]), f64([1.0], requires_grad=False))
    assert record["needs"] == (True, False)
    assert record["enabled"] is False


def test_function_double_backward_through_saved_input():
    x = f64([0.5, -1.0])
    (g,) = tg.grad(Cube.apply(x, 1.0).sum(), x, create_graph=True)
    (h,) = tg.grad(g.sum(), x)
    np.testing.assert_allclose(h.detach().numpy(), 6 * x.detach().numpy())


def test_function_double_backward_through_saved_output_like_torch():
    x = f64([0.5, 1.0])
    (g,) = tg.grad(MyExp.apply(x).sum(), x, create_graph=True)
    (h,) = tg.grad(g.sum(), x)
    np.testing.assert_allclose(h.detach().numpy(), np.exp(x.detach().numpy()))


def test_function_non_differentiable_output():
    x = f64([0.5, -1.0, 2.0])
    pos, mask = SplitSign.apply(x)
    assert not mask.requires_grad and pos.requires_grad
    pos.sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [1.0, 0.0, 1.0])


def test_function_wrong_number_of_gradients():
    class Bad(tg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g, g

    with pytest.raises(RuntimeError, match="Bad.backward returned 2 gradients"):
        Bad.apply(f64([1.0])).sum().backward()


def test_function_without_backward_names_itself():
    class NoBack(tg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

    with pytest.raises(RuntimeError, match="NoBack"):
        NoBack.apply(f64([1.0])).sum().backward()


# ---- version counters ---------------------------------------------------------------------------
def test_inplace_change_to_saved_tensor_detected():
    a = f64([1.0, 2.0])
    b = a * 2
    c = b * b          # saves b
    b.add_(1)
    with pytest.raises(RuntimeError, match=r"mul: .*modified by an in-place operation"):
        c.sum().backward()


def test_inplace_on_unsaved_tensor_is_fine_and_tracked():
    a = f64([1.0, 2.0])
    b = a * 2
    c = b + 1          # add saves nothing
    b.mul_(3)          # recorded: b is now (a*2)*3
    c.sum().backward(retain_graph=True)
    np.testing.assert_allclose(a.grad.detach().numpy(), [2.0, 2.0])
    a.grad = None
    b.sum().backward()
    np.testing.assert_allclose(a.grad.detach().numpy(), [6.0, 6.0])


@pytest.mark.parametrize("op", ["exp", "tanh", "sigmoid", "sqrt"])
def test_inplace_change_to_saved_output_detected(op):
    """Ops that save their output (exp, tanh, ...) must notice when it is changed in place
    (here under no_grad, which writes into the saved array), as PyTorch does."""
    x = f64([0.5, 1.0])
    y = getattr(x, op)()
    with tg.no_grad():
        y.add_(100.0)
    with pytest.raises(RuntimeError, match=rf"{op}: .*in-place"):
        y.sum().backward()


VIEWS = {"slice": lambda b: b[0:2], "int": lambda b: b.reshape(3, 1)[1], "reshape": lambda b: b.reshape(3, 1),
         "unsqueeze": lambda b: b.unsqueeze(0), "T": lambda b: b.reshape(1, 3).T,
         "detach": lambda b: b.detach(), "view_of_view": lambda b: b[1:].reshape(2, 1)[0]}


@pytest.mark.parametrize("view", list(VIEWS))
def test_inplace_change_through_a_view_is_detected(view):
    """Views share their base's version counter (as PyTorch): writing through any alias of a
    saved tensor is caught at backward."""
    a = f64([1.0, 2.0, 3.0])
    b = a * 2
    c = (b * b).sum()          # saves b
    v = VIEWS[view](b)
    with tg.no_grad():
        v.add_(1.0)            # writes into b's memory
    assert not np.array_equal(b.detach().numpy(), 2 * a.detach().numpy())  # the write did reach b
    with pytest.raises(RuntimeError, match=r"mul: .*in-place"):
        c.backward()


def test_inplace_ops_bump_version():
    t = tg.zeros(3)
    v = t._version
    t.add_(1)
    t += 1
    t[0] = 5.0
    t.mul_(2)
    t.zero_()
    assert t._version == v + 5


def test_inplace_on_leaf_requiring_grad_refused_outside_no_grad():
    a = f64([1.0])
    with pytest.raises(RuntimeError, match="leaf"):
        a.add_(1)
    with tg.no_grad():
        a.add_(1)
    assert a.detach().numpy()[0] == 2.0


def test_inplace_on_saved_input_of_function_detected():
    x = f64([0.5, 2.0])
    z = x * 1.0
    y = Cube.apply(z, 1.0)
    z.mul_(2)
    with pytest.raises(RuntimeError, match="Cube: .*in-place"):
        y.sum().backward()


# ---- anomaly mode -------------------------------------------------------------------------------
def test_detect_anomaly_forward_names_op_and_site():
    a = f64([-1.0, 1.0])
    with tg.autograd.detect_anomaly():
        with pytest.raises(RuntimeError) as ei:
            with np.errstate(invalid="ignore"):
                tg.log(a)  # <- the creation site
    msg = str(ei.value)
    assert "'log'" in msg and "forward" in msg
    assert "test_autograd_hooks_functions.py" in msg and "tg.log(a)" in msg


def test_detect_anomaly_backward_names_op_and_site():
    a = f64([0.0, 1.0])
    with tg.autograd.detect_anomaly():
        y = tg.sqrt(a).sum()
        with pytest.raises(RuntimeError) as ei:
            with np.errstate(divide="ignore"):
                y.backward()
    msg = str(ei.value)
    assert "'sqrt'" in msg and "backward" in msg and "y = tg.sqrt(a).sum()" in msg


def test_detect_anomaly_first_bad_op_in_backward_is_named():
    """A NaN born in one op's backward is reported there, not in the ops it flows into."""
    a = f64([0.0, 4.0])
    with tg.autograd.detect_anomaly():
        s = tg.sqrt(a)
        y = (s * 3.0).exp().sum()
        with pytest.raises(RuntimeError, match="'sqrt'"):
            with np.errstate(divide="ignore", invalid="ignore"):
                y.backward()


def test_detect_anomaly_decorator_and_off_by_default():
    assert not tg.autograd.is_anomaly_enabled()

    @tg.autograd.detect_anomaly()
    def f(x):
        return tg.log(x)

    with pytest.raises(RuntimeError, match="'log'"):
        with np.errstate(divide="ignore"):
            f(f64([0.0]))
    assert not tg.autograd.is_anomaly_enabled()
    with np.errstate(divide="ignore"):
        tg.log(f64([0.0]))  # no anomaly mode: no error


# ---- gradcheck itself --------------------------------------------------------------------------
def test_gradcheck_reports_wrong_gradient():
    Wrong = square_with_backward(1)  # returns x·g where the derivative is 2x
    with pytest.raises(RuntimeError, match=r"input 0.*numerical.*analytical"):
        tg.gradcheck(Wrong.apply, (f64([1.0, 2.0]),))
    assert tg.gradcheck(Wrong.apply, (f64([1.0, 2.0]),), raise_exception=False) is False


def test_grad_fn_has_name_and_next_functions():
    a = f64([1.0])
    y = (a * 2).exp()
    assert y.grad_fn.name == "exp"
    (nxt, _), = y.grad_fn.next_functions
    assert nxt.name == "mul"
    assert re.search("grad_fn=<ExpBackward0>", repr(y))


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable():
    class NumpyBackward(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * tg.tensor(3 * x.detach().numpy() ** 2)  # computed outside the graph

    x = f64([0.5, 1.5])
    assert tg.gradcheck(NumpyBackward.apply, (x,))            # first order is right
    with pytest.raises(RuntimeError, match="input 0"):
        tg.gradgradcheck(NumpyBackward.apply, (x,))           # second order is not
    assert tg.gradgradcheck(Cube.apply, (x, 1.0))
