"""Recurrent layers as fused, differentiable ops (§9.2-9.5 of the course notes).

One op runs one recurrent layer in one direction over a whole sequence:

    lstm(xg, h0, c0, w_hh, b_hh=None, peephole=None, reverse=False) -> (out, h_n, c_n)
    gru(xg, h0, w_hh, b_hh=None, reset_after=True, reverse=False)   -> (out, h_n)
    rnn(xg, h0, w_hh, b_hh=None, nonlinearity="tanh", reverse=False) -> (out, h_n)

``xg`` (T, B, G·H) is the input part of the gate pre-activations, ``x W_ihᵀ + b_ih`` for every
step: the layers (``tensorgrad.nn.rnn``) compute it with one ordinary ``linear`` op over all
steps (one GEMM) and hand it in, so only the recurrence lives here.  Weight layouts and gate
orders are PyTorch's (LSTM i, f, g, o; GRU r, z, n).

Three things per op:

* the forward: the fused numba/numpy kernels of ``tensorgrad.kernels.rnn``;
* the plain backward (``backward()`` without ``create_graph``): backpropagation through time
  in the fused kernels (the array branch of the op's VJP);
* the differentiable backward (``create_graph=True``): the VJP of the *reference* composition
  (``lstm_reference`` etc., the same recurrence written with tensorgrad ops), recorded as one
  op whose own backward is derived the same way, so gradients of any order exist.

The reference compositions are public: they are the "RNN with tensorgrad ops" of the notes,
the oracle of the tests, and what second derivatives differentiate.
"""
from __future__ import annotations

import numpy as np

from ..autograd.engine import grad as _grad
from ..autograd.grad_mode import enable_grad
from ..autograd.node import record_multi, tensor_vjp
from ..kernels import rnn as _K
from ..tensor import Tensor, _wrap
from ._xp import on_arrays


# ============================================================================================
# Reference compositions (tensorgrad ops only)
# ============================================================================================

def _steps(T, reverse):
    return range(T - 1, -1, -1) if reverse else range(T)


def _stack(outs):
    from .movement import stack
    return stack(outs, 0)


def lstm_reference(xg, h0, c0, w_hh, b_hh=None, peephole=None, reverse=False):
    """The LSTM recurrence with tensorgrad ops, step by step (same maths as ``lstm``)."""
    T = xg.shape[0]
    H = h0.shape[1]
    wt = w_hh.T
    h, c = h0, c0
    outs = [None] * T
    for t in _steps(T, reverse):
        g = xg[t] + h @ wt
        if b_hh is not None:
            g = g + b_hh
        gi, gf, gg, go = g[:, :H], g[:, H:2 * H], g[:, 2 * H:3 * H], g[:, 3 * H:]
        if peephole is not None:
            gi = gi + peephole[0] * c
            gf = gf + peephole[1] * c
            go = go + peephole[2] * c
        i, f, o = gi.sigmoid(), gf.sigmoid(), go.sigmoid()
        c = f * c + i * gg.tanh()
        h = o * c.tanh()
        outs[t] = h
    return _stack(outs), h, c


def gru_reference(xg, h0, w_hh, b_hh=None, reset_after=True, reverse=False):
    """The GRU recurrence with tensorgrad ops (PyTorch's ``reset_after=True`` or the notes'
    ``reset_after=False``, where the relevance gate multiplies h before the product)."""
    T = xg.shape[0]
    H = h0.shape[1]
    w_rz_t = w_hh[:2 * H].T
    w_n_t = w_hh[2 * H:].T
    h = h0
    outs = [None] * T
    for t in _steps(T, reverse):
        x = xg[t]
        grz = h @ w_rz_t
        if b_hh is not None:
            grz = grz + b_hh[:2 * H]
        r = (x[:, :H] + grz[:, :H]).sigmoid()
        z = (x[:, H:2 * H] + grz[:, H:]).sigmoid()
        if reset_after:
            ghn = h @ w_n_t
            if b_hh is not None:
                ghn = ghn + b_hh[2 * H:]
            n = (x[:, 2 * H:] + r * ghn).tanh()
        else:
            ghn = (r * h) @ w_n_t
            if b_hh is not None:
                ghn = ghn + b_hh[2 * H:]
            n = (x[:, 2 * H:] + ghn).tanh()
        h = (1 - z) * n + z * h
        outs[t] = h
    return _stack(outs), h


