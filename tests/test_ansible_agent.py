"""The agent's Ansible role, run for real over SSH: install, report, rerun, remove; and what both roles ship.

The target is this machine through a real sshd on a loopback port, as root,
with every path the role writes pointed into a temp directory; the agent
comes from a wheel built from this checkout, its dependencies from a local
wheelhouse (as on a ward without internet), its token from an Ansible Vault
file, its ward code from the generated inventory. The target's Python is the
distribution's own /usr/bin/python3 without `packaging`, as on a fresh
Debian 12 or Ubuntu 24.04 server. The collector's role is in tests/test_ansible_collector.py.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

from agents.config import load_config

from conftest import ROOT, cli, need, start_collector, stop
from support.ansible_run import ANSIBLE, BIN, PYTHON, ansible_env, recap, tool
from support.snmpsim import SNMPD, Snmpd

PLAYBOOKS = sorted((ANSIBLE / "playbooks").glob("*.yml"))
WARD = "00070"


class Target:
    """This machine as an Ansible host over sshd, with the role's paths in a temp directory."""

    def __init__(self, sshd, tmp: Path, collector, wheelhouse: dict, snmpd: Snmpd):
        self.tmp, self.root = tmp, tmp / "target"
        self.prefix = self.root / "opt" / "hdc-agent"
        self.config_dir = self.root / "etc" / "hdc-agent"
        self.state_dir = self.root / "var" / "lib" / "hdc-agent"
        self.cron_dir = self.root / "etc" / "cron.d"
        self.systemd_dir = self.root / "etc" / "systemd" / "system"
        self.cron_dir.mkdir(parents=True)  # cron's directory exists where cron is installed
        self.hosts = tmp / "hosts.yml"
        # The target probes its unit's equipment: one SNMPv3 agent (Debian's snmpd), listed in hdc_equipment.
        self.hosts.write_text(yaml.safe_dump({"all": {"children": {
            f"ward_{WARD}": {"hosts": {"target": {
                "ansible_host": sshd.host, "ansible_port": sshd.port, "ansible_user": sshd.user,
                "ansible_ssh_private_key_file": str(sshd.client_key),
                "ansible_ssh_common_args": f"-o StrictHostKeyChecking=yes -o UserKnownHostsFile={sshd.known_hosts} "
                                           "-o IdentitiesOnly=yes",
                "ansible_remote_tmp": str(tmp / "remote"),
                "ansible_python_interpreter": PYTHON,
                "hdc_agent_snmp_probe": True,
            }, "ups-phong-may": None}},
            "hdc_equipment": {"hosts": {"ups-phong-may": {
                "hdc_snmp_address": f"127.0.0.1:{snmpd.port}", "hdc_snmp_credentials": "v3-ro",
                "hdc_snmp_location": "Tầng 1"}}},
        }}}))
        self.snmp_credentials = {"v3-ro": {"version": "3", "user": snmpd.user, "auth_protocol": "sha256",
                                           "auth_key": snmpd.auth_key, "priv_protocol": "aes128",
                                           "priv_key": snmpd.priv_key}}
        # No systemd as PID 1 here: "auto" must choose cron. Were systemd running, cron is asked for,
        # so the test never enables units on the machine running it.
        self.scheduler = "cron" if Path("/run/systemd/system").is_dir() else "auto"
        self.vars = tmp / "vars.json"
        self.vars.write_text(json.dumps({
            "hdc_agent_collector_url": collector.url, "hdc_agent_allow_insecure_http": True,
            "hdc_agent_wheel": str(wheelhouse["wheel"]), "hdc_agent_dependency_wheels": str(wheelhouse["deps"]),
            "hdc_agent_python": PYTHON,
            "hdc_agent_prefix": str(self.prefix), "hdc_agent_config_dir": str(self.config_dir),
            "hdc_agent_state_dir": str(self.state_dir), "hdc_agent_cron_dir": str(self.cron_dir),
            "hdc_agent_systemd_dir": str(self.systemd_dir), "hdc_agent_scheduler": self.scheduler,
        }))
        self.password = tmp / "vault-password"
        self.password.write_text("correct horse battery staple\n")
        self.password.chmod(0o600)
        self.vault = tmp / "vault.yml"

    def store_token(self, token: str) -> None:
        """The unit's token in a Vault-encrypted file, the way the README tells IT staff to keep it."""
        self.vault.write_text(yaml.safe_dump({"vault_hdc_ward_tokens": {WARD: token},
                                              "vault_hdc_snmp_credentials": self.snmp_credentials}))
        done = subprocess.run([tool("ansible-vault"), "encrypt", "--vault-password-file", str(self.password),
                               str(self.vault)], capture_output=True, text=True, timeout=120,
                              env=ansible_env(self.tmp))
        assert done.returncode == 0, done.stderr
        assert token not in self.vault.read_text() and Snmpd.auth_key not in self.vault.read_text()

    def play(self, *extra: str) -> tuple[dict, str]:
        done = self.run(*extra)
        output = done.stdout + done.stderr
        counts = recap(output)
        assert (done.returncode, counts["failed"], counts["unreachable"]) == (0, 0, 0), output[-4000:]
        return counts, output

    def run(self, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [tool("ansible-playbook"), "-i", str(ANSIBLE / "inventory" / "wards.yml"), "-i", str(self.hosts),
             "--limit", "target", "--vault-password-file", str(self.password), "-e", f"@{self.vault}",
             "-e", f"@{self.vars}", *extra, str(ANSIBLE / "playbooks" / "agent.yml")],
            capture_output=True, text=True, timeout=900, cwd=ANSIBLE, env=ansible_env(self.tmp))

    def files(self) -> list[Path]:
        return sorted(p for p in self.root.rglob("*") if not p.is_dir()) if self.root.exists() else []


