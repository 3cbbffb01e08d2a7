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
        np.testing.assert_allclose(_np(o), t.detach().numpy(force=True), rtol=rtol, atol=atol,
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
        np.testing.assert_allclose(got, t.detach().numpy(force=True), rtol=rtol * 10, atol=atol * 10,
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
                assert not np.any(b.detach().numpy(force=True)), "torch's gradient depends on the inputs"
            return outs
        h = tg.grad(sum(terms), gx, allow_unused=True)
        for i, (a, b) in enumerate(zip(h, th)):
            got = np.zeros(b.shape) if a is None else _np(a)
            np.testing.assert_allclose(got, b.detach().numpy(force=True), rtol=rtol * 100,
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


def compare_modules(torch, tmod, gmod, inputs, *, rtol=1e-10, atol=1e-12, seed=3,
                    load=True, train_steps=1):
    """The same weights (torch's, loaded through load_state_dict) and inputs: outputs, input
    gradients, parameter gradients and the state dict after ``train_steps`` calls agree."""
    tmod, gmod = tmod.double(), gmod.double()
    assert [k for k in gmod.state_dict()] == [k for k in tmod.state_dict()]
    if load:
        gmod.load_state_dict({k: v.detach().numpy() for k, v in tmod.state_dict().items()})
    inputs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    for step in range(train_steps):
        txs = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in inputs]
        gxs = [tg.tensor(a, requires_grad=a.dtype.kind == "f") for a in inputs]
        to, go = _outs(tmod(*txs)), _outs(gmod(*gxs))
        for o, t in zip(go, to):
            np.testing.assert_allclose(_np(o), t.detach().numpy(force=True), rtol=rtol, atol=atol)
        rng = np.random.default_rng(seed + step)
        ups = [rng.standard_normal(tuple(t.shape)) for t in to]
        sum((t * torch.tensor(u)).sum() for t, u in zip(to, ups)).backward()
        sum((o * tg.tensor(u)).sum() for o, u in zip(go, ups)).backward()
        for gx, tx in zip(gxs, txs):
            if tx.requires_grad:
                np.testing.assert_allclose(_np(gx.grad), tx.grad.numpy(), rtol=rtol * 10,
                                           atol=atol * 10)
        tp = dict(tmod.named_parameters())
        for k, p in gmod.named_parameters():
            np.testing.assert_allclose(_np(p.grad), tp[k].grad.numpy(), rtol=rtol * 10,
                                       atol=atol * 10, err_msg=k)
            p.grad = None
        tmod.zero_grad()
        for k, b in tmod.state_dict().items():
            np.testing.assert_allclose(_np(gmod.state_dict()[k]), b.numpy(), rtol=1e-12,
                                       err_msg=k)
    return go
