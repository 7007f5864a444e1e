"""Run mltheory's benchmarks: ours against a named baseline, same input, one process.

Usage::

    python benchmarks/run.py [--quick] [-k NAME]

Every ``benchmarks/bench_*.py`` module defines ``CASES``, a dict mapping a
case name to ``(setup, baseline, ours)`` or ``(setup, baseline, ours, check)``:

* ``setup(quick: bool) -> inputs`` builds the input once (both sides get it);
* ``baseline(inputs)`` and ``ours(inputs)`` compute the same thing;
* ``check(baseline_result, ours_result)`` (optional) asserts they agree, so a
  fast wrong answer cannot pass as a speed-up.

A side with nothing to compile (a SciPy loop that takes minutes) may set the
attribute ``needs_warmup = False`` on its function: its first run is then timed
rather than thrown away. ``--repeats N`` overrides the number of timed runs.

Each side is called once to compile and warm up (not timed), then timed over
repeats (7, or 3 with ``--quick``) with :func:`jax.block_until_ready`; the
median is reported. The table is ``case baseline_s ours_s ratio`` with
``ratio = ours_s / baseline_s`` (below 1 means ours is faster).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("MLTHEORY_PROGRESS", "0")

import jax

jax.config.update("jax_enable_x64", True)

HERE = Path(__file__).resolve().parent


def _load_cases() -> dict[str, tuple[Any, ...]]:
    cases: dict[str, tuple[Any, ...]] = {}
    for path in sorted(HERE.glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load benchmark module {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name, case in module.CASES.items():
            if name in cases:
                raise RuntimeError(f"benchmark case {name!r} is defined twice")
            cases[name] = case
    return cases


def _time(fn: Any, inputs: Any, repeats: int) -> tuple[float, Any]:
    # A side with nothing to compile (a SciPy loop) may set
    # ``fn.needs_warmup = False``: its first run is then timed, not thrown away.
    result = None
    if getattr(fn, "needs_warmup", True):
        result = jax.block_until_ready(fn(inputs))  # compile + warm up, not timed
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = jax.block_until_ready(fn(inputs))
        times.append(time.perf_counter() - start)
        result = out if result is None else result
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="smaller inputs, 3 repeats"
    )
    parser.add_argument(
        "-k", dest="pattern", default=None, help="run cases containing this"
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed runs per side (median)"
    )
    args = parser.parse_args(argv)
    cases = _load_cases()
    if args.pattern:
        cases = {k: v for k, v in cases.items() if args.pattern in k}
        if not cases:
            print(f"no benchmark case matches {args.pattern!r}", file=sys.stderr)
            return 2
    repeats = args.repeats or (3 if args.quick else 7)
    print(
        f"# {datetime.date.today()} | {platform.platform()} | "
        f"{os.cpu_count()} cores | jax {jax.__version__} on {jax.default_backend()}"
    )
    print(
        "# ratio = ours_s / baseline_s (below 1: ours is faster); medians of "
        f"{repeats} runs after a warm-up call"
    )
    width = max(len(k) for k in cases)
    print(f"{'case':<{width}}  {'baseline_s':>11}  {'ours_s':>11}  {'ratio':>8}")
    for name, case in cases.items():
        setup, baseline, ours, *rest = case
        inputs = setup(args.quick)
        base_s, base_out = _time(baseline, inputs, repeats)
        ours_s, ours_out = _time(ours, inputs, repeats)
        if rest:
            rest[0](base_out, ours_out)
        print(
            f"{name:<{width}}  {base_s:11.3e}  {ours_s:11.3e}  {ours_s / base_s:8.3f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
