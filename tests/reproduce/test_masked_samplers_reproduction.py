"""The ``masked-samplers`` reproduction runs end to end and every check passes."""

import json

import pytest

from mltheory.reproduce import run_reproductions


@pytest.mark.slow
def test_masked_samplers_reproduction_passes(tmp_path):
    (rep,) = run_reproductions(["masked-samplers"], out_dir=tmp_path, seed=0)
    failed = [(c.name, c.value, c.target) for c in rep.checks if not c.passed]
    assert rep.error is None, rep.error
    assert not failed
    assert len(rep.checks) >= 12
    data = json.loads((tmp_path / "report.json").read_text())
    figures = data["reproductions"][0]["figures"]
    assert len(figures) == 3
    for fig in figures:
        assert (tmp_path / fig).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
