r"""The gamma-sieve semi-dual estimator of an OT map between Hilbert spaces.

The potential lives on the first :math:`D = D(T)` coordinates (those a
budget-:math:`T` sieve can reach) and the map on the remaining coordinates
follows a tail rule. With :math:`u = (x - c)/s` the standardised and
:math:`\tilde x = (x - l)/w` the box-rescaled active coordinates,

.. math::

    \varphi_\theta(x) = \tfrac12\lVert x\rVert^2 + \psi_\theta(x), \qquad
    \psi_\theta(x) = \langle\beta, u\rangle + \tfrac12 u^\top B u
    + \sum_{\ell \in K_T} a_\ell \cos 2\pi\langle\ell,\tilde x\rangle
    + b_\ell \sin 2\pi\langle\ell,\tilde x\rangle,

and :math:`\theta = (\beta, B, a, b)` minimises the empirical semi-dual with
the conjugate taken over the source sample and smoothed,

.. math::

    \hat J(\theta) = \frac1n\sum_i \psi_\theta(X_i)
    - \frac1m\sum_k \psi_\theta^{c,\varepsilon}(Y_k)
    + \rho\sum_{\ell} 2^{2\gamma(s(\ell))}(a_\ell^2 + b_\ell^2),
    \quad
    \psi^{c,\varepsilon}(y) = -\varepsilon\log\frac1n\sum_i
    e^{-(\frac12\lVert X_i - y\rVert^2 + \psi_\theta(X_i))/\varepsilon},

which equals the semi-dual :math:`\frac1n\sum\varphi(X_i) + \frac1m\sum
\varphi^*(Y_k)` up to constants. :math:`\hat J` is convex in
:math:`\theta` (linear plus log-sum-exp of affine functions); L-BFGS
(:func:`optax.lbfgs`) minimises it through an annealed sequence of
:math:`\varepsilon`. If the potential is not convex at some source points,
an interior-point Newton method replaces the fit by the minimiser of
:math:`\hat J` under :math:`\nabla^2\varphi_\theta(X_i) \succeq 0`. The
estimated map is :math:`\hat T(x) = x + \nabla\psi_{\hat\theta}(P_D x)` on
the active coordinates.

This construction generalises the truncated-wavelet semi-dual estimator of
Hütter and Rigollet (arXiv:1905.05828) to the gamma-smooth frequency sets of
Okumoto and Suzuki; it is **derived** for mltheory from the abstract of
Ponnoprat and Imaizumi (arXiv:2505.13570), whose estimator section could not
be read.
"""

from __future__ import annotations

import warnings
from functools import partial
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from mltheory._src._pytree import pytree_dataclass, static_field
from mltheory._src._typing import Array, ArrayLike
from mltheory._src._validation import check_in, check_scalar, describe
from mltheory._src._x64 import float64_scope
from mltheory.exceptions import ConvergenceWarning, DivergenceError
from mltheory.numerics import (
    logsumexp_ctransform,
    trig_series_hess,
)
from mltheory.stats.ot._checks import check_bool, check_pair, check_samples
from mltheory.stats.ot._smoothness import GammaSmoothness

__all__ = ["OTMapResult", "fit_gamma_sieve_map"]

Tail = Literal["mean_shift", "identity", "zero"]
_TAILS = ("mean_shift", "identity", "zero")
_N_STAGES = 4  # epsilon annealing: eps * 2^3, 2^2, 2, 1
_STAGE_TOL = 1e-4  # gradient tolerance of the warm-up stages
_CV_TOL = 1e-6  # gradient tolerance of the cross-validation fits
_CONVEX_TOL = 1e-6
# Convexity repair (log-barrier Newton): barrier weights relative to the cost
# scale, followed in turn; the start keeps lambda_min >= 1 - _START_SHRINK at
# the repair's points; Newton steps per weight; flops of the constraint block
# of one Newton matrix (points beyond it are subsampled, violators first).
_BARRIER_MU = (1e-3, 1e-4, 1e-5, 1e-6)
_START_SHRINK = 0.95
_NEWTON_MAXITER = 50
_BARRIER_WORK = 2e10
_MAX_CANDIDATES = 6


# --------------------------------------------------------------------------
# The fitted map
# --------------------------------------------------------------------------


