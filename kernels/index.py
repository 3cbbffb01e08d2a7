"""Index kernels: the gradient of picking rows (an embedding's, ``weight[idx]``'s).

``rows_add_`` is ``np.add.at(out, idx, g)`` for an integer array of row numbers, with the same
sums in the same order (each target row gets its rows added one after another, in index
order), so the results are ``add.at``'s bit for bit; ~30x faster for an embedding's 2048 rows
of 64, where numpy's ``add.at`` goes element by element through its generic machinery."""
from __future__ import annotations

from ._numba import njit

__all__ = ["rows_add_"]


@njit(nogil=True)
def rows_add_(out, idx, g):
    """``out[idx[k]] += g[k]`` for k in order; out (V, E) and g (n, E) C-contiguous of one
    float dtype, idx (n,) int64 with every entry in [0, V) (checked by the caller)."""
    for k in range(idx.shape[0]):
        row = out[idx[k]]
        src = g[k]
        for e in range(row.shape[0]):
            row[e] += src[e]
