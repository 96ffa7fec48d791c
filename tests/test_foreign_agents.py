"""Unmodified peer agents from Debian (fusioninventory-agent, ocsinventory-agent) against a real collector.

Each agent first writes its inventory of this machine locally, so the test
knows what it will send; then it is pointed at the collector with the
settings the README documents, and the stored device must match both what
the agent sent and what this machine is.
"""
from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path

import psutil
import pytest
import requests
import sqlalchemy as sa
from defusedxml.ElementTree import parse

from collector.store.engine import make_engine
from collector.store.tables import devices

from conftest import need, start_collector, stop

pytestmark = pytest.mark.integration
MiB = 1024 ** 2


def _need_agent(command: str, package: str) -> str:
    path = shutil.which(command)
    need(path is not None, f"{command} not installed (Debian package '{package}')")
    need(os.geteuid() == 0, f"{command} keeps its state under /var/lib and must run as root here")
    return path  # type: ignore[return-value]


def _run(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "[error]" not in output, output[-3000:]
    return output


def _local_inventory(argv: list[str], directory: Path) -> dict:
    """What the agent sends, read from the inventory it writes in local mode."""
    _run(argv)
    files = sorted(directory.glob("*.ocs")) + sorted(directory.glob("*.xml"))
    assert files, f"no inventory written in {directory}"
    content = parse(str(files[-1]), forbid_dtd=True).getroot().find("CONTENT")
    return {"software": len(content.findall("SOFTWARES")), "memory_mib": int(content.findtext("HARDWARE/MEMORY"))}


@pytest.fixture(scope="module")
def fusion_sent(tmp_path_factory) -> dict:
    agent = _need_agent("fusioninventory-agent", "fusioninventory-agent")
    out = tmp_path_factory.mktemp("fusion-local")
    return _local_inventory([agent, "--local", str(out), "--tasks=inventory"], out)


@pytest.fixture(scope="module")
def ocs_sent(tmp_path_factory) -> dict:
    agent = _need_agent("ocsinventory-agent", "ocsinventory-agent")
    out, var = tmp_path_factory.mktemp("ocs-local"), tmp_path_factory.mktemp("ocs-var")
    return _local_inventory([agent, f"--local={out}", f"--basevardir={var}"], out)


def _device(db_url: str, source: str) -> dict:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(devices).where(devices.c.agent_source == source)).mappings().all()
    finally:
        engine.dispose()
    assert len(rows) == 1, rows
    return dict(rows[0])


def _pretty_os_name() -> str:
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    raise AssertionError("no PRETTY_NAME in /etc/os-release")


def _package_version(package: str) -> str:
    return subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True,
                          check=True).stdout


def _check_matches_this_machine(device: dict, sent: dict, collector) -> None:
    assert device["software_count"] == sent["software"]
    assert device["memory_bytes"] == sent["memory_mib"] * MiB
    assert 0 <= psutil.virtual_memory().total - device["memory_bytes"] < MiB
    assert device["os_name"] == _pretty_os_name()
    ward = requests.get(collector.url + "/api/v1/wards/00070", timeout=30).json()
    listed = {d["device_id"]: d for d in ward["devices"]}
    assert listed[device["device_id"]]["verdict"] in ("ready", "ready_with_conditions", "not_ready", "unknown")


def test_fusioninventory_and_ocs_agents_file_this_machine(tmp_path, fusion_sent, ocs_sent):
    """One collector (the protocols run on both backends in test_foreign_http); each agent once, in turn."""
    fusion = _need_agent("fusioninventory-agent", "fusioninventory-agent")
    ocs = _need_agent("ocsinventory-agent", "ocsinventory-agent")
    collector = start_collector(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    try:
        token = collector.token("00070")
        output = _run([fusion, "--server", f"{collector.url}/inventory", "--user", "00070", "--password", token,
                       "--tasks=inventory", "--logger=stderr", "--debug"])
        assert "authentication required, submitting credentials" in output
        device = _device(collector.db_url, "fusioninventory")
        _check_matches_this_machine(device, fusion_sent, collector)
        assert device["agent_version"] in _package_version("fusioninventory-agent")  # 2.6-3 in 1:2.6-3

        # The OCS agent base64-decodes --user and --password, and answers only the realm it is given.
        user, password = (base64.b64encode(v.encode()).decode() for v in ("00070", token))
        _run([ocs, "--nolocal", f"--server={collector.url}/ocsinventory", f"--user={user}",
              f"--password={password}", "--realm=hdc-readiness", f"--basevardir={tmp_path / 'ocs'}"])
        device = _device(collector.db_url, "ocs")
        _check_matches_this_machine(device, ocs_sent, collector)
        assert device["agent_version"] in _package_version("ocsinventory-agent")  # 2.10.0 in 2:2.10.0-3
    finally:
        stop(collector.proc)
