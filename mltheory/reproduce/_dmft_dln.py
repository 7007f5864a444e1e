r"""Reproduction ``dmft-dln``: diagonal linear networks by DMFT.

After Nishiyama & Imaizumi, "Precise Dynamics of Diagonal Linear Networks: A
Unifying Analysis by Dynamical Mean-Field Theory" (arXiv:2510.01930). The model
is the library's ``dln(parametrization="uv", v0="zero")`` (the paper's
:math:`\frac12(u^2 - v^2)` network at scale :math:`\alpha/\sqrt2`), gradient
flow, the exponential step on every grid. Four panels:

1. **Lazy vs rich** (delta = 0.5, sparse teacher Bernoulli(0.1) x N(0, 1)):
   DMFT test-loss curves against the seed mean of the finite-d network on the
   same grid, for alpha in {0.01, 0.1, 1, 3}; each alpha on its own
   non-uniform grid (geometric first steps, then capped at the stability
   limit of its regime).
2. **Incremental learning** (delta = 10, teacher values 3 and 1.5 on 10 % of
   the coordinates each, alpha = 0.01): the DMFT's per-value paths and test
   loss (two plateaus); the half-way times against ``dln_escape_times``.
3. **Implicit bias** (delta = 0.5, sparse +-1 teacher, 5 % of each sign): the
   DMFT test loss at the end of a long run (T up to 40, alpha down to 1e-3)
   against the test error of the hyperbolic-entropy interpolator
   (``dln_implicit_bias_solution``) at finite d, between the min-l2 value
   (1 - delta) rho / 2 and the min-l1 value (0 here: basis pursuit recovers
   the teacher).
4. **Trade-off** (panel 1's runs): the tail rate of the train loss rises with
   alpha and so does the final test loss.

Sizes: ``quick`` N = 4000 DMFT samples, K = 200 steps, d = 400 (2 seeds) for
the networks and d = 400 (2 draws) for the convex solve; ``full`` N = 20000,
K = 300, d = 1000 (8 seeds) and d = 1000 (4 draws), as in the issue. The
grids, their largest steps and the horizon of every run are in the report.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import jax
import numpy as np
from scipy.optimize import brentq

from mltheory._src._progress import progress
from mltheory.dynamics import dmft
from mltheory.reproduce._plotting import (
    finish_axes,
    new_figure,
    plot_curve,
    plot_reference,
    save_figure,
)
from mltheory.reproduce._types import Check, Reproduction

__all__ = ["SIZES", "rich_grid", "run"]

SIZES: dict[str, dict[str, int]] = {
    "quick": {"n_samples": 4000, "n_steps": 200, "d": 400, "seeds": 2, "draws": 2},
    "full": {"n_samples": 20_000, "n_steps": 300, "d": 1000, "seeds": 8, "draws": 4},
}

# (alpha, horizon, first step, largest step) of panel 1. The largest step is
# below the stability limit 2 / (phi_max lambda_max) of each regime: lazy
# alpha = 3 has phi ~ alpha^2 on every coordinate (step 0.015); for alpha <= 1
# steps up to 0.2 were measured stable on the finite-d network.
_LAZY_RICH = (
    (3.0, 2.0, 0.002, 0.015),
    (1.0, 8.0, 0.01, 0.1),
    (0.1, 24.0, 0.02, 0.2),
    (0.01, 36.0, 0.02, 0.2),
)
# Panel 3: alpha, horizon (``full``; ``quick`` stops at 90 % of K times the
# step cap) and step cap.
_BIAS = (
    (3.0, 2.0, 0.015),
    (1.0, 10.0, 0.1),
    (0.3, 20.0, 0.2),
    (0.1, 50.0, 0.2),
    (0.01, 50.0, 0.2),
    (1e-3, 50.0, 0.2),
)
_SPARSE_PM = {-1.0: 0.05, 0.0: 0.9, 1.0: 0.05}
_TWO_LEVELS = {0.0: 0.8, 1.5: 0.1, 3.0: 0.1}
_DELTA = 0.5


def geometric_grid(t_max: float, n_steps: int, first: float, cap: float) -> np.ndarray:
    """Times 0..t_max: steps growing geometrically from ``first``, capped at ``cap``.

    The growth ratio is the one that makes the ``n_steps`` steps sum to
    ``t_max`` (uniform steps when even those exceed ``first``).
    """
    if t_max / n_steps > cap:
        raise ValueError(
            f"t_max / n_steps = {t_max / n_steps:.3g} exceeds the step cap {cap}."
        )

    def total(r: float) -> float:
        return float(np.minimum(first * r ** np.arange(n_steps), cap).sum())

    ratio = (
        1.0 if total(1.0) >= t_max else brentq(lambda r: total(r) - t_max, 1.0, 10.0)
    )
    steps = np.minimum(first * ratio ** np.arange(n_steps), cap)
    steps *= t_max / steps.sum()
    return np.r_[0.0, np.cumsum(steps)]


def _bias_grid(t_max: float, cap: float, size: str) -> np.ndarray:
    n_steps = SIZES[size]["n_steps"]
    return geometric_grid(min(t_max, 0.9 * n_steps * cap), n_steps, min(0.02, cap), cap)


def rich_grid(size: str) -> np.ndarray:
    """The grid of the reproduction's largest setting (alpha = 1e-3, longest T)."""
    _, t_max, cap = _BIAS[-1]
    return _bias_grid(t_max, cap, size)


