r"""Exact theory of masked-diffusion samplers: implicit temperature and exact laws.

MaskGIT's Gumbel scale :math:`\alpha` acts as an implicit token temperature
:math:`\alpha/(1+\alpha)`: conditionally on the sampled tokens
:math:`\tilde x`, its position choice is a Plackett-Luce draw with weights
:math:`p_i(\tilde x_i)^{1/\alpha}`, and after marginalising the tokens the
first revealed pair is asymptotically (many masked positions) distributed as

.. math::

    P(i, x) \approx \frac{p_i(x)^\beta}{\sum_j \|p_j\|_\beta^\beta},
    \qquad \beta = 1 + 1/\alpha,

which is exactly the moment sampler's law. This module gives these laws
exactly (by enumeration for small problems), the exact output distribution
of a whole sampling run on a tiny toy model, and the divergences used to
compare them.

Enumeration functions run on the host in float64 NumPy (they refuse problems
with more than :math:`10^6` configurations); the elementwise maps
(:func:`beta_from_alpha`, :func:`implicit_temperature`,
:func:`moment_scores`) are JAX functions.
"""

from __future__ import annotations

import itertools
import math
from functools import partial
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from scipy import special

from mltheory._src._typing import Array, ArrayLike, KeyArray
from mltheory._src._validation import (
    as_array,
    as_numpy,
    check_in,
    check_key,
    check_probabilities,
    check_scalar,
    describe,
)
from mltheory.generative._policies import (
    BetaTokens,
    Greedy,
    Hybrid,
    Moment,
    TemperatureTokens,
    Tempered,
    Uniform,
    _moment_scores,
)
from mltheory.generative._samplers import _beta_schedule, join_callable, split_callable
from mltheory.generative._schedules import gumbel_scale_schedule, reveal_counts
from mltheory.generative.toy import JointTableModel, all_sequences

__all__ = [
    "beta_from_alpha",
    "exact_output_distribution",
    "implicit_temperature",
    "kl_divergence",
    "maskgit_step_law",
    "moment_scores",
    "moment_step_law",
    "position_law_given_tokens",
    "total_variation",
]

_MAX_CONFIGS = 10**6


# --------------------------------------------------------------------------
# Elementwise maps
# --------------------------------------------------------------------------


def beta_from_alpha(alpha: ArrayLike) -> Array:
    r"""The moment exponent :math:`\beta = 1 + 1/\alpha` of a Gumbel scale.

    Parameters
    ----------
    alpha : array_like
        Gumbel scales :math:`\alpha \ge 0` (``inf`` allowed).

    Returns
    -------
    jax.Array
        :math:`\beta`; :math:`\alpha = 0 \mapsto \infty`,
        :math:`\alpha = \infty \mapsto 1`.

    Raises
    ------
    ValueError
        If an entry is negative or NaN.

    See Also
    --------
    implicit_temperature : The token temperature :math:`1/\beta`.

    Examples
    --------
    >>> from mltheory.generative import theory
    >>> print(theory.beta_from_alpha(jnp.array([0.0, 0.5, 4.5, jnp.inf])).round(4))
    [   inf 3.     1.2222 1.    ]
    """
    a = _check_alpha(alpha)
    safe = jnp.where(a > 0, a, 1.0)
    return jnp.where(a > 0, 1.0 + 1.0 / safe, jnp.inf)


def implicit_temperature(alpha: ArrayLike) -> Array:
    r"""Compute MaskGIT's implicit token temperature :math:`\alpha/(1+\alpha)`.

    Parameters
    ----------
    alpha : array_like
        Gumbel scales :math:`\alpha \ge 0` (``inf`` allowed).

    Returns
    -------
    jax.Array
        :math:`1/\beta = \alpha/(1+\alpha) \in [0, 1]`; ``inf`` gives 1.

    Raises
    ------
    ValueError
        If an entry is negative or NaN.

    See Also
    --------
    beta_from_alpha : The inverse temperature :math:`\beta`.

    Notes
    -----
    Always below 1: MaskGIT sharpens the model's token law, the more so the
    smaller the Gumbel scale [1]_.

    References
    ----------
    .. [1] S. Hayakawa, Y. Takida, M. Imaizumi, H. Wakaki and Y. Mitsufuji,
       "Demystifying MaskGIT sampler and beyond: Adaptive order selection in
       masked diffusion", arXiv:2510.04525, 2025.

    Examples
    --------
    >>> from mltheory.generative import theory
    >>> print(round(float(theory.implicit_temperature(4.5)), 4))
    0.8182
    """
    a = _check_alpha(alpha)
    return jnp.where(jnp.isinf(a), 1.0, a / (1.0 + jnp.where(jnp.isinf(a), 0.0, a)))


def _check_alpha(alpha: Any) -> Array:
    a = as_array(alpha, name="alpha", allow_nonfinite=True)
    if not isinstance(a, jax.core.Tracer):
        values = np.asarray(a)
        if np.isnan(values).any() or (values < 0).any():
            raise ValueError(f"alpha must be >= 0 and not NaN; got {values}.")
    return a


