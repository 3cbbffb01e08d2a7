"""Utilities under PyTorch's module names (``tg.utils.hooks``)."""
