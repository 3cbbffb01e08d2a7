"""Recurrent layers, PyTorch-style: ``RNN``, ``GRU``, ``LSTM`` and the cells ``RNNCell``,
``GRUCell``, ``LSTMCell`` (course notes §9.2-9.5).

Names, shapes and gate orders are PyTorch's, so a PyTorch state_dict loads unchanged:
``weight_ih_l{k}[_reverse]`` (G·H, in), ``weight_hh_l{k}[_reverse]`` (G·H, H),
``bias_ih_l{k}[_reverse]``, ``bias_hh_l{k}[_reverse]`` (G·H,) with G = 4 (LSTM: i, f, g, o),
3 (GRU: r, z, n), 1 (RNN).  Initialisation U(-1/√H, 1/√H) for every parameter.

Each layer-direction is one fused recurrent op (``tensorgrad.ops.recurrent``): the input
projection of all steps, the recurrence and, in backward, backpropagation through time and the
weight gradients (the GEMMs beside the time loop on the ops' worker thread).

Options beyond PyTorch (**tg**), the variants of the notes:

* ``GRU(..., reset_after=True)``: PyTorch's GRU applies the relevance gate after the hidden
  product, ``n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))``; ``reset_after=False`` is the
  notes' §9.5.1 form, ``n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)``.
* ``LSTM(..., peephole=True)``: the peephole connections of §9.5.2, a diagonal weight per gate
  i, f, o that lets the gate see c_{t-1}; parameters ``weight_peephole_l{k}[_reverse]`` (3, H).
"""
from __future__ import annotations

import math

import numpy as np

from ..ops import recurrent as _R
from ..ops.linalg import linear
from ..ops.movement import stack
from ..random import generator
from ..tensor import Tensor, _wrap
from .module import Module, Parameter, check_factory_kwargs
from .utils import rnn as _packing

