"""The reproduction harness: report files, their schema, exit codes, interruption."""

import json

import pytest

from mltheory.reproduce import (
    Check,
    Reproduction,
    _registry,
    _runner,
    list_reproductions,
    run_reproductions,
)
from mltheory.reproduce._cli import main
from mltheory.reproduce._plotting import new_figure, save_figure


def _passing_run(*, size, key, out_dir):
    fig, axes = new_figure(1)
    axes[0, 0].plot([0, 1], [0, 1])
    path = save_figure(fig, out_dir, "line")
    return Reproduction(
        name="fake-pass",
        title="A passing fake",
        figures=(str(path),),
        checks=(
            Check.within("slope", 1.0, 0.9, 1.1),
            Check.at_most("error", 1e-12, 1e-9),
        ),
        numbers={"slope": 1.0, "nan number": float("nan")},
        summary=f"size={size}",
    )


def _failing_run(*, size, key, out_dir):
    return Reproduction(
        name="fake-fail",
        title="A failing fake",
        figures=(),
        checks=(
            Check.at_most("error", 0.5, 1e-3),
            Check.at_most("nan", float("nan"), 1.0),
        ),
    )


def _crashing_run(*, size, key, out_dir):
    raise RuntimeError("the fake reproduction broke")


def _interrupted_run(*, size, key, out_dir):
    raise KeyboardInterrupt


RUNNERS = {
    "fake-pass": _passing_run,
    "fake-fail": _failing_run,
    "fake-crash": _crashing_run,
    "fake-interrupt": _interrupted_run,
}


@pytest.fixture
def fakes(monkeypatch):
    for name in RUNNERS:
        monkeypatch.setitem(
            _registry.ENTRIES,
            name,
            _registry.Entry(name, "unused", f"{name} title", f"{name} text"),
        )
    real = _runner.load_runner
    monkeypatch.setattr(
        _runner, "load_runner", lambda n: RUNNERS[n] if n in RUNNERS else real(n)
    )


def test_report_json_has_exactly_the_documented_shape(fakes, tmp_path):
    reps = run_reproductions(["fake-pass", "fake-fail"], out_dir=tmp_path, seed=3)
    data = json.loads((tmp_path / "report.json").read_text())
    assert set(data) == {
        "mltheory_version",
        "size",
        "seed",
        "environment",
        "reproductions",
    }
    assert data["size"] == "quick" and data["seed"] == 3
    assert isinstance(data["mltheory_version"], str)
    assert [r["name"] for r in data["reproductions"]] == ["fake-pass", "fake-fail"]
    for rep in data["reproductions"]:
        assert set(rep) == {"name", "seconds", "figures", "checks"}
        assert isinstance(rep["seconds"], float)
        for check in rep["checks"]:
            assert set(check) == {"name", "value", "target", "passed"}
            assert isinstance(check["passed"], bool)
    first = data["reproductions"][0]
    assert first["figures"] == ["fake-pass/line.png"]
    assert (tmp_path / "fake-pass" / "line.png").stat().st_size > 1000
    assert [c["passed"] for c in data["reproductions"][1]["checks"]] == [False, False]
    assert data["reproductions"][1]["checks"][1]["value"] is None  # NaN is not JSON
    assert reps[0].passed and not reps[1].passed
    numbers = json.loads((tmp_path / "fake-pass" / "numbers.json").read_text())
    assert numbers == {"slope": 1.0, "nan number": None}


