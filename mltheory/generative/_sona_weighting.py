r"""Weighting rules that combine SONA's three discriminator objectives.

A rule is a small frozen object with three methods (the
:class:`LossWeighting` protocol):

* ``init(num_losses) -> state``: the rule's trainable state (a pytree,
  optimised by optax together with the discriminator; empty for fixed
  weights);
* ``combine(losses, state) -> (total, aux)``: the total loss. ``losses`` is
  either an array of the :math:`K` losses, or a callable
  ``losses(scales) -> (K,)`` giving each loss with its logistic margins
  rescaled, :math:`-\log\sigma(s\,t)/s` in place of :math:`-\log\sigma(t)`
  (what the adaptive scales of SONA need);
* ``generator_scales(state) -> (K,)``: the scales the generator's losses use
  (ones for rules that do not rescale).

The default, :func:`adaptive_scales`, is the paper's constrained adaptive
weighting: learnable positive scales on the unit sphere,
:math:`\sum_k s_k^2 = 1`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mltheory._src._typing import Array, PyTree
from mltheory._src._validation import check_float_dtype, check_scalar, describe

__all__ = [
    "AdaptiveScales",
    "FixedWeights",
    "LossWeighting",
    "ScalesState",
    "UncertaintyState",
    "UncertaintyWeights",
    "adaptive_scales",
    "fixed_weights",
    "uncertainty_weights",
]

Losses = Array | Callable[[Array], Array]


@runtime_checkable
class LossWeighting(Protocol):
    r"""How SONA's objectives are combined (a protocol).

    Any object with these three methods can be passed as ``weighting`` to
    :func:`sona_discriminator_loss` and :func:`sona_generator_loss`; the
    state it returns from ``init`` is trained with the discriminator.

    Parameters
    ----------
    *args : Any
        Unused: a protocol describes an interface and is not instantiated.
    **kwargs : Any
        Unused.

    See Also
    --------
    adaptive_scales, fixed_weights, uncertainty_weights : The rules shipped.

    Examples
    --------
    >>> from mltheory.generative import sona
    >>> isinstance(sona.adaptive_scales(), sona.LossWeighting)
    True
    """

    def init(self, num_losses: int) -> PyTree:
        """The initial (trainable) state for ``num_losses`` losses."""
        ...

    def combine(self, losses: Losses, state: PyTree) -> tuple[Array, dict[str, Array]]:
        """The total loss and a dict of diagnostics."""
        ...

    def generator_scales(self, state: PyTree) -> Array:
        """The per-loss margin scales for the generator's objectives."""
        ...


class ScalesState(NamedTuple):
    r"""State of :func:`adaptive_scales`: unconstrained logits :math:`a`.

    The scales are :math:`s = e^{a} / \|e^{a}\|`: positive, on the unit
    sphere.

    Parameters
    ----------
    logits : jax.Array of shape (K,)
        The unconstrained parameters.

    Examples
    --------
    >>> from mltheory.generative import sona
    >>> sona.adaptive_scales().init(3).logits.shape
    (3,)
    """

    logits: Array


class UncertaintyState(NamedTuple):
    r"""State of :func:`uncertainty_weights`: log-variances :math:`\sigma_k`.

    Parameters
    ----------
    log_variance : jax.Array of shape (K,)
        :math:`\sigma_k`; the weight of loss :math:`k` is :math:`e^{-\sigma_k}`.

    Examples
    --------
    >>> from mltheory.generative import sona
    >>> sona.uncertainty_weights().init(3).log_variance
    Array([0., 0., 0.], dtype=float64)
    """

    log_variance: Array


def _canonical_dtype(obj: Any) -> None:
    if obj.dtype is not None:
        dt = check_float_dtype(obj.dtype, name="dtype")
        object.__setattr__(obj, "dtype", str(np.dtype(dt)))


def _num_losses(num_losses: Any) -> int:
    return int(check_scalar(num_losses, name="num_losses", kind=int, lower=1))


def _losses_at(losses: Losses, scales: Array, k: int) -> Array:
    vals = losses(scales) if callable(losses) else jnp.asarray(losses)
    vals = jnp.asarray(vals)
    if vals.shape != (k,):
        raise ValueError(
            f"losses must give one value per weighted loss, shape ({k},); got "
            f"shape {tuple(vals.shape)}."
        )
    return vals


def _float_dtype(state_leaf: Array) -> Any:
    return jnp.asarray(state_leaf).dtype


