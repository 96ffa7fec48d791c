"""The Ansible roles, run for real over SSH: install, report, rerun, remove.

The target is this machine through a real sshd on a loopback port, as root,
with every path the role writes pointed into a temp directory; the agent
comes from a wheel built from this checkout, its dependencies from a local
wheelhouse (as on a ward without internet), its token from an Ansible Vault
file, its ward code from the generated inventory. The target's Python is the
distribution's own /usr/bin/python3 without `packaging`, as on a fresh
Debian 12 or Ubuntu 24.04 server.
"""
from __future__ import annotations

import json
import os
import pwd
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
from support.snmpsim import SNMPD, Snmpd
from support.wheelhouse import AGENT_DIR as AGENT_WHEELS
from support.wheelhouse import COLLECTOR_DIR as COLLECTOR_WHEELS
from support.wheelhouse import missing as wheelhouse_missing

ANSIBLE = ROOT / "ansible"
BIN = Path(sys.executable).parent
PLAYBOOKS = sorted((ANSIBLE / "playbooks").glob("*.yml"))
WARD = "00070"
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


def recap(output: str) -> dict:
    found = re.search(r"^target\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", output, re.M)
    assert found, output[-3000:]
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, found.groups())))


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


VIEWER_PASSWORD = "mật-khẩu-của-Lan-1"
# The login variables, and what `serve` must then be started with (None: no login options at all).
LOGINS = {
    "none": ({}, None),
    "basic": ({"hdc_collector_login": "basic",
               "hdc_collector_viewers": [{"name": "Nguyễn Lan", "password": VIEWER_PASSWORD},
                                         {"name": "prometheus", "password": VIEWER_PASSWORD + "-p"}]},
              {"login_mode": "basic", "viewers_path": "{root}/etc/login/viewers", "login_header": "X-Remote-User",
               "trusted_proxies": ("127.0.0.1/32",), "protect_metrics": None}),
    "header": ({"hdc_collector_login": "header", "hdc_collector_login_header": "X-Auth-User",
                "hdc_collector_trusted_proxies": ["10.0.5.7", "fd00::/64"], "hdc_collector_protect_metrics": False},
               {"login_mode": "header", "viewers_path": None, "login_header": "X-Auth-User",
                "trusted_proxies": ("10.0.5.7/32", "fd00::/64"), "protect_metrics": False}),
}


def _serve_params(exec_start: str) -> dict:
    """The rendered ExecStart, parsed by the real `hdc-collector serve` (options, callbacks, the login check)."""
    import shlex

    from collector.cli.options import login_settings
    from collector.cli.serve import serve

    program, command, *args = shlex.split(exec_start)
    assert program.endswith("/bin/hdc-collector") and command == "serve", exec_start
    params = serve.make_context("serve", args).params
    names = ("login_mode", "viewers_path", "login_header", "trusted_proxies", "protect_metrics")
    login = {k: params[k] for k in names}
    login_settings(**login, login_rate=params["login_rate"])  # raises, as serve would, on a refused combination
    login["viewers_path"] = None if login["viewers_path"] is None else str(login["viewers_path"])
    login["trusted_proxies"] = tuple(str(net) for net in login["trusted_proxies"])
    return login


def _collector_check_run(wheelhouse, tmp_path: Path, extra: dict) -> tuple[subprocess.CompletedProcess, Path]:
    root = tmp_path / "target"
    hosts = tmp_path / "hosts.yml"
    hosts.write_text(yaml.safe_dump({"all": {"children": {"hdc_collectors": {"hosts": {"target": {
        "ansible_connection": "local", "ansible_python_interpreter": PYTHON}}}}}}))
    settings = {"hdc_collector_wheel": str(wheelhouse["wheel"]),
                "hdc_collector_dependency_wheels": str(wheelhouse["collector_deps"]),
                "hdc_collector_prefix": str(root / "opt"),
                "hdc_collector_config_dir": str(root / "etc"), "hdc_collector_state_dir": str(root / "var"),
                "hdc_collector_operator_files_dir": str(root / "share"),
                "hdc_collector_systemd_dir": str(root / "systemd"), "hdc_collector_manage_service": False, **extra}
    variables = tmp_path / "vars.json"  # a file, not the command line: passwords stay out of `ps`
    variables.write_text(json.dumps(settings, ensure_ascii=False), encoding="utf-8")
    done = subprocess.run([tool("ansible-playbook"), "--check", "--diff", "-i", str(hosts), "-e", f"@{variables}",
                           str(ANSIBLE / "playbooks" / "collector.yml")],
                          capture_output=True, text=True, timeout=600, cwd=ANSIBLE, env=ansible_env(tmp_path))
    return done, root


