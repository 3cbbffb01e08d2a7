"""Random number generators, PyTorch's API over numpy's PCG64.

``tg.Generator`` (``manual_seed``, ``seed``, ``initial_seed``, ``get_state``, ``set_state``)
and one default generator (``tg.default_generator``) that every random draw in tensorgrad
uses unless a function is given ``generator=``: init, dropout, shuffling, sampling.
``tg.manual_seed(s)`` seeds it; ``tg.seed()`` reseeds it non-deterministically; at start-up it
is seeded non-deterministically, as PyTorch's. A new ``tg.Generator()`` starts from
PyTorch's default seed, 67280421310721. The streams differ from PyTorch's (another
algorithm): the same seed gives reproducible, not identical, numbers.

``get_state()`` is a uint8 tensor (the PCG64 state: 128-bit state and increment and the
buffered 32-bit half-word), so it can be stored with ``tg.save`` and restored.
"""
from __future__ import annotations

import numpy as np

from .device import CPU, check_device
from .tensor import Tensor, _wrap

DEFAULT_SEED = 67280421310721
_MASK64 = (1 << 64) - 1
_MAGIC = b"TGP1"
_STATE_BYTES = len(_MAGIC) + 16 + 16 + 1 + 4


class Generator:
    """``tg.Generator(device='cpu')``: an independent random stream (numpy's PCG64)."""

    def __init__(self, device="cpu"):
        check_device(device, "Generator")
        self.device = CPU
        self.manual_seed(DEFAULT_SEED)

    def manual_seed(self, seed):
        """Seed the stream (an int in [-2**63, 2**64); negative seeds wrap as PyTorch's).
        Returns the generator."""
        if isinstance(seed, Tensor):
            seed = seed.item()
        try:
            s = int(seed)
        except (TypeError, ValueError):
            raise TypeError(f"manual_seed: expected an int seed, got {type(seed).__name__}") from None
        if not -(1 << 63) <= s <= _MASK64:
            raise RuntimeError(f"manual_seed: the seed must be within the range of a 64-bit "
                               f"integer [-0x8000_0000_0000_0000, 0xffff_ffff_ffff_ffff], "
                               f"got {s}")
        s &= _MASK64
        self._rng = np.random.Generator(np.random.PCG64(s))
        self._initial = s
        return self

    def seed(self):
        """Reseed from the operating system's entropy; returns the new seed."""
        s = int(np.random.SeedSequence().entropy) & _MASK64
        self.manual_seed(s)
        return s

    def initial_seed(self):
        """The seed the stream started from."""
        return self._initial

    def get_state(self):
        """The stream's state as a uint8 tensor (``set_state`` restores it)."""
        st = self._rng.bit_generator.state
        raw = (_MAGIC + st["state"]["state"].to_bytes(16, "little")
               + st["state"]["inc"].to_bytes(16, "little") + bytes([st["has_uint32"]])
               + int(st["uinteger"]).to_bytes(4, "little"))
        return _wrap(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, new_state):
        """Restore a state from ``get_state`` (returns the generator)."""
        if isinstance(new_state, dict):  # numpy's own form (older checkpoints)
            self._rng.bit_generator.state = new_state
            return self
        arr = new_state._data if isinstance(new_state, Tensor) else np.asarray(new_state)
        raw = arr.astype(np.uint8, copy=False).tobytes() if arr.dtype == np.uint8 else b""
        if len(raw) != _STATE_BYTES or not raw.startswith(_MAGIC):
            raise RuntimeError(f"set_state: expected a state from tg.get_rng_state() / "
                               f"Generator.get_state() (a uint8 tensor of {_STATE_BYTES} "
                               f"bytes), got {getattr(arr, 'dtype', type(arr))} of "
                               f"{getattr(arr, 'size', '?')} elements")
        raw = raw[len(_MAGIC):]
        self._rng.bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": int.from_bytes(raw[:16], "little"),
                      "inc": int.from_bytes(raw[16:32], "little")},
            "has_uint32": raw[32], "uinteger": int.from_bytes(raw[33:37], "little")}
        return self

    def __repr__(self):
        return f"<tg.Generator object at {id(self):#x}>"


default_generator = Generator()
default_generator.seed()


def manual_seed(seed):
    """Seed every random draw tensorgrad makes (init, dropout, shuffling, sampling); returns
    the default generator."""
    return default_generator.manual_seed(seed)


def seed():
    """Seed the default generator non-deterministically; returns the seed."""
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state (a uint8 tensor)."""
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


def generator() -> np.random.Generator:
    """The default generator's numpy stream (use it, don't cache it: manual_seed replaces it)."""
    return default_generator._rng


def numpy_generator(gen, where="generator"):
    """The numpy stream to draw from for a ``generator=`` argument (None: the default)."""
    if gen is None:
        return default_generator._rng
    if isinstance(gen, Generator):
        return gen._rng
    if isinstance(gen, np.random.Generator):
        return gen
    raise TypeError(f"{where}: generator must be a tg.Generator, got {type(gen).__name__}")