def test_report_md_lists_every_check_and_embeds_figures(fakes, tmp_path):
    run_reproductions(["fake-pass", "fake-fail"], out_dir=tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert "**FAIL**: 2/4 checks pass" in md
    assert "| slope | 1 | in [0.9, 1.1] | pass |" in md
    assert "| error | 0.5 | <= 0.001 | **FAIL** |" in md
    assert "![line](fake-pass/line.png)" in md


def test_a_crash_is_a_failed_reproduction_and_the_others_still_run(fakes, tmp_path):
    reps = run_reproductions(["fake-crash", "fake-pass"], out_dir=tmp_path)
    assert not reps[0].passed and "the fake reproduction broke" in reps[0].error
    assert reps[1].passed
    assert (
        "RuntimeError: the fake reproduction broke"
        in (tmp_path / "report.md").read_text()
    )


def test_an_interrupted_run_keeps_what_finished(fakes, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        run_reproductions(
            ["fake-pass", "fake-interrupt", "fake-fail"], out_dir=tmp_path
        )
    data = json.loads((tmp_path / "report.json").read_text())
    assert [r["name"] for r in data["reproductions"]] == ["fake-pass"]
    md = (tmp_path / "report.md").read_text()
    assert "INCOMPLETE" in md and "fake-interrupt, fake-fail" in md


def test_the_key_depends_on_seed_and_name(fakes, tmp_path, monkeypatch):
    seen = {}

    def record(*, size, key, out_dir):
        seen[(out_dir.name, size)] = key
        return _passing_run(size=size, key=key, out_dir=out_dir)

    monkeypatch.setitem(RUNNERS, "fake-pass", record)
    run_reproductions(["fake-pass"], out_dir=tmp_path, seed=0, size="full")
    k0 = seen[("fake-pass", "full")]
    run_reproductions(["fake-pass"], out_dir=tmp_path, seed=1, size="full")
    k1 = seen[("fake-pass", "full")]
    import jax

    assert not (jax.random.key_data(k0) == jax.random.key_data(k1)).all()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"names": ["nope"]},
            ValueError,
            r"reproduction name must be one of .*'numerics'.*got 'nope'",
        ),
        ({"names": []}, ValueError, "names must not be empty"),
        (
            {"size": "medium"},
            ValueError,
            r"size must be one of 'quick', 'full'; got 'medium'",
        ),
        ({"seed": -1}, ValueError, "seed must be >= 0"),
        ({"seed": 1.5}, TypeError, "seed must be an integer"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        run_reproductions(out_dir=tmp_path, **kwargs)


def test_cli_exit_codes(fakes, tmp_path, capsys):
    assert main(["reproduce", "fake-pass", "--out", str(tmp_path)]) == 0
    assert "PASS fake-pass: 2/2 checks pass" in capsys.readouterr().out
    assert main(["reproduce", "fake-pass", "fake-fail", "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "FAILED error: 0.5 (target <= 0.001)" in out
    assert main(["reproduce", "fake-interrupt", "--out", str(tmp_path)]) == 130


def test_cli_bad_arguments_exit_2_and_list_valid_names(tmp_path, capsys):
    assert main(["reproduce", "no-such-paper", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown reproduction 'no-such-paper'" in err and "numerics" in err
    assert main(["reproduce", "--seed", "-3", "--out", str(tmp_path)]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "--seed", "x"])
    assert exc.value.code == 2
    assert main([]) == 2


def test_cli_list(capsys):
    assert main(["reproduce", "--list"]) == 0
    out = capsys.readouterr().out
    for name in list_reproductions():
        assert name in out


def test_checks_compute_their_own_verdict():
    assert Check.close_to("x", 1.05, 1.0, 0.1).passed
    assert not Check.close_to("x", 1.2, 1.0, 0.1).passed
    assert not Check.within("x", float("nan"), 0, 1).passed
    assert not Check.at_least("x", float("nan"), 0).passed
    with pytest.raises(TypeError, match="value must be a real number"):
        Check.at_most("x", "small", 1.0)
    assert not Reproduction("r", "t", (), ()).passed  # no checks is not a pass


def test_cli_default_size_is_quick_and_full_is_opt_in(monkeypatch, tmp_path):
    sizes = []

    def record(names, *, size, seed, out_dir, show_progress):
        sizes.append(size)
        return []

    monkeypatch.setattr("mltheory.reproduce.run_reproductions", record)
    main(["reproduce", "--out", str(tmp_path)])
    main(["reproduce", "--full", "--out", str(tmp_path)])
    main(["reproduce", "--quick", "--out", str(tmp_path)])
    assert sizes == ["quick", "full", "quick"]


def test_a_relative_out_dir_works_from_the_working_directory(
    fakes, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (rep,) = run_reproductions(["fake-pass"], out_dir="results")
    assert rep.passed, rep.error
    assert rep.figures == ("fake-pass/line.png",)
    assert (tmp_path / "results" / "fake-pass" / "line.png").exists()
    assert main(["reproduce", "fake-pass", "--out", "cli-results"]) == 0
    data = json.loads((tmp_path / "cli-results" / "report.json").read_text())
    assert data["reproductions"][0]["figures"] == ["fake-pass/line.png"]
