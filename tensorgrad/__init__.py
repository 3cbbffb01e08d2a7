"""tensorgrad: a reverse-mode autograd engine you can read, draw and check.

``import tensorgrad as tg`` and write PyTorch-style code: ``tg.tensor``, ``tg.nn``, ``tg.optim``.
"""
__version__ = "0.1.0"

from .tensor import Tensor, float16, float32, float64, int32, int64, bool_  # noqa: E402
from .ops import *  # noqa: F401,F403,E402
from . import ops  # noqa: E402
from .random import manual_seed  # noqa: E402
from .device import accelerator, cuda, device  # noqa: E402
from . import autograd  # noqa: E402
from .autograd import (detect_anomaly, enable_grad, grad, gradcheck, gradgradcheck,  # noqa: E402
                       is_grad_enabled, no_grad, set_grad_enabled)

float = float32  # noqa: A001  (torch.float)
double = float64
long = int64
bool = bool_  # noqa: A001

from . import nn  # noqa: E402
from . import optim  # noqa: E402
from .nn.functional import bilinear, cosine_similarity, pairwise_distance  # noqa: E402,F401

_LAZY = {"viz", "data", "text", "metrics", "strategy", "tune", "train", "demo", "io",
         "vision", "kernels", "distributed", "distributions", "models"}


def __getattr__(name):
    """Submodules that pull in optional dependencies load on first use (tg.viz, tg.data, ...);
    ``tg.save``/``tg.load``/``tg.check_gradients`` likewise."""
    import importlib
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    if name in ("save", "load"):
        return getattr(importlib.import_module(f"{__name__}.io"), name)
    if name == "check_gradients":
        return importlib.import_module(f"{__name__}.autograd.check").check_gradients
    raise AttributeError(f"module 'tensorgrad' has no attribute {name!r}")
