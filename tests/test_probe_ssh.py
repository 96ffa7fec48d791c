"""`hdc-agent probe-ssh` against a real OpenSSH server on a loopback port, and a real collector.

The server logs in the user running the tests, on this machine; so the SSH
probe reads the same machine the local agent reads, and both reports must
say the same (free disk space aside: it moves between the two readings).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from agents.outbox import Outbox
from collector.store.engine import make_engine
from collector.store.tables import devices
from inventory.schema import validate_report

from conftest import ROOT, cli, free_port, start_collector, stop
from support.sshd import targets_file

pytestmark = pytest.mark.integration


def agent_config(tmp_path: Path, url: str, token: str = "t0k3n-unused") -> Path:
    path = tmp_path / "agent.yaml"
    path.write_text(f'collector_url: {url}\nallow_insecure_http: true\nward_code: "00070"\ntoken: {token}\n'
                    f"outbox_dir: {tmp_path / 'outbox'}\ntimeout_seconds: 5\nconnect_timeout_seconds: 2\n")
    path.chmod(0o600)
    return path


def probe_ssh(targets: Path, config: Path) -> subprocess.CompletedProcess:
    return cli("agents.cli", "probe-ssh", "--targets", str(targets), "--config", str(config))


def closed_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def queued(tmp_path: Path) -> list:
    return [json.loads(q.body()) for q in Outbox(tmp_path / "outbox").pending()]


def stored_device(db_url: str, source: str) -> dict:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(devices).where(devices.c.agent_source == source)).mappings().all()
    finally:
        engine.dispose()
    assert len(rows) == 1, rows
    return dict(rows[0])


def comparable(report: dict) -> dict:
    """The facts of a report; free space moves between readings, interfaces' addresses compared as sets."""
    facts = {key: json.loads(json.dumps(report[key])) for key in ("device", "hardware", "firmware", "os", "software")}
    facts["hardware"]["system_disk"].pop("free_bytes")
    facts["interfaces"] = sorted((i["name"], i["mac"], tuple(sorted(i["addresses"])))
                                 for i in report["network"]["interfaces"])
    facts["notes"] = sorted(n for n in report["notes"] if "read over SSH" not in n)
    return facts


def local_report(config: Path) -> dict:
    """This machine's own report, as the agent makes it (`hdc-agent inventory --print`)."""
    done = cli("agents.cli", "inventory", "--print", "--config", str(config))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_probe_of_this_machine_has_the_facts_of_its_own_report(sshd_server, tmp_path):
    config = agent_config(tmp_path, closed_url())
    done = probe_ssh(targets_file(tmp_path, sshd_server), config)
    assert done.returncode == 1, done.stdout + done.stderr  # read and queued; no collector to take it
    assert f"ok      {sshd_server.host}:{sshd_server.port}" in done.stdout and "1 of 1 hosts read" in done.stdout
    [sent] = queued(tmp_path)
    own = local_report(config)
    assert validate_report(sent) == []
    assert sent["agent"]["source"] == "ssh" and sent["ward_code"] == "00070"
    assert any(f"read over SSH as {sshd_server.user}@{sshd_server.host}:{sshd_server.port}" in n
               for n in sent["notes"])
    ssh_facts, own_facts = comparable(sent), comparable(own)
    for key in ("device", "hardware", "firmware", "os", "interfaces", "notes"):
        assert ssh_facts[key] == own_facts[key], key
    assert ssh_facts["software"] == own_facts["software"] and len(sent["software"]) > 0
    assert abs(sent["hardware"]["system_disk"]["free_bytes"] - own["hardware"]["system_disk"]["free_bytes"]) \
        < 1024 ** 3


