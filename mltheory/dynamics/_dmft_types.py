"""DMFT types: the model description, solver configuration, result and errors.

Private; public through :mod:`mltheory.dynamics.dmft`.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from mltheory._src._pytree import pytree_dataclass, static_field
from mltheory._src._typing import Array, KeyArray
from mltheory._src._validation import (
    check_callable,
    check_in,
    check_scalar,
)
from mltheory.exceptions import DivergenceError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__: list[str] = []


# A loss that grows by this factor over its initial value has diverged.
_BLOWUP = 1e10
_N_BATCHES = 10  # batch means for the test-loss standard error


class DMFTDivergenceError(DivergenceError):
    """Raised when the DMFT (or its simulation) blows up: NaN/inf or an exploding loss.

    Attributes ``iteration`` (fixed-point iteration, 0 for single-pass
    methods), ``time_index`` (first bad grid index) and ``result`` (the
    :class:`DMFTResult` computed so far, possibly holding non-finite values)
    say where it happened.

    Parameters
    ----------
    message : str
        The error message.
    iteration : int, default=0
        The fixed-point iteration at which it happened.
    time_index : int, default=-1
        The first grid index with a non-finite or exploding value.
    result : DMFTResult or None, default=None
        The result computed so far.

    Examples
    --------
    >>> from mltheory.dynamics.dmft import DMFTDivergenceError
    >>> err = DMFTDivergenceError("loss exploded", time_index=12)
    >>> print(err.time_index, isinstance(err, ArithmeticError))
    12 True
    """

    def __init__(
        self,
        message: str,
        *,
        iteration: int = 0,
        time_index: int = -1,
        result: Any = None,
    ) -> None:
        super().__init__(message)
        self.iteration = iteration
        self.time_index = time_index
        self.result = result


class DMFTNumericalError(ArithmeticError):
    """Raised when a DMFT covariance kernel is not positive semi-definite.

    Small negative conditional variances (rounding) are clipped silently; one
    below :math:`-10^{-8}` times the variance's scale raises this error.

    Examples
    --------
    >>> from mltheory.dynamics.dmft import DMFTNumericalError
    >>> print(issubclass(DMFTNumericalError, ArithmeticError))
    True
    """


# --------------------------------------------------------------------------- #
# Model description
# --------------------------------------------------------------------------- #


@dataclasses.dataclass(frozen=True)
class SGFModel:
    r"""A model for the SGF-DMFT: per-sample loss, regulariser and priors as callables.

    All callables act on one parameter row or one sample (they are vmapped)
    and must be JAX-traceable. Instances are hashable (callables compare by
    identity) and are static arguments of the jitted solvers: build a model
    once and reuse it to reuse the compilation.

    Parameters
    ----------
    k : int
        Student width (1 for a GLM, the number of hidden units otherwise).
    k_star : int
        Teacher width.
    loss : callable
        ``loss(r, r_star, eps) -> scalar``: the per-sample loss
        :math:`L(r; z)` with ``r`` of shape ``(k,)``, the teacher
        pre-activation ``r_star`` of shape ``(k_star,)`` and the label-noise
        variable ``eps`` (a standard normal scalar).
    sample_theta_star : callable
        ``sample_theta_star(key, n) -> (n, k_star)``: i.i.d. teacher rows.
    sample_theta0 : callable
        ``sample_theta0(key, n) -> (n, k)`` (or ``(n, s)`` with a custom
        ``state_step``): i.i.d. initial rows.
    dloss : callable, optional
        ``dloss(t, r, r_star, eps) -> (k,)``: :math:`\ell_t = \nabla_r L`;
        default ``jax.grad(loss)`` (time independent).
    ridge : float, default=0.0
        Ridge coefficient :math:`\lambda \geq 0` (:math:`h = \lambda\theta`).
    reg_grad : callable, optional
        ``reg_grad(t, theta_row) -> (k,)``: an extra separable regulariser
        gradient :math:`h_t`.
    label_noise : bool, default=True
        Whether ``eps`` enters the loss (adds a dimension to the test-loss
        quadrature).
    test_loss : callable, optional
        ``test_loss(C, m, rho) -> scalar``: a closed-form test loss from the
        overlaps :math:`C = E\theta\theta^\top` (k, k), :math:`m =
        E\theta\theta^{*\top}` (k, k_star), :math:`\rho` (k_star, k_star);
        default Gauss–Hermite quadrature of ``loss``.
    curvature : float, optional
        An upper bound on :math:`\partial_r \ell`, for the stability warning.
    state_step : callable, optional
        ``state_step(t, state_row, force_row, dt) -> state_row``: a custom
        parameter-side step for reparametrised models (the hook for diagonal
        linear networks, :func:`dln`); ``force_row`` is the data force times
        ``dt`` (plus the noise increment), of shape ``(k,)``, and ``dt`` the
        step (a traced scalar: grids may be non-uniform). Default: ``theta -
        dt (ridge theta + h) + force``.
    readout : callable, optional
        ``readout(state_row) -> (k,)``: the effective parameter of a state
        (used with ``state_step``). Default: the identity.
    name : str, default="custom"
        A label for reprs and plots.
    linear_noise_std : float, optional
        Declares the loss to be the square loss of a linear teacher with
        label-noise level :math:`\sigma` = ``linear_noise_std``,
        :math:`\ell = r - r^* - \sigma\varepsilon` (``k = k_star = 1``;
        checked on a few points). The causal solver then computes the sample
        side in closed form (second-moment recursions given the parameter-side
        kernels, exact for any ``tau``) and samples only the parameter side:
        no Monte Carlo error from the sample side and about half the work. The
        fixed-point method keeps the Monte Carlo sample side.

    See Also
    --------
    glm, two_layer : Ready-made models.
    solve_dmft : Solves the DMFT of a model.

    Examples
    --------
    Least squares with a Gaussian teacher, from scratch:

    >>> from mltheory.dynamics.dmft import SGFModel
    >>> model = SGFModel(
    ...     k=1, k_star=1,
    ...     loss=lambda r, rs, e: 0.5 * (r[0] - rs[0] - 0.5 * e) ** 2,
    ...     sample_theta_star=lambda key, n: jax.random.normal(key, (n, 1)),
    ...     sample_theta0=lambda key, n: jnp.zeros((n, 1)),
    ... )
    >>> print(model.k, model.ridge)
    1 0.0
    """

    k: int
    k_star: int
    loss: Callable[[Array, Array, Array], Array]
    sample_theta_star: Callable[[KeyArray, int], Array]
    sample_theta0: Callable[[KeyArray, int], Array]
    dloss: Callable[[Array, Array, Array, Array], Array] | None = None
    ridge: float = 0.0
    reg_grad: Callable[[Array, Array], Array] | None = None
    label_noise: bool = True
    test_loss: Callable[[Array, Array, Array], Array] | None = None
    curvature: float | None = None
    state_step: Callable[..., Array] | None = None
    readout: Callable[[Array], Array] | None = None
    name: str = "custom"
    linear_noise_std: float | None = None

    def __post_init__(self) -> None:
        check_scalar(self.k, name="k", kind=int, lower=1)
        check_scalar(self.k_star, name="k_star", kind=int, lower=1)
        check_scalar(self.ridge, name="ridge", lower=0.0)
        if self.linear_noise_std is not None:
            check_scalar(self.linear_noise_std, name="linear_noise_std", lower=0.0)
            if self.k != 1 or self.k_star != 1:
                raise ValueError(
                    "linear_noise_std (a closed-form sample side) needs k = "
                    f"k_star = 1; got k = {self.k}, k_star = {self.k_star}."
                )
        for name in ("loss", "sample_theta_star", "sample_theta0"):
            check_callable(getattr(self, name), name=name)
        for name in ("dloss", "reg_grad", "test_loss", "state_step", "readout"):
            f = getattr(self, name)
            if f is not None:
                check_callable(f, name=name)


@dataclasses.dataclass(frozen=True)
class DMFTConfig:
    r"""Numerical options of :func:`solve_dmft`.

    Parameters
    ----------
    n_samples : int, default=10_000
        Monte Carlo samples of each effective process (at least 100; below
        1000 a warning says the error is large, about ``1/sqrt(n_samples)``).
    method : {"causal", "fixed_point"}, default="causal"
        March forward in time in one pass, or iterate the damped DMFT map with
        common random numbers. Both give the same solution for the same key.
    damping : float, default=0.5
        Fixed-point damping :math:`\gamma \in (0, 1]`.
    tol : float, default=1e-6
        Fixed-point tolerance on the relative sup-norm change of the kernels.
    max_iter : int, default=200
        Maximum fixed-point iterations.
    time_blocks : int or None, default=None
        Split the causal time loop into this many blocks; a block ending at
        time index ``J`` reads only the first ``J`` times of the histories,
        so the work of a solve (it is bound by memory traffic over the
        ``O(K N k)`` histories) falls towards half as the count grows. Each
        block compiles its own loop body (about +4 s of compilation for 4
        blocks on 2 CPU cores, against 10--25 % less run time), so blocks pay
        off for large solves and for sweeps, which reuse one compilation
        (``delta`` and ``tau`` are traced). ``None`` picks 4 when
        :math:`(K+1)^2 N k \ge 4 \cdot 10^8` and 1 otherwise. The result
        does not depend on it beyond rounding.
    response : {"stein", "tangent"} or None, default=None
        How the parameter-side response :math:`R_\theta` is measured.
        ``"stein"``: Gaussian integration by parts, a regression of
        :math:`\theta` on the inputs of the field :math:`U` itself; the
        field's Cholesky factor then needs a floor on conditional variances
        (:math:`10^{-6}`), which at long horizons, once :math:`M = O(\Delta^2
        E\ell^2)` falls below it, adds noise the DMFT does not contain (a drift
        of the loss). ``"tangent"``: a forward-mode tangent of every sample
        driven by an independent Gaussian probe :math:`\eta`, regressed on
        :math:`\eta` (exact for a linear parameter side, unbiased in
        general), so the field is sampled with its own covariance (a floor
        of :math:`10^{-8}` times its scale); about 25 % more work. ``None``
        picks ``"tangent"`` for models with a closed-form sample side
        (``linear_noise_std``, e.g. :func:`dln`) and ``"stein"`` otherwise
        (the solver's original method, kept as the default there).

    Raises
    ------
    TypeError
        If an integer option is not an integer.
    ValueError
        If ``n_samples < 100``, ``method`` is unknown, ``damping`` is not in
        ``(0, 1]``, ``tol <= 0``, ``max_iter < 1``, ``time_blocks < 1`` or
        ``response`` is unknown.

    Warns
    -----
    UserWarning
        If ``n_samples < 1000``.

    See Also
    --------
    solve_dmft : Uses it.

    Examples
    --------
    >>> from mltheory.dynamics.dmft import DMFTConfig
    >>> DMFTConfig(n_samples=2000, method="fixed_point").damping
    0.5
    """

    n_samples: int = 10_000
    method: Literal["causal", "fixed_point"] = "causal"
    damping: float = 0.5
    tol: float = 1e-6
    max_iter: int = 200
    time_blocks: int | None = None
    response: Literal["stein", "tangent"] | None = None

    def __post_init__(self) -> None:
        n = check_scalar(self.n_samples, name="n_samples", kind=int, lower=100)
        if n < 1000:
            warnings.warn(
                f"n_samples = {n} < 1000: Monte Carlo error ~1/sqrt(N) "
                f"(about {1 / math.sqrt(n):.2f} relative) dominates the kernels.",
                UserWarning,
                stacklevel=3,
            )
        check_in(self.method, name="method", options=("causal", "fixed_point"))
        check_scalar(
            self.damping, name="damping", lower=0.0, upper=1.0, lower_inclusive=False
        )
        check_scalar(self.tol, name="tol", lower=0.0, lower_inclusive=False)
        check_scalar(self.max_iter, name="max_iter", kind=int, lower=1)
        if self.time_blocks is not None:
            check_scalar(self.time_blocks, name="time_blocks", kind=int, lower=1)
        if self.response is not None:
            check_in(self.response, name="response", options=("stein", "tangent"))


@pytree_dataclass
class DMFTResult:
    r"""The solution of a DMFT: kernels, loss curves and convergence information.

    Time indices run over the grid ``0..K``; two-time kernels are
    ``(K+1, K+1, k, k)`` blocks. Responses are discrete: ``R_theta[t, s]`` is
    the response of :math:`\theta_t` to a kick of size one added to
    :math:`\theta_{s+1}` (so ``R_theta[s+1, s]`` is the identity).

    Parameters
    ----------
    ts : jax.Array of shape (K+1,)
        Grid times.
    C_theta : jax.Array of shape (K+1, K+1, k, k)
        :math:`E[\theta_t \theta_s^\top]`.
    m : jax.Array of shape (K+1, k, k_star)
        :math:`E[\theta_t \theta^{*\top}]`.
    rho : jax.Array of shape (k_star, k_star)
        :math:`E[\theta^* \theta^{*\top}]`.
    R_theta : jax.Array of shape (K+1, K+1, k, k)
        Parameter response (strictly causal).
    C_ell : jax.Array of shape (K+1, K+1, k, k)
        :math:`E[\ell_t \ell_s^\top]` on the sample side.
    R_ell : jax.Array of shape (K+1, K+1, k, k)
        :math:`E[\partial \ell_t / \partial w_s]` (causal; the diagonal is
        :math:`\Lambda_t`, the rest :math:`\tilde R_\ell \Delta`).
    Gamma : jax.Array of shape (K+1, k, k_star)
        :math:`E[\partial \ell_t / \partial w^*]`.
    noise_cov : jax.Array of shape (K, K, k, k)
        :math:`M = \delta E[\Delta Z_t \Delta Z_s^\top]`.
    train_loss, test_loss : jax.Array of shape (K+1,)
        Loss curves.
    train_loss_se, test_loss_se : jax.Array of shape (K+1,)
        Monte Carlo standard errors (zero for deterministic solvers).
    theta_samples : jax.Array of shape (n_samples, k) or None
        Samples of :math:`\theta_T` (for histograms).
    residuals : jax.Array of shape (n_iter,)
        Fixed-point residual history (empty for single-pass solvers).
    delta, tau : jax.Array
        The aspect ratio and temperature.
    n_iter : int
        Fixed-point iterations (1 for single-pass solvers).
    converged : bool
        Whether the fixed point met its tolerance (True for single passes).
    method : str
        ``"causal"``, ``"fixed_point"``, ``"linear"`` or ``"online"``.

    See Also
    --------
    solve_dmft, online_limit, linear_regression_dmft : Return it.

    Examples
    --------
    >>> from mltheory.dynamics import dmft
    >>> from mltheory.numerics import TimeGrid
    >>> res = dmft.linear_regression_dmft(delta=2.0, sigma=0.5,
    ...                                   grid=TimeGrid(1.0, 10))
    >>> res.C_theta.shape, res.train_loss.shape
    ((11, 11, 1, 1), (11,))
    """

    ts: Array
    C_theta: Array
    m: Array
    rho: Array
    R_theta: Array
    C_ell: Array
    R_ell: Array
    Gamma: Array
    noise_cov: Array
    train_loss: Array
    test_loss: Array
    train_loss_se: Array
    test_loss_se: Array
    theta_samples: Array | None
    residuals: Array
    delta: Array
    tau: Array
    n_iter: int = static_field(default=1)
    converged: bool = static_field(default=True)
    method: str = static_field(default="causal")

    def _summary_items(self) -> dict[str, Any]:
        return {
            "horizon": self.ts[..., -1],
            "final train loss": self.train_loss[..., -1],
            "final test loss": self.test_loss[..., -1],
        }

    def plot(
        self,
        ax: Axes | Sequence[Axes] | None = None,
        *,
        losses: tuple[str, ...] = ("train", "test"),
        kernels: bool = False,
        component: tuple[int, int] = (0, 0),
        label: str | None = "DMFT",
        logy: bool = False,
        color: str | None = None,
        **kwargs: Any,
    ) -> Axes | Figure:
        r"""Plot the loss curves, optionally with the two-time kernels.

        The train and test losses are solid lines with a +-1 standard-error
        band where the solver estimated one by Monte Carlo; train loss in
        the first house colour, test loss in the second, as
        :meth:`mltheory.optim.sgf.SGFTrajectory.plot` draws a simulation, so
        ``res.plot(ax=ax); sim.plot(ax=ax)`` compares theory and simulation.

        Parameters
        ----------
        ax : Axes, sequence of 3 Axes, or None, default=None
            Where to draw: one Axes, or three with ``kernels=True``; ``None``
            makes a new figure (shown in Jupyter).
        losses : tuple of {"train", "test"}, default=("train", "test")
            Which loss curves.
        kernels : bool, default=False
            Add heatmaps of the correlation :math:`C_\theta(t, s)` and the
            response :math:`R_\theta(t, s)` (a three-panel figure).
        component : tuple of int, default=(0, 0)
            The ``(i, j)`` entry of the ``k x k`` kernel blocks drawn.
        label : str or None, default="DMFT"
            Appended to the legend entries: ``"test loss (DMFT)"``.
        logy : bool, default=False
            Logarithmic loss axis.
        color : str, optional
            One colour for all loss curves.
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.plot`.

        Returns
        -------
        matplotlib.axes.Axes or matplotlib.figure.Figure
            The Axes, or the Figure with ``kernels=True``.

        Raises
        ------
        ValueError
            If ``losses`` names an unknown curve, ``component`` is out of
            range, or ``kernels=True`` on a batched result.
        TypeError
            If ``ax`` does not match or the result holds tracers.

        Examples
        --------
        >>> from mltheory.dynamics import dmft
        >>> from mltheory.numerics import TimeGrid
        >>> res = dmft.linear_regression_dmft(delta=2.0, sigma=0.5,
        ...                                   grid=TimeGrid(1.0, 10))
        >>> ax = res.plot()  # doctest: +SKIP
        >>> fig = res.plot(kernels=True)  # doctest: +SKIP
        """
        from mltheory._src import _plotting as P

        available = {
            "train": (self.train_loss, self.train_loss_se),
            "test": (self.test_loss, self.test_loss_se),
        }
        for name in losses:
            if name not in available:
                raise ValueError(
                    f"losses must name 'train' and/or 'test'; got {name!r}."
                )
        k = self.C_theta.shape[-1]
        i, j = component
        if not (0 <= i < k and 0 <= j < k):
            raise ValueError(
                f"component must index the {k}x{k} kernel blocks; got {component}."
            )
        if kernels:
            fig, axes = P.panel_axes(ax, 3)
            loss_ax = axes[0]
        else:
            loss_ax = P.axes_or_new(ax)  # type: ignore[arg-type]
        P.plot_named_curves(
            loss_ax,
            self.ts,
            {f"{n} loss": available[n] for n in losses},
            kind="theory",
            label=label,
            colors=P.LOSS_COLORS,
            color=color,
            **kwargs,
        )
        P.finish_axes(loss_ax, xlabel="time t [SGF units]", ylabel="loss", logy=logy)
        if not kernels:
            return loss_ax
        ts = P.members_or_error(self.ts, name="DMFTResult.ts")
        for target, field, what in (
            (axes[1], self.C_theta, "correlation C_theta(t, s)"),
            (axes[2], self.R_theta, "response R_theta(t, s)"),
        ):
            values = P.as_numpy(field, name=what)[..., i, j]
            P.heatmap(target, ts, ts, values, label=what, cmap="magma")
            P.finish_axes(
                target, xlabel="time t", ylabel="time s", legend=False, grid=False
            )
        return fig
