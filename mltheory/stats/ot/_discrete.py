r"""Discrete and entropic OT between point clouds: the baselines of the map estimators.

* :func:`empirical_ot_assignment`: the exact optimal matching of two equal
  samples (a linear assignment problem with cost
  :math:`\tfrac12\lVert X_i - Y_k\rVert^2`).
* :func:`entropic_map`: log-domain Sinkhorn potentials and the entropic map
  of Pooladian and Niles-Weed (arXiv:2109.12004),
  :math:`T_\varepsilon(x) = \sum_k \operatorname{softmax}_k\big((g_k -
  \tfrac12\lVert x - Y_k\rVert^2)/\varepsilon + \log b_k\big) Y_k`.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from mltheory._src._pytree import pytree_dataclass, static_field
from mltheory._src._typing import Array, ArrayLike
from mltheory._src._validation import as_numpy, check_scalar
from mltheory.numerics import logsumexp_ctransform, solve_assignment

__all__ = ["EntropicMap", "empirical_ot_assignment", "entropic_map"]


def _check_pair(
    X: Any, Y: Any, *, same_size: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Finite real 2-D arrays with the same number of columns (float64)."""
    for arr, name in ((X, "X"), (Y, "Y")):
        if (
            np.iscomplexobj(np.asarray(arr))
            if not hasattr(arr, "dtype")
            else np.issubdtype(arr.dtype, np.complexfloating)
        ):
            raise TypeError(f"{name} must be real; got a complex array.")
    Xa = as_numpy(X, name="X", ndim=2, shape_hint="(n, D)")
    Ya = as_numpy(Y, name="Y", ndim=2, shape_hint="(m, D)")
    if Xa.shape[1] != Ya.shape[1]:
        raise ValueError(
            "X and Y must be finite 2-D arrays with the same number of "
            f"coefficients; got X of shape {Xa.shape} and Y of shape {Ya.shape}."
        )
    for arr, name in ((Xa, "X"), (Ya, "Y")):
        if arr.shape[0] < 2:
            raise ValueError(
                f"{name} must hold at least 2 samples; got shape {arr.shape}."
            )
    if same_size and Xa.shape[0] != Ya.shape[0]:
        raise ValueError(
            "X and Y must have the same number of samples for an assignment; got "
            f"{Xa.shape[0]} and {Ya.shape[0]}."
        )
    return Xa, Ya


