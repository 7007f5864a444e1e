"""Short, safe summaries of result dataclasses: ``__repr__`` and ``_repr_html_``.

A result printed in full is pages of array digits. :func:`summary_repr` prints
the class name, each array field as its dtype and shape (``f64[200,3]``), small
arrays and scalars as their values, static fields as they are, and the key
numbers of the optional ``_summary_items()`` hook (horizon, final loss,
converged...). :func:`summary_html` renders the same as a compact HTML table
for Jupyter.

Both are installed on every :func:`~mltheory._src._pytree.pytree_dataclass`
class that does not define its own ``__repr__``/``_repr_html_``. They never
raise and never force a computation on a tracer: inside :func:`jax.jit` or
:func:`jax.vmap` an array field prints as ``f64[200] traced`` and the hook is
not called; a hook that raises is left out (its error is shown in one word)
rather than breaking the repr.

Hook contract: ``_summary_items(self)`` returns a mapping or an iterable of
``(label, value)`` pairs; a value may be a Python scalar, a string or an array
(arrays are summarised like fields, so a batched result still prints).
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Iterable, Mapping
from typing import Any

import jax
import numpy as np

__all__ = ["MAX_FIELDS", "MAX_REPR_CHARS", "summary_html", "summary_repr"]

#: Hard bound on the length of a summary repr (characters).
MAX_REPR_CHARS = 2000
#: At most this many fields (and this many summary items) are listed.
MAX_FIELDS = 24
_MAX_VALUE_CHARS = 80
_ONE_LINE = 100
_SMALL_ARRAY = 4
_MAX_ITEMS = 6


def _clip(text: str, limit: int = _MAX_VALUE_CHARS) -> str:
    text = " ".join(text.split())  # one line
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _dtype_name(dtype: Any) -> str:
    name = np.dtype(dtype).name
    for long, short in (
        ("bfloat", "bf"),
        ("float", "f"),
        ("complex", "c"),
        ("uint", "u"),
        ("int", "i"),
    ):
        if name.startswith(long):
            return short + name[len(long) :]
    return name


def _fmt_number(x: Any) -> str:
    if isinstance(x, bool | np.bool_):
        return str(bool(x))
    if isinstance(x, int | np.integer):
        return str(int(x))
    if isinstance(x, float | np.floating):
        text = f"{float(x):.4g}"
        # Keep a float recognisable: 2.0 prints "2.0", not "2".
        return text + ".0" if text.lstrip("-").isdigit() else text
    if isinstance(x, complex | np.complexfloating):
        return f"{complex(x):.4g}"
    return _clip(repr(x))


def _fmt_array(x: Any) -> str:
    shape = tuple(np.shape(x))
    try:
        head = f"{_dtype_name(x.dtype)}[{','.join(map(str, shape))}]"
    except TypeError:  # object arrays and exotic dtypes
        head = f"{type(x).__name__}{list(shape)}"
    if isinstance(x, jax.core.Tracer):
        return f"{head} traced"
    if isinstance(x, jax.Array) and x.is_deleted():
        return f"{head} deleted"
    size = int(np.prod(shape, dtype=np.int64))
    if size == 0 or size > _SMALL_ARRAY or len(shape) > 1:
        return head
    values = np.asarray(x)
    if values.ndim == 0:
        return _fmt_number(values.item())
    return f"{head} [{', '.join(_fmt_number(v) for v in values.tolist())}]"


def _fmt_value(value: Any, depth: int = 0) -> str:
    """One short line for any field value; never raises."""
    try:
        if value is None or isinstance(value, str | bytes):
            return _clip(repr(value))
        if isinstance(value, bool | int | float | complex | np.generic):
            return _fmt_number(value)
        if isinstance(value, np.ndarray | jax.Array):
            return _fmt_array(value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            if depth >= 1:
                return f"{type(value).__name__}(...)"
            inner = ", ".join(
                f"{f.name}={_fmt_value(getattr(value, f.name), depth + 1)}"
                for f in dataclasses.fields(value)
            )
            return _clip(f"{type(value).__name__}({inner})")
        if isinstance(value, Mapping):
            items = list(value.items())
            body = ", ".join(
                f"{k!s}: {_fmt_value(v, depth + 1)}" for k, v in items[:_MAX_ITEMS]
            )
            more = ", ..." if len(items) > _MAX_ITEMS else ""
            return _clip("{" + body + more + "}")
        if isinstance(value, tuple | list):
            body = ", ".join(_fmt_value(v, depth + 1) for v in value[:_MAX_ITEMS])
            more = ", ..." if len(value) > _MAX_ITEMS else ""
            open_, close = ("(", ")") if isinstance(value, tuple) else ("[", "]")
            return _clip(open_ + body + more + close)
        if callable(value):
            name = getattr(value, "__qualname__", None) or type(value).__name__
            return f"<{_clip(str(name), 40)}>"
        return _clip(repr(value))
    except Exception as err:  # a repr must never raise
        return f"<{type(value).__name__}: {type(err).__name__}>"


def _has_tracer(obj: Any) -> bool:
    try:
        leaves = jax.tree_util.tree_leaves(obj)
    except Exception:
        return False
    return any(isinstance(leaf, jax.core.Tracer) for leaf in leaves)


def _rows(obj: Any) -> tuple[list[tuple[str, str]], list[tuple[str, str]], int]:
    """Field rows, summary rows, and the number of fields left out."""
    fields = dataclasses.fields(obj)
    rows = [
        (f.name, _fmt_value(getattr(obj, f.name, None)))
        for f in fields[:MAX_FIELDS]
        if f.repr
    ]
    summary: list[tuple[str, str]] = []
    hook = getattr(obj, "_summary_items", None)
    if hook is not None:
        if _has_tracer(obj):
            summary.append(("summary", "not available under tracing"))
        else:
            try:
                items = hook()
                pairs: Iterable[tuple[Any, Any]] = (
                    items.items() if isinstance(items, Mapping) else items
                )
                for i, (label, value) in enumerate(pairs):
                    if i >= MAX_FIELDS:
                        summary.append(("...", "more items left out"))
                        break
                    summary.append((_clip(str(label), 40), _fmt_value(value)))
            except Exception as err:  # a broken hook never breaks the repr
                summary.append(("summary", f"unavailable ({type(err).__name__})"))
    return rows, summary, max(0, len(fields) - MAX_FIELDS)


def summary_repr(obj: Any) -> str:
    """A short summary of a dataclass instance (at most ``MAX_REPR_CHARS``).

    One line when it fits in 100 characters, else one field per line; the
    ``_summary_items()`` numbers follow a ``|`` (one line) or a ``--`` line.
    """
    name = type(obj).__name__
    try:
        rows, summary, left_out = _rows(obj)
    except Exception as err:
        return f"<{name}: repr failed ({type(err).__name__})>"
    fields = [f"{k}={v}" for k, v in rows]
    if left_out:
        fields.append(f"... {left_out} more fields")
    notes = [f"{k}={v}" for k, v in summary]
    line = f"{name}({', '.join(fields)}" + (f" | {', '.join(notes)}" if notes else "")
    line += ")"
    if len(line) <= _ONE_LINE:
        return line
    parts = [f"{name}("] + [f"  {f}," for f in fields]
    if notes:
        parts.append("  -- " + ", ".join(notes))
    parts.append(")")
    text = "\n".join(parts)
    if len(text) > MAX_REPR_CHARS:
        text = text[: MAX_REPR_CHARS - 5] + "...\n)"
    return text


_TABLE = "border-collapse:collapse;font-family:monospace;font-size:12px;text-align:left"
_CELL = "padding:1px 8px;border-bottom:1px solid #ddd;text-align:left"


def summary_html(obj: Any) -> str:
    """The summary of :func:`summary_repr` as a compact HTML table."""
    name = html.escape(type(obj).__name__)
    try:
        rows, summary, left_out = _rows(obj)
    except Exception as err:
        failed = f"<{name}: repr failed ({type(err).__name__})>"
        return f"<pre>{html.escape(failed)}</pre>"

    def row(key: str, value: str, bold: bool = False) -> str:
        k = html.escape(key)
        k = f"<b>{k}</b>" if bold else k
        return (
            f'<tr><td style="{_CELL}">{k}</td>'
            f'<td style="{_CELL}">{html.escape(value)}</td></tr>'
        )

    body = [row(k, v, bold=True) for k, v in summary]
    body += [row(k, v) for k, v in rows]
    if left_out:
        body.append(row("...", f"{left_out} more fields"))
    return (
        f'<table style="{_TABLE}"><caption style="text-align:left;'
        f'font-weight:bold">{name}</caption><tbody>'
        + "".join(body)
        + "</tbody></table>"
    )
