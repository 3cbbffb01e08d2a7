"""Numerical gradient checking with PyTorch's semantics and defaults.

``gradcheck`` compares the analytic Jacobian (one backward pass per output element) with
central differences; ``gradgradcheck`` does the same for the gradient function itself.
"""
from __future__ import annotations

import warnings

import numpy as np

from .engine import grad as _grad
from ..tensor import Tensor, _wrap


class GradcheckError(RuntimeError):
    pass


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _outputs(fn, inputs):
    out = _as_tuple(fn(*inputs))
    return [o for o in out if isinstance(o, Tensor) and o._data.dtype.kind in "fc"]


def _numeric_jacobian(fn, inputs, idx, eps, n_out_elems):
    x = inputs[idx]
    flat = x._data.reshape(-1)  # a view: perturb in place
    cols = []
    for k in range(flat.size):
        orig = flat[k]
        flat[k] = orig + eps
        plus = [o._data.astype(np.float64).ravel().copy() for o in _outputs(fn, inputs)]
        flat[k] = orig - eps
        minus = [o._data.astype(np.float64).ravel().copy() for o in _outputs(fn, inputs)]
        flat[k] = orig
        cols.append(np.concatenate([(p - m) / (2 * eps) for p, m in zip(plus, minus)])
                    if plus else np.zeros(0))
    return np.stack(cols, axis=1) if cols else np.zeros((n_out_elems, 0))  # (out, in)


def _analytic_jacobians(fn, inputs, diff_idx):
    outs = _outputs(fn, inputs)
    sizes = [o._data.size for o in outs]
    total = int(sum(sizes))
    jac = {i: np.zeros((total, inputs[i]._data.size)) for i in diff_idx}
    row = 0
    for o, n in zip(outs, sizes):
        for k in range(n):
            if not o.requires_grad:
                row += 1
                continue
            go = np.zeros(o._data.shape, dtype=o._data.dtype)
            go.reshape(-1)[k] = 1
            gs = _grad([o], [inputs[i] for i in diff_idx], grad_outputs=[_wrap(go)],
                       retain_graph=True, allow_unused=True)
            for i, g in zip(diff_idx, gs):
                if g is not None:
                    jac[i][row] = g._data.astype(np.float64).ravel()
            row += 1
    return jac, total


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0):
    """True if analytic and numeric Jacobians agree: |a − n| ≤ atol + rtol·|n| elementwise.

    On failure raises (or returns False with ``raise_exception=False``) an error naming the
    input, the worst element's index and both values."""
    inputs = _as_tuple(inputs)
    diff_idx = [i for i, x in enumerate(inputs)
                if isinstance(x, Tensor) and x.requires_grad]
    if not diff_idx:
        raise ValueError("gradcheck: no input requires grad; set requires_grad=True on the "
                         "tensors to check")
    for i in diff_idx:
        if inputs[i]._data.dtype != np.float64:
            warnings.warn(f"gradcheck: input {i} has dtype {inputs[i]._data.dtype}, not float64; "
                          f"finite differences will be inaccurate", UserWarning, stacklevel=2)
    jac, total = _analytic_jacobians(fn, inputs, diff_idx)
    for i in diff_idx:
        num = _numeric_jacobian(fn, inputs, i, eps, total)
        ana = jac[i]
        if num.shape != ana.shape:
            raise GradcheckError(f"gradcheck: Jacobian shape mismatch for input {i}: numeric "
                                 f"{num.shape}, analytic {ana.shape}")
        bad = np.abs(ana - num) > atol + rtol * np.abs(num)
        if bad.any():
            excess = np.where(bad, np.abs(ana - num) - (atol + rtol * np.abs(num)), -np.inf)
            r, c = np.unravel_index(np.argmax(excess), excess.shape)
            elem = np.unravel_index(c, inputs[i]._data.shape) if inputs[i]._data.ndim else ()
            msg = (f"gradcheck: Jacobian mismatch for output element {r} with respect to "
                   f"input {i} (shape {inputs[i]._data.shape}), element {tuple(int(e) for e in elem)}: "
                   f"numerical {num[r, c]:.10g} vs analytical {ana[r, c]:.10g} "
                   f"({int(bad.sum())} of {bad.size} entries outside atol={atol}, rtol={rtol})")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, seed=0):
    """Checks second derivatives: gradcheck of (inputs, grad_outputs) ↦ vjp(fn)."""
    inputs = _as_tuple(inputs)
    diff_idx = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    outs = _outputs(fn, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        grad_outputs = tuple(_wrap(rng.standard_normal(o._data.shape).astype(o._data.dtype))
                             .requires_grad_(True) for o in outs)
    grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)

    def vjp(*args):
        xs, gos = args[:n_in], args[n_in:]
        os_ = _outputs(fn, xs)
        pairs = [(o, g) for o, g in zip(os_, gos) if o.requires_grad]
        gs = _grad([o for o, _ in pairs], [xs[i] for i in diff_idx],
                   grad_outputs=[g for _, g in pairs], create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(vjp, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
