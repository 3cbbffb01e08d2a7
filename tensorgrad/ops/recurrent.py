"""Recurrent layers as fused, differentiable ops (§9.2-9.5 of the course notes).

One op runs one recurrent layer in one direction over a whole sequence:

    lstm_layer(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, peephole=None, reverse=False)
    gru_layer(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reset_after=True, reverse=False)
    rnn_layer(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh", reverse=False)

return ``(out, h_n, c_n)`` (LSTM) or ``(out, h_n)``; ``x`` is (T, B, I). They include the
input projection ``x W_ihᵀ + b_ih`` of every step, so that its GEMMs (and those of the weight
gradients) can run beside the time loop (``_rnn_impl.py``); ``tensorgrad.nn.rnn`` uses them.
The same ops without the projection take ``xg`` (T, B, G·H), the input part of the gate
pre-activations, instead (the cells use them):

    lstm(xg, h0, c0, w_hh, b_hh=None, peephole=None, reverse=False) -> (out, h_n, c_n)
    gru(xg, h0, w_hh, b_hh=None, reset_after=True, reverse=False)   -> (out, h_n)
    rnn(xg, h0, w_hh, b_hh=None, nonlinearity="tanh", reverse=False) -> (out, h_n)

Weight layouts and gate orders are PyTorch's (LSTM i, f, g, o; GRU r, z, n).

Three things per op:

* the forward: the fused numba/numpy kernels of ``tensorgrad.kernels.rnn``;
* the plain backward (``backward()`` without ``create_graph``): backpropagation through time
  in the fused kernels, and the weight gradients in blocks of steps (the array branch of the
  op's VJP);
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
from ..tensor import Tensor, _wrap
from . import _rnn_impl as _impl
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


def _check(op, xshape, h0, w_hh, b_hh, G, c0=None, peephole=None, more=()):
    """Shapes of the recurrence's inputs (``xshape`` (T, B, G·H): the projection's output);
    returns T, B, H and the dtype of the computation."""
    T, B, GH = xshape
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
    dts = [t.dtype for t in (h0, w_hh, b_hh, c0, peephole, *more) if t is not None]
    for d in dts:
        if d.kind != "f":
            raise TypeError(f"{op}: expected floating-point tensors, got dtype {d}")
    dt = np.result_type(*dts)
    if dt not in (np.float32, np.float64):
        dt = np.dtype(np.float64)
    return T, B, H, np.dtype(dt)


def _check_xg(op, xg, G):
    if xg.ndim != 3:
        raise ValueError(f"{op}: expected the input projection xg of shape (T, B, {G}*hidden), "
                         f"got shape {xg.shape}")
    return xg.shape


def _check_x(op, x, w_ih, b_ih, b_hh, G):
    """The projection's inputs; returns the shape of its output."""
    if x.ndim != 3:
        raise ValueError(f"{op}: expected an input of shape (T, B, input_size), got shape "
                         f"{x.shape}")
    if w_ih.ndim != 2 or w_ih.shape[1] != x.shape[2]:
        raise ValueError(f"{op}: weight_ih must have shape ({G}*hidden, {x.shape[2]}) for an "
                         f"input with {x.shape[2]} features, got {w_ih.shape}")
    if (b_ih is None) != (b_hh is None):
        raise ValueError(f"{op}: give both biases (bias_ih and bias_hh) or neither")
    if b_ih is not None and b_ih.shape != (w_ih.shape[0],):
        raise ValueError(f"{op}: expected bias_ih of shape {(w_ih.shape[0],)}, got "
                         f"{b_ih.shape}")
    return x.shape[:2] + (w_ih.shape[0],)


def _arr(t, dt):
    return None if t is None else np.ascontiguousarray(t._data, dtype=dt)


# ============================================================================================
# All the recurrent ops share one VJP
# ============================================================================================

def _reference(spec):
    """The op as a composition of tensorgrad ops (what create_graph differentiates)."""
    def fn(*args):
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, peep = spec.split(args)
        xg = x
        if spec.proj:
            from .linalg import linear
            T, B, I = x.shape
            xg = linear(x.reshape(T * B, I), w_ih, b_ih).reshape(T, B, w_hh.shape[0])
        if spec.kind == "lstm":
            return lstm_reference(xg, h0, c0, w_hh, b_hh, peep, spec.reverse)
        if spec.kind == "gru":
            return gru_reference(xg, h0, w_hh, b_hh, spec.extra, spec.reverse)
        return rnn_reference(xg, h0, w_hh, b_hh, spec.extra, spec.reverse)
    return fn


def _seq_vjp(ctx, gs, *args):
    spec = args[-1]
    n_in = spec.n_in
    if not any(on_arrays(g) for g in gs if g is not None):  # create_graph: differentiable
        return _vjp_of(spec.kind, _reference(spec), args[:n_in], ctx.needs, ctx.meta, gs)
    grads = [None if g is None else np.ascontiguousarray(g, dtype=spec.dtype) for g in gs]
    (x, w_ih, w_hh, peep), saved = args[n_in], args[n_in + 1]
    return tuple(_impl.backward(spec, grads, saved, x, w_ih, w_hh, peep, ctx.needs))


