"""Devices, PyTorch-style: tensorgrad runs on the CPU.

``tg.device('cpu')``, ``x.device``, ``tg.cuda.is_available()`` (False) and
``tg.accelerator.is_available()`` (False) work as in PyTorch, so the usual
``device = "cuda" if torch.cuda.is_available() else "cpu"`` picks the CPU. Asking for any other
device raises one clear error (``check_device``), never a silent fallback.
"""
from __future__ import annotations

from types import SimpleNamespace

__all__ = ["device", "check_device", "cuda", "accelerator"]

_OTHER = ("cuda", "mps", "xpu", "xla", "meta", "hip", "ipu", "hpu", "mtia", "privateuseone",
          "vulkan", "opengl", "opencl", "ideep", "mkldnn", "ort", "ve", "lazy", "fpga", "maia")


def _not_cpu(what, where):
    return RuntimeError(
        f"{where}: tensorgrad runs on the CPU only, got device {what!r}. Use 'cpu' (e.g. "
        f"device = 'cuda' if tg.cuda.is_available() else 'cpu' picks the CPU here).")


class device:
    """A device: ``tg.device('cpu')``, ``tg.device('cpu', 0)``, ``tg.device('cpu:0')``."""
    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):  # noqa: A002 (torch's name)
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string like 'cpu', got {type!r}")
        name, _, idx = type.partition(":")
        if idx:
            if index is not None:
                raise ValueError(f"device: index given twice ({type!r} and index={index})")
            if not idx.isdigit():
                raise ValueError(f"device: invalid device string {type!r}")
            index = int(idx)
        if name != "cpu":
            if name in _OTHER:
                raise _not_cpu(type, "device")
            raise RuntimeError(f"device: expected one of cpu, cuda, mps, ... device type at "
                               f"start of device string: {type!r}")
        if index is not None and (not isinstance(index, int) or index < 0):
            raise ValueError(f"device: the index must be a non-negative int, got {index!r}")
        self.type = "cpu"
        self.index = index

    def __repr__(self):
        return (f"device(type='cpu')" if self.index is None
                else f"device(type='cpu', index={self.index})")

    def __str__(self):
        return "cpu" if self.index is None else f"cpu:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, ValueError):
                return False
        return isinstance(other, device) and (self.type, self.index) == (other.type,
                                                                          other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __enter__(self):  # ``with tg.device('cpu'):`` is allowed (and changes nothing)
        return self

    def __exit__(self, *exc):
        return False


CPU = device("cpu")


def check_device(dev, where):
    """``None`` or any spelling of the CPU passes (returns the device); anything else raises
    the one error saying tensorgrad runs on the CPU, naming ``where``."""
    if dev is None:
        return CPU
    if isinstance(dev, device):
        return dev
    if isinstance(dev, int):  # torch reads a bare int as a CUDA ordinal
        raise _not_cpu(f"cuda:{dev}", where)
    if isinstance(dev, str):
        if dev.partition(":")[0] != "cpu":
            raise _not_cpu(dev, where)
        return device(dev)
    raise TypeError(f"{where}: expected a device ('cpu' or tg.device), got "
                    f"{type(dev).__name__}")


def _false(*args, **kwargs):
    return False


def _zero(*args, **kwargs):
    return 0


def _no_device(*args, **kwargs):
    raise _not_cpu("cuda", "tg.cuda")


cuda = SimpleNamespace(
    is_available=_false, device_count=_zero, is_initialized=_false,
    current_device=_no_device, set_device=_no_device, get_device_name=_no_device,
    synchronize=lambda *a, **k: None, empty_cache=lambda: None, manual_seed=lambda seed: None,
    manual_seed_all=lambda seed: None,
    __doc__="``tg.cuda``: present so that device checks read as in PyTorch; no GPU is used.")

accelerator = SimpleNamespace(
    is_available=_false, device_count=_zero,
    current_accelerator=lambda *a, **k: None,
    __doc__="``tg.accelerator``: no accelerator is used (PyTorch 2.6's API, answering None).")
