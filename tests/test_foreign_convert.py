"""Converters of GLPI JSON and FusionInventory/OCS XML inventories, on the real shared fixtures.

Every expected value below was read off the fixture file it names, so each
assertion checks a unit conversion or a mapping against the source.
"""
from __future__ import annotations

import json
from datetime import date

import pytest

from inventory.baseline import load_baseline
from inventory.evaluate import evaluate
from inventory.foreign import ConversionError, Origin, glpi_json, ocs_xml
from inventory.foreign.identity import digest
from inventory.foreign.partial import complete_partial
from inventory.lifecycle import load_lifecycle
from inventory.schema import validate_report

from conftest import need
from support.foreign import FIXTURES, RECEIVED, convert

MiB, MB = 1024 ** 2, 1000 ** 2

ALL = ["examples/computer_1.json", "examples/computer_1_partial_softs.json", "examples/computer_2.json",
       "examples/computer_3.json", "examples/computer_3_updated.json", "xml/fusioninventory-1.xml",
       "xml/fusioninventory-2.xml", "xml/fusioninventory-3.xml", "xml/fusioninventory-12.xml"]


def test_every_shared_fixture_is_listed_here():
    found = sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.glob("*/*") if p.suffix in (".json", ".xml"))
    need(bool(found), f"no fixtures under {FIXTURES}")
    assert found == sorted(ALL)


@pytest.mark.parametrize("name", ALL)
def test_fixture_converts_to_a_valid_report(name):
    report = convert(name).report
    assert validate_report(report) == []
    assert report["ward_code"] == "00070"
    assert report["firmware"]["tpm"] == {"present": "unknown", "spec_version": None}
    assert "tpm: the inventory format does not report a TPM" in report["notes"]


def test_fedora_laptop_json_computer_1():
    report = convert("examples/computer_1.json").report
    assert report["agent"] == {"name": "FusionInventory-Agent", "version": "2.5.2-1.fc31", "source": "glpi"}
    # logdate 2020-06-12 14:19:54 at +0200
    assert report["collected_at"] == "2020-06-12T12:19:54Z"
    # inventory.identity: SMBIOS UUID and serial together
    assert report["device"] == {"id": "4c4c4544-0034-3010-8048-b6c04f503732/640HP72", "id_source": "smbios-uuid",
                                "hostname": "glpixps", "serial": "640HP72", "manufacturer": "Dell Inc.",
                                "model": "XPS 13 9350", "class": "laptop"}
    hw = report["hardware"]
    assert hw["memory_bytes"] == 7800 * MiB
    assert hw["cpu"] == {"model": "Intel(R) Core(TM) i5-6200U CPU @ 2.30GHz", "vendor": "GenuineIntel",
                         "family": 6, "model_number": 78, "stepping": 3, "logical_cores": 4, "physical_cores": 2,
                         "max_mhz": 2300.0}
    assert hw["disks"] == [{"name": "nvme0n1", "model": "PM951 NVMe SAMSUNG 256GB", "size_bytes": 256060 * MB,
                            "media": "ssd", "system": True}]
    assert hw["system_disk"] == {"mount": "/", "size_bytes": 40189 * MiB, "free_bytes": 11683 * MiB, "media": "ssd"}
    assert report["firmware"]["bios"] == {"vendor": "Dell Inc.", "version": "1.4.3", "date": "2016-02-06"}
    assert report["os"]["family"] == "linux" and report["os"]["id"] == "fedora" and report["os"]["version"] == "31"
    assert report["os"]["kernel"] == "5.6.15-200.fc31.x86_64"
    assert [s["name"] for s in report["software"]][:2] == ["gitg", "expat"] and len(report["software"]) == 6
    assert {"name": "gitg", "version": "3.32.1-1.fc31", "publisher": "Fedora Project"} in report["software"]


def test_invalid_uuid_falls_back_to_the_serial_computer_2():
    report = convert("examples/computer_2.json").report
    assert report["device"]["id"] == "serial:2FAGP34" and report["device"]["id_source"] == "serial"
    assert any("4BDRGGFE-0046-4710-8047-B2C04F503732" in n for n in report["notes"])
    # no operatingsystem section at all: unknown, not guessed
    assert report["os"]["id"] == "unknown" and report["os"]["family"] == "other"
    assert report["hardware"]["memory_bytes"] == 7830 * MiB
    # no accesslog: the time of receipt
    assert report["collected_at"] == "2025-11-20T03:00:00Z"


