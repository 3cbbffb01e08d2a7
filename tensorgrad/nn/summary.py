"""**tg** ``tg.nn.summary(model, input_shape)``: a per-layer table of output shape, activation
size and parameter count, plus totals — the layout of the LeNet-5 table of §8.7 (docs/maths.md).

It runs one forward pass (eval mode, no_grad, batch of ``batch_size``) with forward hooks on
every leaf module, then restores the model's training flags and removes its hooks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..tensor import Tensor, _wrap, _as_dtype
from ..autograd.grad_mode import no_grad

__all__ = ["summary", "ModelSummary", "SummaryRow"]


@dataclass
class SummaryRow:
    name: str            # dotted module name ("" for the input row)
    type: str            # class name, or "Input"
    output_shape: tuple  # without the batch dim (a list of shapes for several outputs)
    activation_size: int  # number of elements of the output, per example
    num_params: int      # parameters owned directly by this module
    trainable: int       # of which require grad


def _shapes(out):
    if isinstance(out, Tensor):
        return [tuple(out.shape)]
    if isinstance(out, (tuple, list)):
        res = []
        for o in out:
            res.extend(_shapes(o))
        return res
    return []


def _fmt(n):
    return f"{n:,}"


class ModelSummary:
    """Result of ``tg.nn.summary``: ``.rows`` (SummaryRow list, first row the input),
    ``.total_params``, ``.trainable_params``, ``.total_activations`` and ``str()`` a table."""

    def __init__(self, rows, total_params, trainable_params, batch_size):
        self.rows = rows
        self.total_params = total_params
        self.trainable_params = trainable_params
        self.non_trainable_params = total_params - trainable_params
        self.total_activations = sum(r.activation_size for r in rows[1:])
        self.batch_size = batch_size

    def __str__(self):
        headers = ("Layer (type)", "Output Shape", "Activation Size", "# Params")
        body = []
        for r in self.rows:
            label = "Input" if r.type == "Input" else f"{r.name} ({r.type})"
            shape = r.output_shape
            shape_s = str(shape) if not isinstance(shape, list) else ", ".join(map(str, shape))
            body.append((label, shape_s, _fmt(r.activation_size), _fmt(r.num_params)))
        widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(headers)]
        line = lambda cells: "  ".join(  # noqa: E731
            c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
        sep = "=" * len(line(headers))
        out = [line(headers), sep] + [line(b) for b in body] + [sep]
        out.append(f"Total params: {_fmt(self.total_params)}")
        out.append(f"Trainable params: {_fmt(self.trainable_params)}")
        out.append(f"Non-trainable params: {_fmt(self.non_trainable_params)}")
        out.append(f"Total activation size (per example, all layers): "
                   f"{_fmt(self.total_activations)}")
        return "\n".join(out)

    __repr__ = __str__

    def print(self):
        print(str(self))


_ACTIVATIONS = frozenset({"ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax",
                          "Dropout", "Identity", "Flatten"})


def summary(model, input_shape=None, batch_size=1, dtype=None, input_data=None, *,
            input_size=None, hide=None):
    """Run ``model`` once on zeros of shape ``(batch_size, *input_shape)`` (or on
    ``input_data``) and tabulate every leaf module — and every container that owns parameters
    directly, after its children — with output shape (batch dim dropped), activation size per
    example and its own parameter count (the §8.7 table).

    ``input_size`` is an alias of ``input_shape`` (torchinfo's name). ``hide``: class names
    whose rows are left out of the table (the totals still count them); ``"activations"``
    hides parameter-free layers that the course's tables fold into the layer before them
    (ReLU, Tanh, Sigmoid, Softmax, Dropout, Flatten, Identity, ...)."""
    from .module import Module
    if not isinstance(model, Module):
        raise TypeError(f"summary: expected a tg.nn.Module, got {type(model).__name__}")
    if input_size is not None:
        if input_shape is not None:
            raise ValueError("summary: give input_shape or input_size, not both")
        input_shape = input_size
    if hide == "activations":
        hide = _ACTIVATIONS
    elif isinstance(hide, str):
        hide = {hide}
    hide = frozenset(hide or ())
    if input_data is None:
        if input_shape is None:
            raise ValueError("summary: give input_shape (without the batch dim) or input_data")
        shape = tuple(int(s) for s in input_shape)
        if dtype is None:
            p = next(model.parameters(), None)
            dtype = p.dtype if p is not None else np.float32
        x = _wrap(np.zeros((int(batch_size),) + shape, dtype=_as_dtype(dtype)))
        inputs = (x,)
    else:
        inputs = input_data if isinstance(input_data, (tuple, list)) else (input_data,)
        inputs = tuple(inputs)
        shape = tuple(inputs[0].shape[1:])
    rows = [SummaryRow("", "Input", shape, int(np.prod(shape)), 0, 0)]
    handles = []
    modes = {id(m): m.training for m in model.modules()}

    def make_hook(name):
        def hook(mod, args, out):
            shapes = [s[1:] for s in _shapes(out)]
            own = [p for _, p in mod.named_parameters(recurse=False)]
            n = sum(int(p.numel()) for p in own)
            tr = sum(int(p.numel()) for p in own if p.requires_grad)
            out_shape = shapes[0] if len(shapes) == 1 else shapes
            size = sum(int(np.prod(s)) for s in shapes)
            rows.append(SummaryRow(name, type(mod).__name__, out_shape, size, n, tr))
        return hook

    try:
        for name, mod in model.named_modules():
            has_children = any(True for _ in mod.children())
            owns_params = any(True for _ in mod.named_parameters(recurse=False))
            if has_children and not owns_params:
                continue  # pure containers: their leaves report
            handles.append(mod.register_forward_hook(make_hook(name or type(mod).__name__)))
        model.eval()
        with no_grad():
            model(*inputs)
    finally:
        for h in handles:
            h.remove()
        for m in model.modules():
            m.training = modes.get(id(m), m.training)
    total = sum(int(p.numel()) for p in model.parameters())
    trainable = sum(int(p.numel()) for p in model.parameters() if p.requires_grad)
    summ = ModelSummary(rows, total, trainable, int(batch_size))
    summ.rows = [r for r in rows if r.type not in hide]
    return summ