@dataclasses.dataclass(frozen=True)
class AdaptiveScales:
    r"""Constrained adaptive scales (SONA's default weighting).

    Use :func:`adaptive_scales` to build one.

    Parameters
    ----------
    dtype : str or None, default=None
        Floating dtype of the state (``None``: JAX's default float).

    See Also
    --------
    adaptive_scales : The factory, with the maths.

    Examples
    --------
    >>> from mltheory.generative import sona
    >>> w = sona.adaptive_scales()
    >>> s = w.generator_scales(w.init(3))
    >>> print(jnp.round(jnp.sum(s**2), 6))
    1.0
    """

    dtype: str | None = None

    def __post_init__(self) -> None:
        _canonical_dtype(self)

    def init(self, num_losses: int) -> ScalesState:
        r"""Equal scales :math:`s_k = 1/\sqrt{K}`.

        Parameters
        ----------
        num_losses : int
            :math:`K \ge 1`.

        Returns
        -------
        ScalesState
            Zero logits.
        """
        k = _num_losses(num_losses)
        dt = jnp.result_type(float) if self.dtype is None else jnp.dtype(self.dtype)
        return ScalesState(logits=jnp.zeros((k,), dt))

    def scales(self, state: ScalesState) -> Array:
        r"""The scales :math:`s = e^{a}/\|e^{a}\|` of a state.

        Parameters
        ----------
        state : ScalesState
            The state.

        Returns
        -------
        jax.Array of shape (K,)
            Positive scales with unit Euclidean norm.
        """
        a = jnp.asarray(state.logits)
        # the max-shift keeps exp finite for any logits
        e = jnp.exp(a - jnp.max(a))
        return e / jnp.sqrt(jnp.sum(e * e))

    def combine(
        self, losses: Losses, state: ScalesState
    ) -> tuple[Array, dict[str, Array]]:
        r"""Sum of the losses, each evaluated at its scale.

        Parameters
        ----------
        losses : callable or array of shape (K,)
            ``losses(scales) -> (K,)``. An array is accepted only when every
            scale is irrelevant, so it raises here.
        state : ScalesState
            The state.

        Returns
        -------
        total : jax.Array
            :math:`\sum_k L_k(s_k)`.
        aux : dict
            ``"scales"`` and ``"losses"`` (each at its scale).

        Raises
        ------
        TypeError
            If ``losses`` is not callable.
        """
        if not callable(losses):
            raise TypeError(
                "losses must be a callable losses(scales) -> (K,) for adaptive "
                "scales (they rescale the margins inside each loss); got "
                f"{describe(losses)}."
            )
        s = self.scales(state)
        vals = _losses_at(losses, s, s.shape[0])
        return jnp.sum(vals), {"scales": s, "losses": vals}

    def generator_scales(self, state: ScalesState) -> Array:
        """The current scales, held fixed (a stop-gradient).

        Parameters
        ----------
        state : ScalesState
            The state.

        Returns
        -------
        jax.Array of shape (K,)
            The scales.
        """
        return jax.lax.stop_gradient(self.scales(state))


