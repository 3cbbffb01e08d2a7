"""Activation modules, PyTorch's names, constructor arguments, attributes and reprs.

The parameter-free ones are generated from one line each in ``_TABLE``: the module's name, its
functional form and torch's constructor arguments (name, default) in torch's order. The module
stores each argument as an attribute of that name and calls the function with them, so adding
an activation is two edits: the function in ``tensorgrad/ops/activation.py`` and a row here.
``inplace=True`` writes the result into the input (``copy_``) as PyTorch does.

``PReLU`` (a learnable slope), ``RReLU`` (random slopes while training), ``Softmax2d`` and
``MultiheadAttention`` (in ``attention.py``) are written out.
"""
from __future__ import annotations

import numpy as np

from .. import ops as _ops
from ..ops import activation as _act
from ..tensor import _wrap
from .module import Module, Parameter, check_factory_kwargs

_NOT_GIVEN = object()


class _Activation(Module):
    """Base of the generated activations: ``_fn`` is the functional form, ``_args`` torch's
    constructor arguments ((name, default), ...); ``_repr`` picks torch's repr style."""
    _fn = None
    _args = ()
    _repr = "named"

    def __init__(self, *args, **kwargs):
        super().__init__()
        cls = type(self).__name__
        names = [n for n, _ in self._args]
        if len(args) > len(names):
            raise TypeError(f"{cls}.__init__() takes at most {len(names)} arguments "
                            f"({', '.join(names) or 'none'}), got {len(args)}")
        values = dict(zip(names, args))
        for k, v in kwargs.items():
            if k not in names:
                raise TypeError(f"{cls}.__init__() got an unexpected keyword argument {k!r} "
                                f"(it takes {', '.join(names) or 'no arguments'})")
            if k in values:
                raise TypeError(f"{cls}.__init__() got multiple values for argument {k!r}")
            values[k] = v
        for n, default in self._args:
            v = values.get(n, default)
            if v is _NOT_GIVEN:
                raise TypeError(f"{cls}.__init__() missing required argument {n!r}")
            setattr(self, n, v)

    def forward(self, input):
        kw = {n: getattr(self, n) for n, _ in self._args if n != "inplace"}
        if getattr(self, "inplace", False):
            return _act.apply_inplace(type(self)._fn, input, **kw)
        return type(self)._fn(input, **kw)

    def extra_repr(self):
        shown = [(n, getattr(self, n)) for n, _ in self._args if n != "inplace"]
        if self._repr == "bare":  # Softshrink(0.5)
            s = ", ".join(str(v) for _, v in shown)
        else:
            s = ", ".join(f"{n}={v!r}" for n, v in shown)
        if getattr(self, "inplace", False):
            s += (", " if s else "") + "inplace=True"
        return s


_IP = ("inplace", False)
# name, functional form, torch's constructor arguments, repr style, docstring
_TABLE = [
    ("ReLU", _ops.relu, (_IP,), "named", "max(x, 0)."),
    ("LeakyReLU", _ops.leaky_relu, (("negative_slope", 0.01), _IP), "named",
     "x for x > 0, negative_slope · x otherwise."),
    ("Tanh", _ops.tanh, (), "named", "tanh(x)."),
    ("Sigmoid", _ops.sigmoid, (), "named", "1 / (1 + e^{−x})."),
    ("Softmax", _ops.softmax, (("dim", None),), "named", "softmax along ``dim``."),
    ("LogSoftmax", _ops.log_softmax, (("dim", None),), "named", "log softmax along ``dim``."),
    ("Softmin", _act.softmin, (("dim", None),), "named", "softmax(−x) along ``dim``."),
    ("GELU", _act.gelu, (("approximate", "none"),), "named",
     "x Φ(x), or its tanh approximation (``approximate='tanh'``)."),
    ("SiLU", _act.silu, (_IP,), "named", "x σ(x)."),
    ("Mish", _act.mish, (_IP,), "named", "x tanh(softplus(x))."),
    ("ELU", _act.elu, (("alpha", 1.0), _IP), "named", "x for x > 0, α (eˣ − 1) otherwise."),
    ("CELU", _act.celu, (("alpha", 1.0), _IP), "named",
     "max(0, x) + min(0, α (exp(x/α) − 1))."),
    ("SELU", _act.selu, (_IP,), "named", "scale · ELU(x, α) with the self-normalizing constants."),
    ("Hardtanh", _act.hardtanh, (("min_val", -1.0), ("max_val", 1.0), _IP), "named",
     "clamp(x, min_val, max_val)."),
    ("Hardsigmoid", _act.hardsigmoid, (_IP,), "named", "relu6(x + 3) / 6."),
    ("Hardswish", _act.hardswish, (_IP,), "named", "x · relu6(x + 3) / 6."),
    ("Softplus", _ops.softplus, (("beta", 1.0), ("threshold", 20.0)), "named",
     "log(1 + e^{βx}) / β (linear above ``threshold``)."),
    ("Softsign", _act.softsign, (), "named", "x / (1 + |x|)."),
    ("LogSigmoid", _act.logsigmoid, (), "named", "log σ(x)."),
    ("Tanhshrink", _act.tanhshrink, (), "named", "x − tanh(x)."),
    ("Softshrink", _act.softshrink, (("lambd", 0.5),), "bare", "soft thresholding by λ."),
    ("Hardshrink", _act.hardshrink, (("lambd", 0.5),), "bare", "x where |x| > λ, else 0."),
    ("Threshold", _act.threshold, (("threshold", _NOT_GIVEN), ("value", _NOT_GIVEN), _IP),
     "named", "x where x > threshold, else value."),
    ("GLU", _act.glu, (("dim", -1),), "named", "a ⊗ σ(b) for the halves a, b along ``dim``."),
]


def _make(name, fn, args, style, doc):
    sig = ", ".join(n if d is _NOT_GIVEN else f"{n}={d!r}" for n, d in args)
    return type(name, (_Activation,), {
        "_fn": staticmethod(fn), "_args": args, "_repr": style, "__module__": __name__,
        "__doc__": f"``{name}({sig})``: {doc}"})


for _row in _TABLE:
    globals()[_row[0]] = _make(*_row)


class ReLU6(Hardtanh):  # noqa: F821 (generated above)
    """``ReLU6(inplace=False)``: min(max(x, 0), 6) (a Hardtanh from 0 to 6, as in PyTorch)."""

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Softmax2d(Module):
    """Softmax over the channels (dim −3) of a (N, C, H, W) or (C, H, W) input."""

    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected an input of 3 or 4 dims (C, H, W) or "
                             f"(N, C, H, W), got shape {tuple(input.shape)}")
        return _ops.softmax(input, -3)


class PReLU(Module):
    """max(0, x) + a · min(0, x) with a learnable slope ``weight`` of shape
    (num_parameters,), initialized to ``init`` (one per channel, or one for all)."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        dt = check_factory_kwargs("PReLU", device, dtype)
        self.num_parameters = int(num_parameters)
        self.init = init
        self.weight = Parameter(_wrap(np.full((self.num_parameters,), init, dtype=dt)))

    def reset_parameters(self):
        self.weight._data[...] = self.init
        self.weight._version += 1

    def forward(self, input):
        return _act.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class RReLU(Module):
    """Randomized leaky ReLU: slopes ~ U(lower, upper) in training, their mean in eval."""

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input):
        return _act.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace
                                                           else "")


__all__ = [r[0] for r in _TABLE] + ["ReLU6", "Softmax2d", "PReLU", "RReLU"]
