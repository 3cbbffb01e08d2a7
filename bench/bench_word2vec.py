"""Skip-gram with negative sampling on the King James Bible: tensorgrad vs gensim, words/s.

    python bench/bench_word2vec.py [--rounds 5] [--epochs 2] [--workers 1 2]

Settings (both frameworks): sg=1, negative=5, window=5, vector_size=100, min_count=5,
sample=1e-3, the same worker count; corpus: Debian's bible-kjv-text (791,450 tokens,
5,278 words kept). Each measurement runs in its own fresh process (one framework per
process), the frameworks alternate over ``--rounds`` rounds, and the script prints the median
effective words/s of each (words left after subsampling, per second of ``train``, as gensim
reports them), their ratio, and the load average before and after. The vocabulary is built and
the kernels compiled (one warm-up epoch) before the timed ``train``. Needs gensim
(``pip install gensim``; it is in tensorgrad's dev extra).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import ensure_bench_env, settings_line  # noqa: E402

SETTINGS = dict(vector_size=100, window=5, min_count=5, sg=1, negative=5, sample=1e-3)


def child(framework: str, workers: int, epochs: int) -> None:
    from tensorgrad.text.corpora import load_kjv
    sentences = load_kjv()
    if framework == "tensorgrad":
        from tensorgrad.text import Word2Vec
        model = Word2Vec(workers=workers, epochs=1, progress=False, **SETTINGS)
    else:
        from gensim.models import Word2Vec
        model = Word2Vec(workers=workers, epochs=1, **SETTINGS)
    model.build_vocab(sentences)
    model.train(sentences, total_examples=len(sentences), epochs=1)  # warm-up / compile
    t0 = time.perf_counter()
    eff, raw = model.train(sentences, total_examples=len(sentences), epochs=epochs)
    dt = time.perf_counter() - t0
    top = [w for w, _ in model.wv.most_similar("god", topn=5)]
    print(json.dumps({"framework": framework, "workers": workers, "vocab": len(model.wv),
                      "effective_words": int(eff), "raw_words": int(raw), "seconds": dt,
                      "eff_words_per_s": eff / dt, "neighbours_of_god": top}))


def run_child(framework, workers, epochs):
    out = subprocess.run([sys.executable, __file__, "--child", framework, "--workers",
                          str(workers), "--epochs", str(epochs)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", choices=["tensorgrad", "gensim"])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if args.child:
        return child(args.child, args.workers[0], args.epochs)
    ensure_bench_env()
    print(settings_line())
    print(f"load average before: {os.getloadavg()}")
    rows = []
    for w in args.workers:
        res = {"tensorgrad": [], "gensim": []}
        for r in range(args.rounds):
            order = ("tensorgrad", "gensim") if r % 2 == 0 else ("gensim", "tensorgrad")
            for fw in order:
                d = run_child(fw, w, args.epochs)
                res[fw].append(d["eff_words_per_s"])
                print(f"  workers={w} round {r}: {fw:10s} {d['eff_words_per_s']:>10,.0f} "
                      f"effective words/s ({d['effective_words']:,} in {d['seconds']:.2f} s; "
                      f"god ~ {', '.join(d['neighbours_of_god'][:3])})", flush=True)
        tg, gs = statistics.median(res["tensorgrad"]), statistics.median(res["gensim"])
        rows.append((w, tg, gs))
    print(f"load average after: {os.getloadavg()}")
    print()
    print(f"| workers | tensorgrad (eff. words/s) | gensim (eff. words/s) | ratio tg/gensim "
          f"| goal |")
    print("|---|---|---|---|---|")
    for w, tg, gs in rows:
        print(f"| {w} | {tg:,.0f} | {gs:,.0f} | {tg / gs:.2f}× | ≥ 0.5× |")


if __name__ == "__main__":
    main()
