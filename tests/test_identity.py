"""One device id rule (inventory.identity) for our agent, the SSH prober and every foreign inventory.

Unit tests of the rule; the real GLPI fixtures (one PC sent twice, and two
inventories sharing a UUID but not a serial); agreement between what our
probes and the converters derive for the same machine; and this machine
reported by hdc-agent, the real fusioninventory-agent and ocsinventory-agent
to one collector, which must store ONE device.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from agents.builder import Facts, build_report
from agents.probe_linux import probe
from collector.store.engine import make_engine
from collector.store.tables import devices, reports
from inventory.foreign import Origin, glpi_json, ocs_xml
from inventory.foreign.identity import digest
from inventory.identity import Clues, Interface, device_identity, primary_mac

from conftest import cli, need, start_collector, stop
from support.foreign import RECEIVED, convert

UUID = "4C4C4544-0034-3010-8048-B6C04F503732"


def ident(**clues) -> tuple:
    notes: list = []
    return device_identity(Clues(**clues), notes) + (notes,)


# --- the rule --------------------------------------------------------------------------------

def test_uuid_and_serial_together_come_first():
    assert ident(smbios_uuid=UUID, serial=" 640HP72 ", hostname="glpixps",
                 interfaces=[Interface("eth0", "00:e0:4c:68:01:db")], installation_id="abc")[:2] == \
        ("4c4c4544-0034-3010-8048-b6c04f503732/640HP72", "smbios-uuid")


def test_clones_sharing_a_uuid_stay_apart_by_serial():
    first, second = ident(smbios_uuid=UUID, serial="5QVN2X2"), ident(smbios_uuid=UUID, serial="5QVN2X3")
    assert first[0] != second[0]
    assert first[0].startswith("4c4c4544-0034-3010-8048-b6c04f503732/")


def test_known_limit_clones_keeping_uuid_and_serial_are_one_device():
    """VMware derives the serial from the UUID: a clone that keeps one keeps both (documented in the rule)."""
    serial = "VMware-56 4d 1f 2b 33 44 55 66-77 88 99 aa bb cc dd ee"
    a = ident(smbios_uuid=UUID, serial=serial, interfaces=[Interface("ens160", "00:50:56:aa:00:01")])
    b = ident(smbios_uuid=UUID, serial=serial, interfaces=[Interface("ens160", "00:50:56:aa:00:02")])
    assert a[0] == b[0]


def test_placeholder_serial_leaves_the_uuid_alone_and_placeholder_uuid_leaves_the_serial():
    assert ident(smbios_uuid=UUID, serial="To Be Filled By O.E.M.")[:2] == \
        ("4c4c4544-0034-3010-8048-b6c04f503732", "smbios-uuid")
    assert ident(smbios_uuid=UUID, serial="0000000000")[:2] == ("4c4c4544-0034-3010-8048-b6c04f503732", "smbios-uuid")
    uid, source, notes = ident(smbios_uuid="03000200-0400-0500-0006-000700080009", serial="2FAGP34")
    assert (uid, source) == ("serial:2FAGP34", "serial")
    assert any("is a placeholder" in n for n in notes)


def test_mac_and_hostname_before_the_installation_id():
    uid, source, notes = ident(hostname="PC-07.phuc-xa.local", installation_id="0123456789abcdef0123456789abcdef",
                               installation_source="machine-id",
                               interfaces=[Interface("docker0", "02:42:ac:11:00:01"), Interface("lo", None),
                                           Interface("wlan0", "44:85:00:2b:90:bc"),
                                           Interface("enp0s31f6", "00:e0:4c:68:01:db")])
    assert (uid, source) == ("mac:00:e0:4c:68:01:db/pc-07", "mac-hostname")
    assert any("primary MAC address and the hostname" in n for n in notes)


@pytest.mark.parametrize("interfaces, expected", [
    # universally administered beats a lower locally administered address (docker, Wi-Fi Direct)
    ([("eth0", "52:54:00:12:34:56"), ("eth1", "00:50:56:01:02:03")], "00:50:56:01:02:03"),
    # only locally administered ones (a KVM guest): the lowest of them, virtual interfaces left out
    ([("ifb0", "02:aa:00:00:00:01"), ("eth0", "52:54:00:12:34:56"), ("virbr0", "12:00:00:00:00:01")],
     "52:54:00:12:34:56"),
    # Windows spellings: a dash-separated MAC, Hyper-V and Bluetooth adapters by name or description
    ([("vEthernet (Default Switch)", "00:15:5D:00:00:01"), ("Bluetooth Network Connection", "00:1a:7d:da:71:13"),
      ("Ethernet", "F4-8E-38-AA-BB-CC")], "f4:8e:38:aa:bb:cc"),
    ([("Hyper-V Virtual Ethernet Adapter", "00:15:5d:00:00:01"), ("Intel(R) Ethernet I219-LM", "f4:8e:38:aa:bb:cc")],
     "f4:8e:38:aa:bb:cc"),
    # multicast, all-zero and malformed addresses identify nothing
    ([("eth0", "01:00:5e:00:00:01"), ("eth1", "00:00:00:00:00:00"), ("eth2", "00:11")], None),
])
def test_primary_mac(interfaces, expected):
    assert primary_mac([Interface(n, m) for n, m in interfaces]) == expected


def test_installation_id_then_hostname_then_nothing():
    assert ident(installation_id="ocs:srv-2025", hostname="srv")[:2] == ("ocs:srv-2025", "foreign")
    assert ident(hostname="SRV.example")[:2] == ("srv", "hostname")
    with pytest.raises(ValueError, match="nothing identifies the device"):
        ident()


def test_an_overlong_serial_keeps_the_id_within_128_characters():
    uid = ident(smbios_uuid=UUID, serial="S" + "x1" * 100)[0]
    assert len(uid) <= 128 and uid.startswith("4c4c4544-0034-3010-8048-b6c04f503732/sha256-")
    assert uid == ident(smbios_uuid=UUID, serial="S" + "x1" * 100)[0]


# --- the real GLPI fixtures ----------------------------------------------------------------------

def test_one_pc_sent_twice_is_one_device():
    """fusioninventory-2 and -12 are the same Windows PC at two dates; computer_3 and its update too."""
    assert convert("xml/fusioninventory-2.xml").report["device"]["id"] == \
        convert("xml/fusioninventory-12.xml").report["device"]["id"] == \
        "33e737a8-f827-11df-9297-47c0a301005a/CZC0479792"
    assert convert("examples/computer_3.json").report["device"]["id"] == \
        convert("examples/computer_3_updated.json").report["device"]["id"]
    assert convert("examples/computer_1.json").report["device"]["id"] == \
        convert("examples/computer_1_partial_softs.json").report["device"]["id"]


def test_fixtures_sharing_a_uuid_but_not_a_serial_are_two_devices():
    """LF014: fusioninventory-1.xml and computer_3_updated.json carry one SMBIOS UUID, serials 9E113232I / 8C554721F."""
    xml = convert("xml/fusioninventory-1.xml").report["device"]
    json_ = convert("examples/computer_3_updated.json").report["device"]
    assert xml["hostname"] == json_["hostname"] == "LF014"
    assert xml["id"].split("/")[0] == json_["id"].split("/")[0] == "0055adc9-1d3a-e411-8043-b05d95113232"
    assert xml["id"] != json_["id"]


# --- our probes and the converters agree -------------------------------------------------------

def write(root: Path, files: dict) -> None:
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(content + "\n")


def test_linux_agent_and_glpi_agent_give_glpixps_one_id(tmp_path):
    """computer_1.json is glpixps (UUID 4C4C4544-0034-..., serial 640HP72); our probe reading the same SMBIOS agrees."""
    write(tmp_path, {"sys/class/dmi/id/product_uuid": UUID.lower(), "sys/class/dmi/id/product_serial": "640HP72",
                     "sys/class/dmi/id/chassis_type": "9", "etc/machine-id": "0123456789abcdef0123456789abcdef"})
    ours = build_report(probe(tmp_path, run=lambda argv: ""))
    assert ours["device"]["id"] == convert("examples/computer_1.json").report["device"]["id"]


def test_windows_probe_candidate_and_fusioninventory_give_one_id():
    """The Windows probe names the SMBIOS UUID as its id; with the serial the builder makes the pair."""
    facts = Facts(device={"id": "33e737a8-f827-11df-9297-47c0a301005a", "id_source": "smbios-uuid",
                          "hostname": "pc-arg-23", "serial": "CZC0479792", "class": "laptop"},
                  hardware={}, firmware={}, os={"family": "windows", "name": "Windows 8.1", "id": "windows"},
                  interfaces=[{"name": "Ethernet", "mac": "68:b5:99:e6:84:eb", "addresses": []}])
    assert build_report(facts)["device"]["id"] == convert("xml/fusioninventory-2.xml").report["device"]["id"]


def test_without_uuid_and_serial_mac_and_hostname_agree_across_sources():
    """A non-root agent and a GLPI agent that sends no SMBIOS: MAC + hostname, not machine-id vs DEVICEID."""
    content = {"hardware": {"name": "PC-07"},
               "networks": [{"description": "lo", "mac": "00:00:00:00:00:00", "ipaddress": "127.0.0.1"},
                            {"description": "docker0", "mac": "02:42:ac:11:00:01"},
                            {"description": "enp0s31f6", "mac": "F4:8E:38:AA:BB:CC", "ipaddress": "10.0.0.7"}]}
    data = json.dumps({"deviceid": "PC-07-2025-11-20-10-00-00", "content": content}).encode()
    theirs = glpi_json.convert_message(glpi_json.parse_message(data), Origin("00070", "glpi", RECEIVED, digest(data)))
    facts = Facts(device={"id": "0123456789abcdef0123456789abcdef", "id_source": "machine-id",
                          "hostname": "pc-07.phuc-xa.local", "serial": None, "class": "workstation"},
                  hardware={}, firmware={}, os={"family": "linux", "name": "Ubuntu", "id": "ubuntu"},
                  interfaces=[{"name": "docker0", "mac": "02:42:ac:11:00:01", "addresses": []},
                              {"name": "enp0s31f6", "mac": "f4:8e:38:aa:bb:cc", "addresses": ["10.0.0.7"]}])
    ours = build_report(facts)
    assert ours["device"]["id"] == theirs.report["device"]["id"] == "mac:f4:8e:38:aa:bb:cc/pc-07"

    xml = (b"<REQUEST><DEVICEID>PC-07-2025-11-20-10-00-00</DEVICEID><QUERY>INVENTORY</QUERY><CONTENT>"
           b"<HARDWARE><NAME>PC-07</NAME></HARDWARE><NETWORKS><DESCRIPTION>enp0s31f6</DESCRIPTION>"
           b"<MACADDR>f4:8e:38:aa:bb:cc</MACADDR></NETWORKS></CONTENT></REQUEST>")
    ocs = ocs_xml.convert_request(ocs_xml.parse_request(xml), Origin("00070", "ocs", RECEIVED, digest(xml)))
    assert ocs.report["device"]["id"] == ours["device"]["id"]


# --- this machine, three agents, one collector -----------------------------------------------------

def _agent(command: str, package: str) -> str:
    path = shutil.which(command)
    need(path is not None, f"{command} not installed (Debian package '{package}')")
    need(os.geteuid() == 0, f"{command} keeps its state under /var/lib and must run as root here")
    return path  # type: ignore[return-value]


def _run(argv: list) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "[error]" not in output, output[-3000:]


@pytest.mark.integration
def test_this_machine_through_our_agent_fusioninventory_and_ocs_is_one_device(tmp_path):
    fusion = _agent("fusioninventory-agent", "fusioninventory-agent")
    ocs = _agent("ocsinventory-agent", "ocsinventory-agent")
    collector = start_collector(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    try:
        token = collector.token("00070")
        config = tmp_path / "agent.yaml"
        config.write_text(f'collector_url: {collector.url}\nallow_insecure_http: true\nward_code: "00070"\n'
                          f"token: {token}\noutbox_dir: {tmp_path / 'outbox'}\n")
        config.chmod(0o600)
        done = cli("agents.cli", "run", "--config", str(config))
        assert done.returncode == 0, done.stderr
        _run([fusion, "--server", f"{collector.url}/inventory", "--user", "00070", "--password", token,
              "--tasks=inventory"])
        user, password = (base64.b64encode(v.encode()).decode() for v in ("00070", token))
        _run([ocs, "--nolocal", f"--server={collector.url}/ocsinventory", f"--user={user}", f"--password={password}",
              "--realm=hdc-readiness", f"--basevardir={tmp_path / 'ocs'}"])

        engine = make_engine(collector.db_url)
        try:
            with engine.connect() as conn:
                filed = conn.execute(sa.select(reports.c.source, reports.c.device_id)).all()
                stored = conn.execute(sa.select(devices.c.device_id)).scalars().all()
        finally:
            engine.dispose()
        assert sorted(source for source, _ in filed) == ["agent", "fusioninventory", "ocs"]
        assert len({device for _, device in filed}) == 1, filed
        assert stored == [filed[0][1]]
    finally:
        stop(collector.proc)
