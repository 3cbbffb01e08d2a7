"""``RemovableHandle``: what every ``register_*hook`` returns (as ``torch.utils.hooks``)."""
from __future__ import annotations

import itertools

__all__ = ["RemovableHandle"]


class RemovableHandle:
    """``handle.remove()`` unregisters the hook it was returned for; also a context manager
    (the hook is removed on exit). ``hooks_dict`` maps handle ids to hooks, in call order."""

    _ids = itertools.count()

    def __init__(self, hooks_dict):
        self._dict = hooks_dict
        self.id = next(RemovableHandle._ids)

    def remove(self):
        self._dict.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
