"""Data augmentation, torchvision.transforms.v2-style (``tg.vision.transforms``).

Classes (``RandomCrop``, ``RandomHorizontalFlip``, ``ColorJitter``, ... and **tg**
``PCAColorAugmentation``) draw random parameters per image from tensorgrad's generator
(``tg.manual_seed``) and work on single images and on whole batches in one vectorized pass;
``tg.vision.transforms.functional`` holds the deterministic kernels with torchvision's names.
See docs/cnn.md for what each augmentation does and why it helps.
"""
from ._transforms import *  # noqa: F401,F403
from ._transforms import __all__ as _classes
from . import functional  # noqa: F401
from .functional import InterpolationMode  # noqa: F401

__all__ = list(_classes) + ["functional", "InterpolationMode"]