__all__ = ["RNNBase", "RNN", "GRU", "LSTM", "RNNCellBase", "RNNCell", "GRUCell", "LSTMCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _uniform(shape, k, dtype):
    return Parameter(_wrap(generator().uniform(-k, k, size=shape).astype(dtype)))




def _dropout(x, p, training):
    if p <= 0 or not training:
        return x
    from . import functional as F
    return F.dropout(x, p, training=True)


class RNNBase(Module):
    """Shared machinery of ``RNN``, ``GRU`` and ``LSTM``."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, *, reset_after=True,
                 peephole=False, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        dt = check_factory_kwargs(name, device, dtype)
        for nm, v in (("input_size", input_size), ("hidden_size", hidden_size),
                      ("num_layers", num_layers)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name}: {nm} must be a positive integer, got {v!r}")
        if not (isinstance(dropout, (int, float)) and 0 <= dropout <= 1):
            raise ValueError(f"{name}: dropout must be a number in [0, 1], got {dropout!r}")
        self.mode = mode
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.num_layers = int(num_layers)
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.reset_after = bool(reset_after)
        self.peephole = bool(peephole)
        G = _GATES[mode]
        H = self.hidden_size
        D = 2 if self.bidirectional else 1
        k = 1.0 / math.sqrt(H)
        self._flat_names = []
        for layer in range(self.num_layers):
            in_k = self.input_size if layer == 0 else H * D
            for d in range(D):
                sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
                names = [f"weight_ih{sfx}", f"weight_hh{sfx}"]
                setattr(self, names[0], _uniform((G * H, in_k), k, dt))
                setattr(self, names[1], _uniform((G * H, H), k, dt))
                if self.bias:
                    names += [f"bias_ih{sfx}", f"bias_hh{sfx}"]
                    setattr(self, names[2], _uniform((G * H,), k, dt))
                    setattr(self, names[3], _uniform((G * H,), k, dt))
                if self.peephole:
                    names.append(f"weight_peephole{sfx}")
                    setattr(self, names[-1], _uniform((3, H), k, dt))
                self._flat_names.append(names)

    def reset_parameters(self):
        """Re-draw every parameter from U(-1/√H, 1/√H) (PyTorch's default)."""
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            p._data[...] = generator().uniform(-k, k, size=p.shape).astype(p.dtype)

    def flatten_parameters(self):
        """PyTorch compatibility (cuDNN weight packing there); nothing to do here."""
        return None

    # ---- helpers ------------------------------------------------------------------------------
    def _params(self, layer, d):
        sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
        g = lambda n: getattr(self, n + sfx, None)  # noqa: E731
        return (g("weight_ih"), g("weight_hh"), g("bias_ih") if self.bias else None,
                g("bias_hh") if self.bias else None,
                g("weight_peephole") if self.peephole else None)

    def _check_input(self, input):
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in (2, 3):
            raise ValueError(
                f"{name}: expected input of 3 dimensions ({'batch, seq' if self.batch_first else 'seq, batch'}, "
                f"input_size) or 2 dimensions (seq, input_size) for an unbatched sequence, got "
                f"{input.ndim} dimensions (shape {input.shape})")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input has {input.shape[-1]} features in its last "
                             f"dimension, expected input_size={self.input_size} (input shape "
                             f"{input.shape})")
        if input.dtype.kind != "f":
            raise TypeError(f"{name}: expected a floating-point input, got dtype {input.dtype}")

    def _check_state(self, s, what, B, batched):
        name = type(self).__name__
        D = 2 if self.bidirectional else 1
        exp = (self.num_layers * D, B, self.hidden_size) if batched else \
            (self.num_layers * D, self.hidden_size)
        if not isinstance(s, Tensor):
            raise TypeError(f"{name}: {what} must be a Tensor, got {type(s).__name__}")
        if tuple(s.shape) != exp:
            raise ValueError(f"{name}: expected {what} of shape {exp} (num_layers*num_directions"
                             f"{', batch' if batched else ''}, hidden_size), got {tuple(s.shape)}")
        return s if batched else s.unsqueeze(1)

    def _run(self, x, h0s, c0s):
        """x (T, B, I); h0s/c0s lists (one (B, H) per layer-direction). Returns out, h_n, c_n."""
        kind = self.mode.split("_")[0].lower()  # lstm, gru, rnn
        extra = (self.reset_after if kind == "gru" else
                 "relu" if self.mode == "RNN_RELU" else "tanh")
        hn, cn = [], []
        for layer in range(self.num_layers):
            if layer > 0:
                x = _dropout(x, self.dropout, self.training)
            # one op per layer (both directions: tensorgrad.ops.recurrent.layer_pair, side by
            # side on the ops' two threads): projection, time loop, and in backward BPTT and
            # the weight gradients (_rnn_impl)
            if self.bidirectional:
                i = 2 * layer
                x, h, c = _R.layer_pair(
                    kind, x, [(h0s[j], c0s[j] if kind == "lstm" else None) for j in (i, i + 1)],
                    [self._params(layer, d) for d in (0, 1)], extra)
                hn += h
                cn += c or []
                continue
            w_ih, w_hh, b_ih, b_hh, peep = self._params(layer, 0)
            if kind == "lstm":
                x, h, c = _R.lstm_layer(x, h0s[layer], c0s[layer], w_ih, w_hh, b_ih, b_hh, peep)
                cn.append(c)
            elif kind == "gru":
                x, h = _R.gru_layer(x, h0s[layer], w_ih, w_hh, b_ih, b_hh, extra)
            else:
                x, h = _R.rnn_layer(x, h0s[layer], w_ih, w_hh, b_ih, b_hh, extra)
            hn.append(h)
        return x, stack(hn, 0), (stack(cn, 0) if cn else None)

    def forward(self, input, hx=None):
        if isinstance(input, _packing.PackedSequence):
            return _packing.run_packed(self, input, hx)
        self._check_input(input)
        batched = input.ndim == 3
        x = input
        if not batched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        T, B, _ = x.shape
        D = 2 if self.bidirectional else 1
        L = self.num_layers * D
        dt = np.result_type(x.dtype, self.weight_hh_l0.dtype)
        lstm = self.mode == "LSTM"
        name = type(self).__name__
        if hx is None:
            z = _wrap(np.zeros((B, self.hidden_size), dt))
            h0s = [z] * L
            c0s = [z] * L
        else:
            if lstm:
                if not (isinstance(hx, (tuple, list)) and len(hx) == 2):
                    raise TypeError(f"{name}: expected hx to be a tuple (h_0, c_0), got "
                                    f"{type(hx).__name__}")
                h0 = self._check_state(hx[0], "h_0", B, batched)
                c0 = self._check_state(hx[1], "c_0", B, batched)
                h0s = [h0[i] for i in range(L)]
                c0s = [c0[i] for i in range(L)]
            else:
                h0 = self._check_state(hx, "hx", B, batched)
                h0s = [h0[i] for i in range(L)]
                c0s = None
        out, hn, cn = self._run(x, h0s, c0s)
        if not batched:
            out = out.squeeze(1)
            hn = hn.squeeze(1)
            cn = cn.squeeze(1) if cn is not None else None
        elif self.batch_first:
            out = out.transpose(0, 1)
        return (out, (hn, cn)) if lstm else (out, hn)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        if self.mode == "GRU" and not self.reset_after:
            s += ", reset_after=False"
        if self.peephole:
            s += ", peephole=True"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh) (or relu)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r} (expected 'tanh' or "
                             f"'relu')")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)
        self.nonlinearity = nonlinearity


