"""Reproduction ``specgd``: SpecGD vs GD in phase retrieval with a spiked covariance.

Braun, Bao, Huang, Imaizumi (arXiv:2601.22652). Four pieces of evidence:

1. The exact reduction: the three-variable recursion of
   :func:`~mltheory.optim.phase_retrieval.simulate_reduced` against full
   ``d x d`` matrix runs (population gradient) for GD, SpecGD with the exact
   (SVD) polar factor and SpecGD with Newton–Schulz.
2. The threshold law of GD: the spike/signal ratio grows during the escape iff
   ``s_v > 3 s_u``; swept over ``s_v / s_u``.
3. SpecGD never raises the spike/signal ratio above its initial value 1, for
   every spike strength, and reaches the signal in ``(1 - eps)/eta`` steps.
4. SpecGD starts contracting the bulk far earlier than GD.

Plus a finite-sample run (``n = 20 d``) as a robustness figure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from mltheory._src._progress import progress
from mltheory.optim import phase_retrieval as pr
from mltheory.reproduce._plotting import (
    PALETTE,
    finish_axes,
    new_figure,
    plot_curve,
    plot_reference,
    save_figure,
)
from mltheory.reproduce._types import Check, Reproduction

__all__ = ["run"]

_TITLE = "Spectral gradient descent vs gradient descent in phase retrieval"
_LR_SPECGD = 0.002
_KAPPAS = (0.0, 2.0, 4.0)


def _lr_gd(kappa: float) -> float:
    # GD is stable for lr ~ 1/s_v^2; the spec's default scales as 1/(1 + kappa).
    return 0.01 / (1.0 + kappa)


def _max_diff(a: pr.PRTrajectory, b: pr.PRTrajectory) -> float:
    return max(
        float(jnp.max(jnp.abs(getattr(a, f) - getattr(b, f))))
        for f in ("a", "b", "c", "alignment", "loss")
    )


def _reduced_vs_full(
    key: jax.Array, d: int, steps: int
) -> tuple[dict[str, tuple[pr.PRTrajectory, pr.PRTrajectory]], list[Check]]:
    cov = pr.spiked_covariance(d, 4.0)
    # Exact polar and GD agree to round-off. With Newton-Schulz the muon map's
    # slope ~485 at 0 amplifies round-off while g_b crosses zero: transiently
    # by ~1e9 at d = 64 (a relative change of 1e-13 in the initial scale moves
    # the trajectory by 8e-5), so no fixed tolerance fits every size. Its
    # tolerance is measured instead: 10 x how far the reduced recursion itself
    # moves when its initial scale changes by d * eps (one rounding of a d-term
    # sum, the error the full d x d run makes per step). That is 6e-9 at d = 32
    # and 4e-4 at d = 64, while a wrong reduction misses by more: eps = 1e-6
    # instead of 1e-7 in the polar factor by 5e-3 and 2e-2, one Newton-Schulz
    # step more or less by 0.3.
    runs: dict[str, tuple[Any, float, Any, Any, float | None]] = {
        "SpecGD (SVD)": ("specgd", 0.01, "sign", "svd", 1e-9),
        "GD": ("gd", _lr_gd(4.0), "sign", "svd", 1e-9),
        "SpecGD (NS, muon)": ("specgd", _LR_SPECGD, "ns", "ns", None),
    }
    out, checks = {}, []
    for label, (method, lr, polar, polar_method, tol) in progress(
        runs.items(), total=len(runs), desc="specgd: reduced vs full"
    ):
        red = pr.simulate_reduced(cov, method=method, lr=lr, steps=steps, polar=polar)
        full = pr.simulate_full(
            key, cov, method=method, lr=lr, steps=steps, polar_method=polar_method
        )
        out[label] = (red, full)
        how = "max abs diff of a, b, c, rho, loss"
        if tol is None:
            moved = pr.simulate_reduced(
                cov,
                method=method,
                lr=lr,
                steps=steps,
                polar=polar,
                init_scale=1e-3 * (1.0 + d * np.finfo(np.float64).eps),
            )
            tol = 10.0 * _max_diff(red, moved)
            how += "; tolerance 10x the recursion's own round-off sensitivity"
        checks.append(
            Check.at_most(
                f"reduced recursion = full {d}x{d} simulation, {label}, "
                f"{steps} steps ({how})",
                _max_diff(red, full),
                tol,
            )
        )
    return out, checks


def _threshold(
    ratios: np.ndarray, steps: int, d: int
) -> tuple[np.ndarray, list[Check]]:
    peaks, predicted = [], []
    for r in progress(ratios, total=len(ratios), desc="specgd: GD threshold"):
        cov = pr.spiked_covariance(d, float(r) - 1.0)
        traj = pr.simulate_reduced(cov, method="gd", lr=_lr_gd(r - 1.0), steps=steps)
        peaks.append(float(traj.spike_ratio.max()))
        predicted.append(
            bool(pr.escape_rates(cov, _lr_gd(r - 1.0), "gd").amplifies_spike)
        )
    peaks_arr = np.asarray(peaks)
    below = ratios <= 3.0
    well_above = ratios >= 4.0
    observed = peaks_arr > 1.0 + 1e-9
    checks = [
        Check.at_most(
            "GD, s_v/s_u <= 3: max spike/signal ratio b/a (no amplification)",
            peaks_arr[below].max(),
            1.0 + 1e-9,
        ),
        Check.at_least(
            "GD, s_v/s_u >= 4: smallest peak of b/a (spike amplified)",
            peaks_arr[well_above].min(),
            2.0,
        ),
        Check.at_most(
            "escape_rates threshold s_v > 3 s_u vs simulated amplification "
            "(number of disagreements over the sweep)",
            int(np.sum(observed != np.asarray(predicted))),
            0,
        ),
    ]
    return peaks_arr, checks


def _specgd_vs_gd(
    d: int, steps: int, kappas: tuple[float, ...]
) -> tuple[dict[float, pr.Comparison], list[Check], dict[str, float]]:
    runs = {}
    for kappa in progress(kappas, total=len(kappas), desc="specgd: GD vs SpecGD"):
        runs[kappa] = pr.compare_gd_specgd(
            pr.spiked_covariance(d, kappa),
            lr_gd=_lr_gd(kappa),
            lr_specgd=_LR_SPECGD,
            steps=steps,
        )
    ratio_max = max(float(c.specgd.spike_ratio.max()) for c in runs.values())
    # SpecGD's signal grows by exactly eta per step: a > 0.99 after
    # (0.99 - eps) / eta steps, for every kappa.
    predicted = (0.99 - 1e-3) / _LR_SPECGD
    t99 = [int(jnp.argmax(c.specgd.a > 0.99)) for c in runs.values()]
    # Bulk contraction onset: the step at which c peaks and starts to shrink.
    onset_ratio = max(
        float(jnp.argmax(c.specgd.c)) / float(jnp.argmax(c.gd.c)) for c in runs.values()
    )
    numbers = {
        f"GD peak b/a, kappa={k:g}": float(c.gd.spike_ratio.max())
        for k, c in runs.items()
    }
    numbers |= {
        f"GD min alignment, kappa={k:g}": float(c.gd.alignment.min())
        for k, c in runs.items()
    }
    numbers |= {
        f"GD steps to a > 0.99, kappa={k:g}": float(jnp.argmax(c.gd.a > 0.99))
        for k, c in runs.items()
    }
    numbers |= {
        f"bulk onset step GD / SpecGD, kappa={k:g}": float(jnp.argmax(c.gd.c))
        / float(jnp.argmax(c.specgd.c))
        for k, c in runs.items()
    }
    checks = [
        Check.at_most(
            "SpecGD (exact polar), every kappa: max spike/signal ratio b/a",
            ratio_max,
            1.0 + 1e-12,
        ),
        Check.at_most(
            f"SpecGD steps to a > 0.99 vs (0.99 - eps)/eta = {predicted:.0f}, "
            "every kappa (max abs deviation)",
            max(abs(t - predicted) for t in t99),
            2.0,
        ),
        Check.at_most(
            "SpecGD contracts the bulk earlier: max over kappa of "
            "(step of peak c, SpecGD) / (step of peak c, GD)",
            onset_ratio,
            0.5,
        ),
    ]
    return runs, checks, numbers


def _finite_sample(key: jax.Array, d: int, steps: int) -> dict[str, pr.PRTrajectory]:
    cov = pr.spiked_covariance(d, 4.0)
    return {
        "gd": pr.simulate_full(
            key,
            cov,
            method="gd",
            lr=_lr_gd(4.0),
            steps=steps,
            n_samples=20 * d,
            record_every=10,
        ),
        "specgd": pr.simulate_full(
            key,
            cov,
            method="specgd",
            lr=_LR_SPECGD,
            steps=steps,
            n_samples=20 * d,
            record_every=10,
        ),
    }


def run(
    *, size: Literal["quick", "full"], key: jax.Array, out_dir: Path
) -> Reproduction:
    """Run the ``specgd`` reproduction and write its figures under ``out_dir``."""
    quick = size == "quick"
    d_red, steps_red = 64, (4000 if quick else 6000)
    d_full, steps_full = (32, 300) if quick else (64, 600)
    k_full, k_sample = jax.random.split(key)

    comparisons, checks_cmp, numbers = _specgd_vs_gd(d_red, steps_red, _KAPPAS)
    ratios = np.linspace(1.0, 6.0, 11 if quick else 26)
    peaks, checks_thr = _threshold(ratios, steps_red, d_red)
    pairs, checks_red = _reduced_vs_full(k_full, d_full, steps_full)
    samples = _finite_sample(k_sample, 32, 2000 if quick else 6000)
    numbers = dict(numbers)
    numbers["finite sample (n=20d) final alignment, GD"] = float(
        samples["gd"].alignment[-1]
    )
    numbers["finite sample (n=20d) final alignment, SpecGD"] = float(
        samples["specgd"].alignment[-1]
    )

    out_dir = Path(out_dir)
    figures = []
    colors = {k: PALETTE[i] for i, k in enumerate(_KAPPAS)}

    # Figure 1: alignment and spike ratio vs step (GD solid, SpecGD dashed).
    fig, axes = new_figure(2, 1, width=5.0)
    for kappa, cmp in comparisons.items():
        for traj in (cmp.gd, cmp.specgd):
            # every=2: SpecGD's period-2 oscillation drawn as its envelope.
            label = f"{traj.method}, kappa={kappa:g}"
            col = colors[kappa]
            traj.plot(ax=axes[0, 0], panel="alignment", every=2, color=col, label=label)
            traj.plot(
                ax=axes[0, 1], panel="spike_ratio", every=2, color=col, label=label
            )
    axes[0, 0].set_title("alignment", fontsize="medium")
    axes[0, 1].set_title("spike / signal ratio", fontsize="medium")
    axes[0, 1].get_legend().remove()
    figures.append(save_figure(fig, out_dir, "alignment_spike_ratio"))

    # Figure 2: the three coordinates.
    fig, axes = new_figure(3, 1, width=4.0)
    for kappa, cmp in comparisons.items():
        for traj, ls in ((cmp.gd, "-"), (cmp.specgd, "--")):
            for ax, field in zip(axes[0], ("a", "b", "c"), strict=True):
                plot_curve(
                    ax,
                    traj.steps,
                    getattr(traj, field),
                    color=colors[kappa],
                    linestyle=ls,
                    label=f"{traj.method}, kappa={kappa:g}",
                )
    for ax, title in zip(axes[0], ("signal a", "spike b", "bulk c"), strict=True):
        finish_axes(
            ax,
            xlabel="step k",
            ylabel=title,
            title=f"{title} (solid GD, dashed SpecGD)",
            logy=True,
            legend=ax is axes[0, 0],
        )
    figures.append(save_figure(fig, out_dir, "coordinates"))

    # Figure 3: the GD threshold.
    fig, axes = new_figure(1, 1)
    ax = axes[0, 0]
    plot_curve(ax, ratios, peaks, kind="simulation", label="GD, max_k b_k / a_k")
    plot_reference(ax, 3.0, label="threshold s_v = 3 s_u")
    finish_axes(
        ax, xlabel="s_v / s_u", ylabel="max b/a", title="GD threshold", logy=True
    )
    figures.append(save_figure(fig, out_dir, "threshold"))

    # Figure 4: reduced vs full, and finite samples.
    fig, axes = new_figure(2, 1, width=5.0)
    for i, (label, (red, full)) in enumerate(pairs.items()):
        col = PALETTE[3 + i]
        red.plot(ax=axes[0, 0], panel="alignment", color=col, label=f"{label}, reduced")
        full.plot(
            ax=axes[0, 0],
            panel="alignment",
            kind="simulation",
            color=col,
            label=f"{label}, full {d_full}x{d_full}",
        )
    axes[0, 0].set_title("reduced vs full matrices", fontsize="medium")
    for traj in samples.values():
        traj.plot(ax=axes[0, 1], panel="alignment")
    axes[0, 1].set_title(
        "finite samples, n = 20 d, d = 32, kappa = 4", fontsize="medium"
    )
    figures.append(save_figure(fig, out_dir, "reduced_vs_full"))

    checks = checks_red + checks_thr + checks_cmp
    summary = (
        f"Reduced recursion (d = {d_red}, {steps_red} steps, eps = 1e-3, GD lr = "
        f"0.01/(1+kappa), SpecGD lr = {_LR_SPECGD}) for kappa in {list(_KAPPAS)}; "
        f"full {d_full}x{d_full} population-gradient runs ({steps_full} steps, "
        "kappa = 4) against the recursion; a GD sweep over s_v/s_u in [1, 6]; "
        "finite-sample runs with n = 20 d."
    )
    return Reproduction(
        name="specgd",
        title=_TITLE,
        figures=tuple(str(p) for p in figures),
        checks=tuple(checks),
        numbers=numbers,
        summary=summary,
    )
