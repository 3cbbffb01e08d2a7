"""``tensorgrad.nn.functional`` (alias ``F``): the functional forms of layers and losses.

This module only gathers names; each op lives in one place (tensorgrad.ops.* or
tensorgrad.nn._functional)."""
from ..ops.elementwise import leaky_relu, relu, sigmoid, softplus, tanh  # noqa: F401
from ..ops.linalg import linear  # noqa: F401
from ..ops.movement import pad  # noqa: F401
from ..ops.reduce import log_softmax, softmax  # noqa: F401
from ..ops.conv import *  # noqa: F401,F403
from ..ops.pool import *  # noqa: F401,F403
from ._functional import *  # noqa: F401,F403
from .triplet import normalize, pairwise_distance, triplet_margin_loss  # noqa: F401,E402  (moves to _functional.py on merge)
