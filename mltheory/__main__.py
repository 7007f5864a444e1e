"""``python -m mltheory``: the same command line as the ``mltheory`` script."""

from mltheory.reproduce._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