def test_large_json_inventory_computer_3():
    report = convert("examples/computer_3.json").report
    assert len(report["software"]) == 3033
    assert report["device"]["id"] == "0055adc9-1d3a-e411-8043-b05d95113232/8C554721F"
    assert report["device"]["class"] == "laptop"  # chassis "Notebook"
    assert report["hardware"]["cpu"]["model_number"] == 69
    assert report["hardware"]["disks"][0]["size_bytes"] == 250059 * MB
    assert report["hardware"]["system_disk"]["size_bytes"] == 50268 * MiB
    assert report["collected_at"] == "2017-02-20T12:23:05Z"  # 13:23:05 at +0100


def test_windows_xml_fusioninventory_12():
    report = convert("xml/fusioninventory-12.xml").report
    assert report["os"] == {"family": "windows", "name": "Microsoft Windows 8.1 Professionnel", "id": "windows",
                            "version": "8.1", "release": None, "edition": "Professional", "build": "9600",
                            "kernel": "6.3.9600", "architecture": "64-bit"}
    assert load_lifecycle().end_of_support(report["os"]) == date(2023, 1, 10)
    hw = report["hardware"]
    assert hw["memory_bytes"] == 3887 * MiB
    assert (hw["cpu"]["family"], hw["cpu"]["model_number"], hw["cpu"]["stepping"]) == (6, 37, 5)
    assert hw["system_disk"] == {"mount": "C:", "size_bytes": 115123 * MiB, "free_bytes": 71954 * MiB,
                                 "media": "unknown"}
    assert hw["disks"][0]["name"] == "\\\\.\\PHYSICALDRIVE0" and hw["disks"][0]["size_bytes"] == 250059 * MB
    assert report["firmware"]["bios"]["date"] == "2010-08-24"  # BDATE 08/24/2010
    assert report["device"]["serial"] == "CZC0479792"
    assert {"name": "CCleaner", "version": "5.09", "publisher": "Piriform"} in report["software"]
    assert {"name": "Connexion réseau Intel(R) 82577LM Gigabit", "mac": "68:b5:99:e6:84:eb",
            "addresses": ["10.253.6.55"]} in report["network"]["interfaces"]


def test_macos_xml_fusioninventory_3():
    report = convert("xml/fusioninventory-3.xml").report
    assert report["os"]["family"] == "macos" and report["os"]["id"] == "macos"
    assert (report["os"]["version"], report["os"]["build"]) == ("10.6.8", "10K549")
    # no HARDWARE/MEMORY: the two 2000 MiB modules
    assert report["hardware"]["memory_bytes"] == 4000 * MiB
    assert report["device"]["class"] == "other"  # no chassis type: unknown, not guessed from the model name
    assert report["firmware"]["bios"]["date"] is None
    assert report["hardware"]["system_disk"]["size_bytes"] == 42900 * MiB  # the "/" volume, not /Volumes/*


def test_linux_xml_fusioninventory_1_and_its_json_twin_share_a_uuid_but_not_a_serial():
    """The shared UUID alone would merge them; their SMBIOS serials differ, so they stay two devices."""
    xml = convert("xml/fusioninventory-1.xml").report
    json_ = convert("examples/computer_3_updated.json").report
    assert xml["device"]["id"] == "0055adc9-1d3a-e411-8043-b05d95113232/9E113232I"
    assert json_["device"]["id"] == "0055adc9-1d3a-e411-8043-b05d95113232/8C554721F"
    assert xml["hardware"]["memory_bytes"] == json_["hardware"]["memory_bytes"] == 7908 * MiB
    assert xml["firmware"]["bios"]["date"] == "2014-07-25"  # BDATE 07/25/2014
    assert xml["agent"]["source"] == "fusioninventory" and json_["agent"]["source"] == "glpi"


