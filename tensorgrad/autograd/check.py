"""Gradient checking of a whole model (§5.4; the maths is in docs/maths.md).

``check_gradients(loss_fn, params)`` compares the gradient backpropagation gives for every named
parameter with central differences

    dθ_approx[i] = (J(θ + ε·e_i) − J(θ − ε·e_i)) / (2ε)

and reports, per parameter, the relative error

    ‖dθ_approx − dθ‖₂ / (‖dθ_approx‖₂ + ‖dθ‖₂)

with the worst element, so a wrong backward shows up on the layer that owns it. How to
read the number (with ε = 1e-7): ≤ 1e-7 great; around 1e-5 look closer; ≥ 1e-3 almost surely a bug.

How the check runs (and what it puts back afterwards):

* **float64.** Each parameter's array is swapped for a float64 copy for the duration of the check
  (the Parameter object stays the same, so the model uses it); float32 tensors the loss captures
  (inputs, buffers) promote to float64 by numpy's rules. In float32, central differences with
  ε = 1e-7 would be pure round-off.
* **Dropout off** (keep_prob = 1: a random mask would make J a different function at every
  evaluation). The dropout switch that ``tg.nn.functional.dropout`` reads
  (``tensorgrad._state.STATE.dropout``) is flipped off and back on afterwards; ``nn.Dropout``
  and the recurrent layers' dropout go through that function, so they are off too. Batch norm
  stays in whatever mode it is in (train mode: the batch statistics are part of J); its running
  statistics, which every evaluation would update, are restored.
* **Same randomness in every evaluation.** tensorgrad's random generator is reset to one state
  before each evaluation of J (and restored at the end), so any remaining randomness is a fixed
  part of J rather than noise in the differences.
* Parameter values, dtypes, ``.grad`` and ``requires_grad``, module buffers, training flags and
  the dropout switch are exactly as before when the function returns (also on error).
* **Zero gradients.** Where the true gradient is 0 (e.g. a bias right before batch norm) the
  ratio compares two round-off errors and is meaningless (often ≈ 1). A row whose every
  |numeric − analytic| is below the round-off level of central differences,
  16·u·max(|J|, 1)/ε (u = float64 machine epsilon), gets the verdict "great (zero grad)" and
  counts as ok; ``rel_error`` still shows the ratio.
* **Sampling.** A tensor with more than ``max_elements`` elements gets ``max_elements`` of them
  checked, chosen with ``numpy.random.default_rng(seed)`` (so a run is reproducible); the row
  says how many were checked.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .engine import grad as _grad
from .grad_mode import no_grad
from .._state import STATE
from ..tensor import Tensor

__all__ = ["check_gradients", "GradientCheckReport", "GradientCheckRow", "verdict_for"]

GREAT = 1e-7   # O(1e-7) or smaller: great
BUG = 1e-3     # O(1e-3) or more: almost surely a bug


def verdict_for(rel_error: float) -> str:
    """How to read a relative error (§5.4): 'great', 'look closer' or 'bug'."""
    if not math.isfinite(rel_error):
        return "bug"
    if rel_error <= GREAT:
        return "great"
    if rel_error < BUG:
        return "look closer"
    return "bug"


def _rel(num, ana):
    den = float(np.linalg.norm(num) + np.linalg.norm(ana))
    if den == 0.0:
        return 0.0
    return float(np.linalg.norm(num - ana)) / den


class GradientCheckRow:
    """One parameter's result.

    ``numeric``/``analytic`` are the two values at ``worst_index`` (the element with the
    largest absolute difference); ``numeric_grad``/``analytic_grad`` hold all checked values
    (flat, in the order of ``indices``)."""

    __slots__ = ("name", "shape", "n_checked", "n_total", "rel_error", "max_abs_error",
                 "worst_index", "numeric", "analytic", "verdict", "indices", "numeric_grad",
                 "analytic_grad", "ok", "noise")

    def __init__(self, name, shape, indices, num, ana, tol, noise=0.0):
        self.name = name
        self.shape = tuple(shape)
        self.n_total = int(np.prod(shape)) if len(shape) else 1
        self.n_checked = len(indices)
        self.indices = indices
        self.numeric_grad = num
        self.analytic_grad = ana
        self.rel_error = _rel(num, ana)
        diff = np.abs(num - ana)
        if diff.size:
            k = int(np.nanargmax(diff)) if not np.all(np.isnan(diff)) else 0
            self.max_abs_error = float(diff[k])
            flat = int(indices[k])
            self.worst_index = tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()
            self.numeric = float(num[k])
            self.analytic = float(ana[k])
        else:
            self.max_abs_error = 0.0
            self.worst_index = None
            self.numeric = self.analytic = float("nan")
        self.noise = noise
        if self.rel_error > GREAT and self.max_abs_error <= noise:
            # a (near-)zero gradient: the ratio compares round-off with round-off and means
            # nothing; every difference is below what central differences can resolve
            self.verdict = "great (zero grad)"
            self.ok = True
        else:
            self.verdict = verdict_for(self.rel_error)
            self.ok = bool(self.rel_error <= tol)

    def __repr__(self):
        return (f"GradientCheckRow({self.name!r}, shape={self.shape}, rel_error={self.rel_error:.3g}, "
                f"verdict={self.verdict!r})")


class GradientCheckReport:
    """Result of :func:`check_gradients`: ``rows`` (one per parameter), ``ok``,
    ``rel_error`` (the relative error over all checked elements together), ``verdict``,
    ``failed`` (rows over ``tol``); ``str(report)`` is a readable table; ``report[name]`` a row."""

    def __init__(self, rows, tol, eps, loss):
        self.rows = rows
        self.tol = tol
        self.eps = eps
        self.loss = loss
        num = np.concatenate([r.numeric_grad for r in rows]) if rows else np.zeros(0)
        ana = np.concatenate([r.analytic_grad for r in rows]) if rows else np.zeros(0)
        self.rel_error = _rel(num, ana)
        self.verdict = verdict_for(self.rel_error)
        self.failed = [r for r in rows if not r.ok]
        self.ok = not self.failed

    def __getitem__(self, name):
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"check_gradients report: no parameter named {name!r} "
                       f"(have {[r.name for r in self.rows]})")

    def __bool__(self):
        return self.ok

    def __str__(self):
        head = ["parameter", "shape", "checked", "rel. error", "max |err|", "worst index",
                "numeric", "analytic", "verdict"]
        body = []
        for r in self.rows:
            body.append([r.name, str(r.shape), f"{r.n_checked}/{r.n_total}", f"{r.rel_error:.2e}",
                         f"{r.max_abs_error:.2e}", str(r.worst_index), f"{r.numeric:.10g}",
                         f"{r.analytic:.10g}", r.verdict + ("" if r.ok else "  <--")])
        widths = [max(len(h), *(len(row[i]) for row in body)) if body else len(h)
                  for i, h in enumerate(head)]
        line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
        n_chk = sum(r.n_checked for r in self.rows)
        n_tot = sum(r.n_total for r in self.rows)
        out = [f"Gradient check (float64, central differences, eps={self.eps:g}; loss "
               f"{self.loss:.6g}): {len(self.rows)} parameters, {n_chk} of {n_tot} elements checked",
               line(head), line(["-" * w for w in widths])]
        out += [line(row) for row in body]
        status = ("OK" if self.ok else
                  f"FAILED: {', '.join(r.name for r in self.failed)} over tol {self.tol:g}")
        out.append(f"overall relative error {self.rel_error:.2e} ({self.verdict}) -> {status}")
        out.append("reading (§5.4): <= 1e-7 great; ~1e-5 look closer; >= 1e-3 a bug")
        return "\n".join(out)

    def __repr__(self):
        return (f"GradientCheckReport(ok={self.ok}, rel_error={self.rel_error:.3g}, "
                f"rows={len(self.rows)})")

    def _repr_pretty_(self, p, cycle):  # IPython / notebooks print the table
        p.text(str(self))


# ---- helpers ---------------------------------------------------------------------------------
def _named_params(params):
    """(name, Tensor) pairs from a dict, an iterable of pairs (named_parameters()), a Module
    (its named_parameters()) or a plain sequence of tensors (named p0, p1, ...)."""
    if hasattr(params, "named_parameters") and callable(params.named_parameters):
        items = list(params.named_parameters())
    elif isinstance(params, dict):
        items = list(params.items())
    elif isinstance(params, Tensor):
        items = [("p0", params)]
    else:
        items = []
        for i, p in enumerate(list(params)):
            if isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str):
                items.append(p)
            else:
                items.append((f"p{i}", p))
    if not items:
        raise ValueError("check_gradients: params is empty; pass a dict of tensors, "
                         "module.named_parameters() or a Module")
    seen = set()
    out = []
    for name, p in items:
        if not isinstance(p, Tensor):
            raise TypeError(f"check_gradients: parameter {name!r} is a {type(p).__name__}, "
                            f"expected a Tensor")
        if p._data.dtype.kind != "f":
            raise TypeError(f"check_gradients: parameter {name!r} has dtype {p._data.dtype}; "
                            f"only floating point tensors have gradients")
        if p.grad_fn is not None:
            raise ValueError(f"check_gradients: parameter {name!r} is not a leaf tensor (it has "
                             f"grad_fn {p.grad_fn.name}); pass the leaves the loss depends on")
        if id(p) in seen:
            continue
        seen.add(id(p))
        out.append((str(name), p))
    return out


def _modules_of(*objs):
    mods = []
    for o in objs:
        if o is not None and hasattr(o, "modules") and callable(o.modules):
            mods.extend(o.modules())
    uniq = {id(m): m for m in mods}
    return list(uniq.values())


class _Restore:
    """Everything check_gradients changes, and how to put it back."""

    def __init__(self, named, modules):
        self.params = [(p, p._data, p.grad, p.requires_grad) for _, p in named]
        self.buffers = []
        self.training = []
        for m in modules:
            self.training.append((m, getattr(m, "training", None)))
            named_buffers = getattr(m, "named_buffers", None)
            if callable(named_buffers):
                for _, b in named_buffers(recurse=False):
                    if isinstance(b, Tensor):
                        self.buffers.append((b, b._data, b._data.copy(), b._version))
        self.dropout = STATE.dropout  # the dropout switch as it was
        from .. import random as _random
        self._random = _random
        self.rng_state = _random.get_rng_state()

    def switch_dropout_off(self):
        STATE.dropout = False  # tg.nn.functional.dropout reads this switch

    def reset_rng(self):
        self._random.set_rng_state(self.rng_state)

    def restore(self):
        for p, data, g, rg in self.params:
            p._data = data
            p.grad = g
            p.requires_grad = rg
        for b, arr, values, v in self.buffers:
            arr[...] = values  # the original array object, with its original values
            b._data = arr
            b._version = v
        for m, t in self.training:
            if t is not None and getattr(m, "training", None) != t:
                m.training = t
        STATE.dropout = self.dropout
        self.reset_rng()


def _scalar(loss, where):
    if not isinstance(loss, Tensor):
        raise TypeError(f"check_gradients: loss_fn must return a Tensor, got "
                        f"{type(loss).__name__} ({where})")
    if loss._data.size != 1:
        raise ValueError(f"check_gradients: loss_fn must return a scalar, got shape "
                         f"{loss._data.shape} ({where})")
    return float(loss._data.reshape(()))


# ---- the check ----------------------------------------------------------------------------------
def check_gradients(loss_fn, params, eps=1e-7, tol=1e-5, max_elements=200, seed=0, model=None,
                    progress=None):
    """Check backprop against central differences for every named parameter (§5.4).

    ``loss_fn()`` takes no arguments and returns the scalar cost J (include any regularization
    term: dθ is the derivative of the whole cost). ``params``: a dict name → tensor,
    ``module.named_parameters()``, or a Module. ``model``: a Module whose buffers and training
    flags to restore, if ``params`` is not the module itself. Returns a
    :class:`GradientCheckReport`; ``report.ok`` is True when every parameter's relative error is
    at most ``tol``. ``progress``: show a tqdm bar over the checked elements (default: only when
    there are more than 500 of them and tqdm is installed).
    """
    if not callable(loss_fn):
        raise TypeError(f"check_gradients: loss_fn must be callable, got {type(loss_fn).__name__}")
    if eps <= 0:
        raise ValueError(f"check_gradients: eps must be positive, got {eps}")
    if max_elements is not None and max_elements < 1:
        raise ValueError(f"check_gradients: max_elements must be at least 1, got {max_elements}")
    named = _named_params(params)
    modules = _modules_of(params, model, getattr(loss_fn, "__self__", None))
    state = _Restore(named, modules)
    bar = None
    try:
        state.switch_dropout_off()
        for _, p in named:
            p._data = p._data.astype(np.float64)  # a copy; the original array is put back after
            p.grad = None
            p.requires_grad = True
        tensors = [p for _, p in named]

        # analytic gradient: one backward pass
        state.reset_rng()
        loss = loss_fn()
        loss_value = _scalar(loss, "analytic pass")
        if not loss.requires_grad:
            raise RuntimeError("check_gradients: the loss does not depend on any of the given "
                               "parameters (it has no grad_fn); did loss_fn run under no_grad?")
        if loss._data.dtype != np.float64:
            warnings.warn(f"check_gradients: the loss came out as {loss._data.dtype}, not float64 "
                          f"(does the model cast to float32 somewhere, e.g. .float()?); central "
                          f"differences with eps={eps:g} in {loss._data.dtype} are mostly "
                          f"round-off, so expect large errors", RuntimeWarning, stacklevel=2)
        grads = _grad([loss], tensors, allow_unused=True)
        del loss
        analytic = [np.zeros(p._data.shape) if g is None else g._data.astype(np.float64)
                    for p, g in zip(tensors, grads)]

        # numeric gradient: two evaluations of J per checked element. Its round-off is about
        # (a few ulp of J) / eps; rows whose every difference is below that level are judged
        # "zero gradient" instead of by a ratio of two round-off errors.
        noise = 16 * np.finfo(np.float64).eps * max(abs(loss_value), 1.0) / eps
        rng = np.random.default_rng(seed)
        rows = []

        def J():
            state.reset_rng()
            with no_grad():
                return _scalar(loss_fn(), "numeric pass")

        chosen = []
        for _, p in named:
            n = p._data.size
            if max_elements is None or n <= max_elements:
                chosen.append(np.arange(n))
            else:
                chosen.append(np.sort(rng.choice(n, size=max_elements, replace=False)))
        bar = _progress_bar(progress, sum(len(i) for i in chosen))
        for (name, p), ana_full, idx in zip(named, analytic, chosen):
            flat = p._data.reshape(-1)  # a view of the float64 copy
            num = np.empty(len(idx))
            for j, k in enumerate(idx):
                orig = flat[k]
                flat[k] = orig + eps
                plus = J()
                flat[k] = orig - eps
                minus = J()
                flat[k] = orig
                num[j] = (plus - minus) / (2.0 * eps)
            if bar is not None:
                bar.update(len(idx))
            rows.append(GradientCheckRow(name, p._data.shape, idx, num,
                                         ana_full.reshape(-1)[idx].copy(), tol, noise))
    finally:
        state.restore()
        if bar is not None:
            bar.close()
    return GradientCheckReport(rows, tol, eps, loss_value)


def _progress_bar(progress, total):
    if progress is False or (progress is None and total <= 500):
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        if progress:
            raise ImportError("check_gradients(progress=True) needs tqdm (pip install tqdm)") from None
        return None
    return tqdm(total=total, desc="check_gradients", unit="elem", leave=False)
