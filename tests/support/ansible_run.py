"""What the Ansible role tests share: the controller's tools and environment, this checkout's wheel and the
dependency wheels the controller ships, and reading a run's output host by host."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, need
from support.wheelhouse import AGENT_DIR as AGENT_WHEELS
from support.wheelhouse import COLLECTOR_DIR as COLLECTOR_WHEELS
from support.wheelhouse import missing as wheelhouse_missing

ANSIBLE = ROOT / "ansible"
BIN = Path(sys.executable).parent
# The distribution's own Python, as a fresh server has it: it runs the modules on the target and creates
# the roles' virtual environments, so the dependency wheels are fetched for its version.
PYTHON = "/usr/bin/python3"


def tool(name: str) -> str:
    path = BIN / name
    need(path.exists(), f"{name} not installed (pip install '.[test]')")
    return str(path)


def ansible_env(tmp: Path) -> dict:
    env = dict(os.environ, ANSIBLE_CONFIG=str(ANSIBLE / "ansible.cfg"), ANSIBLE_LOCAL_TEMP=str(tmp / "local"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_STDOUT_CALLBACK="default",
               PATH=os.pathsep.join([str(BIN), os.environ.get("PATH", "")]))
    env.pop("ANSIBLE_VAULT_PASSWORD_FILE", None)
    return env


def fresh_python_version() -> str:
    """PYTHON's version, once it is known to be a fresh server's: no `packaging`, which Ansible's pip module needs."""
    need(Path(PYTHON).exists(), f"{PYTHON} not installed (Debian package python3)")
    probe = subprocess.run([PYTHON, "-c", "import sys; import ensurepip, venv; print('%d.%d' % sys.version_info[:2])"],
                           capture_output=True, text=True, timeout=60)
    need(probe.returncode == 0, f"{PYTHON} cannot make a virtual environment (Debian package python3-venv)")
    packaging = subprocess.run([PYTHON, "-c", "import packaging"], capture_output=True, text=True, timeout=60)
    assert packaging.returncode != 0, (f"{PYTHON} imports `packaging`: not a fresh server's Python "
                                       "(apt-get remove python3-packaging)")
    return probe.stdout.strip()


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> dict:
    """A fresh wheel of this checkout, and the wheels of the agent's and the collector's dependencies, as the
    controller ships them."""
    base = tmp_path_factory.mktemp("wheelhouse")
    source = base / "source"  # a copy: setuptools' build/ in the checkout may hold stale modules
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for package in ("agents", "collector", "inventory", "dashboards"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    built = subprocess.run([*pip, "wheel", "--no-deps", "-q", "-w", str(base / "dist"), str(source)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    wheel, = (base / "dist").glob("hdc_readiness-*.whl")
    # psutil and PyYAML for every agent; the `snmp` extra's for the machine that probes its unit over SNMP:
    # fetched at install time for this Python's version (`make`), so the test talks only to this machine.
    fresh_python_version()
    for folder in (AGENT_WHEELS, COLLECTOR_WHEELS):
        need(wheelhouse_missing(folder) is None, wheelhouse_missing(folder) or "")
    return {"wheel": wheel, "deps": AGENT_WHEELS, "collector_deps": COLLECTOR_WHEELS}


def recap(output: str, host: str = "target") -> dict:
    """The PLAY RECAP counts of ``host``."""
    found = re.search(rf"^{re.escape(host)}\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)",
                      output, re.M)
    assert found, output[-3000:]
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, found.groups())))


# A line of the default callback that reports one host's result: "changed: [h]", "fatal: [h]: FAILED! => ...".
_RESULT = re.compile(r"^[a-z]+: \[([^\]]+)\]", re.M)


def by_host(output: str) -> dict[str, str]:
    """One run's output for several hosts, split by host: each result line with what the callback printed for it
    just before (the diff of a changed file, a failure's message), so a host's checks read its own results."""
    parts: dict[str, str] = {}
    start = 0
    for found in _RESULT.finditer(output):
        if found.start() < start:
            continue
        end = _line_end(output, found.end())
        while output.startswith((" ", "}"), end):  # the result's own lines ("fatal: [h]: FAILED! => {" ... "}")
            end = _line_end(output, end)
        chunk = output[start:end]
        # What precedes the result since the last task header belongs to it (a diff); the header itself does not.
        header = max(chunk.rfind("\nTASK ["), chunk.rfind("\nRUNNING HANDLER ["))
        if header >= 0:
            chunk = chunk[chunk.index("\n", header + 1) + 1:]
        parts[found.group(1)] = parts.get(found.group(1), "") + chunk
        start = end
    return parts


def _line_end(text: str, at: int) -> int:
    end = text.find("\n", at)
    return len(text) if end < 0 else end + 1


def task_hosts(output: str, task: str) -> set[str]:
    """The hosts the first task whose name holds ``task`` reported a result for (ok, changed, skipping, failed)."""
    found = re.search(rf"^TASK \[[^\]]*{re.escape(task)}[^\]]*\]", output, re.M)
    if not found:
        return set()
    following = re.search(r"^(TASK|RUNNING HANDLER|PLAY RECAP) ", output[found.end():], re.M)
    section = output[found.end():found.end() + following.start() if following else len(output)]
    return set(_RESULT.findall(section))