@pytest.mark.parametrize("login", list(LOGINS))
def test_collector_role_in_check_mode_evaluates_every_task_and_changes_nothing(wheelhouse, tmp_path, login):
    """No systemd here to run the service for real: check mode still renders every template and condition."""
    extra, expected = LOGINS[login]
    done, root = _collector_check_run(wheelhouse, tmp_path, extra)
    output = done.stdout + done.stderr
    counts = recap(output)
    assert (done.returncode, counts["failed"]) == (0, 0), output[-4000:]
    assert counts["changed"] > 0 and not root.exists()
    assert VIEWER_PASSWORD not in output  # no_log wherever a viewer's password passes

    # The unit as it would be written (--diff): its command line is what `serve` accepts, with the login asked for.
    exec_start, = re.findall(r"^\+ExecStart=(.*)$", output, re.M)
    login_params = _serve_params(exec_start)
    if expected is None:
        assert "--login" not in exec_start and "--open-metrics" not in exec_start
        assert login_params["login_mode"] == "none"
    else:
        assert login_params == {**expected, "viewers_path": expected["viewers_path"] and
                                expected["viewers_path"].format(root=root)}
    scrape = "basic_auth:" in output and "password_file: /etc/prometheus/hdc-collector-viewer.password" in output
    assert scrape == (login == "basic")
    if login == "basic":
        # Nothing to list or add before the virtual environment exists; the viewers' tasks are still evaluated.
        assert "Add the missing viewers" in output and "Keep the viewers file readable" in output


@pytest.mark.parametrize("extra, message", [
    ({"hdc_collector_login": "basic"}, "hdc_collector_login basic needs hdc_collector_viewers"),
    ({"hdc_collector_login": "basic", "hdc_collector_viewers": [{"name": "a:b", "password": "long-enough"}]},
     "names without ':'"),
    ({"hdc_collector_login": "basic", "hdc_collector_viewers": [{"name": "lan", "password": "Pw-1234"}]},
     "passwords of at\nleast 8 characters"),
    ({"hdc_collector_login": "header", "hdc_collector_login_header": "Authorization"}, "is a header name"),
    ({"hdc_collector_login": "header", "hdc_collector_trusted_proxies": ["10.0.5.7 --login none"]},
     "addresses or networks"),
    ({"hdc_collector_login": "header", "hdc_collector_trusted_proxies": []},
     "hdc_collector_login header needs hdc_collector_trusted_proxies"),
    ({"hdc_collector_login": "sso"}, "hdc_collector_login"),
    ({"hdc_collector_endpoint_targets": ["portal --open-metrics"]}, "hdc_collector_endpoint_targets are names"),
    ({"hdc_collector_login": "basic", "hdc_collector_viewers": [{"name": "lan"}]}, "password"),
])
def test_collector_role_refuses_login_settings_serve_would_refuse(wheelhouse, tmp_path, extra, message):
    done, root = _collector_check_run(wheelhouse, tmp_path, extra)
    output = re.sub(r"\s+", " ", done.stdout + done.stderr)
    assert done.returncode != 0 and re.sub(r"\s+", " ", message) in output, output[-3000:]
    for viewer in extra.get("hdc_collector_viewers", []):
        assert "password" not in viewer or viewer["password"] not in output  # refused, and still not shown
    assert not root.exists()


