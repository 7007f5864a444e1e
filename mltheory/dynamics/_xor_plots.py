"""Figures of the XOR results (drawn through the shared plotting layer)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

TRAJECTORY_PANELS = ("rho", "blocks", "error", "loss")
_DIAGONALS_DEG = (45.0, 135.0, 225.0, 315.0)


def check_panel(panel: Any, options: Sequence[str]) -> None:
    """``panel`` must be None or one of ``options``."""
    if panel is not None and panel not in options:
        raise ValueError(
            f"panel must be one of {', '.join(map(repr, options))} or None; "
            f"got {panel!r}."
        )


def plot_trajectory(
    traj: Any,
    ax: Axes | Sequence[Axes] | None,
    panel: str | None,
    label: str | None,
    kind: str,
    kwargs: dict[str, Any],
) -> Axes | Figure:
    """The panels of :meth:`XORTrajectory.plot`."""
    from mltheory._src import _plotting as P

    check_panel(panel, TRAJECTORY_PANELS)
    steps = P.as_numpy(traj.steps, name="XORTrajectory.steps")
    text = label if label is not None else "SGD"
    split = None
    rho = P.as_numpy(traj.rho, name="XORTrajectory.rho")
    if rho.ndim == 1:
        hit = np.nonzero(rho >= 1.0)[0]
        split = float(steps[hit[0]]) if hit.size else None

    def mark_split(target: Axes) -> None:
        if split is not None:
            P.plot_reference(target, split, axis="x", label="phase split (rho = 1)")

    def draw(target: Axes, which: str) -> Axes:
        if which == "rho":
            P.plot_members(
                target,
                steps,
                rho,
                label=f"rho ({text})",
                kind=kind,  # type: ignore[arg-type]
                color=P.PALETTE[0],
                **kwargs,
            )
            P.plot_reference(target, 1.0, axis="y")
            mark_split(target)
            return P.finish_axes(
                target,
                xlabel="SGD step",
                ylabel="signal / noise rho",
                title="signal-to-noise ratio",
                logy=True,
            )
        if which == "blocks":
            sig = P.members_or_error(
                traj.block_signal, name="XORTrajectory.block_signal", max_ndim=2
            )
            for k in range(4):
                P.plot_curve(
                    target,
                    steps,
                    np.abs(sig[:, k]),
                    label=f"|S_{k}| ({text})",
                    kind=kind,  # type: ignore[arg-type]
                    color=P.PALETTE[k],
                    **kwargs,
                )
            mark_split(target)
            return P.finish_axes(
                target,
                xlabel="SGD step",
                ylabel="block signal |S_k|",
                title="the four aligned blocks",
                logy=True,
            )
        if which == "error":
            P.plot_members(
                target,
                steps,
                P.as_numpy(traj.test_error, name="XORTrajectory.test_error"),
                label=f"test error ({text})",
                kind=kind,  # type: ignore[arg-type]
                color=P.PALETTE[1],
                **kwargs,
            )
            mark_split(target)
            return P.finish_axes(
                target,
                xlabel="SGD step",
                ylabel="test error",
                title="test error",
                logy=True,
            )
        P.plot_named_curves(
            target,
            steps,
            {"train loss": traj.train_loss, "test loss": traj.test_loss},
            kind=kind,  # type: ignore[arg-type]
            label=text,
            colors=P.LOSS_COLORS,
            **kwargs,
        )
        return P.finish_axes(
            target, xlabel="SGD step", ylabel="logistic loss", title="loss", logy=True
        )

    if panel is not None:
        return draw(P.axes_or_new(ax), panel)  # type: ignore[arg-type]
    fig, axes = P.panel_axes(ax, 3)
    for target, which in zip(axes, ("rho", "blocks", "error"), strict=True):
        draw(target, which)
    return fig


def plot_params(params: Any, ax: Axes | None, kwargs: dict[str, Any]) -> Axes:
    """The in-plane scatter of :meth:`XORParams.plot`."""
    from mltheory._src import _plotting as P

    W = P.members_or_error(params.W, name="XORParams.W", max_ndim=2)
    a = P.as_numpy(params.a, name="XORParams.a")
    target = P.axes_or_new(ax, width=4.2, height=4.2)
    mass = np.abs(a) * np.linalg.norm(W, axis=1)
    size = 4.0 + 60.0 * mass / mass.max() if mass.max() > 0 else np.full(a.shape, 8.0)
    style: dict[str, Any] = {"alpha": 0.75, "linewidths": 0.0} | kwargs
    for positive, color, text in (
        (True, P.PALETTE[1], "a_j > 0"),
        (False, P.PALETTE[0], "a_j <= 0"),
    ):
        sel = (a > 0) == positive
        target.scatter(
            W[sel, 0], W[sel, 1], s=size[sel], color=color, label=text, **style
        )
    lim = 1.05 * max(float(np.abs(W[:, :2]).max()), 1e-12)
    for sign in (1.0, -1.0):
        target.plot([-lim, lim], [-sign * lim, sign * lim], ":", color="0.6", lw=0.8)
    target.set_xlim(-lim, lim)
    target.set_ylim(-lim, lim)
    target.set_aspect("equal")
    return P.finish_axes(
        target,
        xlabel="w_j1",
        ylabel="w_j2",
        title="neurons in the signal plane (size ~ |a_j| ||w_j||)",
    )


def plot_clusters(diag: Any, ax: Axes | None, kwargs: dict[str, Any]) -> Axes:
    """The weighted angle histogram of :meth:`ClusterDiagnostics.plot`."""
    from mltheory._src import _plotting as P

    hist = P.members_or_error(diag.angle_hist, name="ClusterDiagnostics.angle_hist")
    edges = np.degrees(P.as_numpy(diag.bin_edges, name="bin_edges"))
    target = P.axes_or_new(ax)
    style: dict[str, Any] = {"color": P.PALETTE[0], "alpha": 0.8} | kwargs
    target.bar(
        edges[:-1], hist, width=np.diff(edges), align="edge", label="mass", **style
    )
    for i, deg in enumerate(_DIAGONALS_DEG):
        P.plot_reference(target, deg, axis="x", label="diagonals" if i == 0 else None)
    target.set_xlim(0.0, 360.0)
    target.set_xticks([0, 90, 180, 270, 360])
    return P.finish_axes(
        target,
        xlabel="in-plane angle phi_j [degrees]",
        ylabel="fraction of |a_j| ||w_j||",
        title="angular distribution of the neurons",
    )


def plot_regions(report: Any, ax: Axes | None, kwargs: dict[str, Any]) -> Axes:
    """Measured vs predicted error per M band, for :meth:`ErrorRegionReport.plot`."""
    from mltheory._src import _plotting as P

    err = P.members_or_error(report.err_by_bin, name="ErrorRegionReport.err_by_bin")
    pred = P.as_numpy(report.predicted_by_bin, name="predicted_by_bin")
    mass = P.as_numpy(report.mass_by_bin, name="mass_by_bin")
    edges = P.as_numpy(report.bin_edges, name="bin_edges")
    target = P.axes_or_new(ax)
    x = np.arange(err.size, dtype=float)
    se_total = float(P.as_numpy(report.test_error_se, name="test_error_se"))
    total = float(P.as_numpy(report.test_error, name="test_error"))
    band = None
    if 0.0 < total < 1.0 and se_total > 0:
        # The test-set size from the binomial SE; then +-1 SE bars per band.
        count = np.maximum(mass * total * (1 - total) / se_total**2, 1.0)
        band = np.sqrt(np.clip(err * (1 - err), 0.0, None) / count)
    P.plot_curve(
        target,
        x,
        pred,
        label=f"ideal, sigma/c = {float(report.sigma_hat / report.c_hat):.3g}",
        kind="theory",
        color=P.PALETTE[2],
        drawstyle="steps-mid",
    )
    line = P.plot_curve(
        target,
        x,
        err,
        label="measured",
        kind="simulation",
        color=P.PALETTE[1],
        **kwargs,
    )
    if band is not None:
        target.errorbar(x, err, yerr=band, fmt="none", color=line.get_color(), lw=1.0)
    labels = [
        f"{lo:g}-{hi:g}" if np.isfinite(hi) else f">{lo:g}"
        for lo, hi in itertools.pairwise(edges)
    ]
    target.set_xticks(x, labels, fontsize="small")
    return P.finish_axes(
        target,
        xlabel="band of M = min(|x1|, |x2|)",
        ylabel="error rate in the band",
        title=(
            f"test error {total:.4f}, predicted "
            f"{float(report.predicted_error_exact):.4f}"
        ),
    )
