"""The engine: graph recording, backward order and accumulation, retain/create graph, tg.grad,
grad modes, hooks, the Function API, version counters and anomaly mode."""
import re

import numpy as np
import pytest

import tensorgrad as tg

from _torch import torch


def f64(a, requires_grad=True):
    return tg.tensor(np.asarray(a, dtype=np.float64), dtype=tg.float64, requires_grad=requires_grad)


# ---- graph and backward ----------------------------------------------------------------------
def test_reused_nodes_accumulate_b_eq_a_plus_a():
    a = tg.tensor(2.0, requires_grad=True)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad.item() == 4.0


def test_diamond_graph_matches_torch():
    x = np.array([0.3, -1.2, 2.0])

    def f(m, a):
        b = a * a
        c = b.sin() + b * a
        d = c * b - a.exp()
        return (d * c).sum()

    a = f64(x)
    f(tg, a).backward()
    ta = torch.tensor(x, requires_grad=True)
    f(torch, ta).backward()
    np.testing.assert_allclose(a.grad.detach().numpy(), ta.grad.numpy(), rtol=1e-12)


def test_long_chain_backprops_without_recursion():
    """100,000 recorded ops in a chain: backward is iterative (no RecursionError)."""
    x = tg.tensor([1.0], dtype=tg.float64, requires_grad=True)
    y = x
    for i in range(100_000):
        y = y * 1.00001 if i % 2 else y + 0.5
    y.sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [1.00001 ** 50_000], rtol=1e-9)


def test_long_chain_create_graph():
    x = tg.tensor([0.5], dtype=tg.float64, requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y * 1.0001
    (g,) = tg.grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [1.0001 ** 20_000], rtol=1e-9)


def test_gradients_accumulate_into_leaves_across_calls():
    a = f64([1.0, 2.0])
    (a * 3).sum().backward()
    (a * a).sum().backward()
    np.testing.assert_allclose(a.grad.detach().numpy(), 3 + 2 * a.detach().numpy())


def test_grad_not_aliased_between_leaves_or_mutated_later():
    a, b = f64([1.0, 2.0]), f64([3.0, 4.0])
    (a + b).sum().backward()
    assert a.grad.detach().numpy() is not b.grad.detach().numpy()
    a.grad.data[0] = 100.0
    assert b.grad.detach().numpy()[0] == 1.0
    g_before = b.grad.detach().numpy().copy()
    (a + b).sum().backward()  # accumulation must not write into an array seen by someone else
    np.testing.assert_allclose(b.grad.detach().numpy(), g_before + 1)


def test_broadcast_gradients_summed_to_input_shape_and_dtype():
    a = tg.randn(3, 1, requires_grad=True)              # float32 leaf
    b = tg.randn(2, 1, 4, dtype=tg.float64, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (3, 1) and a.grad.dtype == np.float32
    assert b.grad.shape == (2, 1, 4) and b.grad.dtype == np.float64
    np.testing.assert_allclose(a.grad.detach().numpy()[:, 0], np.full(3, b.detach().numpy().sum()), rtol=1e-6)


def test_retain_graph_allows_second_backward():
    a = f64([1.0, -2.0])
    y = (a * a * a).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(a.grad.detach().numpy(), 2 * 3 * a.detach().numpy() ** 2)


def test_second_backward_through_freed_graph_names_retain_graph():
    a = f64([1.0, -2.0])
    y = (a * a).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
    z = (a.exp() * 2).sum()
    tg.grad(z, a)
    with pytest.raises(RuntimeError, match="retain_graph"):
        tg.grad(z, a)


def test_non_scalar_backward_needs_gradient():
    a = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"scalar outputs.*\(2,\).*gradient"):
        (a * 2).backward()
    with pytest.raises(RuntimeError, match=r"shape"):
        (a * 2).backward(tg.ones(3, dtype=tg.float64))
    (a * 2).backward(tg.tensor([1.0, 10.0], dtype=tg.float64))
    np.testing.assert_allclose(a.grad.detach().numpy(), [2.0, 20.0])


def test_backward_on_tensor_without_graph_is_clear():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (tg.ones(2) * 2).sum().backward()


def test_backward_inputs_argument():
    a, b = f64([1.0]), f64([2.0])
    (a * b).sum().backward(inputs=[a])
    assert b.grad is None
    np.testing.assert_allclose(a.grad.detach().numpy(), [2.0])


# ---- tg.grad, create_graph, higher order -----------------------------------------------------
def test_grad_returns_without_touching_dot_grad():
    a = f64([1.0, 2.0])
    (g,) = tg.grad((a * a).sum(), a)
    assert a.grad is None
    assert not g.requires_grad
    np.testing.assert_allclose(g.detach().numpy(), 2 * a.detach().numpy())


def test_grad_unused_input():
    a, z = f64([1.0]), f64([2.0])
    with pytest.raises(RuntimeError, match="allow_unused"):
        tg.grad((a * a).sum(), [a, z])
    g = tg.grad((a * a).sum(), [a, z], allow_unused=True)
    assert g[1] is None


