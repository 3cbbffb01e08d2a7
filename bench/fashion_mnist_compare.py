"""Fashion-MNIST training, tensorgrad beside PyTorch: the same model, data, augmentation and
schedule (bench/fashion_mnist_cnn.py), each framework in its own fresh process, alternating.

    python bench/fashion_mnist_compare.py --model lenet5            # LeNet-5, 10 epochs
    python bench/fashion_mnist_compare.py --model resnet --rounds 1 # the small ResNet
    python bench/fashion_mnist_compare.py --model lenet5 --threads 1  # one thread each

Extra arguments after ``--`` go to fashion_mnist_cnn.py (e.g. ``-- --epochs 8``). Prints a
markdown table: final and best test accuracy, training time (evaluations excluded), the
ratio of median training times, and the load average (the machine may be shared).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import ensure_bench_env, settings_line  # noqa: E402


def main():
    ensure_bench_env()
    p = argparse.ArgumentParser()
    p.add_argument("--model", choices=["lenet5", "resnet"], default="lenet5")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--threads", type=int, default=None,
                   help="tensorgrad: BLAS + conv threads; torch: torch.set_num_threads")
    p.add_argument("--frameworks", nargs="+", default=["tg", "torch"])
    args, extra = p.parse_known_args()
    extra = [a for a in extra if a != "--"]
    results = {fw: [] for fw in args.frameworks}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for fw in args.frameworks:
                out = os.path.join(tmp, f"{fw}{r}.json")
                cmd = [sys.executable, os.path.join(HERE, "fashion_mnist_cnn.py"), "--model",
                       args.model, "--framework", fw, "--out", out] + extra
                if args.threads:
                    cmd += ["--threads", str(args.threads)]
                print("$", " ".join(cmd[1:]), flush=True)
                subprocess.run(cmd, check=True)
                with open(out) as f:
                    results[fw].append(json.load(f))
    print()
    print(settings_line())
    print()
    print("| framework | model | epochs | final test acc | best test acc | training time (s) "
          "| load avg (1 min) |")
    print("|---|---|---|---|---|---|---|")
    for fw, runs in results.items():
        for res in runs:
            load = res["loadavg_end"][0] if res.get("loadavg_end") else float("nan")
            print(f"| {fw} | {res['model']} | {res['epochs']} | {res['final_test_acc']:.4f} | "
                  f"{res['best_test_acc']:.4f} | {res['train_time_s']:.0f} | {load:.1f} |")
    if len(results) == 2 and all(results.values()):
        a, b = (statistics.median(r["train_time_s"] for r in runs) for runs in results.values())
        print(f"\nratio of median training times {args.frameworks[0]}/{args.frameworks[1]}: "
              f"{a / b:.2f}x")
    print(json.dumps({fw: [{k: v for k, v in r.items() if k != "history"} for r in runs]
                      for fw, runs in results.items()}))


if __name__ == "__main__":
    main()
