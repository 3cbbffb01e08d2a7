"""The first thing to run: ``python -m tensorgrad.demo`` (or ``tensorgrad-demo``).

In about a minute on a laptop CPU it shows the three things tensorgrad is for:

1. **train** a small CNN (an MLP with ``--model mlp``) on scikit-learn's bundled 8×8 handwritten
   digits, with a progress bar, and report test accuracy;
2. **see** it: the model's computation graph (one box per module) as SVG, and the gradient flow
   after one backward pass — a graph coloured by gradient norm (SVG) and a per-parameter bar
   chart (PNG);
3. **check** it: compare backpropagation with finite differences for every parameter
   (``tg.check_gradients``, §5.4 of docs/maths.md).

Everything is written to ``--out`` (default ``./tensorgrad-demo-output``); the paths are printed.
``--quick`` trains on a small subset for a few steps (what the test suite runs).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

__all__ = ["main", "build_model", "load_data"]


def _log(msg=""):
    print(msg, flush=True)


# ---- data ----------------------------------------------------------------------------------------
def load_data(images=True, seed=0, quick=False):
    """Digits as float32 arrays: (X_train, y_train, X_test, y_test); 80/20 stratified split."""
    import tensorgrad as tg
    try:
        X, y = tg.data.load_digits(images=images, as_numpy=True)
    except (AttributeError, ImportError):
        from sklearn.datasets import load_digits as _ld
        d = _ld()
        X = (d._data / 16.0).astype(np.float32)
        X = X.reshape(-1, 1, 8, 8) if images else X
        y = d.target.astype(np.int64)
    try:
        tr, te = tg.data.split_indices(len(X), (0.8, 0.2), seed=seed, stratify=y)
    except (AttributeError, TypeError):
        perm = np.random.default_rng(seed).permutation(len(X))
        cut = int(0.8 * len(X))
        tr, te = perm[:cut], perm[cut:]
    if quick:
        tr, te = tr[:320], te[:200]
    return X[tr], y[tr], X[te], y[te]


# ---- model ---------------------------------------------------------------------------------------
def build_model(kind="cnn"):
    """A small CNN (conv-relu-pool ×2, linear) or a 2-hidden-layer MLP for 8×8 digits;
    returns (model, kind actually built)."""
    import tensorgrad as tg
    nn = tg.nn

    if kind == "cnn" and hasattr(nn, "Conv2d") and hasattr(nn, "MaxPool2d"):
        class DigitsCNN(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
                self.pool1 = nn.MaxPool2d(2)
                self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
                self.pool2 = nn.MaxPool2d(2)
                self.flatten = nn.Flatten()
                self.fc = nn.Linear(16 * 2 * 2, 10)

            def forward(self, x):
                x = self.pool1(self.conv1(x).relu())
                x = self.pool2(self.conv2(x).relu())
                return self.fc(self.flatten(x))
        return DigitsCNN(), "cnn"

    class DigitsMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.flatten = nn.Flatten()
            self.fc1 = nn.Linear(64, 64)
            self.fc2 = nn.Linear(64, 32)
            self.fc3 = nn.Linear(32, 10)

        def forward(self, x):
            x = self.fc1(self.flatten(x)).relu()
            return self.fc3(self.fc2(x).relu())
    return DigitsMLP(), "mlp"


def _batches(X, y, batch_size, rng):
    import tensorgrad as tg
    try:
        ds = tg.data.TensorDataset(X, y)
        return tg.data.DataLoader(ds, batch_size=batch_size, shuffle=True,
                                  seed=int(rng.integers(2 ** 31)))
    except AttributeError:
        idx = rng.permutation(len(X))
        return [(tg.tensor(X[idx[i:i + batch_size]]), tg.tensor(y[idx[i:i + batch_size]]))
                for i in range(0, len(X), batch_size)]


def _accuracy(model, X, y, batch_size=512):
    import tensorgrad as tg
    correct = 0
    with tg.no_grad():
        for i in range(0, len(X), batch_size):
            logits = model(tg.tensor(X[i:i + batch_size]))._data
            correct += int((logits.argmax(axis=1) == y[i:i + batch_size]).sum())
    return correct / max(1, len(X))


def _cross_entropy(logits, target):
    import tensorgrad as tg
    F = tg.nn.functional
    if hasattr(F, "cross_entropy"):
        return F.cross_entropy(logits, target)
    # plain fallback: -mean(log_softmax[target])
    lp = logits.log_softmax(dim=1)
    return -(lp[np.arange(target.shape[0]), target._data]).mean()


def train(model, Xtr, ytr, epochs, batch_size=64, lr=3e-3, seed=0, progress=True):
    """Adam on cross-entropy with a tqdm bar; returns the per-epoch mean losses."""
    import tensorgrad as tg
    rng = np.random.default_rng(seed)
    opt = tg.optim.Adam(model.parameters(), lr=lr)
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        tqdm = None
    losses = []
    n_batches = (len(Xtr) + batch_size - 1) // batch_size
    bar = tqdm(total=epochs * n_batches, desc="training", unit="batch",
               disable=not progress, file=sys.stdout) if tqdm else None
    for ep in range(epochs):
        total, count = 0.0, 0
        for xb, yb in _batches(Xtr, ytr, batch_size, rng):
            xb = xb if isinstance(xb, tg.Tensor) else tg.tensor(xb)
            yb = yb if isinstance(yb, tg.Tensor) else tg.tensor(yb)
            loss = _cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.item()) * len(yb)
            count += len(yb)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(epoch=f"{ep + 1}/{epochs}", loss=f"{total / count:.3f}")
        losses.append(total / max(1, count))
    if bar is not None:
        bar.close()
    return losses


# ---- the demo ------------------------------------------------------------------------------------
def _parse(argv):
    p = argparse.ArgumentParser(
        prog="tensorgrad-demo",
        description="Train a small CNN on handwritten digits, draw its computation graph and "
                    "gradient flow, and check its gradients against finite differences.")
    p.add_argument("--out", default="tensorgrad-demo-output",
                   help="folder for the pictures (default: ./tensorgrad-demo-output)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default 15; 1 with "
                   "--quick)")
    p.add_argument("--quick", action="store_true", help="small subset, one epoch (for tests)")
    p.add_argument("--model", choices=("cnn", "mlp"), default="cnn")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    a = p.parse_args(argv)
    if a.epochs is not None and a.epochs < 1:
        p.error(f"--epochs must be at least 1, got {a.epochs}")
    return a


def main(argv=None):
    """Run the demo; returns 0 on success (the console script's exit status)."""
    a = _parse(argv)
    import tensorgrad as tg
    t0 = time.perf_counter()
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    epochs = a.epochs if a.epochs is not None else (1 if a.quick else 15)
    tg.manual_seed(a.seed)

    model, kind = build_model(a.model)
    Xtr, ytr, Xte, yte = load_data(images=True, seed=a.seed, quick=a.quick)
    n_params = sum(int(np.prod(p.shape)) for p in model.parameters())
    _log(f"tensorgrad {tg.__version__} demo — 8×8 handwritten digits (scikit-learn), "
         f"{len(Xtr)} train / {len(Xte)} test images")
    _log(f"model: {kind.upper()} with {n_params:,} parameters\n{model}\n")

    # 1) train -------------------------------------------------------------------------------
    _log("[1/3] Train")
    losses = train(model, Xtr, ytr, epochs, seed=a.seed, progress=not a.no_progress)
    acc = _accuracy(model, Xte, yte)
    _log(f"final training loss {losses[-1]:.4f}; test accuracy {acc * 100:.1f}% "
         f"({int(round(acc * len(Xte)))}/{len(Xte)})\n")

    # 2) see ---------------------------------------------------------------------------------
    _log("[2/3] See: computation graph and gradient flow")
    written = []
    xb, yb = tg.tensor(Xtr[:32]), tg.tensor(ytr[:32])
    with tg.viz.trace(model):
        logits = model(xb)
    with tg.viz.scope("cross_entropy"):
        loss = _cross_entropy(logits, yb)
    has_dot = tg.viz.find_dot() is not None
    g = tg.viz.draw(loss, model=model, output_names=["loss"],
                    title=f"{kind.upper()} on digits: forward graph of one batch of 32")
    written.append(("computation graph (DOT)", g.save(os.path.join(out, "model_graph.dot"))))
    if has_dot:
        written.append(("computation graph", g.save(os.path.join(out, "model_graph.svg"))))
    model.zero_grad()
    with tg.viz.grad_flow(loss) as flow:
        loss.backward()
    gg = tg.viz.draw(loss, model=model, grads=flow, output_names=["loss"],
                     title="Gradient flow after one backward pass (colour = ‖dL/d output‖)")
    if has_dot:
        written.append(("gradient-flow graph",
                        gg.save(os.path.join(out, "gradient_flow_graph.svg"))))
    else:
        written.append(("gradient-flow graph (DOT)",
                        gg.save(os.path.join(out, "gradient_flow_graph.dot"))))
    try:
        import matplotlib
        if "matplotlib.pyplot" not in sys.modules:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig = tg.viz.plot_grad_flow(model, title="Gradient norm per parameter (one batch)")
        path = os.path.join(out, "gradient_flow.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(("gradient-flow bar chart", path))
    except ImportError:
        _log("  (matplotlib not installed: skipped the bar chart; pip install matplotlib)")
    if not has_dot:
        _log("  Graphviz 'dot' was not found, so graphs were written as .dot text only. Install "
             "it (apt-get install graphviz / brew install graphviz / conda install graphviz) "
             "for SVG pictures.")
    for what, path in written:
        _log(f"  {what:26s} {path}")
    _log("")

    # 3) check -------------------------------------------------------------------------------
    _log("[3/3] Check: backprop vs central differences (float64)")
    # float64 inputs: the check runs the parameters in float64 (conv needs matching dtypes)
    xs, ys = tg.tensor(Xtr[:8].astype(np.float64)), tg.tensor(ytr[:8])

    def loss_fn():
        return _cross_entropy(model(xs), ys)
    try:
        check = tg.check_gradients
    except (AttributeError, ImportError):
        check = None
    if check is not None:
        report = check(loss_fn, model, max_elements=12 if a.quick else 40)
        _log(str(report))
        ok = bool(report.ok)
    else:  # pragma: no cover - only before tensorgrad.autograd.check existed
        w = tg.randn(5, 3, dtype=tg.float64, requires_grad=True)
        x = tg.randn(4, 5, dtype=tg.float64)
        ok = tg.gradcheck(lambda w: (x @ w).tanh().sum(), (w,))
        _log(f"tg.gradcheck on a tiny layer: {'OK' if ok else 'FAILED'}")
    _log(f"\ndone in {time.perf_counter() - t0:.1f} s; pictures in {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
