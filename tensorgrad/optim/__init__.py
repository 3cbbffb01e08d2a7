"""Optimizers (SGD, RMSprop, Adam, AdamW), learning-rate schedules and exponentially
weighted averages (docs/maths.md §6.2–§6.5), PyTorch-style:
``tg.optim.Adam(model.parameters(), lr=1e-3)``."""
from .optimizer import Optimizer  # noqa: F401
from .sgd import SGD  # noqa: F401
from .rmsprop import RMSprop  # noqa: F401
from .adam import Adam, AdamW  # noqa: F401
from .lbfgs import LBFGS  # noqa: F401
from .ewa import EWA, ewa  # noqa: F401
from . import lr_scheduler  # noqa: F401

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "LBFGS", "EWA", "ewa", "lr_scheduler"]