@pytree_dataclass
class OTMapResult:
    r"""A fitted gamma-sieve OT map: potential parameters, geometry, diagnostics.

    Parameters
    ----------
    frequencies : jax.Array of shape (K, dim)
        The frequency set :math:`K_T`.
    coef : jax.Array of shape (2K,)
        Cosine then sine coefficients :math:`(a, b)`.
    linear : jax.Array of shape (dim,)
        :math:`\beta`.
    quadratic : jax.Array of shape (dim, dim)
        :math:`B` (zero without the quadratic block).
    center, scale : jax.Array of shape (dim,)
        Standardisation :math:`u = (x - c)/s` of the active coordinates.
    lower, width : jax.Array of shape (dim,)
        Box rescaling :math:`\tilde x = (x - l)/w` of the trigonometric part.
    tail_shift : jax.Array of shape (n_coefficients - dim,)
        Shift of the tail coordinates (zero unless ``tail="mean_shift"``).
    objective : jax.Array of shape ()
        Final value of the penalised :math:`\hat J`.
    epsilon : jax.Array of shape ()
        Final smoothing :math:`\varepsilon`.
    convexity_violation : jax.Array of shape ()
        :math:`\max(0, -\min_i \lambda_{\min}(\nabla^2\varphi(X_i)))` on the
        source sample.
    violation_fraction : jax.Array of shape ()
        Fraction of source points where :math:`\nabla^2 \varphi` has an
        eigenvalue below :math:`-10^{-6}`.
    n_iter : jax.Array of shape ()
        L-BFGS iterations of the final fit (all stages).
    T : float
        The budget.
    dim : int
        Active coordinates :math:`D(T)`.
    n_coefficients : int
        Coefficients per sample the map accepts.
    tail : str
        The tail rule.
    converged : bool
        Whether the fit met its tolerance: the L-BFGS gradient tolerance
        ``tol`` or, after a convexity repair, the repair's Newton decrement
        tolerance (the barrier weight of its last stage).

    Examples
    --------
    >>> from mltheory.stats import ot
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, (200, 3))
    >>> Y = X[::-1] * [2.0, 1.0, 1.0] + [1.0, 0.0, 0.0]  # x_1 -> 2 x_1 + 1
    >>> res = ot.fit_gamma_sieve_map(X, Y, ot.GammaSmoothness([1.0, 4.0]), T=1.0)
    >>> res.dim, res.frequencies.shape
    (1, (1, 1))
    >>> np.round(res.transform([[0.5, 0.0, 0.0]]), 1).tolist()
    [[2.0, 0.0, 0.0]]
    """

    frequencies: Array
    coef: Array
    linear: Array
    quadratic: Array
    center: Array
    scale: Array
    lower: Array
    width: Array
    tail_shift: Array
    objective: Array
    epsilon: Array
    convexity_violation: Array
    violation_fraction: Array
    n_iter: Array
    T: float = static_field()
    dim: int = static_field()
    n_coefficients: int = static_field()
    tail: str = static_field()
    converged: bool = static_field()

    def _check_input(self, X: Any) -> np.ndarray:
        arr = check_samples(X, "X", min_rows=1)
        if arr.shape[1] != self.n_coefficients:
            raise ValueError(
                f"X must have {self.n_coefficients} coefficients per row (as in "
                f"fit); got shape {arr.shape}."
            )
        return arr

    def transform(self, X: ArrayLike) -> np.ndarray:
        r"""The estimated map :math:`\hat T` at coefficient arrays.

        Parameters
        ----------
        X : array_like of shape (n, n_coefficients)
            Source points.

        Returns
        -------
        numpy.ndarray of shape (n, n_coefficients)
            :math:`\\hat T(X_i)`, float64.

        Raises
        ------
        ValueError
            If ``X`` is not finite 2-D with ``n_coefficients`` columns.

        Examples
        --------
        >>> from mltheory.stats import ot
        >>> X = np.random.default_rng(1).uniform(-1, 1, (100, 2))
        >>> res = ot.fit_gamma_sieve_map(X, X + 1.0, ot.GammaSmoothness([1.0]), T=1.0)
        >>> np.round(res.transform([[0.0, 0.0]]), 3).tolist()
        [[1.0, 1.0]]
        """
        Z = self._check_input(X)
        out = np.array(Z, dtype=np.float64)
        if self.dim:
            out[:, : self.dim] += _grad_psi_np(Z[:, : self.dim], *self._params())
        if self.tail == "zero":
            out[:, self.dim :] = 0.0
        else:
            out[:, self.dim :] += np.asarray(self.tail_shift)[None, :]
        return out

    def potential(self, X: ArrayLike) -> np.ndarray:
        r"""The convex potential :math:`\varphi` whose gradient is the map.

        :math:`\varphi(x) = \tfrac12\lVert x_{\le D}\rVert^2 +
        \psi(x_{\le D}) + \text{tail}(x_{>D})` with tail
        :math:`\tfrac12\lVert q\rVert^2 + \langle t, q\rangle` (``"zero"``:
        0).

        Parameters
        ----------
        X : array_like of shape (n, n_coefficients)
            Points.

        Returns
        -------
        numpy.ndarray of shape (n,)
            :math:`\varphi(X_i)`.

        Examples
        --------
        >>> from mltheory.stats import ot
        >>> X = np.random.default_rng(2).uniform(-1, 1, (100, 1))
        >>> res = ot.fit_gamma_sieve_map(X, X, ot.GammaSmoothness([1.0]), T=1.0)
        >>> res.potential(X[:3]).shape
        (3,)
        """
        Z = self._check_input(X)
        head = Z[:, : self.dim]
        tail = Z[:, self.dim :]
        val = 0.5 * np.sum(head**2, axis=1)
        if self.dim:
            val = val + _psi_np(head, *self._params())
        if self.tail != "zero":
            val = (
                val + 0.5 * np.sum(tail**2, axis=1) + tail @ np.asarray(self.tail_shift)
            )
        return val

    def plot(
        self,
        ax: Any = None,
        *,
        coordinates: Any = None,
        truth: Any = None,
        n_points: int = 200,
        **kwargs: Any,
    ) -> Any:
        r"""Plot the fitted displacement :math:`\hat T(x)_j - x_j` along coordinates.

        For each active coordinate :math:`j` the point :math:`x` moves along
        the :math:`j`-th axis across the box the sieve was fitted on, the
        other coordinates held at the sample centre; the curve is the
        displacement of coordinate :math:`j` (the map minus the identity).
        ``truth`` (the true map, where known) is overlaid dashed in the same
        colour.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None, default=None
            Where to draw; ``None`` makes a new figure (shown in Jupyter).
        coordinates : sequence of int or None, default=None
            0-based active coordinates to draw; ``None``: the first
            ``min(dim, 4)``.
        truth : callable or None, default=None
            The true map on coefficient arrays of shape
            ``(n, n_coefficients)``, drawn as a dashed reference.
        n_points : int, default=200
            Points per curve.
        **kwargs
            Passed to :meth:`~matplotlib.axes.Axes.plot` for the fitted
            curves.

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on.

        Raises
        ------
        ValueError
            If the sieve is empty (``dim == 0``), a coordinate is not active,
            or the result is batched.
        TypeError
            If the result holds tracers (call ``.plot()`` outside jit).

        Examples
        --------
        >>> from mltheory.stats import ot
        >>> X = np.random.default_rng(0).uniform(-1, 1, (100, 2))
        >>> res = ot.fit_gamma_sieve_map(X, X + 0.5, ot.GammaSmoothness([1.0]), T=1.0)
        >>> ax = res.plot()  # doctest: +SKIP
        """
        from matplotlib.colors import to_hex

        from mltheory._src import _plotting as P

        P.members_or_error(self.linear, name="linear")
        if self.dim == 0:
            raise ValueError(
                "the sieve is empty (dim=0): the map is the tail rule only and has "
                "no fitted coordinate to plot."
            )
        if coordinates is None:
            coords = list(range(min(self.dim, 4)))
        else:
            coords = [int(c) for c in np.atleast_1d(np.asarray(coordinates))]
            bad = [c for c in coords if not 0 <= c < self.dim]
            if bad:
                raise ValueError(
                    f"coordinates must be active coordinates in [0, {self.dim}); "
                    f"got {bad}."
                )
        m = check_scalar(n_points, name="n_points", kind=int, lower=2)
        if truth is not None and not callable(truth):
            raise TypeError(f"truth must be callable or None; got {describe(truth)}.")
        center = P.as_numpy(self.center, name="center")
        lower = P.as_numpy(self.lower, name="lower")
        width = P.as_numpy(self.width, name="width")
        ax = P.axes_or_new(ax)
        base = np.zeros((m, self.n_coefficients))
        base[:, : self.dim] = center[None, :]
        for j in coords:
            u = np.linspace(lower[j], lower[j] + width[j], m)
            Z = base.copy()
            Z[:, j] = u
            line = P.plot_curve(
                ax, u, self.transform(Z)[:, j] - u, label=f"x_{j + 1}", **kwargs
            )
            if truth is not None:
                Tz = np.asarray(truth(Z), dtype=np.float64)
                P.plot_curve(
                    ax,
                    u,
                    Tz[:, j] - u,
                    color=to_hex(line.get_color()),
                    linestyle="--",
                    label=f"x_{j + 1} (true)",
                )
        return P.finish_axes(
            ax,
            xlabel="coordinate x_j (others at the sample centre)",
            ylabel="displacement T(x)_j - x_j",
            title=f"gamma-sieve map, T={self.T:g}, {self.frequencies.shape[0]} "
            "frequencies",
        )

    def _params(self) -> tuple[np.ndarray, ...]:
        return tuple(
            np.asarray(a, dtype=np.float64)
            for a in (
                self.linear,
                self.quadratic,
                self.coef,
                self.frequencies,
                self.center,
                self.scale,
                self.lower,
                self.width,
            )
        )

    @property
    def diagnostics(self) -> dict[str, float]:
        """Convergence and convexity diagnostics as a dict of floats.

        Returns
        -------
        dict
            ``objective``, ``epsilon``, ``n_iter``, ``convexity_violation``,
            ``violation_fraction``, ``n_features``.

        Examples
        --------
        >>> from mltheory.stats import ot
        >>> X = np.random.default_rng(3).uniform(-1, 1, (60, 1))
        >>> res = ot.fit_gamma_sieve_map(X, X, ot.GammaSmoothness([1.0]), T=1.0)
        >>> sorted(res.diagnostics)[:2]
        ['convexity_violation', 'epsilon']
        """
        return {
            "objective": float(self.objective),
            "epsilon": float(self.epsilon),
            "n_iter": float(self.n_iter),
            "convexity_violation": float(self.convexity_violation),
            "violation_fraction": float(self.violation_fraction),
            "n_features": float(self.frequencies.shape[0]),
        }


# --------------------------------------------------------------------------
# Jitted pieces
# --------------------------------------------------------------------------


def _unpack(theta: Array, d: int, k: int, quad: bool) -> tuple[Array, Array, Array]:
    beta = theta[:d]
    pos = d
    if quad:
        iu = np.triu_indices(d)
        nq = iu[0].size
        upper = jnp.zeros((d, d), theta.dtype).at[iu].set(theta[pos : pos + nq])
        B = upper + upper.T - jnp.diag(jnp.diag(upper))
        pos += nq
    else:
        B = jnp.zeros((d, d), theta.dtype)
    return beta, B, theta[pos : pos + 2 * k]