VERDICTS = {
    "examples/computer_1.json": ("not_ready", {"system_disk": "fail", "device_age": "fail",
                                               "system_disk_free": "fail", "os_supported": "unknown"}),
    "examples/computer_1_partial_softs.json": ("unknown", {"cpu_cores": "unknown", "system_disk": "unknown",
                                                           "device_age": "fail"}),
    "examples/computer_3.json": ("not_ready", {"system_disk": "fail", "device_age": "fail",
                                               "system_disk_free": "fail", "os_supported": "unknown"}),
    "xml/fusioninventory-1.xml": ("unknown", {"os_supported": "unknown", "device_age": "fail",
                                              "system_disk_free": "fail", "ssd": "unknown"}),
    "xml/fusioninventory-2.xml": ("not_ready", {"os_supported": "fail", "memory": "fail", "win11_cpu": "fail",
                                                "tpm": "unknown", "device_age": "fail"}),
    "examples/computer_2.json": ("unknown", {"os_supported": "unknown", "win11_cpu": "unknown", "tpm": "unknown",
                                             "device_age": "fail"}),
    "examples/computer_3_updated.json": ("unknown", {"os_supported": "unknown", "device_age": "fail",
                                                     "system_disk_free": "fail", "ssd": "unknown"}),
    "xml/fusioninventory-12.xml": ("not_ready", {"os_supported": "fail", "memory": "fail", "win11_cpu": "fail",
                                                 "tpm": "unknown", "device_age": "fail"}),
    "xml/fusioninventory-3.xml": ("unknown", {"os_supported": "unknown"}),
}


@pytest.mark.parametrize("name", ALL)
def test_fixture_verdict_names_the_rules(name):
    """The verdict on the equipment deadline, with the rules that failed or could not be judged.

    Fedora and macOS are not in the end-of-support table, so their OS rule is
    unknown; no fixture reports a TPM, boot mode or Secure Boot.
    """
    status, rules = VERDICTS[name]
    verdict = evaluate(convert(name).report, load_baseline(), date(2025, 11, 30))
    outcomes = {r.rule_id: r.outcome for r in verdict.failures}
    assert verdict.status == status
    assert {k: outcomes.get(k) for k in rules} == rules


def test_partial_inventory_keeps_what_it_omits_from_the_previous_report():
    full = convert("examples/computer_1.json").report
    partial = convert("examples/computer_1_partial_softs.json")
    assert "cpu" not in partial.covered and "software" in partial.covered
    merged = complete_partial(partial.report, partial.covered, full)
    assert validate_report(merged) == []
    assert merged["hardware"]["cpu"] == full["hardware"]["cpu"]
    assert merged["hardware"]["system_disk"] == full["hardware"]["system_disk"]
    # what it did send wins: gitg was updated
    assert {"name": "gitg", "version": "3.33.0-1.fc31", "publisher": "Fedora Project"} in merged["software"]
    assert not any(n.startswith("cpu:") for n in merged["notes"])
    assert any(n.startswith("partial inventory: cpu") for n in merged["notes"])
    alone = complete_partial(partial.report, partial.covered, None)
    assert alone["hardware"]["cpu"]["model"] is None and "no earlier report" in alone["notes"][-1]


def test_report_id_is_stable_for_the_same_bytes_only():
    a = convert("xml/fusioninventory-2.xml").report["report_id"]
    assert a == convert("xml/fusioninventory-2.xml").report["report_id"]
    assert a != convert("xml/fusioninventory-12.xml").report["report_id"]  # same PC, other bytes


def test_ocs_agent_named_from_user_agent():
    data = (b"<REQUEST><DEVICEID>srv-2025-01-01-00-00-00</DEVICEID><QUERY>INVENTORY</QUERY><CONTENT>"
            b"<HARDWARE><NAME>srv</NAME><MEMORY>16000</MEMORY><OSNAME>Debian GNU/Linux 12</OSNAME>"
            b"<OSCOMMENTS>Debian GNU/Linux 12 (bookworm)</OSCOMMENTS><OSVERSION>12</OSVERSION></HARDWARE>"
            b"<BIOS></BIOS><CPUS><CORES>4</CORES><LOGICAL_CPUS>8</LOGICAL_CPUS><TYPE>Xeon</TYPE></CPUS>"
            b"<STORAGES><NAME>sda</NAME><DISKSIZE>480103.981056</DISKSIZE><TYPE>disk</TYPE></STORAGES>"
            b"<STORAGES><NAME>sr0</NAME><TYPE>cdrom</TYPE></STORAGES></CONTENT></REQUEST>")
    origin = Origin("00070", "ocs", RECEIVED, digest(data), user_agent="OCS-NG_unified_unix_agent_v2.10.0")
    report = ocs_xml.convert_request(ocs_xml.parse_request(data), origin).report
    assert validate_report(report) == []
    assert report["agent"] == {"name": "OCS-NG_unified_unix_agent", "version": "2.10.0", "source": "ocs"}
    assert report["device"]["id"] == "ocs:srv-2025-01-01-00-00-00" and report["device"]["id_source"] == "foreign"
    assert report["os"]["id"] == "debian" and report["os"]["version"] == "12"
    assert report["os"]["name"] == "Debian GNU/Linux 12 (bookworm)"
    assert report["hardware"]["cpu"]["logical_cores"] == 8 and report["hardware"]["cpu"]["physical_cores"] == 4
    assert report["hardware"]["disks"] == [{"name": "sda", "model": None, "size_bytes": 480103981056,
                                            "media": "unknown", "system": None}]


