"""The Linux probe and the report builder: fake machines built as file trees, then this real machine."""
from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest

from agents import __version__, probe_linux
from agents.builder import MAX_NOTES, PLACEHOLDER_WARD, Facts, build_report
from agents.config import load_config
from agents.host import LocalHost
from agents.host_psutil import PsutilFacts
from agents.host_text import (
    TextFacts,
    cores_from_cpuinfo,
    count_cpu_list,
    parse_df,
    parse_if_inet6,
    parse_ip_addr,
    parse_meminfo,
)
from agents.linux_software import CommandFailed, prefetch, read_software, run_command
from agents.probe_linux import probe
from inventory.schema import validate_report

from conftest import ROOT, need
from support.paths import path_without

SECURE_BOOT = "sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e98c0cb5d2ee"
HOSTNAME = "pc-01"
INTEL_CPUINFO = """processor	: 0
vendor_id	: GenuineIntel
cpu family	: 6
model		: 158
model name	: Intel(R) Core(TM) i5-8500 CPU @ 3.00GHz
stepping	: 10
flags		: fpu vme de pse tsc msr sse sse2

processor	: 1
vendor_id	: GenuineIntel
cpu family	: 6
model		: 158
model name	: Intel(R) Core(TM) i5-8500 CPU @ 3.00GHz
stepping	: 10
"""




# The parsers read through a Host; these read a file tree standing in for a machine.

def read_device(root: Path, notes: list) -> dict:
    return probe_linux.read_device(LocalHost(root), notes, HOSTNAME)


def read_cpu(root: Path, notes: list) -> dict:
    return probe_linux.read_cpu(LocalHost(root), notes, (None, None))


def read_disks(root: Path, notes: list) -> tuple:
    return probe_linux.read_disks(LocalHost(root), notes, PsutilFacts(root).root_usage(notes))


def read_firmware(root: Path, notes: list) -> dict:
    return probe_linux.read_firmware(LocalHost(root), notes)


def read_os(root: Path, notes: list) -> dict:
    return probe_linux.read_os(LocalHost(root), notes, platform.release(), platform.machine())


def identity(root: Path, notes: list) -> tuple:
    """The device id the builder gives the tree's machine, network interfaces left out."""
    facts = probe(root, run=fake_dpkg)
    facts.interfaces = []
    report = build_report(facts)
    notes.extend(report["notes"])
    return report["device"]["id"], report["device"]["id_source"]


def write(root: Path, files: dict) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content if content.endswith("\n") else content + "\n")


def add_disk(root: Path, name: str, sectors: int, rotational: str, model: str = None,
             partitions: dict = None, removable: str = "0", major: int = 8) -> None:
    """A disk as the kernel lays it out: a devices/ node, /sys/block and /sys/class/block links."""
    node = root / "sys/devices/pci0000:00" / name
    files = {"size": str(sectors), "queue/rotational": rotational, "removable": removable}
    if model:
        files["device/model"] = model
    write(node, files)
    for link in (f"sys/block/{name}", f"sys/class/block/{name}"):
        (root / link).parent.mkdir(parents=True, exist_ok=True)
        (root / link).symlink_to(node)
    for part, minor in (partitions or {}).items():
        write(node, {f"{part}/partition": str(minor), f"{part}/size": "1000"})
        (root / f"sys/class/block/{part}").symlink_to(node / part)
        (root / "sys/dev/block").mkdir(parents=True, exist_ok=True)
        (root / f"sys/dev/block/{major}:{minor}").symlink_to(node / part)


def mountinfo(devno: str, source: str, fstype: str = "ext4") -> str:
    return f"22 27 0:21 / /proc rw - proc proc rw\n27 1 {devno} / / rw,relatime shared:1 - {fstype} {source} rw\n"


