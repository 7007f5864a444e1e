"""The docs' own tools: the papers table, the Sphinx extension, the site check.

The browser check itself runs in CI after the docs build (``.ci/run``); here
its pieces that need no browser are tested, and so is its refusal to pass
without a browser.
"""

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from mltheory.reproduce import _papers, list_reproductions

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ext():
    pytest.importorskip("sphinx")
    return _load("mltheory_docs", DOCS / "_ext" / "mltheory_docs.py")


def test_ten_papers_with_the_architecture_reproduction_names():
    names = [p.reproduction for p in _papers.PAPERS]
    assert len(_papers.PAPERS) == 10 and len(set(names)) == 10
    architecture = "fast-slow dmft-sgf dmft-dln xor specgd shuffled ot-maps bandits"
    assert set(names) == {*architecture.split(), "masked-samplers", "sona"}
    assert {p.arxiv for p in _papers.PAPERS} == set(
        re.findall(r"\[(\d{4}\.\d{5})\]", (ROOT / "README.md").read_text())
    )


def test_status_follows_the_registry():
    registered = set(list_reproductions())
    for paper in _papers.PAPERS:
        assert paper.available == (paper.reproduction in registered)
        assert paper.status == ("available" if paper.available else "coming")
    # Every registered paper reproduction is one of the ten (numerics is the
    # shared layer's own).
    assert registered - {p.reproduction for p in _papers.PAPERS} == {"numerics"}


def test_readme_table_is_generated_and_current(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text((ROOT / "README.md").read_text())
    changed = _papers.update_readme(readme)
    assert not changed, (
        "README.md's table of papers is stale: run python -m mltheory.reproduce._papers"
    )
    text = readme.read_text()
    for paper in _papers.PAPERS:
        row = next(line for line in text.splitlines() if paper.arxiv in line)
        assert row.rstrip().endswith(f"| {paper.status} |")


def test_update_readme_needs_its_markers(tmp_path):
    bare = tmp_path / "README.md"
    bare.write_text("# no table here\n")
    with pytest.raises(ValueError, match="no generated papers block"):
        _papers.update_readme(bare)


def test_docs_table_links_only_pages_that_exist(tmp_path):
    (tmp_path / "theory").mkdir()
    (tmp_path / "theory" / "fast_slow.rst").write_text("x")
    text = _papers.papers_rst(tmp_path)
    assert text.count("* - `") == 10
    assert ":doc:`theory </theory/fast_slow>`" in text
    assert "/theory/xor>" not in text  # no page, no link


def test_break_opportunities_at_dots_underscores_and_camel_case(ext):
    html = (
        "<title>dmft.solve_dmft</title><h1>shuffled.PermutationConfidenceSet</h1>"
        "<p>see <code>mltheory.dynamics.dmft</code>, e.g. 1.5</p>"
        "<pre>x.y_z</pre><script>a.b_c</script>"
    )
    out = ext._add_breaks(html)
    assert "<title>dmft.solve_dmft</title>" in out  # titles untouched
    assert "shuffled.<wbr>Permutation<wbr>Confidence<wbr>Set" in out
    assert "mltheory.<wbr>dynamics.<wbr>dmft" in out
    assert "1.5" in out  # numbers untouched
    assert "<pre>x.y_z</pre>" in out and "<script>a.b_c</script>" in out


def test_arxiv_pattern(ext):
    m = ext._ARXIV.search("see arXiv:2510.01930v2, 2025")
    assert m is not None and m.group(1) == "2510.01930" and m.group(2) == "v2"
    assert ext._ARXIV.search("arXiv 123") is None


def test_site_check_refuses_to_pass_without_a_browser(tmp_path, capsys, monkeypatch):
    check_site = _load("check_site", DOCS / "check_site.py")
    # No build: status 2 and a message.
    assert check_site.main([str(tmp_path)]) == 2
    assert "no built site" in capsys.readouterr().out
    # A build but no browser anywhere: status 2, "NOT checked".
    (tmp_path / "index.html").write_text("<html></html>")
    monkeypatch.setattr(check_site, "_find_chromium", lambda given: None)
    assert check_site.main([str(tmp_path)]) == 2
    assert "NOT checked" in capsys.readouterr().out


def test_ci_runs_the_site_check_and_the_release_steps():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python docs/check_site.py docs/_build/html" in ci
    for step in ("python -m build", "twine check", "reproduce --quick numerics"):
        assert step in ci
