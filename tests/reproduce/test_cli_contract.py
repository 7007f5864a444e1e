"""The command line's contract: bad arguments exit 2 with one line on stderr and
leave nothing behind; exit 1 is reserved for failed checks."""

import os
import re

import pytest

from mltheory.reproduce import run_reproductions
from mltheory.reproduce._cli import main


def _listing(path):
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*"))


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (
            ["--out", "afile/sub"],
            r"--out .*afile/sub is under .*afile, which is a file",
        ),
        (["--out", "afile"], r"--out must be a directory; got an existing file"),
        (["--seed", "18446744073709551616"], r"--seed must be <= 4294967295"),
        (["--seed", "-1"], r"--seed must be >= 0; got -1"),
        (["nosuch"], r"unknown reproduction 'nosuch'; valid names are"),
    ],
)
def test_bad_arguments_exit_2_with_one_line_and_write_nothing(
    tmp_path, capsys, monkeypatch, args, match
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    before = _listing(tmp_path)
    names = [] if args == ["nosuch"] else ["numerics"]
    assert main(["reproduce", *names, *args]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and re.search(match, lines[0]), lines
    assert _listing(tmp_path) == before  # no results folder, no report


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere"
)
def test_an_unwritable_out_exits_2_and_writes_nothing(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert main(["reproduce", "numerics", "--out", str(locked / "a" / "b")]) == 2
        assert "cannot be created or written" in capsys.readouterr().err
        assert _listing(tmp_path) == ["locked"]
    finally:
        locked.chmod(0o700)


def test_a_failed_mkdir_removes_what_it_created(tmp_path, monkeypatch):
    # A folder that cannot be made (the parent exists but mkdir fails): the
    # intermediate folders created on the way are removed again.
    from mltheory.reproduce import _runner

    target = tmp_path / "a" / "b" / "c"
    real_mkdir = type(target).mkdir

    def failing_mkdir(self, *args, **kwargs):
        real_mkdir(self.parent.parent, exist_ok=True)  # creates "a"
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(type(target), "mkdir", failing_mkdir)
    with pytest.raises(ValueError, match=r"cannot be created or written: Permission"):
        _runner._make_out_dir(target)
    monkeypatch.undo()
    assert _listing(tmp_path) == []


def test_argparse_errors_are_one_line_with_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["reproduce", "--seed", "abc"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "invalid int value: 'abc'" in err[0]


def test_the_python_api_checks_the_same_way(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ValueError, match=r"out_dir must be a directory"):
        run_reproductions(["numerics"], out_dir=tmp_path / "afile")
    with pytest.raises(ValueError, match=r"seed must be <= 4294967295"):
        run_reproductions(["numerics"], seed=2**64, out_dir=tmp_path / "o")
    with pytest.raises(TypeError, match=r"names must be a list"):
        run_reproductions("numerics", out_dir=tmp_path / "o")
    with pytest.raises(TypeError, match=r"out_dir must be a str or a path"):
        run_reproductions(["numerics"], out_dir=None)
    assert not (tmp_path / "o").exists()