def test_ocs_windows_inventory_service_pack_and_drive_letter():
    data = (b"<REQUEST><DEVICEID>PC-07-2024-03-01-08-00-00</DEVICEID><QUERY>INVENTORY</QUERY><CONTENT>"
            b"<HARDWARE><NAME>PC-07</NAME><MEMORY>4096</MEMORY><OSNAME>Microsoft Windows 7 Professional</OSNAME>"
            b"<OSVERSION>6.1.7601</OSVERSION><OSCOMMENTS>Service Pack 1</OSCOMMENTS>"
            b"<UUID>4C4C4544-0042-3510-8051-B7C04F4E3532</UUID></HARDWARE><BIOS><TYPE>Mini Tower</TYPE></BIOS>"
            b"<DRIVES><LETTER>D:/</LETTER><TOTAL>500000</TOTAL><FREE>1</FREE></DRIVES>"
            b"<DRIVES><LETTER>C:/</LETTER><TOTAL>120000</TOTAL><FREE>30000</FREE></DRIVES></CONTENT></REQUEST>")
    origin = Origin("00070", "ocs", RECEIVED, digest(data), user_agent="OCS-NG_WINDOWS_AGENT_v2.9.2.0")
    report = ocs_xml.convert_request(ocs_xml.parse_request(data), origin).report
    assert validate_report(report) == []
    os_ = report["os"]
    assert (os_["id"], os_["version"], os_["edition"], os_["build"]) == ("windows", "7", "Professional", "7601")
    assert report["hardware"]["system_disk"] == {"mount": "C:", "size_bytes": 120000 * MiB,
                                                 "free_bytes": 30000 * MiB, "media": "unknown"}
    assert report["device"]["id"] == "4c4c4544-0042-3510-8051-b7c04f4e3532"
    assert report["device"]["class"] == "workstation"  # OCS names the chassis in BIOS/TYPE
    assert report["agent"]["version"] == "2.9.2.0"


@pytest.mark.parametrize("caption, kernel, version, expected", [
    ("Microsoft Windows 11 Pro", "10.0.22631", "23H2", ("windows", "11", "23H2", "Professional", "22631")),
    ("Microsoft Windows 10 Enterprise LTSC", "10.0.17763", None, ("windows", "10", None, "EnterpriseS", "17763")),
    ("Microsoft Windows 10 Home Single Language", "10.0.19045.4291", "22H2",
     ("windows", "10", "22H2", "CoreSingleLanguage", "19045.4291")),
    ("Microsoft Windows Server 2012 R2 Standard", "6.3.9600", None,
     ("windows-server", "2012 R2", None, "ServerStandard", "9600")),
    ("Microsoft(R) Windows(R) Server 2003, Enterprise Edition x64", "5.2.3790", None,
     ("windows-server", "2003", None, "Enterprise", "3790")),
])
def test_windows_captions(caption, kernel, version, expected):
    from inventory.foreign.os_names import os_section

    os_ = os_section("Windows", caption, version, "MSWin32", kernel, "64-bit", [])
    assert (os_["id"], os_["version"], os_["release"], os_["edition"], os_["build"]) == expected


@pytest.mark.parametrize("name, full, version, expected", [
    ("Ubuntu", "Ubuntu 22.04.3 LTS", "22.04.3 LTS (Jammy Jellyfish)", ("ubuntu", "22.04.3")),
    ("Red Hat Enterprise Linux", "Red Hat Enterprise Linux release 9.4 (Plow)", "9.4", ("rhel", "9.4")),
    ("Debian GNU/Linux", "Debian GNU/Linux 12 (bookworm)", "12.11", ("debian", "12.11")),
    ("CentOS Linux", "CentOS Linux release 7.9.2009 (Core)", None, ("centos", "7.9.2009")),
])
def test_linux_names_map_to_os_release_ids(name, full, version, expected):
    from inventory.foreign.os_names import os_section

    os_ = os_section(name, full, version, "linux", "6.1.0", "x86_64", [])
    assert (os_["id"], os_["version"]) == expected
    assert load_lifecycle().end_of_support(os_) is not None


