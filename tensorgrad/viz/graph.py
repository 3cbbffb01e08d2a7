"""Drawing computation graphs: ``tg.viz.draw(loss, model=model, show_grads=True)``.

``draw`` runs three steps, each in its own module:

1. ``read.py`` reads the graph behind the outputs (``RawGraph``: vertices and edges, walked
   iteratively, so a graph hundreds of thousands of ops deep draws);
2. ``fold.py`` keeps a big graph readable (``Folded``): one box per module call or named scope,
   repeated blocks and periodic chains drawn once and marked ×N, and past ``max_nodes`` one
   summary node for the ops farthest from the outputs;
3. ``dot.py`` writes the DOT text (``DotWriter``), with the look from ``style.py``.

The result is a ``Graph``: DOT text in ``.source``; pictures come from the Graphviz ``dot``
program (see render.py).
"""
from __future__ import annotations

import os

from . import render as _render
from .dot import DotWriter
from .fold import Folded
from .read import RawGraph, named_params

__all__ = ["draw", "Graph"]


class Graph:
    """A drawn computation graph: ``.source`` (DOT), ``.save(path)``, ``.pipe(fmt)``;
    notebooks show it through ``_repr_svg_``. ``.stats`` says what was drawn and folded."""

    def __init__(self, source: str, stats: dict):
        self.source = source
        self.stats = stats
        self._svg = None

    def pipe(self, format: str = "svg") -> bytes:  # noqa: A002 (graphviz's name)
        """The rendered picture as bytes (needs the Graphviz ``dot`` program)."""
        return _render.render_bytes(self.source, format)

    def svg(self) -> str:
        if self._svg is None:
            self._svg = self.pipe("svg").decode("utf-8")
        return self._svg

    def save(self, path, format: str | None = None):  # noqa: A002
        """Write the graph; the format comes from the suffix (.dot/.gv, .svg, .png, .pdf, ...).
        Returns the path."""
        path = os.fspath(path)
        ext = os.path.splitext(path)[1].lower()
        if format is None:
            if ext in (".dot", ".gv"):
                format = "dot"
            elif ext in _render.FORMATS:
                format = _render.FORMATS[ext]
            else:
                raise ValueError(f"Graph.save: cannot tell the format from {path!r}; use a .dot, "
                                 f".svg, .png or .pdf suffix, or pass format=")
        d = os.path.dirname(path)
        if d:
            os.makedirs(d, exist_ok=True)
        if format in ("dot", "gv"):
            with open(path, "w", encoding="utf-8") as f:
                f.write(self.source)
        else:
            data = self.svg().encode("utf-8") if format == "svg" else self.pipe(format)
            with open(path, "wb") as f:
                f.write(data)
        return path

    def _repr_svg_(self):
        if _render.find_dot() is None:
            return None  # the notebook falls back to __repr__, which says what to install
        return self.svg()

    def __repr__(self):
        s = self.stats
        hint = "" if _render.find_dot() else " (install Graphviz 'dot' to render; .source has DOT)"
        return (f"<tensorgrad.viz.Graph: {s['ops']} ops, {s['drawn_ops']} drawn, "
                f"{s['leaves']} leaves{hint}>")


def draw(*outputs, params=None, model=None, show_grads=False, grads=None, max_nodes=300,
         collapse=True, output_names=None, show_constants=True, rankdir="TB", title=None,
         fontsize=11, show_dtype=True, split_shared=8):
    """Draw the computation graph that produced ``outputs``.

    params:  names for parameters: a dict name -> Tensor, (name, Tensor) pairs or a Module.
    model:   a Module: names its parameters and, for ops recorded under ``tg.viz.trace(model)``,
             gives one box per module call (without a trace, ops that use a module's
             parameters directly are boxed with that module).
    show_grads: colour nodes and edges by gradient norm (log scale); NaN/inf in magenta.
             Leaves use ``.grad``; op nodes need ``grads=`` from ``tg.viz.grad_flow``.
    grads:   a GradFlow (from ``with tg.viz.grad_flow(loss) as flow: loss.backward()``);
             implies show_grads.
    max_nodes: op nodes drawn at most; the rest fold into one summary node.
    collapse: fold repeated structure (True: runs of >= 3 repeats; an int: that many; False: off).
    rankdir: "TB" (outputs at the bottom), "LR", "BT", "RL" or "auto".
    split_shared: a leaf read by more than this many drawn ops (a weight shared by every
             step) is drawn as a small copy next to each reader instead of one node with a
             fan of long edges (None: never).
    """
    if not outputs:
        raise TypeError("draw: expected at least one output Tensor")
    if len(outputs) == 1 and isinstance(outputs[0], (list, tuple)):
        outputs = tuple(outputs[0])
    if grads is not None:
        if not callable(getattr(grads, "norm", None)):
            raise TypeError(f"draw: grads must be a GradFlow from tg.viz.grad_flow(...) or "
                            f"tg.viz.record_grad_norms(...), got {type(grads).__name__}")
        show_grads = True
    if max_nodes is not None and (not isinstance(max_nodes, int) or max_nodes < 1):
        raise ValueError(f"draw: max_nodes must be a positive int or None, got {max_nodes!r}")
    min_rep = 0 if collapse is False else (3 if collapse is True else int(collapse))
    if collapse is not False and min_rep < 2:
        raise ValueError(f"draw: collapse must be True/False or an int >= 2, got {collapse!r}")
    names = named_params(params)
    if model is not None:
        for k, v in named_params(model).items():
            names.setdefault(k, v)
    if output_names is not None and len(output_names) != len(outputs):
        raise ValueError(f"draw: got {len(output_names)} output_names for {len(outputs)} outputs")

    folded = Folded(RawGraph(outputs), names, model, min_rep, max_nodes, show_constants)
    dot = DotWriter(folded, names, show_grads, grads, output_names, rankdir, title, fontsize,
                    show_dtype, split_shared)
    return Graph(dot.source, dot.stats)
