"""Matrix decompositions with torch.linalg's names and gradients (real matrices, batched):
``cholesky`` (+ ``cholesky_ex``), ``eigh``/``eigvalsh``, ``svd``/``svdvals``, ``qr``,
``solve_triangular``, and what is built on them: ``pinv``, ``lstsq``, ``matrix_rank``,
``cond``; plus the older top-level ``tg.svd`` (returns V), ``tg.qr``, ``tg.cholesky`` and
``tg.pinverse``.

The forward passes are LAPACK's through numpy. Each VJP is written with tensor ops (so it is
differentiable again under ``create_graph``) from the standard formulas: Murray 2016 for the
Cholesky factor, the eigenvector/singular-vector formulas of Giles 2008 and Townsend 2016
(which, like PyTorch's, assume distinct eigenvalues/singular values and a loss that does not
depend on the vectors' signs), and Walter & Lehmann 2018 for QR.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd.node import OUT, outputs, record, record_multi, tensor_vjp
from ..tensor import _wrap
from ._registry import op
from .matrix import _square, solve

_EIGH = namedtuple("eigh", ["eigenvalues", "eigenvectors"])
_SVD = namedtuple("svd", ["U", "S", "Vh"])
_SVD_OLD = namedtuple("svd", ["U", "S", "V"])
_QR = namedtuple("qr", ["Q", "R"])
_CHOL_EX = namedtuple("cholesky_ex", ["L", "info"])
_LSTSQ = namedtuple("lstsq", ["solution", "residuals", "rank", "singular_values"])


def _matrix(name, A):
    try:
        d = A._data
    except AttributeError:
        raise TypeError(f"{name}: A must be a tg.Tensor, got {type(A).__name__}; wrap it with "
                        f"tg.tensor(...) first") from None
    if d.ndim < 2:
        raise RuntimeError(f"{name}: expected a matrix or a batch of them, got shape {d.shape}")
    if d.dtype.kind != "f":
        raise RuntimeError(f"{name}: expected a floating point tensor, got dtype {d.dtype}")
    return d


def _mT(x):
    return x.transpose(-2, -1)


def _eye_like(n, like):
    return _wrap(np.eye(n, dtype=like._data.dtype))


def _diag_embed(v):
    from .shape import diag_embed
    return diag_embed(v)


def _tril(x, k=0):
    from .shape import tril
    return tril(x, k)


def _triu(x, k=0):
    from .shape import triu
    return triu(x, k)


def _zero(g, like):
    from .creation import zeros_like
    return zeros_like(like) if g is None else g


# ---- Cholesky -----------------------------------------------------------------------------------
def _phi(x):
    """The lower triangle with its diagonal halved."""
    return _tril(x, -1) + _diag_embed(x.diagonal(0, -2, -1) / 2)


def _cholesky_vjp(ctx, g, L, upper):
    if upper:
        L, g = _mT(L), _mT(g)
    P = _phi(_mT(L) @ g)
    Linv = solve(L, _eye_like(L.shape[-1], L))
    S = _mT(Linv) @ P @ Linv
    return ((S + _mT(S)) / 2,)


@op(export=False, methods=())
def cholesky(A, *, upper=False):
    """L lower-triangular with A = L Lᵀ (``upper``: U with A = Uᵀ U), for symmetric
    positive-definite A."""
    d = _square("cholesky", A)
    try:
        L = np.linalg.cholesky(d)
    except np.linalg.LinAlgError:
        raise RuntimeError("linalg.cholesky: The factorization could not be completed because "
                           "the input is not positive-definite.") from None
    if upper:
        L = np.swapaxes(L, -1, -2).copy()
    return record("cholesky", L, (A,), tensor_vjp(_cholesky_vjp), saved=(OUT, upper))


def cholesky_ex(A, *, upper=False, check_errors=False):
    """(L, info) as torch.linalg.cholesky_ex; a matrix that is not positive-definite raises
    here (info is always 0)."""
    L = cholesky(A, upper=upper)
    return _CHOL_EX(L, _wrap(np.zeros(A._data.shape[:-2], dtype=np.int32)))


# ---- symmetric eigendecomposition ---------------------------------------------------------------
def _gap(lam):
    """E_ij = λ_j − λ_i off the diagonal, 1 on it (so dividing by it is safe there)."""
    e = lam.unsqueeze(-2) - lam.unsqueeze(-1)
    return e + _diag_embed(lam * 0 + 1)


def _eigh_vjp(ctx, grads, lam, Q):
    g_lam, g_Q = grads
    inner = _diag_embed(_zero(g_lam, lam))
    if g_Q is not None:
        M = _mT(Q) @ g_Q
        off = M / _gap(lam)
        inner = inner + (off - _diag_embed(off.diagonal(0, -2, -1)))
    gA = Q @ inner @ _mT(Q)
    return ((gA + _mT(gA)) / 2,)


def _uplo(UPLO):
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    return UPLO


@op(export=False, methods=())
def eigh(A, UPLO="L"):
    """(eigenvalues ascending, eigenvectors as columns) of a symmetric matrix, read from its
    lower (``UPLO='L'``) or upper triangle."""
    d = _square("linalg.eigh", A)
    lam, Q = np.linalg.eigh(d, UPLO=_uplo(UPLO))
    lam_t, Q_t = record_multi("eigh", (lam, Q), (A,), tensor_vjp(_eigh_vjp),
                              saved=(outputs(0), outputs(1)))
    return _EIGH(lam_t, Q_t)


@op(export=False, methods=())
def eigvalsh(A, UPLO="L"):
    """The eigenvalues of a symmetric matrix, ascending."""
    return eigh(A, UPLO).eigenvalues


# ---- singular value decomposition ----------------------------------------------------------------
def _svd_vjp(ctx, grads, U, S, Vh):
    gU, gS, gVh = grads
    V = _mT(Vh)
    inner = _diag_embed(_zero(gS, S))
    S2 = S * S
    F = 1 / _gap(S2) - _diag_embed(S * 0 + 1)              # 1/(s_j² − s_i²) off the diagonal
    Sm = _diag_embed(S)
    Sinv = _diag_embed(1 / S)
    extra = None
    if gU is not None:
        J = F * (_mT(U) @ gU)
        inner = inner + (J + _mT(J)) @ Sm
        m = U.shape[-2]
        if m > S.shape[-1]:
            extra = (_eye_like(m, U) - U @ _mT(U)) @ gU @ Sinv @ Vh
    if gVh is not None:
        gV = _mT(gVh)
        K = F * (_mT(V) @ gV)
        inner = inner + Sm @ (K + _mT(K))
        n = V.shape[-2]
        if n > S.shape[-1]:
            e2 = U @ Sinv @ _mT(gV) @ (_eye_like(n, V) - V @ Vh)
            extra = e2 if extra is None else extra + e2
    gA = U @ inner @ Vh
    return (gA if extra is None else gA + extra,)


@op(export=False, methods=())
def linalg_svd(A, full_matrices=True, *, driver=None):
    """(U, S, Vh) with A = U diag(S) Vh. Gradients need ``full_matrices=False`` when A is not
    square (as PyTorch)."""
    d = _matrix("linalg.svd", A)
    U, S, Vh = np.linalg.svd(d, full_matrices=full_matrices)
    square = d.shape[-1] == d.shape[-2]
    vjp = tensor_vjp(_svd_vjp) if (not full_matrices or square) else _refuse_svd_full
    U_t, S_t, Vh_t = record_multi("svd", (U, S, Vh), (A,), vjp,
                                  saved=(outputs(0), outputs(1), outputs(2)))
    return _SVD(U_t, S_t, Vh_t)


def _refuse_svd_full(ctx, grads, *saved):
    raise RuntimeError("linalg.svd: the derivative of full_matrices=True for a non-square "
                       "matrix is not defined (the extra singular vectors are arbitrary); "
                       "use full_matrices=False, as PyTorch says")


@op(export=False, methods=())
def svdvals(A, *, driver=None):
    """The singular values, descending."""
    return linalg_svd(A, full_matrices=False).S


@op(name="svd", methods=("svd",))
def svd_old(input, some=True, compute_uv=True):  # noqa: A002 (torch's names)
    """torch.svd: (U, S, V) — V, not Vh; ``some=False`` gives full U and V."""
    U, S, Vh = linalg_svd(input, full_matrices=not some)
    if not compute_uv:
        return _SVD_OLD(U * 0, S, _mT(Vh) * 0)
    return _SVD_OLD(U, S, _mT(Vh))


# ---- QR ------------------------------------------------------------------------------------------
def _copyltu(M):
    """The strictly lower triangle mirrored to the upper, the diagonal kept."""
    low = _tril(M, -1)
    return low + _mT(low) + _diag_embed(M.diagonal(0, -2, -1))


def _qr_tall_grad(Q, R, gQ, gR):
    """A = QR with A m x n, m >= n (Q m x n, R n x n)."""
    M = R @ _mT(gR) - _mT(gQ) @ Q
    B = gQ + Q @ _copyltu(M)
    return _mT(solve(R, _mT(B)))                           # B R⁻ᵀ


def _qr_vjp(ctx, grads, Q, R):
    gQ, gR = _zero(grads[0], Q), _zero(grads[1], R)
    m, n = Q.shape[-2], R.shape[-1]
    if m >= n:
        return (_qr_tall_grad(Q, R, gQ, gR),)
    from .movement import cat
    R1 = R[..., :, :m]
    A = Q @ R
    Y = A[..., :, m:]
    gX = _qr_tall_grad(Q, R1, gQ + Y @ _mT(gR[..., :, m:]), gR[..., :, :m])
    return (cat([gX, Q @ gR[..., :, m:]], -1),)


@op(name="qr", methods=("qr",))
def qr(A, mode="reduced"):
    """(Q, R) with A = QR, Q with orthonormal columns and R upper-triangular: ``reduced``
    (default), ``complete`` (Q square) or ``r`` (Q empty). torch.qr's ``some`` is also taken."""
    if isinstance(mode, bool):                              # torch.qr(A, some)
        mode = "reduced" if mode else "complete"
    d = _matrix("linalg.qr", A)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           f"'reduced' (default), 'r', or 'complete'")
    Q, R = np.linalg.qr(d, mode="complete" if mode == "complete" else "reduced")
    m, n = d.shape[-2:]
    if mode == "r":
        vjp = _refuse_qr_r
    elif mode == "complete" and m > n:
        vjp = _refuse_qr_complete
    else:
        vjp = tensor_vjp(_qr_vjp)
    Q_t, R_t = record_multi("qr", (Q, R), (A,), vjp, saved=(outputs(0), outputs(1)))
    if mode == "r":
        Q_t = _wrap(np.zeros((0,), dtype=d.dtype))
    return _QR(Q_t, R_t)


