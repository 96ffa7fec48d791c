"""`make`'s installation as a newcomer sees it: one line before pip's silence, no warning box, this checkout."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, need


@pytest.mark.integration
@pytest.mark.long
def test_make_says_what_it_installs_and_shows_no_editable_warning(tmp_path):
    need(shutil.which("make") is not None, "make not installed (Debian package make)")
    venv = tmp_path / "venv"
    # As from a shell: not as a sub-make of `make test` (which would announce "Entering directory").
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "VIRTUAL_ENV")}
    done = subprocess.run(["make", f"VENV={venv}", f"PYTHON={sys._base_executable}", f"{venv}/.collector"],
                          capture_output=True, text=True, timeout=1200, cwd=ROOT, env=env)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    lines = done.stdout.splitlines()
    assert lines[:2] == [f"Updating pip in {venv}...",
                         f"Installing hdc-readiness with the collector's dependencies into {venv} "
                         "(a minute or so the first time)..."], output[-3000:]
    assert "Editable installation" not in output and "!!" not in output, output[-3000:]

    # Editable: the installed console script and `python -m` from the checkout both run this checkout.
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import collector; print(collector.__file__)"],
                           capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert where.returncode == 0 and where.stdout.strip() == str(ROOT / "collector" / "__init__.py"), where
    helped = subprocess.run([str(venv / "bin" / "hdc-collector"), "--help"], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert helped.returncode == 0 and "serve" in helped.stdout, helped.stderr
    module = subprocess.run([str(venv / "bin" / "python"), "-m", "collector.cli", "--help"], capture_output=True,
                            text=True, timeout=120, cwd=ROOT)
    assert module.returncode == 0 and "serve" in module.stdout, module.stderr
