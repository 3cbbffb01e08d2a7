"""Data: datasets, the mini-batch DataLoader, train/dev/test splits, input normalization and
offline loaders for datasets that ship with installable packages."""
from .dataset import *  # noqa: F401,F403
from .split import *  # noqa: F401,F403
from .normalize import *  # noqa: F401,F403
from .datasets import *  # noqa: F401,F403
from .distributed import *  # noqa: F401,F403
from . import dataset, split, normalize, datasets, distributed  # noqa: F401

__all__ = (dataset.__all__ + split.__all__ + normalize.__all__ + datasets.__all__
           + distributed.__all__)
