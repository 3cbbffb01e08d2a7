"""An ML-strategy toolbox (§7, docs/maths.md): pick a model by one optimizing metric under
satisficing constraints (§7.2), and diagnose where the error comes from — avoidable bias,
variance, data mismatch, overfitting to the dev set (§7.3–7.4) — with the usual remedies for the
largest.
"""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field

__all__ = ["select_model", "Selection", "diagnose", "Diagnosis", "REMEDIES"]

_OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt,
        "==": operator.eq, "!=": operator.ne}


# ---- optimizing and satisficing metrics (§7.2) ----------------------------------------------
@dataclass
class Selection:
    """What ``select_model`` found: ``best`` (the winning candidate's dict, with ``name``),
    ``feasible`` (names meeting every constraint, best first), ``rejected`` (name -> list of
    violated constraints) and a readable table via ``str``."""
    best: dict
    feasible: list
    rejected: dict
    optimize: tuple
    satisficing: dict
    table: list = field(repr=False, default_factory=list)

    @property
    def name(self):
        return self.best["name"]

    def __str__(self):
        metric, mode = self.optimize
        others = [k for r in self.table for k in r if k not in ("name", metric)]
        cols = [metric] + list(dict.fromkeys([k for k in self.satisficing if k != metric]
                                             + others))
        w = max(4, max(len(str(r["name"])) for r in self.table))
        lines = [f"optimize {metric} ({mode}) subject to "
                 + (", ".join(f"{k} {op} {v}" for k, (op, v) in self.satisficing.items())
                    or "no constraints")]
        lines.append(f"  {'name':<{w}}  " + "  ".join(f"{c:>12}" for c in cols) + "  verdict")
        for r in self.table:
            verdict = ("BEST" if r["name"] == self.best["name"] else "ok") \
                if r["name"] not in self.rejected else "fails " + "; ".join(self.rejected[r["name"]])
            vals = "  ".join(f"{_fmt(r.get(c)):>12}" for c in cols)
            lines.append(f"  {str(r['name']):<{w}}  {vals}  {verdict}")
        return "\n".join(lines)


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _normalize_candidates(candidates):
    if isinstance(candidates, dict):
        items = []
        for name, m in candidates.items():
            if not isinstance(m, dict):
                raise TypeError(f"select_model: candidate {name!r} should map to a dict of "
                                f"metrics, got {type(m).__name__}")
            items.append({"name": name, **m})
        return items
    items = []
    for i, c in enumerate(candidates):
        if not isinstance(c, dict):
            raise TypeError(f"select_model: candidate {i} should be a dict of metrics, got "
                            f"{type(c).__name__}")
        items.append({"name": c.get("name", f"candidate {i}"), **c})
    return items


def select_model(candidates, optimize=("accuracy", "max"), satisficing=None) -> Selection:
    """Choose among ``candidates`` (a list of dicts of metrics with a ``name``, or a dict
    name -> metrics) the one that is best on the single *optimizing* metric among those that
    meet every *satisficing* constraint, e.g.

        select_model(models, optimize=("accuracy", "max"),
                     satisficing={"runtime_ms": ("<=", 100), "false_accepts": ("<=", 1)})

    Ties go to the earlier candidate. Raises ValueError when no candidate satisfies the
    constraints (the message lists each candidate's violations)."""
    if isinstance(optimize, str):
        optimize = (optimize, "max")
    if len(optimize) != 2 or optimize[1] not in ("max", "min"):
        raise ValueError(f"select_model: optimize must be (metric, 'max' | 'min'), got "
                         f"{optimize!r}")
    metric, mode = optimize
    satisficing = dict(satisficing or {})
    for k, c in satisficing.items():
        if not (isinstance(c, (tuple, list)) and len(c) == 2 and c[0] in _OPS):
            raise ValueError(f"select_model: constraint for {k!r} must be (op, threshold) with "
                             f"op in {sorted(_OPS)}, got {c!r}")
    cands = _normalize_candidates(candidates)
    if not cands:
        raise ValueError("select_model: got no candidates")
    rejected, feasible = {}, []
    for c in cands:
        if metric not in c:
            raise ValueError(f"select_model: candidate {c['name']!r} has no value for the "
                             f"optimizing metric {metric!r} (has {sorted(k for k in c if k != 'name')})")
        bad = []
        for k, (op, thr) in satisficing.items():
            if k not in c:
                raise ValueError(f"select_model: candidate {c['name']!r} has no value for the "
                                 f"satisficing metric {k!r}")
            if not _OPS[op](c[k], thr):
                bad.append(f"{k} {op} {thr} (is {_fmt(c[k])})")
        if bad:
            rejected[c["name"]] = bad
        else:
            feasible.append(c)
    if not feasible:
        detail = "; ".join(f"{n}: {', '.join(v)}" for n, v in rejected.items())
        raise ValueError(f"select_model: no candidate meets the satisficing constraints "
                         f"({detail})")
    sign = -1.0 if mode == "max" else 1.0
    order = sorted(range(len(feasible)), key=lambda i: (sign * float(feasible[i][metric]), i))
    feasible = [feasible[i] for i in order]
    return Selection(best=feasible[0], feasible=[c["name"] for c in feasible], rejected=rejected,
                     optimize=(metric, mode), satisficing=satisficing, table=cands)


