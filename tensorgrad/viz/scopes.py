"""Scopes: which module (or named block of code) created which graph node.

While a ``trace(model)`` or ``scope(name)`` context is open, the innermost open scope is
``tensorgrad._state.STATE.scope`` (thread-local), and the autograd's ``record`` tags every new
graph node with it: ``node.scope = (scope, creation number)``. ``draw`` reads the tags to put
each module's ops in one box (a Graphviz cluster) and to fold repeated calls of the same block
(RNN time steps, stacked identical layers) into one box marked ×N. Scopes nest through
``Scope.parent``; module scopes are opened and closed by forward pre/post hooks. Nothing is
patched, and with no scope open recording pays one attribute test per op.
"""
from __future__ import annotations

import itertools
import weakref

from .._state import STATE

__all__ = ["trace", "scope", "Scope", "scope_of"]


class Scope:
    """One call of a module (or one entry into a ``scope(name)`` block)."""
    __slots__ = ("name", "qualname", "kind", "type_name", "parent", "call", "uid", "path",
                 "__weakref__")
    _uids = itertools.count()

    def __init__(self, name, qualname, kind, type_name, parent, call, path=None):
        self.name = name
        self.path = path            # module path inside the traced model ("" = the model)
        self.qualname = qualname
        self.kind = kind            # "module" or "user"
        self.type_name = type_name  # module class name, or None
        self.parent = parent
        self.call = call            # how many times this qualname was entered before, under parent
        self.uid = next(Scope._uids)

    def chain(self):
        s, out = self, []
        while s is not None:
            out.append(s)
            s = s.parent
        return out[::-1]

    def __repr__(self):
        t = f" ({self.type_name})" if self.type_name else ""
        return f"<Scope {self.qualname}{t} call {self.call}>"


_CALLS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # parent Scope -> {name: n}
_ROOT_CALLS: dict = {}


def _push(name, qualname, kind, type_name, path=None):
    """Open a new Scope inside the innermost open one and make it the innermost."""
    parent = STATE.scope
    counts = _CALLS.setdefault(parent, {}) if parent is not None else _ROOT_CALLS
    n = counts.get(qualname, 0)
    counts[qualname] = n + 1
    s = Scope(name, qualname, kind, type_name, parent, n, path)
    STATE.scope = s
    return s


def _pop(s):
    """Close ``s`` and any scope still open inside it (an exception may unwind several at
    once); its parent becomes the innermost. A scope already closed changes nothing."""
    cur = STATE.scope
    while cur is not None and cur is not s:
        cur = cur.parent
    if cur is s:
        STATE.scope = s.parent


def tag(node):
    """``(Scope, creation number)`` of a graph node recorded inside a scope, else None."""
    return getattr(node, "scope", None)


def scope_of(node):
    """The innermost Scope open when ``node`` was created, or None."""
    t = tag(node)
    return None if t is None else t[0]


class scope:
    """``with tg.viz.scope("step"):`` — ops recorded inside are drawn in one box named "step".

    Entering the same name again under the same parent (e.g. in a loop over time steps) makes
    a new call of that scope; ``draw`` folds consecutive calls with the same structure."""

    def __init__(self, name: str):
        if not isinstance(name, str) or not name:
            raise TypeError(f"scope: name must be a non-empty string, got {name!r}")
        self.name = name
        self._s = None

    def __enter__(self):
        parent = STATE.scope
        q = self.name if parent is None else f"{parent.qualname}.{self.name}"
        self._s = _push(self.name, q, "user", None)
        return self._s

    def __exit__(self, *exc):
        _pop(self._s)
        return False


def _named_modules(model):
    if not hasattr(model, "named_modules"):
        raise TypeError(f"trace: expected a tensorgrad.nn.Module (with named_modules()), got "
                        f"{type(model).__name__}")
    mods = list(model.named_modules())
    for name, m in mods:
        if not (hasattr(m, "register_forward_pre_hook") and hasattr(m, "register_forward_hook")):
            raise TypeError(f"trace: {type(m).__name__} ({name or 'the model'}) has no forward "
                            f"hooks (register_forward_pre_hook / register_forward_hook); trace "
                            f"tensorgrad Modules, or put its code inside tg.viz.scope(name)")
    return mods


class trace:
    """``with tg.viz.trace(model): loss = loss_fn(model(x), y)`` records which submodule
    created which op; ``tg.viz.draw(loss, model=model)`` then draws one box per module call.

    Several modules may be traced at once (``trace(model, criterion)``); each is an outermost
    box named after its class unless ``root=False``. Parameter names given to ``draw`` are
    matched to boxes of the first module."""

    def __init__(self, *models, root: bool = True):
        if not models:
            raise TypeError("trace: expected at least one Module")
        self.models = models
        self.model = models[0]
        self.root = root
        self._entries = {}  # id(module) -> (top name, path inside its model, is first model)
        self._mods = []
        for i, model in enumerate(models):
            top = type(model).__name__
            for n, m in _named_modules(model):
                if id(m) not in self._entries:
                    self._entries[id(m)] = (top, n, i == 0)
                    self._mods.append(m)
        self._handles = []
        self._frames = {}

    def _enter_module(self, mod):
        top, name, first = self._entries[id(mod)]
        if name == "" and not self.root:
            return None
        q = name if not self.root else (top if name == "" else f"{top}.{name}")
        short = q.rsplit(".", 1)[-1]
        return _push(short, q, "module", type(mod).__name__, name if first else None)

    def __enter__(self):
        self._outer = STATE.scope
        frames = self._frames  # id(module) -> stack of open Scopes (re-entrant calls)

        def pre(mod, *a, **k):
            frames.setdefault(id(mod), []).append(self._enter_module(mod))

        def post(mod, *a, **k):
            st = frames.get(id(mod))
            if st:
                s = st.pop()
                if s is not None:
                    _pop(s)
        for m in self._mods:
            self._handles.append(m.register_forward_pre_hook(pre))
            self._handles.append(m.register_forward_hook(post))
        return self

    def __exit__(self, *exc):
        for h in self._handles:
            h.remove()
        self._handles = []
        STATE.scope = self._outer  # closes what a forward that raised left open
        self._frames.clear()
        return False