def moment_scores(
    logits: ArrayLike, beta: ArrayLike, mask: ArrayLike | None = None
) -> Array:
    r"""Moment scores :math:`\log\|p_i\|_\beta^\beta` from logits.

    Parameters
    ----------
    logits : array_like of shape (..., L, V)
        Logits (normalised here with a log-softmax).
    beta : float
        :math:`\beta \ge 1`; ``inf`` gives :math:`\max_x \log p_i(x)`.
    mask : array_like of bool, shape (..., L), default=None
        Where given, unmasked positions get ``-inf``.

    Returns
    -------
    jax.Array of shape (..., L)
        The scores.

    Raises
    ------
    ValueError
        If ``beta < 1`` or NaN, or ``logits`` holds NaN/inf.

    See Also
    --------
    moment_step_law : The law these scores define.

    Examples
    --------
    >>> from mltheory.generative import theory
    >>> logits = jnp.log(jnp.array([[0.5, 0.5], [1.0, 1e-12]]))
    >>> print(jnp.exp(theory.moment_scores(logits, 2.0)).round(3))
    [0.5 1. ]
    """
    lg = as_array(logits, name="logits", min_ndim=2)
    b = (
        check_scalar(beta, name="beta", lower=1.0)
        if not (isinstance(beta, float) and math.isinf(beta) and beta > 0)
        else beta
    )
    scores = _moment_scores(jax.nn.log_softmax(lg, axis=-1), jnp.asarray(b))
    if mask is not None:
        msk = jnp.asarray(mask)
        if msk.shape != scores.shape:
            raise ValueError(
                f"mask must have shape {scores.shape} (logits without the last "
                f"axis); got {msk.shape}."
            )
        scores = jnp.where(msk, scores, -jnp.inf)
    return scores


# --------------------------------------------------------------------------
# One-step laws
# --------------------------------------------------------------------------


def _check_probs(probs: Any, name: str = "probs") -> np.ndarray:
    p = as_numpy(probs, name=name, ndim=2, shape_hint="(m, V)")
    check_probabilities(p, name=f"each row of {name}", axis=1)
    return p


def _nonneg_scalar(x: Any, name: str) -> float:
    if (
        isinstance(x, float | int)
        and not isinstance(x, bool)
        and math.isinf(x)
        and x > 0
    ):
        return math.inf
    return check_scalar(x, name=name, lower=0.0)


def position_law_given_tokens(p_sel: ArrayLike, alpha: float) -> np.ndarray:
    r"""Law of MaskGIT's first chosen position given the sampled tokens.

    Parameters
    ----------
    p_sel : array_like of shape (m,)
        :math:`p_i(\tilde x_i)`, the model probability of the token sampled
        at each masked position.
    alpha : float
        Gumbel scale :math:`\alpha \ge 0`.

    Returns
    -------
    numpy.ndarray of shape (m,)
        :math:`w_i / \sum_j w_j` with :math:`w_i = p_i(\tilde x_i)^{1/\alpha}`
        (Gumbel-top-1 law of :math:`\log p_i(\tilde x_i) + \alpha g_i`);
        for :math:`\alpha = 0`, uniform over the positions of largest
        :math:`p_i(\tilde x_i)`.

    Raises
    ------
    ValueError
        If ``p_sel`` is not 1-D with entries in :math:`(0, 1]`, or
        ``alpha < 0``.

    See Also
    --------
    maskgit_step_law : The law after marginalising the tokens.

    Examples
    --------
    >>> from mltheory.generative import theory
    >>> print(theory.position_law_given_tokens([0.5, 0.25], 1.0).round(4))
    [0.6667 0.3333]
    """
    p = as_numpy(p_sel, name="p_sel", ndim=1)
    if (p <= 0).any() or (p > 1).any():
        raise ValueError("p_sel must have entries in (0, 1].")
    a = _nonneg_scalar(alpha, "alpha")
    return _pl_first(np.log(p)[None], a)[0]


def _pl_first(log_p: np.ndarray, alpha: float) -> np.ndarray:
    """Top-1 law of log_p + alpha * Gumbel along the last axis (alpha = 0: argmax)."""
    if alpha == 0:
        best = log_p == log_p.max(axis=-1, keepdims=True)
        return best / best.sum(axis=-1, keepdims=True)
    z = log_p / alpha
    return np.exp(z - special.logsumexp(z, axis=-1, keepdims=True))


