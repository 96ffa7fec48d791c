"""`hdc-collector` refuses bad input with one line naming the problem, never a traceback."""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import cli, free_port


@pytest.mark.parametrize("args, needle", [
    (["serve", "--db", "not a url"], "not a database URL"),
    (["serve", "--db", "nosuchdb://x/y"], "driver not installed"),
    (["serve", "--port", "70000"], "--port"),
    (["token", "create", "--ward", "00070", "--registry", "/nonexistent/units.csv"], "cannot read"),
    (["simulate", "--url", "http://127.0.0.1:1", "--mode", "everything"], "--mode"),
    (["simulate", "--url", "http://127.0.0.1:1", "--units", "00070,99999"], "'99999' is not a unit code"),
    (["simulate", "--url", "http://127.0.0.1:1", "--units", " , "], "--units"),
    (["simulate", "--url", "http://127.0.0.1:1", "--devices-per-unit", "40-15"], "MIN <= MAX"),
    (["simulate", "--url", "http://127.0.0.1:1", "--devices-per-unit", "many"], "--devices-per-unit"),
    (["simulate", "--url", "http://127.0.0.1:1", "--devices-per-unit", "0"], "from 1 to 10000"),
    (["demo", "--port", "0", "--units", "00070,99999"], "'99999' is not a unit code"),
])
def test_bad_arguments(tmp_path, args, needle):
    if "--db" not in args and args[0] != "serve":
        args = [*args, "--db", f"sqlite:///{tmp_path}/s.sqlite3"]
    done = cli("collector.cli", *args, timeout=60)
    assert done.returncode != 0
    assert needle in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_baseline_stops_serve_naming_file_line_and_field(tmp_path):
    bad = tmp_path / "baseline.yaml"
    bad.write_text("name: x\nclasses:\n  workstation:\n    rules:\n      - id: memory\n        kind: min_memory\n"
                   "        severity: hard\n        min: 8 GB RAM\n", encoding="utf-8")
    done = cli("collector.cli", "serve", "--db", f"sqlite:///{tmp_path}/s.sqlite3", "--port", str(free_port()),
               "--baseline", str(bad), timeout=60)
    assert done.returncode == 1
    assert str(bad) in done.stderr and "line 8" in done.stderr and "min" in done.stderr
    assert "Traceback" not in done.stderr


def test_token_create_prints_only_the_token(tmp_path):
    done = cli("collector.cli", "token", "create", "--ward", "00070", "--db", f"sqlite:///{tmp_path}/s.sqlite3")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("hdc_") and done.stdout.count("\n") == 1


def test_token_create_refuses_unknown_ward(tmp_path):
    done = cli("collector.cli", "token", "create", "--ward", "70", "--db", f"sqlite:///{tmp_path}/s.sqlite3")
    assert done.returncode == 2
    assert "'70' is not a unit code" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_start_up_imports_no_web_stack_and_every_named_domain_error_exists():
    """Every CLI process starts without the web stack, the ingest, the sheet readers or the plan (start-up time
    of each hdc-collector process), and each error ``clean_errors`` names by module is an exception class there."""
    heavy = ("flask", "waitress", "werkzeug", "openpyxl", "prometheus_client", "collector.app",
             "collector.ingest.ingestor", "collector.readiness.plan", "collector.cloud.sheet",
             "collector.register.importer")
    script = ("import importlib, sys\nimport collector.cli\nfrom collector.cli import options\n"
              f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
              "for module, _ in options._DOMAIN_ERRORS: importlib.import_module(module)\n"
              "errors = options.domain_errors()\n"
              "print(len(errors) == len(options._DOMAIN_ERRORS), all(issubclass(e, Exception) for e in errors))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "True True"]
