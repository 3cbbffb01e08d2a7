"""Containers, PyTorch-style: ``Sequential``, ``ModuleList``, ``ModuleDict``, ``ParameterList``
and ``ParameterDict``.

Each is a Module whose entries are registered children (``_modules``) or parameters
(``_parameters``) under string keys, so ``named_parameters`` and ``state_dict`` give PyTorch's
names (``0.weight``, ``heads.a.bias``). The list-like ones share ``_ListBase`` (keys "0", "1",
..., renumbered after a deletion or an insertion), the dict-like ones ``_DictBase``.
"""
from __future__ import annotations

from collections import OrderedDict
import itertools

from .module import Module, Parameter, _addindent

__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]


class _Container(Module):
    """Entries kept in ``self.<_store>``: ``"_modules"`` (Modules, checked by ``add_module``)
    or ``"_parameters"`` (anything else is wrapped in a ``Parameter``)."""

    _store = "_modules"

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self._add_all(values)

    def _entries(self) -> OrderedDict:
        return self.__dict__[self._store]

    def _register(self, key, value):
        if self._store == "_parameters":
            self.register_parameter(key, value if isinstance(value, Parameter)
                                    else Parameter(value))
        else:
            self.add_module(key, value)

    def __len__(self):
        return len(self._entries())


class _ListBase(_Container):
    """Entries under keys "0", "1", ...; iterating gives the entries."""

    def _idx(self, idx):
        n = len(self)
        if not -n <= idx < n:
            raise IndexError(f"{type(self).__name__}: index {idx} is out of range "
                             f"(length {n})")
        return idx % n

    def _renumber(self, values):
        self._entries().clear()
        for i, v in enumerate(values):
            self._register(str(i), v)

    def __iter__(self):
        return iter(self._entries().values())

    def append(self, value):
        self._register(str(len(self)), value)
        return self

    def extend(self, values):
        for v in values:
            self.append(v)
        return self

    _add_all = extend


class _DictBase(_Container):
    """Entries under the given keys, in insertion order; iterating gives the keys."""

    def __getitem__(self, key):
        return self._entries()[key]

    def __setitem__(self, key, value):
        self._register(key, value)

    def __delitem__(self, key):
        del self._entries()[key]

    def __iter__(self):
        return iter(self._entries())

    def __contains__(self, key):
        return key in self._entries()

    def keys(self):
        return self._entries().keys()

    def values(self):
        return self._entries().values()

    def items(self):
        return self._entries().items()

    def pop(self, key):
        return self._entries().pop(key)

    def clear(self):
        self._entries().clear()

    def update(self, values):
        """Add the entries of a mapping or of an iterable of ``(key, value)`` pairs."""
        for k, v in (values.items() if hasattr(values, "items") else values):
            self[k] = v

    _add_all = update


def _no_forward(self, *a, **k):
    raise NotImplementedError(f"{type(self).__name__} has no forward: use its entries in your "
                              f"module's forward")


class Sequential(_ListBase):
    """Modules applied one after another. ``Sequential(a, b)`` names them ``0``, ``1``;
    ``Sequential(OrderedDict(name=module, ...))`` keeps the given names."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], (dict, OrderedDict)):
            for k, m in args[0].items():
                self.add_module(k, m)
        else:
            for i, m in enumerate(args):
                if not isinstance(m, Module):
                    raise TypeError(f"Sequential: argument {i} is a {type(m).__name__}, "
                                    f"not a Module")
                self.add_module(str(i), m)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[self._idx(int(idx))]

    def __setitem__(self, idx, module):
        key = list(self._modules.keys())[self._idx(int(idx))]
        self.add_module(key, module)

    def __delitem__(self, idx):
        keys = list(self._modules.keys())
        if isinstance(idx, slice):
            for k in keys[idx]:
                del self._modules[k]
        else:
            del self._modules[keys[self._idx(int(idx))]]
        self._renumber(list(self._modules.values()))  # as PyTorch

    def __add__(self, other):
        if not isinstance(other, Sequential):
            raise TypeError("Sequential + : expected another Sequential")
        return Sequential().extend(itertools.chain(self, other))

    def insert(self, index, module):
        items = list(self._modules.values())
        n = len(items)
        if not -n <= index <= n:
            raise IndexError(f"Sequential.insert: index {index} out of range (length {n})")
        items.insert(index, module)  # a negative index counts from the end, as list.insert
        self._renumber(items)
        return self

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x


class ModuleList(_ListBase):
    """A list of Modules, registered (named ``0``, ``1``, ...)."""

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        return self._modules[str(self._idx(int(idx)))]

    def __setitem__(self, idx, module):
        self.add_module(str(self._idx(int(idx))), module)

    def __delitem__(self, idx):
        items = list(self._modules.values())
        del items[idx]
        self._renumber(items)

    def __iadd__(self, modules):
        return self.extend(modules)

    def insert(self, index, module):
        items = list(self._modules.values())
        items.insert(index, module)
        self._renumber(items)

    def __repr__(self):
        # runs of identical entries print once, as "(i-j): n x Layer(...)" (PyTorch's layout)
        reprs = [repr(m) for m in self]
        if not reprs:
            return "ModuleList()"
        groups = []  # [first index, last index, text]
        for i, r in enumerate(reprs):
            if groups and groups[-1][2] == r:
                groups[-1][1] = i
            else:
                groups.append([i, i, r])
        lines = []
        for a, b, r in groups:
            head = f"({a})" if a == b else f"({a}-{b}): {b - a + 1} x"
            lines.append(_addindent(f"{head}{':' if a == b else ''} {r}", 2))
        return "ModuleList(\n  " + "\n  ".join(lines) + "\n)"

    forward = _no_forward


class ModuleDict(_DictBase):
    """A dict of Modules, registered under their keys (insertion order kept)."""

    forward = _no_forward


def _parameters_repr(self):
    return "\n".join(f"({k}): Parameter containing: [{p.dtype} of size {tuple(p.shape)}]"
                     for k, p in self._parameters.items())


class ParameterList(_ListBase):
    """A list of Parameters, registered (named ``0``, ``1``, ...); other values are wrapped in
    a ``Parameter``."""

    _store = "_parameters"

    def __getitem__(self, idx):
        return self._parameters[str(self._idx(int(idx)))]

    def __setitem__(self, idx, p):
        self._register(str(self._idx(int(idx))), p)

    extra_repr = _parameters_repr


class ParameterDict(_DictBase):
    """A dict of Parameters, registered under their keys; other values are wrapped in a
    ``Parameter``."""

    _store = "_parameters"

    extra_repr = _parameters_repr
