"""Scopes: which module (or named block of code) created which graph node.

While a ``trace(model)`` or ``scope(name)`` context is open, every new graph ``Node`` is tagged
with the innermost open scope. ``draw`` reads the tags to put each module's ops in one box
(a Graphviz cluster) and to fold repeated calls of the same block (RNN time steps, stacked
identical layers) into one box marked ×N.

Tagging works by wrapping ``Node.__init__`` while at least one scope is open (nothing is
changed otherwise, so untraced code pays nothing). Module scopes come from forward pre/post
hooks when ``Module`` has them, else from wrapping ``Module.__call__`` for the duration of the
context.
"""
from __future__ import annotations

import itertools
import weakref

from ..autograd import node as _node_mod

__all__ = ["trace", "scope", "Scope", "scope_of"]

# Node -> (Scope, creation sequence number). Weak keys: tags vanish with their graph.
_TAGS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_SEQ = itertools.count()
_STACK: list = []          # open Scope objects, innermost last
_PATCH = {"depth": 0, "orig": None}


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
    parent = _STACK[-1] if _STACK else None
    counts = _CALLS.setdefault(parent, {}) if parent is not None else _ROOT_CALLS
    n = counts.get(qualname, 0)
    counts[qualname] = n + 1
    s = Scope(name, qualname, kind, type_name, parent, n, path)
    _STACK.append(s)
    return s


def _pop(s):
    # tolerate exceptions unwinding several frames at once
    while _STACK:
        top = _STACK.pop()
        if top is s:
            break


def _install():
    if _PATCH["depth"] == 0:
        orig = _node_mod.Node.__init__

        def __init__(self, *args, **kwargs):
            orig(self, *args, **kwargs)
            if _STACK:
                _TAGS[self] = (_STACK[-1], next(_SEQ))
        _PATCH["orig"] = orig
        _node_mod.Node.__init__ = __init__
    _PATCH["depth"] += 1


def _uninstall():
    _PATCH["depth"] -= 1
    if _PATCH["depth"] == 0:
        _node_mod.Node.__init__ = _PATCH["orig"]
        _PATCH["orig"] = None


def scope_of(node):
    """The innermost Scope open when ``node`` was created, or None."""
    t = _TAGS.get(node)
    return None if t is None else t[0]


def _tag(node):
    return _TAGS.get(node)


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
        _install()
        parent = _STACK[-1] if _STACK else None
        q = self.name if parent is None else f"{parent.qualname}.{self.name}"
        self._s = _push(self.name, q, "user", None)
        return self._s

    def __exit__(self, *exc):
        _pop(self._s)
        _uninstall()
        return False


def _named_modules(model):
    if hasattr(model, "named_modules"):
        return list(model.named_modules())
    raise TypeError(f"trace: expected a tensorgrad.nn.Module (with named_modules()), got "
                    f"{type(model).__name__}")


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
        self._patched = None
        self._frames = {}

    def _enter_module(self, mod):
        top, name, first = self._entries[id(mod)]
        if name == "" and not self.root:
            return None
        q = name if not self.root else (top if name == "" else f"{top}.{name}")
        short = q.rsplit(".", 1)[-1]
        return _push(short, q, "module", type(mod).__name__, name if first else None)

    def __enter__(self):
        _install()
        self._depth0 = len(_STACK)
        frames = self._frames  # id(module) -> stack of open Scopes (re-entrant calls)
        mod0 = self._mods[0]
        if all(hasattr(m, "register_forward_pre_hook") and hasattr(m, "register_forward_hook")
               for m in self._mods):
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
        else:  # modules without hooks: wrap the base class's __call__ for the duration
            cls = None
            for k in type(mod0).__mro__:
                if "__call__" in vars(k) and k is not object:
                    cls = k
            if cls is None:
                _uninstall()
                raise TypeError(f"trace: {type(mod0).__name__} is not callable")
            orig = cls.__call__
            tracer = self

            def __call__(mod, *args, **kwargs):
                if id(mod) not in tracer._entries:
                    return orig(mod, *args, **kwargs)
                s = tracer._enter_module(mod)
                try:
                    return orig(mod, *args, **kwargs)
                finally:
                    if s is not None:
                        _pop(s)
            cls.__call__ = __call__
            self._patched = (cls, orig)
        return self

    def __exit__(self, *exc):
        for h in self._handles:
            try:
                h.remove()
            except Exception:  # noqa: BLE001 - a handle without remove(): nothing more to do
                pass
        self._handles = []
        if self._patched is not None:
            cls, orig = self._patched
            cls.__call__ = orig
            self._patched = None
        del _STACK[self._depth0:]  # frames left open by a forward that raised
        self._frames.clear()
        _uninstall()
        return False
