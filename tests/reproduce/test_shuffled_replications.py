"""The shuffled reproduction's repetition loops run through ``numerics.sweep``.

Each replication draws from its own generator, so the studies give the same
numbers in this process, on a thread pool, on a real Dask cluster (two worker
processes on loopback) and with any number of replications per task.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from mltheory.reproduce import _shuffled

STUDIES = {
    "localisation": _shuffled._localisation_study,
    "estimator": _shuffled._estimator_study,
}


def _assert_same(a, b, where):
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], dict):
            assert a[k] == b[k], (where, k)
        else:
            np.testing.assert_array_equal(
                np.asarray(a[k]), np.asarray(b[k]), err_msg=f"{where}: {k}"
            )


@pytest.mark.parametrize("study", sorted(STUDIES))
def test_study_numbers_do_not_depend_on_the_executor_or_the_chunks(
    study, dask_client, monkeypatch
):
    run = STUDIES[study]
    seed = np.random.SeedSequence(11)
    local, checks = run(seed, "quick")
    assert all(c.passed for c in checks)
    _assert_same(
        local, run(seed, "quick", executor=dask_client.get_executor())[0], "Dask"
    )
    # a thread pool, and 7 replications per task instead of 10
    monkeypatch.setattr(_shuffled, "_REPS_PER_CHUNK", 7)
    with ThreadPoolExecutor(2) as pool:
        _assert_same(local, run(seed, "quick", executor=pool)[0], "threads, 7 a task")


def test_the_seed_decides_the_replications():
    run = _shuffled._localisation_study
    first, _ = run(np.random.SeedSequence(11), "quick")
    again, _ = run(np.random.SeedSequence(11), "quick")  # a new object, same seed
    other, _ = run(np.random.SeedSequence(12), "quick")
    _assert_same(first, again, "the same seed")
    assert not np.array_equal(first["set_size"], other["set_size"])


def test_replications_see_independent_generators():
    seen = _shuffled._replicate(
        lambda rng, param: (rng.standard_normal(3), np.asarray(param)),
        np.random.SeedSequence(3),
        np.arange(25),
        desc="test",
    )
    draws, params = seen
    assert draws.shape == (25, 3)
    np.testing.assert_array_equal(params, np.arange(25))  # rows in grid order
    assert len({tuple(row) for row in draws}) == 25  # one generator per row