def test_collector_role_says_what_is_missing_when_its_python_cannot_make_a_venv(wheelhouse, tmp_path):
    python = tmp_path / "no-python3"
    done, root = _collector_check_run(wheelhouse, tmp_path, {"hdc_collector_python": str(python),
                                                             "hdc_collector_os_packages": []})
    output = re.sub(r"\s+", " ", done.stdout + done.stderr)
    assert done.returncode != 0, output[-3000:]
    assert f"hdc_collector_python {python} cannot create the collector's virtual environment: " in output, output
    assert "environment: there is no such file. It needs Python 3.9 or newer with the venv and ensurepip" in output
    assert "the package python3-venv" in output and "hdc_collector_os_packages (now [])" in output
    assert not root.exists()


@pytest.mark.integration
@pytest.mark.long
def test_collector_role_installs_reruns_unchanged_and_removes_everything(wheelhouse, tmp_path):
    """For real, without its service (no systemd here): a throwaway system user, this machine's Python."""
    need(os.geteuid() == 0 and shutil.which("useradd") is not None, "needs root and useradd (Debian package passwd)")
    user, root = f"hdc-t{os.getpid()}", tmp_path / "target"
    (root / "systemd").mkdir(parents=True)  # systemd's directory exists where the unit goes
    hosts = tmp_path / "hosts.yml"
    hosts.write_text(yaml.safe_dump({"all": {"children": {"hdc_collectors": {"hosts": {"target": {
        "ansible_connection": "local", "ansible_python_interpreter": PYTHON}}}}}}))
    settings = {"hdc_collector_wheel": str(wheelhouse["wheel"]),
                "hdc_collector_dependency_wheels": str(wheelhouse["collector_deps"]), "hdc_collector_python": PYTHON,
                "hdc_collector_user": user, "hdc_collector_prefix": str(root / "opt"),
                "hdc_collector_config_dir": str(root / "etc"), "hdc_collector_state_dir": str(root / "var"),
                "hdc_collector_operator_files_dir": str(root / "share"),
                "hdc_collector_systemd_dir": str(root / "systemd"), "hdc_collector_manage_service": False}

    def play(**extra) -> tuple[dict, str]:
        variables = tmp_path / "vars.json"
        variables.write_text(json.dumps({**settings, **extra}))
        done = subprocess.run([tool("ansible-playbook"), "-i", str(hosts), "-e", f"@{variables}",
                               str(ANSIBLE / "playbooks" / "collector.yml")],
                              capture_output=True, text=True, timeout=900, cwd=ANSIBLE, env=ansible_env(tmp_path))
        output = done.stdout + done.stderr
        counts = recap(output)
        assert (done.returncode, counts["failed"]) == (0, 0), output[-4000:]
        return counts, output

    try:
        counts, _ = play()
        assert counts["changed"] > 0
        served = subprocess.run([str(root / "opt" / "bin" / "hdc-collector"), "serve", "--help"],
                                capture_output=True, text=True, timeout=120)
        assert served.returncode == 0 and "--port" in served.stdout, served.stderr
        venv_python = (root / "opt" / "pyvenv.cfg").read_text()
        assert f"executable = {os.path.realpath(PYTHON)}" in venv_python, venv_python
        env_file = root / "etc" / "collector.env"
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o640 and env_file.stat().st_gid == pwd.getpwnam(user).pw_gid
        assert (root / "systemd" / "hdc-collector.service").is_file()
        assert (root / "share" / "alerts").is_dir() and (root / "share" / "prometheus-scrape.yml").is_file()

        counts, output = play()
        assert counts["changed"] == 0, output[-4000:]

        counts, _ = play(hdc_collector_state="absent", hdc_collector_remove_data=True)
        assert counts["changed"] > 0
        assert [path for path in root.rglob("*") if not path.is_dir()] == []
        for kept in ("opt", "etc", "var", "share"):
            assert not (root / kept).exists(), kept
    finally:
        subprocess.run(["userdel", user], capture_output=True, timeout=60)
        subprocess.run(["groupdel", user], capture_output=True, timeout=60)


