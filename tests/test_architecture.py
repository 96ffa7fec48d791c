"""The house rules of docs/architecture.md hold, and the check that holds them sees every import.

``make lint`` runs import-linter with the contracts in pyproject.toml; these
tests run it too, and show on a package made here that an import written
inside a function (the way import cycles used to hide) breaks a contract
just as a module-level one does.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
TOP_LEVEL = {"__init__.py", "app.py", "context.py", "settings.py", "i18n.py"}


def _lint_imports(cwd: Path, *args: str, path: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": path} if path else dict(os.environ)
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env)


def test_the_project_keeps_its_import_contracts():
    done = _lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_the_collector_top_level_holds_only_the_factory_its_context_and_rooms():
    modules = {p.name for p in (ROOT / "collector").glob("*.py")}
    assert modules == TOP_LEVEL, f"modules at collector/'s top level that belong in a room: {modules - TOP_LEVEL}"
    rooms = {p.name for p in (ROOT / "collector").iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert {"http", "ingest", "store", "readiness", "metrics", "cloud", "simulate", "cli"} <= rooms


def _package(tmp_path: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = tmp_path / "roomy" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def test_imports_inside_functions_break_contracts_too(tmp_path):
    _package(tmp_path, {
        "__init__.py": '"""A package with a cycle hidden in a function."""\n',
        "page.py": '''\
            """A blueprint-like module."""


            def render():
                from roomy import api  # inside a function, as the cycles of old were

                return api.NAME
            ''',
        "api.py": '''\
            """Another one, importing the first at module level."""
            import roomy.page

            NAME = "api"
            ''',
    })
    (tmp_path / "contracts.toml").write_text(textwrap.dedent('''\
        [tool.importlinter]
        root_packages = ["roomy"]

        [[tool.importlinter.contracts]]
        name = "siblings form no cycle"
        type = "acyclic_siblings"
        ancestors = ["roomy"]

        [[tool.importlinter.contracts]]
        name = "blueprints never import each other"
        type = "independence"
        modules = ["roomy.page", "roomy.api"]
        '''), encoding="utf-8")
    done = _lint_imports(tmp_path, "--config", "contracts.toml", path=str(tmp_path))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 broken" in done.stdout
    assert "roomy.page -> roomy.api" in done.stdout
