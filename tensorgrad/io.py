"""Saving and loading without pickle: ``tg.save(obj, path)`` / ``tg.load(path)``.

Files are in the safetensors format, written and parsed here with numpy + json (the
``safetensors`` package is not needed at run time, but reads these files, and files it writes
load here):

    8 bytes   little-endian unsigned length N of the header
    N bytes   JSON header: {name: {"dtype": "F32", "shape": [...], "data_offsets": [b, e]}, ...,
              "__metadata__": {str: str}}
    rest      the tensors' raw little-endian bytes, back to back, C order

Tensors (and numpy arrays) are stored under flattened names (``fc1.weight`` for a state dict,
``model.fc1.weight`` / ``state.0.exp_avg`` for nested containers). Everything else — the nesting of
dicts/lists/tuples and the numbers, strings, bools and Nones in it — is described by a JSON tree
kept as a string in ``__metadata__["tensorgrad"]``. Loading parses JSON and copies bytes into
numpy arrays; nothing in a file can make ``load`` run code.

A save is atomic: the file is written under a temporary name in the same directory, flushed and
fsynced, then moved over the old one with ``os.replace``; if anything fails on the way, the old
file is untouched (a save killed outright leaves its temporary file, which the next save to the
same path removes). Saving to a symlink writes the file it points to. ``load`` checks every length, offset, dtype and shape against the file and
says what is wrong (truncated, not safetensors, a pickle file, ...) naming the file.

A safetensors file without tensorgrad's metadata (e.g. written by ``safetensors.torch.save_file``
from a PyTorch ``state_dict()``) loads as a flat ``{name: Tensor}`` dict, ready for
``load_state_dict``. bfloat16 tensors (no numpy dtype) are widened to float32.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
import threading
import time

import numpy as np

from .device import check_device, device
from .tensor import Tensor, _wrap

__all__ = ["save", "load", "LoadError"]

_FORMAT = "tensorgrad"
_VERSION = 1
_MAX_HEADER = 100 * 2 ** 20  # 100 MB, the safetensors package's own limit
_MAX_DIMS = 64  # numpy's limit
_MAX_ELEMENTS = 2 ** 62

_DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"), "I8": np.dtype("i1"),
    "U64": np.dtype("<u8"), "U32": np.dtype("<u4"), "U16": np.dtype("<u2"), "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_CODES = {np.dtype(d).str[1:]: k for k, d in _DTYPES.items()}  # "f4" -> "F32", "b1" -> "BOOL"


class LoadError(ValueError):
    """A file tg.load can't read; the message names the file and what is wrong with it."""


# ---- save ---------------------------------------------------------------------------------------
def _code(arr, where):
    code = _CODES.get(arr.dtype.str[1:])
    if code is None:
        raise TypeError(f"save: {where} has dtype {arr.dtype}, which safetensors can't store "
                        f"(supported: float16/32/64, int8-64, uint8-64, bool)")
    return code


def _scalar_node(x, where):
    if hasattr(x, "state_dict") and callable(x.state_dict):
        raise TypeError(f"save: {where} is a {type(x).__name__}; save its state_dict() instead, "
                        f"e.g. tg.save(model.state_dict(), path), and rebuild the object in code "
                        f"before load_state_dict (tg.save stores tensors and plain containers, "
                        f"never pickled objects)")
    if x is None:
        return {"t": "none"}
    if isinstance(x, (bool, np.bool_)):
        return {"t": "bool", "v": bool(x)}
    if isinstance(x, (int, np.integer)):
        return {"t": "int", "v": int(x)}  # Python ints: JSON keeps them exact at any size
    if isinstance(x, (float, np.floating)):
        return {"t": "float", "v": float(x).hex()}  # exact, and inf/nan survive
    if isinstance(x, str):
        return {"t": "str", "v": x}
    raise TypeError(f"save: {where} is a {type(x).__name__}; tg.save stores tensors, numpy "
                    f"arrays, dicts, lists, tuples, numbers, strings, bools and None (no pickle)")


