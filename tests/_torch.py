"""PyTorch (the oracle) imported on first use.

``from _torch import torch`` gives a stand-in whose first attribute access imports torch; where
torch is not installed that access skips the one test that made it, so the rest of the module
(the engine's own tests) still runs. ``lazy("torch.nn.functional")`` does the same for a submodule.
"""
import importlib

import pytest


class _Lazy:
    __slots__ = ("_name", "_module")

    def __init__(self, name):
        self._name = name
        self._module = None

    def _load(self):
        if self._module is None:
            pytest.importorskip(self._name.split(".")[0])
            self._module = importlib.import_module(self._name)
        return self._module

    def __getattr__(self, attr):
        if attr.startswith("__") and attr.endswith("__"):
            # pytest's collection probes every module attribute (``__test__``, ...): answer
            # without importing, or the whole module would be skipped
            raise AttributeError(attr)
        return getattr(self._load(), attr)

    def __repr__(self):
        return f"<{self._name}, imported on first use>"


def lazy(name):
    """A module imported on first attribute access; the calling test skips without it."""
    return _Lazy(name)


torch = lazy("torch")