@pytest.fixture
def desktop(tmp_path: Path) -> Path:
    """A Dell desktop booted UEFI with Secure Boot on, TPM 2.0, Ubuntu on NVMe plus a data HDD."""
    write(tmp_path, {
        "sys/class/dmi/id/product_uuid": "4C4C4544-0042-3510-8051-B4C04F564E32",
        "sys/class/dmi/id/product_serial": "5QVN2X2",
        "sys/class/dmi/id/sys_vendor": "Dell Inc.",
        "sys/class/dmi/id/product_name": "OptiPlex 7060",
        "sys/class/dmi/id/chassis_type": "3",
        "sys/class/dmi/id/bios_vendor": "Dell Inc.",
        "sys/class/dmi/id/bios_version": "1.22.0",
        "sys/class/dmi/id/bios_date": "06/28/2018",
        "etc/machine-id": "0123456789abcdef0123456789abcdef",
        "etc/os-release": 'PRETTY_NAME="Ubuntu 24.04.1 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\n',
        "proc/cpuinfo": INTEL_CPUINFO,
        "proc/self/mountinfo": mountinfo("259:2", "/dev/nvme0n1p2"),
        "sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq": "4100000",
        SECURE_BOOT: b"\x06\x00\x00\x00\x01",
        "sys/firmware/efi/efivars/BootOrder-8be4df61-93ca-11d2-aa0d-e98c0cb5d2ee": b"\x07\x00\x00\x00\x00\x00",
        "sys/class/tpm/tpm0/tpm_version_major": "2",
    })
    add_disk(tmp_path, "nvme0n1", 1000215216, "0", "Samsung SSD 970 EVO Plus 500GB",
             {"nvme0n1p1": 1, "nvme0n1p2": 2}, major=259)
    add_disk(tmp_path, "sda", 1953525168, "1", "ST1000DM010-2EP102", {"sda1": 1})
    add_disk(tmp_path, "loop0", 1024, "0")
    add_disk(tmp_path, "sdb", 60062500, "0", "USB Flash", removable="1")
    add_disk(tmp_path, "sr0", 0, "1")
    return tmp_path


def fake_dpkg(argv):
    if argv[0] == "dpkg-query":
        return ("ii \tbash\t5.2.21-2ubuntu4\tUbuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>\n"
                "rc \told-tool\t1.0\tSomeone <x@example.org>\n"
                "ii \tlibreoffice-writer\t4:24.2.7-0ubuntu0.24.04.1\tUbuntu Developers <u@example.org>\n")
    raise AssertionError(f"unexpected command {argv}")


# --- fake machines -------------------------------------------------------------

def test_desktop_tree_reads_every_fact(desktop):
    facts = probe(desktop, run=fake_dpkg)
    report = build_report(facts)
    # inventory.identity: SMBIOS UUID and serial together
    assert report["device"]["id"] == "4c4c4544-0042-3510-8051-b4c04f564e32/5QVN2X2"
    assert report["device"]["id_source"] == "smbios-uuid"
    assert facts.identity.smbios_uuid == "4C4C4544-0042-3510-8051-B4C04F564E32"
    assert (facts.device["serial"], facts.device["manufacturer"], facts.device["model"]) == \
        ("5QVN2X2", "Dell Inc.", "OptiPlex 7060")
    assert facts.device["class"] == "workstation"
    cpu = facts.hardware["cpu"]
    assert (cpu["vendor"], cpu["family"], cpu["model_number"], cpu["stepping"]) == ("GenuineIntel", 6, 158, 10)
    assert cpu["model"] == "Intel(R) Core(TM) i5-8500 CPU @ 3.00GHz"
    assert cpu["max_mhz"] == 4100.0
    assert facts.firmware == {"boot_mode": "uefi", "secure_boot": "enabled",
                              "tpm": {"present": "yes", "spec_version": "2.0"},
                              "bios": {"vendor": "Dell Inc.", "version": "1.22.0", "date": "2018-06-28"}}
    assert facts.os["id"] == "ubuntu" and facts.os["version"] == "24.04"
    assert facts.os["name"] == "Ubuntu 24.04.1 LTS" and facts.os["family"] == "linux"
    assert [p["name"] for p in facts.software] == ["bash", "libreoffice-writer"]  # "rc" is not installed
    assert facts.software[1]["version"] == "4:24.2.7-0ubuntu0.24.04.1"


def test_desktop_disks_skip_virtual_removable_and_empty_devices(desktop):
    disks, system_disk = read_disks(desktop, [])
    assert disks == [
        {"name": "nvme0n1", "model": "Samsung SSD 970 EVO Plus 500GB", "size_bytes": 1000215216 * 512,
         "media": "ssd", "system": True},
        {"name": "sda", "model": "ST1000DM010-2EP102", "size_bytes": 1953525168 * 512,
         "media": "hdd", "system": False},
    ]
    assert system_disk["media"] == "ssd" and system_disk["mount"] == "/"
    assert system_disk["size_bytes"] == psutil.disk_usage(str(desktop)).total


