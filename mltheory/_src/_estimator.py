"""The scikit-learn parameter protocol, once for every estimator class.

An estimator lists its constructor arguments in ``_PARAMS``; the mixin gives
it ``get_params``, ``set_params`` and a ``Name(arg=value, ...)`` repr, which is
what :func:`sklearn.base.clone`, grid searches and pipelines rely on (the
arguments are stored unchanged by ``__init__`` and checked in ``fit``).
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

_Self = TypeVar("_Self", bound="ParamsMixin")


class ParamsMixin:
    """``get_params``/``set_params`` and a repr from the class's ``_PARAMS``."""

    _PARAMS: ClassVar[tuple[str, ...]] = ()

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments, as scikit-learn's ``get_params``.

        Parameters
        ----------
        deep : bool, default=True
            Ignored (there are no nested estimators); kept for compatibility.

        Returns
        -------
        dict
            Parameter name to value.

        Examples
        --------
        >>> from mltheory.stats import ot, shuffled
        >>> shuffled.ShuffledRegression(ridge=0.5).get_params()["ridge"]
        0.5
        >>> ot.GaussianOTMap(reg=1e-6).get_params()["reg"]
        1e-06
        """
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self: _Self, **params: Any) -> _Self:
        """Set constructor arguments, as scikit-learn's ``set_params``.

        Parameters
        ----------
        **params : dict
            Parameter names and values.

        Returns
        -------
        estimator
            ``self``.

        Raises
        ------
        ValueError
            If a name is not a parameter (before any is set).

        Examples
        --------
        >>> from mltheory.stats import ot, shuffled
        >>> shuffled.ShuffledRegression().set_params(n_draws=50).n_draws
        50
        >>> ot.GaussianOTMap().set_params(n_components=3).n_components
        3
        """
        unknown = [name for name in params if name not in self._PARAMS]
        if unknown:
            raise ValueError(
                f"invalid parameter {unknown[0]!r} for {type(self).__name__}; valid: "
                f"{', '.join(self._PARAMS)}."
            )
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._PARAMS)
        return f"{type(self).__name__}({args})"
