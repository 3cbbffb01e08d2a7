"""Op declarations: one ``@op`` per op gives its ``tg.`` name, its Tensor method(s) and its
``tg.nn.functional`` name.

    @op(functional=True)                  # tg.hardswish, Tensor.hardswish, F.hardswish
    def hardswish(a):
        return record("hardswish", forward(a._data), (a,), _hardswish_vjp, saved=(a,))

``methods`` names the Tensor methods (default: the op's own name; ``()`` for none; dunders
such as ``"__add__"`` allowed); ``rmethods`` names reflected methods, bound with the operands
swapped (``x.__rsub__(y)`` is ``sub(y, x)``); ``export=False`` keeps the op out of the ``tg.``
namespace. ``tensor_method`` and ``tensor_property`` declare methods that are not ops of their own
(``x.double()``, ``x.T``). ``tensorgrad.ops`` binds everything declared here onto ``Tensor`` once,
when it is first imported; nothing changes a class after that.
"""
from __future__ import annotations

EXPORTS = {}      # tg.<name> -> function
FUNCTIONAL = {}   # tg.nn.functional.<name> -> function
METHODS = {}      # Tensor.<name> -> function (self first)
PROPERTIES = {}   # Tensor.<name> -> getter


def _names(v, default):
    if v is None:
        return (default,)
    if isinstance(v, str):
        return (v,)
    return tuple(v)


def op(fn=None, *, name=None, methods=None, rmethods=(), functional=False, export=True,
       aliases=()):
    """Declare an op (decorator; ``@op`` or ``@op(...)``). ``aliases``: PyTorch's other names
    for it, each a ``tg.`` function (with ``export``) and a Tensor method."""
    def deco(f):
        n = name or f.__name__
        if export:
            EXPORTS[n] = f
        if functional:
            FUNCTIONAL[n] = f
        for m in _names(methods, n):
            METHODS[m] = f
        for m in _names(rmethods, None) if rmethods else ():
            METHODS[m] = _swapped(f, m)
        for al in aliases:
            if export:
                EXPORTS[al] = f
            METHODS[al] = f
        return f
    return deco(fn) if fn is not None else deco


def named(fn, name, doc):
    """``fn`` (a function a factory built) given the op's name and docstring; declare it
    with ``op(...)`` or ``tensor_method(...)`` afterwards."""
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def _swapped(f, mname):
    def r(self, other):
        return f(other, self)
    r.__name__ = mname
    r.__doc__ = f"``{mname}(self, other)`` is ``{f.__name__}(other, self)``."
    return r


def tensor_method(*names):
    """Declare a Tensor method that is not an op of its own (e.g. ``double`` = astype float64)."""
    def deco(f):
        for m in names or (f.__name__,):
            METHODS[m] = f
        return f
    return deco


def tensor_property(name):
    def deco(f):
        PROPERTIES[name] = f
        return f
    return deco


def bind(cls):
    """Put every declared method and property on ``cls`` (the Tensor class; done once)."""
    for m, f in METHODS.items():
        setattr(cls, m, f)
    for p, f in PROPERTIES.items():
        setattr(cls, p, property(f, doc=f.__doc__))