def moment_step_law(
    probs: ArrayLike, alpha: float | None = None, beta: float | None = None
) -> np.ndarray:
    r"""The moment sampler's law of the first revealed (position, token) pair.

    Parameters
    ----------
    probs : array_like of shape (m, V)
        :math:`p_i`, the model's law at each masked position (rows sum to 1).
    alpha : float, default=None
        Gumbel scale; :math:`\beta = 1 + 1/\alpha`.
    beta : float, default=None
        :math:`\beta \ge 1` (``inf`` allowed). Give exactly one of ``alpha``
        and ``beta``.

    Returns
    -------
    numpy.ndarray of shape (m, V)
        :math:`P(i, x) = p_i(x)^\beta / \sum_j \|p_j\|_\beta^\beta`; for
        :math:`\beta = \infty`, uniform over the maximising (position, token)
        pairs.

    Raises
    ------
    ValueError
        If both or neither of ``alpha``, ``beta`` are given, ``beta < 1``,
        ``alpha < 0``, or ``probs`` is not a stochastic matrix.

    See Also
    --------
    maskgit_step_law : MaskGIT's exact law, which converges to this one.

    Examples
    --------
    >>> from mltheory.generative import theory
    >>> law = theory.moment_step_law([[0.5, 0.5], [0.9, 0.1]], beta=2.0)
    >>> print(law.round(4))
    [[0.1894 0.1894]
     [0.6136 0.0076]]
    """
    p = _check_probs(probs)
    b = _one_beta(alpha, beta)
    with np.errstate(divide="ignore"):
        lp = np.log(p)
    if math.isinf(b):
        best = lp == lp.max()
        return best / best.sum()
    z = b * lp
    return np.exp(z - special.logsumexp(z))


def _one_beta(alpha: Any, beta: Any) -> float:
    if (alpha is None) == (beta is None):
        raise ValueError(
            f"give exactly one of alpha or beta; got alpha={alpha!r}, beta={beta!r}."
        )
    if beta is not None:
        if isinstance(beta, float | int) and math.isinf(beta) and beta > 0:
            return math.inf
        return check_scalar(beta, name="beta", lower=1.0)
    a = _nonneg_scalar(alpha, "alpha")
    return math.inf if a == 0 else (1.0 if math.isinf(a) else 1.0 + 1.0 / a)


def maskgit_step_law(
    probs: ArrayLike,
    alpha: float,
    *,
    method: Literal["exact", "mc"] = "exact",
    key: KeyArray | None = None,
    n: int = 200_000,
) -> np.ndarray:
    r"""Compute the law of MaskGIT's first revealed (position, token) pair.

    Every masked position :math:`i` samples :math:`\tilde x_i \sim p_i`;
    the first revealed position is the argmax of
    :math:`\log p_i(\tilde x_i) + \alpha g_i`.

    Parameters
    ----------
    probs : array_like of shape (m, V)
        :math:`p_i` at each masked position (rows sum to 1).
    alpha : float
        Gumbel scale :math:`\alpha \ge 0`.
    method : {"exact", "mc"}, default="exact"
        ``"exact"`` enumerates the :math:`V^m` token configurations, or,
        when all rows are equal, the multinomial counts of the other
        :math:`m - 1` tokens (so :math:`m` can be large); ``"mc"`` simulates
        ``n`` Gumbel draws.
    key : jax.Array, default=None
        PRNG key for ``"mc"`` (required there).
    n : int, default=200000
        Monte Carlo draws for ``"mc"``.

    Returns
    -------
    numpy.ndarray of shape (m, V)
        :math:`P(i, x)`, summing to 1.

    Raises
    ------
    ValueError
        If ``probs`` is not a stochastic matrix, ``alpha < 0``, ``method`` is
        unknown, ``"exact"`` needs more than :math:`10^6` configurations
        (use ``"mc"``), or ``"mc"`` lacks a key.

    See Also
    --------
    moment_step_law : The product-form limit.
    position_law_given_tokens : The law conditional on the tokens.

    Notes
    -----
    .. math::

        P(i, x) = \sum_{\tilde x:\, \tilde x_i = x} \prod_j p_j(\tilde x_j)
        \frac{p_i(x)^{1/\alpha}}{\sum_j p_j(\tilde x_j)^{1/\alpha}}.

    For :math:`m = 1` this is :math:`p_1`; as :math:`m` grows it approaches
    :func:`moment_step_law` with :math:`\beta = 1 + 1/\alpha` [1]_.

    References
    ----------
    .. [1] S. Hayakawa, Y. Takida, M. Imaizumi, H. Wakaki and Y. Mitsufuji,
       "Demystifying MaskGIT sampler and beyond: Adaptive order selection in
       masked diffusion", arXiv:2510.04525, 2025.

    Examples
    --------
    >>> from mltheory.generative import theory
    >>> law = theory.maskgit_step_law([[0.7, 0.3]] * 8, alpha=1.0)
    >>> print(law.sum(axis=0).round(4))
    [0.8327 0.1673]
    """
    p = _check_probs(probs)
    a = _nonneg_scalar(alpha, "alpha")
    check_in(method, name="method", options=["exact", "mc"])
    m, v = p.shape
    with np.errstate(divide="ignore"):
        lp = np.log(p)
    if method == "mc":
        if key is None:
            raise ValueError("method='mc' needs a key; got key=None.")
        key = check_key(key)
        n = check_scalar(n, name="n", kind=int, lower=1)
        return _maskgit_mc(key, jnp.asarray(lp), a, n)
    if m > 1 and np.allclose(p, p[:1]):
        return _maskgit_identical(p[0], m, a)
    if v**m > _MAX_CONFIGS:
        raise ValueError(
            f"method='exact' would enumerate V**m = {v}**{m} > 10**6 token "
            "configurations; use method='mc'."
        )
    configs = all_sequences(m, v)  # (N, m)
    lp_sel = lp[np.arange(m)[None, :], configs]  # (N, m)
    weight = np.exp(lp_sel.sum(axis=1))
    first = _pl_first(lp_sel, a)  # (N, m)
    law = np.zeros((m, v))
    for i in range(m):  # m is small here (V**m <= 1e6)
        np.add.at(law[i], configs[:, i], weight * first[:, i])
    return law


