"""The registry of reproductions: name -> module with ``run(*, size, key, out_dir)``.

Modules are imported lazily, so ``mltheory reproduce --list`` stays instant and
a paper's heavy imports are paid only when that paper runs.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["ENTRIES", "Entry", "load_runner"]


@dataclasses.dataclass(frozen=True)
class Entry:
    """One registered reproduction."""

    name: str
    module: str
    title: str
    description: str


# One line per paper; each method issue adds its entry here.
ENTRIES: dict[str, Entry] = {
    entry.name: entry
    for entry in [
        Entry(
            name="numerics",
            module="mltheory.reproduce._numerics",
            title=(
                "The shared numerics layer: convergence orders and quadrature accuracy"
            ),
            description=(
                "measured orders of the ODE/SDE steppers and the accuracy of Gaussian "
                "expectations and Hermite coefficients against closed forms"
            ),
        ),
    ]
}


def load_runner(name: str) -> Callable[..., Any]:
    """Import the reproduction module of ``name`` and return its ``run``."""
    module = importlib.import_module(ENTRIES[name].module)
    return module.run  # type: ignore[no-any-return]