def _config(size: str) -> dmft.DMFTConfig:
    return dmft.DMFTConfig(n_samples=SIZES[size]["n_samples"])


def _curve_ratio(theory: Any, sim: Any) -> float:
    """sup_t |DMFT - simulation| / band_t, band = 4 combined SE + 3 % of L0.

    The standard errors are the DMFT's batch-means SE and the seed spread of
    the network; 3 % of the initial loss allows the finite-d bias at these d
    and the Monte Carlo bias of the kernels (the DMFT is exact as d, N grow).
    """
    mean = np.asarray(sim.test_loss).mean(0)
    se_sim = np.asarray(sim.test_loss).std(0) / math.sqrt(sim.test_loss.shape[0])
    se = np.sqrt(se_sim**2 + np.asarray(theory.test_loss_se) ** 2)
    band = 4 * se + 0.03 * float(np.asarray(theory.test_loss)[0])
    return float(np.max(np.abs(np.asarray(theory.test_loss) - mean) / band))


def _tail_window(res: Any) -> tuple[float, float]:
    """Times where the train loss falls from 10 % to 0.1 % of its start."""
    ts, loss = np.asarray(res.ts), np.asarray(res.train_loss)
    start = int(np.argmax(loss < 0.1 * loss[0]))
    below = loss < 1e-3 * loss[0]
    end = int(np.argmax(below)) if below.any() else len(ts) - 1
    return float(ts[start]), float(ts[max(end, start + 2)])


def _lazy_rich(key: jax.Array, size: str) -> tuple[dict[str, Any], list[Check]]:
    sz = SIZES[size]
    out: dict[float, Any] = {}
    checks: list[Check] = []
    for i, (alpha, t_max, first, cap) in enumerate(
        progress(_LAZY_RICH, desc="lazy vs rich")
    ):
        ts = geometric_grid(t_max, sz["n_steps"], first, cap)
        model = dmft.dln(alpha=alpha)
        theory = dmft.solve_dmft(
            model, delta=_DELTA, grid=ts, key=key, config=_config(size)
        )
        sim = dmft.simulate_dln(
            model,
            delta=_DELTA,
            grid=ts,
            d=sz["d"],
            key=jax.random.fold_in(key, 10 + i),
            n_seeds=sz["seeds"],
        )
        out[alpha] = (theory, sim, ts)
        checks.append(
            Check.at_most(
                f"lazy/rich alpha={alpha:g}: sup_t |DMFT - network| test loss / "
                "(4 SE + 3 % L0)",
                _curve_ratio(theory, sim),
                1.0,
            )
        )
    # Trade-off (panel 4): the tail rate and the final test loss rise with alpha.
    alphas = sorted(out)
    rates = []
    for a in alphas:
        t_min, t_max = _tail_window(out[a][0])
        rates.append(dmft.tail_rate(out[a][0], t_min=t_min, t_max=t_max))
    finals = [float(out[a][0].test_loss[-1]) for a in alphas]
    checks += [
        Check.at_least(
            "trade-off: tail rate increases with alpha (1 = monotone)",
            float(np.all(np.diff(rates) > 0)),
            1.0,
        ),
        Check.at_least(
            "trade-off: final test loss increases with alpha (1 = monotone)",
            float(np.all(np.diff(finals) > 0)),
            1.0,
        ),
    ]
    return {"runs": out, "alphas": alphas, "rates": rates, "finals": finals}, checks


