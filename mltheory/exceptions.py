"""Exceptions and warnings raised by mltheory.

Every error that mltheory raises on bad input is a :class:`ValueError` or a
:class:`TypeError` whose message names the argument, what was expected and
what came. The classes here cover the remaining cases: using an estimator
before fitting it, an iteration that stopped before it converged, and a
computation that diverged (an error by default, or a warning when the caller
asks for the finite part of the result with ``on_divergence="warn"``).
"""

__all__ = [
    "ConvergenceWarning",
    "DivergenceError",
    "DivergenceWarning",
    "NotFittedError",
]


class NotFittedError(ValueError, AttributeError):
    """Raised when an estimator is used before ``fit``.

    It subclasses both :class:`ValueError` and :class:`AttributeError`, as
    scikit-learn's does, so that code written for either keeps working.

    Examples
    --------
    >>> from mltheory.exceptions import NotFittedError
    >>> try:
    ...     raise NotFittedError("This estimator is not fitted yet; call 'fit' first.")
    ... except ValueError as err:
    ...     print(type(err).__name__)
    NotFittedError
    """


class ConvergenceWarning(UserWarning):
    """Warned when an iterative solver stops before meeting its tolerance.

    Solvers that run under :func:`jax.jit` cannot raise; they return
    ``converged`` and ``n_iter`` fields, and their eager front ends turn a
    ``converged=False`` into this warning.

    Examples
    --------
    >>> import warnings
    >>> from mltheory.exceptions import ConvergenceWarning
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("stopped after 200 iterations", ConvergenceWarning)
    >>> caught[0].category.__name__
    'ConvergenceWarning'
    """


class DivergenceError(ArithmeticError):
    """Raised when a computation diverges (non-finite or exploding values).

    Used instead of silently returning NaN, for example when a fixed-point
    solver's iterates blow up or a time stepper leaves its stability region.
    Every fixed-step integrator and simulator raises it by default
    (``on_divergence="raise"``), naming the first non-finite step, its time
    and the likely cause; see :func:`mltheory.numerics.handle_divergence`.

    Examples
    --------
    >>> from mltheory.exceptions import DivergenceError
    >>> try:
    ...     raise DivergenceError("iterates became non-finite at step 17")
    ... except ArithmeticError as err:
    ...     print(err)
    iterates became non-finite at step 17
    """


class DivergenceWarning(RuntimeWarning):
    """Warned when a computation diverged and the finite part is returned.

    Integrators and simulators called with ``on_divergence="warn"`` warn this
    (naming the first non-finite step) and return the result truncated to the
    records before it; see :func:`mltheory.numerics.handle_divergence`.

    Examples
    --------
    >>> import warnings
    >>> from mltheory.exceptions import DivergenceWarning
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("the state became non-finite at step 17", DivergenceWarning)
    >>> caught[0].category.__name__
    'DivergenceWarning'
    """
