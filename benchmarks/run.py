"""Run mltheory's benchmarks: ours against a named baseline, in interleaved rounds.

Usage::

    python benchmarks/run.py [--quick] [-k NAME] [--rounds N] [--json PATH]

Every ``benchmarks/bench_*.py`` module defines ``CASES``, a dict mapping a
case name to ``(setup, baseline, ours)`` or ``(setup, baseline, ours, check)``:

* ``setup(quick: bool) -> inputs`` builds the input once (both sides get it);
* ``baseline(inputs)`` and ``ours(inputs)`` compute the same thing;
* ``check(baseline_result, ours_result)`` (optional) asserts they agree, so a
  fast wrong answer cannot pass as a speed-up.

A module may also define ``GOALS``, a dict mapping a case name to the largest
acceptable ratio (``0.1`` means "ours at least 10x faster").

A side with nothing to compile (a SciPy loop that takes minutes) may set the
attribute ``needs_warmup = False`` on its function: its first run is then timed
rather than thrown away.

How a case is measured: each side is called once to compile and warm up (not
timed), then the two sides are timed in **rounds** — ours, baseline, ours,
baseline, ... (7 rounds, 3 with ``--quick``; ``--rounds N``) — with
:func:`jax.block_until_ready`. Each round gives one ratio ``ours_s /
baseline_s`` of two runs made back to back, so a change in the machine's load
hits both sides of a round alike. The table reports the median times, the
median ratio and its min–max over the rounds; a case with a goal is marked
``meets`` (the worst round meets it), ``MISSES`` (the best round misses it) or
``SPREAD`` (the rounds straddle the goal: not a result to rely on).

A side that runs in under ``_MIN_ROUND_S`` (0.2 s, the total that
:meth:`timeit.Timer.autorange` aims for) would make a round of one call
sensitive to timer and scheduler noise. After the warm-up, one more call
of each side measures them, and every round then runs both sides the same
number of back-to-back calls: enough for the faster side to take 0.2 s, at
most 1000, and at most 2 s of the slower side. The reported times are per
call. A side with ``needs_warmup = False`` is always called once per round.

Beside each result the environment is recorded: the CPU model, the cores, the
BLAS kernel and thread counts of every thread pool (threadpoolctl), the
thread-related environment variables, and the load average before and after
the case. ``--json PATH`` writes all of it.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import math
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
_THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "XLA_FLAGS",
)


def _load_modules() -> list[Any]:
    modules = []
    for path in sorted(HERE.glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load benchmark module {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules.append(module)
    return modules


def _load_cases() -> tuple[dict[str, tuple[Any, ...]], dict[str, float]]:
    cases: dict[str, tuple[Any, ...]] = {}
    goals: dict[str, float] = {}
    for module in _load_modules():
        for name, case in module.CASES.items():
            if name in cases:
                raise RuntimeError(f"benchmark case {name!r} is defined twice")
            cases[name] = case
        for name, goal in getattr(module, "GOALS", {}).items():
            if name not in module.CASES:
                raise RuntimeError(f"GOALS names an unknown case {name!r}")
            goals[name] = float(goal)
    return cases, goals


# --------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _thread_pools() -> list[dict[str, Any]]:
    """BLAS/OpenMP pools loaded in this process (threadpoolctl), if installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"note": "threadpoolctl not installed"}]
    keep = ("user_api", "internal_api", "num_threads", "version", "architecture")
    return [{k: pool.get(k) for k in keep if k in pool} for pool in threadpool_info()]


def _load() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def environment() -> dict[str, Any]:
    """What the benchmarks ran on (recorded once, and the load per case)."""
    import numpy as np
    import scipy

    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "thread_env": {k: os.environ[k] for k in _THREAD_VARS if k in os.environ},
        "thread_pools": _thread_pools(),
        "load_start": _load(),
    }


# --------------------------------------------------------------------------
# Timing in rounds
# --------------------------------------------------------------------------


_MIN_ROUND_S = 0.2  # shortest round worth timing, as timeit.Timer.autorange


def _once(fn: Any, inputs: Any, calls: int = 1) -> tuple[float, Any]:
    """Seconds per call of ``calls`` back-to-back calls, and the last output."""
    start = time.perf_counter()
    for _ in range(calls):
        out = jax.block_until_ready(fn(inputs))
    return (time.perf_counter() - start) / calls, out


def calls_per_round(baseline: Any, ours: Any, inputs: Any) -> int:
    """Calls per round: the faster side takes ``_MIN_ROUND_S``, the slower <= 2 s."""
    if not all(getattr(fn, "needs_warmup", True) for fn in (baseline, ours)):
        return 1
    times = [_once(fn, inputs)[0] for fn in (ours, baseline)]
    enough = math.ceil(_MIN_ROUND_S / max(min(times), 1e-9))
    cap = max(1, math.floor(2.0 / max(max(times), 1e-9)))
    return int(max(1, min(enough, cap, 1000)))


