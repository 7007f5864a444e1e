"""Fixtures shared by several test directories.

``dask_client``: one real ``distributed.LocalCluster`` per test session (two
worker processes on loopback, one thread each, HTTP servers on free ports), for the tests
that run sweeps and reproductions as cluster tasks. Tests that use it skip when
the ``cluster`` extra (``dask[distributed]``) is not installed.
"""

import pytest


@pytest.fixture(scope="session")
def dask_client():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            # Port 0: any free port. With None the scheduler's HTTP server
            # takes 8787, and two xdist workers' clusters collide on it.
            dashboard_address="127.0.0.1:0",
            worker_dashboard_address="127.0.0.1:0",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client