def test_desktop_report_is_valid_and_carries_configuration(desktop, tmp_path):
    config = write_config(tmp_path, "device_class: laptop\n")
    report = build_report(probe(desktop, run=fake_dpkg), config)
    assert validate_report(report) == []
    assert report["ward_code"] == "00070"
    assert report["agent"] == {"name": "hdc-agent", "version": __version__, "source": "agent"}
    assert report["device"]["class"] == "laptop"
    assert any("laptop by configuration (detected: workstation)" in n for n in report["notes"])


def test_root_on_lvm_and_luks_resolves_to_member_disk(desktop):
    dm = desktop / "sys/devices/virtual/block/dm-0"
    write(dm, {"size": "900000", "slaves/nvme0n1p2": ""})
    (desktop / "sys/class/block/dm-0").symlink_to(dm)
    (desktop / "sys/dev/block/254:0").symlink_to(dm)
    write(desktop, {"proc/self/mountinfo": mountinfo("254:0", "/dev/mapper/vg-root")})
    disks, system_disk = read_disks(desktop, [])
    assert [d["name"] for d in disks if d["system"]] == ["nvme0n1"]
    assert system_disk["media"] == "ssd"


def test_btrfs_anonymous_device_number_falls_back_to_mount_source(desktop):
    write(desktop, {"proc/self/mountinfo": mountinfo("0:31", "/dev/sda1", "btrfs"), "dev/sda1": ""})
    disks, system_disk = read_disks(desktop, [])
    assert [d["name"] for d in disks if d["system"]] == ["sda"]
    assert system_disk["media"] == "hdd"


def test_overlay_root_leaves_system_disk_media_unknown(desktop):
    write(desktop, {"proc/self/mountinfo": mountinfo("0:52", "overlay", "overlay")})
    notes = []
    disks, system_disk = read_disks(desktop, notes)
    assert system_disk["media"] == "unknown"
    assert all(d["system"] is None for d in disks)
    assert any("could not find the block device holding /" in n for n in notes)


def test_paravirtual_disk_media_is_unknown_not_hdd(tmp_path):
    add_disk(tmp_path, "vda", 536870912, "1", partitions={"vda1": 1}, major=254)
    write(tmp_path, {"proc/self/mountinfo": mountinfo("254:1", "/dev/vda1")})
    notes = []
    disks, system_disk = read_disks(tmp_path, notes)
    assert disks[0]["media"] == "unknown" and system_disk["media"] == "unknown"
    assert any("paravirtual" in n for n in notes)


@pytest.mark.parametrize("chassis, expected", [("3", "workstation"), ("35", "workstation"), ("10", "laptop"),
                                               ("31", "laptop"), ("17", "server"), ("23", "server"),
                                               ("12", "other"), ("garbage", "other")])
def test_chassis_type_decides_device_class(desktop, chassis, expected):
    write(desktop, {"sys/class/dmi/id/chassis_type": chassis})
    assert read_device(desktop, [])["class"] == expected


@pytest.mark.parametrize("field, value", [("sys_vendor", "QEMU"), ("product_name", "VMware Virtual Platform"),
                                          ("bios_vendor", "innotek GmbH"), ("sys_vendor", "Xen")])
def test_hypervisor_dmi_strings_mean_virtual_machine(desktop, field, value):
    write(desktop, {f"sys/class/dmi/id/{field}": value})
    assert read_device(desktop, [])["class"] == "virtual_machine"


def test_hypervisor_cpu_flag_means_virtual_machine_even_without_dmi(tmp_path):
    write(tmp_path, {"proc/cpuinfo": "processor : 0\nflags : fpu hypervisor sse\n",
                     "etc/machine-id": "0123456789abcdef0123456789abcdef"})
    notes = []
    device = read_device(tmp_path, notes)
    assert device["class"] == "virtual_machine"
    assert device["serial"] is None and device["manufacturer"] is None
    assert any("no SMBIOS data" in n for n in notes)


