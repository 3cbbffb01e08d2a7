"""Variable-length sequences for the recurrent layers, with PyTorch's names
(``torch.nn.utils.rnn``): ``PackedSequence``, ``pack_padded_sequence``,
``pad_packed_sequence``, ``pad_sequence``, ``pack_sequence``, ``unpad_sequence`` and
``unpack_sequence``.

A packed sequence stores the valid steps of a batch of sequences time step by time step: at
step t the ``batch_sizes[t]`` sequences still running, in ``sorted_indices`` order (longest
first). Packing and unpacking are recorded indexing ops, so gradients flow through them.
``nn.RNN/GRU/LSTM`` given a packed sequence run each sequence over its own length only (the
state of a sequence stops at its last step, and a backward direction starts there), as
PyTorch's do; here the batch is run in groups of sequences of equal length.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ... import ops as _ops
from ...ops._util import as_tensor_arg
from ...tensor import Tensor, _wrap

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "pack_sequence", "unpad_sequence", "unpack_sequence"]


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices",
                                                   "unsorted_indices"])):
    """``(data, batch_sizes, sorted_indices, unsorted_indices)``, as PyTorch's (a tuple)."""
    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = _wrap(np.argsort(sorted_indices.numpy()).astype(np.int64))
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """``data.to(...)`` (dtype or the CPU); the index tensors stay as they are."""
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else self._replace(data=data)

    def cpu(self):
        return self

    def double(self):
        return self._replace(data=self.data.double())

    def float(self):
        return self._replace(data=self.data.float())

    @property
    def is_cuda(self):
        return False

    def is_pinned(self):
        return False


def _rows(batch_sizes, sorted_indices):
    """(time, batch) of each row of a packed ``data``, batch in the original order."""
    bs = np.asarray(batch_sizes, dtype=np.int64)
    order = (np.arange(bs[0] if bs.size else 0) if sorted_indices is None
             else np.asarray(sorted_indices, dtype=np.int64))
    t = np.repeat(np.arange(bs.size), bs)
    b = np.concatenate([order[:n] for n in bs]) if bs.size else np.zeros(0, np.int64)
    return t, b


def _lengths(lengths, op):
    if isinstance(lengths, Tensor):
        lengths = lengths.numpy()
    ln = np.asarray(lengths)
    if ln.ndim != 1 or (ln.size and ln.dtype.kind not in "iu"):
        raise ValueError(f"{op}: lengths must be a 1-D sequence of ints, got {lengths!r:.80}")
    return ln.astype(np.int64)


