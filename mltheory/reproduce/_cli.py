"""The ``mltheory`` command line: ``mltheory reproduce [NAME ...] [--full] ...``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, NoReturn

__all__ = ["main"]

EPILOG = """\
exit status: 0 when every check passes, 1 when a check fails or a reproduction
raised, 2 on bad arguments (a one-line message; nothing is written), 130 when
interrupted (the finished reproductions are kept in the report).
"""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (exit status 2) instead of usage + error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    from mltheory import __version__

    parser = _Parser(
        prog="mltheory",
        description="mltheory: machine-learning theory as tested tools.",
    )
    parser.add_argument(
        "--version", action="version", version=f"mltheory {__version__}"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    rep = sub.add_parser(
        "reproduce",
        help="reproduce the papers' headline results with pass/fail checks",
        description=(
            "Run the reproductions: PNG figures under OUT/<name>/, and "
            "OUT/report.html (one page, figures embedded), OUT/report.md and "
            "OUT/report.json with every check (measured value, target, pass/fail)."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rep.add_argument(
        "names", nargs="*", metavar="NAME", help="reproductions to run (default: all)"
    )
    size = rep.add_mutually_exclusive_group()
    size.add_argument(
        "--quick",
        dest="full",
        action="store_false",
        help="small sizes, minutes on a laptop (the default)",
    )
    size.add_argument(
        "--full",
        dest="full",
        action="store_true",
        help="paper-sized runs, for a workstation or GPU",
    )
    rep.set_defaults(full=False)  # --quick is the default size
    rep.add_argument(
        "--out",
        default="mltheory-results",
        metavar="DIR",
        help="output directory (default: mltheory-results)",
    )
    rep.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="N",
        help="random seed in [0, 2**32 - 1] (default: 0)",
    )
    rep.add_argument(
        "--list", action="store_true", help="list the reproductions and exit"
    )
    rep.add_argument(
        "--no-progress", action="store_true", help="do not draw a progress bar"
    )
    rep.add_argument(
        "--executor",
        default=None,
        metavar="ADDRESS",
        help=(
            "run each reproduction as a task on the Dask cluster whose scheduler "
            "is at ADDRESS (e.g. tcp://10.0.0.1:8786); needs the cluster extra, "
            'pip install "mltheory[cluster]"'
        ),
    )
    return parser


def _reproduce(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from mltheory.reproduce import list_reproductions, run_reproductions

    available = list_reproductions()
    if args.list:
        width = max(map(len, available))
        for name, text in available.items():
            print(f"{name:<{width}}  {text}")
        return 0
    unknown = [n for n in args.names if n not in available]
    if unknown:
        print(
            "mltheory reproduce: unknown reproduction "
            f"{', '.join(map(repr, unknown))}; "
            f"valid names are: {', '.join(available)}",
            file=sys.stderr,
        )
        return 2
    size: Literal["quick", "full"] = "full" if args.full else "quick"
    names = args.names or None
    from mltheory.reproduce._runner import _check_arguments, _make_out_dir

    def bad_argument(err: Exception) -> int:
        message = str(err).replace("seed must", "--seed must")
        message = message.replace("out_dir", "--out")
        print(f"mltheory reproduce: {message}", file=sys.stderr)
        return 2

    # Bad arguments exit 2 with one line, before anything is written.
    try:
        _check_arguments(names, size, args.seed, args.out)
    except (ValueError, TypeError) as err:
        return bad_argument(err)
    client = None
    if args.executor is not None:
        client = _connect(args.executor)
        if client is None:
            return 2
    try:
        _make_out_dir(Path(args.out).resolve())
    except ValueError as err:
        return bad_argument(err)
    extra = {} if client is None else {"executor": client.get_executor()}
    try:
        reps = run_reproductions(
            names,
            size=size,
            seed=args.seed,
            out_dir=args.out,
            show_progress=False if args.no_progress else None,
            **extra,
        )
    except KeyboardInterrupt:
        print(
            "\ninterrupted: the finished reproductions are in "
            + os.path.join(args.out, "report.md"),
            file=sys.stderr,
        )
        return 130
    finally:
        if client is not None:
            client.close()
    for r in reps:
        status = "PASS" if r.passed else "FAIL"
        print(
            f"{status} {r.name}: {r.n_passed}/{len(r.checks)} checks pass "
            f"({r.seconds:.1f} s)"
        )
        for c in r.checks:
            if not c.passed:
                print(f"    FAILED {c.name}: {c.value:.4g} (target {c.target})")
        if r.error:
            print("    raised: " + r.error.strip().splitlines()[-1])
    print(
        f"report: {os.path.join(args.out, 'report.html')} (open in a browser), "
        "report.md and report.json"
    )
    return 0 if all(r.passed for r in reps) else 1


def _connect(address: str) -> Any:
    """A Dask client of the scheduler at ``address``, or None after a message."""
    try:
        from distributed import Client
    except ImportError:
        print(
            "mltheory reproduce: --executor needs Dask's distributed scheduler; "
            'install it with pip install "mltheory[cluster]"',
            file=sys.stderr,
        )
        return None
    from distributed.comm.addressing import resolve_address

    try:
        # A malformed address fails here, before a client starts its event loop.
        resolve_address(address)
        return Client(address, timeout=30)
    except (OSError, TimeoutError, ValueError) as err:
        print(
            f"mltheory reproduce: --executor: cannot reach a Dask scheduler at "
            f"{address!r} ({type(err).__name__}: {err})",
            file=sys.stderr,
        )
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mltheory`` console script and ``python -m mltheory``."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "reproduce":
        return _reproduce(args, parser)
    parser.print_help()
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