class _Writer:
    def __init__(self):
        self.tensors = {}  # name -> contiguous little-endian array

    def name_for(self, path):
        base = ".".join(path) if path else "tensor"
        name, k = base, 1
        while name in self.tensors or name == "__metadata__":
            name = f"{base}#{k}"
            k += 1
        return name

    def node(self, obj, path):
        where = "object" if not path else "entry " + ".".join(path)
        if isinstance(obj, Tensor):
            return {"t": "tensor", "k": self.add(obj._data, path, where)}
        if isinstance(obj, np.ndarray):
            return {"t": "ndarray", "k": self.add(obj, path, where)}
        if isinstance(obj, np.generic) and not isinstance(obj, (np.bool_,)) and \
                obj.dtype.kind not in "iuf":
            raise TypeError(f"save: {where} is a numpy {obj.dtype} scalar, which can't be stored")
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                if not isinstance(k, (str, int, float, bool, type(None), np.integer)):
                    raise TypeError(f"save: {where} has a key of type {type(k).__name__}; keys "
                                    f"must be strings, numbers, bools or None")
                items.append([_scalar_node(k, where + " key"), self.node(v, path + [str(k)])])
            return {"t": "dict", "items": items}
        if isinstance(obj, (list, tuple)):
            return {"t": "list" if isinstance(obj, list) else "tuple",
                    "v": [self.node(v, path + [str(i)]) for i, v in enumerate(obj)]}
        return _scalar_node(obj, where)

    def add(self, arr, path, where):
        arr = np.asarray(arr)
        _code(arr, where)
        name = self.name_for(path)
        le = arr.dtype.newbyteorder("<") if arr.dtype.itemsize > 1 else arr.dtype
        self.tensors[name] = np.asarray(arr, dtype=le, order="C")  # keeps 0-d shapes
        return name


def _array_bytes(arr):
    """The raw bytes of one tensor (its own function so a test can make writing fail midway)."""
    return memoryview(arr.reshape(-1).view(np.uint8)) if arr.size else b""


def _header(tensors, metadata):
    header, off = {}, 0
    for name, arr in tensors.items():
        n = arr.nbytes
        header[name] = {"dtype": _code(arr, name), "shape": list(arr.shape),
                        "data_offsets": [off, off + n]}
        off += n
    header["__metadata__"] = metadata
    raw = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # pad so the data starts 8-byte aligned (as safetensors does)
    return raw


def _destination(path):
    """Where the bytes go: for a symlink, the file it points to (following every link, as
    ``open(path, "w")`` would), so the link itself stays a link."""
    return os.path.realpath(path) if os.path.islink(path) else path


_ACTIVE = set()  # temp files this process is writing right now (other threads' saves)
_ACTIVE_LOCK = threading.Lock()
_STALE_AGE = 24 * 3600  # seconds after which a temp file of a live process counts as stale


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _clean_stale_temps(directory, base):
    """Remove the temp files that earlier saves to this same path left behind when they were
    killed (``.<name>.<pid>.<random>.tmp``): those of processes that no longer exist, of this
    process but not in use, and any older than a day. A save in progress elsewhere is left
    alone. Best effort: a file that can't be examined or removed is skipped."""
    prefix = "." + base + "."
    try:
        names = [n for n in os.listdir(directory) if n.startswith(prefix) and n.endswith(".tmp")]
    except OSError:
        return
    now = time.time()
    for n in names:
        full = os.path.join(directory, n)
        owner = n[len(prefix):].split(".", 1)[0]
        with _ACTIVE_LOCK:
            if full in _ACTIVE:
                continue
        try:
            old = now - os.lstat(full).st_mtime > _STALE_AGE
            if owner.isdigit() and int(owner) != os.getpid() and _alive(int(owner)) \
                    and not old:
                continue
            if not owner.isdigit() and not old and now - os.lstat(full).st_mtime < 3600:
                continue  # not ours (no pid in the name) and recent: leave it
            os.unlink(full)
        except OSError:
            pass