def _refuse_qr_r(ctx, grads, *saved):
    raise RuntimeError("linalg.qr: the derivative depends on Q, which is not computed when "
                       "mode='r'; use mode='reduced' to differentiate through it (as PyTorch "
                       "says)")


def _refuse_qr_complete(ctx, grads, *saved):
    raise RuntimeError("linalg.qr: the derivative of mode='complete' is not defined for a "
                       "tall matrix (the extra columns of Q are arbitrary), as in PyTorch")


# ---- triangular solve -------------------------------------------------------------------------
def _solve_tri_vjp(ctx, g, X, A, upper, left, unitriangular):
    A = _masked(A, upper, unitriangular)                   # the matrix the solve used
    if not left:
        gB = _mT(solve(A, _mT(g)))                         # X A = B: gB = g A⁻ᵀ
        gA = -(_mT(X) @ gB)
    else:
        gB = solve(_mT(A), g)
        gA = -(gB @ _mT(X))
    k = 1 if unitriangular else 0
    gA = _triu(gA, k) if upper else _tril(gA, -k)
    return (gA, gB)


@op(export=False, methods=())
def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """X with A X = B (``left=False``: X A = B) for triangular A: only its ``upper`` or lower
    triangle is read (``unitriangular``: its diagonal is taken as ones)."""
    d = _square("linalg.solve_triangular", A)
    try:
        b = B._data
    except AttributeError:
        raise TypeError(f"linalg.solve_triangular: B must be a tg.Tensor, got "
                        f"{type(B).__name__}") from None
    T = np.triu(d) if upper else np.tril(d)
    if unitriangular:
        n = d.shape[-1]
        T = T.copy()
        T[..., np.arange(n), np.arange(n)] = 1
    try:
        if left:
            X = np.linalg.solve(T, b)
        else:
            X = np.swapaxes(np.linalg.solve(np.swapaxes(T, -1, -2), np.swapaxes(b, -1, -2)),
                            -1, -2)
    except np.linalg.LinAlgError:
        raise RuntimeError("linalg.solve_triangular: the triangular matrix is singular (a zero "
                           "on its diagonal)") from None
    return record("solve_triangular", X, (A, B), tensor_vjp(_solve_tri_vjp),
                  saved=(OUT, A, upper, left, unitriangular))


