"""Triplet mining compared on held-out identities: the same encoder, seeds, batches and number of
steps, trained with random or with semi-hard (FaceNet) triplets (or batch-hard), then evaluated
one-shot on identities it never saw.

    python examples/faces_mining.py                      # items as identities (the default)
    python examples/faces_mining.py --identities classes --optimizer adam   # 7 garment classes

Identities. ``items`` (default, ``faces.instance_identities``): every Fashion-MNIST item is an
identity seen in 8 random photos (pose, lighting, noise); 2000 training items, 500 held-out
items from the test split. ``classes``: the garment classes as identities, 3 held out.

Both strategies pick one triplet per anchor-positive pair of a P×K batch and average the loss
over ALL of them (easy triplets count as zeros, as in FaceNet), so they see the same number of
triplets and cost the same per step. The held-out images are split in half: the distance
threshold is chosen on pairs of the validation half; AUC and accuracy are measured on pairs of
the test half (uniform pairs), and for items also the AUC on *hard* pairs (different items of
one garment class). Prints per checkpoint each seed and the mean ± standard deviation over seeds.
Runs on the CPU, about a minute per 300 steps per run.
"""
import argparse
import time

import numpy as np

import tensorgrad as tg
from tensorgrad.vision import faces


def evaluate(enc, val, test, test_groups):
    ev = faces.evaluate_verification(faces.embed(enc, val[0]), val[1], n_pairs=3000, seed=1)
    e = faces.embed(enc, test[0])
    et = faces.evaluate_verification(e, test[1], n_pairs=3000, seed=2,
                                     threshold=ev["threshold"])
    out = {"auc": et["auc"], "accuracy": et["accuracy"]}
    if test_groups is not None:
        out["hard_auc"] = faces.evaluate_verification(e, test[1], n_pairs=3000, seed=3,
                                                      groups=test_groups)["auc"]
    return out


def load(args):
    if args.identities == "items":
        d = faces.instance_identities("fashion_mnist", n_train=args.n_train, n_test=args.n_test,
                                      views=args.views, seed=0)
        print(f"identities: {args.n_train} Fashion-MNIST training items x {args.views} photos; "
              f"held out: {args.n_test} test-split items x {args.views} photos")
    else:
        d = faces.load_identities("fashion_mnist", held_out=args.held_out, n=args.n)
        print(f"identities: classes {sorted(set(d.train_labels.tolist()))} "
              f"({d.train_images.shape[0]} images); held out {args.held_out} "
              f"({[d.names[i] for i in args.held_out]}, {d.test_images.shape[0]} images)")
    order = np.random.default_rng(0).permutation(d.test_images.shape[0])
    v, t = order[:order.size // 2], order[order.size // 2:]
    groups = None if d.test_classes is None else d.test_classes[t]
    return d, (d.test_images[v], d.test_labels[v]), (d.test_images[t], d.test_labels[t]), groups


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--identities", choices=("items", "classes"), default="items")
    ap.add_argument("--mining", nargs="+", default=["random", "semi-hard"],
                    choices=faces.MINING)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--every", type=int, default=150)
    ap.add_argument("--n-train", type=int, default=2000, help="items: training identities")
    ap.add_argument("--n-test", type=int, default=500, help="items: held-out identities")
    ap.add_argument("--views", type=int, default=8, help="items: photos per identity")
    ap.add_argument("--held-out", type=int, nargs="+", default=[2, 5, 8], help="classes")
    ap.add_argument("--n", type=int, default=20000, help="classes: training images used")
    ap.add_argument("--p", type=int, default=None, help="identities per batch (16 | 7)")
    ap.add_argument("--k", type=int, default=None, help="images per identity (4 | 8)")
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--margin", type=float, default=0.2)
    ap.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd",
                    help="sgd: plain SGD, no momentum (default lr 0.05); adam: default lr 1e-3")
    ap.add_argument("--lr", type=float, default=None)
    args = ap.parse_args()
    items = args.identities == "items"
    p = args.p or (16 if items else 7)
    k = args.k or (4 if items else 8)
    lr = args.lr or (0.05 if args.optimizer == "sgd" else 1e-3)

    d, val, test, groups = load(args)
    print(f"P={p} x K={k} batches, {args.optimizer} lr {lr}, margin {args.margin}, "
          f"{args.steps} steps, seeds {args.seeds}")
    results = {}
    for mining in args.mining:
        for seed in args.seeds:
            tg.manual_seed(seed)
            enc = faces.SiameseEncoder(faces.small_convnet(d.train_images.shape[1]), args.dim,
                                       input_shape=d.train_images.shape[1:])
            opt = (tg.optim.SGD(enc.parameters(), lr=lr) if args.optimizer == "sgd"
                   else tg.optim.Adam(enc.parameters(), lr=lr))
            t0, done = time.time(), 0
            while done < args.steps:
                n = min(args.every, args.steps - done)
                h = faces.train_triplet(enc, d.train_images, d.train_labels, mining=mining,
                                        margin=args.margin, p=p, k=k, steps=n, optimizer=opt,
                                        seed=1000 * seed + done, progress=False)
                done += n
                r = evaluate(enc, val, test, groups)
                results.setdefault((done, mining), []).append(r)
                hard = f"  hard-pair AUC {r['hard_auc']:.4f}" if "hard_auc" in r else ""
                print(f"{mining:>10} seed {seed} step {done:5d}: held-out AUC {r['auc']:.4f}  "
                      f"accuracy {r['accuracy']:.4f}{hard}  (loss {np.mean(h['loss'][-20:]):.4f},"
                      f" active triplets {np.mean(h['active'][-20:]):.2f}, "
                      f"{time.time() - t0:.0f} s)", flush=True)
    print("\nmean ± std over seeds (held-out identities)")
    for (step, mining), rs in sorted(results.items()):
        line = f"step {step:5d} {mining:>10}:"
        for key in ("auc", "accuracy", "hard_auc"):
            if key in rs[0]:
                v = np.array([r[key] for r in rs])
                per_seed = " ".join(f"{x:.3f}" for x in v)
                line += f"  {key} {v.mean():.4f} ± {v.std():.4f} [{per_seed}]"
        print(line)


if __name__ == "__main__":
    main()
