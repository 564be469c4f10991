"""Backends registered by entry points: the built-ins, and a package installed beside us."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from jupyter_flow import plugins

ROOT = Path(__file__).resolve().parents[2]


def test_pyproject_registers_exactly_the_builtins() -> None:
    """A backend added to one list and not the other would vanish in a task container
    (no metadata) or from an installed package's entry points."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for kind in plugins.KINDS:
        assert project["entry-points"][plugins.group(kind)] == plugins.BUILTIN[kind]


def _install_toy(site: Path, entry: str) -> None:
    (site / "toy_backend.py").write_text(
        textwrap.dedent(
            """
            from jupyter_flow.runtime.executors.local import LocalExecutor

            class ToyExecutor(LocalExecutor):
                pass
            """
        )
    )
    dist = site / "toy_backend-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-backend\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[jupyter_flow.executor]\n{entry}\n")


def _python(site: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )


def test_an_installed_package_adds_an_executor(tmp_path: Path) -> None:
    _install_toy(tmp_path, "toy = toy_backend:ToyExecutor")
    done = _python(
        tmp_path,
        "from jupyter_flow import plugins; print(plugins.names('executor'));"
        "print(plugins.load('executor', 'toy').__name__)",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["['batch', 'kubernetes', 'local', 'toy']", "ToyExecutor"]


def test_a_package_cannot_take_over_a_builtin_name(tmp_path: Path) -> None:
    _install_toy(tmp_path, "local = toy_backend:ToyExecutor")
    done = _python(
        tmp_path,
        "from jupyter_flow import plugins; print(plugins.load('executor', 'local').__name__);"
        "print(plugins.names('executor'))",
    )
    assert done.stdout.splitlines() == ["LocalExecutor", "['batch', 'kubernetes', 'local']"]
    assert "toy-backend registers the executor 'local'" in done.stderr


def test_a_broken_registration_names_itself(tmp_path: Path) -> None:
    _install_toy(tmp_path, "gone = no_such_module:Executor")
    done = _python(
        tmp_path,
        "from jupyter_flow import plugins\n"
        "try:\n    plugins.load('executor', 'gone')\n"
        "except Exception as err:\n    print(err.format())",
    )
    assert "registered as no_such_module:Executor but cannot be loaded" in done.stdout
    assert "ModuleNotFoundError" in done.stdout


def test_a_builtin_loads_without_scanning_installed_packages() -> None:
    """Every command loads the local executor and the file store: importing
    importlib.metadata and scanning site-packages would cost each start tens of ms."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from jupyter_flow import plugins; plugins.load('executor', 'local');"
            "plugins.load('store', 'file'); print('importlib.metadata' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stdout.strip() == "False", done.stderr
