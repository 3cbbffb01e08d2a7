"""Train LeNet-5 or a small ResNet on Fashion-MNIST with tensorgrad or PyTorch — the same
model, data, augmentation, initialization scheme and schedule in either framework.

    python bench/fashion_mnist_cnn.py --model lenet5 --framework tg
    python bench/fashion_mnist_cnn.py --model resnet --framework torch --out result.json

Data: Debian's ``dataset-fashion-mnist`` (60,000 training and 10,000 test images, read here
straight from the IDX files so that the torch process never imports tensorgrad), scaled to
[0, 1] and standardized with the training set's mean and std. LeNet-5 sees the images padded
to 32×32 (its fixed-size head); the ResNet (a ResNet-8: a 3×3 convolution with 16 channels at
full resolution, then three stages of one basic block with 24, 48, 96 channels, each starting
with stride 2: 14×14, 7×7, 4×4) sees 28×28 images with random shifts of up to one pixel and
horizontal flips (``--augment``; one numpy function for both frameworks, seeded).
``--widths 16 32 64 --strides 1 2 2 --stem-width 16`` gives the CIFAR layout (stages at 28×28,
14×14, 7×7): as accurate, but ~30 % more time per epoch.

Schedule: SGD with Nesterov momentum 0.9 and weight decay 5e-4, batch 128, a one-cycle
learning rate set every step (linear warm-up over the first 15 % of the steps to ``--lr``,
then cosine decay to 0), 10 epochs for either model (``--epochs``). Test
accuracy is measured after every epoch (eval mode); the reported training time excludes those
evaluations. ``bench/fashion_mnist_compare.py`` runs both frameworks in fresh processes, one
after the other, and tabulates the results.
"""
from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import sys
import time

import numpy as np

DATA_DIRS = [os.environ.get("TENSORGRAD_FASHION_MNIST_DIR", ""),
             "/usr/share/datasets/fashion-mnist"]