def test_placeholder_smbios_values_are_unknown_not_facts(desktop):
    write(desktop, {"sys/class/dmi/id/product_serial": "To Be Filled By O.E.M.",
                    "sys/class/dmi/id/sys_vendor": "System manufacturer",
                    "sys/class/dmi/id/product_uuid": "03000200-0400-0500-0006-000700080009"})
    notes = []
    device = read_device(desktop, notes)
    assert device["serial"] is None and device["manufacturer"] is None
    said = []
    assert identity(desktop, said) == ("0123456789abcdef0123456789abcdef", "machine-id")
    assert any("placeholder" in n and "SMBIOS UUID" in n for n in said)


@pytest.fixture
def deny(monkeypatch):
    """Files whose reading fails as for an unprivileged user, even when the tests run as root."""
    denied = set()
    real = Path.read_bytes

    def read_bytes(self):
        if self in denied:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    return denied


def test_unprivileged_reader_falls_back_and_says_why(desktop, deny):
    deny.update({desktop / "sys/class/dmi/id/product_uuid", desktop / "sys/class/dmi/id/product_serial"})
    notes = []
    device = read_device(desktop, notes)
    assert device["serial"] is None
    assert identity(desktop, notes)[1] == "machine-id"
    assert device["model"] == "OptiPlex 7060"  # world-readable facts still come through
    assert any("serial" in n and "permission denied" in n for n in notes)
    assert any("SMBIOS UUID" in n and "permission denied" in n for n in notes)


def test_no_machine_id_and_no_dmi_falls_back_to_hostname(tmp_path):
    write(tmp_path, {"etc/machine-id": "uninitialized"})
    notes = []
    assert identity(tmp_path, notes) == (socket.gethostname().split(".")[0].lower()[:63], "hostname")
    assert any("not an id" in n for n in notes) and any("only the hostname identifies" in n for n in notes)


@pytest.mark.parametrize("data, expected", [(b"\x06\x00\x00\x00\x01", "enabled"),
                                            (b"\x06\x00\x00\x00\x00", "disabled"),
                                            (b"\x06\x00\x00\x00\x07", "unknown"),
                                            (None, "unsupported")])
def test_secure_boot_from_efivar(desktop, data, expected):
    (desktop / SECURE_BOOT).unlink()
    if data is not None:
        (desktop / SECURE_BOOT).write_bytes(data)
    assert read_firmware(desktop, [])["secure_boot"] == expected


def test_efivars_not_mounted_leaves_secure_boot_unknown(desktop):
    shutil.rmtree(desktop / "sys/firmware/efi/efivars")
    (desktop / "sys/firmware/efi/efivars").mkdir()
    notes = []
    assert read_firmware(desktop, notes)["secure_boot"] == "unknown"
    assert any("efivarfs not mounted" in n for n in notes)


def test_legacy_boot_and_tpm_12_from_old_kernel(desktop):
    shutil.rmtree(desktop / "sys/firmware/efi")
    (desktop / "sys/firmware/acpi").mkdir()
    (desktop / "sys/class/tpm/tpm0/tpm_version_major").unlink()
    write(desktop, {"sys/class/tpm/tpm0/device/caps": "Manufacturer: 0x49465800\nTCG version: 1.2\n"})
    firmware = read_firmware(desktop, [])
    assert (firmware["boot_mode"], firmware["secure_boot"]) == ("legacy", "unsupported")
    assert firmware["tpm"] == {"present": "yes", "spec_version": "1.2"}


def test_tpm_absent_when_class_exists_but_no_chip(desktop):
    shutil.rmtree(desktop / "sys/class/tpm/tpm0")
    assert read_firmware(desktop, [])["tpm"] == {"present": "no", "spec_version": None}


def test_without_sys_firmware_everything_is_unknown(tmp_path):
    notes = []
    firmware = read_firmware(tmp_path, notes)
    assert firmware["boot_mode"] == "unknown" and firmware["tpm"]["present"] == "unknown"
    assert any("/sys not mounted" in n for n in notes)


def test_odd_bios_date_is_unknown_with_note(desktop):
    write(desktop, {"sys/class/dmi/id/bios_date": "2018-06-28"})
    notes = []
    assert read_firmware(desktop, notes)["bios"]["date"] is None
    assert any("bios date" in n for n in notes)


