"""The layering of ARCHITECTURE.md holds: imports point down only.

A subject subpackage (dynamics, optim, stats, generative) imports
:mod:`mltheory.numerics` and :mod:`mltheory._src`, never
:mod:`mltheory.reproduce` and never another subject subpackage — except
dynamics -> optim, whose simulators run the optimisers. :mod:`mltheory.numerics`
knows nothing above it.
"""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "mltheory"
SUBJECTS = ("dynamics", "optim", "stats", "generative")
ALLOWED = {
    "numerics": {"numerics", "_src", "exceptions"},
    "dynamics": {"dynamics", "optim", "numerics", "_src", "exceptions"},
    "optim": {"optim", "numerics", "_src", "exceptions"},
    "stats": {"stats", "numerics", "_src", "exceptions"},
    "generative": {"generative", "numerics", "_src", "exceptions"},
}


def _mltheory_imports(path: Path) -> set[str]:
    """The second component of every ``mltheory.X`` the file imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "mltheory":
                names = [f"mltheory.{alias.name}" for alias in node.names]
        found |= {n.split(".")[1] for n in names if n.startswith("mltheory.")}
    return found


FILES = [
    (layer, path) for layer in ALLOWED for path in sorted((PKG / layer).rglob("*.py"))
]


def test_every_layer_has_files():
    assert {layer for layer, _ in FILES} == set(ALLOWED)


@pytest.mark.parametrize(
    ("layer", "path"), FILES, ids=[str(p.relative_to(PKG)) for _, p in FILES]
)
def test_imports_point_down_only(layer, path):
    bad = _mltheory_imports(path) - ALLOWED[layer]
    assert not bad, f"{path.relative_to(PKG)} imports mltheory.{sorted(bad)}"
