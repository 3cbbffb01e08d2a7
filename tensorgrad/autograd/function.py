"""PyTorch's extension API: subclass ``Function`` with static ``forward(ctx, ...)`` and
``backward(ctx, *grads)``, call ``Fn.apply(...)``."""
from __future__ import annotations

import numpy as np

from .grad_mode import STATE
from .node import outputs, record_multi, tensor_vjp
from ..tensor import Tensor, _wrap


class FunctionCtx:
    def __init__(self):
        self._saved = ()
        self.needs_input_grad = ()
        self._non_diff = set()

    def save_for_backward(self, *tensors):
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward: expected Tensors or None, got {type(t).__name__}")
        self._saved = tensors

    @property
    def saved_tensors(self):
        return self._saved

    def mark_non_differentiable(self, *tensors):
        self._non_diff.update(id(t) for t in tensors)


class Function:
    """Subclass with ``@staticmethod forward(ctx, *args)`` and ``@staticmethod backward(ctx, *grads)``."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("Function.forward must be overridden")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("backward is not implemented")

    @classmethod
    def apply(cls, *args):
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        prev = STATE.enabled
        STATE.enabled = False
        try:
            out = cls.forward(ctx, *args)
        finally:
            STATE.enabled = prev
        single = isinstance(out, Tensor)
        outs = (out,) if single else tuple(out)
        for o in outs:
            if not isinstance(o, Tensor):
                raise TypeError(f"{cls.__name__}.forward must return a Tensor or a tuple of "
                                f"Tensors, got {type(o).__name__}")
        tensor_pos = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        inputs = tuple(args[i] for i in tensor_pos)
        nargs = len(args)
        # saved outputs: under create_graph they must be re-attached to this node
        out_pos = {id(o): k for k, o in enumerate(outs)}
        saved_out = tuple(None if s is None else out_pos.get(id(s)) for s in ctx._saved)
        orig_saved = ctx._saved
        any_out = any(k is not None for k in saved_out)
        # what the node keeps (for version checks and, for outputs, re-attachment)
        saved = tuple(s if k is None else outputs(k) for s, k in zip(ctx._saved, saved_out)
                      if s is not None)

        @tensor_vjp
        def _vjp(node, grads, *_saved):
            if any_out and STATE.enabled:
                ctx._saved = tuple(s if k is None else node.output(k)
                                   for s, k in zip(orig_saved, saved_out))
            metas = (node.meta,) if node.nout == 1 else node.meta
            grads = tuple(g if g is not None else _wrap(np.zeros(m[0], m[1]))
                          for g, m in zip(grads, metas))
            try:
                res = cls.backward(ctx, *grads)
            except NotImplementedError as e:
                raise RuntimeError(f"{cls.__name__}: this op has no gradient ({e})") from None
            if not isinstance(res, tuple):
                res = (res,)
            if len(res) != nargs:
                raise RuntimeError(f"{cls.__name__}.backward returned {len(res)} gradients, "
                                   f"but forward took {nargs} arguments")
            out = []
            for i in tensor_pos:
                r = res[i]
                if r is not None and not isinstance(r, Tensor):
                    r = _wrap(np.asarray(r))
                out.append(r)
            return tuple(out)

        diff = tuple(id(o) not in ctx._non_diff for o in outs)
        results = record_multi(cls.__name__, [o._data for o in outs], inputs, _vjp, saved=saved,
                               differentiable=diff)
        return results[0] if single else results