@pytest.mark.integration
@pytest.mark.long
def test_agent_role_installs_reports_reruns_unchanged_and_removes_everything(sshd_server, wheelhouse, tmp_path):
    need(os.path.exists(SNMPD), "snmpd not installed (Debian package 'snmpd')")
    collector = start_collector(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    snmpd = Snmpd().start()
    try:
        target = Target(sshd_server, tmp_path, collector, wheelhouse, snmpd)
        token = collector.token(WARD)
        target.store_token(token)

        # A ward code that lost its zeros (unquoted 00070 in YAML) stops the play before anything is touched.
        refused = target.run("-e", '{"hdc_agent_ward_code": "70"}')
        message = refused.stdout + refused.stderr
        assert refused.returncode != 0 and "hdc_agent_ward_code (5 digits, quoted:" in message, message[-3000:]
        assert re.search(r'Got ward code \\?"70\\?"', message) and target.files() == []

        # A Python that cannot make the virtual environment: the pre-check names the variable and the package.
        missing = target.run("--check", "-e", json.dumps({"hdc_agent_python": str(tmp_path / "no-python3"),
                                                          "hdc_agent_os_packages": []}))
        message = re.sub(r"\s+", " ", missing.stdout + missing.stderr)
        assert missing.returncode != 0, message[-3000:]
        assert (f"hdc_agent_python {tmp_path / 'no-python3'} cannot create the agent's virtual environment: "
                "there is no such file. It needs" in message), message[-3000:]
        assert "the package python3-venv" in message and "hdc_agent_os_packages (now [])" in message
        assert target.files() == []

        # A device whose credential set is not in the Vault: named before anything is touched.
        unknown = target.run("-e", json.dumps({"hdc_agent_snmp_credentials": {}}))
        message = re.sub(r"\s+", " ", unknown.stdout + unknown.stderr)
        assert unknown.returncode != 0, message[-3000:]
        assert "hdc_snmp_credentials names v3-ro, not in hdc_agent_snmp_credentials (which has nothing)" in message
        assert target.files() == []

        counts, output = target.play("--check")
        assert counts["changed"] > 0 and target.files() == [], "check mode must change nothing"

        counts, output = target.play()
        assert counts["changed"] > 0
        assert token not in output  # no_log where the token passes

        config = load_config(target.config_dir / "agent.yaml")
        assert (config.ward_code, config.collector_url, config.token) == (WARD, collector.url, token)
        assert config.outbox_dir == target.state_dir / "outbox"
        token_file = target.config_dir / "token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600 and token_file.stat().st_uid == 0
        assert stat.S_IMODE(target.state_dir.stat().st_mode) == 0o700

        cron = (target.cron_dir / "hdc-agent").read_text()
        line = next(line for line in cron.splitlines() if line.startswith("0 * * * * root "))
        assert f"{target.prefix}/bin/hdc-agent run --config {target.config_dir}/agent.yaml" in line
        assert f"{target.state_dir}/.run.lock" in line and " /opt/hdc-agent" not in cron
        assert "shuf -i 0-2700" in line  # the shipped entry, spread over the hour, not a hand-made one
        assert not target.systemd_dir.exists()  # no systemd running: no units installed

        # The unit's SNMP prober: its targets from the inventory, each secret in a root-only file, a daily entry.
        targets_file = target.config_dir / "snmp-targets.yaml"
        targets = yaml.safe_load(targets_file.read_text())["targets"]
        assert [(t["name"], t["address"], t["location"], t["user"]) for t in targets] == [
            ("ups-phong-may", f"127.0.0.1:{snmpd.port}", "Tầng 1", snmpd.user)]
        secrets = target.config_dir / "snmp"
        assert stat.S_IMODE(secrets.stat().st_mode) == 0o700
        assert sorted(p.name for p in secrets.iterdir()) == ["v3-ro-auth_key", "v3-ro-priv_key"]
        assert {stat.S_IMODE(p.stat().st_mode) for p in secrets.iterdir()} == {0o600}
        for secret in (snmpd.auth_key, snmpd.priv_key):
            assert secret not in output and secret not in targets_file.read_text()
        probe_cron = (target.cron_dir / "hdc-agent-snmp").read_text()
        assert (f"{target.prefix}/bin/hdc-agent probe-snmp --targets {targets_file} --config "
                f"{target.config_dir}/agent.yaml") in probe_cron and f"{target.state_dir}/.snmp.lock" in probe_cron

        # The immediate first runs delivered this machine's report and the probed UPS's to the collector.
        devices = requests.get(f"{collector.url}/api/v1/wards/{WARD}/devices", timeout=30).json()
        assert devices["total"] == 2, output[-6000:]
        probed, = [d for d in devices["devices"] if d["agent"]["source"] == "snmp"]
        assert probed["hostname"] == "ups-phong-may", probed
        status = subprocess.run([str(target.prefix / "bin" / "hdc-agent"), "status", "--json", "--config",
                                 str(target.config_dir / "agent.yaml")], capture_output=True, text=True, timeout=60)
        assert status.returncode == 0, status.stderr
        outbox = json.loads(status.stdout)
        assert outbox["queued"] == 0 and outbox["last_success_at"] is not None, outbox

        counts, output = target.play()
        assert counts["changed"] == 0, output[-4000:]

        counts, output = target.play("-e", "hdc_agent_state=absent")
        assert counts["changed"] > 0
        for path in (target.prefix, target.config_dir, target.state_dir, target.cron_dir / "hdc-agent"):
            assert not path.exists(), path
        assert target.files() == []

        counts, output = target.play("-e", "hdc_agent_state=absent")
        assert counts["changed"] == 0, output[-4000:]
    finally:
        snmpd.stop()
        stop(collector.proc)


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=[p.name for p in PLAYBOOKS])
def test_playbook_syntax(playbook, tmp_path):
    done = subprocess.run([tool("ansible-playbook"), "--syntax-check", "-i", str(ANSIBLE / "inventory"),
                           str(playbook)], capture_output=True, text=True, timeout=300, cwd=ANSIBLE,
                          env=ansible_env(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr


def test_rendered_units_pass_systemd_analyze_verify(tmp_path):
    """The agent's shipped units with the role's drop-in, and the collector's unit, as systemd reads them."""
    need(shutil.which("systemd-analyze") is not None, "systemd-analyze not installed (Debian package systemd)")
    units = tmp_path / "units"
    shutil.copytree(ROOT / "agents" / "packaging" / "systemd", units,
                    ignore=shutil.ignore_patterns("unprivileged.conf"))
    roles = ANSIBLE / "roles"
    playbook = tmp_path / "render.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Render the roles' unit files", "hosts": "localhost", "connection": "local",
        "gather_facts": True, "gather_subset": ["min"],
        "vars_files": [str(roles / role / part / "main.yml") for role in ("hdc_agent", "hdc_collector")
                       for part in ("defaults", "vars")],
        "tasks": [
            {"name": "Agent drop-in", "ansible.builtin.template": {
                "src": str(roles / "hdc_agent" / "templates" / "hdc-agent-site.conf.j2"),
                "dest": str(units / "hdc-agent.service.d" / "site.conf"), "mode": "0644"}},
            {"name": "SNMP prober drop-in directory", "ansible.builtin.file": {
                "path": str(units / "hdc-agent-snmp.service.d"), "state": "directory", "mode": "0755"}},
            {"name": "SNMP prober drop-in", "ansible.builtin.template": {
                "src": str(roles / "hdc_agent" / "templates" / "hdc-agent-snmp-site.conf.j2"),
                "dest": str(units / "hdc-agent-snmp.service.d" / "site.conf"), "mode": "0644"}},
            {"name": "Collector unit", "ansible.builtin.template": {
                "src": str(roles / "hdc_collector" / "templates" / "hdc-collector.service.j2"),
                "dest": str(units / "hdc-collector.service"), "mode": "0644"}},
            {"name": "TLS proxy example", "ansible.builtin.template": {
                "src": str(roles / "hdc_collector" / "templates" / "nginx-tls.conf.j2"),
                "dest": str(tmp_path / "nginx-tls.conf"), "mode": "0644"}},
        ]}]))
    # ExecStart must name programs that exist: this venv's. The agent's outbox outside /var/lib exercises
    # the drop-in's ReadWritePaths.
    overrides = {"hdc_agent_prefix": str(BIN.parent), "hdc_collector_prefix": str(BIN.parent),
                 "hdc_agent_state_dir": str(tmp_path / "agent-state"),
                 "hdc_collector_registry_src": "units.csv", "ansible_python_interpreter": sys.executable,
                 # The login's options on the command line, as systemd splits them.
                 "hdc_collector_login": "header", "hdc_collector_trusted_proxies": ["10.0.5.7", "fd00::/64"],
                 "hdc_collector_protect_metrics": False, "hdc_collector_endpoint_targets": ["hdc-portal", "mail.hn"]}
    done = subprocess.run([tool("ansible-playbook"), "-i", "localhost,", "-e", json.dumps(overrides), str(playbook)],
                          capture_output=True, text=True, timeout=300, cwd=ANSIBLE, env=ansible_env(tmp_path))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    drop_in = (units / "hdc-agent.service.d" / "site.conf").read_text()
    assert f"ExecStart={BIN}/hdc-agent run --config /etc/hdc-agent/agent.yaml" in drop_in
    assert f"ReadWritePaths={tmp_path / 'agent-state'}" in drop_in
    probe_drop_in = (units / "hdc-agent-snmp.service.d" / "site.conf").read_text()
    assert (f"ExecStart={BIN}/hdc-agent probe-snmp --targets /etc/hdc-agent/snmp-targets.yaml "
            "--config /etc/hdc-agent/agent.yaml") in probe_drop_in
    collector_unit = (units / "hdc-collector.service").read_text()
    assert f"ExecStart={BIN}/hdc-collector serve --host 127.0.0.1 --port 8080" in collector_unit
    assert ("--registry /etc/hdc-collector/units.csv" in collector_unit
            and "StateDirectory=hdc-collector" in collector_unit)
    assert (" --unit-byte-budget 256 --endpoint-target hdc-portal --endpoint-target mail.hn"
            " --login header --login-header X-Remote-User --trusted-proxy 10.0.5.7 --trusted-proxy fd00::/64"
            " --open-metrics --registry" in collector_unit)
    # The shipped proxy drops a login header a client sends: nobody names themselves through it.
    assert 'proxy_set_header X-Remote-User "";' in (tmp_path / "nginx-tls.conf").read_text()
    verify = subprocess.run(["systemd-analyze", "verify", "hdc-agent.service", "hdc-agent.timer",
                             "hdc-agent-snmp.service", "hdc-agent-snmp.timer", "hdc-collector.service"],
                            cwd=units, capture_output=True, text=True, timeout=60)
    assert (verify.returncode, verify.stderr) == (0, "")
    for service in ("hdc-collector.service", "hdc-agent-snmp.service"):
        security = subprocess.run(["systemd-analyze", "security", "--offline=yes", service], cwd=units,
                                  capture_output=True, text=True, timeout=60)
        found = re.search(rf"Overall exposure level for {service}: ([0-9.]+)", security.stdout)
        assert found, security.stdout[-500:] + security.stderr
        assert float(found.group(1)) <= 2.0, security.stdout