def _run(spec, parts):
    """Forward of one op on its inputs (x/xg, h0, c0, w_ih, w_hh, b_ih, b_hh, peep; None where
    absent), recorded with the shared VJP."""
    x, h0, c0, w_ih, w_hh, b_ih, b_hh, peep = (_arr(t, spec.dtype) for t in parts)
    out, hn, cn, saved = _impl.forward(spec, x, h0, c0, w_ih, b_ih, w_hh, b_hh, peep)
    inputs = tuple(spec.join(*parts))
    outs = (out, hn) if cn is None else (out, hn, cn)
    return record_multi(spec.kind, outs, inputs, _seq_vjp,
                        saved=inputs + ((x, w_ih, w_hh, peep), saved, spec))


def _tensors(op, **kw):
    return [_as_t(v, k, op) for k, v in kw.items()]


def lstm(xg, h0, c0, w_hh, b_hh=None, peephole=None, reverse=False):
    """One LSTM layer-direction over a sequence; returns ``(out (T,B,H), h_n, c_n)``."""
    xg, h0, c0, w_hh, b_hh, peephole = _tensors("lstm", xg=xg, h0=h0, c0=c0, weight_hh=w_hh,
                                                bias_hh=b_hh, peephole=peephole)
    dt = _check("lstm", _check_xg("lstm", xg, 4), h0, w_hh, b_hh, 4, c0, peephole, (xg,))[3]
    spec = _impl.Spec("lstm", False, reverse, b_hh is not None, peephole is not None, dt)
    return _run(spec, (xg, h0, c0, None, w_hh, None, b_hh, peephole))


def gru(xg, h0, w_hh, b_hh=None, reset_after=True, reverse=False):
    """One GRU layer-direction over a sequence; returns ``(out (T,B,H), h_n)``."""
    xg, h0, w_hh, b_hh = _tensors("gru", xg=xg, h0=h0, weight_hh=w_hh, bias_hh=b_hh)
    dt = _check("gru", _check_xg("gru", xg, 3), h0, w_hh, b_hh, 3, more=(xg,))[3]
    spec = _impl.Spec("gru", False, reverse, b_hh is not None, bool(reset_after), dt)
    return _run(spec, (xg, h0, None, None, w_hh, None, b_hh, None))


def _nonlinearity(op, nonlinearity):
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{op}: unknown nonlinearity {nonlinearity!r} (expected 'tanh' or "
                         f"'relu')")


def rnn(xg, h0, w_hh, b_hh=None, nonlinearity="tanh", reverse=False):
    """One Elman RNN layer-direction (tanh or relu); returns ``(out (T,B,H), h_n)``."""
    _nonlinearity("rnn", nonlinearity)
    xg, h0, w_hh, b_hh = _tensors("rnn", xg=xg, h0=h0, weight_hh=w_hh, bias_hh=b_hh)
    dt = _check("rnn", _check_xg("rnn", xg, 1), h0, w_hh, b_hh, 1, more=(xg,))[3]
    spec = _impl.Spec("rnn", False, reverse, b_hh is not None, nonlinearity, dt)
    return _run(spec, (xg, h0, None, None, w_hh, None, b_hh, None))


_GATES = {"lstm": 4, "gru": 3, "rnn": 1}


def _layer_args(kind, x, h0, c0, w_ih, w_hh, b_ih, b_hh, extra, reverse):
    """The checked inputs of a layer op with the projection (``extra``: the LSTM's peephole
    weights, the GRU's reset_after, the RNN's nonlinearity): ``(spec, parts)`` for ``_run``."""
    op = kind + "_layer"
    G = _GATES[kind]
    if kind == "rnn":
        _nonlinearity(op, extra)
    peep = extra if kind == "lstm" else None
    x, h0, c0, w_ih, w_hh, b_ih, b_hh, peep = _tensors(
        op, input=x, h0=h0, c0=c0, weight_ih=w_ih, weight_hh=w_hh, bias_ih=b_ih, bias_hh=b_hh,
        peephole=peep)
    dt = _check(op, _check_x(op, x, w_ih, b_ih, b_hh, G), h0, w_hh, b_hh, G, c0, peep,
                (x, w_ih, b_ih))[3]
    flag = peep is not None if kind == "lstm" else (bool(extra) if kind == "gru" else extra)
    spec = _impl.Spec(kind, True, reverse, b_hh is not None, flag, dt)
    return spec, (x, h0, c0, w_ih, w_hh, b_ih, b_hh, peep)


def lstm_layer(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, peephole=None, reverse=False):
    """``lstm`` with the input projection: x (T, B, I); returns ``(out, h_n, c_n)``."""
    return _run(*_layer_args("lstm", x, h0, c0, w_ih, w_hh, b_ih, b_hh, peephole, reverse))


