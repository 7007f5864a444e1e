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

from importlib.metadata import PackageNotFoundError, version

from mltheory import exceptions, numerics

try:
    __version__: str = version("mltheory")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__", "exceptions", "numerics"]
