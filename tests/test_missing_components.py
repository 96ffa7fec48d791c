"""The system-packages script and the test run's start and end summary of missing components, run for real."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, need
from support.paths import path_without

SCRIPT = ROOT / "tests" / "system-packages.sh"

# A suite of its own whose tests need components through the real conftest.need.
SUITE = '''
import importlib.util
import sys

sys.path.insert(0, {tests!r})
spec = importlib.util.spec_from_file_location("hdc_conftest", {conftest!r})
hdc_conftest = importlib.util.module_from_spec(spec)
sys.modules["hdc_conftest"] = hdc_conftest
spec.loader.exec_module(hdc_conftest)
pytest_configure = hdc_conftest.pytest_configure
'''
TESTS = '''
from hdc_conftest import need


def test_database_one():
    need(False, "PostgreSQL server binaries not installed (Debian package 'postgresql')")


def test_database_two():
    need(False, "PostgreSQL server binaries not installed (Debian package 'postgresql')")


def test_runuser():
    need(False, "runuser not installed (Debian package util-linux)")


def test_present():
    need(True, "never shown")
'''


def run_suite(tmp_path: Path, path: str, *args: str, require_real: bool = False) -> subprocess.CompletedProcess:
    (tmp_path / "conftest.py").write_text(SUITE.format(tests=str(ROOT / "tests"),
                                                      conftest=str(ROOT / "tests" / "conftest.py")))
    (tmp_path / "test_suite.py").write_text(TESTS)
    env = {k: v for k, v in os.environ.items() if k != "HDC_REQUIRE_REAL"}
    # Only the plugins this suite uses: hypothesis' and schemathesis' take seconds to import.
    env.update(PATH=path, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    if require_real:
        env["HDC_REQUIRE_REAL"] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
                           str(tmp_path), *args, str(tmp_path)], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path, env=env)


def test_script_lists_exactly_the_packages_dpkg_does_not_have():
    need(shutil.which("dpkg-query") is not None, "dpkg-query not installed (Debian package dpkg)")
    done = subprocess.run(["sh", str(SCRIPT), "--missing"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    listed = set(done.stdout.split())
    text = SCRIPT.read_text()
    named = set(text.split('PACKAGES="', 1)[1].split('"', 1)[0].split()) | {"prometheus"}
    assert {"postgresql", "prometheus", "snmpd", "iproute2", "openssh-server", "chromium"} <= named
    for package in named:
        state = subprocess.run(["dpkg-query", "-W", "-f", "${Status}", package], capture_output=True, text=True,
                               timeout=60)
        installed = state.returncode == 0 and state.stdout == "install ok installed"
        assert (package in listed) == (not installed), package


def test_script_refuses_unknown_options_and_says_how_to_call_it():
    done = subprocess.run(["sh", str(SCRIPT), "--everything"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "usage:" in done.stderr and done.stdout == ""


def test_run_names_missing_components_at_its_end_with_counts_and_the_command(tmp_path):
    done = run_suite(tmp_path, os.environ.get("PATH", ""), "-p", "xdist.plugin", "-n", "2")
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "1 passed, 3 skipped" in output, output[-3000:]
    tail = output[output.index("missing components"):]
    assert "Skipped for a missing component: postgresql (2 tests), util-linux (1 test)." in tail, tail
    assert "Install what the tests need with: tests/system-packages.sh (as root)" in tail


def test_run_without_dpkg_says_at_its_start_it_cannot_tell(tmp_path):
    done = run_suite(tmp_path, path_without(tmp_path / "bin", "dpkg-query"))
    output = done.stdout + done.stderr
    start = output.index("Not a Debian or Ubuntu machine: system-packages.sh cannot tell")
    assert start < output.index("sss.") < output.index("Skipped for a missing component: postgresql"), output


def test_require_real_still_fails_instead_of_skipping(tmp_path):
    done = run_suite(tmp_path, os.environ.get("PATH", ""), require_real=True)
    output = done.stdout + done.stderr
    assert done.returncode == 1 and "3 failed, 1 passed" in output, output[-3000:]
    assert "required component missing (HDC_REQUIRE_REAL=1): runuser not installed" in output
    assert "postgresql (2 tests)" not in output


def test_script_as_another_user_installs_nothing_and_says_it_needs_root():
    need(os.geteuid() == 0 and shutil.which("runuser") is not None,
         "needs root and runuser (Debian package util-linux)")
    as_nobody = ["runuser", "-u", "nobody", "--", "sh", str(SCRIPT)]
    refused = subprocess.run(as_nobody, capture_output=True, text=True, timeout=60, cwd="/")
    assert refused.returncode == 1 and "installing needs root" in refused.stderr and refused.stdout == "", refused
    quiet = subprocess.run([*as_nobody, "--if-root"], capture_output=True, text=True, timeout=60, cwd="/")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
