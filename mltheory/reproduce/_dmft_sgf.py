"""Reproduction ``dmft-sgf``: the SGF-DMFT against simulated SGF.

Three panels, after Nishiyama & Imaizumi (arXiv:2602.06320):

1. Linear regression, delta in {0.5, 2}, tau in {0, 0.5, 1}: the deterministic
   DMFT (the second-moment recursion) against the mean of simulated SGF runs
   at finite d; at tau = 0 also the Marchenko–Pastur formula, and the Monte
   Carlo solver at one setting.
2. Logistic regression with a sign teacher, delta = 2, tau in {0, 1}: the
   Monte Carlo DMFT against simulated SGF (noise acts as a regulariser), and
   at tau = 1 against mini-batch SGD with batches drawn with replacement
   (B = 1 and B = 8; lr = tau B), the SGD that SGF models. Contrast:
   epoch-reshuffled SGD (B = 8) on the same data, whose noise cancels within
   an epoch, ends the first epoch (t = delta tau = 2) with a train loss
   clearly below with-replacement SGD and the DMFT.
3. The online limit: the sup-norm gap between the DMFT at growing delta and
   the online-SGD ODEs shrinks like 1/delta.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import jax
import numpy as np

from mltheory._src._progress import progress
from mltheory.dynamics import dmft
from mltheory.numerics import TimeGrid
from mltheory.reproduce._plotting import (
    PALETTE,
    finish_axes,
    loglog_fit,
    new_figure,
    plot_curve,
    save_figure,
)
from mltheory.reproduce._types import Check, Reproduction

__all__ = ["run"]

_SIGMA = 0.5


def _stats(x: Any) -> tuple[np.ndarray, np.ndarray]:
    arr = np.asarray(x)
    return arr.mean(0), arr.std(0) / np.sqrt(arr.shape[0])


def _curve_check(
    label: str, name: str, theory: np.ndarray, mean: np.ndarray, se: np.ndarray
) -> Check:
    """The worst time's gap as a fraction of its allowed band (at most 1).

    The band at time t is 5 % of the initial loss (the issue's tolerance: the
    finite-d bias at this d; the DMFT is exact as d -> infinity) plus 4
    standard errors of the seed mean at t (the simulation's own spread).
    """
    band = 0.05 * float(theory[0]) + 4 * np.asarray(se)
    ratio = float(np.max(np.abs(theory - mean) / band))
    return Check.at_most(
        f"{label}: sup_t |DMFT - simulation| / (5 % L0 + 4 SE_t), {name} loss",
        ratio,
        1.0,
    )


def _linear(key: jax.Array, size: str) -> tuple[dict[str, Any], list[Check]]:
    d, seeds = (400, 4) if size == "quick" else (1000, 8)
    grid = TimeGrid(4.0, 40)
    every = 4
    model = dmft.glm("square", noise_std=_SIGMA)
    panels, checks = {}, []
    settings = [(dl, tau) for dl in (0.5, 2.0) for tau in (0.0, 0.5, 1.0)]
    for i, (delta, tau) in enumerate(progress(settings, desc="linear regression")):
        theory = dmft.linear_regression_dmft(
            delta=delta, tau=tau, sigma=_SIGMA, grid=grid
        )
        sim = dmft.simulate(
            model,
            delta=delta,
            tau=tau,
            grid=grid,
            d=d,
            key=jax.random.fold_in(key, i),
            n_seeds=seeds,
            record_every=every,
        )
        tr_mean, tr_se = _stats(sim.train_loss)
        te_mean, te_se = _stats(sim.test_loss)
        th_tr = np.asarray(theory.train_loss[::every])
        th_te = np.asarray(theory.test_loss[::every])
        panels[(delta, tau)] = (theory, sim)
        checks.append(
            _curve_check(
                f"linear delta={delta} tau={tau}", "test", th_te, te_mean, te_se
            )
        )
        if tau == 0.0:
            checks.append(
                _curve_check(
                    f"linear delta={delta} tau=0", "train", th_tr, tr_mean, tr_se
                )
            )
            train_mp, test_mp = dmft.linear_regression_mp(
                delta=delta, sigma=_SIGMA, ts=np.asarray(theory.ts), dt=grid.dt
            )
            gap = max(
                np.abs(train_mp - np.asarray(theory.train_loss)).max(),
                np.abs(test_mp - np.asarray(theory.test_loss)).max(),
            )
            checks.append(
                Check.at_most(
                    f"linear delta={delta} tau=0: DMFT vs MP quadrature (max abs)",
                    gap,
                    1e-8,
                )
            )
    if size == "quick":  # one compilation less; the unit tests cover it
        return {"panels": panels, "mc_gap": float("nan")}, checks
    # The Monte Carlo solver against the deterministic recursion.
    n_mc = 10_000
    mc = dmft.solve_dmft(
        model,
        delta=2.0,
        tau=0.5,
        grid=grid,
        key=key,
        config=dmft.DMFTConfig(n_samples=n_mc),
    )
    exact = dmft.linear_regression_dmft(delta=2.0, tau=0.5, sigma=_SIGMA, grid=grid)
    gap = np.max(np.abs(np.asarray(mc.test_loss - exact.test_loss))) / 0.625
    checks.append(
        Check.at_most(
            "Monte Carlo DMFT vs recursion, test loss (frac. of L0)", gap, 0.05
        )
    )
    return {"panels": panels, "mc_gap": gap}, checks


def _logistic(key: jax.Array, size: str) -> tuple[dict[Any, Any], list[Check]]:
    # d is a multiple of 80 so that a grid step (0.1) is a whole number of SGD
    # steps (lr / d time units each) at B = 8, lr = 8.
    d, seeds = (400, 4) if size == "quick" else (1200, 8)
    n_mc = 4000 if size == "quick" else 10_000
    grid = TimeGrid(5.0, 50)
    every = 5
    model = dmft.glm("logistic", teacher="sign", noise_std=0.1, ridge=0.01)
    out: dict[Any, Any] = {}
    checks: list[Check] = []
    for i, tau in enumerate(progress((0.0, 1.0), desc="logistic regression")):
        res = dmft.solve_dmft(
            model,
            delta=2.0,
            tau=tau,
            grid=grid,
            key=key,
            config=dmft.DMFTConfig(n_samples=n_mc),
        )
        sim = dmft.simulate(
            model,
            delta=2.0,
            tau=tau,
            grid=grid,
            d=d,
            key=jax.random.fold_in(key, 100 + i),
            n_seeds=seeds,
            record_every=every,
        )
        tr_mean, tr_se = _stats(sim.train_loss)
        te_mean, te_se = _stats(sim.test_loss)
        th_tr = np.asarray(res.train_loss[::every])
        th_te = np.asarray(res.test_loss[::every])
        out[tau] = (res, sim, th_tr)
        for name, th, mean, se in (
            ("train", th_tr, tr_mean, tr_se),
            ("test", th_te, te_mean, te_se),
        ):
            checks.append(_curve_check(f"logistic tau={tau}", name, th, mean, se))
        if tau > 0:
            sgd, sgd_checks = _logistic_sgd(
                model, tau, grid, d, seeds, every, th_tr, th_te, key, i
            )
            out["sgd"] = sgd
            checks += sgd_checks
    # Noise as a regulariser: the final train loss is higher at tau = 1.
    checks.append(
        Check.at_least(
            "logistic: train loss at T, tau=1 minus tau=0 (DMFT)",
            out[1.0][2][-1] - out[0.0][2][-1],
            0.0,
        )
    )
    return out, checks


def _logistic_sgd(
    model: Any,
    tau: float,
    grid: TimeGrid,
    d: int,
    seeds: int,
    every: int,
    th_tr: np.ndarray,
    th_te: np.ndarray,
    key: jax.Array,
    i: int,
) -> tuple[dict[str, Any], list[Check]]:
    """Mini-batch SGD at temperature tau against the DMFT, by sampling.

    With replacement (what SGF models) at B = 1 and 8, and epoch-reshuffled
    SGD (B = 8) as a contrast.

    Every run uses the same key, so the same data, teacher and initialisation
    as each other: the reshuffled-minus-with-replacement difference is paired.
    """
    runs: dict[str, tuple[int, Literal["with_replacement", "epoch_shuffle"]]] = {
        "B=1, with replacement": (1, "with_replacement"),
        "B=8, with replacement": (8, "with_replacement"),
        "B=8, reshuffled": (8, "epoch_shuffle"),
    }
    sims, checks = {}, []
    for label, (batch, sampling) in progress(runs.items(), desc="logistic SGD"):
        sims[label] = dmft.simulate(
            model,
            delta=2.0,
            tau=tau,
            grid=grid,
            d=d,
            key=jax.random.fold_in(key, 200 + i),
            n_seeds=seeds,
            algorithm="sgd",
            batch_size=batch,
            sampling=sampling,
            record_every=every,
        )
    for label in ("B=1, with replacement", "B=8, with replacement"):
        sim = sims[label]
        for name, th, curve in (
            ("train", th_tr, sim.train_loss),
            ("test", th_te, sim.test_loss),
        ):
            mean, se = _stats(curve)
            checks.append(
                _curve_check(f"logistic tau={tau}: SGD {label}", name, th, mean, se)
            )
    # The contrast, at the end of the first epoch (t = delta * tau).
    k = round(2.0 * tau / (grid.dt * every))
    shuffled = np.asarray(sims["B=8, reshuffled"].train_loss)[:, k]
    replaced = np.asarray(sims["B=8, with replacement"].train_loss)[:, k]
    diff = shuffled - replaced
    z = float(diff.mean() / (diff.std(ddof=1) / np.sqrt(diff.size)))
    checks.append(
        Check.at_most(
            f"logistic tau={tau}: reshuffled minus with-replacement SGD (B=8, same "
            "data), train loss after one epoch, in standard errors",
            z,
            -4.0,
        )
    )
    gaps = {
        label: float((np.asarray(sim.train_loss)[:, k].mean() - th_tr[k]) / th_tr[0])
        for label, sim in sims.items()
    }
    return {"sims": sims, "gaps": gaps, "t_epoch": 2.0 * tau, "z": z}, checks


def _online(size: str) -> tuple[dict[str, Any], list[Check]]:
    grid = TimeGrid(4.0, 40)
    tau = 0.5
    model = dmft.glm("square", noise_std=_SIGMA)
    online = dmft.online_limit(model, tau=tau, grid=grid, n_samples=10**6)
    deltas = (
        [4.0, 16.0, 64.0, 256.0]
        if size == "quick"
        else [4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0]
    )
    gaps, curves = [], {}
    for delta in deltas:
        res = dmft.linear_regression_dmft(delta=delta, tau=tau, sigma=_SIGMA, grid=grid)
        curves[delta] = np.asarray(res.test_loss)
        gaps.append(float(np.abs(np.asarray(res.test_loss - online.test_loss)).max()))
    slope, _ = loglog_fit(deltas, gaps)
    checks = [
        Check.at_least(
            "online limit: gap decreases monotonically in delta (1 = yes)",
            float(np.all(np.diff(gaps) < 0)),
            1.0,
        ),
        Check.close_to(
            "online limit: log-log slope of the gap in delta", slope, -1.0, 0.25
        ),
    ]
    return {
        "ts": np.asarray(grid.ts),
        "online": np.asarray(online.test_loss),
        "curves": curves,
        "deltas": deltas,
        "gaps": gaps,
        "slope": slope,
    }, checks


def _plot_pair(ax: Any, theory: Any, sim: Any, title: str) -> None:
    """DMFT lines (with SE bands where Monte Carlo) and the seed mean +- SE."""
    theory.plot(ax=ax, label="DMFT")
    sim.plot(ax=ax, average=True, label="SGF")
    ax.set_title(title, fontsize=9)


def _plot_linear(res: dict[str, Any], out_dir: Path) -> Path:
    fig, axes = new_figure(3, 2, width=3.4, height=2.8)
    for (delta, tau), (theory, sim) in res["panels"].items():
        ax = axes[0 if delta < 1 else 1, [0.0, 0.5, 1.0].index(tau)]
        _plot_pair(ax, theory, sim, f"delta={delta}, tau={tau}")
        if ax is not axes[0, 0]:
            ax.get_legend().remove()
    return save_figure(fig, out_dir, "dmft_sgf_linear")


def _plot_logistic(res: dict[Any, Any], out_dir: Path) -> Path:
    fig, axes = new_figure(3, 1)
    for j, tau in enumerate((0.0, 1.0)):
        theory, sim, _ = res[tau]
        _plot_pair(axes[0, j], theory, sim, f"logistic, delta=2, tau={tau}")
    axes[0, 1].get_legend().remove()
    # Train loss at tau = 1: the DMFT against SGD with each sampling.
    ax = axes[0, 2]
    res[1.0][0].plot(ax=ax, losses=("train",), label="DMFT", color="0.2")
    colours = dict(
        zip(res["sgd"]["sims"], (PALETTE[0], PALETTE[2], PALETTE[1]), strict=True)
    )
    for label, sim in res["sgd"]["sims"].items():
        sim.plot(
            ax=ax,
            losses=("train",),
            average=True,
            label=f"SGD {label}",
            color=colours[label],
        )
    ax.axvline(res["sgd"]["t_epoch"], color="0.6", linewidth=0.8, linestyle=":")
    ax.set_title("logistic, tau=1: SGD sampling (dotted: one epoch)", fontsize=9)
    return save_figure(fig, out_dir, "dmft_sgf_logistic")


def _plot_online(res: dict[str, Any], out_dir: Path) -> Path:
    fig, axes = new_figure(2, 1)
    ax = axes[0, 0]
    for delta, curve in res["curves"].items():
        plot_curve(ax, res["ts"], curve, label=f"DMFT, delta={delta:g}")
    plot_curve(
        ax, res["ts"], res["online"], label="online limit", color="0.2", linestyle="--"
    )
    finish_axes(ax, xlabel="time t [SGF units]", ylabel="test loss")
    ax = axes[0, 1]
    deltas, gaps = np.asarray(res["deltas"]), np.asarray(res["gaps"])
    plot_curve(ax, deltas, gaps, kind="simulation", label="sup_t gap")
    plot_curve(
        ax,
        deltas,
        gaps[0] * deltas[0] / deltas,
        label="rate 1/delta",
        color="0.4",
        linestyle=":",
    )
    finish_axes(
        ax,
        xlabel="aspect ratio delta",
        ylabel="sup gap to online limit",
        title=f"fitted slope {res['slope']:.2f}",
        logx=True,
        logy=True,
    )
    return save_figure(fig, out_dir, "dmft_sgf_online")


def run(
    *, size: Literal["quick", "full"], key: jax.Array, out_dir: Path
) -> Reproduction:
    """Run the dmft-sgf reproduction (see the module docstring)."""
    k1, k2 = jax.random.split(key)
    lin, lin_checks = _linear(k1, size)
    logi, log_checks = _logistic(k2, size)
    onl, onl_checks = _online(size)
    figures = (
        str(_plot_linear(lin, out_dir)),
        str(_plot_logistic(logi, out_dir)),
        str(_plot_online(onl, out_dir)),
    )
    numbers = {
        "online-limit gap slope": onl["slope"],
        "MC vs recursion gap (frac. of L0)": float(lin["mc_gap"]),
        "logistic final test loss tau=0": float(logi[0.0][0].test_loss[-1]),
        "logistic final test loss tau=1": float(logi[1.0][0].test_loss[-1]),
        **{
            f"logistic tau=1, SGD {label}: (train loss - DMFT) / L0 after one epoch": (
                gap
            )
            for label, gap in logi["sgd"]["gaps"].items()
        },
    }
    return Reproduction(
        name="dmft-sgf",
        title="DMFT of stochastic gradient flow on GLMs",
        figures=figures,
        checks=(*lin_checks, *log_checks, *onl_checks),
        numbers=numbers,
        summary=(
            "Linear regression (sigma=0.5, theta*~N(0,1), theta0=0, T=4, dt=0.1): "
            "deterministic SGF-DMFT vs the seed mean of Euler-Maruyama SGF at finite "
            "d, for delta in {0.5, 2} and tau in {0, 0.5, 1}; at tau=0 also the "
            "Marchenko-Pastur quadrature. Logistic regression with a sign teacher "
            "(noise 0.1, ridge 0.01, delta=2, T=5): Monte Carlo DMFT vs SGF, and at "
            "tau=1 vs mini-batch SGD with batches drawn with replacement (B=1 and "
            "B=8, lr=tau*B), the SGD that SGF models; epoch-reshuffled SGD (B=8), "
            "whose noise cancels within an epoch, is the contrast and ends the "
            "first epoch below the DMFT. The DMFT at delta from 4 to 256 "
            "approaches the online-SGD ODEs like 1/delta."
        ),
    )
