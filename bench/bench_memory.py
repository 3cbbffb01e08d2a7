"""Peak memory of a training step: tensorgrad vs PyTorch CPU, each in its own process.

    python bench/bench_memory.py [--rounds N] [--only TEXT]

What is measured: the resident-set high-water mark (Linux ``VmHWM``) during ONE step, minus
the resident set just before it, after two warm-up steps — i.e. what the step allocates on top
of the model, the data and everything already resident (libraries, caches, reused buffers).
The high-water mark is reset through ``/proc/self/clear_refs`` right before the step. These
children run with ``MALLOC_MMAP_THRESHOLD_=65536`` (fixed, for both frameworks) so that every
block of 64 KB or more is mapped on allocation and unmapped on free, and the resident set
follows the live arrays instead of glibc's retained heap. It is RSS, not tracemalloc: torch's
allocations are invisible to tracemalloc.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_conv  # noqa: E402
import bench_rnn  # noqa: E402
from harness import Case, script_main  # noqa: E402

CASES = [
    Case("lenet", "peak memory, LeNet-5 SGD step, B64", 1.5, kind="memory"),
    Case("lstm", "peak memory, LSTM T50 B32 64→128 fwd+bwd", 1.5, kind="memory"),
    Case("char_lm", "peak memory, char-LSTM LM training step", 1.5, kind="memory"),
]

lenet = bench_conv.lenet
lstm = bench_rnn.lstm
char_lm = bench_rnn.char_lm

if __name__ == "__main__":
    script_main(__file__, CASES, "Peak memory of one step (bench/bench_memory.py): RSS high-water "
                "above the RSS before the step")
