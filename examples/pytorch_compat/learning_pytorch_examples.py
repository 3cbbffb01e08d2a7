"""Fitting y = sin(x) on [-π, π] with a third-order polynomial, seven ways — the kind of
programs the "Learning PyTorch with Examples" tutorial walks through, written here for
tensorgrad's compatibility tests:

1. ``tensors``: tensors only, the gradients written by hand;
2. ``autograd``: the same with ``requires_grad`` and ``backward()``;
3. ``function``: the model y = a + b·P₃(c + d·x) with the Legendre polynomial
   P₃(x) = ½(5x³ − 3x) as a custom ``torch.autograd.Function`` (forward and backward by hand);
4. ``nn``: ``nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1))`` on the features (x, x², x³);
5. ``optim``: the same model trained by ``torch.optim.RMSprop``;
6. ``module``: a custom ``nn.Module`` with four scalar Parameters, trained by SGD;
7. ``dynamic``: control flow and weight sharing — each forward pass uses a random number (4
   or 5) of terms, the higher ones sharing one parameter ``e``.

Run it with PyTorch as it is, or with tensorgrad through
``run.py --tg learning_pytorch_examples.py`` (only the import lines change). Initial values come
from Python's ``random`` module (seeded), so both frameworks start from the same point.
"""
import argparse
import json
import math
import random

import torch


def _scalars(rng, n):
    return [rng.gauss(0.0, 1.0) for _ in range(n)]


def fit_tensors(steps, rng, log):
    dtype = torch.float
    device = torch.device("cpu")
    x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
    y = torch.sin(x)
    a, b, c, d = (torch.tensor(v, device=device, dtype=dtype) for v in _scalars(rng, 4))
    learning_rate = 1e-6
    for t in range(steps):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum().item()
        if t % 100 == 99:
            print(t, loss)
        log.append(loss)
        grad_y_pred = 2.0 * (y_pred - y)
        grad_a = grad_y_pred.sum()
        grad_b = (grad_y_pred * x).sum()
        grad_c = (grad_y_pred * x ** 2).sum()
        grad_d = (grad_y_pred * x ** 3).sum()
        a -= learning_rate * grad_a
        b -= learning_rate * grad_b
        c -= learning_rate * grad_c
        d -= learning_rate * grad_d
    return f"y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3"


def fit_autograd(steps, rng, log):
    dtype = torch.float
    x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
    y = torch.sin(x)
    a, b, c, d = (torch.tensor(v, dtype=dtype, requires_grad=True) for v in _scalars(rng, 4))
    learning_rate = 1e-6
    for t in range(steps):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        log.append(loss.item())
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    return f"y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3"


class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


def fit_function(steps, rng, log):
    dtype = torch.float
    x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
    y = torch.sin(x)
    a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
    b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
    c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
    d = torch.full((), 0.3, dtype=dtype, requires_grad=True)
    learning_rate = 5e-6
    for t in range(steps):
        P3 = LegendrePolynomial3.apply
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        log.append(loss.item())
        loss.backward()
        with torch.no_grad():
            for p in (a, b, c, d):
                p -= learning_rate * p.grad
                p.grad = None
    return f"y = {a.item()} + {b.item()} * P3({c.item()} + {d.item()} x)"


def _features():
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)
    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)
    return xx, y


def _linear_model(rng):
    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([_scalars(rng, 3)]) * 0.1)
        model[0].bias.fill_(rng.gauss(0.0, 0.1))
    return model


class _HandWrittenStep:
    """The nn part's update written out: zero the model's gradients, then param -= lr * grad
    for every parameter without recording (what torch.optim.SGD does for it in later parts)."""

    def __init__(self, model, learning_rate):
        self.model, self.learning_rate = model, learning_rate

    def zero_grad(self):
        self.model.zero_grad()

    def step(self):
        with torch.no_grad():
            for param in self.model.parameters():
                param -= self.learning_rate * param.grad


def fit_nn(steps, rng, log):
    xx, y = _features()
    model = _linear_model(rng)
    loss_fn = torch.nn.MSELoss(reduction="sum")
    train(model, loss_fn, _HandWrittenStep(model, 1e-6), xx, y, steps, log)
    return _linear_result(model)


def _linear_result(model):
    linear_layer = model[0]
    return (f"Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + "
            f"{linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3")


def train(model, loss_fn, optimizer, x, y, steps, log):
    """The tutorial's optimizer loop (used by the nn.optim, custom-module and dynamic parts)."""
    for t in range(steps):
        y_pred = model(x)
        loss = loss_fn(y_pred, y)
        log.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def fit_optim(steps, rng, log):
    xx, y = _features()
    model = _linear_model(rng)
    loss_fn = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    train(model, loss_fn, optimizer, xx, y, steps, log)
    return _linear_result(model)


class Polynomial3(torch.nn.Module):
    def __init__(self, values):
        super().__init__()
        self.a, self.b, self.c, self.d = (torch.nn.Parameter(torch.tensor(v)) for v in values)

    def forward(self, x):
        return self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3

    def string(self):
        return (f"y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + "
                f"{self.d.item()} x^3")


def _fit_sine(model, optimizer, steps, log):
    """The custom-module and dynamic parts: fit model(x) to sin(x) on [-π, π] (sum of squares)."""
    x = torch.linspace(-math.pi, math.pi, 2000)
    train(model, torch.nn.MSELoss(reduction="sum"), optimizer, x, torch.sin(x), steps, log)
    return f"Result: {model.string()}"


def fit_module(steps, rng, log):
    model = Polynomial3(_scalars(rng, 4))
    return _fit_sine(model, torch.optim.SGD(model.parameters(), lr=1e-6), steps, log)


class DynamicNet(Polynomial3):
    """The cubic plus a random number (0 or 1) of higher terms sharing one more parameter e."""

    def __init__(self, values, draw):
        super().__init__(values[:4])
        self.e = torch.nn.Parameter(torch.tensor(values[4]))
        self.draw = draw

    def forward(self, x):
        """A random number of terms (4 or 5); the 4th and higher reuse the parameter e."""
        y = super().forward(x)
        for exp in range(4, self.draw(4, 5) + 1):
            y = y + self.e * x ** exp
        return y

    def string(self):
        return f"{super().string()} + {self.e.item()} x^4 ? + {self.e.item()} x^5 ?"


def fit_dynamic(steps, rng, log):
    model = DynamicNet([0.1 * v for v in _scalars(rng, 5)], random.Random(7).randint)
    return _fit_sine(model, torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9), steps,
                     log)


VARIANTS = {"tensors": fit_tensors, "autograd": fit_autograd, "function": fit_function,
            "nn": fit_nn, "optim": fit_optim, "module": fit_module, "dynamic": fit_dynamic}


def main():
    parser = argparse.ArgumentParser(description="Learning PyTorch with examples, seven ways")
    parser.add_argument("--variants", type=str, default=",".join(VARIANTS))
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--log", type=str, default=None)
    args = parser.parse_args()
    out = {}
    for name in args.variants.split(","):
        losses = []
        try:
            result = VARIANTS[name](args.steps, random.Random(0), losses)
        except Exception as e:  # report and go on with the next variant
            out[name] = {"error": f"{type(e).__name__}: {e}"}
            print(f"{name}: {type(e).__name__}: {e}")
            continue
        print(f"{name}: loss {losses[0]:.2f} -> {losses[-1]:.2f}; {result}")
        out[name] = {"loss": losses, "result": result}
    if args.log:
        with open(args.log, "w") as f:
            json.dump(out, f)


if __name__ == "__main__":
    main()
