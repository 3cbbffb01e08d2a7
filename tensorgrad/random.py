"""All randomness in tensorgrad draws from one numpy Generator, reseeded by ``tg.manual_seed``."""
from __future__ import annotations

import numpy as np

_rng = np.random.default_rng()


def manual_seed(seed: int):
    """Seed every random draw tensorgrad makes (init, dropout, shuffling, sampling)."""
    global _rng
    _rng = np.random.default_rng(int(seed))
    return _rng


def generator() -> np.random.Generator:
    """The global generator (use it, don't cache it: manual_seed replaces it)."""
    return _rng


def get_rng_state() -> dict:
    return _rng.bit_generator.state


def set_rng_state(state: dict) -> None:
    _rng.bit_generator.state = state
