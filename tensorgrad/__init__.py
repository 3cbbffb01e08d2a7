"""tensorgrad: a reverse-mode autograd engine you can read, draw and check.

``import tensorgrad as tg`` and write PyTorch-style code: ``tg.tensor``, ``tg.nn``, ``tg.optim``.
"""
__version__ = "0.1.0"

from .tensor import Tensor, float16, float32, float64, int32, int64, bool_  # noqa: E402
from .ops import *  # noqa: F401,F403,E402
from . import ops  # noqa: E402
from .random import manual_seed  # noqa: E402
from . import autograd  # noqa: E402
from .autograd import (detect_anomaly, enable_grad, grad, gradcheck, gradgradcheck,  # noqa: E402
                       is_grad_enabled, no_grad, set_grad_enabled)

float = float32  # noqa: A001  (torch.float)
double = float64
long = int64
bool = bool_  # noqa: A001
