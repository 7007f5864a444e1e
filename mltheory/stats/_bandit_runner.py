"""Running policies on instances: one run, many replications, lenient regret."""

from __future__ import annotations

import math
from concurrent.futures import Executor
from typing import Any, Literal, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

from mltheory import numerics
from mltheory._src._pytree import pytree_dataclass, static_field
from mltheory._src._typing import ArrayLike
from mltheory._src._validation import (
    as_numpy,
    check_in,
    check_scalar,
    describe,
)
from mltheory.numerics import parallel
from mltheory.stats._bandit_env import (
    BanditInstance,
    _check_means_finite,
    _draw_instances,
    _instance_config,
)
from mltheory.stats._bandit_policies import _Policy

__all__ = [
    "BanditRun",
    "BanditRunBatch",
    "lenient_regret",
    "run_bandit",
    "run_many",
]

OnDivergence = Literal["raise", "warn", "flag"]
Run = TypeVar("Run", "BanditRun", "BanditRunBatch")
_CHUNK_BYTES = 1 << 25  # contexts per chunk of replications (32 MiB)


@pytree_dataclass
class BanditRun:
    r"""The record of one policy run on one instance.

    Parameters
    ----------
    actions : numpy.ndarray of shape (T,) and dtype int64
        The arm pulled at each round.
    rewards : numpy.ndarray of shape (T,)
        The observed rewards :math:`Y(t)`.
    regret : numpy.ndarray of shape (T,)
        The per-round pseudo-regret
        :math:`r_t = \max_i f_i^*(X_i(t)) - f_{I(t)}^*(X_{I(t)}(t)) \ge 0`.
    cumulative_regret : numpy.ndarray of shape (T,)
        :math:`R(t) = \sum_{s \le t} r_s`.
    first_bad_step : int
        The first round whose scores were not finite (-1: none).
    policy : str
        The policy's name.
    explore_rounds : int or None
        :math:`T_0` for explore-then-commit policies, else ``None``.

    Examples
    --------
    >>> from mltheory.stats import bandits
    >>> inst = bandits.make_instance(20, 2, 3, key=0)
    >>> run = bandits.run_bandit(bandits.OraclePolicy(), inst)
    >>> run.regret.shape, run.diverged
    ((20,), False)
    """

    actions: np.ndarray
    rewards: np.ndarray
    regret: np.ndarray
    cumulative_regret: np.ndarray
    first_bad_step: Any
    policy: str = static_field(default="")
    explore_rounds: int | None = static_field(default=None)

    @property
    def diverged(self) -> bool:
        """Whether a round's scores were not finite."""
        return bool(np.any(np.asarray(self.first_bad_step) >= 0))

    def _summary_items(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "T": int(np.shape(self.regret)[-1]),
            "regret": float(np.asarray(self.cumulative_regret)[..., -1].mean()),
        }

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Plot the cumulative regret against the round.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; ``None`` makes a new figure.
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.plot`.

        Returns
        -------
        matplotlib.axes.Axes
            The axes.
        """
        from mltheory._src import _plotting as plotting

        R = plotting.as_numpy(self.cumulative_regret, name="cumulative_regret")
        if R.ndim != 1:
            raise ValueError(
                "BanditRun.plot draws one run; got records of shape "
                f"{R.shape} (use BanditRunBatch.plot for replications)."
            )
        label = kwargs.pop("label", self.policy)
        return _plot_regret(
            ax, R, None, label, self.explore_rounds, "cumulative regret R(t)", kwargs
        )


@pytree_dataclass
class BanditRunBatch:
    r"""Records of replicated runs (leading axis: replication).

    Parameters
    ----------
    actions : numpy.ndarray of shape (n_reps, T) and dtype int64
        The arm pulled at each round.
    rewards : numpy.ndarray of shape (n_reps, T)
        The observed rewards.
    regret : numpy.ndarray of shape (n_reps, T)
        The per-round pseudo-regret :math:`r_t`.
    cumulative_regret : numpy.ndarray of shape (n_reps, T)
        :math:`R(t)` per replication.
    first_bad_step : numpy.ndarray of shape (n_reps,)
        First round with non-finite scores per replication (-1: none).
    policy : str
        The policy's name.
    explore_rounds : int or None
        :math:`T_0` for explore-then-commit policies, else ``None``.

    Examples
    --------
    >>> from mltheory.stats import bandits
    >>> batch = bandits.run_many(bandits.RandomPolicy(), n_reps=4, T=30, K=2, d=3)
    >>> batch.regret.shape, batch.mean_regret().shape
    ((4, 30), (30,))
    """

    actions: np.ndarray
    rewards: np.ndarray
    regret: np.ndarray
    cumulative_regret: np.ndarray
    first_bad_step: np.ndarray
    policy: str = static_field(default="")
    explore_rounds: int | None = static_field(default=None)

    @property
    def n_reps(self) -> int:
        """Number of replications."""
        return int(np.shape(self.regret)[0])

    @property
    def diverged(self) -> bool:
        """Whether any replication had non-finite scores."""
        return bool(np.any(np.asarray(self.first_bad_step) >= 0))

    def mean_regret(self) -> np.ndarray:
        r"""Mean cumulative regret over replications.

        Returns
        -------
        numpy.ndarray of shape (T,)
            :math:`\bar R(t)`.
        """
        return np.asarray(self.cumulative_regret).mean(axis=0)

    def se_regret(self) -> np.ndarray:
        r"""Standard error of the mean cumulative regret.

        Returns
        -------
        numpy.ndarray of shape (T,)
            Sample standard deviation over replications divided by
            :math:`\sqrt{n_{\rm reps}}` (0 for one replication).
        """
        R = np.asarray(self.cumulative_regret)
        if R.shape[0] < 2:
            return np.zeros(R.shape[1])
        return R.std(axis=0, ddof=1) / math.sqrt(R.shape[0])

    def __getitem__(self, i: int) -> BanditRun:
        """One replication as a :class:`BanditRun`."""
        return BanditRun(
            actions=np.asarray(self.actions)[i],
            rewards=np.asarray(self.rewards)[i],
            regret=np.asarray(self.regret)[i],
            cumulative_regret=np.asarray(self.cumulative_regret)[i],
            first_bad_step=int(np.asarray(self.first_bad_step)[i]),
            policy=self.policy,
            explore_rounds=self.explore_rounds,
        )

    def _summary_items(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "n_reps": self.n_reps,
            "T": int(np.shape(self.regret)[-1]),
            "mean regret": float(self.mean_regret()[-1]),
            "se": float(self.se_regret()[-1]),
        }

    def plot(self, ax: Any = None, *, band: float = 2.0, **kwargs: Any) -> Any:
        """Plot the mean cumulative regret with a band of ``band`` standard errors.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; ``None`` makes a new figure.
        band : float, default=2.0
            Half-width of the shaded band in standard errors (0: none).
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.plot`.

        Returns
        -------
        matplotlib.axes.Axes
            The axes.
        """
        band_width = band * self.se_regret() if band > 0 else None
        label = kwargs.pop("label", f"{self.policy} ({self.n_reps} reps)")
        return _plot_regret(
            ax,
            self.mean_regret(),
            band_width,
            label,
            self.explore_rounds,
            "mean cumulative regret R(t)",
            kwargs,
        )


def _plot_regret(
    ax: Any,
    curve: np.ndarray,
    band: np.ndarray | None,
    label: str,
    explore_rounds: int | None,
    ylabel: str,
    kwargs: dict[str, Any],
) -> Any:
    """A regret curve against the round, with a line at the commit (if any)."""
    from mltheory._src import _plotting as plotting

    ax = plotting.axes_or_new(ax)
    t = np.arange(1, curve.shape[0] + 1)
    line = plotting.plot_curve(
        ax, t, curve, band=band, label=label, kind="simulation", **kwargs
    )
    if explore_rounds:
        from matplotlib.colors import to_hex

        # the curve's colour may be an RGB(A) tuple: str() of it is no colour
        color = to_hex(line.get_color(), keep_alpha=True)
        plotting.plot_reference(ax, explore_rounds, axis="x", color=color, linewidth=1)
    return plotting.finish_axes(ax, xlabel="round t", ylabel=ylabel)


# --------------------------------------------------------------------------- #
# core
# --------------------------------------------------------------------------- #
def _check_policy(policy: Any) -> _Policy:
    if isinstance(policy, type) and issubclass(policy, _Policy):
        return policy()
    if isinstance(policy, _Policy):
        return policy
    for method in ("reset", "select", "update"):
        if not callable(getattr(policy, method, None)):
            raise TypeError(
                "policy must be an mltheory bandit policy (or its class) or an object "
                f"with reset/select/update methods; got {describe(policy)} without a "
                f"callable {method!r}."
            )
    return policy  # type: ignore[no-any-return]


_INSTANCE_OPTIONS = ("reward", "context", "cov_spectrum", "noise_sd", "shared")


def _check_instance_kwargs(instance_kwargs: Any) -> dict[str, Any]:
    """The make_instance options of run_many, with their names checked."""
    if instance_kwargs is None:
        return {}
    if not isinstance(instance_kwargs, dict):
        raise TypeError(
            "instance_kwargs must be a dict of make_instance options; got "
            f"{describe(instance_kwargs)}."
        )
    unknown = sorted(str(k) for k in instance_kwargs if k not in _INSTANCE_OPTIONS)
    if unknown:
        raise TypeError(
            f"instance_kwargs may hold only {', '.join(_INSTANCE_OPTIONS)} (T, K "
            f"and d are run_many's own arguments); got {', '.join(unknown)}."
        )
    return instance_kwargs


def _records(
    actions: np.ndarray, means: np.ndarray, noise: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rewards, regret, cumulative regret) from actions (..., T)."""
    a = actions[..., None]
    chosen = np.take_along_axis(means, a, axis=-1)[..., 0]
    rewards = chosen + np.take_along_axis(noise, a, axis=-1)[..., 0]
    regret = np.maximum(means.max(axis=-1) - chosen, 0.0)
    return rewards, regret, np.cumsum(regret, axis=-1)


