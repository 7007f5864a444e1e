"""``report.html``: valid, self-contained, every check and figure, failures shown."""

import base64
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from matplotlib.figure import Figure

from mltheory.reproduce import Check, Reproduction, _registry, _runner
from mltheory.reproduce._cli import main
from mltheory.reproduce._report import environment, write_report

XHTML = "{http://www.w3.org/1999/xhtml}"
VOID = {"meta", "img", "br", "hr", "link", "input"}


def _figure_run(*, size, key, out_dir):
    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1], [1, 0])
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "curve.png"
    fig.savefig(path, dpi=40)
    return Reproduction(
        name="html-pass",
        title="A passing <fake> & co",
        figures=(str(path),),
        checks=(
            Check.within("slope <in range>", 1.0, 0.9, 1.1),
            Check.at_most("error & bias", 1e-12, 1e-9),
        ),
        numbers={"slope": 1.0},
        summary="what ran",
    )


def _failing_run(*, size, key, out_dir):
    return Reproduction(
        name="html-fail",
        title="A failing fake",
        figures=(),
        checks=(
            Check.at_most("too large", 0.5, 1e-3),
            Check.at_least("fine", 2.0, 1.0),
        ),
    )


def _crash_run(*, size, key, out_dir):
    raise RuntimeError("broke <badly>")


RUNNERS = {
    "html-pass": _figure_run,
    "html-fail": _failing_run,
    "html-crash": _crash_run,
}


@pytest.fixture
def fakes(monkeypatch):
    for name in RUNNERS:
        monkeypatch.setitem(
            _registry.ENTRIES,
            name,
            _registry.Entry(name, "unused", f"{name} title", f"{name} text"),
        )
    monkeypatch.setattr(_runner, "load_runner", lambda n: RUNNERS[n])


class _Strict(HTMLParser):
    """Every non-void tag is closed in order; collects text and cells."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.text = [], []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        assert tag in VOID, f"<{tag}/> is not a void element"

    def handle_endtag(self, tag):
        assert tag not in VOID
        assert self.stack and self.stack.pop() == tag, f"unbalanced </{tag}>"

    def handle_data(self, data):
        self.text.append(data)


def _parse(html):
    parser = _Strict()
    parser.feed(html)
    parser.close()
    assert parser.stack == [], parser.stack
    # Polyglot markup: it is also well-formed XML.
    root = ET.fromstring(html.split("\n", 1)[1])
    assert root.tag == f"{XHTML}html"
    return root, " ".join(parser.text)


def _rows(root, cls):
    table = root.find(f".//{XHTML}table[@class='{cls}']")
    return table.findall(f".//{XHTML}tbody/{XHTML}tr")


def _cells(row):
    return ["".join(cell.itertext()) for cell in row]


def test_report_html_is_valid_and_complete(fakes, tmp_path):
    reps = run = _runner.run_reproductions(
        ["html-pass", "html-fail"], out_dir=tmp_path, seed=4
    )
    assert run is reps
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    root, text = _parse(html)
    # Every check by name, with its value and target.
    for rep in reps:
        for check in rep.checks:
            assert check.name in text
            assert check.target in text
    # The failing check is shown failing: its row is marked and says FAIL.
    (section,) = [
        s for s in root.iter(f"{XHTML}section") if s.get("id") == "repro-html-fail"
    ]
    rows = section.findall(f".//{XHTML}tbody/{XHTML}tr")
    assert [r.get("class") for r in rows] == ["fail", "pass"]
    assert _cells(rows[0]) == ["too large", "0.5", "<= 0.001", "FAIL"]
    assert _cells(rows[1])[-1] == "pass"
    summary = _rows(root, "summary")
    assert [r.get("class") for r in summary] == ["pass", "fail"]
    assert _cells(summary[1])[2:4] == ["1/2", f"{reps[1].seconds:.1f}"]
    verdict = root.find(f".//{XHTML}p[@class='verdict fail']")
    assert "".join(verdict.itertext()).startswith("FAIL: 3/4 checks pass")
    # Every figure is embedded (the PNG's own bytes) and nothing is linked.
    imgs = list(root.iter(f"{XHTML}img"))
    assert len(imgs) == 1
    png = (tmp_path / "html-pass" / "curve.png").read_bytes()
    assert imgs[0].get("src") == "data:image/png;base64," + base64.b64encode(
        png
    ).decode("ascii")
    assert imgs[0].get("alt") == "html-pass/curve.png"
    assert not re.search(r'(src|href)="(?!data:|#)', html)
    # The summary links to the sections.
    links = [a.get("href") for a in root.iter(f"{XHTML}a")]
    assert links == ["#repro-html-pass", "#repro-html-fail"]


def test_environment_section_shows_what_the_run_recorded(fakes, tmp_path):
    _runner.run_reproductions(["html-pass"], out_dir=tmp_path, seed=7)
    root, _ = _parse((tmp_path / "report.html").read_text(encoding="utf-8"))
    env = {_cells(r)[0]: _cells(r)[1] for r in _rows(root, "environment")}
    data = json.loads((tmp_path / "report.json").read_text())
    assert env == {
        k: (", ".join(v) if isinstance(v, list) else str(v))
        for k, v in data["environment"].items()
    }
    assert env["seed"] == "7" and env["size"] == "quick"
    assert env["devices"].startswith("cpu:0")
    for name in ("jax", "numpy", "matplotlib", "python", "mltheory"):
        assert env[name]
    # Whatever a run adds (an executor, a mesh) is shown without changes.
    extra = environment(size="full", seed=1, executor="ThreadPoolExecutor(2)")
    write_report(tmp_path, [], version="0", size="full", seed=1, env=extra)
    root, text = _parse((tmp_path / "report.html").read_text(encoding="utf-8"))
    assert "ThreadPoolExecutor(2)" in text
    env = {_cells(r)[0]: _cells(r)[1] for r in _rows(root, "environment")}
    assert env["executor"] == "ThreadPoolExecutor(2)"


def test_a_crash_and_an_interrupt_are_shown(fakes, tmp_path):
    _runner.run_reproductions(["html-crash", "html-pass"], out_dir=tmp_path)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    root, text = _parse(html)
    assert "RuntimeError: broke <badly>" in text  # escaped in the page
    assert "broke <badly>" not in html
    assert [r.get("class") for r in _rows(root, "summary")] == ["fail", "pass"]
    html = write_report(
        tmp_path, [], version="0", size="quick", seed=0, pending=["html-fail"]
    )[2].read_text(encoding="utf-8")
    _, text = _parse(html)
    assert "INCOMPLETE" in text and "Not run (interrupted): html-fail" in text


def test_cli_names_the_html_report(fakes, tmp_path, capsys):
    assert main(["reproduce", "html-pass", "--out", str(tmp_path)]) == 0
    assert "report.html" in capsys.readouterr().out
    assert (tmp_path / "report.html").stat().st_size > 1000
