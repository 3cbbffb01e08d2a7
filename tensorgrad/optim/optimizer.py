"""The optimizer base class: parameter groups, state, ``zero_grad``, ``state_dict``.

Updates are plain numpy arithmetic on ``param._data`` (the raw array), exactly as PyTorch's
optimizers write ``param._data`` under ``no_grad``: an optimizer step is not part of any graph.
"""
from __future__ import annotations

import math

import numpy as np

from ..ops.runtime import axpy_, zero_grads

from ..tensor import Tensor, _wrap

__all__ = ["Optimizer", "required"]


class _Required:
    """Marks a hyperparameter without a default (``SGD``'s ``lr`` in old PyTorch)."""

    def __repr__(self):
        return "<required parameter>"


required = _Required()


def _is_tensor_state(v):
    return isinstance(v, (Tensor, np.ndarray))


class Optimizer:
    """Base class of all optimizers.

    ``params`` is an iterable of tensors, or of dicts (parameter groups) each with a ``"params"``
    entry and per-group overrides of the optimizer's defaults, e.g.
    ``SGD([{"params": model.base.parameters()}, {"params": head, "lr": 1e-2}], lr=1e-3)``.

    Subclasses implement ``_update_group(group)``; ``self.state[p]`` is a dict per parameter.
    State entries named in ``_scalar_state`` are Python floats (PyTorch keeps them as 0-d
    tensors: ``step``, NAdam's ``mu_product``, ASGD's ``eta`` and ``mu``); the others are
    Tensors shaped like their parameter.
    """

    _scalar_state = ("step",)

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.state: dict = {}
        self.param_groups: list = []
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params argument given to the optimizer "
                            f"should be an iterable of Tensors or dicts, but got a single Tensor "
                            f"(wrap it in a list)")
        if isinstance(params, dict):
            raise TypeError(f"{type(self).__name__}: params should be an iterable of Tensors or "
                            f"of parameter-group dicts, got a dict (pass [dict] for one group)")
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError(f"{type(self).__name__}: optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for g in param_groups:
            self.add_param_group(g)

    # ---- groups --------------------------------------------------------------------------------
    def add_param_group(self, param_group: dict):
        """Add a group (a dict with ``"params"`` and optional per-group options)."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}.add_param_group: expected a dict, got "
                            f"{type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise ValueError(f"{name}.add_param_group: the group has no 'params' entry")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(f"{name}: optimizer parameters need to be organized in ordered "
                            f"collections, but the ordering of tensors in sets changes between "
                            f"runs; use a list instead")
        else:
            params = list(params)
        # named parameters (name, tensor) are accepted too; names are kept for the record
        if params and isinstance(params[0], tuple) and len(params[0]) == 2:
            group["param_names"] = [n for n, _ in params]
            params = [p for _, p in params]
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, but parameter {i} of the "
                                f"group is {type(p).__name__}")
            if p.grad_fn is not None:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (parameter {i} "
                                 f"has grad_fn {p.grad_fn.name}); use .detach().requires_grad_()")
            if p._data.dtype.kind not in "fc":
                raise TypeError(f"{name}: parameter {i} has dtype {p._data.dtype}; only floating "
                                f"point tensors can be optimized")
        group["params"] = params
        for k, v in self.defaults.items():
            if v is required and k not in group:
                raise ValueError(f"{name}: parameter group didn't specify a value of required "
                                 f"optimization parameter {k}")
            group.setdefault(k, v)
        _check_flags(name, group)
        self._check_hyper(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: a parameter appears more than once in one parameter group")
        if seen & {id(p) for p in params}:
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def _check_hyper(self, group):
        """Subclasses validate their hyperparameters (ValueError naming the bad value)."""

    # ---- the loop ------------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True):
        """Forget the gradients: ``.grad = None`` (default, as PyTorch) or fill them with 0."""
        zero_grads((p for g in self.param_groups for p in g["params"]), set_to_none)

    def step(self, closure=None):
        """One update of every parameter that has a gradient. ``closure`` (optional) re-evaluates
        the model and returns the loss; it runs with gradients enabled."""
        loss = None
        if closure is not None:
            from ..autograd import enable_grad
            with enable_grad():
                loss = closure()
        self._opt_called = True  # lets a scheduler check the call order, as PyTorch's does
        for group in self.param_groups:
            self._update_group(group)
        return loss

    def _update_group(self, group):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def _grad(p, group):
        """The gradient as a numpy array in the parameter's dtype (None when there is none)."""
        if p.grad is None:
            return None
        g = p.grad._data if isinstance(p.grad, Tensor) else np.asarray(p.grad)
        if g.shape != p._data.shape:
            raise RuntimeError(f"optimizer step: gradient of shape {g.shape} does not match its "
                               f"parameter of shape {p._data.shape}")
        if g.dtype != p._data.dtype:
            g = g.astype(p._data.dtype)
        if group.get("maximize", False):
            g = -g
        return g

    @staticmethod
    def _decayed(p, g, group):
        """Weight decay λ = ``group["weight_decay"]``: returns ``(θ, g)`` with ``θ`` shrunk to
        ``θ (1 − lr λ)`` when the group has ``decoupled_weight_decay`` (AdamW's form), else
        ``λ θ`` added to ``g`` (L2 regularization's gradient)."""
        wd, theta = group["weight_decay"], p._data
        if wd != 0:
            if group.get("decoupled_weight_decay", False):
                theta = theta * (1 - group["lr"] * wd)
            else:
                g = g + wd * theta
        return theta, g

    @staticmethod
    def _write(p, new):
        """Write the updated values into the parameter's array (in place, as ``p._data`` is shared
        with views) and bump its version counter like an in-place op would."""
        np.copyto(p._data, new, casting="unsafe")
        p._version += 1

    @staticmethod
    def _axpy(p, g, a):
        """``p += a * g`` in place, bumping the version counter: one pass through a numba
        kernel when both arrays are contiguous and of one float dtype, else numpy."""
        d = p._data
        if (d.dtype == g.dtype and d.dtype.kind == "f" and d.shape == g.shape
                and d.flags.c_contiguous and g.flags.c_contiguous):
            axpy_(d, g, a)
        else:
            np.add(d, a * g, out=d, casting="unsafe")
        p._version += 1

    # ---- saving --------------------------------------------------------------------------------
    def _index_map(self):
        mapping, idx = {}, 0
        for g in self.param_groups:
            for p in g["params"]:
                if id(p) not in mapping:
                    mapping[id(p)] = idx
                    idx += 1
        return mapping

    def state_dict(self) -> dict:
        """PyTorch's layout: ``{"state": {index: {...}}, "param_groups": [{..., "params": [index,
        ...]}]}``, parameters numbered in group order. State tensors are copies."""
        mapping = self._index_map()
        groups = []
        for g in self.param_groups:
            d = {k: (list(v) if isinstance(v, list) else v) for k, v in g.items() if k != "params"}
            d["params"] = [mapping[id(p)] for p in g["params"]]
            groups.append(d)
        state = {}
        for g in self.param_groups:
            for p in g["params"]:
                st = self.state.get(p)
                if st:
                    state[mapping[id(p)]] = {
                        k: (_wrap(np.array(v._data if isinstance(v, Tensor) else v, copy=True))
                            if _is_tensor_state(v) else v)
                        for k, v in st.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict):
        """Restore what ``state_dict`` gave: hyperparameters per group and the per-parameter
        state (cast to each parameter's dtype). Group and parameter counts must match."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or "state" not in state_dict \
                or "param_groups" not in state_dict:
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and "
                             f"'param_groups' (from Optimizer.state_dict()), got "
                             f"{type(state_dict).__name__}"
                             + (f" with keys {sorted(state_dict)}" if isinstance(state_dict, dict)
                                else ""))
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: loaded state dict has {len(saved_groups)} "
                             f"parameter group(s), the optimizer has {len(self.param_groups)}")
        for i, (sg, g) in enumerate(zip(saved_groups, self.param_groups)):
            if len(sg["params"]) != len(g["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {i} has "
                                 f"{len(sg['params'])} parameter(s) in the state dict but "
                                 f"{len(g['params'])} in the optimizer")
        id_map = {}
        for sg, g in zip(saved_groups, self.param_groups):
            for si, p in zip(sg["params"], g["params"]):
                id_map[int(si)] = p
        saved_state = state_dict["state"]
        new_state = {}
        for k, st in saved_state.items():
            k = int(k)
            if k not in id_map:
                raise ValueError(f"{name}.load_state_dict: state for parameter index {k}, which "
                                 f"no parameter group lists")
            p = id_map[k]
            entry = {}
            for sk, v in st.items():
                if _is_tensor_state(v) and sk in self._scalar_state:
                    entry[sk] = float(np.asarray(v._data if isinstance(v, Tensor) else v))
                elif _is_tensor_state(v):
                    arr = np.array(v._data if isinstance(v, Tensor) else v, copy=True)
                    if arr.dtype.kind == "f":
                        if arr.shape != p._data.shape and arr.size != 1:
                            raise ValueError(f"{name}.load_state_dict: state '{sk}' of parameter "
                                             f"{k} has shape {arr.shape}, the parameter has "
                                             f"{p._data.shape}")
                        arr = arr.astype(p._data.dtype)
                    entry[sk] = _wrap(arr)
                else:
                    entry[sk] = v
            new_state[p] = entry
        groups = []
        for sg, g in zip(saved_groups, self.param_groups):
            ng = {k: v for k, v in sg.items() if k != "params"}
            for k, v in ng.items():  # JSON round trips turn tuples into lists
                if isinstance(self.defaults.get(k), tuple) and isinstance(v, list):
                    ng[k] = tuple(v)
            for k, v in self.defaults.items():  # e.g. a PyTorch dict without our extras
                ng.setdefault(k, v)
            ng["params"] = g["params"]
            groups.append(ng)
        self.state = new_state
        self.param_groups = groups

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(g):
                if k not in ("params", "param_names"):
                    lines.append(f"    {k}: {g[k]}")
        lines.append(")")
        return "\n".join(lines)

    # helpers for subclasses --------------------------------------------------------------------
    def _stepped(self, group, arrays=(), scalars=None):
        """``(parameter, gradient, state)`` for each parameter of ``group`` that has a gradient.
        A parameter's first step creates its state: ``step`` = 0, the arrays named in
        ``arrays`` (a dict name -> fill value, None for zeros; or a sequence of names for
        zeros) and the ``scalars``; then ``step`` is incremented."""
        fills = arrays if isinstance(arrays, dict) else dict.fromkeys(arrays)
        for p in group["params"]:
            g = self._grad(p, group)
            if g is None:
                continue
            st = self.state.setdefault(p, {})
            if not st:
                st["step"] = 0.0
                st.update(scalars or {})
                for name, fill in fills.items():
                    self._state_array(p, name, None if fill is None
                                      else np.full_like(p._data, fill))
            st["step"] += 1
            yield p, g, st

    def _state_array(self, p, key, init=None):
        st = self.state.setdefault(p, {})
        if key not in st:
            st[key] = _wrap(np.zeros_like(p._data) if init is None else np.array(init, copy=True))
        return st[key]


def _check_flags(name, defaults):
    """PyTorch's implementation switches are kept in each group as PyTorch keeps them, so state
    dicts have the same keys. ``foreach``/``fused``/``capturable`` choose among PyTorch's
    kernels (per-tensor loops, multi-tensor, CUDA graphs) that compute the same update; here
    one numpy implementation serves all, so they change nothing. ``differentiable=True`` (a
    graph through the update) is refused."""
    if defaults.get("differentiable"):
        raise RuntimeError(f"{name}: differentiable=True is not supported: tensorgrad's optimizer "
                           f"steps update parameters outside autograd, so no graph runs through "
                           f"them (leave differentiable=False)")
    if defaults.get("fused") and defaults.get("foreach"):
        raise RuntimeError(f"{name}: `fused` and `foreach` cannot be `True` together.")


def _check_nonneg(opt, what, value):
    if not (isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)):
        raise TypeError(f"{opt}: {what} must be a number, got {type(value).__name__}")
    if not value >= 0.0 or math.isnan(float(value)):
        raise ValueError(f"{opt}: invalid {what}: {value} (expected >= 0)")