def _maskgit_identical(p: np.ndarray, m: int, alpha: float) -> np.ndarray:
    """Identical rows: enumerate the multinomial counts of the other m-1 tokens."""
    v = p.shape[0]
    comps = np.asarray(
        [c for c in itertools.product(range(m), repeat=v) if sum(c) == m - 1]
        if v <= 3 and m <= 200
        else _compositions(m - 1, v)
    )
    with np.errstate(divide="ignore"):
        lp = np.log(p)
    log_multi = (
        special.gammaln(m)
        - special.gammaln(comps + 1).sum(axis=1)
        + np.where(comps > 0, comps * lp[None, :], 0.0).sum(axis=1)
    )
    pm = np.exp(log_multi)
    out = np.zeros(v)
    for x in range(v):
        if p[x] == 0:
            continue
        if alpha == 0:
            others_max = np.where(comps > 0, lp[None, :], -np.inf).max(axis=1)
            ties = (comps * (lp[None, :] == lp[x])).sum(axis=1)
            share = np.where(
                lp[x] > others_max,
                1.0,
                np.where(lp[x] == others_max, 1.0 / (ties + 1), 0.0),
            )
        else:
            w = np.exp((lp - lp.max()) / alpha)
            share = w[x] / (w[x] + comps @ w)
        out[x] = m * p[x] * np.sum(pm * share)
    return np.tile(out / m, (m, 1))


def _compositions(total: int, parts: int) -> list[tuple[int, ...]]:
    if parts == 1:
        return [(total,)]
    return [
        (i, *rest)
        for i in range(total + 1)
        for rest in _compositions(total - i, parts - 1)
    ]


def _maskgit_mc(key: KeyArray, lp: Array, alpha: float, n: int) -> np.ndarray:
    m, v = lp.shape
    counts = _maskgit_mc_core(key, lp, jnp.asarray(alpha, lp.dtype), n)
    return np.asarray(counts, dtype=float).reshape(m, v) / n


@jax.jit
def _maskgit_mc_draws(key: KeyArray, lp: Array, alpha: Array) -> Array:
    k_tok, k_gum = jax.random.split(key)
    tokens = jax.random.categorical(k_tok, lp, axis=-1)
    conf = jnp.take_along_axis(lp, tokens[:, None], axis=-1)[:, 0]
    noise = jax.random.gumbel(k_gum, conf.shape, dtype=lp.dtype)
    i = jnp.argmax(conf + alpha * noise)
    return i * lp.shape[1] + tokens[i]


def _maskgit_mc_core(key: KeyArray, lp: Array, alpha: Array, n: int) -> Array:
    keys = jax.random.split(key, n)
    draws = jax.vmap(_maskgit_mc_draws, in_axes=(0, None, None))(keys, lp, alpha)
    return jnp.bincount(draws, length=lp.shape[0] * lp.shape[1])


# --------------------------------------------------------------------------
# Exact output law of a whole run (tiny L, V)
# --------------------------------------------------------------------------


