"""Run registered reproductions and keep the report current after each one."""

from __future__ import annotations

import concurrent.futures as cf
import os
import socket
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import jax

from mltheory._src._progress import progress
from mltheory._src._validation import check_in, check_scalar, describe
from mltheory._src._x64 import float64_scope
from mltheory.reproduce._registry import ENTRIES, load_runner
from mltheory.reproduce._report import environment, write_report
from mltheory.reproduce._types import Check, Reproduction

__all__ = ["list_reproductions", "run_reproductions"]


def list_reproductions() -> dict[str, str]:
    """The registered reproductions and what each one shows.

    Returns
    -------
    dict of str to str
        Name to a one-line description, in registry order.

    Examples
    --------
    >>> from mltheory.reproduce import list_reproductions
    >>> "numerics" in list_reproductions()
    True
    """
    return {name: entry.description for name, entry in ENTRIES.items()}


def _version() -> str:
    from mltheory import __version__

    return __version__


def _relative_figures(figures: Sequence[str | Path], root: Path) -> tuple[str, ...]:
    out = []
    for fig in figures:
        # A relative figure path may be relative to the working directory (as
        # out_dir / "name.png" is when out_dir is relative) or to the root.
        path = Path(fig).resolve()
        if not path.exists():
            path = (root / fig).resolve()
        if not path.exists():
            raise FileNotFoundError(
                f"the reproduction reported a figure {fig} it did not write"
            )
        out.append(path.resolve().relative_to(root.resolve()).as_posix())
    return tuple(out)


#: Seeds are 32-bit: larger ones would collide on JAX's default 32-bit keys.
MAX_SEED = 2**32 - 1


