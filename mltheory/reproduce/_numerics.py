"""Reproduction ``numerics``: the shared layer measured against closed forms.

Three panels of evidence that the kernels every paper builds on are right:

1. ODE steppers: global error against a closed-form solution as the step
   shrinks; the fitted log-log slopes are the measured orders (Euler 1,
   Heun 2, RK4 4).
2. SDE steppers on geometric Brownian motion, whose solution is known in
   closed form along the same Brownian path: Euler–Maruyama's strong order
   1/2 and weak order 1, and the drift-implicit scheme's strong order 1/2.
3. Gaussian quadrature: ``expect`` and the Hermite coefficients against
   closed forms (the ReLU mean, the erf–erf and arc-cosine kernels, the ReLU
   and erf Hermite coefficients, Parseval).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from scipy import special

from mltheory import numerics
from mltheory.reproduce._plotting import (
    finish_axes,
    loglog_fit,
    new_figure,
    plot_curve,
    save_figure,
)
from mltheory.reproduce._types import Check, Reproduction

__all__ = ["run"]


# --- 1. ODE orders -----------------------------------------------------------


def _logistic_exact(t: float, y0: float) -> float:
    return 1.0 / (1.0 + (1.0 / y0 - 1.0) * math.exp(-t))


def _ode_errors(
    method: Literal["euler", "heun", "rk4"], n_steps_list: list[int], t_max: float
) -> np.ndarray:
    y0 = 0.1
    exact = _logistic_exact(t_max, y0)

    def field(t: jax.Array, y: jax.Array, args: None) -> jax.Array:
        return y * (1.0 - y)

    errors = []
    for n in n_steps_list:
        grid = numerics.TimeGrid(t_max, n)
        sol = numerics.solve_ode(field, jnp.asarray(y0), grid=grid, method=method)
        errors.append(abs(float(sol.ys[-1]) - exact))
    return np.asarray(errors)


def _ode_orders(size: str) -> tuple[dict, list[Check]]:
    t_max = 10.0
    # Start at dt = 0.25: coarser steps are pre-asymptotic for Euler and Heun.
    n_list = [40 * 2**j for j in range(6 if size == "quick" else 8)]
    dts = t_max / np.asarray(n_list, dtype=float)
    results = {}
    checks = []
    expected: dict[Literal["euler", "heun", "rk4"], float] = {
        "euler": 1.0,
        "heun": 2.0,
        "rk4": 4.0,
    }
    for method, order in expected.items():
        errs = _ode_errors(method, n_list, t_max)
        # Round-off floors the finest RK4 errors near 1e-14; fit above it.
        keep = errs > 1e-12
        slope, _ = loglog_fit(dts[keep], errs[keep])
        results[method] = (dts, errs, slope)
        checks.append(
            Check.close_to(
                f"ODE {method} global order (log-log slope)", slope, order, 0.2
            )
        )
    return results, checks


# --- 2. SDE orders on geometric Brownian motion -------------------------------

_X0, _T = 1.0, 1.0


def _gbm_errors(
    key: jax.Array,
    *,
    mu: float,
    sigma: float,
    n_paths: int,
    levels: list[int],
    method: Literal["euler_maruyama", "drift_implicit_em"],
) -> dict[str, np.ndarray]:
    """Strong and weak errors of one scheme on GBM dX = mu X dt + sigma X dW.

    One fine Brownian path per sample (4x finer than the finest level) drives
    the exact solution X_T = exp((mu - sigma^2/2) T + sigma W_T) and, summed into
    coarser increments, the scheme; common random numbers make the weak-error
    estimate E[X_h - X] far less noisy than E[X_h] - E[X]. The drift-implicit
    scheme treats the whole drift mu X as its linear part.
    """
    n_fine = 2 ** (levels[-1] + 2)
    fine_grid = numerics.TimeGrid(_T, n_fine)
    keys = jax.random.split(key, n_paths)
    dw_fine = jax.vmap(
        lambda k: numerics.brownian_increments(k, grid=fine_grid, shape=())
    )(keys)  # (n_paths, n_fine)
    exact = _X0 * jnp.exp((mu - 0.5 * sigma**2) * _T + sigma * dw_fine.sum(axis=1))
    implicit = method == "drift_implicit_em"

    def drift(t: jax.Array, x: jax.Array, args: None) -> jax.Array:
        return jnp.zeros_like(x) if implicit else mu * x

    def diffusion(t: jax.Array, x: jax.Array, args: None, dw: jax.Array) -> jax.Array:
        return sigma * x * dw

    linear_part = mu if implicit else None
    out: dict[str, list[float]] = {"dt": [], "strong": [], "weak": [], "weak_se": []}
    for level in levels:
        n = 2**level
        grid = numerics.TimeGrid(_T, n)
        dw = dw_fine.reshape(n_paths, n, n_fine // n).sum(axis=2)

        def final(inc: jax.Array, grid: numerics.TimeGrid = grid) -> jax.Array:
            sol = numerics.solve_sde(
                drift,
                diffusion,
                jnp.asarray(_X0),
                grid=grid,
                increments=inc,
                method=method,
                linear_part=linear_part,
            )
            return sol.ys[-1]

        diff = jax.vmap(final)(dw) - exact
        out["dt"].append(_T / n)
        out["strong"].append(float(jnp.mean(jnp.abs(diff))))
        # E[X_h] - E[X] = E[X_h - X]: averaging the pathwise difference leaves
        # only the small Var(X_h - X) ~ dt as Monte Carlo noise.
        out["weak"].append(abs(float(jnp.mean(diff))))
        out["weak_se"].append(float(jnp.std(diff)) / math.sqrt(n_paths))
    return {k: np.asarray(v) for k, v in out.items()}


def _sde_orders(key: jax.Array, size: str) -> tuple[dict, list[Check]]:
    n_paths = 4000 if size == "quick" else 40000
    levels = list(range(3, 9)) if size == "quick" else list(range(3, 11))
    k_strong, k_weak, k_die = jax.random.split(key, 3)
    # Strong order: GBM with sigma=1, where the O(sqrt(dt)) noise error dominates
    # from the coarsest step on (with small sigma the O(dt) drift error makes the
    # fitted slope pre-asymptotic).
    em = _gbm_errors(
        k_strong,
        mu=0.5,
        sigma=1.0,
        n_paths=n_paths,
        levels=levels,
        method="euler_maruyama",
    )
    # Weak order: growing GBM with mu=1, sigma=0.5: a large bias e^mu - (1+mu dt)^N
    # and little Monte Carlo noise.
    em_weak = _gbm_errors(
        k_weak,
        mu=1.0,
        sigma=0.5,
        n_paths=n_paths,
        levels=levels,
        method="euler_maruyama",
    )
    # Drift-implicit EM on decaying GBM (mu=-1, sigma=1): the linear part is the
    # stable (negative) one the scheme is for, and the noise dominates the error.
    die = _gbm_errors(
        k_die,
        mu=-1.0,
        sigma=1.0,
        n_paths=n_paths,
        levels=levels,
        method="drift_implicit_em",
    )
    s_em, _ = loglog_fit(em["dt"], em["strong"])
    w_em, _ = loglog_fit(em_weak["dt"], em_weak["weak"])
    s_die, _ = loglog_fit(die["dt"], die["strong"])
    checks = [
        Check.close_to("SDE Euler-Maruyama strong order (GBM)", s_em, 0.5, 0.1),
        Check.close_to("SDE Euler-Maruyama weak order (GBM, E[X_T])", w_em, 1.0, 0.2),
        Check.close_to("SDE drift-implicit EM strong order (GBM)", s_die, 0.5, 0.1),
        # The weak-error estimate must sit well above its Monte Carlo noise,
        # else the fitted slope would measure noise.
        Check.at_least(
            "EM weak error / its standard error at the finest step",
            em_weak["weak"][-1] / em_weak["weak_se"][-1],
            4.0,
        ),
    ]
    res = {
        "em": em,
        "em_weak": em_weak,
        "die": die,
        "slopes": {"em_strong": s_em, "em_weak": w_em, "die_strong": s_die},
    }
    return res, checks


# --- 3. Gaussian expectations and Hermite coefficients ------------------------


def _relu(x: jax.Array) -> jax.Array:
    return jnp.maximum(x, 0.0)


def _relu_coefficients_by_quad(degree: int) -> np.ndarray:
    """c_k = E[relu(Z) He_k(Z)] / k! by adaptive quadrature on [0, inf).

    An independent reference: SciPy's QUADPACK on the half line, where the
    integrand is smooth, and NumPy's Hermite_e polynomials.
    """
    from numpy.polynomial import hermite_e
    from scipy import integrate

    coeffs = []
    for k in range(degree + 1):
        # Integrate against He_k / sqrt(k!), which is O(1) on the Gaussian's
        # bulk, so an absolute tolerance means the same at every degree.
        basis = hermite_e.HermiteE.basis(k) / math.sqrt(math.factorial(k))
        value, _ = integrate.quad(
            lambda z, basis=basis: z * basis(z) * math.exp(-z * z / 2),
            0.0,
            np.inf,
            epsabs=1e-13,
            epsrel=1e-12,
            limit=400,
        )
        coeffs.append(value / math.sqrt(2 * math.pi) / math.sqrt(math.factorial(k)))
    return np.asarray(coeffs)


def _gaussian_accuracy(size: str) -> tuple[dict, list[Check], dict]:
    nodes_list = [8, 16, 32, 64, 128] + ([256, 512] if size == "full" else [])
    a, b, rho = 0.7, 1.3, 0.6
    cov = jnp.array([[1.0, rho], [rho, 1.0]])
    erf_erf_exact = (
        2
        / math.pi
        * math.asin(2 * a * b * rho / math.sqrt((1 + 2 * a * a) * (1 + 2 * b * b)))
    )
    arccos_exact = (math.sqrt(1 - rho**2) + (math.pi - math.acos(rho)) * rho) / (
        2 * math.pi
    )
    relu_mean_exact = 1 / math.sqrt(2 * math.pi)

    errs: dict[str, list[float]] = {
        "relu mean (1-D)": [],
        "erf-erf kernel (2-D)": [],
        "arc-cosine kernel (2-D)": [],
    }
    for n in nodes_list:
        m = numerics.expect(_relu, 0.0, 1.0, n_nodes=n)
        errs["relu mean (1-D)"].append(abs(float(m) - relu_mean_exact))
        ee = numerics.expect(
            lambda x: special_erf(a * x[0]) * special_erf(b * x[1]),
            jnp.zeros(2),
            cov,
            n_nodes=n,
        )
        errs["erf-erf kernel (2-D)"].append(abs(float(ee) - erf_erf_exact))
        ac = numerics.expect(
            lambda x: _relu(x[0]) * _relu(x[1]), jnp.zeros(2), cov, n_nodes=n
        )
        errs["arc-cosine kernel (2-D)"].append(abs(float(ac) - arccos_exact))
    nodes = np.asarray(nodes_list, dtype=float)
    relu_rate, _ = loglog_fit(nodes[2:], errs["relu mean (1-D)"][2:])

    degree = 20
    relu_closed = np.asarray(numerics.activation_series("relu", degree).coeffs)
    relu_ref = _relu_coefficients_by_quad(degree)
    beta = 1 / math.sqrt(2)
    erf_closed = np.asarray(numerics.activation_series("erf", 41, beta=beta).coeffs)
    erf_quad = np.asarray(
        numerics.hermite_coefficients(
            lambda z: special_erf(beta * z), 41, n_nodes=200
        ).coeffs
    )
    k = np.arange(erf_closed.size)
    parseval = float(np.sum(special.factorial(k) * erf_closed**2))
    erf_sq_exact = 2 / math.pi * math.asin(2 * beta**2 / (1 + 2 * beta**2))

    relu_coef_err = float(np.max(np.abs(relu_closed - relu_ref)))
    erf_coef_err = float(np.max(np.abs(erf_closed - erf_quad)))
    checks = [
        Check.at_most(
            "expect: E[erf(aU) erf(bV)] error, correlated 2-D, 64 nodes (smooth: "
            "spectral accuracy)",
            errs["erf-erf kernel (2-D)"][nodes_list.index(64)],
            1e-13,
        ),
        Check.close_to(
            "expect: E[relu(Z)] error vs nodes, log-log slope (kink: O(1/n))",
            relu_rate,
            -1.0,
            0.15,
        ),
        Check.at_most(
            f"expect: E[relu(Z)] error x nodes at {nodes_list[-1]} nodes",
            errs["relu mean (1-D)"][-1] * nodes_list[-1],
            0.25,
        ),
        Check.at_most(
            f"expect: arc-cosine kernel error x nodes, 2-D, {nodes_list[-1]} nodes",
            errs["arc-cosine kernel (2-D)"][-1] * nodes_list[-1],
            0.5,
        ),
        Check.at_most(
            "Hermite coefficients of relu (degree 20): closed form vs QUADPACK",
            relu_coef_err,
            1e-10,
        ),
        Check.at_most(
            "Hermite coefficients of erf (degree 41): closed form vs Gauss-Hermite",
            erf_coef_err,
            1e-10,
        ),
        Check.at_most(
            "Parseval for erf(z/sqrt 2): |sum k! c_k^2 - E[sigma^2]| (degree 41)",
            abs(parseval - erf_sq_exact),
            1e-8,
        ),
    ]
    numbers = {
        "E[relu(Z)] error at max nodes": errs["relu mean (1-D)"][-1],
        "erf-erf kernel error at max nodes": errs["erf-erf kernel (2-D)"][-1],
        "arc-cosine kernel error at max nodes": errs["arc-cosine kernel (2-D)"][-1],
        "relu coefficient max error": relu_coef_err,
        "erf coefficient max error": erf_coef_err,
    }
    return {"nodes": nodes, "errors": errs}, checks, numbers


def special_erf(x: jax.Array) -> jax.Array:
    """Erf on JAX arrays (kept as a named function so jit caches it once)."""
    return jax.scipy.special.erf(x)


# --- figures and assembly --------------------------------------------------------


_JOINED: dict[str, Any] = {"kind": "simulation", "linestyle": "-", "linewidth": 0.9}


def _plot_ode(res: dict, out_dir: Path) -> Path:
    fig, axes = new_figure(1)
    ax = axes[0, 0]
    for method, (dts, errs, slope) in res.items():
        plot_curve(
            ax,
            dts,
            np.maximum(errs, 1e-17),
            label=f"{method} (slope {slope:.2f})",
            **_JOINED,
        )
    finish_axes(
        ax,
        xlabel="step size dt",
        ylabel="|y_N - y(T)|",
        title="ODE steppers, logistic equation",
        logx=True,
        logy=True,
    )
    return save_figure(fig, out_dir, "ode_orders")


def _plot_sde(res: dict, out_dir: Path) -> Path:
    fig, axes = new_figure(2)
    em, die, s = res["em"], res["die"], res["slopes"]
    dt = em["dt"]
    ref: dict[str, Any] = {"color": "0.2", "linestyle": ":"}
    ax = axes[0, 0]
    plot_curve(
        ax,
        dt,
        em["strong"],
        label=f"EM, mu=0.5 (slope {s['em_strong']:.2f})",
        **_JOINED,
    )
    plot_curve(
        ax,
        die["dt"],
        die["strong"],
        label=f"drift-implicit EM, mu=-1 (slope {s['die_strong']:.2f})",
        marker="s",
        **_JOINED,
    )
    plot_curve(ax, dt, em["strong"][0] * (dt / dt[0]) ** 0.5, label="slope 1/2", **ref)
    finish_axes(
        ax,
        xlabel="step size dt",
        ylabel="E|X_N - X_T|",
        title="strong error",
        logx=True,
        logy=True,
    )
    ax = axes[0, 1]
    weak = res["em_weak"]
    plot_curve(
        ax, dt, weak["weak"], label=f"EM, mu=1 (slope {s['em_weak']:.2f})", **_JOINED
    )
    plot_curve(
        ax,
        dt,
        2 * weak["weak_se"],
        label="2 x Monte Carlo s.e.",
        color="0.2",
        linestyle="--",
    )
    plot_curve(ax, dt, weak["weak"][0] * (dt / dt[0]), label="slope 1", **ref)
    finish_axes(
        ax,
        xlabel="step size dt",
        ylabel="|E X_N - E X_T|",
        title="weak error",
        logx=True,
        logy=True,
    )
    return save_figure(fig, out_dir, "sde_orders")


def _plot_gauss(res: dict, out_dir: Path) -> Path:
    fig, axes = new_figure(1)
    ax = axes[0, 0]
    for name, errs in res["errors"].items():
        plot_curve(ax, res["nodes"], np.maximum(errs, 1e-17), label=name, **_JOINED)
    finish_axes(
        ax,
        xlabel="Gauss-Hermite nodes per dimension",
        ylabel="absolute error vs closed form",
        title="expect() accuracy",
        logx=True,
        logy=True,
    )
    return save_figure(fig, out_dir, "expect_accuracy")


def run(
    *, size: Literal["quick", "full"], key: jax.Array, out_dir: Path
) -> Reproduction:
    """Run the numerics reproduction (see the module docstring)."""
    ode_res, ode_checks = _ode_orders(size)
    sde_res, sde_checks = _sde_orders(key, size)
    gauss_res, gauss_checks, numbers = _gaussian_accuracy(size)
    figures = (
        str(_plot_ode(ode_res, out_dir)),
        str(_plot_sde(sde_res, out_dir)),
        str(_plot_gauss(gauss_res, out_dir)),
    )
    numbers = {
        **{f"ODE {m} order": v[2] for m, v in ode_res.items()},
        "EM strong order": sde_res["slopes"]["em_strong"],
        "EM weak order": sde_res["slopes"]["em_weak"],
        "drift-implicit EM strong order": sde_res["slopes"]["die_strong"],
        **numbers,
    }
    return Reproduction(
        name="numerics",
        title="The shared numerics layer: convergence orders and quadrature accuracy",
        figures=figures,
        checks=(*ode_checks, *sde_checks, *gauss_checks),
        numbers=numbers,
        summary=(
            "Fixed-step ODE steppers on the logistic equation and SDE steppers on "
            "geometric Brownian motion (T=1; strong order at mu=0.5, sigma=1; weak "
            "order at mu=1, sigma=0.5; drift-implicit at mu=-1, sigma=1), against "
            "their closed-form "
            "solutions; Gauss-Hermite expectations and Hermite coefficients against "
            "closed forms. Orders are least-squares slopes of log error against log dt."
        ),
    )