def _handle_divergence(result: Run, on_divergence: str, policy: str, T: int) -> Run:
    """The library's divergence policy (raise / warn and truncate / flag)."""
    return numerics.handle_divergence(
        result,
        on_divergence=on_divergence,  # type: ignore[arg-type]
        what=policy,
        cause=(
            "its scores became non-finite (non-finite or overflowing "
            "contexts or rewards, or an ill-posed kernel)"
        ),
        n_steps=T,
        n_records=T,
        step_name="round",
        stacklevel=4,
    )


def _python_loop(policy: Any, inst: BanditInstance, key: Any) -> np.ndarray:
    """Step a user's policy object round by round (no vectorisation possible)."""
    ctx = np.asarray(inst.contexts)
    mu = np.asarray(inst.means)
    xi = np.asarray(inst.noise)
    T, K, d = ctx.shape
    policy.reset(K, d, T, key)
    actions = np.zeros(T, dtype=np.int64)
    for t in range(T):
        arm = policy.select(t, ctx[t])
        if isinstance(arm, bool) or not isinstance(arm, int | np.integer):
            raise TypeError(
                f"policy.select must return an int arm; got {describe(arm)} at round "
                f"{t}."
            )
        if not 0 <= int(arm) < K:
            raise ValueError(
                f"policy.select must return an arm in [0, {K - 1}]; got {arm} at "
                f"round {t}."
            )
        actions[t] = arm
        policy.update(t, int(arm), ctx[t, arm], float(mu[t, arm] + xi[t, arm]))
    return actions