def _check_arguments(
    names: Sequence[str] | None, size: Any, seed: Any, out_dir: Any
) -> tuple[list[str], int, Path]:
    """Validate every argument before anything runs or is written."""
    check_in(size, name="size", options=("quick", "full"))
    seed = check_scalar(seed, name="seed", kind=int, lower=0, upper=MAX_SEED)
    if isinstance(names, str):
        raise TypeError(
            f"names must be a list of reproduction names such as [{names!r}], "
            f"not a string; got {names!r}."
        )
    chosen = list(ENTRIES) if names is None else list(names)
    if not chosen:
        raise ValueError(
            f"names must not be empty; valid names are {', '.join(ENTRIES)}."
        )
    for name in chosen:
        check_in(name, name="reproduction name", options=list(ENTRIES))
    if not isinstance(out_dir, str | os.PathLike):
        raise TypeError(f"out_dir must be a str or a path; got {describe(out_dir)}.")
    root = Path(out_dir).resolve()
    if root.exists() and not root.is_dir():
        raise ValueError(f"out_dir must be a directory; got an existing file {root}.")
    parent = root
    while not parent.exists():  # the nearest existing ancestor
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(
            f"out_dir {root} is under {parent}, which is a file, not a directory."
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(
            f"out_dir {root} cannot be created or written: {parent} is not writable."
        )
    return chosen, seed, root


def _make_out_dir(root: Path) -> None:
    """Create ``root``; on failure remove what was created and raise ValueError."""
    missing = []
    parent = root
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / ".mltheory-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        for folder in missing:  # innermost first; only what this call made
            if not folder.exists():
                continue
            try:
                folder.rmdir()
            except OSError:  # not empty: something else wrote there
                break
        raise ValueError(
            f"out_dir {root} cannot be created or written: {err.strerror or err}."
        ) from err


def _run_one(
    name: str, *, size: Literal["quick", "full"], seed: int, root: Path
) -> Reproduction:
    entry = ENTRIES[name]
    out_dir = root / name
    out_dir.mkdir(parents=True, exist_ok=True)
    # Each reproduction gets its own stream, so adding one never changes another.
    key = jax.random.fold_in(jax.random.key(seed), sum(map(ord, name)))
    start = time.perf_counter()
    try:
        with float64_scope():
            rep = load_runner(name)(size=size, key=key, out_dir=out_dir)
        figures = _relative_figures(rep.figures, root)
    except KeyboardInterrupt:
        raise
    except Exception:  # a crash is reported as a failed reproduction, not lost
        return Reproduction(
            name=name,
            title=entry.title,
            figures=(),
            checks=(Check.at_least("finished without an exception", 0.0, 1.0),),
            seconds=time.perf_counter() - start,
            error=traceback.format_exc(),
        )
    return Reproduction(
        name=name,
        title=rep.title or entry.title,
        figures=figures,
        checks=tuple(rep.checks),
        numbers=dict(rep.numbers),
        summary=rep.summary,
        seconds=time.perf_counter() - start,
        error=rep.error,
    )


def _where() -> str:
    """The host and JAX devices this process runs on, for the report."""
    devices = ", ".join(f"{d.platform}:{d.id}" for d in jax.devices())
    return f"{socket.gethostname()} ({devices})"


def _run_task(
    name: str, size: Literal["quick", "full"], seed: int
) -> tuple[Reproduction, dict[str, bytes], str]:
    """One reproduction as an executor task, in a scratch directory.

    The files come back as bytes (the caller writes them under its own output
    directory), so the workers need no file system shared with the caller.
    """
    with tempfile.TemporaryDirectory(prefix="mltheory-task-") as tmp:
        root = Path(tmp)
        rep = _run_one(name, size=size, seed=seed, root=root)
        files = {
            path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted((root / name).rglob("*"))
            if path.is_file()
        }
    return rep, files, _where()


def _describe_executor(executor: Any) -> str:
    client = getattr(executor, "_client", None)  # distributed.ClientExecutor
    if client is not None:
        try:
            threads = client.nthreads()
            return (
                f"dask {client.scheduler.address}: {len(threads)} workers, "
                f"{sum(threads.values())} threads"
            )
        except Exception:  # a client that cannot answer: name it only
            return "dask"
    workers = getattr(executor, "_max_workers", None)
    text = type(executor).__name__
    return f"{text} ({workers} workers)" if workers else text


def _run_on_executor(
    chosen: list[str],
    *,
    executor: Any,
    size: Literal["quick", "full"],
    seed: int,
    root: Path,
    version: str,
    env: dict[str, Any],
    show_progress: bool | None,
) -> list[Reproduction]:
    """Every reproduction as one task; the report is rewritten as each returns."""
    futures = {executor.submit(_run_task, name, size, seed): name for name in chosen}
    finished: dict[str, Reproduction] = {}
    ran_on: dict[str, str] = {}

    def ordered() -> list[Reproduction]:
        return [finished[n] for n in chosen if n in finished]

    try:
        for fut in progress(
            cf.as_completed(futures),
            total=len(futures),
            desc="reproduce",
            disable=None if show_progress is None else not show_progress,
        ):
            name = futures[fut]
            try:
                rep, files, where = fut.result()
            except Exception:  # the task itself failed (a lost worker, say)
                rep = Reproduction(
                    name=name,
                    title=ENTRIES[name].title,
                    figures=(),
                    checks=(Check.at_least("finished without an exception", 0.0, 1.0),),
                    error=traceback.format_exc(),
                )
                files, where = {}, "unknown (the task failed)"
            for rel, data in files.items():
                path = root / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            finished[name] = rep
            ran_on[name] = where
            env["ran on"] = [f"{n}: {ran_on[n]}" for n in chosen if n in ran_on]
            write_report(
                root, ordered(), version=version, size=size, seed=seed, env=env
            )
    except KeyboardInterrupt:
        for fut in futures:
            fut.cancel()
        pending = [n for n in chosen if n not in finished]
        write_report(
            root,
            ordered(),
            version=version,
            size=size,
            seed=seed,
            pending=pending,
            env=env,
        )
        raise
    return ordered()


def run_reproductions(
    names: Sequence[str] | None = None,
    *,
    size: Literal["quick", "full"] = "quick",
    seed: int = 0,
    out_dir: str | Path = "mltheory-results",
    show_progress: bool | None = None,
    executor: cf.Executor | None = None,
) -> list[Reproduction]:
    """Run reproductions, writing figures and the report as each one finishes.

    Each reproduction runs with float64 enabled in a scoped context (the global
    JAX flag is restored afterwards) and writes its figures under
    ``out_dir/<name>/``. After every reproduction, ``out_dir/report.json``,
    ``out_dir/report.md`` and ``out_dir/report.html`` (one self-contained page,
    figures embedded, opens offline) are rewritten, so an interrupted run
    (Ctrl-C) keeps everything that finished. A reproduction that raises is
    recorded as failed, with its traceback in the reports, and the others
    still run.

    Parameters
    ----------
    names : sequence of str or None, default=None
        Which reproductions to run; ``None`` runs all of them in registry order.
    size : {"quick", "full"}, default="quick"
        ``"quick"`` runs every paper in minutes on a laptop; ``"full"`` is the
        paper-sized run for a workstation or GPU.
    seed : int, default=0
        The seed from which every reproduction's key is derived, in
        ``[0, 2**32 - 1]``.
    out_dir : str or path, default="mltheory-results"
        Where the figures and reports go (created if missing; checked before
        anything runs).
    show_progress : bool or None, default=None
        Draw a progress bar; ``None`` draws one only on a terminal.
    executor : concurrent.futures.Executor or None, default=None
        Run every reproduction as one task of this executor — a Dask
        cluster's ``distributed.Client(address).get_executor()``, or a process
        pool — instead of one after another here. Each task runs in a scratch
        directory on its worker and returns its figures as bytes, which are
        written under ``out_dir`` here, so the workers need no shared file
        system; the report is rewritten as each task returns and records the
        executor and the host and devices each reproduction ran on.

    Returns
    -------
    list of Reproduction
        One per name, in the order given (registry order for ``None``).

    Raises
    ------
    ValueError
        If a name is not registered (the message lists the valid names),
        ``size`` is not ``"quick"``/``"full"``, ``seed`` is outside
        ``[0, 2**32 - 1]``, or ``out_dir`` is an existing file, lies under a
        file or cannot be created or written (nothing is left behind).
    TypeError
        If ``seed`` is not an integer, ``names`` is a single string,
        ``out_dir`` is not a path or ``executor`` has no ``submit``.
    KeyboardInterrupt
        Re-raised after the report of the finished reproductions is written.

    Examples
    --------
    >>> import tempfile
    >>> from mltheory.reproduce import run_reproductions
    >>> with tempfile.TemporaryDirectory() as tmp:  # doctest: +SKIP
    ...     reps = run_reproductions(["numerics"], out_dir=tmp)
    ...     print(reps[0].passed)
    True
    """
    # Every argument is checked before anything runs or is written, and the
    # root is absolute, so figures do not depend on the working directory.
    chosen, seed, root = _check_arguments(names, size, seed, out_dir)
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise TypeError(
            "executor must be a concurrent.futures.Executor (something with a "
            f"submit method) or None; got {executor!r}."
        )
    _make_out_dir(root)
    version = _version()
    if executor is not None:
        env = environment(size=size, seed=seed, executor=_describe_executor(executor))
        return _run_on_executor(
            chosen,
            executor=executor,
            size=size,
            seed=seed,
            root=root,
            version=version,
            env=env,
            show_progress=show_progress,
        )
    env = environment(size=size, seed=seed, executor="none (this process)")
    done: list[Reproduction] = []
    try:
        for name in progress(
            chosen,
            desc="reproduce",
            disable=None if show_progress is None else not show_progress,
        ):
            done.append(_run_one(name, size=size, seed=seed, root=root))
            write_report(root, done, version=version, size=size, seed=seed, env=env)
    except KeyboardInterrupt:
        pending = chosen[len(done) :]
        write_report(
            root,
            done,
            version=version,
            size=size,
            seed=seed,
            pending=pending,
            env=env,
        )
        raise
    return done