@dataclasses.dataclass(frozen=True)
class FixedWeights:
    r"""Fixed weights :math:`\sum_k w_k L_k` (a baseline).

    Use :func:`fixed_weights` to build one.

    Parameters
    ----------
    weights : tuple of float
        The weights :math:`w_k`.

    See Also
    --------
    fixed_weights : The factory.

    Examples
    --------
    >>> from mltheory.generative import sona
    >>> w = sona.fixed_weights((1.0, 0.5))
    >>> total, _ = w.combine(jnp.array([2.0, 4.0]), w.init(2))
    >>> print(total)
    4.0
    """

    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        weights = self.weights
        if isinstance(weights, str | bytes) or not hasattr(weights, "__len__"):
            raise TypeError(
                f"weights must be a sequence of numbers; got {describe(weights)}."
            )
        ws = tuple(
            check_scalar(w, name=f"weights[{i}]", lower=0.0)
            for i, w in enumerate(weights)
        )
        if not ws or max(ws) == 0.0:
            raise ValueError(
                "weights must hold at least one positive weight; got "
                f"{tuple(weights)!r}."
            )
        object.__setattr__(self, "weights", ws)

    def init(self, num_losses: int) -> optax.EmptyState:
        """An empty state (nothing is learnt).

        Parameters
        ----------
        num_losses : int
            Must equal the number of weights.

        Returns
        -------
        optax.EmptyState
            The empty state.

        Raises
        ------
        ValueError
            If ``num_losses`` differs from the number of weights.
        """
        k = _num_losses(num_losses)
        if k != len(self.weights):
            raise ValueError(
                f"num_losses must equal the number of fixed weights "
                f"({len(self.weights)}); got {k}."
            )
        return optax.EmptyState()

    def combine(
        self, losses: Losses, state: optax.EmptyState
    ) -> tuple[Array, dict[str, Array]]:
        r"""The weighted sum.

        Parameters
        ----------
        losses : callable or array of shape (K,)
            The losses (a callable is evaluated at unit scales).
        state : optax.EmptyState
            Unused.

        Returns
        -------
        total : jax.Array
            :math:`\sum_k w_k L_k`.
        aux : dict
            ``"weights"`` and ``"losses"``.
        """
        k = len(self.weights)
        vals = _losses_at(losses, jnp.ones((k,)), k)
        w = jnp.asarray(self.weights, vals.dtype)
        return jnp.sum(w * vals), {"weights": w, "losses": vals}

    def generator_scales(self, state: optax.EmptyState) -> Array:
        """Unit scales.

        Parameters
        ----------
        state : optax.EmptyState
            Unused.

        Returns
        -------
        jax.Array of shape (K,)
            Ones.
        """
        return jnp.ones((len(self.weights),))


@dataclasses.dataclass(frozen=True)
class UncertaintyWeights:
    r"""Kendall-style uncertainty weighting with clipped log-variances (a baseline).

    Use :func:`uncertainty_weights` to build one.

    Parameters
    ----------
    w_min : float
        Smallest weight.
    w_max : float
        Largest weight.
    dtype : str or None, default=None
        Floating dtype of the state.

    See Also
    --------
    uncertainty_weights : The factory, with the maths.

    Examples
    --------
    >>> from mltheory.generative import sona
    >>> w = sona.uncertainty_weights(0.1, 10.0)
    >>> total, aux = w.combine(jnp.array([1.0, 2.0]), w.init(2))
    >>> print(total)
    3.0
    """

    w_min: float
    w_max: float
    dtype: str | None = None

    def __post_init__(self) -> None:
        lo = check_scalar(self.w_min, name="w_min", lower=0.0, lower_inclusive=False)
        hi = check_scalar(self.w_max, name="w_max", lower=lo)
        object.__setattr__(self, "w_min", lo)
        object.__setattr__(self, "w_max", hi)
        _canonical_dtype(self)

    def init(self, num_losses: int) -> UncertaintyState:
        r"""Zero log-variances (unit weights).

        Parameters
        ----------
        num_losses : int
            :math:`K \ge 1`.

        Returns
        -------
        UncertaintyState
            Zeros.
        """
        k = _num_losses(num_losses)
        dt = jnp.result_type(float) if self.dtype is None else jnp.dtype(self.dtype)
        return UncertaintyState(log_variance=jnp.zeros((k,), dt))

    def combine(
        self, losses: Losses, state: UncertaintyState
    ) -> tuple[Array, dict[str, Array]]:
        r""":math:`\sum_k e^{-\sigma_k} L_k + \sigma_k` with clipped :math:`\sigma`.

        Parameters
        ----------
        losses : callable or array of shape (K,)
            The losses (a callable is evaluated at unit scales).
        state : UncertaintyState
            The log-variances.

        Returns
        -------
        total : jax.Array
            The weighted total.
        aux : dict
            ``"weights"`` (:math:`e^{-\sigma_k}`) and ``"losses"``.
        """
        sigma = jnp.clip(
            jnp.asarray(state.log_variance),
            np.log(1.0 / self.w_max),
            np.log(1.0 / self.w_min),
        )
        k = sigma.shape[0]
        vals = _losses_at(losses, jnp.ones((k,), sigma.dtype), k)
        w = jnp.exp(-sigma)
        return jnp.sum(w * vals + sigma), {"weights": w, "losses": vals}

    def generator_scales(self, state: UncertaintyState) -> Array:
        """Unit scales.

        Parameters
        ----------
        state : UncertaintyState
            The log-variances.

        Returns
        -------
        jax.Array of shape (K,)
            Ones.
        """
        return jnp.ones_like(jnp.asarray(state.log_variance))


