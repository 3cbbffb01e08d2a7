"""tensorgrad.viz: see the computation graph, and the gradients flowing through it.

    g = tg.viz.draw(loss, model=model)          # DOT text in g.source; g.save("graph.svg")
    with tg.viz.trace(model):                   # one box per module call
        loss = loss_fn(model(x), y)
    with tg.viz.grad_flow(loss) as flow:        # gradient norm at every op
        loss.backward()
    tg.viz.draw(loss, model=model, grads=flow)  # nodes coloured by ‖grad‖, NaN/inf in magenta
    tg.viz.plot_grad_flow(model)                # per-parameter bar chart (matplotlib)

Rendering pictures needs the Graphviz ``dot`` program; DOT text never does.
"""
from .graph import Graph, draw
from .gradflow import GradFlow, grad_flow, grad_norms, plot_grad_flow, record_grad_norms
from .render import GraphvizNotFoundError, find_dot
from .scopes import Scope, scope, scope_of, trace

__all__ = ["draw", "Graph", "trace", "scope", "scope_of", "Scope", "grad_flow",
           "record_grad_norms", "GradFlow", "plot_grad_flow", "grad_norms",
           "GraphvizNotFoundError", "find_dot"]
