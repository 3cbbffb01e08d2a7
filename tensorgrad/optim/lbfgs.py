"""L-BFGS, PyTorch's algorithm and closure API (``tg.optim.LBFGS``).

L-BFGS keeps the last ``history_size`` pairs (s, y) of parameter steps and gradient changes and
turns the gradient into a quasi-Newton direction with the two-loop recursion (Nocedal & Wright,
*Numerical Optimization*, Algorithm 7.4); the initial inverse-Hessian guess is
``H₀ = (sᵀy / yᵀy)·I``. Pairs with ``sᵀy ≤ 1e-10`` are skipped (they would break positive
definiteness). The step length is ``lr`` (on the very first iteration ``min(1, 1/‖g‖₁)·lr``), or,
with ``line_search_fn="strong_wolfe"``, the result of a bracketing + zoom line search with cubic
interpolation that satisfies the strong Wolfe conditions (c₁ = 1e-4, c₂ = 0.9).

The iteration, stopping rules and line search follow ``torch.optim.LBFGS`` step for step, so in
float64 the iterates equal PyTorch's (to rounding in the dot products). Like PyTorch, every
parameter lives in one group, ``step(closure)`` needs a closure that zeroes the gradients,
recomputes the loss, calls ``backward()`` and returns the loss, and the state (history, last
direction and step) is kept under the first parameter.
"""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor, _wrap
from .optimizer import Optimizer, _check_nonneg

__all__ = ["LBFGS"]


def _cubic_min(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1, f1'=g1) and (x2, f2, g2), clipped to
    ``bounds`` (default: the interval between x1 and x2); the midpoint when the cubic has none."""
    lo, hi = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc >= 0:
        d2 = math.sqrt(disc)
        if x1 <= x2:
            xm = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2))
        else:
            xm = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2))
        return min(max(xm, lo), hi)
    return (lo + hi) / 2.0


def _strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Line search along ``d`` from the point with loss ``f``, gradient ``g`` and slope
    ``gtd = gᵀd``: first bracket an interval holding a strong-Wolfe point (growing t by cubic
    extrapolation), then zoom into it. ``evaluate(t)`` returns (loss, flat gradient) at x + t·d.
    Returns (loss, gradient, t, evaluations)."""
    d_norm = float(np.max(np.abs(d)))
    g = g.copy()
    f_new, g_new = evaluate(t)
    evals = 1
    gtd_new = float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    it = 0
    bracket = bracket_f = bracket_g = bracket_gtd = None
    while it < max_ls:
        if f_new > f + c1 * t * gtd or (it > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # extrapolate: the cubic's minimiser, kept in [t + 0.01 (t - t_prev), 10 t]
        t_old = t
        t = _cubic_min(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                       bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t_old, f_new, g_new.copy(), gtd_new
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = float(g_new @ d)
        it += 1
    if it == max_ls:
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]

    # zoom: shrink the bracket until a point meets the strong Wolfe conditions
    insufficient = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and it < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_min(bracket[0], bracket_f[0], bracket_gtd[0],
                       bracket[1], bracket_f[1], bracket_gtd[1])
        # too close to an end of the bracket: move 10 % of its length inside
        bmax, bmin = max(bracket), min(bracket)
        eps = 0.1 * (bmax - bmin)
        if min(bmax - t, t - bmin) < eps:
            if insufficient or t >= bmax or t <= bmin:
                t = bmax - eps if abs(t - bmax) < abs(t - bmin) else bmin + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = float(g_new @ d)
        it += 1
        if f_new > f + c1 * t * gtd or f_new >= bracket_f[low]:
            bracket[high], bracket_f[high] = t, f_new
            bracket_g[high], bracket_gtd[high] = g_new.copy(), gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low] = t, f_new
            bracket_g[low], bracket_gtd[low] = g_new.copy(), gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], evals