def gru_layer(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reset_after=True, reverse=False):
    """``gru`` with the input projection: x (T, B, I); returns ``(out, h_n)``."""
    return _run(*_layer_args("gru", x, h0, None, w_ih, w_hh, b_ih, b_hh, reset_after, reverse))


def rnn_layer(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh", reverse=False):
    """``rnn`` with the input projection: x (T, B, I); returns ``(out, h_n)``."""
    return _run(*_layer_args("rnn", x, h0, None, w_ih, w_hh, b_ih, b_hh, nonlinearity,
                             reverse))


# ---- both directions of a bidirectional layer as one op ----------------------------------------
def layer_pair(kind, x, states, params, extra=None):
    """One bidirectional layer (``kind`` lstm, gru or rnn) as one op: the forward direction and
    the reverse one over x (T, B, I), side by side on the ops' two threads
    (``_rnn_impl.on_pair``), forward and backward. ``states``: (h0, c0) per direction (c0
    None but for an LSTM); ``params``: (w_ih, w_hh, b_ih, b_hh, peephole) per direction;
    ``extra``: the GRU's reset_after or the RNN's nonlinearity. Returns ``(out (T, B, 2H),
    [h_n forward, h_n reverse], [c_n ...] or None)``. Values and gradients (of any order) are
    those of ``*_layer`` on each direction and a concatenation."""
    args = [_layer_args(kind, x, st[0], st[1], *p[:4], p[4] if kind == "lstm" else extra, d == 1)
            for d, (st, p) in enumerate(zip(states, params))]
    specs = tuple(a[0] for a in args)
    arrs = [[_arr(t, sp.dtype) for t in pa] for sp, (_, pa) in zip(specs, args)]

    def fwd(k):
        xa, h0, c0, w_ih, w_hh, b_ih, b_hh, peep = arrs[k]
        return _impl.forward(specs[k], xa, h0, c0, w_ih, b_ih, w_hh, b_hh, peep)

    (o0, hn0, cn0, s0), (o1, hn1, cn1, s1) = _impl.on_pair(lambda: fwd(0), lambda: fwd(1),
                                                           _pair_macs(arrs[0][0], arrs[0][4]))
    inputs = tuple(specs[0].join(*args[0][1])) + tuple(specs[1].join(*args[1][1])[1:])
    outs = (np.concatenate((o0, o1), 2), hn0, hn1) if cn0 is None else \
        (np.concatenate((o0, o1), 2), hn0, cn0, hn1, cn1)
    keep = tuple((a[0], a[3], a[4], a[7]) for a in arrs)  # x, w_ih, w_hh, peephole
    res = record_multi(kind + "_bidirectional", outs, inputs, _pair_vjp,
                       saved=inputs + (keep, (s0, s1), specs))
    if cn0 is None:
        return res[0], [res[1], res[2]], None
    return res[0], [res[1], res[3]], [res[2], res[4]]


def _pair_macs(x, w_hh):
    """Multiply-adds of one direction's time loop, T·B·G·H (what on_pair weighs)."""
    T, B = x.shape[:2]
    G, H = w_hh.shape
    return T * B * G * H


def _pair_reference(specs):
    f0, f1 = _reference(specs[0]), _reference(specs[1])
    n0 = specs[0].n_in

    def fn(*args):
        from .movement import cat
        r0, r1 = f0(*args[:n0]), f1(args[0], *args[n0:])
        return (cat([r0[0], r1[0]], 2),) + tuple(r0[1:]) + tuple(r1[1:])
    return fn


def _pair_vjp(ctx, gs, *args):
    specs = args[-1]
    n0 = specs[0].n_in
    n_in = n0 + specs[1].n_in - 1  # x is one input of both directions
    if not any(on_arrays(g) for g in gs if g is not None):  # create_graph: differentiable
        return _vjp_of(specs[0].kind + "_bidirectional", _pair_reference(specs), args[:n_in],
                       ctx.needs, ctx.meta, gs)
    keep, saved = args[n_in], args[n_in + 1]
    H = keep[0][2].shape[1]
    g = gs[0]
    k = len(gs) // 2  # per direction: h_n (and c_n)

    def arr(a, d):
        return None if a is None else np.ascontiguousarray(a, dtype=specs[d].dtype)
    grads = [[None if g is None else arr(g[..., d * H:(d + 1) * H], d)]
             + [arr(a, d) for a in gs[1 + d * k:1 + (d + 1) * k]] for d in (0, 1)]
    needs = (tuple(ctx.needs[:n0]), (ctx.needs[0],) + tuple(ctx.needs[n0:n_in]))

    def bwd(d):
        xa, w_ih, w_hh, peep = keep[d]
        return _impl.backward(specs[d], grads[d], saved[d], xa, w_ih, w_hh, peep, needs[d])

    r0, r1 = _impl.on_pair(lambda: bwd(0), lambda: bwd(1), _pair_macs(keep[0][0], keep[0][2]))
    dx = r1[0] if r0[0] is None else (r0[0] if r1[0] is None else r0[0] + r1[0])
    return (dx,) + tuple(r0[1:]) + tuple(r1[1:])


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
