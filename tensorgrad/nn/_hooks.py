"""How a Module call runs when hooks are registered, and the input check of every call.

Forward pre-hooks and forward hooks follow PyTorch (``with_kwargs``, ``prepend``,
``always_call``). Full backward hooks (``register_full_backward_hook`` and
``register_full_backward_pre_hook``) are built, as PyTorch builds them, from two identity ops
recorded around ``forward``: one over the module's tensor inputs, one over its tensor outputs.
The gradients reaching the output identity are ``grad_output`` (pre-hooks see them first and
may replace them); the gradients leaving the input identity are ``grad_input`` (full hooks see
them with ``grad_output`` and may replace them). Nothing in the engine knows about modules.
"""
from __future__ import annotations

import numpy as np

from ..autograd.node import record_multi, tensor_vjp
from ..tensor import Tensor

__all__ = ["InputTypeError", "check_inputs", "call_with_hooks"]


class InputTypeError(TypeError):
    """A Module or function got a numpy array or a Python list where it needs a tg.Tensor."""


def _not_tensor(v):
    if isinstance(v, np.ndarray):
        return True
    if isinstance(v, list) and v and not any(isinstance(x, Tensor) for x in v):
        return True
    return False


def check_inputs(module, args, kwargs, exc):
    """Called when ``forward`` raised a TypeError/AttributeError: if an argument is a numpy
    array or a list (not Tensors), raise one clear TypeError naming the module instead."""
    if isinstance(exc, InputTypeError):
        return
    for i, v in enumerate(list(args) + list(kwargs.values())):
        if _not_tensor(v):
            what = "a numpy array" if isinstance(v, np.ndarray) else "a list"
            raise InputTypeError(
                f"{type(module).__name__}: expected tg.Tensor inputs, got {what} "
                f"(argument {i}); wrap it with tg.tensor(...) (e.g. tg.tensor(x, "
                f"dtype=tg.float32))") from exc


# ---- the module call with hooks ---------------------------------------------------------
def call_with_hooks(module, args, kwargs):
    d = module.__dict__
    pre_kw = d.get("_forward_pre_hooks_with_kwargs", ())
    for hid, hook in list(d.get("_forward_pre_hooks", {}).items()):
        if hid in pre_kw:
            res = hook(module, args, kwargs)
            if res is not None:
                if not (isinstance(res, tuple) and len(res) == 2):
                    raise RuntimeError(f"forward pre-hook of {type(module).__name__} must "
                                       f"return None or a tuple of (new_args, new_kwargs), got "
                                       f"{res!r}")
                args, kwargs = res
        else:
            res = hook(module, args)
            if res is not None:
                args = res if isinstance(res, tuple) else (res,)
    full = list(d.get("_backward_hooks", {}).values())
    bpre = list(d.get("_backward_pre_hooks", {}).values())
    bw = _BackwardHook(module, full, bpre) if (full or bpre) else None
    if bw is not None:
        args = bw.setup_inputs(args)
    post = d.get("_forward_hooks", {})
    post_kw = d.get("_forward_hooks_with_kwargs", ())
    always = d.get("_forward_hooks_always_called", ())
    try:
        out = module.forward(*args, **kwargs)
    except Exception as exc:
        for hid, hook in list(post.items()):
            if hid in always:
                try:
                    hook(module, args, kwargs, None) if hid in post_kw else hook(module, args, None)
                except Exception:  # noqa: BLE001 - the forward error is the one to report
                    pass
        if isinstance(exc, (TypeError, AttributeError)):
            check_inputs(module, args, kwargs, exc)
        raise
    for hid, hook in list(post.items()):
        res = hook(module, args, kwargs, out) if hid in post_kw else hook(module, args, out)
        if res is not None:
            out = res
    if bw is not None:
        out = bw.setup_outputs(out)
    return out


class _BackwardHook:
    """One module call's backward hooks (PyTorch's ``BackwardHook``)."""

    def __init__(self, module, hooks, pre_hooks):
        self.module = module
        self.hooks = hooks
        self.pre_hooks = pre_hooks
        self.grad_outputs = None
        self.n_inputs = 0
        self.input_index = None   # positions of the tensor inputs that took part
        self.n_outputs = 0
        self.output_index = []

    @staticmethod
    def _identity(name, tensors, vjp):
        return record_multi(name, [t._data for t in tensors], tuple(tensors), vjp,
                            differentiable=tuple(t.requires_grad for t in tensors))

    def _pack(self, index, values, n):
        out = [None] * n
        for i, v in zip(index, values):
            out[i] = v
        return tuple(out)

    def setup_inputs(self, args):
        self.n_inputs = len(args)
        idx = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        from ..autograd.grad_mode import is_grad_enabled
        if not idx or not is_grad_enabled() or not any(args[i].requires_grad for i in idx):
            return args
        self.input_index = idx
        new = self._identity("BackwardHookFunction", [args[i] for i in idx],
                             tensor_vjp(self._input_vjp))
        args = list(args)
        for i, t in zip(idx, new):
            args[i] = t
        return tuple(args)

    def _replaced(self, res, grads, what):
        """A hook's result: None keeps ``grads``; else as many gradients as ``grads``."""
        if res is None:
            return grads
        res = res if isinstance(res, tuple) else (res,)
        if len(res) != len(grads):
            raise RuntimeError(f"{what} of {type(self.module).__name__} returned {len(res)} "
                               f"gradients, expected {len(grads)}")
        return res

    def _input_vjp(self, ctx, grads, *saved):
        if self.grad_outputs is None:  # the gradient did not come through the outputs
            return grads
        grad_input = self._pack(self.input_index, grads, self.n_inputs)
        for hook in self.hooks:
            grad_input = self._replaced(hook(self.module, grad_input, self.grad_outputs),
                                        grad_input, "backward hook")
        self.grad_outputs = None
        return tuple(grad_input[i] for i in self.input_index)

    def setup_outputs(self, out):
        single = isinstance(out, Tensor)
        items = (out,) if single else out
        if not isinstance(items, (tuple, list)):
            return out
        idx = [i for i, o in enumerate(items) if isinstance(o, Tensor)]
        if not idx or not any(items[i].requires_grad for i in idx):
            return out
        self.n_outputs = len(items)
        self.output_index = idx
        new = self._identity("BackwardHookFunction", [items[i] for i in idx],
                             tensor_vjp(self._output_vjp))
        if single:
            return new[0]
        items = list(items)
        for i, t in zip(idx, new):
            items[i] = t
        if isinstance(out, tuple):
            return type(out)(*items) if hasattr(out, "_fields") else tuple(items)
        return items

    def _output_vjp(self, ctx, grads, *saved):
        go = self._pack(self.output_index, grads, self.n_outputs)
        for hook in self.pre_hooks:
            go = self._replaced(hook(self.module, go), go, "backward pre-hook")
        self.grad_outputs = go
        if self.input_index is None:  # no input requires grad: the full hooks fire now
            gi = (None,) * self.n_inputs
            for hook in self.hooks:
                res = hook(self.module, gi, go)
                if res is not None and not (isinstance(res, tuple)
                                            and all(r is None for r in res)):
                    raise RuntimeError("Backward hook for Modules where no input requires "
                                       "gradient should always return None or None for all "
                                       "gradients.")
            self.grad_outputs = None
        return tuple(go[i] for i in self.output_index)