def _as_float(loss, where):
    if isinstance(loss, Tensor):
        if loss.numel() != 1:
            raise RuntimeError(f"{where}: the closure must return a scalar loss, got a tensor of "
                               f"shape {loss.shape}")
        return float(loss.item())
    try:
        return float(loss)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: the closure must return the loss (a scalar Tensor or a "
                        f"number), got {type(loss).__name__}") from None


class LBFGS(Optimizer):
    """L-BFGS with PyTorch's options and defaults.

    ``lr`` (1) scales every step; ``max_iter`` (20) iterations and ``max_eval``
    (``max_iter * 5 // 4``) closure calls at most per ``step``; stop early when the largest
    |gradient| entry is ≤ ``tolerance_grad`` (1e-7) or when the loss or the step changes by less
    than ``tolerance_change`` (1e-9); ``history_size`` (100) (s, y) pairs; ``line_search_fn``
    None (fixed step) or ``"strong_wolfe"``.

    Usage::

        opt = tg.optim.LBFGS([x], lr=1, line_search_fn="strong_wolfe")
        def closure():
            opt.zero_grad()
            loss = f(x)
            loss.backward()
            return loss
        for _ in range(10):
            opt.step(closure)
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        if isinstance(lr, Tensor):
            if lr.numel() != 1:
                raise ValueError("LBFGS: Tensor lr must be 1-element")
            lr = float(lr.item())
        _check_nonneg("LBFGS", "learning rate", lr)
        for what, v in (("max_iter", max_iter), ("history_size", history_size)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"LBFGS: {what} must be a positive integer, got {v!r}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: line_search_fn must be None or 'strong_wolfe' (the only "
                             f"line search supported, as in PyTorch), got {line_search_fn!r}")
        super().__init__(params, dict(lr=lr, max_iter=int(max_iter), max_eval=int(max_eval),
                                      tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change,
                                      history_size=int(history_size),
                                      line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def add_param_group(self, param_group):
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    # ---- flat views of the parameters ----------------------------------------------------------
    def _flat_grad(self):
        parts = []
        for p in self._params:
            if p.grad is None:
                parts.append(np.zeros(p._data.size, dtype=p._data.dtype))
            else:
                g = p.grad._data if isinstance(p.grad, Tensor) else np.asarray(p.grad)
                parts.append(np.asarray(g, dtype=p._data.dtype).reshape(-1))
        return np.concatenate(parts)

    def _add_step(self, t, d):
        """x ← x + t·d, parameter by parameter (in place, version counters bumped)."""
        off = 0
        for p in self._params:
            n = p._data.size
            self._axpy(p, np.ascontiguousarray(d[off:off + n], dtype=p._data.dtype)
                       .reshape(p._data.shape), t)
            off += n

    def _get_x(self):
        return [p._data.copy() for p in self._params]

    def _set_x(self, xs):
        for p, x in zip(self._params, xs):
            self._write(p, x)

    def _closure(self, closure):
        from ..autograd import enable_grad
        with enable_grad():
            loss = closure()
        return loss

    # ---- the step -------------------------------------------------------------------------------
    def step(self, closure=None):
        """Up to ``max_iter`` L-BFGS iterations; returns the loss the first closure call gave."""
        if closure is None or not callable(closure):
            raise TypeError("LBFGS.step: needs a closure that zeroes the gradients, computes the "
                            "loss, calls backward() and returns the loss: opt.step(closure)")
        self._opt_called = True  # lets a scheduler check the call order
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        line_search, history = group["line_search_fn"], group["history_size"]

        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = self._closure(closure)
        loss = _as_float(orig_loss, "LBFGS.step")
        current_evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        if np.max(np.abs(g)) <= tol_grad:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag = state.get("H_diag")
        prev_g, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            # direction: steepest descent first, then the two-loop recursion
            if state["n_iter"] == 1:
                d = -g
                old_dirs, old_stps, ro, H_diag = [], [], [], 1.0
            else:
                y = g - prev_g
                s = d * t
                ys = float(y @ s)
                if ys > 1e-10:
                    if len(old_dirs) == history:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / float(y @ y)
                al = [0.0] * len(old_dirs)
                q = -g
                for i in range(len(old_dirs) - 1, -1, -1):
                    al[i] = float(old_stps[i] @ q) * ro[i]
                    q = q - al[i] * old_dirs[i]
                r = q * H_diag
                for i in range(len(old_dirs)):
                    be_i = float(old_dirs[i] @ r) * ro[i]
                    r = r + (al[i] - be_i) * old_stps[i]
                d = r
            prev_g = g.copy()
            prev_loss = loss

            t = min(1.0, 1.0 / float(np.sum(np.abs(g)))) * lr if state["n_iter"] == 1 else lr
            gtd = float(g @ d)
            if gtd > -tol_change:
                break

            ls_evals = 0
            if line_search is not None:
                x0 = self._get_x()

                def evaluate(step):
                    self._add_step(step, d)
                    f_t = _as_float(self._closure(closure), "LBFGS.step")
                    g_t = self._flat_grad()
                    self._set_x(x0)
                    return f_t, g_t

                loss, g, t, ls_evals = _strong_wolfe(evaluate, t, d, loss, g, gtd,
                                                     tolerance_change=1e-9,
                                                     max_ls=max_eval - current_evals)
                self._add_step(t, d)
                opt_cond = np.max(np.abs(g)) <= tol_grad
            else:
                self._add_step(t, d)
                opt_cond = False
                if n_iter != max_iter:
                    loss = _as_float(self._closure(closure), "LBFGS.step")
                    g = self._flat_grad()
                    opt_cond = np.max(np.abs(g)) <= tol_grad
                    ls_evals = 1
            current_evals += ls_evals
            state["func_evals"] += ls_evals

            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if np.max(np.abs(d * t)) <= tol_change:
                break
            if abs(loss - prev_loss) < tol_change:
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                     prev_flat_grad=prev_g, prev_loss=prev_loss)
        return orig_loss

    # ---- saving: the state is global (flat vectors), not per parameter -------------------------
    def state_dict(self):
        out = super().state_dict()
        for st in out["state"].values():
            for k in ("old_dirs", "old_stps"):
                if k in st and st[k] is not None:
                    st[k] = [_wrap(np.array(v, copy=True)) for v in st[k]]
            for k in ("d", "prev_flat_grad"):
                if isinstance(st.get(k), np.ndarray):
                    st[k] = _wrap(st[k].copy())
            if "ro" in st and st["ro"] is not None:
                st["ro"] = [float(v) for v in st["ro"]]
        return out

    def load_state_dict(self, state_dict):
        if not isinstance(state_dict, dict) or "state" not in state_dict \
                or "param_groups" not in state_dict:
            raise ValueError("LBFGS.load_state_dict: expected a dict with 'state' and "
                             "'param_groups' (from LBFGS.state_dict())")
        saved = state_dict["state"]
        # the flat history vectors do not have the first parameter's shape: restore them here
        stripped = {"state": {}, "param_groups": state_dict["param_groups"]}
        super().load_state_dict(stripped)

        def arr(v):
            return np.array(v._data if isinstance(v, Tensor) else v, dtype=np.float64, copy=True)

        dtype = self._params[0]._data.dtype
        for _, st in saved.items():
            entry = {}
            for k, v in st.items():
                if k in ("old_dirs", "old_stps"):
                    entry[k] = None if v is None else [arr(x).astype(dtype) for x in v]
                elif k in ("d", "prev_flat_grad"):
                    entry[k] = None if v is None else arr(v).astype(dtype)
                elif k == "ro":
                    entry[k] = None if v is None else [float(x) for x in v]
                elif isinstance(v, (Tensor, np.ndarray)):
                    entry[k] = float(arr(v))
                else:
                    entry[k] = v
            self.state[self._params[0]] = entry
