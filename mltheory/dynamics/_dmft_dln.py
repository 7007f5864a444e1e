r"""Diagonal linear networks (DLN) as a DMFT model: parametrisations, priors, model.

Private; public through :mod:`mltheory.dynamics.dmft`.

A DLN is linear regression whose coefficient vector is reparametrised entrywise
by two factors :math:`(u, v)`. With the library's data convention (rows of
:math:`X` are :math:`N(0, I_d/d)`, :math:`\delta = n/d`) the force on the
coefficients is :math:`g = \delta^{-1} X^\top (X\beta - y)`, and gradient flow
on the factors is :math:`\dot u = -\partial_u\beta \, g - \lambda u`,
:math:`\dot v = -\partial_v\beta \, g - \lambda v`. Each parametrisation is
a mirror flow: with the cumulated force :math:`F_j(t) = -\int_0^t g_j`
(:math:`\lambda = 0`), :math:`\beta_j = B(F_j)` for a fixed increasing
function :math:`B` (below), so :math:`\dot\beta = -B'(F)\, g =
-\varphi(\beta)\, g`.

* ``"uv"``, ``v0="zero"``: :math:`\beta = uv` from :math:`(\alpha, 0)`,
  :math:`B(F) = \tfrac{\alpha^2}{2}\sinh 2F`;
* ``"uv"``, ``v0="alpha"``: :math:`\beta = uv` from :math:`(\alpha, \alpha)`,
  :math:`B(F) = \alpha^2 e^{2F}`;
* ``"u2-v2"``: :math:`\beta = \tfrac12(u^2 - v^2)` from :math:`(\alpha,
  \alpha)`, :math:`B(F) = \alpha^2 \sinh 2F`.

The step used on a grid (``scheme="exponential"``, the default) is the exact
flow of the factors over one step with the force frozen at its value at the
start of the step; it conserves :math:`u^2 - v^2` (``"uv"``) or :math:`uv`
(``"u2-v2"``) to rounding, and it keeps :math:`\beta = B(F)` exactly, so the
discrete dynamics has the same implicit bias as the flow for any step size.
``scheme="euler"`` is the explicit Euler(–Maruyama) step of the factors, the
SDE limit of SGD on the factors (use it with ``tau > 0``).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from mltheory._src._typing import Array, KeyArray
from mltheory._src._validation import check_in, check_scalar, describe
from mltheory.dynamics._dmft_models import _glm_model_cached
from mltheory.dynamics._dmft_types import SGFModel

__all__: list[str] = []

Parametrization = Literal["uv", "u2-v2"]
InitV = Literal["zero", "alpha"]
Scheme = Literal["exponential", "euler"]
PriorName = Literal["sparse", "gaussian", "rademacher"]

_PARAMETRIZATIONS = ("uv", "u2-v2")
_V0 = ("zero", "alpha")
_SCHEMES = ("exponential", "euler")
_PRIORS = ("sparse", "gaussian", "rademacher")


# --------------------------------------------------------------------------- #
# Parametrisations
# --------------------------------------------------------------------------- #


def _check_parametrization(parametrization: Any, v0: Any) -> tuple[str, str]:
    check_in(parametrization, name="parametrization", options=_PARAMETRIZATIONS)
    check_in(v0, name="v0", options=_V0)
    if parametrization == "u2-v2" and v0 == "zero":
        raise ValueError(
            "v0='zero' is degenerate for parametrization='u2-v2' (beta = (u^2 - "
            "v^2)/2 with v = 0 stays >= 0 and the invariant u*v is 0); use "
            "v0='alpha' (the paper's u0 = v0 = alpha) or parametrization='uv'."
        )
    return parametrization, v0


def _init_state(alpha: float, v0: str) -> tuple[float, float]:
    return alpha, (alpha if v0 == "alpha" else 0.0)


def _readout_row(parametrization: str) -> Callable[[Array], Array]:
    return _READOUTS[parametrization]


def _uv_readout(state: Array) -> Array:
    return state[..., :1] * state[..., 1:2]


def _u2v2_readout(state: Array) -> Array:
    return 0.5 * (state[..., :1] ** 2 - state[..., 1:2] ** 2)


_READOUTS = {"uv": _uv_readout, "u2-v2": _u2v2_readout}


def _invariant(parametrization: str, u: Array, v: Array) -> Array:
    """The conserved quantity of the flow at lambda = 0 (decays as e^{-2 lambda t})."""
    return u * u - v * v if parametrization == "uv" else u * v


def _factor_step(
    parametrization: str, scheme: str, u: Array, v: Array, f: Array, decay: Array
) -> tuple[Array, Array]:
    """One step of the factors under the force increment ``f = -g dt`` (elementwise).

    ``decay = exp(-lambda dt)`` (exponential) or ``1 - lambda dt`` (Euler).
    """
    if scheme == "exponential":
        if parametrization == "uv":
            c, s = jnp.cosh(f), jnp.sinh(f)
            return decay * (u * c + v * s), decay * (v * c + u * s)
        return decay * u * jnp.exp(f), decay * v * jnp.exp(-f)
    if parametrization == "uv":
        return decay * u + v * f, decay * v + u * f
    return decay * u + u * f, decay * v - v * f


@functools.lru_cache(maxsize=64)
def _state_step(
    parametrization: str, scheme: str, ridge: float
) -> Callable[[Array, Array, Array, Any], Array]:
    """The DMFT hook ``state_step(t, state_row, force_row, dt)`` (one object per key).

    Cached, so that every DLN model with the same dynamics holds the same
    function object: the solver compiles once for all initial scales.
    """

    def step(t: Array, state: Array, force: Array, dt: Any) -> Array:
        dt = jnp.asarray(dt, state.dtype)
        exact = scheme == "exponential"
        decay = jnp.exp(-ridge * dt) if exact else 1.0 - ridge * dt
        u, v = _factor_step(
            parametrization, scheme, state[0], state[1], force[0], decay
        )
        return jnp.stack([u, v]).astype(state.dtype)

    return step


# --------------------------------------------------------------------------- #
# Mirror maps (lambda = 0): beta = B(F), used by the theory functions
# --------------------------------------------------------------------------- #


def _mirror(
    parametrization: str, v0: str, alpha: float
) -> tuple[
    Callable[[Any], Any],
    Callable[[Any], Any],
    Callable[[Any], Any],
    Callable[[Any], Any],
]:
    """``(B, dB, A, B_inverse)`` with ``A' = B``, as NumPy functions of F.

    ``B_inverse`` returns NaN outside the range of ``B`` (beta <= 0 for
    ``v0="alpha"`` with ``"uv"``).
    """
    a2 = alpha * alpha
    if parametrization == "uv" and v0 == "alpha":
        return _exponential_mirror(a2)
    return _sinh_mirror(0.5 * a2 if parametrization == "uv" else a2)


_Mirror = tuple[
    Callable[[Any], Any],
    Callable[[Any], Any],
    Callable[[Any], Any],
    Callable[[Any], Any],
]


def _exponential_mirror(a2: float) -> _Mirror:
    """B(F) = a2 exp(2F): the "uv" network started at u = v = alpha."""

    def B(F: Any) -> Any:
        return a2 * np.exp(2 * F)

    def dB(F: Any) -> Any:
        return 2 * a2 * np.exp(2 * F)

    def A(F: Any) -> Any:
        return 0.5 * a2 * np.exp(2 * F)

    def B_inv(b: Any) -> Any:
        b = np.asarray(b, float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(b > 0, 0.5 * np.log(np.where(b > 0, b, 1.0) / a2), np.nan)

    return B, dB, A, B_inv


def _sinh_mirror(scale: float) -> _Mirror:
    """B(F) = scale sinh(2F): "uv" from (alpha, 0) and "u2-v2"."""

    def B(F: Any) -> Any:
        return scale * np.sinh(2 * F)

    def dB(F: Any) -> Any:
        return 2 * scale * np.cosh(2 * F)

    def A(F: Any) -> Any:
        return 0.5 * scale * np.cosh(2 * F)

    def B_inv(b: Any) -> Any:
        return 0.5 * np.arcsinh(np.asarray(b, float) / scale)

    return B, dB, A, B_inv


def _lazy_rate(parametrization: str, v0: str, alpha: float) -> tuple[float, float]:
    """(kappa, beta_0): phi at the initial point and the initial coefficient."""
    a2 = alpha * alpha
    if parametrization == "uv":
        return (a2, 0.0) if v0 == "zero" else (2 * a2, a2)
    return 2 * a2, 0.0


# --------------------------------------------------------------------------- #
# Teacher priors
# --------------------------------------------------------------------------- #


# The built-in priors are drawn *stratified*: the teacher coordinates are a
# random permutation of values whose empirical law matches P_* up to O(1/n)
# (exact counts of each atom, Gaussian values at the midpoints of n equal-mass
# cells jittered within their cell). The DMFT and the finite-d network only
# need the empirical law of the teacher to converge to P_*; stratifying removes
# the O(n^{-1/2}) sampling error of the teacher's moments from both, which
# otherwise dominates their comparison at d ~ 10^3.


def _stratified_normal(key: KeyArray, n: int, dtype: Any) -> Array:
    """N standard-normal values, one per equal-mass cell, in random order."""
    k1, k2 = jax.random.split(key)
    u = (jnp.arange(n, dtype=dtype) + jax.random.uniform(k1, (n,), dtype)) / n
    u = jnp.clip(u, jnp.finfo(dtype).tiny, 1.0 - jnp.finfo(dtype).eps)
    return jax.random.permutation(k2, jax.scipy.special.ndtri(u))


def _counts(probs: np.ndarray, n: int) -> np.ndarray:
    """Counts of each atom: floor(p n) plus the remainder to the largest residuals."""
    raw = probs * n
    counts = np.floor(raw).astype(int)
    short = n - int(counts.sum())
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:short]] += 1
    return counts


def _sparse_prior(sparsity: float) -> Callable[[KeyArray, int], Array]:
    def sample(key: KeyArray, n: int) -> Array:
        dtype = jnp.result_type(float)
        n_on = int(_counts(np.asarray([sparsity, 1.0 - sparsity]), n)[0])
        k1, k2 = jax.random.split(key)
        values = jnp.zeros(n, dtype).at[:n_on].set(_stratified_normal(k1, n_on, dtype))
        return jax.random.permutation(k2, values)[:, None]

    return sample


def _gaussian_prior(key: KeyArray, n: int) -> Array:
    return _stratified_normal(key, n, jnp.result_type(float))[:, None]


def _discrete_prior(
    pairs: tuple[tuple[float, float], ...],
) -> Callable[[KeyArray, int], Array]:
    values = np.asarray([v for v, _ in pairs])
    probs = np.asarray([p for _, p in pairs])

    def sample(key: KeyArray, n: int) -> Array:
        dtype = jnp.result_type(float)
        atoms = np.repeat(values, _counts(probs, n))
        return jax.random.permutation(key, jnp.asarray(atoms, dtype))[:, None]

    return sample


_RADEMACHER = ((-1.0, 0.5), (1.0, 0.5))


def _user_prior(sampler: Callable[..., Any]) -> Callable[[KeyArray, int], Array]:
    def sample(key: KeyArray, n: int) -> Array:
        out = jnp.asarray(sampler(key, n))
        return out.reshape(n, 1).astype(jnp.result_type(out.dtype, float))

    return sample


def _check_prior(prior: Any, sparsity: Any) -> tuple[Any, float]:
    """Normalise ``prior``: a name, a tuple of (value, prob) pairs, or a sampler."""
    sparsity = check_scalar(
        sparsity, name="sparsity", lower=0.0, upper=1.0, lower_inclusive=False
    )
    if isinstance(prior, str):
        check_in(prior, name="prior", options=_PRIORS)
        return prior, sparsity
    if isinstance(prior, Mapping):
        prior = tuple(prior.items())
    if isinstance(prior, tuple):
        if not prior:
            raise ValueError(
                "prior as a mapping {value: probability} must not be empty."
            )
        pairs = []
        for item in prior:
            if not (isinstance(item, tuple) and len(item) == 2):
                raise TypeError(
                    "prior as a mapping must map values to probabilities, "
                    f"{{value: probability}}; got the entry {describe(item)}."
                )
            value = check_scalar(item[0], name="prior value")
            prob = check_scalar(item[1], name="prior probability", lower=0.0)
            pairs.append((value, prob))
        total = sum(p for _, p in pairs)
        if abs(total - 1.0) > 1e-9:
            raise ValueError(
                f"prior probabilities must sum to 1; got {total:.12g} for {pairs}."
            )
        return tuple(pairs), sparsity
    if callable(prior):
        out = jax.eval_shape(lambda k: jnp.asarray(prior(k, 3)), jax.random.key(0))
        if tuple(out.shape) not in ((3,), (3, 1)):
            raise ValueError(
                "a prior sampler must return shape (n,) or (n, 1) for "
                f"prior(key, n); got shape {tuple(out.shape)} for n = 3."
            )
        if not jnp.issubdtype(out.dtype, jnp.floating) and not jnp.issubdtype(
            out.dtype, jnp.integer
        ):
            raise TypeError(
                f"a prior sampler must return real numbers; got dtype {out.dtype}."
            )
        return prior, sparsity
    raise TypeError(
        f"prior must be one of {', '.join(repr(p) for p in _PRIORS)}, a mapping "
        "{value: probability} or a sampler (key, n) -> (n,); got "
        f"{describe(prior)}."
    )


def _prior_sampler(prior: Any, sparsity: float) -> Callable[[KeyArray, int], Array]:
    if prior == "sparse":
        return _sparse_prior_cached(sparsity)
    if prior == "gaussian":
        return _gaussian_prior
    if prior == "rademacher":
        return _discrete_prior_cached(_RADEMACHER)
    if isinstance(prior, tuple):
        return _discrete_prior_cached(prior)
    return _user_prior(prior)


_sparse_prior_cached = functools.lru_cache(maxsize=64)(_sparse_prior)
_discrete_prior_cached = functools.lru_cache(maxsize=64)(_discrete_prior)


def _prior_second_moment(prior: Any, sparsity: float) -> float | None:
    """E[beta*^2] in closed form, or None for a user sampler."""
    if prior == "sparse":
        return sparsity
    if prior in ("gaussian", "rademacher"):
        return 1.0
    if isinstance(prior, tuple):
        return float(sum(p * v * v for v, p in prior))
    return None


# --------------------------------------------------------------------------- #
# The model
# --------------------------------------------------------------------------- #


@functools.lru_cache(maxsize=64)
def _initial_rows(alpha: float, v0: str) -> Callable[[KeyArray, int], Array]:
    u0, w0 = _init_state(alpha, v0)

    def sample(key: KeyArray, n: int) -> Array:
        row = jnp.asarray([u0, w0], jnp.result_type(float))
        return jnp.broadcast_to(row, (n, 2))

    return sample


@dataclasses.dataclass(frozen=True)
class DLNModel(SGFModel):
    r"""A diagonal linear network for the DMFT solver: an SGFModel with its options.

    Made by :func:`dln`, which documents every option; the fields below are
    the DLN's own (the inherited ones are the square loss with a linear
    teacher and the ``state_step``/``readout`` hook of the factors). The
    parameter state of one coordinate is the pair :math:`(u, v)`; the
    effective parameter the solver sees is :math:`\beta` (``readout``).

    Parameters
    ----------
    alpha : float
        Initial scale :math:`\alpha > 0`.
    parametrization : {"uv", "u2-v2"}
        :math:`\beta = uv` or :math:`\beta = \tfrac12(u^2 - v^2)`.
    v0 : {"zero", "alpha"}
        Initial :math:`v` (``"zero"`` only with ``"uv"``).
    sigma : float
        Label-noise standard deviation.
    prior : str, tuple or callable
        Teacher prior (``"sparse"``, ``"gaussian"``, ``"rademacher"``, a
        tuple of ``(value, probability)`` pairs or a sampler).
    sparsity : float
        Fraction of nonzero teacher coordinates for ``prior="sparse"``.
    scheme : {"exponential", "euler"}
        Step of the factors on a grid.
    k, k_star, loss, sample_theta_star, sample_theta0 : int, int, callable
        As in :class:`SGFModel` (``k = k_star = 1``, the square loss, the
        teacher prior and the initial factors ``(n, 2)``).
    dloss, ridge, reg_grad, label_noise, test_loss, curvature : optional
        As in :class:`SGFModel`; ``ridge`` is the weight decay of the factors.
    state_step, readout, name, linear_noise_std : optional
        As in :class:`SGFModel`: the step of the factors, :math:`\beta` from
        ``(u, v)``, ``"dln-<parametrization>"`` and :math:`\sigma` (the
        closed-form sample side).

    See Also
    --------
    dln : The constructor.

    Examples
    --------
    >>> from mltheory.dynamics import dmft
    >>> model = dmft.dln(alpha=0.1)
    >>> print(type(model).__name__, model.alpha, model.parametrization, model.k)
    DLNModel 0.1 uv 1
    """

    alpha: float = 1.0
    parametrization: str = "uv"
    v0: str = "zero"
    sigma: float = 0.0
    prior: Any = "sparse"
    sparsity: float = 0.1
    scheme: str = "exponential"

    @property
    def rho(self) -> float | None:
        r""":math:`E\beta^{*2}` of the teacher prior (None for a user sampler)."""
        return _prior_second_moment(self.prior, self.sparsity)


def dln(
    *,
    alpha: float,
    parametrization: Parametrization = "uv",
    v0: InitV = "zero",
    prior: PriorName | Mapping[float, float] | Callable[..., Any] = "sparse",
    sparsity: float = 0.1,
    sigma: float = 0.0,
    ridge: float = 0.0,
    scheme: Scheme = "exponential",
) -> DLNModel:
    r"""Build a diagonal linear network (DLN) on linear-regression data for the DMFT.

    Labels are :math:`y = \langle x, \beta^*\rangle + \sigma\varepsilon` with
    i.i.d. teacher coordinates :math:`\beta^*_j \sim P_*`, the loss is
    :math:`\frac12 (r - y)^2`, and the coefficients are reparametrised by two
    factors trained by gradient flow (or SGF):

    * ``"uv"``: :math:`\beta = u v`, :math:`\dot u = -v g - \lambda u`,
      :math:`\dot v = -u g - \lambda v`, with :math:`(u_0, v_0) = (\alpha, 0)`
      (``v0="zero"``, :math:`\beta_0 = 0`) or :math:`(\alpha, \alpha)`
      (``v0="alpha"``; then :math:`u = v` and :math:`\beta \geq 0` forever);
    * ``"u2-v2"``: :math:`\beta = \frac12(u^2 - v^2)`, :math:`\dot u = -u g -
      \lambda u`, :math:`\dot v = v g - \lambda v`, with :math:`u_0 = v_0 =
      \alpha` (the model of Nishiyama & Imaizumi [1]_);

    where :math:`g = \delta^{-1}X^\top(X\beta - y)` is the force on the
    coefficients and :math:`\lambda` (``ridge``) the weight decay of the
    factors, :math:`\frac{\lambda}{2}(\|u\|^2 + \|v\|^2)` in the loss. The
    two are one family: ``"uv"`` with ``v0="zero"`` and scale
    :math:`\sqrt2\alpha` is ``"u2-v2"`` with scale :math:`\alpha` (rotate
    :math:`(u, v)` by 45 degrees).

    The DMFT sample side is that of linear regression; the parameter side
    tracks one coordinate's factors through the solver's ``state_step`` /
    ``readout`` hook. The initial scale enters only the initial state, so
    models that differ in ``alpha`` or the prior share one compilation of
    the solver.

    Parameters
    ----------
    alpha : float
        Initial scale :math:`\alpha > 0`: large is the lazy (kernel) regime,
        small the rich (sparse, incremental) one.
    parametrization : {"uv", "u2-v2"}, default="uv"
        The factorisation of :math:`\beta`.
    v0 : {"zero", "alpha"}, default="zero"
        Initial second factor; ``"zero"`` is only valid for ``"uv"``.
    prior : {"sparse", "gaussian", "rademacher"}, mapping or callable, default="sparse"
        Teacher coordinates: Bernoulli(``sparsity``) times :math:`N(0, 1)`,
        :math:`N(0, 1)`, :math:`\pm 1`, a discrete law ``{value:
        probability}``, or a sampler ``prior(key, n) -> (n,)``.
    sparsity : float, default=0.1
        Fraction of nonzero coordinates of the ``"sparse"`` prior, in
        :math:`(0, 1]`.
    sigma : float, default=0.0
        Label-noise standard deviation :math:`\sigma \geq 0`.
    ridge : float, default=0.0
        Weight decay :math:`\lambda \geq 0` of the factors.
    scheme : {"exponential", "euler"}, default="exponential"
        The step of the factors on a grid: the exact flow with the force
        frozen over the step (conserves the invariant to rounding; keeps the
        flow's implicit bias for any step), or explicit Euler(–Maruyama),
        the SDE limit of SGD on the factors. Use ``"euler"`` with ``tau >
        0``: the exponential step of a noisy force is a Stratonovich-type
        scheme with a different small-step limit.

    Returns
    -------
    DLNModel
        An :class:`SGFModel` (``k = k_star = 1``, state ``(u, v)`` per
        coordinate, ``readout`` :math:`\beta`) with the closed-form test loss
        :math:`\frac12(E(\beta - \beta^*)^2 + \sigma^2)`.

    Raises
    ------
    ValueError
        If ``alpha <= 0``, ``parametrization``, ``v0``, ``scheme`` or a prior
        name is unknown, ``v0="zero"`` with ``"u2-v2"``, ``sparsity`` is not
        in (0, 1], ``sigma`` or ``ridge`` is negative, discrete prior
        probabilities do not sum to 1, or a prior sampler returns a shape
        other than ``(n,)`` or ``(n, 1)``.
    TypeError
        If a number is not real or ``prior`` is of the wrong type.

    See Also
    --------
    solve_dmft : Solve its DMFT.
    simulate_dln : The finite-d network on the same grid.
    dln_escape_times, dln_implicit_bias_solution, dln_lazy_limit : Theory.

    Notes
    -----
    Each parametrisation is a mirror flow :math:`\beta_j = B(F_j)`,
    :math:`F_j = -\int_0^t g_j`, with :math:`B(F) = \frac{\alpha^2}{2}\sinh
    2F` (``"uv"``, ``v0="zero"``), :math:`\alpha^2 e^{2F}` (``"uv"``,
    ``v0="alpha"``) or :math:`\alpha^2 \sinh 2F` (``"u2-v2"``), so
    :math:`\dot\beta = -\varphi(\beta) g` with :math:`\varphi =
    \sqrt{\alpha^4 + 4\beta^2}`, :math:`2\beta` or :math:`2\sqrt{\alpha^4 +
    \beta^2}`. The conserved quantities are :math:`u^2 - v^2` and :math:`uv`
    (times :math:`e^{-2\lambda t}` with weight decay).

    References
    ----------
    .. [1] S. Nishiyama and M. Imaizumi, "Precise Dynamics of Diagonal Linear
       Networks: A Unifying Analysis by Dynamical Mean-Field Theory",
       arXiv:2510.01930, 2025.
    .. [2] B. Woodworth et al., "Kernel and Rich Regimes in Overparametrized
       Models", COLT 2020, arXiv:2002.09277.

    Examples
    --------
    >>> from mltheory.dynamics import dmft
    >>> model = dmft.dln(alpha=0.5, prior="rademacher", sigma=0.1)
    >>> print(model.name, model.k, model.rho, model.linear_noise_std)
    dln-uv 1 1.0 0.1
    >>> state = model.sample_theta0(jax.random.key(0), 2)  # (u, v) per coordinate
    >>> print(np.asarray(state).tolist(), np.asarray(model.readout(state[0])))
    [[0.5, 0.0], [0.5, 0.0]] [0.]

    Solve it with ``dmft.solve_dmft(model, delta=..., grid=..., key=...)`` and
    check it with :func:`simulate_dln`.
    """
    alpha = check_scalar(alpha, name="alpha", lower=0.0, lower_inclusive=False)
    param, init_v = _check_parametrization(parametrization, v0)
    check_in(scheme, name="scheme", options=_SCHEMES)
    prior, sparsity = _check_prior(prior, sparsity)
    sigma = check_scalar(sigma, name="sigma", lower=0.0)
    ridge = check_scalar(ridge, name="ridge", lower=0.0)
    base = _glm_model_cached("square", "linear", sigma, 0.0, "gaussian", "zero")
    return DLNModel(
        k=1,
        k_star=1,
        loss=base.loss,
        sample_theta_star=_prior_sampler(prior, sparsity),
        sample_theta0=_initial_rows(alpha, init_v),
        ridge=ridge,
        label_noise=base.label_noise,
        test_loss=base.test_loss,
        curvature=None,
        state_step=_state_step(param, scheme, ridge),
        readout=_READOUTS[param],
        name=f"dln-{param}",
        linear_noise_std=sigma,
        alpha=alpha,
        parametrization=param,
        v0=init_v,
        sigma=sigma,
        prior=prior,
        sparsity=sparsity,
        scheme=scheme,
    )


def _check_dln(model: Any, name: str = "model") -> DLNModel:
    if not isinstance(model, DLNModel):
        raise TypeError(
            f"{name} must be a DLNModel made by dln(...); got {describe(model)}."
        )
    return model
