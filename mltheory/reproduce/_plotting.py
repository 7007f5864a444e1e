"""Figure helpers for the reproductions.

The figures themselves come from the shared house style of
:mod:`mltheory._src._plotting` (re-exported here, so every reproduction and
every ``.plot`` method look alike); built on a bare
:class:`matplotlib.figure.Figure`, a reproduction never switches the user's
backend or opens a window.
"""

from __future__ import annotations

from typing import Any

from mltheory._src._plotting import (
    PALETTE,
    finish_axes,
    heatmap,
    new_figure,
    plot_boundary,
    plot_curve,
    plot_members,
    plot_reference,
    plot_region,
    save_figure,
)

__all__ = [
    "PALETTE",
    "finish_axes",
    "heatmap",
    "loglog_fit",
    "new_figure",
    "plot_boundary",
    "plot_curve",
    "plot_members",
    "plot_reference",
    "plot_region",
    "save_figure",
]


def loglog_fit(x: Any, y: Any) -> tuple[float, float]:
    """Least-squares slope and intercept of ``log y`` against ``log x``."""
    import numpy as np

    lx, ly = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    slope, intercept = np.polyfit(lx, ly, 1)
    return float(slope), float(intercept)