def _write(f, header, w):
    f.write(len(header).to_bytes(8, "little"))
    f.write(header)
    for arr in w.tensors.values():
        f.write(_array_bytes(arr))


def save(obj, f):
    """Save ``obj`` — a state dict, or nested dicts/lists/tuples of tensors, numpy arrays,
    numbers, strings, bools and None — in the safetensors format to ``f``: a path (written
    atomically) or a binary file object such as ``io.BytesIO`` (written at its position).

    Whole modules and optimizers are refused (``tg.save(model.state_dict(), path)`` saves the
    weights; there is no pickle). If the path is a symlink, the file it points to is replaced
    and the link kept. Temp files left by an earlier save to the same path that was killed
    midway are removed."""
    w = _Writer()
    tree = w.node(obj, [])
    meta = {"format": "pt",  # torch-style layout and names; lets PyTorch tooling accept it
            _FORMAT: json.dumps({"version": _VERSION, "tree": tree}, separators=(",", ":"),
                                ensure_ascii=False)}
    header = _header(w.tensors, meta)
    if hasattr(f, "write"):
        _write(f, header, w)
        return
    try:
        path = os.fspath(f)
    except TypeError:
        raise TypeError(f"save: f must be a path or a binary file object with write(), got "
                        f"{type(f).__name__}") from None
    target = _destination(path)
    directory = os.path.dirname(os.path.abspath(target))
    base = os.path.basename(target)
    _clean_stale_temps(directory, base)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{base}.{os.getpid()}.", suffix=".tmp")
    with _ACTIVE_LOCK:
        _ACTIVE.add(tmp)
    try:
        with os.fdopen(fd, "wb") as out:
            _write(out, header, w)
            out.flush()
            os.fsync(out.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    finally:
        with _ACTIVE_LOCK:
            _ACTIVE.discard(tmp)
    try:  # make the rename itself durable (best effort: not every filesystem allows it)
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


# ---- load ---------------------------------------------------------------------------------------
def _fail(path, what):
    return LoadError(f"load: {path}: {what}")


def _sniff(head):
    if head[:1] == b"\x80" or head[:2] == b"PK":
        return (" It looks like a pickle / torch.save file; tg.load never unpickles (that could "
                "run code). Re-save it with safetensors.torch.save_file(state_dict, path).")
    if head[:6] == b"\x93NUMPY":
        return " It looks like a numpy .npy file."
    return ""


def _read_header(path, buf):
    size = len(buf)
    if size < 8:
        raise _fail(path, f"only {size} bytes; not a safetensors file (too short for the 8-byte "
                          f"header length).{_sniff(buf)}")
    n = int.from_bytes(buf[:8], "little")
    if n > size - 8:
        raise _fail(path, f"the header claims {n} bytes but only {size - 8} follow: a truncated "
                          f"file, or not a safetensors file.{_sniff(buf)}")
    if n > _MAX_HEADER:
        raise _fail(path, f"header length {n} is over the {_MAX_HEADER}-byte limit; not a "
                          f"safetensors file?{_sniff(buf)}")
    raw = bytes(buf[8:8 + n])
    if not raw.lstrip()[:1] == b"{":
        raise _fail(path, f"the header does not start with '{{'; not a safetensors file."
                          f"{_sniff(buf)}")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _fail(path, f"the header is not valid JSON ({e}); corrupt or not a safetensors "
                          f"file") from None
    if not isinstance(header, dict):
        raise _fail(path, "the header is not a JSON object")
    return header, 8 + n


def _read_tensors(path, buf, header, start):
    data_len = len(buf) - start
    entries = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise _fail(path, f"tensor {name!r}: header entry must have exactly dtype, shape "
                              f"and data_offsets, got {info!r}")
        code, shape, offs = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(code, str):
            raise _fail(path, f"tensor {name!r}: dtype must be a string, got {code!r:.40}")
        if code == "BF16":
            dt = np.dtype("<u2")
        elif code in _DTYPES:
            dt = _DTYPES[code]
        else:
            raise _fail(path, f"tensor {name!r}: unsupported dtype {code!r}")
        if not (isinstance(shape, list) and all(isinstance(s, int) and not isinstance(s, bool)
                                                and s >= 0 for s in shape)):
            raise _fail(path, f"tensor {name!r}: bad shape {shape!r:.80}")
        if len(shape) > _MAX_DIMS or math.prod(max(d, 1) for d in shape) > _MAX_ELEMENTS:
            raise _fail(path, f"tensor {name!r}: shape with {len(shape)} dimensions and "
                              f"{math.prod(shape)} elements is beyond what an array can hold "
                              f"(at most {_MAX_DIMS} dimensions of at most 2**62 elements)")
        if not (isinstance(offs, list) and len(offs) == 2 and
                all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offs)
                and offs[0] <= offs[1]):
            raise _fail(path, f"tensor {name!r}: bad data_offsets {offs!r}")
        count = math.prod(shape)
        if offs[1] - offs[0] != count * dt.itemsize:
            raise _fail(path, f"tensor {name!r}: shape {tuple(shape)} of {code} needs "
                              f"{count * dt.itemsize} bytes, but data_offsets {offs} span "
                              f"{offs[1] - offs[0]}")
        if offs[1] > data_len:
            raise _fail(path, f"tensor {name!r} needs bytes {offs[0]}..{offs[1]} of the data "
                              f"section, which has only {data_len} bytes: the file is truncated")
        entries.append((offs[0], offs[1], name, code, dt, shape))
    entries.sort(key=lambda e: (e[0], e[1]))
    pos = 0
    for b, e, name, *_ in entries:
        if b != pos:
            what = "overlap" if b < pos else "a gap"
            raise _fail(path, f"tensor {name!r} starts at byte {b} of the data section, but the "
                              f"previous tensor ends at {pos} ({what}): corrupt header")
        pos = e
    if pos != data_len:
        raise _fail(path, f"{data_len - pos} unexpected bytes after the last tensor: corrupt "
                          f"file or wrong header")
    out = {}
    for b, e, name, code, dt, shape in entries:
        arr = np.frombuffer(buf, dtype=dt, count=math.prod(shape), offset=start + b)
        if code == "BF16":  # widen bfloat16 to float32 (its top 16 bits)
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        arr = arr.reshape(tuple(shape)).astype(arr.dtype.newbyteorder("="), copy=True)
        out[name] = arr
    return out, [e[2] for e in entries]


