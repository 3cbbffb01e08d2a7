"""Checkpoints: model, optimizer and scheduler state, the epoch, tensorgrad's RNG and any extra
values, written with ``tg.save`` (safetensors + a JSON description of the rest; never pickle, so
loading a checkpoint cannot run code; saves are atomic)."""
from __future__ import annotations

import os

from .. import random as _random

__all__ = ["save_checkpoint", "load_checkpoint"]

FORMAT = "tensorgrad-checkpoint-1"


def save_checkpoint(path, model=None, optimizer=None, scheduler=None, epoch=None, **extra):
    """Write model, optimizer and scheduler state, the epoch, tensorgrad's RNG state and any
    ``extra`` keyword values (tensors, numbers, strings, lists, dicts) to ``path`` with
    ``tg.save``, atomically: a failed save leaves an existing file intact."""
    tree = {"format": FORMAT, "epoch": epoch, "rng_state": _random.get_rng_state()}
    if model is not None:
        tree["model"] = dict(model.state_dict())
    if optimizer is not None:
        tree["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        tree["scheduler"] = scheduler.state_dict()
    tree["extra"] = extra
    from ..io import save
    save(tree, path)
    return path


def load_checkpoint(path, model=None, optimizer=None, scheduler=None, restore_rng=True) -> dict:
    """Read a checkpoint; load its states into the given model/optimizer/scheduler and (by
    default) restore tensorgrad's RNG. Returns the whole checkpoint as a dict (``epoch``,
    ``extra``, the raw states, ...)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_checkpoint: no checkpoint at {path}")
    from ..io import load
    tree = load(path)
    if not isinstance(tree, dict) or tree.get("format") != FORMAT:
        raise ValueError(f"load_checkpoint: {path} is not a tensorgrad checkpoint (written by "
                         f"save_checkpoint)")
    for name, obj in (("model", model), ("optimizer", optimizer), ("scheduler", scheduler)):
        if obj is not None:
            if name not in tree:
                raise ValueError(f"load_checkpoint: {path} holds no {name} state")
            obj.load_state_dict(tree[name])
    if restore_rng:
        _random.set_rng_state(tree["rng_state"])
    return tree
