"""Every registered reproduction runs end to end at quick size and passes.

One row per paper: the fewest checks its report may hold and the number of
PNG figures it must write. A reproduction added to the registry without a row
here fails :func:`test_every_registered_reproduction_is_tested`.
"""

import json

import pytest

from mltheory.reproduce import list_reproductions, run_reproductions

EXPECTED = {
    # name: (at least this many checks, exactly this many figures)
    "numerics": (12, 3),
    "fast-slow": (9, 3),
    "dmft-sgf": (12, 3),
    "dmft-dln": (19, 3),
    "specgd": (9, 4),
    "shuffled": (9, 3),
    "bandits": (10, 3),
    "masked-samplers": (12, 3),
    "ot-maps": (16, 3),
    "xor": (20, 4),
    "sona": (13, 3),
}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_every_registered_reproduction_is_tested():
    assert set(list_reproductions()) == set(EXPECTED)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reproduction_passes_every_check(name, tmp_path):
    min_checks, n_figures = EXPECTED[name]
    (rep,) = run_reproductions([name], out_dir=tmp_path, seed=0)
    assert rep.error is None, rep.error
    failed = [(c.name, c.value, c.target) for c in rep.checks if not c.passed]
    assert not failed
    assert len(rep.checks) >= min_checks
    data = json.loads((tmp_path / "report.json").read_text())
    figures = data["reproductions"][0]["figures"]
    assert len(figures) == n_figures
    for fig in figures:
        assert (tmp_path / fig).read_bytes()[:8] == PNG_MAGIC
