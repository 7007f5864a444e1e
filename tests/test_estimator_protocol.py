"""The scikit-learn parameter protocol shared by every estimator class.

One mixin (``mltheory._src._estimator.ParamsMixin``) gives the shuffled
regression and the OT-map estimators ``get_params``, ``set_params`` and their
repr; these tests hold all of them to the protocol scikit-learn's ``clone``
relies on.
"""

import pytest

from mltheory.stats import ot, shuffled

ESTIMATORS = [
    lambda: shuffled.ShuffledRegression(ridge=0.5, n_draws=30),
    lambda: ot.GaussianOTMap(reg=1e-6, n_components=3),
    lambda: ot.ProjectedOTMap(n_components=4, inner="emd"),
    lambda: ot.GammaSieveOTMap(ot.GammaSmoothness([1.0, 2.0]), T=3),
]


@pytest.mark.parametrize("make", ESTIMATORS)
def test_params_round_trip_through_the_constructor(make):
    est = make()
    params = est.get_params()
    assert set(params) == set(type(est)._PARAMS)
    rebuilt = type(est)(**params)
    assert rebuilt.get_params() == params
    # The repr names every parameter with its value, in constructor syntax.
    assert repr(est) == repr(rebuilt)
    assert repr(est).startswith(f"{type(est).__name__}(")
    for name in params:
        assert f"{name}=" in repr(est)


@pytest.mark.parametrize("make", ESTIMATORS)
def test_set_params_rejects_an_unknown_name_before_setting_any(make):
    est = make()
    before = est.get_params()
    first = next(iter(before))
    with pytest.raises(ValueError, match=r"invalid parameter 'nonsense' for .*valid: "):
        est.set_params(**{first: "changed", "nonsense": 1})
    assert est.get_params() == before


@pytest.mark.parametrize("make", ESTIMATORS)
def test_sklearn_clone_copies_the_parameters(make):
    base = pytest.importorskip("sklearn.base")
    est = make()
    copy = base.clone(est)
    assert copy is not est
    assert copy.get_params() == est.get_params()
