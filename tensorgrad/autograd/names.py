"""How graph nodes are named: tensorgrad's op names (what ``tg.viz`` draws: ``mul``, ``linear``)
and the names PyTorch prints for the same ``grad_fn`` (``MulBackward0``, ``AddmmBackward0``).

``node.name`` is an ``OpName``: a ``str`` equal to the op's own name, which, called as
``node.name()``, returns PyTorch's name, so both ``grad_fn.name == "mul"`` and PyTorch's
``grad_fn.name()`` read naturally. ``repr(grad_fn)`` and ``repr(tensor)`` use PyTorch's form.
Ops without an entry below get PyTorch's naming scheme applied to their own name
(``log_softmax`` -> ``LogSoftmaxBackward0``).
"""
from __future__ import annotations

# op name -> PyTorch's grad_fn name, where the scheme alone would not give it
TORCH_NAMES = {
    "rsub": "RsubBackward1", "rdiv": "MulBackward0", "rpow": "PowBackward2",
    "square": "PowBackward0", "clamp": "ClampBackward1",
    "sum_to": "SumBackward1", "norm": "LinalgVectorNormBackward0",
    "reshape": "ViewBackward0", "view": "ViewBackward0", "pad": "ConstantPadNdBackward0",
    "getitem_backward": "IndexPutBackward0", "index_put": "IndexPutBackward0",
    "astype": "ToCopyBackward0", "matmul": "MmBackward0", "linear": "AddmmBackward0",
    "cross_entropy": "NllLossBackward0", "batch_norm": "NativeBatchNormBackward0",
    "conv1d": "ConvolutionBackward0", "conv2d": "ConvolutionBackward0",
    "conv3d": "ConvolutionBackward0", "max_pool1d": "MaxPool1DWithIndicesBackward0",
    "max_pool2d": "MaxPool2DWithIndicesBackward0", "max_pool3d": "MaxPool3DWithIndicesBackward0",
    "avg_pool1d": "AvgPool1DBackward0", "avg_pool2d": "AvgPool2DBackward0",
    "avg_pool3d": "AvgPool3DBackward0", "as_strided": "AsStridedBackward0",
    "copy_slices": "torch::autograd::CopySlices", "fill": "FillBackward0",
    "log1p": "Log1PBackward0", "max": "MaxBackward1", "min": "MinBackward1",
    "layer_norm": "NativeLayerNormBackward0", "squeeze_dim": "SqueezeBackward1",
    "t": "TBackward0",
}


def _by_saved(node, i, when_none, otherwise):
    saved = node.saved
    if not saved or len(saved) <= i:
        return None
    return when_none if saved[i] is None else otherwise


def _getitem_name(node):
    saved = node.saved
    if not saved or len(saved) < 2:
        return None
    index = saved[1] if isinstance(saved[1], tuple) else (saved[1],)
    kinds = {type(i).__name__ for i in index}
    if kinds <= {"int"}:
        return "SelectBackward0"
    if kinds <= {"int", "slice", "ellipsis", "NoneType"}:
        return "SliceBackward0" if "int" not in kinds else "SelectBackward0"
    return "IndexBackward0"


# PyTorch names some ops by their arguments (sum over everything vs over dims, x[0] vs x[1:])
_RESOLVE = {
    "sum": lambda n: _by_saved(n, 1, "SumBackward0", "SumBackward1"),
    "mean": lambda n: _by_saved(n, 1, "MeanBackward0", "MeanBackward1"),
    "getitem": _getitem_name,
    # x ** 2 (a number exponent) vs x ** y (a tensor exponent)
    "pow": lambda n: None if not n.saved else (
        "PowBackward1" if len(n.saved) == 3 else "PowBackward0"),
    "prod": lambda n: _by_saved(n, 2, "ProdBackward0", "ProdBackward1"),
    # x.max() vs x.max(dim) (values and indices)
    "max": lambda n: _by_saved(n, 1, "MaxBackward1", "MaxBackward0"),
    "min": lambda n: _by_saved(n, 1, "MinBackward1", "MinBackward0"),
}


def torch_name(op):
    hit = TORCH_NAMES.get(op)
    if hit is not None:
        return hit
    return "".join(p[:1].upper() + p[1:] for p in op.split("_")) + "Backward0"


class OpName(str):
    """An op's name; ``name()`` gives PyTorch's name for its grad_fn."""

    def __new__(cls, name, torch=None):
        self = str.__new__(cls, name)
        self._torch = torch or torch_name(name)
        return self

    def __call__(self):
        return self._torch


class _NodeName(OpName):
    """An OpName whose PyTorch name depends on the node's arguments (see ``_RESOLVE``)."""

    def __new__(cls, base, node):
        self = str.__new__(cls, base)
        self._torch = _RESOLVE[str(base)](node) or base()
        return self


_CACHE = {}


def op_name(name, node=None):
    """The OpName for ``name`` (cached); ``node`` lets argument-dependent names resolve."""
    if type(name) is OpName or type(name) is _NodeName:
        return name
    n = _CACHE.get(name)
    if n is None:
        n = _CACHE[name] = OpName(name)
    if node is not None and name in _RESOLVE:
        return _NodeName(n, node)
    return n
