"""Polynomial regression with a custom autograd Function — the kind of program pytorch/examples'
``regression/main.py`` is (fit y = w·(x, x², x³, x⁴) + b with a Linear layer on random
batches), here with the polynomial features computed by a ``torch.autograd.Function`` that
gives its own backward: d/dx Σᵢ gᵢ xⁱ = Σᵢ i gᵢ xⁱ⁻¹. Run it with PyTorch as it is, or with
tensorgrad through ``run.py --tg regression.py`` (only the import lines change).

Batches come from numpy's generator, so both frameworks see the same data.
"""
import json

import numpy as np
import torch
import torch.nn.functional as F

from compare_data import parse_args


class PolyFeatures(torch.autograd.Function):
    """x (N, 1) -> (N, degree) with columns x, x², ..., x^degree."""

    @staticmethod
    def forward(ctx, x, degree):
        ctx.save_for_backward(x)
        ctx.degree = degree
        return torch.cat([x ** i for i in range(1, degree + 1)], 1)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        powers = torch.cat([i * x ** (i - 1) for i in range(1, ctx.degree + 1)], 1)
        return (grad_output * powers).sum(1, keepdim=True), None


def poly_desc(W, b):
    """A string description of the polynomial."""
    result = "y = "
    for i, w in enumerate(W):
        result += f"{w:+.2f} x^{i + 1} "
    result += f"{b[0]:+.2f}"
    return result


def main():
    args = parse_args("polynomial regression, custom Function", degree=4, batch_size=32, lr=0.1,
                      max_batches=10000, tol=1e-3, seed=0, log=str)

    rng = np.random.default_rng(args.seed)
    w_target = torch.tensor(rng.standard_normal((args.degree, 1)) * 5, dtype=torch.float32)
    b_target = torch.tensor(rng.standard_normal(1) * 5, dtype=torch.float32)

    def f(x):
        """The function to approximate."""
        return PolyFeatures.apply(x, args.degree).mm(w_target) + b_target.item()

    def get_batch(batch_size):
        x = torch.tensor(rng.standard_normal((batch_size, 1)), dtype=torch.float32)
        x.requires_grad_(True)
        return x, f(x).detach()

    fc = torch.nn.Linear(w_target.size(0), 1)
    with torch.no_grad():
        fc.weight.copy_(torch.tensor(rng.uniform(-0.5, 0.5, (1, args.degree)),
                                     dtype=torch.float32))
        fc.bias.zero_()
    log = {"loss": [], "input_grad_norm": []}
    for batch_idx in range(1, args.max_batches + 1):
        batch_x, batch_y = get_batch(args.batch_size)
        fc.zero_grad()
        output = F.smooth_l1_loss(fc(PolyFeatures.apply(batch_x, args.degree)), batch_y)
        loss = output.item()
        output.backward()
        for param in fc.parameters():
            param.data.add_(-args.lr * param.grad)
        log["loss"].append(loss)
        log["input_grad_norm"].append(batch_x.grad.norm().item())
        if loss < args.tol:
            break
    print(f"Loss: {loss:.6f} after {batch_idx} batches")
    print("==> Learned function:\t" + poly_desc(fc.weight.view(-1).tolist(),
                                                 fc.bias.tolist()))
    print("==> Actual function:\t" + poly_desc(w_target.view(-1).tolist(),
                                                b_target.tolist()))
    # the custom backward agrees with autograd through the same formula
    x = torch.tensor(rng.standard_normal((5, 1)), dtype=torch.float64, requires_grad=True)
    ok = torch.autograd.gradcheck(lambda t: PolyFeatures.apply(t, args.degree), (x,))
    log.update(batches=batch_idx, weight=fc.weight.view(-1).tolist(), bias=fc.bias.tolist(),
               gradcheck=bool(ok))
    if args.log:
        with open(args.log, "w") as f_:
            json.dump(log, f_)


if __name__ == "__main__":
    main()