def measure(
    baseline: Any, ours: Any, inputs: Any, rounds: int
) -> tuple[list[float], list[float], Any, Any]:
    """Warm both sides up, then time them in rounds (ours first in each round).

    Returns the per-round times (per call) of each side and one output of
    each. A side with ``needs_warmup = False`` has its first run timed (in
    round 1). Short sides run several calls per round
    (:func:`calls_per_round`).
    """
    outs: dict[str, Any] = {}
    for label, fn in (("ours", ours), ("base", baseline)):
        if getattr(fn, "needs_warmup", True):
            outs[label] = jax.block_until_ready(fn(inputs))  # compile, not timed
    calls = calls_per_round(baseline, ours, inputs)
    ours_t: list[float] = []
    base_t: list[float] = []
    for _ in range(rounds):
        t, out = _once(ours, inputs, calls)
        ours_t.append(t)
        outs.setdefault("ours", out)
        t, out = _once(baseline, inputs, calls)
        base_t.append(t)
        outs.setdefault("base", out)
    return base_t, ours_t, outs["base"], outs["ours"]


def verdict(ratios: list[float], goal: float | None) -> str:
    """meets / MISSES / SPREAD against a goal on the ratio (lower is better)."""
    if goal is None:
        return ""
    if max(ratios) <= goal:
        return "meets"
    if min(ratios) > goal:
        return "MISSES"
    return "SPREAD"


def summarise(
    name: str, base_t: list[float], ours_t: list[float], goal: float | None
) -> dict[str, Any]:
    ratios = [o / b for o, b in zip(ours_t, base_t, strict=True)]
    return {
        "case": name,
        "baseline_s": statistics.median(base_t),
        "ours_s": statistics.median(ours_t),
        "ratio": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "rounds": len(ratios),
        "goal": goal,
        "verdict": verdict(ratios, goal),
        "baseline_times": base_t,
        "ours_times": ours_t,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs, 3 rounds")
    parser.add_argument(
        "-k", dest="pattern", default=None, help="run cases containing this"
    )
    parser.add_argument(
        "--rounds",
        "--repeats",
        dest="rounds",
        type=int,
        default=None,
        help="timed rounds (ours then baseline) per case",
    )
    parser.add_argument(
        "--json", dest="json_path", default=None, help="write the results here"
    )
    args = parser.parse_args(argv)
    cases, goals = _load_cases()
    if args.pattern:
        cases = {k: v for k, v in cases.items() if args.pattern in k}
        if not cases:
            print(f"no benchmark case matches {args.pattern!r}", file=sys.stderr)
            return 2
    rounds = args.rounds or (3 if args.quick else 7)
    env = environment()
    pools = "; ".join(
        f"{p.get('internal_api', p.get('user_api'))} {p.get('num_threads')} threads"
        for p in env["thread_pools"]
        if "num_threads" in p
    )
    print(
        f"# {env['date']} | {env['cpu']} | {env['cores']} cores | "
        f"jax {env['jax']} on {env['backend']} | pools: {pools or 'none found'}"
    )
    if env["thread_env"]:
        print(f"# thread settings: {env['thread_env']}")
    print(
        f"# ratio = ours_s / baseline_s (below 1: ours is faster): median and "
        f"min-max over {rounds} interleaved rounds after a warm-up call; "
        "load = 1-min load average before/after the case"
    )
    width = max(len(k) for k in cases)
    print(
        f"{'case':<{width}}  {'baseline_s':>10}  {'ours_s':>10}  {'ratio':>7}  "
        f"{'min-max':>13}  {'goal':>6}  {'verdict':>7}  load"
    )
    results = []
    for name, case in cases.items():
        setup, baseline, ours, *rest = case
        inputs = setup(args.quick)
        load_before = _load()
        base_t, ours_t, base_out, ours_out = measure(baseline, ours, inputs, rounds)
        if rest:
            rest[0](base_out, ours_out)
        row = summarise(name, base_t, ours_t, goals.get(name))
        row["load"] = [load_before[:1], _load()[:1]]
        row["threads"] = [p.get("num_threads") for p in _thread_pools()]
        results.append(row)
        goal = f"{row['goal']:.3g}" if row["goal"] is not None else "-"
        spread = f"{row['ratio_min']:.3g}-{row['ratio_max']:.3g}"
        load = "/".join(f"{x[0]:.1f}" for x in row["load"] if x)
        print(
            f"{name:<{width}}  {row['baseline_s']:10.3e}  {row['ours_s']:10.3e}  "
            f"{row['ratio']:7.3g}  {spread:>13}  {goal:>6}  {row['verdict']:>7}  "
            f"{load}",
            flush=True,
        )
    env["load_end"] = _load()
    if args.json_path:
        Path(args.json_path).write_text(
            json.dumps({"environment": env, "results": results}, indent=2) + "\n"
        )
    flagged = [r["case"] for r in results if r["verdict"] in ("MISSES", "SPREAD")]
    if flagged:
        print(f"# goal not held at the bottom of its spread: {', '.join(flagged)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
