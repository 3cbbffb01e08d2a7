"""Gradient flow: how large the gradient is at every op of a graph, and per parameter.

    with tg.viz.grad_flow(loss) as flow:      # hooks on every node of loss's graph
        loss.backward()
    tg.viz.draw(loss, model=model, grads=flow)   # nodes coloured by ‖dL/d(output)‖
    tg.viz.plot_grad_flow(model)                 # bar chart of ‖.grad‖ per parameter

Vanishing gradients (§5.2, docs/maths.md) show up as a colour fade towards the inputs and bars that
drop by orders of magnitude layer by layer; exploding ones as the opposite; NaN/inf in magenta.
"""
from __future__ import annotations

import math
import weakref

import numpy as np

from ..autograd.engine import register_backward_hooks
from ..autograd.node import node_edge
from ..tensor import Tensor
from .read import const_meta

__all__ = ["GradFlow", "grad_flow", "record_grad_norms", "plot_grad_flow", "grad_norms"]


def _norm(g):
    d = g._data if isinstance(g, Tensor) else np.asarray(g)
    if d.size == 0:
        return 0.0
    if d.dtype.kind in "fc":
        d = d.astype(np.float64, copy=False)
        with np.errstate(over="ignore", invalid="ignore"):
            n = float(np.sqrt(np.sum(d * d)))
        if not np.all(np.isfinite(d)):
            return float("nan") if np.isnan(d).any() else float("inf")
        return n
    return float(np.linalg.norm(d.astype(np.float64)))


class GradFlow:
    """Records ‖gradient‖ flowing into every op output of a graph during backward (the
    latest backward pass, if there are several).

    ``flow.norm(node, i)`` gives the norm (None if no gradient reached it); ``flow.norms`` maps
    (node, output index) -> norm for everything recorded. Use as a context manager (hooks
    come off on exit) or call ``.remove()``."""

    def __init__(self, *outputs):
        self._norms = weakref.WeakKeyDictionary()   # Node -> {index: norm}
        self._consts = weakref.WeakKeyDictionary()  # Node -> {input index: (shape, dtype)}
        self._hooked = []
        self._observer = None
        self.outputs = outputs
        if outputs:
            self._attach(outputs)

    # -- hooks ------------------------------------------------------------------------------------
    def _attach(self, outputs):
        seen = set()
        stack = []
        for t in outputs:
            if not isinstance(t, Tensor):
                raise TypeError(f"grad_flow: expected Tensors, got {type(t).__name__}")
            if t.grad_fn is not None and id(t.grad_fn) not in seen:
                seen.add(id(t.grad_fn))
                stack.append(t.grad_fn)
        norms = self._norms
        while stack:
            n = stack.pop()
            for i in range(n.nout):
                ref = weakref.ref(n)

                def hook(g, _ref=ref, _i=i):
                    node = _ref()
                    if node is not None:
                        d = norms.get(node)
                        if d is None:
                            d = norms[node] = {}
                        d[_i] = _norm(g)  # the engine calls it once per backward pass
                    return None
                self._hooked.append(n.register_hook(hook, i))
            consts = {k: const_meta(n, k) for k, item in enumerate(n.next) if item is None}
            consts = {k: m for k, m in consts.items() if m is not None}
            if consts:  # backward() frees the saved values that tell these; keep them for draw
                self._consts[n] = consts
            for item in n.next:
                e = node_edge(item)
                if e is not None and id(e[0]) not in seen:
                    seen.add(id(e[0]))
                    stack.append(e[0])

    def remove(self):
        """Take the hooks off the graph (the recorded norms stay)."""
        for handle in self._hooked:
            handle.remove()
        self._hooked = []
        if self._observer is not None:
            self._observer.remove()
            self._observer = None

    def __enter__(self):
        if not self.outputs:
            # no outputs given: hook the graph of every backward() that starts in the block
            self._observer = register_backward_hooks(
                on_start=lambda outputs: self._attach(list(outputs)))
        return self

    def __exit__(self, *exc):
        self.remove()
        return False

    # -- results ----------------------------------------------------------------------------------
    def norm(self, node, index=0):
        d = self._norms.get(node)
        return None if d is None else d.get(index)

    def const_meta(self, node, k):
        """``(shape, dtype)`` of input ``k`` of ``node`` where it needs no gradient, as seen
        when the hooks went on (None if unknown)."""
        return self._consts.get(node, {}).get(k)

    @property
    def norms(self):
        return {(n, i): x for n, d in self._norms.items() for i, x in d.items()}

    def has_nonfinite(self):
        return any(not math.isfinite(x) for d in self._norms.values() for x in d.values())

    def __len__(self):
        return sum(len(d) for d in self._norms.values())

    def __repr__(self):
        return f"<GradFlow: {len(self)} gradients recorded>"


def grad_flow(*outputs):
    """Context manager recording gradient norms at every op during backward.

    ``with tg.viz.grad_flow(loss) as flow: loss.backward()`` — or without arguments, which
    hooks the graph of whatever ``backward()`` runs inside the block."""
    return GradFlow(*outputs)