def run_bandit(
    policy: Any,
    instance: BanditInstance,
    *,
    key: int | ArrayLike = 0,
    on_divergence: OnDivergence = "raise",
) -> BanditRun:
    r"""Run one policy on one instance and record its regret.

    Parameters
    ----------
    policy : policy object or policy class
        One of this module's policies (a class is instantiated with its
        defaults), or any object with ``reset(K, d, T, key)``,
        ``select(t, contexts) -> int`` and ``update(t, arm, context,
        reward)``, which is stepped round by round in Python.
    instance : BanditInstance
        The instance (contexts, means and noise).
    key : int or jax.Array, default=0
        Seed or PRNG key of the policy's randomness (same key, same run).
    on_divergence : {"raise", "warn", "flag"}, default="raise"
        What to do when a round's scores are not finite: raise
        :class:`~mltheory.exceptions.DivergenceError`, warn, or only record
        ``first_bad_step``.

    Returns
    -------
    BanditRun
        Actions, rewards and per-round and cumulative regret.

    Raises
    ------
    TypeError
        If ``policy`` is not a policy or ``instance`` not a
        :class:`BanditInstance`, or a user policy returns a non-integer arm.
    ValueError
        If a user policy returns an arm outside ``[0, K)``, or a policy's
        options do not fit the instance (e.g. ``T0 > T``).
    DivergenceError
        If the scores became non-finite and ``on_divergence="raise"``.

    See Also
    --------
    run_many : Replications, vectorised.

    Examples
    --------
    >>> from mltheory.stats import bandits
    >>> inst = bandits.make_instance(200, 3, 5, key=0)
    >>> oracle = bandits.run_bandit(bandits.OraclePolicy(), inst)
    >>> rand = bandits.run_bandit(bandits.RandomPolicy(), inst, key=1)
    >>> float(oracle.cumulative_regret[-1]), bool(rand.cumulative_regret[-1] > 0)
    (0.0, True)
    """
    pol = _check_policy(policy)
    if not isinstance(instance, BanditInstance):
        raise TypeError(
            f"instance must be a BanditInstance (make_instance, instance_from_arrays); "
            f"got {describe(instance)}."
        )
    check_in(on_divergence, name="on_divergence", options=("raise", "warn", "flag"))
    T, K = instance.n_rounds, instance.n_arms
    k = numerics.as_key(key)
    name = getattr(pol, "name", type(pol).__name__)
    explore = None
    if isinstance(pol, _Policy):
        pol._check_horizon(T, K)
        explore = pol._explore_rounds(T, K)
        actions, bad, notes = pol._simulate(
            instance.contexts[None],
            instance.means[None],
            instance.noise[None],
            k[None],
        )
        actions, first_bad = actions[0], int(bad[0])
        pol._check_run(actions, notes, K, stacklevel=2)
    else:
        actions, first_bad = _python_loop(pol, instance, k), -1
    means = np.asarray(instance.means)
    rewards, regret, cumulative = _records(
        np.asarray(actions, np.int64), means, np.asarray(instance.noise)
    )
    run = BanditRun(
        actions=np.asarray(actions, np.int64),
        rewards=rewards,
        regret=regret,
        cumulative_regret=cumulative,
        first_bad_step=first_bad,
        policy=name,
        explore_rounds=explore,
    )
    return _handle_divergence(run, on_divergence, name, T)


