"""einsum with gradients, as torch.einsum: explicit ('ij,jk->ik') and implicit ('ij,jk')
output, ``...`` for broadcast dimensions, repeated letters within an operand (a diagonal).

The gradient of operand i is itself an einsum: the output's gradient contracted with the
other operands, written to operand i's letters. Two cases need more than that, and are
handled before the core op sees the equation, with recorded ops of their own:
* a letter repeated within an operand ('ii->i') takes that operand's diagonal (``diagonal``);
* ``...`` becomes explicit letters, and a size-1 broadcast dimension is expanded (``expand``).
A letter that appears only in operand i (summed away) gets its gradient broadcast back.
"""
from __future__ import annotations

import numpy as np

from ..autograd.node import record
from ..tensor import Tensor
from ._registry import op
from ._util import not_tensor
from ._xp import array_module

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _einsum_vjp(ctx, g, ins, out, operands, sizes):
    xp = array_module(g)
    grads = []
    for i, need in enumerate(ctx.needs):
        if not need:
            grads.append(None)
            continue
        others = [k for k in range(len(ins)) if k != i]
        have = set(out).union(*(ins[k] for k in others))
        target = "".join(c for c in ins[i] if c in have)
        eq = ",".join([out] + [ins[k] for k in others]) + "->" + target
        gi = xp.einsum(eq, g, *[operands[k] for k in others])
        if target != ins[i]:  # letters summed only in operand i: broadcast back
            gi = xp.reshape(gi, tuple(sizes[c] if c in have else 1 for c in ins[i]))
            gi = xp.expand(gi, tuple(sizes[c] for c in ins[i]))
        grads.append(gi)
    return tuple(grads)


@op(methods=(), export=False)
def einsum_core(eq, *operands):
    """einsum on explicit letters, no repeats within an operand, no '...'."""
    ins, out = eq.split("->")
    ins = ins.split(",")
    sizes = {}
    for s, t in zip(ins, operands):
        for c, n in zip(s, t._data.shape):
            if sizes.setdefault(c, n) != n:
                raise RuntimeError(f"einsum: subscript {c!r} has size {n} in one operand "
                                   f"and {sizes[c]} in another")
    res = np.einsum(eq, *[t._data for t in operands], optimize=len(operands) > 2)
    return record("einsum", np.asarray(res), tuple(operands), _einsum_vjp,
                  saved=(ins, out, list(operands), sizes))


def _parse(eq, operands):
    """Explicit letters for every operand and the output (no '...')."""
    eq = eq.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise RuntimeError(f"einsum: the equation has {len(terms)} operand(s), "
                           f"{len(operands)} tensor(s) were given")
    used = set(c for c in eq if c.isalpha())
    free = [c for c in _LETTERS if c not in used]
    nell = 0
    for s, t in zip(terms, operands):
        bad = [c for c in s.replace("...", "") if not c.isalpha()]
        if bad:
            raise RuntimeError(f"einsum: invalid subscript {bad[0]!r} in {eq!r}")
        if "..." in s:
            nell = max(nell, t._data.ndim - len(s.replace("...", "")))
        elif len(s) != t._data.ndim:
            raise RuntimeError(f"einsum: operand {s!r} has {len(s)} subscripts but the tensor "
                               f"has {t._data.ndim} dimensions")
    ell = "".join(free[:nell])
    terms = [s.replace("...", ell[nell - (t._data.ndim - len(s.replace("...", ""))):])
             for s, t in zip(terms, operands)]
    if arrow:
        out = rhs.replace("...", ell)
    else:  # implicit: broadcast dims, then the letters that appear once, in order
        counts = {}
        for s in lhs.replace("...", "").split(","):
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1))
    return terms, out, ell


@op(methods=())
def einsum(equation, *operands):
    """Sum of products over the letters not in the output: ``einsum('ij,jk->ik', a, b)`` is
    a @ b, ``einsum('ii', a)`` the trace, ``einsum('bij,bjk->bik', x, y)`` a batched product."""
    from .movement import expand
    from .shape import diagonal
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for t in operands:
        if not isinstance(t, Tensor):
            raise not_tensor("einsum", t, "operand")
    terms, out, ell = _parse(equation, operands)
    ops_ = list(operands)
    for i, s in enumerate(terms):  # repeated letters: take the diagonal (it moves last)
        while len(set(s)) != len(s):
            c = next(c for c in s if s.count(c) > 1)
            p, q = s.index(c), s.index(c, s.index(c) + 1)
            if ops_[i]._data.shape[p] != ops_[i]._data.shape[q]:
                raise RuntimeError(f"einsum: repeated subscript {c!r} in {terms[i]!r} needs "
                                   f"equal sizes, got {ops_[i]._data.shape}")
            ops_[i] = diagonal(ops_[i], 0, p, q)
            s = s[:p] + s[p + 1:q] + s[q + 1:] + c
        terms[i] = s
    if ell:  # broadcast the '...' dims: size 1 expands to the others' size
        size = {}
        for s, t in zip(terms, ops_):
            for c, n in zip(s, t._data.shape):
                if c in ell and n != 1:
                    size[c] = n
        for i, (s, t) in enumerate(zip(terms, ops_)):
            want = tuple(size.get(c, n) if c in ell else n for c, n in zip(s, t._data.shape))
            if want != t._data.shape:
                ops_[i] = expand(t, want)
    if len(set(out)) != len(out) or any(c not in "".join(terms) for c in out):
        raise RuntimeError(f"einsum: invalid output subscripts in {equation!r}")
    return einsum_core(",".join(terms) + "->" + out, *ops_)
