"""Figure helpers for the reproductions (matplotlib, imported lazily, no pyplot).

Figures are built on :class:`matplotlib.figure.Figure` directly, so running a
reproduction never switches the user's matplotlib backend or opens a window.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["loglog_fit", "new_figure", "save_figure"]


def new_figure(
    ncols: int = 1, nrows: int = 1, *, width: float = 4.2, height: float = 3.4
) -> tuple[Any, Any]:
    """A figure with a grid of axes (always a 2-D array of axes)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def save_figure(fig: Any, out_dir: Path, name: str) -> Path:
    """Save ``fig`` as ``out_dir/name.png`` (150 dpi) and return the path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.png"
    fig.savefig(path, dpi=150)
    return path


def loglog_fit(x: Any, y: Any) -> tuple[float, float]:
    """Least-squares slope and intercept of ``log y`` against ``log x``."""
    import numpy as np

    lx, ly = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    slope, intercept = np.polyfit(lx, ly, 1)
    return float(slope), float(intercept)