def _scalar(node, path):
    if not isinstance(node, dict):
        raise _fail(path, f"malformed tensorgrad metadata node {node!r:.60}")
    t = node.get("t")
    if t == "none":
        return None
    if t == "bool":
        return bool(node["v"])
    if t == "int":
        return int(node["v"])
    if t == "float":
        return float.fromhex(node["v"])
    if t == "str":
        return str(node["v"])
    raise _fail(path, f"unknown node type {t!r} in the tensorgrad metadata")


def _build(node, arrays, path, used):
    if not isinstance(node, dict):
        raise _fail(path, f"malformed tensorgrad metadata node {node!r:.60}")
    t = node.get("t")
    if t in ("tensor", "ndarray"):
        k = node.get("k")
        if k not in arrays:
            raise _fail(path, f"the metadata refers to tensor {k!r}, which is not in the file")
        used.add(k)
        return _wrap(arrays[k]) if t == "tensor" else arrays[k]
    if t == "dict":
        return {_scalar(k, path): _build(v, arrays, path, used) for k, v in node["items"]}
    if t == "list":
        return [_build(v, arrays, path, used) for v in node["v"]]
    if t == "tuple":
        return tuple(_build(v, arrays, path, used) for v in node["v"])
    return _scalar(node, path)


def _check_map_location(map_location):
    """None, 'cpu', a CPU device, a dict whose targets are the CPU, or a function (called with
    nothing to move: every tensor is already on the CPU) — anything naming another device raises
    the one error saying tensorgrad runs on the CPU."""
    if map_location is None or callable(map_location):
        return
    targets = map_location.values() if isinstance(map_location, dict) else [map_location]
    for t in targets:
        if isinstance(t, str) or isinstance(t, device) or isinstance(t, int):
            check_device(t, "load: map_location")
        elif getattr(t, "type", None) != "cpu":  # e.g. a torch.device
            raise TypeError(f"load: map_location must be 'cpu', a tg.device, a dict or a "
                            f"function, got {type(t).__name__}")