def test_os_release_fallback_and_absence(tmp_path):
    write(tmp_path, {"usr/lib/os-release": 'NAME="Fedora Linux"\nVERSION="40 (Workstation Edition)"\n'
                                          'ID=fedora\nVERSION_ID=40\n'})
    os_facts = read_os(tmp_path, [])
    assert (os_facts["id"], os_facts["version"], os_facts["name"]) == \
        ("fedora", "40", "Fedora Linux 40 (Workstation Edition)")
    (tmp_path / "usr/lib/os-release").unlink()
    notes = []
    os_facts = read_os(tmp_path, notes)
    assert (os_facts["id"], os_facts["name"], os_facts["version"]) == ("unknown", "unknown", None)
    assert os_facts["kernel"] == platform.release()
    assert any("os-release" in n for n in notes)


def test_arm_cpuinfo_without_x86_identity_stays_unknown(tmp_path):
    write(tmp_path, {"proc/cpuinfo": "processor\t: 0\nBogoMIPS\t: 108.00\nCPU implementer\t: 0x41\n"})
    notes = []
    cpu = read_cpu(tmp_path, notes)
    assert (cpu["vendor"], cpu["family"], cpu["model"], cpu["max_mhz"]) == (None, None, None, None)
    assert any("no x86 identification" in n for n in notes)


def test_rpm_is_used_where_dpkg_is_absent():
    def run(argv):
        if argv[0] == "dpkg-query":
            raise CommandFailed("dpkg-query not installed", missing=True)
        return "bash\t5.2.26-3.fc40\tFedora Project\ngpg-pubkey\ta15b79cc-63d04c2c\t(none)\nlocal\t1-1\t(none)\n"
    notes = []
    assert read_software(notes, run) == [
        {"name": "bash", "version": "5.2.26-3.fc40", "publisher": "Fedora Project"},
        {"name": "local", "version": "1-1", "publisher": None}]
    assert notes == []


def test_prefetched_package_query_starts_before_it_is_asked_for():
    asked = threading.Event()
    calls = []

    def run(argv):
        calls.append(argv[0])
        if argv[0] == "dpkg-query":
            asked.set()
            raise CommandFailed("dpkg-query not installed", missing=True)
        return "bash\t5.2.26-3.fc40\tFedora Project\n"

    runner = prefetch(run=run)
    assert asked.wait(5)  # already running, nobody has asked yet
    notes = []
    assert read_software(notes, runner) == [{"name": "bash", "version": "5.2.26-3.fc40",
                                             "publisher": "Fedora Project"}]
    assert calls == ["dpkg-query", "rpm"] and notes == []  # the failure came through, rpm ran as usual


def test_software_failures_become_notes():
    def missing(argv):
        raise CommandFailed(f"{argv[0]} not installed", missing=True)

    def hung(argv):
        raise CommandFailed(f"{argv[0]} timed out after 60 s")
    notes = []
    assert read_software(notes, missing) == [] and read_software(notes, hung) == []
    assert notes == ["software: neither dpkg nor rpm found", "software: dpkg-query timed out after 60 s"]


def test_run_command_is_time_bounded_and_reports_why():
    with pytest.raises(CommandFailed, match="timed out after 0.2 s"):
        run_command(["sleep", "5"], timeout=0.2)
    with pytest.raises(CommandFailed) as missing:
        run_command(["hdc-no-such-command-xyz"])
    assert missing.value.missing
    with pytest.raises(CommandFailed, match="exited 1"):
        run_command(["false"])


# --- text equivalents of psutil's facts (what the SSH prober reads), on recorded text -----

DF = """Filesystem         1-blocks        Used   Available Capacity Mounted on
/dev/vda       270553174016 27775045632 81169248256      26% /
"""
IP_ADDR = """1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
1: lo    inet6 ::1/128 scope host \\       valid_lft forever preferred_lft forever
4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever preferred_lft forever
4: eth0    inet6 fd00::2/64 scope global nodad \\       valid_lft forever preferred_lft forever
4: eth0    inet6 fe80::fc:ff:fe00:1/64 scope link \\       valid_lft forever preferred_lft forever
7: veth3f1c@if6    inet6 fe80::a8c1:abff:fe00:1/64 scope link \\       valid_lft forever preferred_lft forever
"""
TWO_SOCKETS = ("processor : 0\nphysical id : 0\ncpu cores : 4\n\nprocessor : 1\nphysical id : 0\ncpu cores : 4\n\n"
               "processor : 2\nphysical id : 1\ncpu cores : 4\n")


