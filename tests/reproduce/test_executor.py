"""Reproductions as executor tasks: ``run_reproductions(executor=...)`` and
``mltheory reproduce --executor ADDRESS`` (one report, files written here).
"""

import concurrent.futures as cf
import json

import pytest

from mltheory.reproduce import (
    Check,
    Reproduction,
    _registry,
    _runner,
    run_reproductions,
)
from mltheory.reproduce._cli import main
from mltheory.reproduce._plotting import new_figure, save_figure


def _with_figure(*, size, key, out_dir):
    fig, axes = new_figure(1)
    axes[0, 0].plot([0, 1], [1, 0])
    path = save_figure(fig, out_dir, "line")
    return Reproduction(
        name="task-figure",
        title="writes a figure",
        figures=(str(path),),
        checks=(Check.at_most("error", 0.0, 1.0),),
        numbers={"size is full": float(size == "full")},
    )


def _failing(*, size, key, out_dir):
    return Reproduction("task-fail", "fails", (), (Check.at_most("e", 2.0, 1.0),))


def _crashing(*, size, key, out_dir):
    raise RuntimeError("the task broke")


RUNNERS = {"task-figure": _with_figure, "task-fail": _failing, "task-crash": _crashing}


@pytest.fixture
def task_fakes(monkeypatch):
    for name in RUNNERS:
        monkeypatch.setitem(
            _registry.ENTRIES, name, _registry.Entry(name, "unused", name, name)
        )
    real = _runner.load_runner
    monkeypatch.setattr(
        _runner, "load_runner", lambda n: RUNNERS[n] if n in RUNNERS else real(n)
    )


def test_reproductions_as_tasks_give_one_report_in_the_given_order(
    task_fakes, tmp_path
):
    names = ["task-crash", "task-figure", "task-fail"]
    with cf.ThreadPoolExecutor(2) as pool:
        reps = run_reproductions(names, out_dir=tmp_path, executor=pool, size="full")
    assert [r.name for r in reps] == names
    assert [r.passed for r in reps] == [False, True, False]
    assert "the task broke" in reps[0].error
    # The figure came back as bytes and was written under out_dir here.
    assert reps[1].figures == ("task-figure/line.png",)
    assert (tmp_path / "task-figure" / "line.png").read_bytes()[:4] == b"\x89PNG"
    data = json.loads((tmp_path / "report.json").read_text())
    env = data["environment"]
    assert env["executor"] == "ThreadPoolExecutor (2 workers)"
    assert env["size"] == "full" and env["devices"]
    assert [line.split(":")[0] for line in env["ran on"]] == names
    assert [r["name"] for r in data["reproductions"]] == names
    assert json.loads((tmp_path / "task-figure" / "numbers.json").read_text()) == {
        "size is full": 1.0
    }


def test_a_local_run_records_no_executor(task_fakes, tmp_path):
    run_reproductions(["task-fail"], out_dir=tmp_path)
    env = json.loads((tmp_path / "report.json").read_text())["environment"]
    assert env["executor"] == "none (this process)"


def test_executor_bad_inputs(tmp_path, capsys):
    with pytest.raises(TypeError, match=r"executor must be a concurrent.futures"):
        run_reproductions(["numerics"], out_dir=tmp_path, executor="tcp://x:1")
    assert (
        main(["reproduce", "numerics", "--executor", "nowhere", "--out", str(tmp_path)])
        == 2
    )
    assert "cannot reach a Dask scheduler at 'nowhere'" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_runs_reproductions_on_a_dask_cluster(dask_client, tmp_path):
    address = dask_client.scheduler.address
    out = tmp_path / "results"
    code = main(
        [
            "reproduce",
            "numerics",
            "--executor",
            address,
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    data = json.loads((out / "report.json").read_text())
    env = data["environment"]
    assert env["executor"].startswith(f"dask {address}: 2 workers")
    assert env["ran on"][0].startswith("numerics: ")
    (rep,) = data["reproductions"]
    assert rep["figures"] and all((out / f).is_file() for f in rep["figures"])
    assert all(c["passed"] for c in rep["checks"])