def _combos_and_perms(length: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    combos = list(itertools.combinations(range(length), k))
    index = {c: j for j, c in enumerate(combos)}
    perms = list(itertools.permutations(range(length), k))
    perm_combo = np.asarray([index[tuple(sorted(q))] for q in perms])
    return (
        np.asarray(combos, dtype=int).reshape(len(combos), k),
        np.asarray(perms, dtype=int).reshape(len(perms), k),
        perm_combo,
    )


def _pl_set_law(log_w: np.ndarray, eligible: np.ndarray, k: int) -> np.ndarray:
    """Plackett-Luce law of the k-subset (over combos), weights exp(log_w)."""
    length = log_w.shape[-1]
    combos, perms, perm_combo = _combos_and_perms(length, k)
    lead = log_w.shape[:-1]
    if k == 0:
        return np.ones((*lead, 1))
    lw = np.where(eligible, log_w, -np.inf)
    shift = lw.max(axis=-1, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0.0)
    w = np.where(eligible, np.exp(lw - shift), 0.0)
    total = w.sum(axis=-1)
    wp = w[..., perms]  # (..., n_perm, k)
    denom = total[..., None, None] - (np.cumsum(wp, axis=-1) - wp)
    with np.errstate(invalid="ignore", divide="ignore"):
        factors = np.where(wp > 0, wp / np.where(denom > 0, denom, 1.0), 0.0)
    prob_perm = factors.prod(axis=-1)
    out = np.zeros((*lead, combos.shape[0]))
    np.add.at(np.moveaxis(out, -1, 0), perm_combo, np.moveaxis(prob_perm, -1, 0))
    return out


def _greedy_set_law(scores: np.ndarray, eligible: np.ndarray, k: int) -> np.ndarray:
    """Top-k set law with uniformly random tie-breaking (ties within 1e-9)."""
    length = scores.shape[-1]
    combos, _, _ = _combos_and_perms(length, k)
    member = np.zeros((combos.shape[0], length), dtype=bool)
    for j, c in enumerate(combos):
        member[j, list(c)] = True
    if k == 0:
        return np.ones((*scores.shape[:-1], 1))
    s = np.where(eligible, scores, -np.inf)
    kth = -np.sort(-s, axis=-1)[..., k - 1 : k]
    tol = 1e-9 * np.maximum(1.0, np.abs(np.where(np.isfinite(kth), kth, 0.0)))
    above = eligible & (s > kth + tol)
    tied = eligible & (np.abs(s - kth) <= tol)
    need = k - above.sum(axis=-1)
    n_tied = tied.sum(axis=-1)
    ok = np.all(member[None] >= above[..., None, :], axis=-1) & np.all(
        member[None] <= (above | tied)[..., None, :], axis=-1
    )
    ways = special.comb(n_tied, need)
    return ok / ways[..., None]


def _np_scores(lp: np.ndarray, score: str, beta: float | None) -> np.ndarray:
    """NumPy position scores (an implementation independent of the samplers')."""
    p = np.exp(lp)
    if score == "max_prob" or (score == "moment" and math.isinf(beta or 0.0)):
        return lp.max(axis=-1)
    if score == "neg_entropy":
        return np.where(p > 0, p * np.where(p > 0, lp, 0.0), 0.0).sum(axis=-1)
    if score == "margin":
        top = np.sort(p, axis=-1)
        return top[..., -1] - top[..., -2]
    return special.logsumexp(float(beta) * lp, axis=-1)  # type: ignore[arg-type]


def _field(value: Any, t: int) -> Any:
    arr = np.asarray(value, dtype=float)
    return float(arr[t]) if arr.ndim == 1 else float(arr)


def _policy_set_law(
    policy: Any, lp: np.ndarray, eligible: np.ndarray, k: int, t: int
) -> np.ndarray:
    """Law over k-subsets (combos) of the positions chosen by a built-in policy."""
    if isinstance(policy, Uniform):
        return _pl_set_law(np.zeros(lp.shape[:-1]), eligible, k)
    if isinstance(policy, Moment):
        beta = _field(policy.beta, t)
        s = _np_scores(lp, "moment", beta)
        if math.isinf(beta):
            return _greedy_set_law(s, eligible, k)
        return _pl_set_law(s, eligible, k)
    if isinstance(policy, Greedy | Tempered):
        beta = None if policy.beta is None else _field(policy.beta, t)
        s = _np_scores(lp, policy.score, beta)
        eta = 0.0 if isinstance(policy, Greedy) else _field(policy.eta, t)
        if eta == 0:
            return _greedy_set_law(s, eligible, k)
        return _pl_set_law(s / eta, eligible, k)
    if isinstance(policy, Hybrid):
        rho = _field(policy.exploit_fraction, t)
        k_e = min(int(np.round(rho * k)), k)
        length = lp.shape[-2]
        first = _policy_set_law(policy.exploit, lp, eligible, k_e, t)
        combos_e, _, _ = _combos_and_perms(length, k_e)
        combos, _, _ = _combos_and_perms(length, k)
        index = {tuple(c): j for j, c in enumerate(combos)}
        combos_r, _, _ = _combos_and_perms(length, k - k_e)
        out = np.zeros((*lp.shape[:-2], combos.shape[0]))
        for a, ca in enumerate(combos_e):
            if not np.any(first[..., a]):
                continue
            rest = eligible.copy()
            rest[..., list(ca)] = False
            second = _policy_set_law(policy.explore, lp, rest, k - k_e, t)
            for b, cb in enumerate(combos_r):
                if set(ca) & set(cb):
                    continue
                j = index[tuple(sorted((*ca, *cb)))]
                out[..., j] += first[..., a] * second[..., b]
        return out
    raise TypeError(
        "exact_output_distribution supports the built-in policies Uniform, Moment, "
        f"Greedy, Tempered and Hybrid; got {describe(policy)}."
    )


def _token_law(rule: Any, lp: np.ndarray, t: int) -> np.ndarray:
    if isinstance(rule, TemperatureTokens):
        beta = 1.0 / _field(rule.temperature, t)
    elif isinstance(rule, BetaTokens):
        beta = _field(rule.beta, t)
    else:
        raise TypeError(
            "exact_output_distribution supports TemperatureTokens and BetaTokens; "
            f"got {describe(rule)}."
        )
    if math.isinf(beta):
        return np.eye(lp.shape[-1])[np.argmax(lp, axis=-1)]
    z = beta * lp
    return np.exp(z - special.logsumexp(z, axis=-1, keepdims=True))


def _model_log_probs(model: Any, states: np.ndarray, vocab: int) -> np.ndarray:
    # pad the batch to a power of two: few distinct shapes, few compilations
    n = states.shape[0]
    size = max(256, 1 << max(0, (n - 1).bit_length()))
    padded = np.concatenate([states, np.full((size - n, states.shape[1]), -1)])
    return _model_log_probs_padded(model, padded, vocab)[:n]


def _model_log_probs_padded(model: Any, states: np.ndarray, vocab: int) -> np.ndarray:
    masked = states < 0
    dynamic, static = split_callable(model, name="model")
    lp = _log_probs_jit(
        dynamic,
        jnp.asarray(np.where(masked, 0, states), dtype=jnp.int32),
        jnp.asarray(masked),
        static=static,
    )
    return np.asarray(lp, dtype=float)[..., :vocab]


@partial(jax.jit, static_argnames=("static",))
def _log_probs_jit(dynamic: Any, tokens: Array, mask: Array, *, static: Any) -> Array:
    logits = join_callable(dynamic, static)(tokens, mask)
    return jax.nn.log_softmax(logits, axis=-1)


def _encode(states: np.ndarray, vocab: int) -> np.ndarray:
    base = (vocab + 1) ** np.arange(states.shape[-1])
    return ((states + 1) * base).sum(axis=-1)


def _merge(states: np.ndarray, probs: np.ndarray, vocab: int) -> tuple[Any, Any]:
    keep = probs > 0
    states, probs = states[keep], probs[keep]
    codes = _encode(states, vocab)
    uniq, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    return states[first], np.bincount(inverse, weights=probs, minlength=uniq.size)


def _cts_transition(
    states: np.ndarray,
    probs: np.ndarray,
    lp: np.ndarray,
    k: int,
    t: int,
    policy: Any,
    rule: Any,
    vocab: int,
) -> tuple[Any, Any]:
    eligible = states < 0
    set_law = _policy_set_law(policy, lp, eligible, k, t)  # (n, n_combo)
    q = _token_law(rule, lp, t)  # (n, L, V)
    combos, _, _ = _combos_and_perms(states.shape[1], k)
    tokens = all_sequences(k, vocab) if k > 0 else np.zeros((1, 0), dtype=int)
    new_states, new_probs = [], []
    for j, c in enumerate(combos):
        cols = list(c)
        # probability of each token assignment at the chosen positions: (n, n_tok)
        tok_p = q[:, cols, :][:, np.arange(k)[None, :], tokens].prod(axis=-1)
        s = np.repeat(states[:, None, :], tokens.shape[0], axis=1)
        s[:, :, cols] = tokens[None]
        new_states.append(s.reshape(-1, states.shape[1]))
        new_probs.append((probs[:, None] * set_law[:, j : j + 1] * tok_p).reshape(-1))
    return np.concatenate(new_states), np.concatenate(new_probs)


def _maskgit_transition(
    states: np.ndarray,
    probs: np.ndarray,
    lp: np.ndarray,
    k: int,
    t: int,
    alpha: float,
    token_temperature: float,
    confidence_from: str,
    vocab: int,
) -> tuple[Any, Any]:
    length = states.shape[1]
    eligible = states < 0
    seqs = all_sequences(length, vocab)  # (N, L): candidate sampled sequences
    z = lp / token_temperature
    sampling = z - special.logsumexp(z, axis=-1, keepdims=True)
    lp_tok = sampling[:, np.arange(length)[None, :], seqs]  # (n, N, L)
    agree = (seqs[None] == states[:, None, :]) | eligible[:, None, :]
    weight = np.where(
        np.all(agree, axis=-1),
        np.exp(np.where(eligible[:, None, :], lp_tok, 0.0).sum(-1)),
        0.0,
    )
    conf_src = lp if confidence_from == "model" else sampling
    conf = conf_src[:, np.arange(length)[None, :], seqs]  # (n, N, L)
    elig = np.broadcast_to(eligible[:, None, :], conf.shape)
    if alpha == 0:
        set_law = _greedy_set_law(conf, elig, k)
    else:
        set_law = _pl_set_law(conf / alpha, elig, k)  # (n, N, n_combo)
    combos, _, _ = _combos_and_perms(length, k)
    new_states, new_probs = [], []
    for j, c in enumerate(combos):
        cols = list(c)
        s = np.repeat(states[:, None, :], seqs.shape[0], axis=1)
        s[:, :, cols] = seqs[None][:, :, cols]
        new_states.append(s.reshape(-1, length))
        new_probs.append((probs[:, None] * weight * set_law[..., j]).reshape(-1))
    return np.concatenate(new_states), np.concatenate(new_probs)


def exact_output_distribution(
    sampler: Literal["maskgit", "moment", "cts"],
    model: Any,
    *,
    num_steps: int,
    schedule: Any = "cosine",
    mode: Literal["google", "exact"] = "google",
    **params: Any,
) -> np.ndarray:
    r"""The exact law of a sampler's output on a tiny model, by enumeration.

    Starting from the all-masked sequence, the law over partial states is
    propagated step by step: at each state the sampler's step law is
    enumerated (subsets of positions and their tokens) with the model's
    exact conditionals.

    Parameters
    ----------
    sampler : {"maskgit", "moment", "cts"}
        Which sampler.
    model : JointTableModel, MarkovChainModel, callable or array_like
        The denoiser; an array of shape ``(V,) * L`` is wrapped in a
        :class:`~mltheory.generative.toy.JointTableModel`. A callable needs
        ``length`` and ``vocab`` attributes.
    num_steps : int
        Number of steps :math:`T` (at most :math:`L`).
    schedule : str or callable, default="cosine"
        The mask schedule.
    mode : {"google", "exact"}, default="google"
        Reveal-count rule.
    **params
        The sampler's options: for ``"maskgit"`` ``choice_temperature``
        (default 4.5), ``anneal``, ``token_temperature``,
        ``confidence_from``; for ``"moment"`` ``alpha`` or ``beta``,
        ``anneal``, ``final_token_beta``; for ``"cts"`` ``position_policy``
        (a built-in policy) and ``token_rule``.

    Returns
    -------
    numpy.ndarray of shape (V**L,)
        The output law, indexed like the flattened table (first position
        slowest; see :func:`~mltheory.generative.toy.all_sequences`).

    Raises
    ------
    ValueError
        If :math:`V^L > 10^6` (use Monte Carlo), ``num_steps`` is out of
        range, ``sampler`` is unknown, or an option is invalid.
    TypeError
        If ``model`` is unsupported, a policy or rule is not built in, or an
        unknown option is passed.

    See Also
    --------
    maskgit_step_law, moment_step_law : One-step laws.
    total_variation : Compare the result with the model's joint.

    Notes
    -----
    Cost grows like :math:`(V+1)^L` states times :math:`V^L` sampled
    configurations (MaskGIT) or :math:`\binom{L}{k} V^k` (CTS): meant for
    :math:`L \le 6`, :math:`V \le 3`.

    Examples
    --------
    >>> from mltheory.generative import theory, toy
    >>> model = toy.random_joint(jax.random.key(0), 3, 2)
    >>> law = theory.exact_output_distribution(
    ...     "moment", model, num_steps=3, beta=1.0, final_token_beta=1.0)
    >>> truth = np.asarray(model.probs).ravel()
    >>> print(float(theory.total_variation(law, truth)) < 1e-12)
    True
    """
    check_in(sampler, name="sampler", options=["maskgit", "moment", "cts"])
    if isinstance(model, np.ndarray | jax.Array | list):
        model = JointTableModel(jnp.asarray(model))
    length = getattr(model, "length", None)
    vocab = getattr(model, "vocab", None)
    if not callable(model) or length is None or vocab is None:
        raise TypeError(
            "model must be a JointTableModel, a MarkovChainModel, a table, or a "
            f"callable with length and vocab attributes; got {describe(model)}."
        )
    length, vocab = int(length), int(vocab)
    if vocab**length > _MAX_CONFIGS:
        raise ValueError(
            f"V**L = {vocab}**{length} > 10**6: too many sequences to enumerate; "
            "estimate the law by Monte Carlo instead."
        )
    num_steps = check_scalar(
        num_steps, name="num_steps", kind=int, lower=1, upper=length
    )
    counts = np.asarray(reveal_counts(length, num_steps, schedule, mode))
    step_fn = _make_step(sampler, num_steps, params, vocab)
    states = np.full((1, length), -1, dtype=int)
    probs = np.ones(1)
    for t in range(num_steps):
        k = int(counts[t])
        if k == 0:
            continue
        lp = _model_log_probs(model, states, vocab)
        new_states, new_probs = step_fn(states, probs, lp, k, t)
        states, probs = _merge(new_states, new_probs, vocab)
    out = np.zeros(vocab**length)
    flat = np.ravel_multi_index(tuple(states.T), (vocab,) * length)
    np.add.at(out, flat, probs)
    return out


def _make_step(sampler: str, num_steps: int, params: dict[str, Any], vocab: int) -> Any:
    def take(allowed: dict[str, Any]) -> dict[str, Any]:
        unknown = set(params) - set(allowed)
        if unknown:
            raise TypeError(
                f"unknown option(s) {sorted(unknown)} for sampler={sampler!r}; "
                f"valid: {sorted(allowed)}."
            )
        return {**allowed, **params}

    if sampler == "maskgit":
        opts = take(
            {
                "choice_temperature": 4.5,
                "anneal": "linear",
                "token_temperature": 1.0,
                "confidence_from": "model",
            }
        )
        check_in(
            opts["confidence_from"],
            name="confidence_from",
            options=["model", "sampling"],
        )
        alphas = np.asarray(
            gumbel_scale_schedule(opts["choice_temperature"], num_steps, opts["anneal"])
        )
        temp = check_scalar(
            opts["token_temperature"],
            name="token_temperature",
            lower=0.0,
            lower_inclusive=False,
        )

        def maskgit_step(states: Any, probs: Any, lp: Any, k: int, t: int) -> Any:
            return _maskgit_transition(
                states,
                probs,
                lp,
                k,
                t,
                float(alphas[t]),
                temp,
                opts["confidence_from"],
                vocab,
            )

        return maskgit_step
    if sampler == "moment":
        opts = take(
            {"alpha": None, "beta": None, "anneal": "linear", "final_token_beta": 1.0}
        )
        betas = np.asarray(
            _beta_schedule(
                opts["alpha"], opts["beta"], num_steps, opts["anneal"], False
            )
        )
        token_betas = betas.copy()
        if opts["final_token_beta"] != "same":
            token_betas[-1] = opts["final_token_beta"]
        policy: Any = Moment(betas)
        rule: Any = BetaTokens(token_betas)
    else:
        opts = take({"position_policy": None, "token_rule": None})
        if opts["position_policy"] is None:
            raise TypeError("sampler='cts' needs position_policy=...")
        policy = opts["position_policy"]
        rule = opts["token_rule"] or TemperatureTokens(1.0)

    def cts_step(states: Any, probs: Any, lp: Any, k: int, t: int) -> Any:
        return _cts_transition(states, probs, lp, k, t, policy, rule, vocab)

    return cts_step


# --------------------------------------------------------------------------
# Divergences
# --------------------------------------------------------------------------


def _check_pair(p: Any, q: Any) -> tuple[Array, Array]:
    a = as_array(p, name="p", min_ndim=1)
    b = as_array(q, name="q", min_ndim=1)
    if a.shape != b.shape:
        raise ValueError(
            f"p and q must have the same shape; got {a.shape} and {b.shape}."
        )
    check_probabilities(a, name="p")
    check_probabilities(b, name="q")
    return a, b


def total_variation(p: ArrayLike, q: ArrayLike) -> Array:
    r"""Total variation distance :math:`\tfrac12 \sum_x |p(x) - q(x)|`.

    Parameters
    ----------
    p : array_like of shape (..., n)
        A law (or a batch) along the last axis.
    q : array_like of shape (..., n)
        Another law, same shape.

    Returns
    -------
    jax.Array of shape (...)
        The distance, in :math:`[0, 1]` for laws.

    Raises
    ------
    ValueError
        If the shapes differ, an entry is NaN/inf, or (eager calls; under
        :func:`jax.jit` values are not checked) ``p`` or ``q`` is not a law:
        a negative entry, or a sum other than 1 along the last axis.

    See Also
    --------
    kl_divergence : The Kullback-Leibler divergence.

    Examples
    --------
    >>> from mltheory.generative import theory
    >>> print(float(theory.total_variation([0.5, 0.5], [0.9, 0.1])))
    0.4
    """
    a, b = _check_pair(p, q)
    return 0.5 * jnp.sum(jnp.abs(a - b), axis=-1)


def kl_divergence(p: ArrayLike, q: ArrayLike) -> Array:
    r"""Kullback-Leibler divergence :math:`\sum_x p(x) \log(p(x)/q(x))`.

    Parameters
    ----------
    p : array_like of shape (..., n)
        A law along the last axis.
    q : array_like of shape (..., n)
        Another law, same shape.

    Returns
    -------
    jax.Array of shape (...)
        The divergence (``0 log 0 = 0``; ``inf`` where :math:`q = 0 < p`).

    Raises
    ------
    ValueError
        If the shapes differ, an entry is NaN/inf, or (eager calls; under
        :func:`jax.jit` values are not checked) ``p`` or ``q`` is not a law:
        a negative entry, or a sum other than 1 along the last axis.

    See Also
    --------
    total_variation : The total variation distance.

    Examples
    --------
    >>> from mltheory.generative import theory
    >>> print(round(float(theory.kl_divergence([0.5, 0.5], [0.9, 0.1])), 4))
    0.5108
    """
    a, b = _check_pair(p, q)
    safe_q = jnp.where(b > 0, b, 1.0)
    safe_p = jnp.where(a > 0, a, 1.0)
    terms = jnp.where(a > 0, a * (jnp.log(safe_p) - jnp.log(safe_q)), 0.0)
    terms = jnp.where((a > 0) & (b <= 0), jnp.inf, terms)
    return jnp.sum(terms, axis=-1)