def rnn_reference(xg, h0, w_hh, b_hh=None, nonlinearity="tanh", reverse=False):
    """h_t = act(xg_t + h_{t-1} W_hhᵀ + b_hh) with tensorgrad ops (notes §9.2.1)."""
    T = xg.shape[0]
    wt = w_hh.T
    h = h0
    outs = [None] * T
    for t in _steps(T, reverse):
        a = xg[t] + h @ wt
        if b_hh is not None:
            a = a + b_hh
        h = a.relu() if nonlinearity == "relu" else a.tanh()
        outs[t] = h
    return _stack(outs), h


# ============================================================================================
# Differentiable VJP of a composition, recorded as one op (for create_graph=True)
# ============================================================================================

def _proxy(t):
    p = _wrap(t._data)
    p.requires_grad = t.requires_grad
    return p


def _composite(name, fn, inputs):
    """Record ``fn(*inputs)`` (tensorgrad ops, returns a tuple) as ONE op.

    ``fn`` runs on detached proxies, so the op's graph ends at ``inputs``; its backward is the
    VJP of ``fn``, itself recorded through ``_composite`` -- differentiable to any order."""
    proxies = [_proxy(t) for t in inputs]
    with enable_grad():
        outs = fn(*proxies)
    datas = [o._data for o in outs]
    return record_multi(name, datas, tuple(inputs), _composite_vjp,
                        saved=tuple(inputs) + (name, fn))


def _vjp_of(name, fn, inputs, needs, metas, grads):
    """Gradients of ``fn`` at ``inputs`` against ``grads`` (one per output), as a composite op."""
    need = [i for i, n in enumerate(needs) if n]
    gs = [g if g is not None else _wrap(np.zeros(m[0], m[1])) for g, m in zip(grads, metas)]
    n_in = len(inputs)

    def vjp(*args):
        xs, gg = args[:n_in], args[n_in:]
        outs = fn(*xs)
        pairs = [(o, g) for o, g in zip(outs, gg) if o.requires_grad]
        targets = [xs[i] for i in need]
        if pairs:
            res = _grad([o for o, _ in pairs], targets, [g for _, g in pairs],
                        create_graph=True, allow_unused=True)
        else:
            res = [None] * len(targets)
        return tuple(r if r is not None else _wrap(np.zeros_like(x._data))
                     for r, x in zip(res, targets))

    res = _composite(name + "_grad", vjp, list(inputs) + gs)
    out = [None] * n_in
    for r, i in zip(res, need):
        out[i] = r
    return tuple(out)


@tensor_vjp
def _composite_vjp(ctx, grads, *args):
    *inputs, name, fn = args
    return _vjp_of(name, fn, inputs, ctx.needs, ctx.meta, grads)


# ============================================================================================
# Checks shared by the ops
# ============================================================================================

def _as_t(x, what, op):
    if isinstance(x, Tensor):
        return x
    if x is None:
        return None
    raise TypeError(f"{op}: {what} must be a Tensor, got {type(x).__name__}")


def _check(op, xg, h0, w_hh, b_hh, G, c0=None, peephole=None):
    if xg.ndim != 3:
        raise ValueError(f"{op}: expected the input projection xg of shape (T, B, {G}*hidden), "
                         f"got shape {xg.shape}")
    T, B, GH = xg.shape
    if w_hh.ndim != 2 or w_hh.shape[0] != G * w_hh.shape[1]:
        raise ValueError(f"{op}: weight_hh must have shape ({G}*hidden, hidden), got "
                         f"{w_hh.shape}")
    H = w_hh.shape[1]
    if GH != G * H:
        raise ValueError(f"{op}: input projection has {GH} features per step, weight_hh "
                         f"{w_hh.shape} expects {G * H}")
    for nm, s in (("h0", h0), ("c0", c0)):
        if s is not None and s.shape != (B, H):
            raise ValueError(f"{op}: expected {nm} of shape {(B, H)} (batch, hidden), got "
                             f"{s.shape}")
    if b_hh is not None and b_hh.shape != (G * H,):
        raise ValueError(f"{op}: expected bias_hh of shape {(G * H,)}, got {b_hh.shape}")
    if peephole is not None and peephole.shape != (3, H):
        raise ValueError(f"{op}: expected peephole weights of shape {(3, H)}, got "
                         f"{peephole.shape}")
    if T == 0:
        raise ValueError(f"{op}: the sequence is empty (T = 0)")
    dts = [t.dtype for t in (xg, h0, w_hh, b_hh, c0, peephole) if t is not None]
    for d in dts:
        if d.kind != "f":
            raise TypeError(f"{op}: expected floating-point tensors, got dtype {d}")
    dt = np.result_type(*dts)
    if dt not in (np.float32, np.float64):
        dt = np.dtype(np.float64)
    return T, B, H, np.dtype(dt)


