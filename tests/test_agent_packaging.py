"""The schedule files that live with the agent: systemd units checked by systemd itself, the cron
line, the Windows task, and the one claim the hardened unit rests on (root without capabilities
still reads root-only DMI files).
"""
from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from agents.cli import EXIT_RETRY
from agents.config import DEFAULT_OUTBOX_DIR

from conftest import need

PACKAGING = Path(__file__).resolve().parents[1] / "agents" / "packaging"
SYSTEMD = PACKAGING / "systemd"
TASK_NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str
    parser.read(SYSTEMD / name)
    return parser


def installed_units(tmp_path: Path, with_drop_in: bool) -> Path:
    """The units as Ansible installs them, ExecStart pointing at this machine's hdc-agent."""
    agent = shutil.which("hdc-agent", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                            os.environ.get("PATH", "")]))
    need(agent is not None, "the hdc-agent console script is not installed")
    target = tmp_path / "units"
    shutil.copytree(SYSTEMD, target)
    if not with_drop_in:
        shutil.rmtree(target / "hdc-agent.service.d")
    service = target / "hdc-agent.service"
    service.write_text(service.read_text().replace("/opt/hdc-agent/bin/hdc-agent", agent))
    return target


@pytest.mark.parametrize("with_drop_in", [False, True], ids=["root-without-capabilities", "dynamic-user"])
def test_systemd_accepts_the_units_and_rates_them_hardened(tmp_path, with_drop_in):
    need(shutil.which("systemd-analyze") is not None, "systemd-analyze not installed (Debian package systemd)")
    units = installed_units(tmp_path, with_drop_in)
    verify = subprocess.run(["systemd-analyze", "verify", "hdc-agent.service", "hdc-agent.timer"], cwd=units,
                            capture_output=True, text=True, timeout=60)
    assert (verify.returncode, verify.stderr) == (0, "")  # unknown keys and bad values are only warnings
    security = subprocess.run(["systemd-analyze", "security", "--offline=yes", "hdc-agent.service"], cwd=units,
                              capture_output=True, text=True, timeout=60)
    found = re.search(r"Overall exposure level for hdc-agent.service: ([0-9.]+)", security.stdout)
    assert found, security.stdout[-500:] + security.stderr
    assert float(found.group(1)) <= (1.4 if with_drop_in else 1.7)


def test_service_is_a_hardened_one_shot_with_its_outbox_as_state():
    service = unit("hdc-agent.service")["Service"]
    assert service["Type"] == "oneshot"
    assert service["ExecStart"].endswith("hdc-agent run --config /etc/hdc-agent/agent.yaml")
    assert service["SuccessExitStatus"] == str(EXIT_RETRY)  # queued is not a failure; 2 still is
    assert service["CapabilityBoundingSet"] == "" and service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict" and service["ProtectHome"] == "yes"
    assert f"/var/lib/{service['StateDirectory']}/outbox" == DEFAULT_OUTBOX_DIR
    assert "User" not in service  # uid 0: the DMI serial and SMBIOS UUID are root-only files
    drop_in = (SYSTEMD / "hdc-agent.service.d" / "unprivileged.conf").read_text()
    assert "DynamicUser=yes" in drop_in and "token_file: /run/credentials/hdc-agent.service/token" in drop_in


def test_timer_spreads_a_fleet_over_the_hour():
    timer = unit("hdc-agent.timer")["Timer"]
    assert timer["OnCalendar"] == "hourly" and timer["RandomizedDelaySec"] == "45min"
    assert timer["FixedRandomDelay"] == "yes" and timer["Persistent"] == "yes"


def test_cron_alternative_waits_at_random_and_never_overlaps():
    lines = [line for line in (PACKAGING / "cron" / "hdc-agent").read_text().splitlines()
             if line and not line.startswith("#") and "=" not in line.split()[0]]
    [entry] = lines
    minute, hour, day, month, weekday, user, command = entry.split(None, 6)
    assert (minute, hour, day, month, weekday, user) == ("0", "*", "*", "*", "*", "root")
    assert "sleep $(shuf -i 0-2700 -n 1)" in command and "flock -n" in command
    assert "hdc-agent run --config /etc/hdc-agent/agent.yaml" in command


def test_windows_task_runs_the_agent_as_system_with_a_random_delay():
    task = ET.parse(PACKAGING / "windows" / "hdc-agent-task.xml").getroot()
    principal = task.find("t:Principals/t:Principal", TASK_NS)
    assert principal.findtext("t:UserId", namespaces=TASK_NS) == "S-1-5-18"  # LocalSystem
    assert principal.findtext("t:RunLevel", namespaces=TASK_NS) == "HighestAvailable"
    assert task.find("t:Actions", TASK_NS).get("Context") == principal.get("id")
    calendar = task.find("t:Triggers/t:CalendarTrigger", TASK_NS)
    assert calendar.findtext("t:RandomDelay", namespaces=TASK_NS) == "PT45M"
    assert calendar.findtext("t:Repetition/t:Interval", namespaces=TASK_NS) == "PT1H"
    settings = task.find("t:Settings", TASK_NS)
    assert settings.findtext("t:MultipleInstancesPolicy", namespaces=TASK_NS) == "IgnoreNew"
    assert settings.findtext("t:RunOnlyIfNetworkAvailable", namespaces=TASK_NS) == "false"  # offline queues
    exec_ = task.find("t:Actions/t:Exec", TASK_NS)
    assert exec_.findtext("t:Command", namespaces=TASK_NS).endswith('hdc-agent.exe"')
    assert exec_.findtext("t:Arguments", namespaces=TASK_NS).startswith("run --config ")


def test_root_without_capabilities_still_reads_root_only_dmi_files(tmp_path):
    """What CapabilityBoundingSet= leaves: uid 0 reads a 0400 root file as its owner, not another's."""
    need(os.geteuid() == 0 and shutil.which("setpriv") is not None, "needs root and setpriv (util-linux)")
    dmi = tmp_path / "sys" / "class" / "dmi" / "id"
    dmi.mkdir(parents=True)
    (dmi / "product_serial").write_text("PF3ABCDE\n")
    (dmi / "product_serial").chmod(0o400)
    (dmi / "product_name").write_text("ThinkCentre M720q\n")
    (dmi / "product_name").chmod(0o400)
    os.chown(dmi / "product_name", 65534, 65534)  # owned by nobody: only CAP_DAC_OVERRIDE could read it
    code = ("import sys; from agents.probe_linux import read_device; notes = []; "
            "d = read_device(sys.argv[1], notes); print(d['serial'], d['model']); print(notes)")
    done = subprocess.run(["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--", sys.executable, "-c", code,
                           str(tmp_path)], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    serial_and_model, notes = done.stdout.splitlines()
    assert serial_and_model == "PF3ABCDE None"
    assert "model: /sys/class/dmi/id/product_name permission denied" in notes
