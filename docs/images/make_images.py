"""Regenerate the pictures in docs/images: ``python docs/images/make_images.py``.

Needs the Graphviz ``dot`` program and matplotlib."""
import os

import numpy as np

import tensorgrad as tg

nn = tg.nn
HERE = os.path.dirname(os.path.abspath(__file__))


class MLP(nn.Module):
    """The course's L-layer network for 8×8 digits: 64 → 32 → 16 → 10."""

    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(64, 32)
        self.act1 = nn.ReLU()
        self.fc2 = nn.Linear(32, 16)
        self.act2 = nn.ReLU()
        self.fc3 = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc3(self.act2(self.fc2(self.act1(self.fc1(self.flatten(x))))))


def _traced_loss(model):
    """A batch of 32 random 8x8 images through ``model`` (traced) and its cross-entropy."""
    x = tg.randn(32, 1, 8, 8)
    y = tg.tensor(np.random.default_rng(0).integers(0, 10, 32))
    with tg.viz.trace(model):
        logits = model(x)
    with tg.viz.scope("cross_entropy"):
        return nn.functional.cross_entropy(logits, y)


def _save(g, name):
    for ext in ("svg", "png"):
        print(g.save(os.path.join(HERE, f"{name}.{ext}")))


def _save_grad_flow(model, loss, name, title):
    with tg.viz.grad_flow(loss) as flow:
        loss.backward()
    _save(tg.viz.draw(loss, model=model, grads=flow, output_names=["loss"], title=title), name)


def mlp_pictures():
    tg.manual_seed(0)
    model = MLP()
    loss = _traced_loss(model)
    _save(tg.viz.draw(loss, model=model, output_names=["loss"],
                      title="A 3-layer MLP and its cross-entropy loss"), "mlp_graph")
    _save_grad_flow(model, loss, "mlp_grad_flow",
                    "Gradient flow: colour = norm of dL/d(output) at each op")


def cnn_picture():
    from tensorgrad import demo
    tg.manual_seed(0)
    model, kind = demo.build_model("cnn")
    _save_grad_flow(model, _traced_loss(model), "cnn_grad_flow",
                    "The demo's CNN with its gradient flow")


def rnn_picture():
    tg.manual_seed(1)
    T, B, n_x, n_h = 20, 2, 3, 5
    Wax = tg.randn(n_x, n_h, requires_grad=True)
    Waa = (tg.randn(n_h, n_h) * 0.5).requires_grad_()
    ba = tg.zeros(n_h, requires_grad=True)
    xs = tg.randn(T, B, n_x)
    h = tg.zeros(B, n_h, requires_grad=True)
    for t in range(T):
        with tg.viz.scope("step"):
            h = (xs[t] @ Wax + h @ Waa + ba).tanh()
    loss = (h ** 2).sum()
    with tg.viz.grad_flow(loss) as flow:
        loss.backward()
    _save(tg.viz.draw(loss, params={"W_ax": Wax, "W_aa": Waa, "b_a": ba}, grads=flow,
                      title="An RNN unrolled over 20 steps: steps 2-20 folded; gradients "
                            "vanish back through time"), "rnn_unrolled")


def vanishing_bars():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def deep(act, he):
        tg.manual_seed(0)
        layers = []
        for _ in range(12):
            lin = nn.Linear(32, 32)
            if he:
                nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
            else:
                nn.init.xavier_normal_(lin.weight)
            nn.init.zeros_(lin.bias)
            layers += [lin, act()]
        return nn.Sequential(*layers, nn.Linear(32, 1))
    tg.manual_seed(42)
    X, Y = tg.randn(64, 32), tg.randn(64, 1)
    fig, axes = plt.subplots(1, 2, figsize=(13, 4))
    for ax, (name, act, he) in zip(axes, [("12 sigmoid layers", nn.Sigmoid, False),
                                          ("12 ReLU layers, He init", nn.ReLU, True)]):
        net = deep(act, he)
        ((net(X) - Y) ** 2).mean().backward()
        tg.viz.plot_grad_flow(net, ax=ax, include_bias=False, title=name)
    fig.tight_layout()
    path = os.path.join(HERE, "vanishing_gradients.png")
    fig.savefig(path, dpi=100)
    print(path)


if __name__ == "__main__":
    mlp_pictures()
    cnn_picture()
    rnn_picture()
    vanishing_bars()
