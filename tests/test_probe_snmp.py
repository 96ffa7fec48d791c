"""`hdc-agent probe-snmp` for real: snmpsim serving the recorded devices, Debian's snmpd with an SNMPv3 user,
and a real collector process receiving the reports."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from datetime import date
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from agents.outbox import Outbox
from agents.snmp_seen import SEEN_FILE, SeenFile
from agents.snmp_targets import SnmpTargetsError, load_snmp_targets
from inventory.prices import load_price_list
from inventory.schema import validate_report
from inventory.snmp_report import silent_report

from conftest import ROOT, SHARED_DATA, cli, need, start_collector, stop
from support.snmp_expected import EXPECTED
from support.snmpsim import DEBIAN_PYTHON, SNMPD, Snmpd, Snmpsim, free_udp_port, snmpsim_venv

pytestmark = pytest.mark.integration
RECORDED = SHARED_DATA / "snmp-recorded"
HANDMADE = ROOT / "tests" / "fixtures" / "snmp" / "handmade-malformed-switch.snmprec"
BATTERY_TO_REPLACE = "handmade-ups-apc-battery-to-replace"
APC_REPLACE_INDICATOR = "1.3.6.1.4.1.318.1.1.1.2.2.4.0"


def _battery_to_replace() -> Path:
    """The recorded APC Smart-UPS with one value changed by hand, upsAdvBatteryReplaceIndicator 1 (no) -> 2
    (batteryNeedsReplacing): no recorded UPS needs a battery, and the plan must be shown one that does."""
    recorded = (RECORDED / "ups-apc-smart-ups-1000-nmc3.snmprec").read_text()
    assert f"{APC_REPLACE_INDICATOR}|2|1\n" in recorded
    home = Path(tempfile.mkdtemp(prefix="hdc-snmprec-"))
    path = home / f"{BATTERY_TO_REPLACE}.snmprec"
    path.write_text(recorded.replace(f"{APC_REPLACE_INDICATOR}|2|1\n", f"{APC_REPLACE_INDICATOR}|2|2\n"))
    return path


@pytest.fixture(scope="session")
def snmpsim_server():
    need(os.path.exists(DEBIAN_PYTHON), f"{DEBIAN_PYTHON} not found (Debian's python3 runs snmpsim)")
    need(RECORDED.is_dir(), f"recorded SNMP walks not found at {RECORDED}")
    try:
        venv = snmpsim_venv()
    except (RuntimeError, subprocess.SubprocessError) as exc:
        need(False, f"snmpsim could not be installed: {exc}")
    derived = _battery_to_replace()
    server = Snmpsim(venv, [*sorted(RECORDED.glob("*.snmprec")), HANDMADE, derived])  # copies them
    shutil.rmtree(derived.parent)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(venv, ignore_errors=True)


@pytest.fixture(scope="session")
def snmpd_server():
    need(os.path.exists(SNMPD), "snmpd not installed (Debian package 'snmpd')")
    server = Snmpd().start()
    try:
        yield server
    finally:
        server.stop()


def agent_config(tmp_path: Path, url: str, token: str = "t0k3n-unused") -> Path:
    path = tmp_path / "agent.yaml"
    path.write_text(f'collector_url: {url}\nallow_insecure_http: true\nward_code: "00070"\ntoken: {token}\n'
                    f"outbox_dir: {tmp_path / 'outbox'}\ntimeout_seconds: 10\nconnect_timeout_seconds: 2\n")
    path.chmod(0o600)
    return path


def secret(tmp_path: Path, name: str, value: str, mode: int = 0o600) -> Path:
    path = tmp_path / name
    path.write_text(value + "\n")
    path.chmod(mode)
    return path


def community_target(tmp_path: Path, port: int, community: str, name: str = "") -> str:
    secret(tmp_path, f"community-{community}", community)
    return (f"  - address: 127.0.0.1:{port}\n    version: 2c\n    community_file: community-{community}\n"
            + (f"    name: {name}\n" if name else ""))


def probe(tmp_path: Path, targets: str, config: Path, head: str = "timeout_seconds: 2\nretries: 1\n"):
    path = tmp_path / "targets.yaml"
    path.write_text(head + "targets:\n" + targets)
    return cli("agents.cli", "probe-snmp", "--targets", str(path), "--config", str(config), timeout=300)


def queued(tmp_path: Path) -> list:
    return [json.loads(q.body()) for q in Outbox(tmp_path / "outbox").pending()]


# What the PostgreSQL store is asked to keep: one of each kind of answer (serial, MAC-derived, unanswered). The walks
# themselves do not depend on the store, so every recording is probed once, into SQLite.
ON_POSTGRESQL = ("printer-brother-mfc-l2710dw", "switch-cisco-catalyst-2960s", "ups-megatec-netagent-ii-rfc1628")


def test_every_recording_reaches_the_collector(tmp_path, snmpsim_server, collector):
    stems = sorted(EXPECTED) if collector.db_url.startswith("sqlite") else sorted(ON_POSTGRESQL)
    targets = "".join(community_target(tmp_path, snmpsim_server.port, stem, name=stem) for stem in stems)
    done = probe(tmp_path, targets, agent_config(tmp_path, collector.url, collector.token("00070")),
                 head="concurrency: 6\ntimeout_seconds: 5\nretries: 1\n")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(stems)} of {len(stems)} devices read" in done.stdout
    assert done.stdout.count("\nok      ") + done.stdout.startswith("ok      ") == len(stems)
    listed = requests.get(collector.url + "/api/v1/wards/00070/devices?limit=100", timeout=30).json()["devices"]
    by_name = {d["hostname"]: d for d in listed}
    for stem in stems:
        vendor, cls, model, serial = EXPECTED[stem]
        device = by_name[stem]
        assert (device["class"], device["manufacturer"], device["model"]) == (cls, vendor, model), stem
        if serial:
            assert device["device_id"] == f"serial:{serial}"
        assert device["agent"]["source"] == "snmp"
    cisco = by_name["switch-cisco-catalyst-2960s"]
    assert cisco["verdict"] == "ready_with_conditions"
    assert [f["rule_id"] for f in cisco["failures"] if f["outcome"] == "fail"] == ["equipment_supported"]
    assert by_name["ups-megatec-netagent-ii-rfc1628"]["verdict"] == "unknown"  # its battery state never answered


def test_snmpv3_authpriv_against_snmpd_and_wrong_credentials(tmp_path, snmpd_server):
    secret(tmp_path, "auth", snmpd_server.auth_key)
    secret(tmp_path, "priv", snmpd_server.priv_key)
    secret(tmp_path, "wrong", "not-the-auth-key")
    v3 = (f"    version: 3\n    user: {snmpd_server.user}\n    auth_protocol: sha256\n    priv_protocol: aes128\n"
          "    priv_key_file: priv\n")
    targets = (f"  - address: 127.0.0.1:{snmpd_server.port}\n{v3}    auth_key_file: auth\n"
               f"  - address: localhost:{snmpd_server.port}\n{v3}    auth_key_file: wrong\n")
    done = probe(tmp_path, targets, agent_config(tmp_path, f"http://127.0.0.1:{free_udp_port()}"))
    assert done.returncode == 2, done.stdout + done.stderr  # a person must fix the credentials
    assert f"FAILED  localhost:{snmpd_server.port}: the device refused the SNMPv3 credentials of user " \
           f"'{snmpd_server.user}'" in done.stdout
    for key in (snmpd_server.auth_key, snmpd_server.priv_key, "not-the-auth-key"):
        assert key not in done.stdout + done.stderr
    [report] = queued(tmp_path)
    assert validate_report(report) == []
    assert report["device"]["hostname"] == "snmpd-under-test"
    assert report["network_device"]["snmp_version"] == "3" and report["network_device"]["location"] == "loopback"
    # net-snmp's generic sysObjectID (enterprise 8072) names no vendor, and no vendor MIB answers
    assert (report["network_device"]["enterprise"], report["device"]["manufacturer"]) == (8072, None)


def test_wrong_community_and_silent_port_are_per_target_errors(tmp_path, snmpsim_server):
    silent = free_udp_port()
    targets = (community_target(tmp_path, snmpsim_server.port, "printer-canon-lbp6670")
               + community_target(tmp_path, snmpsim_server.port, "no-such-recording")
               + f"  - address: 127.0.0.1:{silent}\n    version: 2c\n    community_file: community-no-such-recording\n")
    done = probe(tmp_path, targets, agent_config(tmp_path, f"http://127.0.0.1:{free_udp_port()}"),
                 head="timeout_seconds: 0.5\nretries: 1\n")
    assert done.returncode == 1, done.stdout + done.stderr  # not answering: the next run retries
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"ok      127.0.0.1:{snmpsim_server.port}  printer Canon LBP6670")
    for line in lines[1:3]:
        assert line.startswith("FAILED  127.0.0.1:") and "no answer within 0.5 s (2 tries)" in line
        assert "the community is wrong" in line
    assert "no-such-recording" not in done.stdout + done.stderr  # the community itself is never printed
    assert "1 of 3 devices read" in done.stdout


def test_malformed_answers_become_unknown_facts_with_notes(tmp_path, snmpsim_server):
    targets = community_target(tmp_path, snmpsim_server.port, HANDMADE.stem)
    done = probe(tmp_path, targets, agent_config(tmp_path, f"http://127.0.0.1:{free_udp_port()}"))
    assert done.returncode == 1, done.stdout + done.stderr  # read, but the collector is not there
    [report] = queued(tmp_path)
    assert validate_report(report) == []
    nd = report["network_device"]
    assert (nd["sys_descr"], nd["sys_object_id"], nd["sys_uptime_seconds"]) == (None, None, None)
    assert report["device"]["class"] == "other" and report["device"]["manufacturer"] is None
    assert nd["ports"]["list"][0]["speed_mbps"] is None and nd["ports"]["list"][0]["mac"] is None
    notes = "\n".join(report["notes"])
    for what in ("sysDescr", "sysObjectID", "sysUpTime", "ifType", "ifSpeed", "ifHighSpeed", "ifOperStatus"):
        assert what in notes, what


def test_bad_targets_files_are_one_line_errors(tmp_path):
    config = agent_config(tmp_path, "http://127.0.0.1:9")
    secret(tmp_path, "shared", "public", mode=0o644)
    done = probe(tmp_path, "  - address: 10.0.0.1\n    version: 2c\n    community_file: shared\n", config)
    assert done.returncode == 2
    assert done.stderr.startswith("hdc-agent: ") and done.stderr.count("\n") == 1
    assert "line 6: field 'targets[0].community_file'" in done.stderr and "chmod 600" in done.stderr
    assert "public" not in done.stderr
    done = probe(tmp_path, "  - address: 10.0.0.1:99999\n    version: 1\n", config)
    assert done.returncode == 2 and "field 'targets[0].address': port '99999'" in done.stderr
    done = probe(tmp_path, "  - address: 10.0.0.1\n    version: 1\n    community_file: x\n", config)
    assert done.returncode == 2 and "field 'targets[0].version': 1 is not 2c or 3" in done.stderr


def test_snmpv3_targets_are_checked_before_sending(tmp_path):
    secret(tmp_path, "auth", "long-enough-key")
    secret(tmp_path, "short", "2short")
    head = "defaults:\n  version: 3\n  user: ro\n  auth_protocol: sha256\n  priv_protocol: aes128\n"

    def load(targets: str):
        path = tmp_path / "targets.yaml"
        path.write_text(head + "targets:\n" + targets)
        return load_snmp_targets(path)

    loaded = load("  - address: '[::1]:1161'\n    auth_key_file: auth\n    priv_key_file: auth\n    retries: 0\n")
    target = loaded.targets[0]
    assert (target.host, target.port, target.label, target.retries, target.timeout) == ("::1", 1161, "[::1]:1161", 0, 2)
    assert "long-enough-key" not in repr(target)  # secrets never reach a message by accident
    with pytest.raises(SnmpTargetsError, match=r"line 7: field 'targets\[0\].priv_key_file': required"):
        load("  - address: h\n    auth_key_file: auth\n")
    with pytest.raises(SnmpTargetsError, match=r"line 9: field 'targets\[0\].priv_key_file': .*shorter than 8"):
        load("  - address: h\n    auth_key_file: auth\n    priv_key_file: short\n")
    with pytest.raises(SnmpTargetsError, match=r"line 5: field 'defaults.priv_protocol': 'rot13' is not one of"):
        head = head.replace("aes128", "rot13")
        load("  - address: h\n    auth_key_file: auth\n    priv_key_file: auth\n")
    with pytest.raises(SnmpTargetsError, match=r"field 'targets\[0\].community_file': does not apply to SNMP "
                                              r"version 3"):
        load("  - address: h\n    community_file: auth\n")


def test_a_known_device_that_falls_silent_is_reported_with_its_facts_unknown(tmp_path, snmpsim_server):
    config = agent_config(tmp_path, f"http://127.0.0.1:{free_udp_port()}")
    stem, address = "switch-d-link-dgs-1510-28", f"127.0.0.1:{snmpsim_server.port}"
    silent = f"127.0.0.1:{free_udp_port()}"
    never = f"  - address: {silent}\n    version: 2c\n    community_file: community-{stem}\n"
    targets = community_target(tmp_path, snmpsim_server.port, stem, name="sw-core") + never
    first = probe(tmp_path, targets, config, head="timeout_seconds: 0.5\nretries: 0\n")
    assert first.returncode == 1 and "1 of 2 devices read" in first.stdout, first.stdout + first.stderr
    [answered] = queued(tmp_path)
    state = tmp_path / "outbox" / SEEN_FILE
    assert state.stat().st_mode & 0o777 == 0o600
    remembered = json.loads(state.read_text())
    assert remembered["format"] == 1 and list(remembered["devices"]) == [f"00070 {address}"]  # not the silent one
    assert remembered["devices"][f"00070 {address}"]["reached_at"] == answered["collected_at"]
    # The same address now ignores us (snmpsim does not answer an unknown community), the other stays silent.
    (tmp_path / f"community-{stem}").write_text("no-such-recording\n")
    second = probe(tmp_path, targets, config, head="timeout_seconds: 0.5\nretries: 0\n")
    assert second.returncode == 1 and "0 of 2 devices read" in second.stdout, second.stdout + second.stderr
    lines = second.stdout.splitlines()
    assert lines[0].startswith(f"FAILED  {address}: no answer within 0.5 s") and \
        lines[0].endswith("reported with its facts unknown (report " + lines[0].rsplit("report ", 1)[1])
    assert lines[1].startswith(f"FAILED  {silent}: no answer") and "reported" not in lines[1]
    [report] = [r for r in queued(tmp_path) if r["report_id"] != answered["report_id"]]
    assert validate_report(report) == []
    assert {k: report["device"][k] for k in ("id", "id_source", "hostname", "serial", "manufacturer", "model",
                                              "class")} == \
        {k: answered["device"][k] for k in ("id", "id_source", "hostname", "serial", "manufacturer", "model", "class")}
    assert report["device"]["id"] == "serial:RZC52H3000029"
    assert report["network_device"]["ports"]["fastest_up_mbps"] is None and report["network_device"]["firmware"] is None
    [note] = report["notes"]
    assert note.startswith(f"no answer since {answered['collected_at']}: {address}: no answer within 0.5 s")
    # Silence does not move the time it was last reached.
    assert json.loads(state.read_text())["devices"][f"00070 {address}"]["reached_at"] == answered["collected_at"]


def test_an_unreadable_or_edited_state_file_costs_only_the_memory(tmp_path, caplog):
    seen = SeenFile(tmp_path)
    seen.path.write_text("{not json")
    assert seen.load() == {} and "unreadable" in caplog.text
    good = {"id": "mac:00:11:22:33:44:55/sw1", "id_source": "mac-hostname", "hostname": "sw1", "serial": None,
            "manufacturer": "Cisco", "model": None, "class": "switch"}
    seen.path.write_text(json.dumps({"format": 1, "devices": {
        "00070 10.0.0.2": {"reached_at": "2026-01-05T06:00:00Z", "device": good},
        "00070 10.0.0.3": {"reached_at": "2026-01-05T06:00:00Z", "device": dict(good, id=7)},
        "00070 10.0.0.4": {"device": good}}}))
    assert list(seen.load()) == ["00070 10.0.0.2"]
    report = silent_report(good, "00070", "hdc-agent", "1", "10.0.0.2", "2c", "no answer since 2026-01-05T06:00:00Z")
    assert validate_report(report) == []
    assert (report["device"]["id"], report["device"]["id_source"]) == (good["id"], "mac-hostname")


EQUIPPED = "00082"
SWITCH, UPS, ROUTER = "switch-cisco-catalyst-2960s", BATTERY_TO_REPLACE, "router-mikrotik-rb750gr3"


@pytest.fixture(scope="module")
def equipped_unit(tmp_path_factory, snmpsim_server):
    """A unit whose register expects a switch, a UPS and a printer; the switch and the UPS are probed into it,
    and a router that answers once, then falls silent."""
    home = tmp_path_factory.mktemp("equipped")
    collector = start_collector(f"sqlite:///{home / 'store.sqlite3'}")
    try:
        sheet = home / "register.csv"
        sheet.write_text("unit_code,device_class,expected\n"
                         f"{EQUIPPED},switch,1\n{EQUIPPED},ups,1\n{EQUIPPED},printer,1\n")
        done = cli("collector.cli", "register", "import", str(sheet), "--db", collector.db_url, "--by", "test")
        assert done.returncode == 0, done.stderr
        config = agent_config(home, collector.url, collector.token(EQUIPPED))
        config.write_text(config.read_text().replace('"00070"', f'"{EQUIPPED}"'))
        targets = "".join(community_target(home, snmpsim_server.port, stem, name=stem) for stem in (SWITCH, UPS))
        router = community_target(home, snmpsim_server.port, ROUTER, name=ROUTER).replace("127.0.0.1", "localhost")
        done = probe(home, targets + router, config)
        assert done.returncode == 0, done.stdout + done.stderr
        # The router falls silent (snmpsim ignores an unknown community): reported with its facts unknown.
        (home / f"community-{ROUTER}").write_text("no-such-recording\n")
        done = probe(home, router, config, head="timeout_seconds: 0.5\nretries: 0\n")
        assert done.returncode == 1 and "reported with its facts unknown" in done.stdout, done.stdout + done.stderr
        yield collector
    finally:
        stop(collector.proc)


def test_a_units_switch_and_ups_show_on_its_page_coverage_plan_and_metrics(equipped_unit):
    url = equipped_unit.url
    listed = requests.get(f"{url}/api/v1/wards/{EQUIPPED}/devices", timeout=30).json()["devices"]
    by_name = {d["hostname"]: d for d in listed}
    switch, ups, router = by_name[SWITCH], by_name[UPS], by_name[ROUTER]
    assert (switch["class"], switch["manufacturer"], switch["verdict"]) == ("switch", "Cisco", "ready_with_conditions")
    assert (ups["class"], ups["manufacturer"], ups["verdict"]) == ("ups", "APC", "not_ready")
    # The router that fell silent keeps its identity and is judged on unknown facts, not left with its old verdict.
    assert (router["device_id"], router["class"], router["model"], router["verdict"]) == (
        "serial:6F3A071688EA", "router", "RB750Gr3", "unknown")
    assert {(f["rule_id"], f["outcome"]) for f in router["failures"]} >= {("uplink_speed", "unknown")}
    detail = requests.get(f"{url}/api/v1/devices/{router['device_id']}", timeout=30).json()
    assert [(h["from"], h["to"]) for h in detail["history"]] == [(None, "ready"), ("ready", "unknown")]
    # Why its facts are unknown, as the prober said it: shown with the device.
    [note] = detail["notes"]
    assert note.startswith("no answer since ") and "no answer within 0.5 s" in note, note
    # The unit page (HTML): both devices with their verdict, and the register's coverage by class.
    page = requests.get(f"{url}/units/{EQUIPPED}", timeout=30).text
    for device in (switch, ups, router):
        assert f'data-device="{device["device_id"]}" data-verdict="{device["verdict"]}"' in page
    coverage = page[page.index('<table id="coverage"'):]
    coverage = coverage[:coverage.index("</table>")]
    for cls, reporting in (("switch", 1), ("ups", 1), ("printer", 0)):  # the printer is registered, never probed
        row = coverage[coverage.index(f'data-class="{cls}"'):]
        row = row[:row.index("</tr>")]
        assert 'data-col="expected">1<' in row and f'data-col="reporting">{reporting}<' in row, cls
    # The plan: a new switch for the out-of-support one, a battery for the UPS, at the shipped example prices.
    plan = requests.get(f"{url}/api/v1/wards/{EQUIPPED}/plan", timeout=30).json()
    steps = {d["device_id"]: [(a["action"], a["item"], a["fixes"]) for a in d["actions"]] for d in plan["devices"]
             if d["actions"]}
    assert steps == {switch["device_id"]: [("replace_equipment", "switch-24p-gigabit", ["rule:equipment_supported"])],
                     ups["device_id"]: [("replace_ups_battery", "ups-battery-pack", ["rule:ups_battery"])]}
    prices = load_price_list().prices_on(date.today())
    items = {i["item"]: i["amount_vnd"] for i in plan["items"]}
    for item in ("switch-24p-gigabit", "ups-battery-pack"):
        assert items[item] == prices[item].unit_price_vnd
    assert 'data-action="replace_ups_battery"' in page and 'data-action="replace_equipment"' in page
    # /metrics counts them by class and verdict, and the register's expected and reporting numbers by class.
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(requests.get(f"{url}/metrics", timeout=30).text)
               for s in family.samples if s.labels.get("ward") == EQUIPPED}
    unit = ("ward", EQUIPPED)
    assert samples[("hdc_class_devices", (("device_class", "switch"), ("verdict", "ready_with_conditions"), unit))] == 1
    assert samples[("hdc_class_devices", (("device_class", "ups"), ("verdict", "not_ready"), unit))] == 1
    assert samples.get(("hdc_class_devices", (("device_class", "ups"), ("verdict", "ready"), unit)), 0) == 0
    assert samples[("hdc_class_devices", (("device_class", "router"), ("verdict", "unknown"), unit))] == 1
    for cls, reporting in (("switch", 1), ("ups", 1), ("printer", 0)):
        assert samples[("hdc_ward_expected_devices", (("device_class", cls), unit))] == 1
        assert samples.get(("hdc_ward_reporting_devices", (("device_class", cls), unit)), 0) == reporting