def test_grad_of_grad_third_order():
    x = f64([0.7, -1.3])
    y = (x ** 4).sum()
    (g1,) = tg.grad(y, x, create_graph=True)
    (g2,) = tg.grad(g1.sum(), x, create_graph=True)
    (g3,) = tg.grad(g2.sum(), x)
    np.testing.assert_allclose(g1.detach().numpy(), 4 * x.detach().numpy() ** 3)
    np.testing.assert_allclose(g2.detach().numpy(), 12 * x.detach().numpy() ** 2)
    np.testing.assert_allclose(g3.detach().numpy(), 24 * x.detach().numpy())


def test_hessian_vector_product_of_mlp_loss_matches_torch():
    rng = np.random.default_rng(0)
    X, W1, W2, v1, v2 = (rng.standard_normal(s) for s in [(5, 4), (4, 6), (6, 3), (4, 6), (6, 3)])
    y = np.array([0, 2, 1, 1, 0])

    def loss(m, W1, W2):
        h = (m.tensor(X) @ W1).tanh()
        logp = (h @ W2).log_softmax(dim=1)
        return -logp[m.tensor(np.arange(5)), m.tensor(y)].mean() + 0.1 * (W1 * W1).sum()

    def hvp(m, gradfn):
        w1 = m.tensor(W1, requires_grad=True)
        w2 = m.tensor(W2, requires_grad=True)
        g1, g2 = gradfn(loss(m, w1, w2), [w1, w2], create_graph=True)
        s = (g1 * m.tensor(v1)).sum() + (g2 * m.tensor(v2)).sum()
        return [t.detach().numpy() for t in gradfn(s, [w1, w2])]

    ours = hvp(tg, tg.grad)
    ref = hvp(torch, torch.autograd.grad)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_backward_create_graph_makes_grad_differentiable():
    x = f64([1.5])
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (g2,) = tg.grad(x.grad.sum(), x)
    np.testing.assert_allclose(g2.detach().numpy(), 6 * x.detach().numpy())


# ---- grad modes, detach, requires_grad_ ------------------------------------------------------
def test_no_grad_and_enable_grad_contexts():
    a = f64([1.0])
    with tg.no_grad():
        assert not (a * 2).requires_grad
        assert not tg.is_grad_enabled()
        with tg.enable_grad():
            assert (a * 2).requires_grad
        assert not (a * 2).requires_grad
    assert tg.is_grad_enabled()
    assert (a * 2).requires_grad
    with tg.set_grad_enabled(False):
        assert not (a * 2).requires_grad


def test_no_grad_and_enable_grad_decorators():
    a = f64([1.0])

    @tg.no_grad()
    def f(x):
        return x * 2

    @tg.enable_grad()
    def g(x):
        return x * 2

    assert not f(a).requires_grad
    with tg.no_grad():
        assert g(a).requires_grad
    assert tg.is_grad_enabled()


def test_no_grad_and_enable_grad_as_bare_decorators():
    """PyTorch 2 accepts @torch.no_grad / @torch.enable_grad without parentheses."""
    a = f64([1.0])

    @tg.no_grad
    def f(x):
        return x * 2

    @tg.enable_grad
    def g(x):
        return x * 2

    assert not f(a).requires_grad
    with tg.no_grad():
        assert g(a).requires_grad
    assert f.__name__ == "f"


def test_grad_mode_restored_after_exception():
    with pytest.raises(ValueError):
        with tg.no_grad():
            raise ValueError("boom")
    assert tg.is_grad_enabled()


def test_detach_and_requires_grad_():
    a = f64([1.0, 2.0])
    d = (a * 2).detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    # detach shares storage, as in PyTorch
    b = a * 2
    b.detach().data[0] = 7.0
    assert b.detach().numpy()[0] == 7.0
    c = tg.ones(2)
    assert c.requires_grad_() is c and c.requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        tg.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="leaf"):
        (a * 2).requires_grad_(False)


def test_comparisons_are_not_differentiable():
    a = f64([1.0, -2.0])
    for r in (a > 0, a < 0, a >= 0, a <= 0, a == 1.0, a != 1.0):
        assert r.dtype == np.bool_ and not r.requires_grad and r.grad_fn is None


def test_op_without_gradient_raises_naming_it():
    a = f64([3.0, 4.0])
    with pytest.raises(RuntimeError, match="floor_divide"):
        (a // 2).sum().backward()


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
    assert "test_autograd.py" in msg and "tg.log(a)" in msg


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
    class Wrong(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x  # should be 2x

    with pytest.raises(RuntimeError, match=r"input 0.*numerical.*analytical"):
        tg.gradcheck(Wrong.apply, (f64([1.0, 2.0]),))
    assert tg.gradcheck(Wrong.apply, (f64([1.0, 2.0]),), raise_exception=False) is False


def test_grad_fn_has_name_and_next_functions():
    a = f64([1.0])
    y = (a * 2).exp()
    assert y.grad_fn.name == "exp"
    (nxt, _), = y.grad_fn.next_functions
    assert nxt.name == "mul"
    assert re.search("exp", repr(y))


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
