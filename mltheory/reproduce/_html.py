"""``report.html``: the reproduction report as one self-contained page.

Everything is inline: the style sheet, and every figure as a
``data:image/png;base64`` URI, so the page opens offline, can be mailed as
one file, and never points at files that moved. The markup is polyglot
(X)HTML5, all tags closed and attributes quoted, so it parses as XML too.

The environment section renders whatever the run recorded (the dictionary
``report.json`` holds under ``"environment"``): new keys (an executor, a
device mesh) appear without a change here.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from mltheory.reproduce._types import Reproduction

__all__ = ["html_report"]

_CSS = """
body { font-family: -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222;
       line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em;
     margin-top: 2em; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left;
         vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-family: "DejaVu Sans Mono", monospace; }
tr.pass td.verdict, p.pass { background: #e3f4e6; color: #14532d; }
tr.fail td.verdict, p.fail { background: #fde2e1; color: #7f1d1d;
                             font-weight: bold; }
tr.fail td { background: #fff4f3; }
p.verdict { display: inline-block; padding: 0.3em 0.8em; border-radius: 4px;
            font-weight: bold; }
p.incomplete { background: #fff3cd; color: #664d03; }
pre { background: #f7f7f7; border: 1px solid #ddd; padding: 0.6em;
      overflow-x: auto; font-size: 0.85em; }
figure { margin: 0.8em 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #555; }
"""


def _num(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else str(value)


def _figure(root: Path, rel: str) -> str:
    path = root / rel
    try:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError:
        return f"<p>figure {escape(rel)} is missing.</p>"
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{escape(rel)}" />'
        f"<figcaption>{escape(rel)}</figcaption></figure>"
    )


def _table(head: Sequence[str], rows: list[str], cls: str) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    return (
        f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
    )


def _anchor(name: str) -> str:
    return "repro-" + "".join(c if c.isalnum() else "-" for c in name)


def _env_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def html_report(
    reps: Sequence[Reproduction],
    *,
    root: Path,
    version: str,
    size: str,
    seed: int,
    environment: Mapping[str, Any],
    pending: Sequence[str] = (),
    elapsed: float | None = None,
) -> str:
    """The report as one HTML page (figures read from ``root`` and embedded)."""
    n_checks = sum(len(r.checks) for r in reps)
    n_pass = sum(r.n_passed for r in reps)
    ok = bool(reps) and all(r.passed for r in reps)
    verdict, cls = ("PASS", "pass") if ok else ("FAIL", "fail")
    if pending:
        verdict, cls = "INCOMPLETE", "incomplete"
    seconds = sum(r.seconds for r in reps) if elapsed is None else elapsed
    out = [
        "<!DOCTYPE html>",
        '<html lang="en" xmlns="http://www.w3.org/1999/xhtml"><head>'
        '<meta charset="utf-8" />'
        '<meta name="viewport" content="width=device-width, initial-scale=1" />'
        "<title>mltheory reproduction report</title>"
        f"<style>{_CSS}</style></head><body>",
        "<h1>mltheory reproduction report</h1>",
        f"<p>mltheory {escape(version)}, size <b>{escape(size)}</b>, seed "
        f"{int(seed)}, {_num(seconds)} s in all.</p>",
        f'<p class="verdict {cls}">{verdict}: {n_pass}/{n_checks} checks pass '
        f"over {len(reps)} reproduction(s)</p>",
    ]
    if pending:
        out.append(f"<p>Not run (interrupted): {escape(', '.join(pending))}.</p>")
    rows = []
    for r in reps:
        rcls = "pass" if r.passed else "fail"
        rows.append(
            f'<tr class="{rcls}"><td><a href="#{_anchor(r.name)}">'
            f"{escape(r.name)}</a></td><td>{escape(r.title)}</td>"
            f'<td class="num">{r.n_passed}/{len(r.checks)}</td>'
            f'<td class="num">{r.seconds:.1f}</td>'
            f'<td class="verdict">{"pass" if r.passed else "FAIL"}</td></tr>'
        )
    out += [
        "<h2>Summary</h2>",
        _table(
            ["reproduction", "title", "checks passed", "seconds", "result"],
            rows,
            "summary",
        ),
    ]
    env_rows = [
        f"<tr><th>{escape(str(k))}</th><td>{escape(_env_value(v))}</td></tr>"
        for k, v in environment.items()
    ]
    out += [
        "<h2>Environment</h2>",
        '<table class="environment"><tbody>' + "".join(env_rows) + "</tbody></table>",
    ]
    for r in reps:
        out.append(f'<section id="{_anchor(r.name)}"><h2>{escape(r.name)}</h2>')
        out.append(f"<p><em>{escape(r.title)}</em> ({r.seconds:.1f} s)</p>")
        if r.summary:
            out.append(f"<p>{escape(r.summary)}</p>")
        if r.error:
            out.append(
                f"<p>The reproduction raised an error:</p><pre>{escape(r.error)}</pre>"
            )
        if r.checks:
            check_rows = [
                f'<tr class="{"pass" if c.passed else "fail"}">'
                f"<td>{escape(c.name)}</td>"
                f'<td class="num">{escape(_num(c.value))}</td>'
                f"<td>{escape(c.target)}</td>"
                f'<td class="verdict">{"pass" if c.passed else "FAIL"}</td></tr>'
                for c in r.checks
            ]
            out.append(
                _table(["check", "value", "target", "result"], check_rows, "checks")
            )
        if r.numbers:
            number_rows = [
                f'<tr><td>{escape(k)}</td><td class="num">{_num(float(v))}</td></tr>'
                for k, v in r.numbers.items()
            ]
            out.append(_table(["number", "value"], number_rows, "numbers"))
        out += [_figure(root, fig) for fig in r.figures]
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
