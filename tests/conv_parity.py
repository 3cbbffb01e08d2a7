"""Shared checks for the convolution tests: one conv evaluated by tensorgrad and by PyTorch on
the same float64 arrays, then its gradients and second derivatives compared. Helpers only."""
import numpy as np

import tensorgrad as tg


def conv_pair(torch, f, tf, x, w, b, **kw):
    """``f(X, W, B, **kw)`` and ``tf(...)`` on leaf copies of x, w, b (b may be None):
    ``(X, W, B, y), (tx, tw, tb, ty)``."""
    X, W = tg.tensor(x, requires_grad=True), tg.tensor(w, requires_grad=True)
    B = tg.tensor(b, requires_grad=True) if b is not None else None
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True) if b is not None else None
    return (X, W, B, f(X, W, B, **kw)), (tx, tw, tb, tf(tx, tw, tb, **kw))


def check_forward_backward(torch, pair, rng, atol, rtol=0.0, grad_tol=None):
    """Outputs (``rtol``/``atol``), then every input gradient — in the inputs' dtype — for one
    random upstream gradient (``grad_tol``: (rtol, atol) for them; default the outputs')."""
    (X, W, B, y), (tx, tw, tb, ty) = pair
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=rtol, atol=atol)
    g = rng.standard_normal(ty.shape).astype(y.detach().numpy().dtype)
    y.backward(tg.tensor(g))
    ty.backward(torch.tensor(g))
    grtol, gatol = (rtol, atol) if grad_tol is None else grad_tol
    for ours, theirs in ((X, tx), (W, tw), (B, tb)):
        if ours is not None:
            assert ours.grad.dtype == ours.dtype
            np.testing.assert_allclose(ours.grad.detach().numpy(), theirs.grad.numpy(),
                                       rtol=grtol, atol=gatol)


def check_second_order(torch, pair, rng, atol, grads=None):
    """d/d(x, w) of <∂y/∂x, vx> + <∂y/∂w, vw> + |∂y/∂x|² (a Hessian-vector product).
    ``grads``: precomputed ``((gx, gw), (tgx, tgw))`` from create_graph=True passes."""
    (X, W, B, y), (tx, tw, tb, ty) = pair
    if grads is None:
        g = rng.standard_normal(ty.shape)
        grads = (tg.grad(y, (X, W), grad_outputs=tg.tensor(g), create_graph=True),
                 torch.autograd.grad(ty, (tx, tw), torch.tensor(g), create_graph=True))
    (gx, gw), (tgx, tgw) = grads
    vx, vw = rng.standard_normal(tgx.shape), rng.standard_normal(tgw.shape)
    s = (gx * tg.tensor(vx)).sum() + (gw * tg.tensor(vw)).sum() + (gx * gx).sum()
    ts = (tgx * torch.tensor(vx)).sum() + (tgw * torch.tensor(vw)).sum() + (tgx * tgx).sum()
    s.backward()
    ts.backward()
    np.testing.assert_allclose(X.grad.detach().numpy(), tx.grad.numpy(), rtol=0, atol=atol)
    np.testing.assert_allclose(W.grad.detach().numpy(), tw.grad.numpy(), rtol=0, atol=atol)