class GRU(RNNBase):
    """Gated recurrent unit (PyTorch's equations; ``reset_after=False`` gives the notes')."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, reset_after=True, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, reset_after=reset_after, device=device, dtype=dtype)


class LSTM(RNNBase):
    """Long short-term memory (PyTorch's equations; ``peephole=True`` adds the notes'
    peephole connections)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, peephole=False, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, peephole=peephole, device=device, dtype=dtype)


# ============================================================================================
# Cells
# ============================================================================================

class RNNCellBase(Module):
    def __init__(self, input_size, hidden_size, bias, G, peephole=False, device=None,
                 dtype=None):
        super().__init__()
        name = type(self).__name__
        dt = check_factory_kwargs(name, device, dtype)
        for nm, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name}: {nm} must be a positive integer, got {v!r}")
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.bias = bool(bias)
        k = 1.0 / math.sqrt(hidden_size)
        H = self.hidden_size
        self.weight_ih = _uniform((G * H, self.input_size), k, dt)
        self.weight_hh = _uniform((G * H, H), k, dt)
        if self.bias:
            self.bias_ih = _uniform((G * H,), k, dt)
            self.bias_hh = _uniform((G * H,), k, dt)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        if peephole:
            self.weight_peephole = _uniform((3, H), k, dt)

    def reset_parameters(self):
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            p._data[...] = generator().uniform(-k, k, size=p.shape).astype(p.dtype)

    def _prep(self, input):
        """The input as a batch (x, its batch size, whether it was batched) and the dtype the
        step computes in."""
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: expected input of 2 dimensions (batch, input_size) or 1 "
                             f"dimension (input_size,), got {input.ndim} dimensions (shape "
                             f"{input.shape})")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input has {input.shape[-1]} features, expected "
                             f"input_size={self.input_size} (input shape {input.shape})")
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        return x, x.shape[0], batched, np.result_type(x.dtype, self.weight_hh.dtype)

    def _state(self, s, what, B, batched, dt):
        name = type(self).__name__
        if s is None:
            return _wrap(np.zeros((B, self.hidden_size), dt))
        exp = (B, self.hidden_size) if batched else (self.hidden_size,)
        if not isinstance(s, Tensor):
            raise TypeError(f"{name}: {what} must be a Tensor, got {type(s).__name__}")
        if tuple(s.shape) != exp:
            raise ValueError(f"{name}: expected {what} of shape {exp}, got {tuple(s.shape)}")
        return s if batched else s.unsqueeze(0)

    def forward(self, input, hx=None):
        """One step of a cell whose state is one tensor h (RNNCell, GRUCell: ``self._step``);
        returns h'."""
        x, B, batched, dt = self._prep(input)
        h = self._step(x, self._state(hx, "hx", B, batched, dt))
        return h if batched else h.squeeze(0)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        return s


class RNNCell(RNNCellBase):
    """One Elman step: h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) (or relu)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r} (expected "
                             f"'tanh' or 'relu')")
        super().__init__(input_size, hidden_size, bias, 1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def _step(self, x, h):
        return _R.rnn_cell(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
                           self.nonlinearity)


class GRUCell(RNNCellBase):
    """One GRU step (``reset_after=False``: the notes' variant)."""

    def __init__(self, input_size, hidden_size, bias=True, reset_after=True, device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device=device, dtype=dtype)
        self.reset_after = bool(reset_after)

    def _step(self, x, h):
        return _R.gru_cell(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
                           self.reset_after)


class LSTMCell(RNNCellBase):
    """One LSTM step; returns ``(h', c')`` (``peephole=True``: the notes' peepholes)."""

    def __init__(self, input_size, hidden_size, bias=True, peephole=False, device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, peephole=peephole, device=device,
                         dtype=dtype)
        self.peephole = bool(peephole)

    def forward(self, input, hx=None):
        x, B, batched, dt = self._prep(input)
        if hx is None:
            h = c = self._state(None, "h", B, batched, dt)
        else:
            if not (isinstance(hx, (tuple, list)) and len(hx) == 2):
                raise TypeError(f"LSTMCell: expected hx to be a tuple (h, c), got "
                                f"{type(hx).__name__}")
            h = self._state(hx[0], "h", B, batched, dt)
            c = self._state(hx[1], "c", B, batched, dt)
        h, c = _R.lstm_cell(x, h, c, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
                            self.weight_peephole if self.peephole else None)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))