def pack_padded_sequence(input, lengths, batch_first=False,  # noqa: A002 (torch's names)
                         enforce_sorted=True):
    """Pack a padded batch (T, B, *) — (B, T, *) with ``batch_first`` — of sequences of the
    given lengths. ``enforce_sorted``: the lengths must be in decreasing order (else any
    order, sorted here)."""
    op = "pack_padded_sequence"
    x = as_tensor_arg(input, op, "input")
    if batch_first:
        x = x.transpose(0, 1)
    ln = _lengths(lengths, op)
    T, B = x.shape[:2]
    if ln.size != B:
        raise ValueError(f"{op}: expected {B} lengths (the batch size), got {ln.size}")
    if ln.size and (ln.min() <= 0 or ln.max() > T):
        raise RuntimeError(f"{op}: every length must be in 1..{T} (the padded length), got "
                           f"{ln.tolist()}")
    if enforce_sorted:
        if np.any(np.diff(ln) > 0):
            raise RuntimeError("pack_padded_sequence: `lengths` array must be sorted in "
                               "decreasing order when `enforce_sorted` is True. You can pass "
                               "`enforce_sorted=False` to pack_padded_sequence and/or "
                               "pack_sequence to sidestep this requirement.")
        sorted_indices = None
    else:
        sorted_indices = np.argsort(-ln, kind="stable").astype(np.int64)
    srt = ln if sorted_indices is None else ln[sorted_indices]
    batch_sizes = (srt[None, :] > np.arange(int(srt[0]) if srt.size else 0)[:, None]).sum(1)
    t, b = _rows(batch_sizes, sorted_indices)
    data = x[_wrap(t), _wrap(b)]
    si = None if sorted_indices is None else _wrap(sorted_indices)
    return PackedSequence(data, _wrap(batch_sizes.astype(np.int64)), si)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Undo ``pack_padded_sequence``: ``(padded, lengths)``, the batch in its original order
    and ``padding_value`` after each sequence's end (``total_length`` pads to that length)."""
    op = "pad_packed_sequence"
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"{op}: expected a PackedSequence, got {type(sequence).__name__}")
    data, bs = sequence.data, sequence.batch_sizes.numpy()
    si = None if sequence.sorted_indices is None else sequence.sorted_indices.numpy()
    T, B = int(bs.size), int(bs[0]) if bs.size else 0
    if total_length is not None:
        if total_length < T:
            raise ValueError(f"{op}: expected total_length to be at least the length of the "
                             f"longest sequence ({T}), got {total_length}")
        T = int(total_length)
    t, b = _rows(bs, si)
    n = data.shape[0]
    where = np.full((T, B), n, dtype=np.int64)      # row n: the padding value
    where[t, b] = np.arange(n)
    pad = _ops.full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype)
    padded = _ops.cat([data, pad], 0)[_wrap(where)]
    lengths = np.bincount(b, minlength=B).astype(np.int64)
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, _wrap(lengths)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors of shapes (L_i, *) into (max L, B, *) — (B, max L, *) with
    ``batch_first`` — filling with ``padding_value`` on ``padding_side``."""
    op = "pad_sequence"
    seqs = [as_tensor_arg(s, op, "sequences[i]") for s in sequences]
    if not seqs:
        raise RuntimeError(f"{op}: received an empty list of sequences")
    if padding_side not in ("right", "left"):
        raise ValueError(f"{op}: padding_side must be 'left' or 'right', got {padding_side!r}")
    T = max(s.shape[0] for s in seqs)
    rows = []
    for s in seqs:
        fill = _ops.full((T - s.shape[0],) + tuple(s.shape[1:]), padding_value, dtype=s.dtype)
        rows.append(_ops.cat([s, fill] if padding_side == "right" else [fill, s], 0))
    return _ops.stack(rows, 0 if batch_first else 1)


def pack_sequence(sequences, enforce_sorted=True):
    """``pack_padded_sequence(pad_sequence(sequences), lengths)``."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths,
                                enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of sequences, each cut to its length."""
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [x[i, :int(n)] for i, n in enumerate(_lengths(lengths, "unpad_sequence"))]


def unpack_sequence(packed_sequences):
    """The list of sequences a ``PackedSequence`` holds, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


def run_packed(module, packed, hx):
    """``module`` (an RNN/GRU/LSTM) over a PackedSequence: ``(packed output, h_n)`` (LSTM:
    ``(h_n, c_n)``), with ``hx`` and the final states in the batch's original order."""
    padded, lengths = pad_packed_sequence(packed)            # (T, B, *)
    ln = lengths.numpy()
    lstm = module.mode == "LSTM"
    order, outs, hs, cs = [], [], [], []
    T = padded.shape[0]
    for L in np.unique(ln)[::-1]:
        idx = np.flatnonzero(ln == L)
        order.append(idx)
        x = padded[:int(L), _wrap(idx)]
        if module.batch_first:
            x = x.transpose(0, 1)
        h = None
        if hx is not None:
            h = (hx[0][:, _wrap(idx)], hx[1][:, _wrap(idx)]) if lstm else hx[:, _wrap(idx)]
        out, state = module(x, h)
        if module.batch_first:
            out = out.transpose(0, 1)
        if int(L) < T:
            zeros = _ops.zeros((T - int(L),) + tuple(out.shape[1:]), dtype=out.dtype)
            out = _ops.cat([out, zeros], 0)
        outs.append(out)
        hs.append(state[0] if lstm else state)
        if lstm:
            cs.append(state[1])
    back = _wrap(np.argsort(np.concatenate(order)).astype(np.int64))
    out = _ops.cat(outs, 1)[:, back]
    t, b = _rows(packed.batch_sizes.numpy(),
                 None if packed.sorted_indices is None else packed.sorted_indices.numpy())
    data = out[_wrap(t), _wrap(b)]
    h_n = _ops.cat(hs, 1)[:, back]
    state = (h_n, _ops.cat(cs, 1)[:, back]) if lstm else h_n
    return packed._replace(data=data), state
