"""Write the reproduction report: ``report.json`` (machines), ``report.md`` (people)."""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from mltheory.reproduce._types import Reproduction

__all__ = ["write_report"]


def _atomic_write(path: Path, text: str) -> None:
    # Write-then-rename, so an interrupt never leaves a half-written report.
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _json_report(
    reps: Sequence[Reproduction], *, version: str, size: str, seed: int
) -> dict[str, Any]:
    return {
        "mltheory_version": version,
        "size": size,
        "seed": int(seed),
        "reproductions": [r.to_json() for r in reps],
    }


def _md_value(value: float) -> str:
    return f"{value:.4g}"


def _markdown_report(
    reps: Sequence[Reproduction],
    *,
    version: str,
    size: str,
    seed: int,
    pending: Sequence[str],
) -> str:
    n_checks = sum(len(r.checks) for r in reps)
    n_pass = sum(r.n_passed for r in reps)
    verdict = "PASS" if reps and all(r.passed for r in reps) and not pending else "FAIL"
    if pending:
        verdict = "INCOMPLETE"
    lines = [
        "# mltheory reproduction report",
        "",
        f"- mltheory {version}, size **{size}**, seed {seed}",
        f"- {datetime.datetime.now().isoformat(timespec='seconds')}, "
        f"Python {platform.python_version()} on {platform.platform()}",
        f"- **{verdict}**: {n_pass}/{n_checks} checks pass over {len(reps)} "
        "reproduction(s)",
    ]
    if pending:
        lines.append(f"- not run (interrupted): {', '.join(pending)}")
    lines += ["", "| reproduction | checks passed | seconds |", "|---|---|---|"]
    for r in reps:
        mark = "pass" if r.passed else "**FAIL**"
        lines.append(
            f"| [{r.name}](#{r.name}) | {r.n_passed}/{len(r.checks)} ({mark}) | "
            f"{r.seconds:.1f} |"
        )
    for r in reps:
        lines += ["", f"## {r.name}", "", f"*{r.title}*", ""]
        if r.summary:
            lines += [r.summary, ""]
        if r.error:
            lines += [
                "The reproduction raised an error:",
                "",
                "```",
                r.error,
                "```",
                "",
            ]
        if r.checks:
            lines += ["| check | value | target | result |", "|---|---|---|---|"]
            for c in r.checks:
                res = "pass" if c.passed else "**FAIL**"
                lines.append(
                    f"| {c.name} | {_md_value(c.value)} | {c.target} | {res} |"
                )
            lines.append("")
        if r.numbers:
            lines += ["| number | value |", "|---|---|"]
            lines += [f"| {k} | {_md_value(v)} |" for k, v in r.numbers.items()]
            lines.append("")
        for fig in r.figures:
            lines += [f"![{Path(fig).stem}]({fig})", ""]
    return "\n".join(lines) + "\n"


def write_report(
    out_dir: Path,
    reps: Sequence[Reproduction],
    *,
    version: str,
    size: Literal["quick", "full"],
    seed: int,
    pending: Sequence[str] = (),
) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.md`` in ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "report.json"
    md_path = out_dir / "report.md"
    data = _json_report(reps, version=version, size=size, seed=seed)
    _atomic_write(json_path, json.dumps(data, indent=2, allow_nan=False) + "\n")
    _atomic_write(
        md_path,
        _markdown_report(reps, version=version, size=size, seed=seed, pending=pending),
    )
    for r in reps:
        if r.numbers:
            numbers = {
                k: (float(v) if math.isfinite(float(v)) else None)
                for k, v in r.numbers.items()
            }
            (out_dir / r.name).mkdir(parents=True, exist_ok=True)
            _atomic_write(
                out_dir / r.name / "numbers.json",
                json.dumps(numbers, indent=2, allow_nan=False) + "\n",
            )
    return json_path, md_path