def adaptive_scales(*, dtype: Any = None) -> AdaptiveScales:
    r"""The constrained adaptive weighting of SONA (the default rule).

    Each logistic objective :math:`\mathbb{E}[\log\sigma(t)]` is replaced by
    :math:`\mathbb{E}[\log\sigma(s_k t)]/s_k` with a learnable scale
    :math:`s_k > 0`, and the scales are constrained to the unit sphere,
    :math:`s_{\mathrm{SAN}}^2 + s_{\mathrm{BT\text{-}C}}^2 +
    s_{\mathrm{BT\text{-}M}}^2 = 1` (Takida et al., arXiv:2510.04576).

    Parameters
    ----------
    dtype : dtype, optional
        Floating dtype of the state (default: JAX's default float).

    Returns
    -------
    AdaptiveScales
        The rule; its state is :class:`ScalesState`.

    See Also
    --------
    fixed_weights, uncertainty_weights : Baselines.

    Notes
    -----
    We parametrise :math:`s = e^{a}/\|e^{a}\|` (positive, on the sphere, smooth
    everywhere); the paper's parametrisation was not available to us. The
    scales are trained by the discriminator's objective: the sphere bounds
    them, so no loss can be switched off or blown up, which the paper reports
    to matter for GAN stability. At a scale :math:`s`, the logistic optimum
    of a Bradley–Terry term is :math:`s\,\Delta f = \log`-odds, i.e. the
    scores are learnt in units of :math:`1/s`.

    Examples
    --------
    >>> from mltheory.generative import sona
    >>> w = sona.adaptive_scales()
    >>> state = w.init(3)
    >>> loss = lambda s: jnp.log1p(jnp.exp(-s * jnp.array([1.0, 2.0, 3.0]))) / s
    >>> total, aux = w.combine(loss, state)
    >>> print(aux["scales"].round(4))
    [0.5774 0.5774 0.5774]
    """
    return AdaptiveScales(dtype=dtype)


def fixed_weights(weights: Any = (1.0, 1.0, 1.0)) -> FixedWeights:
    r"""Fixed weights :math:`\sum_k w_k L_k` (a baseline).

    Parameters
    ----------
    weights : sequence of float, default=(1.0, 1.0, 1.0)
        Non-negative, finite, at least one positive.

    Returns
    -------
    FixedWeights
        The rule (its state is empty).

    Raises
    ------
    ValueError
        If a weight is negative or non-finite, all are zero, or none given.
    TypeError
        If ``weights`` is not a sequence of numbers.

    See Also
    --------
    adaptive_scales : The default.

    Examples
    --------
    >>> from mltheory.generative import sona
    >>> sona.fixed_weights((1.0, 0.5, 0.5)).weights
    (1.0, 0.5, 0.5)
    """
    return FixedWeights(weights=weights)


def uncertainty_weights(
    w_min: float = 0.1, w_max: float = 10.0, *, dtype: Any = None
) -> UncertaintyWeights:
    r"""Kendall-style uncertainty weighting, weights clipped to ``[w_min, w_max]``.

    The total is :math:`\sum_k e^{-\sigma_k} L_k + \sigma_k` with learnable
    :math:`\sigma_k` clipped to :math:`[\log(1/w_{\max}), \log(1/w_{\min})]`
    (Kendall, Gal & Cipolla 2018). The SONA paper reports it much worse than
    its constrained scales on CIFAR-10; it is a baseline.

    Parameters
    ----------
    w_min : float, default=0.1
        Smallest weight, > 0.
    w_max : float, default=10.0
        Largest weight, >= ``w_min``.
    dtype : dtype, optional
        Floating dtype of the state.

    Returns
    -------
    UncertaintyWeights
        The rule; its state is :class:`UncertaintyState`.

    Raises
    ------
    ValueError
        If ``w_min <= 0`` or ``w_max < w_min``.

    See Also
    --------
    adaptive_scales : The default.

    Examples
    --------
    >>> from mltheory.generative import sona
    >>> sona.uncertainty_weights(0.5, 2.0).w_max
    2.0
    """
    return UncertaintyWeights(w_min=w_min, w_max=w_max, dtype=dtype)


def _check_weighting(weighting: Any) -> LossWeighting:
    if weighting is None:
        return adaptive_scales()
    if not isinstance(weighting, LossWeighting):
        raise TypeError(
            "weighting must have init, combine and generator_scales methods (see "
            f"LossWeighting); got {describe(weighting)}."
        )
    return weighting