def _idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        buf = f.read()
    ndim = buf[3]
    dims = [int.from_bytes(buf[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(buf, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_data(train_subset=None, test_subset=None):
    for d in DATA_DIRS:
        p = os.path.join(d, "train-images-idx3-ubyte.gz")
        if d and os.path.exists(p):
            break
    else:
        sys.exit("Fashion-MNIST not found: apt-get install dataset-fashion-mnist")
    get = lambda n: _idx(os.path.join(d, n))  # noqa: E731
    Xtr = get("train-images-idx3-ubyte.gz").astype(np.float32)[:, None] / 255.0
    ytr = get("train-labels-idx1-ubyte.gz").astype(np.int64)
    Xte = get("t10k-images-idx3-ubyte.gz").astype(np.float32)[:, None] / 255.0
    yte = get("t10k-labels-idx1-ubyte.gz").astype(np.int64)
    if train_subset:
        Xtr, ytr = Xtr[:train_subset], ytr[:train_subset]
    if test_subset:
        Xte, yte = Xte[:test_subset], yte[:test_subset]
    return Xtr, ytr, Xte, yte


def prepare(X, model, mean, std):
    if model == "lenet5":  # 28x28 -> 32x32 (zero background), as LeCun et al. padded MNIST
        X = np.pad(X, ((0, 0), (0, 0), (2, 2), (2, 2)))
    return np.ascontiguousarray((X - mean) / std, dtype=np.float32)


def shift_and_flip(xb, rng, pad=1, fill=0.0, flip=True):
    """Random shifts of up to ``pad`` pixels (pad-and-crop; none if pad=0) and horizontal
    flips, per image."""
    n, c, h, w = xb.shape
    if pad == 0:
        out = xb.copy()
        if flip:
            f = rng.random(n) < 0.5
            out[f] = out[f, :, :, ::-1]
        return out
    padded = np.full((n, c, h + 2 * pad, w + 2 * pad), fill, dtype=xb.dtype)
    padded[:, :, pad:pad + h, pad:pad + w] = xb
    top = rng.integers(0, 2 * pad + 1, n)
    left = rng.integers(0, 2 * pad + 1, n)
    rows = top[:, None] + np.arange(h)
    cols = left[:, None] + np.arange(w)
    out = padded[np.arange(n)[:, None, None], :, rows[:, :, None], cols[:, None, :]]
    out = out.transpose(0, 3, 1, 2)
    if flip:
        f = rng.random(n) < 0.5
        out[f] = out[f, :, :, ::-1]
    return np.ascontiguousarray(out)


def one_cycle(step, total, peak, warm=0.15):
    w = max(1, int(warm * total))
    if step < w:
        return peak * (step + 1) / w
    t = (step - w) / max(1, total - w)
    return peak * 0.5 * (1.0 + math.cos(math.pi * t))


# ---- models ------------------------------------------------------------------------------------
def build_tg(args):
    import tensorgrad as tg
    if args.model == "lenet5":
        return tg.models.lenet5(in_channels=1, num_classes=10)
    return tg.models.cifar_resnet(args.depth, in_channels=1, num_classes=10,
                                  widths=tuple(args.widths), stem_width=args.stem_width,
                                  strides=_strides(args))


def _strides(args):
    if args.strides and len(args.strides) != len(args.widths):
        raise SystemExit(f"--strides: one stride per stage: got {len(args.strides)} for "
                         f"{len(args.widths)} widths")
    return tuple(args.strides) if args.strides else (2,) * len(args.widths)


def build_torch(args):
    import torch
    import torch.nn as nn
    if args.model == "lenet5":
        m = nn.Sequential()
        m.features = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
                                   nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2))
        m.flatten = nn.Flatten()
        m.classifier = nn.Sequential(nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),
                                     nn.ReLU(), nn.Linear(84, 10))
        return m

    class Block(nn.Module):
        def __init__(self, i, o, s):
            super().__init__()
            self.conv1 = nn.Conv2d(i, o, 3, s, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(o)
            self.conv2 = nn.Conv2d(o, o, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(o)
            self.downsample = None
            if s != 1 or i != o:
                self.downsample = nn.Sequential(nn.Conv2d(i, o, 1, s, bias=False),
                                                nn.BatchNorm2d(o))

        def forward(self, x):
            out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            return torch.relu(out + (x if self.downsample is None else self.downsample(x)))

    class Net(nn.Module):  # the same layout as tg.models.CifarResNet
        def __init__(self, n, widths, stem, strides):
            super().__init__()
            self.conv1 = nn.Conv2d(1, stem, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(stem)
            layers, c = [], stem
            for k, w in enumerate(widths):
                blocks = []
                for j in range(n):
                    blocks.append(Block(c, w, strides[k] if j == 0 else 1))
                    c = w
                layers.append(nn.Sequential(*blocks))
            self.layers = nn.Sequential(*layers)
            self.fc = nn.Linear(c, 10)
            for mod in self.modules():  # torchvision's scheme, as tg.models
                if isinstance(mod, nn.Conv2d):
                    nn.init.kaiming_normal_(mod.weight, mode="fan_out", nonlinearity="relu")

        def forward(self, x):
            x = self.layers(torch.relu(self.bn1(self.conv1(x))))
            return self.fc(torch.flatten(x.mean(dim=(2, 3)), 1))

    return Net((args.depth - 2) // 6, tuple(args.widths), args.stem_width or args.widths[0],
               _strides(args))


# ---- training ----------------------------------------------------------------------------------
def run(args):
    if args.framework == "tg":
        import tensorgrad as fw
        from tensorgrad.nn import functional as F
        fw.manual_seed(args.seed)
        model = build_tg(args)
        if args.threads:  # BLAS and tensorgrad's own conv threads
            from threadpoolctl import threadpool_limits
            threadpool_limits(args.threads, user_api="blas")
            fw.ops.conv.set_num_threads(args.threads)
        as_tensor = fw.tensor
    else:
        import torch as fw
        import torch.nn.functional as F
        fw.manual_seed(args.seed)
        if args.threads:
            fw.set_num_threads(args.threads)
        model = build_torch(args)
        as_tensor = fw.from_numpy
    from tqdm.auto import tqdm

    Xtr, ytr, Xte, yte = load_data(args.train_subset, args.test_subset)
    mean, std = float(Xtr.mean()), float(Xtr.std())
    Xtr, Xte = prepare(Xtr, args.model, mean, std), prepare(Xte, args.model, mean, std)
    fill = (0.0 - mean) / std
    rng = np.random.default_rng(args.seed)
    opt = fw.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True,
                       weight_decay=args.weight_decay)
    n, bs = len(Xtr), args.batch_size
    steps_per_epoch = n // bs  # drop the last partial batch (batch norm dislikes tiny ones)
    total = steps_per_epoch * args.epochs
    augment = args.augment != "none"
    history, train_time, step = [], 0.0, 0

    def evaluate():
        model.eval()
        correct = 0
        with fw.no_grad():
            for i in range(0, len(Xte), 500):
                out = model(as_tensor(Xte[i:i + 500]))
                correct += int((out.numpy().argmax(1) == yte[i:i + 500]).sum())
        model.train()
        return correct / len(Xte)

    for epoch in range(args.epochs):
        perm = rng.permutation(n)
        t0 = time.perf_counter()
        loss_sum, seen = 0.0, 0
        bar = tqdm(range(steps_per_epoch), desc=f"{args.framework} {args.model} epoch "
                   f"{epoch + 1}/{args.epochs}", unit="batch", leave=False,
                   disable=args.no_progress, mininterval=1.0)
        for b in bar:
            idx = perm[b * bs:(b + 1) * bs]
            xb = Xtr[idx]
            if augment:
                xb = shift_and_flip(xb, rng, pad=args.shift, fill=fill,
                                    flip=args.augment == "shift-flip" or args.augment == "flip")
            lr = one_cycle(step, total, args.lr)
            for g in opt.param_groups:
                g["lr"] = lr
            opt.zero_grad()
            loss = F.cross_entropy(model(as_tensor(xb)), as_tensor(ytr[idx]),
                                   label_smoothing=args.label_smoothing)
            loss.backward()
            opt.step()
            step += 1
            lv = float(loss.item())
            loss_sum += lv * len(idx)
            seen += len(idx)
            if b % 20 == 0:
                bar.set_postfix(loss=f"{loss_sum / seen:.4f}", lr=f"{lr:.4f}")
        bar.close()
        dt = time.perf_counter() - t0
        train_time += dt
        acc = evaluate()
        history.append({"epoch": epoch + 1, "train_loss": loss_sum / seen, "test_acc": acc,
                        "epoch_time_s": dt, "train_time_s": train_time})
        print(f"[{args.framework}] {args.model} epoch {epoch + 1}/{args.epochs}: "
              f"loss {loss_sum / seen:.4f}  test acc {acc:.4f}  epoch {dt:.1f} s  "
              f"(training so far {train_time:.1f} s)", flush=True)
    try:
        load = os.getloadavg()
    except OSError:  # pragma: no cover
        load = None
    res = {"framework": args.framework, "model": args.model, "epochs": args.epochs,
           "depth": args.depth if args.model == "resnet" else None,
           "widths": list(args.widths) if args.model == "resnet" else None,
           "stem_width": args.stem_width if args.model == "resnet" else None,
           "strides": list(_strides(args)) if args.model == "resnet" else None,
           "batch_size": bs, "lr": args.lr, "augment": args.augment, "shift": args.shift,
           "label_smoothing": args.label_smoothing,
           "final_test_acc": history[-1]["test_acc"],
           "best_test_acc": max(h["test_acc"] for h in history),
           "train_time_s": train_time, "history": history, "loadavg_end": load,
           "params": int(sum(p.numel() for p in model.parameters())),
           "threads": args.threads}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)
    return res


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=["lenet5", "resnet"], default="lenet5")
    p.add_argument("--framework", choices=["tg", "torch"], default="tg")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--depth", type=int, default=8, help="ResNet depth 6n+2 (8, 14, 20)")
    p.add_argument("--widths", type=int, nargs="+", default=[24, 48, 96])
    p.add_argument("--stem-width", type=int, default=16)
    p.add_argument("--strides", type=int, nargs="+", default=None,
                   help="each stage's first stride (default 2 for every stage)")
    p.add_argument("--augment", choices=["none", "flip", "shift", "shift-flip"], default=None,
                   help="default: shift-flip for the ResNet, none for LeNet-5")
    p.add_argument("--shift", type=int, default=1, help="largest random shift (pixels)")
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--train-subset", type=int, default=None)
    p.add_argument("--test-subset", type=int, default=None)
    p.add_argument("--threads", type=int, default=None,
                   help="tensorgrad: BLAS and conv threads; torch: torch.set_num_threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="write the result as JSON here")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    if args.epochs is None:
        # both recipes: 10 epochs (bench/RESULTS.md has the accuracy by epoch)
        args.epochs = 10
    if args.augment is None:
        args.augment = "shift-flip" if args.model == "resnet" else "none"
    if args.augment == "flip":
        args.shift = 0
    if args.lr is None:
        args.lr = 0.05 if args.model == "lenet5" else 0.1
    return args


if __name__ == "__main__":
    r = run(parse())
    print(json.dumps({k: v for k, v in r.items() if k != "history"}))
