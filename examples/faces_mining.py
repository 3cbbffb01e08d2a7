"""Triplet mining compared: the same encoder trained on Fashion-MNIST classes as identities with
random, semi-hard (FaceNet) and batch-hard triplets, evaluated on held-out classes (one-shot:
the encoder never saw them). Prints held-out verification AUC and accuracy per checkpoint.

    python examples/faces_mining.py --steps 1200 --every 300

Accuracy uses a threshold chosen on a validation half of the held-out images; AUC and accuracy
are measured on pairs from the other half. Runs on the CPU; a few minutes per strategy.
"""
import argparse
import time

import numpy as np

import tensorgrad as tg
from tensorgrad.vision import faces


def evaluate(enc, val, test):
    ev = faces.evaluate_verification(faces.embed(enc, val[0]), val[1], n_pairs=3000, seed=1)
    et = faces.evaluate_verification(faces.embed(enc, test[0]), test[1], n_pairs=3000, seed=2,
                                     threshold=ev["threshold"])
    return et["auc"], et["accuracy"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--every", type=int, default=300)
    ap.add_argument("--mining", nargs="+", default=["random", "semi-hard", "batch-hard"])
    ap.add_argument("--held-out", type=int, nargs="+", default=[2, 5, 8])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--p", type=int, default=7)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--margin", type=float, default=0.2)
    ap.add_argument("--optimizer", choices=("adam", "sgd"), default="adam",
                    help="sgd: momentum 0.9 (plain SGD shows how easy triplets stall learning)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    d = faces.load_identities("fashion_mnist", held_out=args.held_out, n=args.n)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(d.test_images.shape[0])
    half = order.size // 2
    val = (d.test_images[order[:half]], d.test_labels[order[:half]])
    test = (d.test_images[order[half:]], d.test_labels[order[half:]])
    print(f"train identities {sorted(set(d.train_labels.tolist()))} "
          f"({d.train_images.shape[0]} images); held out {args.held_out} "
          f"({[d.names[i] for i in args.held_out]}, {d.test_images.shape[0]} images)")
    for mining in args.mining:
        tg.manual_seed(args.seed)
        enc = faces.SiameseEncoder(faces.small_convnet(1), args.dim, input_shape=(1, 28, 28))
        opt = (tg.optim.Adam(enc.parameters(), lr=args.lr) if args.optimizer == "adam"
               else tg.optim.SGD(enc.parameters(), lr=args.lr, momentum=0.9))
        t0, done = time.time(), 0
        while done < args.steps:
            n = min(args.every, args.steps - done)
            h = faces.train_triplet(enc, d.train_images, d.train_labels, mining=mining,
                                    margin=args.margin, p=args.p, k=args.k, steps=n,
                                    optimizer=opt, seed=args.seed + done, progress=False)
            done += n
            auc, acc = evaluate(enc, val, test)
            print(f"{mining:>10} step {done:5d}: held-out AUC {auc:.4f}  accuracy {acc:.4f}  "
                  f"(last loss {np.mean(h['loss'][-20:]):.4f}, active triplets "
                  f"{np.mean(h['active'][-20:]):.2f}, {time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
