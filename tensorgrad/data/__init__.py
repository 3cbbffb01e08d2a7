"""Data: datasets, samplers, the mini-batch DataLoader (PyTorch's ``torch.utils.data``, also
importable as ``tensorgrad.utils.data``), train/dev/test splits, input normalization and offline
loaders for datasets that ship with installable packages."""
from .dataset import *  # noqa: F401,F403
from .sampler import *  # noqa: F401,F403
from .combine import *  # noqa: F401,F403
from .workers import *  # noqa: F401,F403
from .split import *  # noqa: F401,F403
from .normalize import *  # noqa: F401,F403
from .datasets import *  # noqa: F401,F403
from .distributed import *  # noqa: F401,F403
from . import dataset, sampler, combine, workers, split, normalize, datasets, distributed  # noqa

__all__ = (dataset.__all__ + sampler.__all__ + combine.__all__ + workers.__all__ + split.__all__
           + normalize.__all__ + datasets.__all__ + distributed.__all__)