def test_probed_host_is_stored_and_evaluated_as_the_same_device(sshd_server, tmp_path):
    collector = start_collector(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    try:
        config = agent_config(tmp_path, collector.url, collector.token("00070"))
        done = probe_ssh(targets_file(tmp_path, sshd_server), config)
        assert done.returncode == 0, done.stdout + done.stderr
        assert queued(tmp_path) == []  # delivered and acknowledged
        own = local_report(config)
        stored = stored_device(collector.db_url, "ssh")
        assert stored["device_id"] == own["device"]["id"]  # the same machine is the same device
        assert (stored["hostname"], stored["os_name"], stored["cpu_model"], stored["memory_bytes"],
                stored["system_disk_bytes"], stored["software_count"]) == \
            (own["device"]["hostname"], own["os"]["name"], own["hardware"]["cpu"]["model"],
             own["hardware"]["memory_bytes"], own["hardware"]["system_disk"]["size_bytes"], len(own["software"]))
        ward = requests.get(collector.url + "/api/v1/wards/00070", timeout=30).json()
        listed = {d["device_id"]: d for d in ward["devices"]}
        assert listed[stored["device_id"]]["verdict"] in ("ready", "ready_with_conditions", "not_ready", "unknown")
    finally:
        stop(collector.proc)


def test_target_device_class_overrides_detection(sshd_server, tmp_path):
    done = probe_ssh(targets_file(tmp_path, sshd_server, target_extra="    device_class: server\n"),
                     agent_config(tmp_path, closed_url()))
    assert done.returncode == 1, done.stdout + done.stderr  # read and queued; the collector is not there
    [report] = queued(tmp_path)
    assert report["device"]["class"] == "server"
    assert any("device class set to server by configuration" in n for n in report["notes"])


def test_unknown_host_key_is_refused_naming_the_host(sshd_server, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    done = probe_ssh(targets_file(tmp_path, sshd_server, known_hosts=empty), agent_config(tmp_path, closed_url()))
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"FAILED  [{sshd_server.host}]:{sshd_server.port}: host key ssh-ed25519 SHA256:" in done.stdout
    listed = subprocess.run(["ssh-keygen", "-lf", str(sshd_server.known_hosts)], capture_output=True, text=True,
                            timeout=30, check=True)
    fingerprint = listed.stdout.split()[1]  # what an officer compares on the host with ssh-keygen -lf
    assert f"ssh-ed25519 {fingerprint} is not in {empty}; refused" in done.stdout
    assert queued(tmp_path) == [] and empty.read_text() == ""  # nothing learnt, nothing read


def test_changed_host_key_is_refused(sshd_server, tmp_path):
    done = probe_ssh(targets_file(tmp_path, sshd_server, known_hosts=sshd_server.other_known_hosts),
                     agent_config(tmp_path, closed_url()))
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"FAILED  [{sshd_server.host}]:{sshd_server.port}: host key CHANGED" in done.stdout
    assert queued(tmp_path) == []


def test_changed_host_key_is_refused_even_with_trust_on_first_use(sshd_server, tmp_path):
    targets = targets_file(tmp_path, sshd_server, known_hosts=sshd_server.other_known_hosts,
                           target_extra="    trust_on_first_use: true\n")
    done = probe_ssh(targets, agent_config(tmp_path, closed_url()))
    assert done.returncode == 2 and "host key CHANGED" in done.stdout, done.stdout + done.stderr


def test_trust_on_first_use_records_the_key_then_checks_it(sshd_server, tmp_path):
    learnt = tmp_path / "ssh" / "known_hosts"  # does not exist yet
    targets = targets_file(tmp_path, sshd_server, known_hosts=learnt, target_extra="    trust_on_first_use: true\n")
    config = agent_config(tmp_path, closed_url())
    done = probe_ssh(targets, config)
    assert done.returncode == 1 and "1 of 1 hosts read" in done.stdout, done.stdout + done.stderr
    recorded = learnt.read_text().split()
    pinned = sshd_server.known_hosts.read_text().split()
    assert recorded == pinned  # [127.0.0.1]:port ssh-ed25519 <the server's key>
    # from now on the recorded key is checked like any other: without TOFU the same host is accepted
    done = probe_ssh(targets_file(tmp_path, sshd_server, known_hosts=learnt), config)
    assert "1 of 1 hosts read" in done.stdout, done.stdout + done.stderr
    assert len(queued(tmp_path)) == 2


def test_an_unreachable_host_fails_alone(sshd_server, tmp_path):
    dead = free_port()
    targets = targets_file(tmp_path, sshd_server, f"  - host: 127.0.0.1\n    port: {dead}\n")
    done = probe_ssh(targets, agent_config(tmp_path, closed_url()))
    assert done.returncode == 1, done.stdout + done.stderr  # unreachable: retry later, no person needed
    assert f"ok      {sshd_server.host}:{sshd_server.port}" in done.stdout
    assert f"FAILED  [127.0.0.1]:{dead}: cannot connect" in done.stdout
    assert "1 of 2 hosts read" in done.stdout
    assert f"1 of 2 hosts failed: 127.0.0.1:{dead}" in done.stderr
    assert [r["agent"]["source"] for r in queued(tmp_path)] == ["ssh"]


def test_refused_login_is_named(sshd_server, tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "stranger")], check=True,
                   capture_output=True, timeout=30)
    targets = targets_file(tmp_path, sshd_server, target_extra=f"    key_file: {tmp_path / 'stranger'}\n")
    done = probe_ssh(targets, agent_config(tmp_path, closed_url()))
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"login refused for user {sshd_server.user} with key {tmp_path / 'stranger'}" in done.stdout


