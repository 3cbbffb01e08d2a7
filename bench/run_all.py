"""The whole speed table in one command: engine, convolution/pooling, recurrent, peak memory and
cold start, each framework in its own fresh process per case and round.

    python bench/run_all.py [--rounds N] [--quick] [--threads N] [--cpus 0,1] [--only TEXT]
                            [--out FILE]

Prints every table (markdown, ready for bench/RESULTS.md) and a goal summary; ``--out`` also
writes them to FILE. The full run takes about 15-25 minutes on 2 cores (``--quick``: about half).
Say in any report whether the machine was shared: the load average is printed under each table.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_conv  # noqa: E402
import bench_engine  # noqa: E402
import bench_memory  # noqa: E402
import bench_rnn  # noqa: E402
import bench_startup  # noqa: E402
from harness import parse_args, script_main  # noqa: E402

SCRIPTS = [
    (bench_engine, "Engine (bench/bench_engine.py), float32", None),
    (bench_conv, "Convolution, pooling, LeNet-5 (bench/bench_conv.py), float32, forward+backward",
     bench_conv._conv_geomean),
    (bench_rnn, "Recurrent (bench/bench_rnn.py), float32, forward+backward", None),
    (bench_memory, "Peak memory of one step (bench/bench_memory.py): RSS high-water above the "
     "RSS before the step", None),
]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    out = None
    if "--out" in argv:
        i = argv.index("--out")
        out = argv[i + 1]
        del argv[i:i + 2]
    a = parse_args(argv, "all benchmarks")
    texts, all_rows = [], []
    for mod, title, extra in SCRIPTS:
        if a.only and not any(a.only in c.key or a.only.lower() in c.label.lower()
                              for c in mod.CASES):
            continue
        rows, text = script_main(mod.__file__, mod.CASES, title, argv, extra)
        texts.append(text)
        all_rows += rows
    if not a.only or "start" in a.only:
        texts.append(bench_startup.main(argv))
    met = [r for r in all_rows if r.case.goal is not None and r.ratio <= r.case.goal]
    miss = [r for r in all_rows if r.case.goal is not None and not r.ratio <= r.case.goal]
    summary = [f"Goals met: {len(met)} of {len(met) + len(miss)} ratio goals."]
    if miss:
        summary.append("Not met: " + "; ".join(f"{r.case.label} {r.ratio:.2f}× (goal ≤ "
                                                 f"{r.case.goal}×)" for r in miss))
    texts.append("\n".join(summary))
    text = "\n\n".join(texts)
    print("\n" + summary[0] + ("\n" + summary[1] if len(summary) > 1 else ""))
    if out:
        with open(out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
