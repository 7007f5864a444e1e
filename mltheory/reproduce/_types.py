"""The records a reproduction returns: checks and the reproduction itself."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from mltheory._src._validation import check_scalar, describe

__all__ = ["Check", "Reproduction"]


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"value must be a real number; got {value!r}.") from err


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str; got {describe(name)}.")
    return name


@dataclasses.dataclass(frozen=True)
class Check:
    """One named pass/fail comparison: a measured value against its target.

    Build checks with the constructors :meth:`at_most`, :meth:`at_least`,
    :meth:`within` and :meth:`close_to`, which compute ``passed`` from the
    value, so a check can never be marked passed by hand. A NaN value fails;
    a NaN or infinite bound, ``lower > upper``, a negative ``tol`` or a name
    that is not a string is a :class:`ValueError`/:class:`TypeError`.

    Parameters
    ----------
    name : str
        What is compared, e.g. ``"RK4 global order (fitted slope)"``.
    value : float
        The measured value.
    target : str
        The acceptance rule in words, e.g. ``"in [3.8, 4.2]"``.
    passed : bool
        Whether ``value`` meets ``target``.

    Examples
    --------
    >>> from mltheory.reproduce import Check
    >>> check = Check.within("RK4 order", 4.03, 3.8, 4.2)
    >>> check.passed, check.target
    (True, 'in [3.8, 4.2]')
    >>> Check.at_most("max error", float("nan"), 1e-9).passed
    False
    """

    name: str
    value: float
    target: str
    passed: bool

    @classmethod
    def at_most(cls, name: str, value: Any, bound: float) -> Check:
        """Pass when ``value <= bound``.

        Parameters
        ----------
        name : str
            What is compared.
        value : float
            The measured value.
        bound : float
            The largest acceptable value.

        Returns
        -------
        Check
            The check, with ``passed`` computed.

        Examples
        --------
        >>> from mltheory.reproduce import Check
        >>> Check.at_most("error", 1e-12, 1e-9).passed
        True
        """
        v = _as_float(value)
        name, bound = _check_name(name), check_scalar(bound, name="bound")
        return cls(name, v, f"<= {_fmt(bound)}", bool(v <= bound))

    @classmethod
    def at_least(cls, name: str, value: Any, bound: float) -> Check:
        """Pass when ``value >= bound``.

        Parameters
        ----------
        name : str
            What is compared.
        value : float
            The measured value.
        bound : float
            The smallest acceptable value.

        Returns
        -------
        Check
            The check, with ``passed`` computed.

        Examples
        --------
        >>> from mltheory.reproduce import Check
        >>> Check.at_least("coverage", 0.93, 0.95).passed
        False
        """
        v = _as_float(value)
        name, bound = _check_name(name), check_scalar(bound, name="bound")
        return cls(name, v, f">= {_fmt(bound)}", bool(v >= bound))

    @classmethod
    def within(cls, name: str, value: Any, lower: float, upper: float) -> Check:
        """Pass when ``lower <= value <= upper``.

        Parameters
        ----------
        name : str
            What is compared.
        value : float
            The measured value.
        lower, upper : float
            The acceptable closed interval.

        Returns
        -------
        Check
            The check, with ``passed`` computed.

        Examples
        --------
        >>> from mltheory.reproduce import Check
        >>> Check.within("EM strong order", 0.52, 0.4, 0.6).passed
        True
        """
        v = _as_float(value)
        name = _check_name(name)
        lower = check_scalar(lower, name="lower")
        upper = check_scalar(upper, name="upper", lower=lower)
        ok = bool(lower <= v <= upper)
        return cls(name, v, f"in [{_fmt(lower)}, {_fmt(upper)}]", ok)

    @classmethod
    def close_to(cls, name: str, value: Any, expected: float, tol: float) -> Check:
        """Pass when ``|value - expected| <= tol``.

        Parameters
        ----------
        name : str
            What is compared.
        value : float
            The measured value.
        expected : float
            The predicted value.
        tol : float
            The allowed absolute deviation.

        Returns
        -------
        Check
            The check, with ``passed`` computed.

        Examples
        --------
        >>> from mltheory.reproduce import Check
        >>> Check.close_to("slope", 0.98, 1.0, 0.1).target
        '1 +- 0.1'
        """
        v = _as_float(value)
        name = _check_name(name)
        expected = check_scalar(expected, name="expected")
        tol = check_scalar(tol, name="tol", lower=0.0)
        ok = bool(abs(v - expected) <= tol)
        return cls(name, v, f"{_fmt(expected)} +- {_fmt(tol)}", ok)

    def to_json(self) -> dict[str, Any]:
        """The check as the JSON object of ``report.json``.

        Returns
        -------
        dict
            ``{"name", "value", "target", "passed"}``. A non-finite value
            (which always fails) is written as ``None`` (JSON ``null``), since
            NaN and inf are not JSON numbers.

        Examples
        --------
        >>> from mltheory.reproduce import Check
        >>> Check.at_most("error", 0.5, 1.0).to_json()["passed"]
        True
        """
        value: float | None = self.value if math.isfinite(self.value) else None
        return {
            "name": self.name,
            "value": value,
            "target": self.target,
            "passed": self.passed,
        }


@dataclasses.dataclass(frozen=True)
class Reproduction:
    """What one reproduction produced: figures, headline numbers and checks.

    Parameters
    ----------
    name : str
        The registry name, e.g. ``"numerics"``.
    title : str
        A one-line title for the report.
    figures : tuple of str
        Paths of the PNG figures written, relative to the output directory of
        the whole run (``"numerics/orders.png"``).
    checks : tuple of Check
        The pass/fail comparisons.
    numbers : dict of str to float, default={}
        Headline numbers worth reporting beside the checks.
    summary : str, default=""
        A paragraph for the report: what was run and what it shows.
    seconds : float, default=0.0
        Wall-clock time of the run.
    error : str or None, default=None
        The traceback if the reproduction raised instead of finishing.

    Examples
    --------
    >>> from mltheory.reproduce import Check, Reproduction
    >>> rep = Reproduction("demo", "A demo", (), (Check.at_most("e", 0.1, 1.0),))
    >>> rep.passed, rep.n_passed
    (True, 1)
    """

    name: str
    title: str
    figures: tuple[str, ...]
    checks: tuple[Check, ...]
    numbers: Mapping[str, float] = dataclasses.field(default_factory=dict)
    summary: str = ""
    seconds: float = 0.0
    error: str | None = None

    @property
    def passed(self) -> bool:
        """True when it finished, has at least one check, and every check passed."""
        return (
            self.error is None
            and bool(self.checks)
            and all(c.passed for c in self.checks)
        )

    @property
    def n_passed(self) -> int:
        """The number of checks that passed."""
        return sum(c.passed for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        """The reproduction as its entry in ``report.json``.

        Returns
        -------
        dict
            ``{"name", "seconds", "figures", "checks"}``, exactly the report's
            schema.

        Examples
        --------
        >>> from mltheory.reproduce import Check, Reproduction
        >>> rep = Reproduction("demo", "A demo", (), (Check.at_most("e", 0.1, 1.0),))
        >>> sorted(rep.to_json())
        ['checks', 'figures', 'name', 'seconds']
        """
        return {
            "name": self.name,
            "seconds": float(self.seconds),
            "figures": list(self.figures),
            "checks": [c.to_json() for c in self.checks],
        }
