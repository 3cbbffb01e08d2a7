"""dtypes as PyTorch names and combines them: the default float dtype, type promotion, casts.

A tensorgrad dtype is a numpy dtype (``tg.float32 is np.float32``; ``x.dtype`` is a
``np.dtype`` and compares equal to it). What PyTorch adds on top of numpy lives here:

* the default float dtype (``tg.set_default_dtype``), used for Python floats and by every
  float constructor;
* type promotion (``result_type``): numpy and PyTorch disagree when categories mix or a
  0-d tensor meets a tensor with dimensions. PyTorch orders dtypes by category
  (bool < integer < floating < complex) and operands by priority (tensors with dimensions >
  0-d tensors > Python numbers). Operands of the highest priority decide the dtype unless a
  lower-priority operand is of a higher category; then that operand's category wins, with a
  Python float taking the default float dtype (so ``int_tensor * 0.5`` is float32, and
  ``float32_tensor + float64_scalar_tensor`` stays float32). See "Type promotion" in the
  PyTorch docs (torch.result_type).
* ``can_cast``: which results an in-place op may write back (float into an integer tensor
  may not, as in PyTorch).
"""
from __future__ import annotations

import numbers

import numpy as np

bool_ = np.bool_
uint8 = np.uint8
int8 = np.int8
int16 = np.int16
int32 = np.int32
int64 = np.int64
float16 = np.float16
float32 = np.float32
float64 = np.float64
complex64 = np.complex64
complex128 = np.complex128

_DT = np.dtype
_F32, _F64, _I64, _BOOL = _DT(np.float32), _DT(np.float64), _DT(np.int64), _DT(np.bool_)
_default = [_F32]  # the default float dtype (one slot, read on every float constructor)

# PyTorch's ScalarType names (error messages and legacy type strings such as x.type())
_NAMES = {_DT(k): v for k, v in (
    (np.bool_, "Bool"), (np.uint8, "Byte"), (np.int8, "Char"), (np.int16, "Short"),
    (np.int32, "Int"), (np.int64, "Long"), (np.float16, "Half"), (np.float32, "Float"),
    (np.float64, "Double"), (np.complex64, "ComplexFloat"), (np.complex128, "ComplexDouble"),
    (np.uint16, "UInt16"), (np.uint32, "UInt32"), (np.uint64, "UInt64"))}

# the spellings accepted wherever a dtype is expected (besides numpy dtypes and types)
_BY_NAME = {"float": _F32, "double": _F64, "half": _DT(np.float16), "long": _I64,
            "int": _DT(np.int32), "short": _DT(np.int16), "bool": _BOOL, "byte": _DT(np.uint8),
            "char": _DT(np.int8), "cfloat": _DT(np.complex64), "cdouble": _DT(np.complex128)}


def get_default_dtype():
    """The dtype Python floats and float constructors get (float32 unless changed)."""
    return _default[0].type


def set_default_dtype(d):
    """``tg.set_default_dtype(tg.float64)``: Python floats and every float constructor
    (``tg.tensor([1.0])``, ``tg.zeros``, ``tg.rand``, ...) then give float64. float32 and
    float64 are accepted (float16 as in PyTorch too)."""
    dt = as_dtype(d, "set_default_dtype")
    if dt.kind != "f":
        raise TypeError(f"set_default_dtype: only floating-point types are supported as the "
                        f"default type, got {name(dt)}")
    _default[0] = dt


def default_float():
    """The default float dtype as a ``np.dtype`` (fast: one list read)."""
    return _default[0]


def as_dtype(d, where="dtype"):
    """A dtype from anything PyTorch code passes: ``tg.float32``, ``np.dtype``, ``"float32"``,
    ``"float"``, ``"torch.float64"``, a legacy type string ``"torch.DoubleTensor"``, or the
    Python types ``float``/``int``/``bool`` (as PyTorch: float64, int64, bool)."""
    if d is None:
        return None
    if type(d) is _DT:
        return d
    if d is float:
        return _F64
    if d is int:
        return _I64
    if d is bool:
        return _BOOL
    if isinstance(d, str):
        s = d[6:] if d.startswith("torch.") else d
        s = s[11:] if s.startswith("tensorgrad.") else s
        s = s[3:] if s.startswith("tg.") else s
        if s.endswith("Tensor"):
            for k, v in _NAMES.items():
                if v + "Tensor" == s:
                    return k
        hit = _BY_NAME.get(s)
        if hit is not None:
            return hit
        d = s
    try:
        return np.dtype(d)
    except TypeError:
        raise TypeError(f"{where}: expected a dtype such as tg.float32, got {d!r}") from None


def name(dt):
    """PyTorch's name for a dtype, e.g. ``tg.float32`` (used in reprs and messages)."""
    return f"tg.{np.dtype(dt).name}" if np.dtype(dt) != _BOOL else "tg.bool"


def scalar_name(dt):
    """PyTorch's ScalarType name (``Float``, ``Long``, ...), as its error messages print it."""
    return _NAMES.get(np.dtype(dt), str(dt))


