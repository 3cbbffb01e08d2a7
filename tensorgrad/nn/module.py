"""``Module`` and ``Parameter``: what every layer is built from (PyTorch-style). The
containers (``Sequential``, ``ModuleList``, ...) are in ``containers.py``.

A Module owns Parameters, buffers (non-trainable state such as batch norm's running mean) and
child Modules. Assigning any of them as an attribute registers it, as in PyTorch, so
``named_parameters`` gives PyTorch's names (``0.weight``, ``encoder.layers.1.bias``) and
``state_dict`` gives PyTorch's keys; PyTorch weights therefore load into the same model.

Beyond PyTorch (**tg**): Parameters and Modules held in a plain Python ``list``, ``tuple`` or
``dict`` attribute are found too (named ``attr.0``, ``attr.key``), as in micrograd-style code
(``self.layers = [Linear(2, 3), Linear(3, 1)]``); a container is looked into when its first
entry is a Parameter, a Module or another container. PyTorch would ignore them; use
``ModuleList``/``ModuleDict`` when you want exact PyTorch behaviour.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..device import check_device
from ..tensor import Tensor, _as_dtype, _wrap
from ..ops.runtime import zero_grads
from ..utils.hooks import RemovableHandle
from ._hooks import call_with_hooks, check_inputs
from ._module_state import load_state_dict as _load_state_dict, parse_to as _parse_to

__all__ = ["Module", "Parameter", "Identity", "RemovableHandle"]


def default_float_dtype():
    """The float dtype layers create their parameters in when ``dtype=`` is not given."""
    return np.dtype(np.float32)


def check_factory_kwargs(where, device=None, dtype=None):
    """PyTorch's ``device=``/``dtype=`` layer arguments: the device must be the CPU (one
    clear error otherwise), the dtype a floating one; returns the numpy dtype to use."""
    check_device(device, where)
    if dtype is None:
        return default_float_dtype()
    dt = _as_dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"{where}: dtype must be a floating point dtype (float16, float32 or "
                        f"float64), got {dt}")
    return dt


# ---- Parameter ---------------------------------------------------------------------------------
class Parameter(Tensor):
    """A Tensor that a Module registers as a trainable parameter (``requires_grad=True``).

    ``Parameter(data)`` accepts a Tensor, a numpy array or nested lists; a Tensor's array is
    shared, not copied (as ``torch.nn.Parameter`` shares storage)."""

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            data = np.empty((0,), dtype=np.float32)
        if isinstance(data, Tensor):
            arr = data._data
        else:
            arr = np.asarray(data)
            if arr.dtype == np.float64 and not isinstance(data, np.ndarray):
                arr = arr.astype(np.float32)  # Python floats -> float32, as tg.tensor
        self._data = arr
        self.grad = None
        self.requires_grad = False
        self.grad_fn = None
        self._version = 0
        self._oi = 0
        self._hooks = None
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, proto):  # pragma: no cover - pickling is not how tg saves
        return (Parameter, (self._data, self.requires_grad))


# ---- helpers -----------------------------------------------------------------------------------
def _addindent(s, n):
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    return lines[0] + "\n" + "\n".join(" " * n + line for line in lines[1:])


# ---- Module ------------------------------------------------------------------------------------
def _replace_entry(store, what, name, value, cls, expected):
    """Assignment to a registered name: only a ``cls`` or None may take its place."""
    if value is not None and not isinstance(value, cls):
        raise TypeError(f"cannot assign '{type(value).__name__}' as {what} '{name}' "
                        f"({expected} or None expected)")
    store[name] = value


class Module:
    """Base class for every layer and model: subclass it, assign layers and Parameters in
    ``__init__``, and write ``forward``; call the module (not ``forward``) so hooks run."""

    training: bool
    _version_tag = 1

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments "
                            f"{args} {kwargs} (Module.__init__ takes none)")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_backward_hooks"] = OrderedDict()
        d["_backward_pre_hooks"] = OrderedDict()
        d["_forward_hooks_with_kwargs"] = set()
        d["_forward_pre_hooks_with_kwargs"] = set()
        d["_forward_hooks_always_called"] = set()

    # -- forward ---------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"Module [{type(self).__name__}] is missing the required "
                                  f"\"forward\" function")

    def __call__(self, *args, **kwargs):
        d = self.__dict__
        if (d.get("_forward_pre_hooks") or d.get("_forward_hooks") or d.get("_backward_hooks")
                or d.get("_backward_pre_hooks")):
            return call_with_hooks(self, args, kwargs)
        try:
            return self.forward(*args, **kwargs)
        except (TypeError, AttributeError) as exc:  # free when nothing is raised
            check_inputs(self, args, kwargs, exc)  # a numpy array or a list: one clear error
            raise

    def _add_hook(self, store, hook, prepend, flags=()):
        if store not in self.__dict__:
            raise AttributeError("cannot register a hook before Module.__init__() call")
        d = self.__dict__[store]
        h = RemovableHandle(d)
        d[h.id] = hook
        if prepend:
            d.move_to_end(h.id, last=False)
        for name, on in flags:
            if on:
                self.__dict__.setdefault(name, set()).add(h.id)
        return h

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args)`` (or ``hook(module, args, kwargs)`` with ``with_kwargs``)
        runs before ``forward``; a returned value replaces the positional arguments (a tuple
        or one value; ``(args, kwargs)`` with ``with_kwargs``). Returns a handle with
        ``.remove()``; ``prepend`` puts the hook first."""
        return self._add_hook("_forward_pre_hooks", hook, prepend,
                              (("_forward_pre_hooks_with_kwargs", with_kwargs),))

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False,
                              always_call=False):
        """``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` with
        ``with_kwargs``) runs after ``forward``; a returned value replaces the output.
        ``always_call``: also run (with output None) when ``forward`` raises."""
        return self._add_hook("_forward_hooks", hook, prepend,
                              (("_forward_hooks_with_kwargs", with_kwargs),
                               ("_forward_hooks_always_called", always_call)))

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """``hook(module, grad_output)`` runs when the gradients of the module's outputs are
        known; a returned tuple replaces ``grad_output``."""
        return self._add_hook("_backward_pre_hooks", hook, prepend)

    def register_full_backward_hook(self, hook, prepend=False):
        """``hook(module, grad_input, grad_output)`` runs when the gradients of the module's
        positional tensor inputs are computed (None for the other arguments); a returned
        tuple replaces ``grad_input``. As in PyTorch, built from identity ops on the inputs
        and outputs, so the module's inputs and outputs are new tensors while it is hooked."""
        return self._add_hook("_backward_hooks", hook, prepend)

    # -- registration ----------------------------------------------------------------------
    def __setattr__(self, name, value):
        """PyTorch's rules, in its order: a Parameter or a Module is registered under ``name``
        (leaving any other slot of that name); a name already registered as a parameter, child
        module or buffer takes only what that slot holds (or None); anything else is a plain
        attribute."""
        d = self.__dict__
        if isinstance(value, Parameter):
            self._register_new("_parameters", "parameters", name, value)
        elif name in d.get("_parameters", ()):
            _replace_entry(d["_parameters"], "parameter", name, value, (), "tg.nn.Parameter")
        elif isinstance(value, Module):
            self._register_new("_modules", "module", name, value)
        elif name in d.get("_modules", ()):
            _replace_entry(d["_modules"], "child module", name, value, (), "tg.nn.Module")
        elif name in d.get("_buffers", ()):
            _replace_entry(d["_buffers"], "buffer", name, value, Tensor, "tg.Tensor")
        else:
            object.__setattr__(self, name, value)

    def _register_new(self, store, what, name, value):
        reg = self.__dict__.get(store)
        if reg is None:
            raise AttributeError(f"cannot assign {what} before Module.__init__() call")
        self._remove_from(name, keep=store)
        reg[name] = value

    def _remove_from(self, name, keep):
        d = self.__dict__
        d.pop(name, None)
        for key in ("_parameters", "_buffers", "_modules"):
            if key != keep and key in d:
                d[key].pop(name, None)
        if keep != "_buffers":
            d.get("_non_persistent_buffers_set", set()).discard(name)

    def __getattr__(self, name):
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            sub = d.get(key)
            if sub is not None and name in sub:
                return sub[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            if name in d.get(key, ()):
                del d[key][name]
                d["_non_persistent_buffers_set"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        extra = list(self._parameters) + list(self._buffers) + list(self._modules)
        return sorted(set(object.__dir__(self)) | set(extra))

    def _check_entry(self, store, what, name, value, cls, expected):
        """What ``register_parameter`` and ``register_buffer`` check: ``Module.__init__`` has
        run, ``name`` is a non-empty string without '.', ``value`` is a ``cls`` or None."""
        fn = f"register_{what}"
        if store not in self.__dict__:
            raise AttributeError(f"cannot assign {what} before Module.__init__() call")
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"{fn}: {what} name must be a non-empty string without '.', got "
                           f"{name!r}")
        if value is not None and not isinstance(value, cls):
            raise TypeError(f"{fn}: cannot assign '{type(value).__name__}' as {what} '{name}' "
                            f"({expected} or None expected)")

    def register_parameter(self, name, param):
        """Add a parameter (or ``None``: a declared but absent parameter, like ``bias=False``)."""
        self._check_entry("_parameters", "parameter", name, param, Parameter, "tg.nn.Parameter")
        if hasattr(type(self), name):
            raise KeyError(f"register_parameter: attribute '{name}' already exists")
        self._remove_from(name, keep="_parameters")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent: bool = True):
        """Add non-trainable state saved in ``state_dict`` (unless ``persistent=False``)."""
        self._check_entry("_buffers", "buffer", name, tensor, Tensor, "tg.Tensor")
        if name in self._parameters or name in self._modules:
            raise KeyError(f"register_buffer: attribute '{name}' already exists")
        self.__dict__.pop(name, None)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {type(module).__name__} is not a Module subclass")
        if not isinstance(name, str) or "." in name or name == "":
            raise KeyError(f"add_module: module name must be a non-empty string without '.', "
                           f"got {name!r}")
        if "_modules" not in self.__dict__:
            raise AttributeError("cannot assign module before Module.__init__() call")
        self._remove_from(name, keep="_modules")
        self._modules[name] = module

    register_module = add_module

    # -- implicit containers (tg) ----------------------------------------------------------
    def _implicit(self):
        """(name, obj) for Parameters/Modules held in plain list/tuple/dict attributes."""
        out = []
        for attr, val in self.__dict__.items():
            if attr.startswith("_") or not isinstance(val, (list, tuple, dict)):
                continue
            stack = [(attr, val)]
            while stack:
                prefix, v = stack.pop(0)
                if not v:
                    continue
                # only containers whose first entry is a Parameter/Module/container are scanned,
                # so a long list of strings or numbers (a vocabulary) costs nothing per call
                first = next(iter(v.values())) if isinstance(v, dict) else v[0]
                if not isinstance(first, (Parameter, Module, list, tuple, dict)):
                    continue
                items = v.items() if isinstance(v, dict) else enumerate(v)
                for k, item in items:
                    nm = f"{prefix}.{k}"
                    if isinstance(item, (Parameter, Module)):
                        out.append((nm, item))
                    elif isinstance(item, (list, tuple, dict)):
                        stack.append((nm, item))
        return out

    def _local(self, store, kind):
        """This module's own (name, obj) of one kind: registered ones, then implicit ones."""
        return list(self.__dict__[store].items()) + [
            (nm, obj) for nm, obj in self._implicit() if isinstance(obj, kind)]

    def _local_params(self):
        return self._local("_parameters", Parameter)

    def _local_modules(self):
        return self._local("_modules", Module)

    # -- traversal -------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, mod in self._local_modules():
            if mod is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from mod.named_modules(memo, sub, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, mod in self._local_modules():
            if mod is not None and id(mod) not in seen:
                seen.add(id(mod))
                yield name, mod

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, getter, prefix="", recurse=True, remove_duplicate=True):
        memo = set()
        mods = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                if recurse else [(prefix, self)])
        for mod_prefix, mod in mods:
            for k, v in getter(mod):
                if v is None:
                    continue
                if remove_duplicate:
                    if id(v) in memo:
                        continue
                    memo.add(id(v))
                yield mod_prefix + ("." if mod_prefix else "") + k, v

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True):
        """(name, Parameter) pairs with PyTorch's dotted names; shared parameters once."""
        yield from self._named_members(lambda m: m._local_params(), prefix, recurse,
                                       remove_duplicate)

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True):
        yield from self._named_members(lambda m: m._buffers.items(), prefix, recurse,
                                       remove_duplicate)

    def buffers(self, recurse: bool = True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str):
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            sub = dict(mod._local_modules()).get(item)
            if sub is None:
                raise AttributeError(f"get_submodule: {type(mod).__name__} has no submodule "
                                     f"'{item}' (looking for '{target}')")
            mod = sub
        return mod

    def get_parameter(self, target: str):
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        params = dict(mod._local_params())
        if name not in params or params[name] is None:
            raise AttributeError(f"get_parameter: {type(mod).__name__} has no parameter "
                                 f"'{name}'")
        return params[name]

    # -- modes and bulk changes ------------------------------------------------------------
    def train(self, mode: bool = True):
        if not isinstance(mode, bool):
            raise ValueError(f"train: training mode is expected to be a bool, got {mode!r}")
        self.training = mode
        for m in self.children():
            m.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True):
        zero_grads(self.parameters(), set_to_none)

    def apply(self, fn):
        """Call ``fn`` on every submodule (children first) and then on self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def _cast_floats(self, dtype):
        dtype = np.dtype(dtype)
        for m in self.modules():
            for p in m._local_params():
                p = p[1]
                if p is not None and p._data.dtype.kind == "f" and p._data.dtype != dtype:
                    p._data = p._data.astype(dtype)
                    if p.grad is not None:
                        p.grad = _wrap(p.grad._data.astype(dtype))
            for name, b in list(m._buffers.items()):
                if b is not None and b._data.dtype.kind == "f" and b._data.dtype != dtype:
                    b._data = b._data.astype(dtype)
        return self

    def double(self):
        """Cast floating parameters and buffers to float64 in place (same Parameter objects)."""
        return self._cast_floats(np.float64)

    def float(self):
        """Cast floating parameters and buffers to float32 in place."""
        return self._cast_floats(np.float32)

    def half(self):
        """Cast floating parameters and buffers to float16 in place."""
        return self._cast_floats(np.float16)

    def to(self, *args, **kwargs):
        """PyTorch's ``to(device=None, dtype=None, non_blocking=False)``, ``to(dtype)``,
        ``to(tensor)``: floating parameters and buffers are cast to ``dtype`` in place; the
        device must be the CPU (anything else raises the one CPU-only error)."""
        dt = _parse_to(self, args, kwargs)
        return self if dt is None else self._cast_floats(dt)

    def cpu(self):
        return self

    def cuda(self, device=None):
        check_device("cuda" if device is None else device if isinstance(device, str)
                     else f"cuda:{device}" if isinstance(device, int) else device,
                     f"{type(self).__name__}.cuda")
        return self

    def type(self, dtype):
        return self._cast_floats(_as_dtype(dtype))

    def share_memory(self):
        return self

    # -- state dict ------------------------------------------------------------------------
    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, p in self._local_params():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()

    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False):
        """An ordered dict name -> tensor (parameters, then persistent buffers, per module,
        in PyTorch's order and names). The tensors share memory with the module."""
        if destination is None:
            destination = OrderedDict()
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, mod in self._local_modules():
            if mod is not None:
                mod.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def _state_slots(self):
        """name -> (owner module, kind, local name, tensor) for everything state_dict saves."""
        slots = OrderedDict()
        for mprefix, m in self.named_modules(remove_duplicate=False):
            pre = mprefix + "." if mprefix else ""
            for name, p in m._local_params():
                if p is not None:
                    slots[pre + name] = p
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent_buffers_set:
                    slots[pre + name] = b
        return slots

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy values from ``state_dict`` into this module's parameters and buffers (values
        keep the module's dtypes, as PyTorch); ``assign=True`` makes each parameter/buffer hold
        the state dict's array itself (its dtype too) instead of a copy. Shape mismatches
        always raise; with ``strict=True`` missing and unexpected keys raise too. Returns
        ``(missing_keys, unexpected_keys)``."""
        return _load_state_dict(self, state_dict, strict, assign)

    # -- printing --------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        for name, mod in self._local_modules():
            mod_str = _addindent(repr(mod), 2)
            lines.append(f"({name}): {mod_str}")
        main = self._get_name() + "("
        if extra_lines:
            if len(extra_lines) == 1 and not lines:
                main += extra_lines[0]
            else:
                lines = extra_lines + lines
        if lines:
            main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"


class Identity(Module):
    """Returns its input unchanged (arguments are accepted and ignored, as PyTorch)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


_CONTAINERS = ("Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict")


def __getattr__(name):
    """The containers live in ``containers.py``; ``from tensorgrad.nn.module import
    Sequential`` (their old home) still works."""
    if name in _CONTAINERS:
        from . import containers
        return getattr(containers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