def test_roles_never_need_packaging_on_the_target():
    """Ansible's pip module needs `packaging` in the target's Python; a fresh server has none."""
    tasks = list((ANSIBLE / "roles").rglob("*.yml"))
    assert tasks and not [path for path in tasks if re.search(r"^\s*(ansible\.builtin\.)?pip:", path.read_text(), re.M)]


def test_ansible_lint_production_profile_is_clean(tmp_path):
    done = subprocess.run([tool("ansible-lint"), "--profile", "production", "--offline", "--nocolor", "."],
                          capture_output=True, text=True, timeout=600, cwd=ANSIBLE,
                          env=dict(ansible_env(tmp_path), HOME=str(tmp_path)))
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]


def test_example_inventory_is_generated_from_the_registry():
    done = cli("collector.cli", "ansible-inventory", "--out", str(ANSIBLE / "inventory" / "wards.yml"), "--check")
    assert done.returncode == 0, done.stderr


def test_inventory_has_a_group_per_unit_with_its_code_and_name(tmp_path):
    from inventory.registry import load_registry

    registry = load_registry()
    done = subprocess.run([tool("ansible-inventory"), "-i", str(ANSIBLE / "inventory" / "wards.yml"), "--list"],
                          capture_output=True, text=True, timeout=300, cwd=ANSIBLE, env=ansible_env(tmp_path))
    assert done.returncode == 0, done.stderr
    groups = json.loads(done.stdout)
    units = groups["hdc_phuong"]["children"] + groups["hdc_xa"]["children"]
    assert sorted(units) == sorted(f"ward_{w.code}" for w in registry) and len(units) == 126
    wards = groups["hdc_wards"]["children"]
    assert sorted(wards) == ["hdc_phuong", "hdc_xa"]