def type_string(dt):
    """``x.type()``: PyTorch's legacy type string, e.g. ``'torch.FloatTensor'``."""
    return f"torch.{_NAMES.get(np.dtype(dt), str(dt))}Tensor"


def is_floating(dt):
    return np.dtype(dt).kind == "f"


# ---- promotion -----------------------------------------------------------------------------
_CAT = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def promote_types(a, b):
    """PyTorch's promote_types for two dtypes (numpy's where they agree: within a category
    the wider; across categories the higher category's dtype, not a wider one)."""
    a, b = np.dtype(a), np.dtype(b)
    if a is b or a == b:
        return a
    ca, cb = _CAT[a.kind], _CAT[b.kind]
    if ca == cb or (ca == 1 and cb == 1):
        return np.promote_types(a, b)
    if ca == 0:
        return b
    if cb == 0:
        return a
    if ca == 3 or cb == 3:  # complex with a float or integer
        c, o = (a, b) if ca == 3 else (b, a)
        return np.promote_types(c, o) if o.kind == "f" else c
    return a if ca > cb else b  # float with integer: the float


def _scalar_dtype(x):
    """dtype of a Python/numpy scalar as a PyTorch wrapped number (floats: the default)."""
    if isinstance(x, (bool, np.bool_)):
        return _BOOL
    if isinstance(x, numbers.Integral):
        return _I64
    if isinstance(x, numbers.Real):
        return _default[0]
    if isinstance(x, numbers.Complex):
        return _DT(np.complex64) if _default[0] != _F64 else _DT(np.complex128)
    raise TypeError(f"result_type: expected a Tensor or a number, got {type(x).__name__}")


def _combine(higher, lower):
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher.kind == "c":
        return higher
    if lower.kind == "c":
        return np.promote_types(higher, lower) if higher.kind == "f" else lower
    if higher.kind == "f":
        return higher
    if higher.kind == "b" or lower.kind == "f":
        return promote_types(higher, lower)
    return higher


def result_type(*operands):
    """PyTorch's result dtype for an op combining ``operands``: Tensors (or anything with a
    ``.dtype`` and ``.ndim``, e.g. numpy arrays) and Python/numpy scalars."""
    dim = zero = wrapped = None
    for x in operands:
        dt = getattr(x, "dtype", None)
        if dt is None or isinstance(x, np.generic):
            s = _scalar_dtype(x)
            wrapped = s if wrapped is None else promote_types(wrapped, s)
        elif x.ndim:
            dt = np.dtype(dt)
            dim = dt if dim is None else promote_types(dim, dt)
        else:
            dt = np.dtype(dt)
            zero = dt if zero is None else promote_types(zero, dt)
    return _combine(dim, _combine(zero, wrapped))


def can_cast(frm, to):
    """PyTorch's canCast: may a result of dtype ``frm`` be written into a tensor of dtype
    ``to`` (in-place ops)? Not complex into non-complex, float into integer, or non-bool into
    bool; anything else may (narrowing included)."""
    f, t = np.dtype(frm).kind, np.dtype(to).kind
    if f == "c" and t != "c":
        return False
    if f == "f" and t in "iub":
        return False
    if f != "b" and t == "b":
        return False
    return True


# ---- finfo / iinfo -------------------------------------------------------------------------
class _TypeInfo:
    """What finfo and iinfo share: ``bits``, ``max``, ``min`` as Python numbers (``_number``)
    and the ``dtype`` name, read from numpy's finfo/iinfo."""

    _number = float

    def _read(self, info):
        self.bits = int(info.bits)
        self.max = self._number(info.max)
        self.min = self._number(info.min)
        self.dtype = info.dtype.name
        return info


class finfo(_TypeInfo):
    """``tg.finfo(dtype)``: bits, eps, max, min, tiny (= smallest_normal), resolution, as
    Python floats (PyTorch's); ``tg.finfo()`` describes the default float dtype."""

    def __init__(self, type=None):  # noqa: A002 (torch's name)
        dt = _default[0] if type is None else as_dtype(type, "finfo")
        if dt.kind not in "fc":
            raise TypeError(f"tg.finfo() requires a floating point input type, got "
                            f"{name(dt)}. Use tg.iinfo to handle integer types")
        fi = self._read(np.finfo(dt))
        self.eps = float(fi.eps)
        self.tiny = self.smallest_normal = float(fi.smallest_normal)
        self.resolution = 10.0 ** -int(fi.precision)

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


class iinfo(_TypeInfo):
    """``tg.iinfo(dtype)``: bits, max, min (Python ints), as PyTorch."""

    _number = int

    def __init__(self, type):  # noqa: A002 (torch's name)
        dt = as_dtype(type, "iinfo")
        if dt.kind == "b":
            raise TypeError("tg.bool is not supported by tg.iinfo")
        if dt.kind not in "iu":
            raise TypeError(f"tg.iinfo() requires an integer input type, got {name(dt)}. "
                            f"Use tg.finfo to handle floating point types")
        self._read(np.iinfo(dt))

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