def _arr(t, dt):
    return None if t is None else np.ascontiguousarray(t._data, dtype=dt)


def _flipT(a):
    return None if a is None else a[::-1]


# ============================================================================================
# The three layer ops share one VJP
# ============================================================================================

class _Seq:
    """What the VJP of one recurrent layer op needs besides the saved tensors and arrays."""
    __slots__ = ("kind", "n_in", "reverse", "has_b", "extra", "dtype", "w", "p")

    def __init__(self, kind, n_in, reverse, has_b, extra, dtype, w, p=None):
        self.kind, self.n_in, self.reverse, self.has_b = kind, n_in, reverse, has_b
        self.extra, self.dtype, self.w, self.p = extra, dtype, w, p

    def reference(self):
        """The op as a composition of tensorgrad ops (what create_graph differentiates)."""
        kind, reverse, has_b, extra = self.kind, self.reverse, self.has_b, self.extra

        def fn(xg, h0, *rest):
            rest = list(rest)
            c0 = rest.pop(0) if kind == "lstm" else None
            w_hh = rest.pop(0)
            b = rest.pop(0) if has_b else None
            if kind == "lstm":
                return lstm_reference(xg, h0, c0, w_hh, b, rest.pop(0) if extra else None,
                                      reverse)
            if kind == "gru":
                return gru_reference(xg, h0, w_hh, b, extra, reverse)
            return rnn_reference(xg, h0, w_hh, b, extra, reverse)
        return fn

    def kernel_backward(self, grads, arrays, needs):
        """Backpropagation through time in the fused kernels; one gradient per input."""
        if self.kind == "lstm":
            dout, dhn, dcn = grads
            hs, cs, acts, tcs = arrays
            dxg, dh0, dc0, dw, db, dp = _K.lstm_backward(dout, dhn, dcn, hs, cs, acts, tcs,
                                                         self.w, self.p, need_w=any(needs[3:]))
            res = [dxg, dh0, dc0, dw] + ([db] if self.has_b else []) + \
                ([dp] if self.extra else [])
        elif self.kind == "gru":
            hs, acts, aux = arrays
            dxg, dh0, dw, db = _K.gru_backward(*grads, hs, acts, aux, self.w, self.extra,
                                               need_w=any(needs[2:]))
            res = [dxg, dh0, dw] + ([db] if self.has_b else [])
        else:
            (hs,) = arrays
            dxg, dh0, dw, db = _K.rnn_backward(*grads, hs, self.w, self.extra,
                                               need_w=any(needs[2:]))
            res = [dxg, dh0, dw] + ([db] if self.has_b else [])
        return res


def _seq_vjp(ctx, gs, *args):
    spec = args[-1]
    n_in = spec.n_in
    if not any(on_arrays(g) for g in gs if g is not None):  # create_graph: differentiable
        return _vjp_of(spec.kind, spec.reference(), args[:n_in], ctx.needs, ctx.meta, gs)
    grads = [None if g is None else np.ascontiguousarray(g, dtype=spec.dtype) for g in gs]
    if spec.reverse:
        grads[0] = _flipT(grads[0])
    res = spec.kernel_backward(grads, args[n_in:-1], ctx.needs)
    if spec.reverse:
        res[0] = res[0][::-1]
    return tuple(r if need else None for r, need in zip(res, ctx.needs))


def _record_seq(spec, outs, inputs, arrays):
    return record_multi(spec.kind, outs, tuple(inputs), _seq_vjp,
                        saved=tuple(inputs) + tuple(arrays) + (spec,))


def lstm(xg, h0, c0, w_hh, b_hh=None, peephole=None, reverse=False):
    """One LSTM layer-direction over a sequence; returns ``(out (T,B,H), h_n, c_n)``."""
    op = "lstm"
    xg, h0, c0, w_hh = (_as_t(a, n, op) for a, n in ((xg, "xg"), (h0, "h0"), (c0, "c0"),
                                                      (w_hh, "weight_hh")))
    b_hh = _as_t(b_hh, "bias_hh", op)
    peephole = _as_t(peephole, "peephole", op)
    T, B, H, dt = _check(op, xg, h0, w_hh, b_hh, 4, c0=c0, peephole=peephole)
    x = _arr(xg, dt)
    w = _arr(w_hh, dt)
    p = _arr(peephole, dt)
    hs, cs, acts, tcs = _K.lstm_forward(x[::-1] if reverse else x, _arr(h0, dt), _arr(c0, dt),
                                        w, _arr(b_hh, dt), p)
    out = hs[1:][::-1] if reverse else hs[1:]
    inputs = [t for t in (xg, h0, c0, w_hh, b_hh, peephole) if t is not None]
    spec = _Seq(op, len(inputs), reverse, b_hh is not None, peephole is not None, dt, w, p)
    return _record_seq(spec, (np.ascontiguousarray(out), hs[-1].copy(), cs[-1].copy()), inputs,
                       (hs, cs, acts, tcs))


