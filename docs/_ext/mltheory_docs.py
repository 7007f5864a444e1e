"""mltheory's own Sphinx extension: what the site needs beyond stock Sphinx.

* ``.. mltheory-papers::`` and ``.. mltheory-reproductions::`` render the table
  of the ten papers and the list of registered reproductions from the package
  itself (:mod:`mltheory.reproduce`), so neither can go stale.
* Every plain-text ``arXiv:NNNN.NNNNN`` becomes a link to the abstract page.
* Maths renders with no network: MathJax (SVG output, no web fonts, so it also
  works from ``file://``) is copied into ``_static`` from the
  ``sphinx-mathjax-offline`` package of the docs extra.
* Long dotted names (page titles, navigation, prev/next links) get ``<wbr>``
  break opportunities after dots and underscores, so they wrap there instead of
  overflowing the column or breaking mid-word.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList
from sphinx.transforms import SphinxTransform

MATHJAX_FILE = "tex-svg-full.js"
MATHJAX_PATH = f"mathjax/{MATHJAX_FILE}"  # relative to _static
_ARXIV = re.compile(r"arXiv:\s?(\d{4}\.\d{4,5})(v\d+)?")
_SKIP_PARENTS = (
    nodes.literal,
    nodes.literal_block,
    nodes.reference,
    nodes.raw,
    nodes.math,
    nodes.math_block,
    nodes.FixedTextElement,
)


class _RstDirective(Directive):
    """A directive whose body is reStructuredText produced by :meth:`rst`."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        container = nodes.container()
        source = self.state.document.current_source or "<mltheory>"
        lines = StringList(self.rst().splitlines(), source=source)  # type: ignore[attr-defined]
        self.state.nested_parse(lines, self.content_offset, container)
        return container.children


class PapersDirective(_RstDirective):
    """The table of the ten papers (generated from ``mltheory.reproduce``)."""

    def rst(self) -> str:
        from mltheory.reproduce._papers import papers_rst

        env = self.state.document.settings.env
        return papers_rst(env.srcdir)


class ReproductionsDirective(_RstDirective):
    """The registered reproductions, from the registry itself."""

    def rst(self) -> str:
        from mltheory.reproduce._papers import PAPERS
        from mltheory.reproduce._registry import ENTRIES

        paper_of = {p.reproduction: p for p in PAPERS}
        out = []
        for entry in ENTRIES.values():
            out.append(f"``{entry.name}``")
            text = f"{entry.title}: {entry.description}."
            paper = paper_of.get(entry.name)
            if paper is not None:
                text += (
                    f" Paper: arXiv:{paper.arxiv}; theory: :doc:`/{paper.theory_page}`."
                )
            out.append(f"    {text}")
            out.append("")
        return "\n".join(out)


class ArxivLinks(SphinxTransform):
    """Turn every plain-text ``arXiv:ID`` into a link to its abstract page."""

    default_priority = 500

    def apply(self, **kwargs: object) -> None:
        for text in list(self.document.findall(nodes.Text)):
            parent = text.parent
            if parent is None or isinstance(parent, _SKIP_PARENTS):
                continue
            if any(isinstance(a, _SKIP_PARENTS) for a in _ancestors(parent)):
                continue
            value = str(text)
            if "arXiv" not in value or not _ARXIV.search(value):
                continue
            new: list[nodes.Node] = []
            pos = 0
            for m in _ARXIV.finditer(value):
                if m.start() > pos:
                    new.append(nodes.Text(value[pos : m.start()]))
                ident = m.group(1) + (m.group(2) or "")
                ref = nodes.reference(
                    m.group(0), m.group(0), refuri=f"https://arxiv.org/abs/{ident}"
                )
                new.append(ref)
                pos = m.end()
            if pos < len(value):
                new.append(nodes.Text(value[pos:]))
            parent.replace(text, new)


def _ancestors(node: nodes.Node):
    while node.parent is not None:
        node = node.parent
        yield node


def _copy_mathjax(app, exc) -> None:
    if exc is not None or app.builder.format != "html":
        return
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the docs need the package sphinx-mathjax-offline (pip install "
            "'mltheory[docs]') to ship MathJax with the site"
        )
    src = Path(spec.submodule_search_locations[0]) / "static" / "mathjax" / MATHJAX_FILE
    dest = Path(app.outdir) / "_static" / "mathjax"
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dest / MATHJAX_FILE)


# Break opportunities in long names: <wbr> after the dots and underscores of
# identifier-like words (dmft.<wbr>solve_<wbr>dmft) and, in words of 18 or more
# letters, between a lower-case and an upper-case letter
# (Permutation<wbr>Confidence<wbr>Set). Applied to text between tags, outside
# <script>, <style>, <pre>, <textarea> and <title>.
_PROTECTED = re.compile(
    r"(<(script|style|pre|textarea|title)\b.*?</\2>)", flags=re.DOTALL | re.IGNORECASE
)
_TEXT = re.compile(r">([^<>]+)<")
_DOTTED = re.compile(r"\b[A-Za-z_]\w*(?:[._]\w+)+\b")
_LONG_WORD = re.compile(r"\b\w{14,}\b")
_BREAK = re.compile(r"(?<=\w)([._])(?=\w)")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def _break_text(text: str) -> str:
    text = _LONG_WORD.sub(lambda m: _CAMEL.sub("\x00", m.group(0)), text)
    text = _DOTTED.sub(lambda m: _BREAK.sub("\\1\x00", m.group(0)), text)
    return text.replace("\x00", "<wbr>")


_SIG_PAREN = '<span class="sig-paren">(</span>'


def _add_breaks(html: str) -> str:
    # A signature may also wrap right after its opening parenthesis.
    html = html.replace(_SIG_PAREN, _SIG_PAREN + "<wbr>")
    parts = _PROTECTED.split(html)
    out = []
    # split() with two groups yields [text, block, tag-name, text, ...].
    for i, part in enumerate(parts):
        if i % 3 == 0:
            out.append(_TEXT.sub(lambda m: ">" + _break_text(m.group(1)) + "<", part))
        elif i % 3 == 1:
            out.append(part)
    return "".join(out)


def _wbr_long_names(app, exc) -> None:
    if exc is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    for page in out.rglob("*.html"):
        if any(part in ("_modules", "_sources", "_static") for part in page.parts):
            continue
        html = page.read_text(encoding="utf-8")
        new = _add_breaks(html)
        if new != html:
            page.write_text(new, encoding="utf-8")


def setup(app):
    app.add_directive("mltheory-papers", PapersDirective)
    app.add_directive("mltheory-reproductions", ReproductionsDirective)
    app.add_transform(ArxivLinks)
    app.connect("build-finished", _copy_mathjax)
    app.connect("build-finished", _wbr_long_names)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