def test_roles_never_need_packaging_on_the_target():
    """Ansible's pip module needs `packaging` in the target's Python; a fresh server has none."""
    tasks = list((ANSIBLE / "roles").rglob("*.yml"))
    assert tasks and not [path for path in tasks if re.search(r"^\s*(ansible\.builtin\.)?pip:", path.read_text(), re.M)]


def test_collector_role_writes_viewers_once_and_passwords_only_when_asked(tmp_path):
    """The role's viewers tasks for real (this venv's `hdc-collector viewer`, this user as the service's)."""
    from werkzeug.security import check_password_hash

    from collector.http.viewers import load

    need(shutil.which("runuser") is not None, "runuser not installed (Debian package util-linux)")
    user = pwd.getpwuid(os.getuid()).pw_name
    config = tmp_path / "etc"
    playbook = tmp_path / "viewers.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "The collector role's viewers", "hosts": "localhost", "connection": "local", "gather_facts": False,
        "tasks": [{"name": "Viewers", "ansible.builtin.include_role": {"name": "hdc_collector",
                                                                       "tasks_from": "viewers"}}]}]))

    def play(viewers: list, **extra) -> tuple[dict, str]:
        variables = tmp_path / "vars.json"
        variables.write_text(json.dumps({
            "hdc_collector_user": user, "hdc_collector_prefix": str(BIN.parent),
            "hdc_collector_config_dir": str(config), "hdc_collector_viewers": viewers,
            "ansible_python_interpreter": sys.executable, **extra}, ensure_ascii=False), encoding="utf-8")
        done = subprocess.run([tool("ansible-playbook"), "-i", "localhost,", "-e", f"@{variables}", str(playbook)],
                              capture_output=True, text=True, timeout=300, cwd=ANSIBLE, env=ansible_env(tmp_path))
        output = done.stdout + done.stderr
        found = re.search(r"^localhost\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=(\d+)", output, re.M)
        assert done.returncode == 0 and found and found.group(2) == "0", output[-3000:]
        for viewer in viewers:
            assert viewer["password"] not in output
        return int(found.group(1)), output

    def valid(name: str, password: str) -> bool:
        hashed = load(path).get(name)
        return hashed is not None and check_password_hash(hashed, password)

    path = config / "login" / "viewers"
    lan, lan_new, bot = "mật-khẩu-của-Lan-1", "mật-khẩu-mới-của-Lan", "prometheus-scrapes-1"
    changed, _ = play([{"name": "Nguyễn Lan", "password": lan}, {"name": "prometheus", "password": bot}])
    assert changed >= 2
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.stat().st_uid == os.getuid() and valid("Nguyễn Lan", lan) and valid("prometheus", bot)
    assert lan not in path.read_text(encoding="utf-8")

    # Rerun, a new password in the inventory, a viewer added by hand: nothing changes unless asked.
    added = subprocess.run([sys.executable, "-m", "collector.cli", "viewer", "add", "tran.b", "--viewers-file",
                            str(path), "--password-stdin"], input="tran-b-password\n", capture_output=True,
                           text=True, timeout=120, cwd=ROOT)
    assert added.returncode == 0, added.stderr
    changed, _ = play([{"name": "Nguyễn Lan", "password": lan}, {"name": "prometheus", "password": bot}])
    assert changed == 0
    changed, _ = play([{"name": "Nguyễn Lan", "password": lan_new}, {"name": "prometheus", "password": bot}])
    assert changed == 0 and valid("Nguyễn Lan", lan) and valid("tran.b", "tran-b-password")

    changed, _ = play([{"name": "Nguyễn Lan", "password": lan_new}, {"name": "prometheus", "password": bot}],
                      hdc_collector_viewers_update_passwords=True, hdc_collector_viewers_exclusive=True)
    assert changed > 0 and valid("Nguyễn Lan", lan_new) and not valid("Nguyễn Lan", lan)
    assert sorted(load(path)) == ["Nguyễn Lan", "prometheus"] and stat.S_IMODE(path.stat().st_mode) == 0o600


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
