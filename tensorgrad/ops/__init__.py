"""The op library: one family per module, each op's forward and VJP side by side.

Each op is declared once with ``@op`` (see ``_registry.py``); this package then

* exports every declared op under ``tg.`` (``__all__`` is built from the declarations),
* binds the declared methods and properties onto ``Tensor`` (``x.exp()``, ``x + y``, ``x.T``),
* fills the tensor namespace ``TG`` that VJPs use under ``create_graph`` (``_xp.py``).

``FUNCTIONAL`` maps the ``tg.nn.functional`` names declared here to their functions.
"""
from . import (activation, convert, creation, elementwise, index, inplace, linalg, loss,  # noqa: F401
               movement, norm, reduce)
from . import (contraction, counting, decompositions, distance, logic, math, matrix,  # noqa: F401
               numeric, scan,
               scattering, shape, sorting)
from . import (adaptive_max, conv, conv_transpose, interpolate, padding, pool,  # noqa: F401
               recurrent, unpool)
from . import inplace_variants  # noqa: F401  (last: the twins of every method declared above)
from ._registry import EXPORTS as _EXPORTS, FUNCTIONAL, bind as _bind
from ._xp import NAMES as _XP_NAMES, TG, array_module  # noqa: F401
from .index import getitem_adjoint as _getitem_adjoint, np_getitem as _np_getitem
from ..tensor import Tensor as _Tensor

globals().update(_EXPORTS)
__all__ = sorted(_EXPORTS)

_bind(_Tensor)
TG.__dict__.update({n: _EXPORTS.get(n) for n in _XP_NAMES})
TG.getitem_adjoint = _getitem_adjoint
TG.getitem = _np_getitem  # VJPs index with the numpy indices they saved
TG.einsum = contraction.einsum_core  # VJPs write explicit equations
TG.diagonal_scatter = shape.diagonal_scatter
__all__.append("linalg")  # tg.linalg: ops/linalg.py, torch.linalg's names (see there)
TG.sum_to_size = _EXPORTS["sum_to"]
