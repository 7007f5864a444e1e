r"""Position policies and token rules of choose-then-sample (CTS) samplers.

A CTS step first *chooses* which masked positions to reveal (a position
policy), then *samples* tokens at them (a token rule). Policies and rules are
small frozen dataclasses registered as pytrees: their numbers (``beta``,
``eta``, ``exploit_fraction``, ``temperature``) are leaves, so a new value does
not recompile a jitted sampler, and their names (``score``) are static.

Every policy and rule works on **one row**: the sampler maps it over the
batch with one key per row. A numeric field may be a scalar or an array of
shape ``(num_steps,)`` (one value per step, indexed by the step counter).
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from mltheory._src._pytree import pytree_dataclass, static_field
from mltheory._src._typing import Array, ArrayLike, KeyArray
from mltheory._src._validation import as_array, check_in, describe, is_traced
from mltheory.numerics import gumbel_topk

__all__ = [
    "BetaTokens",
    "Greedy",
    "Hybrid",
    "Moment",
    "PositionPolicy",
    "Tempered",
    "TemperatureTokens",
    "TokenRule",
    "Uniform",
    "position_scores",
]

#: Names of the position scores (:func:`position_scores`).
SCORE_NAMES = ("max_prob", "neg_entropy", "margin", "moment")

ScoreName = Literal["max_prob", "neg_entropy", "margin", "moment"]


# --------------------------------------------------------------------------
# Protocols
# --------------------------------------------------------------------------


@runtime_checkable
class PositionPolicy(Protocol):
    """Chooses which masked positions of one row to reveal.

    A position policy is called as ``policy(key, log_probs, eligible, k,
    step)`` with ``log_probs`` of shape ``(L, V)`` (the model's
    log-probabilities), ``eligible`` of shape ``(L,)`` (the masked
    positions), ``k`` the number to reveal (a traced int) and ``step`` the
    step counter; it returns a bool mask of shape ``(L,)`` with
    ``min(k, #eligible)`` entries ``True``, all eligible.

    Parameters
    ----------
    *args : Any
        Unused: a protocol describes an interface and is not instantiated.
    **kwargs : Any
        Unused.

    Examples
    --------
    >>> from mltheory import generative
    >>> isinstance(generative.Uniform(), generative.PositionPolicy)
    True
    """

    def __call__(
        self, key: KeyArray, log_probs: Array, eligible: Array, k: Array, step: Array
    ) -> Array:
        """Return the bool mask of positions to reveal."""
        ...


@runtime_checkable
class TokenRule(Protocol):
    """Samples a token at every position of one row.

    Called as ``rule(key, log_probs, step)`` with ``log_probs`` of shape
    ``(L, V)``; returns int32 tokens of shape ``(L,)`` (the sampler keeps
    them only at the chosen positions).

    Parameters
    ----------
    *args : Any
        Unused: a protocol describes an interface and is not instantiated.
    **kwargs : Any
        Unused.

    Examples
    --------
    >>> from mltheory import generative
    >>> isinstance(generative.BetaTokens(2.0), generative.TokenRule)
    True
    """

    def __call__(self, key: KeyArray, log_probs: Array, step: Array) -> Array:
        """Return int32 tokens of shape ``(L,)``."""
        ...


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def _is_concrete_number(x: Any) -> bool:
    """True for values we can validate now (not tracers or pytree sentinels)."""
    if isinstance(x, bool):
        return False
    if isinstance(x, int | float | np.number):
        return True
    if isinstance(x, np.ndarray):
        return True
    return isinstance(x, jax.Array) and not isinstance(x, jax.core.Tracer)


def _check_field(
    value: Any,
    *,
    name: str,
    lower: float,
    inclusive: bool = True,
    allow_inf: bool = False,
) -> None:
    """Validate a numeric field given as a scalar or a per-step 1-D array."""
    if not _is_concrete_number(value):
        if isinstance(value, str | bytes | bool) or value is None:
            raise TypeError(f"{name} must be a number; got {describe(value)}.")
        return
    arr = np.asarray(value, dtype=float)
    if arr.ndim > 1:
        raise ValueError(
            f"{name} must be a scalar or a 1-D array (one value per step); got "
            f"shape {arr.shape}."
        )
    if np.isnan(arr).any() or (not allow_inf and np.isinf(arr).any()):
        raise ValueError(
            f"{name} must not be NaN{'' if allow_inf else ' or inf'}; got {value!r}."
        )
    low = float(arr.min()) if arr.size else lower
    if (low < lower) if inclusive else (low <= lower):
        op = ">=" if inclusive else ">"
        raise ValueError(f"{name} must be {op} {lower}; got {value!r}.")


def _at_step(value: ArrayLike, step: Array) -> Array:
    """The value of a scalar-or-per-step field at ``step``."""
    arr = jnp.asarray(value)
    return arr[step] if arr.ndim == 1 else arr


def _moment_scores(log_probs: Array, beta: Array) -> Array:
    r"""Log ||p||_beta^beta = logsumexp(beta * log p); max log p for beta = inf."""
    beta = jnp.asarray(beta, dtype=log_probs.dtype)
    finite = jnp.where(jnp.isinf(beta), 1.0, beta)
    lse = jax.nn.logsumexp(finite * log_probs, axis=-1)
    return jnp.where(jnp.isinf(beta), jnp.max(log_probs, axis=-1), lse)


def position_scores(
    log_probs: ArrayLike, score: ScoreName = "max_prob", beta: ArrayLike | None = None
) -> Array:
    r"""Per-position confidence scores computed from log-probabilities.

    Parameters
    ----------
    log_probs : array_like of shape (..., V)
        Log-probabilities :math:`\ell_i(x) = \log p_i(x)` along the last axis.
    score : {"max_prob", "neg_entropy", "margin", "moment"}, default="max_prob"
        ``"max_prob"``: :math:`\max_x \ell_i(x)`; ``"neg_entropy"``:
        :math:`\sum_x p_i(x) \ell_i(x)`; ``"margin"``: the gap between the two
        largest probabilities; ``"moment"``: :math:`\log \|p_i\|_\beta^\beta
        = \operatorname{logsumexp}_x \beta \ell_i(x)` (``beta = inf`` gives
        ``max_prob``).
    beta : float, default=None
        :math:`\beta \ge 1` for ``"moment"`` (required there, unused
        otherwise).

    Returns
    -------
    jax.Array of shape (...)
        The scores; larger means more confident.

    Raises
    ------
    ValueError
        If ``score`` is unknown, ``score="moment"`` without ``beta``, or
        ``log_probs`` holds NaN or ``+inf`` (``-inf`` is a probability 0).
    TypeError
        If ``log_probs`` is not numeric, or is complex.

    See Also
    --------
    mltheory.generative.theory.moment_scores : The moment score from logits.
    Greedy : Reveal the highest-scoring positions.

    Examples
    --------
    >>> from mltheory import generative
    >>> lp = jnp.log(jnp.array([[0.5, 0.5], [0.9, 0.1]]))
    >>> print(generative.position_scores(lp, "margin").round(3))
    [0.  0.8]
    """
    check_in(score, name="score", options=list(SCORE_NAMES))
    # -inf is a valid log-probability (a token of probability 0); NaN/+inf not
    lp = as_array(
        log_probs,
        name="log_probs",
        min_ndim=1,
        shape_hint="(..., V)",
        allow_nonfinite=True,
    )
    if not is_traced(lp) and bool(jnp.any(jnp.isnan(lp) | (lp == jnp.inf))):
        raise ValueError(
            "log_probs must hold log-probabilities (finite or -inf); got NaN or "
            "+inf entries."
        )
    if score == "moment" and beta is None:
        raise ValueError("score='moment' needs beta (>= 1); got beta=None.")
    return _scores(lp, score, beta)


def _scores(log_probs: Array, score: str, beta: Any) -> Array:
    if score == "max_prob":
        return jnp.max(log_probs, axis=-1)
    if score == "neg_entropy":
        probs = jnp.exp(log_probs)
        return jnp.sum(jnp.where(probs > 0, probs * log_probs, 0.0), axis=-1)
    if score == "margin":
        top2 = jax.lax.top_k(jnp.exp(log_probs), 2)[0]
        return top2[..., 0] - top2[..., 1]
    return _moment_scores(log_probs, beta)


def _gumbel_select(
    key: KeyArray,
    scores: Array,
    eligible: Array,
    k: Array,
    scale: Array,
    max_k: int | None = None,
) -> Array:
    """Gumbel top-k of one row (Plackett-Luce law with weights exp(s/scale)).

    ``max_k`` (static, >= every ``k``) turns the full sort into a partial
    ``lax.top_k`` with the same result (see :func:`~mltheory.numerics.gumbel_topk`).
    """
    return gumbel_topk(
        key, scores, k, eligible=eligible, noise_scale=scale, max_k=max_k
    )


def _greedy_select(key: KeyArray, scores: Array, eligible: Array, k: Array) -> Array:
    """Top-k of one row by score; ties broken uniformly at random."""
    tie_break = jax.random.uniform(key, scores.shape)
    # lexsort: the last key is primary; eligible first, then score, then noise
    order = jnp.lexsort((tie_break, -scores, ~eligible))
    positions = jnp.arange(scores.shape[0])
    rank = jnp.zeros_like(positions).at[order].set(positions)
    count = jnp.minimum(k, jnp.sum(eligible))
    return (rank < count) & eligible


def _tempered_select(
    key: KeyArray,
    scores: Array,
    eligible: Array,
    k: Array,
    eta: Array,
    max_k: int | None = None,
) -> Array:
    """Gumbel top-k on scores/eta; eta = 0 is greedy (never divides by 0)."""
    k_g, k_t = jax.random.split(key)
    # lax.cond, not jnp.where: only one branch runs (eta is per step, shared by
    # the rows, so the predicate stays unbatched under the samplers' vmap)
    return lax.cond(
        eta > 0,
        lambda: _gumbel_select(
            k_g, scores, eligible, k, jnp.where(eta > 0, eta, 1.0), max_k
        ),
        lambda: _greedy_select(k_t, scores, eligible, k),
    )


# --------------------------------------------------------------------------
# Position policies
# --------------------------------------------------------------------------


@pytree_dataclass
class Uniform:
    """Reveal a uniformly random subset of the masked positions (random order).

    With one position per step and an exact denoiser this is ancestral
    sampling in a random order, which reproduces the joint law exactly
    (the MDLM/LLaDA ``"random"`` remasking).

    See Also
    --------
    Moment : Positions drawn in proportion to a moment of the model's law.

    Examples
    --------
    >>> from mltheory import generative
    >>> lp = jnp.log(jnp.full((5, 3), 1 / 3))
    >>> sel = generative.Uniform()(jax.random.key(0), lp, jnp.ones(5, bool), 2, 0)
    >>> int(sel.sum())
    2
    """

    def __call__(
        self, key: KeyArray, log_probs: Array, eligible: Array, k: Array, step: Array
    ) -> Array:
        """Select ``k`` eligible positions uniformly at random.

        Parameters
        ----------
        key : jax.Array
            The row's key.
        log_probs : jax.Array of shape (L, V)
            Log-probabilities (unused).
        eligible : jax.Array of bool, shape (L,)
            Masked positions.
        k : int or jax.Array
            Number to reveal.
        step : int or jax.Array
            Step counter (unused).

        Returns
        -------
        jax.Array of bool, shape (L,)
            The selection.
        """
        return self._select(key, log_probs, eligible, k, step, None)

    def _select(
        self,
        key: KeyArray,
        log_probs: Array,
        eligible: Array,
        k: Array,
        step: Array,
        max_k: int | None,
    ) -> Array:
        zeros = jnp.zeros(log_probs.shape[:-1], dtype=log_probs.dtype)
        return _gumbel_select(key, zeros, eligible, k, jnp.asarray(1.0), max_k)


@pytree_dataclass
class Moment:
    r"""The moment sampler's position law: Gumbel top-k on the moment score.

    Position :math:`i` is drawn (sequentially, without replacement) with
    probability proportional to :math:`\|p_i\|_\beta^\beta = \sum_x
    p_i(x)^\beta`. With :math:`\beta = \infty` the :math:`k` positions with
    the largest :math:`\max_x p_i(x)` are taken (ties at random).

    Parameters
    ----------
    beta : float or array_like of shape (num_steps,), default=2.0
        :math:`\beta \ge 1` (``inf`` allowed), or one value per step.
    allow_beta_below_one : bool, default=False
        Allow :math:`0 < \beta < 1` (flattens beyond temperature 1).

    Raises
    ------
    ValueError
        If ``beta < 1`` (without ``allow_beta_below_one``), ``beta <= 0`` or
        NaN.
    TypeError
        If ``allow_beta_below_one`` is not a bool.

    See Also
    --------
    mltheory.generative.moment_sample : The sampler built on this policy.
    mltheory.generative.theory.moment_step_law : Its exact one-step law.

    Examples
    --------
    >>> from mltheory import generative
    >>> lp = jnp.log(jnp.array([[0.98, 0.02], [0.5, 0.5], [0.5, 0.5]]))
    >>> sel = generative.Moment(jnp.inf)(jax.random.key(0), lp, jnp.ones(3, bool), 1, 0)
    >>> print(sel.astype(int))
    [1 0 0]
    """

    beta: ArrayLike = 2.0
    allow_beta_below_one: bool = static_field(default=False)

    def __post_init__(self) -> None:
        """Validate ``beta``."""
        if not isinstance(self.allow_beta_below_one, bool | np.bool_):
            raise TypeError(
                "allow_beta_below_one must be a bool; got "
                f"{describe(self.allow_beta_below_one)}."
            )
        lower = 0.0 if self.allow_beta_below_one else 1.0
        _check_field(
            self.beta,
            name="beta",
            lower=lower,
            inclusive=not self.allow_beta_below_one,
            allow_inf=True,
        )

    def __call__(
        self, key: KeyArray, log_probs: Array, eligible: Array, k: Array, step: Array
    ) -> Array:
        """Select ``k`` positions with the moment law.

        Parameters
        ----------
        key : jax.Array
            The row's key.
        log_probs : jax.Array of shape (L, V)
            Log-probabilities.
        eligible : jax.Array of bool, shape (L,)
            Masked positions.
        k : int or jax.Array
            Number to reveal.
        step : int or jax.Array
            Step counter (indexes a per-step ``beta``).

        Returns
        -------
        jax.Array of bool, shape (L,)
            The selection.
        """
        return self._select(key, log_probs, eligible, k, step, None)

    def _select(
        self,
        key: KeyArray,
        log_probs: Array,
        eligible: Array,
        k: Array,
        step: Array,
        max_k: int | None,
    ) -> Array:
        beta = _at_step(self.beta, step)
        scores = _moment_scores(log_probs, beta)
        eta = jnp.where(jnp.isinf(beta), 0.0, 1.0).astype(log_probs.dtype)
        return _tempered_select(key, scores, eligible, k, eta, max_k)


@pytree_dataclass
class Greedy:
    r"""Reveal the ``k`` most confident positions (exploitation).

    The LLaDA ``"low_confidence"`` remasking is ``Greedy("max_prob")``. Ties
    are broken uniformly at random.

    Parameters
    ----------
    score : {"max_prob", "neg_entropy", "margin", "moment"}, default="max_prob"
        The confidence score (see :func:`position_scores`).
    beta : float or array_like of shape (num_steps,), default=None
        :math:`\beta` for ``score="moment"``.

    Raises
    ------
    ValueError
        If ``score`` is unknown, or ``"moment"`` is given without a valid
        ``beta``.

    See Also
    --------
    Tempered : A softened greedy policy.

    Examples
    --------
    >>> from mltheory import generative
    >>> lp = jnp.log(jnp.array([[0.6, 0.4], [0.9, 0.1], [0.5, 0.5]]))
    >>> sel = generative.Greedy()(jax.random.key(0), lp, jnp.ones(3, bool), 1, 0)
    >>> print(sel.astype(int))
    [0 1 0]
    """

    score: ScoreName = static_field(default="max_prob")
    beta: ArrayLike | None = None

    def __post_init__(self) -> None:
        """Validate ``score`` and ``beta``."""
        _check_score(self.score, self.beta)

    def __call__(
        self, key: KeyArray, log_probs: Array, eligible: Array, k: Array, step: Array
    ) -> Array:
        """Select the ``k`` highest-scoring eligible positions.

        Parameters
        ----------
        key : jax.Array
            The row's key (for ties).
        log_probs : jax.Array of shape (L, V)
            Log-probabilities.
        eligible : jax.Array of bool, shape (L,)
            Masked positions.
        k : int or jax.Array
            Number to reveal.
        step : int or jax.Array
            Step counter.

        Returns
        -------
        jax.Array of bool, shape (L,)
            The selection.
        """
        beta = None if self.beta is None else _at_step(self.beta, step)
        return _greedy_select(key, _scores(log_probs, self.score, beta), eligible, k)


def _check_score(score: Any, beta: Any) -> None:
    if not isinstance(score, str):
        return  # pytree reconstruction with placeholders
    check_in(score, name="score", options=list(SCORE_NAMES))
    if score == "moment":
        if beta is None:
            raise ValueError("score='moment' needs beta (>= 1); got beta=None.")
        _check_field(beta, name="beta", lower=1.0, allow_inf=True)


@pytree_dataclass
class Tempered:
    r"""Gumbel top-k on ``score / eta``: between greedy and uniform.

    Positions are drawn sequentially without replacement with probability
    proportional to :math:`\exp(s_i / \eta)`. :math:`\eta \to 0` is
    :class:`Greedy`, :math:`\eta \to \infty` is :class:`Uniform`, and
    ``Tempered("moment", 1.0, beta)`` is :class:`Moment`.

    Parameters
    ----------
    score : {"max_prob", "neg_entropy", "margin", "moment"}, default="max_prob"
        The score (see :func:`position_scores`).
    eta : float or array_like of shape (num_steps,), default=1.0
        Temperature :math:`\eta \ge 0` of the position law (``0`` = greedy).
    beta : float or array_like of shape (num_steps,), default=None
        :math:`\beta` for ``score="moment"``.

    Raises
    ------
    ValueError
        If ``eta < 0`` or NaN/inf, ``score`` is unknown, or ``"moment"``
        lacks ``beta``.

    See Also
    --------
    Hybrid : A discrete mixture of exploitation and exploration.

    Examples
    --------
    >>> from mltheory import generative
    >>> pol = generative.Tempered("max_prob", eta=0.5)
    >>> lp = jnp.log(jnp.full((4, 2), 0.5))
    >>> int(pol(jax.random.key(1), lp, jnp.ones(4, bool), 3, 0).sum())
    3
    """

    score: ScoreName = static_field(default="max_prob")
    eta: ArrayLike = 1.0
    beta: ArrayLike | None = None

    def __post_init__(self) -> None:
        """Validate ``score``, ``eta`` and ``beta``."""
        _check_score(self.score, self.beta)
        _check_field(self.eta, name="eta", lower=0.0)

    def __call__(
        self, key: KeyArray, log_probs: Array, eligible: Array, k: Array, step: Array
    ) -> Array:
        """Select ``k`` positions by Gumbel top-k on ``score / eta``.

        Parameters
        ----------
        key : jax.Array
            The row's key.
        log_probs : jax.Array of shape (L, V)
            Log-probabilities.
        eligible : jax.Array of bool, shape (L,)
            Masked positions.
        k : int or jax.Array
            Number to reveal.
        step : int or jax.Array
            Step counter.

        Returns
        -------
        jax.Array of bool, shape (L,)
            The selection.
        """
        return self._select(key, log_probs, eligible, k, step, None)

    def _select(
        self,
        key: KeyArray,
        log_probs: Array,
        eligible: Array,
        k: Array,
        step: Array,
        max_k: int | None,
    ) -> Array:
        beta = None if self.beta is None else _at_step(self.beta, step)
        eta = jnp.asarray(_at_step(self.eta, step), dtype=log_probs.dtype)
        scores = _scores(log_probs, self.score, beta)
        return _tempered_select(key, scores, eligible, k, eta, max_k)


@pytree_dataclass
class Hybrid:
    r"""Exploit for a fraction of each step's reveals, explore for the rest.

    At a step that reveals :math:`k` positions,
    :math:`k_e = \operatorname{round}(\rho k)` are chosen by ``exploit``
    (default: greedy on the moment score with :math:`\beta = 2`), then the
    other :math:`k - k_e` by ``explore`` (default :class:`Uniform`) among the
    positions still left.

    Parameters
    ----------
    exploit_fraction : float or array_like of shape (num_steps,), default=0.5
        :math:`\rho \in [0, 1]`; ``0`` = pure exploration, ``1`` = pure
        exploitation; an array gives one value per step.
    exploit : PositionPolicy, default=None
        The exploitation policy; ``None`` means ``Greedy("moment", beta=2.0)``.
    explore : PositionPolicy, default=None
        The exploration policy; ``None`` means ``Uniform()``.

    Raises
    ------
    ValueError
        If ``exploit_fraction`` is outside :math:`[0, 1]` or NaN.
    TypeError
        If ``exploit`` or ``explore`` is not callable.

    See Also
    --------
    mltheory.generative.hybrid_sample : The sampler built on this policy.

    Notes
    -----
    This one-parameter rule is our reconstruction of the paper's hybrid
    exploration-exploitation unmasking [1]_ (the exact rule was not
    retrievable); :class:`Tempered` is the continuous alternative.

    References
    ----------
    .. [1] S. Hayakawa, Y. Takida, M. Imaizumi, H. Wakaki and Y. Mitsufuji,
       "Demystifying MaskGIT sampler and beyond: Adaptive order selection in
       masked diffusion", arXiv:2510.04525, 2025.

    Examples
    --------
    >>> from mltheory import generative
    >>> pol = generative.Hybrid(0.5)
    >>> lp = jnp.log(jnp.full((6, 2), 0.5))
    >>> int(pol(jax.random.key(0), lp, jnp.ones(6, bool), 4, 0).sum())
    4
    """

    exploit_fraction: ArrayLike = 0.5
    exploit: Any = None
    explore: Any = None

    def __post_init__(self) -> None:
        """Validate the fraction and fill in the default policies."""
        if self.exploit is None:
            object.__setattr__(self, "exploit", Greedy("moment", beta=2.0))
        if self.explore is None:
            object.__setattr__(self, "explore", Uniform())
        for name in ("exploit", "explore"):
            value = getattr(self, name)
            if _is_concrete_number(value) or isinstance(value, str):
                raise TypeError(
                    f"{name} must be a position policy; got {describe(value)}."
                )
        _check_field(self.exploit_fraction, name="exploit_fraction", lower=0.0)
        if _is_concrete_number(self.exploit_fraction):
            high = float(np.max(np.asarray(self.exploit_fraction, dtype=float)))
            if high > 1.0:
                raise ValueError(
                    "exploit_fraction must be in [0, 1]; got "
                    f"{self.exploit_fraction!r}."
                )

    def __call__(
        self, key: KeyArray, log_probs: Array, eligible: Array, k: Array, step: Array
    ) -> Array:
        """Select ``round(rho k)`` positions by exploitation, the rest by exploration.

        Parameters
        ----------
        key : jax.Array
            The row's key.
        log_probs : jax.Array of shape (L, V)
            Log-probabilities.
        eligible : jax.Array of bool, shape (L,)
            Masked positions.
        k : int or jax.Array
            Number to reveal.
        step : int or jax.Array
            Step counter.

        Returns
        -------
        jax.Array of bool, shape (L,)
            The selection.
        """
        return self._select(key, log_probs, eligible, k, step, None)

    def _select(
        self,
        key: KeyArray,
        log_probs: Array,
        eligible: Array,
        k: Array,
        step: Array,
        max_k: int | None,
    ) -> Array:
        rho = jnp.asarray(_at_step(self.exploit_fraction, step))
        k = jnp.asarray(k)
        k_exploit = jnp.round(rho * k).astype(k.dtype)
        k_exploit = jnp.minimum(k_exploit, k)
        key_exploit, key_explore = jax.random.split(key)
        first = select_positions(
            self.exploit, key_exploit, log_probs, eligible, k_exploit, step, max_k
        )
        second = select_positions(
            self.explore,
            key_explore,
            log_probs,
            eligible & ~first,
            k - k_exploit,
            step,
            max_k,
        )
        return first | second


def select_positions(
    policy: Any,
    key: KeyArray,
    log_probs: Array,
    eligible: Array,
    k: Array,
    step: Array,
    max_k: int | None = None,
) -> Array:
    """Call a position policy; the built-in ones also get a static bound on ``k``.

    The samplers know every step's count before the loop, so they pass its
    maximum as ``max_k``: the Gumbel top-k then runs as a partial
    ``lax.top_k`` instead of a full sort (same selection, several times
    faster on CPU). A user's policy is called through its public interface.
    """
    if max_k is not None and isinstance(policy, Uniform | Moment | Tempered | Hybrid):
        return policy._select(key, log_probs, eligible, k, step, max_k)
    return policy(key, log_probs, eligible, k, step)


# --------------------------------------------------------------------------
# Token rules
# --------------------------------------------------------------------------


def first_argmax(x: Array) -> Array:
    """``jnp.argmax(x, axis=-1)`` (first index among ties) as int32, faster on CPU.

    XLA:CPU lowers ``argmax`` to a (value, index) pair reduction that does not
    vectorise and, fused with the Gumbel noise in ``jax.random.categorical``,
    costs about 2 ms on a (64, 64, 16) array; a max, then a min over the
    indices attaining it, gives the same index in a fraction of that. NaN
    rows (no index attains the max) give the last index rather than an
    out-of-range value.
    """
    n = x.shape[-1]
    top = jnp.max(x, axis=-1, keepdims=True)
    index = jnp.reshape(jnp.arange(n, dtype=jnp.int32), (1,) * (x.ndim - 1) + (n,))
    first = jnp.min(jnp.where(x == top, index, n), axis=-1)
    return jnp.minimum(first, n - 1)


def categorical(key: KeyArray, logits: Array) -> Array:
    """The draw of ``jax.random.categorical(key, logits, axis=-1)``, as int32.

    The same Gumbel noise (``jax.random.gumbel(key, logits.shape)``) and the
    same first-index tie-break, so the very same tokens, with the argmax of
    :func:`first_argmax`.
    """
    return first_argmax(logits + jax.random.gumbel(key, logits.shape, logits.dtype))


def _sample_tokens(key: KeyArray, log_probs: Array, beta: Array) -> Array:
    """Sample from softmax(beta * log p) per position; argmax when beta = inf."""
    beta = jnp.asarray(beta, dtype=log_probs.dtype)
    finite = jnp.where(jnp.isinf(beta), 1.0, beta)
    drawn = categorical(key, finite * log_probs)
    return jnp.where(jnp.isinf(beta), first_argmax(log_probs), drawn)


@pytree_dataclass
class TemperatureTokens:
    r"""Sample tokens from :math:`\mathrm{softmax}(\ell_i / \tau)`.

    Parameters
    ----------
    temperature : float or array_like of shape (num_steps,), default=1.0
        :math:`\tau > 0`; for the argmax use ``BetaTokens(jnp.inf)``.

    Raises
    ------
    ValueError
        If ``temperature <= 0`` or NaN/inf.

    See Also
    --------
    BetaTokens : The same rule parametrised by :math:`\beta = 1/\tau`.

    Examples
    --------
    >>> from mltheory import generative
    >>> lp = jnp.log(jnp.array([[0.1, 0.9]] * 4))
    >>> print(generative.TemperatureTokens(1.0)(jax.random.key(0), lp, 0).shape)
    (4,)
    """

    temperature: ArrayLike = 1.0

    def __post_init__(self) -> None:
        """Validate ``temperature``."""
        _check_field(self.temperature, name="temperature", lower=0.0, inclusive=False)

    def __call__(self, key: KeyArray, log_probs: Array, step: Array) -> Array:
        """Sample one token per position.

        Parameters
        ----------
        key : jax.Array
            The row's key.
        log_probs : jax.Array of shape (L, V)
            Log-probabilities.
        step : int or jax.Array
            Step counter.

        Returns
        -------
        jax.Array of int32, shape (L,)
            Tokens.
        """
        temp = jnp.asarray(_at_step(self.temperature, step), dtype=log_probs.dtype)
        return _sample_tokens(key, log_probs, 1.0 / temp)


@pytree_dataclass
class BetaTokens:
    r"""Sample tokens from softmax(beta * log p) (temperature :math:`1/\beta`).

    Parameters
    ----------
    beta : float or array_like of shape (num_steps,), default=1.0
        :math:`\beta > 0`; ``inf`` takes the argmax.

    Raises
    ------
    ValueError
        If ``beta <= 0`` or NaN.

    See Also
    --------
    TemperatureTokens : The same rule parametrised by the temperature.

    Examples
    --------
    >>> from mltheory import generative
    >>> lp = jnp.log(jnp.array([[0.1, 0.9], [0.7, 0.3]]))
    >>> print(generative.BetaTokens(jnp.inf)(jax.random.key(0), lp, 0))
    [1 0]
    """

    beta: ArrayLike = 1.0

    def __post_init__(self) -> None:
        """Validate ``beta``."""
        _check_field(self.beta, name="beta", lower=0.0, inclusive=False, allow_inf=True)

    def __call__(self, key: KeyArray, log_probs: Array, step: Array) -> Array:
        """Sample one token per position.

        Parameters
        ----------
        key : jax.Array
            The row's key.
        log_probs : jax.Array of shape (L, V)
            Log-probabilities.
        step : int or jax.Array
            Step counter.

        Returns
        -------
        jax.Array of int32, shape (L,)
            Tokens.
        """
        return _sample_tokens(key, log_probs, _at_step(self.beta, step))
