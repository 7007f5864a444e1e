"""Bandit policies: the paper's interpolation explore-then-commit and baselines.

Every policy has two faces that compute the same arms:

* the protocol ``reset(K, d, T, key)`` / ``select(t, contexts)`` /
  ``update(t, arm, context, reward)``, for stepping a policy by hand (a
  live system, a user's own loop), and
* ``_simulate``, used by :func:`run_bandit` and :func:`run_many`: one jitted
  program per batch of replications (explore-then-commit policies evaluate
  every committed round in one batched kernel product, LinUCB is a
  :func:`jax.lax.scan` vmapped over replications), or a numba loop with
  incremental Cholesky factors for the sequential kernel policies.

The two faces call the same jitted (or numba) functions, so they agree.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import math
import warnings
from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from mltheory import numerics
from mltheory._src._typing import Array, ArrayLike
from mltheory._src._validation import (
    as_array,
    as_numpy,
    check_callable,
    check_in,
    check_scalar,
    describe,
)

__all__ = [
    "EpsilonGreedy",
    "GPUCB",
    "KernelInterpolationETC",
    "KernelUCB",
    "LinUCB",
    "LinearInterpolationETC",
    "OraclePolicy",
    "RandomPolicy",
]

_KERNELS = ("rbf", "matern32", "matern52", "linear", "polynomial", "inner_product")
Notes = dict[str, np.ndarray]  # per-replication notes of a vectorised run
_TIME_BLOCK = 512  # rounds per batched kernel product (explore-then-commit)
_SEQ_BLOCK = 256  # rounds per block of kernel rows (sequential kernel policies)


# --------------------------------------------------------------------------- #
# kernels (all from mltheory.numerics)
# --------------------------------------------------------------------------- #
@dataclasses.dataclass(frozen=True)
class _Kernel:
    """A hashable kernel configuration (a static argument of jitted code)."""

    name: str
    params: tuple[tuple[str, Any], ...] = ()
    fn: Callable[..., Array] | None = None  # a user kernel (X, Y) -> Gram

    def __call__(self, X: Array, Y: Array | None = None) -> Array:
        if self.fn is not None:
            return self.fn(X, X if Y is None else Y)
        return numerics.kernel_matrix(X, Y, kernel=self.name, **dict(self.params))  # type: ignore[arg-type]


def _make_kernel(kernel: Any, params: Any) -> _Kernel:
    if callable(kernel) and not isinstance(kernel, str):
        if params:
            raise TypeError(
                "kernel_params must be empty when kernel is a callable; got "
                f"{describe(params)}."
            )
        return _Kernel("callable", (), kernel)
    if not isinstance(kernel, str):
        raise TypeError(
            f"kernel must be a kernel name or a callable (X, Y) -> Gram matrix; got "
            f"{describe(kernel)}."
        )
    check_in(kernel, name="kernel", options=_KERNELS)
    params = {} if params is None else dict(params)
    spec = _Kernel(kernel, tuple(sorted(params.items())))
    # Validate the parameters once on a tiny input (clear errors before work).
    probe = jnp.zeros((1, 1))
    spec(probe, probe)
    return spec


def _key(key: Any) -> Array:
    return numerics.as_key(key)


def _best_arm(t: int, scores: np.ndarray) -> int:
    """The first arm with the largest score; FloatingPointError if one is not finite."""
    if not np.all(np.isfinite(scores)):
        raise FloatingPointError(
            f"the scores of round {t} are not finite: {np.asarray(scores).tolist()}."
        )
    return int(np.argmax(scores))


# --------------------------------------------------------------------------- #
# base class
# --------------------------------------------------------------------------- #
class _Policy(abc.ABC):
    """Protocol plumbing shared by every policy (not public)."""

    _sizes: tuple[int, int, int] | None = None

    def reset(self, K: int, d: int, T: int, key: int | ArrayLike = 0) -> None:
        """Start a new run of ``T`` rounds with ``K`` arms of dimension ``d``.

        Parameters
        ----------
        K : int
            Number of arms (at least 2).
        d : int
            Context dimension.
        T : int
            Number of rounds (the horizon; explore-then-commit policies size
            their exploration by it).
        key : int or jax.Array, default=0
            Seed or PRNG key of the policy's own randomness.
        """
        K = check_scalar(K, name="K", kind=int, lower=2)
        d = check_scalar(d, name="d", kind=int, lower=1)
        T = check_scalar(T, name="T", kind=int, lower=1)
        self._check_horizon(T, K)
        self._sizes = (K, d, T)
        self._reset(K, d, T, _key(key))

    def _need_reset(self) -> tuple[int, int, int]:
        if self._sizes is None:
            raise RuntimeError(
                f"{type(self).__name__}.reset(K, d, T, key) must be called before "
                "select/update."
            )
        return self._sizes

    def _check_round(self, t: Any, contexts: Any) -> tuple[int, Array]:
        K, d, T = self._need_reset()
        t = check_scalar(t, name="t", kind=int, lower=0, upper=T - 1)
        x = as_array(contexts, name="contexts", ndim=2, shape_hint="(K, d)")
        if x.shape != (K, d):
            raise ValueError(
                f"contexts must have shape (K, d) = {(K, d)}; got shape "
                f"{tuple(x.shape)}."
            )
        return t, x

    def _check_update(
        self, t: Any, arm: Any, context: Any, reward: Any
    ) -> tuple[int, int, Array, float]:
        K, d, T = self._need_reset()
        t = check_scalar(t, name="t", kind=int, lower=0, upper=T - 1)
        arm = check_scalar(arm, name="arm", kind=int, lower=0, upper=K - 1)
        x = as_array(context, name="context", ndim=1, shape_hint="(d,)")
        if x.shape != (d,):
            raise ValueError(f"context must have shape ({d},); got {tuple(x.shape)}.")
        reward = check_scalar(reward, name="reward")
        return t, arm, x, reward

    # hooks
    def _check_horizon(self, T: int, K: int) -> None:
        return None

    @abc.abstractmethod
    def _reset(self, K: int, d: int, T: int, key: Array) -> None:
        """Start a run of T rounds with K arms in dimension d (subclass hook)."""

    def _explore_rounds(self, T: int, K: int) -> int | None:
        return None

    def _check_run(
        self, actions: np.ndarray, notes: Notes, K: int, stacklevel: int
    ) -> None:
        """Warn about a finished run: its actions (..., T) and notes (hook)."""
        return None

    @abc.abstractmethod
    def _simulate(
        self, contexts: Array, means: Array, noise: Array, keys: Array
    ) -> tuple[np.ndarray, np.ndarray, Notes]:
        """Actions (R, T), first bad round (R,) and notes for a batch of instances.

        The notes are per-replication arrays (R,) that the runner reads after
        all chunks are done (:meth:`_check_run`), so that one warning covers
        the whole batch.
        """

    def _config(self) -> tuple[Any, ...]:
        """The configuration (hashable): equal configs share compiled code."""
        return ()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._config() == self._config()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._config()))

    @property
    def name(self) -> str:
        """A short label for plots and reports."""
        return type(self).__name__

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._config_repr()})"

    def _config_repr(self) -> str:
        return ""


# --------------------------------------------------------------------------- #
# explore-then-commit
# --------------------------------------------------------------------------- #
def _explore_arms(key: Array, T0: int, K: int, explore: str) -> Array:
    if explore == "round_robin":
        return jnp.arange(T0) % K
    return jax.random.randint(key, (T0,), 0, K)


@functools.partial(jax.jit, static_argnames=("T0", "K", "explore"))
def _explore_arms_batch(keys: Array, T0: int, K: int, explore: str) -> Array:
    return jax.vmap(lambda k: _explore_arms(k, T0, K, explore))(keys)


def _arm_counts(arms: np.ndarray, K: int) -> np.ndarray:
    """Counts of each arm along the last axis, shape ``arms.shape[:-1] + (K,)``."""
    return (np.asarray(arms)[..., None] == np.arange(K)).sum(axis=-2)


def _warn_unexplored(arms: np.ndarray, K: int, *, stacklevel: int) -> None:
    """Warn when uniform exploration left an arm without a single point.

    ``arms`` (..., T0): the explored arm of each exploration round. Such an
    arm's estimate is 0 after the commit (no data), which must not pass
    silently.
    """
    arms = np.asarray(arms).reshape(-1, np.shape(arms)[-1])
    missed = (_arm_counts(arms, K) == 0).any(axis=-1)
    if missed.any():
        warnings.warn(
            f"uniform exploration over T0 = {arms.shape[-1]} rounds left an arm "
            f"with no explored point in {int(missed.sum())} of {arms.shape[0]} "
            "replication(s); its estimate is 0 after the commit. Use "
            "explore='round_robin' or a larger T0.",
            RuntimeWarning,
            stacklevel=stacklevel + 1,
        )


def _capacity(arms: np.ndarray, K: int) -> int:
    """Points per arm to keep: the largest count, rounded up to a multiple of 8."""
    counts = _arm_counts(arms, K)
    most = int(counts.max()) if counts.size else 1
    return max(1, min(arms.shape[-1], 8 * -(-most // 8)))


@functools.partial(jax.jit, static_argnames=("policy", "T0", "n_cap"))
def _etc_fit_batch(
    policy: _ExploreThenCommit,
    T0: int,
    n_cap: int,
    contexts: Array,
    means: Array,
    noise: Array,
    arms: Array,
) -> tuple[Any, Array]:
    """Fitted parameters and fit flags of a batch (explored arms given)."""

    def one(ctx: Array, mu: Array, xi: Array, a: Array) -> tuple[Any, Array]:
        K = ctx.shape[1]
        rows = jnp.arange(T0)
        X = ctx[rows, a]
        y = mu[rows, a] + xi[rows, a]
        return policy._fit(X, y, a, K, n_cap)

    return jax.vmap(one)(contexts[:, :T0], means[:, :T0], noise[:, :T0], arms)


@functools.partial(jax.jit, static_argnames=("policy",))
def _etc_commit_batch(
    policy: _ExploreThenCommit, params: Any, contexts: Array
) -> tuple[Array, Array]:
    """Committed arms and finite flags for a block of rounds: (R, B, K, d) -> (R, B)."""
    scores = jax.vmap(policy._predict)(params, contexts)
    return jnp.argmax(scores, axis=-1), jnp.all(jnp.isfinite(scores), axis=-1)


def _etc_simulate(
    policy: _ExploreThenCommit,
    T0: int,
    contexts: Array,
    means: Array,
    noise: Array,
    keys: Array,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
    """Explore, fit once, then score every committed round in batched blocks."""
    R, T, K, d = contexts.shape
    arms = np.asarray(_explore_arms_batch(keys, T0, K, policy.explore))
    n_cap = _capacity(arms, K)
    params, ok = _etc_fit_batch(
        policy, T0, n_cap, contexts, means, noise, jnp.asarray(arms)
    )
    actions = np.empty((R, T), dtype=np.int64)
    actions[:, :T0] = arms[:, :T]
    finite = np.ones((R, T), dtype=bool)
    B = min(_TIME_BLOCK, T)
    for t0 in range(T0, T, B):
        stop = min(t0 + B, T)
        block = contexts[:, t0:stop]
        if stop - t0 < B:  # one compiled shape per (R, B)
            pad = jnp.zeros((R, B - (stop - t0), K, d), contexts.dtype)
            block = jnp.concatenate([block, pad], axis=1)
        chosen, fin = _etc_commit_batch(policy, params, block)
        actions[:, t0:stop] = np.asarray(chosen)[:, : stop - t0]
        finite[:, t0:stop] = np.asarray(fin)[:, : stop - t0]
    ok = np.asarray(ok)
    bad_rows = ~finite
    first = np.where(bad_rows.any(axis=1), bad_rows.argmax(axis=1), -1)
    first = np.where(ok, first, min(T0, T - 1))
    return actions, first, ok, params


class _ExploreThenCommit(_Policy):
    """Explore uniformly for T0 rounds, fit one estimator per arm, commit."""

    def __init__(
        self,
        *,
        T0: int | None = None,
        explore_frac: float | None = None,
        explore: Literal["uniform", "round_robin"] = "uniform",
    ) -> None:
        if T0 is not None and explore_frac is not None:
            raise ValueError(
                "give at most one of T0 and explore_frac; got T0="
                f"{T0!r} and explore_frac={explore_frac!r}."
            )
        if T0 is not None:
            T0 = check_scalar(T0, name="T0", kind=int, lower=2)
        if explore_frac is not None:
            explore_frac = check_scalar(
                explore_frac,
                name="explore_frac",
                lower=0.0,
                upper=1.0,
                lower_inclusive=False,
            )
        check_in(explore, name="explore", options=("uniform", "round_robin"))
        self.T0 = T0
        self.explore_frac = explore_frac
        self.explore = explore

    def explore_length(self, T: int, K: int) -> int:
        r"""The exploration length :math:`T_0` used for horizon ``T`` and ``K`` arms.

        Parameters
        ----------
        T : int
            The horizon.
        K : int
            The number of arms.

        Returns
        -------
        int
            ``T0`` if given; else ``K * ceil(explore_frac * T / K)``; else
            the default :math:`K \lceil T^{2/3} / K \rceil` (capped at T).
        """
        if self.T0 is not None:
            return self.T0
        if self.explore_frac is not None:
            return min(T, K * math.ceil(self.explore_frac * T / K))
        return min(T, K * math.ceil(T ** (2.0 / 3.0) / K))

    def _check_horizon(self, T: int, K: int) -> None:
        T0 = self.explore_length(T, K)
        if T0 > T or T0 < K:
            raise ValueError(
                f"T0 must satisfy K <= T0 <= T (each arm explored, exploration within "
                f"the horizon); got T0 = {T0} with K = {K} and T = {T}."
            )

    def _explore_rounds(self, T: int, K: int) -> int | None:
        return self.explore_length(T, K)

    def _explore_repr(self) -> str:
        length = (
            f"explore_frac={self.explore_frac}"
            if self.explore_frac is not None
            else f"T0={self.T0}"
        )
        return f"{length}, explore={self.explore!r}"

    def _check_run(
        self, actions: np.ndarray, notes: Notes, K: int, stacklevel: int
    ) -> None:
        T0 = self.explore_length(np.shape(actions)[-1], K)
        _warn_unexplored(actions[..., :T0], K, stacklevel=stacklevel + 1)
        self._warn_fit(notes, stacklevel=stacklevel + 1)

    # estimator hooks: pure JAX, vmappable
    @abc.abstractmethod
    def _fit(
        self, X: Array, y: Array, arms: Array, K: int, n_cap: int
    ) -> tuple[Any, Array]:
        """Fit the per-arm estimates on the explored points (subclass hook)."""

    @abc.abstractmethod
    def _predict(self, params: Any, contexts: Array) -> Array:
        """Estimated mean rewards of every arm at the contexts (subclass hook)."""

    def _simulate(
        self, contexts: Array, means: Array, noise: Array, keys: Array
    ) -> tuple[np.ndarray, np.ndarray, Notes]:
        T, K = means.shape[1:]
        T0 = self.explore_length(T, K)
        actions, bad, fit_ok, params = _etc_simulate(
            self, T0, contexts, means, noise, keys
        )
        self._raise_if_not_psd(contexts, means, noise, keys, fit_ok, T0)
        return actions, bad, self._fit_notes(params)

    def _fit_notes(self, params: Any) -> Notes:
        """What the fit has to report, per replication (hook)."""
        return {}

    def _warn_fit(self, notes: Notes, *, stacklevel: int) -> None:
        """Warn about the fits from their notes (hook)."""
        return None

    def _raise_if_not_psd(self, *args: Any) -> None:
        return None

    # protocol
    def _reset(self, K: int, d: int, T: int, key: Array) -> None:
        T0 = self.explore_length(T, K)
        self._T0 = T0
        self._arms = np.asarray(_explore_arms(key, T0, K, self.explore))
        self._X = np.zeros((T0, d))
        self._y = np.zeros(T0)
        self._params: Any = None

    def select(self, t: int, contexts: ArrayLike) -> int:
        """Choose the arm for round ``t`` (explore before ``T0``, then commit).

        Parameters
        ----------
        t : int
            The round, ``0 <= t < T``.
        contexts : array_like of shape (K, d)
            The contexts of the arms at round ``t``.

        Returns
        -------
        int
            The chosen arm.

        Raises
        ------
        FloatingPointError
            If a score of round ``t`` is not finite.
        """
        t, x = self._check_round(t, contexts)
        if t < self._T0:
            return int(self._arms[t])
        return _best_arm(t, self._committed_scores(x, stacklevel=3))

    def scores(self, t: int, contexts: ArrayLike) -> np.ndarray:
        r"""The fitted estimates :math:`\hat f_i(X_i(t))` (after the commit).

        Parameters
        ----------
        t : int
            The round, ``T0 <= t < T``.
        contexts : array_like of shape (K, d)
            The contexts of the arms.

        Returns
        -------
        numpy.ndarray of shape (K,)
            One estimate per arm.
        """
        t, x = self._check_round(t, contexts)
        if t < self._T0:
            raise ValueError(
                f"scores exist only after the exploration phase: t must be >= T0 = "
                f"{self._T0}; got t = {t}."
            )
        return self._committed_scores(x, stacklevel=3)

    def _committed_scores(self, x: Array, *, stacklevel: int) -> np.ndarray:
        """Fit at the first call (warnings at ``stacklevel`` above here), then score."""
        if self._params is None:
            _warn_unexplored(self._arms, x.shape[0], stacklevel=stacklevel)
            self._params, ok = _etc_fit_jit(
                self,
                jnp.asarray(self._X, x.dtype),
                jnp.asarray(self._y, x.dtype),
                jnp.asarray(self._arms),
                x.shape[0],
                _capacity(self._arms, x.shape[0]),
            )
            if not bool(ok):
                raise ValueError(
                    "the Gram matrix of an arm is not positive semi-definite; use a "
                    "positive definite kernel."
                )
            self._warn_fit(self._fit_notes(self._params), stacklevel=stacklevel)
        return np.asarray(_etc_predict_jit(self, self._params, x[None])[0])

    def update(self, t: int, arm: int, context: ArrayLike, reward: float) -> None:
        """Record the reward of round ``t`` (used only during exploration).

        Parameters
        ----------
        t : int
            The round.
        arm : int
            The arm that was pulled.
        context : array_like of shape (d,)
            Its context.
        reward : float
            The observed reward.
        """
        t, arm, x, reward = self._check_update(t, arm, context, reward)
        if t < self._T0:
            if arm != int(self._arms[t]):
                raise ValueError(
                    f"arm must be the explored arm {int(self._arms[t])} at round {t} "
                    f"(t < T0 = {self._T0}); got {arm}."
                )
            self._X[t] = np.asarray(x)
            self._y[t] = reward


@functools.partial(jax.jit, static_argnames=("policy", "K", "n_cap"))
def _etc_fit_jit(
    policy: _ExploreThenCommit, X: Array, y: Array, arms: Array, K: int, n_cap: int
) -> tuple[Any, Array]:
    return policy._fit(X, y, arms, K, n_cap)


@functools.partial(jax.jit, static_argnames=("policy",))
def _etc_predict_jit(policy: _ExploreThenCommit, params: Any, contexts: Array) -> Array:
    return policy._predict(params, contexts)


def _masks(arms: Array, K: int) -> Array:
    return arms[None, :] == jnp.arange(K)[:, None]


class KernelInterpolationETC(_ExploreThenCommit):
    r"""Kernel ridgeless interpolation inside explore-then-commit (the paper's method).

    Explore for :math:`T_0` rounds with uniformly random arms; then fit, per
    arm, the minimum-norm kernel interpolant of the explored rewards,
    :math:`\hat f_i(x) = k(x, X_i)^\top K_i^{+} Y_i`, with a kernel whose
    inputs are scaled by :math:`1/d`; commit to
    :math:`\arg\max_i \hat f_i(X_i(t))` for the remaining rounds.

    Parameters
    ----------
    kernel : {"inner_product", "rbf"}, default="inner_product"
        ``"inner_product"``: :math:`k(x, x') = h(\langle x, x'\rangle / d)`;
        ``"rbf"``: :math:`k(x, x') = \exp(-\lVert x - x'\rVert^2 / (\ell^2 d))`.
        Both from :mod:`mltheory.numerics`
        (:func:`~mltheory.numerics.inner_product_kernel`,
        :func:`~mltheory.numerics.rbf_kernel` with lengthscale
        :math:`\ell\sqrt{d/2}`).
    h : callable, default=jax.numpy.exp
        The function :math:`h` of the inner-product kernel (elementwise,
        written with :mod:`jax.numpy`; pass the same object each time).
    lengthscale2 : float, default=2.0
        :math:`\ell^2 > 0` of the RBF kernel.
    T0 : int, default=None
        Exploration length (``K <= T0 <= T``). ``None``: from
        ``explore_frac``, else :math:`K\lceil T^{2/3}/K\rceil`.
    explore_frac : float, default=None
        Exploration length as a fraction of ``T`` (in (0, 1]).
    explore : {"uniform", "round_robin"}, default="uniform"
        Arms drawn uniformly at random, or cycled ``t mod K``.
    ridge : float, default=0.0
        Ridge :math:`\rho \ge 0` added to each Gram matrix (0: ridgeless).
    jitter : float, default=1e-10
        Relative jitter :math:`\tau` for the Cholesky factorisation:
        :math:`K_i + (\rho + \tau \operatorname{tr} K_i / n_i) I`.

    Raises
    ------
    ValueError
        If an option is out of range, the kernel name is unknown, or both
        ``T0`` and ``explore_frac`` are given. At run time, if ``T0`` is not
        in ``[K, T]`` or a Gram matrix is not positive semi-definite.
    TypeError
        If ``h`` is not callable.

    See Also
    --------
    LinearInterpolationETC : The linear (minimum-norm least squares) ancestor.
    run_many : Replications, vectorised.

    Notes
    -----
    A Gram matrix whose Cholesky factor shows a condition number above
    :math:`10^{12}` is refactorised with jitter :math:`10^{-8}` (relative)
    instead: the interpolant is then a near-ridgeless ridge fit. An arm never
    explored (possible with ``explore="uniform"`` and a short ``T0``; never
    with ``"round_robin"``, as ``T0 >= K``) gets the estimate 0, with a
    :class:`RuntimeWarning`.

    References
    ----------
    .. [1] S. Iwazaki, J. Komiyama and M. Imaizumi, "High-dimensional
       Nonparametric Contextual Bandit Problem", arXiv:2505.14102, 2025.
    .. [2] T. Liang and A. Rakhlin, "Just interpolate: Kernel 'ridgeless'
       regression can generalize", Annals of Statistics 48(3), 2020.

    Examples
    --------
    >>> from mltheory.stats import bandits
    >>> inst = bandits.make_instance(300, 3, 10, key=0)
    >>> run = bandits.run_bandit(bandits.KernelInterpolationETC(), inst, key=0)
    >>> run.explore_rounds
    45
    >>> bool(run.cumulative_regret[-1] < 300)
    True
    """

    def __init__(
        self,
        kernel: Literal["inner_product", "rbf"] = "inner_product",
        *,
        h: Callable[[Array], Array] = jnp.exp,
        lengthscale2: float = 2.0,
        T0: int | None = None,
        explore_frac: float | None = None,
        explore: Literal["uniform", "round_robin"] = "uniform",
        ridge: float = 0.0,
        jitter: float = 1e-10,
    ) -> None:
        super().__init__(T0=T0, explore_frac=explore_frac, explore=explore)
        check_in(kernel, name="kernel", options=("inner_product", "rbf"))
        check_callable(h, name="h")
        self.kernel = kernel
        self.h = h
        self.lengthscale2 = check_scalar(
            lengthscale2, name="lengthscale2", lower=0.0, lower_inclusive=False
        )
        self.ridge = check_scalar(ridge, name="ridge", lower=0.0)
        self.jitter = check_scalar(jitter, name="jitter", lower=0.0)

    def _config_repr(self) -> str:
        shape = (
            f"h={getattr(self.h, '__name__', self.h)!s}"
            if self.kernel == "inner_product"
            else f"lengthscale2={self.lengthscale2}"
        )
        return (
            f"kernel={self.kernel!r}, {shape}, {self._explore_repr()}, "
            f"ridge={self.ridge}, jitter={self.jitter}"
        )

    def _config(self) -> tuple[Any, ...]:
        return (
            self.kernel, self.h, self.lengthscale2, self.T0, self.explore_frac,
            self.explore, self.ridge, self.jitter,
        )  # fmt: skip

    def _kern(self, X: Array, Y: Array) -> Array:
        d = X.shape[-1]
        if self.kernel == "inner_product":
            return numerics.inner_product_kernel(X, Y, fn=self.h)
        return numerics.rbf_kernel(
            X, Y, lengthscale=math.sqrt(self.lengthscale2 * d / 2)
        )

    def _fit(
        self, X: Array, y: Array, arms: Array, K: int, n_cap: int
    ) -> tuple[Any, Array]:
        # Each arm's own points first (stable order), n_cap of them: the Gram
        # matrices and all later kernel products are n_cap wide, not T0.
        def fit_arm(i: Array) -> tuple[Array, Array, Array, Array]:
            order = jnp.argsort(arms != i, stable=True)[:n_cap]
            Xi, yi = X[order], y[order]
            m = jnp.arange(n_cap) < jnp.sum(arms == i)
            mf = m.astype(X.dtype)
            G = self._kern(Xi, Xi)
            Gi = G * (mf[:, None] * mf[None, :]) + jnp.diag(1.0 - mf)
            n = jnp.maximum(mf.sum(), 1.0)
            scale = jnp.sum(jnp.diag(G) * mf) / n
            jitter = self.jitter * scale + self.ridge

            def factor(j: Array) -> Array:
                return jnp.linalg.cholesky(Gi + j * jnp.diag(mf))

            L = factor(jitter)
            dl = jnp.where(m, jnp.abs(jnp.diagonal(L)), 1.0)
            cond = (dl.max() / dl.min()) ** 2
            bad = ~jnp.isfinite(cond) | (cond > 1e12)
            # The refactorisation depends on the first factor (through `bad`),
            # so the two LAPACK calls never run concurrently: two independent
            # Cholesky calls in one program hung XLA:CPU (LAPACK called from two
            # of its threads at once) on an oversubscribed machine.
            L = factor(jnp.where(bad, jnp.maximum(jitter, 1e-8 * scale), jitter))
            alpha = jax.scipy.linalg.cho_solve((L, True), mf * yi)
            return Xi, alpha * mf, jnp.all(jnp.isfinite(alpha)), bad

        Xs, alphas, ok, refit = jax.vmap(fit_arm)(jnp.arange(K))
        return (Xs, alphas, jnp.any(refit)), jnp.all(ok)

    def _fit_notes(self, params: Any) -> Notes:
        return {"refit": np.atleast_1d(np.asarray(params[2]))}

    def _warn_fit(self, notes: Notes, *, stacklevel: int) -> None:
        refit = notes["refit"]
        if refit.any():
            warnings.warn(
                "an explored Gram matrix was ill-conditioned (condition number above "
                "1e12 with jitter "
                f"{self.jitter}); it was refactorised with relative jitter 1e-8, so "
                f"the fit is a near-ridgeless ridge fit ({int(refit.sum())} of "
                f"{refit.size} replication(s)).",
                RuntimeWarning,
                stacklevel=stacklevel + 1,
            )

    def _predict(self, params: Any, contexts: Array) -> Array:
        Xs, alphas, _ = params
        # (B, K, d) -> one kernel product per arm: k(X_i(t), X_i) alpha_i
        kmat = jax.vmap(self._kern, in_axes=(1, 0), out_axes=1)(contexts, Xs)
        return jnp.einsum("bks,ks->bk", kmat, alphas)

    def _raise_if_not_psd(
        self,
        contexts: Array,
        means: Array,
        noise: Array,
        keys: Array,
        fit_ok: np.ndarray,
        T0: int,
    ) -> None:
        if fit_ok.all():
            return
        r = int(np.argmin(fit_ok))
        K = means.shape[-1]
        arms = _explore_arms(keys[r], T0, K, self.explore)
        X = contexts[r][jnp.arange(T0), arms]
        G = np.asarray(self._kern(X, X))
        low = min(
            float(np.linalg.eigvalsh(G[np.ix_(a, a)]).min())
            for a in (np.asarray(arms) == i for i in range(K))
            if a.any()
        )
        raise ValueError(
            "the Gram matrix of the explored points must be positive semi-definite; "
            f"got a minimum eigenvalue of {low:.3g} (replication {r}). Use a kernel "
            "function h with non-negative Taylor coefficients."
        )


class LinearInterpolationETC(_ExploreThenCommit):
    r"""Minimum-norm least squares inside explore-then-commit (linear ancestor).

    After :math:`T_0` uniformly random rounds, each arm's coefficients are
    :math:`\hat\theta_i = X_i^{+} Y_i` (the minimum-norm interpolator when
    :math:`n_i \le d`, least squares otherwise); then commit to
    :math:`\arg\max_i \langle X_i(t), \hat\theta_i\rangle`.

    Parameters
    ----------
    T0 : int, default=None
        Exploration length (``K <= T0 <= T``); ``None``: from
        ``explore_frac``, else :math:`K\lceil T^{2/3}/K\rceil`.
    explore_frac : float, default=None
        Exploration length as a fraction of ``T``.
    explore : {"uniform", "round_robin"}, default="uniform"
        How exploration arms are chosen.

    Raises
    ------
    ValueError
        If an option is out of range or both ``T0`` and ``explore_frac`` are
        given; at run time if ``T0`` is not in ``[K, T]``.

    See Also
    --------
    KernelInterpolationETC : The kernel version.

    References
    ----------
    .. [1] J. Komiyama and M. Imaizumi, "High-dimensional Contextual Bandit
       Problem without Sparsity", NeurIPS 2023, arXiv:2306.11017.

    Examples
    --------
    >>> from mltheory.stats import bandits
    >>> inst = bandits.make_instance(200, 2, 5, key=0, reward="linear")
    >>> run = bandits.run_bandit(bandits.LinearInterpolationETC(T0=40), inst, key=0)
    >>> int((run.actions[40:] == inst.means[40:].argmax(1)).mean() > 0.9)
    1
    """

    def _config_repr(self) -> str:
        return self._explore_repr()

    def _config(self) -> tuple[Any, ...]:
        return (self.T0, self.explore_frac, self.explore)

    def _fit(
        self, X: Array, y: Array, arms: Array, K: int, n_cap: int
    ) -> tuple[Any, Array]:
        masks = _masks(arms, K).astype(X.dtype)
        theta = jax.vmap(lambda m: jnp.linalg.pinv(m[:, None] * X) @ (m * y))(masks)
        return theta, jnp.all(jnp.isfinite(theta))

    def _predict(self, params: Any, contexts: Array) -> Array:
        return jnp.einsum("bkd,kd->bk", contexts, params)


# --------------------------------------------------------------------------- #
# LinUCB (lax.scan, vmapped over replications)
# --------------------------------------------------------------------------- #
def _linucb_scores(state: tuple[Array, Array], x: Array, alpha: Any) -> Array:
    Ainv, b = state
    v = jnp.einsum("kij,kj->ki", Ainv, x)
    width = jnp.sqrt(jnp.maximum(jnp.sum(x * v, axis=1), 0.0))
    theta = jnp.einsum("kij,kj->ki", Ainv, b)
    return jnp.sum(x * theta, axis=1) + alpha * width


def _linucb_update(
    state: tuple[Array, Array], arm: Array, x: Array, y: Array
) -> tuple[Array, Array]:
    # Sherman-Morrison:
    # (A + x x^T)^{-1} = A^{-1} - A^{-1} x x^T A^{-1} / (1 + x^T A^{-1} x)
    Ainv, b = state
    A = Ainv[arm]
    v = A @ x
    A = A - jnp.outer(v, v) / (1.0 + x @ v)
    return Ainv.at[arm].set(A), b.at[arm].add(y * x)


def _linucb_init(K: int, d: int, lam: Any, dtype: Any) -> tuple[Array, Array]:
    eye = jnp.eye(d, dtype=dtype) / lam
    return jnp.broadcast_to(eye, (K, d, d)), jnp.zeros((K, d), dtype)


@jax.jit
def _linucb_simulate(
    contexts: Array, means: Array, noise: Array, alpha: Array, lam: Array
) -> tuple[Array, Array]:
    """Actions and first bad round of a batch (alpha, lam traced: one compile)."""

    def one(ctx: Array, mu: Array, xi: Array) -> tuple[Array, Array]:
        T, K, d = ctx.shape

        def step(
            carry: tuple[tuple[Array, Array], Array], inputs: tuple[Array, ...]
        ) -> tuple[tuple[tuple[Array, Array], Array], Array]:
            state, bad = carry
            t, x, m, e = inputs
            s = _linucb_scores(state, x, alpha)
            a = jnp.argmax(s)
            state = _linucb_update(state, a, x[a], m[a] + e[a])
            bad = jnp.where((bad < 0) & ~jnp.all(jnp.isfinite(s)), t, bad)
            return (state, bad), a

        init = (_linucb_init(K, d, lam, ctx.dtype), jnp.asarray(-1))
        (_, bad), actions = jax.lax.scan(step, init, (jnp.arange(T), ctx, mu, xi))
        return actions, bad

    return jax.vmap(one)(contexts, means, noise)


_linucb_scores_jit = jax.jit(_linucb_scores)
_linucb_update_jit = jax.jit(_linucb_update)


class LinUCB(_Policy):
    r"""Disjoint LinUCB: one ridge regression per arm plus an exploration width.

    Score of arm :math:`i`: :math:`x_i^\top\hat\theta_i + \alpha
    \sqrt{x_i^\top A_i^{-1} x_i}` with :math:`A_i = \lambda I +
    \sum x x^\top`, :math:`\hat\theta_i = A_i^{-1}\sum y x`; the inverse is
    kept by Sherman–Morrison rank-one updates (:math:`O(K d^2)` a round).

    Parameters
    ----------
    alpha : float, default=1.0
        Exploration weight :math:`\alpha \ge 0`.
    lam : float, default=1.0
        Ridge :math:`\lambda > 0`.

    Raises
    ------
    ValueError
        If ``alpha < 0`` or ``lam <= 0``.

    See Also
    --------
    KernelUCB : The kernel version (equal to LinUCB with the linear kernel).

    References
    ----------
    .. [1] L. Li, W. Chu, J. Langford and R. E. Schapire, "A contextual-bandit
       approach to personalized news article recommendation", WWW 2010.

    Examples
    --------
    >>> from mltheory.stats import bandits
    >>> inst = bandits.make_instance(200, 3, 5, key=0, reward="linear")
    >>> run = bandits.run_bandit(bandits.LinUCB(alpha=0.5), inst)
    >>> run.actions.shape
    (200,)
    """

    def __init__(self, *, alpha: float = 1.0, lam: float = 1.0) -> None:
        self.alpha = check_scalar(alpha, name="alpha", lower=0.0)
        self.lam = check_scalar(lam, name="lam", lower=0.0, lower_inclusive=False)

    def _config_repr(self) -> str:
        return f"alpha={self.alpha}, lam={self.lam}"

    def _config(self) -> tuple[Any, ...]:
        return (self.alpha, self.lam)

    def _simulate(
        self, contexts: Array, means: Array, noise: Array, keys: Array
    ) -> tuple[np.ndarray, np.ndarray, Notes]:
        dtype = contexts.dtype
        actions, bad = _linucb_simulate(
            contexts,
            means,
            noise,
            jnp.asarray(self.alpha, dtype),
            jnp.asarray(self.lam, dtype),
        )
        return np.asarray(actions), np.asarray(bad), {}

    def _reset(self, K: int, d: int, T: int, key: Array) -> None:
        self._state = _linucb_init(K, d, self.lam, jnp.result_type(float))

    def scores(self, t: int, contexts: ArrayLike) -> np.ndarray:
        r"""The UCB index of every arm at round ``t``.

        Parameters
        ----------
        t : int
            The round.
        contexts : array_like of shape (K, d)
            The contexts of the arms.

        Returns
        -------
        numpy.ndarray of shape (K,)
            :math:`x_i^\top\hat\theta_i + \alpha\sqrt{x_i^\top A_i^{-1} x_i}`.
        """
        t, x = self._check_round(t, contexts)
        alpha = jnp.asarray(self.alpha, x.dtype)
        return np.asarray(_linucb_scores_jit(self._state, x, alpha))

    def select(self, t: int, contexts: ArrayLike) -> int:
        """Choose the arm with the largest UCB index (ties: lowest index).

        Parameters
        ----------
        t : int
            The round.
        contexts : array_like of shape (K, d)
            The contexts of the arms.

        Returns
        -------
        int
            The chosen arm.

        Raises
        ------
        FloatingPointError
            If a score of round ``t`` is not finite.
        """
        return _best_arm(t, self.scores(t, contexts))

    def update(self, t: int, arm: int, context: ArrayLike, reward: float) -> None:
        """Add the observed reward to the pulled arm's regression.

        Parameters
        ----------
        t : int
            The round.
        arm : int
            The arm that was pulled.
        context : array_like of shape (d,)
            Its context.
        reward : float
            The observed reward.
        """
        t, arm, x, reward = self._check_update(t, arm, context, reward)
        self._state = _linucb_update_jit(self._state, arm, x, jnp.asarray(reward))


# --------------------------------------------------------------------------- #
# sequential kernel policies (numba loop, incremental Cholesky)
# --------------------------------------------------------------------------- #
@functools.partial(jax.jit, static_argnames=("kernel",))
def _kernel_rows(kernel: _Kernel, A: Array, B: Array) -> Array:
    """``out[i] = k(A[i], B[i])`` per arm: (K, n, d) x (K, m, d) -> (K, n, m)."""
    return jax.vmap(kernel)(A, B)


@functools.partial(jax.jit, static_argnames=("kernel",))
def _kernel_diag(kernel: _Kernel, A: Array) -> Array:
    """``out[i, j] = k(A[i, j], A[i, j])`` (symmetric path): (K, n, d) -> (K, n)."""
    return jax.vmap(jax.vmap(lambda x: kernel(x[None, :])[0, 0]))(A)


def _empty_posteriors(K: int, T: int) -> tuple[np.ndarray, ...]:
    """Per-arm posterior storage of the numba engine for T rounds.

    The packed Cholesky pool (grown by the engine when full), each arm's row
    starts in it, its point count, ``L^{-1} y`` and the work vector ``z``.
    """
    pool = np.empty(max(16, T * T // (2 * K)))
    rows = np.zeros((K, T), dtype=np.int64)
    return pool, rows, np.zeros(K, dtype=np.int64), np.zeros((K, T)), np.zeros((K, T))


class _SequentialKernel(_Policy):
    _mode = 0

    def __init__(self, kernel: Any, kernel_params: Any, lam: float) -> None:
        self._kernel = _make_kernel(kernel, kernel_params)
        self.kernel = kernel
        self.kernel_params = None if kernel_params is None else dict(kernel_params)
        self.lam = check_scalar(lam, name="lam", lower=0.0, lower_inclusive=False)

    def _coef(self) -> tuple[float, float, float]:
        """(UCB coefficient, delta, epsilon constant)."""
        return 0.0, 1.0, 0.0

    def _config(self) -> tuple[Any, ...]:
        return (self._kernel, self.lam, self._coef())

    def _random(self, key: Array, T: int, K: int) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(T), np.zeros(T, dtype=np.int64)

    def _simulate(
        self, contexts: Array, means: Array, noise: Array, keys: Array
    ) -> tuple[np.ndarray, np.ndarray, Notes]:
        from mltheory.stats import _bandit_engine as engine

        R, T, K, _ = contexts.shape
        B = min(_SEQ_BLOCK, T)
        coef, delta, eps_c = self._coef()
        actions = np.zeros((R, T), dtype=np.int64)
        bads = np.full(R, -1, dtype=np.int64)
        mu_all = np.asarray(means, np.float64)
        xi_all = np.asarray(noise, np.float64)
        for r in range(R):
            ctx = jnp.swapaxes(contexts[r], 0, 1)  # (K, T, d)
            u, rand_arms = self._random(keys[r], T, K)
            pool, rows, counts, w, z = _empty_posteriors(K, T)
            used = 0
            hist = np.zeros((K, T), dtype=np.int64)
            for t0 in range(0, T, B):
                stop = min(t0 + B, T)
                # pad the block to B rounds: one compiled shape per (B, T)
                blk = ctx[:, t0:stop]
                if stop - t0 < B:
                    blk = jnp.concatenate([blk, ctx[:, : B - (stop - t0)]], axis=1)
                kb = np.asarray(_kernel_rows(self._kernel, blk, ctx), np.float64)
                kd = np.asarray(_kernel_diag(self._kernel, blk), np.float64)
                pool, used, bad = engine.run_block(
                    kb, kd, t0, stop - t0, mu_all[r], xi_all[r], self._mode, self.lam,
                    coef, delta, eps_c, u, rand_arms, pool, used, rows, hist,
                    counts, w, z, actions[r],
                )  # fmt: skip
                if bad >= 0:
                    bads[r] = bad
                    break
        return actions, bads, {}

    # protocol (same numba helpers, kernel values computed per round)
    def _reset(self, K: int, d: int, T: int, key: Array) -> None:
        self._u, self._rand_arms = self._random(key, T, K)
        self._pool, self._rows, self._counts, self._w, self._z = _empty_posteriors(K, T)
        self._used = 0
        self._hist = np.zeros((K, T, d))
        self._kxx = np.zeros(K)
        self._last_t = -1

    def _posterior(self, t: int, x: Array) -> tuple[np.ndarray, np.ndarray]:
        from mltheory.stats import _bandit_engine as engine

        K = x.shape[0]
        kvec = np.asarray(_kernel_rows(self._kernel, x[:, None, :], self._hist_j()))
        kxx = np.asarray(_kernel_diag(self._kernel, x[:, None, :]))
        mean = np.empty(K)
        var = np.empty(K)
        for i in range(K):
            n = int(self._counts[i])
            self._z[i, :n] = kvec[i, 0, :n]
            self._kxx[i] = kxx[i, 0]
            mean[i], var[i] = engine.arm_posterior(
                self._pool, self._rows[i], n, self._z[i], self._w[i], self._kxx[i]
            )
        self._last_t = t
        return mean, var

    def _hist_j(self) -> Array:
        return jnp.asarray(self._hist)

    def posterior(self, t: int, contexts: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        r"""Posterior mean and standard deviation of every arm at round ``t``.

        Parameters
        ----------
        t : int
            The round.
        contexts : array_like of shape (K, d)
            The contexts of the arms.

        Returns
        -------
        mean : numpy.ndarray of shape (K,)
            :math:`\hat\mu_i(x_i) = k^\top (K + \lambda I)^{-1} y`.
        sd : numpy.ndarray of shape (K,)
            :math:`\hat\sigma_i(x_i) = \sqrt{k(x, x) - k^\top (K +
            \lambda I)^{-1} k}`.
        """
        t, x = self._check_round(t, contexts)
        mean, var = self._posterior(t, x)
        return mean, np.sqrt(var)

    def scores(self, t: int, contexts: ArrayLike) -> np.ndarray:
        """The index each arm is ranked by at round ``t``.

        Parameters
        ----------
        t : int
            The round.
        contexts : array_like of shape (K, d)
            The contexts of the arms.

        Returns
        -------
        numpy.ndarray of shape (K,)
            The UCB index (the posterior mean for :class:`EpsilonGreedy`).
        """
        t, x = self._check_round(t, contexts)
        return self._rank(t, x)[1]

    def _rank(
        self, t: int, x: Array, u: float = 1.0, random_arm: int = 0
    ) -> tuple[int, np.ndarray]:
        """The chosen arm (-1: a score is not finite) and the scores.

        ``u >= 1`` never takes the epsilon-greedy random arm.
        """
        from mltheory.stats import _bandit_engine as engine

        mean, var = self._posterior(t, x)
        coef, delta, eps_c = self._coef()
        out = np.empty(mean.shape[0])
        arm = engine.choose(
            self._mode, t, mean, var, coef, delta, eps_c, u, random_arm, out
        )
        return int(arm), out

    def select(self, t: int, contexts: ArrayLike) -> int:
        """Choose the arm for round ``t`` (ties: lowest index).

        Parameters
        ----------
        t : int
            The round.
        contexts : array_like of shape (K, d)
            The contexts of the arms.

        Returns
        -------
        int
            The chosen arm.

        Raises
        ------
        FloatingPointError
            If a score of round ``t`` is not finite.
        """
        t, x = self._check_round(t, contexts)
        arm, out = self._rank(t, x, float(self._u[t]), int(self._rand_arms[t]))
        return _best_arm(t, out) if arm < 0 else arm

    def update(self, t: int, arm: int, context: ArrayLike, reward: float) -> None:
        """Add the observed point to the pulled arm's posterior (O(n^2)).

        Parameters
        ----------
        t : int
            The round (``select`` must have been called for it).
        arm : int
            The arm that was pulled.
        context : array_like of shape (d,)
            Its context.
        reward : float
            The observed reward.
        """
        from mltheory.stats import _bandit_engine as engine

        t, arm, x, reward = self._check_update(t, arm, context, reward)
        if self._last_t != t:
            raise ValueError(
                f"update(t={t}, ...) must follow select(t={t}, ...) (the posterior of "
                f"round {t} is reused); the last select was for round {self._last_t}."
            )
        n = int(self._counts[arm])
        self._pool, self._used, diag = engine.append_point(
            self._pool, self._used, self._rows[arm], self._w[arm], n, self._z[arm],
            float(self._kxx[arm]), self.lam, reward,
        )  # fmt: skip
        if not np.isfinite(diag):
            raise ValueError(
                "the kernel matrix of the pulled arm is not positive definite "
                f"(non-positive pivot at round {t}); use a positive definite kernel."
            )
        self._hist[arm, n] = np.asarray(x)
        self._counts[arm] = n + 1


class KernelUCB(_SequentialKernel):
    r"""KernelUCB (Valko et al.): kernel ridge mean plus a posterior-width bonus.

    Per arm, :math:`\hat\mu(x) = k^\top (K_n + \lambda I)^{-1} y` and
    :math:`\hat\sigma^2(x) = k(x, x) - k^\top (K_n + \lambda I)^{-1} k`;
    score :math:`\hat\mu + (\eta/\sqrt\lambda)\hat\sigma`. The Cholesky
    factor of :math:`K_n + \lambda I` grows by one row per pull, so a round
    costs :math:`O(t^2)`.

    Parameters
    ----------
    kernel : str or callable, default="rbf"
        A kernel name of :func:`mltheory.numerics.kernel_matrix` (``"rbf"``,
        ``"matern32"``, ``"matern52"``, ``"linear"``, ``"polynomial"``,
        ``"inner_product"``) or a callable ``(X, Y) -> Gram`` written with
        :mod:`jax.numpy`.
    lam : float, default=1.0
        Regulariser :math:`\lambda > 0`.
    eta : float, default=1.0
        Exploration weight :math:`\eta > 0`.
    kernel_params : dict, default=None
        Parameters of the named kernel (e.g. ``{"lengthscale": 3.0}``; the
        numerics convention, not scaled by ``d``).

    Raises
    ------
    ValueError
        If ``lam <= 0``, ``eta <= 0``, the kernel name is unknown or a kernel
        parameter is invalid.
    TypeError
        If ``kernel_params`` holds a name the kernel does not accept.

    See Also
    --------
    GPUCB : The same posterior with the GP-UCB schedule.
    LinUCB : Equal to ``KernelUCB("linear", lam=lam, eta=alpha)``.

    References
    ----------
    .. [1] M. Valko, N. Korda, R. Munos, I. Flaounas and N. Cristianini,
       "Finite-time analysis of kernelised contextual bandits", UAI 2013.

    Examples
    --------
    >>> from mltheory.stats import bandits
    >>> inst = bandits.make_instance(100, 2, 3, key=0)
    >>> policy = bandits.KernelUCB("rbf", kernel_params={"lengthscale": 2.0})
    >>> bandits.run_bandit(policy, inst).actions.shape
    (100,)
    """

    _mode = 0

    def __init__(
        self,
        kernel: str | Callable[[Array, Array], Array] = "rbf",
        *,
        lam: float = 1.0,
        eta: float = 1.0,
        kernel_params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(kernel, kernel_params, lam)
        self.eta = check_scalar(eta, name="eta", lower=0.0, lower_inclusive=False)

    def _config_repr(self) -> str:
        return f"kernel={self._kernel.name!r}, lam={self.lam}, eta={self.eta}"

    def _coef(self) -> tuple[float, float, float]:
        return self.eta / math.sqrt(self.lam), 1.0, 0.0


class GPUCB(_SequentialKernel):
    r"""GP-UCB (Srinivas et al.) with the finite-arm schedule, one GP per arm.

    Posterior with noise variance :math:`s^2` (``noise``); score
    :math:`\hat\mu + \sqrt{\beta_t}\hat\sigma` with
    :math:`\beta_t = 2\log(K t^2\pi^2 / (6\delta))`, :math:`t = 1, 2, \dots`.

    Parameters
    ----------
    kernel : str or callable, default="rbf"
        As in :class:`KernelUCB`.
    noise : float, default=0.01
        Noise variance :math:`s^2 > 0` (the regulariser of the posterior).
    delta : float, default=0.1
        Confidence level :math:`\delta \in (0, 1)`.
    kernel_params : dict, default=None
        Parameters of the named kernel.

    Raises
    ------
    ValueError
        If ``noise <= 0``, ``delta`` is not in (0, 1), or the kernel is
        invalid.
    TypeError
        If ``kernel_params`` holds a name the kernel does not accept.

    See Also
    --------
    KernelUCB : A constant exploration weight.

    References
    ----------
    .. [1] N. Srinivas, A. Krause, S. Kakade and M. Seeger, "Gaussian process
       optimization in the bandit setting: no regret and experimental
       design", ICML 2010.

    Examples
    --------
    >>> from mltheory.stats import bandits
    >>> inst = bandits.make_instance(100, 2, 3, key=0)
    >>> bandits.run_bandit(bandits.GPUCB(), inst).regret.shape
    (100,)
    """

    _mode = 1

    def __init__(
        self,
        kernel: str | Callable[[Array, Array], Array] = "rbf",
        *,
        noise: float = 0.01,
        delta: float = 0.1,
        kernel_params: dict[str, Any] | None = None,
    ) -> None:
        noise = check_scalar(noise, name="noise", lower=0.0, lower_inclusive=False)
        super().__init__(kernel, kernel_params, noise)
        self.noise = noise
        self.delta = check_scalar(
            delta,
            name="delta",
            lower=0.0,
            upper=1.0,
            lower_inclusive=False,
            upper_inclusive=False,
        )

    def _config_repr(self) -> str:
        return f"kernel={self._kernel.name!r}, noise={self.noise}, delta={self.delta}"

    def _coef(self) -> tuple[float, float, float]:
        return 0.0, self.delta, 0.0


class EpsilonGreedy(_SequentialKernel):
    r"""Epsilon-greedy on per-arm kernel ridge regression.

    With probability :math:`\epsilon_t = \min(1, cK/t)` a uniformly random
    arm, otherwise :math:`\arg\max_i \hat\mu_i(X_i(t))`.

    Parameters
    ----------
    kernel : str or callable, default="rbf"
        As in :class:`KernelUCB`.
    lam : float, default=1.0
        Ridge :math:`\lambda > 0`.
    c : float, default=1.0
        Exploration constant :math:`c > 0`.
    kernel_params : dict, default=None
        Parameters of the named kernel.

    Raises
    ------
    ValueError
        If ``lam <= 0``, ``c <= 0`` or the kernel is invalid.
    TypeError
        If ``kernel_params`` holds a name the kernel does not accept.

    See Also
    --------
    KernelUCB : Optimism instead of random exploration.

    Examples
    --------
    >>> from mltheory.stats import bandits
    >>> inst = bandits.make_instance(100, 2, 3, key=0)
    >>> bandits.run_bandit(bandits.EpsilonGreedy(c=0.5), inst, key=1).actions.shape
    (100,)
    """

    _mode = 2

    def __init__(
        self,
        kernel: str | Callable[[Array, Array], Array] = "rbf",
        *,
        lam: float = 1.0,
        c: float = 1.0,
        kernel_params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(kernel, kernel_params, lam)
        self.c = check_scalar(c, name="c", lower=0.0, lower_inclusive=False)

    def _config_repr(self) -> str:
        return f"kernel={self._kernel.name!r}, lam={self.lam}, c={self.c}"

    def _coef(self) -> tuple[float, float, float]:
        return 0.0, 1.0, self.c

    def _random(self, key: Array, T: int, K: int) -> tuple[np.ndarray, np.ndarray]:
        k1, k2 = jax.random.split(key)
        u = np.asarray(jax.random.uniform(k1, (T,)), np.float64)
        arms = np.asarray(jax.random.randint(k2, (T,), 0, K), np.int64)
        return u, arms


# --------------------------------------------------------------------------- #
# reference policies
# --------------------------------------------------------------------------- #
class _RewardBlind(_Policy):
    """A reference policy that does not learn: ``update`` only validates."""

    def update(self, t: int, arm: int, context: ArrayLike, reward: float) -> None:
        """Ignore the reward.

        Parameters
        ----------
        t : int
            The round.
        arm : int
            The pulled arm.
        context : array_like of shape (d,)
            Its context.
        reward : float
            The observed reward.
        """
        self._check_update(t, arm, context, reward)


@functools.partial(jax.jit, static_argnames=("T", "K"))
def _random_arms(keys: Array, T: int, K: int) -> Array:
    return jax.vmap(lambda k: jax.random.randint(k, (T,), 0, K))(keys)


class RandomPolicy(_RewardBlind):
    r"""Uniformly random arms (the reference every learner must beat).

    Its expected regret on an instance is
    :math:`\sum_t (\max_i \mu_{t,i} - \frac1K\sum_i \mu_{t,i})`.

    See Also
    --------
    OraclePolicy : The other reference (zero regret).

    Examples
    --------
    >>> from mltheory.stats import bandits
    >>> inst = bandits.make_instance(100, 4, 3, key=0)
    >>> run = bandits.run_bandit(bandits.RandomPolicy(), inst, key=0)
    >>> sorted(set(run.actions.tolist()))
    [0, 1, 2, 3]
    """

    def _simulate(
        self, contexts: Array, means: Array, noise: Array, keys: Array
    ) -> tuple[np.ndarray, np.ndarray, Notes]:
        T, K = means.shape[1:]
        actions = np.asarray(_random_arms(keys, T, K))
        return actions, np.full(actions.shape[0], -1), {}

    def _reset(self, K: int, d: int, T: int, key: Array) -> None:
        self._arms = np.asarray(_random_arms(key[None], T, K)[0])

    def select(self, t: int, contexts: ArrayLike) -> int:
        """A uniformly random arm (pre-drawn at ``reset``).

        Parameters
        ----------
        t : int
            The round.
        contexts : array_like of shape (K, d)
            The contexts (ignored).

        Returns
        -------
        int
            The arm.
        """
        t, _ = self._check_round(t, contexts)
        return int(self._arms[t])


class OraclePolicy(_RewardBlind):
    """The arm with the largest mean reward (knows :math:`f^*`; zero regret).

    Inside :func:`run_bandit` and :func:`run_many` the oracle reads the
    instance's means. Stepped by hand it needs them as ``means``.

    Parameters
    ----------
    means : array_like of shape (T, K), default=None
        Mean rewards for stepping by hand (``select`` returns
        ``argmax(means[t])``).

    Raises
    ------
    ValueError
        If ``means`` is not 2-D and finite.

    See Also
    --------
    RandomPolicy : The other reference.

    Examples
    --------
    >>> from mltheory.stats import bandits
    >>> inst = bandits.make_instance(50, 3, 2, key=0)
    >>> float(bandits.run_bandit(bandits.OraclePolicy(), inst).cumulative_regret[-1])
    0.0
    """

    def __init__(self, means: ArrayLike | None = None) -> None:
        self.means = (
            None
            if means is None
            else as_numpy(means, name="means", ndim=2, shape_hint="(T, K)")
        )

    def _simulate(
        self, contexts: Array, means: Array, noise: Array, keys: Array
    ) -> tuple[np.ndarray, np.ndarray, Notes]:
        actions = np.argmax(np.asarray(means), axis=-1)
        return actions, np.full(actions.shape[0], -1), {}

    def _reset(self, K: int, d: int, T: int, key: Array) -> None:
        if self.means is None or self.means.shape[0] < T or self.means.shape[1] != K:
            got = None if self.means is None else self.means.shape
            raise ValueError(
                "OraclePolicy stepped by hand needs means of shape (T, K) = "
                f"{(T, K)} (pass OraclePolicy(means=instance.means)); got {got}."
            )

    def select(self, t: int, contexts: ArrayLike) -> int:
        """The best arm at round ``t``.

        Parameters
        ----------
        t : int
            The round.
        contexts : array_like of shape (K, d)
            The contexts (ignored).

        Returns
        -------
        int
            ``argmax(means[t])``.
        """
        t, _ = self._check_round(t, contexts)
        assert self.means is not None
        return int(np.argmax(self.means[t]))
