"""Optimizers, learning-rate schedules and exponentially weighted averages (docs/maths.md
§6.2–§6.5), PyTorch-style: ``tg.optim.Adam(model.parameters(), lr=1e-3)``.

SGD, RMSprop, Adam, AdamW, Adagrad, Adadelta, Adamax, NAdam, RAdam, ASGD, Rprop and LBFGS
compute PyTorch's updates (equal iterates in float64), keep PyTorch's state names and load
PyTorch's ``optimizer.state_dict()`` layout."""
from .optimizer import Optimizer  # noqa: F401
from .sgd import SGD  # noqa: F401
from .rmsprop import RMSprop  # noqa: F401
from .adam import Adam, AdamW  # noqa: F401
from .adagrad import Adagrad, Adadelta  # noqa: F401
from .adam_variants import Adamax, NAdam, RAdam  # noqa: F401
from .asgd_rprop import ASGD, Rprop  # noqa: F401
from .lbfgs import LBFGS  # noqa: F401
from .ewa import EWA, ewa  # noqa: F401
from . import lr_scheduler  # noqa: F401

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax",
           "NAdam", "RAdam", "ASGD", "Rprop", "LBFGS", "EWA", "ewa", "lr_scheduler"]