def _run_chunk(
    pol: _Policy, inst_keys: Any, pol_keys: Any, config: dict[str, Any]
) -> tuple[Any, ...]:
    contexts, means, noise = _draw_instances(jnp.asarray(inst_keys), **config)
    _check_means_finite(means, "reward")
    actions, bad, notes = pol._simulate(contexts, means, noise, jnp.asarray(pol_keys))
    rewards, regret, cumulative = _records(
        np.asarray(actions, np.int64), np.asarray(means), np.asarray(noise)
    )
    records = (np.asarray(actions, np.int64), rewards, regret, cumulative)
    return (*records, np.asarray(bad), notes)


def run_many(
    policy: Any,
    *,
    n_reps: int,
    T: int,
    K: int,
    d: int,
    key: int | ArrayLike = 0,
    instance_kwargs: dict[str, Any] | None = None,
    chunk_size: int | None = None,
    executor: Executor | None = None,
    on_divergence: OnDivergence = "raise",
) -> BanditRunBatch:
    r"""Run a policy on ``n_reps`` independent instances (vectorised).

    Replication ``r`` draws its instance with :func:`make_instance` from its
    own key and runs the policy with another; the keys come from ``key``
    alone, so the result is the same whatever ``chunk_size`` or
    ``executor``, and two policies run with the same ``key`` see the same
    instances. Explore-then-commit policies, LinUCB, the random and the
    oracle policy are vmapped over each chunk of replications (one compiled
    program); the sequential kernel policies (KernelUCB, GP-UCB,
    epsilon-greedy) run their numba loop once per replication.

    Parameters
    ----------
    policy : policy object or policy class
        One of this module's policies (a class is instantiated with its
        defaults).
    n_reps : int
        Number of replications (:math:`\ge 1`).
    T : int
        Rounds per replication.
    K : int
        Number of arms.
    d : int
        Context dimension.
    key : int or jax.Array, default=0
        Seed or PRNG key.
    instance_kwargs : dict, default=None
        Options of :func:`make_instance` (``reward``, ``context``,
        ``cov_spectrum``, ``noise_sd``, ``shared``).
    chunk_size : int, default=None
        Replications per vectorised chunk; ``None`` keeps each chunk's
        contexts under 32 MiB.
    executor : concurrent.futures.Executor, default=None
        Runs the chunks (e.g. a thread pool or a Dask client's executor);
        ``None`` runs them in turn here.
    on_divergence : {"raise", "warn", "flag"}, default="raise"
        As in :func:`run_bandit`.

    Returns
    -------
    BanditRunBatch
        Records with a leading replication axis.

    Raises
    ------
    TypeError
        If ``policy`` is not one of this module's policies, or a size is not
        an integer.
    ValueError
        If a size or option is out of range.
    DivergenceError
        If a replication's scores became non-finite and
        ``on_divergence="raise"``.

    See Also
    --------
    run_bandit : One run on a given instance.

    Examples
    --------
    >>> from mltheory.stats import bandits
    >>> batch = bandits.run_many(
    ...     bandits.KernelInterpolationETC, n_reps=3, T=200, K=3, d=10, key=0
    ... )
    >>> batch.cumulative_regret.shape, batch.explore_rounds
    ((3, 200), 36)
    """
    pol = _check_policy(policy)
    if not isinstance(pol, _Policy):
        raise TypeError(
            "run_many needs one of mltheory's bandit policies (it vectorises them); "
            f"got {describe(policy)}. Step your own policy with run_bandit."
        )
    n_reps = check_scalar(n_reps, name="n_reps", kind=int, lower=1)
    config = _instance_config(T, K, d, **_check_instance_kwargs(instance_kwargs))
    T, K, d = config["T"], config["K"], config["d"]
    check_in(on_divergence, name="on_divergence", options=("raise", "warn", "flag"))
    if chunk_size is None:
        chunk_size = max(1, _CHUNK_BYTES // (8 * T * K * d))
    chunk_size = check_scalar(chunk_size, name="chunk_size", kind=int, lower=1)
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise TypeError(
            "executor must be a concurrent.futures.Executor (with submit); got "
            f"{describe(executor)}."
        )
    pol._check_horizon(T, K)
    keys = numerics.split_keys(numerics.as_key(key), (n_reps, 2))

    def job(chunk: Any) -> tuple[Any, ...]:
        return _run_chunk(pol, chunk[:, 0], chunk[:, 1], config)

    *records, notes = parallel.sweep(
        job, keys, executor=executor, chunk_size=chunk_size, show_progress=False
    )
    actions, rewards, regret, cumulative, bad = (np.asarray(a) for a in records)
    # once for the whole batch (chunks may have run on other threads)
    pol._check_run(actions, jax.tree.map(np.asarray, notes), K, stacklevel=2)
    batch = BanditRunBatch(
        actions=actions,
        rewards=rewards,
        regret=regret,
        cumulative_regret=cumulative,
        first_bad_step=bad,
        policy=pol.name,
        explore_rounds=pol._explore_rounds(T, K),
    )
    return _handle_divergence(batch, on_divergence, pol.name, T)


# --------------------------------------------------------------------------- #
# lenient regret
# --------------------------------------------------------------------------- #
def lenient_regret(
    regret: ArrayLike | BanditRun | BanditRunBatch,
    delta: float | ArrayLike,
    *,
    kind: Literal["indicator", "hinge"] = "indicator",
) -> np.ndarray:
    r"""Lenient regret: per-round regret of at most :math:`\Delta` is forgiven.

    Parameters
    ----------
    regret : array_like of shape (..., T), BanditRun or BanditRunBatch
        Per-round regrets :math:`r_t \ge 0` (the ``regret`` field of a run).
    delta : float or array_like of shape (m,)
        Tolerances :math:`\Delta \ge 0`.
    kind : {"indicator", "hinge"}, default="indicator"
        ``"indicator"``: :math:`\sum_t r_t \mathbf 1\{r_t > \Delta\}`;
        ``"hinge"``: :math:`\sum_t (r_t - \Delta)_+`.

    Returns
    -------
    numpy.ndarray of shape (...,) + delta.shape
        The lenient regret over all T rounds, one value per tolerance (the
        tolerance axes last), in the floating dtype of ``regret`` (float64
        for other inputs); ``delta`` is compared in that dtype.

    Raises
    ------
    ValueError
        If ``regret`` is empty, not finite or negative, or ``delta`` is
        negative or not finite, or ``kind`` is unknown.
    TypeError
        If an input is not numeric.

    See Also
    --------
    run_many : Produces the per-round regrets.

    Notes
    -----
    Both forms are non-increasing in :math:`\Delta`, equal the regret
    :math:`R(T)` at :math:`\Delta = 0` and vanish for
    :math:`\Delta \ge \max_t r_t`; the indicator form is at least the hinge
    form. The hinge form belongs to the family of Merlis and Mannor (2021).

    References
    ----------
    .. [1] N. Merlis and S. Mannor, "Lenient regret for multi-armed bandits",
       AAAI 2021, arXiv:1912.06913.

    Examples
    --------
    >>> from mltheory.stats import bandits
    >>> r = np.array([0.0, 0.5, 0.1, 1.0])
    >>> bandits.lenient_regret(r, [0.0, 0.2, 1.0])
    array([1.6, 1.5, 0. ])
    >>> bandits.lenient_regret(r, 0.2, kind="hinge")
    array(1.1)
    """
    if isinstance(regret, BanditRun | BanditRunBatch):
        regret = regret.regret
    r = as_numpy(regret, name="regret", min_ndim=1, shape_hint="(..., T)", dtype=None)
    # keep a floating input's dtype (float32 runs give float32 totals)
    dtype = r.dtype if np.issubdtype(r.dtype, np.floating) else np.dtype(np.float64)
    r = r.astype(dtype, copy=False)
    if (r < 0).any():
        raise ValueError(
            f"regret must be non-negative (per-round regrets); got minimum {r.min()}."
        )
    check_in(kind, name="kind", options=("indicator", "hinge"))
    deltas = as_numpy(delta, name="delta", ndim=(0, 1), shape_hint="(a scalar or (m,))")
    if (deltas < 0).any():
        raise ValueError(f"delta must be >= 0; got minimum {deltas.min()}.")
    rr = r[..., None]
    dd = deltas.reshape(-1).astype(dtype)
    if kind == "indicator":
        terms = np.where(rr > dd, rr, 0.0)
    else:
        terms = np.maximum(rr - dd, 0.0)
    total = terms.sum(axis=-2)  # (..., m)
    return total.reshape(r.shape[:-1] + deltas.shape)
