"""Progress bars on tqdm: shown on a terminal, silent elsewhere or when asked.

tqdm is imported lazily so that importing mltheory stays light. Set the
environment variable ``MLTHEORY_PROGRESS=0`` to silence every bar, or ``=1``
to force bars even when standard error is not a terminal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

__all__ = ["progress", "progress_enabled"]

T = TypeVar("T")


def progress_enabled(disable: bool | None = None) -> bool:
    """Whether a progress bar should be drawn.

    ``disable=True`` always silences; ``disable=False`` always draws; ``None``
    follows ``MLTHEORY_PROGRESS`` and otherwise draws only on a terminal.
    """
    if disable is not None:
        return not disable
    env = os.environ.get("MLTHEORY_PROGRESS", "").strip().lower()
    if env in {"0", "false", "no", "off"}:
        return False
    if env in {"1", "true", "yes", "on"}:
        return True
    stream = sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


def progress(
    iterable: Iterable[T],
    *,
    total: int | None = None,
    desc: str | None = None,
    disable: bool | None = None,
    **tqdm_kwargs: Any,
) -> Iterator[T]:
    """Iterate over ``iterable`` with a tqdm bar when :func:`progress_enabled`."""
    if not progress_enabled(disable):
        yield from iterable
        return
    from tqdm.auto import tqdm  # lazy: tqdm is only needed when a bar is drawn

    bar = tqdm(iterable, total=total, desc=desc, dynamic_ncols=True, **tqdm_kwargs)
    try:
        yield from bar
    finally:
        bar.close()
