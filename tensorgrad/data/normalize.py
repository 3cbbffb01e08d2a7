"""Input normalization fitted on the training set (§5.1, docs/maths.md)."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor, _wrap

__all__ = ["Normalizer"]


class Normalizer:
    """Subtract the training mean ``μ`` and divide by a training scale, then apply the *same*
    ``μ`` and scale to dev and test data (§5.1).

    ``scale="std"`` (default) divides by ``σ = sqrt(mean((x − μ)²))``, which gives every feature
    unit variance (standardization). ``scale="variance"`` divides by ``σ²``, as some texts write
    the formula; ``scale=None`` only centres. Features whose
    scale is (almost) zero — constant pixels, say — are divided by 1 instead.

    ``axis`` are the dimensions averaged over: 0 (per feature, default) or e.g. ``(0, 2, 3)``
    for per-channel statistics of NCHW images. Numpy in, numpy out; Tensor in, Tensor out."""

    def __init__(self, scale="std", axis=0, eps=1e-8):
        if scale not in ("std", "variance", None):
            raise ValueError(f"Normalizer: scale must be 'std', 'variance' or None, got {scale!r}")
        self.scale_kind = scale
        self.axis = axis if isinstance(axis, int) else tuple(axis)
        self.eps = float(eps)
        self.mean = None
        self.scale = None

    @staticmethod
    def _arr(x, op):
        if isinstance(x, Tensor):
            return x._data
        a = np.asarray(x)
        if a.dtype.kind not in "fiub":
            raise TypeError(f"Normalizer.{op}: expected numeric data, got dtype {a.dtype}")
        return a

    def fit(self, x):
        a = self._arr(x, "fit")
        if a.ndim == 0 or a.shape[0] == 0:
            raise ValueError(f"Normalizer.fit: need at least one example, got shape {a.shape}")
        dtype = a.dtype if a.dtype.kind == "f" else np.float32
        a64 = a.astype(np.float64)
        mu = a64.mean(axis=self.axis, keepdims=True)
        if self.scale_kind is None:
            s = np.ones_like(mu)
        else:
            var = ((a64 - mu) ** 2).mean(axis=self.axis, keepdims=True)
            s = np.sqrt(var) if self.scale_kind == "std" else var
            s = np.where(s > self.eps, s, 1.0)
        self.mean = mu.astype(dtype)
        self.scale = s.astype(dtype)
        return self

    def _check(self, a, op):
        if self.mean is None:
            raise RuntimeError(f"Normalizer.{op}: call fit() on the training data first")
        try:
            np.broadcast_shapes(a.shape, self.mean.shape)
        except ValueError:
            raise ValueError(f"Normalizer.{op}: data of shape {a.shape} does not match the "
                             f"fitted statistics of shape {self.mean.shape}") from None
        if a.ndim != self.mean.ndim:
            raise ValueError(f"Normalizer.{op}: data has {a.ndim} dimensions, the normalizer "
                             f"was fitted on {self.mean.ndim}")

    def transform(self, x):
        a = self._arr(x, "transform")
        self._check(a, "transform")
        out = (a - self.mean) / self.scale
        if a.dtype.kind == "f":
            out = out.astype(a.dtype, copy=False)
        return _wrap(out) if isinstance(x, Tensor) else out

    def fit_transform(self, x):
        return self.fit(x).transform(x)

    def inverse_transform(self, x):
        a = self._arr(x, "inverse_transform")
        self._check(a, "inverse_transform")
        out = a * self.scale + self.mean
        return _wrap(out) if isinstance(x, Tensor) else out

    def state_dict(self) -> dict:
        if self.mean is None:
            raise RuntimeError("Normalizer.state_dict: not fitted yet")
        return {"mean": _wrap(self.mean.copy()), "scale": _wrap(self.scale.copy())}

    def load_state_dict(self, state: dict):
        missing = {"mean", "scale"} - set(state)
        if missing:
            raise ValueError(f"Normalizer.load_state_dict: missing keys {sorted(missing)}")
        m = state["mean"]._data if isinstance(state["mean"], Tensor) else np.asarray(state["mean"])
        s = state["scale"]._data if isinstance(state["scale"], Tensor) else np.asarray(state["scale"])
        if m.shape != s.shape:
            raise ValueError(f"Normalizer.load_state_dict: mean {m.shape} and scale {s.shape} "
                             f"differ in shape")
        self.mean, self.scale = m.copy(), s.copy()
        return self

    def __repr__(self):
        fitted = "unfitted" if self.mean is None else f"fitted on shape {self.mean.shape}"
        return f"Normalizer(scale={self.scale_kind!r}, axis={self.axis}, {fitted})"
