"""Progress bars stay silent off a terminal; deprecations warn and say so in docs."""

import pytest

from mltheory._src._deprecation import deprecated, deprecated_module_getattr
from mltheory._src._progress import progress, progress_enabled


def test_progress_is_transparent(monkeypatch):
    monkeypatch.setenv("MLTHEORY_PROGRESS", "0")
    assert list(progress(range(4), desc="x")) == [0, 1, 2, 3]
    assert not progress_enabled()


def test_progress_env_and_explicit_flags(monkeypatch, capsys):
    monkeypatch.setenv("MLTHEORY_PROGRESS", "1")
    assert progress_enabled()
    assert list(progress(range(3), desc="bar")) == [0, 1, 2]
    assert "bar" in capsys.readouterr().err  # tqdm drew on stderr
    assert not progress_enabled(disable=True)
    monkeypatch.setenv("MLTHEORY_PROGRESS", "")
    assert progress_enabled(disable=False)


def test_deprecated_function_warns_and_documents():
    @deprecated(since="0.2", removed_in="0.4", alternative="new_name")
    def old_name(x):
        """Return x."""
        return x

    with pytest.warns(
        DeprecationWarning,
        match=r"old_name is deprecated since mltheory 0.2.*Use new_name",
    ):
        assert old_name(3) == 3
    assert ".. deprecated:: 0.2" in old_name.__doc__


def test_deprecated_module_getattr():
    getter = deprecated_module_getattr(
        "mltheory.fake", {"old": (42, "new", "0.2", "0.4")}
    )
    with pytest.warns(DeprecationWarning, match=r"mltheory.fake.old is deprecated"):
        assert getter("old") == 42
    with pytest.raises(AttributeError, match="has no attribute 'missing'"):
        getter("missing")
