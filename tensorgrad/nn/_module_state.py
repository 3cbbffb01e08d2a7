"""What ``Module.load_state_dict`` and ``Module.to`` do with their arguments."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..device import check_device
from ..tensor import Tensor, _as_dtype

_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def _as_array(v):
    """A state-dict value as a numpy array: Tensors, numpy arrays, numbers, and anything with
    ``__array__`` or ``.numpy()`` (e.g. a CPU torch tensor) are accepted."""
    if isinstance(v, Tensor):
        return v._data
    if isinstance(v, np.ndarray):
        return v
    if hasattr(v, "detach") and hasattr(v, "numpy"):  # a torch tensor, without importing torch
        return v.detach().cpu().numpy()
    return np.asarray(v)


def load_state_dict(module, state_dict, strict, assign):
    if not hasattr(state_dict, "items"):
        raise TypeError(f"load_state_dict: expected a dict-like state_dict, got "
                        f"{type(state_dict).__name__}")
    slots = module._state_slots()
    missing = [k for k in slots if k not in state_dict]
    unexpected = [k for k in state_dict if k not in slots]
    errors = []
    arrays = {}
    for k, t in slots.items():
        if k not in state_dict:
            continue
        arr = _as_array(state_dict[k])
        if arr.shape != t._data.shape:
            errors.append(f"size mismatch for {k}: copying a param with shape {arr.shape} "
                          f"from checkpoint, the shape in current model is {t._data.shape}.")
        else:
            arrays[k] = arr
    if strict:
        if unexpected:
            errors.insert(0, "Unexpected key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in unexpected) + ". ")
        if missing:
            errors.insert(0, "Missing key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in missing) + ". ")
    if errors:
        raise RuntimeError(f"Error(s) in loading state_dict for {type(module).__name__}:\n\t"
                           + "\n\t".join(errors))
    for k, arr in arrays.items():
        t = slots[k]
        if assign:
            t._data = arr
        else:
            np.copyto(t._data, arr, casting="unsafe")
        t._version += 1
    return _IncompatibleKeys(missing, unexpected)


def parse_to(module, args, kwargs):
    """The dtype a ``Module.to(...)`` call asks for (None: unchanged); checks the device."""
    dtype, device = kwargs.pop("dtype", None), kwargs.pop("device", None)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"Module.to: unexpected keyword argument(s) {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            dtype = a._data.dtype
        elif isinstance(a, bool):
            continue  # non_blocking given positionally
        elif isinstance(a, (str, int)) or type(a).__name__ == "device":
            if isinstance(a, str) and a not in ("float", "double", "half", "float16",
                                                "float32", "float64"):
                device = a
            elif not isinstance(a, str):
                device = a
            else:
                dtype = a
        else:
            dtype = a
    if device is not None:
        check_device(device, f"{type(module).__name__}.to")
    if dtype is None:
        return None
    dt = _as_dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"{type(module).__name__}.to: only accepts floating point dtypes, "
                        f"but got desired dtype={dt}")
    return dt
