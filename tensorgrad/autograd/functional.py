"""``tg.autograd.functional``: Jacobians, Hessians and their products with vectors, with
PyTorch's signatures (``torch.autograd.functional``).

All are built on reverse mode (``tg.grad``):

* ``vjp(f, x, v)`` = vᵀ J: one backward pass with ``v`` as the output gradient;
* ``jvp(f, x, v)`` = J v by the "double backward trick": u ↦ Jᵀu is linear, so
  differentiating ⟨Jᵀu, ·⟩ with respect to the dummy ``u`` along ``v`` gives J v;
* ``jacobian`` stacks one vjp per output element (row); ``hessian`` is the Jacobian of the
  gradient;
* ``vhp(f, x, v)`` = vᵀ H (the gradient of ⟨∇f, v⟩); ``hvp(f, x, v)`` = H v (the double
  backward trick again; equal to vhp for a twice continuously differentiable f).

``create_graph=True`` keeps the results differentiable; ``strict=True`` raises where an
output does not depend on an input (instead of returning zeros); ``vectorize`` and the
forward-mode strategies are accepted and computed the same way (same values).
"""
from __future__ import annotations

import numpy as np

from ..ops import stack, zeros_like
from ..tensor import Tensor, _wrap
from .engine import grad as _grad
from .grad_mode import enable_grad, is_grad_enabled, set_grad_enabled

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]


def _as_tuple(x, what, fn):
    if isinstance(x, Tensor):
        return False, (x,)
    if not isinstance(x, tuple):
        raise TypeError(f"{fn}: the {what} must be either a Tensor or a tuple of Tensors, got "
                        f"{type(x).__name__}")
    for i, t in enumerate(x):
        if not isinstance(t, Tensor):
            raise TypeError(f"{fn}: the {what} must be either a Tensor or a tuple of Tensors, "
                            f"but the value at index {i} has type {type(t).__name__}")
    return True, x


def _untuple(res, flags):
    """Undo ``_as_tuple`` on results (one flag, or (outer, inner) for nested results)."""
    if isinstance(flags, tuple):
        outer, inner = flags
        if not outer and not inner:
            return res[0][0]
        if not outer:
            return res[0]
        if not inner:
            return tuple(r[0] for r in res)
        return res
    return res if flags else res[0]


def _prepare(inputs, create_graph, need_graph):
    out = []
    for t in inputs:
        if create_graph and t.requires_grad:
            out.append(t.clone())  # differentiable, and a new tensor to take gradients at
        else:
            out.append(t.detach().requires_grad_(need_graph))
    return tuple(out)


def _finish(xs, create_graph):
    if isinstance(xs, tuple):
        return tuple(_finish(x, create_graph) for x in xs)
    return xs if create_graph or xs is None else xs.detach()


def _check_requires_grad(xs, kind, strict):
    if not strict:
        return
    for i, t in enumerate(xs):
        if t is None:
            raise RuntimeError(f"The output of the user-provided function is independent of "
                               f"input {i}. This is not allowed in strict mode.")
        if not t.requires_grad:
            if kind == "hessian":
                raise RuntimeError(f"The hessian of the user-provided function with respect "
                                   f"to input {i} is independent of the input. This is not "
                                   f"allowed in strict mode.")
            if kind == "jacobian":
                raise RuntimeError(f"While computing the hessian, found that the jacobian of "
                                   f"the user-provided function with respect to input {i} is "
                                   f"independent of the input. This is not allowed in strict "
                                   f"mode.")
            if kind == "grad_inputs":
                raise RuntimeError(f"The gradient with respect to input {i} is independent of "
                                   f"the inputs of the user-provided function. This is not "
                                   f"allowed in strict mode.")
            raise RuntimeError(f"Output {i} of the user-provided function does not require "
                               f"gradients. The outputs must be computed in a differentiable "
                               f"manner from the input when running in strict mode.")


def _validate_v(v, other, other_is_tuple, fn):
    if len(v) != len(other):
        if other_is_tuple:
            raise RuntimeError(f"{fn}: v is a tuple of invalid length: should be "
                               f"{len(other)} but got {len(v)}.")
        raise RuntimeError(f"{fn}: the given v should contain a single Tensor.")
    for i, (a, b) in enumerate(zip(v, other)):
        if tuple(a.shape) != tuple(b.shape):
            raise RuntimeError(f"{fn}: mismatch in shape: v[{i}] has shape {tuple(a.shape)} "
                               f"and the matching tensor has shape {tuple(b.shape)}.")


