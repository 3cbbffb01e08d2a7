"""Shared checks for the nn tests: a function of tensors against PyTorch in float64 (forward,
gradients, second derivatives) and tg.gradcheck. Helpers only; the tests import them."""
from __future__ import annotations

import numpy as np

import tensorgrad as tg


def _outs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _np(t):
    return t.detach().numpy()


def compare_with_torch(torch, fn, torch_fn, arrays, *, second=True, rtol=1e-10, atol=1e-12,
                       seed=0, grad_inputs=None):
    """``fn(*tg tensors)`` vs ``torch_fn(*torch tensors)`` on float64 copies of ``arrays``:
    outputs, gradients for a random upstream gradient and (``second``) the derivative of
    <gradient, v> with respect to the inputs (a Hessian-vector product). ``grad_inputs``:
    indices of the inputs that require grad (default: every float input)."""
    rng = np.random.default_rng(seed)
    if grad_inputs is None:
        grad_inputs = [i for i, a in enumerate(arrays) if np.asarray(a).dtype.kind == "f"]
    xs = [tg.tensor(a, requires_grad=i in grad_inputs) for i, a in enumerate(arrays)]
    txs = [torch.tensor(a, requires_grad=i in grad_inputs) for i, a in enumerate(arrays)]
    outs, touts = _outs(fn(*xs)), _outs(torch_fn(*txs))
    assert len(outs) == len(touts)
    for k, (o, t) in enumerate(zip(outs, touts)):
        assert tuple(o.shape) == tuple(t.shape), f"output {k}: {o.shape} vs {tuple(t.shape)}"
        np.testing.assert_allclose(_np(o), t.detach().numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"output {k}")
    pairs = [(o, t) for o, t in zip(outs, touts) if t.dtype.is_floating_point and t.requires_grad]
    if not pairs or not grad_inputs:
        return outs
    ups = [rng.standard_normal(tuple(t.shape)) for _, t in pairs]
    gx = [xs[i] for i in grad_inputs]
    tgx = [txs[i] for i in grad_inputs]
    s = sum((o * tg.tensor(u)).sum() for (o, _), u in zip(pairs, ups))
    ts = sum((t * torch.tensor(u)).sum() for (_, t), u in zip(pairs, ups))
    gs = tg.grad(s, gx, create_graph=second, allow_unused=True)
    tgs = torch.autograd.grad(ts, tgx, create_graph=second, allow_unused=True,
                              materialize_grads=True)
    for i, (g, t) in enumerate(zip(gs, tgs)):
        got = np.zeros(t.shape) if g is None else _np(g)
        np.testing.assert_allclose(got, t.detach().numpy(), rtol=rtol * 10, atol=atol * 10,
                                   err_msg=f"gradient of input {grad_inputs[i]}")
    if second:
        vs = [rng.standard_normal(tuple(t.shape)) for t in tgs]
        terms = [(g * tg.tensor(v)).sum() for g, v in zip(gs, vs)
                 if g is not None and g.requires_grad]
        tterms = [(g * torch.tensor(v)).sum() for g, v in zip(tgs, vs) if g.requires_grad]
        if not tterms:
            for t in terms:  # torch's gradient is constant: ours must be too
                for h in tg.grad(t, gx, allow_unused=True):
                    assert h is None or not np.any(_np(h))
            return outs
        th = torch.autograd.grad(sum(tterms), tgx, allow_unused=True, materialize_grads=True)
        if not terms:  # ours is constant in the inputs: torch's must have zero derivatives
            for b in th:
                assert not np.any(b.detach().numpy()), "torch's gradient depends on the inputs"
            return outs
        h = tg.grad(sum(terms), gx, allow_unused=True)
        for i, (a, b) in enumerate(zip(h, th)):
            got = np.zeros(b.shape) if a is None else _np(a)
            np.testing.assert_allclose(got, b.detach().numpy(), rtol=rtol * 100,
                                       atol=atol * 100,
                                       err_msg=f"second derivative wrt input {grad_inputs[i]}")
    return outs


def gradchecks(fn, arrays, grad_inputs=None, gradgrad=True):
    """tg.gradcheck (and gradgradcheck) of ``fn`` at float64 copies of ``arrays``."""
    if grad_inputs is None:
        grad_inputs = [i for i, a in enumerate(arrays) if np.asarray(a).dtype.kind == "f"]
    xs = [tg.tensor(a, requires_grad=i in grad_inputs) for i, a in enumerate(arrays)]
    assert tg.gradcheck(fn, xs)
    if gradgrad:
        assert tg.gradgradcheck(fn, xs)