def _unpack_np(
    theta: np.ndarray, d: int, k: int, quad: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    beta = theta[:d]
    pos = d
    B = np.zeros((d, d))
    if quad:
        iu = np.triu_indices(d)
        B[iu] = theta[pos : pos + iu[0].size]
        B = B + B.T - np.diag(np.diag(B))
        pos += iu[0].size
    return beta, B, theta[pos : pos + 2 * k]


def _n_params(d: int, k: int, quad: bool) -> int:
    return d + (d * (d + 1) // 2 if quad else 0) + 2 * k


# Host-side (NumPy) evaluations: one-shot work of O(nK) that would otherwise
# compile once per shape.


def _design_np(
    Z: np.ndarray,
    F: np.ndarray,
    center: np.ndarray,
    scale: np.ndarray,
    lower: np.ndarray,
    width: np.ndarray,
    quad: bool,
) -> np.ndarray:
    """Columns of psi: u, the quadratic block, then cosines and sines."""
    u = (Z - center[None, :]) / scale[None, :]
    cols = [u]
    if quad:
        i, j = np.triu_indices(Z.shape[1])
        q = u[:, i] * u[:, j]
        cols.append(np.where((i == j)[None, :], 0.5 * q, q))
    phase = 2.0 * np.pi * (((Z - lower[None, :]) / width[None, :]) @ F.T)
    cols += [np.cos(phase), np.sin(phase)]
    return np.concatenate(cols, axis=1)


def _trig_parts(
    Z: np.ndarray, coef: np.ndarray, F: np.ndarray, lower: np.ndarray, width: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    k = F.shape[0]
    phase = 2.0 * np.pi * (((Z - lower[None, :]) / width[None, :]) @ F.T)
    return np.cos(phase), np.sin(phase), coef[:k]


def _psi_np(
    Z: np.ndarray,
    beta: np.ndarray,
    B: np.ndarray,
    coef: np.ndarray,
    F: np.ndarray,
    center: np.ndarray,
    scale: np.ndarray,
    lower: np.ndarray,
    width: np.ndarray,
) -> np.ndarray:
    u = (Z - center[None, :]) / scale[None, :]
    val = u @ beta + 0.5 * np.sum((u @ B) * u, axis=1)
    if F.shape[0]:
        c, s, _ = _trig_parts(Z, coef, F, lower, width)
        k = F.shape[0]
        val = val + c @ coef[:k] + s @ coef[k:]
    return val


def _grad_psi_np(
    Z: np.ndarray,
    beta: np.ndarray,
    B: np.ndarray,
    coef: np.ndarray,
    F: np.ndarray,
    center: np.ndarray,
    scale: np.ndarray,
    lower: np.ndarray,
    width: np.ndarray,
) -> np.ndarray:
    u = (Z - center[None, :]) / scale[None, :]
    g = (beta[None, :] + u @ B) / scale[None, :]
    if F.shape[0]:
        c, s, _ = _trig_parts(Z, coef, F, lower, width)
        k = F.shape[0]
        w = coef[k:][None, :] * c - coef[:k][None, :] * s
        g = g + 2.0 * np.pi * (w @ F) / width[None, :]
    return g


def _min_eigs_np(
    Z: np.ndarray,
    B: np.ndarray,
    coef: np.ndarray,
    F: np.ndarray,
    scale: np.ndarray,
    lower: np.ndarray,
    width: np.ndarray,
) -> np.ndarray:
    """Smallest eigenvalue of the Hessian of phi at each row of Z (chunked)."""
    d = Z.shape[1]
    base = np.eye(d) + B / (scale[:, None] * scale[None, :])
    out = np.empty(Z.shape[0])
    k = F.shape[0]
    Fs = F / width[None, :]
    for s in range(0, Z.shape[0], 512):
        Zb = Z[s : s + 512]
        H = np.broadcast_to(base, (Zb.shape[0], d, d)).copy()
        if k:
            c, sn, _ = _trig_parts(Zb, coef, F, lower, width)
            w = coef[:k][None, :] * c + coef[k:][None, :] * sn
            H -= (2.0 * np.pi) ** 2 * np.einsum("nk,kd,ke->nde", w, Fs, Fs)
        out[s : s + 512] = np.linalg.eigvalsh(H)[:, 0]
    return out


def _hess_phi(
    Z: Array,
    B: Array,
    coef: Array,
    F: Array,
    scale: Array,
    lower: Array,
    width: Array,
) -> Array:
    """Hessians of phi = |x|^2/2 + psi at the rows of Z: (n, D, D)."""
    d = Z.shape[1]
    H = B / (scale[:, None] * scale[None, :])
    out = jnp.broadcast_to(jnp.eye(d, dtype=Z.dtype) + H, (Z.shape[0], d, d))
    if F.shape[0]:
        zt = (Z - lower[None, :]) / width[None, :]
        Ht = trig_series_hess(zt, F, coef)
        out = out + Ht / (width[None, :, None] * width[None, None, :])
    return out


def _point_trig_terms(
    Z: Array, F: Array, lower: Array, width: Array
) -> tuple[Array, Array, Array]:
    """What the Hessians at fixed points need besides the parameters.

    The cosines and sines of the phases at the rows of ``Z`` (n, K) and the
    frequency outer products ``(F/width)(F/width)^T`` per frequency, flattened to
    (K, D*D): the Hessian is linear in the parameters, so a repair evaluates
    the trigonometric functions once instead of at every evaluation.
    """
    zt = (Z - lower[None, :]) / width[None, :]
    phase = (
        2.0
        * jnp.pi
        * jnp.matmul(zt, F.T.astype(zt.dtype), precision=lax.Precision.HIGHEST)
    )
    Fs = F / width[None, :]
    outer = (Fs[:, :, None] * Fs[:, None, :]).reshape(F.shape[0], -1)
    return jnp.cos(phase), jnp.sin(phase), outer


def _hess_from_terms(
    C: Array, S: Array, outer: Array, B: Array, coef: Array, scale: Array
) -> Array:
    """:func:`_hess_phi` at the points of :func:`_point_trig_terms` (same formula)."""
    d, k = scale.shape[0], C.shape[1]
    base = jnp.eye(d, dtype=B.dtype) + B / (scale[:, None] * scale[None, :])
    w = C * coef[None, :k] + S * coef[None, k:]  # (n, K)
    curv = jnp.matmul(w, outer, precision=lax.Precision.HIGHEST)
    return base[None] - (2.0 * jnp.pi) ** 2 * curv.reshape(C.shape[0], d, d)


# Cost blocks up to this many entries (64 MB in float64) are evaluated in one
# piece by _mean_ctransform, which keeps the soft-min weights for the gradient;
# larger ones go through the chunked (memory-bounded) logsumexp_ctransform.
_FUSED_ENTRIES = 1 << 23


Cost = tuple[Array, Array, Array]


def _cost_terms(X: Array, Y: Array) -> Cost:
    """The fixed part of the cost: inner products and half squared norms.

    Centred at the mean of ``X`` as in
    :func:`mltheory.numerics.logsumexp_ctransform`: ``(Yc Xc^T, |Xc|^2/2,
    |Yc|^2/2)``. It does not depend on the potential, so a fit computes it
    once instead of once per evaluation.
    """
    centre = jnp.mean(X, axis=0)
    Xc = X - centre[None, :]
    Yc = Y - centre[None, :]
    inner = jnp.matmul(Yc, Xc.T, precision=lax.Precision.HIGHEST)
    return inner, 0.5 * jnp.sum(Xc * Xc, axis=1), 0.5 * jnp.sum(Yc * Yc, axis=1)


def _no_cost() -> Cost:
    """Placeholder for problems too large to hold the cost (chunked path)."""
    return jnp.zeros((0, 0)), jnp.zeros(0), jnp.zeros(0)


def _ctransform_terms(
    f: Array, inner: Array, hx: Array, hy: Array, wx: Array, wy: Array, eps: Array
) -> tuple[Array, Array]:
    """The mean ``wy @ g`` and weights ``wy @ P``, g the smoothed c-transform of f.

    The formula of :func:`mltheory.numerics.logsumexp_ctransform` with the
    cost terms of :func:`_cost_terms` (log-weights folded in); ``P[k, i]``
    are the soft-min weights, so that ``d(wy @ g)/df = -wy @ P``.
    """
    base = f - hx + eps * jnp.log(wx)
    S = (base[None, :] + inner) / eps
    top = jnp.max(S, axis=1, keepdims=True)
    E = jnp.exp(S - top)
    total = jnp.sum(E, axis=1, keepdims=True)
    g = hy - eps * (jnp.log(total[:, 0]) + top[:, 0])
    return wy @ g, wy @ (E / total)


@jax.custom_vjp
def _mean_ctransform(
    f: Array, inner: Array, hx: Array, hy: Array, wx: Array, wy: Array, eps: Array
) -> Array:
    """The mean ``wy @ g``, g the smoothed c-transform of f; gradient in f only.

    One exponential per cost entry for value and gradient together (autodiff
    of the log-sum-exp would take a second). Callers pass the other arguments
    through :func:`jax.lax.stop_gradient`: their cotangents are returned as
    zero.
    """
    return _ctransform_terms(f, inner, hx, hy, wx, wy, eps)[0]


def _mean_ctransform_fwd(
    f: Array, inner: Array, hx: Array, hy: Array, wx: Array, wy: Array, eps: Array
) -> tuple[Array, tuple[Array, tuple[Array, ...]]]:
    value, weights = _ctransform_terms(f, inner, hx, hy, wx, wy, eps)
    return value, (weights, (inner, hx, hy, wx, wy, eps))


def _mean_ctransform_bwd(
    res: tuple[Array, tuple[Array, ...]], ct: Array
) -> tuple[Array, ...]:
    weights, rest = res
    return (-ct * weights, *(jnp.zeros_like(a) for a in rest))


_mean_ctransform.defvjp(_mean_ctransform_fwd, _mean_ctransform_bwd)


def _objective(
    theta: Array,
    Phi: Array,
    Xd: Array,
    Yd: Array,
    wx: Array,
    wy: Array,
    eps: Array,
    pen: Array,
    cost: Cost | None = None,
) -> Array:
    """The penalised empirical semi-dual (zero-weight rows are padding).

    ``cost``: the terms of :func:`_cost_terms` for ``(Xd, Yd)`` when the
    caller holds them (empty arrays: use the chunked c-transform).
    """
    psi = jnp.matmul(Phi, theta, precision=lax.Precision.HIGHEST)
    if cost is None and Xd.shape[0] * Yd.shape[0] <= _FUSED_ENTRIES:
        cost = _cost_terms(Xd, Yd)
    if cost is not None and cost[0].size:
        const = tuple(lax.stop_gradient(a) for a in (*cost, wx, wy, eps))
        mean_g = _mean_ctransform(-psi, *const)
    else:
        mean_g = wy @ logsumexp_ctransform(Xd, -psi, Yd, eps, weights=wx)
    return wx @ psi - mean_g + jnp.sum(pen * theta * theta)


@partial(jax.jit, static_argnames=("maxiter",))
def _lbfgs(
    theta0: Array,
    Phi: Array,
    Xd: Array,
    Yd: Array,
    wx: Array,
    wy: Array,
    eps: Array,
    pen: Array,
    tol: Array,
    cost: Cost,
    *,
    maxiter: int,
) -> tuple[Array, Array, Array, Array]:
    def fun(theta: Array) -> Array:
        return _objective(theta, Phi, Xd, Yd, wx, wy, eps, pen, cost)

    opt = optax.lbfgs(memory_size=20)
    value_and_grad = optax.value_and_grad_from_state(fun)

    def step(carry: tuple[Array, Any, Array]) -> tuple[Array, Any, Array]:
        theta, state, it = carry
        value, grad = value_and_grad(theta, state=state)
        updates, state = opt.update(
            grad, state, theta, value=value, grad=grad, value_fn=fun
        )
        return optax.apply_updates(theta, updates), state, it + 1

    def cond(carry: tuple[Array, Any, Array]) -> Array:
        _, state, it = carry
        grad = optax.tree_utils.tree_get(state, "grad")
        return (it == 0) | ((it < maxiter) & (jnp.max(jnp.abs(grad)) > tol))

    init = (theta0, opt.init(theta0), jnp.asarray(0))
    theta, state, it = lax.while_loop(cond, step, init)
    value = optax.tree_utils.tree_get(state, "value")
    grad = optax.tree_utils.tree_get(state, "grad")
    return theta, value, it, jnp.max(jnp.abs(grad))


def _run_lbfgs(
    theta: Array,
    padded: tuple[Any, ...],
    eps: float,
    tol: float,
    opts: _Options,
) -> tuple[Array, float, int, float]:
    """One L-BFGS run on the padded problem."""
    Phi, Xp, Yp, wx, wy, pen, cost = padded
    theta, val, it, gm = _lbfgs(
        theta,
        Phi,
        Xp,
        Yp,
        wx,
        wy,
        jnp.asarray(eps),
        pen,
        jnp.asarray(tol),
        cost,
        maxiter=opts.maxiter,
    )
    return theta, float(val), int(it), float(gm)


# --------------------------------------------------------------------------
# Convexity repair: the semi-dual under the constraint that the Hessian of
# phi is positive semi-definite at the repair's points, by a log-barrier
# (interior-point) Newton method. The constraints are linear matrix
# inequalities in theta and J is convex, so the barrier problems are convex
# and their minimisers follow the central path to the constrained optimum.
# --------------------------------------------------------------------------


def _gemm32(a: Array, b: Array) -> Array:
    """A float32 product returned in float64: for Newton matrices only.

    The Newton matrix only steers the step; the objective, its gradient and
    the line search stay in float64, so the iterates converge to the float64
    minimiser. The products are the repair's cost (three n x p x p or
    m x n x p products per step) and run 3x faster in float32.
    """
    return jnp.matmul(a.astype(jnp.float32), b.astype(jnp.float32)).astype(jnp.float64)


def _semidual_hessian(
    psi: Array,
    Phi: Array,
    Xd: Array,
    Yd: Array,
    wx: Array,
    wy: Array,
    eps: Array,
) -> Array:
    """Hessian in theta of the smoothed semi-dual (the rho term excluded).

    With P the soft-min weights of the c-transform (rows: targets),
    ``(1/eps) Phi^T (diag(P^T wy) - P^T diag(wy) P) Phi``; the target rows
    are taken in chunks so that at most ~2^22 weights are alive at once.
    """
    n, m = Xd.shape[0], Yd.shape[0]
    rows = max(1, min(m, (1 << 22) // n))
    while m % rows:
        rows //= 2
    centre = jnp.mean(Xd, axis=0)
    Xc = Xd - centre[None, :]
    base = -psi - 0.5 * jnp.sum(Xc * Xc, axis=1) + eps * jnp.log(wx)

    def chunk(
        carry: tuple[Array, Array], block: tuple[Array, Array]
    ) -> tuple[tuple[Array, Array], None]:
        r, gram = carry
        Yb, wb = block
        inner = jnp.matmul(Yb - centre[None, :], Xc.T, precision=lax.Precision.HIGHEST)
        S = (base[None, :] + inner) / eps
        E = jnp.exp(S - jnp.max(S, axis=1, keepdims=True))
        P = E / jnp.sum(E, axis=1, keepdims=True)
        G = _gemm32(P * jnp.sqrt(wb)[:, None], Phi)
        return (r + wb @ P, gram + _gemm32(G.T, G)), None

    p = Phi.shape[1]
    blocks = (Yd.reshape(m // rows, rows, -1), wy.reshape(m // rows, rows))
    (r, gram), _ = lax.scan(chunk, (jnp.zeros(n), jnp.zeros((p, p))), blocks)
    return (_gemm32(Phi.T, r[:, None] * Phi) - gram) / eps


def _constraint_rows(
    H: Array,
    hC: Array,
    hS: Array,
    Fs: Array,
    scale: Array,
    *,
    d: int,
    quad: bool,
) -> tuple[Array, Array, Array]:
    """Eigenvalues of the Hessians and the derivatives of their eigenbasis entries.

    For each point i and eigenpair indices j <= l, the row
    ``d(v_j^T H_i v_l)/dtheta`` (H_i is affine in theta): zero on beta,
    ``(v_ja v_lb + v_jb v_la)/(s_a s_b)`` on B (halved on its diagonal) and
    ``-(2 pi)^2 (C or S)_il (F_l.v_j)(F_l.v_l)`` on the trigonometric terms.
    Returns ``(lam (n, d), rows (n, pairs, p), pair_is_diagonal (pairs,))``.
    """
    lam, V = jnp.linalg.eigh(H)
    v = jnp.swapaxes(V, -1, -2)  # v[i, j] is the j-th eigenvector at point i
    jj, ll = np.triu_indices(d)
    proj = jnp.einsum("kd,njd->njk", Fs, v)  # F_l . v_j
    q = proj[:, jj, :] * proj[:, ll, :]
    parts = [jnp.zeros((*q.shape[:2], d), H.dtype)]
    if quad:
        a, b = np.triu_indices(d)
        vj, vl = v[:, jj, :], v[:, ll, :]
        sym = vj[..., a] * vl[..., b] + vj[..., b] * vl[..., a]
        half = jnp.asarray(np.where(a == b, 0.5, 1.0))
        parts.append(sym * (half / (scale[a] * scale[b]))[None, None, :])
    c = (2.0 * jnp.pi) ** 2
    parts += [-c * hC[:, None, :] * q, -c * hS[:, None, :] * q]
    return lam, jnp.concatenate(parts, axis=-1), jnp.asarray(jj == ll)


def _barrier_newton_matrix(
    theta: Array,
    mu: Array,
    Phi: Array,
    Xd: Array,
    Yd: Array,
    wx: Array,
    wy: Array,
    eps: Array,
    pen: Array,
    point_trig: tuple[Array, Array, Array],
    Fs: Array,
    scale: Array,
    *,
    d: int,
    k: int,
    quad: bool,
) -> Array:
    """Hessian of ``J(theta) - mu mean_i log det H_i(theta)`` (float32 products).

    The semi-dual part from its soft-min weights; the barrier part as a sum
    over points and eigenpairs of ``(v_j^T dH_i v_l)^2 / (lam_j lam_l)``,
    each off-diagonal pair counted twice.
    """
    hC, hS, outer = point_trig
    psi = jnp.matmul(Phi, theta, precision=lax.Precision.HIGHEST)
    hess = _semidual_hessian(psi, Phi, Xd, Yd, wx, wy, eps) + 2.0 * jnp.diag(pen)
    _, B, coef = _unpack(theta, d, k, quad)
    H = _hess_from_terms(hC, hS, outer, B, coef, scale)
    lam, rows, diag = _constraint_rows(H, hC, hS, Fs, scale, d=d, quad=quad)
    jj, ll = np.triu_indices(d)
    weight = jnp.where(diag, 1.0, 2.0)[None, :] / (lam[:, jj] * lam[:, ll])
    A = (rows * jnp.sqrt(weight)[..., None]).reshape(-1, theta.shape[0])
    return hess + (mu / hC.shape[0]) * _gemm32(A.T, A)


@partial(jax.jit, static_argnames=("d", "k", "quad", "maxiter"))
def _barrier_newton(
    theta0: Array,
    mu: Array,
    tol: Array,
    Phi: Array,
    Xd: Array,
    Yd: Array,
    wx: Array,
    wy: Array,
    eps: Array,
    pen: Array,
    cost: Cost,
    point_trig: tuple[Array, Array, Array],
    Fs: Array,
    scale: Array,
    *,
    d: int,
    k: int,
    quad: bool,
    maxiter: int,
) -> tuple[Array, Array, Array, Array]:
    """Damped Newton on ``J - mu mean_i log det H_i`` from a feasible point.

    Stops when the Newton decrement ``g^T H^{-1} g`` is at most ``tol`` (an
    upper bound on twice the remaining gap) or after ``maxiter`` steps. The
    backtracking line search rejects any step that leaves a Hessian with a
    non-positive eigenvalue, so every iterate is strictly convex at the
    points. Returns ``(theta, value, steps, last decrement)``.
    """
    p = theta0.shape[0]
    hC, hS, outer = point_trig
    n_pts = hC.shape[0]

    def hessians(theta: Array) -> Array:
        _, B, coef = _unpack(theta, d, k, quad)
        return _hess_from_terms(hC, hS, outer, B, coef, scale)

    def fun(theta: Array) -> Array:
        lam = jnp.linalg.eigvalsh(hessians(theta))
        inside = jnp.all(lam > 0.0)
        log_det = jnp.sum(jnp.log(jnp.where(lam > 0.0, lam, 1.0))) / n_pts
        val = _objective(theta, Phi, Xd, Yd, wx, wy, eps, pen, cost) - mu * log_det
        return jnp.where(inside, val, jnp.inf)

    value_and_grad = jax.value_and_grad(fun)

    def step(carry: tuple[Array, ...]) -> tuple[Array, ...]:
        theta, value, grad, it, _ = carry
        M = _barrier_newton_matrix(
            theta,
            mu,
            Phi,
            Xd,
            Yd,
            wx,
            wy,
            eps,
            pen,
            point_trig,
            Fs,
            scale,
            d=d,
            k=k,
            quad=quad,
        )
        # a Levenberg shift at float32's resolution of the matrix, so that
        # its rounding cannot make the Cholesky factorisation fail
        M = M + (1e-6 * jnp.trace(M) / p + 1e-300) * jnp.eye(p)
        direction = -jax.scipy.linalg.cho_solve((jnp.linalg.cholesky(M), True), grad)
        direction = jnp.where(jnp.all(jnp.isfinite(direction)), direction, -grad)
        slope = grad @ direction

        def shorter(ls: tuple[Array, Array, Array]) -> Array:
            t, val, _ = ls
            return ~(val <= value + 1e-4 * t * slope) & (t > 1e-12)

        def halve(ls: tuple[Array, Array, Array]) -> tuple[Array, Array, Array]:
            t = 0.5 * ls[0]
            val, g = value_and_grad(theta + t * direction)
            return t, val, g

        # start at 0.99 of the longest step that keeps every Hessian positive
        # definite (fraction to the boundary), not at 1: a step past the
        # boundary would only be halved back, one evaluation per halving
        H0 = hessians(theta)
        L = jnp.linalg.cholesky(H0)
        dH = hessians(theta + direction) - H0
        W = jax.scipy.linalg.solve_triangular(L, dH, lower=True)
        W = jax.scipy.linalg.solve_triangular(L, jnp.swapaxes(W, -1, -2), lower=True)
        lowest = jnp.min(jnp.linalg.eigvalsh(0.5 * (W + jnp.swapaxes(W, -1, -2))))
        t0 = jnp.where(lowest < 0.0, jnp.minimum(1.0, -0.99 / lowest), 1.0)
        first = value_and_grad(theta + t0 * direction)
        t, val, g = lax.while_loop(shorter, halve, (t0, *first))
        moved = t > 1e-12
        return (
            jnp.where(moved, theta + t * direction, theta),
            jnp.where(moved, val, value),
            jnp.where(moved, g, grad),
            it + 1,
            jnp.where(moved, -slope, 0.0),
        )

    def cond(carry: tuple[Array, ...]) -> Array:
        _, _, _, it, decrement = carry
        return (it < maxiter) & (decrement > tol)

    value, grad = value_and_grad(theta0)
    init: tuple[Array, ...] = (
        theta0,
        value,
        grad,
        jnp.asarray(0),
        jnp.asarray(jnp.inf),
    )
    theta, value, _, it, decrement = lax.while_loop(cond, step, init)
    return theta, value, it, decrement


def _shrink_to_feasible(theta: np.ndarray, lam_min: np.ndarray, d: int) -> np.ndarray:
    """Scale the curvature part of theta until lambda_min >= 1 - _START_SHRINK.

    The Hessian of phi is ``I + M_i(theta)`` with M linear in (B, a, b), so
    at ``t (B, a, b)`` its eigenvalues are ``1 + t mu_i``: the largest
    admissible t is closed-form from the most negative ``mu_i = lam_min - 1``.
    """
    worst = float(np.max(1.0 - lam_min))
    t = 1.0 if worst <= _START_SHRINK else _START_SHRINK / worst
    out = theta.copy()
    out[d:] *= t
    return out


def _repair_convexity(
    theta: np.ndarray,
    fit: dict[str, Any],
    X: np.ndarray,
    g4: tuple[np.ndarray, ...],
    eps: float,
    scale_cost: float,
    opts: _Options,
) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """Minimise the semi-dual subject to a convex potential at the source points.

    Interior point: from a strictly convex start (the fit with its curvature
    scaled down), Newton on the barrier problems for decreasing weights
    ``mu`` (``_BARRIER_MU`` times the cost scale); the result is strictly
    convex at the repair's points and within ``D mu`` of the constrained
    optimum in objective. Points beyond the work budget are subsampled
    (violators of the unpenalised fit first); violators found afterwards
    are added and the repair restarts from the current, shrunk, iterate.
    Returns ``(theta, lambda_min at every source point, Newton steps,
    converged)``; converged: the last barrier problem met its decrement
    tolerance and no source point is left non-convex.
    """
    F, d, quad = fit["F"], fit["d"], fit["quad"]
    k = F.shape[0]
    p = theta.shape[0]
    Phi, Xp, Yp, wx, wy, pen, cost = fit["padded"]
    Phi, pen = Phi[:, :p], pen[:p]
    Xd = X[:, :d]
    Fj = jnp.asarray(F)
    lower, width = jnp.asarray(g4[2]), jnp.asarray(g4[3])
    Fs = jnp.asarray(F / g4[3][None, :])
    scale = jnp.asarray(g4[1])
    budget = max(256, int(_BARRIER_WORK // (d * (d + 1) // 2 * p * p)))
    pick = np.random.default_rng(opts.random_state)

    def eigs(th: np.ndarray) -> np.ndarray:
        _, B, coef = _unpack_np(th, d, k, quad)
        return _min_eigs_np(Xd, B, coef, F, g4[1], g4[2], g4[3])

    lam = eigs(theta)
    idx = np.arange(X.shape[0])
    if X.shape[0] > budget:
        bad = np.flatnonzero(lam < -_CONVEX_TOL)
        rest = np.setdiff1d(idx, bad)
        fill = pick.choice(rest, max(budget - bad.size, 0), replace=False)
        idx = np.union1d(bad[:budget], fill)
    steps = 0
    for _ in range(3):
        theta = _shrink_to_feasible(theta, lam[idx], d)
        trig = _point_trig_terms(jnp.asarray(Xd[idx]), Fj, lower, width)
        th = jnp.asarray(theta)
        for rel in _BARRIER_MU:
            mu = jnp.asarray(rel * scale_cost)
            th, _, it, decrement = _barrier_newton(
                th,
                mu,
                mu,
                Phi,
                Xp,
                Yp,
                wx,
                wy,
                jnp.asarray(eps),
                pen,
                cost,
                trig,
                Fs,
                scale,
                d=d,
                k=k,
                quad=quad,
                maxiter=_NEWTON_MAXITER,
            )
            steps += int(it)
        theta = np.asarray(th)
        lam = eigs(theta)
        outside = np.setdiff1d(np.flatnonzero(lam < -_CONVEX_TOL), idx)
        if not outside.size:
            break
        idx = np.union1d(idx, outside)
    converged = float(decrement) <= float(mu) and not outside.size
    return theta, lam, steps, converged


def _phi_np(
    Z: np.ndarray,
    d: int,
    parts: tuple[np.ndarray, ...],
    tail: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Value, gradient and Hessian of phi(z) = |z|^2/2 + psi(z_<=d) + <tail, z_>d>."""
    _, B, coef, F, _, scale, lower, width = parts
    head = Z[:, :d]
    val = 0.5 * np.sum(Z * Z, axis=1) + Z[:, d:] @ tail
    grad = Z.copy()
    grad[:, d:] += tail[None, :]
    hess = np.broadcast_to(np.eye(Z.shape[1]), (Z.shape[0], *([Z.shape[1]] * 2))).copy()
    if d:
        val = val + _psi_np(head, *parts)
        grad[:, :d] += _grad_psi_np(head, *parts)
        hess[:, :d, :d] += B / (scale[:, None] * scale[None, :])
        k = F.shape[0]
        if k:
            c, s, _ = _trig_parts(head, coef, F, lower, width)
            w = coef[:k][None, :] * c + coef[k:][None, :] * s
            Fs = F / width[None, :]
            curv = np.einsum("nk,kd,ke->nde", w, Fs, Fs)
            hess[:, :d, :d] -= (2.0 * np.pi) ** 2 * curv
    return val, grad, hess


def _conjugate_np(
    Y: np.ndarray,
    X: np.ndarray,
    d: int,
    parts: tuple[np.ndarray, ...],
    tail: np.ndarray,
) -> np.ndarray:
    """phi*(y) = sup_x <x, y> - phi(x): the best source point, then damped Newton.

    Starting from the maximiser over the cloud ``X`` removes the
    discretisation bias of the discrete conjugate (which depends on the
    curvature of phi, so would bias comparisons between potentials); a step
    is kept only where it increases <x, y> - phi(x), so the result is never
    below the discrete value.
    """
    val_x = _phi_np(X, d, parts, tail)[0]
    out = np.empty(Y.shape[0])
    for s in range(0, Y.shape[0], 512):
        Yb = Y[s : s + 512]
        best = np.argmax(Yb @ X.T - val_x[None, :], axis=1)
        x = X[best].copy()
        cur = np.sum(x * Yb, axis=1) - val_x[best]
        for _ in range(12):
            _, grad, hess = _phi_np(x, d, parts, tail)
            try:
                step = np.linalg.solve(hess, (Yb - grad)[..., None])[..., 0]
            except np.linalg.LinAlgError:  # pragma: no cover - singular Hessian
                break
            t = np.ones(x.shape[0])
            for _ in range(6):
                trial = x + t[:, None] * step
                val = np.sum(trial * Yb, axis=1) - _phi_np(trial, d, parts, tail)[0]
                better = val > cur
                x[better] = trial[better]
                cur[better] = val[better]
                t = np.where(better, 0.0, 0.5 * t)
                if not (t > 0).any():
                    break
        out[s : s + 512] = cur
    return out


# --------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------


class _Options:
    """Validated options of one fit (host side)."""

    def __init__(
        self,
        *,
        rho: float,
        eps: float | None,
        include_quadratic: bool | None,
        tail: str,
        cv: int,
        max_features: int,
        maxiter: int,
        tol: float,
        random_state: int,
        margin: float,
        convexify: bool,
    ) -> None:
        self.rho = check_scalar(rho, name="rho", lower=0.0)
        self.eps = (
            None
            if eps is None
            else check_scalar(eps, name="eps", lower=0.0, lower_inclusive=False)
        )
        self.include_quadratic = (
            None
            if include_quadratic is None
            else check_bool(include_quadratic, "include_quadratic")
        )
        self.tail = check_in(tail, name="tail", options=_TAILS)
        self.cv = check_scalar(cv, name="cv", kind=int, lower=2)
        self.max_features = check_scalar(
            max_features, name="max_features", kind=int, lower=1
        )
        self.maxiter = check_scalar(maxiter, name="maxiter", kind=int, lower=1)
        self.tol = check_scalar(tol, name="tol", lower=0.0, lower_inclusive=False)
        self.random_state = check_scalar(
            random_state, name="random_state", kind=int, lower=0
        )
        self.margin = check_scalar(margin, name="margin", lower=0.0)
        self.convexify = check_bool(convexify, "convexify")

    def quad(self, d: int) -> bool:
        return d <= 64 if self.include_quadratic is None else self.include_quadratic


class _Geometry:
    """Standardisation and box of the source sample, all coordinates."""

    def __init__(self, X: np.ndarray, margin: float) -> None:
        self.center = X.mean(axis=0)
        sd = X.std(axis=0)
        self.scale = np.where(sd > 0, sd, 1.0)
        lo, hi = X.min(axis=0), X.max(axis=0)
        rng = np.where(hi > lo, hi - lo, 1.0)
        self.lower = lo - margin * rng
        self.width = rng * (1.0 + 2.0 * margin)

    def head(self, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.center[:d], self.scale[:d], self.lower[:d], self.width[:d]


def _pow2(n: int) -> int:
    return 1 << max(n - 1, 0).bit_length()


def _pad_rows(A: np.ndarray, rows: int, cols: int, fill_row: bool) -> np.ndarray:
    """Zero-pad to (rows, cols); extra rows copy row 0 when fill_row (finite costs)."""
    out = np.zeros((rows, cols))
    out[: A.shape[0], : A.shape[1]] = A
    if fill_row:
        out[A.shape[0] :, : A.shape[1]] = A[0]
    return out


def _weights(n: int, rows: int) -> np.ndarray:
    w = np.zeros(rows)
    w[:n] = 1.0 / n
    return w


def _cost_scale(X: np.ndarray, Y: np.ndarray) -> float:
    """The median squared distance between source and target points (<= 500 each)."""
    a, b = X[:500], Y[:500]
    d2 = np.sum(a**2, axis=1)[:, None] + np.sum(b**2, axis=1)[None, :] - 2 * a @ b.T
    med = float(np.median(np.maximum(d2, 0.0)))
    return med if med > 0 else 1e-9


def _default_eps(X: np.ndarray, Y: np.ndarray) -> float:
    """1e-3 x the median squared distance between source and target points."""
    return 1e-3 * _cost_scale(X, Y)


def _embed(
    theta: np.ndarray | None, d_old: int, k_old: int, d: int, k: int, quad: bool
) -> np.ndarray:
    """Warm start for a larger sieve (K_T is a prefix of K_T' for T < T')."""
    out = np.zeros(_n_params(d, k, quad))
    if theta is None or d_old == 0:
        return out
    out[:d_old] = theta[:d_old]
    pos_old, pos = d_old, d
    if quad:
        i_old = np.triu_indices(d_old)
        B = np.zeros((d, d))
        B[i_old] = theta[pos_old : pos_old + i_old[0].size]
        i_new = np.triu_indices(d)
        out[pos : pos + i_new[0].size] = B[i_new]
        pos_old += i_old[0].size
        pos += i_new[0].size
    out[pos : pos + k_old] = theta[pos_old : pos_old + k_old]
    out[pos + k : pos + k + k_old] = theta[pos_old + k_old : pos_old + 2 * k_old]
    return out


def _penalty(
    gamma: GammaSmoothness, F: np.ndarray, d: int, quad: bool, rho: float
) -> np.ndarray:
    pen = np.zeros(_n_params(d, F.shape[0], quad))
    if rho > 0 and F.shape[0]:
        weights = rho * 2.0 ** (2.0 * gamma.price(F))
        pen[-2 * F.shape[0] :] = np.concatenate([weights, weights])
    return pen


def _solve_T(
    X: np.ndarray,
    Y: np.ndarray,
    gamma: GammaSmoothness,
    T: float,
    geom: _Geometry,
    opts: _Options,
    *,
    eps: float,
    stages: int,
    theta0: np.ndarray | None = None,
    final_tol: float | None = None,
) -> dict[str, Any]:
    """Minimise the semi-dual at budget T; no convexity repair."""
    F = gamma.frequency_set(T, opts.max_features)
    d, k = F.shape[1], F.shape[0]
    quad = opts.quad(d)
    Xd, Yd = X[:, :d], Y[:, :d]
    g4 = geom.head(d)
    # Shapes are padded so that few solvers get compiled: samples to a power of
    # two (zero weights), coordinates to at least 4 (zero columns add nothing
    # to the cost), parameters to a power of 4 (zero features, zero gradient).
    p = _n_params(d, k, quad)
    p_pad = max(64, 1 << (2 * (((p - 1).bit_length() + 1) // 2)))
    n, m = Xd.shape[0], Yd.shape[0]
    n_pad, m_pad, d_pad = _pow2(n), _pow2(m), max(4, _pow2(d))
    Phi = jnp.asarray(_pad_rows(_design_np(Xd, F, *g4, quad), n_pad, p_pad, False))
    Xp = jnp.asarray(_pad_rows(Xd, n_pad, d_pad, True))
    Yp = jnp.asarray(_pad_rows(Yd, m_pad, d_pad, True))
    wx, wy = jnp.asarray(_weights(n, n_pad)), jnp.asarray(_weights(m, m_pad))
    pen = jnp.asarray(np.pad(_penalty(gamma, F, d, quad, opts.rho), (0, p_pad - p)))
    start = np.zeros(p) if theta0 is None else theta0
    theta = jnp.asarray(np.pad(start, (0, p_pad - p)))
    total = 0
    value = gmax = np.nan
    # the cost does not change during the fit: computed once when it fits in
    # memory (the chunked c-transform recomputes it per evaluation otherwise)
    cost = _cost_terms(Xp, Yp) if n_pad * m_pad <= _FUSED_ENTRIES else _no_cost()
    padded = (Phi, Xp, Yp, wx, wy, pen, cost)
    for s in range(stages - 1, -1, -1):
        # Earlier (smoother) stages only warm-start the last: a loose tolerance.
        last = opts.tol if final_tol is None else final_tol
        tol = last if s == 0 else max(last, _STAGE_TOL)
        theta, value, it, gmax = _run_lbfgs(theta, padded, eps * 2.0**s, tol, opts)
        total += it
    return {
        "theta": np.asarray(theta)[:p],
        "theta_pad": theta,
        "F": F,
        "d": d,
        "quad": quad,
        "value": float(value),
        "gmax": float(gmax),
        "n_iter": total,
        "padded": padded,
    }


def _heldout_score(
    fit: dict[str, Any],
    Xv: np.ndarray,
    Yv: np.ndarray,
    geom: _Geometry,
    shift: np.ndarray,
    d_max: int,
) -> float:
    """Held-out semi-dual on the first d_max coordinates.

    d_max is the most any candidate budget activates: beyond it every
    candidate applies the same tail rule, whose contribution cancels.
    """
    d, F, quad = fit["d"], fit["F"], fit["quad"]
    beta, B, coef = _unpack_np(fit["theta"], d, F.shape[0], quad)
    parts = (beta, B, coef, F.astype(np.float64), *geom.head(d))
    Xh, Yh = Xv[:, :d_max], Yv[:, :d_max]
    tail = shift[d:d_max]
    phi = _phi_np(Xh, d, parts, tail)[0]
    conj = _conjugate_np(Yh, Xh, d, parts, tail)
    return float(np.mean(phi) + np.mean(conj))


def _candidates(gamma: GammaSmoothness, n_train: int, opts: _Options) -> list[float]:
    budgets = gamma.budgets(opts.max_features)
    keep = [
        float(T)
        for T in budgets
        if _n_params(
            gamma.active_dim(T), gamma.n_features(T), opts.quad(gamma.active_dim(T))
        )
        <= max(n_train // 2, 1)
    ]
    if len(keep) > _MAX_CANDIDATES:
        idx = np.unique(np.round(np.linspace(0, len(keep) - 1, _MAX_CANDIDATES)))
        keep = [keep[int(i)] for i in idx]
    return keep


def _select_T(
    X: np.ndarray, Y: np.ndarray, gamma: GammaSmoothness, opts: _Options
) -> tuple[float, dict[str, Any]]:
    n, m = X.shape[0], Y.shape[0]
    rng = np.random.default_rng(opts.random_state)
    fx = np.array_split(rng.permutation(n), opts.cv)
    fy = np.array_split(rng.permutation(m), opts.cv)
    # Every fold trains on the same number of points (one compiled solver).
    n_train = n - max(len(f) for f in fx)
    m_train = m - max(len(f) for f in fy)
    cands = _candidates(gamma, n_train, opts)
    if not cands:
        raise ValueError(
            "T='auto' found no budget with 1 <= |K_T| <= max_features and at most "
            f"n_train/2 = {n_train // 2} parameters; give T explicitly or use more "
            "samples."
        )
    d_max = max(gamma.active_dim(T) for T in cands)
    scores = np.zeros((opts.cv, len(cands)))
    for fold in range(opts.cv):
        tr_x = np.setdiff1d(np.arange(n), fx[fold])[:n_train]
        tr_y = np.setdiff1d(np.arange(m), fy[fold])[:m_train]
        Xt, Yt, Xv, Yv = X[tr_x], Y[tr_y], X[fx[fold]], Y[fy[fold]]
        geom = _Geometry(Xt, opts.margin)
        shift = Yt.mean(axis=0) - Xt.mean(axis=0)
        if opts.tail != "mean_shift":
            shift = np.zeros_like(shift)
        prev: dict[str, Any] | None = None
        for j, T in enumerate(cands):
            d = gamma.active_dim(T)
            eps = (
                opts.eps if opts.eps is not None else _default_eps(Xt[:, :d], Yt[:, :d])
            )
            k = gamma.n_features(T)
            theta0: np.ndarray | None = None
            if prev is not None:
                theta0 = _embed(
                    prev["theta"], prev["d"], prev["F"].shape[0], d, k, opts.quad(d)
                )
            fit = _solve_T(
                Xt,
                Yt,
                gamma,
                T,
                geom,
                opts,
                eps=eps,
                stages=1 if prev else 2,
                theta0=theta0,
                final_tol=max(opts.tol, _CV_TOL),
            )
            scores[fold, j] = _heldout_score(fit, Xv, Yv, geom, shift, d_max)
            prev = fit
    mean = scores.mean(axis=0)
    best = int(np.argmin(mean))
    results = {
        "T": np.asarray(cands),
        "n_features": np.asarray([gamma.n_features(T) for T in cands]),
        "dim": np.asarray([gamma.active_dim(T) for T in cands]),
        "mean_score": mean,
        "std_score": scores.std(axis=0),
        "scores": scores,
    }
    return cands[best], results


def _restrict(gamma: GammaSmoothness, p: int) -> GammaSmoothness:
    w = gamma.weights
    kind: Any = gamma.kind
    return gamma if w.size <= p else GammaSmoothness(w[:p], kind)


def _fit(
    X: np.ndarray, Y: np.ndarray, gamma: GammaSmoothness, T: Any, opts: _Options
) -> tuple[OTMapResult, dict[str, Any] | None]:
    p = X.shape[1]
    g = _restrict(gamma, p)
    cv_results = None
    if isinstance(T, str):
        check_in(T, name="T", options=("auto",))
        T, cv_results = _select_T(X, Y, g, opts)
    else:
        T = check_scalar(T, name="T", lower=0.0)
        count = g.n_features(T)
        if count > opts.max_features:
            raise ValueError(
                f"the frequency set at T={T:g} has |K_T| = {count} > max_features = "
                f"{opts.max_features}; lower T or raise max_features."
            )
    d = g.active_dim(T)
    geom = _Geometry(X, opts.margin)
    shift = Y[:, d:].mean(axis=0) - X[:, d:].mean(axis=0)
    if opts.tail != "mean_shift":
        shift = np.zeros_like(shift)
    if d == 0:
        warnings.warn(
            f"T={T:g} is below a_1={g.weights[0]:g}: the sieve is empty and the map "
            "is the tail rule on every coordinate (a mean shift by default).",
            UserWarning,
            stacklevel=3,
        )
        result = OTMapResult(
            frequencies=jnp.zeros((0, 0), jnp.int64),
            coef=jnp.zeros(0),
            linear=jnp.zeros(0),
            quadratic=jnp.zeros((0, 0)),
            center=jnp.zeros(0),
            scale=jnp.zeros(0),
            lower=jnp.zeros(0),
            width=jnp.zeros(0),
            tail_shift=jnp.asarray(shift),
            objective=jnp.asarray(0.0),
            epsilon=jnp.asarray(0.0),
            convexity_violation=jnp.asarray(0.0),
            violation_fraction=jnp.asarray(0.0),
            n_iter=jnp.asarray(0),
            T=float(T),
            dim=0,
            n_coefficients=p,
            tail=opts.tail,
            converged=True,
        )
        return result, cv_results
    eps = opts.eps if opts.eps is not None else _default_eps(X[:, :d], Y[:, :d])
    fit = _solve_T(X, Y, g, T, geom, opts, eps=eps, stages=_N_STAGES)
    F, quad = fit["F"], fit["quad"]
    theta = np.asarray(fit["theta"])
    k = F.shape[0]
    Fj = jnp.asarray(F)
    g4 = geom.head(d)
    _, B, coef = _unpack_np(theta, d, k, quad)
    lam = _min_eigs_np(X[:, :d], B, coef, F, g4[1], g4[2], g4[3])
    bad = lam < -_CONVEX_TOL
    n_iter = fit["n_iter"]
    # without a repair, convergence is that of the L-BFGS fit; with one, that
    # of the repair (it starts from a shrunk copy of the fit, so the fit's
    # own accuracy does not carry over)
    converged = fit["gmax"] <= opts.tol
    message = (
        f"L-BFGS stopped after maxiter={opts.maxiter} iterations with gradient "
        f"{fit['gmax']:.2e} > tol={opts.tol:g}; raise maxiter or tol."
    )
    if bad.any() and opts.convexify:
        scale = _cost_scale(X[:, :d], Y[:, :d])
        theta, lam, steps, converged = _repair_convexity(
            theta, fit, X, g4, eps, scale, opts
        )
        message = (
            f"the convexity repair stopped after {steps} Newton steps short of its "
            "tolerance; the potential is convex at the points but not the "
            "constrained optimum. Lower T or raise rho."
        )
        bad = lam < -_CONVEX_TOL
        n_iter += steps
        Phi, Xp, Yp, wx, wy, pen, cost = fit["padded"]
        n_par = theta.shape[0]
        fit["value"] = float(
            _objective(
                jnp.asarray(theta),
                Phi[:, :n_par],
                Xp,
                Yp,
                wx,
                wy,
                jnp.asarray(eps),
                pen[:n_par],
                cost,
            )
        )
    if not np.isfinite(fit["value"]) or not np.isfinite(np.asarray(theta)).all():
        raise DivergenceError(
            f"the semi-dual became non-finite at T={T:g} (eps={eps:.3g}); the "
            "smoothing is too small for the data scale: pass a larger eps."
        )
    if not converged:
        warnings.warn(message, ConvergenceWarning, stacklevel=3)
    if bad.any():
        warnings.warn(
            f"the fitted potential is not convex at {bad.mean():.1%} of the source "
            f"points (smallest Hessian eigenvalue {lam.min():.3g}); the map is not "
            "an OT map there. Lower T or raise rho.",
            UserWarning,
            stacklevel=3,
        )
    beta, B, coef = _unpack_np(np.asarray(theta), d, k, quad)
    result = OTMapResult(
        frequencies=Fj,
        coef=jnp.asarray(coef),
        linear=jnp.asarray(beta),
        quadratic=jnp.asarray(B),
        center=jnp.asarray(g4[0]),
        scale=jnp.asarray(g4[1]),
        lower=jnp.asarray(g4[2]),
        width=jnp.asarray(g4[3]),
        tail_shift=jnp.asarray(shift),
        objective=jnp.asarray(fit["value"]),
        epsilon=jnp.asarray(eps),
        convexity_violation=jnp.asarray(max(0.0, -float(lam.min()))),
        violation_fraction=jnp.asarray(float(bad.mean())),
        n_iter=jnp.asarray(n_iter),
        T=float(T),
        dim=d,
        n_coefficients=p,
        tail=opts.tail,
        converged=bool(converged),
    )
    return result, cv_results


def fit_gamma_sieve_map(
    X: ArrayLike,
    Y: ArrayLike,
    gamma: GammaSmoothness,
    T: float | Literal["auto"] = "auto",
    *,
    rho: float = 0.0,
    eps: float | None = None,
    include_quadratic: bool | None = None,
    tail: Tail = "mean_shift",
    cv: int = 5,
    max_features: int = 4096,
    maxiter: int = 500,
    tol: float = 1e-7,
    random_state: int = 0,
    margin: float = 0.0,
    convexify: bool = True,
) -> OTMapResult:
    r"""Fit the gamma-sieve semi-dual OT-map estimator on coefficient arrays.

    See the module notes for the estimator. Steps: (1) budget :math:`T`
    given or chosen by ``cv``-fold cross-validation of the held-out
    semi-dual (on the coordinates the largest candidate activates, exact
    discrete conjugate over the held-out source points) over up to six
    budgets where :math:`K_T` grows, with at most ``n_train/2`` parameters
    (folds warm-start each budget from the previous one); (2) L-BFGS on
    :math:`\hat J` at :math:`\varepsilon \cdot 2^3, 2^2, 2, 1` (warm
    starts; the first three stages stop at gradient :math:`10^{-4}`); (3) the
    Hessian of :math:`\varphi` is checked on the source sample and, if it
    has eigenvalues below :math:`-10^{-6}`, the last stage is refitted with a
    penalty :math:`\kappa\,\overline{\sum_j f(\lambda_j)}` on a smoothed
    squared negative part :math:`f \approx \min(\lambda, 0)^2` of the
    Hessian spectra at the source points, :math:`\kappa` rising from
    :math:`10^2` to :math:`10^4` times the median squared distance.

    Parameters
    ----------
    X : array_like of shape (n, p)
        Source coefficients (first coordinates first), ``n >= 2``.
    Y : array_like of shape (m, p)
        Target coefficients, unpaired with ``X``.
    gamma : GammaSmoothness
        The smoothness class (weights beyond ``p`` are ignored).
    T : float or "auto", default="auto"
        The budget.
    rho : float, default=0.0
        Penalty :math:`\rho \ge 0` on :math:`2^{2\gamma(s(\ell))}`-weighted
        squared trigonometric coefficients.
    eps : float or None, default=None
        Final smoothing; ``None`` means :math:`10^{-3}` times the median
        squared distance between source and target points (active
        coordinates).
    include_quadratic : bool or None, default=None
        Add the quadratic block :math:`\tfrac12 u^\top B u` (needed for
        linear maps); ``None`` means ``dim <= 64``.
    tail : {"mean_shift", "identity", "zero"}, default="mean_shift"
        Map of the coordinates beyond ``dim``: shift by the difference of
        sample means, keep, or set to zero.
    cv : int, default=5
        Folds of the budget selection, ``>= 2``.
    max_features : int, default=4096
        Largest :math:`|K_T|`.
    maxiter : int, default=500
        L-BFGS iterations per annealing stage.
    tol : float, default=1e-7
        Stop when the largest gradient entry is below ``tol``.
    random_state : int, default=0
        Seed of the fold split.
    margin : float, default=0.0
        Relative margin of the box around the source sample's range.
    convexify : bool, default=True
        If the fitted potential is not convex at some source points, replace
        the fit by the semi-dual's minimiser under convexity at every source
        point (an interior-point Newton method).

    Returns
    -------
    OTMapResult
        The fitted map and its diagnostics.

    Raises
    ------
    ValueError
        If ``X``/``Y`` are not finite 2-D arrays with the same number of
        coefficients and at least 2 rows, an option is out of range,
        :math:`|K_T|` exceeds ``max_features``, or ``T="auto"`` finds no
        admissible budget.
    TypeError
        If an input is complex or ``gamma`` is not a
        :class:`GammaSmoothness`.
    mltheory.exceptions.DivergenceError
        If the objective becomes non-finite.

    Warns
    -----
    ConvergenceWarning
        If L-BFGS stops at ``maxiter``.
    UserWarning
        If ``T < a_1`` (empty sieve: tail rule only) or the potential stays
        non-convex.

    See Also
    --------
    GammaSieveOTMap : The scikit-learn-style estimator over this function.

    Examples
    --------
    >>> from mltheory.stats import ot
    >>> pair = ot.datasets.make_gamma_smooth_pair(300, J0=2, n_coefficients=4)
    >>> gamma = ot.GammaSmoothness([1.0, 4.0])
    >>> res = ot.fit_gamma_sieve_map(pair.X, pair.Y, gamma, T=2.0)
    >>> res.dim, res.frequencies.shape[0]
    (1, 3)
    """
    if not isinstance(gamma, GammaSmoothness):
        raise TypeError(f"gamma must be a GammaSmoothness; got {describe(gamma)}.")
    opts = _Options(
        rho=rho,
        eps=eps,
        include_quadratic=include_quadratic,
        tail=tail,
        cv=cv,
        max_features=max_features,
        maxiter=maxiter,
        tol=tol,
        random_state=random_state,
        margin=margin,
        convexify=convexify,
    )
    if not isinstance(T, str | int | float | np.floating | np.integer) or isinstance(
        T, bool
    ):
        raise TypeError(f"T must be a number or 'auto'; got {describe(T)}.")
    Xa, Ya = check_pair(X, Y)
    with float64_scope():
        result, _ = _fit(Xa, Ya, gamma, T, opts)
    return result


def _fit_with_cv(
    X: np.ndarray, Y: np.ndarray, gamma: GammaSmoothness, T: Any, opts: _Options
) -> tuple[OTMapResult, dict[str, Any] | None]:
    """Entry for the estimator classes (already validated inputs)."""
    with float64_scope():
        return _fit(X, Y, gamma, T, opts)
