"""Frozen dataclasses registered as JAX pytrees.

Results in mltheory are frozen dataclasses whose array fields are pytree
leaves and whose configuration fields (ints, strings, flags) are static, so a
result can cross :func:`jax.jit`, :func:`jax.vmap` and :func:`jax.lax.scan`
boundaries unchanged.

Every such class prints a short summary instead of its arrays
(:func:`~mltheory._src._repr.summary_repr`: class name, dtypes and shapes of
the array fields, static fields, and the key numbers of an optional
``_summary_items()`` method) and shows a compact table in Jupyter
(``_repr_html_``), unless the class defines its own ``__repr__`` /
``_repr_html_``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

import jax

from mltheory._src._repr import summary_html, summary_repr

__all__ = ["DivergedMixin", "pytree_dataclass", "static_field"]

T = TypeVar("T")


def static_field(**kwargs: Any) -> Any:
    """A dataclass field that is static (part of the treedef, not a leaf)."""
    metadata = dict(kwargs.pop("metadata", None) or {})
    metadata["static"] = True
    return dataclasses.field(metadata=metadata, **kwargs)


@overload
def pytree_dataclass(cls: type[T]) -> type[T]: ...
@overload
def pytree_dataclass(
    cls: None = None, *, frozen: bool = True
) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def pytree_dataclass(cls: Any = None, *, frozen: bool = True) -> Any:
    """Make ``cls`` a frozen dataclass registered as a JAX pytree.

    Fields declared with :func:`static_field` (or ``field(metadata={"static":
    True})``) are static; all others are leaves. The class gets the summary
    ``__repr__`` and ``_repr_html_`` of :mod:`mltheory._src._repr` unless it
    defines its own.
    """

    def wrap(klass: type[T]) -> type[T]:
        own_repr = "__repr__" in klass.__dict__
        klass = dataclasses.dataclass(frozen=frozen)(klass)
        if not own_repr:
            klass.__repr__ = summary_repr  # type: ignore[assignment,method-assign]
        if not hasattr(klass, "_repr_html_"):
            klass._repr_html_ = summary_html  # type: ignore[attr-defined]
        fields = dataclasses.fields(klass)  # type: ignore[arg-type]
        data = [f.name for f in fields if not f.metadata.get("static", False)]
        meta = [f.name for f in fields if f.metadata.get("static", False)]
        jax.tree_util.register_dataclass(klass, data_fields=data, meta_fields=meta)
        return klass

    if cls is None:
        return wrap
    return wrap(cls)


class DivergedMixin:
    """Adds the ``diverged`` property to a result with a ``first_bad_step`` leaf.

    Results of fixed-step integrators and simulators carry ``first_bad_step``
    (int32, ``-1`` while every state is finite; one entry per member when the
    result is batched over seeds or parameters); this mixin derives
    ``diverged = first_bad_step >= 0`` from it, so the property works on
    eager, jitted and vmapped results alike.
    """

    first_bad_step: Any

    @property
    def diverged(self) -> Any:
        """Whether the run produced a non-finite state (bool, per member if batched).

        Returns
        -------
        jax.Array of bool
            ``first_bad_step >= 0``; a scalar, or one entry per member of a
            batched result.
        """
        return jax.numpy.asarray(self.first_bad_step) >= 0
