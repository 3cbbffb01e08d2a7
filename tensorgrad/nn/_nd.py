"""The 1-d, 2-d and 3-d variants of a layer, declared once.

PyTorch writes ``Conv1d``, ``Conv2d`` and ``Conv3d`` (likewise the pooling, padding, unpooling
and normalization families) as three classes that differ only in how many spatial dims they
work on. Here each family is one base class that reads its class attribute ``_nd``, and
``nd_variants`` builds the three public classes from it.
"""
from __future__ import annotations

__all__ = []


def nd_variants(base, name, docs=None, **attrs):
    """``{name}1d``, ``{name}2d`` and ``{name}3d``: subclasses of ``base`` with ``_nd`` = 1, 2,
    3 (and the class attributes ``attrs``). ``docs``: their docstrings, three strings or one
    with an ``{nd}`` field (default: none). The classes belong to ``base``'s module, so they
    print and pickle as if written out there."""
    if docs is None or isinstance(docs, str):
        docs = [docs and docs.format(nd=nd) for nd in (1, 2, 3)]
    return tuple(type(f"{name}{nd}d", (base,), {"_nd": nd, "__doc__": doc,
                                                  "__module__": base.__module__, **attrs})
                 for nd, doc in zip((1, 2, 3), docs))
