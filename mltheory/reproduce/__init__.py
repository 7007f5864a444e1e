"""Reproductions of the papers' headline results, with pass/fail checks.

Each paper has a reproduction registered by name. Running it writes PNG
figures and returns :class:`Check` objects (theory vs simulation, estimate vs
truth, measured vs predicted rate), which the harness collects into
``report.json`` and ``report.md``. From the command line::

    mltheory reproduce                # every paper, quick size
    mltheory reproduce numerics --out results --seed 1
    mltheory reproduce --list

Writing a new reproduction: add a module with
``run(*, size, key, out_dir) -> Reproduction`` and register it in
``mltheory/reproduce/_registry.py``.
"""

from mltheory.reproduce._runner import list_reproductions, run_reproductions
from mltheory.reproduce._types import Check, Reproduction

__all__ = ["Check", "Reproduction", "list_reproductions", "run_reproductions"]
