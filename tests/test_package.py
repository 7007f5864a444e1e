"""The installed package: version, import hygiene, the command line, the README."""

import re
import subprocess
import sys
from pathlib import Path

import mltheory

ROOT = Path(__file__).resolve().parents[1]


def _run(*args, **kwargs):
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=ROOT, **kwargs
    )


def test_version_comes_from_the_package_metadata():
    from importlib.metadata import version

    assert mltheory.__version__ == version("mltheory")
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'version = "{mltheory.__version__}"' in pyproject


def test_import_does_not_touch_global_jax_flags():
    code = (
        "import jax; before = jax.config.jax_enable_x64; "
        "import mltheory, mltheory.numerics, "
        "mltheory.reproduce; print(before, jax.config.jax_enable_x64)"
    )
    out = _run("-c", code, env={"JAX_PLATFORMS": "cpu", "PATH": ""})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


def test_import_is_light():
    # matplotlib and tqdm are imported lazily, only where they are used
    code = (
        "import sys, mltheory, mltheory.reproduce; "
        "print('matplotlib' in sys.modules, 'tqdm' in sys.modules)"
    )
    out = _run("-c", code, env={"JAX_PLATFORMS": "cpu", "PATH": ""})
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_python_dash_m_and_version_flag():
    out = _run("-m", "mltheory", "--version")
    assert (
        out.returncode == 0 and out.stdout.strip() == f"mltheory {mltheory.__version__}"
    )
    out = _run("-m", "mltheory", "reproduce", "--list")
    assert out.returncode == 0 and out.stdout.startswith("numerics")
    out = _run("-m", "mltheory", "reproduce", "not-a-paper")
    assert out.returncode == 2 and "valid names are: numerics" in out.stderr


def test_readme_states_the_two_commands_and_ci_runs_them():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    for command in (
        "pip install . && mltheory reproduce",
        'pip install ".[test]" && pytest',
    ):
        assert f"\n{command}\n" in readme
        assert f"\n{command}\n" in ci
    assert "sphinx-build -W" in ci


def test_readme_lists_the_ten_papers():
    readme = (ROOT / "README.md").read_text()
    ids = set(re.findall(r"\[(\d{4}\.\d{5})\]", readme))
    assert len(ids) == 10


def test_readme_quick_start_runs(capsys):
    readme = (ROOT / "README.md").read_text()
    block = (
        readme.split("## Quick start", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    )
    assert len(block.strip().splitlines()) <= 10
    exec(compile(block, "README quick start", "exec"), {})
    out = capsys.readouterr().out
    first = float(out.splitlines()[0])
    assert abs(first - 0.6065306597126334) < 1e-12  # E[cos Z] = exp(-1/2)
