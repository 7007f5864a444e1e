"""Reproduction ``fast-slow``: feature learning vs unlearning in a two-layer network.

Three panels (Imai, Nishiyama and Imaizumi, arXiv:2602.07378):

1. The 2-D fast–slow ODE against finite-width large-batch projected SGD
   (tanh student, teacher He_1 + 0.3 He_3, eps = 0.1): mean alignment and mean
   second-layer weight over time, for a0 = 1 (rise, then unlearning) and
   a0 = 3 (lazier: lower peak).
2. The phase diagram of unlearning over (c*_3, a0): predicted by
   ``predict_unlearning`` (no time stepping) against the alignment drop of the
   integrated ODE at every grid point, with the predicted boundary drawn.
3. The scaling laws of complete unlearning: fitted log-log slopes of m(t) and
   a(t) on t in [1e6, 1e9] against the closed-form exponents (1/6 with no
   cubic teacher term, 1/4 with an opposed one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from mltheory import numerics
from mltheory._src._progress import progress
from mltheory.dynamics import fast_slow as fs
from mltheory.dynamics import tensor_programs as tp
from mltheory.reproduce._plotting import (
    PALETTE,
    finish_axes,
    new_figure,
    plot_curve,
    save_figure,
)
from mltheory.reproduce._types import Check, Reproduction

__all__ = ["run"]

_K = 11


def _teacher(mu: float | jax.Array) -> numerics.HermiteSeries:
    return numerics.HermiteSeries(jnp.zeros(_K + 1).at[1].set(1.0).at[3].set(mu))


def _ode_vs_sgd(key: jax.Array, size: str) -> tuple[dict, list[Check], dict]:
    tanh = numerics.activation_series("tanh", _K)
    teacher = _teacher(0.3)
    n, d, batch = (256, 64, 2048) if size == "quick" else (512, 200, 8192)
    lr_w, lr_a, t_max = 0.05, 0.005, 30.0
    n_steps = round(t_max / lr_w)
    problem = tp.to_problem(teacher, tanh, lr_w, lr_a)
    out = {}
    for i, a0 in enumerate(progress((1.0, 3.0), desc="fast-slow: SGD runs")):
        k_init, k_sgd = jax.random.split(jax.random.fold_in(key, i))
        params = tp.init_params(k_init, n, d, a0)
        sgd = tp.simulate_sgd(
            k_sgd,
            params,
            teacher,
            jnp.tanh,
            lr_w=lr_w,
            lr_a=lr_a,
            batch_size=batch,
            n_steps=n_steps,
            record_every=10,
            dtype=jnp.float32,
        )
        ode = fs.integrate(
            problem,
            float(sgd.m_mean[0]),
            a0,
            t_max,
            method="rk4",
            n_steps=n_steps * 5,
            record_every=50,
        )
        out[a0] = (sgd, ode)
    err = {
        a0: (
            float(jnp.max(jnp.abs(s.m_mean - o.m))),
            float(jnp.max(jnp.abs(s.a_mean - o.a))),
        )
        for a0, (s, o) in out.items()
    }
    st1 = fs.measure_unlearning(out[1.0][0].t, out[1.0][0].m_mean)
    peak3 = float(jnp.max(out[3.0][0].m_mean))
    checks = [
        Check.at_most(
            f"ODE vs SGD (n={n}, d={d}, B={batch}), a0=1: max |m_SGD - m_ODE|",
            err[1.0][0],
            0.02,
        ),
        Check.at_most("ODE vs SGD, a0=1: max |a_SGD - a_ODE|", err[1.0][1], 0.02),
        Check.at_most("ODE vs SGD, a0=3: max |m_SGD - m_ODE|", err[3.0][0], 0.02),
        Check.at_least(
            "SGD a0=1 shows unlearning: peak m - final m", float(st1.drop), 0.03
        ),
        Check.at_least(
            "larger a0 is lazier: SGD peak m(a0=1) - peak m(a0=3)",
            float(st1.peak_m) - peak3,
            0.1,
        ),
    ]
    numbers = {
        "max |m_SGD - m_ODE| (a0=1)": err[1.0][0],
        "max |a_SGD - a_ODE| (a0=1)": err[1.0][1],
        "max |m_SGD - m_ODE| (a0=3)": err[3.0][0],
    }
    return out, checks, numbers


_PHASE_EPS = 0.1
_PHASE_M0 = 1e-3  # phase_diagram's default start (a0 > 0 and c_1 c*_1 > 0: m0 > 0)


@jax.jit
def _predicted_drop(mus: jax.Array, a0s: jax.Array) -> jax.Array:
    """|landing m| - |final m| of the eps -> 0 prediction (0 where none)."""
    tanh = numerics.activation_series("tanh", _K)

    def one(mu: jax.Array, a0: jax.Array) -> jax.Array:
        problem = fs.FastSlowProblem(tanh, _teacher(mu), eps=_PHASE_EPS)
        d = fs.predict_unlearning(problem, a0, _PHASE_M0)
        final = jnp.where(jnp.isnan(d.final_m), 0.0, jnp.abs(d.final_m))
        return jnp.where(d.occurs, jnp.abs(d.landing_m) - final, 0.0)

    return jax.vmap(jax.vmap(one, in_axes=(None, 0)), in_axes=(0, None))(mus, a0s)


def _phase(size: str) -> tuple[fs.PhaseDiagram, list[Check], dict]:
    tanh = numerics.activation_series("tanh", _K)
    problem = fs.FastSlowProblem(tanh, _teacher(0.0), eps=_PHASE_EPS)
    n_grid = 24 if size == "quick" else 64
    mus = jnp.linspace(-0.5, 0.4, n_grid)
    a0s = jnp.linspace(0.2, 3.0, n_grid)
    pd = fs.phase_diagram(problem, mus, a0s, t_max=300.0, n_steps=6000)
    drop = np.asarray(pd.drop)
    sim = drop > 1e-3
    # Undecided at a finite horizon: points within 0.02 of the threshold (near
    # it the face loses stability slowly and the exit from m = 1 is delayed, a
    # slow passage through the bifurcation) and drops near the 1e-3 cut.
    near = np.abs(np.asarray(mus) - float(pd.critical_strength)) <= 0.02
    # Undecided at this eps: a predicted drop below 0.2 eps. The prediction is
    # the eps -> 0 limit, which lands m at frozen a = a0; at eps = 0.1, a moves
    # by ~0.05 while m lands, and the landing shifts by O(eps). With so small a
    # predicted drop the simulated m lands at or below the predicted
    # equilibrium and creeps up to it (drop 0): 5 points of the 64 x 64 grid,
    # predicted drops 1e-4 to 0.0175, while every point whose unlearning the
    # simulation shows has a predicted drop >= 0.028.
    small = np.asarray(pd.predicted) & (
        np.asarray(_predicted_drop(mus, a0s)) < 0.2 * _PHASE_EPS
    )
    clear = ~near[:, None] & ~small & ((drop > 5e-3) | (drop < 1e-6))
    agree = float(np.mean(np.asarray(pd.predicted)[clear] == sim[clear]))
    checks = [
        Check.at_least(
            f"phase diagram {n_grid}x{n_grid}: predicted = simulated unlearning "
            "(fraction of decided points)",
            agree,
            1.0,
        ),
        Check.at_least(
            "phase diagram: fraction of grid points decided",
            float(np.mean(clear)),
            0.85,
        ),
    ]
    return (
        pd,
        checks,
        {
            "phase diagram agreement": agree,
            "critical c*_3 (face)": float(pd.critical_strength),
        },
    )


def _scaling(size: str) -> tuple[dict, list[Check], dict]:
    out, checks, numbers = {}, [], {}
    for mu in progress((0.0, 0.3), desc="fast-slow: scaling laws"):
        tanh = numerics.activation_series("tanh", _K)
        problem = fs.FastSlowProblem(tanh, _teacher(mu), eps=1e-2)
        law = fs.scaling_law(problem)
        traj = fs.integrate(problem, 1e-3, 0.1, 1e9 if size == "quick" else 1e10)
        fit_m = fs.fit_power_law(traj.t, traj.m, 1e6, 1e9)
        fit_a = fs.fit_power_law(traj.t, traj.a, 1e6, 1e9)
        out[mu] = (traj, law, fit_m, fit_a)
        checks += [
            Check.close_to(
                f"c*_3={mu}: fitted exponent of m(t) vs {law.regime} law",
                float(fit_m.exponent),
                float(law.exponent_m),
                0.01,
            ),
            Check.close_to(
                f"c*_3={mu}: fitted exponent of a(t) vs {law.regime} law",
                float(fit_a.exponent),
                float(law.exponent_a),
                0.01,
            ),
        ]
        numbers[f"exponent m fitted (c*_3={mu})"] = float(fit_m.exponent)
        numbers[f"exponent m predicted (c*_3={mu})"] = float(law.exponent_m)
    return out, checks, numbers


def _plot_ode(res: dict, out_dir: Path) -> Path:
    fig, axes = new_figure(2)
    for i, (a0, (sgd, ode)) in enumerate(res.items()):
        col = PALETTE[i % len(PALETTE)]
        for ax, var in zip(axes[0], ("m", "a"), strict=True):
            ode.plot(ax=ax, variables=(var,), label=f"ODE, a0={a0:g}", color=col)
            sgd.plot(ax=ax, variables=(var,), label=f"SGD, a0={a0:g}", color=col)
    axes[0, 0].set_title("fast variable", fontsize="medium")
    axes[0, 1].set_title("slow variable", fontsize="medium")
    axes[0, 1].get_legend().remove()
    return save_figure(fig, out_dir, "ode_vs_sgd")


def _plot_phase(pd: fs.PhaseDiagram, out_dir: Path) -> Path:
    fig, axes = new_figure(1, width=5.0, height=4.0)
    pd.plot(ax=axes[0, 0])
    axes[0, 0].set_title(
        "unlearning: simulated drop (ODE, t=300), predicted boundary", fontsize="medium"
    )
    return save_figure(fig, out_dir, "phase_diagram")


def _plot_scaling(res: dict, out_dir: Path) -> Path:
    fig, axes = new_figure(1)
    ax = axes[0, 0]
    for i, (mu, (traj, law, fit_m, _)) in enumerate(res.items()):
        col = PALETTE[i % len(PALETTE)]
        t = np.asarray(traj.t)[1:]
        plot_curve(ax, t, np.asarray(traj.m)[1:], label=f"m(t), c*_3={mu}", color=col)
        law.plot(
            ax=ax,
            t=t,
            color="0.2",
            linestyle=":",
            label=f"fit {float(fit_m.exponent):.3f}",
        )
    finish_axes(
        ax,
        xlabel="time t",
        ylabel="alignment m",
        title="scaling laws of unlearning",
        logx=True,
        logy=True,
    )
    ax.set_ylim(1e-3, 2)
    return save_figure(fig, out_dir, "scaling_laws")


def run(
    *, size: Literal["quick", "full"], key: jax.Array, out_dir: Path
) -> Reproduction:
    """Run the fast-slow reproduction (see the module docstring)."""
    ode_res, ode_checks, ode_numbers = _ode_vs_sgd(key, size)
    pd, pd_checks, pd_numbers = _phase(size)
    sc_res, sc_checks, sc_numbers = _scaling(size)
    figures = (
        str(_plot_ode(ode_res, out_dir)),
        str(_plot_phase(pd, out_dir)),
        str(_plot_scaling(sc_res, out_dir)),
    )
    return Reproduction(
        name="fast-slow",
        title="Feature learning vs unlearning: fast-slow ODEs of a two-layer network",
        figures=figures,
        checks=(*ode_checks, *pd_checks, *sc_checks),
        numbers={**ode_numbers, **pd_numbers, **sc_numbers},
        summary=(
            "tanh student, teacher He_1 + c*_3 He_3. (1) The 2-D ODE against "
            "projected large-batch SGD (lr_w=0.05, lr_a=0.005, float32) for "
            "a0 = 1 and 3. (2) predict_unlearning on a (c*_3, a0) grid against "
            "the drop of the RK4-integrated ODE at t = 300 (eps = 0.1). (3) "
            "LSODA to t = 1e9 (eps = 0.01, a0 = 0.1): log-log slopes on "
            "[1e6, 1e9] against the closed-form exponents."
        ),
    )