def gru(xg, h0, w_hh, b_hh=None, reset_after=True, reverse=False):
    """One GRU layer-direction over a sequence; returns ``(out (T,B,H), h_n)``."""
    op = "gru"
    xg, h0, w_hh = (_as_t(a, n, op) for a, n in ((xg, "xg"), (h0, "h0"), (w_hh, "weight_hh")))
    b_hh = _as_t(b_hh, "bias_hh", op)
    T, B, H, dt = _check(op, xg, h0, w_hh, b_hh, 3)
    x = _arr(xg, dt)
    w = _arr(w_hh, dt)
    hs, acts, aux = _K.gru_forward(x[::-1] if reverse else x, _arr(h0, dt), w, _arr(b_hh, dt),
                                   reset_after)
    out = hs[1:][::-1] if reverse else hs[1:]
    inputs = [t for t in (xg, h0, w_hh, b_hh) if t is not None]
    spec = _Seq(op, len(inputs), reverse, b_hh is not None, bool(reset_after), dt, w)
    return _record_seq(spec, (np.ascontiguousarray(out), hs[-1].copy()), inputs,
                       (hs, acts, aux))


def rnn(xg, h0, w_hh, b_hh=None, nonlinearity="tanh", reverse=False):
    """One Elman RNN layer-direction (tanh or relu); returns ``(out (T,B,H), h_n)``."""
    op = "rnn"
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{op}: unknown nonlinearity {nonlinearity!r} (expected 'tanh' or "
                         f"'relu')")
    xg, h0, w_hh = (_as_t(a, n, op) for a, n in ((xg, "xg"), (h0, "h0"), (w_hh, "weight_hh")))
    b_hh = _as_t(b_hh, "bias_hh", op)
    T, B, H, dt = _check(op, xg, h0, w_hh, b_hh, 1)
    x = _arr(xg, dt)
    w = _arr(w_hh, dt)
    hs = _K.rnn_forward(x[::-1] if reverse else x, _arr(h0, dt), w, _arr(b_hh, dt), nonlinearity)
    out = hs[1:][::-1] if reverse else hs[1:]
    inputs = [t for t in (xg, h0, w_hh, b_hh) if t is not None]
    spec = _Seq(op, len(inputs), reverse, b_hh is not None, nonlinearity, dt, w)
    return _record_seq(spec, (np.ascontiguousarray(out), hs[-1].copy()), inputs, (hs,))


# ============================================================================================
# Single cells (one step): the layer ops with T = 1
# ============================================================================================

def _cell_in(x, w_ih, b_ih, op, G, H):
    from .linalg import linear
    if x.ndim != 2:
        raise ValueError(f"{op}: expected input of shape (batch, input_size), got {x.shape}")
    if x.shape[1] != w_ih.shape[1]:
        raise ValueError(f"{op}: input has {x.shape[1]} features, weight_ih {w_ih.shape} "
                         f"expects {w_ih.shape[1]}")
    return linear(x, w_ih, b_ih).unsqueeze(0)


def lstm_cell(x, hx, cx, w_ih, w_hh, b_ih=None, b_hh=None, peephole=None):
    """One LSTM step: ``(h', c')`` from x (B, I), h, c (B, H)."""
    xg = _cell_in(x, w_ih, b_ih, "lstm_cell", 4, w_hh.shape[1])
    _, h, c = lstm(xg, hx, cx, w_hh, b_hh, peephole)
    return h, c


def gru_cell(x, hx, w_ih, w_hh, b_ih=None, b_hh=None, reset_after=True):
    xg = _cell_in(x, w_ih, b_ih, "gru_cell", 3, w_hh.shape[1])
    return gru(xg, hx, w_hh, b_hh, reset_after)[1]


def rnn_cell(x, hx, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    xg = _cell_in(x, w_ih, b_ih, "rnn_cell", 1, w_hh.shape[1])
    return rnn(xg, hx, w_hh, b_hh, nonlinearity)[1]
