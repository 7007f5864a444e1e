"""Sphinx configuration for mltheory's documentation."""

import os
import sys
from importlib.metadata import version as _version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

os.environ.setdefault("MLTHEORY_PROGRESS", "0")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

project = "mltheory"
author = "The mltheory developers"
copyright = "2026, The mltheory developers"
release = _version("mltheory")
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
    "sphinx_copybutton",
    "mltheory_docs",  # docs/_ext: offline maths, arXiv links, generated tables
]

# No intersphinx: CI builds offline, and a failed inventory fetch is a warning (-W).
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "**/*.inc", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]

autosummary_generate = True
add_module_names = False  # signatures show the short name; the page shows the path
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = f"mltheory {release}"
html_static_path = ["_static"]
html_css_files = ["mltheory.css"]
html_js_files = ["mltheory.js"]
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    # Every top-level section fits the header at 1400 px: nothing hides
    # under "More".
    "header_links_before_dropdown": 8,
}

# Maths with no network: MathJax's SVG output, shipped in _static by the
# mltheory_docs extension (SVG needs no web fonts, so file:// works too).
mathjax_path = "mathjax/tex-svg-full.js"
mathjax3_config = {"svg": {"fontCache": "global"}}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "doc_module": ("mltheory",),
    "backreferences_dir": "gen_modules/backreferences",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "within_subsection_order": "FileNameSortKey",
    # No "Computation times" pages: they are build logs, not documentation,
    # and they cluttered the search results.
    "write_computation_times": False,
}

myst_heading_anchors = 3


def _autosummary_stubs_for_includes(app):
    """Generate the stub pages of the ``*.inc`` API fragments.

    ``autosummary_generate`` only scans documents, and the fragments are
    excluded as documents (they are included into the API pages), so their
    ``autosummary`` tables would otherwise link to pages that never get made.
    """
    from pathlib import Path

    from sphinx.ext.autosummary.generate import generate_autosummary_docs

    includes = sorted(str(p) for p in Path(app.srcdir).glob("api/*.inc"))
    generate_autosummary_docs(includes, app=app, suffix=".rst", overwrite=False)


def setup(app):
    app.connect("builder-inited", _autosummary_stubs_for_includes)
