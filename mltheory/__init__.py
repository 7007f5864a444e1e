"""mltheory: recent machine-learning theory as fast, tested tools.

The package is organised as subject subpackages (:mod:`mltheory.dynamics`,
:mod:`mltheory.optim`, :mod:`mltheory.stats`, :mod:`mltheory.generative`) over
one shared layer of jitted kernels, :mod:`mltheory.numerics`, with the paper
reproductions in :mod:`mltheory.reproduce`.

Importing :mod:`mltheory` never changes global JAX settings. Enable float64
yourself where you need it::

    import jax
    jax.config.update("jax_enable_x64", True)
"""

import importlib
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType

from mltheory import exceptions, numerics

try:
    __version__: str = version("mltheory")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

# The subject subpackages load on first use (``mltheory.optim``), so that
# ``import mltheory`` stays light and a subpackage's dependencies (optax, ...)
# are paid only by those who use it.
_SUBPACKAGES = ("dynamics", "generative", "optim", "reproduce", "stats")


def __getattr__(name: str) -> ModuleType:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"mltheory.{name}")
    raise AttributeError(f"module 'mltheory' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_SUBPACKAGES])


__all__ = ["__version__", "exceptions", "numerics"]
