"""The collector's Ansible role, run for real on this machine: check mode for each login, the settings it refuses,
an install that reruns unchanged and removes everything, and its viewers' tasks.

The agent's role is in tests/test_ansible_agent.py; both share tests/support/ansible_run.py. Check-mode runs
that differ only in their variables are one run of several hosts (this machine each time, with its own paths and
variables): the role's tasks are evaluated for each host as in a run of its own, at the cost of one.
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
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, need
from support.ansible_run import ANSIBLE, BIN, PYTHON, ansible_env, by_host, recap, task_hosts, tool

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


REFUSALS = [
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
]
MISSING_PYTHON = "no_python3"


@dataclass
class CheckRun:
    """One ``ansible-playbook --check --diff`` of the collector role for several hosts, and each host's root."""

    done: subprocess.CompletedProcess
    roots: dict[str, Path]

    @property
    def output(self) -> str:
        return self.done.stdout + self.done.stderr

    def of(self, host: str) -> str:
        """What the run printed for ``host`` alone."""
        return by_host(self.output).get(host, "")


def _collector_check_run(wheelhouse, tmp: Path, hosts: dict[str, dict]) -> CheckRun:
    """Check mode for every host of ``hosts`` (its variables) at once, each with its paths under its own root."""
    roots = {name: tmp / name / "target" for name in hosts}
    inventory = {name: {"ansible_connection": "local", "ansible_python_interpreter": PYTHON,
                        "hdc_collector_wheel": str(wheelhouse["wheel"]),
                        "hdc_collector_dependency_wheels": str(wheelhouse["collector_deps"]),
                        "hdc_collector_prefix": str(roots[name] / "opt"),
                        "hdc_collector_config_dir": str(roots[name] / "etc"),
                        "hdc_collector_state_dir": str(roots[name] / "var"),
                        "hdc_collector_operator_files_dir": str(roots[name] / "share"),
                        "hdc_collector_systemd_dir": str(roots[name] / "systemd"),
                        "hdc_collector_manage_service": False, **extra} for name, extra in hosts.items()}
    hosts_file = tmp / "hosts.yml"  # a file, not the command line: passwords stay out of `ps`
    hosts_file.write_text(json.dumps({"all": {"children": {"hdc_collectors": {"hosts": inventory}}}},
                                     ensure_ascii=False), encoding="utf-8")
    done = subprocess.run([tool("ansible-playbook"), "--check", "--diff", "--forks", str(len(hosts)),
                           "-i", str(hosts_file), str(ANSIBLE / "playbooks" / "collector.yml")],
                          capture_output=True, text=True, timeout=900, cwd=ANSIBLE, env=ansible_env(tmp))
    return CheckRun(done, roots)


@pytest.fixture(scope="module")
def logins_checked(wheelhouse, tmp_path_factory) -> CheckRun:
    """Check mode for each login of LOGINS, one host each."""
    return _collector_check_run(wheelhouse, tmp_path_factory.mktemp("check"),
                                {f"login_{login}": extra for login, (extra, _) in LOGINS.items()})


@pytest.fixture(scope="module")
def refused(wheelhouse, tmp_path_factory) -> CheckRun:
    """Check mode for each refused setting of REFUSALS, and for a Python that cannot make the venv: one host each."""
    tmp = tmp_path_factory.mktemp("refused")
    hosts = {f"refused_{n}": extra for n, (extra, _) in enumerate(REFUSALS)}
    hosts[MISSING_PYTHON] = {"hdc_collector_python": str(tmp / "no-python3"), "hdc_collector_os_packages": []}
    return _collector_check_run(wheelhouse, tmp, hosts)


@pytest.mark.parametrize("login", list(LOGINS))
def test_collector_role_in_check_mode_evaluates_every_task_and_changes_nothing(logins_checked, login):
    """No systemd here to run the service for real: check mode still renders every template and condition."""
    extra, expected = LOGINS[login]
    host, root = f"login_{login}", logins_checked.roots[f"login_{login}"]
    output = logins_checked.output
    counts = recap(output, host)
    assert (logins_checked.done.returncode, counts["failed"], counts["unreachable"]) == (0, 0, 0), output[-4000:]
    assert counts["changed"] > 0 and not root.exists()
    assert VIEWER_PASSWORD not in output  # no_log wherever a viewer's password passes

    # The unit as it would be written (--diff): its command line is what `serve` accepts, with the login asked for.
    exec_start, = re.findall(r"^\+ExecStart=(.*)$", logins_checked.of(host), re.M)
    login_params = _serve_params(exec_start)
    if expected is None:
        assert "--login" not in exec_start and "--open-metrics" not in exec_start
        assert login_params["login_mode"] == "none"
    else:
        assert login_params == {**expected, "viewers_path": expected["viewers_path"] and
                                expected["viewers_path"].format(root=root)}
    mine = logins_checked.of(host)
    scrape = "basic_auth:" in mine and "password_file: /etc/prometheus/hdc-collector-viewer.password" in mine
    assert scrape == (login == "basic")
    if login == "basic":
        # Nothing to list or add before the virtual environment exists; the viewers' tasks are still evaluated.
        assert host in task_hosts(output, "Add the missing viewers")
        assert host in task_hosts(output, "Keep the viewers file readable")


@pytest.mark.parametrize("number", range(len(REFUSALS)), ids=[f"extra{n}-{m}" for n, (_, m) in enumerate(REFUSALS)])
def test_collector_role_refuses_login_settings_serve_would_refuse(refused, number):
    extra, message = REFUSALS[number]
    host, output = f"refused_{number}", refused.output
    mine = re.sub(r"\s+", " ", refused.of(host))
    assert refused.done.returncode != 0 and recap(output, host)["failed"] == 1, output[-3000:]
    assert re.sub(r"\s+", " ", message) in mine, mine[-3000:]
    for viewer in extra.get("hdc_collector_viewers", []):
        assert "password" not in viewer or viewer["password"] not in output  # refused, and still not shown
    assert not refused.roots[host].exists()


def test_collector_role_says_what_is_missing_when_its_python_cannot_make_a_venv(refused):
    python = refused.roots[MISSING_PYTHON].parent.parent / "no-python3"
    mine = re.sub(r"\s+", " ", refused.of(MISSING_PYTHON))
    assert recap(refused.output, MISSING_PYTHON)["failed"] == 1, mine[-3000:]
    assert f"hdc_collector_python {python} cannot create the collector's virtual environment: " in mine, mine
    assert "environment: there is no such file. It needs Python 3.9 or newer with the venv and ensurepip" in mine
    assert "the package python3-venv" in mine and "hdc_collector_os_packages (now [])" in mine
    assert not refused.roots[MISSING_PYTHON].exists()


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
