"""Per-call time of hot ops (movement, reductions, constructors, samplers): this tree's op
functions against the same functions from an older checkout, in one process.

    python bench/bench_hot_ops.py OLD_ROOT [ROUNDS]

OLD_ROOT is a checkout of this repository (``git archive REV | tar -x -C DIR``). Its
``tensorgrad/ops/<module>.py`` files are loaded as extra modules inside the package that is
imported here, so both versions of an op run on the same Tensor class, engine and helpers, and
differ only in their own code. Whole-process comparisons were useless on the shared 2-core
machine (two identical trees differed by up to ±30 %); here the two versions alternate call
batch by call batch, and the table gives the median over rounds of each version's
best-of-batch time, new/old, and the ratio of the two versions' best times overall (the
steadier figure on a busy machine).
"""
from __future__ import annotations

import importlib.util
import os
import statistics
import sys
import timeit

import tensorgrad as tg

MODULES = ("movement", "reduce", "creation", "sampling", "logic")
CASES = [  # (label, module, function name, args builder)
    ("reshape(20, 6)", "movement", "reshape", lambda t, b: (t, 20, 6)),
    ("permute(2, 0, 1)", "movement", "permute", lambda t, b: (t, 2, 0, 1)),
    ("transpose(0, 1)", "movement", "transpose", lambda t, b: (t, 0, 1)),
    ("unsqueeze(0)", "movement", "unsqueeze", lambda t, b: (t, 0)),
    ("expand(3, 4, 5, 6)", "movement", "expand", lambda t, b: (t, 3, 4, 5, 6)),
    ("repeat(2, 1, 1)", "movement", "repeat", lambda t, b: (t, 2, 1, 1)),
    ("flip(0)", "movement", "flip", lambda t, b: (t, 0)),
    ("split(2)", "movement", "split", lambda t, b: (t, 2)),
    ("sum()", "reduce", "sum", lambda t, b: (t,)),
    ("sum(1)", "reduce", "sum", lambda t, b: (t, 1)),
    ("mean(1)", "reduce", "mean", lambda t, b: (t, 1)),
    ("amax(1)", "reduce", "amax", lambda t, b: (t, 1)),
    ("var(1)", "reduce", "var", lambda t, b: (t, 1)),
    ("max()", "reduce", "max", lambda t, b: (t,)),
    ("zeros_like", "creation", "zeros_like", lambda t, b: (t,)),
    ("full_like", "creation", "full_like", lambda t, b: (t, 2.0)),
    ("rand(3, 4)", "sampling", "rand", lambda t, b: (3, 4)),
    ("randn(3, 4)", "sampling", "randn", lambda t, b: (3, 4)),
    ("bitwise_not", "logic", "bitwise_not", lambda t, b: (b,)),
]


def load_old(root, name):
    path = os.path.join(root, "tensorgrad", "ops", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"tensorgrad.ops._bench_old_{name}", path,
                                                  submodule_search_locations=None)
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = "tensorgrad.ops"
    spec.loader.exec_module(mod)
    return mod


def main():
    root = os.path.abspath(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    new = {m: importlib.import_module(f"tensorgrad.ops.{m}") for m in MODULES}
    # the old modules' @op declarations overwrite the registry's entries; the Tensor class and
    # the tg namespace were bound at import and keep the new ones
    old = {m: load_old(root, m) for m in MODULES}
    t = tg.randn(4, 5, 6, dtype=tg.float64)
    b = tg.tensor([True, False, True])
    n = 2000
    print(f"{'op':20} {'old µs':>8} {'new µs':>8} {'new/old':>8} {'min new/old':>12}")
    for label, m, fname, args in CASES:
        a = args(t, b)
        fo, fn = getattr(old[m], fname), getattr(new[m], fname)
        to, tn = [], []
        for i in range(rounds):
            for f, acc in (((fo, to), (fn, tn)) if i % 2 == 0 else ((fn, tn), (fo, to))):
                acc.append(min(timeit.repeat(lambda: f(*a), number=n, repeat=3)) / n * 1e6)
        o, w = statistics.median(to), statistics.median(tn)
        print(f"{label:20} {o:8.3f} {w:8.3f} {w / o:8.3f} {min(tn) / min(to):12.3f}")


if __name__ == "__main__":
    main()