# ---- bias / variance / mismatch diagnosis (§7.3–7.4) -----------------------------------------
REMEDIES = {
    "avoidable bias": [
        "train a bigger model (more layers or hidden units)",
        "train longer",
        "use a better optimization algorithm (momentum, RMSprop, Adam)",
        "search for a better architecture or hyperparameters",
    ],
    "variance": [
        "get more training data",
        "regularize (L2, dropout, data augmentation)",
        "search for a better architecture or hyperparameters",
    ],
    "data mismatch": [
        "carry out manual error analysis to understand how the training and dev/test sets "
        "differ",
        "make the training data more similar to dev/test (e.g. artificial data synthesis)",
        "collect more training data like the dev/test data",
    ],
    "overfitting to dev": [
        "get a bigger dev set",
    ],
}


@dataclass
class Diagnosis:
    """The gaps between adjacent error levels (fractions) and what to do about the largest.

    ``avoidable_bias = train − human`` (human-level error as a proxy for Bayes error),
    ``variance = train_dev − train`` (or ``dev − train`` without a training-dev set),
    ``data_mismatch = dev − train_dev``, ``dev_overfitting = test − dev``; gaps that can't be
    computed are None. ``largest`` names the biggest gap and ``remedies`` are the usual
    suggestions for it (``REMEDIES``); ``notes`` holds caveats (e.g. negative gaps)."""
    human: float | None
    train: float
    train_dev: float | None
    dev: float | None
    test: float | None
    avoidable_bias: float | None
    variance: float | None
    data_mismatch: float | None
    dev_overfitting: float | None
    largest: str | None
    remedies: list
    notes: list

    @property
    def gaps(self) -> dict:
        return {"avoidable bias": self.avoidable_bias, "variance": self.variance,
                "data mismatch": self.data_mismatch, "overfitting to dev": self.dev_overfitting}

    def __str__(self):
        lines = ["error levels:"]
        for label, v in (("human-level (≈ Bayes)", self.human), ("training", self.train),
                         ("training-dev", self.train_dev), ("dev", self.dev),
                         ("test", self.test)):
            if v is not None:
                lines.append(f"  {label:<22} {100 * v:6.2f} %")
        lines.append("gaps:")
        for name, v in self.gaps.items():
            if v is not None:
                mark = "  <- largest" if name == self.largest else ""
                lines.append(f"  {name:<22} {100 * v:6.2f} %{mark}")
        if self.largest is None:
            lines.append("no positive gap: nothing stands out to fix")
        else:
            lines.append(f"focus on {self.largest}; remedies to try:")
            lines += [f"  - {r}" for r in self.remedies]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _check_err(name, v):
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) and not hasattr(v, "__float__"):
        raise TypeError(f"diagnose: {name} must be an error rate (a number), got "
                        f"{type(v).__name__}")
    v = float(v)
    if math.isnan(v) or not 0.0 <= v <= 1.0:
        hint = " — errors are fractions: pass 0.08 for 8 %" if 1.0 < v <= 100.0 else ""
        raise ValueError(f"diagnose: {name} error must be a fraction in [0, 1], got {v}{hint}")
    return v


def diagnose(*, train, dev=None, human=None, train_dev=None, test=None) -> Diagnosis:
    """Bias/variance/mismatch analysis (§7.3–7.4, docs/maths.md) from error rates (fractions).

    ``human``: human-level error, the proxy for Bayes error (0 if omitted, with a note).
    ``train_dev``: error on held-out data from the *training* distribution (see
    ``tg.data.train_dev_split``) — with it, variance and data mismatch are told apart.
    E.g. ``diagnose(human=0.01, train=0.015, train_dev=0.02, dev=0.10)`` names data mismatch."""
    human, train = _check_err("human", human), _check_err("train", train)
    train_dev, dev, test = (_check_err("train_dev", train_dev), _check_err("dev", dev),
                            _check_err("test", test))
    if train is None:
        raise ValueError("diagnose: the training error is required")
    notes = []
    if human is None:
        notes.append("no human-level error given: Bayes error taken as 0, so 'avoidable bias' "
                     "is the whole training error")
        ref = 0.0
    else:
        ref = human
    avoidable = train - ref
    if train_dev is not None:
        variance = train_dev - train
        mismatch = dev - train_dev if dev is not None else None
    else:
        variance = dev - train if dev is not None else None
        mismatch = None
        if dev is not None:
            notes.append("no training-dev error: if train and dev come from different "
                         "distributions, 'variance' also contains data mismatch (carve a "
                         "training-dev set with tg.data.train_dev_split)")
    overfit = test - dev if (test is not None and dev is not None) else None
    gaps = {"avoidable bias": avoidable, "variance": variance, "data mismatch": mismatch,
            "overfitting to dev": overfit}
    if avoidable < 0:
        notes.append("training error is below human-level error: the human proxy for Bayes "
                     "error no longer tells how much bias is avoidable (or the model overfits "
                     "the training set)")
    if mismatch is not None and mismatch < 0:
        notes.append("dev error is below training-dev error: the dev/test distribution is "
                     "easier than the training distribution")
    positive = {k: v for k, v in gaps.items() if v is not None and v > 0}
    largest = max(positive, key=lambda k: positive[k]) if positive else None
    return Diagnosis(human=human, train=train, train_dev=train_dev, dev=dev, test=test,
                     avoidable_bias=avoidable, variance=variance, data_mismatch=mismatch,
                     dev_overfitting=overfit, largest=largest,
                     remedies=list(REMEDIES[largest]) if largest else [], notes=notes)
