"""Bandit environments: pre-drawn contexts, mean rewards and noise.

A :class:`BanditInstance` holds everything random about one bandit run (the
contexts of every arm at every round, the mean rewards and the noise), so that
every policy run on it sees the same randomness and regrets compare exactly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from mltheory import numerics
from mltheory._src._pytree import pytree_dataclass, static_field
from mltheory._src._typing import Array, ArrayLike
from mltheory._src._validation import (
    as_array,
    check_callable,
    check_in,
    check_scalar,
    describe,
)

__all__ = [
    "BanditInstance",
    "instance_from_arrays",
    "make_instance",
]

RewardName = Literal["linear", "tanh", "quadratic_tanh"]
ContextName = Literal["gaussian", "rademacher"]
SpectrumName = Literal["isotropic", "decaying"]

_REWARDS: dict[str, Callable[[Array], Array]] = {
    "linear": lambda u: u,
    "tanh": lambda u: jnp.tanh(2.0 * u),
    "quadratic_tanh": lambda u: jnp.tanh(2.0 * u) + 0.5 * u * u,
}


@pytree_dataclass
class BanditInstance:
    r"""One realisation of a K-armed contextual bandit over T rounds.

    Everything random is drawn in advance, so every policy run on the same
    instance sees the same contexts and the same noise.

    Parameters
    ----------
    contexts : jax.Array of shape (T, K, d)
        :math:`X_i(t)`, the context of arm ``i`` at round ``t``.
    means : jax.Array of shape (T, K)
        The mean rewards :math:`f_i^*(X_i(t))`.
    noise : jax.Array of shape (T, K)
        The noise :math:`\xi`: pulling arm ``i`` at round ``t`` returns
        ``means[t, i] + noise[t, i]``.
    noise_sd : float
        The noise standard deviation the instance was drawn with (0 for
        noiseless or logged rewards).

    Examples
    --------
    >>> from mltheory.stats import bandits
    >>> inst = bandits.make_instance(100, 3, 5, key=0)
    >>> inst.contexts.shape, inst.means.shape, inst.n_rounds
    ((100, 3, 5), (100, 3), 100)
    """

    contexts: Array
    means: Array
    noise: Array
    noise_sd: float = static_field()

    @property
    def n_rounds(self) -> int:
        """The horizon T (leading axis of ``means``)."""
        return int(self.means.shape[-2])

    @property
    def n_arms(self) -> int:
        """The number of arms K."""
        return int(self.means.shape[-1])

    @property
    def n_features(self) -> int:
        """The context dimension d."""
        return int(self.contexts.shape[-1])

    def _summary_items(self) -> dict[str, Any]:
        return {
            "T": self.n_rounds,
            "K": self.n_arms,
            "d": self.n_features,
            "noise_sd": self.noise_sd,
        }


# --------------------------------------------------------------------------- #
# validation
# --------------------------------------------------------------------------- #
def _check_sizes(T: Any, K: Any, d: Any) -> tuple[int, int, int]:
    T = check_scalar(T, name="T", kind=int, lower=1)
    K = check_scalar(K, name="K", kind=int, lower=2)
    d = check_scalar(d, name="d", kind=int, lower=1)
    return T, K, d


def _spectrum(cov_spectrum: Any, d: int) -> np.ndarray:
    """Eigenvalues of the context covariance (named spectra have trace d)."""
    if isinstance(cov_spectrum, str):
        check_in(cov_spectrum, name="cov_spectrum", options=("isotropic", "decaying"))
        if cov_spectrum == "isotropic":
            return np.ones(d)
        lam = 1.0 / np.arange(1, d + 1)
        return lam * (d / lam.sum())
    lam = np.asarray(
        as_array(cov_spectrum, name="cov_spectrum", ndim=1, shape_hint=f"({d},)"),
        dtype=np.float64,
    )
    if lam.shape != (d,):
        raise ValueError(
            f"cov_spectrum must be 'isotropic', 'decaying' or an array of shape ({d},) "
            f"(one covariance eigenvalue per feature); got shape {lam.shape}."
        )
    if not (lam >= 0).all() or not (lam > 0).any():
        raise ValueError(
            "cov_spectrum must hold non-negative eigenvalues, not all zero; got "
            f"minimum {lam.min()} and maximum {lam.max()}."
        )
    return lam


def _instance_options(
    reward: Any, context: Any, cov_spectrum: Any, noise_sd: Any, d: int
) -> tuple[Any, str, np.ndarray, float]:
    if isinstance(reward, str):
        check_in(reward, name="reward", options=tuple(_REWARDS))
    else:
        check_callable(reward, name="reward")
    check_in(context, name="context", options=("gaussian", "rademacher"))
    lam = _spectrum(cov_spectrum, d)
    noise_sd = check_scalar(noise_sd, name="noise_sd", lower=0.0)
    return reward, context, lam, noise_sd


# --------------------------------------------------------------------------- #
# generation (jitted; vmapped over keys by run_many)
# --------------------------------------------------------------------------- #
def _draw_instance(
    key: Array,
    lam: Array,
    noise_sd: Array,
    *,
    T: int,
    K: int,
    d: int,
    reward: Any,
    context: str,
    shared: bool,
) -> tuple[Array, Array, Array]:
    """(contexts, means, noise) for one instance; pure, jit- and vmap-able."""
    k_ctx, k_w, k_noise = jax.random.split(key, 3)
    root = jnp.sqrt(lam)
    if context == "gaussian":
        z = jax.random.normal(k_ctx, (T, K, d))
    else:
        z = jax.random.rademacher(k_ctx, (T, K, d), dtype=lam.dtype)
    contexts = z * root.reshape(1, 1, d)
    if isinstance(reward, str):
        # w_i follows the spectrum (w ~ lam^(1/2) * N(0, I)), normalised so
        # that u_i = <w_i, X_i> has unit variance.
        g = jax.random.normal(k_w, (1 if shared else K, d))
        w = g * root.reshape(1, d)
        w = w / jnp.sqrt(jnp.sum(w * w * lam.reshape(1, d), axis=1, keepdims=True))
        w = jnp.broadcast_to(w, (K, d))
        u = jnp.einsum("tkd,kd->tk", contexts, w)
        means = _REWARDS[reward](u)
    else:
        means = jnp.asarray(reward(contexts))
        if means.shape != (T, K):
            raise ValueError(
                "reward must map contexts of shape (T, K, d) to mean rewards of "
                f"shape (T, K) = {(T, K)}; got {describe(means)}."
            )
        means = means.astype(contexts.dtype)
    noise = noise_sd * jax.random.normal(k_noise, (T, K))
    return contexts, means, noise


@functools.partial(
    jax.jit, static_argnames=("T", "K", "d", "reward", "context", "shared")
)
def _draw_instances_core(
    keys: Array, lam: Array, noise_sd: Array, **options: Any
) -> tuple[Array, Array, Array]:
    def draw(key: Array) -> tuple[Array, Array, Array]:
        return _draw_instance(key, lam, noise_sd, **options)

    return jax.vmap(draw)(keys)


def _draw_instances(
    keys: Array, *, spectrum: tuple[float, ...], noise_sd: float, **options: Any
) -> tuple[Array, Array, Array]:
    """Instances for a batch of keys (the spectrum and noise level are traced)."""
    lam = jnp.asarray(spectrum, dtype=jnp.result_type(float))
    return _draw_instances_core(keys, lam, jnp.asarray(noise_sd, lam.dtype), **options)


def _instance_config(
    T: Any,
    K: Any,
    d: Any,
    *,
    reward: Any = "quadratic_tanh",
    context: Any = "gaussian",
    cov_spectrum: Any = "isotropic",
    noise_sd: Any = 0.1,
    shared: Any = False,
) -> dict[str, Any]:
    """Validate the options of :func:`make_instance` (shared with run_many)."""
    T, K, d = _check_sizes(T, K, d)
    reward, context, lam, noise_sd = _instance_options(
        reward, context, cov_spectrum, noise_sd, d
    )
    if not isinstance(shared, bool | np.bool_):
        raise TypeError(f"shared must be a bool; got {describe(shared)}.")
    return {
        "T": T,
        "K": K,
        "d": d,
        "reward": reward,
        "context": context,
        "spectrum": tuple(float(x) for x in lam),
        "noise_sd": noise_sd,
        "shared": bool(shared),
    }


def _check_means_finite(means: Any, what: str) -> None:
    finite = np.isfinite(np.asarray(means))
    if not finite.all():
        bad = np.argwhere(~finite)[0]
        raise ValueError(
            f"{what} returned non-finite mean rewards (first at index "
            f"{tuple(int(i) for i in bad)}); the reward function must be finite on "
            "the contexts."
        )


def make_instance(
    T: int,
    K: int,
    d: int,
    *,
    key: int | ArrayLike = 0,
    reward: RewardName | Callable[[Array], Array] = "quadratic_tanh",
    context: ContextName = "gaussian",
    cov_spectrum: SpectrumName | ArrayLike = "isotropic",
    noise_sd: float = 0.1,
    shared: bool = False,
) -> BanditInstance:
    r"""Draw a synthetic contextual-bandit instance (contexts, means, noise).

    Contexts are i.i.d. over rounds and arms, :math:`X_i(t) = \Lambda^{1/2}
    z`, with :math:`z` standard Gaussian or Rademacher and :math:`\Lambda` a
    diagonal covariance; the mean reward of arm ``i`` is
    :math:`f_i^*(x) = g(\langle w_i, x\rangle)`. Generation is one jitted,
    vectorised draw.

    Parameters
    ----------
    T : int
        Number of rounds, :math:`T \ge 1`.
    K : int
        Number of arms, :math:`K \ge 2`.
    d : int
        Context dimension, :math:`d \ge 1`.
    key : int or jax.Array, default=0
        Seed or PRNG key; the same key gives the same instance.
    reward : {"quadratic_tanh", "tanh", "linear"} or callable, default="quadratic_tanh"
        The link :math:`g`: :math:`\tanh(2u) + u^2/2`, :math:`\tanh(2u)` or
        :math:`u`. A callable is given the contexts of shape ``(T, K, d)``
        and must return the means of shape ``(T, K)`` (written with
        :mod:`jax.numpy`; it replaces :math:`g` and the weights).
    context : {"gaussian", "rademacher"}, default="gaussian"
        Law of :math:`z` (both have identity covariance).
    cov_spectrum : {"isotropic", "decaying"} or array_like, default="isotropic"
        Eigenvalues of the context covariance: all ones; :math:`\lambda_j
        \propto 1/j` scaled to trace ``d`` (a small effective rank,
        :math:`r_0 = \operatorname{tr}\Lambda / \lambda_1 \approx \ln d`);
        or given values (an array of shape ``(d,)``).
    noise_sd : float, default=0.1
        Standard deviation :math:`s \ge 0` of the Gaussian reward noise.
    shared : bool, default=False
        One weight vector for all arms (arms differ only through their
        contexts) instead of one per arm.

    Returns
    -------
    BanditInstance
        The instance.

    Raises
    ------
    ValueError
        If ``T < 1``, ``K < 2``, ``d < 1``, ``noise_sd < 0``, an option name
        is unknown, ``cov_spectrum`` has the wrong shape or negative values,
        or the means are not finite.
    TypeError
        If a size is not an integer, ``reward`` is neither a name nor
        callable, or ``shared`` is not a bool.

    See Also
    --------
    instance_from_arrays : An instance from your own arrays.

    Notes
    -----
    The weights follow the spectrum, :math:`w_i \propto \Lambda^{1/2} g_i`
    with :math:`g_i \sim N(0, I_d)`, normalised so that
    :math:`u_i = \langle w_i, X_i\rangle` has unit variance: the signal then
    lies mostly in the leading eigen-directions, the regime of small
    effective rank in which minimum-norm interpolation generalises
    (Komiyama and Imaizumi, 2023). With ``"isotropic"`` the :math:`w_i` are
    uniformly random directions.

    Examples
    --------
    >>> from mltheory.stats import bandits
    >>> inst = bandits.make_instance(50, 2, 4, key=1, cov_spectrum="decaying")
    >>> inst.contexts.shape, inst.means.shape
    ((50, 2, 4), (50, 2))
    """
    config = _instance_config(
        T,
        K,
        d,
        reward=reward,
        context=context,
        cov_spectrum=cov_spectrum,
        noise_sd=noise_sd,
        shared=shared,
    )
    k = numerics.as_key(key)
    contexts, means, noise = _draw_instances(k[None], **config)
    _check_means_finite(means, "reward")
    return BanditInstance(
        contexts=contexts[0],
        means=means[0],
        noise=noise[0],
        noise_sd=config["noise_sd"],
    )


def instance_from_arrays(
    contexts: ArrayLike,
    means: ArrayLike,
    *,
    noise: ArrayLike | None = None,
    noise_sd: float = 0.0,
    key: int | ArrayLike = 0,
) -> BanditInstance:
    r"""An instance from your own arrays (e.g. features of a logged data set).

    Parameters
    ----------
    contexts : array_like of shape (T, K, d)
        The context of every arm at every round.
    means : array_like of shape (T, K)
        The mean (or logged) reward of every arm at every round; regret is
        measured against these.
    noise : array_like of shape (T, K), default=None
        Noise added to the observed reward. ``None`` draws Gaussian noise of
        standard deviation ``noise_sd`` from ``key`` (zeros when
        ``noise_sd == 0``).
    noise_sd : float, default=0.0
        Standard deviation of the drawn noise (:math:`\ge 0`); ignored when
        ``noise`` is given, except that it is recorded.
    key : int or jax.Array, default=0
        Seed or PRNG key for the drawn noise.

    Returns
    -------
    BanditInstance
        The instance, in the floating dtype of ``contexts``.

    Raises
    ------
    ValueError
        If ``contexts`` is not 3-D ``(T, K, d)`` with ``K >= 2``, an array
        holds NaN/inf, ``means`` or ``noise`` is not ``(T, K)``, or
        ``noise_sd < 0``.
    TypeError
        If an array is not numeric.

    See Also
    --------
    make_instance : Synthetic instances.

    Examples
    --------
    >>> from mltheory.stats import bandits
    >>> X = np.random.default_rng(0).standard_normal((20, 3, 4))
    >>> inst = bandits.instance_from_arrays(X, X[..., 0])
    >>> inst.n_arms, float(inst.noise_sd)
    (3, 0.0)
    """
    ctx = as_array(contexts, name="contexts", ndim=3, shape_hint="(T, K, d)")
    T, K, _ = ctx.shape
    if K < 2:
        raise ValueError(
            f"contexts must have at least 2 arms (axis 1 of (T, K, d)); got K = {K}."
        )
    mu = as_array(means, name="means", ndim=2, shape_hint="(T, K)")
    if mu.shape != (T, K):
        raise ValueError(
            f"means must have shape (T, K) = {(T, K)} to match contexts; got shape "
            f"{tuple(mu.shape)}."
        )
    noise_sd = check_scalar(noise_sd, name="noise_sd", lower=0.0)
    if noise is None:
        xi = noise_sd * jax.random.normal(numerics.as_key(key), (T, K), ctx.dtype)
    else:
        xi = as_array(noise, name="noise", ndim=2, shape_hint="(T, K)")
        if xi.shape != (T, K):
            raise ValueError(
                f"noise must have shape (T, K) = {(T, K)}; got shape {tuple(xi.shape)}."
            )
    return BanditInstance(
        contexts=ctx,
        means=mu.astype(ctx.dtype),
        noise=xi.astype(ctx.dtype),
        noise_sd=noise_sd,
    )
