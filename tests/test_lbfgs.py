"""tg.optim.LBFGS against torch.optim.LBFGS in float64: the iterates after every step()."""
import numpy as np
import pytest

import tensorgrad as tg

RNG = np.random.default_rng(3)
XR = RNG.normal(size=(20, 5))
YR = XR @ RNG.normal(size=(5, 2)) + 0.1 * RNG.normal(size=(20, 2))


def _rosenbrock(x, lib):
    a, b = x[:-1], x[1:]
    return ((1 - a) ** 2).sum() + 100 * ((b - a ** 2) ** 2).sum()


def _regression(params, lib):
    W, b = params
    X, Y = lib.tensor(XR), lib.tensor(YR)
    return (((X @ W.T + b).tanh() - Y) ** 2).mean() + 1e-3 * (W ** 2).sum()


def _trajectory(lib, problem, kw, steps):
    if problem == "rosenbrock":
        params = [lib.tensor(np.array([-1.2, 1.0, -0.5, 0.8]), requires_grad=True)]
        f = lambda: _rosenbrock(params[0], lib)  # noqa: E731
    else:
        params = [lib.tensor(np.full((2, 5), 0.1), requires_grad=True),
                  lib.tensor(np.zeros(2), requires_grad=True)]
        f = lambda: _regression(params, lib)  # noqa: E731
    opt = lib.optim.LBFGS(params, **kw)
    evals = [0]

    def closure():
        evals[0] += 1
        opt.zero_grad()
        loss = f()
        loss.backward()
        return loss

    out = []
    for _ in range(steps):
        loss = opt.step(closure)
        out.append((float(loss.item()), np.concatenate([p.detach().numpy().ravel()
                                                        for p in params]), evals[0]))
    return out


CASES = [
    ("rosenbrock", dict(lr=1, max_iter=20, line_search_fn="strong_wolfe"), 6),
    ("rosenbrock", dict(lr=0.05, max_iter=10, history_size=4), 5),
    ("regression", dict(lr=1, max_iter=15, history_size=3, line_search_fn="strong_wolfe"), 4),
    ("regression", dict(lr=0.5, max_iter=7, max_eval=9), 4),
    ("regression", dict(lr=1, max_iter=50, tolerance_grad=1e-5, tolerance_change=1e-6,
                        line_search_fn="strong_wolfe"), 3),
]


@pytest.mark.parametrize("problem,kw,steps", CASES)
def test_lbfgs_iterates_match_torch(problem, kw, steps):
    torch = pytest.importorskip("torch")
    mine = _trajectory(tg, problem, kw, steps)
    ref = _trajectory(torch, problem, kw, steps)
    for (l1, x1, e1), (l2, x2, e2) in zip(mine, ref):
        assert e1 == e2                       # same number of closure calls
        assert abs(l1 - l2) <= 1e-9 * max(1.0, abs(l2))
        np.testing.assert_allclose(x1, x2, rtol=1e-7, atol=1e-9)


def test_lbfgs_solves_rosenbrock_and_quadratic():
    x = tg.tensor(np.array([-1.2, 1.0]), requires_grad=True)
    opt = tg.optim.LBFGS([x], max_iter=100, line_search_fn="strong_wolfe",
                         tolerance_change=1e-15)

    def closure():
        opt.zero_grad()
        loss = _rosenbrock(x, tg)
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    np.testing.assert_allclose(x.detach().numpy(), [1.0, 1.0], atol=1e-6)
    # a strictly convex quadratic in 5-D is solved to machine precision
    A = RNG.normal(size=(5, 5))
    A = A @ A.T + 5 * np.eye(5)
    bvec = RNG.normal(size=5)
    z = tg.tensor(np.zeros(5), requires_grad=True)
    opt = tg.optim.LBFGS([z], max_iter=50, line_search_fn="strong_wolfe", tolerance_grad=1e-12,
                         tolerance_change=1e-20)

    def quad():
        opt.zero_grad()
        loss = 0.5 * (z @ (tg.tensor(A) @ z)) - (tg.tensor(bvec) * z).sum()
        loss.backward()
        return loss

    opt.step(quad)
    np.testing.assert_allclose(z.detach().numpy(), np.linalg.solve(A, bvec), atol=1e-8)


def test_lbfgs_state_dict_round_trip_continues_identically(tmp_path):
    def make():
        ps = [tg.tensor(np.full((2, 5), 0.1), requires_grad=True),
              tg.tensor(np.zeros(2), requires_grad=True)]
        opt = tg.optim.LBFGS(ps, max_iter=4, history_size=3, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = _regression(ps, tg)
            loss.backward()
            return loss
        return ps, opt, closure

    ps, opt, closure = make()
    opt.step(closure)
    tg.save(opt.state_dict(), tmp_path / "opt.safetensors")
    saved = [p.detach().numpy().copy() for p in ps]
    opt.step(closure)
    want = [p.detach().numpy().copy() for p in ps]

    ps2, opt2, closure2 = make()
    for p, s in zip(ps2, saved):
        p.data[...] = s
    opt2.load_state_dict(tg.load(tmp_path / "opt.safetensors"))
    opt2.step(closure2)
    for p, w in zip(ps2, want):
        np.testing.assert_allclose(p.detach().numpy(), w, rtol=1e-12, atol=1e-14)


def test_lbfgs_bad_input():
    x = tg.tensor(np.zeros(3), requires_grad=True)
    with pytest.raises(ValueError, match="line_search_fn"):
        tg.optim.LBFGS([x], line_search_fn="backtracking")
    with pytest.raises(ValueError, match="parameter groups"):
        tg.optim.LBFGS([{"params": [x]}, {"params": [tg.tensor(np.zeros(2), requires_grad=True)]}])
    with pytest.raises(ValueError, match="learning rate"):
        tg.optim.LBFGS([x], lr=-1)
    with pytest.raises(ValueError, match="max_iter"):
        tg.optim.LBFGS([x], max_iter=0)
    opt = tg.optim.LBFGS([x])
    with pytest.raises(TypeError, match="closure"):
        opt.step()

    def vector_loss():
        opt.zero_grad()
        out = x * 2
        out.sum().backward()
        return out

    with pytest.raises(RuntimeError, match="scalar"):
        opt.step(vector_loss)
