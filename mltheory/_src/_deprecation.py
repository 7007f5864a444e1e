"""Deprecation of public names, the optax way.

Nothing public is removed or renamed without two minor releases of
:class:`DeprecationWarning`. :func:`deprecated` wraps a function (and adds a
``.. deprecated::`` note to its docstring); :func:`deprecated_module_getattr`
builds a module ``__getattr__`` that serves renamed names with a warning.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["deprecated", "deprecated_module_getattr"]

F = TypeVar("F", bound=Callable[..., Any])


def _message(name: str, since: str, removed_in: str, alternative: str | None) -> str:
    text = (
        f"{name} is deprecated since mltheory {since} and will be removed in "
        f"mltheory {removed_in}."
    )
    if alternative:
        text += f" Use {alternative} instead."
    return text


def deprecated(
    *, since: str, removed_in: str, alternative: str | None = None
) -> Callable[[F], F]:
    """Mark a public function as deprecated.

    Calling it warns with :class:`DeprecationWarning` (``stacklevel=2``, so the
    warning points at the caller), and its docstring gains a
    ``.. deprecated::`` directive.
    """

    def wrap(func: F) -> F:
        msg = _message(func.__qualname__, since, removed_in, alternative)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            warnings.warn(msg, DeprecationWarning, stacklevel=2)
            return func(*args, **kwargs)

        doc = inspect.cleandoc(func.__doc__ or "")
        lines = doc.splitlines()
        summary, rest = (lines[:1], lines[1:]) if lines else ([""], [])
        note = [
            "",
            f".. deprecated:: {since}",
            f"   Will be removed in {removed_in}."
            + (f" Use {alternative} instead." if alternative else ""),
        ]
        wrapper.__doc__ = "\n".join([*summary, *note, *rest])
        return wrapper  # type: ignore[return-value]

    return wrap


def deprecated_module_getattr(
    module_name: str, renamed: dict[str, tuple[Any, str, str, str]]
) -> Callable[[str], Any]:
    """Build a module ``__getattr__`` that serves old names with a warning.

    ``renamed`` maps an old name to ``(object, new_name, since, removed_in)``.
    """

    def __getattr__(name: str) -> Any:
        if name in renamed:
            obj, new_name, since, removed_in = renamed[name]
            warnings.warn(
                _message(f"{module_name}.{name}", since, removed_in, new_name),
                DeprecationWarning,
                stacklevel=2,
            )
            return obj
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")

    return __getattr__
