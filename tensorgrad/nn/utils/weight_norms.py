"""Weight reparametrisations with PyTorch's (hook-based) ``torch.nn.utils`` API:
``weight_norm`` / ``remove_weight_norm`` (Salimans & Kingma 2016) and ``spectral_norm`` /
``remove_spectral_norm`` (Miyato et al. 2018).

Each replaces the parameter ``name`` of a module by parameters (and buffers) with PyTorch's
names — ``weight_g`` and ``weight_v``; ``weight_orig`` with buffers ``weight_u`` and
``weight_v`` — and recomputes ``module.weight`` from them in a forward pre-hook, so the
gradients reach the new parameters through the graph and PyTorch state dicts load as they are.
"""
from __future__ import annotations

from ... import ops as _ops
from ...autograd.grad_mode import no_grad
from ...random import generator
from ...tensor import _wrap

__all__ = ["weight_norm", "remove_weight_norm", "spectral_norm", "remove_spectral_norm"]


def _norm_except_dim(v, dim):
    """‖v‖ over every dim but ``dim`` (kept as size-1 dims); over all of v when ``dim`` is
    None or -1 (PyTorch's convention here)."""
    if dim is None or dim == -1:
        return (v * v).sum().sqrt()
    dim = dim % v.ndim
    axes = tuple(i for i in range(v.ndim) if i != dim)
    return (v * v).sum(axes, keepdim=True).sqrt()


def _attach(module, name, fn, what):
    """Register ``fn`` as the forward pre-hook that recomputes ``module.<name>``, and keep its
    handle where ``remove_<what>`` finds it."""
    handle = module.register_forward_pre_hook(fn)
    module.__dict__.setdefault(f"_{what}_handles", {})[name] = (handle, fn)
    return module


def _detach(module, name, what):
    """Remove the pre-hook ``_attach`` registered for ``name``; return its reparametrisation."""
    handles = module.__dict__.get(f"_{what}_handles", {})
    if name not in handles:
        raise ValueError(f"{what} of '{name}' not found in {type(module).__name__}")
    handle, fn = handles.pop(name)
    handle.remove()
    return fn


def _restore(module, name, w):
    """Make the computed weight ``w`` the plain parameter ``name`` again."""
    from ..module import Parameter
    module.__dict__.pop(name, None)
    module.register_parameter(name, Parameter(w.detach().clone()))
    return module


class _WeightNorm:
    def __init__(self, name, dim):
        self.name, self.dim = name, dim

    def compute(self, module):
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return v * (g / _norm_except_dim(v, self.dim))

    def __call__(self, module, inputs):
        object.__setattr__(module, self.name, self.compute(module))


def weight_norm(module, name="weight", dim=0):
    """w = g · v / ‖v‖, the norm over every dim but ``dim`` (None or -1: over all of v)."""
    from ..module import Parameter
    if name + "_g" in module._parameters:
        raise RuntimeError(f"weight_norm: cannot register two weight_norm hooks on the same "
                           f"parameter {name}")
    w = module._parameters.get(name)
    if w is None:
        raise ValueError(f"weight_norm: module {type(module).__name__} has no parameter "
                         f"{name!r}")
    fn = _WeightNorm(name, dim)
    with no_grad():
        g = _norm_except_dim(w, dim)
    del module._parameters[name]
    module.register_parameter(name + "_g", Parameter(g.detach().clone()))
    module.register_parameter(name + "_v", Parameter(w.detach().clone()))
    object.__setattr__(module, name, fn.compute(module))
    return _attach(module, name, fn, "weight_norm")


def remove_weight_norm(module, name="weight"):
    """Fold g and v back into one parameter ``name``."""
    fn = _detach(module, name, "weight_norm")
    with no_grad():
        w = fn.compute(module)
    del module._parameters[name + "_g"], module._parameters[name + "_v"]
    return _restore(module, name, w)


class _SpectralNorm:
    def __init__(self, name, n_power_iterations, dim, eps):
        self.name, self.n, self.dim, self.eps = name, n_power_iterations, dim, eps

    def matrix(self, w):
        if self.dim != 0:
            w = w.movedim(self.dim, 0)
        return w.reshape(w.shape[0], -1)

    def compute(self, module, do_power_iteration):
        w = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        W = self.matrix(w)
        if do_power_iteration:
            with no_grad():
                for _ in range(self.n):
                    v.copy_(_normalize(W.detach().mT @ u, self.eps))
                    u.copy_(_normalize(W.detach() @ v, self.eps))
                u, v = u.clone(), v.clone()
        sigma = (u * (W @ v)).sum()
        return w / sigma

    def __call__(self, module, inputs):
        object.__setattr__(module, self.name, self.compute(module, module.training))


def _normalize(x, eps):
    return x / _ops.clamp((x * x).sum().sqrt(), min=eps)


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """w / σ(w), σ the largest singular value of w (as a matrix with ``dim`` first; default 0,
    1 for transposed convolutions), estimated by ``n_power_iterations`` power iterations per
    training forward pass."""
    from ..module import Parameter
    w = module._parameters.get(name)
    if w is None:
        raise ValueError(f"spectral_norm: module {type(module).__name__} has no parameter "
                         f"{name!r}")
    if n_power_iterations <= 0:
        raise ValueError(f"spectral_norm: expected n_power_iterations to be positive, but got "
                         f"n_power_iterations={n_power_iterations}")
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    fn = _SpectralNorm(name, n_power_iterations, dim, eps)
    W = fn.matrix(w.detach())
    h, wd = W.shape
    rng = generator()
    dt = w._data.dtype
    u = _normalize(_wrap(rng.standard_normal(h).astype(dt)), eps)
    v = _normalize(_wrap(rng.standard_normal(wd).astype(dt)), eps)
    del module._parameters[name]
    module.register_parameter(name + "_orig", Parameter(w.detach().clone()))
    object.__setattr__(module, name, w.detach().clone())
    module.register_buffer(name + "_u", u)
    module.register_buffer(name + "_v", v)
    return _attach(module, name, fn, "spectral_norm")


def remove_spectral_norm(module, name="weight"):
    """Keep the current normalised weight as a plain parameter ``name``."""
    fn = _detach(module, name, "spectral_norm")
    with no_grad():
        w = fn.compute(module, do_power_iteration=False)
    del module._parameters[name + "_orig"]
    del module._buffers[name + "_u"], module._buffers[name + "_v"]
    return _restore(module, name, w)