def record_grad_norms(*outputs):
    """Hook every node of the outputs' graph now; returns a GradFlow that fills in during the
    next backward. Call ``flow.remove()`` when done (or use ``grad_flow`` as a context)."""
    if not outputs:
        raise TypeError("record_grad_norms: expected at least one output Tensor")
    return GradFlow(*outputs)


def _named_grads(model_or_params):
    src = model_or_params
    if hasattr(src, "named_parameters"):
        src = src.named_parameters()
    items = list(src.items()) if isinstance(src, dict) else list(src)
    out = []
    for i, it in enumerate(items):
        if isinstance(it, tuple) and len(it) == 2 and isinstance(it[1], Tensor):
            out.append(it)
        elif isinstance(it, Tensor):
            out.append((f"param{i}", it))
        else:
            raise TypeError(f"plot_grad_flow: expected a Module, a dict name -> Tensor or "
                            f"(name, Tensor) pairs; item {i} is {type(it).__name__}")
    return out


def grad_norms(model_or_params, include_bias=True):
    """[(name, ‖grad‖ or None, max |grad| or None)] for each parameter, in order."""
    rows = []
    for name, p in _named_grads(model_or_params):
        if not include_bias and (name.endswith("bias") or p._data.ndim <= 1):
            continue
        if p.grad is None:
            rows.append((name, None, None))
            continue
        d = np.asarray(p.grad._data, dtype=np.float64)
        n = _norm(d)
        with np.errstate(invalid="ignore"):
            m = float(np.max(np.abs(d))) if d.size else 0.0
        rows.append((name, n, m))
    return rows


def plot_grad_flow(model_or_params, ax=None, path=None, include_bias=True, title=None):
    """Bar chart of each parameter's gradient norm (log scale), after ``backward()``.

    Bars: ‖grad‖₂; dots: max |grad|. NaN/inf gradients get a red bar marked "NaN"/"inf";
    parameters without a gradient are marked "none". Returns the matplotlib Figure (saved to
    ``path`` when given)."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - matplotlib is a declared extra
        raise ImportError("plot_grad_flow needs matplotlib: pip install matplotlib") from e
    rows = grad_norms(model_or_params, include_bias=include_bias)
    if not rows:
        raise ValueError("plot_grad_flow: no parameters given")
    names = [r[0] for r in rows]
    finite = [r[1] for r in rows if r[1] is not None and math.isfinite(r[1]) and r[1] > 0]
    finite += [r[2] for r in rows if r[2] is not None and math.isfinite(r[2]) and r[2] > 0]
    lo = min(finite) if finite else 1e-8
    hi = max(finite) if finite else 1.0
    floor = lo / 10
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(rows) + 2), 4.2))
    else:
        fig = ax.figure
    xs = np.arange(len(rows))
    labelled = set()

    def once(lab):
        if lab in labelled:
            return None
        labelled.add(lab)
        return lab
    for x, (name, n, m) in zip(xs, rows):
        if n is None:
            ax.text(x, floor * 1.5, "none", rotation=90, ha="center", va="bottom",
                    color="#777777", fontsize=8)
        elif not math.isfinite(n):
            ax.bar(x, hi * 10, bottom=floor, color="#ff2bd6", edgecolor="#d00000", hatch="//",
                   linewidth=1.5)
            ax.text(x, hi * 12, "NaN" if math.isnan(n) else "inf", ha="center", va="bottom",
                    color="#d00000", fontweight="bold", fontsize=9)
        elif n == 0:
            ax.text(x, floor * 1.5, "0", ha="center", va="bottom", color="#777777", fontsize=9)
        else:
            ax.bar(x, n - floor, bottom=floor, color="#3b528b", alpha=0.85,
                   label=once("‖grad‖₂"))
        if m is not None and math.isfinite(m) and m > 0:
            ax.plot([x], [m], "o", color="#e08000", markersize=4,
                    label=once("max |grad|"))
    ax.set_yscale("log")
    lim = (floor, hi * 60)
    try:  # axes sharing y (plt.subplots(sharey=True)): keep every panel's bars in view
        for other in ax.get_shared_y_axes().get_siblings(ax):
            prev = getattr(other, "_tg_grad_flow_ylim", None)
            if prev is not None:
                lim = (min(lim[0], prev[0]), max(lim[1], prev[1]))
    except AttributeError:  # pragma: no cover - very old matplotlib
        pass
    ax._tg_grad_flow_ylim = lim
    ax.set_ylim(*lim)
    ax.set_xticks(xs)
    ax.set_xticklabels(names, rotation=60 if len(rows) > 4 else 0, ha="right" if len(rows) > 4
                       else "center", fontsize=8)
    ax.set_ylabel("gradient magnitude (log scale)")
    ax.set_title(title or "Gradient flow per parameter")
    ax.grid(axis="y", which="major", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    if path is not None:
        import os
        d = os.path.dirname(os.fspath(path))
        if d:
            os.makedirs(d, exist_ok=True)
        fig.savefig(path, dpi=110)
    return fig