def test_inventory_follows_another_registry_and_refuses_a_bad_one(tmp_path):
    units = tmp_path / "units.csv"
    units.write_text("code,name,kind\n00070,Hoàn Kiếm,phuong\n04321,Đông Anh,xa\n", encoding="utf-8")
    out = tmp_path / "wards.yml"
    done = cli("collector.cli", "ansible-inventory", "--registry", str(units), "--out", str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_text(encoding="utf-8")
    assert 'hdc_agent_ward_code: "04321"' in text and "Xã Đông Anh" in text  # quoted code, UTF-8 name
    tree = yaml.safe_load(text)["all"]["children"]["hdc_wards"]["children"]
    assert tree["hdc_xa"]["children"]["ward_04321"]["vars"] == {"hdc_agent_ward_code": "04321",
                                                                "hdc_ward_name": "Xã Đông Anh"}
    assert list(tree["hdc_phuong"]["children"]) == ["ward_00070"]

    out.write_text(text.replace("Đông Anh", "Dong Anh"), encoding="utf-8")
    stale = cli("collector.cli", "ansible-inventory", "--registry", str(units), "--out", str(out), "--check")
    assert stale.returncode == 1 and "out of date" in stale.stderr

    units.write_text("code,name,kind\n70,Hoàn Kiếm,phuong\n", encoding="utf-8")
    bad = cli("collector.cli", "ansible-inventory", "--registry", str(units))
    assert bad.returncode == 1 and f"{units}: line 2: field 'code'" in bad.stderr and "Traceback" not in bad.stderr