def test_cpu_numbers_come_from_the_cpuid_signature_when_fields_are_missing():
    content = {"hardware": {"name": "pc", "uuid": "2d1e3f40-1111-2222-3333-444455556666"},
               "cpus": [{"name": "Intel(R) Core(TM) i5-8500", "manufacturer": "Intel",
                         "id": "EA 06 09 00 FF FB EB BF", "core": 6, "thread": 6}]}
    data = json.dumps({"deviceid": "pc", "content": content}).encode()
    cpu = glpi_json.convert_message(glpi_json.parse_message(data), Origin(
        "00070", "glpi", RECEIVED, digest(data))).report["hardware"]["cpu"]
    # 0x000906EA: Coffee Lake, family 6 model 158 stepping 10
    assert (cpu["family"], cpu["model_number"], cpu["stepping"]) == (6, 158, 10)
    assert cpu["logical_cores"] == 6


def _json_error(doc) -> ConversionError:
    data = json.dumps(doc).encode()
    with pytest.raises(ConversionError) as info:
        glpi_json.convert_message(glpi_json.parse_message(data), Origin("00070", "glpi", RECEIVED, digest(data)))
    return info.value


def _xml_error(data: bytes) -> ConversionError:
    with pytest.raises(ConversionError) as info:
        ocs_xml.convert_request(ocs_xml.parse_request(data), Origin("00070", "ocs", RECEIVED, digest(data)))
    return info.value


def test_bad_json_values_name_their_field():
    assert _json_error({"deviceid": "a", "content": {"hardware": {"memory": "lots"}}}).field == \
        "content.hardware.memory"
    assert _json_error({"deviceid": "a", "content": {"cpus": ["i7"]}}).field == "content.cpus[0]"
    assert _json_error({"deviceid": "a", "content": {"hardware": "pc"}}).field == "content.hardware"
    assert _json_error({"deviceid": "a", "content": {"storages": [{"name": "sda", "disksize": -5}]}}).field == \
        "content.storages[0].disksize"
    assert _json_error({"deviceid": "a"}).field == "content"
    assert _json_error({"deviceid": "a", "itemtype": "Printer", "content": {}}).field == "itemtype"
    assert "nothing identifies the device" in str(_json_error({"content": {"bios": {"ssn": "Default string"}}}))
    with pytest.raises(ConversionError, match="not JSON"):
        glpi_json.parse_message(b'{"content": ')
    with pytest.raises(ConversionError, match="not valid JSON"):
        glpi_json.parse_message(b'{"content": NaN}')


def test_bad_xml_names_its_element():
    error = _xml_error(b"<REQUEST><QUERY>INVENTORY</QUERY><DEVICEID>d</DEVICEID><CONTENT>"
                       b"<CPUS><CORE>2</CORE></CPUS><CPUS><CORE>two</CORE></CPUS></CONTENT></REQUEST>")
    assert error.field == "REQUEST/CONTENT/CPUS[2]/CORE"
    assert _xml_error(b"<REQUEST><QUERY>INVENTORY</QUERY></REQUEST>").field == "REQUEST/CONTENT"
    assert _xml_error(b"<REQUEST><DEVICEID>d</DEVICEID></REQUEST>").field == "REQUEST/QUERY"
    assert "<INVENTORY>, not <REQUEST>" in str(_xml_error(b"<INVENTORY/>"))
    assert "line 1 column" in str(_xml_error(b"<REQUEST><QUERY>PROLOG</QUERY>"))


@pytest.mark.parametrize("payload, message", [
    (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aa"><!ENTITY b "&a;&a;">]>'
     b"<REQUEST><QUERY>&b;</QUERY></REQUEST>", "(<!DOCTYPE>) is not accepted"),
    (b'<!DOCTYPE r SYSTEM "file:///etc/passwd"><REQUEST><QUERY>PROLOG</QUERY></REQUEST>',
     "(<!DOCTYPE>) is not accepted"),
])
def test_xml_with_dtd_or_entities_is_refused_not_expanded(payload, message):
    with pytest.raises(ConversionError) as info:
        ocs_xml.parse_request(payload)
    assert message in str(info.value)