def _sq_cost(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    c = 0.5 * (X.mean(axis=0) + Y.mean(axis=0))
    Xc, Yc = X - c, Y - c
    C = (
        0.5 * (np.sum(Xc**2, axis=1)[:, None] + np.sum(Yc**2, axis=1)[None, :])
        - Xc @ Yc.T
    )
    return np.maximum(C, 0.0)


def empirical_ot_assignment(X: ArrayLike, Y: ArrayLike) -> np.ndarray:
    r"""Optimal matching of two samples of equal size, quadratic cost.

    Solves :math:`\min_\sigma \sum_i \tfrac12\lVert X_i - Y_{\sigma(i)}
    \rVert^2` over permutations (the discrete OT problem between two uniform
    empirical measures with :math:`n` atoms each), with
    :func:`mltheory.numerics.solve_assignment`.

    Parameters
    ----------
    X : array_like of shape (n, D)
        Source sample.
    Y : array_like of shape (n, D)
        Target sample.

    Returns
    -------
    numpy.ndarray of shape (n,) and dtype int64
        ``perm[i]`` is the target matched to source ``i``.

    Raises
    ------
    ValueError
        If the arrays are not finite 2-D arrays with the same shape, or have
        fewer than 2 rows.
    TypeError
        If an input is complex or not numeric.

    See Also
    --------
    ProjectedOTMap : ``inner="emd"`` extends the matching out of sample.

    Examples
    --------
    >>> from mltheory.stats import ot
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> ot.empirical_ot_assignment(X, X[::-1] + 5.0).tolist()  # monotone in 1-D
    [2, 1, 0]
    """
    Xa, Ya = _check_pair(X, Y, same_size=True)
    return solve_assignment(_sq_cost(Xa, Ya))


@partial(jax.jit, static_argnames=("max_iter",))
def _sinkhorn(
    X: Array,
    Y: Array,
    log_a: Array,
    log_b: Array,
    eps: Array,
    f0: Array,
    tol: Array,
    *,
    max_iter: int,
) -> tuple[Array, Array, Array, Array]:
    a = jnp.exp(log_a)

    def body(
        state: tuple[Array, Array, Array, Array],
    ) -> tuple[Array, Array, Array, Array]:
        f, _, it, _ = state
        g = logsumexp_ctransform(X, f, Y, eps, weights=a)
        f_new = logsumexp_ctransform(Y, g, X, eps, weights=jnp.exp(log_b))
        # With g = f^c the columns are exact; the rows sum to a e^{(f - f_new)/eps}.
        err = jnp.sum(a * jnp.abs(jnp.expm1((f - f_new) / eps)))
        return f_new, g, it + 1, err

    def cond(state: tuple[Array, Array, Array, Array]) -> Array:
        _, _, it, err = state
        return (it < max_iter) & (err > tol)

    init = (
        f0,
        jnp.zeros(Y.shape[0], X.dtype),
        jnp.asarray(0),
        jnp.asarray(jnp.inf, X.dtype),
    )
    return lax.while_loop(cond, body, init)


@pytree_dataclass
class EntropicMap:
    r"""The entropic OT map from Sinkhorn potentials (Pooladian–Niles-Weed).

    Calling it transports points:
    :math:`T_\varepsilon(x) = \sum_k \pi_k(x) Y_k` with
    :math:`\pi_k(x) \propto b_k \exp((g_k - \tfrac12\lVert x -
    Y_k\rVert^2)/\varepsilon)`; it is the gradient of the convex potential
    :math:`\tfrac12\lVert x\rVert^2 - g^{c,\varepsilon}(x)`.

    Parameters
    ----------
    Y : jax.Array of shape (m, D)
        Target sample.
    g : jax.Array of shape (m,)
        Target potential.
    f : jax.Array of shape (n,)
        Source potential at the source sample.
    log_b : jax.Array of shape (m,)
        Log target weights.
    epsilon : jax.Array of shape ()
        The entropic regularisation.
    marginal_error : jax.Array of shape ()
        L1 error of the plan's source marginal at the last iteration.
    n_iter : jax.Array of shape ()
        Sinkhorn iterations run (all scaling stages).
    converged : bool
        Whether ``marginal_error`` met the tolerance.

    Examples
    --------
    >>> from mltheory.stats import ot
    >>> X = np.random.default_rng(0).standard_normal((50, 2))
    >>> T = ot.entropic_map(X, X + 3.0, 0.1)
    >>> np.round(np.asarray(T(X[:1]) - X[:1]), 2).tolist()
    [[3.0, 3.0]]
    """

    Y: Array
    g: Array
    f: Array
    log_b: Array
    epsilon: Array
    marginal_error: Array
    n_iter: Array
    converged: bool = static_field()

    def __call__(self, x: ArrayLike) -> np.ndarray:
        """Transport points (see :meth:`transport`).

        Parameters
        ----------
        x : array_like of shape (k, D)
            Points.

        Returns
        -------
        numpy.ndarray of shape (k, D)
            Their images.

        Examples
        --------
        >>> from mltheory.stats import ot
        >>> X = np.random.default_rng(1).standard_normal((20, 1))
        >>> ot.entropic_map(X, X, 0.05)(X).shape
        (20, 1)
        """
        return self.transport(x)

    def transport(self, x: ArrayLike) -> np.ndarray:
        """The entropic map at ``x``.

        Parameters
        ----------
        x : array_like of shape (k, D)
            Points.

        Returns
        -------
        numpy.ndarray of shape (k, D)
            Their images.

        Raises
        ------
        ValueError
            If ``x`` is not finite 2-D with ``D`` columns.

        Examples
        --------
        >>> from mltheory.stats import ot
        >>> X = np.random.default_rng(2).standard_normal((20, 1))
        >>> ot.entropic_map(X, 2 * X, 0.05).transport([[0.0]]).shape
        (1, 1)
        """
        Z = as_numpy(x, name="x", ndim=2, shape_hint="(k, D)")
        if Z.shape[1] != self.Y.shape[1]:
            raise ValueError(
                f"x must have {self.Y.shape[1]} columns; got shape {Z.shape}."
            )
        return np.asarray(
            _entropic_transport(
                jnp.asarray(Z), self.Y, self.g, self.log_b, self.epsilon
            )
        )

    def potential(self, x: ArrayLike) -> np.ndarray:
        r"""The convex potential :math:`\tfrac12\lVert x\rVert^2 - g^{c,\varepsilon}`.

        Parameters
        ----------
        x : array_like of shape (k, D)
            Points.

        Returns
        -------
        numpy.ndarray of shape (k,)
            Potential values (their gradient is :meth:`transport`).

        Examples
        --------
        >>> from mltheory.stats import ot
        >>> X = np.random.default_rng(3).standard_normal((20, 1))
        >>> ot.entropic_map(X, X, 0.05).potential(X).shape
        (20,)
        """
        Z = as_numpy(x, name="x", ndim=2, shape_hint="(k, D)")
        gc = logsumexp_ctransform(
            self.Y, self.g, jnp.asarray(Z), self.epsilon, weights=jnp.exp(self.log_b)
        )
        return 0.5 * np.sum(Z**2, axis=1) - np.asarray(gc)


@jax.jit
def _entropic_transport(
    Z: Array, Y: Array, g: Array, log_b: Array, eps: Array
) -> Array:
    chunk = max(1, min(Z.shape[0], 2**22 // max(Y.shape[0], 1)))
    yc = jnp.mean(Y, axis=0)
    Yc = Y - yc[None, :]
    base = g - 0.5 * jnp.sum(Yc * Yc, axis=1) + eps * log_b

    def block(Zb: Array) -> Array:
        logits = (base[None, :] + (Zb - yc[None, :]) @ Yc.T) / eps
        return jax.nn.softmax(logits, axis=1) @ Y

    k = Z.shape[0]
    n_chunks = -(-k // chunk)
    if n_chunks == 1:
        return block(Z)
    pad = n_chunks * chunk - k
    Zp = jnp.concatenate([Z, jnp.broadcast_to(Z[:1], (pad, Z.shape[1]))], axis=0)
    out = lax.map(block, Zp.reshape(n_chunks, chunk, Z.shape[1]))
    return out.reshape(-1, Y.shape[1])[:k]


def _mean_cost(X: np.ndarray, Y: np.ndarray) -> float:
    """Mean of |x - y|^2 / 2 over all pairs, from moments (O((n + m) D))."""
    return 0.5 * float(
        np.sum(X.var(axis=0))
        + np.sum(Y.var(axis=0))
        + np.sum((X.mean(axis=0) - Y.mean(axis=0)) ** 2)
    )


def entropic_map(
    X: ArrayLike,
    Y: ArrayLike,
    epsilon: float | None = None,
    *,
    max_iter: int = 5000,
    tol: float = 1e-4,
) -> EntropicMap:
    r"""Sinkhorn between two samples and the entropic map it defines.

    Log-domain Sinkhorn with uniform weights and cost
    :math:`\tfrac12\lVert x - y\rVert^2`, alternating the smoothed
    c-transforms (:func:`mltheory.numerics.logsumexp_ctransform`), with
    :math:`\varepsilon`-scaling (stages :math:`\varepsilon 4^k` down to
    :math:`\varepsilon`) when :math:`\varepsilon` is below 5% of the mean
    cost.

    Parameters
    ----------
    X : array_like of shape (n, D)
        Source sample.
    Y : array_like of shape (m, D)
        Target sample.
    epsilon : float or None, default=None
        Regularisation :math:`\varepsilon > 0`; ``None`` means 5% of the mean
        pairwise cost.
    max_iter : int, default=5000
        Iterations per scaling stage.
    tol : float, default=1e-4
        L1 error of the source marginal at which Sinkhorn stops (the total
        mass is 1).

    Returns
    -------
    EntropicMap
        The potentials and the callable map.

    Raises
    ------
    ValueError
        If the samples are not finite 2-D arrays with the same number of
        columns and at least 2 rows, or ``epsilon``/``max_iter``/``tol`` are
        not positive.
    TypeError
        If an input is complex or not numeric.

    Warns
    -----
    ConvergenceWarning
        If Sinkhorn stops at ``max_iter`` above ``tol``.

    See Also
    --------
    ProjectedOTMap : ``inner="entropic"`` uses it on truncated coordinates.

    References
    ----------
    .. [1] A.-A. Pooladian and J. Niles-Weed, "Entropic estimation of optimal
       transport maps", arXiv:2109.12004, 2021.

    Examples
    --------
    >>> from mltheory.stats import ot
    >>> X = np.random.default_rng(0).standard_normal((100, 2))
    >>> T = ot.entropic_map(X, 2.0 * X, 0.01)
    >>> bool(T.converged)
    True
    """
    import warnings

    from mltheory.exceptions import ConvergenceWarning

    Xa, Ya = _check_pair(X, Y)
    max_iter = check_scalar(max_iter, name="max_iter", kind=int, lower=1)
    tol = check_scalar(tol, name="tol", lower=0.0, lower_inclusive=False)
    scale = _mean_cost(Xa, Ya)
    if epsilon is None:
        eps = 0.05 * scale
    else:
        eps = check_scalar(epsilon, name="epsilon", lower=0.0, lower_inclusive=False)
    stages = [eps]
    while stages[-1] < 0.05 * scale and len(stages) < 30:
        stages.append(stages[-1] * 4.0)
    Xj, Yj = jnp.asarray(Xa), jnp.asarray(Ya)
    log_a = jnp.full((Xa.shape[0],), -math.log(Xa.shape[0]))
    log_b = jnp.full((Ya.shape[0],), -math.log(Ya.shape[0]))
    f = jnp.zeros(Xa.shape[0])
    total = 0
    err = jnp.asarray(np.inf)
    g = jnp.zeros(Ya.shape[0])
    for e in stages[::-1]:
        f, g, it, err = _sinkhorn(
            Xj, Yj, log_a, log_b, jnp.asarray(e), f, jnp.asarray(tol), max_iter=max_iter
        )
        total += int(it)
    converged = bool(err <= tol)
    if not np.isfinite(float(err)):
        from mltheory.exceptions import DivergenceError

        raise DivergenceError(
            "Sinkhorn potentials became non-finite; increase epsilon."
        )
    if not converged:
        warnings.warn(
            f"Sinkhorn stopped after {max_iter} iterations with marginal error "
            f"{float(err):.2e} > tol={tol:g}; increase max_iter or epsilon.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return EntropicMap(
        Y=Yj,
        g=g,
        f=f,
        log_b=log_b,
        epsilon=jnp.asarray(eps),
        marginal_error=err,
        n_iter=jnp.asarray(total),
        converged=converged,
    )
