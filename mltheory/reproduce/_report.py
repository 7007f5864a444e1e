"""Write the reproduction report.

``report.json`` (machines), ``report.md`` (people, plain text) and
``report.html`` (people, one self-contained page with the figures embedded).
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from mltheory.reproduce._html import html_report
from mltheory.reproduce._types import Reproduction

__all__ = ["environment", "write_report"]

# Distributions whose versions the report records (those installed).
_PACKAGES = ("jax", "jaxlib", "numpy", "scipy", "optax", "numba", "matplotlib")


def environment(*, size: str, seed: int, **extra: Any) -> dict[str, Any]:
    """What the run ran on: versions, devices, size and seed, start time.

    ``extra`` keys (an executor, a device mesh, sizes a reproduction chose)
    are added as given; every report format shows every key.
    """
    import importlib.metadata

    import jax

    from mltheory import __version__

    env: dict[str, Any] = {
        "mltheory": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    for name in _PACKAGES:
        try:
            env[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    env["jax backend"] = jax.default_backend()
    env["devices"] = [f"{d.platform}:{d.id} ({d.device_kind})" for d in jax.devices()]
    env["cpu cores"] = os.cpu_count()
    env["size"] = size
    env["seed"] = int(seed)
    env["started"] = datetime.datetime.now().isoformat(timespec="seconds")
    env.update(extra)
    return env


def _atomic_write(path: Path, text: str) -> None:
    # Write-then-rename, so an interrupt never leaves a half-written report.
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _json_report(
    reps: Sequence[Reproduction],
    *,
    version: str,
    size: str,
    seed: int,
    env: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        "mltheory_version": version,
        "size": size,
        "seed": int(seed),
        "environment": dict(env),
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
    env: Mapping[str, Any],
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
        f"reproduction(s), {sum(r.seconds for r in reps):.1f} s",
        "- environment: "
        + "; ".join(
            f"{k} {', '.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in env.items()
            if k not in ("size", "seed")
        ),
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
    env: Mapping[str, Any] | None = None,
) -> tuple[Path, Path, Path]:
    """Write ``report.json``, ``report.md`` and ``report.html``; return their paths.

    ``env`` is the environment of the run (:func:`environment`); by default it
    is recorded now.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    if env is None:
        env = environment(size=size, seed=seed)
    json_path = out_dir / "report.json"
    md_path = out_dir / "report.md"
    html_path = out_dir / "report.html"
    data = _json_report(reps, version=version, size=size, seed=seed, env=env)
    _atomic_write(json_path, json.dumps(data, indent=2, allow_nan=False) + "\n")
    _atomic_write(
        md_path,
        _markdown_report(
            reps, version=version, size=size, seed=seed, pending=pending, env=env
        ),
    )
    _atomic_write(
        html_path,
        html_report(
            reps,
            root=out_dir,
            version=version,
            size=size,
            seed=seed,
            environment=env,
            pending=pending,
        ),
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
    return json_path, md_path, html_path
