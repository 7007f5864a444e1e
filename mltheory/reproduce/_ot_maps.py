r"""Reproduction ``ot-maps``: OT maps between infinite-dimensional (functional) data.

Ponnoprat and Imaizumi (arXiv:2505.13570) show that OT maps between measures
on an infinite-dimensional space can be estimated at a polynomial rate when
the map is gamma-smooth. Four studies on synthetic measures with a known map:

E1. Closed forms (commuting Gaussians, :math:`\lambda_j = j^{-2}`,
    :math:`\kappa_j = \lambda_j(1 + 1/j)^2`, J = 200): the W2 formula, the
    truncation bias and the Monte Carlo error of the identity map.
E2. The truncated Gaussian (Bures-Wasserstein) estimator on Gaussian processes:
    its error falls polynomially in n at the best truncation D, and is
    U-shaped in D (bias of truncation against variance), never below the
    truncation bias.
E3. The gamma-sieve semi-dual estimator on non-Gaussian gamma-smooth data
    (uniform coordinates, sine map, anisotropic a_i = i^2): its error falls
    polynomially in n with the budget chosen by cross-validation, within 1.2x
    of the best fixed budget.
E4. Baselines on truncated coordinates (exact discrete OT with the 1-NN
    extension, the entropic map) against the Gaussian estimator at D = 32,
    n = 800: much worse, and worse as D grows.

Sizes: ``quick`` (about a minute on two cores) and ``full`` (the spec's:
E2 n in {100, ..., 1600} x 10 repetitions, E3 n in {250, 500, 1000, 2000} x
5 repetitions with 5-fold budget selection, E4 3 repetitions).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any, Literal

import jax
import numpy as np

from mltheory.reproduce._plotting import (
    PALETTE,
    finish_axes,
    loglog_fit,
    new_figure,
    plot_curve,
    plot_reference,
    save_figure,
)
from mltheory.reproduce._types import Check, Reproduction
from mltheory.stats import ot

__all__ = ["run"]

_TITLE = "Optimal transport maps between infinite-dimensional spaces"
# E3's displacement amplitude (convex for c <= 1): 0.9 keeps the map's signal
# (W2^2 = 0.063) above the two-sample noise (~4/n) from n = 128 on
_C = 0.9


def _seed(key: jax.Array) -> np.random.SeedSequence:
    return np.random.SeedSequence(np.asarray(jax.random.key_data(key)).tolist())


def _int_seed(seq: np.random.SeedSequence) -> int:
    return int(seq.generate_state(1)[0])


# --- E1: closed forms ---------------------------------------------------------------


def _closed_forms(seed: np.random.SeedSequence) -> tuple[dict[str, Any], list[Check]]:
    J = 200
    j = np.arange(1, J + 1, dtype=np.float64)
    lam = j**-2.0
    kap = lam * (1.0 + 1.0 / j) ** 2
    terms = lam * (np.sqrt(kap / lam) - 1.0) ** 2
    w2 = ot.gaussian_w2_squared(None, lam, None, kap)
    D = np.arange(0, 41)
    bias = ot.truncation_bias(lam, kap / lam, D)
    tails = np.array([terms[d:].sum() for d in D])
    A, _ = ot.gaussian_ot_map(
        np.zeros(8), np.diag(lam[:8]), np.zeros(8), np.diag(kap[:8])
    )
    pair = ot.datasets.make_gaussian_process_pair(
        20_000, n_coefficients=J, random_state=_int_seed(seed)
    )
    ident = ot.l2_map_error(lambda x: x, pair.transport, pair.X)
    checks = [
        Check.at_most(
            "W2^2 formula = sum_j lambda_j (sqrt(kappa_j/lambda_j) - 1)^2 (abs. diff.)",
            abs(w2 - terms.sum()),
            1e-10,
        ),
        Check.at_most(
            "truncation bias b(D) = tail sum, D = 0..40 (max abs. diff.)",
            float(np.max(np.abs(bias - tails))),
            1e-12,
        ),
        Check.at_most(
            "Gaussian map of commuting covariances = diag sqrt(kappa/lambda) (max err)",
            float(np.max(np.abs(np.asarray(A) - np.diag(np.sqrt(kap[:8] / lam[:8]))))),
            1e-10,
        ),
        # 20000 draws: relative sd of the mean squared displacement ~1%
        Check.within(
            "identity-map L2 error / W2^2 (Monte Carlo, 20000 draws)",
            ident / w2,
            0.97,
            1.03,
        ),
    ]
    return {"D": D, "bias": bias, "w2": w2, "ident": ident}, checks


# --- E2: the truncated Gaussian estimator -------------------------------------------


def _gaussian_study(
    seed: np.random.SeedSequence, size: str
) -> tuple[dict[str, Any], list[Check]]:
    ns = np.array([100, 200, 400, 800, 1600])
    reps = 3 if size == "quick" else 10
    Ds = np.array([1, 2, 4, 8, 16, 32, 64, 128])
    J = 200
    n_eval = 2000
    rng_seeds = seed.spawn(reps)
    err = np.zeros((reps, ns.size, Ds.size))
    n_auto = 1 if size == "quick" else 3
    auto = np.zeros((n_auto, ns.size))
    for r in range(reps):
        s = _int_seed(rng_seeds[r])
        Xe = ot.datasets.make_gaussian_process_pair(
            n_eval, n_coefficients=J, random_state=s + 1
        ).X
        for i, n in enumerate(ns):
            pair = ot.datasets.make_gaussian_process_pair(
                int(n), n_coefficients=J, random_state=s + 2 + i
            )
            truth = pair.transport(Xe)
            for k, D in enumerate(Ds):
                model = ot.GaussianOTMap(n_components=int(D)).fit(pair.X, pair.Y)
                err[r, i, k] = ot.l2_map_error(model, truth, Xe)
            if r < n_auto:
                chosen = ot.ProjectedOTMap(n_components="auto").fit(pair.X, pair.Y)
                auto[r, i] = ot.l2_map_error(chosen, truth, Xe)
    mean = err.mean(axis=0)
    se = err.std(axis=0, ddof=1) / math.sqrt(reps)
    best = mean.min(axis=1)
    slope, _ = loglog_fit(ns, best)
    j = np.arange(1, J + 1, dtype=np.float64)
    lam = j**-2.0
    bias = ot.truncation_bias(lam, (1.0 + 1.0 / j) ** 2, Ds)
    last = mean[-1]
    k_best = int(np.argmin(last))
    # b(D) is a lower bound on the mean error of every D-truncated map; allow
    # 4 standard errors of the Monte Carlo mean below it
    gap = float(np.max((bias - last) / np.maximum(4 * se[-1], 1e-12)))
    checks = [
        Check.at_most("E2: log-log slope of the best-D error in n", slope, -0.4),
        Check.at_least(
            "E2: U-shape at n=1600: error(D=1) / min_D error",
            last[0] / last[k_best],
            2.0,
        ),
        Check.at_least(
            "E2: U-shape at n=1600: error(D=128) / min_D error",
            last[-1] / last[k_best],
            1.1,
        ),
        Check.at_most(
            "E2: (b(D) - error(D)) / (4 s.e.) at n=1600, max over D (b bounds error)",
            gap,
            1.0,
        ),
    ]
    res = {
        "ns": ns,
        "Ds": Ds,
        "mean": mean,
        "se": se,
        "best": best,
        "slope": slope,
        "bias": bias,
        "auto": auto.mean(axis=0),
    }
    return res, checks


# --- E3: the gamma-sieve estimator ----------------------------------------------------


def _quiet_fit(model: Any, X: Any, Y: Any) -> tuple[Any, int]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, Y)
    return model, len(caught)


def _sieve_study(
    seed: np.random.SeedSequence, size: str
) -> tuple[dict[str, Any], list[Check]]:
    quick = size == "quick"
    ns = np.array([128, 256, 512]) if quick else np.array([250, 500, 1000, 2000])
    reps = 3 if quick else 5
    cv = 3 if quick else 5
    Ts = np.array([1.0, 2.0, 4.0]) if quick else np.array([1.0, 2.0, 4.0, 5.0])
    gamma = ot.GammaSmoothness(lambda i: float(i * i), kind="anisotropic", max_dim=32)
    seeds = seed.spawn(reps)
    err = np.zeros((reps, ns.size))
    chosen = np.zeros((reps, ns.size))
    fixed = np.zeros((reps, Ts.size))
    ident = np.zeros(reps)
    n_warn = 0
    violation = 0.0
    for r in range(reps):
        s = _int_seed(seeds[r])
        Xe = ot.datasets.make_gamma_smooth_pair(4000, c=_C, random_state=s + 1).X
        for i, n in enumerate(ns):
            pair = ot.datasets.make_gamma_smooth_pair(
                int(n), c=_C, random_state=s + 2 + i
            )
            truth = pair.transport(Xe)
            model, w = _quiet_fit(
                ot.GammaSieveOTMap(gamma, cv=cv, random_state=r), pair.X, pair.Y
            )
            n_warn += w
            violation = max(violation, model.convexity_violation_)
            err[r, i] = ot.l2_map_error(model, truth, Xe)
            chosen[r, i] = model.T_
            if i == ns.size - 1:
                ident[r] = ot.l2_map_error(lambda x: x, truth, Xe)
                for t, T in enumerate(Ts):
                    if float(T) == model.T_:  # the final fit of the CV is this one
                        fixed[r, t] = err[r, i]
                        continue
                    fm, w = _quiet_fit(
                        ot.GammaSieveOTMap(gamma, T=float(T)), pair.X, pair.Y
                    )
                    n_warn += w
                    fixed[r, t] = ot.l2_map_error(fm, truth, Xe)
    mean = err.mean(axis=0)
    slope, _ = loglog_fit(ns, mean)
    ratio = float(err[:, -1].mean() / fixed.mean(axis=0).min())
    checks = [
        Check.at_most(
            "E3: log-log slope of the gamma-sieve error in n (T auto)", slope, -0.3
        ),
        Check.at_most(
            f"E3: error with T auto / best fixed T at n={ns[-1]}", ratio, 1.2
        ),
        Check.at_most(
            f"E3: gamma-sieve error / identity-map error at n={ns[-1]}",
            err[:, -1].mean() / ident.mean(),
            0.6,
        ),
        Check.at_most(
            "E3: largest convexity violation of the fitted potentials", violation, 1e-6
        ),
    ]
    res = {
        "ns": ns,
        "mean": mean,
        "err": err,
        "chosen": chosen,
        "Ts": Ts,
        "fixed": fixed.mean(axis=0),
        "ident": ident.mean(),
        "slope": slope,
        "warnings": n_warn,
        "rate": ot.rate(ns, gamma),
    }
    return res, checks


# --- E4: baselines against the truncation dimension ----------------------------------


def _baseline_study(
    seed: np.random.SeedSequence, size: str
) -> tuple[dict[str, Any], list[Check]]:
    n = 800
    reps = 1 if size == "quick" else 3
    Ds = np.array([2, 8, 32])
    seeds = seed.spawn(reps)
    names = ("emd + 1-NN", "entropic", "Gaussian")
    err = np.zeros((reps, len(names), Ds.size))
    for r in range(reps):
        s = _int_seed(seeds[r])
        pair = ot.datasets.make_gaussian_process_pair(
            n, n_coefficients=200, random_state=s
        )
        Xe = ot.datasets.make_gaussian_process_pair(
            2000, n_coefficients=200, random_state=s + 1
        ).X
        truth = pair.transport(Xe)
        for k, D in enumerate(Ds):
            models = (
                ot.ProjectedOTMap(int(D), inner="emd"),
                ot.ProjectedOTMap(int(D), inner="entropic"),
                ot.GaussianOTMap(n_components=int(D)),
            )
            for a, model in enumerate(models):
                model, _ = _quiet_fit(model, pair.X, pair.Y)
                err[r, a, k] = ot.l2_map_error(model, truth, Xe)
    mean = err.mean(axis=0)
    checks = [
        Check.at_least(
            "E4: EMD + 1-NN error / Gaussian error at D=32, n=800",
            mean[0, -1] / mean[2, -1],
            5.0,
        ),
        Check.at_least(
            "E4: entropic-map error / Gaussian error at D=32, n=800",
            mean[1, -1] / mean[2, -1],
            5.0,
        ),
        Check.at_least(
            "E4: EMD + 1-NN error(D=32) - error(D=8) (non-decreasing)",
            mean[0, 2] - mean[0, 1],
            0.0,
        ),
        Check.at_least(
            "E4: entropic error(D=32) - error(D=8) (non-decreasing)",
            mean[1, 2] - mean[1, 1],
            0.0,
        ),
    ]
    return {"Ds": Ds, "names": names, "mean": mean}, checks


# --- the functional example -----------------------------------------------------------


def _curves_example(seed: np.random.SeedSequence) -> dict[str, Any]:
    pair = ot.datasets.make_gaussian_process_pair(
        400, n_coefficients=16, n_grid=128, random_state=_int_seed(seed)
    )
    model = ot.ProjectedOTMap(n_components="auto", n_basis=16).fit(pair.X, pair.Y)
    show = pair.X.with_values(pair.X.values[:6])
    return {
        "grid": np.asarray(pair.X.grid),
        "source": np.asarray(show.values),
        "target": np.asarray(pair.Y.values[:6]),
        "mapped": np.asarray(model.transform(show).values),
        "true": np.asarray(pair.transport(show).values),
        "error": ot.l2_map_error(model, pair.transport, pair.X),
        "ident": ot.l2_map_error(lambda x: x, pair.transport, pair.X),
        "D": model.n_components_,
    }


# --- figures -------------------------------------------------------------------------


def _plot_rates(e2: dict[str, Any], e3: dict[str, Any], out_dir: Path) -> Path:
    from matplotlib.colors import to_hex

    fig, axes = new_figure(2, 1)
    ax = axes[0, 0]
    plot_curve(
        ax,
        e2["ns"],
        e2["best"],
        kind="simulation",
        label=f"best D (slope {e2['slope']:.2f})",
    )
    plot_curve(
        ax,
        e2["ns"],
        e2["auto"],
        kind="simulation",
        marker="s",
        label="D chosen by held-out semi-dual",
    )
    finish_axes(
        ax,
        xlabel="n (samples of each measure)",
        ylabel="L2(mu) error",
        title="E2: truncated Gaussian map, Gaussian processes",
        logx=True,
        logy=True,
    )
    ax = axes[0, 1]
    line = plot_curve(
        ax,
        e3["ns"],
        e3["mean"],
        kind="simulation",
        label=f"gamma-sieve, T auto (slope {e3['slope']:.2f})",
    )
    plot_reference(ax, e3["ident"], axis="y", label="identity map")
    ref = e3["rate"] * e3["mean"][0] / e3["rate"][0]
    plot_curve(
        ax,
        e3["ns"],
        ref,
        color=to_hex(line.get_color()),
        linestyle="--",
        label="rate() (derived), scaled",
    )
    finish_axes(
        ax,
        xlabel="n (samples of each measure)",
        ylabel="L2(mu) error",
        title="E3: gamma-sieve, gamma-smooth map",
        logx=True,
        logy=True,
    )
    return save_figure(fig, out_dir, "error_vs_n")


def _plot_dims(e2: dict[str, Any], e4: dict[str, Any], out_dir: Path) -> Path:
    fig, axes = new_figure(2, 1)
    ax = axes[0, 0]
    for i, n in enumerate(e2["ns"]):
        if n in (100, 400, 1600):
            plot_curve(ax, e2["Ds"], e2["mean"][i], kind="simulation", label=f"n={n}")
    plot_curve(
        ax,
        e2["Ds"],
        e2["bias"],
        color="0.2",
        linestyle="--",
        label="truncation bias b(D)",
    )
    finish_axes(
        ax,
        xlabel="D (coordinates mapped)",
        ylabel="L2(mu) error",
        title="E2: bias-variance in D",
        logx=True,
        logy=True,
    )
    ax = axes[0, 1]
    for a, name in enumerate(e4["names"]):
        plot_curve(ax, e4["Ds"], e4["mean"][a], kind="simulation", label=name)
    finish_axes(
        ax,
        xlabel="D (coordinates mapped)",
        ylabel="L2(mu) error",
        title="E4: baselines, n=800",
        logx=True,
        logy=True,
    )
    ax.set_xticks(e4["Ds"], [str(int(D)) for D in e4["Ds"]])
    ax.minorticks_off()
    return save_figure(fig, out_dir, "error_vs_dim")


def _plot_curves(ex: dict[str, Any], out_dir: Path) -> Path:
    fig, axes = new_figure(3, 1)
    t = ex["grid"]
    panels = (
        ("source curves X", ex["source"]),
        ("target sample Y (unpaired)", ex["target"]),
        (f"mapped T(X) (dashed: true map), D={ex['D']}", ex["mapped"]),
    )
    for ax, (title, values) in zip(axes[0], panels, strict=True):
        for i, v in enumerate(values):
            plot_curve(ax, t, v, color=PALETTE[i % len(PALETTE)], lw=1.2)
        if values is ex["mapped"]:
            for i, v in enumerate(ex["true"]):
                plot_curve(
                    ax, t, v, color=PALETTE[i % len(PALETTE)], lw=1.0, linestyle="--"
                )
        finish_axes(ax, xlabel="t", ylabel="x(t)", title=title)
    return save_figure(fig, out_dir, "curves")


def run(
    *, size: Literal["quick", "full"], key: jax.Array, out_dir: Path
) -> Reproduction:
    """Run the OT-maps reproduction (see the module docstring)."""
    seeds = _seed(key).spawn(5)
    e1, c1 = _closed_forms(seeds[0])
    e2, c2 = _gaussian_study(seeds[1], size)
    e3, c3 = _sieve_study(seeds[2], size)
    e4, c4 = _baseline_study(seeds[3], size)
    ex = _curves_example(seeds[4])
    figures = (
        str(_plot_rates(e2, e3, out_dir)),
        str(_plot_dims(e2, e4, out_dir)),
        str(_plot_curves(ex, out_dir)),
    )
    numbers = {
        "W2^2 (E1)": e1["w2"],
        "E2 best-D error at n=1600": float(e2["best"][-1]),
        "E2 slope": e2["slope"],
        **{
            f"E3 error n={n}": float(v)
            for n, v in zip(e3["ns"], e3["mean"], strict=True)
        },
        "E3 slope": e3["slope"],
        "E3 identity error": e3["ident"],
        "E3 warnings during fits": float(e3["warnings"]),
        **{
            f"E4 {name} D=32": float(e4["mean"][a, -1])
            for a, name in enumerate(e4["names"])
        },
        "curves: error / identity error": ex["error"] / ex["ident"],
    }
    return Reproduction(
        name="ot-maps",
        title=_TITLE,
        figures=figures,
        checks=(*c1, *c2, *c3, *c4),
        numbers=numbers,
        summary=(
            "Synthetic measures on L2 with known OT maps. Closed forms of commuting "
            "Gaussians (W2, truncation bias) agree with their sums and with Monte "
            "Carlo; the truncated Gaussian map's error falls polynomially in n and "
            "is U-shaped in D, bounded below by the truncation bias; the gamma-sieve "
            "semi-dual estimator (derived from the paper's abstract) learns a "
            "non-Gaussian gamma-smooth map at a polynomial rate with the budget "
            "chosen by cross-validation; exact-OT + 1-NN and entropic maps degrade "
            "with the truncation dimension."
        ),
    )
