"""A pytest plugin that says, at the start and the end of a run, which real components are missing.

``conftest.need`` skips a test whose component (PostgreSQL, Prometheus, ...) is not installed; a run that
only shows "160 skipped" lets a newcomer believe the suite passed. This plugin names the missing Debian
packages before the first test (from ``tests/system-packages.sh --missing``), counts the skips by the
package their reason names, and ends with the one command that installs them.
"""
from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Optional

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "system-packages.sh"
INSTALL = f"{SCRIPT.relative_to(SCRIPT.parents[1])} (as root)"
# How need()'s reasons name the package: "... (Debian package 'postgresql')" or "(Debian package systemd)".
PACKAGE = re.compile(r"Debian package '?([a-z0-9][a-z0-9.+-]*)'?")


def missing_packages() -> Optional[list]:
    """The packages the script lists that are not installed; None where it cannot tell (not Debian)."""
    try:
        done = subprocess.run(["sh", str(SCRIPT), "--missing"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.split() if done.returncode == 0 else None


def skip_reason(report: pytest.TestReport) -> Optional[str]:
    """The reason of a skip, as ``pytest.skip`` wrote it into the report."""
    if not report.skipped or not isinstance(report.longrepr, tuple):
        return None
    return report.longrepr[2].removeprefix("Skipped: ")


def component(reason: str) -> str:
    """The Debian package a skip's reason names, else the reason itself."""
    found = PACKAGE.search(reason)
    return found.group(1) if found else reason


class MissingComponents:
    """Registered by conftest in the process that reports (the xdist controller, or the only process)."""

    def __init__(self) -> None:
        self.missing = missing_packages()
        self.skips: Counter = Counter()

    def _write(self, config: pytest.Config, lines: list) -> None:
        terminal = config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None:
            for line in lines:
                terminal.write_line(line, yellow=True)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.missing is None:
            lines = [f"Not a Debian or Ubuntu machine: {SCRIPT.name} cannot tell which real components are "
                     "installed; the tests that need a missing one skip, counted at the end."]
        elif self.missing:
            lines = [f"Missing components, their tests will skip: {', '.join(self.missing)}. "
                     f"Install them with: {INSTALL}"]
        else:
            lines = []
        self._write(session.config, lines)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        reason = skip_reason(report)
        if reason is not None:
            self.skips[component(reason)] += 1

    def pytest_terminal_summary(self, terminalreporter, exitstatus: int, config: pytest.Config) -> None:
        if not self.skips and not self.missing:
            return
        counted = ", ".join(f"{name} ({count} {'test' if count == 1 else 'tests'})"
                            for name, count in sorted(self.skips.items()))
        lines = [f"Skipped for a missing component: {counted or 'none'}."]
        not_skipped = [name for name in self.missing or [] if name not in self.skips]
        if not_skipped:
            lines.append(f"Also not installed (no test skipped for it in this run): {', '.join(not_skipped)}.")
        lines.append(f"Install what the tests need with: {INSTALL}, then run make test again.")
        terminalreporter.write_sep("=", "missing components", yellow=True)
        for line in lines:
            terminalreporter.write_line(line, yellow=True)


def register(config: pytest.Config) -> None:
    """Register the plugin where the run is reported: not in xdist's workers, whose reports reach the controller."""
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(MissingComponents(), "hdc-missing-components")
