"""Sphinx configuration for mltheory's documentation."""

import os
from importlib.metadata import version as _version

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
]

# No intersphinx: CI builds offline, and a failed inventory fetch is a warning (-W).
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "**/*.inc", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]

autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = f"mltheory {release}"
html_static_path = ["_static"]
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
}

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
