"""Reproduction ``xor``: neuron-block dynamics on Gaussian XOR with zero margin.

Braun and Imaizumi (arXiv:2602.00172). A two-layer ReLU network trained by
online SGD on the logistic loss, both layers at once, from a small balanced
initialisation (:func:`mltheory.dynamics.xor.train_xor`, default
configuration d = 32, m = 256, B = 128, lr = 0.05, 2000 steps), several seeds
at once through :func:`jax.vmap`. Four figures:

B1. Two-phase block dynamics: the signal-to-noise ratio rho crosses 1 (end of
    signal finding) and grows past 5; the four block signals grow together
    (block spread a few per cent) while single neurons do not (within-block
    spread ~ 0.5); the test error falls below 3 %.
B2. Clusters: the neurons in the signal plane at the start and at the end
    (four arms on the diagonals, alternating signs).
B3. Error regions: the errors sit in the band M = min(|x1|, |x2|) < 0.05;
    the zero-margin law (2/pi) sigma/c predicts the test error; the ideal
    error against Monte Carlo and the rotated-boundary law err(r).
B4. Beyond Gaussian inputs: the same two phases with hypercube and
    Student-t (df = 5) inputs.

Sizes: quick = 4 Gaussian seeds and 2 seeds per other law; full = 16 and 8
seeds with a test set of 10^6 points for the error regions. The network size
and the horizon are the library's default configuration at both sizes.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from mltheory._src._progress import progress
from mltheory.dynamics import xor
from mltheory.reproduce._plotting import (
    PALETTE,
    finish_axes,
    new_figure,
    plot_curve,
    plot_members,
    plot_reference,
    save_figure,
)
from mltheory.reproduce._types import Check, Reproduction

__all__ = ["run"]

_TITLE = "Gaussian XOR with zero margin: neuron blocks, two phases, error regions"
_CONFIG = xor.XORConfig()
_N_TEST = 20_000


def _train(key: jax.Array, n_seeds: int, dist: str) -> xor.XORTrajectory:
    cfg = dataclasses.replace(_CONFIG, dist=dist)  # type: ignore[arg-type]
    keys = jax.random.split(key, n_seeds)  # the seeds: one vmapped computation
    return xor.train_xor(
        keys, cfg, n_test=_N_TEST, dtype=jnp.float32, on_divergence="flag"
    )


def _spread(name: str, values: np.ndarray) -> dict[str, float]:
    """Mean and spread (std) over the seeds, as two numbers of the report."""
    values = np.asarray(values, dtype=float)
    return {
        f"{name}, mean over {values.size} seeds": float(values.mean()),
        f"{name}, std over seeds": float(values.std()),
    }


def _phase_checks(
    traj: xor.XORTrajectory, law: str
) -> tuple[list[Check], dict[str, float]]:
    rho = np.asarray(traj.rho)
    split = np.asarray(xor.phase_split(traj))
    err = np.asarray(traj.test_error)
    checks = [
        Check.at_most(
            f"{law}: seeds whose rho never crosses 1 (no phase split), of "
            f"{rho.shape[0]}",
            int(np.sum(split < 0)),
            0,
        ),
        Check.at_least(
            f"{law}: smallest final rho over seeds (signal-heavy phase)",
            rho[:, -1].min(),
            5.0,
        ),
        Check.at_most(
            f"{law}: largest rho at step 0 over seeds (signal finding starts below 1)",
            rho[:, 0].max(),
            0.5,
        ),
        Check.at_most(
            f"{law}: largest final / initial test error over seeds (learns)",
            (err[:, -1] / err[:, 0]).max(),
            0.2,
        ),
        Check.at_most(
            f"{law}: diverged runs",
            int(np.sum(np.asarray(traj.first_bad_step) >= 0)),
            0,
        ),
    ]
    numbers = (
        _spread(f"{law}: phase split step", split)
        | _spread(f"{law}: final rho", rho[:, -1])
        | _spread(f"{law}: final test error", err[:, -1])
    )
    return checks, numbers


def _ideal_checks(key: jax.Array, n_mc: int) -> tuple[list[Check], dict[str, Any]]:
    """The ideal error against Monte Carlo of the four-neuron network."""
    cases = ((1.0, 0.05), (1.0, 0.3), (2.0, 0.0), (0.6, 0.1))
    worst = 0.0
    for i, (r, s) in enumerate(cases):
        A = 1.0 / math.sqrt(2.0)
        W = jnp.array(
            [[1.0, 1.0, 0], [-1.0, 1.0, 0], [-1.0, -1.0, 0], [1.0, -1.0, 0]]
        ) / math.sqrt(2.0)
        W = jnp.concatenate([W, jnp.array([[0, 0, 1.0], [0, 0, -1.0]])])
        a = jnp.array([A, -r * A, A, -r * A, s, -s])
        X, y = xor.sample_xor(jax.random.fold_in(key, i), n_mc, 3)
        mc = float(jnp.mean(y * xor.forward(xor.XORParams(W, a), X) < 0))
        se = math.sqrt(max(mc * (1 - mc), 1e-12) / n_mc)
        exact = float(xor.ideal_xor_error(ratio=r, noise_to_signal=s))
        worst = max(worst, abs(mc - exact) / se)
    ratios = np.array([0.5, 2.0, 5.0])
    closed = 2 / np.pi * np.abs(np.arctan(ratios) - np.pi / 4)
    checks = [
        Check.at_most(
            "ideal_xor_error vs Monte Carlo of the ideal four-block network "
            f"(n = {n_mc}), 4 (ratio, noise) pairs: worst |diff| in standard errors",
            worst,
            4.0,
        ),
        Check.at_most(
            "ideal_xor_error without noise vs (2/pi)|arctan r - pi/4|, r = 0.5, 2, 5 "
            "(max abs diff)",
            float(
                np.max(np.abs(np.asarray(xor.ideal_xor_error(ratio=ratios)) - closed))
            ),
            1e-12,
        ),
    ]
    return checks, {}


def run(
    *, size: Literal["quick", "full"], key: jax.Array, out_dir: Path
) -> Reproduction:
    """Run the ``xor`` reproduction and write its figures under ``out_dir``."""
    quick = size == "quick"
    n_gauss, n_other = (4, 2) if quick else (16, 8)
    n_regions = 200_000 if quick else 1_000_000
    k_g, k_h, k_t, k_err, k_mc = jax.random.split(key, 5)

    runs: dict[str, xor.XORTrajectory] = {}
    laws = [
        ("gaussian", n_gauss, k_g),
        ("hypercube", n_other, k_h),
        ("student_t", n_other, k_t),
    ]
    for law, n, k in progress(laws, total=3, desc="xor: training"):
        runs[law] = _train(k, n, law)

    checks: list[Check] = []
    numbers: dict[str, Any] = {}
    gauss = runs["gaussian"]
    c, nums = _phase_checks(gauss, "Gaussian")
    checks += c
    numbers |= nums

    # Blocks, not neurons, evolve coherently (at the horizon, in phase 2).
    spread = np.asarray(gauss.block_spread[:, -1])
    within = np.asarray(gauss.within_block_spread[:, -1])
    err_end = np.asarray(gauss.test_error[:, -1])
    checks += [
        Check.at_most(
            "Gaussian: block spread std|S_k|/mean|S_k| at the horizon, worst seed",
            spread.max(),
            0.05,
        ),
        Check.at_least(
            "Gaussian: within-block neuron spread std(s_j)/mean(s_j) at the "
            "horizon, smallest block over seeds",
            within.min(),
            0.2,
        ),
        Check.at_most(
            f"Gaussian: test error at step {_CONFIG.steps} (n_test = {_N_TEST}), "
            "mean over seeds",
            err_end.mean(),
            0.03,
        ),
    ]
    numbers |= _spread("Gaussian: block spread at the horizon", spread)
    numbers |= _spread(
        "Gaussian: within-block spread at the horizon (smallest block)",
        within.min(axis=1),
    )

    # Error regions of every Gaussian seed's final network.
    finals = gauss.final_params
    reports = [
        xor.error_regions(
            jax.random.fold_in(k_err, i),
            jax.tree.map(lambda x, i=i: x[i], finals),
            n_test=n_regions,
        )
        for i in range(n_gauss)
    ]
    measured = np.array([float(r.test_error) for r in reports])
    predicted = np.array([float(r.predicted_error) for r in reports])
    rel = np.abs(predicted / measured - 1)
    edges = np.asarray(reports[0].bin_edges)
    near = edges[:-1] < 0.05
    frac = np.array(
        [
            float(np.sum((r.err_by_bin * r.mass_by_bin)[near]))
            / float(np.sum(r.err_by_bin * r.mass_by_bin))
            for r in reports
        ]
    )
    checks += [
        Check.at_most(
            "Gaussian: |(2/pi) sigma_hat/c_hat / measured test error - 1|, worst "
            f"seed (n_test = {n_regions})",
            rel.max(),
            0.10,
        ),
        Check.at_least(
            "Gaussian: fraction of the test errors in the band M = min(|x1|,|x2|) "
            "< 0.05, smallest over seeds",
            frac.min(),
            0.9,
        ),
    ]
    numbers |= _spread("error regions: measured test error", measured)
    numbers |= _spread("error regions: (2/pi) sigma/c", predicted)
    numbers |= _spread("error regions: fraction of errors with M < 0.05", frac)

    c, _ = _ideal_checks(k_mc, 200_000 if quick else 1_000_000)
    checks += c
    for law, text in (("hypercube", "hypercube"), ("student_t", "Student-t (df = 5)")):
        c, nums = _phase_checks(runs[law], text)
        checks += c
        numbers |= nums

    out_dir = Path(out_dir)
    figures = [
        _figure_phases(gauss, out_dir),
        _figure_clusters(gauss, out_dir),
        _figure_regions(reports[0], gauss, out_dir),
        _figure_beyond(runs, out_dir),
    ]
    summary = (
        f"Default configuration (d = {_CONFIG.d}, m = {_CONFIG.width}, "
        f"B = {_CONFIG.batch_size}, lr = {_CONFIG.lr}, init_scale = "
        f"{_CONFIG.init_scale}, {_CONFIG.steps} steps, float32), {n_gauss} "
        f"Gaussian seeds and {n_other} seeds each of hypercube and Student-t "
        f"inputs, vmapped; error regions on {n_regions} test points per seed."
    )
    return Reproduction(
        name="xor",
        title=_TITLE,
        figures=tuple(str(p) for p in figures),
        checks=tuple(checks),
        numbers=numbers,
        summary=summary,
    )


def _seed(traj: xor.XORTrajectory, i: int) -> xor.XORTrajectory:
    return jax.tree.map(lambda x: x[i], traj)  # type: ignore[no-any-return]


def _figure_phases(traj: xor.XORTrajectory, out_dir: Path) -> Path:
    fig, axes = new_figure(3, 1, width=4.4)
    first = _seed(traj, 0)
    first.plot(ax=[axes[0, 0], axes[0, 1], axes[0, 2]], label="seed 0")
    plot_members(
        axes[0, 0],
        traj.steps[0],
        traj.rho[1:],
        kind="simulation",
        color="0.6",
        label="other seeds",
    )
    plot_members(
        axes[0, 2],
        traj.steps[0],
        traj.test_error[1:],
        kind="simulation",
        color="0.6",
        label="other seeds",
    )
    axes[0, 0].legend(fontsize="x-small", frameon=False)
    axes[0, 2].legend(fontsize="x-small", frameon=False)
    fig.suptitle("B1: two-phase block dynamics (Gaussian XOR)")
    return save_figure(fig, out_dir, "b1_two_phases")


def _figure_clusters(traj: xor.XORTrajectory, out_dir: Path) -> Path:
    fig, axes = new_figure(3, 1, width=4.0, height=3.8)
    first = _seed(traj, 0)
    start = xor.XORParams(first.params.W[0], first.params.a[0])
    start.plot(ax=axes[0, 0])
    axes[0, 0].set_title("step 0", fontsize="medium")
    first.final_params.plot(ax=axes[0, 1])
    axes[0, 1].set_title(f"step {int(first.steps[-1])}", fontsize="medium")
    xor.cluster_diagnostics(first.final_params).plot(ax=axes[0, 2])
    fig.suptitle("B2: neurons cluster on the four diagonals (seed 0)")
    return save_figure(fig, out_dir, "b2_clusters")


def _figure_regions(
    report: xor.ErrorRegionReport, traj: xor.XORTrajectory, out_dir: Path
) -> Path:
    fig, axes = new_figure(3, 1, width=4.3)
    report.plot(ax=axes[0, 0])
    r = np.geomspace(0.2, 5.0, 200)
    plot_curve(
        axes[0, 1], r, xor.ideal_xor_error(ratio=r), label="(2/pi)|arctan r - pi/4|"
    )
    plot_reference(axes[0, 1], 1.0, axis="x", label="balanced blocks")
    finish_axes(
        axes[0, 1],
        xlabel="imbalance r of the two block pairs",
        ylabel="test error",
        title="rotated boundary, no noise",
        logx=True,
    )
    ticks = [0.2, 0.5, 1.0, 2.0, 5.0]
    axes[0, 1].set_xticks(ticks, [f"{t:g}" for t in ticks])
    axes[0, 1].minorticks_off()
    s = np.geomspace(1e-3, 1.0, 200)
    plot_curve(
        axes[0, 2], s, xor.ideal_xor_error(noise_to_signal=s), label="ideal network"
    )
    plot_curve(axes[0, 2], s, 2 / np.pi * s, label="(2/pi) sigma/c", color=PALETTE[2])
    ratio = float(report.sigma_hat / report.c_hat)
    axes[0, 2].plot(
        [ratio],
        [float(report.test_error)],
        "o",
        color=PALETTE[1],
        label="trained network (seed 0)",
    )
    finish_axes(
        axes[0, 2],
        xlabel="noise / signal sigma/c",
        ylabel="test error",
        title="zero margin: linear in sigma/c",
        logx=True,
        logy=True,
    )
    fig.suptitle("B3: error regions")
    return save_figure(fig, out_dir, "b3_error_regions")


def _figure_beyond(runs: dict[str, xor.XORTrajectory], out_dir: Path) -> Path:
    fig, axes = new_figure(3, 1, width=4.3)
    names = {"gaussian": "Gaussian", "hypercube": "hypercube", "student_t": "Student-t"}
    for i, (law, traj) in enumerate(runs.items()):
        steps = traj.steps[0]
        col = PALETTE[i]
        plot_members(
            axes[0, 0], steps, traj.rho, label=names[law], color=col, kind="simulation"
        )
        mean_abs = jnp.mean(jnp.abs(traj.block_signal), axis=-1)
        plot_members(
            axes[0, 1], steps, mean_abs, label=names[law], color=col, kind="simulation"
        )
        plot_members(
            axes[0, 2],
            steps,
            traj.test_error,
            label=names[law],
            color=col,
            kind="simulation",
        )
    plot_reference(axes[0, 0], 1.0, axis="y")
    finish_axes(
        axes[0, 0], xlabel="SGD step", ylabel="rho", title="signal / noise", logy=True
    )
    finish_axes(
        axes[0, 1],
        xlabel="SGD step",
        ylabel="mean_k |S_k|",
        title="block signals",
        logy=True,
    )
    finish_axes(
        axes[0, 2],
        xlabel="SGD step",
        ylabel="test error",
        title="test error",
        logy=True,
    )
    fig.suptitle("B4: the same two phases beyond Gaussian inputs")
    return save_figure(fig, out_dir, "b4_beyond_gaussian")