def _incremental(key: jax.Array, size: str) -> tuple[dict[str, Any], list[Check]]:
    sz = SIZES[size]
    alpha, delta = 0.01, 10.0
    model = dmft.dln(alpha=alpha, prior=_TWO_LEVELS)
    ts = np.linspace(0.0, 6.0, sz["n_steps"] + 1)
    res = dmft.solve_dmft(model, delta=delta, grid=ts, key=key, config=_config(size))
    paths = dmft.dln_coefficient_paths(
        res, model, [3.0, 1.5, 0.0], key=jax.random.fold_in(key, 1), n_samples=2000
    )
    sim = dmft.simulate_dln(
        model,
        delta=delta,
        grid=ts,
        d=max(100, sz["d"] // 4),
        key=jax.random.fold_in(key, 2),
        n_seeds=sz["seeds"],
    )
    got = paths.crossing_times(0.5)[:2]
    want = dmft.dln_escape_times([3.0, 1.5], alpha=alpha)
    loss = np.asarray(res.test_loss)
    mid = int(np.argmin(np.abs(ts - got.mean())))
    plateau = 0.5 * 0.1 * 1.5**2
    checks = [
        Check.at_most(
            f"incremental: |t_half - heuristic| / heuristic, beta*={b:g}",
            abs(g - w) / w,
            0.2,
        )
        for b, g, w in zip((3.0, 1.5), got, want, strict=True)
    ]
    checks += [
        Check.at_most(
            "incremental: mid-plateau test loss vs 0.1*1.5^2/2 (relative gap)",
            abs(loss[mid] - plateau) / plateau,
            0.25,
        ),
        Check.at_most(
            "incremental: sup_t |DMFT - network| test loss / (4 SE + 3 % L0)",
            _curve_ratio(res, sim),
            1.0,
        ),
    ]
    return {
        "res": res,
        "paths": paths,
        "sim": sim,
        "got": got,
        "want": want,
        "plateau": plateau,
    }, checks


def _bias_reference(alpha: float, size: str, seed0: int) -> tuple[float, float]:
    """Mean and SE over draws of the test error of the implicit-bias interpolator."""
    sz = SIZES[size]
    d = sz["d"]
    n = round(_DELTA * d)
    errs = []
    for s in range(sz["draws"]):
        rng = np.random.default_rng(seed0 + s)
        X = rng.standard_normal((n, d)) / np.sqrt(d)
        n_on = round(0.05 * d)
        star = rng.permutation(
            np.r_[np.ones(n_on), -np.ones(n_on), np.zeros(d - 2 * n_on)]
        )
        beta = dmft.dln_implicit_bias_solution(X, X @ star, alpha=alpha)
        errs.append(0.5 * np.mean((beta - star) ** 2))
    arr = np.asarray(errs)
    return float(arr.mean()), float(arr.std(ddof=1) / math.sqrt(len(arr)))


def _implicit_bias(key: jax.Array, size: str) -> tuple[dict[str, Any], list[Check]]:
    rho = 0.1
    l2_value = 0.5 * (1 - _DELTA) * rho
    rows = []
    checks: list[Check] = []
    for i, (alpha, t_max, cap) in enumerate(progress(_BIAS, desc="implicit bias")):
        ts = _bias_grid(t_max, cap, size)
        res = dmft.solve_dmft(
            dmft.dln(alpha=alpha, prior=_SPARSE_PM),
            delta=_DELTA,
            grid=ts,
            key=key,
            config=_config(size),
        )
        ref, ref_se = _bias_reference(alpha, size, 1000 * i)
        got, got_se = float(res.test_loss[-1]), float(res.test_loss_se[-1])
        rows.append((alpha, got, got_se, ref, ref_se))
        if alpha >= 0.3:
            # Converged runs: 4 combined SE plus 10 % (the finite-d bias of the
            # interpolator's error at these d and the run's distance from
            # t = infinity) plus 1e-4 (the Monte Carlo floor of the DMFT).
            tol = 4 * math.hypot(ref_se, got_se) + 0.1 * max(ref, got) + 1e-4
            checks.append(
                Check.at_most(
                    f"implicit bias alpha={alpha:g}: |DMFT L_test(T={ts[-1]:.3g}) - "
                    "convex solve| / (4 SE + 10 % + 1e-4)",
                    abs(got - ref) / tol,
                    1.0,
                )
            )
        else:
            # Small alpha: the last approach to the interpolator runs at a rate
            # ~ alpha^2 (the trade-off), so at the end of the run the loss is
            # still above its limit but already far below the min-l2 value.
            checks.append(
                Check.at_most(
                    f"implicit bias alpha={alpha:g}: DMFT L_test(T={ts[-1]:.3g}) / "
                    "min-l2 value (rich end: towards min-l1 = 0)",
                    got / l2_value,
                    0.2,
                )
            )
    ends = np.asarray([r[1] for r in rows])
    checks += [
        Check.at_least(
            "implicit bias: L_test(end) falls as alpha falls (1 = monotone)",
            float(np.all(np.diff(ends) < 0)),
            1.0,
        ),
        Check.close_to(
            "implicit bias: largest alpha at the min-l2 value (1 - delta) rho / 2",
            ends[0],
            l2_value,
            0.1 * l2_value,
        ),
        Check.at_most(
            "implicit bias: smallest alpha near the min-l1 value 0 (frac. of min-l2)",
            ends[-1] / l2_value,
            0.1,
        ),
    ]
    return {"rows": rows, "l2": l2_value}, checks


def _plot_lazy_rich(res: dict[str, Any], out_dir: Path) -> Path:
    fig, axes = new_figure(2, 1)
    ax = axes[0, 0]
    for alpha in res["alphas"]:
        theory, sim, ts = res["runs"][alpha]
        line = plot_curve(
            ax, ts, np.asarray(theory.test_loss), label=f"DMFT alpha={alpha:g}"
        )
        plot_curve(
            ax,
            ts,
            np.asarray(sim.test_loss).mean(0),
            kind="simulation",
            color=str(line.get_color()),
            markevery=max(1, len(ts) // 25),
        )
    finish_axes(
        ax,
        xlabel="time t",
        ylabel="test loss",
        logx=True,
        logy=True,
        title="lazy vs rich (markers: network)",
    )
    ax = axes[0, 1]
    ax.plot(res["alphas"], res["rates"], "o-", label="tail rate of the train loss")
    ax2 = ax.twinx()
    ax2.plot(res["alphas"], res["finals"], "s--", color="C1", label="final test loss")
    ax2.set_ylabel("final test loss")
    ax2.set_yscale("log")
    finish_axes(
        ax,
        xlabel="alpha",
        ylabel="tail rate",
        logx=True,
        title="trade-off",
        legend=False,
    )
    lines = ax.get_lines() + ax2.get_lines()
    ax.legend(lines, [ln.get_label() for ln in lines], fontsize=7, frameon=False)
    return save_figure(fig, out_dir, "dln_lazy_rich")


def _plot_incremental(res: dict[str, Any], out_dir: Path) -> Path:
    fig, axes = new_figure(2, 1)
    ts = np.asarray(res["res"].ts)
    ax = axes[0, 0]
    plot_curve(ax, ts, np.asarray(res["res"].test_loss), label="DMFT")
    plot_curve(
        ax,
        ts,
        np.asarray(res["sim"].test_loss).mean(0),
        kind="simulation",
        label="network",
        markevery=8,
    )
    plot_reference(ax, res["plateau"], axis="y", label="plateau 0.1*1.5^2/2")
    finish_axes(
        ax, xlabel="time t", ylabel="test loss", logy=True, title="incremental learning"
    )
    res["paths"].plot(ax=axes[0, 1])
    for t in res["want"]:
        plot_reference(axes[0, 1], t)
    return save_figure(fig, out_dir, "dln_incremental")


def _plot_bias(res: dict[str, Any], out_dir: Path) -> Path:
    fig, axes = new_figure(1, 1)
    ax = axes[0, 0]
    rows = np.asarray(res["rows"])
    ax.errorbar(
        rows[:, 0], rows[:, 1], yerr=2 * rows[:, 2], fmt="o-", label="DMFT, end of run"
    )
    ax.errorbar(
        rows[:, 0],
        rows[:, 3],
        yerr=2 * rows[:, 4],
        fmt="s",
        label="convex solve (finite d)",
    )
    plot_reference(ax, res["l2"], axis="y", label="min-l2 value")
    finish_axes(
        ax,
        xlabel="alpha",
        ylabel="test loss",
        logx=True,
        title="implicit bias (min-l1 value: 0)",
    )
    return save_figure(fig, out_dir, "dln_implicit_bias")


def run(
    *, size: Literal["quick", "full"], key: jax.Array, out_dir: Path
) -> Reproduction:
    """Run the dmft-dln reproduction (see the module docstring)."""
    k1, k2, k3 = jax.random.split(key, 3)
    lazy, lazy_checks = _lazy_rich(k1, size)
    inc, inc_checks = _incremental(k2, size)
    bias, bias_checks = _implicit_bias(k3, size)
    figures = (
        str(_plot_lazy_rich(lazy, out_dir)),
        str(_plot_incremental(inc, out_dir)),
        str(_plot_bias(bias, out_dir)),
    )
    numbers: dict[str, float] = {}
    for alpha, rate, final in zip(
        lazy["alphas"], lazy["rates"], lazy["finals"], strict=True
    ):
        numbers[f"tail rate alpha={alpha:g}"] = rate
        numbers[f"final test loss alpha={alpha:g}"] = final
    for b, g, w in zip((3.0, 1.5), inc["got"], inc["want"], strict=True):
        numbers[f"half-way time beta*={b:g} (DMFT / heuristic)"] = float(g / w)
    for alpha, got, _, ref, _ in bias["rows"]:
        numbers[f"L_test(end) alpha={alpha:g} DMFT"] = got
        numbers[f"L_test(inf) alpha={alpha:g} convex solve"] = ref
    rich = rich_grid(size)
    numbers["rich grid: steps K"] = float(len(rich) - 1)
    numbers["rich grid: horizon T"] = float(rich[-1])
    numbers["rich grid: first step"] = float(np.diff(rich)[0])
    numbers["rich grid: largest step"] = float(np.diff(rich).max())
    return Reproduction(
        name="dmft-dln",
        title=(
            "Diagonal linear networks by DMFT: lazy vs rich, incremental learning, "
            "implicit bias"
        ),
        figures=figures,
        checks=(*lazy_checks, *inc_checks, *bias_checks),
        numbers=numbers,
        summary=(
            "DLN beta = u v, u0 = alpha, v0 = 0 (the paper's (u^2 - v^2)/2 network "
            "at scale alpha/sqrt 2), gradient flow with the exponential step, DMFT "
            "with the closed-form sample side and the tangent response. Panel 1: "
            "delta = 0.5, Bernoulli(0.1) x N(0,1) teacher, DMFT vs the finite-d "
            "network on each alpha's non-uniform grid. Panel 2: delta = 10, "
            "teacher values 3 and 1.5, alpha = 0.01: two plateaus, half-way times "
            "vs the small-alpha heuristic. Panel 3: delta = 0.5, sparse +-1 "
            "teacher, the DMFT test loss after long runs vs the hyperbolic-entropy "
            "interpolator. Panel 4: tail rate and final test loss rise with alpha."
        ),
    )
