"""Utilities under PyTorch's module names: ``tg.utils.hooks`` and ``tg.utils.data`` (the same
objects as ``tg.data``: ``from tensorgrad.utils.data import DataLoader`` as in PyTorch).
``tg.utils.data`` loads on first use, so ``import tensorgrad`` stays light."""


def __getattr__(name):
    if name == "data":
        import importlib
        return importlib.import_module(f"{__name__}.data")
    raise AttributeError(f"module 'tensorgrad.utils' has no attribute {name!r}")