def _masked(A, upper, unit):
    T = _triu(A) if upper else _tril(A)
    if unit:
        n = A.shape[-1]
        T = T - _diag_embed(T.diagonal(0, -2, -1)) + _eye_like(n, A)
    return T


# ---- built on them ----------------------------------------------------------------------------
def _cutoff(S, atol, rtol, m, n):
    smax = S.max(-1, keepdim=True).values if S.shape[-1] else S
    if rtol is None:
        rtol = np.finfo(S._data.dtype).eps * max(m, n) if atol is None else 0.0
    tol = smax * rtol
    if atol is not None:
        from .elementwise import maximum
        tol = maximum(tol, _wrap(np.asarray(atol, dtype=S._data.dtype)))
    return tol


@op(export=False, methods=())
def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """The Moore-Penrose pseudo-inverse through the SVD, singular values at or below
    max(atol, rtol · σ_max) dropped (PyTorch's default rtol: eps · max(m, n))."""
    d = _matrix("linalg.pinv", A)
    U, S, Vh = linalg_svd(A, full_matrices=False)
    keep = _wrap((S._data > _cutoff(S, atol, rtol, *d.shape[-2:])._data).astype(d.dtype))
    from .elementwise import where
    Sinv = where(keep._data > 0, 1 / where(keep._data > 0, S, S * 0 + 1), S * 0)
    return _mT(Vh) @ (Sinv.unsqueeze(-1) * _mT(U))


