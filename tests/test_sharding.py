"""Results with a device mesh equal the results without one, on four CPU devices.

The checks live in ``tests/_sharding_checks.py`` and run in one fresh process,
because JAX fixes its device count when its backend starts
(``jax.config.update("jax_num_cpu_devices", 4)`` must come first).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("_sharding_checks.py")
ROOT = SCRIPT.parents[1]
EXPECTED = ["mesh_helpers"]


@pytest.mark.slow
def test_sharded_results_equal_unsharded_on_four_cpu_devices():
    env = dict(os.environ, JAX_PLATFORMS="cpu", MLTHEORY_PROGRESS="0")
    # The checked-out package wins over an installed one, as in this process.
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p
    )
    proc = subprocess.run(
        [sys.executable, str(SCRIPT)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, report
    for name in EXPECTED:
        assert f"ok {name} " in proc.stdout, report