def load(f, map_location=None, weights_only=True, **kwargs):
    """Load what :func:`save` wrote (or any safetensors file, as a flat ``{name: Tensor}``)
    from ``f``: a path or a binary file object with ``read()`` (read from its position).
    Tensors come back with their dtypes and ``requires_grad=False``.

    ``map_location`` (the CPU in any of PyTorch's spellings; another device raises) and
    ``weights_only`` are accepted so ``torch.load(path, map_location="cpu",
    weights_only=True)`` lines run unchanged; loading never unpickles, whatever
    ``weights_only`` says (so ``weights_only=False`` does not make pickle files load), and
    ``mmap``/``pickle_module`` are refused by name.

    Whatever the file holds, a file that is not a valid save raises :class:`LoadError` (never a
    numpy/JSON/recursion error from deep inside), naming the file and what is wrong."""
    unknown = set(kwargs) - {"mmap"}
    if unknown or kwargs.get("mmap"):
        what = sorted(unknown) or ["mmap=True"]
        raise TypeError(f"load: unsupported argument(s) {', '.join(what)} (tensorgrad reads "
                        f"safetensors files without pickle; map_location and weights_only are "
                        f"accepted)")
    if weights_only not in (True, False, None):
        raise TypeError(f"load: weights_only must be a bool, got {weights_only!r}")
    _check_map_location(map_location)
    if hasattr(f, "read"):
        path, buf = getattr(f, "name", f"<{type(f).__name__}>"), f.read()
        if not isinstance(buf, (bytes, bytearray, memoryview)):
            raise TypeError(f"load: the file object must be opened in binary mode (its read() "
                            f"returned {type(buf).__name__})")
    else:
        try:
            path = os.fspath(f)
        except TypeError:
            raise TypeError(f"load: f must be a path or a binary file object with read(), got "
                            f"{type(f).__name__}") from None
        try:
            with open(path, "rb") as fh:
                buf = fh.read()
        except FileNotFoundError:
            raise FileNotFoundError(f"load: {path}: no such file") from None
    try:
        return _parse(path, buf)
    except LoadError:
        raise
    except RecursionError:
        raise _fail(path, "the header or the tensorgrad metadata is nested too deeply; corrupt "
                          "or not a tensorgrad file") from None
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, MemoryError,
            OverflowError) as e:
        raise _fail(path, f"malformed file ({type(e).__name__}: {str(e)[:120]})") from None


def _parse(path, buf):
    header, start = _read_header(path, buf)
    meta = header.get("__metadata__", {}) or {}
    if not isinstance(meta, dict):
        raise _fail(path, "__metadata__ must be a JSON object of strings")
    arrays, order = _read_tensors(path, buf, header, start)
    spec = meta.get(_FORMAT)
    if spec is None:  # a foreign safetensors file: a flat state dict
        return {name: _wrap(arrays[name]) for name in order}
    try:
        spec = json.loads(spec)
        version, tree = spec["version"], spec["tree"]
    except (TypeError, ValueError, KeyError) as e:
        raise _fail(path, f"the tensorgrad metadata is corrupt ({e!r:.120})") from None
    if not isinstance(version, int) or version > _VERSION:
        raise _fail(path, f"written by a newer tensorgrad (format version {version!r:.20}; "
                          f"this one reads up to {_VERSION})")
    try:
        return _build(tree, arrays, path, set())
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, LoadError):
            raise
        raise _fail(path, f"the tensorgrad metadata is corrupt ({e!r:.120})") from None