def test_text_parsers_on_recorded_output():
    notes = []
    assert parse_meminfo("MemTotal:       24684092 kB\nMemFree:        21834004 kB\n", notes) == 24684092 * 1024
    assert parse_meminfo("MemFree: 1 kB\n", notes) is None and notes == ["memory: /proc/meminfo has no MemTotal"]
    assert [count_cpu_list(t) for t in ("0-1\n", "0", "0-3,8-11", "", "x")] == [2, 1, 8, None, None]
    assert cores_from_cpuinfo(INTEL_CPUINFO) is None  # no physical id: psutil's fallback finds nothing either
    assert cores_from_cpuinfo(TWO_SOCKETS) == 8
    assert parse_df(DF) == (270553174016, 81169248256)
    assert parse_df("Filesystem 1-blocks Used Available Capacity Mounted on\n") is None
    assert parse_ip_addr(IP_ADDR) == {"lo": ["127.0.0.1", "::1"],
                                      "eth0": ["192.0.2.2", "fd00::2", "fe80::fc:ff:fe00:1"],
                                      "veth3f1c": ["fe80::a8c1:abff:fe00:1"]}


def test_text_facts_of_this_machine_are_psutils():
    """What the SSH prober reads as text equals what the agent reads through psutil (free space aside)."""
    need(shutil.which("ip") is not None, "ip not installed (Debian package iproute2)")
    text, local = TextFacts(LocalHost()), PsutilFacts()
    notes = []
    assert text.names(notes) == local.names(notes)
    assert text.memory_bytes(notes) == local.memory_bytes(notes) == psutil.virtual_memory().total
    assert text.core_counts(notes) == local.core_counts(notes)
    assert text.root_usage(notes)[0] == local.root_usage(notes)[0]
    strip = [{**i, "addresses": sorted(i["addresses"])} for i in text.interfaces(notes)]
    assert strip == [{**i, "addresses": sorted(i["addresses"])} for i in local.interfaces(notes)]
    assert notes == []


def _ipv6(addresses: list) -> list:
    return sorted(a for a in addresses if ":" in a)


def test_agent_on_a_machine_without_ip_reports_its_interfaces_from_psutil(tmp_path):
    """`hdc-agent inventory --print` as a real process whose PATH has every program of this one but `ip`."""
    agent = Path(sys.executable).parent / "hdc-agent"
    need(agent.exists(), "the hdc-agent console script is not installed (pip install .)")
    done = subprocess.run([str(agent), "inventory", "--print"], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PATH=path_without(tmp_path / "bin", "ip")))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert validate_report(report) == []
    expected = PsutilFacts().interfaces([])
    assert expected, "this machine has no interface but loopback: nothing to compare"
    strip = [{**i, "addresses": sorted(i["addresses"])} for i in report["network"]["interfaces"]]
    assert strip == [{**i, "addresses": sorted(i["addresses"])} for i in expected]
    assert not any("ip " in note or "iproute2" in note for note in report["notes"]), report["notes"]


