"""tensorgrad: a reverse-mode autograd engine you can read, draw and check.

``import tensorgrad as tg`` and write PyTorch-style code: ``tg.tensor``, ``tg.nn``, ``tg.optim``.
"""
__version__ = "0.1.0"

from .tensor import Size, Tensor  # noqa: E402
from ._tensor_str import set_printoptions  # noqa: E402
from .dtypes import (bool_, can_cast, complex64, complex128, finfo, float16, float32,  # noqa: E402
                     float64, get_default_dtype, iinfo, int8, int16, int32, int64,
                     promote_types, result_type, set_default_dtype, uint8)
from .ops import *  # noqa: F401,F403,E402
from . import ops  # noqa: E402
from .ops.creation import (channels_last, contiguous_format, layout, memory_format,  # noqa: E402
                           preserve_format, sparse_coo, strided)
from .random import (Generator, default_generator, get_rng_state, initial_seed,  # noqa: E402
                     manual_seed, seed, set_rng_state)
from .device import (accelerator, cuda, device, get_default_device,  # noqa: E402
                     set_default_device)
from . import autograd  # noqa: E402
from .autograd import (detect_anomaly, enable_grad, grad, gradcheck, gradgradcheck,  # noqa: E402
                       inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad,
                       set_grad_enabled)
from .autograd import functional as _functional  # noqa: E402,F401  (tg.autograd.functional)

# PyTorch's dtype names (numpy dtypes: x.dtype == tg.float32 holds)
float = float32  # noqa: A001  (torch.float)
double = float64
half = float16
cfloat = complex64
cdouble = complex128
long = int64
int = int32  # noqa: A001  (torch.int)
short = int16
bool = bool_  # noqa: A001

from . import nn  # noqa: E402
from . import optim  # noqa: E402
from .nn.functional import bilinear, cosine_similarity, pairwise_distance  # noqa: E402,F401
from .ops.runtime import get_num_threads, set_num_threads  # noqa: E402,F401

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