@op(name="pinverse", methods=("pinverse",))
def pinverse(input, rcond=1e-15):  # noqa: A002
    """torch.pinverse: ``linalg.pinv`` with ``rtol=rcond``."""
    return pinv(input, rtol=rcond)


@op(export=False, methods=())
def lstsq(A, B, rcond=None, *, driver=None):
    """The least-squares solution of A X = B (through ``pinv``); ``residuals`` are the
    squared residual norms for tall full-rank A (else empty), ``rank`` and
    ``singular_values`` as LAPACK's gelsd driver gives them."""
    d = _matrix("linalg.lstsq", A)
    m, n = d.shape[-2:]
    X = pinv(A, rtol=rcond) @ B
    S = svdvals(A.detach())
    rank = _wrap((S._data > _cutoff(S, None, rcond, m, n)._data).sum(-1).astype(np.int64))
    if m > n and bool(np.all(rank._data == n)):
        res = A @ X - B
        residuals = (res * res).sum(-2)
    else:
        residuals = _wrap(np.zeros((0,), dtype=d.dtype))
    return _LSTSQ(X, residuals, rank, S)


@op(export=False, methods=())
def matrix_rank(A, *, atol=None, rtol=None, hermitian=False):
    """The number of singular values above max(atol, rtol · σ_max) (an int64 tensor)."""
    d = _matrix("linalg.matrix_rank", A)
    S = svdvals(A.detach())
    tol = _cutoff(S, atol, rtol, *d.shape[-2:])
    return _wrap((S._data > tol._data).sum(-1).astype(np.int64))


@op(export=False, methods=())
def cond(A, p=None):
    """The condition number σ_max / σ_min (p None or 2; -2 gives σ_min / σ_max)."""
    if p not in (None, 2, -2):
        raise NotImplementedError(f"linalg.cond: p={p!r} is not implemented in tensorgrad "
                                  f"(None, 2 and -2 are)")
    S = svdvals(A)
    hi, lo = S[..., 0], S[..., -1]
    return lo / hi if p == -2 else hi / lo


@op(name="cholesky", methods=("cholesky",))
def cholesky_old(input, upper=False):  # noqa: A002
    """torch.cholesky (deprecated there for linalg.cholesky)."""
    return cholesky(input, upper=upper)