def test_ssh_text_facts_without_ip_read_ipv6_from_proc_and_note_ipv4_unknown(tmp_path):
    """The SSH prober's reading of a host without `ip`, in a real process without it on its PATH."""
    need(Path("/proc/net/if_inet6").exists(), "no IPv6 in this kernel (/proc/net/if_inet6)")
    script = ("import json; from agents.host import LocalHost; from agents.host_text import TextFacts; "
              "notes = []; found = TextFacts(LocalHost()).interfaces(notes); print(json.dumps([found, notes]))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env=dict(os.environ, PATH=path_without(tmp_path / "bin", "ip")))
    assert done.returncode == 0, done.stderr[-2000:]
    found, notes = json.loads(done.stdout)
    local = PsutilFacts().interfaces([])
    assert [i["name"] for i in found] == [i["name"] for i in local]
    assert [(i["mac"], _ipv6(i["addresses"])) for i in found] == [(i["mac"], _ipv6(i["addresses"])) for i in local]
    assert notes == ["network addresses: ip not installed (Debian package iproute2); IPv4 addresses unknown, "
                     "IPv6 ones read from /proc/net/if_inet6"]


def test_if_inet6_parses_the_kernels_lines_and_skips_others():
    text = ("fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n"
            "00000000000000000000000000000001 01 80 10 80       lo\n"
            "fd000000000000000000000000000002 04 40 00 82     eth0\n"
            "zz000000000000000000000000000002 04 40 00 82     eth1\n"
            "garbage\n")
    assert parse_if_inet6(text) == {"eth0": ["fe80::fc:ff:fe00:1", "fd00::2"], "lo": ["::1"]}


# --- the builder ---------------------------------------------------------------

def write_config(tmp_path: Path, extra: str = "") -> object:
    path = tmp_path / "agent.yaml"
    path.write_text('collector_url: https://collector.example:8443\nward_code: "00070"\ntoken: t0k3n\n' + extra)
    return load_config(path)


def minimal_facts(notes=()) -> Facts:
    return Facts(device={"id": "x", "id_source": "hostname", "hostname": "x", "class": "other"},
                 hardware={}, firmware={}, os={"family": "linux", "name": "Linux", "id": "debian"},
                 notes=list(notes), collected_at="2025-11-28T01:02:03Z")


def test_builder_without_config_uses_placeholder_ward_and_fresh_ids():
    first, second = build_report(minimal_facts()), build_report(minimal_facts())
    assert first["ward_code"] == PLACEHOLDER_WARD == "00000"
    assert first["report_id"] != second["report_id"]
    assert first["collected_at"] == "2025-11-28T01:02:03Z"
    assert any("placeholder 00000" in n for n in first["notes"])
    assert validate_report(first) == []


def test_builder_bounds_notes_to_the_schema(tmp_path):
    report = build_report(minimal_facts(["x" * 2000] * 400), write_config(tmp_path))
    assert len(report["notes"]) == MAX_NOTES
    assert report["notes"][-1] == "146 more notes left out"  # 400 + the builder's note on the device id
    assert validate_report(report) == []


# --- this real machine ------------------------------------------------------------

def test_real_machine_memory_is_what_psutil_reports():
    assert probe().hardware["memory_bytes"] == psutil.virtual_memory().total


def test_real_machine_software_matches_dpkg_query():
    need(shutil.which("dpkg-query") is not None, "dpkg-query not installed on this machine")
    listed = subprocess.run(["dpkg-query", "-W"], capture_output=True, text=True, timeout=60, check=True)
    status = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}\n"], capture_output=True,
                            text=True, timeout=60, check=True)
    not_installed = sum(1 for s in status.stdout.splitlines() if s[1:2] not in ("i", "W", "t"))
    software = probe().software
    assert len(software) == len(listed.stdout.splitlines()) - not_installed
    first = listed.stdout.splitlines()[0].split("\t")
    assert any(p["name"] == first[0].split(":")[0] and p["version"] == first[1] for p in software)


def test_real_machine_report_is_valid_and_consistent():
    report = build_report(probe())
    assert validate_report(report) == []
    assert report["os"]["family"] == "linux"
    assert report["os"]["kernel"] == platform.release()
    assert report["hardware"]["cpu"]["logical_cores"] == psutil.cpu_count()
    assert report["hardware"]["system_disk"]["size_bytes"] == psutil.disk_usage("/").total
    os_release = Path("/etc/os-release")
    if os_release.exists():
        ids = [line.split("=", 1)[1].strip().strip('"') for line in os_release.read_text().splitlines()
               if line.startswith("ID=")]
        assert report["os"]["id"] == ids[0].lower()


def test_real_machine_probe_works_unprivileged():
    """Least privilege: as 'nobody' the probe still produces a valid report (root only adds facts)."""
    if os.geteuid() != 0:
        pytest.skip("already unprivileged: the other real-machine tests cover it")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: drop to nobody, probe, send the report back
        status = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            data = json.dumps(build_report(probe())).encode()
            with os.fdopen(write_end, "wb") as out:
                out.write(data)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as incoming:
        data = incoming.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    report = json.loads(data)
    assert validate_report(report) == []
    assert report["hardware"]["memory_bytes"] == psutil.virtual_memory().total