@pytest.mark.parametrize("body, expected", [
    ("targets:\n  - host: h\n    user: u\n    key_file: KEY\n    known_hosts: KH\n    ward: 00070\n",
     "line 6: field 'targets[0].ward': expected text, got int 56 (quote it)"),
    ("targets:\n  - host: h\n    user: u\n    known_hosts: KH\n",
     "line 2: field 'targets[0].key_file': required (here or under defaults)"),
    ("defaults:\n  user: u\n  key_file: KEY\n  known_hosts: KH\ntargets:\n  - host: h\n    prot: 22\n",
     "line 7: field 'targets[0].prot': unknown key; allowed: host, port, user"),
    ("defaults:\n  user: u\n  key_file: KEY\n  known_hosts: KH\ntargets:\n  - host: h\n    port: 70000\n",
     "line 7: field 'targets[0].port': expected a port number 1 to 65535, got 70000"),
    ("defaults:\n  user: u\n  key_file: KEY\n  known_hosts: KH\ntargets:\n  - host: h\n  - host: h\n",
     "line 7: field 'targets[1].host': h:22 is listed twice (first on line 6)"),
    ("defaults:\n  user: u\n  key_file: KEY\n  known_hosts: KH\n  ward: \"00073\"\ntargets:\n  - host: h\n",
     "line 5: field 'defaults.ward': ward 00073 differs from the configuration's ward 00070"),
    ("defaults:\n  user: u\n  key_file: KEY\ntargets:\n  - host: h\n    known_hosts: missing\n",
     "line 6: field 'targets[0].known_hosts': "),
    ("defaults:\n  user: u\n  key_file: KEY\n  known_hosts: KH\ntargets:\n  - host: h\n    device_class: pc\n",
     "line 7: field 'targets[0].device_class': 'pc' is not one of workstation, laptop"),
    ("targets: [\n", "line 2: not valid YAML"),
    ("targets: []\n", "line 1: field 'targets': the list is empty"),
])
def test_bad_targets_files_name_file_line_and_field(tmp_path, body, expected):
    key, known = tmp_path / "id_ed25519", tmp_path / "known_hosts"
    key.write_text("not read before the file is checked\n")
    known.write_text("")
    targets = tmp_path / "targets.yaml"
    targets.write_text(body.replace("KEY", str(key)).replace("KH", str(known)))
    done = probe_ssh(targets, agent_config(tmp_path, closed_url()))
    assert done.returncode == 2
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"hdc-agent: {targets}: {expected}"), done.stderr


def test_without_paramiko_the_agent_works_and_probe_ssh_says_what_to_install(tmp_path):
    targets = tmp_path / "targets.yaml"
    (tmp_path / "key").write_text("x")
    (tmp_path / "known_hosts").write_text("")
    targets.write_text(f"targets:\n  - host: h\n    user: u\n    key_file: {tmp_path / 'key'}\n"
                       f"    known_hosts: {tmp_path / 'known_hosts'}\n")
    blocked = ("import sys; sys.modules['paramiko'] = None; from agents.cli import main; "
               "sys.exit(main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", blocked, "probe-ssh", "--targets", str(targets), "--config",
                           str(agent_config(tmp_path, closed_url()))], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)
    assert done.returncode == 2
    assert "install hdc-readiness[ssh]" in done.stderr and "Traceback" not in done.stderr
    printed = subprocess.run([sys.executable, "-c", blocked, "inventory", "--print"], capture_output=True, text=True,
                             timeout=120, cwd=ROOT)
    assert printed.returncode == 0, printed.stderr
    assert validate_report(json.loads(printed.stdout)) == []


@pytest.fixture
def sshd_without_sftp(sshd_server):
    """A second real sshd that offers no SFTP subsystem, as some hardened servers do."""
    from support.sshd import SshServer

    class NoSftp(SshServer):
        def _config(self) -> Path:
            config = super()._config()
            config.write_text(config.read_text().replace("Subsystem sftp internal-sftp\n", ""))
            return config

    server = NoSftp(free_port()).start()
    try:
        yield server
    finally:
        server.stop()


def test_without_sftp_files_are_read_with_commands_and_say_the_same(sshd_without_sftp, tmp_path):
    config = agent_config(tmp_path, closed_url())
    done = probe_ssh(targets_file(tmp_path, sshd_without_sftp), config)
    assert "1 of 1 hosts read" in done.stdout, done.stdout + done.stderr
    assert "subsystem request for sftp" in sshd_without_sftp.log.read_text()  # asked, refused, fell back
    [sent] = queued(tmp_path)
    ssh_facts, own_facts = comparable(sent), comparable(local_report(config))
    for key in ("device", "hardware", "firmware", "os", "interfaces", "notes", "software"):
        assert ssh_facts[key] == own_facts[key], key