def _grads(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """tg.grad over the outputs that require grad; None for inputs they do not reach."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    outs, gos = zip(*pairs)
    gos = [g if g is not None else _ones_like(o) for o, g in pairs]
    return _grad(list(outs), list(inputs), gos, retain_graph=retain_graph,
                 create_graph=create_graph, allow_unused=True)


def _ones_like(o):
    if o.numel() != 1:
        raise RuntimeError("grad can be implicitly created only for scalar outputs")
    return _wrap(np.ones(o.shape, dtype=o.dtype))


def _fill_zeros(grads, refs, strict, create_graph, stage):
    out = []
    for i, (g, r) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                msg = {"back": f"The output of the user-provided function is independent of "
                               f"input {i}.",
                       "back_trick": f"The gradient with respect to the input is independent of "
                                     f"entry {i} in the grad_outputs when using the double "
                                     f"backward trick to compute forward mode gradients.",
                       "double_back": f"The hessian of the user-provided function is "
                                      f"independent of input {i}.",
                       "double_back_trick": f"The second order derivative with respect to "
                                            f"input {i} is independent of the input (double "
                                            f"backward trick)."}[stage]
                raise RuntimeError(msg + " This is not allowed in strict mode.")
            g = zeros_like(r, requires_grad=create_graph and r.dtype.kind == "f")
        out.append(g)
    return tuple(out)


def _need_v(v, tensors, is_tuple, fn, what):
    if v is not None:
        _, v = _as_tuple(v, "v", fn)
        v = _prepare(v, create_graph=False, need_graph=False)
        _validate_v(v, tensors, is_tuple, fn)
        return v
    if len(tensors) != 1 or tensors[0].numel() != 1:
        raise RuntimeError(f"{fn}: the vector v can only be None if the {what} is a single "
                           f"Tensor with a single element.")
    return None


def _inputs(inputs, create_graph, fn):
    """The inputs as a tuple of fresh tensors to differentiate at (and whether a tuple came)."""
    is_tuple, inputs = _as_tuple(inputs, "inputs", fn)
    return is_tuple, _prepare(inputs, create_graph, need_graph=True)


def _outputs(func, inputs, strict, fn):
    """func(*inputs) as a tuple (and whether it returned one), checked in strict mode."""
    is_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", fn)
    _check_requires_grad(outputs, "outputs", strict)
    return is_tuple, outputs


def _scalar_output(func, inputs, strict, fn):
    is_out_tuple, outputs = _outputs(func, inputs, strict, fn)
    if is_out_tuple:
        raise RuntimeError(f"{fn}: the function given to {fn} should return a single Tensor")
    if outputs[0].numel() != 1:
        raise RuntimeError(f"{fn}: the Tensor returned by the function given to {fn} should "
                           f"contain a single element")
    return outputs


def _last_grads(outputs, inputs, v, refs, strict, create_graph, stage):
    """The final backward pass (recording only with ``create_graph``); zeros, shaped as
    ``refs``, where it does not reach (an error in strict mode)."""
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        res = _grads(outputs, inputs, v, create_graph=create_graph)
        return _fill_zeros(res, refs, strict, create_graph, stage)


def _result(outputs, is_out_tuple, res, is_res_tuple, create_graph):
    """``(func(inputs), result)``, detached unless ``create_graph``, untupled as given."""
    return (_untuple(_finish(outputs, create_graph), is_out_tuple),
            _untuple(_finish(res, create_graph), is_res_tuple))


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), vᵀ J)``; ``v`` may be None for a one-element output."""
    with enable_grad():
        is_in_tuple, inputs = _inputs(inputs, create_graph, "vjp")
        is_out_tuple, outputs = _outputs(func, inputs, strict, "vjp")
        v = _need_v(v, outputs, is_out_tuple, "vjp",
                    "output of the user-provided function")
        res = _last_grads(outputs, inputs, v, inputs, strict, create_graph, "back")
    return _result(outputs, is_out_tuple, res, is_in_tuple, create_graph)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), J v)``; ``v`` may be None for a one-element input."""
    with enable_grad():
        is_in_tuple, inputs = _inputs(inputs, create_graph, "jvp")
        v = _need_v(v, inputs, is_in_tuple, "jvp", "input to the user-provided function")
        is_out_tuple, outputs = _outputs(func, inputs, strict, "jvp")
        dummies = tuple(zeros_like(o, requires_grad=True) for o in outputs)
        g_in = _grads(outputs, inputs, dummies, create_graph=True)
        _check_requires_grad(g_in, "grad_inputs", strict)
        res = _last_grads(g_in, dummies, v, outputs, strict, create_graph, "back_trick")
    return _result(outputs, is_out_tuple, res, is_out_tuple, create_graph)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """d func / d inputs: for output i and input j a tensor of shape
    ``out_i.shape + in_j.shape`` (nested tuples follow the tuples given and returned)."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError('jacobian: expected strategy to be either "forward-mode" or '
                         f'"reverse-mode", got {strategy!r}')
    with enable_grad():
        is_in_tuple, inputs = _inputs(inputs, create_graph, "jacobian")
        is_out_tuple, outputs = _outputs(func, inputs, strict, "jacobian")
        result = []
        for i, out in enumerate(outputs):
            rows = [[] for _ in inputs]
            flat = out.reshape(-1)
            for k in range(out.numel()):
                gs = _grads((flat[k],), inputs, retain_graph=True, create_graph=create_graph)
                for j, (g, inp) in enumerate(zip(gs, inputs)):
                    if g is None:
                        if strict:
                            raise RuntimeError(f"Output {i} of the user-provided function is "
                                               f"independent of input {j}. This is not allowed "
                                               f"in strict mode.")
                        g = zeros_like(inp)
                    elif strict and create_graph and not g.requires_grad:
                        raise RuntimeError(f"The jacobian of the user-provided function is "
                                           f"independent of input {j}. This is not allowed in "
                                           f"strict mode when create_graph=True.")
                    rows[j].append(g)
            result.append(tuple(
                (stack(r) if r else zeros_like(inp).reshape((0,) + tuple(inp.shape)))
                .reshape(tuple(out.shape) + tuple(inp.shape)) for r, inp in zip(rows, inputs)))
    return _untuple(_finish(tuple(result), create_graph), (is_out_tuple, is_in_tuple))


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a function with one single-element output: for inputs i, j a tensor
    of shape ``in_i.shape + in_j.shape``."""
    is_in_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")

    def single_output(*inp):
        return _scalar_output(func, inp, strict, "hessian")[0].reshape(())

    def jac_func(*inp):
        jac = jacobian(single_output, inp, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        return jac

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict,
                   vectorize=vectorize, strategy=outer_jacobian_strategy)
    return _untuple(res, (is_in_tuple, is_in_tuple))


def _gradient_of_scalar(func, inputs, v, create_graph, strict, fn):
    """The inputs, v, func's single-element output and its gradient (with a graph: the next
    backward pass differentiates it again)."""
    is_in_tuple, inputs = _inputs(inputs, create_graph, fn)
    v = _need_v(v, inputs, is_in_tuple, fn, "input to the user-provided function")
    outputs = _scalar_output(func, inputs, strict, fn)
    jac = _grads(outputs, inputs, create_graph=True)
    _check_requires_grad(jac, "jacobian", strict)
    return is_in_tuple, inputs, v, outputs, jac


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), vᵀ H)`` for a function with one single-element output."""
    with enable_grad():
        is_in_tuple, inputs, v, outputs, jac = _gradient_of_scalar(func, inputs, v,
                                                                   create_graph, strict, "vhp")
    res = _last_grads(jac, inputs, v, inputs, strict, create_graph, "double_back")
    return _result(outputs, False, res, is_in_tuple, create_graph)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), H v)`` for a function with one single-element output."""
    with enable_grad():
        is_in_tuple, inputs, v, outputs, jac = _gradient_of_scalar(func, inputs, v,
                                                                   create_graph, strict, "hvp")
        dummies = tuple(zeros_like(t, requires_grad=True) for t in inputs)
        back = _grads(jac, inputs, dummies, create_graph=True)
        _check_requires_grad(jac, "hessian", strict)
    res = _last_grads(back, dummies, v, inputs, strict, create_graph, "double_back_trick")
    return _result(outputs, False, res, is_in_tuple, create_graph)
