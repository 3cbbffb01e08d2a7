"""The phase layout shared by the convolution and pooling kernels.

A sliding window with stride ``s`` reads every ``s``-th element of a row, and numba makes such
strided or clipped loops slow (short trip counts in the scalar remainder, gathers). So a volume
``v (D, H, W)`` (one sample and channel) is first copied, with its padding, into ``sd*sh*sw``
*phases*: phase ``(rz, ry, rx)`` holds the padded cells whose coordinates are ``rz, ry, rx``
modulo the strides, as one flat array ``(jz*ly + jy)*lx + jx`` (padded cell
``(sd*jz + rz, sh*jy + ry, sw*jx + rx)``)::

    phases[(rz*sh + ry)*sw + rx, (jz*ly + jy)*lx + jx] = v[sd*jz + rz - pd, sh*jy + ry - ph,
                                                           sw*jx + rx - pw]

Output ``(a, b, e)`` of the window at kernel offset ``(i, j, l)`` (dilations ``dd, dh, dw``)
then sits at flat position ``t + off`` of one phase, with ``t = (a*ly + b)*lx + e``, for all the
outputs at once: ``tap`` gives that phase and ``off``. So every kernel offset is ONE unit-stride
loop over ``Q = ((od-1)*ly + oh)*lx`` positions — the columns ``e >= ow`` (and rows ``b >= oh``)
are computed and dropped — with no bound test: the padding cells hold zeros (convolution,
average pooling) or -inf (max pooling). For stride 1 there is one phase: the zero-padded volume
itself (the layout of the stride-1 im2col).

``lx = ow + ((kw-1)*dw)//sw`` (likewise ly, lz); a phase is ``lz*ly*lx + lx`` long (one spare
row: the dropped columns of the last row read past the end). ``phase_sizes`` computes them.
"""
from __future__ import annotations

import numpy as np

from ._numba import njit

__all__ = ["phase_sizes", "taps", "phase_copy"]


def phase_sizes(k, s, d, o):
    """(lz, ly, lx), the phase length and Q for kernel ``k``, stride ``s``, dilation ``d`` and
    output size ``o`` (3-tuples)."""
    lz, ly, lx = (oo + ((kk - 1) * dd) // ss for kk, ss, dd, oo in zip(k, s, d, o))
    return (lz, ly, lx), lz * ly * lx + lx, ((o[0] - 1) * ly + o[1]) * lx


def taps(k, s, d, ly, lx, hw=None):
    """Per kernel offset (i, j, l) in row-major order: its phase and flat offset (and, with
    ``hw = (H, W)``, its flat offset in the unpadded volume)."""
    i, j, l = (a.ravel() for a in np.meshgrid(*[np.arange(n) for n in k], indexing="ij"))
    dz, dy, dx = i * d[0], j * d[1], l * d[2]
    ph = ((dz % s[0]) * s[1] + dy % s[1]) * s[2] + dx % s[2]
    off = ((dz // s[0]) * ly + dy // s[1]) * lx + dx // s[2]
    if hw is None:
        return ph.astype(np.int64), off.astype(np.int64)
    return ph.astype(np.int64), off.astype(np.int64), ((dz * hw[0] + dy) * hw[1] + dx)


@njit(nogil=True)
def _range(r, s, p, n, L):
    """The j in [0, L) whose padded position s*j + r - p lies inside [0, n)."""
    lo = (p - r + s - 1) // s if p > r else 0
    hi = (n - 1 + p - r) // s + 1 if n - 1 + p - r >= 0 else 0
    return lo, max(lo, min(L, hi))


@njit(nogil=True)
def phase_copy(v, phases, ly, lx, sd, sh, sw, pd, ph, pw, back):
    """Copy the volume v (D, H, W) into its phases (``back`` False) or the phases back into v
    (``back`` True). Only v's own cells move: the padding cells of the phases are left as they
    are (the caller fills them once); cells of v that no window reads are skipped going in and
    set to zero coming back (they get no gradient)."""
    D, H, W = v.shape
    lz = (phases.shape[1] - lx) // (ly * lx)
    for z in range(D):
        jz, rz = (z + pd) // sd, (z + pd) % sd
        for y in range(H):
            jy, ry = (y + ph) // sh, (y + ph) % sh
            row = v[z, y]
            if jz >= lz or jy >= ly:
                if back:
                    row[:] = 0
                continue
            base = (jz * ly + jy) * lx
            p0 = (rz * sh + ry) * sw
            if sw == 1:
                n = max(0, min(W, lx - pw))
                d = phases[p0, base + pw:base + pw + n]
                if back:
                    for t in range(n):
                        row[t] = d[t]
                    row[n:] = 0
                else:
                    for t in range(n):
                        d[t] = row[t]
            elif sw == 2:  # one pass over the row, two output streams (2x faster than two
                # strided passes); columns u = 2t, 2t+1 go to phase columns t + c0, t + c1
                c0, c1 = pw // 2, (pw + 1) // 2
                d0 = phases[p0 + pw % 2, base + c0:base + lx]
                d1 = phases[p0 + (pw + 1) % 2, base + c1:base + lx]
                n = max(0, min(W // 2, lx - c1))
                if back:
                    for t in range(n):
                        row[2 * t] = d0[t]
                        row[2 * t + 1] = d1[t]
                else:
                    for t in range(n):
                        d0[t] = row[2 * t]
                        d1[t] = row[2 * t + 1]
                for u in range(2 * n, W):  # the columns left over, if any window reads them
                    jx = (u + pw) // 2
                    at = base + jx
                    if back:
                        row[u] = phases[p0 + (u + pw) % 2, at] if jx < lx else 0
                    elif jx < lx:
                        phases[p0 + (u + pw) % 2, at] = row[u]
            else:
                if back:
                    row[:] = 0
                for rx in range(sw):
                    x0, x1 = _range(rx, sw, pw, W, lx)
                    d = phases[p0 + rx, base:base + lx]
                    for jx in range(x0, x1):
                        if back:
                            row[sw * jx + rx - pw] = d[jx]
                        else:
                            d[jx] = row[sw * jx + rx - pw]
